//! Stage 5 — swapping: put a staged directory in place of the live output directory in one step,
//! and clean up after renders that were killed.
//!
//! The staged tree is a sibling of the output directory, so both are on one file system. Where
//! the system can exchange two directories atomically (`renameat2(RENAME_EXCHANGE)` on Linux,
//! `renameatx_np(RENAME_SWAP)` on macOS) that is the swap; elsewhere, or when the file system
//! refuses, the live directory is renamed to `.<name>.fredgen-old-<pid>` and the staged one renamed
//! into place — a render killed between the two renames leaves no output directory, and the next
//! render restores the `-old` one first. After the swap, whatever appeared in the live directory
//! while the render ran (a file saved meanwhile) is moved into the new directory, and the old tree
//! is removed. Renders of one parent directory take a lock on it, so one render never removes
//! another's staging directory.

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The output directory, its parent, and its name.
pub(super) struct Site {
    dir: PathBuf,
    parent: PathBuf,
    name: OsString,
}

/// Kinds of sibling a render creates; only names matching one of these exactly are ever removed.
const STAGING: &str = "staging";
const OLD: &str = "old";

impl Site {
    /// Resolves the parent and the name of `dir` (which may be relative, `.` or end in `..`).
    pub(super) fn new(dir: &Path) -> Result<Site> {
        let abs = std::path::absolute(dir).map_err(|e| Error::io("resolving", dir, e))?;
        // Drops `.` components; a path ending in `..` is resolved on disk.
        let mut abs: PathBuf = abs.components().collect();
        if abs.file_name().is_none() {
            abs = fs::canonicalize(&abs).map_err(|e| Error::io("resolving", dir, e))?;
        }
        match (abs.parent(), abs.file_name()) {
            (Some(parent), Some(name)) => Ok(Site {
                parent: parent.to_path_buf(),
                name: name.to_os_string(),
                dir: abs.clone(),
            }),
            _ => Err(Error::Unsafe {
                path: dir.into(),
                reason: "the output directory must be a named directory, not the root".into(),
            }),
        }
    }

    /// `<parent>/.<name>.fredgen-<kind>-<pid>`.
    fn sibling(&self, kind: &str, pid: u32) -> PathBuf {
        let mut name = OsString::from(".");
        name.push(&self.name);
        name.push(format!(".fredgen-{kind}-{pid}"));
        self.parent.join(name)
    }

    /// This process's staging directory's path; creates the parent directory if need be.
    pub(super) fn staging(&self) -> Result<PathBuf> {
        fs::create_dir_all(&self.parent).map_err(|e| Error::io("creating", &self.parent, e))?;
        Ok(self.sibling(STAGING, std::process::id()))
    }

    /// Siblings of `kind` left by earlier renders: directories (not links) named exactly
    /// `.<name>.fredgen-<kind>-<digits>`.
    fn leftovers(&self, kind: &str) -> Result<Vec<PathBuf>> {
        let entries = match fs::read_dir(&self.parent) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("reading", &self.parent, e)),
        };
        let mut prefix = OsString::from(".");
        prefix.push(&self.name);
        prefix.push(format!(".fredgen-{kind}-"));
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("reading", &self.parent, e))?;
            if is_sibling_name(&entry.file_name(), &prefix)
                && entry.file_type().is_ok_and(|t| t.is_dir())
            {
                found.push(entry.path());
            }
        }
        found.sort();
        Ok(found)
    }

    /// Locks the parent directory for the rest of the render, where it exists and the system
    /// supports locks (best effort: a file system without locks renders unlocked).
    pub(super) fn lock(&self) -> Result<Option<fs::File>> {
        if !cfg!(unix) {
            return Ok(None);
        }
        let Ok(file) = fs::File::open(&self.parent) else {
            return Ok(None);
        };
        match file.lock() {
            Ok(()) => Ok(Some(file)),
            Err(_) => Ok(None),
        }
    }

    /// Restores an output directory that a killed render left renamed away, then removes every
    /// leftover staging or old directory.
    pub(super) fn recover(&self) -> Result<()> {
        let olds = self.leftovers(OLD)?;
        if !exists(&self.dir)? {
            match olds.as_slice() {
                [] => {}
                [old] => {
                    fs::rename(old, &self.dir).map_err(|e| Error::io("restoring", old, e))?;
                }
                _ => {
                    return Err(Error::Unsafe {
                        path: self.dir.clone(),
                        reason: format!(
                            "the output directory is missing and {} earlier copies of it are next to it ({}); rename the right one back",
                            olds.len(),
                            olds.iter()
                                .map(|p| p.display().to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    });
                }
            }
        }
        for leftover in self.leftovers(OLD)?.iter().chain(&self.leftovers(STAGING)?) {
            remove_tree(leftover)?;
        }
        Ok(())
    }

    /// Whether the output directory exists. Refuses a file in its place, and a directory on
    /// another file system than its parent (a mount point cannot be swapped).
    pub(super) fn live(&self) -> Result<bool> {
        let meta = match fs::symlink_metadata(&self.dir) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(Error::io("inspecting", &self.dir, e)),
        };
        if !meta.is_dir() {
            return Err(Error::Unsafe {
                path: self.dir.clone(),
                reason: "a file is in the way of the output directory".into(),
            });
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let parent =
                fs::metadata(&self.parent).map_err(|e| Error::io("inspecting", &self.parent, e))?;
            if parent.dev() != meta.dev() {
                return Err(Error::Unsafe {
                    path: self.dir.clone(),
                    reason: "it is a mount point, which fredgen cannot swap atomically with a new version; render into a directory inside it".into(),
                });
            }
        }
        Ok(true)
    }

    /// Puts `staging` in place of the output directory, carries over what appeared in the old
    /// one meanwhile (anything but `generated` paths), and removes the old one. Removes `staging`
    /// when the swap fails.
    pub(super) fn swap_in(
        &self,
        staging: &Path,
        live: bool,
        generated: &BTreeSet<PathBuf>,
    ) -> Result<()> {
        let old = match self.swap(staging, live) {
            Ok(old) => old,
            Err(e) => {
                let _ = remove_tree(staging);
                return Err(e);
            }
        };
        let Some(old) = old else { return Ok(()) };
        let mut conflicts = Vec::new();
        reconcile(&old, &self.dir, Path::new(""), generated, &mut conflicts)?;
        if !conflicts.is_empty() {
            let kept = self.sibling("kept", std::process::id());
            fs::rename(&old, &kept).map_err(|e| Error::io("renaming", &old, e))?;
            return Err(Error::Usage {
                message: format!(
                    "rendered into {}, but {} changed kind while fredgen rendered ({}); the previous directory is kept at {}",
                    self.dir.display(),
                    conflicts.len(),
                    conflicts
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    kept.display()
                ),
                hint: Some("move what you need out of it, then remove it".into()),
            });
        }
        remove_tree(&old)
    }

    /// Swaps; returns where the old tree now is, if there was one.
    fn swap(&self, staging: &Path, live: bool) -> Result<Option<PathBuf>> {
        if !live {
            fs::rename(staging, &self.dir)
                .map_err(|e| Error::io("renaming into place", &self.dir, e))?;
            return Ok(None);
        }
        if exchange(staging, &self.dir).map_err(|e| Error::io("swapping in", &self.dir, e))? {
            return Ok(Some(staging.to_path_buf()));
        }
        self.swap_by_renames(staging).map(Some)
    }

    /// The swap without an exchange: live → `-old`, staging → live. Returns the `-old` path.
    fn swap_by_renames(&self, staging: &Path) -> Result<PathBuf> {
        let old = self.sibling(OLD, std::process::id());
        fs::rename(&self.dir, &old).map_err(|e| Error::io("renaming away", &self.dir, e))?;
        if let Err(e) = fs::rename(staging, &self.dir) {
            // Put the previous output back; if even that fails, the next render restores it.
            let _ = fs::rename(&old, &self.dir);
            return Err(Error::io("renaming into place", &self.dir, e));
        }
        Ok(old)
    }
}

/// True when `name` is `prefix` followed by one or more ASCII digits.
fn is_sibling_name(name: &OsStr, prefix: &OsStr) -> bool {
    name.as_encoded_bytes()
        .strip_prefix(prefix.as_encoded_bytes())
        .is_some_and(|rest| !rest.is_empty() && rest.iter().all(u8::is_ascii_digit))
}

fn exists(path: &Path) -> Result<bool> {
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("inspecting", path, e)),
    }
}

/// Exchanges two directories atomically. `Ok(false)` when the system or the file system cannot.
#[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
fn exchange(a: &Path, b: &Path) -> std::io::Result<bool> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    use rustix::io::Errno;
    match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(true),
        Err(e) if [Errno::INVAL, Errno::NOSYS, Errno::OPNOTSUPP, Errno::NOTSUP].contains(&e) => {
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// Exchanges two directories atomically. `Ok(false)` when the system or the file system cannot.
#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<bool> {
    Ok(false)
}

/// Moves into `live` every entry of `old` (the directory that was live until the swap) that is
/// not a `generated` path and is missing from `live` or is another file there: what a user or a
/// tool created or replaced (an editor's save by rename) in the output directory between staging
/// and the swap. Entries whose kind changed meanwhile (file ↔ directory) are listed in `conflicts`.
fn reconcile(
    old: &Path,
    live: &Path,
    rel: &Path,
    generated: &BTreeSet<PathBuf>,
    conflicts: &mut Vec<PathBuf>,
) -> Result<()> {
    for (rel, was) in super::user_entries(old, rel, generated)? {
        let (from, to) = (old.join(&rel), live.join(&rel));
        let is = match fs::symlink_metadata(&to) {
            Ok(m) => Some(m),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io("inspecting", &to, e)),
        };
        let carry_over = match &is {
            None if was.is_dir() => {
                // New meanwhile, or a directory the staged tree dropped because only stale
                // generated files were in it: carry over its entries, not the stale files.
                let was_empty = fs::read_dir(&from)
                    .map_err(|e| Error::io("reading", &from, e))?
                    .next()
                    .is_none();
                fs::create_dir(&to).map_err(|e| Error::io("creating", &to, e))?;
                reconcile(old, live, &rel, generated, conflicts)?;
                if !was_empty {
                    // Fails, as it should, when something was carried into it.
                    let _ = fs::remove_dir(&to);
                }
                if to.exists() {
                    fs::set_permissions(&to, was.permissions())
                        .map_err(|e| Error::io("setting permissions of", &to, e))?;
                }
                false
            }
            None => true,
            Some(is) if was.is_dir() && is.is_dir() => {
                reconcile(old, live, &rel, generated, conflicts)?;
                false
            }
            Some(is) if was.is_dir() || is.is_dir() => {
                conflicts.push(rel.clone());
                false
            }
            Some(is) => !same_entry(&from, &was, &to, is),
        };
        if carry_over {
            fs::rename(&from, &to).map_err(|e| Error::io("carrying over", &from, e))?;
        }
    }
    Ok(())
}

/// True when two non-directory entries are the same file (one inode) or equal symbolic links.
fn same_entry(a: &Path, a_meta: &fs::Metadata, b: &Path, b_meta: &fs::Metadata) -> bool {
    if a_meta.file_type().is_symlink() || b_meta.file_type().is_symlink() {
        return a_meta.file_type().is_symlink()
            && b_meta.file_type().is_symlink()
            && fs::read_link(a)
                .ok()
                .is_some_and(|t| fs::read_link(b).ok() == Some(t));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        a_meta.dev() == b_meta.dev() && a_meta.ino() == b_meta.ino()
    }
    #[cfg(not(unix))]
    {
        a_meta.len() == b_meta.len() && a_meta.modified().ok() == b_meta.modified().ok()
    }
}

/// Removes a tree fredgen made (a staging or old directory) without following links. Directories
/// the tree carried over read-only are made writable first; files are never changed, since they
/// share inodes with the live directory.
pub(super) fn remove_tree(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(first) => {
            if make_dirs_writable(path).is_err() {
                return Err(Error::io("removing", path, first));
            }
            fs::remove_dir_all(path).map_err(|e| Error::io("removing", path, e))
        }
    }
}

#[cfg(unix)]
fn make_dirs_writable(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = fs::symlink_metadata(dir)?;
    if !meta.is_dir() {
        return Ok(());
    }
    let mode = meta.permissions().mode();
    if mode & 0o700 != 0o700 {
        fs::set_permissions(dir, fs::Permissions::from_mode(mode | 0o700))?;
    }
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            make_dirs_writable(&entry.path())?;
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn make_dirs_writable(_dir: &Path) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(root: &Path) -> Site {
        Site::new(&root.join("out")).expect("site")
    }

    #[test]
    fn sibling_names_match_exactly() {
        let p = OsStr::new(".out.fredgen-staging-");
        assert!(is_sibling_name(OsStr::new(".out.fredgen-staging-123"), p));
        assert!(!is_sibling_name(OsStr::new(".out.fredgen-staging-"), p));
        assert!(!is_sibling_name(OsStr::new(".out.fredgen-staging-12x"), p));
        assert!(!is_sibling_name(OsStr::new(".out.fredgen-staging-1/"), p));
        assert!(!is_sibling_name(OsStr::new(".out2.fredgen-staging-1"), p));
        assert!(!is_sibling_name(OsStr::new("out.fredgen-staging-1"), p));
    }

    #[test]
    fn a_relative_dot_path_names_its_directory() {
        let s = Site::new(Path::new(".")).expect("site");
        let cwd = std::env::current_dir().expect("cwd");
        assert_eq!(s.dir, cwd);
        assert_eq!(Some(s.name.as_os_str()), cwd.file_name());
    }

    #[test]
    fn recovery_restores_a_directory_renamed_away_and_removes_leftovers() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let s = site(tmp.path());
        let old = s.sibling(OLD, 41);
        fs::create_dir(&old).expect("mkdir");
        fs::write(old.join("NOTES.md"), "mine").expect("write");
        let staging = s.sibling(STAGING, 42);
        fs::create_dir_all(staging.join("k8s")).expect("mkdir");
        let unrelated = tmp.path().join(".out.fredgen-staging-42x");
        fs::create_dir(&unrelated).expect("mkdir");
        s.recover().expect("recover");
        assert_eq!(
            fs::read_to_string(tmp.path().join("out/NOTES.md")).expect("read"),
            "mine"
        );
        assert!(!old.exists() && !staging.exists());
        assert!(unrelated.exists(), "only exact names are removed");
    }

    #[test]
    fn two_old_copies_and_no_directory_is_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let s = site(tmp.path());
        fs::create_dir(s.sibling(OLD, 1)).expect("mkdir");
        fs::create_dir(s.sibling(OLD, 2)).expect("mkdir");
        assert!(matches!(s.recover(), Err(Error::Unsafe { .. })));
        assert!(s.sibling(OLD, 1).exists() && s.sibling(OLD, 2).exists());
    }

    #[test]
    fn the_swap_by_renames_replaces_the_directory_and_keeps_the_old_one_aside() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let s = site(tmp.path());
        fs::create_dir(&s.dir).expect("mkdir");
        fs::write(s.dir.join("a"), "old").expect("write");
        let staging = s.staging().expect("staging");
        fs::create_dir(&staging).expect("mkdir");
        fs::write(staging.join("a"), "new").expect("write");
        let old = s.swap_by_renames(&staging).expect("swap");
        assert_eq!(fs::read_to_string(s.dir.join("a")).expect("read"), "new");
        assert_eq!(fs::read_to_string(old.join("a")).expect("read"), "old");
        // A render killed right here leaves the old copy; the next one removes it.
        s.recover().expect("recover");
        assert!(!old.exists());
        assert_eq!(fs::read_to_string(s.dir.join("a")).expect("read"), "new");
    }

    #[test]
    fn what_appears_during_a_render_is_carried_over() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (old, live) = (tmp.path().join("old"), tmp.path().join("live"));
        for d in [&old, &live] {
            fs::create_dir_all(d.join("sub")).expect("mkdir");
        }
        fs::write(old.join("kept"), "k").expect("write");
        fs::hard_link(old.join("kept"), live.join("kept")).expect("link");
        fs::write(old.join("sub/new"), "saved meanwhile").expect("write");
        fs::write(old.join("replaced"), "newer").expect("write");
        fs::write(live.join("replaced"), "older").expect("write");
        fs::write(old.join("gen.yaml"), "old generated").expect("write");
        fs::write(live.join("gen.yaml"), "new generated").expect("write");
        fs::write(old.join("sub2"), "a file").expect("write");
        fs::create_dir(live.join("sub2")).expect("mkdir");
        fs::create_dir_all(old.join("gone/deeper")).expect("mkdir");
        fs::write(old.join("gone/deeper/stale.yaml"), "stale").expect("write");
        fs::create_dir_all(old.join("half/deeper")).expect("mkdir");
        fs::write(old.join("half/deeper/stale.yaml"), "stale").expect("write");
        fs::write(old.join("half/mine"), "mine").expect("write");
        let generated = BTreeSet::from([
            PathBuf::from("gen.yaml"),
            PathBuf::from("gone/deeper/stale.yaml"),
            PathBuf::from("half/deeper/stale.yaml"),
        ]);
        let mut conflicts = Vec::new();
        reconcile(&old, &live, Path::new(""), &generated, &mut conflicts).expect("reconcile");
        assert_eq!(conflicts, vec![PathBuf::from("sub2")]);
        let read = |p: &str| fs::read_to_string(live.join(p)).expect("read");
        assert_eq!(read("sub/new"), "saved meanwhile");
        assert_eq!(read("replaced"), "newer");
        assert_eq!(read("gen.yaml"), "new generated");
        assert_eq!(read("kept"), "k");
        assert_eq!(read("half/mine"), "mine");
        assert!(!live.join("gone").exists() && !live.join("half/deeper").exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_tree_with_read_only_directories_is_removed() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().expect("tempdir");
        let tree = tmp.path().join("tree");
        fs::create_dir_all(tree.join("ro/deeper")).expect("mkdir");
        fs::write(tree.join("ro/deeper/f"), "x").expect("write");
        fs::set_permissions(tree.join("ro"), fs::Permissions::from_mode(0o555)).expect("chmod");
        remove_tree(&tree).expect("remove");
        assert!(!tree.exists());
    }
}

//! Stage 5 — the journal: replace generated files inside the live output directory, file by
//! file, so that a render killed at any point is completed by the next one.
//!
//! New versions are written into `.fredgen-staging/` inside the output directory (one file
//! system, so every move is a `rename`). Then the journal `.fredgen-journal` is written under a
//! temporary name and renamed into place: that rename is the commit. Then each staged file is
//! renamed over its generated path, stale generated files are removed, the manifest is renamed
//! into place last, and the journal and the staging directory go. A run that finds a journal
//! completes it (roll forward); a run that finds a staging directory without a journal removes it
//! (roll back). The output directory itself, its subdirectories and every file fredgen did not
//! generate keep their inodes, owners, modes and extended attributes: a shell `cd`'d there, an
//! editor or local Terraform state inside it stays valid.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

use super::{
    MANIFEST, check_parents, is_canonical, is_reserved, normal, owned, proven_generated,
    read_if_file, removable,
};

/// The journal of a committed, not yet completed update, relative to the output directory.
pub const JOURNAL: &str = ".fredgen-journal";
/// Where new versions wait to be renamed into place, relative to the output directory.
pub const STAGING: &str = ".fredgen-staging";
const JOURNAL_TMP: &str = ".fredgen-journal.tmp";

/// One step of an update.
enum Op<'a> {
    /// Rename `.fredgen-staging/<rel>` over `<rel>`.
    Put(&'a str),
    /// Remove `<rel>`, a stale generated file.
    Del(&'a str),
}

/// Writes `puts` (path → new text), removes `dels`, and writes `manifest`, as one journaled
/// update of `dir`. The caller holds the lock and has proven every overwritten or removed file
/// to be fredgen's.
pub(super) fn update(
    dir: &Path,
    puts: &[(&str, &str)],
    dels: &[&str],
    manifest: &str,
) -> Result<()> {
    let staging = dir.join(STAGING);
    fs::create_dir(&staging).map_err(|e| Error::io("creating", &staging, e))?;
    let staged = || -> Result<String> {
        let mut journal = String::from(
            "# fredgen's journal of an update it has not finished; the next `fredgen render` completes it.\n",
        );
        for (rel, text) in puts.iter().chain(&[(MANIFEST, manifest)]) {
            let path = staging.join(rel);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
            }
            write_new(&path, text.as_bytes())?;
            // A mode the user gave a generated file (`chmod +x apply.sh`) stays.
            if let Ok(live) = fs::symlink_metadata(dir.join(rel))
                && live.is_file()
            {
                fs::set_permissions(&path, live.permissions())
                    .map_err(|e| Error::io("setting permissions of", &path, e))?;
            }
            if *rel != MANIFEST {
                journal.push_str(&format!("put {rel}\n"));
            }
        }
        for rel in dels {
            journal.push_str(&format!("del {rel}\n"));
        }
        journal.push_str(&format!("put {MANIFEST}\n"));
        Ok(journal)
    };
    let journal = match staged() {
        Ok(journal) => journal,
        Err(e) => {
            // Nothing live was touched; a leftover is removed by the next run anyway.
            let _ = remove_tree(&staging);
            return Err(e);
        }
    };
    let tmp = dir.join(JOURNAL_TMP);
    let _ = fs::remove_file(&tmp);
    write_new(&tmp, journal.as_bytes())?;
    let path = dir.join(JOURNAL);
    fs::rename(&tmp, &path).map_err(|e| Error::io("committing", &path, e))?;
    complete(dir)
}

/// Completes or rolls back what an interrupted run left in `dir`: a journal is carried out to
/// the end; staging without a journal is removed. Returns whether there was anything to do.
pub(super) fn recover(dir: &Path) -> Result<bool> {
    let mut found = false;
    match fs::symlink_metadata(dir.join(JOURNAL)) {
        Ok(m) if m.is_file() => {
            complete(dir)?;
            found = true;
        }
        Ok(_) => {
            return Err(Error::Unsafe {
                path: dir.join(JOURNAL),
                reason: "fredgen's journal is not a regular file".into(),
                hint: Some("remove it".into()),
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("inspecting", dir.join(JOURNAL), e)),
    }
    for leftover in [STAGING, JOURNAL_TMP] {
        let path = dir.join(leftover);
        if fs::symlink_metadata(&path).is_ok() {
            remove_tree(&path)?;
            found = true;
        }
    }
    Ok(found)
}

/// Carries out the journal in `dir`, idempotently: a step already done is skipped.
fn complete(dir: &Path) -> Result<()> {
    let path = dir.join(JOURNAL);
    let text = read_if_file(&path)?.unwrap_or_default();
    let ops: Vec<Op> = text
        .lines()
        .filter_map(|line| match line.split_once(' ') {
            Some(("put", rel)) if is_canonical(rel) && (rel == MANIFEST || !is_reserved(rel)) => {
                Some(Op::Put(rel))
            }
            Some(("del", rel)) if is_canonical(rel) && !is_reserved(rel) => Some(Op::Del(rel)),
            _ => None,
        })
        .collect();
    let staging = dir.join(STAGING);
    // Staged files are moved only out of a real staging directory, never through a link.
    let staged = fs::symlink_metadata(&staging).is_ok_and(|m| m.is_dir());
    // Stale files are proven against the manifest that listed them, which is replaced last.
    let listed = owned(dir)?;
    // A path the journal also puts is never removed, however a hand-written journal spells it.
    let puts: std::collections::BTreeSet<String> = ops
        .iter()
        .filter_map(|op| match op {
            Op::Put(rel) => Some(normal(rel)),
            Op::Del(_) => None,
        })
        .collect();
    for op in &ops {
        match *op {
            Op::Put(rel) => {
                let from = staging.join(rel);
                match fs::symlink_metadata(&from) {
                    Ok(m) if staged && m.is_file() && check_parents(&staging, rel).is_ok() => {}
                    // Done before the interruption (or not fredgen's to move).
                    _ => continue,
                }
                check_parents(dir, rel)?;
                let to = dir.join(rel);
                // What it replaces was proven fredgen's before the commit; a journal written by
                // hand cannot make it replace anything else.
                if rel != MANIFEST
                    && fs::symlink_metadata(&to).is_ok()
                    && !(listed.contains(rel) && proven_generated(&to)?)
                {
                    continue;
                }
                if let Some(parent) = to.parent() {
                    fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
                }
                fs::rename(&from, &to).map_err(|e| Error::io("renaming into place", &to, e))?;
            }
            Op::Del(rel) => {
                let to = dir.join(rel);
                if listed.contains(rel) && !puts.contains(&normal(rel)) && removable(dir, rel) {
                    fs::remove_file(&to).map_err(|e| Error::io("removing", &to, e))?;
                    remove_empty_parents(dir, &to);
                }
            }
        }
    }
    // The journal goes last: until then, a run that finds it completes this one.
    remove_tree(&staging)?;
    fs::remove_file(&path).map_err(|e| Error::io("removing", &path, e))
}

/// Creates `path` (which must not exist) and writes `bytes` into it.
fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io("creating", path, e))?;
    file.write_all(bytes)
        .map_err(|e| Error::io("writing", path, e))
}

/// Removes the directories above `path` that are now empty, up to (not including) `dir`.
fn remove_empty_parents(dir: &Path, path: &Path) {
    let mut cur = path.parent();
    while let Some(p) = cur {
        if p == dir || fs::remove_dir(p).is_err() {
            break;
        }
        cur = p.parent();
    }
}

/// Removes a tree fredgen made (the staging directory) without following links.
fn remove_tree(path: &Path) -> Result<()> {
    let result = match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    };
    result.map_err(|e| Error::io("removing", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "# Generated by fredgen from s.yaml (target eks, environment prod).\n";

    #[cfg(unix)]
    #[test]
    fn a_journal_written_by_hand_moves_and_removes_only_what_fredgen_owns() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (dir, outside) = (tmp.path().join("out"), tmp.path().join("outside"));
        fs::create_dir_all(dir.join(STAGING)).expect("mkdir");
        fs::create_dir(&outside).expect("mkdir");
        fs::write(outside.join("secret"), "outside").expect("write");
        fs::write(dir.join("NOTES.md"), "mine").expect("write");
        fs::write(dir.join("gen.yaml"), format!("{HEADER}old")).expect("write");
        fs::write(dir.join("mine.yaml"), "mine, listed by mistake").expect("write");
        fs::write(dir.join(MANIFEST), "gen.yaml\nmine.yaml\nNOTES.md\n").expect("write");
        // Staged: a new version of a generated file, a replacement for the user's notes, and a
        // link out of the directory.
        fs::write(dir.join(STAGING).join("gen.yaml"), format!("{HEADER}new")).expect("write");
        fs::write(dir.join(STAGING).join("NOTES.md"), "overwritten").expect("write");
        std::os::unix::fs::symlink(&outside, dir.join(STAGING).join("link")).expect("symlink");
        fs::write(
            dir.join(JOURNAL),
            "put gen.yaml\nput NOTES.md\nput link/secret\nput ../outside/secret\ndel mine.yaml\ndel NOTES.md\ndel /etc/passwd\n",
        )
        .expect("write");

        assert!(recover(&dir).expect("recover"));
        let read = |p: &Path| fs::read_to_string(p).expect("read");
        assert_eq!(read(&dir.join("gen.yaml")), format!("{HEADER}new"));
        assert_eq!(read(&dir.join("NOTES.md")), "mine");
        assert_eq!(read(&dir.join("mine.yaml")), "mine, listed by mistake");
        assert_eq!(read(&outside.join("secret")), "outside");
        assert!(!dir.join("link").exists());
        assert!(!dir.join(JOURNAL).exists() && !dir.join(STAGING).exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_staging_directory_that_is_a_link_is_never_moved_from() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (dir, outside) = (tmp.path().join("out"), tmp.path().join("outside"));
        fs::create_dir_all(&dir).expect("mkdir");
        fs::create_dir(&outside).expect("mkdir");
        fs::write(outside.join("new.yaml"), format!("{HEADER}outside")).expect("write");
        std::os::unix::fs::symlink(&outside, dir.join(STAGING)).expect("symlink");
        fs::write(dir.join(JOURNAL), "put new.yaml\n").expect("write");
        assert!(recover(&dir).expect("recover"));
        assert!(!dir.join("new.yaml").exists());
        assert!(
            outside.join("new.yaml").exists(),
            "the link's target is left alone"
        );
        assert!(
            fs::symlink_metadata(dir.join(STAGING)).is_err(),
            "the link is removed"
        );
    }

    #[test]
    fn a_journal_never_removes_a_path_it_also_puts() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        fs::create_dir_all(dir.join(STAGING).join("k8s")).expect("mkdir");
        fs::create_dir_all(dir.join("k8s")).expect("mkdir");
        fs::write(dir.join("k8s/web.yaml"), format!("{HEADER}old")).expect("write");
        fs::write(
            dir.join(STAGING).join("k8s/web.yaml"),
            format!("{HEADER}new"),
        )
        .expect("write");
        fs::write(dir.join(MANIFEST), "k8s/web.yaml\n").expect("write");
        fs::write(
            dir.join(JOURNAL),
            "put k8s/web.yaml\ndel k8s/web.yaml\ndel k8s//web.yaml\ndel ./k8s/web.yaml\n",
        )
        .expect("write");
        assert!(recover(dir).expect("recover"));
        assert_eq!(
            fs::read_to_string(dir.join("k8s/web.yaml")).expect("kept"),
            format!("{HEADER}new")
        );
    }

    #[test]
    fn staging_without_a_journal_is_rolled_back() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        fs::create_dir_all(dir.join(STAGING).join("k8s")).expect("mkdir");
        fs::write(dir.join(STAGING).join("k8s/web.yaml"), "half").expect("write");
        fs::write(dir.join("web.yaml"), "old").expect("write");
        assert!(recover(dir).expect("recover"));
        assert!(!dir.join(STAGING).exists());
        assert_eq!(
            fs::read_to_string(dir.join("web.yaml")).expect("read"),
            "old"
        );
        assert!(!recover(dir).expect("recover"), "nothing left to do");
    }
}

//! Stage 5 — staging: build the complete new output directory next to the live one, ready to be
//! swapped in.
//!
//! Every entry of the live directory that fredgen does not own is carried over: directories are
//! recreated (their permissions set once they are filled), symbolic links recreated as links,
//! everything else hard-linked — a `.terraform/` cache can be hundreds of megabytes — and a regular
//! file that cannot be hard-linked is copied. A mount point inside the directory is refused. The
//! staged tree shares those inodes with the live one, so nothing here ever writes into a
//! carried-over file: generated files and the manifest are created new (`create_new`) and written.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

use super::MANIFEST;

/// What to stage.
pub(super) struct Plan<'a> {
    /// Every path fredgen owns, owned before or generates now, and the manifest: never carried
    /// over from the live directory.
    pub generated: &'a BTreeSet<PathBuf>,
    /// The generated files: relative path → text.
    pub files: &'a BTreeMap<String, String>,
    /// The manifest's text.
    pub manifest: &'a str,
    /// Previously generated files that are dropped; their directories go too once empty.
    pub stale: &'a [&'a str],
}

/// Builds `staging` (which must not exist) from the live directory `live`, when there is one,
/// and the plan.
pub(super) fn build(live: Option<&Path>, staging: &Path, plan: &Plan<'_>) -> Result<()> {
    fs::create_dir(staging).map_err(|e| Error::io("creating", staging, e))?;
    // Directories whose permissions are set once they are filled, parents before children.
    let mut dirs: Vec<(PathBuf, fs::Permissions)> = Vec::new();
    if let Some(live) = live {
        let meta = fs::metadata(live).map_err(|e| Error::io("inspecting", live, e))?;
        dirs.push((staging.to_path_buf(), meta.permissions()));
        carry(
            live,
            staging,
            Path::new(""),
            &meta,
            plan.generated,
            &mut dirs,
        )?;
    }
    for (rel, text) in plan.files {
        let path = staging.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
        }
        write_new(&path, text.as_bytes())?;
    }
    write_new(&staging.join(MANIFEST), plan.manifest.as_bytes())?;
    for rel in plan.stale {
        remove_empty_parents(staging, &staging.join(rel));
    }
    for (dir, perms) in dirs.iter().rev() {
        match fs::set_permissions(dir, perms.clone()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::io("setting permissions of", dir, e));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Carries over every entry of `live/rel` that fredgen does not own into `staging/rel`.
fn carry(
    live: &Path,
    staging: &Path,
    rel: &Path,
    root: &fs::Metadata,
    generated: &BTreeSet<PathBuf>,
    dirs: &mut Vec<(PathBuf, fs::Permissions)>,
) -> Result<()> {
    for (rel, meta) in super::user_entries(live, rel, generated)? {
        let (from, to) = (live.join(&rel), staging.join(&rel));
        if !same_file_system(root, &meta) {
            // Moving the tree would leave the mount behind, and removing the old tree would
            // empty it.
            return Err(Error::Unsafe {
                path: from,
                reason: "it is a mount point inside the output directory, which fredgen cannot carry over when it swaps in a new version of the directory".into(),
            });
        }
        if meta.is_dir() {
            fs::create_dir(&to).map_err(|e| Error::io("creating", &to, e))?;
            dirs.push((to, meta.permissions()));
            carry(live, staging, &rel, root, generated, dirs)?;
        } else if meta.file_type().is_symlink() {
            let target = fs::read_link(&from).map_err(|e| Error::io("reading", &from, e))?;
            symlink(&target, &to, &from)?;
        } else if let Err(e) = fs::hard_link(&from, &to) {
            if !meta.is_file() {
                return Err(Error::io("hard-linking", &from, e));
            }
            copy(&from, &to)?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn same_file_system(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev()
}

#[cfg(not(unix))]
fn same_file_system(_a: &fs::Metadata, _b: &fs::Metadata) -> bool {
    true
}

/// Creates a new file (never opening an existing one, which could be a hard link to a user's
/// file) and writes it. Not fsynced: see the module documentation of [`super`].
fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io("creating", path, e))?;
    f.write_all(bytes)
        .map_err(|e| Error::io("writing", path, e))
}

/// Copies a file that cannot be hard-linked, with its permissions.
fn copy(from: &Path, to: &Path) -> Result<()> {
    fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| Error::io("copying", from, e))
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path, _original: &Path) -> Result<()> {
    std::os::unix::fs::symlink(target, link).map_err(|e| Error::io("creating", link, e))
}

#[cfg(windows)]
fn symlink(target: &Path, link: &Path, original: &Path) -> Result<()> {
    let result = if fs::metadata(original).is_ok_and(|m| m.is_dir()) {
        std::os::windows::fs::symlink_dir(target, link)
    } else {
        std::os::windows::fs::symlink_file(target, link)
    };
    result.map_err(|e| Error::io("creating", link, e))
}

#[cfg(not(any(unix, windows)))]
fn symlink(_target: &Path, link: &Path, _original: &Path) -> Result<()> {
    Err(Error::io(
        "creating",
        link,
        std::io::Error::from(std::io::ErrorKind::Unsupported),
    ))
}

/// Removes the directories above a dropped file while they are empty, up to `root`.
fn remove_empty_parents(root: &Path, file: &Path) {
    let mut cur = file.parent();
    while let Some(p) = cur {
        if p == root || !p.starts_with(root) || fs::remove_dir(p).is_err() {
            break;
        }
        cur = p.parent();
    }
}

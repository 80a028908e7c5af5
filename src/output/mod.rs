//! Stage 5 — the only module that touches the file system: write an [`Output`] to a directory,
//! or compare it with one (`diff`, `check`).
//!
//! fredgen owns only what it generated. The output directory holds a manifest
//! ([`MANIFEST`]) listing the files fredgen wrote there; a render removes stale files from that
//! list, overwrites listed files, writes new ones, and refuses to overwrite any other file.
//! Each file is written to a temporary sibling and renamed into place, and nothing is written at
//! all until every path has been checked.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use similar::TextDiff;

use crate::error::{Error, Result};
use crate::render::Output;

/// The manifest of generated files, relative to the output directory.
pub const MANIFEST: &str = ".fredgen-manifest";

/// How one file differs between the rendered output and the directory.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "change", content = "path", rename_all = "lowercase")]
pub enum Change {
    /// Rendered but not on disk.
    Added(String),
    /// On disk with other content.
    Modified(String),
    /// Generated before, no longer rendered, still on disk.
    Removed(String),
}

impl Change {
    /// The relative path.
    pub fn path(&self) -> &str {
        match self {
            Change::Added(p) | Change::Modified(p) | Change::Removed(p) => p,
        }
    }
}

/// Paths listed in the directory's manifest (empty when there is none).
pub fn owned(dir: &Path) -> Result<BTreeSet<String>> {
    let path = dir.join(MANIFEST);
    match fs::read_to_string(&path) {
        Ok(text) => Ok(text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter(|l| is_safe_relative(l))
            .map(str::to_string)
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeSet::new()),
        Err(e) => Err(Error::io("reading", path, e)),
    }
}

/// True for a relative path with no `..`, root or prefix component.
pub fn is_safe_relative(p: &str) -> bool {
    !p.is_empty()
        && Path::new(p)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

fn read_if_file(path: &Path) -> Result<Option<String>> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(Error::Unsafe {
            path: path.into(),
            reason: "it is a symbolic link".into(),
        }),
        Ok(m) if m.is_dir() => Err(Error::Unsafe {
            path: path.into(),
            reason: "it is a directory".into(),
        }),
        Ok(_) => match fs::read(path) {
            Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            Err(e) => Err(Error::io("reading", path, e)),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("inspecting", path, e)),
    }
}

/// Refuses a path whose parent directories inside `dir` include a symbolic link.
fn check_parents(dir: &Path, rel: &str) -> Result<()> {
    let mut cur = dir.to_path_buf();
    let parts: Vec<_> = Path::new(rel).components().collect();
    for c in &parts[..parts.len().saturating_sub(1)] {
        cur.push(c);
        if let Ok(m) = fs::symlink_metadata(&cur) {
            if m.file_type().is_symlink() {
                return Err(Error::Unsafe {
                    path: cur,
                    reason: "it is a symbolic link inside the output directory".into(),
                });
            }
            if !m.is_dir() {
                return Err(Error::Unsafe {
                    path: cur,
                    reason: "a file is in the way of a generated directory".into(),
                });
            }
        }
    }
    Ok(())
}

/// Compares the output with the directory.
pub fn changes(out: &Output, dir: &Path) -> Result<Vec<Change>> {
    let owned = owned(dir)?;
    let mut changes = Vec::new();
    for (rel, text) in &out.files {
        check_parents(dir, rel)?;
        match read_if_file(&dir.join(rel))? {
            None => changes.push(Change::Added(rel.clone())),
            Some(disk) if disk != *text => changes.push(Change::Modified(rel.clone())),
            Some(_) => {}
        }
    }
    for rel in owned.iter().filter(|p| !out.files.contains_key(*p)) {
        if read_if_file(&dir.join(rel))?.is_some() {
            changes.push(Change::Removed(rel.clone()));
        }
    }
    changes.sort_by(|a, b| a.path().cmp(b.path()));
    Ok(changes)
}

/// A unified diff of every change, as `diff -u a/<dir> b/<rendered>` would show it.
pub fn unified_diff(out: &Output, dir: &Path, changes: &[Change]) -> Result<String> {
    let mut text = String::new();
    for change in changes {
        let rel = change.path();
        let old = read_if_file(&dir.join(rel))?.unwrap_or_default();
        let new = out.files.get(rel).cloned().unwrap_or_default();
        let (a, b) = match change {
            Change::Added(_) => ("/dev/null".to_string(), format!("b/{rel}")),
            Change::Removed(_) => (format!("a/{rel}"), "/dev/null".to_string()),
            Change::Modified(_) => (format!("a/{rel}"), format!("b/{rel}")),
        };
        let diff = TextDiff::from_lines(&old, &new);
        text.push_str(
            &diff
                .unified_diff()
                .context_radius(3)
                .header(&a, &b)
                .to_string(),
        );
    }
    Ok(text)
}

/// Writes the output into `dir`: checks every path first, then writes changed files atomically,
/// removes stale generated files and records the manifest. Returns what changed.
pub fn write(out: &Output, dir: &Path) -> Result<Vec<Change>> {
    if let Ok(m) = fs::symlink_metadata(dir)
        && m.file_type().is_symlink()
    {
        return Err(Error::Unsafe {
            path: dir.into(),
            reason: "the output directory is a symbolic link".into(),
        });
    }
    let owned = owned(dir)?;
    for rel in out.files.keys() {
        if !is_safe_relative(rel) || rel == MANIFEST {
            return Err(Error::Unsafe {
                path: dir.join(rel),
                reason: "the path leaves the output directory".into(),
            });
        }
    }
    let changes = changes(out, dir)?;
    for change in &changes {
        if let Change::Modified(rel) = change
            && !owned.contains(rel)
        {
            return Err(Error::Unsafe {
                path: dir.join(rel),
                reason: "the file exists and fredgen did not generate it; move it away or render to another directory".into(),
            });
        }
    }
    fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))?;
    for change in &changes {
        match change {
            Change::Added(rel) | Change::Modified(rel) => {
                write_atomic(&dir.join(rel), &out.files[rel])?
            }
            Change::Removed(rel) => {
                let path = dir.join(rel);
                fs::remove_file(&path).map_err(|e| Error::io("removing", &path, e))?;
                remove_empty_parents(dir, &path);
            }
        }
    }
    let mut manifest = String::from(
        "# Files generated by fredgen in this directory. fredgen rewrites or removes only these.\n",
    );
    for rel in out.files.keys() {
        manifest.push_str(rel);
        manifest.push('\n');
    }
    write_atomic(&dir.join(MANIFEST), &manifest)?;
    Ok(changes)
}

fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let parent = path.parent().expect("output files have a parent");
    fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
    let name = path
        .file_name()
        .expect("output files have a name")
        .to_string_lossy();
    let tmp: PathBuf = parent.join(format!(".{name}.fredgen-tmp"));
    let mut f = fs::File::create(&tmp).map_err(|e| Error::io("creating", &tmp, e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| Error::io("writing", &tmp, e))?;
    f.sync_all().map_err(|e| Error::io("syncing", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| Error::io("renaming into place", path, e))
}

fn remove_empty_parents(dir: &Path, file: &Path) {
    let mut cur = file.parent();
    while let Some(p) = cur {
        if p == dir || fs::remove_dir(p).is_err() {
            break;
        }
        cur = p.parent();
    }
}

//! Stage 5 — the only module that touches the file system: write an [`Output`] to a directory,
//! or compare it with one (`diff`, `check`).
//!
//! fredgen owns only what it generated. The output directory holds a manifest ([`MANIFEST`])
//! listing the files fredgen wrote there. A render overwrites listed files, writes new ones, drops
//! listed files the spec no longer needs, and refuses to overwrite any other file; every other
//! entry (hand-written files, `.terraform/` caches, local state) is carried over untouched.
//!
//! A render is atomic for the whole directory. Every path is checked first; then `stage` builds
//! the complete new directory in a sibling `.<name>.fredgen-staging-<pid>` (hand-written files
//! hard-linked, never written through), and `swap` exchanges it with the live directory in one
//! `renameat2(RENAME_EXCHANGE)` (two renames where the system has no exchange, recovered by the
//! next run), carries over whatever appeared in the live directory meanwhile, and removes the old
//! tree. An interrupted render leaves the previous output in place; its leftovers are removed by
//! the next render. A render that would change nothing writes nothing.
//!
//! Nothing is fsynced. The swap protects against the render process dying (Ctrl-C, `kill -9`, a
//! full disk: each shows up as an error before the swap, or not at all); what it cannot protect
//! against is the machine losing power before the kernel wrote the new files, and fsyncing each
//! file to cover that would make a render take tens of milliseconds instead of a few. Generated
//! files are a pure function of the spec, so `fredgen render` restores them at any time, and the
//! user's own files are hard-linked, never rewritten.

mod stage;
mod swap;

use std::collections::BTreeSet;
use std::fs;
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

/// Paths listed in the directory's manifest (empty when there is none). Lines that are not a
/// plain relative path (`..`, absolute) and the manifest's own name are ignored; a manifest that is
/// a symbolic link or not a file is refused.
pub fn owned(dir: &Path) -> Result<BTreeSet<String>> {
    let path = dir.join(MANIFEST);
    match fs::symlink_metadata(&path) {
        Ok(m) if !m.is_file() => {
            return Err(Error::Unsafe {
                path,
                reason: "fredgen's manifest is not a regular file".into(),
            });
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(e) => return Err(Error::io("inspecting", path, e)),
    }
    let text = fs::read_to_string(&path).map_err(|e| Error::io("reading", &path, e))?;
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter(|l| is_safe_relative(l) && *l != MANIFEST)
        .map(str::to_string)
        .collect())
}

/// True for a relative path with no `..`, root or prefix component.
pub fn is_safe_relative(p: &str) -> bool {
    !p.is_empty()
        && Path::new(p)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// The entries of `base/rel` that fredgen did not generate: each one's path relative to the
/// output directory and its own metadata (a symbolic link is not followed). Staging carries these
/// over, and the swap reconciles them.
fn user_entries(
    base: &Path,
    rel: &Path,
    generated: &BTreeSet<PathBuf>,
) -> Result<Vec<(PathBuf, fs::Metadata)>> {
    let dir = base.join(rel);
    let mut out = Vec::new();
    for entry in fs::read_dir(&dir).map_err(|e| Error::io("reading", &dir, e))? {
        let entry = entry.map_err(|e| Error::io("reading", &dir, e))?;
        let rel = rel.join(entry.file_name());
        if generated.contains(&rel) {
            continue;
        }
        let path = base.join(&rel);
        let meta = fs::symlink_metadata(&path).map_err(|e| Error::io("inspecting", &path, e))?;
        out.push((rel, meta));
    }
    Ok(out)
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

/// Refuses a path whose parent directories inside `dir` include a symbolic link or a file.
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

/// True when every parent of `rel` inside `dir` is a real directory: the path lies inside `dir`
/// and does not pass through a symbolic link.
fn parents_are_directories(dir: &Path, rel: &str) -> bool {
    let mut cur = dir.to_path_buf();
    let parts: Vec<_> = Path::new(rel).components().collect();
    parts[..parts.len().saturating_sub(1)].iter().all(|c| {
        cur.push(c);
        fs::symlink_metadata(&cur).is_ok_and(|m| m.is_dir())
    })
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
        // A listed path behind a symbolic link is not in the output directory: not fredgen's.
        if parents_are_directories(dir, rel) && read_if_file(&dir.join(rel))?.is_some() {
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

/// Writes the output into `dir`, atomically for the whole directory, and returns what changed.
///
/// In order: refuses unsafe generated paths and a symbolic-linked output directory; takes the
/// parent directory's lock, restores a directory a killed render left renamed away and removes
/// the leftovers of killed renders; refuses to overwrite a file fredgen did not generate; returns
/// at once when nothing changed; stages the new directory next to `dir`; swaps it in.
pub fn write(out: &Output, dir: &Path) -> Result<Vec<Change>> {
    for rel in out.files.keys() {
        if !is_safe_relative(rel) || rel == MANIFEST {
            return Err(Error::Unsafe {
                path: dir.join(rel),
                reason: "the path leaves the output directory".into(),
            });
        }
    }
    refuse_symlink(dir)?;
    let site = swap::Site::new(dir)?;
    let _lock = site.lock()?;
    site.recover()?;
    let live = site.live()?;

    let owned = owned(dir)?;
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
    let manifest = manifest(out);
    if changes.is_empty()
        && live
        && fs::read(dir.join(MANIFEST)).ok().as_deref() == Some(manifest.as_bytes())
    {
        return Ok(changes);
    }

    // Everything fredgen owns, had or will have: never carried over from the live directory.
    let generated: BTreeSet<PathBuf> = owned
        .iter()
        .map(String::as_str)
        .chain(out.files.keys().map(String::as_str))
        .chain([MANIFEST])
        .map(PathBuf::from)
        .collect();
    let stale: Vec<&str> = changes
        .iter()
        .filter_map(|c| match c {
            Change::Removed(rel) => Some(rel.as_str()),
            _ => None,
        })
        .collect();
    let staging = site.staging()?;
    let plan = stage::Plan {
        generated: &generated,
        files: &out.files,
        manifest: &manifest,
        stale: &stale,
    };
    if let Err(e) = stage::build(live.then_some(dir), &staging, &plan) {
        // Best effort: a leftover is removed by the next render anyway.
        let _ = swap::remove_tree(&staging);
        return Err(e);
    }
    site.swap_in(&staging, live, &generated)?;
    Ok(changes)
}

/// The manifest's text for an output.
fn manifest(out: &Output) -> String {
    let mut manifest = String::from(
        "# Files generated by fredgen in this directory. fredgen rewrites or removes only these.\n",
    );
    for rel in out.files.keys() {
        manifest.push_str(rel);
        manifest.push('\n');
    }
    manifest
}

fn refuse_symlink(dir: &Path) -> Result<()> {
    match fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_symlink() => Err(Error::Unsafe {
            path: dir.into(),
            reason: "the output directory is a symbolic link".into(),
        }),
        _ => Ok(()),
    }
}

//! Stage 5 — the only module that touches the file system: write an [`Output`] to a directory,
//! or compare it with one (`diff`, `check`).
//!
//! fredgen owns only what it generated. The output directory holds a manifest ([`MANIFEST`])
//! listing the files fredgen wrote there, with the BLAKE3 digest of each as written (so that a render
//! can warn that it overwrites a hand edit, [`hand_edited`]). A render overwrites or removes a file only when both
//! the manifest lists it and its content proves it (it opens with fredgen's generated-file
//! header); it refuses to overwrite any other file, and leaves alone a listed file that is not
//! fredgen's. Every other entry (hand-written files, `.terraform/` caches, local state) is never
//! opened for writing, moved or re-created. Only regular files are ever read: a FIFO, device or
//! socket at a generated path is refused, not opened.
//!
//! Renders of one output directory are serialized by a lock on its parent (created first when it
//! is missing). Every path is checked before anything is written; then [`journal`] stages the new
//! files inside the directory and renames them into place behind a journal, so that the
//! directory keeps its inode and a killed render is completed by the next one. A render that
//! would change nothing writes nothing.
//!
//! Nothing is fsynced. The journal protects against the render process dying (Ctrl-C, `kill -9`,
//! a full disk); what it cannot protect against is the machine losing power before the kernel
//! wrote the new files, and fsyncing each file to cover that would make a render take tens of
//! milliseconds instead of a few. Generated files are a pure function of the spec, so
//! `fredgen render` restores them at any time, and the user's own files are never written.

mod journal;

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

    /// The same change at another path (`render --all` names each file by its full path).
    pub fn map_path(self, f: impl FnOnce(&str) -> String) -> Change {
        match self {
            Change::Added(p) => Change::Added(f(&p)),
            Change::Modified(p) => Change::Modified(f(&p)),
            Change::Removed(p) => Change::Removed(f(&p)),
        }
    }
}

/// Paths listed in the directory's manifest (empty when there is none). Only a line in the
/// canonical form fredgen writes ([`is_canonical`]) counts: any other (`..`, absolute,
/// `k8s//web.yaml`, `k8s/./web.yaml`, a trailing `/`, a name no file system accepts) and the
/// manifest's own name are ignored, so that no spelling can name a file fredgen writes under
/// another name. A manifest that is a symbolic link or not a file is refused.
pub fn owned(dir: &Path) -> Result<BTreeSet<String>> {
    let path = dir.join(MANIFEST);
    match fs::symlink_metadata(&path) {
        Ok(m) if !m.is_file() => {
            return Err(Error::refuse(
                path,
                "fredgen's manifest is not a regular file",
            ));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(e) => return Err(Error::io("inspecting", path, e)),
    }
    let text = read_if_file(&path)?.unwrap_or_default();
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter(|l| is_canonical(l) && !is_reserved(l))
        .map(str::to_string)
        .collect())
}

/// The prefix of a digest line of the manifest.
const DIGEST: &str = "# blake3 ";

/// The lowercase hex BLAKE3 digest of `bytes` (what `b3sum` prints). BLAKE3, not SHA-256: every
/// file of every render is hashed, and SHA-256 without the CPU's SHA extensions (most Intel
/// servers before Ice Lake) cost a 1000-worker render 16 % more instructions; BLAKE3's SIMD
/// code costs under 1 %.
fn digest(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// The digest the manifest records for each listed path (none in a manifest written before
/// fredgen recorded them).
fn digests(dir: &Path) -> Result<std::collections::BTreeMap<String, String>> {
    let owned = owned(dir)?;
    let text = read_if_file(&dir.join(MANIFEST))?.unwrap_or_default();
    Ok(text
        .lines()
        .filter_map(|l| l.strip_prefix(DIGEST)?.split_once(' '))
        .filter(|(hex, rel)| {
            hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) && owned.contains(*rel)
        })
        .map(|(hex, rel)| (rel.to_string(), hex.to_string()))
        .collect())
}

/// The longest name of one file or directory fredgen takes from its manifest, in bytes (what
/// Linux, macOS and Windows file systems accept).
const MAX_NAME: usize = 255;
/// The longest path fredgen takes from its manifest, in bytes (Linux's `PATH_MAX`).
const MAX_PATH: usize = 4096;

/// True for a relative path in the one spelling fredgen writes: components separated by single
/// `/`, none empty, `.` or `..`, no leading or trailing `/`, no NUL, and a length every file
/// system accepts. A manifest line in any other spelling is not one fredgen wrote.
pub fn is_canonical(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= MAX_PATH
        && !p.contains('\0')
        && p.split('/')
            .all(|c| !c.is_empty() && c != "." && c != ".." && c.len() <= MAX_NAME)
        && Path::new(p)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// `rel` as its components, one `/` between each (`k8s//./web.yaml` → `k8s/web.yaml`): two
/// spellings of one path compare equal.
fn normal(rel: &str) -> String {
    Path::new(rel)
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether fredgen may remove the listed path `rel` of `dir` as stale: no link or file among its
/// parents, and a regular file there whose content proves it fredgen's. A directory, a FIFO, a
/// name the file system refuses or a file that cannot be read is not fredgen's: it is left
/// alone, never an error (the manifest may name it by mistake).
fn removable(dir: &Path, rel: &str) -> bool {
    check_parents(dir, rel).is_ok()
        && fs::symlink_metadata(dir.join(rel)).is_ok_and(|m| m.is_file())
        && proven_generated(&dir.join(rel)).unwrap_or(false)
}

/// The largest file fredgen reads at a generated path: far above any file it generates, low
/// enough that a huge file put there cannot exhaust memory.
const MAX_FILE: u64 = 64 << 20;

/// Reads a regular file, or `None` when nothing is there. Refuses a symbolic link, a directory,
/// and anything that is not a regular file (a FIFO would block, a device never end) without
/// opening it, and a file larger than [`MAX_FILE`]. `limit` bytes at most are read (for a peek).
fn read_regular(path: &Path, limit: u64) -> Result<Option<Vec<u8>>> {
    use std::io::Read;
    let refuse = |reason: &str| Error::refuse(path, reason);
    let kind = |m: &fs::Metadata| {
        if m.file_type().is_symlink() {
            Err(refuse("it is a symbolic link"))
        } else if m.is_dir() {
            Err(refuse("it is a directory"))
        } else if !m.is_file() {
            Err(refuse(
                "it is not a regular file (a FIFO, socket or device); fredgen reads and writes regular files only",
            ))
        } else if m.len() > MAX_FILE {
            Err(refuse("it is larger than any file fredgen generates"))
        } else {
            Ok(())
        }
    };
    match fs::symlink_metadata(path) {
        Ok(m) => kind(&m)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("inspecting", path, e)),
    }
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        // Whatever replaced the file since it was inspected: never follow a link, never block.
        use std::os::unix::fs::OpenOptionsExt;
        let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
        options.custom_flags(i32::try_from(flags.bits()).unwrap_or(0));
    }
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("opening", path, e)),
    };
    kind(
        &file
            .metadata()
            .map_err(|e| Error::io("inspecting", path, e))?,
    )?;
    let mut bytes = Vec::new();
    file.take(limit)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("reading", path, e))?;
    Ok(Some(bytes))
}

fn read_if_file(path: &Path) -> Result<Option<String>> {
    Ok(read_regular(path, MAX_FILE)?.map(|b| String::from_utf8_lossy(&b).into_owned()))
}

/// Whether `path` is a regular file whose content proves fredgen generated it: its first line is
/// the generated-file header.
fn proven_generated(path: &Path) -> Result<bool> {
    Ok(read_regular(path, 1024)?
        .is_some_and(|head| crate::render::carries_header(&String::from_utf8_lossy(&head))))
}

/// Refuses a path whose parent directories inside `dir` include a symbolic link or a file.
fn check_parents(dir: &Path, rel: &str) -> Result<()> {
    let mut cur = dir.to_path_buf();
    let parts: Vec<_> = Path::new(rel).components().collect();
    for c in &parts[..parts.len().saturating_sub(1)] {
        cur.push(c);
        if let Ok(m) = fs::symlink_metadata(&cur) {
            if m.file_type().is_symlink() {
                return Err(Error::refuse(
                    cur,
                    "it is a symbolic link inside the output directory",
                ));
            }
            if !m.is_dir() {
                return Err(Error::refuse(
                    cur,
                    "a file is in the way of a generated directory",
                ));
            }
        }
    }
    Ok(())
}

/// Refuses to compare with a directory that an interrupted render left half-updated.
fn refuse_pending(dir: &Path) -> Result<()> {
    if fs::symlink_metadata(dir.join(journal::JOURNAL)).is_ok() {
        return Err(Error::usage(
            format!(
                "a render into {} was interrupted before it finished",
                crate::error::shown_path(dir)
            ),
            "run `fredgen render` (with any spec) to complete it; then compare again",
        ));
    }
    Ok(())
}

/// Compares the output with the directory, refusing what [`write`] would refuse (so `check` and
/// `diff` never call a file `modified` that `render` must not touch): an unsafe generated path, a
/// symbolic link or a file in the output directory's place, a file at a generated path that
/// fredgen did not generate. A listed file that is gone from the output is `Removed` only when
/// its content proves it is fredgen's (see [`write`]).
pub fn changes(out: &Output, dir: &Path) -> Result<Vec<Change>> {
    refuse_unsafe_paths(out, dir)?;
    refuse_pending(dir)?;
    // `out/` with a trailing slash would follow a link: look at the directory as named.
    let named: PathBuf = dir.components().collect();
    match fs::symlink_metadata(&named) {
        Ok(m) if m.file_type().is_symlink() => return Err(symlinked(dir)),
        Ok(m) if !m.is_dir() => return Err(in_the_way(dir)),
        _ => {}
    }
    let owned = owned(dir)?;
    let mut changes = Vec::new();
    // The files on disk this render writes, by identity.
    let mut written = BTreeSet::new();
    for (rel, text) in &out.files {
        check_parents(dir, rel)?;
        let path = dir.join(rel);
        let meta = fs::symlink_metadata(&path);
        if let Ok(m) = &meta
            && m.is_file()
        {
            written.extend(identity(m));
        }
        // A file of another length differs: no need to read it.
        let modified = match meta {
            Ok(m) if m.is_file() && m.len() != text.len() as u64 => true,
            _ => match read_if_file(&path)? {
                None => {
                    changes.push(Change::Added(rel.clone()));
                    false
                }
                Some(disk) => disk != *text,
            },
        };
        if modified {
            if !owned.contains(rel) || !proven_generated(&path)? {
                return Err(not_generated(path));
            }
            changes.push(Change::Modified(rel.clone()));
        }
    }
    // Guards besides the manifest's canonical spelling: a path this render writes is never stale,
    // however it is spelled, nor is another name of a file it writes (`K8S/web.yaml` on a file
    // system that ignores case, a hard link).
    let writes: BTreeSet<String> = out.files.keys().map(|rel| normal(rel)).collect();
    for rel in owned.iter().filter(|p| !writes.contains(&normal(p))) {
        let same = fs::symlink_metadata(dir.join(rel))
            .ok()
            .and_then(|m| identity(&m))
            .is_some_and(|id| written.contains(&id));
        if !same && removable(dir, rel) {
            changes.push(Change::Removed(rel.clone()));
        }
    }
    changes.sort_by(|a, b| a.path().cmp(b.path()));
    Ok(changes)
}

/// A file's identity (device and inode), where the platform tells it.
fn identity(m: &fs::Metadata) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = m;
        None
    }
}

/// The refusal of a file at a generated path that fredgen did not generate.
fn not_generated(path: PathBuf) -> Error {
    Error::Unsafe {
        path,
        reason: "the file exists and fredgen did not generate it (it is not in fredgen's manifest, or does not open with fredgen's generated-file header)".into(),
        hint: Some("move it away or render to another directory".into()),
    }
}

/// The refusal of a file where the output directory should be.
fn in_the_way(dir: &Path) -> Error {
    Error::refuse(dir, "a file is in the way of the output directory")
}

/// Refuses a generated path that leaves the output directory or is one fredgen reserves.
fn refuse_unsafe_paths(out: &Output, dir: &Path) -> Result<()> {
    match out
        .files
        .keys()
        .find(|rel| !is_canonical(rel) || is_reserved(rel))
    {
        Some(rel) => Err(Error::refuse(
            dir.join(rel),
            "the path leaves the output directory or is one fredgen reserves",
        )),
        None => Ok(()),
    }
}

/// Which of the `Modified` files in `dir` were edited by hand since fredgen wrote them: their
/// content is not what the manifest's digest records. A file the manifest has no digest for (one
/// written by an older fredgen) is never called edited.
pub fn hand_edited(dir: &Path, changes: &[Change]) -> Result<Vec<String>> {
    let digests = digests(dir)?;
    let mut edited = Vec::new();
    for (rel, disk) in modified_on_disk(dir, changes)? {
        if by_hand(&digests, &rel, &disk) {
            edited.push(rel);
        }
    }
    Ok(edited)
}

/// The `Modified` files in `dir` that differ from what `out` renders in their first line alone
/// (the generated header) and were not edited by hand ([`hand_edited`]), each with that line as
/// it is on disk: what `check` tells apart when only the fredgen version, the spec's hash or the
/// regenerate command changed.
pub fn headers_only(out: &Output, dir: &Path, changes: &[Change]) -> Result<Vec<(String, String)>> {
    let digests = digests(dir)?;
    let mut found = Vec::new();
    for (rel, disk) in modified_on_disk(dir, changes)? {
        let Some(new) = out.files.get(&rel) else {
            continue;
        };
        if by_hand(&digests, &rel, &disk) {
            continue;
        }
        let disk = String::from_utf8_lossy(&disk);
        let ((old_head, old_rest), (_, new_rest)) = (first_line(&disk), first_line(new));
        if old_rest == new_rest {
            found.push((rel, old_head.to_string()));
        }
    }
    Ok(found)
}

/// A text's first line and the rest after it.
fn first_line(text: &str) -> (&str, &str) {
    text.split_once('\n').unwrap_or((text, ""))
}

/// Each `Modified` file of `changes` with its bytes on disk (a regular file only).
fn modified_on_disk(dir: &Path, changes: &[Change]) -> Result<Vec<(String, Vec<u8>)>> {
    let mut found = Vec::new();
    for change in changes {
        if let Change::Modified(rel) = change
            && let Some(disk) = read_regular(&dir.join(rel), MAX_FILE)?
        {
            found.push((rel.clone(), disk));
        }
    }
    Ok(found)
}

/// Whether `disk`, the bytes of `rel`, are not what the manifest's digest says fredgen wrote; a
/// file without a digest (written by an older fredgen) is never called edited.
fn by_hand(digests: &std::collections::BTreeMap<String, String>, rel: &str, disk: &[u8]) -> bool {
    digests
        .get(rel)
        .is_some_and(|recorded| digest(disk) != *recorded)
}

/// The unified diff of one change, as `diff -u a/<dir> b/<rendered>` would show it, its headers
/// naming the file `a/<name>` and `b/<name>` (the path relative to `dir`, or another spelling of
/// it: `render --all` names the whole path, a terminal an escaped one).
pub fn unified_diff(out: &Output, dir: &Path, change: &Change, name: &str) -> Result<String> {
    let rel = change.path();
    let old = read_if_file(&dir.join(rel))?.unwrap_or_default();
    let new = out.files.get(rel).cloned().unwrap_or_default();
    let (a, b) = match change {
        Change::Added(_) => ("/dev/null".to_string(), format!("b/{name}")),
        Change::Removed(_) => (format!("a/{name}"), "/dev/null".to_string()),
        Change::Modified(_) => (format!("a/{name}"), format!("b/{name}")),
    };
    let diff = TextDiff::from_lines(&old, &new);
    Ok(diff
        .unified_diff()
        .context_radius(3)
        .header(&a, &b)
        .to_string())
}

/// True for a path fredgen reserves for its own bookkeeping in the output directory.
fn is_reserved(rel: &str) -> bool {
    rel.split('/')
        .next()
        .is_some_and(|c| c.starts_with(".fredgen-"))
}

/// What [`write`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Every file added, modified or removed, sorted by path.
    pub changes: Vec<Change>,
    /// The modified files that had been edited by hand since fredgen wrote them (their edits
    /// are now overwritten), sorted by path.
    pub hand_edited: Vec<String>,
}

/// Writes the output into `dir` and returns what changed.
///
/// In order: refuses unsafe generated paths and a symbolic-linked output directory; creates the
/// parent directory if need be and locks it; creates the output directory; completes (or rolls
/// back) what an interrupted render left; refuses to overwrite a file fredgen did not generate,
/// or to replace one across a mount point; returns at once when nothing changed; then updates the
/// directory in place behind a journal ([`journal::update`]).
pub fn write(out: &Output, dir: &Path) -> Result<Written> {
    refuse_unsafe_paths(out, dir)?;
    // One spelling of the directory for everything below, whatever the user typed (`out/`,
    // `a/../out`, `..`): the lock is then the same for every render of it. Errors name paths
    // as the user gave the directory, as `check` and `diff` do.
    let resolved = resolve(dir)?;
    write_resolved(out, &resolved).map_err(|e| match e {
        Error::Unsafe { path, reason, hint } => Error::Unsafe {
            path: as_given(path, &resolved, dir),
            reason,
            hint,
        },
        Error::Io {
            action,
            path,
            source,
        } => Error::Io {
            action,
            path: as_given(path, &resolved, dir),
            source,
        },
        e => e,
    })
}

/// `path`, inside the `resolved` output directory, as inside the directory as `given`.
fn as_given(path: PathBuf, resolved: &Path, given: &Path) -> PathBuf {
    match path.strip_prefix(resolved) {
        Ok(rest) if rest.as_os_str().is_empty() => given.to_path_buf(),
        Ok(rest) => given.join(rest),
        Err(_) => path,
    }
}

/// [`write`] into the directory as [`resolve`] spells it.
fn write_resolved(out: &Output, dir: &Path) -> Result<Written> {
    refuse_symlink(dir)?;
    let _lock = lock(dir)?;
    match fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(in_the_way(dir)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir(dir).map_err(|e| Error::io("creating", dir, e))?;
        }
        Err(e) => return Err(Error::io("inspecting", dir, e)),
    }
    let recovered = journal::recover(dir)?;

    // Every overwritten or removed file is proven fredgen's by `changes`.
    let changes = changes(out, dir)?;
    let written = Written {
        hand_edited: hand_edited(dir, &changes)?,
        changes,
    };
    let mut puts = Vec::new();
    let mut dels = Vec::new();
    for change in &written.changes {
        match change {
            Change::Added(rel) | Change::Modified(rel) => {
                puts.push((rel.as_str(), out.files[rel].as_str()));
            }
            Change::Removed(rel) => dels.push(rel.as_str()),
        }
    }
    let manifest = manifest(out);
    if written.changes.is_empty()
        && !recovered
        && read_if_file(&dir.join(MANIFEST))?.as_deref() == Some(manifest.as_str())
    {
        return Ok(written);
    }
    refuse_mount_points(dir, &puts)?;
    journal::update(dir, &puts, &dels, &manifest)?;
    Ok(written)
}

/// What [`write`] would refuse in `dir`, found without writing or locking anything: an unsafe
/// path, a symbolic link in the directory's place, a file in its way, or a file at a generated
/// path that fredgen did not generate. `render --all` checks every directory before it writes
/// the first, so a refusal leaves every one as it was. (`write` checks again, under its lock.)
pub fn preflight(out: &Output, dir: &Path) -> Result<()> {
    refuse_unsafe_paths(out, dir)?;
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("inspecting", dir, e)),
        Ok(m) if m.file_type().is_symlink() => refuse_symlink(dir)?,
        Ok(m) if !m.is_dir() => return Err(in_the_way(dir)),
        Ok(_) => {}
    }
    let owned = owned(dir)?;
    let mut puts = Vec::new();
    for (rel, text) in &out.files {
        check_parents(dir, rel)?;
        let path = dir.join(rel);
        let on_disk = read_if_file(&path)?;
        if on_disk.as_deref() != Some(text.as_str()) {
            puts.push((rel.as_str(), text.as_str()));
        }
        let differs = on_disk.is_some_and(|on_disk| on_disk != *text);
        if differs && (!owned.contains(rel) || !proven_generated(&path)?) {
            return Err(not_generated(path));
        }
    }
    refuse_mount_points(dir, &puts)?;
    // Every directory a changed file goes into, where it exists, must take new files.
    let mut dirs: BTreeSet<PathBuf> = BTreeSet::from([dir.to_path_buf()]);
    for (rel, _) in &puts {
        let mut cur = dir.join(rel);
        while cur.pop() && cur.starts_with(dir) {
            if cur.is_dir() {
                dirs.insert(cur.clone());
                break;
            }
        }
    }
    for d in dirs {
        if rustix::fs::access(&d, rustix::fs::Access::WRITE_OK).is_err() {
            return Err(Error::refuse(
                d,
                "fredgen cannot write there (permission denied)",
            ));
        }
    }
    Ok(())
}

/// The output directory as its real parent (created when it is missing, then resolved through
/// links and `..`) joined with its own name, which is left as it is: a link there is refused, not
/// followed. A trailing `/` or `/.` does not make a link a directory.
fn resolve(dir: &Path) -> Result<PathBuf> {
    let abs = std::path::absolute(dir).map_err(|e| Error::io("resolving", dir, e))?;
    // Drops `.` components and a trailing `/`; a path ending in `..` is resolved on disk.
    let mut abs: PathBuf = abs.components().collect();
    if abs.file_name().is_none() {
        abs = fs::canonicalize(&abs).map_err(|e| Error::io("resolving", dir, e))?;
    }
    let (Some(parent), Some(name)) = (abs.parent(), abs.file_name()) else {
        return Err(Error::refuse(
            dir,
            "the output directory must be a named directory, not the root",
        ));
    };
    fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
    let parent = fs::canonicalize(parent).map_err(|e| Error::io("resolving", parent, e))?;
    Ok(parent.join(name))
}

/// Locks the parent of `dir` (a resolved path whose parent exists) for the rest of the render, so
/// that two renders of one directory never interleave — also the first two, before the directory
/// exists. Best effort where the system or file system has no locks.
fn lock(dir: &Path) -> Result<Option<fs::File>> {
    let Some(parent) = dir.parent() else {
        return Ok(None);
    };
    if !cfg!(unix) {
        return Ok(None);
    }
    let file = fs::File::open(parent).map_err(|e| Error::io("opening", parent, e))?;
    match file.lock() {
        Ok(()) => Ok(Some(file)),
        Err(_) => Ok(None),
    }
}

/// Refuses a generated path whose directory is on another file system than the output
/// directory (a mount point inside it): a file cannot be renamed into place across one.
fn refuse_mount_points(dir: &Path, puts: &[(&str, &str)]) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let dev = fs::metadata(dir)
            .map_err(|e| Error::io("inspecting", dir, e))?
            .dev();
        for (rel, _) in puts {
            let mut cur = dir.join(rel);
            while cur.pop() && cur != dir {
                if let Ok(m) = fs::symlink_metadata(&cur) {
                    if m.dev() != dev {
                        return Err(Error::Unsafe {
                            path: cur,
                            reason: "it is a mount point, which fredgen cannot update atomically"
                                .into(),
                            hint: Some("render into a directory inside it".into()),
                        });
                    }
                    break;
                }
            }
        }
    }
    let _ = (dir, puts);
    Ok(())
}

/// The manifest's text for an output: the paths, then the digest of each file's content as
/// comments (`# blake3 <hex> <path>`), so that a fredgen that reads no digests reads the paths
/// as before.
fn manifest(out: &Output) -> String {
    let mut manifest = String::from(
        "# Files generated by fredgen in this directory. fredgen rewrites or removes only these.\n",
    );
    for rel in out.files.keys() {
        manifest.push_str(rel);
        manifest.push('\n');
    }
    manifest.push_str("# The BLAKE3 digest of each as fredgen wrote it, to tell a hand edit:\n");
    for (rel, text) in &out.files {
        manifest.push_str(&format!("{DIGEST}{} {rel}\n", digest(text.as_bytes())));
    }
    // The spec's overrides, as comments (which the reader above skips).
    for o in &out.overrides {
        manifest.push_str(&format!(
            "# override {:?} -> {}: {}\n",
            o.file, o.into, o.what
        ));
    }
    manifest
}

/// Writes whole files that no output directory holds (`man -o`, `schema -o`), each replacing what
/// is at its path. Every path is checked before the first file is written: a directory, FIFO,
/// socket or device there is refused. Each file is written to a temporary file in its own
/// directory and renamed over its path, so a symbolic link there is replaced, never written
/// through, and a failure before the renames leaves every path as it was.
pub fn replace_files(files: &[(PathBuf, Vec<u8>)]) -> Result<()> {
    for (path, _) in files {
        match fs::symlink_metadata(path) {
            Ok(m) if m.is_dir() => return Err(Error::refuse(path, "it is a directory")),
            Ok(m) if !m.is_file() && !m.file_type().is_symlink() => {
                return Err(Error::refuse(
                    path,
                    "it is not a regular file (a FIFO, socket or device)",
                ));
            }
            // A link is replaced, not written through; but one that leads to something other
            // than a regular file (`/dev/stdout`, a terminal, a pipe, a directory) is no file
            // to replace.
            Ok(m) if m.file_type().is_symlink() => match fs::metadata(path) {
                Ok(target) if !target.is_file() => {
                    return Err(Error::refuse(
                        path,
                        "it is a symbolic link to something other than a regular file (a stream, device or directory)",
                    ));
                }
                _ => {}
            },
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("inspecting", path, e)),
        }
    }
    let mut staged = Vec::new();
    for (path, bytes) in files {
        use std::io::Write;
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        // A missing folder is said as the file's, not as the temporary file's error.
        fs::metadata(parent).map_err(|e| Error::io("writing", path, e))?;
        let mut builder = tempfile::Builder::new();
        builder.prefix(".fredgen-");
        // What `fs::write` would create: 0666 less the umask, not the temporary file's 0600.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let mut tmp = builder
            .tempfile_in(parent)
            .map_err(|e| Error::io("writing", path, e))?;
        tmp.write_all(bytes)
            .map_err(|e| Error::io("writing", path, e))?;
        staged.push((tmp, path));
    }
    for (tmp, path) in staged {
        tmp.persist(path)
            .map_err(|e| Error::io("renaming into place", path, e.error))?;
    }
    Ok(())
}

fn refuse_symlink(dir: &Path) -> Result<()> {
    match fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_symlink() => Err(symlinked(dir)),
        _ => Ok(()),
    }
}

/// The refusal of a symbolic link in the output directory's place.
fn symlinked(dir: &Path) -> Error {
    Error::refuse(dir, "the output directory is a symbolic link")
}

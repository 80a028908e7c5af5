//! CLI edge — a spec that comes from stdin (`-f -`, `--spec-name`), the output directory as the
//! headers' regenerate command names it, and `render --stdout`: a render as one stream of files.

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};
use crate::render::Output;

/// Parses `--spec-name`: a plain file name (no `/`, nothing [`crate::render::one_line`] refuses), as
/// generated headers and the README name the spec.
pub fn spec_name(name: &str) -> std::result::Result<String, String> {
    if name.is_empty() || name == "." || name == ".." {
        return Err("a spec name is a file name such as `fredgen.yaml`".into());
    }
    if name.trim().is_empty() {
        return Err("a spec name is a file name such as `fredgen.yaml`, not only spaces".into());
    }
    if name.len() > 255 {
        return Err(format!(
            "a spec name is a file name, at most 255 bytes long; this one has {}",
            name.len()
        ));
    }
    if name.contains(['/', '\\']) {
        return Err("a spec name is a file name, without `/` or `\\`".into());
    }
    if !crate::render::one_line(name) {
        return Err(
            "a spec name holds no control character, line break, bidirectional control or invisible character".into(),
        );
    }
    Ok(name.to_string())
}

/// Parses `--only`: a path prefix such as `k8s/`; an empty one would match every file.
pub fn only_prefix(prefix: &str) -> std::result::Result<String, String> {
    if prefix.is_empty() {
        return Err("a path prefix such as `k8s/`; an empty one would match every file".into());
    }
    Ok(prefix.to_string())
}

/// `path` from `base` (both absolute), lexically: `.` and `..` resolved without reading the file
/// system, so `deploy/eks/prod`, `../out` or `.`.
pub fn relative_to(path: &Path, base: &Path) -> PathBuf {
    fn normal(p: &Path) -> Vec<Component<'_>> {
        let mut parts: Vec<Component> = Vec::new();
        for c in p.components() {
            match c {
                Component::CurDir => {}
                Component::ParentDir if matches!(parts.last(), Some(Component::Normal(_))) => {
                    parts.pop();
                }
                // `..` above the root is the root.
                Component::ParentDir if parts.len() <= 1 => {}
                other => parts.push(other),
            }
        }
        parts
    }
    let (path, base) = (normal(path), normal(base));
    let common = path.iter().zip(&base).take_while(|(a, b)| a == b).count();
    let mut rel = PathBuf::new();
    for _ in common..base.len() {
        rel.push("..");
    }
    for c in &path[common..] {
        rel.push(c);
    }
    if rel.as_os_str().is_empty() {
        rel.push(".");
    }
    rel
}

/// `path` (absolute) with `.` and `..` resolved lexically, then its longest existing ancestor's
/// symbolic links resolved: one directory however a command line spells it.
fn resolved(path: &Path) -> PathBuf {
    let lexical = relative_to(path, Path::new("/"));
    let lexical = Path::new("/").join(lexical);
    let mut existing = lexical.as_path();
    let mut tail = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(existing) {
            return tail.iter().rev().fold(real, |p, c| p.join(c));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                tail.push(name.to_os_string());
                existing = parent;
            }
            _ => return lexical,
        }
    }
}

/// The output directory `dir` as the headers' regenerate command names it (`--out`): from the
/// spec's folder `folder` (none: a stream's, the current directory), `/`-separated; none when it
/// is `default` (`deploy/<target>[/<env>]`), so the command is the same wherever fredgen ran,
/// however the spec was passed and whichever symbolic links the paths go through.
pub fn out_arg(dir: &Path, folder: Option<&Path>, default: &Path) -> Result<Option<String>> {
    let cwd = std::env::current_dir().map_err(|e| Error::io("reading", ".", e))?;
    let folder = cwd.join(folder.unwrap_or(Path::new("")));
    let (dir, base) = (resolved(&cwd.join(dir)), resolved(&folder));
    // The default directory, even when a link leads it elsewhere (`deploy -> /mnt/deploy`).
    if dir == resolved(&folder.join(default)) {
        return Ok(None);
    }
    let rel = relative_to(&dir, &base);
    let words: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Ok(Some(words.join("/")))
}

/// The separator before each file of a `--stdout` stream, as `helm template` writes it: a YAML
/// document start and a comment naming the file.
pub fn separator(path: &str) -> String {
    format!("{SEPARATOR}{path}\n")
}

/// How every [`separator`] begins.
const SEPARATOR: &str = "---\n# Source: ";

/// Whether `file` holds what a reader of a stream would take for a [`separator`]: a YAML
/// document start (`---`, alone or before a space, a tab or a comment) and then a comment
/// `Source:` however spaced (Helm's own splitter reads `---\s*` and `#\s*Source:`).
fn fakes_separator(file: &str) -> bool {
    let start = |line: &str| {
        line.strip_prefix("---")
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']))
    };
    let source = |line: &str| {
        line.strip_prefix('#')
            .is_some_and(|rest| rest.trim_start().starts_with("Source:"))
    };
    let mut lines = file.lines().peekable();
    while let Some(line) = lines.next() {
        if start(line) && lines.peek().is_some_and(|next| source(next)) {
            return true;
        }
    }
    false
}

/// `render --stdout`: every file of `out` whose path starts with one of `only` (every file when
/// `only` is empty), in path order, each after its [`separator`]. Every file ends with a newline,
/// so a file is exactly the text between its separator and the next. With YAML files only the
/// stream is one multi-document YAML stream (`kubectl apply -f -` reads it); other files (HCL,
/// Markdown, shell) are separated the same way, but make the whole no longer YAML.
pub fn stream(out: &Output, only: &[String]) -> Result<String> {
    let mut text = String::new();
    let mut found = 0;
    for (path, file) in &out.files {
        if !only.is_empty() && !only.iter().any(|p| path.starts_with(p.as_str())) {
            continue;
        }
        found += 1;
        // A line `---` then a line `# Source: ` inside a file (a heredoc, an override's second
        // document) would read as the start of another file.
        if fakes_separator(file) {
            return Err(Error::usage(
                format!(
                    "{path} holds a line `---` followed by a line starting `# Source:`, which a --stdout stream would read as the start of another file"
                ),
                "render into a directory (without --stdout), or leave the file out with --only",
            ));
        }
        text.push_str(&separator(path));
        text.push_str(file);
        if !file.ends_with('\n') {
            text.push('\n');
        }
    }
    if found == 0 {
        let mut tops: Vec<&str> = out
            .files
            .keys()
            .map(|p| p.split_once('/').map_or(p.as_str(), |(dir, _)| dir))
            .collect();
        tops.dedup();
        return Err(Error::usage(
            format!("no rendered file's path starts with {}", only.join(" or ")),
            format!(
                "--only takes a path prefix such as `k8s/`; the render holds {}",
                tops.join(", ")
            ),
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_a_stream_reader_takes_for_a_separator_is_found_however_spaced() {
        for fake in [
            "---\n# Source: k8s/x.yaml\n",
            "a\n---\n# Source: k8s/x.yaml\n",
            "a\n--- \n#  Source: x\n",
            "a\n---\t# doc\n#Source: x\n",
            "a\n---\r\n# Source:\tx\r\n",
        ] {
            assert!(fakes_separator(fake), "{fake:?}");
        }
        for fine in [
            "---\napiVersion: v1\n",
            "a\n----\n# Source: x\n",
            "a\n---\n\n# Source: x\n",
            "a\n ---\n# Source: x\n",
            "a\n---\n# Sources: x\n# the Source: x\n",
        ] {
            assert!(!fakes_separator(fine), "{fine:?}");
        }
    }

    #[test]
    fn a_path_is_taken_from_a_folder_lexically() {
        let rel = |p: &str, b: &str| relative_to(Path::new(p), Path::new(b));
        assert_eq!(
            rel("/r/deploy/eks/prod", "/r"),
            Path::new("deploy/eks/prod")
        );
        assert_eq!(
            rel("/r/./a/../deploy/eks", "/r/x/.."),
            Path::new("deploy/eks")
        );
        assert_eq!(rel("/r/out", "/r/spec"), Path::new("../out"));
        assert_eq!(rel("/r", "/r"), Path::new("."));
        assert_eq!(rel("/other/x", "/r/s"), Path::new("../../other/x"));
        assert_eq!(rel("/../r/x", "/r"), Path::new("x"));
    }

    #[test]
    fn a_spec_name_is_a_plain_file_name() {
        assert_eq!(spec_name("stack.yaml"), Ok("stack.yaml".into()));
        assert_eq!(spec_name("a-->b`c.yaml"), Ok("a-->b`c.yaml".into()));
        assert!(spec_name(&"x".repeat(255)).is_ok());
        for bad in [
            "",
            ".",
            "..",
            "a/b.yaml",
            "a\\b",
            "a\nb",
            "a\rb",
            "a\u{85}b",
            "a\u{2028}b",
            "a\0b",
            " ",
            "  \u{3000}",
            &"x".repeat(256),
            &"é".repeat(128),
        ] {
            assert!(spec_name(bad).is_err(), "{bad:?}");
        }
    }
}

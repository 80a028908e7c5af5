//! Cross-stage — the error type: spec diagnostics with positions and hints, and render failures.

use std::fmt;
use std::path::PathBuf;

use crate::console::paint;

/// A 1-based line and column in the spec file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl Pos {
    /// Converts a serde-saphyr location; `None` when the location is unknown.
    pub fn from_location(loc: &serde_saphyr::Location) -> Option<Pos> {
        let line = usize::try_from(loc.line()).ok()?;
        let column = usize::try_from(loc.column()).ok()?;
        (line > 0).then_some(Pos {
            line,
            column: column.max(1),
        })
    }
}

/// One problem in a spec, with where it is, what was expected, and a hint where one helps.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Diagnostic {
    /// The spec file as the user named it.
    pub file: String,
    /// Where, when known.
    pub pos: Option<Pos>,
    /// The key path, e.g. `workers[1].replicas.max`; empty for the whole file.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A diagnostic without a hint.
    pub fn new(file: &str, pos: Option<Pos>, path: &str, message: String) -> Diagnostic {
        Diagnostic {
            file: file.to_string(),
            pos,
            path: path.to_string(),
            message,
            hint: None,
        }
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    /// Renders the diagnostic with `source_line` (the line its position points at) and a caret
    /// under the column. [`Error::report`] splits the source into lines once for all diagnostics.
    pub fn render(&self, source_line: Option<&str>) -> String {
        self.render_painted(source_line, false)
    }

    /// [`Diagnostic::render`], with the `error` and `= hint:` prefixes painted when `color`.
    pub fn render_painted(&self, source_line: Option<&str>, color: bool) -> String {
        let mut out = paint("error", crate::console::ERROR, color);
        if !self.path.is_empty() {
            out.push_str(&format!(" at `{}`", shown(&self.path)));
        }
        out.push_str(&format!(": {}\n", shown(&self.message)));
        match self.pos {
            Some(pos) => {
                out.push_str(&format!(
                    "  --> {}:{}:{}\n",
                    shown_path(&self.file),
                    pos.line,
                    pos.column
                ));
                if let Some(line) = source_line {
                    let (line, column) = window(line, pos.column);
                    let gutter = pos.line.to_string();
                    let pad = " ".repeat(gutter.len());
                    let caret_pad: String = line
                        .chars()
                        .take(column.saturating_sub(1))
                        .map(|c| match c {
                            '\t' => "\t".to_string(),
                            _ => " ".repeat(shown(c.encode_utf8(&mut [0; 4])).chars().count()),
                        })
                        .collect();
                    let line = shown(&line);
                    out.push_str(&format!(
                        "{pad} |\n{gutter} | {line}\n{pad} | {caret_pad}^\n"
                    ));
                }
            }
            None => out.push_str(&format!("  --> {}\n", shown_path(&self.file))),
        }
        if let Some(hint) = &self.hint {
            out.push_str(&format!(
                "  {} {}\n",
                paint("= hint:", crate::console::HINT, color),
                shown(hint)
            ));
        }
        out
    }
}

/// `text` with each character the spec may not hold ([`crate::spec::chars::special`]: controls,
/// line separators, bidirectional controls, invisible characters) written as `\u{…}`, so a report
/// shows what is there, not text reordered or hidden by it.
fn shown(text: &str) -> String {
    text.chars()
        .map(|c| match crate::spec::chars::special(c) {
            Some(_) => c.escape_unicode().to_string(),
            None => c.to_string(),
        })
        .collect()
}

/// A path as fredgen prints it for people (errors, warnings, `check`, `render -v`, `diff`'s
/// headers): every control character (tab and newline too), line separator, bidirectional
/// control or invisible character written as `\u{…}`, so that a file name cannot move the
/// cursor, retitle the terminal or reorder the line; and a name longer than [`PATH_SHOWN`]
/// characters cut in its middle (`…`). JSON output keeps the exact path.
pub fn shown_path(path: impl AsRef<std::path::Path>) -> String {
    let text = path.as_ref().to_string_lossy();
    let chars: Vec<char> = text.chars().collect();
    let escape = |c: &char| {
        if crate::spec::chars::unprintable(*c) {
            c.escape_unicode().to_string()
        } else {
            c.to_string()
        }
    };
    if chars.len() <= PATH_SHOWN {
        return chars.iter().map(escape).collect();
    }
    let (head, tail) = (PATH_SHOWN * 2 / 3, PATH_SHOWN / 3);
    let mut out: String = chars[..head].iter().map(escape).collect();
    out.push('…');
    out.extend(chars[chars.len() - tail..].iter().map(escape));
    out
}

/// The most characters of a path [`shown_path`] prints.
pub const PATH_SHOWN: usize = 240;

/// At most [`WINDOW`] characters of a long source line around `column`, marked with `…` where
/// cut, and the column within what is shown.
fn window(line: &str, column: usize) -> (String, usize) {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= WINDOW {
        return (line.to_string(), column);
    }
    let start = column.saturating_sub(WINDOW / 2).min(chars.len() - WINDOW);
    let end = start + WINDOW;
    let mut shown = String::new();
    if start > 0 {
        shown.push('…');
    }
    shown.extend(&chars[start..end]);
    if end < chars.len() {
        shown.push('…');
    }
    (shown, column - start + usize::from(start > 0))
}

/// The widest source excerpt shown under a diagnostic.
const WINDOW: usize = 100;

/// Everything fredgen's library can fail with. The CLI maps these to exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec has problems; all of them are listed.
    #[error("{} in the stack spec", problems(diagnostics.len()))]
    Spec {
        /// The spec text, for showing lines.
        source_text: Option<String>,
        /// Every problem found.
        diagnostics: Vec<Diagnostic>,
    },
    /// A folder fredgen reads besides the spec (a folder target, a folder of replaced templates)
    /// has problems; all of them are listed, reported like the spec's.
    #[error("{}", problems(diagnostics.len()))]
    Folder {
        /// The file's text, for showing lines.
        source_text: Option<String>,
        /// Every problem found.
        diagnostics: Vec<Diagnostic>,
    },
    /// A template failed to render: a bug in fredgen, not in the spec.
    #[error("bug in fredgen: template `{template}` failed to render: {message}")]
    Template {
        /// Template id.
        template: String,
        /// minijinja's message, with the template line.
        message: String,
    },
    /// A rendered file does not parse back: a bug in fredgen's templates.
    #[error(
        "bug in fredgen: `{path}` (from template `{template}`) does not parse as {format}: {message}"
    )]
    ParseBack {
        /// Output path.
        path: String,
        /// Template id.
        template: String,
        /// "HCL" or "YAML".
        format: &'static str,
        /// Parser message.
        message: String,
    },
    /// A usage problem the spec did not cause (unknown target, missing --env ...).
    #[error("{message}")]
    Usage {
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: Option<String>,
    },
    /// Reading or writing files.
    #[error("{action} `{}`: {source}", shown_path(path))]
    Io {
        /// What fredgen was doing.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// There is no spec file where the command looked.
    #[error("no stack spec at `{}`", shown_path(path))]
    NoSpec {
        /// The spec's path as given.
        path: PathBuf,
    },
    /// The output directory holds something fredgen must not touch.
    #[error("refusing to touch `{}`: {reason}", shown_path(path))]
    Unsafe {
        /// The path.
        path: PathBuf,
        /// Why.
        reason: String,
        /// What to do about it, where something helps.
        hint: Option<String>,
    },
}

impl Error {
    /// A usage error with a hint.
    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Error {
        Error::Usage {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    /// A refusal to touch `path`, without a hint.
    pub fn refuse(path: impl Into<PathBuf>, reason: impl Into<String>) -> Error {
        Error::Unsafe {
            path: path.into(),
            reason: reason.into(),
            hint: None,
        }
    }

    /// An I/O error with context.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// The full human-readable report: every diagnostic, or the message and its hint.
    pub fn report(&self) -> String {
        self.report_painted(false)
    }

    /// [`Error::report`], with the `error` and `= hint:` prefixes painted when `color`.
    pub fn report_painted(&self, color: bool) -> String {
        let error = paint("error", crate::console::ERROR, color);
        let hint_prefix = paint("= hint:", crate::console::HINT, color);
        match self {
            Error::Spec {
                source_text,
                diagnostics,
            }
            | Error::Folder {
                source_text,
                diagnostics,
            } => {
                let mut out = String::new();
                let lines: Vec<&str> = source_text
                    .as_deref()
                    .map_or(Vec::new(), |s| s.lines().collect());
                for d in diagnostics {
                    let line = d
                        .pos
                        .and_then(|p| lines.get(p.line.checked_sub(1)?).copied());
                    out.push_str(&d.render_painted(line, color));
                    out.push('\n');
                }
                out.push_str(&format!("{self}\n"));
                out
            }
            Error::Usage {
                hint: Some(hint), ..
            }
            | Error::Unsafe {
                hint: Some(hint), ..
            } => format!("{error}: {self}\n  {hint_prefix} {hint}\n"),
            Error::NoSpec { path } => {
                format!("{error}: {self}\n  {hint_prefix} {}\n", no_spec_hint(path))
            }
            _ => format!("{error}: {self}\n"),
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// `1 problem`, `2 problems`: the last line of a report of diagnostics.
fn problems(count: usize) -> String {
    match count {
        1 => "1 problem".to_string(),
        n => format!("{n} problems"),
    }
}

/// The hint under [`Error::NoSpec`] for the default spec, `fredgen.yaml`.
pub const NO_SPEC_HINT: &str =
    "run `fredgen init` to write a starter spec there, or name the spec with -f <SPEC>";

/// The hint under [`Error::NoSpec`]: for a spec named with `-f`, the `fredgen init -f` that
/// writes a starter spec at that path (quoted for a POSIX shell where it needs it).
pub fn no_spec_hint(path: &std::path::Path) -> String {
    if path == std::path::Path::new(crate::DEFAULT_SPEC) {
        return NO_SPEC_HINT.to_string();
    }
    let shown = shown_path(path);
    let plain = shown
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./+@:,=".contains(c))
        && !shown.starts_with('-');
    let arg = if plain {
        shown
    } else {
        format!("'{}'", shown.replace('\'', r"'\''"))
    };
    format!("run `fredgen init -f {arg}` to write a starter spec there, or check the path")
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_paths_escape_every_control_and_cut_long_names_in_the_middle() {
        assert_eq!(
            shown_path("k8s/a\u{1b}]0;X\u{7}\t\n\r\u{85}\u{2028}\u{2029}\u{202e}b.yaml"),
            "k8s/a\\u{1b}]0;X\\u{7}\\u{9}\\u{a}\\u{d}\\u{85}\\u{2028}\\u{2029}\\u{202e}b.yaml"
        );
        assert_eq!(
            shown_path("deploy/eks/k8s/web.yaml"),
            "deploy/eks/k8s/web.yaml"
        );
        let long = format!("k8s/{}.yaml", "a".repeat(5 << 20));
        let shown = shown_path(&long);
        assert_eq!(shown.chars().count(), PATH_SHOWN + 1);
        assert!(
            shown.starts_with("k8s/aaa") && shown.ends_with("aaa.yaml"),
            "{shown}"
        );
        assert!(shown.contains('…'));
    }

    #[test]
    fn reports_write_characters_the_spec_may_not_hold_as_escapes_and_keep_the_caret() {
        let d = Diagnostic::new(
            "s.yaml",
            Some(Pos { line: 3, column: 8 }),
            "env.K\u{202e}",
            "`K\u{202e}` is bad".into(),
        );
        let out = d.render(Some("  K\u{202e}: \u{200b}x"));
        // the caret stays under `x`, after the two escapes
        let line = "  K\\u{202e}: \\u{200b}x";
        let caret = " ".repeat(line.len() - 1);
        assert_eq!(
            out,
            format!(
                "error at `env.K\\u{{202e}}`: `K\\u{{202e}}` is bad\n  --> s.yaml:3:8\n  |\n\
                 3 | {line}\n  | {caret}^\n"
            )
        );
    }
}

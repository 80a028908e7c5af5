//! CLI edge — the terminal: what `-q` and `-v` let through, whether `--color` paints a stream,
//! and the styles of what fredgen paints (diff lines, `error:`/`warning:` prefixes, `check`'s
//! status words).
//!
//! Colour follows cargo and ripgrep, by anstream's rules: `--color auto` (the default) paints a
//! stream only when it is a terminal, `NO_COLOR` is unset or empty (<https://no-color.org>) and
//! `TERM` is not `dumb`; a `CLICOLOR_FORCE` that is neither empty nor `0` paints it anyway. Only reports are painted:
//! generated files, `--format json` and the other outputs meant for files or pipes (schema, man
//! pages, completions, templates) never are.

use std::io::Write;

use anstyle::{AnsiColor, Style};

use crate::error::Error;

/// The `error` prefix of an error report.
pub const ERROR: Style = AnsiColor::Red.on_default().bold();
/// The `warning` prefix.
pub const WARNING: Style = AnsiColor::Yellow.on_default().bold();
/// The `= hint:` of a report.
pub const HINT: Style = AnsiColor::Cyan.on_default().bold();
/// `--- a/…` and `+++ b/…` of a diff.
pub const DIFF_HEADER: Style = Style::new().bold();
/// A removed line of a diff (`-`).
pub const DIFF_REMOVED: Style = AnsiColor::Red.on_default();
/// An added line of a diff (`+`).
pub const DIFF_ADDED: Style = AnsiColor::Green.on_default();
/// A hunk header of a diff (`@@ … @@`).
pub const DIFF_HUNK: Style = AnsiColor::Cyan.on_default();
/// `check`: a directory that is up to date.
pub const UP_TO_DATE: Style = AnsiColor::Green.on_default().bold();
/// `check`: a file that is missing or would be removed.
pub const MISSING: Style = AnsiColor::Red.on_default().bold();
/// `check`: a file that differs.
pub const MODIFIED: Style = AnsiColor::Yellow.on_default().bold();

/// `text` in `style` when `color`, else `text` as it is.
pub fn paint(text: &str, style: Style, color: bool) -> String {
    if color {
        format!("{style}{text}{style:#}")
    } else {
        text.to_string()
    }
}

/// A unified diff with its headers bold, removed lines red, added lines green and hunk headers
/// cyan, when `color`; else the diff as it is.
pub fn paint_diff(diff: &str, color: bool) -> String {
    if !color {
        return diff.to_string();
    }
    diff.split_inclusive('\n')
        .map(|line| {
            let (body, end) = match line.strip_suffix('\n') {
                Some(body) => (body, "\n"),
                None => (line, ""),
            };
            let style = if body.starts_with("--- ") || body.starts_with("+++ ") {
                DIFF_HEADER
            } else if body.starts_with("@@") {
                DIFF_HUNK
            } else if body.starts_with('-') {
                DIFF_REMOVED
            } else if body.starts_with('+') {
                DIFF_ADDED
            } else {
                return line.to_string();
            };
            format!("{}{end}", paint(body, style, true))
        })
        .collect()
}

/// When to colour, as `--color` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorWhen {
    /// Colour a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces colour).
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl ColorWhen {
    /// The same choice, as clap's own help and errors take it (with `CLICOLOR_FORCE=0`, the
    /// choice for stdout, where help goes).
    pub fn clap(self) -> clap::ColorChoice {
        match self {
            ColorWhen::Auto if clicolor_force_off() => {
                if self.paints(&std::io::stdout()) {
                    clap::ColorChoice::Always
                } else {
                    clap::ColorChoice::Never
                }
            }
            ColorWhen::Auto => clap::ColorChoice::Auto,
            ColorWhen::Always => clap::ColorChoice::Always,
            ColorWhen::Never => clap::ColorChoice::Never,
        }
    }

    /// Whether to paint what goes to `stream`.
    pub fn paints(self, stream: &impl anstream::stream::RawStream) -> bool {
        match self {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            // anstream forces colour for any non-empty `CLICOLOR_FORCE`, `0` too: without it,
            // its other rules.
            ColorWhen::Auto if clicolor_force_off() => {
                let clicolor = anstyle_query::clicolor();
                !anstyle_query::no_color()
                    && clicolor != Some(false)
                    && stream.is_terminal()
                    && (anstyle_query::term_supports_color()
                        || clicolor == Some(true)
                        || anstyle_query::is_ci())
            }
            ColorWhen::Auto => anstream::AutoStream::choice(stream) != anstream::ColorChoice::Never,
        }
    }
}

/// `CLICOLOR_FORCE=0`, which does not force colour (<https://bixense.com/clicolors/>).
fn clicolor_force_off() -> bool {
    std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| v == "0")
}

/// Where a command's text goes: reports on stdout (silenced by `-q`), data on stdout (never
/// silenced), warnings and errors on stderr, each painted as `--color` decided for its stream.
#[derive(Debug, Clone, Copy, Default)]
pub struct Console {
    /// `-q`: print nothing but errors (and the data a command exists to print).
    pub quiet: bool,
    /// `-v`: say more (`render` lists every changed file).
    pub verbose: bool,
    /// Paint stdout.
    pub color_out: bool,
    /// Paint stderr.
    pub color_err: bool,
}

impl Console {
    /// The console of a command line's `-q`, `-v` and `--color`, for this process's streams.
    pub fn new(quiet: bool, verbose: bool, color: ColorWhen) -> Console {
        Console {
            quiet,
            verbose,
            color_out: color.paints(&std::io::stdout()),
            color_err: color.paints(&std::io::stderr()),
        }
    }

    /// A report for people on stdout (a summary, a diff, check's list); nothing with `-q`.
    pub fn report(&self, text: &str) -> Result<(), Error> {
        if self.quiet {
            return Ok(());
        }
        self.data(text.as_bytes())
    }

    /// What the command exists to print (JSON, a schema, a man page): printed whatever `-q`
    /// says ([`to_stdout`]).
    pub fn data(&self, bytes: &[u8]) -> Result<(), Error> {
        to_stdout(|out| out.write_all(bytes))
    }

    /// A warning on stderr, with a hint; nothing with `-q`.
    pub fn warn(&self, message: &str, hint: &str) {
        self.say(paint("warning", WARNING, self.color_err), message, hint);
    }

    /// A note on stderr (why a report says what it says), with a hint; nothing with `-q`.
    pub fn note(&self, message: &str, hint: &str) {
        self.say(paint("note", HINT, self.color_err), message, hint);
    }

    fn say(&self, label: String, message: &str, hint: &str) {
        if self.quiet {
            return;
        }
        let text = format!(
            "{label}: {message}\n  {} {hint}\n",
            paint("= hint:", HINT, self.color_err),
        );
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }

    /// An error's report on stderr (always, `-q` or not).
    pub fn error(&self, err: &Error) {
        let _ = std::io::stderr()
            .lock()
            .write_all(err.report_painted(self.color_err).as_bytes());
    }
}

/// `write` to stdout, flushed: an error such as a full disk (`> /dev/full`) is an error, but a
/// closed pipe (`fredgen man | head`) is not (Rust ignores SIGPIPE, so the write fails with
/// `BrokenPipe` instead of ending the process).
pub fn to_stdout(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match write(&mut out).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io("writing", STDOUT, e))
        }
        _ => Ok(()),
    }
}

/// How errors name stdout.
pub const STDOUT: &str = "<stdout>";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_is_painted_line_by_line_and_left_alone_without_colour() {
        let diff = "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n same\n";
        assert_eq!(paint_diff(diff, false), diff);
        assert_eq!(
            paint_diff(diff, true),
            "\u{1b}[1m--- a/x\u{1b}[0m\n\u{1b}[1m+++ b/x\u{1b}[0m\n\u{1b}[36m@@ -1 +1 @@\u{1b}[0m\n\
             \u{1b}[31m-old\u{1b}[0m\n\u{1b}[32m+new\u{1b}[0m\n same\n"
        );
    }
}

//! CLI edge — the command line (clap derive): one `Cli`, one `Command` enum of `...Args` structs,
//! and the `--format json` report shape that `validate`, `diff` and `check` print.

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum, ValueHint};
use serde::Serialize;

use crate::console::{ColorWhen, Console};
use crate::error::{Diagnostic, Error};

pub mod guide;
use crate::output::Change;

pub mod stream;

/// fredgen compiles one stack spec into the Terraform, Helm values and Kubernetes manifests that
/// stand the stack up on AWS EKS, Google GKE, Hetzner Cloud or an existing Kubernetes cluster.
#[derive(Debug, Parser)]
#[command(
    name = "fredgen",
    version,
    about = "Compile one stack spec into Terraform, Helm values and Kubernetes manifests",
    long_about = "fredgen compiles one stack spec into the Terraform, Helm values and Kubernetes manifests \
                  that stand the stack up on AWS EKS, Google GKE, Hetzner Cloud or an existing \
                  Kubernetes cluster (the `kubernetes` folder target)",
    after_help = guide::TOP.help()
)]
pub struct Cli {
    /// Flags every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `-q`, `-v` and `--color`, taken before or after the subcommand, as cargo and ripgrep take them.
#[derive(Debug, Args, Default, Clone, Copy)]
pub struct GlobalArgs {
    /// Print nothing but errors, and what a command exists to print (JSON, a schema, a script);
    /// diff and check still exit 1 when the directory differs.
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        help_heading = "Global options"
    )]
    pub quiet: bool,
    /// Say more: render lists every file it added, modified or removed; check marks the files
    /// edited by hand.
    #[arg(short, long, global = true, help_heading = "Global options")]
    pub verbose: bool,
    /// When to colour diffs, check's status words and error and warning prefixes; never in
    /// files or JSON.
    #[arg(
        long,
        value_enum,
        value_name = "WHEN",
        default_value_t = ColorWhen::Auto,
        global = true,
        help_heading = "Global options"
    )]
    pub color: ColorWhen,
}

impl GlobalArgs {
    /// The console these flags ask for.
    pub fn console(&self) -> Console {
        Console::new(self.quiet, self.verbose, self.color)
    }
}

/// The `--color` of a command line clap has not parsed yet (the last one given wins), so that
/// clap's own help and errors follow it too; `auto` when absent or not one of the values.
pub fn color_of(args: &[std::ffi::OsString]) -> ColorWhen {
    let mut color = ColorWhen::Auto;
    let mut args = args.iter().map(|a| a.to_string_lossy());
    while let Some(arg) = args.next() {
        if arg == "--" {
            break;
        }
        let value = match arg.strip_prefix("--color") {
            Some("") => args.next().map(|v| v.into_owned()),
            Some(v) => v.strip_prefix('=').map(str::to_string),
            None => None,
        };
        if let Some(v) = value.and_then(|v| ColorWhen::from_str(&v, false).ok()) {
            color = v;
        }
    }
    color
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render the output for one target and environment into a directory (or to stdout).
    #[command(after_help = guide::RENDER.help())]
    Render(RenderCommand),
    /// Show a unified diff between the directory and what would be rendered; writes nothing.
    #[command(after_help = guide::DIFF.help(), mut_arg("all", |a| a.help(COMPARE_ALL)))]
    Diff(CompareArgs),
    /// For CI: list files that differ from what would be rendered, exit 1 if any.
    #[command(after_help = guide::CHECK.help(), mut_arg("all", |a| a.help(COMPARE_ALL)))]
    Check(CompareArgs),
    /// Validate the spec for every target and environment it declares.
    #[command(after_help = guide::VALIDATE.help())]
    Validate(ValidateArgs),
    /// List the target backends (the built-in ones, the folder targets shipped with fredgen, and
    /// any given with --target-dir).
    #[command(after_help = guide::TARGETS.help())]
    Targets(TargetsArgs),
    /// List the built-in template ids, or print one template, to start a replacement from.
    #[command(after_help = guide::TEMPLATES.help())]
    Templates(TemplatesArgs),
    /// Write a commented starter spec (and its JSON Schema); never overwrites a spec.
    #[command(after_help = guide::INIT.help())]
    Init(InitArgs),
    /// Print the JSON Schema of the stack spec.
    #[command(after_help = guide::SCHEMA.help())]
    Schema(SchemaArgs),
    /// Print a shell completion script.
    #[command(after_help = guide::COMPLETIONS.help())]
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one page per command into a directory.
    #[command(after_help = guide::MAN.help())]
    Man(ManArgs),
}

/// `--all` as diff and check take it: they compare what render --all would write, and write
/// nothing (render's own help says where it writes).
const COMPARE_ALL: &str = "Every target × environment the spec declares, each compared with \
                           `<DIR>/<target>/<env>` (DIR: `--out`, default `deploy` next to the \
                           spec), and the GitHub workflows of `delivery.github` with the \
                           repository's `.github/workflows/`; writes nothing";

/// How `validate`, `diff` and `check` report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    /// Text for people on stdout (the cases, the diff, or one line per differing file), errors
    /// on stderr; coloured as --color says.
    #[default]
    Human,
    /// One JSON object on stdout and nothing on stderr, errors included, never coloured: command,
    /// ok, exit_code, spec, then cases (validate) or target, env, output and changes (diff,
    /// check: change, path, and for diff the file's unified diff), then errors (kind, file,
    /// line, column, path, message, hint). The README's `--format json` section has an example.
    Json,
}

/// Where the spec is.
#[derive(Debug, Args)]
pub struct SpecArgs {
    /// The stack spec; `-` reads it from stdin.
    #[arg(
        short = 'f',
        long = "file",
        default_value = "fredgen.yaml",
        value_name = "SPEC",
        value_hint = ValueHint::FilePath
    )]
    pub file: PathBuf,
    /// The file name of a spec read from stdin or a pipe, as headers, the README and errors name
    /// it [default: fredgen.yaml in headers, <stdin> in errors].
    #[arg(long, value_name = "NAME", value_parser = stream::spec_name, value_hint = ValueHint::Other)]
    pub spec_name: Option<String>,
}

/// Folder targets and a template folder given on the command line, added to those the spec
/// names.
#[derive(Debug, Args, Default, Clone)]
pub struct ExtensionArgs {
    /// A folder that defines a target (target.yaml, platform.yaml.j2, templates/); repeatable.
    #[arg(long = "target-dir", value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub target_dirs: Vec<PathBuf>,
    /// A folder whose .j2 files replace built-in templates of the same id (instead of the spec's
    /// `templates:`).
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub templates: Option<PathBuf>,
}

impl ExtensionArgs {
    /// As the library takes them.
    pub fn extensions(&self) -> crate::Extensions {
        crate::Extensions {
            target_dirs: self.target_dirs.clone(),
            templates: self.templates.clone(),
        }
    }
}

/// Arguments of targets.
#[derive(Debug, Args)]
pub struct TargetsArgs {
    /// Folder targets to list with the others.
    #[arg(long = "target-dir", value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub target_dirs: Vec<PathBuf>,
}

/// Arguments of templates.
#[derive(Debug, Args)]
pub struct TemplatesArgs {
    /// What to print.
    #[command(subcommand)]
    pub command: TemplatesCommand,
    /// Folder targets whose templates to include.
    #[arg(long = "target-dir", value_name = "DIR", value_hint = ValueHint::DirPath, global = true)]
    pub target_dirs: Vec<PathBuf>,
}

/// The templates subcommands.
#[derive(Debug, Subcommand)]
pub enum TemplatesCommand {
    /// Print every template id, one per line.
    #[command(after_help = guide::TEMPLATES_LIST.help())]
    List,
    /// Print one template's text.
    #[command(after_help = guide::TEMPLATES_SHOW.help())]
    Show {
        /// The template id, as `list` prints it.
        #[arg(value_parser = TEMPLATE_ID, hide_possible_values = true)]
        id: String,
    },
}

/// Arguments of validate.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Where the spec is.
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Folder targets and templates.
    #[command(flatten)]
    pub ext: ExtensionArgs,
    /// How to report: `human` (text for people) or `json` (one JSON object on stdout, for CI).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// Arguments of render (and, with `--format`, of diff and check).
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The target backend (see `fredgen targets`).
    #[arg(
        short,
        long,
        required_unless_present = "all",
        value_parser = TARGET_ID,
        hide_possible_values = true
    )]
    pub target: Option<String>,
    /// The environment overlay to apply; required when the spec declares environments.
    #[arg(short, long, value_hint = ValueHint::Other)]
    pub env: Option<String>,
    /// Every target × environment the spec declares, each into `<DIR>/<target>/<env>` (DIR:
    /// `--out`, default `deploy` next to the spec), and the GitHub workflows of `delivery.github`
    /// into the repository's `.github/workflows/`.
    #[arg(long, conflicts_with_all = ["target", "env"])]
    pub all: bool,
    /// The stack spec; `-` reads it from stdin.
    #[arg(
        short = 'f',
        long = "file",
        default_value = "fredgen.yaml",
        value_name = "SPEC",
        value_hint = ValueHint::FilePath
    )]
    pub file: PathBuf,
    /// The file name of a spec read from stdin or a pipe, as headers, the README and errors name
    /// it [default: fredgen.yaml in headers, <stdin> in errors].
    #[arg(long, value_name = "NAME", value_parser = stream::spec_name, value_hint = ValueHint::Other)]
    pub spec_name: Option<String>,
    /// The output directory [default: deploy/<target>/<env>, or deploy/<target> without
    /// environments, next to the spec (a spec read from stdin: in the current directory)]; with
    /// --all, the directory the cases go below [default: deploy next to the spec].
    #[arg(short, long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub out: Option<PathBuf>,
    /// Folder targets and templates.
    #[command(flatten)]
    pub ext: ExtensionArgs,
}

/// Arguments of render.
#[derive(Debug, Args)]
pub struct RenderCommand {
    /// What to render, and where.
    #[command(flatten)]
    pub render: RenderArgs,
    /// Print every file to stdout instead of writing a directory, in path order, each after
    /// `---` and `# Source: <path>` lines (as `helm template` does); YAML files alone make one
    /// multi-document YAML stream.
    #[arg(long, conflicts_with_all = ["out", "all"])]
    pub stdout: bool,
    /// With --stdout: only the files whose path starts with PREFIX (`k8s/`); repeatable.
    #[arg(
        long,
        value_name = "PREFIX",
        requires = "stdout",
        value_parser = ONLY_PREFIX,
        hide_possible_values = true
    )]
    pub only: Vec<String>,
}

/// Arguments of diff and check.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// What to render.
    #[command(flatten)]
    pub render: RenderArgs,
    /// How to report: `human` (text for people) or `json` (one JSON object on stdout, for CI).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// Arguments of init.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The spec file to create; `fredgen.schema.json` is written next to it.
    #[arg(
        short = 'f',
        long = "file",
        default_value = "fredgen.yaml",
        value_name = "SPEC",
        value_hint = ValueHint::FilePath
    )]
    pub file: PathBuf,
}

/// Arguments of schema.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Write the schema to this file instead of stdout (replacing the file if it exists).
    #[arg(short, long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub out: Option<PathBuf>,
}

/// Arguments of completions.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Arguments of man.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write fredgen.1 and a fredgen-<command>.1 per command into this directory (created when
    /// missing) instead of printing fredgen.1. Pages of those names already there are replaced.
    #[arg(short, long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub out_dir: Option<PathBuf>,
}

/// A value parser that accepts what `parse` does and offers `values` as its possible values,
/// which shell completions offer (hidden from help with `hide_possible_values`): `--target`,
/// `--only` and `templates show`'s id.
#[derive(Debug, Clone, Copy)]
pub struct Offered {
    /// What completions offer.
    values: fn() -> Vec<clap::builder::PossibleValue>,
    /// What is accepted.
    parse: fn(&str) -> Result<String, String>,
}

/// `--target`: any id is accepted (a folder target given with --target-dir has its own); the
/// built-in targets and the folder targets shipped with fredgen are offered.
pub const TARGET_ID: Offered = Offered {
    values: || {
        crate::backend::Registry::builtin()
            .all()
            .iter()
            .map(|t| clap::builder::PossibleValue::new(t.id()).help(t.describe()))
            .collect()
    },
    parse: |id| Ok(id.to_string()),
};

/// `--only`: any non-empty prefix ([`stream::only_prefix`]); the top-level folders of a render
/// are offered.
pub const ONLY_PREFIX: Offered = Offered {
    values: || {
        ["k8s/", "terraform/", "argocd/"]
            .into_iter()
            .map(clap::builder::PossibleValue::new)
            .collect()
    },
    parse: stream::only_prefix,
};

/// `templates show`: any id is accepted (a folder target's templates have theirs); the built-in
/// templates' ids are offered.
pub const TEMPLATE_ID: Offered = Offered {
    values: || {
        crate::render::TemplateSet::builtin()
            .ids()
            .map(clap::builder::PossibleValue::new)
            .collect()
    },
    parse: |id| Ok(id.to_string()),
};

impl clap::builder::TypedValueParser for Offered {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        self.parse.parse_ref(cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new((self.values)().into_iter()))
    }
}

impl RenderArgs {
    /// The output directory: `--out`, else [`default_out_dir`] next to the spec (for a spec
    /// read from a stream, in the current directory), as `--all` and the headers' command have it.
    /// `folder` is the spec's ([`crate::Loaded::folder`]).
    pub fn out_dir(&self, folder: Option<&Path>, target: &str, env: Option<&str>) -> PathBuf {
        self.out.clone().unwrap_or_else(|| {
            folder
                .unwrap_or(Path::new(""))
                .join(default_out_dir(target, env))
        })
    }
}

/// `deploy/<target>/<env>`, or `deploy/<target>` for a spec without environments.
pub fn default_out_dir(target: &str, env: Option<&str>) -> PathBuf {
    let mut p = PathBuf::from("deploy").join(target);
    if let Some(env) = env {
        p.push(env);
    }
    p
}

/// The one JSON object `--format json` prints. Keys come in declaration order; `command`, `ok`,
/// `exit_code` and `errors` are always present, the others whenever the arguments parsed.
#[derive(Debug, Serialize)]
pub struct JsonReport {
    /// `validate`, `diff` or `check`.
    pub command: &'static str,
    /// True exactly when the exit code is 0.
    pub ok: bool,
    /// The process exit code: 0 ok, 1 the directory differs, 2 error.
    pub exit_code: u8,
    /// The spec file as given with `-f`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec: Option<String>,
    /// What the command found (cases, or target, output directory and changes).
    #[serde(flatten)]
    pub result: Option<JsonResult>,
    /// Every error; empty unless `exit_code` is 2.
    pub errors: Vec<JsonError>,
}

/// The command-specific part of a [`JsonReport`].
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum JsonResult {
    /// `validate`.
    Validate {
        /// The valid target × environment cases; empty on error.
        cases: Vec<JsonCase>,
    },
    /// `diff` and `check`.
    Compare {
        /// The target id as given with `--target`; null with `--all`.
        target: Option<String>,
        /// The environment as given with `--env`, or null.
        env: Option<String>,
        /// The output directory compared; null when an error came first.
        output: Option<String>,
        /// Every file that differs, sorted by path; empty on error.
        changes: Vec<JsonChange>,
    },
}

/// One valid case of `validate`.
#[derive(Debug, Serialize)]
pub struct JsonCase {
    /// Target id.
    pub target: &'static str,
    /// Environment, or null for a spec without environments.
    pub env: Option<String>,
    /// The Kubernetes minor the case renders for.
    pub kubernetes: String,
}

impl From<&crate::Case> for JsonCase {
    fn from(c: &crate::Case) -> JsonCase {
        JsonCase {
            target: c.target,
            env: c.env.clone(),
            kubernetes: c.kubernetes.clone(),
        }
    }
}

/// One file of `diff` or `check`.
#[derive(Debug, Serialize)]
pub struct JsonChange {
    /// `added` (rendered, not on disk), `modified`, or `removed` (generated before, no longer
    /// rendered, still on disk).
    pub change: &'static str,
    /// Relative to the output directory.
    pub path: String,
    /// `diff` only: the unified diff of this file (`--- a/<path>` / `+++ b/<path>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

impl JsonChange {
    /// A change, with its unified diff for `diff`.
    pub fn new(change: &Change, diff: Option<String>) -> JsonChange {
        JsonChange {
            change: match change {
                Change::Added(_) => "added",
                Change::Modified(_) => "modified",
                Change::Removed(_) => "removed",
            },
            path: change.path().to_string(),
            diff,
        }
    }
}

/// One error, flat: a spec diagnostic with its position, or any other error without one.
#[derive(Debug, Serialize)]
pub struct JsonError {
    /// `spec` (a problem in the spec), `usage` (a bad argument), `io`, `unsafe` (a file fredgen
    /// must not touch) or `bug` (in fredgen).
    pub kind: &'static str,
    /// The spec file for `spec`; the file concerned for `io` and `unsafe`; null otherwise.
    pub file: Option<String>,
    /// 1-based line, or null when unknown.
    pub line: Option<usize>,
    /// 1-based column, or null when unknown.
    pub column: Option<usize>,
    /// The key path in the spec (`workers[0].replicas.max`); empty for the whole file or n/a.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it, or null.
    pub hint: Option<String>,
}

impl From<&Diagnostic> for JsonError {
    fn from(d: &Diagnostic) -> JsonError {
        JsonError {
            kind: "spec",
            file: Some(d.file.clone()),
            line: d.pos.map(|p| p.line),
            column: d.pos.map(|p| p.column),
            path: d.path.clone(),
            message: d.message.clone(),
            hint: d.hint.clone(),
        }
    }
}

impl JsonError {
    /// Every error an [`Error`] holds: each diagnostic of a spec error, else one.
    pub fn all(err: &Error) -> Vec<JsonError> {
        let other = |kind, file: Option<&Path>, hint: Option<&String>| JsonError {
            kind,
            file: file.map(|p| p.display().to_string()),
            line: None,
            column: None,
            path: String::new(),
            message: err.to_string(),
            hint: hint.cloned(),
        };
        match err {
            Error::Spec { diagnostics, .. } | Error::Folder { diagnostics, .. } => {
                diagnostics.iter().map(JsonError::from).collect()
            }
            Error::Usage { hint, .. } => vec![other("usage", None, hint.as_ref())],
            Error::Io { path, .. } => vec![other("io", Some(path), None)],
            Error::NoSpec { path } => {
                let hint = crate::error::no_spec_hint(path);
                vec![other("io", Some(path), Some(&hint))]
            }
            Error::Unsafe { path, hint, .. } => vec![other("unsafe", Some(path), hint.as_ref())],
            Error::Template { .. } | Error::ParseBack { .. } => vec![other("bug", None, None)],
        }
    }

    /// A usage error from the argument parser.
    pub fn usage(message: String, hint: Option<String>) -> JsonError {
        JsonError {
            kind: "usage",
            file: None,
            line: None,
            column: None,
            path: String::new(),
            message,
            hint,
        }
    }
}

impl JsonReport {
    /// A report of a finished command: `errors` empty, `ok` from the exit code.
    pub fn new(command: &'static str, exit_code: u8, spec: &Path, result: JsonResult) -> Self {
        JsonReport {
            command,
            ok: exit_code == 0,
            exit_code,
            spec: Some(spec.display().to_string()),
            result: Some(result),
            errors: Vec::new(),
        }
    }

    /// A report of a command that failed with `err` (exit code 2).
    pub fn failed(command: &'static str, spec: &Path, result: JsonResult, err: &Error) -> Self {
        JsonReport {
            errors: JsonError::all(err),
            ..JsonReport::new(command, 2, spec, result)
        }
    }

    /// Pretty-printed JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_else(|e| {
            serde_json::json!({
                "command": self.command,
                "ok": false,
                "exit_code": 2,
                "errors": [{ "kind": "bug", "message": format!("bug in fredgen: {e}") }],
            })
            .to_string()
        });
        s.push('\n');
        s
    }
}

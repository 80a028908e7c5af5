//! CLI edge — parse arguments, run one command, map the result to an exit code (0, 1, 2).

mod init;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use fredgen::cli::guide::Guide;
use fredgen::cli::stream;
use fredgen::cli::{
    Cli, Command, CompareArgs, Format, JsonCase, JsonChange, JsonError, JsonReport, JsonResult,
    ManArgs, RenderArgs, RenderCommand, SchemaArgs, TargetsArgs, TemplatesArgs, TemplatesCommand,
    ValidateArgs,
};
use fredgen::console::{self, Console, paint};
use fredgen::error::{Error, Result, shown_path};
use fredgen::output::{self, Change};

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    // clap's own help and errors follow --color too.
    let color = fredgen::cli::color_of(args.get(1..).unwrap_or_default());
    let cli = match Cli::command()
        .color(color.clap())
        .try_get_matches_from(&args)
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(err) => return argument_error(err),
    };
    let console = cli.global.console();
    match run(cli.command, &console) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            console.error(&err);
            ExitCode::from(2)
        }
    }
}

fn run(command: Command, console: &Console) -> Result<u8> {
    match command {
        Command::Render(args) => render(&args, console),
        Command::Diff(args) => compare(&args, Compare::Diff, console),
        Command::Check(args) => compare(&args, Compare::Check, console),
        Command::Validate(args) => validate(&args, console),
        Command::Targets(args) => targets(&args, console),
        Command::Templates(args) => templates(&args, console),
        Command::Init(args) => {
            // What it wrote, said (unless -q) even when a later step failed.
            let mut said = Vec::new();
            let done = init::run(&args, &mut said);
            console.report(&String::from_utf8_lossy(&said))?;
            done
        }
        Command::Schema(args) => schema(&args, console),
        Command::Completions(args) => completions(args.shell, console),
        Command::Man(args) => man(&args, console),
    }
}

/// Prints a `--format json` report (whatever `-q` says) and returns its exit code.
fn emit(report: &JsonReport, console: &Console) -> Result<u8> {
    console.data(report.to_json().as_bytes())?;
    Ok(report.exit_code)
}

/// A command line clap refused: as JSON when it asked for `--format json`, else clap's own
/// message (help and version included).
fn argument_error(err: clap::Error) -> ExitCode {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if !err.use_stderr() {
        // Help or the version, on stdout: exit 0, or 2 when stdout cannot take it.
        return match console::to_stdout(|_| err.print()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                Console::default().error(&e);
                ExitCode::from(2)
            }
        };
    }
    let Some(command) = json_command(&args) else {
        err.exit()
    };
    // clap's text: "error: <message>" (perhaps over several lines), then paragraphs such as
    // "  tip: ...", "Usage: ..." and "For more information, try '--help'.".
    let text = err.to_string();
    let mut paragraphs = text
        .split("\n\n")
        .map(|p| p.lines().map(str::trim).collect::<Vec<_>>().join(" "));
    let message = paragraphs
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .to_string();
    let hint = paragraphs
        .find_map(|p| p.strip_prefix("tip: ").map(str::to_string))
        .unwrap_or_else(|| format!("see `fredgen {command} --help`"));
    let report = JsonReport {
        command,
        ok: false,
        exit_code: 2,
        spec: None,
        result: None,
        errors: vec![JsonError::usage(message, Some(hint))],
    };
    if let Err(e) = Console::default().data(report.to_json().as_bytes()) {
        Console::default().error(&e);
    }
    ExitCode::from(2)
}

/// The subcommand, when the command line is one of validate, diff or check with `--format json`.
fn json_command(args: &[String]) -> Option<&'static str> {
    let command = ["validate", "diff", "check"]
        .into_iter()
        .find(|c| args.first().is_some_and(|a| a == c))?;
    let rest = &args[1..];
    let json = rest.iter().any(|a| a == "--format=json")
        || rest
            .windows(2)
            .any(|w| w[0] == "--format" && w[1] == "json");
    json.then_some(command)
}

/// The folder targets of `dirs` with the built-in ones, as `--target-dir` gives them.
fn registry(dirs: &[PathBuf]) -> Result<fredgen::backend::Registry> {
    let dirs: Vec<(PathBuf, String)> = dirs
        .iter()
        .map(|d| (d.clone(), d.display().to_string()))
        .collect();
    fredgen::backend::Registry::with_folders(&dirs)
}

fn targets(args: &TargetsArgs, console: &Console) -> Result<u8> {
    let registry = registry(&args.target_dirs)?;
    let width = registry
        .ids()
        .iter()
        .map(|i| i.len())
        .max()
        .unwrap_or(0)
        .max(8);
    let mut text = String::new();
    for t in registry.all() {
        text.push_str(&format!("{:<width$} {}", t.id(), t.describe()));
        if let Some(dir) = t.source() {
            text.push_str(&format!(" (from {dir})"));
        }
        text.push('\n');
    }
    console.data(text.as_bytes())?;
    Ok(0)
}

fn templates(args: &TemplatesArgs, console: &Console) -> Result<u8> {
    let registry = registry(&args.target_dirs)?;
    let set = fredgen::render::TemplateSet::for_targets(&registry);
    match &args.command {
        TemplatesCommand::List => {
            let mut text = String::new();
            for id in set.ids() {
                text.push_str(id);
                text.push('\n');
            }
            console.data(text.as_bytes())?;
        }
        TemplatesCommand::Show { id } => match set.get(id) {
            Some(text) => console.data(text.as_bytes())?,
            None => {
                let ids: Vec<&str> = set.ids().collect();
                return Err(Error::usage(
                    format!("no template has the id `{id}`"),
                    fredgen::render::templates::nearest(id, &ids),
                ));
            }
        },
    }
    Ok(0)
}

fn validate(args: &ValidateArgs, console: &Console) -> Result<u8> {
    let file = &args.spec.file;
    let loaded = fredgen::load_named(file, args.spec.spec_name.as_deref(), &args.ext.extensions());
    // As errors name it: `<stdin>` for `-f -`.
    let shown = loaded
        .as_ref()
        .map_or_else(|_| file.display().to_string(), |l| l.file.clone());
    let cases = loaded.and_then(|loaded| loaded.validate_all());
    match args.format {
        Format::Human => {
            let cases = cases?;
            let mut text = format!(
                "{}: valid for {} target × environment case(s)\n",
                shown_path(&shown),
                cases.len()
            );
            for c in &cases {
                text.push_str(&format!(
                    "  {} {} kubernetes {}\n",
                    c.target,
                    c.env.as_deref().unwrap_or("-"),
                    c.kubernetes
                ));
            }
            console.report(&text)?;
            Ok(0)
        }
        Format::Json => emit(
            &match cases {
                Ok(cases) => JsonReport::new(
                    "validate",
                    0,
                    file,
                    JsonResult::Validate {
                        cases: cases.iter().map(JsonCase::from).collect(),
                    },
                ),
                Err(err) => JsonReport::failed(
                    "validate",
                    file,
                    JsonResult::Validate { cases: Vec::new() },
                    &err,
                ),
            },
            console,
        ),
    }
}

fn render(command: &RenderCommand, console: &Console) -> Result<u8> {
    let args = &command.render;
    // Every output is rendered (and so validated) before the first is written.
    let all = prepare(args)?;
    if command.stdout {
        // One output (--stdout conflicts with --all), printed, never written.
        for (out, _) in &all {
            console.data(stream::stream(out, &command.only)?.as_bytes())?;
        }
        return Ok(0);
    }
    if all.len() > 1 {
        for (out, dir) in &all {
            output::preflight(out, dir)?;
        }
    }
    let mut text = String::new();
    for (out, dir) in &all {
        let written = output::write(out, dir)?;
        warn_hand_edits(&written, dir, console);
        text.push_str(&format!(
            "rendered {} files into {} ({} changed)\n",
            out.files.len(),
            shown_path(dir),
            written.changes.len()
        ));
        if console.verbose {
            text.push_str(&changed_files(&written.changes));
        }
    }
    console.report(&text)?;
    Ok(0)
}

/// `render`: a warning for each generated file whose hand edit it overwrote.
fn warn_hand_edits(written: &output::Written, dir: &std::path::Path, console: &Console) {
    for rel in &written.hand_edited {
        console.warn(
            &format!(
                "{} was edited by hand; the edit is overwritten",
                shown_path(dir.join(rel))
            ),
            "generated files are rewritten on every render: put the change in the spec, or in the spec's `overrides:` (see the README's Overrides section)",
        );
    }
}

/// `render -v`: one line per changed file, under the summary.
fn changed_files(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|c| {
            let what = match c {
                Change::Added(_) => "added   ",
                Change::Modified(_) => "modified",
                Change::Removed(_) => "removed ",
            };
            format!("  {what} {}\n", shown_path(c.path()))
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    Diff,
    Check,
}

/// diff and check: exit 1 when the directory differs.
fn compare(args: &CompareArgs, mode: Compare, console: &Console) -> Result<u8> {
    // check -v says which differences are hand edits.
    let hand = mode == Compare::Check && console.verbose && args.format == Format::Human;
    let diff = (mode == Compare::Diff).then_some(args.format);
    let found = changes(&args.render, diff, hand);
    match args.format {
        Format::Human => {
            let Found {
                dir,
                changes,
                edited,
                headers,
            } = found?;
            let mut text = String::new();
            for (change, diff) in &changes {
                match (mode, diff) {
                    (Compare::Diff, Some(diff)) => {
                        text.push_str(&console::paint_diff(diff, console.color_out));
                    }
                    (Compare::Diff, None) => {}
                    (Compare::Check, _) => {
                        let (what, style) = match change {
                            Change::Added(_) => ("missing ", console::MISSING),
                            Change::Modified(_) => ("modified", console::MODIFIED),
                            Change::Removed(_) => ("stale   ", console::MISSING),
                        };
                        let what = paint(what, style, console.color_out);
                        let path = if args.render.all {
                            PathBuf::from(change.path())
                        } else {
                            dir.join(change.path())
                        };
                        let note = if edited.contains(change.path()) {
                            " (edited by hand)"
                        } else {
                            ""
                        };
                        text.push_str(&format!("{what} {}{note}\n", shown_path(&path)));
                    }
                }
            }
            if mode == Compare::Check && changes.is_empty() {
                let up_to_date = paint("up to date", console::UP_TO_DATE, console.color_out);
                if args.render.all {
                    text.push_str(&format!(
                        "every case below {} is {up_to_date}\n",
                        shown_path(&dir)
                    ));
                } else {
                    text.push_str(&format!("{} is {up_to_date}\n", shown_path(&dir)));
                }
            }
            console.report(&text)?;
            if mode == Compare::Check {
                for (message, hint) in skew_notes(&headers) {
                    console.note(&message, &hint);
                }
            }
            Ok(u8::from(!changes.is_empty()))
        }
        Format::Json => {
            let command = match mode {
                Compare::Diff => "diff",
                Compare::Check => "check",
            };
            let result = |output: Option<PathBuf>, changes| JsonResult::Compare {
                target: args.render.target.clone(),
                env: args.render.env.clone(),
                output: output.map(|d| d.display().to_string()),
                changes,
            };
            emit(
                &match found {
                    Ok(Found { dir, changes, .. }) => JsonReport::new(
                        command,
                        u8::from(!changes.is_empty()),
                        &args.render.file,
                        result(
                            Some(dir),
                            changes
                                .into_iter()
                                .map(|(c, diff)| JsonChange::new(&c, diff))
                                .collect(),
                        ),
                    ),
                    Err(err) => JsonReport::failed(
                        command,
                        &args.render.file,
                        result(None, Vec::new()),
                        &err,
                    ),
                },
                console,
            )
        }
    }
}

/// Every change, each with its unified diff (for `diff`).
type Changes = Vec<(Change, Option<String>)>;

/// The output directory, every change, each with its unified diff when `diff` asks for one (its
/// headers naming the file as `shown_path` prints it for [`Format::Human`]), and when
/// `with_hand_edits` the paths of the modified files that were edited by hand. With `--all`, the
/// directory is the one the cases go below, and each change's path is the file's path (relative
/// to where fredgen runs), so the workflows' changes are listed too.
fn changes(args: &RenderArgs, diff: Option<Format>, with_hand_edits: bool) -> Result<Found> {
    let outputs = prepare(args)?;
    let mut all = Vec::new();
    let mut edited = BTreeSet::new();
    let mut headers = Vec::new();
    for (out, dir) in &outputs {
        let found = output::changes(out, dir)?;
        let hand = if with_hand_edits {
            output::hand_edited(dir, &found)?
        } else {
            Vec::new()
        };
        // check: the files that differ in their header alone ([`skew_notes`]).
        if diff.is_none() {
            for (rel, old) in output::headers_only(out, dir, &found)? {
                let new = out.files[&rel].lines().next().unwrap_or_default();
                headers.push((old, new.to_string()));
            }
        }
        for change in found {
            let by_hand = hand.iter().any(|rel| rel == change.path());
            let full = |p: &str| dir.join(p).display().to_string();
            // With --all the diff names the file by its whole path too, so it applies as one patch.
            let name = if args.all {
                full(change.path())
            } else {
                change.path().to_string()
            };
            let diff = match diff {
                Some(Format::Human) => {
                    Some(output::unified_diff(out, dir, &change, &shown_path(&name))?)
                }
                Some(Format::Json) => Some(output::unified_diff(out, dir, &change, &name)?),
                None => None,
            };
            let change = if args.all {
                change.map_path(full)
            } else {
                change
            };
            if by_hand {
                edited.insert(change.path().to_string());
            }
            all.push((change, diff));
        }
    }
    if args.all {
        all.sort_by(|(a, _), (b, _)| a.path().cmp(b.path()));
    }
    let dir = match (args.all, outputs.first()) {
        (false, Some((_, dir))) => dir.clone(),
        _ => all_base(args),
    };
    Ok(Found {
        dir,
        changes: all,
        edited,
        headers,
    })
}

/// What `diff` and `check` found.
struct Found {
    /// The output directory (with `--all`, the one the cases go below).
    dir: PathBuf,
    /// Every change, with its diff for `diff`.
    changes: Changes,
    /// `check -v`: the changed files edited by hand.
    edited: BTreeSet<String>,
    /// `check`: each file that differs in its header alone, as (header on disk, rendered header).
    headers: Vec<(String, String)>,
}

/// `check`'s notes when some modified files differ only in their header (none edited by hand):
/// which fredgen version rendered them against this one, or which spec hash, or which command
/// (another spec name or output directory), each counting only the files it is about. So a
/// version skew between a workstation and CI, a spec edited without a render, or a check run with
/// another `--spec-name` says so instead of only listing every file as modified.
fn skew_notes(headers: &[(String, String)]) -> Vec<(String, String)> {
    use fredgen::render::{header_command, provenance_of};
    let facts = |line: &str| {
        let (version, hash) = provenance_of(line).unwrap_or((None, None));
        (
            version.unwrap_or_else(|| "older than 0.1.0".to_string()),
            hash.unwrap_or_else(|| "unknown".to_string()),
            header_command(line).unwrap_or_default().to_string(),
        )
    };
    let (mut versions, mut hashes, mut commands) = (Vec::new(), Vec::new(), Vec::new());
    for (old, new) in headers {
        let (old, new) = (facts(old), facts(new));
        if old.0 != new.0 {
            versions.push((old.0, new.0));
        } else if old.1 != new.1 {
            hashes.push((old.1, new.1));
        } else if old.2 != new.2 {
            commands.push((old.2, new.2));
        }
    }
    let files = |n: usize| {
        if n == 1 {
            "1 modified file differs".to_string()
        } else {
            format!("{n} modified files differ")
        }
    };
    let mut notes = Vec::new();
    // One note per kind of difference found: the old values (quoted), and the current one.
    let mut note =
        |found: &[(String, String)], quote: &str, say: &dyn Fn(&str, &str) -> (String, String)| {
            if let Some((_, now)) = found.first() {
                let olds: BTreeSet<String> = found
                    .iter()
                    .map(|(o, _)| format!("{quote}{o}{quote}"))
                    .collect();
                let olds = olds.into_iter().collect::<Vec<_>>().join(", ");
                let (what, hint) = say(&olds, now);
                notes.push((format!("{} {what}", files(found.len())), hint));
            }
        };
    note(&versions, "", &|olds, now| {
        (
            format!("only in the header: rendered by fredgen {olds}, checked by fredgen {now}"),
            format!(
                "render with fredgen {now} and commit, or check with the fredgen that rendered them: pin one fredgen for workstations and CI"
            ),
        )
    });
    note(&hashes, "", &|olds, now| {
        (
            format!("only in the header: rendered from the spec at {olds}, which is {now} now"),
            "the spec changed since the last render (every header names its hash): render again and commit".to_string(),
        )
    });
    note(&commands, "`", &|olds, now| {
        (
            format!("only in the header's command: rendered as {olds}, checked as `{now}`"),
            "check with the spec name (--spec-name for a spec from stdin) and the output directory the header's command names".to_string(),
        )
    });
    notes
}

fn schema(args: &SchemaArgs, console: &Console) -> Result<u8> {
    let text = fredgen::spec::schema_json();
    match &args.out {
        None => console.data(text.as_bytes())?,
        Some(path) => {
            output::replace_files(&[(path.clone(), text.into_bytes())])?;
            console.report(&format!("wrote {}\n", shown_path(path)))?;
        }
    }
    Ok(0)
}

fn completions(shell: clap_complete::Shell, console: &Console) -> Result<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "fredgen", &mut script);
    console.data(&script)?;
    Ok(0)
}

fn man(args: &ManArgs, console: &Console) -> Result<u8> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let Some(dir) = &args.out_dir else {
        let (_, page) = man_page(cmd, "")?;
        console.data(&page)?;
        return Ok(0);
    };
    // A link to a directory is a directory to write into.
    if std::fs::metadata(dir).is_ok_and(|m| !m.is_dir()) {
        return Err(Error::usage(
            format!("`{}` is not a directory", shown_path(dir)),
            "give `man -o` a directory (created when missing), or omit -o to print fredgen.1",
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))?;
    let mut pages = vec![man_page(cmd.clone(), "")?];
    for sub in cmd.get_subcommands() {
        pages.push(man_page(sub.clone(), sub.get_name())?);
    }
    let pages: Vec<(PathBuf, Vec<u8>)> = pages
        .into_iter()
        .map(|(name, page)| (dir.join(name), page))
        .collect();
    output::replace_files(&pages)?;
    let written: String = pages
        .iter()
        .map(|(path, _)| format!("wrote {}\n", shown_path(path)))
        .collect();
    console.report(&written)?;
    Ok(0)
}

/// One man page: its file name (`fredgen-render.1`) and roff text, with the EXAMPLES and EXIT
/// STATUS of the command's [`Guide`] (`""` for fredgen itself) where clap_mangen would put the
/// after-help text.
fn man_page(command: clap::Command, name: &str) -> Result<(String, Vec<u8>)> {
    let man = clap_mangen::Man::new(command.after_help(None::<&str>));
    let mut roff = Vec::new();
    man.render(&mut roff)
        .map_err(|e| Error::io("rendering the man page into", "memory", e))?;
    let mut roff = String::from_utf8_lossy(&roff).into_owned();
    if let Some(guide) = Guide::of(name) {
        let at = roff.find("\n.SH VERSION\n").map_or(roff.len(), |i| i + 1);
        roff.insert_str(at, &guide.roff());
    }
    Ok((man.get_filename(), roff.into_bytes()))
}

/// What a command renders, with the directory of each: one target and environment, or with
/// `--all` every case the spec declares and its workflows.
fn prepare(args: &RenderArgs) -> Result<Vec<(fredgen::render::Output, PathBuf)>> {
    let loaded = fredgen::load_named(
        &args.file,
        args.spec_name.as_deref(),
        &args.ext.extensions(),
    )?;
    let Some(target) = &args.target else {
        return prepare_all(args, &loaded);
    };
    let target = loaded.find_target(target)?;
    let env = loaded.resolve_env(args.env.as_deref())?;
    let dir = args.out_dir(loaded.folder.as_deref(), target.id(), env.as_deref());
    let out = render_into(&loaded, target, env.as_deref(), &dir)?;
    Ok(vec![(out, dir)])
}

/// One case rendered for `dir`: its headers name the command that renders it there alone.
fn render_into(
    loaded: &fredgen::Loaded,
    target: &dyn fredgen::backend::Target,
    env: Option<&str>,
    dir: &std::path::Path,
) -> Result<fredgen::render::Output> {
    let default = fredgen::cli::default_out_dir(target.id(), env);
    let named = stream::out_arg(dir, loaded.folder.as_deref(), &default)?;
    // The headers' command names both exactly, on one line.
    if !named.as_deref().is_none_or(fredgen::render::one_line) {
        return Err(Error::usage(
            "the output directory's path holds a control character, a line separator, a bidirectional control or an invisible character, which no header's command can show on one line",
            "give --out a directory whose path has none",
        ));
    }
    if !fredgen::render::one_line(&loaded.name) {
        return Err(Error::usage(
            format!(
                "the spec's file name `{}` holds a control character, a line separator, a bidirectional control or an invisible character, which no header's command can show on one line",
                loaded.file_name()
            ),
            "rename the spec, or pipe it in with `-f -` and a plain --spec-name",
        ));
    }
    loaded.render_to(target, env, named.as_deref())
}

/// The directory `--all` renders the cases below: `--out`, else `deploy` next to the spec.
fn all_base(args: &RenderArgs) -> PathBuf {
    args.out.clone().unwrap_or_else(|| {
        args.file
            .parent()
            .unwrap_or(std::path::Path::new(""))
            .join("deploy")
    })
}

/// `--all`: every valid case of the spec (all of them must be), each into
/// `<base>/<target>[/<env>]`, and the GitHub workflows of `delivery.github`.
fn prepare_all(
    args: &RenderArgs,
    loaded: &fredgen::Loaded,
) -> Result<Vec<(fredgen::render::Output, PathBuf)>> {
    let base = all_base(args);
    // The spec's folder names where every case goes: a stream has none.
    if loaded.folder.is_none() {
        let file = shown_path(&args.file);
        return Err(Error::usage(
            format!(
                "--all renders next to the spec, and {} is not a file",
                if file == "-" { fredgen::STDIN } else { &file }
            ),
            "give the spec's path with -f",
        ));
    }
    let mut all = Vec::new();
    let mut rendered = Vec::new();
    for case in loaded.validate_all()? {
        let target = loaded.find_target(case.target)?;
        let mut dir = base.join(case.target);
        if let Some(env) = &case.env {
            dir.push(env);
        }
        let out = render_into(loaded, target, case.env.as_deref(), &dir)?;
        rendered.push(case);
        all.push((out, dir));
    }
    let mut cases = Vec::new();
    for (case, (out, _)) in rendered.iter().zip(&all) {
        let target = loaded.find_target(case.target)?;
        let stack = loaded.stack(target, case.env.as_deref())?;
        // The path Argo CD's Applications name too, so the two cannot part.
        let dir = fredgen::render::argocd::out_dir("", target.id(), &stack);
        cases.push(fredgen::render::workflows::Case {
            target,
            stack,
            output: out,
            dir,
        });
    }
    // The workflows and Argo CD find each case at `<delivery.folder>/deploy/…` of the repository.
    if let Some(delivery) = cases.iter().find_map(|c| c.stack.delivery.as_ref()) {
        if args.out.is_some() {
            return Err(Error::usage(
                "--out with `delivery`: the workflows and Argo CD read each case from `deploy/` next to the spec",
                "omit --out",
            ));
        }
        fredgen::render::workflows::repository_root(&args.file, &delivery.folder)?;
    }
    let workflows = fredgen::render::workflows::render(loaded, &args.file, &cases)?;
    if let Some((out, dir)) = workflows {
        // A workflows directory holds one stack's workflows (its manifest lists them): another
        // stack's would be removed as stale.
        let name = &cases[0].stack.name;
        let targets: Vec<&str> = cases.iter().map(|c| c.target.id()).collect();
        let owned = output::owned(&dir)?;
        let foreign = fredgen::render::workflows::foreign(&owned, name, &targets);
        if !foreign.is_empty() {
            return Err(Error::usage(
                format!(
                    "{} holds workflows fredgen rendered for another stack ({})",
                    shown_path(&dir),
                    foreign
                        .iter()
                        .map(shown_path)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "a repository's .github/workflows holds the workflows of one spec: render the other spec's without `delivery.github`, or move it to a repository of its own",
            ));
        }
        all.push((out, dir));
    }
    Ok(all)
}

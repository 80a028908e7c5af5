//! CLI edge — parse arguments, run one command, map the result to an exit code (0, 1, 2).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use fredgen::cli::{Cli, Command, RenderArgs};
use fredgen::error::Result;
use fredgen::output;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            let _ = std::io::stderr().write_all(err.report().as_bytes());
            ExitCode::from(2)
        }
    }
}

fn run(command: Command) -> Result<u8> {
    let mut stdout = std::io::stdout().lock();
    match command {
        Command::Targets => {
            for t in fredgen::target::TARGETS {
                let _ = writeln!(stdout, "{:<8} {}", t.id(), t.describe());
            }
            Ok(0)
        }
        Command::Validate(args) => {
            let loaded = fredgen::load(&args.file)?;
            let cases = loaded.validate_all()?;
            let _ = writeln!(
                stdout,
                "{}: valid for {} target × environment case(s)",
                loaded.file,
                cases.len()
            );
            for c in &cases {
                let _ = writeln!(
                    stdout,
                    "  {} {} kubernetes {}",
                    c.target,
                    c.env.as_deref().unwrap_or("-"),
                    c.kubernetes
                );
            }
            Ok(0)
        }
        Command::Render(args) => {
            let (out, dir) = prepare(&args)?;
            let changes = output::write(&out, &dir)?;
            let _ = writeln!(
                stdout,
                "rendered {} files into {} ({} changed)",
                out.files.len(),
                dir.display(),
                changes.len()
            );
            Ok(0)
        }
        Command::Diff(args) => {
            let (out, dir) = prepare(&args)?;
            let changes = output::changes(&out, &dir)?;
            let _ = stdout.write_all(output::unified_diff(&out, &dir, &changes)?.as_bytes());
            Ok(u8::from(!changes.is_empty()))
        }
        Command::Check(args) => {
            let (out, dir) = prepare(&args)?;
            let changes = output::changes(&out, &dir)?;
            for c in &changes {
                let what = match c {
                    output::Change::Added(_) => "missing ",
                    output::Change::Modified(_) => "modified",
                    output::Change::Removed(_) => "stale   ",
                };
                let _ = writeln!(stdout, "{what} {}", dir.join(c.path()).display());
            }
            if changes.is_empty() {
                let _ = writeln!(stdout, "{} is up to date", dir.display());
            }
            Ok(u8::from(!changes.is_empty()))
        }
    }
}

fn prepare(args: &RenderArgs) -> Result<(fredgen::render::Output, std::path::PathBuf)> {
    let target = fredgen::target::find(&args.target)?;
    let loaded = fredgen::load(&args.file)?;
    let env = loaded.resolve_env(args.env.as_deref())?;
    let out = loaded.render(target, env.as_deref())?;
    Ok((out, args.out_dir(env.as_deref())))
}

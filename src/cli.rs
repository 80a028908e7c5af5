//! CLI edge — the command line (clap derive): one `Cli`, one `Command` enum of `...Args` structs.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// fredgen compiles one stack spec into the Terraform, Helm values and Kubernetes manifests that
/// stand the stack up on AWS EKS, Google GKE or Hetzner Cloud.
#[derive(Debug, Parser)]
#[command(
    name = "fredgen",
    version,
    after_help = "Exit codes:\n  0  success; for diff and check: the directory matches\n  1  diff or check: the directory differs from what would be rendered\n  2  error: a bad spec, a bad argument, or a file fredgen must not touch"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render the output for one target and environment into a directory.
    Render(RenderArgs),
    /// Show a unified diff between the directory and what would be rendered; writes nothing.
    Diff(RenderArgs),
    /// Exit 1 when the directory differs from what would be rendered (for CI); writes nothing.
    Check(RenderArgs),
    /// Validate the spec for every target and environment it declares.
    Validate(SpecArgs),
    /// List the target backends.
    Targets,
}

/// Where the spec is.
#[derive(Debug, Args)]
pub struct SpecArgs {
    /// The stack spec.
    #[arg(
        short = 'f',
        long = "file",
        default_value = "fredgen.yaml",
        value_name = "SPEC"
    )]
    pub file: PathBuf,
}

/// Arguments of render, diff and check.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The target backend (see `fredgen targets`).
    #[arg(short, long)]
    pub target: String,
    /// The environment overlay to apply; required when the spec declares environments.
    #[arg(short, long)]
    pub env: Option<String>,
    /// The stack spec.
    #[arg(
        short = 'f',
        long = "file",
        default_value = "fredgen.yaml",
        value_name = "SPEC"
    )]
    pub file: PathBuf,
    /// The output directory [default: deploy/<target>/<env>, or deploy/<target> without environments].
    #[arg(short, long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

impl RenderArgs {
    /// The output directory, defaulted from target and environment.
    pub fn out_dir(&self, env: Option<&str>) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| default_out_dir(&self.target, env))
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

//! Stage 4 — the GitHub Actions workflows of `delivery.github`: one that checks the committed
//! output against the spec on every pull request and push, and one per target that plans every
//! environment on a pull request, applies on a merge in the documented order (gated by GitHub
//! environments, promoted in `promote` order), and looks for drift every day.
//!
//! The workflows run each output's own `apply.sh` (`FREDGEN_PLAN=1` to plan), so CI applies
//! exactly the steps and order the README documents. Cloud access is the target's knowledge: its
//! `<target>/github/access.yml.j2` renders the credential steps (OIDC federation on AWS and GCP,
//! a token from the repository's secrets on Hetzner) and the environment of the step that runs
//! `apply.sh`; a target without one gets no workflow. The templates speak GitHub's own `${{ }}`,
//! so they are rendered by an environment whose variables are written `[[ ]]`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use minijinja::Environment;
use serde::Serialize;

use super::{Output, template_error};
use crate::error::{Error, Result};
use crate::model::Stack;
use crate::model::delivery::{Delivery, Github, vars_prefix};

/// The workflow that checks the committed output.
const CHECK: &str = "github/fredgen.yml.j2";
/// The workflow of one target.
const TARGET: &str = "github/target.yml.j2";

/// The context of `github/fredgen.yml.j2`.
#[derive(Debug, Serialize)]
pub struct CheckContext<'a> {
    /// The header comment.
    pub header: String,
    /// Shared settings.
    pub common: &'a Common<'a>,
    /// Every Terraform root of every case, from the repository's root, sorted: what `terraform
    /// validate` checks.
    pub roots: Vec<String>,
}

/// The context of `github/target.yml.j2`.
#[derive(Debug, Serialize)]
pub struct TargetContext<'a> {
    /// The header comment.
    pub header: String,
    /// Shared settings.
    pub common: &'a Common<'a>,
    /// The workflow's file name (its own changes trigger it too).
    pub file: String,
    /// The target's id.
    pub target: &'static str,
    /// What the target is, in words.
    pub describe: String,
    /// The daily drift check's schedule (`cron`), spread over the night by the stack's name.
    pub cron: String,
    /// Its environments, in apply order.
    pub envs: Vec<EnvJobs>,
    /// The previews' names, sorted: the choices of the manual run that creates or removes one.
    pub previews: Vec<String>,
}

/// What every workflow shares.
#[derive(Debug, Serialize)]
pub struct Common<'a> {
    /// `delivery:`.
    pub delivery: &'a Delivery,
    /// `delivery.github:`.
    pub github: &'a Github,
    /// The spec's path from the repository's root.
    pub spec: String,
    /// The spec's folder from the repository's root, `.` for the root.
    pub workdir: String,
    /// The pinned actions, by key: `owner/repo@<commit> # <tag>`.
    pub actions: BTreeMap<&'static str, String>,
    /// The Terraform CLI version the workflows install.
    pub terraform: &'static str,
}

/// The jobs of one environment of a target.
#[derive(Debug, Serialize)]
pub struct EnvJobs {
    /// The environment's name (`default` for a spec without environments): the GitHub
    /// environment the apply job runs in.
    pub name: String,
    /// The output directory, from the repository's root.
    pub out: String,
    /// The first step CI runs (after the workstation steps) and the last.
    pub first: String,
    /// The last step.
    pub last: String,
    /// The environment whose apply must succeed first (`promote`).
    pub needs: Option<String>,
    /// The credential steps of the plan job, as YAML list items.
    pub plan_steps: String,
    /// The environment of the plan job's `apply.sh` step, as YAML mapping entries.
    pub plan_env: String,
    /// The credential steps of the apply job.
    pub apply_steps: String,
    /// The environment of the apply job's `apply.sh` step.
    pub apply_env: String,
    /// For an environment in another's cluster (a guest): the host's name; its jobs use the
    /// host's credentials, and it has no Terraform to plan.
    pub host: Option<String>,
    /// A preview (a guest created and removed on demand, from the workflow's manual run).
    pub preview: bool,
    /// For a guest: the steps that point kubectl at the host's cluster.
    pub kubeconfig: String,
    /// The credential steps exchange GitHub's OIDC token (the job needs `id-token: write`).
    pub oidc: bool,
}

/// The context of `<target>/github/access.yml.j2`, rendered once per environment, role and part.
#[derive(Debug, Serialize)]
pub struct AccessContext<'a> {
    /// `steps` (the credential steps), `env` (the `apply.sh` step's environment),
    /// `kubeconfig` (a guest's steps that point kubectl at its host's cluster) or `oidc`
    /// (anything when the steps exchange GitHub's OIDC token, nothing otherwise).
    pub part: &'static str,
    /// `plan` (pull requests, drift) or `apply` (merges).
    pub role: &'static str,
    /// The prefix of the repository variables and secrets of this environment (of its host,
    /// for a guest): `FREDGEN_<ENV>` (`FREDGEN` without environments).
    pub vars: String,
    /// For a guest: its host's output directory, from the repository's root.
    pub host_out: Option<String>,
    /// The validated stack.
    pub stack: &'a Stack,
    /// `{ <target id>: settings }`.
    pub target: BTreeMap<&'static str, &'a crate::model::TargetSettings>,
    /// The pinned actions.
    pub actions: &'a BTreeMap<&'static str, String>,
    /// The Google Cloud CLI version the GKE jobs install.
    pub gcloud: &'static str,
}

/// One rendered case the workflows deliver: its stack and output.
pub struct Case<'a> {
    /// The target.
    pub target: &'static dyn crate::backend::Target,
    /// The validated stack.
    pub stack: Stack,
    /// The output.
    pub output: &'a Output,
    /// Its directory, from the spec's folder (`deploy/eks/prod`).
    pub dir: String,
}

/// The workflows of a spec's cases, and the directory they go into (the repository's
/// `.github/workflows`), when the spec declares `delivery.github`. `spec` is the spec's path as
/// given; the repository's root is its folder less `delivery.folder`.
pub fn render(
    loaded: &crate::Loaded,
    spec: &Path,
    cases: &[Case<'_>],
) -> Result<Option<(Output, PathBuf)>> {
    let Some(delivery) = cases.iter().find_map(|c| c.stack.delivery.as_ref()) else {
        return Ok(None);
    };
    let Some(github) = &delivery.github else {
        return Ok(None);
    };
    // The workflows name the spec in commands and YAML: a plain name, as GitHub paths go.
    let name = spec
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let plain = !name.is_empty()
        && !name.starts_with(['-', '.'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !plain {
        return Err(Error::usage(
            format!(
                "the workflows run `fredgen check --all -f <spec>`, and `{name}` is not a plain file name"
            ),
            "name the spec with letters, digits and `._-` (not starting with `-` or `.`), e.g. `fredgen.yaml`",
        ));
    }
    let root = repository_root(spec, &delivery.folder)?;
    let workdir = if delivery.folder.is_empty() {
        ".".to_string()
    } else {
        delivery.folder.clone()
    };
    let in_repo = |p: &str| {
        if delivery.folder.is_empty() {
            p.to_string()
        } else {
            format!("{}/{p}", delivery.folder)
        }
    };
    let common = Common {
        delivery,
        github,
        spec: in_repo(&loaded.file_name()),
        workdir,
        actions: crate::versions::ACTIONS
            .iter()
            .map(|(k, uses, tag)| (*k, format!("{uses} # {tag}")))
            .collect(),
        terraform: crate::versions::TERRAFORM_CLI,
    };
    let env = environment(loaded.engine.set());
    // The workflows sit at the repository's root: their header names the spec and the command
    // from there.
    let mut provenance = loaded.provenance(None, None);
    provenance.spec_file = in_repo(&loaded.file_name());
    let spec_arg = in_repo(&loaded.name);
    let mut args = vec![("--all", None)];
    if spec_arg != crate::DEFAULT_SPEC {
        args.push(("--file", Some(spec_arg.as_str())));
    }
    provenance.command = super::regenerate_command(&args);
    let header = format!(
        "# {}",
        provenance.line_at("GitHub workflows", "at the repository root")
    );
    let mut files = BTreeMap::new();
    let mut roots: Vec<String> = cases
        .iter()
        .flat_map(|c| {
            c.output
                .plan
                .steps
                .iter()
                .flat_map(|s| &s.applies)
                .filter(|a| a.starts_with("terraform/"))
                .map(|a| in_repo(&format!("{}/{a}", c.dir)))
        })
        .collect();
    roots.sort();
    roots.dedup();
    let check = CheckContext {
        header: header.clone(),
        common: &common,
        roots,
    };
    let stack_name = cases[0].stack.name.clone();
    files.insert(check_file(&stack_name), draw(&env, CHECK, &check)?);

    // One workflow per target that has an access template, its environments in promote order
    // (the others after them, by name).
    let mut targets: Vec<&'static str> = cases.iter().map(|c| c.target.id()).collect();
    targets.dedup();
    for target in targets {
        let access_id = format!("{target}/github/access.yml.j2");
        if loaded.engine.set().get(&access_id).is_none() {
            continue;
        }
        let mut of_target: Vec<&Case> = cases.iter().filter(|c| c.target.id() == target).collect();
        let rank = |c: &Case| {
            github
                .promote
                .iter()
                .position(|e| *e == c.stack.env)
                .unwrap_or(usize::MAX)
        };
        of_target.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.stack.env.cmp(&b.stack.env)));
        let mut envs = Vec::new();
        for c in &of_target {
            let ci = c.output.plan.ci_steps();
            let (Some(first), Some(last)) = (ci.first(), ci.last()) else {
                continue;
            };
            let needs = github
                .promote
                .iter()
                .position(|e| *e == c.stack.env)
                .and_then(|i| i.checked_sub(1))
                .map(|i| github.promote[i].clone());
            let host = c.stack.cluster.as_ref().map(|sc| sc.host.clone());
            let host_out = host.as_ref().and_then(|h| {
                of_target
                    .iter()
                    .find(|o| o.stack.env == *h)
                    .map(|o| in_repo(&o.dir))
            });
            let access = |part, role| {
                let ctx = AccessContext {
                    part,
                    role,
                    vars: vars_prefix(host.as_deref().unwrap_or(&c.stack.env)),
                    host_out: host_out.clone(),
                    stack: &c.stack,
                    target: BTreeMap::from([(target, &c.stack.target)]),
                    actions: &common.actions,
                    gcloud: crate::versions::GCLOUD_CLI,
                };
                draw(&env, &access_id, &ctx).map(|t| t.trim_end().to_string())
            };
            // What the steps declare they read (a provider's token), from the repository's
            // secrets of the same name under the environment's prefix, beside the target's own.
            let vars = vars_prefix(host.as_deref().unwrap_or(&c.stack.env));
            let declared = |plan: bool| -> std::collections::BTreeSet<&String> {
                ci.iter()
                    .filter(|s| !plan || s.is_terraform())
                    .flat_map(|s| s.env.keys())
                    .collect()
            };
            // A cluster-owning environment's apply also stores the store secrets' values when
            // the repository holds them (step `secret-values`: a value not given must already be
            // in the store), so a first apply from CI needs no workstation.
            let stored: Vec<&String> =
                if host.is_none() && ci.iter().any(|s| s.id == "secret-values") {
                    c.stack.secrets.iter().collect()
                } else {
                    Vec::new()
                };
            let with_declared = |own: String, plan: bool| -> String {
                let mut text = own;
                let names: std::collections::BTreeSet<&String> = declared(plan)
                    .into_iter()
                    .chain(if plan { Vec::new() } else { stored.clone() })
                    .collect();
                for name in names {
                    if text.lines().any(|l| l.starts_with(&format!("{name}:"))) {
                        continue;
                    }
                    if !text.is_empty() {
                        text.push('\n');
                    }
                    text.push_str(&format!("{name}: ${{{{ secrets.{vars}_{name} }}}}"));
                }
                text
            };
            envs.push(EnvJobs {
                name: c.stack.env.clone(),
                out: in_repo(&c.dir),
                first: first.id.clone(),
                last: last.id.clone(),
                needs,
                plan_steps: access("steps", "plan")?,
                plan_env: with_declared(access("env", "plan")?, true),
                apply_steps: access("steps", "apply")?,
                apply_env: with_declared(access("env", "apply")?, false),
                kubeconfig: if host.is_some() {
                    access("kubeconfig", "apply")?
                } else {
                    String::new()
                },
                preview: c.stack.cluster.as_ref().is_some_and(|sc| sc.preview),
                oidc: !access("oidc", "apply")?.is_empty(),
                host,
            });
        }
        let ctx = TargetContext {
            file: target_file(&stack_name, target),
            header: header.clone(),
            common: &common,
            target,
            describe: of_target[0].target.describe().to_string(),
            cron: cron(&stack_name, target),
            previews: {
                let mut p: Vec<String> = envs
                    .iter()
                    .filter(|e| e.preview)
                    .map(|e| e.name.clone())
                    .collect();
                p.sort();
                p
            },
            envs,
        };
        files.insert(target_file(&stack_name, target), draw(&env, TARGET, &ctx)?);
    }
    for (path, text) in &files {
        super::parse_back::check_piece(&super::parse_back::Piece {
            path,
            template: if *path == check_file(&stack_name) {
                CHECK
            } else {
                TARGET
            },
            text,
            lines_before: 0,
        })?;
    }
    Ok(Some((
        Output {
            files,
            ..Default::default()
        },
        root.join(".github").join("workflows"),
    )))
}

/// The check workflow of stack `name`: named by the stack, so two specs of one repository keep
/// theirs apart.
pub fn check_file(name: &str) -> String {
    format!("fredgen-{name}.yml")
}

/// The workflow of stack `name` on `target`.
pub fn target_file(name: &str, target: &str) -> String {
    format!("fredgen-{name}-{target}.yml")
}

/// The workflows of `owned` (what a workflows directory's manifest lists) that belong to another
/// stack than `name` (whose targets are `targets`): `render --all` would remove them as stale.
pub fn foreign<'a>(
    owned: impl IntoIterator<Item = &'a String>,
    name: &str,
    targets: &[&str],
) -> Vec<String> {
    owned
        .into_iter()
        .filter(|f| {
            *f != &check_file(name)
                && !targets
                    .iter()
                    .chain(crate::backend::Registry::builtin().ids().iter())
                    .any(|t| *f == &target_file(name, t))
        })
        .cloned()
        .collect()
}

/// Whether a template renders a workflow (`github/…`, `<target>/github/…`), with
/// [`environment`]'s delimiters, rather than a file of an output.
pub fn is_workflow_template(id: &str) -> bool {
    id.starts_with("github/") || id.split('/').nth(1) == Some("github")
}

/// A daily time between 01:00 and 04:59 UTC, the same for the same stack and target.
fn cron(name: &str, target: &str) -> String {
    let h = crate::model::validate::fnv1a(&format!("{name}/{target}"));
    format!("{} {} * * *", h % 60, 1 + (h / 60) % 4)
}

/// The repository's root: the spec's folder less `folder` (its last components, which must
/// name it).
pub fn repository_root(spec: &Path, folder: &str) -> Result<PathBuf> {
    let dir = spec.parent().unwrap_or(Path::new("")).to_path_buf();
    if folder.is_empty() {
        return Ok(dir);
    }
    let wanted: Vec<&str> = folder.split('/').collect();
    // As written, when the spec's path names the folder (`infra/fredgen.yaml`).
    let mut lexical = dir.clone();
    if wanted
        .iter()
        .rev()
        .all(|w| lexical.file_name().is_some_and(|n| n == *w) && lexical.pop())
    {
        return Ok(lexical);
    }
    let canonical = std::fs::canonicalize(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        &dir
    })
    .map_err(|e| Error::io("reading", &dir, e))?;
    let names: Vec<String> = canonical
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let matches = names.len() > wanted.len()
        && names[names.len() - wanted.len()..]
            .iter()
            .zip(&wanted)
            .all(|(a, b)| a == b);
    if !matches {
        return Err(Error::usage(
            format!(
                "the spec is in `{}`, which does not end in `delivery.folder: {folder}`",
                canonical.display()
            ),
            "set `delivery.folder` to the spec's folder inside the repository",
        ));
    }
    let mut root = canonical;
    for _ in &wanted {
        root.pop();
    }
    Ok(root)
}

/// The environment that renders the workflow templates: fredgen's filters, `[[ ]]` for
/// variables (GitHub's expressions are `${{ }}`).
pub fn environment(set: &super::TemplateSet) -> Environment<'static> {
    let set = std::sync::Arc::new(set.clone());
    let mut env = super::templates::environment_with_variables("[[", "]]");
    env.set_loader(move |id| Ok(set.get(id).map(str::to_string)));
    env
}

/// Renders one template.
fn draw<S: Serialize>(env: &Environment<'static>, id: &str, ctx: &S) -> Result<String> {
    env.get_template(id)
        .and_then(|t| t.render(minijinja::value::Serde(ctx)))
        .map_err(|e| template_error(id, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drift_schedule_is_stable_and_at_night() {
        assert_eq!(cron("fred", "eks"), cron("fred", "eks"));
        let c = cron("fred", "eks");
        let parts: Vec<u64> = c
            .split(' ')
            .take(2)
            .map(|p| p.parse().expect("number"))
            .collect();
        assert!(parts[0] < 60 && (1..=4).contains(&parts[1]), "{c}");
    }

    #[test]
    fn the_repository_root_is_the_spec_folder_less_delivery_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let infra = dir.path().join("ops/infra");
        std::fs::create_dir_all(&infra).expect("mkdir");
        let spec = infra.join("fredgen.yaml");
        let root = repository_root(&spec, "ops/infra").expect("root");
        assert_eq!(root, std::fs::canonicalize(dir.path()).expect("canonical"));
        assert!(repository_root(&spec, "infra/ops").is_err());
        assert_eq!(
            repository_root(Path::new("ops/infra/fredgen.yaml"), "ops/infra").expect("root"),
            PathBuf::from("")
        );
        assert_eq!(
            repository_root(Path::new("fredgen.yaml"), "").expect("root"),
            PathBuf::from("")
        );
    }
}

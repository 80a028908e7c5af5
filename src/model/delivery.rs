//! Stage 2 — validation of `delivery:`: the GitHub repository that holds the spec and its output,
//! the workflows fredgen generates for it, and whether Argo CD delivers the app layer.
//!
//! Every value here ends up in a GitHub workflow or an Argo CD Application, where an expression
//! (`${{ }}`), a quote or a line break would change what runs: each is held to the characters
//! GitHub itself allows in it.

use super::validate::Validator;
use crate::spec::{RawStack, Sp};

/// `delivery:` resolved.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
pub struct Delivery {
    /// The GitHub repository, `owner/name`.
    pub repository: String,
    /// The default branch.
    pub branch: String,
    /// The spec's folder in the repository, `""` for its root, else `a/b` (no trailing slash).
    pub folder: String,
    /// The GitHub Actions workflows, when declared.
    pub github: Option<Github>,
    /// Whether Argo CD delivers the app layer.
    pub argocd: bool,
}

/// `delivery.github:` resolved.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
pub struct Github {
    /// The fredgen action, `owner/repo@<commit>`.
    pub fredgen: String,
    /// The runner labels of jobs that reach the cloud.
    pub runs_on: Vec<String>,
    /// The environments a merge applies one after another, in order (empty: each on its own).
    pub promote: Vec<String>,
    /// Whether the spec named the runners (`runs_on`), rather than taking the default.
    pub runs_on_set: bool,
    /// The runner labels of the plan jobs.
    pub plan_runs_on: Vec<String>,
    /// The repository in GitHub's OIDC subjects: `owner/name`, or the immutable
    /// `owner@id/name@id`.
    pub subject: String,
}

/// The store secret holding the SSH deploy key Argo CD reads the repository with (when
/// `argocd: true`): a read-only deploy key of the one repository.
pub const ARGOCD_REPOSITORY_SECRET: &str = "ARGOCD_REPOSITORY_KEY";

/// `FREDGEN_<ENV>`: the prefix of an environment's repository variables and secrets, the
/// environment's name in capitals with `-` as `_` (`FREDGEN` for a spec without environments).
/// The workflows read them and each target's README sets them: both take the name from here.
pub fn vars_prefix(env: &str) -> String {
    if env == "default" {
        "FREDGEN".to_string()
    } else {
        format!("FREDGEN_{}", env.to_uppercase().replace('-', "_"))
    }
}

/// What the cloud side of a cluster-owning environment grants the GitHub workflows of
/// `delivery.github`: the federation its bootstrap creates, the variables its README sets.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
pub struct CiAccess {
    /// The GitHub repository, `owner/name`.
    pub repository: String,
    /// The prefix of the environment's repository variables ([`vars_prefix`]).
    pub vars: String,
    /// The OIDC subjects (`sub`) a plan job presents: a pull request's, and a run on the default
    /// branch's (the nightly drift check, a manual run). Plan jobs run in no GitHub environment.
    pub plan_subjects: Vec<String>,
    /// The OIDC subjects an apply job presents: its GitHub environment's, then each guest's (a
    /// guest's jobs run in its own GitHub environment with its host's credentials).
    pub apply_subjects: Vec<String>,
    /// The GitHub environments the apply role serves: this one, then its guests.
    pub environments: Vec<String>,
}

impl CiAccess {
    /// The access of `stack`'s workflows: `None` without `delivery.github`, and for a guest
    /// (it renders no Terraform; its host's access serves it).
    pub fn of(stack: &crate::model::Stack) -> Option<CiAccess> {
        let d = stack.delivery.as_ref()?;
        d.github.as_ref()?;
        if stack.cluster.is_some() {
            return None;
        }
        let environments: Vec<String> = std::iter::once(stack.env.clone())
            .chain(stack.guests.iter().map(|g| g.env.clone()))
            .collect();
        let sub = &d.github.as_ref()?.subject;
        Some(CiAccess {
            repository: d.repository.clone(),
            vars: vars_prefix(&stack.env),
            plan_subjects: vec![
                format!("repo:{sub}:pull_request"),
                format!("repo:{sub}:ref:refs/heads/{}", d.branch),
            ],
            apply_subjects: environments
                .iter()
                .map(|e| format!("repo:{sub}:environment:{e}"))
                .collect(),
            environments,
        })
    }
}

/// The runner the jobs use when `runs_on` is not set.
pub const DEFAULT_RUNNER: &str = "ubuntu-24.04";

/// `delivery:` of the base spec, resolved; `None` when the spec has none.
pub fn delivery(v: &mut Validator, raw: &RawStack) -> Option<Delivery> {
    let d = raw.delivery.as_ref()?;
    let repository = v.required(
        &d.repository,
        "delivery.repository",
        "add `repository: <owner>/<name>`, the GitHub repository that holds this spec",
    );
    if let Some(r) = &d.repository
        && !is_repository(&r.value)
    {
        v.error_at(
            r,
            "delivery.repository",
            format!("`{}` is not a GitHub repository `owner/name`", r.value),
        )
        .hint = Some(
            "an owner of letters, digits and `-`, a name of letters, digits and `._-`: `acme/infra`"
                .into(),
        );
    }
    let branch = text(
        v,
        &d.branch,
        "delivery.branch",
        is_branch,
        "a branch name of letters, digits and `._/-`, e.g. `main`",
    )
    .unwrap_or_else(|| "main".into());
    let folder = text(
        v,
        &d.folder,
        "delivery.folder",
        |f| {
            f.split('/')
                .all(|c| !c.is_empty() && !c.starts_with(['-', '.']) && c.bytes().all(word_byte))
        },
        "a plain relative path of letters, digits and `._-` (no part starting with `-` or `.`), e.g. `infra`",
    )
    .unwrap_or_default();
    let github = d.github.as_ref().map(|g| {
        let fredgen = v.required(
            &g.fredgen,
            "delivery.github.fredgen",
            "add `fredgen: <owner>/<repo>@<commit>`, the fredgen action the workflows run",
        );
        if let Some(f) = &g.fredgen
            && !is_pinned_action(&f.value)
        {
            v.error_at(
                f,
                "delivery.github.fredgen",
                format!("`{}` is not an action pinned by a full commit SHA", f.value),
            )
            .hint = Some(
                "write `<owner>/<repo>@<40 hex digits>`: a tag or branch can be moved under the workflows"
                    .into(),
            );
        }
        let mut runs_on = labels(v, &g.runs_on, "runs_on");
        if g.runs_on.as_ref().is_some_and(|l| l.is_empty()) {
            v.error(None, "delivery.github.runs_on", "`runs_on` is empty".into())
                .hint = Some(format!("omit it for `[{DEFAULT_RUNNER}]`"));
        }
        if runs_on.is_empty() {
            runs_on.push(DEFAULT_RUNNER.to_string());
        }
        let envs: Vec<&str> = raw
            .environments
            .iter()
            .flat_map(|e| e.keys())
            .map(String::as_str)
            .collect();
        let mut promote: Vec<String> = Vec::new();
        for (i, e) in g.promote.iter().flatten().enumerate() {
            let path = format!("delivery.github.promote[{i}]");
            if !envs.contains(&e.value.as_str()) {
                v.error_at(e, &path, format!("environment `{}` is not declared", e.value))
                    .hint = Some(crate::spec::suggest(&e.value, &envs));
            } else if promote.contains(&e.value) {
                v.error_at(e, &path, format!("environment `{}` is listed twice", e.value));
            } else {
                let overlay = raw
                    .environments
                    .as_ref()
                    .and_then(|envs| envs.get(&e.value))
                    .map(|o| &o.value);
                let preview = overlay.and_then(|o| o.preview.as_ref()).is_some_and(|p| p.value);
                let host = overlay.and_then(|o| o.cluster.as_ref()).map(|c| c.value.clone());
                if preview {
                    v.error_at(e, &path, format!("`{}` is a preview: it is created and removed by hand, never promoted", e.value))
                        .hint = Some(format!("remove `{}` from `promote`", e.value));
                } else if let Some(host) = host.filter(|h| !promote.contains(h)) {
                    v.error_at(
                        e,
                        &path,
                        format!("`{}` deploys into `{host}`'s cluster, which must be promoted before it", e.value),
                    )
                    .hint = Some(format!("list `{host}` before `{}`", e.value));
                }
                promote.push(e.value.clone());
            }
        }
        let mut plan_runs_on = labels(v, &g.plan_runs_on, "plan_runs_on");
        if plan_runs_on.is_empty() {
            plan_runs_on = runs_on.clone();
        }
        let subject = match &g.subject {
            None => repository.clone(),
            Some(sub) => {
                let (owner, name) = repository.split_once('/').unwrap_or_default();
                let ids = sub.value.split_once('/').and_then(|(o, n)| {
                    let (o_name, o_id) = o.split_once('@')?;
                    let (n_name, n_id) = n.split_once('@')?;
                    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
                    (o_name == owner && n_name == name && digits(o_id) && digits(n_id)).then_some(())
                });
                if ids.is_none() {
                    v.error_at(
                        sub,
                        "delivery.github.subject",
                        format!(
                            "`{}` is not `{owner}@<owner id>/{name}@<repository id>`",
                            sub.value
                        ),
                    )
                    .hint = Some(
                        "the ids are the owner's and the repository's numeric ids (`gh api repos/<owner>/<name>` prints both, as `owner.id` and `id`)".into(),
                    );
                }
                sub.value.clone()
            }
        };
        Github {
            fredgen,
            runs_on_set: g.runs_on.as_ref().is_some_and(|l| !l.is_empty()),
            runs_on,
            plan_runs_on,
            subject,
            promote,
        }
    });
    let argocd = d.argocd.as_ref().is_some_and(|a| a.value);
    Some(Delivery {
        repository,
        branch,
        folder,
        github,
        argocd,
    })
}

/// The runner labels of `delivery.github.<key>`, each checked; a label that is not one is
/// reported at its position and left out.
fn labels(v: &mut Validator, list: &Option<Vec<Sp<String>>>, key: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, l) in list.iter().flatten().enumerate() {
        if is_label(&l.value) {
            out.push(l.value.clone());
        } else {
            v.error_at(
                l,
                &format!("delivery.github.{key}[{i}]"),
                format!("`{}` is not a runner label", l.value),
            )
            .hint = Some("letters, digits and `._-`, e.g. `ubuntu-24.04` or `self-hosted`".into());
        }
    }
    out
}

/// An optional text value checked by `ok`; reports it with `hint` when it fails.
fn text(
    v: &mut Validator,
    value: &Option<Sp<String>>,
    path: &str,
    ok: impl Fn(&str) -> bool,
    hint: &str,
) -> Option<String> {
    let value = value.as_ref()?;
    if ok(&value.value) {
        Some(value.value.clone())
    } else {
        v.error_at(
            value,
            path,
            format!("`{}` is not allowed here", value.value),
        )
        .hint = Some(hint.into());
        None
    }
}

fn word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"._-".contains(&b)
}

/// GitHub's rules: an owner of 1–39 letters, digits and inner `-`; a name of 1–100 letters,
/// digits and `._-`, not `.` or `..`.
pub fn is_repository(s: &str) -> bool {
    let Some((owner, name)) = s.split_once('/') else {
        return false;
    };
    let owner_ok = (1..=39).contains(&owner.len())
        && owner
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !owner.starts_with('-')
        && !owner.ends_with('-');
    let name_ok = (1..=100).contains(&name.len())
        && name.bytes().all(word_byte)
        && name != "."
        && name != "..";
    owner_ok && name_ok
}

/// A branch name of letters, digits and `._/-`, as git allows it (no `..`, no leading `-` or `/`,
/// no trailing `/` or `.lock`).
fn is_branch(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && s.bytes().all(|b| word_byte(b) || b == b'/')
        && !s.starts_with(['-', '/', '.'])
        && !s.ends_with(['/', '.'])
        && !s.ends_with(".lock")
        && !s.contains("..")
        && !s.contains("//")
}

/// `owner/repo@<40 hex>` or `owner/repo/path@<40 hex>`.
fn is_pinned_action(s: &str) -> bool {
    let Some((path, sha)) = s.split_once('@') else {
        return false;
    };
    let mut parts = path.splitn(3, '/');
    let repo = match (parts.next(), parts.next()) {
        (Some(o), Some(n)) => format!("{o}/{n}"),
        _ => return false,
    };
    let sub_ok = parts.next().is_none_or(|p| {
        p.split('/')
            .all(|c| !c.is_empty() && c != ".." && c.bytes().all(word_byte))
    });
    is_repository(&repo)
        && sub_ok
        && sha.len() == 40
        && sha
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A runner label: letters, digits and `._-`, at most 100.
fn is_label(s: &str) -> bool {
    (1..=100).contains(&s.len()) && s.bytes().all(word_byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_actions_and_branches_follow_githubs_rules() {
        assert!(is_repository("acme/fred-infra"));
        assert!(is_repository("a-b/c.d_e"));
        assert!(!is_repository("acme"));
        assert!(!is_repository("-acme/x"));
        assert!(!is_repository("acme/x/y"));
        assert!(!is_repository("acme/${{ github.token }}"));
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert!(is_pinned_action(&format!("acme/fredgen@{sha}")));
        assert!(is_pinned_action(&format!("acme/tools/fredgen@{sha}")));
        assert!(!is_pinned_action("acme/fredgen@v1"));
        assert!(!is_pinned_action(&format!(
            "acme/fredgen@{}",
            sha.to_uppercase()
        )));
        assert!(!is_pinned_action(&format!("acme/../x@{sha}")));
        assert!(is_branch("main"));
        assert!(is_branch("release/2026"));
        assert!(!is_branch("a..b"));
        assert!(!is_branch("main\n"));
        assert!(!is_branch("-x"));
        assert!(is_label("self-hosted"));
        assert!(!is_label("a b"));
    }
}

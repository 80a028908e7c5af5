//! Stage 4 — rendering: the embedded templates, their typed contexts, and the output map.
//!
//! Templates live in `templates/` and are compiled into the binary (a table `build.rs` writes),
//! once per process. A target's tree is rendered from three places:
//!
//! 1. `templates/shared/k8s/*.j2` → `k8s/…` (the app manifests every target shares),
//! 2. `templates/shared/values/<root>/*.j2` → `terraform/<root>/values/…` (Helm values of the
//!    operators every target installs),
//! 3. `templates/<target>/**.j2` → the same path without `.j2` (Terraform roots, target Helm values,
//!    target manifests).
//!
//! A template whose output is blank is not written: that is how a template says "this stack does
//! not need me" (e.g. RDS when Postgres runs in the cluster). Every file gets a generated header,
//! and every HCL file and YAML document is parsed back before anything is returned, so a template
//! bug is an [`Error::Template`] or [`Error::ParseBack`] naming the template, never a broken file.

pub mod apply_model;
pub mod argocd;
pub mod consistency;
pub mod context;
pub mod flows;
pub mod parallel;
pub mod parse_back;
pub mod plan;
pub mod templates;
pub mod tidy;
pub mod workflows;

use std::collections::BTreeMap;
use std::sync::Arc;

use minijinja::Environment;

use crate::error::{Error, Result};
pub use context::{
    ApplyContext, KustomizationContext, Platform, ReadmeContext, STATIC_PROXY_PORT, SecretRef,
    StaticProxy, TemplateContext, egress_to, public_egress,
};
use parse_back::Piece;
pub use plan::{Plan, Step};
pub use templates::TemplateSet;

/// The rendered output of one target and environment: relative path → file text, sorted, and
/// the apply plan its README and `apply.sh` were rendered from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// Path → text.
    pub files: BTreeMap<String, String>,
    /// The steps that stand the output up, in order.
    pub plan: Plan,
    /// The network flows its NetworkPolicies were rendered from.
    pub flows: Vec<flows::Flow>,
    /// The spec's overrides, as applied (in the spec's order of kinds: added files first).
    pub overrides: Vec<crate::overrides::Applied>,
}

/// The templates a render uses and the environment that compiles them: the built-in ones (one
/// environment per process), or a set with a user's replacements or a folder target's templates.
pub enum Engine {
    /// The embedded templates and the built-in folder targets'.
    Builtin,
    /// Another set, with its own environment.
    Custom {
        /// The templates.
        set: Arc<TemplateSet>,
        /// Their environment.
        env: Box<Environment<'static>>,
    },
}

impl Engine {
    /// An engine over `set`.
    pub fn custom(set: TemplateSet) -> Engine {
        let set = Arc::new(set);
        let env = Box::new(set.environment());
        Engine::Custom { set, env }
    }

    /// The templates.
    pub fn set(&self) -> &TemplateSet {
        match self {
            Engine::Builtin => TemplateSet::builtin(),
            Engine::Custom { set, .. } => set,
        }
    }

    /// The environment.
    pub fn env(&self) -> &Environment<'static> {
        match self {
            Engine::Builtin => templates::builtin_environment(),
            Engine::Custom { env, .. } => env,
        }
    }

    /// Renders one template by id.
    pub fn render<S: serde::Serialize>(&self, id: &str, ctx: &S) -> Result<String> {
        self.env()
            .get_template(id)
            .and_then(|t| t.render(minijinja::value::Serde(ctx)))
            .map_err(|e| template_error(id, e))
    }

    /// Renders one template by id into `out`.
    pub fn render_into(
        &self,
        id: &str,
        ctx: &minijinja::Value,
        out: &mut impl std::io::Write,
    ) -> Result<()> {
        self.env()
            .get_template(id)
            .and_then(|t| t.render_captured_to(ctx.clone(), out))
            .map(drop)
            .map_err(|e| template_error(id, e))
    }
}

/// The `toyaml` filter: a value as block-style YAML (without a trailing newline).
pub(crate) fn toyaml(value: minijinja::Value) -> std::result::Result<String, minijinja::Error> {
    // Sequences indented under their key, like the hand-written templates.
    let options = serde_saphyr::ser_options! { compact_list_indent: false };
    serde_saphyr::to_string_with_options(&value, options)
        .map(|s| s.trim_end().to_string())
        .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string()))
}

/// The `checksum` filter: a stable 16-hex-digit digest (FNV-1a) of a text, for annotations that
/// change when a configuration does (a pod template that must roll when its ConfigMap changes).
/// Not a security hash.
pub(crate) fn checksum(text: &str) -> String {
    format!("{:016x}", crate::model::validate::fnv1a(text))
}

pub(crate) fn template_error(id: &str, e: impl std::fmt::Display) -> Error {
    Error::Template {
        template: id.into(),
        message: format!("{e}"),
    }
}

/// The label the `k8s/` kustomization puts on every object it applies, and the app step prunes by
/// (its value is the stack's prefix).
pub const PRUNE_LABEL: &str = "fredgen.io/app";

/// Kinds the app step may prune, as `kubectl apply --prune-allowlist` takes them
/// (`group/version/kind`, `core` for the core group): the kinds every cluster serves that fredgen
/// puts in `k8s/`, the kinds of the add-ons every target installs, and any other kind the
/// top-level manifests use now. Never a kind that
/// holds data or is cluster-wide: a database, a queue, a namespace or an issuer removed from the
/// spec is deleted by hand, not by a render. The kinds only an override's manifests use are not
/// pruned either (fredgen cannot know whether they hold data or are cluster-wide): an object such
/// a manifest added is deleted by hand when the manifest goes.
fn prune_kinds(files: &BTreeMap<String, String>, added: &[&str]) -> Vec<String> {
    // Core kinds, and the kinds of the add-ons 30-platform and 40-addons install on every target
    // whatever the spec (prometheus-operator-crds, external-secrets, KEDA, Velero): a kind the
    // spec stops using altogether (its last KEDA worker) is still pruned.
    const ALWAYS: [&str; 15] = [
        "core/v1/ConfigMap",
        "core/v1/Service",
        "core/v1/ServiceAccount",
        "apps/v1/Deployment",
        "autoscaling/v2/HorizontalPodAutoscaler",
        "policy/v1/PodDisruptionBudget",
        "networking.k8s.io/v1/NetworkPolicy",
        "networking.k8s.io/v1/Ingress",
        "monitoring.coreos.com/v1/ServiceMonitor",
        "monitoring.coreos.com/v1/PodMonitor",
        "monitoring.coreos.com/v1/PrometheusRule",
        "external-secrets.io/v1/ExternalSecret",
        "keda.sh/v1alpha1/ScaledObject",
        "keda.sh/v1alpha1/TriggerAuthentication",
        "velero.io/v1/Schedule",
    ];
    let mut kinds: std::collections::BTreeSet<String> =
        ALWAYS.iter().map(|k| k.to_string()).collect();
    for (path, text) in files {
        let top = path
            .strip_prefix("k8s/")
            .is_some_and(|f| !f.contains('/') && f.ends_with(".yaml") && f != "kustomization.yaml");
        if !top || added.contains(&path.as_str()) {
            continue;
        }
        // The top-level `apiVersion:` and `kind:` lines of each document (the files were parsed
        // back already; parsing a thousand workers' manifests again would double the render).
        let mut api = "";
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("apiVersion: ") {
                api = v.trim();
            } else if let Some(kind) = line.strip_prefix("kind: ").map(str::trim)
                && !api.is_empty()
                && !NEVER_PRUNED.contains(&kind)
                && kind != "Job"
                // Each goes into a command line: plain names only.
                && kind.bytes().all(|b| b.is_ascii_alphanumeric())
                && api
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"./-".contains(&b))
            {
                let gv = if api.contains('/') {
                    api.to_string()
                } else {
                    format!("core/{api}")
                };
                kinds.insert(format!("{gv}/{kind}"));
            }
        }
    }
    kinds.into_iter().collect()
}

/// Kinds never pruned (by the app step, nor by Argo CD): what holds data or is cluster-wide. The
/// app step leaves the migration Job alone too (the migrate step replaces it).
pub const NEVER_PRUNED: &[&str] = &[
    "Namespace",
    "Secret",
    "Cluster",
    "RabbitmqCluster",
    "ObjectStore",
    "ClusterIssuer",
];

/// The shared Helm values, `shared/values/<root>/<file>.j2` → `terraform/<root>/values/<file>`.
fn shared_values(set: &TemplateSet) -> Vec<(String, String)> {
    set.folder("shared/values", "")
        .into_iter()
        .filter_map(|(id, rel)| {
            let (root, file) = rel.split_once('/')?;
            Some((id, format!("terraform/{root}/values/{file}")))
        })
        .collect()
}

/// How every generated file's header comment begins, then the version and ` from `; before
/// the version was written, ` from ` came at once.
const GENERATED_BY: &str = "Generated by fredgen ";

/// Where a render comes from, as every generated file's header says it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Provenance {
    /// The spec's file name, escaped ([`crate::Loaded::file_name`]).
    pub spec_file: String,
    /// The spec's hash ([`crate::spec_hash`]).
    pub spec_hash: String,
    /// The command that regenerates the output when run in the spec's folder
    /// ([`regenerate_command`]).
    pub command: String,
}

impl Provenance {
    /// The header's text (without comment markers) for `what` the output is: `target eks,
    /// environment prod`, `GitHub workflows`. One line, the same whatever the spec was passed as.
    pub fn line(&self, what: &str) -> String {
        self.line_at(what, "in the spec's folder")
    }

    /// [`Provenance::line`], with the command run `at` another place than the spec's folder
    /// (`at the repository root`).
    pub fn line_at(&self, what: &str, at: &str) -> String {
        format!(
            "{GENERATED_BY}{} from {} ({}, {what}). Do not edit: change the spec and run `{}` {at}.",
            env!("CARGO_PKG_VERSION"),
            self.spec_file,
            self.spec_hash,
            self.command
        )
    }
}

/// `fredgen render` and `args`: each a flag and its value, if any, written as one shell word
/// ([`shell_word`]).
pub fn regenerate_command(args: &[(&str, Option<&str>)]) -> String {
    let mut command = String::from("fredgen render");
    for (flag, value) in args {
        command.push(' ');
        command.push_str(flag);
        if let Some(value) = value {
            command.push(' ');
            command.push_str(&shell_word(value));
        }
    }
    command
}

/// `word` as one word of a header's command, exactly as a POSIX shell reads it back: as it is
/// when it holds only ASCII letters, digits and `._-+@,:/=` and starts with none of `-` and `=`
/// (`./` goes before a leading `-`, so it is no flag), else in single quotes, a `'` written `'\''`.
/// Inside quotes a `>` or `!` right after a `-` comes after `''`, so no `-->` or `--!>` closes
/// the HTML comment of a Markdown file's header early. A word holding a character that cannot
/// stand on one header line ([`one_line`]) is refused before a render gets here.
pub fn shell_word(word: &str) -> String {
    let word = if word.starts_with('-') {
        format!("./{word}")
    } else {
        word.to_string()
    };
    let plain = !word.is_empty()
        && !word.starts_with('=')
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-+@,:/=".contains(c));
    if plain {
        return word;
    }
    let mut quoted = String::with_capacity(word.len() + 2);
    quoted.push('\'');
    let mut last = '\0';
    for c in word.chars() {
        match c {
            '\'' => quoted.push_str("'\\''"),
            '>' | '!' if last == '-' => {
                quoted.push_str("''");
                quoted.push(c);
            }
            c => quoted.push(c),
        }
        last = c;
    }
    quoted.push('\'');
    quoted
}

/// Whether `text` can be written on one header line as it is: no character
/// [`crate::spec::chars::unprintable`] names (a control, a line separator, a bidirectional control,
/// an invisible character), which would break the line or show it otherwise than a shell runs it.
pub fn one_line(text: &str) -> bool {
    !text.chars().any(crate::spec::chars::unprintable)
}

/// The comment that opens every generated file ([`Provenance::line`]).
pub fn header(path: &str, ctx: &TemplateContext) -> String {
    let text = ctx.provenance.line(&format!(
        "target {}, environment {}",
        ctx.target_id, ctx.env
    ));
    if path.ends_with(".md") {
        format!("<!-- {text} -->\n")
    } else {
        format!("# {text}\n")
    }
}

/// The command a generated header says regenerates its directory, as written there (without
/// the backticks), or none in an older fredgen's header.
pub fn header_command(line: &str) -> Option<&str> {
    let (_, rest) = line.split_once(" Do not edit: change the spec and run `")?;
    // The command may hold a backtick inside quotes: it ends at the last one.
    rest.rfind('`').map(|end| &rest[..end])
}

/// What a generated header says the file was rendered by: fredgen's version (none in an older
/// fredgen's header, which did not name it) and the spec's hash (`sha256:…`, likewise).
pub fn provenance_of(line: &str) -> Option<(Option<String>, Option<String>)> {
    let rest = line
        .strip_prefix("# ")
        .or_else(|| line.strip_prefix("<!-- "))?
        .strip_prefix(GENERATED_BY)?;
    if rest.starts_with("from ") {
        return Some((None, None));
    }
    let (version, rest) = rest.split_once(" from ")?;
    // The spec's name is escaped ([`crate::Loaded::file_name`]): it holds no `(`.
    let hash = rest
        .split_once(" (sha256:")
        .and_then(|(_, h)| h.get(..16))
        .map(|h| format!("sha256:{h}"));
    Some((Some(version.to_string()), hash))
}

/// Whether a file's text opens with the header [`header`] writes, in this version's form
/// (`Generated by fredgen 0.2.0 from …`) or an older one's (`Generated by fredgen from …`): how
/// the output module proves a file is fredgen's before it overwrites or removes it.
pub fn carries_header(text: &str) -> bool {
    let first = text.lines().next().unwrap_or_default();
    let version = |v: &str| {
        v.starts_with(|c: char| c.is_ascii_digit())
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-+".contains(c))
    };
    first
        .strip_prefix("# ")
        .or_else(|| first.strip_prefix("<!-- "))
        .and_then(|rest| rest.strip_prefix(GENERATED_BY))
        .is_some_and(|rest| {
            rest.starts_with("from ")
                || rest
                    .split_once(' ')
                    .is_some_and(|(v, rest)| version(v) && rest.starts_with("from "))
        })
}

/// One unit of a render's first, parallel phase.
enum Job {
    /// A template that renders to a file (or to nothing).
    File { id: String, path: String },
    /// The target's README section, which the README embeds.
    Section(String),
    /// A template that renders after this phase, compiled now on whichever thread is free.
    Compile(&'static str),
}

/// What a [`Job`] produced.
enum Done {
    File(Option<String>),
    Section(String),
    Compiled,
}

pub(crate) const KUSTOMIZATION: &str = "shared/kustomization.yaml.j2";
const README: &str = "shared/README.md.j2";
const APPLY_SCRIPT: &str = "shared/apply.sh.j2";
/// A guest environment's removal script (its namespace, with its database, and its objects in
/// the shared namespaces).
const REMOVE_SCRIPT: &str = "shared/remove.sh.j2";
/// A guest environment's apply steps: its namespace's, after checking the host's cluster.
const GUEST_PLAN: &str = "shared/apply/guest.yaml.j2";

/// Whether a guest environment renders `path`: the app namespace's manifests (`k8s/`, but not
/// the cluster-wide `k8s/platform/`).
fn app_layer(path: &str) -> bool {
    path.starts_with("k8s/") && !path.starts_with("k8s/platform/")
}
/// Manifests the app step applies: the workloads (the static sites' proxies among them) and the
/// route to them (a GKE Ingress takes its health check from the pods' readiness probe, so it comes
/// with them). The migration step applies every other top-level one.
const WORKLOAD_FILES: [&str; 5] = [
    "k8s/route.yaml",
    "k8s/services.yaml",
    "k8s/static.yaml",
    "k8s/web.yaml",
    "k8s/workers.yaml",
];

/// Renders a whole target: shared manifests, shared values, the target's own templates, the
/// kustomization and the README. Parses everything back before returning.
///
/// Templates render on every core. Each file is parsed back by whichever thread is free: a large
/// YAML file in pieces of whole documents, handed over while its template is still rendering the
/// rest, so a thousand workers' manifests are checked by every thread, not only the one that
/// renders them.
pub fn render_target(
    ctx: &TemplateContext,
    engine: &Engine,
    overrides: &[crate::overrides::Override],
) -> Result<Output> {
    let readme_section = format!("{}/README.section.md.j2", ctx.target_id);
    let target_plan = format!("{}/apply.yaml.j2", ctx.target_id);
    // A guest environment (in another's cluster) renders its app layer alone: its namespace's
    // manifests, never a Terraform root nor the cluster-wide objects of `k8s/platform/`.
    let guest = ctx.stack.cluster.is_some();
    let plan_id = if guest {
        GUEST_PLAN.to_string()
    } else {
        target_plan.clone()
    };
    let set = engine.set();
    let mut jobs: Vec<Job> = set
        .folder("shared/k8s", "k8s/")
        .into_iter()
        .chain(shared_values(set))
        .chain(set.folder("shared/terraform", "terraform/"))
        .chain(set.folder(ctx.target_id, ""))
        .filter(|(id, _)| *id != readme_section && *id != target_plan)
        // A target's workflow templates render the repository's workflows (`render --all`).
        .filter(|(id, _)| !workflows::is_workflow_template(id))
        .filter(|(_, path)| !guest || app_layer(path))
        .map(|(id, path)| Job::File { id, path })
        .collect();
    jobs.extend([
        Job::Section(readme_section),
        Job::Compile(KUSTOMIZATION),
        Job::Compile(README),
        Job::Compile(APPLY_SCRIPT),
    ]);
    if guest {
        jobs.push(Job::Compile(REMOVE_SCRIPT));
    }

    // The context becomes a template value once, not once per template.
    let value = minijinja::Value::from(minijinja::value::Serde(ctx));
    let (done, parse_error) = parallel::run(&jobs, |job, handoff| -> Result<Done> {
        match job {
            Job::File { id, path } => {
                // Parsed back on whichever thread is free.
                let check = move |text: &str, lines_before: usize| {
                    handoff.submit(text, move |text: &str| {
                        parse_back::check_piece(&Piece {
                            path,
                            template: id,
                            text,
                            lines_before,
                        })
                    });
                };
                // Rendered straight into a tidying writer that starts with the header: a large
                // file is never held twice.
                let (header, yaml) = (header(path, ctx), path.ends_with(".yaml"));
                let mut text = if parse_back::applies(path) {
                    tidy::Tidy::with_pieces(header, yaml, check)
                } else {
                    tidy::Tidy::new(header, yaml)
                };
                engine.render_into(id, &value, &mut text)?;
                text.finish()
                    .map(Done::File)
                    .map_err(|e| template_error(id, e))
            }
            Job::Section(id) => engine.render(id, &value).map(Done::Section),
            Job::Compile(id) => engine
                .env()
                .get_template(id)
                .map(|_| Done::Compiled)
                .map_err(|e| template_error(id, e)),
        }
    });
    // A template that failed to render is reported before any file that did not parse back.
    let mut files = BTreeMap::new();
    let mut section = String::new();
    for (job, done) in jobs.into_iter().zip(done) {
        match (job, done?) {
            (Job::File { path, .. }, Done::File(Some(text))) => {
                files.insert(path, text);
            }
            (_, Done::Section(text)) => section = text,
            _ => {}
        }
    }
    if let Some(e) = parse_error {
        return Err(e);
    }
    // The spec's overrides, before anything is rendered from the files.
    let applied = crate::overrides::apply(&mut files, overrides, |path| header(path, ctx))?;
    // Argo CD's files, from every manifest the app layer now holds.
    argocd::render(ctx, engine, &mut files)?;

    // The apply plan, from the target's steps and the files they apply.
    let k8s_base: Vec<String> = files
        .keys()
        .filter(|p| {
            p.strip_prefix("k8s/")
                .is_some_and(|f| !f.contains('/') && f.ends_with(".yaml"))
                && !WORKLOAD_FILES.contains(&p.as_str())
        })
        .cloned()
        .collect();
    // Namespaces whose ExternalSecrets the platform-secrets step waits for.
    let platform_secret_namespaces: std::collections::BTreeSet<String> = files
        .iter()
        .filter(|(p, _)| p.starts_with("k8s/platform/"))
        .flat_map(|(_, t)| parse_back::yaml_documents(t).unwrap_or_default())
        .filter(|d| d["kind"] == "ExternalSecret")
        .filter_map(|d| d["metadata"]["namespace"].as_str().map(str::to_string))
        .collect();
    // The app step applies `k8s/` and prunes what an earlier render applied there and this one
    // no longer renders (a dropped worker, a narrowed NetworkPolicy), by a label the kustomization
    // puts on every object, limited to kinds that hold no data.
    let prune_label = (PRUNE_LABEL.to_string(), ctx.stack.prefix.clone());
    let added: Vec<&str> = applied
        .iter()
        .filter(|a| a.object.is_none() && a.into.starts_with("k8s/"))
        .map(|a| a.into.as_str())
        .collect();
    let prune_kinds = prune_kinds(&files, &added);
    let plan_ctx = minijinja::context! {
        k8s_base => k8s_base,
        platform_secret_namespaces => platform_secret_namespaces,
        prune_label => format!("{}={}", prune_label.0, prune_label.1),
        prune_kinds => prune_kinds,
        argocd_app => argocd::enabled(ctx).then(|| [argocd::NAMESPACE.to_string(), ctx.stack.prefix.clone()]),
        ..value.clone()
    };
    let plan_text = engine.render(&plan_id, &plan_ctx)?;
    let plan = Plan::parse(&plan_text).map_err(|e| template_error(&plan_id, e))?;

    // One kustomization per directory of k8s/ that `kubectl apply -k` applies: k8s/ itself and
    // k8s/platform/, each with its own files (the migration Job in k8s/migrate/ is applied by its
    // own step).
    for dir in ["k8s/", "k8s/platform/"] {
        let resources: Vec<String> = files
            .keys()
            .filter_map(|p| p.strip_prefix(dir))
            .filter(|p| p.ends_with(".yaml") && !p.contains('/'))
            .map(str::to_string)
            .collect();
        if resources.is_empty() {
            continue;
        }
        let path = format!("{dir}kustomization.yaml");
        let kustomization = header(&path, ctx)
            + &engine.render(
                KUSTOMIZATION,
                &KustomizationContext {
                    resources,
                    prune_label: (dir == "k8s/").then(|| prune_label.clone()),
                },
            )?;
        parse_back::check(&path, KUSTOMIZATION, &kustomization)?;
        files.insert(path, kustomization);
    }

    let script = header("apply.sh", ctx)
        + &engine.render(
            APPLY_SCRIPT,
            &ApplyContext {
                plan: &plan,
                planned: plan
                    .steps
                    .iter()
                    .filter(|s| s.is_terraform())
                    .map(|s| s.id.as_str())
                    .collect(),
            },
        )?;
    files.insert("apply.sh".into(), script);
    if guest {
        let script = header("remove.sh", ctx) + &engine.render(REMOVE_SCRIPT, &value)?;
        files.insert("remove.sh".into(), script);
    }

    let roots: Vec<String> = files
        .keys()
        .filter_map(|p| p.strip_prefix("terraform/"))
        .filter_map(|p| p.split_once('/').map(|(root, _)| root.to_string()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let rctx = ReadmeContext {
        ctx,
        roots,
        files: files.keys().cloned().collect(),
        target_section: section,
        plan: &plan,
        overrides: &applied,
        templates: engine
            .set()
            .replaced()
            .map(|(id, file)| (id.to_string(), file.to_string()))
            .collect(),
    };
    let readme = header("README.md", ctx) + &engine.render(README, &rctx)?;
    files.insert("README.md".into(), readme);
    for (path, text) in &files {
        parse_back::check_characters(path, text)?;
    }
    Ok(Output {
        files,
        plan,
        flows: Vec::new(),
        overrides: applied,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_names_the_version_and_spec_hash_it_was_rendered_by() {
        let line = Provenance {
            spec_file: "a (b).yaml".into(),
            spec_hash: crate::spec_hash(b"name: x\n"),
            command: regenerate_command(&[("--target", Some("eks"))]),
        }
        .line("target eks, environment -");
        assert_eq!(
            provenance_of(&format!("# {line}")),
            Some((
                Some(env!("CARGO_PKG_VERSION").to_string()),
                Some(crate::spec_hash(b"name: x\n"))
            ))
        );
        assert_eq!(
            provenance_of(&format!("<!-- {line} -->")),
            provenance_of(&format!("# {line}"))
        );
        assert_eq!(
            header_command(&format!("<!-- {line} -->")),
            Some("fredgen render --target eks")
        );
        let old = "# Generated by fredgen from s.yaml (target eks, environment prod). Do not edit.";
        assert_eq!(provenance_of(old), Some((None, None)));
        assert_eq!(header_command(old), None);
        assert_eq!(provenance_of("# Written by hand"), None);
        assert_eq!(provenance_of("apiVersion: v1"), None);
    }

    #[test]
    fn old_and_new_headers_are_recognised_and_nothing_else() {
        let new = Provenance {
            spec_file: "fredgen.yaml".into(),
            spec_hash: crate::spec_hash(b"name: x\n"),
            command: regenerate_command(&[("--target", Some("eks")), ("--env", Some("prod"))]),
        }
        .line("target eks, environment prod");
        assert_eq!(
            new,
            format!(
                "Generated by fredgen {} from fredgen.yaml (sha256:{}, target eks, environment prod). Do not edit: change the spec and run `fredgen render --target eks --env prod` in the spec's folder.",
                env!("CARGO_PKG_VERSION"),
                "a2a79ea37edb1963"
            )
        );
        for text in [
            format!("# {new}\nkind: x\n"),
            format!("<!-- {new} -->\n# README\n"),
            "# Generated by fredgen from fredgen.yaml (target eks, environment prod). Do not edit: change the spec and run `fredgen render`.\nkind: x\n".into(),
            "<!-- Generated by fredgen from s.yaml (target gke, environment default). Do not edit: change the spec and run `fredgen render`. -->\n".into(),
            "# Generated by fredgen 1.0.0-rc.1+b7 from a.yaml (sha256:00, GitHub workflows).\n".into(),
        ] {
            assert!(carries_header(&text), "{text}");
        }
        for text in [
            "",
            "kind: x\n# Generated by fredgen from fredgen.yaml\n",
            "# Generated by fredgen\n",
            "# Generated by fredgen by hand from x\n",
            "# Generated by fredgen v1 from x\n",
            "# Generated by fredgenerator from x\n",
            "// Generated by fredgen 0.1.0 from x\n",
        ] {
            assert!(!carries_header(text), "{text}");
        }
    }

    #[test]
    fn a_header_command_is_one_line_of_plain_or_quoted_words() {
        assert_eq!(
            regenerate_command(&[
                ("--target", Some("eks")),
                ("--file", Some("stack.yaml")),
                ("--out", Some("../out/eks"))
            ]),
            "fredgen render --target eks --file stack.yaml --out ../out/eks"
        );
        assert_eq!(shell_word("my stack.yaml"), "'my stack.yaml'");
        assert_eq!(shell_word("-x.yaml"), "./-x.yaml");
        assert_eq!(shell_word("-x y"), "'./-x y'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word("o$x"), "'o$x'");
        assert_eq!(shell_word("~"), "'~'");
        assert_eq!(shell_word("~root/x"), "'~root/x'");
        assert_eq!(shell_word("=ls"), "'=ls'");
        assert_eq!(shell_word("a=b"), "a=b");
        assert_eq!(shell_word("stäck.yaml"), "'stäck.yaml'");
        assert_eq!(shell_word("a-->b`c"), "'a--''>b`c'");
        assert_eq!(shell_word("a--!>b"), "'a--''!>b'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn every_embedded_template_compiles() {
        let set = TemplateSet::builtin();
        assert!(
            set.ids().count() > 20,
            "found only {} templates",
            set.ids().count()
        );
        let workflows = workflows::environment(set);
        let mut github = 0;
        for id in set.ids() {
            // The workflow templates have their own delimiters.
            let env = if workflows::is_workflow_template(id) {
                github += 1;
                &workflows
            } else {
                Engine::Builtin.env()
            };
            if let Err(e) = env.get_template(id) {
                panic!("template `{id}` does not compile: {e:#}");
            }
        }
        assert!(github >= 5, "found only {github} workflow templates");
    }
}

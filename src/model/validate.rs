//! Stage 2 — validation: raw spec (+ overlay) → [`Stack`] for one target, collecting every problem.

use std::collections::{BTreeMap, BTreeSet};

use super::addresses::{NON_PUBLIC_RANGES, ipv4_range};
use super::*;
use crate::backend::Target;
use crate::error::{Diagnostic, Pos};
use crate::model::calls::{Callees, refuse_env_urls};
use crate::model::quantity;
use crate::spec::{
    RawEgress, RawMetrics, RawReplicas, RawResources, RawRollout, RawScaling, RawStack, RawStep,
    RawTarget, RawUse, RawUseEnv, Sp,
};

/// Collects diagnostics while building the model.
pub struct Validator<'a> {
    file: &'a str,
    diags: Vec<Diagnostic>,
}

impl<'a> Validator<'a> {
    /// A validator reporting against `file`.
    pub fn new(file: &'a str) -> Self {
        Validator {
            file,
            diags: Vec::new(),
        }
    }

    /// Records an error at a spanned value.
    pub fn error_at<T>(&mut self, at: &Sp<T>, path: &str, message: String) -> &mut Diagnostic {
        self.error(Pos::from_location(&at.referenced), path, message)
    }

    /// Records an error at an optional position.
    pub fn error(&mut self, pos: Option<Pos>, path: &str, message: String) -> &mut Diagnostic {
        self.diags
            .push(Diagnostic::new(self.file, pos, path, message));
        self.diags.last_mut().expect("just pushed")
    }

    /// Records a missing required key.
    pub fn missing(&mut self, path: &str, hint: &str) {
        self.error(None, path, format!("`{path}` is required")).hint = Some(hint.to_string());
    }

    /// Everything collected.
    pub fn finish(self) -> Vec<Diagnostic> {
        self.diags
    }

    /// True when an error was recorded.
    pub fn failed(&self) -> bool {
        !self.diags.is_empty()
    }

    /// A required string; records an error and returns an empty string when missing.
    pub fn required(&mut self, v: &Option<Sp<String>>, path: &str, hint: &str) -> String {
        match v {
            Some(s) => s.value.clone(),
            None => {
                self.missing(path, hint);
                String::new()
            }
        }
    }
}

/// True for a DNS-1123 label of at most `max` characters.
pub fn is_dns_label(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.as_bytes()[0].is_ascii_lowercase()
        && !s.ends_with('-')
}

/// True for a word YAML 1.1 tools read as a boolean or null (`true`, `no`, `on`, `~` ...): a name
/// like that would turn into a non-string wherever a manifest or values file writes it plainly.
pub fn is_yaml_word(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~"
    )
}

impl Validator<'_> {
    /// Refuses a name that YAML tools would read as a boolean or null.
    fn refuse_yaml_word(&mut self, pos: Option<Pos>, path: &str, name: &str) {
        if is_yaml_word(name) {
            self.error(
                pos,
                path,
                format!("`{name}` reads as a boolean or null in YAML, not as a name"),
            )
            .hint =
                Some("choose another name; Kubernetes and Helm tools would read it as YAML".into());
        }
    }
}

/// The store secret holding Grafana's admin password (when metrics are on).
pub const GRAFANA_ADMIN_SECRET: &str = "GRAFANA_ADMIN_PASSWORD";

/// The longest stack name: cloud resource names append env and suffixes to it.
pub const MAX_NAME: usize = 20;

/// Builds the stack for `target` and `env` (`None`: the base spec without overlays).
pub fn build(
    file: &str,
    raw: &RawStack,
    env: Option<&str>,
    target: &dyn Target,
    targets: &crate::backend::Registry,
) -> Result<Stack, Vec<Diagnostic>> {
    let mut v = Validator::new(file);
    check_target_ids(&mut v, raw, targets);
    refuse_overlay_keys(&mut v, raw);
    let mut host = None;
    let merged = match env {
        None => raw.clone(),
        Some(env) => {
            let overlay = raw.environments.as_ref().and_then(|envs| envs.get(env));
            match overlay {
                Some(overlay) => {
                    check_overlay(&mut v, env, &overlay.value, raw);
                    host = guest_of(&mut v, raw, env, &overlay.value);
                    match &host {
                        // A guest takes its host's target settings, then its own overlay.
                        Some((_, host_overlay)) => raw
                            .clone()
                            .with_overlay(RawStack {
                                targets: host_overlay.targets.clone(),
                                ..RawStack::default()
                            })
                            .with_overlay(overlay.value.clone()),
                        None => raw.clone().with_overlay(overlay.value.clone()),
                    }
                }
                None => {
                    v.error(
                        None,
                        "environments",
                        format!("environment `{env}` is not declared"),
                    )
                    .hint = Some(declared_envs(raw, env));
                    return Err(v.finish());
                }
            }
        }
    };
    let mut stack = stack(&mut v, &merged, env, target);
    // Set once, in the base spec, with the environments it names.
    stack.delivery = super::delivery::delivery(&mut v, raw);
    if let (Some(why), Some(g)) = (
        target.needs_own_runner(),
        stack.delivery.as_ref().and_then(|d| d.github.as_ref()),
    ) && !g.runs_on_set
    {
        v.error(
            None,
            "delivery.github.runs_on",
            format!("target `{}` needs runners of your own: {why}", target.id()),
        )
        .hint = Some(
            "name them: `runs_on: [self-hosted, <label>]` (a runner there; GitHub-hosted runners come from addresses no one can allow)".into(),
        );
    }
    if let (Some(env), Some((host, host_overlay))) = (env, &host) {
        let host_raw = raw.clone().with_overlay(host_overlay.clone());
        guest(&mut v, &mut stack, env, host, &merged, &host_raw);
    }
    reserved_namespace(&mut v, &merged, &stack);
    refuse_argocd_with_guests(&mut v, raw, &stack);
    // In the same round as every other problem: a backend's checks read only what validated.
    target.check_stack(&mut v, &stack);
    refuse_argocd_on_folder_target(&mut v, &merged, &stack, target);
    if v.failed() {
        Err(v.finish())
    } else {
        Ok(stack)
    }
}

/// Refuses `delivery.argocd` on a folder target: fredgen installs Argo CD in the platform layer
/// of the targets it compiles in, and a folder target's Terraform is its own.
fn refuse_argocd_on_folder_target(
    v: &mut Validator,
    raw: &RawStack,
    stack: &Stack,
    target: &dyn Target,
) {
    if target.folder_templates().is_none() || !stack.delivery.as_ref().is_some_and(|d| d.argocd) {
        return;
    }
    let message = format!(
        "target `{}` is defined by a folder: fredgen installs Argo CD only on the targets it compiles in",
        target.id()
    );
    let hint = format!(
        "deliver the app on `{}` with apply.sh (drop `argocd: true`), or render for a target that installs Argo CD (eks, gke, hetzner)",
        target.id()
    );
    let at = raw.delivery.as_ref().and_then(|d| d.argocd.as_ref());
    let e = match at {
        Some(a) => v.error_at(a, "delivery.argocd", message),
        None => v.error(None, "delivery.argocd", message),
    };
    e.hint = Some(hint);
}

/// Namespaces an app may never take: Kubernetes' own, and those fredgen's platform layers install
/// into on some target. An app namespace gets a default-deny NetworkPolicy, and a guest's
/// `remove.sh` deletes its namespace: in one of these, either would break the cluster.
const RESERVED_NAMESPACES: &[&str] = &[
    "default",
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "monitoring",
    "velero",
    "argocd",
    "cert-manager",
    "external-secrets",
    "external-dns",
    "cnpg-system",
    "rabbitmq-system",
    "keda",
    "karpenter",
    "traefik",
    "system-upgrade",
];

/// Refuses an app namespace (`<name>`, or `<name>-<env>` for a guest) that is a system or
/// platform namespace: [`RESERVED_NAMESPACES`], any `kube-*`, and the store and state namespaces
/// of the Hetzner and kubernetes targets (`<name>-secrets`, `<name>-tfstate`).
fn reserved_namespace(v: &mut Validator, raw: &RawStack, stack: &Stack) {
    let ns = stack.namespace.as_str();
    let platform = [
        format!("{}-secrets", stack.name),
        format!("{}-tfstate", stack.name),
    ];
    if !(RESERVED_NAMESPACES.contains(&ns)
        || ns.starts_with("kube-")
        || platform.iter().any(|p| p == ns))
    {
        return;
    }
    let guest = stack.cluster.is_some();
    let (at, path) = match (&raw.cluster, &raw.name) {
        (Some(c), _) if guest => (
            Pos::from_location(&c.referenced),
            format!("environments.{}.cluster", stack.env),
        ),
        (_, Some(n)) => (Pos::from_location(&n.referenced), "name".to_string()),
        _ => (None, "name".to_string()),
    };
    let what = if guest {
        format!(
            "environment `{}`'s namespace `{ns}` (`<name>-<env>`)",
            stack.env
        )
    } else {
        format!("the app's namespace `{ns}` (`name`)")
    };
    v.error(
        at,
        &path,
        format!("{what} is a namespace of Kubernetes or of the platform"),
    )
    .hint = Some(if guest {
        "rename the environment (or the stack): its namespace gets a default-deny NetworkPolicy and remove.sh deletes it".into()
    } else {
        "rename the stack: the app's namespace gets a default-deny NetworkPolicy and is the app's alone".into()
    });
}

/// Refuses `delivery.argocd` when an environment deploys into another's cluster: a guest's
/// `remove.sh` deletes its namespace but not Argo CD's Applications for it, which would sync it
/// straight back.
fn refuse_argocd_with_guests(v: &mut Validator, raw: &RawStack, stack: &Stack) {
    if !stack.delivery.as_ref().is_some_and(|d| d.argocd) {
        return;
    }
    let Some(guest) = raw
        .environments
        .iter()
        .flatten()
        .find(|(_, o)| o.value.cluster.is_some())
        .map(|(e, _)| e)
    else {
        return;
    };
    let message = format!(
        "environment `{guest}` deploys into another's cluster, which Argo CD delivery does not support"
    );
    let at = raw.delivery.as_ref().and_then(|d| d.argocd.as_ref());
    let e = match at {
        Some(a) => v.error_at(a, "delivery.argocd", message),
        None => v.error(None, "delivery.argocd", message),
    };
    e.hint = Some(format!(
        "remove.sh takes a guest down by deleting its namespace, and Argo CD's self-healing Applications would bring `{guest}` back: deliver with apply.sh (drop `argocd: true`), or give `{guest}` a cluster of its own (drop its `cluster`)"
    ));
}

/// Refuses `cluster` and `preview` at the top level: they say how one environment relates to
/// another, so they belong in an environment's overlay.
fn refuse_overlay_keys(v: &mut Validator, raw: &RawStack) {
    if let Some(c) = &raw.cluster {
        v.error_at(
            c,
            "cluster",
            "`cluster` is set in an environment's overlay, not at the top level".into(),
        )
        .hint = Some(format!(
            "move it under the environment that deploys into `{}`'s cluster: `environments: {{ <env>: {{ cluster: {} }} }}`",
            c.value, c.value
        ));
    }
    if let Some(p) = &raw.preview {
        v.error_at(
            p,
            "preview",
            "`preview` is set in an environment's overlay, not at the top level".into(),
        )
        .hint =
            Some("set it on the short-lived environment, beside its `cluster: <host env>`".into());
    }
}

/// For an environment whose overlay names `cluster: <host>`: checks the host (declared, not the
/// environment itself, owning its cluster) and returns its name and overlay. Also refuses
/// `preview` without `cluster`.
fn guest_of(
    v: &mut Validator,
    raw: &RawStack,
    env: &str,
    overlay: &RawStack,
) -> Option<(String, RawStack)> {
    let Some(c) = &overlay.cluster else {
        if let Some(p) = overlay.preview.as_ref().filter(|p| p.value) {
            v.error_at(
                p,
                &format!("environments.{env}.preview"),
                format!("environment `{env}` is a preview but owns its cluster"),
            )
            .hint = Some(
                "a preview deploys into another environment's cluster: add `cluster: <host env>`"
                    .into(),
            );
        }
        return None;
    };
    let path = format!("environments.{env}.cluster");
    let envs: &std::collections::BTreeMap<String, Sp<RawStack>> = raw.environments.as_ref()?;
    if c.value == env {
        v.error_at(
            c,
            &path,
            format!("environment `{env}` names itself as its cluster's owner"),
        )
        .hint =
            Some("name the environment whose cluster it deploys into, or remove `cluster`".into());
        return None;
    }
    let Some(host) = envs.get(&c.value) else {
        let others: Vec<&str> = envs
            .keys()
            .map(String::as_str)
            .filter(|e| *e != env)
            .collect();
        v.error_at(
            c,
            &path,
            format!(
                "environment `{env}` deploys into `{}`, which is not a declared environment",
                c.value
            ),
        )
        .hint = Some(crate::spec::suggest(&c.value, &others));
        return None;
    };
    if matches!(c.value.as_str(), "prod" | "production") {
        v.error_at(
            c,
            &path,
            format!(
                "environment `{env}` deploys into `{}`'s cluster, a production environment",
                c.value
            ),
        )
        .hint = Some(format!(
            "a guest reads its host's store secrets and shares its cluster: deploy `{env}` into a non-production environment's cluster (e.g. staging)"
        ));
        return None;
    }
    if let Some(chain) = &host.value.cluster {
        v.error_at(
            c,
            &path,
            format!(
                "environment `{env}` deploys into `{}`'s cluster, but `{}` deploys into `{}`'s itself",
                c.value, c.value, chain.value
            ),
        )
        .hint = Some(format!(
            "a host owns its cluster: write `cluster: {}`",
            chain.value
        ));
        return None;
    }
    if let Some((id, block)) = overlay.targets.iter().flatten().next() {
        v.error_at(
            block,
            &format!("environments.{env}.targets.{id}"),
            format!("environment `{env}` deploys into `{}`'s cluster, so it takes `{}`'s target settings", c.value, c.value),
        )
        .hint = Some("a guest runs where its host's cluster is (region, project, location, Kubernetes version): remove `targets` from its overlay".into());
    }
    if let Some(dns) = &overlay.dns {
        let at = [&dns.provider, &dns.zone, &dns.token_secret]
            .into_iter()
            .flatten()
            .next()
            .and_then(|s| Pos::from_location(&s.referenced));
        v.error(
            at,
            &format!("environments.{env}.dns"),
            format!("environment `{env}` deploys into `{}`'s cluster, whose external-dns and certificates serve its hosts", c.value),
        )
        .hint = Some("remove `dns` from its overlay: the host's DNS settings apply".into());
    }
    Some((c.value.clone(), host.value.clone()))
}

/// Makes `stack` the guest `env` of `host` (whose merged spec is `host_raw`; the guest's is
/// `raw`): its own namespace, the host's cloud resources, and nothing that would need a
/// Terraform root or an operator the host does not install.
fn guest(
    v: &mut Validator,
    stack: &mut Stack,
    env: &str,
    host: &str,
    raw: &RawStack,
    host_raw: &RawStack,
) {
    let at = raw
        .cluster
        .as_ref()
        .and_then(|c| Pos::from_location(&c.referenced));
    let overlay = format!("environments.{env}");
    let refuse = |v: &mut Validator, key: &str, message: String, hint: String| {
        v.error(at, &format!("{overlay}.{key}"), message).hint = Some(hint);
    };
    if !stack.static_sites.is_empty() {
        refuse(
            v,
            "static",
            format!("environment `{env}` deploys into `{host}`'s cluster but has static sites"),
            "a static site is a bucket and a CDN, which Terraform creates; a guest renders none: serve the site from an environment that owns its cluster".into(),
        );
    }
    let placement = |r: &RawStack| {
        r.postgres
            .as_ref()
            .map(|p| p.placement.as_ref().map(|s| s.value.clone()))
    };
    match (placement(raw), placement(host_raw)) {
        (Some(_), None) => refuse(
            v,
            "postgres",
            format!("environment `{env}` uses PostgreSQL but its host `{host}` has none"),
            "a guest's database lives in its host's instance (or its CloudNativePG operator): declare `postgres` for the host too".into(),
        ),
        (Some(g), Some(h)) if g != h => refuse(
            v,
            "postgres.placement",
            format!("environment `{env}` places PostgreSQL otherwise than its host `{host}`"),
            "a guest's database lives where its host's does: leave `placement` to the base spec".into(),
        ),
        _ => {}
    }
    if raw.queue.is_some() && host_raw.queue.is_none() {
        refuse(
            v,
            "queue",
            format!("environment `{env}` uses RabbitMQ but its host `{host}` has none"),
            "the RabbitMQ operator is installed with the host's queue: declare `queue` for the host too".into(),
        );
    }
    stack.namespace = format!("{}-{env}", stack.name);
    stack.cluster_prefix = format!("{}-{host}", stack.name);
    stack.cluster_env = host.to_string();
    // Its own single-instance CloudNativePG database in its namespace, whatever the host's
    // placement: a database in the host's managed instance would need the host's credentials
    // (the RDS master user, the Cloud SQL superuser's identity), which reach every database there.
    // No archive, no recovery: a guest's data is for development and review.
    if let Some(p) = &mut stack.postgres {
        p.placement = Placement::InCluster;
        p.ha = false;
        p.backups = false;
        p.generation = 1;
        p.archive = p.name.clone();
        p.recover_from = None;
        p.recover_to = None;
        stack.cloudnative_pg = true;
    }
    stack.cluster = Some(SharedCluster {
        host: host.to_string(),
        host_namespace: stack.name.clone(),
        host_label: format!("{}-{host}", stack.name),
        preview: raw.preview.as_ref().is_some_and(|p| p.value),
        provides: Vec::new(),
    });
}

fn declared_envs(raw: &RawStack, env: &str) -> String {
    match &raw.environments {
        Some(envs) if !envs.is_empty() => {
            let names: Vec<&str> = envs.keys().map(String::as_str).collect();
            let list = format!("declared environments: {}", names.join(", "));
            crate::spec::did_you_mean(env, &names, list)
        }
        _ => "the spec declares no `environments`; omit --env".to_string(),
    }
}

fn check_overlay(v: &mut Validator, env: &str, overlay: &RawStack, base: &RawStack) {
    overlay_workers(v, env, overlay, base);
    if let Some(name) = &overlay.name {
        v.error_at(
            name,
            &format!("environments.{env}.name"),
            "an environment cannot rename the stack".into(),
        )
        .hint = Some("set `name` once at the top level".into());
    }
    if overlay.environments.is_some() {
        v.error(
            None,
            &format!("environments.{env}.environments"),
            "environments cannot nest".into(),
        );
    }
    let once = [
        ("target_folders", overlay.target_folders.is_some()),
        ("templates", overlay.templates.is_some()),
        ("overrides", overlay.overrides.is_some()),
        ("delivery", overlay.delivery.is_some()),
    ];
    for (key, set) in once {
        if set {
            v.error(
                None,
                &format!("environments.{env}.{key}"),
                format!("`{key}` is set once, at the top level"),
            )
            .hint = Some(match key {
                "overrides" => format!("declare it at the top level with `environments: [{env}]`"),
                "delivery" => {
                    "one repository delivers every environment: declare it at the top level".into()
                }
                _ => "every environment renders with the same templates and targets".into(),
            });
        }
    }
}

/// An overlay changes only the workers (and services) the base declares, each named by its
/// `name`: a name the base does not have is a typo far more often than a new one, and would add an
/// incomplete one.
fn overlay_workers(v: &mut Validator, env: &str, overlay: &RawStack, base: &RawStack) {
    let names = |items: Vec<&Option<Sp<String>>>| -> Vec<Option<Sp<String>>> {
        items.into_iter().cloned().collect()
    };
    let lists = [
        (
            "worker",
            "workers",
            names(base.workers.iter().flatten().map(|w| &w.name).collect()),
            names(overlay.workers.iter().flatten().map(|w| &w.name).collect()),
        ),
        (
            "service",
            "services",
            names(base.services.iter().flatten().map(|s| &s.name).collect()),
            names(overlay.services.iter().flatten().map(|s| &s.name).collect()),
        ),
        (
            "static site",
            "static",
            names(
                base.static_sites
                    .iter()
                    .flatten()
                    .map(|s| &s.name)
                    .collect(),
            ),
            names(
                overlay
                    .static_sites
                    .iter()
                    .flatten()
                    .map(|s| &s.name)
                    .collect(),
            ),
        ),
    ];
    for (kind, key, base_names, over_names) in &lists {
        let known: Vec<&str> = base_names
            .iter()
            .flatten()
            .map(|n| n.value.as_str())
            .collect();
        for (i, name) in over_names.iter().enumerate() {
            let path = format!("environments.{env}.{key}[{i}]");
            let Some(name) = name else {
                v.error(
                    None,
                    &path,
                    format!("a {kind} in environment `{env}` has no `name`"),
                )
                .hint = Some(format!(
                    "an overlay names the base {kind} it changes: `- {{ name: <{kind}>, ... }}`"
                ));
                continue;
            };
            if known.contains(&name.value.as_str()) {
                continue;
            }
            let close = crate::spec::suggest(&name.value, &known);
            let hint = if close.starts_with("did you mean") {
                close
            } else if known.is_empty() {
                format!("the base spec declares no {key}.")
            } else {
                format!("the base spec declares {}.", known.join(", "))
            };
            v.error_at(
                name,
                &format!("{path}.name"),
                format!(
                    "environment `{env}` changes {kind} `{}`, which the base spec does not declare",
                    name.value
                ),
            )
            .hint = Some(format!(
                "{hint} An overlay changes only the {kind}s of the base spec; a new {kind} is declared there"
            ));
        }
    }
}

fn stack(v: &mut Validator, raw: &RawStack, env: Option<&str>, target: &dyn Target) -> Stack {
    let name = v.required(
        &raw.name,
        "name",
        "add `name: <dns-label>` at the top of the spec",
    );
    if let Some(n) = &raw.name
        && !is_dns_label(&n.value, MAX_NAME)
    {
        v.error_at(
            n,
            "name",
            format!(
                "`{}` is not a DNS-1123 label of at most {MAX_NAME} characters",
                n.value
            ),
        )
        .hint = Some("use lowercase letters, digits and `-`, starting with a letter".into());
    }
    if let Some(n) = &raw.name {
        v.refuse_yaml_word(Pos::from_location(&n.referenced), "name", &n.value);
    }
    if let Some(env) = env {
        v.refuse_yaml_word(None, &format!("environments.{env}"), env);
    }
    if let Some(env) = env
        && !is_dns_label(env, 12)
    {
        v.error(
            None,
            &format!("environments.{env}"),
            format!("environment name `{env}` is not a DNS-1123 label of at most 12 characters"),
        );
    }
    let domain = v.required(
        &raw.domain,
        "domain",
        "add `domain: <public host of the frontend>`",
    );
    if let Some(d) = &raw.domain
        && let Some((message, hint)) = host_problem(&d.value)
    {
        v.error_at(d, "domain", message).hint = Some(hint);
    }
    let env_name = env.unwrap_or("default").to_string();
    let prefix = if env.is_some() {
        format!("{name}-{env_name}")
    } else {
        name.clone()
    };

    let queue = queue(v, raw, &name);
    let queue_names: Vec<String> = queue.as_ref().map(|q| q.queues.clone()).unwrap_or_default();
    let node = Node {
        target: target.id(),
        capacity: target.largest_node(&env_name),
    };
    let callees = Callees::of(raw, &name);
    let frontend = frontend(v, raw, &name, &node, &callees);
    let workers = workers(v, raw, &name, &queue_names, &node, &callees);
    let mut services = services(v, raw, &name, &node, &callees);
    let hosts = super::routes::hosts(v, raw, &domain, &frontend, &services);
    let static_sites = super::sites::sites(v, raw, &prefix, &hosts);
    let names: Vec<&str> = hosts
        .iter()
        .map(|h| h.name.as_str())
        .chain(static_sites.iter().map(|s| s.host.as_str()))
        .collect();
    for s in &mut services {
        s.public = hosts
            .iter()
            .any(|h| h.routes.iter().any(|r| r.backend == s.name));
    }
    refuse_env_urls(v, raw, &name, &callees);
    if raw.frontend.is_some() {
        unused_services(v, raw, &frontend, &workers, &services);
    }
    if let Some(prod @ ("prod" | "production")) = env {
        prod_replicas(v, raw, prod, &frontend, &workers, &services);
    }
    let postgres = postgres(v, raw, &name, target);
    let cloudnative_pg = postgres
        .as_ref()
        .is_some_and(|p| p.placement == Placement::InCluster);
    let monitoring = monitoring(v, raw);
    let settings = target_settings(v, raw, target);
    let parent_zone = super::routes::parent_zone(&names);
    let dns_zone = super::routes::shared_zone(&names);
    let dns = super::dns::dns(v, raw, &names, &parent_zone);

    refuse_platform_secrets(v, raw, &monitoring, &dns);
    let mut app_secrets: BTreeSet<String> = frontend.secrets.iter().cloned().collect();
    for w in &workers {
        app_secrets.extend(w.secrets.iter().cloned());
    }
    for s in &services {
        app_secrets.extend(s.secrets.iter().cloned());
    }
    let mut secrets = app_secrets.clone();
    if let Some(a) = &monitoring.alerts {
        secrets.insert(a.webhook_secret.clone());
    }
    if monitoring.metrics {
        secrets.insert(GRAFANA_ADMIN_SECRET.to_string());
    }
    if let Some(cf) = &dns.cloudflare {
        secrets.insert(cf.token_secret.clone());
    }
    // `delivery` itself is resolved from the base spec (`build`); only its switch matters here.
    let argocd = raw
        .delivery
        .as_ref()
        .and_then(|d| d.argocd.as_ref())
        .is_some_and(|a| a.value);
    if argocd {
        secrets.insert(super::delivery::ARGOCD_REPOSITORY_SECRET.to_string());
    }
    Stack {
        namespace: name.clone(),
        name,
        cluster_prefix: prefix.clone(),
        cluster_env: env_name.clone(),
        env: env_name,
        prefix,
        domain,
        dns_zone,
        parent_zone,
        static_sites,
        frontend,
        workers,
        services,
        queue,
        postgres,
        monitoring,
        dns,
        app_secrets: app_secrets.into_iter().collect(),
        secrets: secrets.into_iter().collect(),
        target: settings,
        delivery: None,
        cluster: None,
        guests: Vec::new(),
        cloudnative_pg,
        cluster_hosts: hosts.iter().map(|h| h.name.clone()).collect(),
        hosts,
    }
}

/// Refuses a database or a queue that no process uses: no process could reach it (no flow, no
/// credentials), so it would only cost.
fn unused_services(
    v: &mut Validator,
    raw: &RawStack,
    frontend: &Frontend,
    workers: &[Worker],
    services: &[Service],
) {
    let db_used = frontend.database_env.is_some()
        || workers.iter().any(|w| w.database_env.is_some())
        || services.iter().any(|s| s.database_env.is_some());
    let queue_used = frontend.queue_env.is_some()
        || workers.iter().any(|w| w.queue_env.is_some())
        || services.iter().any(|s| s.queue_env.is_some());
    for (declared, used, key, what) in [
        (raw.postgres.is_some(), db_used, "postgres", "the database"),
        (raw.queue.is_some(), queue_used, "queue", "the queue"),
    ] {
        if declared && !used {
            v.error(
                None,
                key,
                format!("no process uses {what}: every process says `{key}: false`"),
            )
            .hint = Some(format!(
                "remove `{key}:` from the stack, or let the process that needs it use it"
            ));
        }
    }
}

/// Refuses app secrets named like a secret fredgen reads for the platform (Grafana's admin
/// password, the alert webhook, the Cloudflare API token): listing one would hand it to every pod
/// of the app.
fn refuse_platform_secrets(v: &mut Validator, raw: &RawStack, monitoring: &Monitoring, dns: &Dns) {
    let mut platform: Vec<(&str, &str)> = vec![(GRAFANA_ADMIN_SECRET, "Grafana's admin password")];
    if raw
        .delivery
        .as_ref()
        .and_then(|d| d.argocd.as_ref())
        .is_some_and(|a| a.value)
    {
        platform.push((
            super::delivery::ARGOCD_REPOSITORY_SECRET,
            "the deploy key Argo CD reads the repository with (`delivery.argocd`)",
        ));
    }
    if let Some(a) = &monitoring.alerts {
        platform.push((
            &a.webhook_secret,
            "the Slack webhook Alertmanager posts to (`monitoring.alerts.webhook_secret`)",
        ));
    }
    // The platform secrets but the Cloudflare token's, which the token's may not be named as.
    let others = platform.clone();
    if let Some(cf) = &dns.cloudflare {
        platform.push((
            &cf.token_secret,
            "the Cloudflare API token the cluster writes DNS records with (`dns.token_secret`)",
        ));
        // The variable the Terraform Cloudflare provider reads, whatever `token_secret` says:
        // step `secret-values` stores a secret from the variable of its name.
        platform.push((
            super::dns::TERRAFORM_TOKEN_VARIABLE,
            "the variable the Terraform Cloudflare provider reads its API token from",
        ));
        // Two platform secrets of one name would give one of them the other's value.
        if let Some((_, what)) = others.iter().find(|(n, _)| *n == cf.token_secret) {
            let at = raw.dns.as_ref().and_then(|d| d.token_secret.as_ref());
            let message = format!("`{}` is already a platform secret: {what}", cf.token_secret);
            let e = match at {
                Some(t) => v.error_at(t, "dns.token_secret", message),
                None => v.error(None, "dns.token_secret", message),
            };
            e.hint = Some("give the Cloudflare token a secret of its own".into());
        }
    }
    let lists = raw
        .frontend
        .iter()
        .map(|f| ("frontend.secrets".to_string(), &f.secrets))
        .chain(
            raw.workers
                .iter()
                .flatten()
                .enumerate()
                .map(|(i, w)| (format!("workers[{i}].secrets"), &w.secrets)),
        )
        .chain(
            raw.services
                .iter()
                .flatten()
                .enumerate()
                .map(|(i, s)| (format!("services[{i}].secrets"), &s.secrets)),
        );
    for (path, secrets) in lists {
        for (i, s) in secrets.iter().flatten().enumerate() {
            if let Some((_, what)) = platform.iter().find(|(n, _)| *n == s.value) {
                v.error_at(
                    s,
                    &format!("{path}[{i}]"),
                    format!("`{}` is a platform secret: {what}", s.value),
                )
                .hint = Some(
                    "fredgen reads it for the platform only; an app secret of that name would \
                     hand it to the app's pods. Store the app's own value under another name"
                        .into(),
                );
            }
        }
    }
}

/// True for an IPv4 or IPv6 address (bracketed or not), and for any dotted name whose last label
/// is all digits: no top-level domain is, and resolvers read such a name as an address.
/// Longest public host: a certificate's first name (ACM `domain_name`, the X.509 common name)
/// holds 64 characters.
pub const MAX_PUBLIC_HOST: usize = 64;

/// Why `host` cannot be a public host name (a DNS record and a certificate from a public CA),
/// with a hint; `None` when it can.
pub fn host_problem(host: &str) -> Option<(String, String)> {
    if is_ip_address(host) {
        return Some((
            format!("`{host}` is an IP address, not a host name"),
            "a public host gets a DNS record and a certificate: name it, e.g. `app.example.com`"
                .into(),
        ));
    }
    if host.len() > MAX_PUBLIC_HOST {
        return Some((
            format!(
                "`{host}` is {} characters long, over {MAX_PUBLIC_HOST}",
                host.len()
            ),
            "a certificate's first name (ACM's domain name, a certificate's common name) holds \
             at most 64 characters: use a shorter host"
                .into(),
        ));
    }
    if !is_hostname(host) {
        let hint = if host.ends_with('.') {
            format!("drop the trailing dot: `{}`", host.trim_end_matches('.'))
        } else if host.bytes().any(|b| b.is_ascii_uppercase()) {
            format!(
                "host names are written in lower case: `{}`",
                host.to_ascii_lowercase()
            )
        } else if !host.is_ascii() {
            "write an internationalized name in its ASCII form (`xn--…`, punycode)".into()
        } else {
            "e.g. `app.example.com`: lowercase letters, digits and `-` in dot-separated labels"
                .into()
        };
        return Some((format!("`{host}` is not a fully qualified host name"), hint));
    }
    non_public_domain(host).map(|why| {
        (
            format!("`{host}` {why}"),
            "a public host gets a public DNS record and a certificate from a public CA (ACM, \
             Let's Encrypt, Google-managed), which issue only under public top-level domains: \
             e.g. `app.example.com`"
                .into(),
        )
    })
}

fn is_ip_address(s: &str) -> bool {
    let bare = s.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<std::net::IpAddr>().is_ok()
        || s.rsplit('.')
            .next()
            .is_some_and(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()))
}

/// Special-use and private-use top-level domains no public CA issues a certificate under (RFC
/// 6761, 6762, 7686, 8375, 9476, ICANN's `.internal`) and the names private networks
/// customarily use (`lan`, `corp`, `home`, `intranet`).
const NON_PUBLIC_TLDS: &[&str] = &[
    "local",
    "localhost",
    "internal",
    "test",
    "invalid",
    "example",
    "onion",
    "alt",
    "arpa",
    "lan",
    "corp",
    "home",
    "intranet",
    "localdomain",
];

/// Why a host name (already a valid one) cannot have a public certificate, if it cannot: its
/// top-level domain is special-use or private, or not a TLD at all (at least 2 letters, or an
/// IDN's `xn--` form).
fn non_public_domain(host: &str) -> Option<String> {
    let tld = host.rsplit('.').next().unwrap_or(host);
    if NON_PUBLIC_TLDS.contains(&tld) {
        return Some(format!(
            "is under `.{tld}`, a special-use or private top-level domain"
        ));
    }
    let letters = tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_lowercase());
    let idn = tld.len() > 4 && tld.starts_with("xn--");
    if !letters && !idn {
        return Some(format!(
            "ends in `.{tld}`, which is not a top-level domain (2 or more letters)"
        ));
    }
    None
}

pub(crate) fn is_hostname(s: &str) -> bool {
    s.len() <= 253 && s.split('.').count() >= 2 && s.split('.').all(is_dns_label_loose)
}

fn is_dns_label_loose(l: &str) -> bool {
    !l.is_empty()
        && l.len() <= 63
        && l.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !l.starts_with('-')
        && !l.ends_with('-')
}

fn frontend(
    v: &mut Validator,
    raw: &RawStack,
    stack: &str,
    node: &Node,
    callees: &Callees,
) -> Frontend {
    let Some(f) = &raw.frontend else {
        v.missing(
            "frontend",
            "every stack has a public `frontend` with at least `image` and `port`",
        );
        return Frontend {
            name: format!("{stack}-web"),
            image: String::new(),
            port: 8080,
            command: vec![],
            health_path: "/".into(),
            metrics: None,
            replicas: Replicas { min: 2, max: 10 },
            scaling: Scaling::DEFAULT,
            rollout: Rollout::DEFAULT,
            resources: Resources {
                cpu: "250m".into(),
                memory: "256Mi".into(),
                cpu_limit: "500m".into(),
            },
            env: vec![],
            secrets: vec![],
            migrate: None,
            migrate_job: String::new(),
            service_account: format!("{stack}-web"),
            database_env: None,
            queue_env: None,
            egress_internet: false,
            egress: vec![],
            calls: vec![],
        };
    };
    let (database_env, queue_env) = services_of(v, raw, &f.postgres, &f.queue, "frontend");
    let mut injected = injected_env(database_env.as_deref(), queue_env.as_deref());
    let calls = callees.resolve(v, &f.calls, "frontend.calls", None, &mut injected);
    let (egress_internet, egress) = egress(v, &f.egress, "frontend.egress");
    let image = image(v, &f.image, "frontend.image");
    let port = match &f.port {
        Some(p) => port(v, p, "frontend.port"),
        None => {
            v.missing(
                "frontend.port",
                "the container port the web server listens on, e.g. `port: 8000`",
            );
            8080
        }
    };
    let health_path = match f.health.as_ref().and_then(|h| h.path.as_ref()) {
        Some(p) => http_path(v, p, "frontend.health.path"),
        None => "/".to_string(),
    };
    let metrics = metrics(v, &f.metrics, "frontend.metrics", port);
    super::secret_shapes::check_command(v, &f.command, "frontend.command");
    super::secret_shapes::check_command(v, &f.migrate, "frontend.migrate");
    let migrate: Option<Vec<String>> = f
        .migrate
        .as_ref()
        .map(|m| m.iter().map(|s| s.value.clone()).collect());
    // The migration Job takes the frontend's database access: without it, it could not run, and
    // the app step, which waits for it, would never roll out.
    if let Some(m) = &f.migrate
        && raw.postgres.is_some()
        && database_env.is_none()
    {
        let at = m.first().and_then(|a| Pos::from_location(&a.referenced));
        v.error(
            at,
            "frontend.migrate",
            "the migration runs with the frontend's database access, and the frontend says `postgres: false`".into(),
        )
        .hint = Some(
            "let the frontend use the database, or run the migration from the process that does"
                .into(),
        );
    }
    let migrate_job = format!(
        "{stack}-migrate-{:08x}",
        fnv1a(&format!("{image}\0{:?}", migrate)) as u32
    );
    Frontend {
        name: format!("{stack}-web"),
        image,
        port,
        command: strings(&f.command),
        health_path,
        metrics,
        replicas: replicas(
            v,
            &f.replicas,
            "frontend.replicas",
            Replicas { min: 2, max: 10 },
            1,
        ),
        scaling: scaling(v, &f.scaling, "frontend.scaling"),
        rollout: rollout(v, &f.rollout, "frontend.rollout"),
        resources: resources(v, &f.resources, "frontend.resources", node),
        env: env_vars(v, &f.env, &f.secrets, "frontend.env", &injected),
        secrets: secret_names(v, &f.secrets, "frontend.secrets", &injected),
        migrate,
        migrate_job,
        service_account: format!("{stack}-web"),
        database_env,
        queue_env,
        egress_internet,
        egress,
        calls,
    }
}

fn workers(
    v: &mut Validator,
    raw: &RawStack,
    stack: &str,
    queues: &[String],
    node: &Node,
    callees: &Callees,
) -> Vec<Worker> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, w) in raw.workers.iter().flatten().enumerate() {
        let path = format!("workers[{i}]");
        let short = v.required(
            &w.name,
            &format!("{path}.name"),
            "each worker needs a `name`",
        );
        if let Some(n) = &w.name
            && process_name(v, n, &path)
            && let Some(first) = seen.insert(n.value.clone(), i)
        {
            v.error_at(
                n,
                &format!("{path}.name"),
                format!("duplicate worker name `{}`", n.value),
            )
            .hint = Some(format!("`workers[{first}]` already uses it"));
        }
        let consumes = w.consumes.as_ref().map(|c| {
            if !queues.contains(&c.value) {
                let hint = if queues.is_empty() {
                    "declare it under `queue.rabbitmq.queues`".to_string()
                } else {
                    format!("declared queues: {}", queues.join(", "))
                };
                v.error_at(
                    c,
                    &format!("{path}.consumes"),
                    format!("queue `{}` is not declared", c.value),
                )
                .hint = Some(hint);
            }
            c.value.clone()
        });
        let (egress_internet, egress) = egress(v, &w.egress, &format!("{path}.egress"));
        let (database_env, queue_env) = services_of(v, raw, &w.postgres, &w.queue, &path);
        if let Some(c) = &w.consumes
            && queue_env.is_none()
            && raw.queue.is_some()
        {
            let pos = w
                .queue
                .as_ref()
                .and_then(|q| Pos::from_location(&q.referenced));
            v.error(
                pos,
                &format!("{path}.queue"),
                format!("the worker consumes `{}` but says `queue: false`", c.value),
            )
            .hint = Some(
                "a consumer reads its tasks from the queue: remove `queue: false`, or remove \
                 `consumes`"
                    .into(),
            );
        }
        let mut injected = injected_env(database_env.as_deref(), queue_env.as_deref());
        let calls = callees.resolve(v, &w.calls, &format!("{path}.calls"), None, &mut injected);
        if let Some(h) = &w.health
            && h.command.as_ref().is_none_or(|c| c.is_empty())
        {
            v.error(
                None,
                &format!("{path}.health.command"),
                "`health` needs a non-empty `command`".into(),
            )
            .hint = Some(
                "a command that exits 0 while the worker is healthy, e.g. [celery, -A, app, inspect, ping]".into(),
            );
        }
        super::secret_shapes::check_command(v, &w.command, &format!("{path}.command"));
        if let Some(h) = &w.health {
            super::secret_shapes::check_command(v, &h.command, &format!("{path}.health.command"));
        }
        let min_floor = if consumes.is_some() { 0 } else { 1 };
        out.push(Worker {
            name: format!("{stack}-{short}"),
            image: image(v, &w.image, &format!("{path}.image")),
            command: strings(&w.command),
            metrics: metrics(v, &w.metrics, &format!("{path}.metrics"), 9100),
            replicas: replicas(
                v,
                &w.replicas,
                &format!("{path}.replicas"),
                Replicas { min: 1, max: 10 },
                min_floor,
            ),
            scaling: worker_scaling(v, w, &path),
            rollout: rollout(v, &w.rollout, &format!("{path}.rollout")),
            resources: resources(v, &w.resources, &format!("{path}.resources"), node),
            env: env_vars(v, &w.env, &w.secrets, &format!("{path}.env"), &injected),
            secrets: secret_names(v, &w.secrets, &format!("{path}.secrets"), &injected),
            database_env,
            queue_env,
            egress,
            calls,
            service_account: format!("{stack}-{short}"),
            short_name: short,
            consumes,
            egress_internet,
            health_command: w
                .health
                .as_ref()
                .map(|h| strings(&h.command))
                .unwrap_or_default(),
        });
    }
    out
}

/// Checks the name of a worker or a service (at `<path>.name`): a DNS-1123 label of at most 20
/// characters other than `web` (the frontend's), and no YAML word. True when it passes.
fn process_name(v: &mut Validator, n: &Sp<String>, path: &str) -> bool {
    let path = format!("{path}.name");
    if !is_dns_label(&n.value, 20) || n.value == "web" {
        v.error_at(
            n,
            &path,
            format!(
                "`{}` is not a DNS-1123 label of at most 20 characters other than `web`",
                n.value
            ),
        );
        false
    } else if let Some(why) = reserved_process_name(&n.value) {
        v.error_at(
            n,
            &path,
            format!(
                "`{}` is a name fredgen gives its own objects ({why})",
                n.value
            ),
        )
        .hint = Some(
            "a worker's or service's objects are named `<stack>-<name>`; choose another name"
                .into(),
        );
        false
    } else if is_yaml_word(&n.value) {
        v.refuse_yaml_word(Pos::from_location(&n.referenced), &path, &n.value);
        false
    } else {
        true
    }
}

/// `services:`: internal HTTP services, each with the frontend's keys (but `migrate`, which stays
/// the frontend's) and `calls`.
fn services(
    v: &mut Validator,
    raw: &RawStack,
    stack: &str,
    node: &Node,
    callees: &Callees,
) -> Vec<Service> {
    let workers: BTreeMap<&str, usize> = raw
        .workers
        .iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, w)| w.name.as_ref().map(|n| (n.value.as_str(), i)))
        .collect();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, s) in raw.services.iter().flatten().enumerate() {
        let path = format!("services[{i}]");
        let short = v.required(
            &s.name,
            &format!("{path}.name"),
            "each service needs a `name`",
        );
        if let Some(n) = &s.name
            && process_name(v, n, &path)
        {
            if let Some(w) = workers.get(n.value.as_str()) {
                v.error_at(
                    n,
                    &format!("{path}.name"),
                    format!("`{}` is already the name of a worker", n.value),
                )
                .hint = Some(format!(
                    "`workers[{w}]` uses it, and both would be the Deployment `{stack}-{}`",
                    n.value
                ));
            } else if let Some(first) = seen.insert(n.value.clone(), i) {
                v.error_at(
                    n,
                    &format!("{path}.name"),
                    format!("duplicate service name `{}`", n.value),
                )
                .hint = Some(format!("`services[{first}]` already uses it"));
            }
        }
        let (egress_internet, egress) = egress(v, &s.egress, &format!("{path}.egress"));
        let (database_env, queue_env) = services_of(v, raw, &s.postgres, &s.queue, &path);
        let mut injected = injected_env(database_env.as_deref(), queue_env.as_deref());
        let calls = callees.resolve(
            v,
            &s.calls,
            &format!("{path}.calls"),
            s.name.as_ref().map(|n| n.value.as_str()),
            &mut injected,
        );
        let image = image(v, &s.image, &format!("{path}.image"));
        let port = match &s.port {
            Some(p) => port(v, p, &format!("{path}.port")),
            None => {
                v.missing(
                    &format!("{path}.port"),
                    "the container port the service listens on, e.g. `port: 8080`",
                );
                8080
            }
        };
        let health_path = match s.health.as_ref().and_then(|h| h.path.as_ref()) {
            Some(p) => http_path(v, p, &format!("{path}.health.path")),
            None => "/".to_string(),
        };
        super::secret_shapes::check_command(v, &s.command, &format!("{path}.command"));
        out.push(Service {
            name: format!("{stack}-{short}"),
            image,
            port,
            command: strings(&s.command),
            health_path,
            metrics: metrics(v, &s.metrics, &format!("{path}.metrics"), port),
            replicas: replicas(
                v,
                &s.replicas,
                &format!("{path}.replicas"),
                Replicas { min: 2, max: 10 },
                1,
            ),
            scaling: scaling(v, &s.scaling, &format!("{path}.scaling")),
            rollout: rollout(v, &s.rollout, &format!("{path}.rollout")),
            resources: resources(v, &s.resources, &format!("{path}.resources"), node),
            env: env_vars(v, &s.env, &s.secrets, &format!("{path}.env"), &injected),
            secrets: secret_names(v, &s.secrets, &format!("{path}.secrets"), &injected),
            service_account: format!("{stack}-{short}"),
            short_name: short,
            database_env,
            queue_env,
            egress_internet,
            egress,
            calls,
            public: false,
        });
    }
    out
}

/// RabbitMQ minor versions fredgen supports, with the exact image each maps to.
pub const RABBITMQ_IMAGES: &[(&str, &str)] = crate::versions::RABBITMQ_IMAGES;

fn queue(v: &mut Validator, raw: &RawStack, stack: &str) -> Option<Queue> {
    let q = raw.queue.as_ref()?;
    let Some(r) = &q.rabbitmq else {
        v.missing(
            "queue.rabbitmq",
            "RabbitMQ is the only queue fredgen supports: `queue: { rabbitmq: { queues: [...] } }`",
        );
        return None;
    };
    let version = r
        .version
        .as_ref()
        .map(|s| s.value.clone())
        .unwrap_or_else(|| RABBITMQ_IMAGES[0].0.to_string());
    let image = match RABBITMQ_IMAGES.iter().find(|(minor, _)| *minor == version) {
        Some((_, image)) => image.to_string(),
        None => {
            let supported: Vec<&str> = RABBITMQ_IMAGES.iter().map(|(m, _)| *m).collect();
            if let Some(s) = &r.version {
                v.error_at(
                    s,
                    "queue.rabbitmq.version",
                    format!("RabbitMQ `{version}` is not supported"),
                )
                .hint = Some(format!("supported: {}", supported.join(", ")));
            }
            String::new()
        }
    };
    let replicas = match &r.replicas {
        None => 3,
        Some(n) if matches!(n.value, 1 | 3 | 5 | 7) => n.value as u32,
        Some(n) => {
            v.error_at(
                n,
                "queue.rabbitmq.replicas",
                format!("expected 1, 3, 5 or 7, found {}", n.value),
            )
            .hint = Some("quorum queues need an odd number of nodes".into());
            3
        }
    };
    let storage = match &r.storage {
        Some(s) => quantity_gi(v, s, "queue.rabbitmq.storage", 1)
            .map(|_| s.value.clone())
            .unwrap_or_default(),
        None => "20Gi".to_string(),
    };
    let mut queues = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for (i, name) in r.queues.iter().flatten().enumerate() {
        let ok = !name.value.is_empty()
            && name.value.len() <= 200
            && name
                .value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
        if !ok {
            v.error_at(
                name,
                &format!("queue.rabbitmq.queues[{i}]"),
                format!("`{}` is not a valid queue name", name.value),
            )
            .hint = Some("use letters, digits, `.`, `-` and `_`".into());
        } else if name.value.starts_with("amq.") {
            v.error_at(
                name,
                &format!("queue.rabbitmq.queues[{i}]"),
                format!(
                    "`{}` starts with `amq.`, which RabbitMQ reserves",
                    name.value
                ),
            )
            .hint = Some(
                "RabbitMQ refuses to declare a queue named `amq.*` (access refused): choose \
                 another name"
                    .into(),
            );
        } else if is_yaml_word(&name.value) {
            v.refuse_yaml_word(
                Pos::from_location(&name.referenced),
                &format!("queue.rabbitmq.queues[{i}]"),
                &name.value,
            );
        } else if !seen.insert(name.value.clone()) {
            v.error_at(
                name,
                &format!("queue.rabbitmq.queues[{i}]"),
                format!("duplicate queue `{}`", name.value),
            );
        }
        queues.push(name.value.clone());
    }
    Some(Queue {
        name: format!("{stack}-rabbitmq"),
        version,
        image,
        replicas,
        storage,
        queues,
    })
}

fn postgres(
    v: &mut Validator,
    raw: &RawStack,
    stack: &str,
    target: &dyn Target,
) -> Option<Postgres> {
    let p = raw.postgres.as_ref()?;
    let supported = target.supported_postgres();
    let version = match &p.version {
        Some(s) => {
            if !supported.iter().any(|(major, _)| *major == s.value) {
                let majors: Vec<&str> = supported.iter().map(|(m, _)| *m).collect();
                v.error_at(
                    s,
                    "postgres.version",
                    format!(
                        "PostgreSQL `{}` is not supported on {}",
                        s.value,
                        target.id()
                    ),
                )
                .hint = Some(format!("supported: {}", majors.join(", ")));
            }
            s.value.clone()
        }
        None => supported[0].0.to_string(),
    };
    let image = supported
        .iter()
        .find(|(m, _)| *m == version)
        .map(|(_, i)| i.to_string())
        .unwrap_or_default();
    let (storage, storage_gb) = match &p.storage {
        Some(s) => (
            s.value.clone(),
            quantity_gi(v, s, "postgres.storage", 10).unwrap_or(20),
        ),
        None => ("20Gi".to_string(), 20),
    };
    let retention = match p.backup.as_ref().and_then(|b| b.retention_days.as_ref()) {
        None => 7,
        Some(d) if (1..=35).contains(&d.value) => d.value as u32,
        Some(d) => {
            v.error_at(
                d,
                "postgres.backup.retention_days",
                format!("expected 1 to 35 days, found {}", d.value),
            )
            .hint =
                Some("35 days is the longest automated retention managed databases offer".into());
            7
        }
    };
    let placement = match &p.placement {
        None if target.has_managed_postgres() => Placement::Managed,
        None => Placement::InCluster,
        Some(s) if s.value == "in-cluster" => Placement::InCluster,
        Some(s) if s.value == "managed" => {
            if !target.has_managed_postgres() {
                v.error_at(
                    s,
                    "postgres.placement",
                    format!("{} has no managed PostgreSQL fredgen can use", target.id()),
                )
                .hint = Some("use `placement: in-cluster` (CloudNativePG), or omit it".into());
            }
            Placement::Managed
        }
        Some(s) => {
            v.error_at(
                s,
                "postgres.placement",
                format!("expected `managed` or `in-cluster`, found `{}`", s.value),
            );
            Placement::InCluster
        }
    };
    let name = format!("{stack}-db");
    let (generation, archive, recover_from, recover_to) =
        archive_generation(v, p.backup.as_ref(), &name, placement);
    Some(Postgres {
        name,
        generation,
        archive,
        recover_from,
        recover_to,
        version,
        image,
        storage,
        storage_gb,
        ha: p.ha.as_ref().map(|b| b.value).unwrap_or(true),
        backup_retention_days: retention,
        placement,
        database: stack.replace('-', "_"),
        user: stack.replace('-', "_"),
        app_secret: format!("{stack}-db-app"),
        backups: true,
    })
}

/// The server name of an archive generation: the database's name for the first, `-g<N>` after.
fn archive_name(name: &str, generation: i64) -> String {
    if generation <= 1 {
        name.to_string()
    } else {
        format!("{name}-g{generation}")
    }
}

/// `postgres.backup.generation` and `recover_to`: the server name the database archives under,
/// and, from generation 2, the one it is recovered from and the point in time.
fn archive_generation(
    v: &mut Validator,
    backup: Option<&crate::spec::RawBackup>,
    name: &str,
    placement: Placement,
) -> (u32, String, Option<String>, Option<String>) {
    let generation = backup.and_then(|b| b.generation.as_ref());
    let recover_to = backup.and_then(|b| b.recover_to.as_ref());
    let managed = placement == Placement::Managed;
    // A generation refused here is reported once: `recover_to` is not judged against it.
    let mut judged = true;
    let g = match generation {
        None => 1,
        Some(g) if managed => {
            v.error_at(g, "postgres.backup.generation", "a managed database's backups are the provider's".into())
                .hint = Some("recover a managed database with the provider's point-in-time recovery (see the generated README); `generation` is for `placement: in-cluster`".into());
            judged = false;
            1
        }
        Some(g) if (1..=999).contains(&g.value) => g.value,
        Some(g) => {
            v.error_at(
                g,
                "postgres.backup.generation",
                format!("expected 1 to 999, found {}", g.value),
            )
            .hint = Some("raise it by one for each recovery into a new cluster".into());
            judged = false;
            1
        }
    };
    let at = match recover_to {
        None => None,
        Some(t) if managed => {
            if judged {
                v.error_at(t, "postgres.backup.recover_to", "a managed database's backups are the provider's".into())
                    .hint = Some("recover a managed database with the provider's point-in-time recovery (see the generated README)".into());
            }
            None
        }
        Some(t) if !is_rfc3339(&t.value) => {
            v.error_at(
                t,
                "postgres.backup.recover_to",
                format!("`{}` is not an RFC 3339 time", t.value),
            )
            .hint = Some("e.g. `2026-11-27T10:00:00Z` or `2026-11-27T11:00:00+01:00`".into());
            None
        }
        Some(t) if g < 2 && judged => {
            v.error_at(
                t,
                "postgres.backup.recover_to",
                "`recover_to` needs a `generation` of 2 or more".into(),
            )
            .hint = Some(
                "a recovery creates the next generation: raise `generation` by one with it".into(),
            );
            None
        }
        Some(_) if g < 2 => None,
        Some(t) => Some(t.value.clone()),
    };
    let from = (g >= 2).then(|| archive_name(name, g - 1));
    (g as u32, archive_name(name, g), from, at)
}

/// `YYYY-MM-DDTHH:MM:SS`, optional fraction, then `Z` or `±HH:MM`.
pub fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let shape = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !shape {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    let zone = rest == "Z"
        || (rest.len() == 6
            && (rest.starts_with('+') || rest.starts_with('-'))
            && rest.as_bytes()[3] == b':'
            && rest[1..3]
                .bytes()
                .chain(rest[4..6].bytes())
                .all(|d| d.is_ascii_digit()));
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(99);
    zone && (1..=12).contains(&num(5..7))
        && (1..=31).contains(&num(8..10))
        && num(11..13) < 24
        && num(14..16) < 60
        && num(17..19) < 61
}

fn monitoring(v: &mut Validator, raw: &RawStack) -> Monitoring {
    let m = raw.monitoring.clone().unwrap_or_default();
    let alerts = m.alerts.as_ref().map(|a| {
        let slack_channel = v.required(
            &a.slack_channel,
            "monitoring.alerts.slack_channel",
            "e.g. `slack_channel: \"#alerts\"`",
        );
        if let Some(c) = &a.slack_channel
            && !is_slack_channel(&c.value)
        {
            v.error_at(
                c,
                "monitoring.alerts.slack_channel",
                format!("`{}` is not a Slack channel", c.value),
            )
            .hint = Some(
                "`#` and 1 to 80 lowercase letters, digits, `-` and `_` (Slack's channel names), \
                 quoted: `\"#alerts\"`"
                    .into(),
            );
        }
        let webhook_secret = match &a.webhook_secret {
            Some(s) => {
                check_secret_name(v, s, "monitoring.alerts.webhook_secret");
                s.value.clone()
            }
            None => "SLACK_WEBHOOK_URL".to_string(),
        };
        Alerts {
            slack_channel,
            webhook_secret,
        }
    });
    Monitoring {
        metrics: m.metrics.map(|b| b.value).unwrap_or(true),
        logs: m.logs.map(|b| b.value).unwrap_or(true),
        alerts,
    }
}

/// True for a Slack channel as Slack names them: `#` and 1 to 80 lowercase letters, digits, `-`
/// and `_`. Nothing else: Alertmanager evaluates the channel as a Go template and the README
/// prints it, so `{{`, backticks or markup must not reach either. A `@user` is refused too: an
/// incoming webhook posts to the channel it was created for, not to a person.
pub fn is_slack_channel(c: &str) -> bool {
    c.strip_prefix('#').is_some_and(|n| {
        (1..=80).contains(&n.len())
            && n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    })
}

fn target_settings(v: &mut Validator, raw: &RawStack, target: &dyn Target) -> TargetSettings {
    let block = raw
        .targets
        .as_ref()
        .and_then(|t| t.get(target.id()))
        .map(|b| &b.value);
    let path = format!("targets.{}", target.id());
    let Some(block) = block else {
        v.error(
            None,
            &path,
            format!("target `{}` is not declared in the spec", target.id()),
        )
        .hint = Some(format!(
            "add `targets: {{ {}: {{ ... }} }}`; see `fredgen targets`",
            target.id()
        ));
        return TargetSettings {
            region: None,
            project: None,
            location: None,
            kubernetes: target.supported_kubernetes()[0].to_string(),
            api_allowed_cidrs: vec![],
            settings: Default::default(),
        };
    };
    let kubernetes = match &block.kubernetes {
        None => target.supported_kubernetes()[0].to_string(),
        Some(k) => {
            if !target.supported_kubernetes().contains(&k.value.as_str()) {
                v.error_at(
                    k,
                    &format!("{path}.kubernetes"),
                    format!(
                        "Kubernetes `{}` is not in standard support on {}",
                        k.value,
                        target.id()
                    ),
                )
                .hint = Some(format!(
                    "supported: {}",
                    target.supported_kubernetes().join(", ")
                ));
            }
            k.value.clone()
        }
    };
    let mut cidrs = Vec::new();
    let mut too_wide = false;
    for (i, c) in block.api_allowed_cidrs.iter().flatten().enumerate() {
        if !is_ipv4_cidr(&c.value) {
            v.error_at(
                c,
                &format!("{path}.api_allowed_cidrs[{i}]"),
                format!("`{}` is not an IPv4 CIDR", c.value),
            )
            .hint = Some("e.g. `203.0.113.0/24`".into());
        } else if let Some(canonical) = non_canonical_cidr(&c.value) {
            v.error_at(
                c,
                &format!("{path}.api_allowed_cidrs[{i}]"),
                format!("`{}` has host bits set", c.value),
            )
            .hint = Some(format!(
                "write the network itself, `{canonical}`, or the single address as `/32`"
            ));
        } else if c.value.ends_with("/0") {
            v.error_at(
                c,
                &format!("{path}.api_allowed_cidrs[{i}]"),
                "opening the API endpoint to the whole internet is refused".into(),
            );
        } else {
            cidrs.push(c.value.clone());
            let public = public_addresses(&cidrs);
            if public > MAX_PUBLIC_API_ADDRESSES && !too_wide {
                too_wide = true;
                v.error_at(
                    c,
                    &format!("{path}.api_allowed_cidrs[{i}]"),
                    format!(
                        "with this entry the list opens the API endpoint to {public} public \
                         addresses"
                    ),
                )
                .hint = Some(format!(
                    "at most {MAX_PUBLIC_API_ADDRESSES} public addresses (one /8) may reach the \
                     API, counted over the union of the list less the private ranges; name your \
                     offices, VPN and CI runners, not the internet"
                ));
            }
            continue;
        }
        cidrs.push(c.value.clone());
    }
    target.check_block(v, block, &path);
    TargetSettings {
        region: block.region.as_ref().map(|s| s.value.clone()),
        project: block.project.as_ref().map(|s| s.value.clone()),
        location: block.location.as_ref().map(|s| s.value.clone()),
        kubernetes,
        api_allowed_cidrs: cidrs,
        settings: target.settings(block),
    }
}

/// Refuses `targets:` keys that name no registered target.
fn check_target_ids(v: &mut Validator, raw: &RawStack, targets: &crate::backend::Registry) {
    let ids = targets.ids();
    for (id, block) in raw.targets.iter().flatten() {
        if !ids.contains(&id.as_str()) {
            let close = ids.iter().find(|k| strsim::levenshtein(id, k) <= 2);
            let hint = match close {
                Some(k) => format!("did you mean `{k}`?"),
                None => format!("targets: {}", ids.join(", ")),
            };
            v.error_at(
                block,
                &format!("targets.{id}"),
                format!("unknown target `{id}`"),
            )
            .hint = Some(hint);
        }
    }
}

/// Refuses keys a target does not use (`project` on eks ...).
pub fn refuse_keys(v: &mut Validator, block: &RawTarget, path: &str, allowed: &[&str]) {
    let present = [
        ("region", block.region.as_ref()),
        ("project", block.project.as_ref()),
        ("location", block.location.as_ref()),
    ];
    for (key, value) in present {
        if let Some(value) = value
            && !allowed.contains(&key)
        {
            v.error_at(
                value,
                &format!("{path}.{key}"),
                format!("`{key}` does not apply to this target"),
            )
            .hint = Some(format!("this target takes: {}", allowed.join(", ")));
        }
    }
    let mut known: Vec<&str> = allowed.to_vec();
    known.extend(["kubernetes", "api_allowed_cidrs"]);
    for (key, value) in &block.settings {
        v.error_at(
            value,
            &format!("{path}.{key}"),
            format!("unknown key `{key}` in `{path}`"),
        )
        .hint = Some(crate::spec::suggest(key, &known));
    }
}

/// The most public IPv4 addresses `api_allowed_cidrs` may open the API endpoint to: a /8.
pub const MAX_PUBLIC_API_ADDRESSES: u64 = 1 << 24;

/// How many addresses outside the private and link-local ranges the union of `cidrs` covers:
/// overlapping entries count once, so splitting `/0` into halves (or a /7 into /8s) gains nothing.
pub fn public_addresses(cidrs: &[String]) -> u64 {
    let mut ranges: Vec<(u64, u64)> = cidrs.iter().filter_map(|c| ipv4_range(c)).collect();
    ranges.sort_unstable();
    let mut union: Vec<(u64, u64)> = Vec::new();
    for (start, end) in ranges {
        match union.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => union.push((start, end)),
        }
    }
    let private: Vec<(u64, u64)> = NON_PUBLIC_RANGES
        .iter()
        .filter_map(|c| ipv4_range(c))
        .collect();
    union
        .iter()
        .map(|&(start, end)| {
            let hidden: u64 = private
                .iter()
                .map(|&(ps, pe)| pe.min(end).saturating_sub(ps.max(start)))
                .sum();
            end - start - hidden
        })
        .sum()
}

/// The canonical form of an IPv4 CIDR whose address has host bits set (`203.0.113.5/24` →
/// `203.0.113.0/24`); `None` when it is canonical (or not a CIDR).
fn non_canonical_cidr(cidr: &str) -> Option<String> {
    let (ip, bits) = cidr.split_once('/')?;
    let (start, _) = ipv4_range(cidr)?;
    let network = std::net::Ipv4Addr::from(u32::try_from(start).ok()?);
    (network.to_string() != ip).then(|| format!("{network}/{bits}"))
}

pub(crate) fn is_ipv4_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else {
        return false;
    };
    ip.parse::<std::net::Ipv4Addr>().is_ok() && bits.parse::<u8>().is_ok_and(|b| b <= 32)
}

fn strings(v: &Option<Vec<Sp<String>>>) -> Vec<String> {
    v.iter().flatten().map(|s| s.value.clone()).collect()
}

fn port(v: &mut Validator, p: &Sp<i64>, path: &str) -> u16 {
    match u16::try_from(p.value) {
        Ok(port) if port >= 1 => port,
        _ => {
            v.error_at(
                p,
                path,
                format!("expected a port from 1 to 65535, found {}", p.value),
            );
            8080
        }
    }
}

/// The longest HTTP path: an ALB target group's health check path and a GCE health check's
/// request path both stop at 1024 characters.
pub const MAX_HTTP_PATH: usize = 1024;

/// True for an HTTP path every target's load balancer and prober takes as written: `/`, then
/// letters, digits, `-._~/@:+&=` and `%` escapes. That is what an ALB health check accepts
/// ("a-z, A-Z, 0-9, and @:%_+.~#?&/=", with `-`) less the query and fragment (`?`, `#`), which
/// are not part of a path.
pub fn is_http_path(s: &str) -> bool {
    let b = s.as_bytes();
    let escapes_ok = b.iter().enumerate().all(|(i, &c)| {
        c != b'%'
            || (b.len() > i + 2 && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit())
    });
    s.starts_with('/')
        && s.len() <= MAX_HTTP_PATH
        && escapes_ok
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-._~/@:+&=%".contains(c))
}

fn http_path(v: &mut Validator, p: &Sp<String>, path: &str) -> String {
    if !is_http_path(&p.value) {
        v.error_at(
            p,
            path,
            format!("`{}` is not an absolute HTTP path", p.value),
        )
        .hint = Some(format!(
            "e.g. `/healthz`: `/` then at most {MAX_HTTP_PATH} letters, digits, `-._~/@:+&=` \
             and `%` escapes (what every target's load balancer health check accepts)"
        ));
    }
    p.value.clone()
}

fn metrics(
    v: &mut Validator,
    m: &Option<RawMetrics>,
    path: &str,
    default_port: u16,
) -> Option<Metrics> {
    let m = m.as_ref()?;
    Some(Metrics {
        path: m
            .path
            .as_ref()
            .map(|p| http_path(v, p, &format!("{path}.path")))
            .unwrap_or_else(|| "/metrics".into()),
        port: m
            .port
            .as_ref()
            .map(|p| port(v, p, &format!("{path}.port")))
            .unwrap_or(default_port),
    })
}

/// In a production environment a single replica is an outage on every node drain: the frontend runs
/// at least 2, a worker at least 2 or 0 (scaled from zero by KEDA on its queue).
fn prod_replicas(
    v: &mut Validator,
    raw: &RawStack,
    env: &str,
    frontend: &Frontend,
    workers: &[Worker],
    services: &[Service],
) {
    let min_at = |r: Option<&RawReplicas>| {
        r.and_then(|r| r.min.as_ref())
            .and_then(|m| Pos::from_location(&m.referenced))
    };
    if frontend.replicas.min < 2 {
        let at = min_at(raw.frontend.as_ref().and_then(|f| f.replicas.as_ref()));
        v.error(
            at,
            "frontend.replicas.min",
            format!(
                "the production environment `{env}` runs at least 2 frontend replicas, found {}",
                frontend.replicas.min
            ),
        )
        .hint =
            Some("set `replicas.min: 2` or more; keep smaller values in other environments".into());
    }
    for (i, w) in workers.iter().enumerate() {
        if w.replicas.min == 1 {
            let at = min_at(
                raw.workers
                    .as_ref()
                    .and_then(|ws| ws.get(i))
                    .and_then(|w| w.replicas.as_ref()),
            );
            v.error(
                at,
                &format!("workers[{i}].replicas.min"),
                format!("the production environment `{env}` runs a worker with 0 or at least 2 replicas, found 1"),
            )
            .hint = Some("2 or more keep it available through node drains; 0 lets KEDA scale it from zero on its queue".into());
        }
    }
    for (i, s) in services.iter().enumerate() {
        if s.replicas.min < 2 {
            let at = min_at(
                raw.services
                    .as_ref()
                    .and_then(|ss| ss.get(i))
                    .and_then(|s| s.replicas.as_ref()),
            );
            v.error(
                at,
                &format!("services[{i}].replicas.min"),
                format!(
                    "the production environment `{env}` runs at least 2 replicas of a service, found {}",
                    s.replicas.min
                ),
            )
            .hint = Some(
                "set `replicas.min: 2` or more; keep smaller values in other environments".into(),
            );
        }
    }
}

fn replicas(
    v: &mut Validator,
    r: &Option<RawReplicas>,
    path: &str,
    default: Replicas,
    floor: i64,
) -> Replicas {
    let Some(r) = r else { return default };
    let mut get = |x: &Option<Sp<i64>>, key: &str, d: u32| match x {
        None => d,
        Some(n) if (floor..=1000).contains(&n.value) => n.value as u32,
        Some(n) => {
            v.error_at(
                n,
                &format!("{path}.{key}"),
                format!("expected {floor} to 1000, found {}", n.value),
            );
            d
        }
    };
    let min = get(&r.min, "min", default.min);
    let max = get(&r.max, "max", default.max.max(min));
    if min > max {
        let at = r
            .max
            .as_ref()
            .or(r.min.as_ref())
            .expect("one bound is set when min > max");
        v.error_at(
            at,
            &format!("{path}.max"),
            format!("max ({max}) is below min ({min})"),
        );
    }
    if max == 0 {
        let at = r.max.as_ref().expect("max 0 was written");
        v.error_at(at, &format!("{path}.max"), "max must be at least 1".into());
    }
    Replicas { min, max }
}

/// `*.scaling`: the HPA's CPU target, 10 to 95 percent (below 10 the HPA chases noise, above 95
/// it scales out only once the pods are already throttled).
fn scaling(v: &mut Validator, r: &Option<RawScaling>, path: &str) -> Scaling {
    let Some(cpu) = r.as_ref().and_then(|r| r.cpu.as_ref()) else {
        return Scaling::DEFAULT;
    };
    if (10..=95).contains(&cpu.value) {
        return Scaling {
            cpu: cpu.value as u32,
        };
    }
    v.error_at(
        cpu,
        &format!("{path}.cpu"),
        format!("expected 10 to 95 (percent of the CPU request), found {}", cpu.value),
    )
    .hint = Some("the HPA adds replicas when the average CPU use passes this share of the request; 70 is the default".into());
    Scaling::DEFAULT
}

/// A worker's `scaling`: a consumer is scaled by KEDA on its queue's depth and has no HPA of its
/// own, so a CPU target is refused there rather than read as a second KEDA trigger (which would
/// change what scales it, and a CPU trigger cannot wake a worker scaled to zero).
fn worker_scaling(v: &mut Validator, w: &crate::spec::RawWorker, path: &str) -> Option<Scaling> {
    let scaling = scaling(v, &w.scaling, &format!("{path}.scaling"));
    let Some(queue) = &w.consumes else {
        return Some(scaling);
    };
    if let Some(cpu) = w.scaling.as_ref().and_then(|s| s.cpu.as_ref()) {
        v.error_at(
            cpu,
            &format!("{path}.scaling.cpu"),
            format!(
                "the worker consumes `{}`: KEDA scales it on the queue's depth, not on CPU",
                queue.value
            ),
        )
        .hint = Some(
            "remove `scaling.cpu` and bound it with `replicas`; or remove `consumes` to scale it \
             on CPU with an HPA"
                .into(),
        );
    }
    None
}

/// `*.rollout`: the RollingUpdate steps, each `N` pods or `P%` (0% to 100%), not both zero.
fn rollout(v: &mut Validator, r: &Option<RawRollout>, path: &str) -> Rollout {
    let Some(r) = r else {
        return Rollout::DEFAULT;
    };
    let mut step = |x: &Option<Sp<RawStep>>, key: &str, d: Step| {
        let Some(x) = x else { return d };
        let parsed = match &x.value {
            RawStep::Count(n) => u32::try_from(*n)
                .ok()
                .filter(|n| *n <= 1000)
                .map(Step::Count),
            RawStep::Percent(p) => p
                .strip_suffix('%')
                .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|n| n.parse::<u32>().ok())
                .filter(|n| *n <= 100)
                .map(Step::Percent),
        };
        parsed.unwrap_or_else(|| {
            let found = match &x.value {
                RawStep::Count(n) => n.to_string(),
                RawStep::Percent(p) => format!("`{p}`"),
            };
            v.error_at(
                x,
                &format!("{path}.{key}"),
                format!("expected a number of pods (0 to 1000) or a percentage (0% to 100%), found {found}"),
            )
            .hint = Some("e.g. `1` or `25%`".into());
            d
        })
    };
    let rollout = Rollout {
        max_surge: step(&r.max_surge, "max_surge", Rollout::DEFAULT.max_surge),
        max_unavailable: step(
            &r.max_unavailable,
            "max_unavailable",
            Rollout::DEFAULT.max_unavailable,
        ),
    };
    let written = (r.max_unavailable.as_ref().map(|at| (at, "max_unavailable")))
        .or_else(|| r.max_surge.as_ref().map(|at| (at, "max_surge")));
    if rollout.max_surge.is_zero()
        && rollout.max_unavailable.is_zero()
        && let Some((at, key)) = written
    {
        v.error_at(
            at,
            &format!("{path}.{key}"),
            "max_surge and max_unavailable are both 0: Kubernetes refuses a rollout that may neither add nor remove a pod".into(),
        )
        .hint = Some(
            "let one of them be positive: `max_surge: 1` starts a new pod first, `max_unavailable: 1` replaces pods in place (max_unavailable defaults to 0)"
                .into(),
        );
    }
    rollout
}

/// The node type a container must fit, and whose target it is (for the hint).
struct Node {
    target: &'static str,
    capacity: crate::backend::NodeCapacity,
}

fn resources(v: &mut Validator, r: &Option<RawResources>, path: &str, node: &Node) -> Resources {
    let r = r.clone().unwrap_or_default();
    let cap = node.capacity;
    let cpu = match &r.cpu {
        None => "250m".to_string(),
        Some(c) => {
            match quantity::millicores(&c.value) {
                Some(m) if m >= 1 => request_fits(
                    v,
                    c,
                    &format!("{path}.cpu"),
                    (m, cap.millicores),
                    "CPU",
                    format!("{}m", cap.millicores),
                    node,
                ),
                _ => {
                    v.error_at(
                        c,
                        &format!("{path}.cpu"),
                        format!("`{}` is not a CPU quantity", c.value),
                    )
                    .hint = Some("e.g. `250m`, `0.5` or `1`; at least `1m`".into());
                }
            }
            c.value.clone()
        }
    };
    let memory = match &r.memory {
        None => "256Mi".to_string(),
        Some(m) => {
            match quantity::bytes(&m.value) {
                Some(b) if b >= 16 << 20 => request_fits(
                    v,
                    m,
                    &format!("{path}.memory"),
                    (b, cap.bytes),
                    "memory",
                    format!("{}Mi", cap.bytes >> 20),
                    node,
                ),
                _ => {
                    v.error_at(
                        m,
                        &format!("{path}.memory"),
                        format!("`{}` is not a memory quantity of at least 16Mi", m.value),
                    )
                    .hint = Some("e.g. `256Mi`, `0.5Gi` or `1Gi`".into());
                }
            }
            m.value.clone()
        }
    };
    let millis = quantity::millicores(&cpu).unwrap_or(250);
    let cpu_limit = format!("{}m", millis.saturating_mul(2));
    Resources {
        cpu,
        memory,
        cpu_limit,
    }
}

/// Refuses a request (`asked`, `limit` in one unit) larger than the largest node allocates.
fn request_fits(
    v: &mut Validator,
    at: &Sp<String>,
    path: &str,
    (asked, limit): (u128, u128),
    what: &str,
    shown: String,
    node: &Node,
) {
    if asked > limit {
        v.error_at(
            at,
            path,
            format!(
                "no node on {} can hold a {what} request of `{}`",
                node.target, at.value
            ),
        )
        .hint = Some(format!(
            "the largest node type {} uses here, {}, allocates {shown} of {what} to pods; \
             request less, or split the work over more replicas",
            node.target, node.capacity.node_type
        ));
    }
}

/// FNV-1a: a stable hash for names that must change when their inputs change.
pub(crate) fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A `<n>Gi` quantity of at least `min` GiB; records an error otherwise.
fn quantity_gi(v: &mut Validator, s: &Sp<String>, path: &str, min: u32) -> Option<u32> {
    let gi = s
        .value
        .strip_suffix("Gi")
        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()) && !n.starts_with('0'))
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| (min..=65536).contains(n));
    if gi.is_none() {
        v.error_at(
            s,
            path,
            format!(
                "expected a size in Gi of at least {min}Gi, found `{}`",
                s.value
            ),
        )
        .hint = Some("whole GiB, no sign, e.g. `100Gi`".into());
    }
    gi
}

fn image(v: &mut Validator, img: &Option<Sp<String>>, path: &str) -> String {
    let Some(img) = img else {
        v.missing(
            path,
            "an image reference with an exact tag or digest, e.g. `ghcr.io/acme/app:1.4.2`",
        );
        return String::new();
    };
    if let Some((message, hint)) = image_problem(&img.value) {
        v.error_at(img, path, message).hint = Some(hint);
    }
    img.value.clone()
}

/// Why `s` is not an image reference with an exact tag or digest (the error and its hint);
/// `None` when it is one.
pub(crate) fn image_problem(s: &str) -> Option<(String, String)> {
    let (rest, digest) = match s.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (s, None),
    };
    if let Err(why) = check_image_name(rest) {
        Some((
            format!("`{s}` is not an image reference"),
            format!(
                "{why}; an image reference is `[registry[:port]/]path[:tag][@digest]` with a \
                 lowercase path, e.g. `ghcr.io/acme/app:1.4.2`"
            ),
        ))
    } else if let Some(d) = digest {
        (!is_digest(d)).then(|| {
            (
                format!("`{s}` has an invalid digest"),
                "a digest is `@sha256:` and 64 lowercase hex digits, or `@sha512:` and 128".into(),
            )
        })
    } else if image_tag(rest).is_none_or(|t| t == "latest") {
        Some((
            format!("`{s}` has no exact tag"),
            "pin an exact version (`:1.4.2`) or a digest, so renders and rollouts are reproducible"
                .into(),
        ))
    } else {
        None
    }
}

/// The tag of an image reference without its digest: what follows the first `:` after the last
/// `/` (a `:` before that belongs to the registry's port).
fn image_tag(name: &str) -> Option<&str> {
    let last = name.rfind('/').map_or(0, |i| i + 1);
    name[last..].split_once(':').map(|(_, t)| t)
}

/// Checks an image reference without its digest against the grammar of distribution/reference
/// (the one registries, containerd and Kubernetes parse): `[domain[:port]/]path[:tag]`, where
/// each path component is `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`, a domain is dot-separated
/// `[a-zA-Z0-9]` labels with inner `-` (or a bracketed IPv6 address) and an optional port, a tag is
/// `[\w][\w.-]{0,127}`, and the whole name is at most 255 characters. The reason on failure.
fn check_image_name(reference: &str) -> Result<(), &'static str> {
    let tag = image_tag(reference);
    let name = match tag {
        Some(t) => &reference[..reference.len() - t.len() - 1],
        None => reference,
    };
    if let Some(t) = tag {
        let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let ok = t.len() <= 128
            && t.bytes().next().is_some_and(word)
            && t.bytes().all(|b| word(b) || b == b'.' || b == b'-');
        if !ok {
            return Err(
                "a tag is 1 to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`",
            );
        }
    }
    if name.len() > 255 {
        return Err("the name (registry and path) is longer than 255 characters");
    }
    let parts: Vec<&str> = name.split('/').collect();
    let path = match parts.split_first() {
        Some((first, rest)) if !rest.is_empty() && is_image_domain(first) => rest,
        _ => &parts[..],
    };
    if path.iter().all(|c| is_path_component(c)) {
        Ok(())
    } else {
        Err(
            "each path component is lowercase letters and digits, separated by one `.`, one or \
             two `_` or `-`s, and no component is empty",
        )
    }
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
fn is_path_component(c: &str) -> bool {
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let b = c.as_bytes();
    if !b.first().is_some_and(alnum) || !b.last().is_some_and(alnum) {
        return false;
    }
    b.split(alnum)
        .filter(|sep| !sep.is_empty())
        .all(|sep| matches!(sep, b"." | b"_" | b"__") || sep.iter().all(|&x| x == b'-'))
}

/// A registry: `host[:port]`, the host dot-separated `[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?`
/// labels or a bracketed IPv6 address.
fn is_image_domain(d: &str) -> bool {
    let (host, port) = match d.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') && (h.starts_with('[') == h.ends_with(']')) => {
            (h, Some(p))
        }
        _ => (d, None),
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => host.split('.').all(|l| {
            !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        }),
    };
    port_ok && host_ok
}

/// True for an OCI digest of a registered algorithm: `sha256:` and 64 lowercase hex digits, or
/// `sha512:` and 128 (the OCI image spec's two; registries refuse upper case and other lengths).
fn is_digest(d: &str) -> bool {
    let hex = |h: &str, n: usize| {
        h.len() == n
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    match d.split_once(':') {
        Some(("sha256", h)) => hex(h, 64),
        Some(("sha512", h)) => hex(h, 128),
        _ => false,
    }
}

/// The environment variables fredgen sets in one app container itself (`templates/shared/
/// macros.j2`, macro `env`), with what sets them: a variable of the spec by the same name would be
/// rendered twice, and Kubernetes keeps the last one, so the spec's value would be lost. The
/// database's and the queue's are the process's own names (`postgres: { env: NAME }`), and only
/// for a process that uses them.
pub fn injected_env(database: Option<&str>, queue: Option<&str>) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    if let Some(name) = database {
        out.push((
            name.to_string(),
            "from the database's credentials Secret (`postgres:`), its password never in the spec",
        ));
    }
    if let Some(name) = queue {
        out.push((
            name.to_string(),
            "from RabbitMQ's default-user Secret (`queue:`), its password never in the spec",
        ));
    }
    out.push((POD_NAMESPACE.to_string(), "from the pod's namespace"));
    out
}

/// The variable fredgen sets to the pod's namespace in every app container.
pub const POD_NAMESPACE: &str = "POD_NAMESPACE";

/// The variable a process reads the database URL from unless it names its own.
pub const DEFAULT_DATABASE_ENV: &str = "DATABASE_URL";

/// The variable a process reads the queue URL from unless it names its own.
pub const DEFAULT_QUEUE_ENV: &str = "AMQP_URL";

/// Refuses `name` when fredgen sets it in the container itself.
fn refuse_injected(
    v: &mut Validator,
    pos: Option<Pos>,
    path: &str,
    name: &str,
    injected: &[(String, &str)],
) {
    if let Some((_, from)) = injected.iter().find(|(n, _)| n == name) {
        v.error(
            pos,
            path,
            format!("fredgen sets `{name}` in this app container itself"),
        )
        .hint = Some(format!(
            "it comes {from}; read it as it is, or give yours another name"
        ));
    }
}

/// True for an environment variable name Kubernetes and shells take: letters, digits and `_`,
/// not starting with a digit.
pub(crate) fn is_env_name(key: &str) -> bool {
    !key.is_empty()
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !key.as_bytes()[0].is_ascii_digit()
}

/// One of the stack's shared services a process may use: `postgres` or `queue`.
struct Shared<'s> {
    /// The key, in the stack and in the process.
    key: &'s str,
    /// Whether the stack declares it.
    declared: bool,
    /// The variable the URL is read from by default.
    default_env: &'s str,
}

/// Resolves a process's `postgres:` / `queue:`: the variable it reads the service's URL from, or
/// `None` when it does not use the service. The default: used, when the stack declares it.
fn uses(
    v: &mut Validator,
    raw: &Option<Sp<RawUse>>,
    service: &Shared,
    path: &str,
) -> Option<String> {
    let key = service.key;
    let Some(u) = raw else {
        return service.declared.then(|| service.default_env.to_string());
    };
    let named = match &u.value {
        RawUse::Flag(false) => return None,
        RawUse::Flag(true) | RawUse::With(RawUseEnv { env: None }) => None,
        RawUse::With(RawUseEnv { env: Some(e) }) => Some(e),
    };
    if !service.declared {
        v.error_at(
            u,
            path,
            format!("the stack declares no `{key}` for this process to use"),
        )
        .hint = Some(format!(
            "declare `{key}:` at the top level, or remove this `{key}` (or write `{key}: false`)"
        ));
        return None;
    }
    let Some(e) = named else {
        return Some(service.default_env.to_string());
    };
    let env_path = format!("{path}.env");
    if !is_env_name(&e.value) {
        v.error_at(
            e,
            &env_path,
            format!("`{}` is not a valid environment variable name", e.value),
        )
        .hint =
            Some("letters, digits and `_`, not starting with a digit, e.g. `POSTGRES_URL`".into());
    } else if e.value == POD_NAMESPACE {
        v.error_at(
            e,
            &env_path,
            format!("fredgen sets `{POD_NAMESPACE}` in every app container itself"),
        )
        .hint = Some(format!(
            "it holds the pod's namespace; name the {key} URL otherwise"
        ));
    } else {
        v.refuse_yaml_word(Pos::from_location(&e.referenced), &env_path, &e.value);
    }
    Some(e.value.clone())
}

/// A process's database and queue variables, refused when both have one name.
fn services_of(
    v: &mut Validator,
    raw: &RawStack,
    postgres: &Option<Sp<RawUse>>,
    queue: &Option<Sp<RawUse>>,
    path: &str,
) -> (Option<String>, Option<String>) {
    let db = uses(
        v,
        postgres,
        &Shared {
            key: "postgres",
            declared: raw.postgres.is_some(),
            default_env: DEFAULT_DATABASE_ENV,
        },
        &format!("{path}.postgres"),
    );
    let q = uses(
        v,
        queue,
        &Shared {
            key: "queue",
            declared: raw.queue.is_some(),
            default_env: DEFAULT_QUEUE_ENV,
        },
        &format!("{path}.queue"),
    );
    if let (Some(d), Some(qn)) = (&db, &q)
        && d == qn
    {
        // The defaults differ, so one of the two names it.
        let named = |u: &Option<Sp<RawUse>>| match u.as_ref().map(|u| &u.value) {
            Some(RawUse::With(RawUseEnv { env: Some(e) })) => Some(e.clone()),
            _ => None,
        };
        let at = named(queue)
            .map(|e| (e, "queue"))
            .or_else(|| named(postgres).map(|e| (e, "postgres")));
        if let Some((e, what)) = at {
            v.error_at(
                &e,
                &format!("{path}.{what}.env"),
                format!("`{d}` would hold both the database's and the queue's URL"),
            )
            .hint = Some("give `postgres` and `queue` different variable names".into());
        }
    }
    (db, q)
}

/// Resolves `egress`: whether the process may reach public addresses on 443, and its `host:port`
/// destinations.
fn egress(v: &mut Validator, raw: &Option<Sp<RawEgress>>, path: &str) -> (bool, Vec<Destination>) {
    let Some(e) = raw else {
        return (false, Vec::new());
    };
    let items = match &e.value {
        RawEgress::Word(w) if w == "none" => return (false, Vec::new()),
        RawEgress::Word(w) if w == "internet" => return (true, Vec::new()),
        RawEgress::Word(w) => {
            v.error_at(
                e,
                path,
                format!("expected `none`, `internet` or a list of `host:port`, found `{w}`"),
            )
            .hint = Some(
                "e.g. `egress: internet` (HTTPS to public addresses) or \
                 `egress: [api.stripe.com:443, 203.0.113.7:5432]`"
                    .into(),
            );
            return (false, Vec::new());
        }
        RawEgress::List(items) => items,
    };
    let mut out: Vec<Destination> = Vec::new();
    let mut seen: BTreeMap<(String, u16), usize> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let item_path = format!("{path}[{i}]");
        match destination(&item.value) {
            Ok(d) => {
                let key = (d.cidr.clone().unwrap_or_else(|| d.entry.clone()), d.port);
                if let Some(first) = seen.insert(key, i) {
                    v.error_at(
                        item,
                        &item_path,
                        format!("duplicate egress destination `{}`", item.value),
                    )
                    .hint = Some(format!("`{path}[{first}]` already opens it"));
                } else {
                    out.push(d);
                }
            }
            Err((message, hint)) => {
                v.error_at(item, &item_path, message).hint = Some(hint);
            }
        }
    }
    (false, out)
}

/// One `host:port` egress entry, or why it is refused (message, hint).
pub(crate) fn destination(entry: &str) -> Result<Destination, (String, String)> {
    let example = "write `host:port`, e.g. `api.stripe.com:443` or `203.0.113.7:5432`";
    let Some((host, port)) = entry.rsplit_once(':') else {
        return Err((format!("`{entry}` is not `host:port`"), example.into()));
    };
    if host.contains(':') || host.starts_with('[') {
        return Err((
            format!("`{entry}` is not `host:port` with an IPv4 address or a DNS name"),
            "IPv6 destinations are not supported: the clusters' pods reach the internet over IPv4"
                .into(),
        ));
    }
    let port = match port.parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) => p as u16,
        Ok(_) => {
            return Err((
                format!("port `{port}` of `{entry}` is outside 1-65535"),
                example.into(),
            ));
        }
        Err(_) => {
            return Err((
                format!("`{port}` in `{entry}` is not a port number"),
                example.into(),
            ));
        }
    };
    let cidr = if host.contains('/') {
        if !is_ipv4_cidr(host) {
            return Err((format!("`{host}` is not an IPv4 CIDR"), example.into()));
        }
        if let Some(canonical) = non_canonical_cidr(host) {
            return Err((
                format!("`{host}` has host bits set"),
                format!("the block is `{canonical}`"),
            ));
        }
        Some(host.to_string())
    } else if let Ok(ip) = host.parse::<std::net::Ipv4Addr>() {
        Some(format!("{ip}/32"))
    } else if is_ip_address(host) || !is_hostname(host) {
        return Err((
            format!("`{host}` is not an IPv4 address, an IPv4 CIDR or a DNS name"),
            "a DNS name is lowercase letters, digits, `-` and dots, e.g. `api.stripe.com`".into(),
        ));
    } else {
        let tld = host.rsplit('.').next().unwrap_or(host);
        let why = non_public_domain(host)
            .or_else(|| (tld == "svc").then(|| "is an in-cluster service name".to_string()));
        if let Some(why) = why {
            return Err((
                format!("`{host}` {why}"),
                "a NetworkPolicy matches addresses, not names: a DNS name's port is opened to \
                 public addresses only, so a private or in-cluster name would stay unreachable"
                    .into(),
            ));
        }
        None
    };
    if let Some(c) = &cidr
        && let Some((start, end)) = ipv4_range(c)
        && let Some(private) = NON_PUBLIC_RANGES
            .iter()
            .find(|r| ipv4_range(r).is_some_and(|(rs, re)| start < re && rs < end))
    {
        return Err((
            format!("`{host}` reaches non-public addresses (it overlaps `{private}`)"),
            "egress opens public addresses only: private ranges hold the cluster's nodes, pods \
                 and services and other tenants' pods; `egress: internet` opens every public address \
                 on 443"
                .into(),
        ));
    }
    Ok(Destination {
        entry: entry.to_string(),
        port,
        cidr,
    })
}

fn env_vars(
    v: &mut Validator,
    env: &Option<BTreeMap<String, Sp<String>>>,
    secrets: &Option<Vec<Sp<String>>>,
    path: &str,
    injected: &[(String, &str)],
) -> Vec<EnvVar> {
    let mut out = Vec::new();
    let secrets: BTreeSet<&str> = secrets.iter().flatten().map(|s| s.value.as_str()).collect();
    for (key, value) in env.iter().flatten() {
        let key_path = format!("{path}.{key}");
        v.refuse_yaml_word(None, &key_path, key);
        if secrets.contains(key.as_str()) {
            v.error(
                None,
                &key_path,
                format!("`{key}` is set in `env` and also listed under `secrets`"),
            )
            .hint = Some("keep one: a literal in `env`, or a secret from the store".into());
        }
        if !is_env_name(key) {
            v.error_at(
                value,
                &key_path,
                format!("`{key}` is not a valid environment variable name"),
            );
        }
        refuse_injected(
            v,
            Pos::from_location(&value.referenced),
            &key_path,
            key,
            injected,
        );
        let is_injected = injected.iter().any(|(n, _)| n == key);
        super::secret_shapes::check_env(v, key, value, &key_path, is_injected);
        out.push(EnvVar {
            name: key.clone(),
            value: value.value.clone(),
        });
    }
    EnvVar::in_reference_order(out)
}

/// True for a secret name fredgen takes (a YAML word aside).
pub fn is_secret_name(name: &str) -> bool {
    secret_name_problem(name).is_none()
}

pub(crate) fn check_secret_name(v: &mut Validator, s: &Sp<String>, path: &str) {
    v.refuse_yaml_word(Pos::from_location(&s.referenced), path, &s.value);
    if let Some(hint) = secret_name_problem(&s.value) {
        v.error_at(s, path, format!("`{}` is not a secret name", s.value))
            .hint = Some(hint.into());
    }
}

/// Why `name` is not a secret name, if it is not.
fn secret_name_problem(name: &str) -> Option<&'static str> {
    let chars_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    let hint = if !chars_ok {
        "secret names are environment variable names: UPPER_CASE letters, digits and `_`, not \
         starting with a digit"
    } else if name.len() > MAX_SECRET_NAME {
        "secret names are at most 64 characters"
    } else if name.starts_with('_') || name.ends_with('_') {
        "a secret name starts and ends with a letter or digit: it also names a Kubernetes Secret \
         (`_` becomes `-`), which cannot start or end with `-`"
    } else {
        return None;
    };
    Some(hint)
}

/// The longest secret name.
pub const MAX_SECRET_NAME: usize = 64;

fn secret_names(
    v: &mut Validator,
    secrets: &Option<Vec<Sp<String>>>,
    path: &str,
    injected: &[(String, &str)],
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for (i, s) in secrets.iter().flatten().enumerate() {
        check_secret_name(v, s, &format!("{path}[{i}]"));
        refuse_injected(
            v,
            Pos::from_location(&s.referenced),
            &format!("{path}[{i}]"),
            &s.value,
            injected,
        );
        if !seen.insert(s.value.as_str()) {
            v.error_at(
                s,
                &format!("{path}[{i}]"),
                format!("duplicate secret `{}`", s.value),
            );
        }
        out.push(s.value.clone());
    }
    out
}

/// Why a process (worker or service) may not have this name: its objects, named
/// `<stack>-<name>` (and `<stack>-<name>-egress`), would collide with objects fredgen names the
/// same way. `None` when it may.
pub fn reserved_process_name(name: &str) -> Option<&'static str> {
    const OWN: &[(&str, &str)] = &[
        ("web", "the frontend"),
        ("db", "the PostgreSQL cluster and its ServiceAccount"),
        ("rabbitmq", "the RabbitMQ cluster"),
        ("alerts", "the alert rules"),
        ("daily", "the backup schedule"),
        ("objects", "the object storage Secret"),
        ("object-storage", "the object storage Secret"),
        ("app-secrets", "the app's Secret"),
        ("secrets", "the secret store"),
    ];
    const PREFIXES: &[(&str, &str)] = &[
        ("db-", "the PostgreSQL cluster's objects"),
        ("rabbitmq-", "the RabbitMQ cluster's objects"),
        ("dashboard-", "the Grafana dashboards"),
        ("migrate-", "the migration Job"),
        ("web-", "the frontend's objects"),
    ];
    const SUFFIXES: &[(&str, &str)] = &[
        ("-egress", "a process's egress NetworkPolicy"),
        ("-ingress", "a process's ingress NetworkPolicy"),
        ("-keda", "a queue's KEDA trigger"),
        ("-calls", "a process's NetworkPolicy for its calls"),
        ("-callers", "a service's NetworkPolicy for its callers"),
    ];
    OWN.iter()
        .find(|(n, _)| *n == name)
        .or_else(|| PREFIXES.iter().find(|(p, _)| name.starts_with(p)))
        .or_else(|| SUFFIXES.iter().find(|(s, _)| name.ends_with(s)))
        .map(|(_, why)| *why)
}

/// A DNS-1123 subdomain: at most 253 characters, dot-separated labels of lowercase letters,
/// digits and `-`, each starting and ending with a letter or digit.
pub fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn recovery_times_are_rfc_3339() {
        for ok in [
            "2026-11-27T10:00:00Z",
            "2026-11-27T10:00:00.25Z",
            "2026-11-27T11:00:00+01:00",
            "2026-02-28T23:59:59-05:30",
        ] {
            assert!(super::is_rfc3339(ok), "{ok}");
        }
        for bad in [
            "2026-11-27 10:00:00Z",
            "2026-11-27T10:00:00",
            "2026-13-01T10:00:00Z",
            "2026-11-27T24:00:00Z",
            "2026-11-27T10:00:00.Z",
            "2026-11-27T10:00:00+0100",
            "27.11.2026 10:00",
            "",
        ] {
            assert!(!super::is_rfc3339(bad), "{bad}");
        }
    }

    use super::*;

    #[test]
    fn dns_labels() {
        assert!(is_dns_label("fred", MAX_NAME));
        assert!(is_dns_label("a1-b2", MAX_NAME));
        for bad in [
            "",
            "Fred",
            "-a",
            "a-",
            "1abc",
            "a_b",
            "a.b",
            "abcdefghijklmnopqrstu",
        ] {
            assert!(!is_dns_label(bad, MAX_NAME), "{bad}");
        }
    }

    #[test]
    fn hostnames_and_cidrs() {
        assert!(is_hostname("fred.example.com"));
        assert!(
            !is_hostname("fred") && !is_hostname("-a.example.com") && !is_hostname("A.example.com")
        );
        assert!(
            is_ipv4_cidr("10.0.0.0/8") && !is_ipv4_cidr("10.0.0.0/33") && !is_ipv4_cidr("10.0.0/8")
        );
    }
}

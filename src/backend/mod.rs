//! Stage 3 — target backends: the [`Target`] trait and the one registry of targets (compiled in, or
//! defined by a folder).
//!
//! A backend knows one platform: which Kubernetes and PostgreSQL versions it supports, what its
//! `targets.<id>` block needs, the knobs its shared templates read ([`Platform`]) and its version
//! pins. Its Terraform, Helm values and platform manifests are templates with ids below `<id>/`.
//! A built-in target is a module here with its templates in `templates/<id>/`; a target can also
//! be a folder ([`folder`]): a manifest, a platform template and its templates, loaded at run
//! time, from `targets/` in this repository (embedded) or from a user's folder.

pub mod eks;
pub mod folder;
pub mod gke;
pub mod hetzner;

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::model::Stack;
use crate::model::validate::Validator;
use crate::render::{self, Output, Platform, TemplateContext};
use crate::spec::RawTarget;

/// One platform fredgen renders for.
pub trait Target: Sync {
    /// The id used on the command line and in `targets:`.
    fn id(&self) -> &'static str;
    /// One line for `fredgen targets`.
    fn describe(&self) -> &'static str;
    /// Kubernetes minor versions in standard support, newest first; the first is the default.
    fn supported_kubernetes(&self) -> &'static [&'static str];
    /// PostgreSQL majors with the exact CloudNativePG image, default first.
    fn supported_postgres(&self) -> &'static [(&'static str, &'static str)] {
        crate::versions::POSTGRES_IMAGES
    }
    /// Whether the platform has a managed PostgreSQL fredgen uses by default.
    fn has_managed_postgres(&self) -> bool;
    /// Checks the `targets.<id>` block beyond the shared keys.
    fn check_block(&self, v: &mut Validator, block: &RawTarget, path: &str);
    /// The largest node the app's pods can be scheduled on in `env`: a container whose requests
    /// exceed its allocatable CPU or memory would stay pending forever.
    fn largest_node(&self, env: &str) -> NodeCapacity;
    /// Checks the whole stack against this platform's limits (after the shared validation).
    fn check_stack(&self, _v: &mut Validator, _stack: &Stack) {}

    /// Why this platform's CI jobs cannot run on a GitHub-hosted runner (its cluster API or its
    /// nodes are reachable only from chosen networks), so `delivery.github.runs_on` must name
    /// runners that can; `None` where a hosted runner reaches everything.
    fn needs_own_runner(&self) -> Option<&'static str> {
        None
    }
    /// The knobs shared templates read.
    fn platform(&self, stack: &Stack) -> Result<Platform>;
    /// A folder target's own keys of the `targets.<id>` block, each with its value or default
    /// (after [`Target::check_block`]); none for a built-in target.
    fn settings(&self, _block: &RawTarget) -> BTreeMap<String, serde_json::Value> {
        BTreeMap::new()
    }
    /// A folder target's templates, by path below its `templates/`; none for one compiled in.
    fn folder_templates(&self) -> Option<&BTreeMap<String, std::borrow::Cow<'static, str>>> {
        None
    }
    /// Where the target comes from, for `fredgen targets`: `None` for one compiled in.
    fn source(&self) -> Option<&str> {
        None
    }
    /// Settings two environments of one spec must not share on this platform, as (key path under
    /// `targets.<id>`, value, why): e.g. a GKE project, whose Workload Identity pool every
    /// cluster in it shares.
    fn per_environment(&self, _stack: &Stack) -> Vec<(&'static str, String, &'static str)> {
        Vec::new()
    }
    /// This target's version pins (merged over the shared ones).
    fn versions(&self) -> &'static [(&'static str, &'static str)];
    /// The keys of its `targets.<id>` block beyond the shared ones, as the spec's JSON Schema
    /// describes them: the keys [`Target::check_block`] reads, with what it checks them against.
    fn block_keys(&self) -> Vec<BlockKey> {
        Vec::new()
    }
}

/// One key of a target's `targets.<id>` block, for the spec's JSON Schema.
#[derive(Debug, Clone)]
pub struct BlockKey {
    /// The key.
    pub name: String,
    /// Whether a complete spec must set it.
    pub required: bool,
    /// What it is, in a few words.
    pub description: &'static str,
    /// What it takes.
    pub values: KeyValues,
}

/// What a [`BlockKey`] takes.
#[derive(Debug, Clone)]
pub enum KeyValues {
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// Text that matches this pattern.
    Pattern(&'static str),
    /// What this schema describes (a folder target's typed key).
    Schema(serde_json::Value),
}

impl BlockKey {
    /// A key of a compiled target.
    pub fn new(name: &str, required: bool, description: &'static str, values: KeyValues) -> Self {
        BlockKey {
            name: name.to_string(),
            required,
            description,
            values,
        }
    }
}

/// What one node type offers pods: its allocatable CPU and memory (capacity less what the
/// kubelet, the system and eviction reserve).
#[derive(Debug, Clone, Copy)]
pub struct NodeCapacity {
    /// The node type, as the platform names it, e.g. `e2-standard-4`.
    pub node_type: &'static str,
    /// Allocatable CPU in millicores.
    pub millicores: u128,
    /// Allocatable memory in bytes.
    pub bytes: u128,
}

/// Stands for an AWS account id (12 digits) in a [`CloudName`].
pub const ACCOUNT_ID: &str = "<account-id>";

/// A cloud resource name a backend's templates build from spec values, at its longest.
pub struct CloudName {
    /// What it names, e.g. `S3 bucket`.
    pub kind: &'static str,
    /// The name as the templates build it ([`ACCOUNT_ID`] where the account id goes).
    pub name: String,
    /// The shortest and longest name the platform takes.
    pub len: std::ops::RangeInclusive<usize>,
    /// The spec values it is built from, for the hint.
    pub from: &'static str,
}

impl CloudName {
    /// A name of `kind`, `name`, limited to `len`, built from `from`.
    pub fn new(
        kind: &'static str,
        name: String,
        len: std::ops::RangeInclusive<usize>,
        from: &'static str,
    ) -> Self {
        CloudName {
            kind,
            name,
            len,
            from,
        }
    }

    /// Its length once rendered: an account id is 12 digits.
    pub fn rendered_len(&self) -> usize {
        self.name.replace(ACCOUNT_ID, "123456789012").len()
    }
}

/// Refuses every name of `names` outside its platform's limits, with the name, its length, the
/// limit and which spec values to shorten. Skipped while the stack name itself is refused: that
/// error already asks for a shorter one.
pub fn check_cloud_names(v: &mut Validator, stack: &Stack, names: &[CloudName]) {
    if !crate::model::validate::is_dns_label(&stack.name, crate::model::validate::MAX_NAME) {
        return;
    }
    for n in names {
        let len = n.rendered_len();
        if n.len.contains(&len) {
            continue;
        }
        let (min, max) = (n.len.start(), n.len.end());
        let bound = if len > *max {
            format!("over the limit of {max}")
        } else {
            format!("under the minimum of {min}")
        };
        v.error(
            None,
            "name",
            format!(
                "the {} `{}` would be {len} characters, {bound}",
                n.kind, n.name
            ),
        )
        .hint = Some(format!(
            "{}s are {min} to {max} characters; fredgen builds this one from {}: {} `name` (`{}`){}",
            n.kind,
            n.from,
            if len > *max { "shorten" } else { "lengthen" },
            stack.name,
            if stack.prefix == stack.name {
                String::new()
            } else {
                format!(" or the environment's name (`{}`)", stack.env)
            }
        ));
    }
}

/// The targets compiled in, in the order `fredgen targets` lists them.
pub(crate) static COMPILED: &[&dyn Target] = &[&eks::Eks, &gke::Gke, &hetzner::Hetzner];

/// The targets one run knows: those compiled in, the folder targets shipped in `targets/`, and
/// the folder targets a user added (`--target-dir`, `target_folders:`).
#[derive(Clone)]
pub struct Registry {
    targets: Vec<&'static dyn Target>,
}

impl Registry {
    /// The built-in targets: those compiled in and the folder targets shipped in `targets/`.
    pub fn builtin() -> &'static Registry {
        static REGISTRY: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
        REGISTRY.get_or_init(|| {
            let mut targets = COMPILED.to_vec();
            targets.extend(folder::builtin().iter().map(|t| t as &dyn Target));
            Registry { targets }
        })
    }

    /// The built-in targets and the folder targets in `dirs` (as (path, how to show it)).
    pub fn with_folders(dirs: &[(std::path::PathBuf, String)]) -> Result<Registry> {
        let mut registry = Registry::builtin().clone();
        // A folder named twice (by the spec and a flag) is loaded once.
        let mut seen: Vec<(std::path::PathBuf, String)> = Vec::new();
        for (dir, shown) in dirs {
            let real = dir.canonicalize().unwrap_or_else(|_| dir.clone());
            if seen.iter().any(|(r, _)| *r == real) {
                continue;
            }
            let t: &'static folder::FolderTarget = Box::leak(Box::new(folder::load(dir, shown)?));
            if let Some(other) = registry.targets.iter().find(|k| k.id() == t.id()) {
                return Err(Error::usage(
                    format!(
                        "the folder target `{shown}` has the id `{}`, which is already the id of {}",
                        t.id(),
                        match other.source() {
                            Some(dir) => format!("the folder target `{dir}`"),
                            None => "a target shipped with fredgen".to_string(),
                        }
                    ),
                    "give it another `id` in its target.yaml",
                ));
            }
            seen.push((real, shown.clone()));
            registry.targets.push(t);
        }
        Ok(registry)
    }

    /// Every target, in listing order.
    pub fn all(&self) -> &[&'static dyn Target] {
        &self.targets
    }

    /// Every target's id.
    pub fn ids(&self) -> Vec<&'static str> {
        self.targets.iter().map(|t| t.id()).collect()
    }

    /// Looks a target up by id.
    pub fn find(&self, id: &str) -> Result<&'static dyn Target> {
        self.targets
            .iter()
            .copied()
            .find(|t| t.id() == id)
            .ok_or_else(|| {
                let ids = self.ids();
                Error::usage(
                    format!("unknown target `{id}`"),
                    crate::spec::did_you_mean(
                        id,
                        &ids,
                        format!("available targets: {}", ids.join(", ")),
                    ),
                )
            })
    }
}

/// Refuses more public hosts than the target's load balancer serves certificates for (`limit`
/// says whose limit),
/// at the first route of each host over it.
pub fn check_host_count(v: &mut Validator, stack: &Stack, max: usize, limit: &str) {
    for (i, h) in stack.hosts.iter().enumerate().skip(max) {
        let Some(first) = h.routes.iter().min_by_key(|r| r.at) else {
            continue;
        };
        v.error(
            first.at,
            &first.spec_path,
            format!(
                "`{}` is public host {} of the stack; {limit}",
                h.name,
                i + 1
            ),
        )
        .hint = Some(format!(
            "every public host needs its certificate on the load balancer: at most {max} on \
             this target; serve several paths on one host instead"
        ));
    }
}

/// `[namespace]` when the stack's DNS is Cloudflare (the namespace that reads its API token), else
/// none: for [`Platform::cloudflare_token_namespaces`].
pub fn cloudflare_namespaces(stack: &Stack, namespace: &str) -> Vec<String> {
    stack
        .dns
        .cloudflare
        .iter()
        .map(|_| namespace.to_string())
        .collect()
}

/// Every route that names its methods, for a target that cannot match methods or limits them.
pub fn method_routes(stack: &Stack) -> impl Iterator<Item = &crate::model::Route> {
    stack
        .hosts
        .iter()
        .flat_map(|h| &h.routes)
        .filter(|r| !r.methods.is_empty())
}

/// Looks a built-in target up by id.
pub fn find(id: &str) -> Result<&'static dyn Target> {
    Registry::builtin().find(id)
}

/// Renders `stack` for `target` with the built-in templates.
pub fn render(
    target: &dyn Target,
    stack: &Stack,
    provenance: &render::Provenance,
) -> Result<Output> {
    render_with(target, stack, provenance, &render::Engine::Builtin, &[])
}

/// Renders `stack` for `target` with `engine`'s templates.
pub fn render_with(
    target: &dyn Target,
    stack: &Stack,
    provenance: &render::Provenance,
    engine: &render::Engine,
    overrides: &[crate::overrides::Override],
) -> Result<Output> {
    let versions: BTreeMap<&'static str, &'static str> = crate::versions::SHARED
        .iter()
        .chain(target.versions())
        .copied()
        .collect();
    let platform = target.platform(stack)?;
    let flows = render::flows::flows(stack, &platform);
    let ctx = TemplateContext {
        target_id: target.id(),
        env: &stack.env,
        spec_file: &provenance.spec_file,
        provenance,
        stack,
        target: BTreeMap::from([(target.id(), &stack.target)]),
        versions: &versions,
        platform: &platform,
        network_policies: render::flows::policies_yaml(&render::flows::policies(stack, &flows))
            .map_err(|message| Error::Template {
                template: "shared/k8s/network-policies.yaml.j2".into(),
                message,
            })?,
        ci: crate::model::delivery::CiAccess::of(stack),
    };
    let mut out = render::render_target(&ctx, engine, overrides)?;
    out.flows = flows;
    Ok(out)
}

//! Stage 4 — Argo CD delivery (`delivery.argocd`): the files that let Argo CD apply the app layer
//! from the repository instead of apply.sh's `kubectl` steps.
//!
//! Rendered after the spec's overrides (so the Applications see every manifest `k8s/` holds):
//!
//! - `k8s/platform/argocd-repository.yaml`: the repository's deploy key, from the platform's
//!   secret store, as the Secret Argo CD reads repositories from;
//! - `k8s/migrate/kustomization.yaml`: the migration Job as a kustomization Argo CD can build;
//! - `argocd/app/kustomization.yaml`: `k8s/` and `k8s/migrate/` with the sync waves
//!   ([`WAVES`]) and sync options added by kind, so `kubectl apply -k k8s/` is unchanged;
//! - `argocd/apps/<prefix>.yaml`: the app's Application (automated sync, prune, self-heal);
//! - `argocd/root.yaml`: the AppProjects (the `default` one emptied) and the root Application
//!   over `argocd/apps/`, applied by apply.sh's step `argocd`, not by Argo CD.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::context::{SecretRef, TemplateContext};
use super::parse_back::{self, yaml_documents};
use super::{Engine, KUSTOMIZATION, KustomizationContext, header};
use crate::error::Result;
use crate::model::delivery::ARGOCD_REPOSITORY_SECRET;

/// The namespace Argo CD runs in (created by the platform root).
pub const NAMESPACE: &str = "argocd";

/// The sync wave of each kind the app layer holds; a kind not listed syncs in wave 0, with the
/// workloads. Each wave starts once every object of the waves before it is healthy: the namespace
/// and the cluster's certificate issuer (healthy once its ACME account is registered), then what
/// pods read (ServiceAccounts, ConfigMaps, the limits and policies that admit them, a namespaced
/// Issuer), then the Secrets (ExternalSecrets are healthy once synced), the backup store the
/// database archives to, the database and the queue (healthy once ready, which creates their
/// credentials' Secrets), then the migration Job (wave [`MIGRATE_WAVE`]), then the workloads and
/// everything else. A Certificate is in wave 0: it needs its issuer, and an HTTP-01 challenge
/// needs the public DNS record and the load balancer, which must not hold back the database, the
/// queue or the migration. `tests/integration/argocd.rs` checks it against what each object uses.
pub const WAVES: &[(&str, i32)] = &[
    ("Namespace", -6),
    ("ClusterIssuer", -6),
    ("ServiceAccount", -5),
    ("ConfigMap", -5),
    ("LimitRange", -5),
    ("ResourceQuota", -5),
    ("NetworkPolicy", -5),
    ("Role", -5),
    ("RoleBinding", -5),
    ("Issuer", -5),
    ("ExternalSecret", -4),
    ("Secret", -4),
    ("ObjectStore", -3),
    ("Cluster", -2),
    ("RabbitmqCluster", -2),
    ("Certificate", 0),
];

/// The migration Job's wave: a `Sync` hook after the database and the queue, before the
/// workloads (its manifest already says so for Argo CD).
pub const MIGRATE_WAVE: i32 = -1;

/// Kinds Argo CD never prunes or deletes with the Application: those the app step of apply.sh
/// never prunes ([`super::NEVER_PRUNED`]), and the ExternalSecrets, which own the app's Secrets
/// (`creationPolicy: Owner`): pruning one would delete its Secret with it. Removed from the spec,
/// such an object stays in the cluster, ignored by the Application's sync status
/// (`IgnoreExtraneous`), until it is deleted by hand.
pub const KEEP: &[&str] = &[
    "Namespace",
    "Secret",
    "ExternalSecret",
    "Cluster",
    "RabbitmqCluster",
    "ObjectStore",
    "ClusterIssuer",
];

/// One kind's sync wave.
#[derive(Debug, Serialize)]
pub struct Wave {
    /// The kind.
    pub kind: &'static str,
    /// Its wave, as the annotation's text.
    pub wave: String,
}

/// A kind the app's AppProject admits.
#[derive(Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct GroupKind {
    /// API group (`""` for the core group).
    pub group: String,
    /// Kind.
    pub kind: String,
}

/// A cluster-scoped object the app's AppProject admits, by name: the project may write that one
/// object of its kind, never another (another tenant's Namespace, a shared ClusterIssuer).
#[derive(Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClusterObject {
    /// API group (`""` for the core group).
    pub group: String,
    /// Kind.
    pub kind: String,
    /// The object's name.
    pub name: String,
}

/// The context of the `shared/argocd/*.j2` templates.
#[derive(Debug, Serialize)]
pub struct ArgoContext {
    /// The Applications' and AppProjects' base name: the stack's prefix.
    pub name: String,
    /// Argo CD's namespace.
    pub namespace: &'static str,
    /// The stack (for labels).
    pub part_of: String,
    /// The repository's SSH URL (its deploy key reads it).
    pub repo_url: String,
    /// The branch Argo CD follows.
    pub branch: String,
    /// The output directory in the repository (`<folder>/deploy/<target>[/<env>]`).
    pub out_dir: String,
    /// Namespaces the app layer's objects live in: the AppProject's destinations.
    pub destinations: Vec<String>,
    /// Cluster-scoped objects the app layer holds, by name.
    pub cluster_kinds: Vec<ClusterObject>,
    /// Namespaced kinds the app layer holds.
    pub namespace_kinds: Vec<GroupKind>,
    /// The app's namespace (the Application's default destination).
    pub app_namespace: String,
    /// Sync waves by kind.
    pub waves: Vec<Wave>,
    /// Kinds never pruned.
    pub keep: &'static [&'static str],
    /// The migration Job's name, when the stack migrates.
    pub migrate_job: Option<String>,
    /// Its wave.
    pub migrate_wave: String,
    /// The ClusterSecretStore.
    pub store: String,
    /// Where the deploy key is in the store.
    pub key_ref: SecretRef,
}

/// The repository's SSH URL: a deploy key reads a GitHub repository over SSH only.
pub fn repo_url(repository: &str) -> String {
    format!("git@github.com:{repository}.git")
}

/// The output directory's path in the repository: the default `deploy/<target>[/<env>]` below
/// the spec's folder.
pub fn out_dir(folder: &str, target: &str, stack: &crate::model::Stack) -> String {
    let mut p = String::new();
    if !folder.is_empty() {
        p.push_str(folder);
        p.push('/');
    }
    p.push_str("deploy/");
    p.push_str(target);
    // The prefix carries the environment exactly when the spec declares environments.
    if stack.prefix != stack.name {
        p.push('/');
        p.push_str(&stack.env);
    }
    p
}

/// Whether `ctx`'s stack is delivered by Argo CD.
pub fn enabled(ctx: &TemplateContext) -> bool {
    ctx.stack.delivery.as_ref().is_some_and(|d| d.argocd)
}

/// Adds the Argo CD files to `files` (nothing unless `delivery.argocd`).
pub fn render(
    ctx: &TemplateContext,
    engine: &Engine,
    files: &mut BTreeMap<String, String>,
) -> Result<()> {
    let Some(d) = ctx.stack.delivery.as_ref().filter(|d| d.argocd) else {
        return Ok(());
    };
    let migrate = files.contains_key("k8s/migrate/migrate.yaml");
    // The app layer's objects: the top-level manifests of k8s/ and the migration Job.
    let mut destinations = BTreeSet::new();
    let mut cluster_kinds = BTreeSet::new();
    let mut namespace_kinds = BTreeSet::new();
    for (path, text) in files.iter().filter(|(p, _)| app_layer(p)) {
        for doc in yaml_documents(text)
            .map_err(|e| super::template_error(path, e))?
            .into_iter()
            .filter(serde_json::Value::is_object)
        {
            let api = doc["apiVersion"].as_str().unwrap_or_default();
            let group_kind = GroupKind {
                group: api.rsplit_once('/').map_or("", |(g, _)| g).to_string(),
                kind: doc["kind"].as_str().unwrap_or_default().to_string(),
            };
            match doc["metadata"]["namespace"].as_str() {
                Some(ns) => {
                    destinations.insert(ns.to_string());
                    namespace_kinds.insert(group_kind);
                }
                None => {
                    let name = doc["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    if group_kind.kind == "Namespace" {
                        destinations.insert(name.clone());
                    }
                    cluster_kinds.insert(ClusterObject {
                        group: group_kind.group,
                        kind: group_kind.kind,
                        name,
                    });
                }
            }
        }
    }
    let actx = ArgoContext {
        name: ctx.stack.prefix.clone(),
        namespace: NAMESPACE,
        part_of: ctx.stack.name.clone(),
        repo_url: repo_url(&d.repository),
        branch: d.branch.clone(),
        out_dir: out_dir(&d.folder, ctx.target_id, ctx.stack),
        destinations: destinations.into_iter().collect(),
        cluster_kinds: cluster_kinds.into_iter().collect(),
        namespace_kinds: namespace_kinds.into_iter().collect(),
        app_namespace: ctx.stack.namespace.clone(),
        waves: WAVES
            .iter()
            .map(|(kind, wave)| Wave {
                kind,
                wave: wave.to_string(),
            })
            .collect(),
        keep: KEEP,
        migrate_job: migrate.then(|| ctx.stack.frontend.migrate_job.clone()),
        migrate_wave: MIGRATE_WAVE.to_string(),
        store: ctx.stack.name.clone(),
        key_ref: ctx
            .platform
            .secret_refs
            .get(ARGOCD_REPOSITORY_SECRET)
            .cloned()
            .unwrap_or(SecretRef {
                key: ARGOCD_REPOSITORY_SECRET.to_string(),
                property: None,
            }),
    };
    let mut add = |path: String, id: &str, text: String| -> Result<()> {
        let text = header(&path, ctx) + &text;
        parse_back::check(&path, id, &text)?;
        files.insert(path, text);
        Ok(())
    };
    for (id, path) in [
        (
            "shared/argocd/repository.yaml.j2",
            "k8s/platform/argocd-repository.yaml".to_string(),
        ),
        ("shared/argocd/root.yaml.j2", "argocd/root.yaml".to_string()),
        (
            "shared/argocd/app.yaml.j2",
            format!("argocd/apps/{}.yaml", actx.name),
        ),
        (
            "shared/argocd/kustomization.yaml.j2",
            "argocd/app/kustomization.yaml".to_string(),
        ),
    ] {
        let text = engine.render(id, &actx)?;
        add(path, id, text)?;
    }
    if migrate {
        let text = engine.render(
            KUSTOMIZATION,
            &KustomizationContext {
                resources: vec!["migrate.yaml".into()],
                prune_label: None,
            },
        )?;
        add("k8s/migrate/kustomization.yaml".into(), KUSTOMIZATION, text)?;
    }
    Ok(())
}

/// The files of the app layer Argo CD applies: `k8s/*.yaml` (not its kustomization) and the
/// migration Job.
pub fn app_layer(path: &str) -> bool {
    path == "k8s/migrate/migrate.yaml"
        || path
            .strip_prefix("k8s/")
            .is_some_and(|f| !f.contains('/') && f.ends_with(".yaml") && f != "kustomization.yaml")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argo_cd_keeps_what_apply_sh_never_prunes() {
        for k in super::super::NEVER_PRUNED {
            assert!(KEEP.contains(k), "{k}");
        }
    }
}

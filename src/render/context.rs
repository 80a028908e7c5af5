//! Stage 4 — the typed contexts handed to templates. Every template sees one of these structs.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{Stack, TargetSettings};

/// Target-specific knobs the shared templates read; filled by each backend.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Platform {
    /// StorageClass for PersistentVolumeClaims.
    pub storage_class: String,
    /// Where each store secret (by name) lives in the platform's store.
    pub secret_refs: BTreeMap<String, SecretRef>,
    /// Annotations on the app ServiceAccounts (GKE Workload Identity).
    pub service_account_annotations: BTreeMap<String, String>,
    /// Annotations on the ServiceAccount of the in-cluster PostgreSQL (backup credentials).
    pub postgres_sa_annotations: BTreeMap<String, String>,
    /// Annotations on the external-secrets controller ServiceAccount.
    pub external_secrets_sa_annotations: BTreeMap<String, String>,
    /// Containers every app pod runs beside the app (e.g. the Cloud SQL Auth Proxy as a native
    /// sidecar), as Kubernetes container objects.
    pub pod_sidecars: Vec<serde_json::Value>,
}

/// The location of one secret in the platform's store.
#[derive(Debug, Clone, Serialize)]
pub struct SecretRef {
    /// The remote key (`remoteRef.key`).
    pub key: String,
    /// The property within it (`remoteRef.property`), when the store keeps several per key.
    pub property: Option<String>,
}

impl Platform {
    /// Fills `secret_refs` for every store secret of the stack with `key(name)`.
    pub fn with_secrets(mut self, stack: &Stack, key: impl Fn(&str) -> SecretRef) -> Platform {
        self.secret_refs = stack.secrets.iter().map(|s| (s.clone(), key(s))).collect();
        self
    }
}

/// The context of every target template and every shared manifest or values template.
#[derive(Debug, Serialize)]
pub struct TemplateContext<'a> {
    /// The target id (`eks`, `gke`, `hetzner`).
    pub target_id: &'static str,
    /// The environment name.
    pub env: &'a str,
    /// The spec file name (no directories, so output does not depend on where fredgen ran).
    pub spec_file: &'a str,
    /// The validated stack.
    pub stack: &'a Stack,
    /// `{ <target id>: settings }`, so templates read `target.eks.region`.
    pub target: BTreeMap<&'static str, &'a TargetSettings>,
    /// Every pinned version, by key (see `src/versions.rs`).
    pub versions: &'a BTreeMap<&'static str, &'static str>,
    /// Target knobs for shared templates.
    pub platform: &'a Platform,
}

/// The context of `shared/kustomization.yaml.j2`.
#[derive(Debug, Serialize)]
pub struct KustomizationContext {
    /// Manifest files below `k8s/`, sorted.
    pub resources: Vec<String>,
}

/// The context of `shared/README.md.j2`.
#[derive(Debug, Serialize)]
pub struct ReadmeContext<'a> {
    /// The target context.
    pub ctx: &'a TemplateContext<'a>,
    /// Terraform roots in apply order.
    pub roots: Vec<String>,
    /// Every generated file.
    pub files: Vec<String>,
    /// The target's own README section, rendered.
    pub target_section: String,
}

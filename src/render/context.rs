//! Stage 4 — the typed contexts handed to templates. Every template sees one of these structs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{Stack, TargetSettings};

/// Target-specific knobs the shared templates read; filled by each backend (a folder target's
/// from its `platform.yaml.j2`, every knob optional there).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Platform {
    /// StorageClass for PersistentVolumeClaims.
    pub storage_class: String,
    /// Where each store secret (by name) lives in the platform's store.
    pub secret_refs: BTreeMap<String, SecretRef>,
    /// Annotations on the ServiceAccounts of the processes that use the database (GKE: Workload
    /// Identity, for Cloud SQL IAM login).
    pub database_sa_annotations: BTreeMap<String, String>,
    /// Labels on the app's namespace beyond fredgen's own (EKS: pod readiness gates for the ALB).
    pub namespace_labels: BTreeMap<String, String>,
    /// Annotations on the Services the public load balancer sends traffic to: the frontend's and
    /// those of the services with public routes (GKE: container-native load balancing through
    /// NEGs).
    pub public_service_annotations: BTreeMap<String, String>,
    /// The Service annotation that tells the load balancer the backend's health check path, for
    /// a platform that checks each backend with its own path (EKS: the ALB target group's).
    pub health_path_annotation: Option<String>,
    /// Annotations on the ServiceAccount of the in-cluster PostgreSQL (backup credentials).
    pub postgres_sa_annotations: BTreeMap<String, String>,
    /// Annotations on the external-secrets controller ServiceAccount.
    pub external_secrets_sa_annotations: BTreeMap<String, String>,
    /// Containers every app pod that uses the database runs beside the app (e.g. the Cloud SQL
    /// Auth Proxy as a native sidecar), as Kubernetes container objects.
    pub database_sidecars: Vec<serde_json::Value>,
    /// NetworkPolicy peers the public load balancer's traffic (and health checks) to the frontend
    /// comes from.
    pub lb_peers: Vec<serde_json::Value>,
    /// Extra NetworkPolicy egress rules of the app's pods that use the database (frontend,
    /// workers, migration Job): the managed database and what its access path needs.
    pub database_egress: Vec<serde_json::Value>,
    /// NetworkPolicy egress rules of pods that authenticate with the platform's workload identity
    /// (the in-cluster PostgreSQL's backups).
    pub identity_egress: Vec<serde_json::Value>,
    /// `DATABASE_URL` as a plain value when it holds no credential (GKE: IAM login through the
    /// Cloud SQL Auth Proxy); otherwise it is read from the database's app Secret.
    pub database_url: Option<String>,
    /// The frontend's TLS certificate is issued in the cluster by cert-manager (so its expiry is
    /// the stack's to watch); otherwise the platform manages it.
    pub cert_manager: bool,
    /// The in-cluster caching proxies that serve the static sites from their buckets, one per
    /// site, for a platform with no CDN (Hetzner); empty where the platform serves them itself.
    #[serde(skip_deserializing)]
    pub static_proxies: Vec<StaticProxy>,
    /// cert-manager proves control of the hosts with ACME HTTP-01: its solver pods run in the
    /// app's namespace while an order is open, and the load balancer must reach them. `false`
    /// where it uses DNS-01 (or does not issue the certificate).
    pub acme_http01: bool,
    /// Namespaces that read the Cloudflare API token (`dns.provider: cloudflare`): the
    /// Kubernetes Secret `stack.dns.cloudflare.secret` is synced there from the store by
    /// `k8s/platform/` (external-dns's namespace, or cert-manager's for its DNS-01 solver, whose
    /// ClusterIssuer reads Secrets in cert-manager's own namespace). Empty without Cloudflare.
    pub cloudflare_token_namespaces: Vec<String>,
    /// external-dns is installed by `terraform/40-addons`, after `k8s/platform/` synced the
    /// Secret it reads (the Cloudflare token), rather than by `terraform/30-platform`.
    pub external_dns_in_addons: bool,
    /// The one namespace whose Services external-dns reads hosts from (their
    /// `external-dns.alpha.kubernetes.io/hostname` annotation), where the load balancer is a
    /// Service there (Traefik's); none where external-dns reads the cluster's Ingresses and
    /// Services.
    pub external_dns_service_namespace: Option<String>,
}

/// A static site served by a caching reverse proxy in the app's namespace, from a public-read
/// bucket.
#[derive(Debug, Clone, Serialize)]
pub struct StaticProxy {
    /// The site.
    pub site: crate::model::StaticSite,
    /// The name of its Deployment, Service, ConfigMap, PodDisruptionBudget and NetworkPolicy (and
    /// its pods' `app.kubernetes.io/name`).
    pub name: String,
    /// Its bucket.
    pub bucket: String,
    /// The bucket's virtual-hosted name: the proxy's upstream, TLS server name and `Host`.
    pub origin: String,
    /// The container port it serves the site on (the ingress reaches it there).
    pub port: u16,
}

/// The port the static sites' proxies serve on (nginx-unprivileged's default).
pub const STATIC_PROXY_PORT: u16 = 8080;

/// A NetworkPolicy egress rule to one CIDR on the given TCP ports.
pub fn egress_to(cidr: &str, ports: &[u16]) -> serde_json::Value {
    serde_json::json!({
        "to": [{ "ipBlock": { "cidr": cidr } }],
        "ports": ports.iter().map(|p| serde_json::json!({ "protocol": "TCP", "port": p })).collect::<Vec<_>>(),
    })
}

/// A NetworkPolicy egress rule to public addresses on the given TCP ports: every public block
/// ([`crate::model::addresses::public_blocks`]), so no private, link-local, shared, loopback or
/// multicast address, and no `except` for a network policy agent to get wrong.
pub fn public_egress(ports: &[u16]) -> serde_json::Value {
    let mut rule = egress_to("0.0.0.0/0", ports);
    rule["to"] = crate::model::addresses::public_blocks()
        .iter()
        .map(|cidr| serde_json::json!({ "ipBlock": { "cidr": cidr } }))
        .collect();
    rule
}

/// The location of one secret in the platform's store.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// What every generated file's header says about the render: version, spec hash, command.
    pub provenance: &'a crate::render::Provenance,
    /// The validated stack.
    pub stack: &'a Stack,
    /// `{ <target id>: settings }`, so templates read `target.eks.region`.
    pub target: BTreeMap<&'static str, &'a TargetSettings>,
    /// Every pinned version, by key (see `src/versions.rs`).
    pub versions: &'a BTreeMap<&'static str, &'static str>,
    /// Target knobs for shared templates.
    pub platform: &'a Platform,
    /// The NetworkPolicies of the app's namespace, from the stack's flows, as YAML.
    pub network_policies: String,
    /// With `delivery.github`, for an environment that owns its cluster: what its bootstrap
    /// grants the GitHub workflows (OIDC subjects) and the repository variables its README sets.
    pub ci: Option<crate::model::delivery::CiAccess>,
}

/// The context of `shared/kustomization.yaml.j2`.
#[derive(Debug, Serialize)]
pub struct KustomizationContext {
    /// Manifest files below `k8s/`, sorted.
    pub resources: Vec<String>,
    /// The label the kustomization puts on every object it applies (the app step prunes by it),
    /// as `key`, `value`; none for `k8s/platform/`.
    pub prune_label: Option<(String, String)>,
}

/// The context of `shared/apply.sh.j2`.
#[derive(Debug, Serialize)]
pub struct ApplyContext<'a> {
    /// The steps to run.
    pub plan: &'a crate::render::Plan,
    /// The ids of the steps that apply only Terraform roots: those `FREDGEN_PLAN=1` plans.
    pub planned: Vec<&'a str>,
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
    /// The apply plan, shown as "Apply, in this order".
    pub plan: &'a crate::render::Plan,
    /// The spec's overrides, as applied.
    pub overrides: &'a [crate::overrides::Applied],
    /// The templates the spec's template folder replaced, as (id, its file).
    pub templates: Vec<(String, String)>,
}

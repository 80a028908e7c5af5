//! Stage 1 — the raw stack spec: YAML text → [`RawStack`], exactly as written, with positions.
//!
//! Every field is optional here: a spec and an environment overlay share these types, and the
//! overlay is merged over the base ([`merge`]) before validation turns the result into a
//! [`crate::model::Stack`]. Unknown keys are refused at this stage (`deny_unknown_fields`), and
//! every leaf keeps its source position ([`Sp`]) so later errors can point at the line.
//!
//! The YAML crate is [`serde_saphyr`]: `serde_yaml` is deprecated upstream; serde-saphyr is
//! maintained, panic-free on malformed input, forbids `unsafe`, and has budgets against alias bombs
//! and deep nesting, errors with line and column, and `Spanned<T>` for positions of values.

pub mod merge;

use std::collections::BTreeMap;

use serde::Deserialize;
pub use serde_saphyr::Spanned as Sp;

use crate::error::{Diagnostic, Pos};

/// The whole spec file (also the shape of one environment overlay).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStack {
    /// DNS-1123 label; prefixes every resource.
    pub name: Option<Sp<String>>,
    /// Public host name of the frontend.
    pub domain: Option<Sp<String>>,
    /// The public web service.
    pub frontend: Option<RawFrontend>,
    /// Background worker processes (no public exposure).
    pub workers: Option<Vec<RawWorker>>,
    /// The message queue.
    pub queue: Option<RawQueue>,
    /// The PostgreSQL database.
    pub postgres: Option<RawPostgres>,
    /// Metrics, logs and alerting.
    pub monitoring: Option<RawMonitoring>,
    /// Per-target settings; a target may only be rendered when it is declared here.
    pub targets: Option<RawTargets>,
    /// Overlays merged over the base, selected with `--env`.
    pub environments: Option<BTreeMap<String, Sp<RawStack>>>,
}

/// `frontend:`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFrontend {
    pub image: Option<Sp<String>>,
    pub port: Option<Sp<i64>>,
    pub command: Option<Vec<Sp<String>>>,
    pub health: Option<RawHealth>,
    pub metrics: Option<RawMetrics>,
    pub replicas: Option<RawReplicas>,
    pub resources: Option<RawResources>,
    pub env: Option<BTreeMap<String, Sp<String>>>,
    pub secrets: Option<Vec<Sp<String>>>,
    pub migrate: Option<Vec<Sp<String>>>,
}

/// `frontend.health:`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealth {
    pub path: Option<Sp<String>>,
}

/// `*.metrics:` — where the process serves Prometheus metrics.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    pub path: Option<Sp<String>>,
    pub port: Option<Sp<i64>>,
}

/// `*.replicas:`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReplicas {
    pub min: Option<Sp<i64>>,
    pub max: Option<Sp<i64>>,
}

/// `*.resources:` — requests; limits are derived.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawResources {
    pub cpu: Option<Sp<String>>,
    pub memory: Option<Sp<String>>,
}

/// One item of `workers:`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorker {
    pub name: Option<Sp<String>>,
    pub image: Option<Sp<String>>,
    pub command: Option<Vec<Sp<String>>>,
    pub consumes: Option<Sp<String>>,
    pub metrics: Option<RawMetrics>,
    pub replicas: Option<RawReplicas>,
    pub resources: Option<RawResources>,
    pub env: Option<BTreeMap<String, Sp<String>>>,
    pub secrets: Option<Vec<Sp<String>>>,
    pub egress: Option<Sp<String>>,
}

/// `queue:`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawQueue {
    pub rabbitmq: Option<RawRabbitmq>,
}

/// `queue.rabbitmq:`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRabbitmq {
    pub version: Option<Sp<String>>,
    pub replicas: Option<Sp<i64>>,
    pub storage: Option<Sp<String>>,
    pub queues: Option<Vec<Sp<String>>>,
}

/// `postgres:`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPostgres {
    pub version: Option<Sp<String>>,
    pub storage: Option<Sp<String>>,
    pub ha: Option<Sp<bool>>,
    pub backup: Option<RawBackup>,
    pub placement: Option<Sp<String>>,
}

/// `postgres.backup:`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBackup {
    pub retention_days: Option<Sp<i64>>,
}

/// `monitoring:`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMonitoring {
    pub metrics: Option<Sp<bool>>,
    pub logs: Option<Sp<bool>>,
    pub alerts: Option<RawAlerts>,
}

/// `monitoring.alerts:`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlerts {
    pub slack_channel: Option<Sp<String>>,
    pub webhook_secret: Option<Sp<String>>,
}

/// `targets:`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTargets {
    pub eks: Option<RawTarget>,
    pub gke: Option<RawTarget>,
    pub hetzner: Option<RawTarget>,
}

/// One target block. Which keys a target needs is checked in validation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    /// AWS or GCP region.
    pub region: Option<Sp<String>>,
    /// GCP project id.
    pub project: Option<Sp<String>>,
    /// Hetzner location.
    pub location: Option<Sp<String>>,
    /// Kubernetes minor version, e.g. "1.35".
    pub kubernetes: Option<Sp<String>>,
    /// CIDRs allowed to reach the Kubernetes API endpoint.
    pub api_allowed_cidrs: Option<Vec<Sp<String>>>,
}

/// Limits that keep hostile input cheap: specs are small, so anything past these is refused.
fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_aliases = 64;
    budget.max_anchors = 64;
    budget.max_depth = 32;
    budget.max_documents = 1;
    budget.max_nodes = 50_000;
    budget.max_total_scalar_bytes = 4 << 20;
    serde_saphyr::options! {
        budget: Some(budget),
        strict_booleans: true,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        with_snippet: false,
    }
}

/// The largest spec file fredgen reads.
pub const MAX_SPEC_BYTES: usize = 1 << 20;

/// Parses spec text. `file` is used only in diagnostics.
pub fn parse(file: &str, text: &str) -> Result<RawStack, Vec<Diagnostic>> {
    if text.len() > MAX_SPEC_BYTES {
        return Err(vec![Diagnostic::new(
            file,
            None,
            "",
            format!("spec is {} bytes; the limit is {MAX_SPEC_BYTES}", text.len()),
        )
        .hint("a stack spec is a few kilobytes; is this the right file?")]);
    }
    if text.trim().is_empty() {
        return Err(vec![Diagnostic::new(file, None, "", "spec is empty".to_string())
            .hint("run `fredgen init` to write a commented starter spec")]);
    }
    serde_saphyr::from_str_with_options::<RawStack>(text, options()).map_err(|err| {
        let pos = err.location().and_then(|l| Pos::from_location(&l));
        let message = first_line(&err.to_string());
        vec![Diagnostic::new(file, pos, "", message)]
    })
}

/// serde-saphyr's messages may carry their own location suffix; keep the first line only.
fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or("invalid YAML").trim().to_string()
}

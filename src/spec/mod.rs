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

pub mod chars;
pub mod from_tree;
pub mod merge;
pub mod schema;
pub mod tree;

pub use schema::{schema, schema_json};

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::error::{Diagnostic, Pos};

/// A value with the position it was written at. A newtype over [`serde_saphyr::Spanned`] so the
/// JSON Schema of the spec ([`schema_json`]) describes the value alone: the schema is derived from
/// these same types, so the editor's view of the spec and the parser's cannot drift apart.
///
/// It reads from serde-saphyr (the position is serde-saphyr's) and from the positioned tree
/// ([`from_tree`], which answers with the value and the position the tree kept).
#[derive(Debug, Clone)]
pub struct Sp<T>(pub serde_saphyr::Spanned<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Sp<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_newtype_struct(from_tree::SP_MARKER, SpVisitor(std::marker::PhantomData))
    }
}

struct SpVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for SpVisitor<T> {
    type Value = Sp<T>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a value")
    }
    fn visit_newtype_struct<D: serde::Deserializer<'de>>(self, d: D) -> Result<Sp<T>, D::Error> {
        serde_saphyr::Spanned::deserialize(d).map(Sp)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Sp<T>, A::Error> {
        let (mut line, mut column, mut value) = (0u32, 0u32, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "line" => line = map.next_value()?,
                "column" => column = map.next_value()?,
                _ => value = Some(map.next_value::<T>()?),
            }
        }
        let value = value.ok_or_else(|| serde::de::Error::missing_field("value"))?;
        let coordinates = [("line", line), ("column", column)];
        let at = serde_saphyr::Location::deserialize(serde::de::value::MapDeserializer::<
            _,
            A::Error,
        >::new(coordinates.into_iter()))?;
        Ok(Sp(serde_saphyr::Spanned::new(value, at, at)))
    }
}

impl<T> std::ops::Deref for Sp<T> {
    type Target = serde_saphyr::Spanned<T>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<T: JsonSchema> JsonSchema for Sp<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

/// The whole spec file (also the shape of one environment overlay).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[schemars(title = "fredgen stack spec")]
#[schemars(extend("patternProperties" = { "^x-": {} }))]
#[serde(deny_unknown_fields)]
pub struct RawStack {
    /// DNS-1123 label; prefixes every resource.
    #[schemars(required, transform = schema::stack_name)]
    pub name: Option<Sp<String>>,
    /// Public host name of the frontend.
    #[schemars(required, transform = schema::host)]
    pub domain: Option<Sp<String>>,
    /// The public web service.
    #[schemars(required)]
    pub frontend: Option<RawFrontend>,
    /// Background worker processes (no public exposure).
    pub workers: Option<Vec<RawWorker>>,
    /// HTTP services, reachable from the processes that declare they call them, and from the
    /// internet by their `public` routes.
    pub services: Option<Vec<RawService>>,
    /// Static websites: files uploaded to object storage, served on a host of their own (S3 and
    /// CloudFront on eks, Cloud Storage and Cloud CDN on gke, Object Storage behind a caching
    /// proxy on hetzner).
    #[serde(rename = "static")]
    #[schemars(rename = "static")]
    pub static_sites: Option<Vec<RawStatic>>,
    /// The message queue.
    pub queue: Option<RawQueue>,
    /// The PostgreSQL database.
    pub postgres: Option<RawPostgres>,
    /// Metrics, logs and alerting.
    pub monitoring: Option<RawMonitoring>,
    /// Who serves the public hosts' DNS records: the cloud's own DNS (default) or Cloudflare.
    pub dns: Option<RawDns>,
    /// Per-target settings by target id; a target may only be rendered when it is declared here.
    #[schemars(required, schema_with = "schema::targets")]
    pub targets: Option<BTreeMap<String, Sp<RawTarget>>>,
    /// Folders that define targets of their own (a `target.yaml`, a `platform.yaml.j2` and
    /// `templates/`), relative to the spec; listed with the built-in ones.
    pub target_folders: Option<Vec<Sp<String>>>,
    /// A folder (relative to the spec) whose `.j2` files replace built-in templates of the same
    /// id (`shared/k8s/web.yaml.j2`); see `fredgen templates list`.
    pub templates: Option<Sp<String>>,
    /// Changes applied to the rendered output at every render: Kubernetes patches, extra
    /// manifests, Helm values overlays and Terraform files, each from a file relative to the spec.
    pub overrides: Option<Vec<Sp<RawOverride>>>,
    /// How changes reach the clusters: the GitHub repository that holds the spec and its output,
    /// the CI/CD workflows fredgen generates for it, and Argo CD (set once, at the top level).
    pub delivery: Option<RawDelivery>,
    /// Overlays merged over the base, selected with `--env`.
    #[schemars(transform = schema::environment_names)]
    pub environments: Option<BTreeMap<String, Sp<RawStack>>>,
    /// Only in an environment overlay: the environment whose cluster this one deploys into, in a
    /// namespace of its own (`<name>-<env>`). It renders the app layer alone, no Terraform, and
    /// takes the host's target settings.
    pub cluster: Option<Sp<String>>,
    /// Only in an overlay with `cluster`: a short-lived environment (a pull request's preview):
    /// no backups, one replica allowed, removed with its namespace (default false).
    pub preview: Option<Sp<bool>>,
}

/// `delivery:`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDelivery {
    /// The GitHub repository (`owner/name`) that holds this spec and its committed output.
    #[schemars(required, pattern(schema::REPOSITORY))]
    pub repository: Option<Sp<String>>,
    /// Its default branch, which the clusters follow (default `main`).
    pub branch: Option<Sp<String>>,
    /// The spec's folder inside the repository (default: the repository's root), where the
    /// workflows run fredgen and find the output (`deploy/<target>/<env>`).
    pub folder: Option<Sp<String>>,
    /// GitHub Actions workflows: plan on pull request, apply on merge, drift detection.
    pub github: Option<RawGithub>,
    /// Deliver the app layer as Argo CD Applications (app-of-apps per environment) instead of
    /// `kubectl apply` (default false).
    pub argocd: Option<Sp<bool>>,
}

/// `delivery.github:`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGithub {
    /// The fredgen action the workflows run, pinned by commit: `owner/repo@<40-hex commit>`.
    #[schemars(required, pattern(schema::PINNED_ACTION))]
    pub fredgen: Option<Sp<String>>,
    /// Runner labels of the jobs that reach the cloud and the cluster (default `[ubuntu-24.04]`).
    pub runs_on: Option<Vec<Sp<String>>>,
    /// Runner labels of the plan jobs, which run a pull request's code (default: `runs_on`);
    /// keep them apart from the apply jobs' runners, which hold the apply credentials.
    pub plan_runs_on: Option<Vec<Sp<String>>>,
    /// The repository as GitHub's OIDC `sub` claim names it, when it is the immutable form
    /// `<owner>@<owner id>/<name>@<repository id>` (repositories created from 15 July 2026, or
    /// opted in); default the name form `<owner>/<name>`.
    pub subject: Option<Sp<String>>,
    /// The environments a merge applies, one after another in this order (default: every
    /// environment that has a cluster of its own, in the spec's order).
    pub promote: Option<Vec<Sp<String>>>,
}

/// One entry of `overrides:`: exactly one of `patch`, `manifest`, `values` or `terraform`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOverride {
    /// A patch file for the Kubernetes object `kind`/`name`: a YAML mapping is a strategic merge
    /// patch, a list a JSON Patch (RFC 6902).
    pub patch: Option<Sp<String>>,
    /// With `patch`: the object's kind, e.g. `Deployment`.
    pub kind: Option<Sp<String>>,
    /// With `patch`: the object's `metadata.name` as rendered.
    pub name: Option<Sp<String>>,
    /// A file of Kubernetes manifests added to `k8s/` and its kustomization.
    pub manifest: Option<Sp<String>>,
    /// A Helm values file deep-merged into the generated values of `chart`.
    pub values: Option<Sp<String>>,
    /// With `values`: the chart, as its values file is named (`kube-prometheus-stack`).
    pub chart: Option<Sp<String>>,
    /// A Terraform file placed into `root`; one named `*_override.tf` is a Terraform override
    /// file, and every block in it must override one of the root.
    pub terraform: Option<Sp<String>>,
    /// With `terraform`: the root, e.g. `30-platform`.
    pub root: Option<Sp<String>>,
    /// Only for these targets (default: every target).
    pub targets: Option<Vec<Sp<String>>>,
    /// Only for these environments (default: every environment).
    pub environments: Option<Vec<Sp<String>>>,
}

/// `frontend:`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFrontend {
    /// Image reference with an exact tag or digest.
    #[schemars(required)]
    pub image: Option<Sp<String>>,
    /// Container port.
    #[schemars(required, range(min = 1, max = 65535))]
    pub port: Option<Sp<i64>>,
    /// Command (argv); the image entrypoint when omitted.
    pub command: Option<Vec<Sp<String>>>,
    /// Health check used by probes and the load balancer.
    pub health: Option<RawHealth>,
    /// Prometheus metrics endpoint, when the process serves one.
    pub metrics: Option<RawMetrics>,
    /// Replica bounds for autoscaling.
    pub replicas: Option<RawReplicas>,
    /// Autoscaling targets: `{ cpu: PERCENT }`.
    pub scaling: Option<RawScaling>,
    /// The Deployment's rolling update: `{ max_surge, max_unavailable }`.
    pub rollout: Option<RawRollout>,
    /// CPU and memory requests.
    pub resources: Option<RawResources>,
    /// Literal, non-secret environment variables.
    #[schemars(transform = schema::env_names)]
    pub env: Option<BTreeMap<String, Sp<String>>>,
    /// Secret names; values live in the platform secret store.
    #[schemars(transform = schema::secret_names)]
    pub secrets: Option<Vec<Sp<String>>>,
    /// Migration command run once per release, before the rollout.
    pub migrate: Option<Vec<Sp<String>>>,
    /// Whether the frontend (and its migration Job) uses the stack's PostgreSQL: `false`, or
    /// `{ env: NAME }` for the variable its URL is read from; default: used, as `DATABASE_URL`.
    pub postgres: Option<Sp<RawUse>>,
    /// Whether the frontend (and its migration Job) uses the stack's queue: `false`, or
    /// `{ env: NAME }` for the variable its URL is read from; default: used, as `AMQP_URL`.
    pub queue: Option<Sp<RawUse>>,
    /// Outbound access: `none` (default), `internet` (HTTPS to public addresses) or a list of
    /// `host:port` destinations.
    pub egress: Option<Sp<RawEgress>>,
    /// The internal services it calls: a service name, or `{ service: NAME, env: VAR }`; each
    /// gives it the service's URL in an env variable and opens exactly that flow.
    pub calls: Option<Vec<Sp<RawCall>>>,
}

/// `frontend.health:`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHealth {
    /// HTTP path.
    #[schemars(transform = schema::http_path)]
    pub path: Option<Sp<String>>,
}

/// `*.metrics:` — where the process serves Prometheus metrics.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    /// HTTP path.
    #[schemars(transform = schema::http_path)]
    pub path: Option<Sp<String>>,
    /// Container port.
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<Sp<i64>>,
}

/// `*.replicas:`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawReplicas {
    /// Minimum replicas.
    #[schemars(range(min = 0, max = 1000))]
    pub min: Option<Sp<i64>>,
    /// Maximum replicas.
    #[schemars(range(min = 0, max = 1000))]
    pub max: Option<Sp<i64>>,
}

/// `*.scaling:` — what the autoscaler aims at.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScaling {
    /// HPA target: average CPU utilization, in percent of the request (10 to 95); default 70.
    #[schemars(range(min = 10, max = 95))]
    pub cpu: Option<Sp<i64>>,
}

/// `*.rollout:` — the Deployment's RollingUpdate strategy.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRollout {
    /// Pods created above the desired count during a rollout: `N` or `P%`; default `25%`.
    pub max_surge: Option<Sp<RawStep>>,
    /// Pods that may be unavailable during a rollout: `N` or `P%`; default `0`.
    pub max_unavailable: Option<Sp<RawStep>>,
}

/// A rollout step: a pod count (`1`) or a percentage of the desired count (`25%`).
#[derive(Debug, Clone, JsonSchema)]
#[schemars(untagged)]
pub enum RawStep {
    /// A number of pods.
    #[schemars(transform = schema::step_count)]
    Count(i64),
    /// A percentage, `P%`.
    #[schemars(transform = schema::step_percent)]
    Percent(String),
}

impl<'de> Deserialize<'de> for RawStep {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = RawStep;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number of pods or a percentage such as `25%`")
            }
            fn visit_i64<E: serde::de::Error>(self, i: i64) -> Result<RawStep, E> {
                Ok(RawStep::Count(i))
            }
            fn visit_u64<E: serde::de::Error>(self, i: u64) -> Result<RawStep, E> {
                Ok(RawStep::Count(i64::try_from(i).unwrap_or(i64::MAX)))
            }
            // Any other scalar reads as text (as a string field reads it); validation refuses
            // what is not `P%`.
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<RawStep, E> {
                Ok(RawStep::Percent(s.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, f: f64) -> Result<RawStep, E> {
                Ok(RawStep::Percent(f.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<RawStep, E> {
                Ok(RawStep::Percent(b.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// `*.resources:` — requests; limits are derived.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawResources {
    /// CPU request, e.g. `250m`.
    #[schemars(pattern(schema::QUANTITY))]
    pub cpu: Option<Sp<String>>,
    /// Memory request, e.g. `256Mi`.
    #[schemars(pattern(schema::QUANTITY))]
    pub memory: Option<Sp<String>>,
}

/// One item of `workers:`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWorker {
    /// Worker name (DNS-1123 label).
    #[schemars(required, transform = schema::dns_label::<20>)]
    pub name: Option<Sp<String>>,
    /// Image reference with an exact tag or digest.
    #[schemars(required)]
    pub image: Option<Sp<String>>,
    /// Command (argv); the image entrypoint when omitted.
    pub command: Option<Vec<Sp<String>>>,
    /// The queue whose depth scales this worker.
    pub consumes: Option<Sp<String>>,
    /// Prometheus metrics endpoint, when the process serves one.
    pub metrics: Option<RawMetrics>,
    /// Replica bounds for autoscaling.
    pub replicas: Option<RawReplicas>,
    /// Autoscaling targets: `{ cpu: PERCENT }`.
    pub scaling: Option<RawScaling>,
    /// The Deployment's rolling update: `{ max_surge, max_unavailable }`.
    pub rollout: Option<RawRollout>,
    /// CPU and memory requests.
    pub resources: Option<RawResources>,
    /// Literal, non-secret environment variables.
    #[schemars(transform = schema::env_names)]
    pub env: Option<BTreeMap<String, Sp<String>>>,
    /// Secret names; values live in the platform secret store.
    #[schemars(transform = schema::secret_names)]
    pub secrets: Option<Vec<Sp<String>>>,
    /// Outbound access: `none` (default), `internet` (HTTPS to public addresses) or a list of
    /// `host:port` destinations.
    pub egress: Option<Sp<RawEgress>>,
    /// Whether the worker uses the stack's PostgreSQL: `false`, or `{ env: NAME }` for the
    /// variable its URL is read from; default: used, as `DATABASE_URL`.
    pub postgres: Option<Sp<RawUse>>,
    /// Whether the worker uses the stack's queue: `false`, or `{ env: NAME }` for the variable
    /// its URL is read from; default: used, as `AMQP_URL`. A worker that `consumes` uses it.
    pub queue: Option<Sp<RawUse>>,
    /// How to tell that the worker is alive when it serves no metrics endpoint.
    pub health: Option<RawWorkerHealth>,
    /// The internal services it calls: a service name, or `{ service: NAME, env: VAR }`; each
    /// gives it the service's URL in an env variable and opens exactly that flow.
    pub calls: Option<Vec<Sp<RawCall>>>,
}

/// One item of `services:` — an internal HTTP service.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    /// Service name (DNS-1123 label), unique among services and workers.
    #[schemars(required, transform = schema::dns_label::<20>)]
    pub name: Option<Sp<String>>,
    /// Image reference with an exact tag or digest.
    #[schemars(required)]
    pub image: Option<Sp<String>>,
    /// Container port.
    #[schemars(required, range(min = 1, max = 65535))]
    pub port: Option<Sp<i64>>,
    /// Command (argv); the image entrypoint when omitted.
    pub command: Option<Vec<Sp<String>>>,
    /// Health check used by the probes.
    pub health: Option<RawHealth>,
    /// Prometheus metrics endpoint, when the process serves one.
    pub metrics: Option<RawMetrics>,
    /// Replica bounds for autoscaling.
    pub replicas: Option<RawReplicas>,
    /// Autoscaling targets: `{ cpu: PERCENT }`.
    pub scaling: Option<RawScaling>,
    /// The Deployment's rolling update: `{ max_surge, max_unavailable }`.
    pub rollout: Option<RawRollout>,
    /// CPU and memory requests.
    pub resources: Option<RawResources>,
    /// Literal, non-secret environment variables.
    #[schemars(transform = schema::env_names)]
    pub env: Option<BTreeMap<String, Sp<String>>>,
    /// Secret names; values live in the platform secret store.
    #[schemars(transform = schema::secret_names)]
    pub secrets: Option<Vec<Sp<String>>>,
    /// Whether the service uses the stack's PostgreSQL: `false`, or `{ env: NAME }` for the
    /// variable its URL is read from; default: used, as `DATABASE_URL`.
    pub postgres: Option<Sp<RawUse>>,
    /// Whether the service uses the stack's queue: `false`, or `{ env: NAME }` for the variable
    /// its URL is read from; default: used, as `AMQP_URL`.
    pub queue: Option<Sp<RawUse>>,
    /// Outbound access: `none` (default), `internet` (HTTPS to public addresses) or a list of
    /// `host:port` destinations.
    pub egress: Option<Sp<RawEgress>>,
    /// The internal services it calls: a service name, or `{ service: NAME, env: VAR }`; each
    /// gives it the service's URL in an env variable and opens exactly that flow.
    pub calls: Option<Vec<Sp<RawCall>>>,
    /// Public routes: a host name (every path and method), or `{ host, path, methods }`. Without
    /// it the service is internal: reachable only from the processes that call it.
    pub public: Option<Vec<Sp<RawRoute>>>,
}

/// One item of `static:` — a static website.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStatic {
    /// Site name (DNS-1123 label), unique among the static sites; names its bucket.
    #[schemars(required, transform = schema::dns_label::<20>)]
    pub name: Option<Sp<String>>,
    /// The public host it is served on, of its own (no route of a process uses it).
    #[schemars(required, transform = schema::host)]
    pub host: Option<Sp<String>>,
    /// Base path the site lives under on its host (and in its bucket); default `/`.
    #[schemars(transform = schema::http_path)]
    pub path: Option<Sp<String>>,
    /// Single-page app: a path with no file serves the site's `index.html` (status 200).
    pub spa: Option<Sp<bool>>,
    /// Cache lifetimes in seconds: `html` for `*.html`, `assets` for every other file.
    pub cache: Option<RawCache>,
}

/// `static[].cache:`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCache {
    /// Seconds browsers and the CDN keep an HTML page (default 60).
    pub html: Option<Sp<i64>>,
    /// Seconds they keep every other file (default 31536000, a year: upload assets with hashed
    /// names).
    pub assets: Option<Sp<i64>>,
}

/// One item of `services[].public`: a host name, or `{ host, path, methods }`.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(untagged)]
pub enum RawRoute {
    /// A public host name; the service answers every path and method on it.
    #[schemars(transform = schema::host)]
    Host(String),
    /// `{ host, path, methods }`.
    With(RawRouteWith),
}

/// `{ host, path, methods }` of [`RawRoute`].
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRouteWith {
    /// The public host name.
    #[schemars(transform = schema::host)]
    pub host: Option<Sp<String>>,
    /// Path prefix, matched on `/`-separated segments (`/api` matches `/api` and `/api/x`, not
    /// `/apix`); default `/`.
    pub path: Option<Sp<String>>,
    /// HTTP methods (upper case, e.g. `[GET, HEAD]`); default: every method.
    #[schemars(transform = schema::methods)]
    pub methods: Option<Vec<Sp<String>>>,
}

impl<'de> Deserialize<'de> for RawRoute {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawRoute;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a host name or a mapping `{ host, path, methods }`")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<RawRoute, E> {
                Ok(RawRoute::Host(s.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<RawRoute, A::Error> {
                RawRouteWith::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(RawRoute::With)
            }
        }
        d.deserialize_any(V)
    }
}

/// One item of `calls:`: a service name, or `{ service: NAME, env: VAR }`.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(untagged)]
pub enum RawCall {
    /// The service's name; its URL is read from `<NAME>_URL` (upper case, `-` as `_`).
    Name(String),
    /// `{ service: NAME, env: VAR }`: the URL read from `VAR`.
    With(RawCallWith),
}

/// `{ service: NAME, env: VAR }` of [`RawCall`].
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCallWith {
    /// The name of the service called.
    pub service: Option<Sp<String>>,
    /// The environment variable the caller reads the service's URL from.
    pub env: Option<Sp<String>>,
}

impl<'de> Deserialize<'de> for RawCall {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawCall;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a service name or a mapping `{ service: NAME, env: VAR }`")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<RawCall, E> {
                Ok(RawCall::Name(s.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<RawCall, A::Error> {
                RawCallWith::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(RawCall::With)
            }
        }
        d.deserialize_any(V)
    }
}

/// `frontend.postgres`, `frontend.queue`, `workers[].postgres`, `workers[].queue`: whether the
/// process uses the stack's service, and under which environment variable it reads its URL.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(untagged)]
pub enum RawUse {
    /// `false`: the process gets no URL, no credentials and no network flow to the service;
    /// `true`: the default.
    Flag(bool),
    /// `{ env: NAME }`: used, its URL read from `NAME`.
    With(RawUseEnv),
}

/// `{ env: NAME }` of [`RawUse`].
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawUseEnv {
    /// The environment variable the process reads the service's URL from.
    pub env: Option<Sp<String>>,
}

impl<'de> Deserialize<'de> for RawUse {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawUse;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("`false` or a mapping `{ env: NAME }`")
            }
            fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<RawUse, E> {
                Ok(RawUse::Flag(b))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<RawUse, E> {
                match s {
                    "true" | "false" => Ok(RawUse::Flag(s == "true")),
                    _ => Err(E::invalid_type(serde::de::Unexpected::Str(s), &self)),
                }
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<RawUse, A::Error> {
                RawUseEnv::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(RawUse::With)
            }
        }
        d.deserialize_any(V)
    }
}

/// `frontend.egress`, `workers[].egress`: a word (`none`, `internet`) or a list of `host:port`.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(untagged)]
pub enum RawEgress {
    /// `none` or `internet`.
    #[schemars(transform = schema::egress_word)]
    Word(String),
    /// `host:port` destinations: an IPv4 address or CIDR, or a DNS name (public addresses only).
    List(Vec<Sp<String>>),
}

impl<'de> Deserialize<'de> for RawEgress {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawEgress;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("`none`, `internet` or a list of `host:port`")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<RawEgress, E> {
                Ok(RawEgress::Word(s.to_string()))
            }
            // Any scalar reads as a word (as a string field reads it); validation refuses it.
            fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<RawEgress, E> {
                Ok(RawEgress::Word(b.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, i: i64) -> Result<RawEgress, E> {
                Ok(RawEgress::Word(i.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, i: u64) -> Result<RawEgress, E> {
                Ok(RawEgress::Word(i.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, f: f64) -> Result<RawEgress, E> {
                Ok(RawEgress::Word(f.to_string()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<RawEgress, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Sp<String>>()? {
                    items.push(item);
                }
                Ok(RawEgress::List(items))
            }
        }
        d.deserialize_any(V)
    }
}

/// `workers[].health:` — a command that exits 0 while the worker is healthy.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWorkerHealth {
    /// Command (argv) run in the worker container by the liveness and readiness probes.
    pub command: Option<Vec<Sp<String>>>,
}

/// `queue:`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawQueue {
    /// RabbitMQ through the RabbitMQ Cluster Operator.
    #[schemars(required)]
    pub rabbitmq: Option<RawRabbitmq>,
}

/// `queue.rabbitmq:`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRabbitmq {
    /// Version (minor for RabbitMQ, major for PostgreSQL).
    #[schemars(transform = schema::rabbitmq_version)]
    pub version: Option<Sp<String>>,
    /// Number of nodes (odd).
    #[schemars(transform = schema::rabbitmq_replicas)]
    pub replicas: Option<Sp<i64>>,
    /// Volume size, e.g. `20Gi`.
    #[schemars(pattern(schema::GIBIBYTES))]
    pub storage: Option<Sp<String>>,
    /// Queue names, declared as quorum queues.
    #[schemars(inner(pattern(schema::QUEUE_NAME)))]
    pub queues: Option<Vec<Sp<String>>>,
}

/// `postgres:`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPostgres {
    /// Version (minor for RabbitMQ, major for PostgreSQL).
    pub version: Option<Sp<String>>,
    /// Volume size, e.g. `20Gi`.
    #[schemars(pattern(schema::GIBIBYTES))]
    pub storage: Option<Sp<String>>,
    /// Highly available (Multi-AZ, regional, or 3 instances).
    pub ha: Option<Sp<bool>>,
    /// Backups.
    pub backup: Option<RawBackup>,
    /// `managed` or `in-cluster`; default: the target managed service where it has one.
    #[schemars(transform = schema::placement)]
    pub placement: Option<Sp<String>>,
}

/// `postgres.backup:`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBackup {
    /// Days backups are kept (1 to 35).
    #[schemars(range(min = 1, max = 35))]
    pub retention_days: Option<Sp<i64>>,
    /// In-cluster PostgreSQL: the archive this database writes, 1 (default) to 999. Raise it by
    /// one to recover into a new cluster: it is created from the previous generation's backups and
    /// archives under a path of its own.
    #[schemars(range(min = 1, max = 999))]
    pub generation: Option<Sp<i64>>,
    /// With a raised `generation`: recover to this point in time (RFC 3339, e.g.
    /// `2026-11-27T10:00:00Z`) instead of the end of the previous generation's archive.
    pub recover_to: Option<Sp<String>>,
}

/// `monitoring:`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMonitoring {
    /// Prometheus metrics, ServiceMonitors and alert rules.
    pub metrics: Option<Sp<bool>>,
    /// Logs to Loki through Alloy.
    pub logs: Option<Sp<bool>>,
    /// Alert routing to Slack.
    pub alerts: Option<RawAlerts>,
}

/// `monitoring.alerts:`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAlerts {
    /// Slack channel, e.g. `#alerts`.
    #[schemars(required, pattern(schema::SLACK_CHANNEL))]
    pub slack_channel: Option<Sp<String>>,
    /// Name of the secret holding the Slack webhook URL.
    #[schemars(transform = schema::secret_name)]
    pub webhook_secret: Option<Sp<String>>,
}

/// `dns:` — who serves the public hosts' DNS records (and, where certificates are validated
/// through DNS, their validation records).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDns {
    /// `cloud` (default: Route 53 on eks, Cloud DNS on gke, Hetzner DNS on hetzner) or
    /// `cloudflare`.
    #[schemars(transform = schema::dns_provider)]
    pub provider: Option<Sp<String>>,
    /// With `cloudflare`: the name of the secret in the platform's secret store that holds the
    /// Cloudflare API token (never the token itself); default `CLOUDFLARE_API_TOKEN`.
    #[schemars(transform = schema::secret_name)]
    pub token_secret: Option<Sp<String>>,
    /// With `cloudflare`: the Cloudflare zone that holds every public host; default the registered
    /// domain of `domain` (`example.com` for `shop.example.com`).
    #[schemars(transform = schema::host)]
    pub zone: Option<Sp<String>>,
}

/// One target block. Which keys a target needs is checked in validation: the keys below are the
/// built-in targets'; a target defined by a folder declares its own in its `target.yaml`.
#[derive(Debug, Clone, Default, JsonSchema)]
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
    #[schemars(inner(pattern(schema::IPV4_CIDR)))]
    pub api_allowed_cidrs: Option<Vec<Sp<String>>>,
    /// Every other key, for the target that declares it (a folder target's manifest); a built-in
    /// target refuses them.
    #[serde(flatten)]
    pub settings: BTreeMap<String, Sp<serde_json::Value>>,
}

impl<'de> Deserialize<'de> for RawTarget {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Block;
        impl<'de> serde::de::Visitor<'de> for Block {
            type Value = RawTarget;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a target block (a mapping)")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawTarget, A::Error> {
                let mut t = RawTarget::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "region" => t.region = map.next_value()?,
                        "project" => t.project = map.next_value()?,
                        "location" => t.location = map.next_value()?,
                        "kubernetes" => t.kubernetes = map.next_value()?,
                        "api_allowed_cidrs" => t.api_allowed_cidrs = map.next_value()?,
                        _ => {
                            let value = map.next_value()?;
                            t.settings.insert(key, value);
                        }
                    }
                }
                Ok(t)
            }
        }
        d.deserialize_map(Block)
    }
}

/// The most YAML nodes a spec may hold once its aliases are expanded: serde-saphyr charges every
/// node an alias replays to its node budget, so this bounds the expanded size (time and memory),
/// whatever the number of aliases.
pub const MAX_NODES: usize = 50_000;

/// The most scalar bytes a spec may hold once its aliases are expanded.
pub const MAX_SCALAR_BYTES: usize = 4 << 20;

/// Limits that keep hostile input cheap: specs are small, so anything past these is refused.
/// Aliases are bounded by what they expand to ([`MAX_NODES`], [`MAX_SCALAR_BYTES`]), not by
/// their number: 100 workers merging one anchor (`<<: *defaults`) are fine, a billion laughs is
/// refused at the 50,001st node.
pub(crate) fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_aliases = 10_000;
    budget.max_anchors = 10_000;
    budget.enforce_alias_anchor_ratio = false;
    budget.max_depth = 32;
    budget.max_documents = 1;
    budget.max_nodes = MAX_NODES;
    budget.max_events = 4 * MAX_NODES;
    budget.max_total_scalar_bytes = MAX_SCALAR_BYTES;
    budget.max_recorded_anchor_events = 2 * MAX_NODES;
    budget.max_recorded_anchor_bytes = MAX_SCALAR_BYTES;
    let mut alias_limits = serde_saphyr::options::AliasLimits::default();
    alias_limits.max_total_replayed_events = 4 * MAX_NODES;
    serde_saphyr::options! {
        budget: Some(budget),
        alias_limits: alias_limits,
        strict_booleans: true,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        with_snippet: false,
    }
}

/// The largest spec file fredgen reads.
pub const MAX_SPEC_BYTES: usize = 1 << 20;

/// The diagnostic for a spec over [`MAX_SPEC_BYTES`]: `len` bytes, when the size is known.
pub fn too_large(file: &str, len: Option<u64>) -> Diagnostic {
    let message = match len {
        Some(len) => format!("spec is {len} bytes; the limit is {MAX_SPEC_BYTES}"),
        None => format!("spec is more than {MAX_SPEC_BYTES} bytes, the limit"),
    };
    Diagnostic::new(file, None, "", message)
        .hint("a stack spec is a few kilobytes; is this the right file?")
}

/// Parses spec text. `file` is used only in diagnostics. Any problem refuses the spec; see
/// [`parse_lenient`] for the values that read despite wrong types and unknown keys.
pub fn parse(file: &str, text: &str) -> Result<RawStack, Vec<Diagnostic>> {
    match parse_lenient(file, text)? {
        (raw, problems) if problems.is_empty() => Ok(raw),
        (_, problems) => Err(problems),
    }
}

/// Parses spec text, reading past wrong types and unknown keys: the spec without them, and the
/// problems (every unknown key and wrong type), so that validation can report its own problems
/// with them. `Err` only when the YAML itself does not parse (the first syntax error; nothing
/// else can be checked) or what is left does not read.
pub fn parse_lenient(
    file: &str,
    text: &str,
) -> Result<(RawStack, Vec<Diagnostic>), Vec<Diagnostic>> {
    if text.len() > MAX_SPEC_BYTES {
        return Err(vec![too_large(file, Some(text.len() as u64))]);
    }
    let blank = text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---" || l == "..."
    });
    if blank {
        return Err(vec![
            Diagnostic::new(file, None, "", "the spec is empty".to_string()).hint(
                "`fredgen init` writes a commented starter spec, and `fredgen schema` prints the JSON Schema of every key",
            ),
        ]);
    }
    let first = match serde_saphyr::from_str_with_options::<RawStack>(text, options()) {
        // What the typed parse cannot see, from the positioned tree: characters no reader
        // downstream takes as written, in any key or value ([`chars`]), and keys an overlay sets
        // to nothing ([`merge::overlay_nulls`]). The tree is parsed only for a text that holds
        // such a character or an escape that could write one, or that has overlays.
        Ok(raw) => {
            let suspect = text.contains('\\') || text.chars().any(|c| chars::special(c).is_some());
            let overlays = raw.environments.is_some();
            let mut found = Vec::new();
            if (suspect || overlays)
                && let Some(root) = tree::parse(text)
            {
                if suspect {
                    found.extend(chars::check(file, &root));
                }
                if overlays {
                    found.extend(merge::overlay_nulls(file, &root));
                }
            }
            return Ok((raw, found));
        }
        Err(err) => diagnose(file, text, &err),
    };
    // serde stops at the first problem; when the YAML itself is well-formed, the schema check
    // over the generic tree lists every unknown key and wrong type in one run, and what it does
    // not refuse is read from the tree and validated too.
    let mut root = match tree::parse_result(text) {
        Ok(root) => root,
        Err(err) => {
            let mut syntax = diagnose(file, text, &err);
            if matches!(
                scan_error_kind(&err),
                Some(granit_parser::ErrorKind::TabInPlainScalar)
            ) && let Some(tab) = tab_in_indentation(text, syntax.pos)
            {
                syntax.pos = Some(tab);
                syntax.path = key_path_at(text, tab.line);
                syntax.message = "a tab in the indentation".to_string();
            }
            let why = syntax
                .hint
                .take()
                .map(|h| format!("{h}; "))
                .unwrap_or_default();
            return Err(vec![syntax.hint(format!(
                "{why}nothing else was checked: the rest of the spec is checked once this is fixed"
            ))]);
        }
    };
    let mut all = chars::check(file, &root);
    all.extend(merge::overlay_nulls(file, &root));
    all.extend(tree::check_and_prune(file, &mut root));
    match from_tree::read::<RawStack>(&root, text) {
        Ok(raw) => {
            all.sort_by(|a, b| a.pos.cmp(&b.pos).then(a.path.cmp(&b.path)));
            Ok((raw, all))
        }
        Err(_) => {
            if !all.iter().any(|d| d.pos == first.pos) {
                all.push(first);
            }
            all.sort_by(|a, b| a.pos.cmp(&b.pos).then(a.path.cmp(&b.path)));
            Err(all)
        }
    }
}

/// A parser or deserializer error as a diagnostic, in fredgen's words.
pub fn diagnose(file: &str, text: &str, err: &serde_saphyr::Error) -> Diagnostic {
    let pos = err.location().and_then(|l| Pos::from_location(&l));
    let (message, hint) = describe(err);
    let path = pos.map(|p| key_path_at(text, p.line)).unwrap_or_default();
    let first = Diagnostic::new(file, pos, &path, message);
    match hint {
        Some(hint) => first.hint(hint),
        None => first,
    }
}

/// The first tab in the indentation of a line, at or after the line the parser reported (it
/// reports a tab while scanning the token before it, a line early).
fn tab_in_indentation(text: &str, reported: Option<Pos>) -> Option<Pos> {
    let from = reported.map_or(1, |p| p.line);
    text.lines()
        .enumerate()
        .skip(from - 1)
        .take(2)
        .find_map(|(i, line)| {
            let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
            line[..indent].find('\t').map(|col| Pos {
                line: i + 1,
                column: col + 1,
            })
        })
}

/// Gives each diagnostic that has a key path but no position the position of the deepest part of
/// that path present in the spec: a missing key is reported at the mapping that lacks it.
pub fn locate_missing(text: &str, diagnostics: &mut [Diagnostic]) {
    if diagnostics
        .iter()
        .all(|d| d.pos.is_some() || d.path.is_empty())
    {
        return;
    }
    let Some(root) = tree::parse(text) else {
        return;
    };
    for d in diagnostics.iter_mut().filter(|d| d.pos.is_none()) {
        d.pos = tree::locate(&root, &d.path);
    }
}

/// What a parser or deserializer error says, in the words the rest of fredgen uses, and a hint
/// where one helps. Both are read from serde-saphyr's error variants and granit-parser's error
/// kinds, never from their message text: a new wording in either crate changes at most a message
/// fredgen passes through as it is, never what fredgen recognises.
fn describe(err: &serde_saphyr::Error) -> (String, Option<String>) {
    use serde_saphyr::Error as E;
    let hint = |kind: Option<&granit_parser::ErrorKind>| parser_hint(kind?).map(str::to_string);
    // An error read with serde-saphyr's default options (a folder target's `target.yaml`, an
    // override file) comes with a source snippet: its headline is passed on as serde-saphyr
    // wrote it, and only the parser's hints are added.
    if let E::WithSnippet { error, .. } = err {
        return (snippet_headline(err), hint(scan_error_kind(error)));
    }
    let err = original(err);
    match err {
        E::SerdeUnknownField {
            field, expected, ..
        } => (
            format!("unknown key `{field}`"),
            Some(suggest(field, expected)),
        ),
        E::DuplicateMappingKey { key: Some(key), .. } => (
            format!("duplicate key `{key}`"),
            Some("a key may appear once in a mapping; keep one of them".to_string()),
        ),
        E::Budget { breach, .. } => budget_breached(breach),
        E::InvalidScalar {
            ty: "i64" | "u64" | "i32" | "u32",
            ..
        } => ("expected an integer".to_string(), None),
        E::InvalidScalar {
            ty: "bool" | "boolean",
            ..
        } => ("expected `true` or `false`".to_string(), None),
        E::Unexpected {
            expected: "string scalar",
            ..
        } => ("expected a string".to_string(), None),
        _ => match scan_error_kind(err) {
            Some(granit_parser::ErrorKind::RecursionLimitExceeded) => (
                "the spec nests deeper than 32 levels".to_string(),
                Some(TOO_LARGE.to_string()),
            ),
            kind => (message_of(err), hint(kind)),
        },
    }
}

/// The hint for one of the parser's errors, where one helps.
fn parser_hint(kind: &granit_parser::ErrorKind) -> Option<&'static str> {
    use granit_parser::ErrorKind as K;
    match kind {
        K::TabInPlainScalar => Some("YAML indents with spaces, never tabs"),
        K::MappingValueNotAllowed => Some(
            "check this line's indentation against the lines above; quote a value that contains `: `",
        ),
        kind if unclosed(kind) => Some("a bracket, brace or quote opened earlier is not closed"),
        _ => None,
    }
}

/// The first line of an error serde-saphyr rendered with a snippet, as it wrote it (`error: line
/// 11 column 1: unknown field …`), less an alias's location (` (defined at line …`) or a trailing
/// ` at line …`. The one place fredgen reads serde-saphyr's wording; a test pins it.
fn snippet_headline(err: &serde_saphyr::Error) -> String {
    let text = err.to_string();
    let line = text.lines().next().unwrap_or("invalid YAML").trim();
    let end = line
        .find(" (defined at line ")
        .or_else(|| line.rfind(" at line "))
        .unwrap_or(line.len());
    line[..end].to_string()
}

/// The error itself, out of the wrappers that add an alias's location or a source snippet.
fn original(mut err: &serde_saphyr::Error) -> &serde_saphyr::Error {
    loop {
        match err {
            serde_saphyr::Error::AliasError { error, .. }
            | serde_saphyr::Error::WithSnippet { error, .. } => err = error,
            _ => return err,
        }
    }
}

/// The YAML parser's own error kind, when the error is the parser's.
pub(crate) fn scan_error_kind(err: &serde_saphyr::Error) -> Option<&granit_parser::ErrorKind> {
    match original(err) {
        serde_saphyr::Error::ExternalMessage { source, .. } => match &**source {
            serde_saphyr::ExternalMessageSource::Parser(scan) => Some(scan.kind()),
            _ => None,
        },
        _ => None,
    }
}

/// The parser's errors that mean, in a stack spec, that a quote, bracket or brace was left open
/// earlier (the parser notices only where the text stops making sense).
fn unclosed(kind: &granit_parser::ErrorKind) -> bool {
    use granit_parser::ErrorKind as K;
    matches!(
        kind,
        K::ExpectedStreamStart
            | K::ExpectedDocumentStart
            | K::ExpectedNodeContent
            | K::ExpectedBlockMappingKey
            | K::ExpectedFlowMappingSeparator
            | K::ExpectedBlockSequenceEntry
            | K::ExpectedTagBang
            | K::ExpectedTagDirectiveBang
            | K::InvalidDirectiveTerminator
            | K::MissingYamlVersionSeparator
            | K::MissingYamlVersion
            | K::InvalidTagDirectiveTerminator
            | K::InvalidTagTerminator
            | K::MissingTagUri
            | K::MissingAnchorOrAliasName
            | K::InvalidBlockScalarHeader
            | K::DocumentIndicatorInQuotedScalar
            | K::InvalidQuotedScalarIndent
            | K::InvalidTrailingSingleQuotedScalar
            | K::InvalidTrailingDoubleQuotedScalar
            | K::UnknownQuotedScalarEscape
            | K::InvalidQuotedScalarHexEscape
            | K::InvalidLowSurrogateHexEscape
            | K::InvalidLowSurrogate
            | K::MissingLowSurrogate
            | K::UnpairedLowSurrogate
            | K::InvalidUnicodeEscape
    )
}

/// serde-saphyr's message for an error, without the location it appends (fredgen gives the
/// position itself): its first line.
fn message_of(err: &serde_saphyr::Error) -> String {
    use serde_saphyr::MessageFormatter;
    let message = serde_saphyr::DefaultMessageFormatter.format_message(err);
    message
        .lines()
        .next()
        .unwrap_or("invalid YAML")
        .trim()
        .to_string()
}

/// The hint for a spec that breaches a parser budget.
const TOO_LARGE: &str =
    "stack specs are small and flat; fredgen refuses alias bombs and deep nesting";

/// A breached parser budget (the limits [`options`] sets), in fredgen's words, with a hint.
fn budget_breached(breach: &serde_saphyr::budget::BudgetBreach) -> (String, Option<String>) {
    use serde_saphyr::budget::BudgetBreach as B;
    let too_large = |message: String| (message, Some(TOO_LARGE.to_string()));
    match breach {
        B::Documents { .. } => (
            "the spec holds more than one YAML document".to_string(),
            Some(
                "a stack spec is one document: remove the `---` line and what follows, or split the file"
                    .to_string(),
            ),
        ),
        B::Aliases { .. } | B::Anchors { .. } => {
            too_large("the spec uses more than 10000 YAML anchors or aliases".to_string())
        }
        B::Nodes { .. } | B::Events { .. } | B::RecordedAnchorEvents { .. } => too_large(format!(
            "the spec expands to more than {MAX_NODES} YAML nodes (with its aliases expanded)"
        )),
        B::ScalarBytes { .. } | B::RecordedAnchorBytes { .. } => too_large(format!(
            "the spec expands to more than {MAX_SCALAR_BYTES} bytes of text (with its aliases expanded)"
        )),
        B::Depth { .. } => too_large("the spec nests deeper than 32 levels".to_string()),
        // A limit fredgen does not set: named as serde-saphyr's `Debug` names it, without a hint.
        other => {
            let name = format!("{other:?}");
            let what = name.split([' ', '{', '(']).next().unwrap_or(&name);
            (
                format!("the spec is too large to be a stack spec ({what})"),
                None,
            )
        }
    }
}

/// "did you mean `x`?" when one known key is close to `unknown`, else the list of known keys.
pub fn suggest(unknown: &str, known: &[&str]) -> String {
    match closest(unknown, known) {
        Some(k) => format!("did you mean `{k}`?"),
        None => format!("expected one of: {}", known.join(", ")),
    }
}

/// The known name within a few edits of `unknown` (the nearest; the first of equals), if any.
pub fn closest<'a>(unknown: &str, known: &[&'a str]) -> Option<&'a str> {
    let (d, k) = known
        .iter()
        .map(|k| (strsim::levenshtein(unknown, k), *k))
        .min()?;
    (d <= 2.max(unknown.len() / 3)).then_some(k)
}

/// The hint for a name given on the command line (`--target`, `--env`) that is none of `known`:
/// "did you mean `x`? " when one is close ([`closest`], ignoring case, or the only one that
/// starts the name or that the name starts: `production` for `prod`), then `list`.
pub fn did_you_mean(unknown: &str, known: &[&str], list: String) -> String {
    let lower = unknown.to_lowercase();
    let lowered: Vec<String> = known.iter().map(|k| k.to_lowercase()).collect();
    let lowered: Vec<&str> = lowered.iter().map(String::as_str).collect();
    let prefixed: Vec<usize> = (0..known.len())
        .filter(|&i| {
            let k = lowered[i];
            !k.is_empty() && !lower.is_empty() && (lower.starts_with(k) || k.starts_with(&lower))
        })
        .collect();
    let near = closest(&lower, &lowered)
        .and_then(|k| lowered.iter().position(|l| *l == k))
        .or(match prefixed[..] {
            [i] => Some(i),
            _ => None,
        });
    match near {
        Some(i) => format!("did you mean `{}`? {list}", known[i]),
        None => list,
    }
}

/// The key path of the block-style key on `line` (1-based), found by walking up to less-indented
/// keys: `frontend.replicas`, `workers[1].name`. Empty when the line holds no key.
pub fn key_path_at(text: &str, line: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let Some(start) = lines.get(line.wrapping_sub(1)) else {
        return String::new();
    };
    let key_of = |l: &str| -> Option<(usize, bool, String)> {
        let indent = l.len() - l.trim_start().len();
        let body = l.trim_start();
        let (item, body) = match body.strip_prefix("- ") {
            Some(b) => (true, b.trim_start()),
            None => (false, body),
        };
        let key = body.split_once(':')?.0.trim();
        let ok = !key.is_empty()
            && !key.starts_with('#')
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
        ok.then(|| (indent, item, key.to_string()))
    };
    let Some((mut indent, mut item, key)) = key_of(start) else {
        return String::new();
    };
    let mut parts = vec![key];
    let mut i = line - 1;
    while i > 0 && indent > 0 {
        i -= 1;
        let l = lines[i];
        if l.trim().is_empty() || l.trim_start().starts_with('#') {
            continue;
        }
        let this_indent = l.len() - l.trim_start().len();
        if item && l.trim_start().starts_with("- ") && this_indent == indent {
            continue; // an earlier item of the same list
        }
        if !item && l.trim_start().starts_with("- ") && this_indent + 2 == indent {
            // the `- first_key:` line of the list item the current mapping belongs to
            item = true;
            indent = this_indent;
            continue;
        }
        if this_indent < indent
            && let Some((ind, it, k)) = key_of(l)
        {
            if item {
                let index = lines[i + 1..line]
                    .iter()
                    .filter(|x| {
                        let t = x.trim_start();
                        t.starts_with("- ") && x.len() - t.len() == indent
                    })
                    .count()
                    .saturating_sub(1);
                let last = parts.pop().unwrap_or_default();
                parts.push(format!("[{index}].{last}"));
            }
            parts.push(k);
            indent = ind;
            item = it;
        }
    }
    let mut path = String::new();
    for p in parts.iter().rev() {
        if !path.is_empty() && !p.starts_with('[') {
            path.push('.');
        }
        path.push_str(p);
    }
    path.replace(".[", "[")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths_follow_block_indentation_and_list_items() {
        let text = "name: x\nworkers:\n  - name: a\n    image: b\n  - name: c\n    replicas:\n      max: 3\n";
        assert_eq!(key_path_at(text, 1), "name");
        assert_eq!(key_path_at(text, 4), "workers[0].image");
        assert_eq!(key_path_at(text, 5), "workers[1].name");
        assert_eq!(key_path_at(text, 7), "workers[1].replicas.max");
    }

    #[test]
    fn suggest_offers_the_closest_key_only_when_close() {
        let known = ["image", "replicas", "port"];
        assert_eq!(suggest("replica", &known), "did you mean `replicas`?");
        assert_eq!(suggest("helth", &["health"]), "did you mean `health`?");
        assert_eq!(
            suggest("zzzzzz", &["image", "port"]),
            "expected one of: image, port"
        );
    }

    /// The first diagnostic of a spec that fails to parse.
    fn first_error(text: &str) -> Diagnostic {
        match parse("s.yaml", text) {
            Err(mut all) => all.remove(0),
            Ok(_) => panic!("the spec parsed"),
        }
    }

    #[test]
    fn an_unknown_key_is_read_from_serde_saphyrs_error_variant() {
        let e = "unknown field `x`";
        let err = serde_saphyr::from_str_with_options::<RawStack>("nmae: shop\n", options())
            .expect_err(e);
        assert!(
            matches!(
                original(&err),
                serde_saphyr::Error::SerdeUnknownField { field, .. } if field == "nmae"
            ),
            "{err:?}"
        );
        let (message, hint) = describe(&err);
        assert_eq!(message, "unknown key `nmae`");
        assert_eq!(hint.as_deref(), Some("did you mean `name`?"));
    }

    #[test]
    fn parser_errors_are_told_apart_by_their_kind() {
        use granit_parser::ErrorKind as K;
        let kind = |text: &str| {
            let err = tree::parse_result(text).expect_err("invalid YAML");
            scan_error_kind(&err).cloned()
        };
        assert!(matches!(kind("a: b: c\n"), Some(K::MappingValueNotAllowed)));
        assert!(matches!(
            kind("a:\n  b: 1\n\tc: 2\n"),
            Some(K::TabInPlainScalar)
        ));
        let open = kind("f:\n  h: { p: x\n  r: { a: 1 }\n");
        assert!(
            matches!(open, Some(K::ExpectedFlowMappingSeparator)),
            "{open:?}"
        );
        assert!(open.is_some_and(|k| unclosed(&k)));
        let tab = first_error("name: shop\nfrontend:\n  image: x\n\tport: 8000\n");
        assert_eq!(tab.message, "a tab in the indentation");
        assert!(
            tab.hint
                .as_deref()
                .is_some_and(|h| h.starts_with("YAML indents with spaces, never tabs")),
            "{tab:?}"
        );
    }

    #[test]
    fn serde_saphyrs_snippet_headline_is_pinned() {
        // A folder target's manifest and an override file are read with serde-saphyr's default
        // options, whose errors carry a snippet; fredgen passes their first line on. If this
        // fails after an upgrade, the folder-target error snapshots change with it.
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Two {
            id: String,
            kind: String,
        }
        let err = serde_saphyr::from_str::<Two>("id: a\nkidn: b\n").expect_err("unknown field");
        assert_eq!(
            describe(&err),
            (
                "error: line 2 column 1: unknown field `kidn`, expected one of id, kind"
                    .to_string(),
                None
            )
        );
    }

    #[test]
    fn a_second_document_is_a_budget_breach() {
        let d = first_error("name: a\n---\nname: b\n");
        assert_eq!(d.message, "the spec holds more than one YAML document");
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        assert!(parse("bomb.yaml", &bomb).is_err());
    }
}

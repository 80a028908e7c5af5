//! Stage 2 — the validated stack: every default resolved, no `Option` a backend must guess about.
//!
//! A [`Stack`] is built for one target and one environment by [`validate::build`], which collects
//! every problem in the spec before failing. Backends and templates see only these types; they are
//! `Serialize` because they are the `stack` part of every template context.

pub mod addresses;
pub mod calls;
pub mod delivery;
pub mod dns;
pub mod quantity;
pub mod routes;
pub mod secret_shapes;
pub mod sites;
pub mod validate;

use serde::Serialize;

/// The stack for one target and environment.
#[derive(Debug, Clone, Serialize)]
pub struct Stack {
    /// The stack name (DNS-1123 label).
    pub name: String,
    /// The environment name; `default` when the spec declares no environments.
    pub env: String,
    /// Prefix of cloud resource names: `<name>-<env>`, or `<name>` for `default`.
    pub prefix: String,
    /// Kubernetes namespace of the app.
    pub namespace: String,
    /// Public host of the frontend.
    pub domain: String,
    /// Every public host (`domain` first) with its routes, most specific first.
    pub hosts: Vec<Host>,
    /// The DNS zone all public hosts (the routes' and the static sites') lie in when there are
    /// several (the longest name they share, e.g. `acme.com` for `api.acme.com` and
    /// `www.acme.com`); `None` with one host.
    pub dns_zone: Option<String>,
    /// The zone the hosts' parent names share ([`routes::parent_zone`]): `example.com` for
    /// `shop.example.com` (and `api.shop.example.com`).
    pub parent_zone: String,
    /// The public web service.
    pub frontend: Frontend,
    /// Static websites, each on a host of its own.
    pub static_sites: Vec<StaticSite>,
    /// Background workers.
    pub workers: Vec<Worker>,
    /// Internal HTTP services.
    pub services: Vec<Service>,
    /// RabbitMQ, when declared.
    pub queue: Option<Queue>,
    /// PostgreSQL, when declared.
    pub postgres: Option<Postgres>,
    /// Monitoring.
    pub monitoring: Monitoring,
    /// Who serves the public hosts' DNS records.
    pub dns: Dns,
    /// Secret names the app containers read, sorted, unique; materialised as `<name>-app-secrets`.
    pub app_secrets: Vec<String>,
    /// Every secret name the platform's store must hold (apps, alerting, Grafana, the Cloudflare
    /// API token), sorted, unique.
    pub secrets: Vec<String>,
    /// The target settings.
    pub target: TargetSettings,
    /// How changes reach the cluster (`delivery:`), when the spec says.
    pub delivery: Option<delivery::Delivery>,
    /// The environment owning the cluster this one deploys into (`cluster:` in its overlay):
    /// then only the app layer renders. `None` when it owns its cluster.
    pub cluster: Option<SharedCluster>,
    /// The prefix of the cloud resources the app reads (store secrets, the managed database
    /// instance, Google service accounts): its own [`Stack::prefix`], or its host's for a guest.
    pub cluster_prefix: String,
    /// The environment whose store secrets the app reads: its own, or its host's for a guest.
    pub cluster_env: String,
    /// The environments that deploy into this one's cluster, by name; empty for a guest.
    pub guests: Vec<Guest>,
    /// The cluster runs the CloudNativePG operator (its `30-platform` installs it): for its own
    /// in-cluster database, or for its guests' (each one's own `Cluster`, whatever the host's
    /// placement). True for a guest with a database: it relies on its host's operator.
    pub cloudnative_pg: bool,
    /// The public hosts of the routes this environment's cluster serves: its own, then its
    /// guests' (their certificates and DNS records are the host's); its own alone for a guest.
    pub cluster_hosts: Vec<String>,
}

impl Guest {
    /// The guest `stack` as its host renders for it.
    pub fn of(stack: &Stack) -> Guest {
        Guest {
            env: stack.env.clone(),
            namespace: stack.namespace.clone(),
            prefix: stack.prefix.clone(),
            hosts: stack.hosts.clone(),
            database: stack.postgres.is_some(),
        }
    }
}

/// What a guest environment knows of the cluster it deploys into.
#[derive(Debug, Clone, Serialize)]
pub struct SharedCluster {
    /// The environment that owns the cluster.
    pub host: String,
    /// The host's app namespace (the guest's differs: `<name>-<env>`).
    pub host_namespace: String,
    /// The value of the host's app label (`fredgen.io/app`) on its namespace: how the guest's
    /// apply proves the kubeconfig context reaches the host's cluster.
    pub host_label: String,
    /// A short-lived environment (`preview: true`): no Velero schedules.
    pub preview: bool,
    /// What the host's render stands up that the guest's apply relies on, as facts of the apply
    /// model (`crd:…`, `webhook:…`, `ns:…`, `store:<name>/<namespace>`): filled from the host's
    /// render before the guest renders, so its plan claims only what the host provides.
    pub provides: Vec<String>,
}

/// A guest environment, as its host renders for it: the names the host's certificates, DNS,
/// secret store and IAM must cover.
#[derive(Debug, Clone, Serialize)]
pub struct Guest {
    /// The guest environment's name.
    pub env: String,
    /// Its app namespace.
    pub namespace: String,
    /// Its resource prefix (`<name>-<env>`): names what the host creates for it (GKE: its load
    /// balancer's address and certificates).
    pub prefix: String,
    /// Its public hosts (`domain` first), with their routes.
    pub hosts: Vec<Host>,
    /// It has a database: its own single-instance CloudNativePG `Cluster` in its namespace
    /// (never a database in the host's instance, whose credentials would reach the host's data),
    /// so the host's platform runs the operator.
    pub database: bool,
}

/// Replica bounds.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Replicas {
    /// Minimum replicas.
    pub min: u32,
    /// Maximum replicas.
    pub max: u32,
}

/// What the HorizontalPodAutoscaler aims at.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Scaling {
    /// Average CPU utilization target, in percent of the request (10 to 95).
    pub cpu: u32,
}

impl Scaling {
    /// The templates' target before `scaling:` existed.
    pub const DEFAULT: Scaling = Scaling { cpu: 70 };
}

/// The Deployment's RollingUpdate strategy; never both steps zero.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Rollout {
    /// `maxSurge`.
    pub max_surge: Step,
    /// `maxUnavailable`.
    pub max_unavailable: Step,
}

impl Rollout {
    /// The templates' strategy before `rollout:` existed: surge a quarter, never go below the
    /// desired count.
    pub const DEFAULT: Rollout = Rollout {
        max_surge: Step::Percent(25),
        max_unavailable: Step::Count(0),
    };
}

/// A Kubernetes IntOrString step: serialized as an integer (`1`) or a percentage string (`25%`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A number of pods.
    Count(u32),
    /// A percentage of the desired count, 0 to 100.
    Percent(u32),
}

impl Step {
    /// True for `0` and `0%`.
    pub fn is_zero(self) -> bool {
        matches!(self, Step::Count(0) | Step::Percent(0))
    }
}

impl Serialize for Step {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Step::Count(n) => s.serialize_u32(*n),
            Step::Percent(p) => s.serialize_str(&format!("{p}%")),
        }
    }
}

/// Resource requests (limits are derived by the templates: memory limit = request).
#[derive(Debug, Clone, Serialize)]
pub struct Resources {
    /// CPU request, e.g. `500m`.
    pub cpu: String,
    /// Memory request, e.g. `512Mi`; also the memory limit (no overcommit of memory).
    pub memory: String,
    /// CPU limit: twice the request, in millicores, e.g. `1000m`.
    pub cpu_limit: String,
}

/// One environment variable with a literal, non-secret value.
#[derive(Debug, Clone, Serialize)]
pub struct EnvVar {
    /// Variable name.
    pub name: String,
    /// Value.
    pub value: String,
}

impl EnvVar {
    /// The names `$(NAME)` references in the value, as Kubernetes expands them (`$$` writes a
    /// literal `$`).
    fn references(&self) -> Vec<&str> {
        let mut found = Vec::new();
        let mut rest = self.value.as_str();
        while let Some(i) = rest.find('$') {
            let after = &rest[i + 1..];
            if let Some(escaped) = after.strip_prefix('$') {
                rest = escaped;
            } else if let Some((name, tail)) =
                after.strip_prefix('(').and_then(|a| a.split_once(')'))
            {
                found.push(name);
                rest = tail;
            } else {
                rest = after;
            }
        }
        found
    }

    /// Orders literal variables so that each comes after every other literal it references with
    /// `$(NAME)`: Kubernetes expands a reference only to a variable defined earlier in the list
    /// (the injected ones and the secrets come first in every container). Otherwise by name; a
    /// cycle is left in name order, and Kubernetes leaves such references as they are.
    pub fn in_reference_order(mut vars: Vec<EnvVar>) -> Vec<EnvVar> {
        vars.sort_by(|a, b| a.name.cmp(&b.name));
        let mut ordered: Vec<EnvVar> = Vec::with_capacity(vars.len());
        while !vars.is_empty() {
            let pending: std::collections::BTreeSet<&str> =
                vars.iter().map(|v| v.name.as_str()).collect();
            // The first (by name) whose references are all placed, or, in a cycle, the first.
            let next = vars
                .iter()
                .position(|v| {
                    v.references()
                        .iter()
                        .all(|r| *r == v.name || !pending.contains(r))
                })
                .unwrap_or(0);
            ordered.push(vars.remove(next));
        }
        ordered
    }
}

/// Where a process serves Prometheus metrics.
#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    /// HTTP path.
    pub path: String,
    /// Container port.
    pub port: u16,
}

/// The frontend.
#[derive(Debug, Clone, Serialize)]
pub struct Frontend {
    /// Kubernetes name: `<stack>-web`.
    pub name: String,
    /// Image reference.
    pub image: String,
    /// Container port.
    pub port: u16,
    /// Command; empty means the image's entrypoint.
    pub command: Vec<String>,
    /// Health check path for probes and the load balancer.
    pub health_path: String,
    /// Metrics endpoint, when the app has one.
    pub metrics: Option<Metrics>,
    /// Replica bounds for the HPA.
    pub replicas: Replicas,
    /// The HPA's targets.
    pub scaling: Scaling,
    /// The Deployment's rolling update.
    pub rollout: Rollout,
    /// Requests.
    pub resources: Resources,
    /// Literal environment.
    pub env: Vec<EnvVar>,
    /// Secret names, materialised by external-secrets.
    pub secrets: Vec<String>,
    /// Migration command run once per release before the rollout.
    pub migrate: Option<Vec<String>>,
    /// Name of the migration Job: changes with the image and command, because Jobs are immutable.
    pub migrate_job: String,
    /// ServiceAccount name.
    pub service_account: String,
    /// The variable the frontend (and its migration Job) reads the database URL from; `None`: it
    /// does not use the database (no URL, no credentials, no flow to it).
    pub database_env: Option<String>,
    /// The variable the frontend (and its migration Job) reads the queue URL from; `None`: it
    /// does not use the queue.
    pub queue_env: Option<String>,
    /// Whether the frontend may reach public addresses on HTTPS.
    pub egress_internet: bool,
    /// The `host:port` destinations the frontend may reach (its migration Job: none).
    pub egress: Vec<Destination>,
    /// The internal services it calls, by service name.
    pub calls: Vec<Call>,
}

/// One call a process makes to an internal service.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Call {
    /// The service's name in the spec.
    pub service: String,
    /// Its Kubernetes name (Deployment, Service, pod label): `<stack>-<service>`.
    pub name: String,
    /// The variable the caller reads the URL from.
    pub env: String,
    /// `http://<name>.<namespace>.svc.cluster.local:<port>`.
    pub url: String,
    /// The service's container port: the port the NetworkPolicies open.
    pub port: u16,
}

/// One internal HTTP service: a Deployment behind a ClusterIP Service that only its callers reach.
#[derive(Debug, Clone, Serialize)]
pub struct Service {
    /// Kubernetes name: `<stack>-<short_name>`.
    pub name: String,
    /// The name in the spec.
    pub short_name: String,
    /// Image reference.
    pub image: String,
    /// Container port; the Service listens on the same port.
    pub port: u16,
    /// Command; empty means the image's entrypoint.
    pub command: Vec<String>,
    /// Health check path for the probes.
    pub health_path: String,
    /// Metrics endpoint, when the service has one.
    pub metrics: Option<Metrics>,
    /// Replica bounds for the HPA.
    pub replicas: Replicas,
    /// The HPA's targets.
    pub scaling: Scaling,
    /// The Deployment's rolling update.
    pub rollout: Rollout,
    /// Requests.
    pub resources: Resources,
    /// Literal environment.
    pub env: Vec<EnvVar>,
    /// Secret names.
    pub secrets: Vec<String>,
    /// ServiceAccount name.
    pub service_account: String,
    /// The variable the service reads the database URL from; `None`: it does not use it.
    pub database_env: Option<String>,
    /// The variable the service reads the queue URL from; `None`: it does not use it.
    pub queue_env: Option<String>,
    /// Whether the service may reach public addresses on HTTPS.
    pub egress_internet: bool,
    /// The `host:port` destinations the service may reach.
    pub egress: Vec<Destination>,
    /// The internal services it calls, by service name.
    pub calls: Vec<Call>,
    /// Whether it has public routes (the load balancer then reaches it); otherwise only its
    /// callers do.
    pub public: bool,
}

/// A public host name and the routes it serves, most specific first (longer paths, then routes
/// that name their methods); on `domain`, the frontend's catch-all comes last.
#[derive(Debug, Clone, Serialize)]
pub struct Host {
    /// The host name.
    pub name: String,
    /// A stable id of the name (16 hex digits), for cloud resources named per host.
    pub key: String,
    /// Its routes.
    pub routes: Vec<Route>,
}

/// One public route: requests for its host under `path` (with one of `methods`, when it names
/// any) go to the Service `backend`.
#[derive(Debug, Clone, Serialize)]
pub struct Route {
    /// Unique in the stack and a DNS-1123 label: `web` for the frontend's catch-all,
    /// `<service>-<n>` for a service's n-th `public` entry.
    pub id: String,
    /// The host name.
    pub host: String,
    /// Path prefix, matched on whole segments; `/` for every path.
    pub path: String,
    /// Upper-case HTTP methods; empty for every method.
    pub methods: Vec<String>,
    /// The Kubernetes Service (and Deployment) that serves it.
    pub backend: String,
    /// The Service's port.
    pub port: u16,
    /// The backend's health check path (load balancers that check per backend use it).
    pub health_path: String,
    /// Where the route is written in the spec (`None` for the frontend's), for the targets'
    /// refusals.
    #[serde(skip)]
    pub at: Option<crate::error::Pos>,
    /// Its key path in the spec (`services[1].public[0]`; `domain` for the frontend's).
    #[serde(skip)]
    pub spec_path: String,
}

/// A static website: files in a bucket, served on its own host by the target's CDN.
#[derive(Debug, Clone, Serialize)]
pub struct StaticSite {
    /// The name in the spec.
    pub name: String,
    /// Cloud resource name: `<prefix>-site-<name>` (buckets add what makes them globally
    /// unique); `site-` keeps it apart from the stack's own buckets and load balancer objects.
    pub resource: String,
    /// A stable id of the host (16 hex digits).
    pub key: String,
    /// The public host.
    pub host: String,
    /// Base path on the host and in the bucket: `/` or `/docs`.
    pub path: String,
    /// A path with no file serves `<path>/index.html` with status 200.
    pub spa: bool,
    /// Seconds an HTML page may be cached.
    pub cache_html: u32,
    /// Seconds every other file may be cached.
    pub cache_assets: u32,
}

/// One `host:port` entry of `egress`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Destination {
    /// The entry as written, for comments and reports.
    pub entry: String,
    /// The TCP port.
    pub port: u16,
    /// The IPv4 block it opens, for an address or CIDR; `None` for a DNS name, which a
    /// NetworkPolicy cannot match: the port is then opened to public addresses only.
    pub cidr: Option<String>,
}

/// One worker.
#[derive(Debug, Clone, Serialize)]
pub struct Worker {
    /// Kubernetes name: `<stack>-<short_name>`.
    pub name: String,
    /// The name in the spec.
    pub short_name: String,
    /// Image reference.
    pub image: String,
    /// Command; empty means the image's entrypoint.
    pub command: Vec<String>,
    /// The queue whose depth scales this worker, if any.
    pub consumes: Option<String>,
    /// Metrics endpoint, when the process has one.
    pub metrics: Option<Metrics>,
    /// Replica bounds.
    pub replicas: Replicas,
    /// The HPA's targets; `None` for a worker that `consumes` a queue (KEDA scales it on the
    /// queue's depth, with no CPU target).
    pub scaling: Option<Scaling>,
    /// The Deployment's rolling update.
    pub rollout: Rollout,
    /// Requests.
    pub resources: Resources,
    /// Whether the worker may reach public addresses on HTTPS.
    pub egress_internet: bool,
    /// The `host:port` destinations the worker may reach.
    pub egress: Vec<Destination>,
    /// The variable the worker reads the database URL from; `None`: it does not use the database.
    pub database_env: Option<String>,
    /// The variable the worker reads the queue URL from; `None`: it does not use the queue.
    pub queue_env: Option<String>,
    /// Probe command (argv) when the worker has no metrics endpoint to probe; empty otherwise.
    pub health_command: Vec<String>,
    /// Literal environment.
    pub env: Vec<EnvVar>,
    /// Secret names.
    pub secrets: Vec<String>,
    /// ServiceAccount name.
    pub service_account: String,
    /// The internal services it calls, by service name.
    pub calls: Vec<Call>,
}

/// RabbitMQ.
#[derive(Debug, Clone, Serialize)]
pub struct Queue {
    /// RabbitmqCluster name: `<stack>-rabbitmq`.
    pub name: String,
    /// Minor version, e.g. `4.1`.
    pub version: String,
    /// Exact image, e.g. `rabbitmq:4.1.4-management`.
    pub image: String,
    /// Replicas (odd).
    pub replicas: u32,
    /// Volume size per replica.
    pub storage: String,
    /// Queue names (declared as quorum queues).
    pub queues: Vec<String>,
}

/// Where Postgres runs.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// The platform's managed service.
    Managed,
    /// CloudNativePG in the cluster.
    InCluster,
}

/// PostgreSQL.
#[derive(Debug, Clone, Serialize)]
pub struct Postgres {
    /// Instance or cluster name: `<stack>-db`.
    pub name: String,
    /// Major version, e.g. `16`.
    pub version: String,
    /// Exact CloudNativePG image for in-cluster placement.
    pub image: String,
    /// Storage as a quantity.
    pub storage: String,
    /// Storage in GiB.
    pub storage_gb: u32,
    /// Highly available.
    pub ha: bool,
    /// Backup retention.
    pub backup_retention_days: u32,
    /// Managed or in-cluster.
    pub placement: Placement,
    /// Database name.
    pub database: String,
    /// Application user.
    pub user: String,
    /// Secret with `username`, `password`, `host`, `port`, `dbname`, `uri`.
    pub app_secret: String,
    /// In-cluster: Barman Cloud archives it (base backups and WAL); never for a guest, whose
    /// database is its own copy for development and review, not a record to recover.
    pub backups: bool,
    /// In-cluster: its archive generation (`postgres.backup.generation`, 1 by default).
    pub generation: u32,
    /// In-cluster: the server name this database archives under in the backup bucket (its
    /// name for generation 1, `<name>-g<N>` after).
    pub archive: String,
    /// In-cluster, generation 2 and later: the server name of the previous generation, which
    /// this database is created from (`bootstrap.recovery`).
    pub recover_from: Option<String>,
    /// With `recover_from`: the point in time to recover to (RFC 3339); the end of the archive
    /// when `None`.
    pub recover_to: Option<String>,
}

/// Alert routing.
#[derive(Debug, Clone, Serialize)]
pub struct Alerts {
    /// Slack channel, e.g. `#fred-alerts`.
    pub slack_channel: String,
    /// Name of the secret holding the Slack webhook URL.
    pub webhook_secret: String,
}

/// Monitoring.
#[derive(Debug, Clone, Serialize)]
pub struct Monitoring {
    /// Prometheus metrics, ServiceMonitors and alert rules.
    pub metrics: bool,
    /// Logs to Loki through Alloy.
    pub logs: bool,
    /// Alert routing, when declared.
    pub alerts: Option<Alerts>,
}

/// Who serves the public hosts' DNS records.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DnsProvider {
    /// The platform's own DNS: Route 53 (eks), Cloud DNS (gke), Hetzner DNS (hetzner).
    Cloud,
    /// Cloudflare DNS, records never proxied (the load balancers terminate TLS themselves).
    Cloudflare,
}

/// `dns:`, resolved.
#[derive(Debug, Clone, Serialize)]
pub struct Dns {
    /// The provider.
    pub provider: DnsProvider,
    /// Cloudflare's settings, exactly when `provider` is Cloudflare.
    pub cloudflare: Option<Cloudflare>,
}

/// Cloudflare DNS for the stack's public hosts.
#[derive(Debug, Clone, Serialize)]
pub struct Cloudflare {
    /// The Cloudflare zone every public host lies in (e.g. `example.com`).
    pub zone: String,
    /// The store secret holding the Cloudflare API token (e.g. `CLOUDFLARE_API_TOKEN`).
    pub token_secret: String,
    /// The Kubernetes Secret the token is synced into, in each namespace that reads it.
    pub secret: String,
    /// The key of the token in that Secret.
    pub secret_key: String,
}

/// The resolved target block.
#[derive(Debug, Clone, Serialize)]
pub struct TargetSettings {
    /// AWS/GCP region.
    pub region: Option<String>,
    /// GCP project.
    pub project: Option<String>,
    /// Hetzner location.
    pub location: Option<String>,
    /// Kubernetes minor version.
    pub kubernetes: String,
    /// CIDRs allowed to reach the API endpoint; empty means private only.
    pub api_allowed_cidrs: Vec<String>,
    /// A folder target's own keys, each with its value or default (`null` for an optional key
    /// that is not set): templates read them as `target.<id>.<key>`.
    #[serde(flatten)]
    pub settings: std::collections::BTreeMap<String, serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::EnvVar;

    fn var(name: &str, value: &str) -> EnvVar {
        EnvVar {
            name: name.into(),
            value: value.into(),
        }
    }

    #[test]
    fn a_variable_comes_after_the_ones_it_references() {
        let names = |vars: Vec<EnvVar>| {
            EnvVar::in_reference_order(vars)
                .into_iter()
                .map(|v| v.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(vec![
                var("A_URL", "http://$(HOST):$(PORT)/"),
                var("HOST", "db"),
                var("PORT", "$(BASE)0"),
                var("BASE", "543"),
                var("PRICE", "$$(HOST) costs $5"),
                var("SELF", "$(SELF)"),
                var("X", "$(Y)"),
                var("Y", "$(X)"),
            ]),
            ["BASE", "HOST", "PORT", "A_URL", "PRICE", "SELF", "X", "Y"]
        );
    }
}

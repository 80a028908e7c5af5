//! Stage 3 — the Google GKE backend: VPC-native network, private regional GKE, Cloud SQL, GKE Ingress.

use super::*;
use crate::model::Placement;
use crate::model::validate::refuse_keys;
use crate::render::{SecretRef, egress_to};

/// Google GKE.
pub struct Gke;

/// private.googleapis.com: the Private Google Access VIPs that 10-network's private zone points
/// every `*.googleapis.com` name at.
const GOOGLE_APIS_VIP: &str = "199.36.153.8/30";

/// A GCP project id as a pattern ([`is_project_id`]).
pub const PROJECT_ID: &str = "^[a-z][-a-z0-9]{4,28}[a-z0-9]$";

impl Target for Gke {
    fn block_keys(&self) -> Vec<super::BlockKey> {
        use super::{BlockKey, KeyValues};
        vec![
            BlockKey::new(
                "project",
                true,
                "GCP project id.",
                KeyValues::Pattern(PROJECT_ID),
            ),
            BlockKey::new("region", true, "GCP region.", KeyValues::OneOf(REGIONS)),
        ]
    }

    fn id(&self) -> &'static str {
        "gke"
    }
    fn describe(&self) -> &'static str {
        "Google GKE: VPC-native network + Cloud NAT, private regional GKE, Cloud SQL, GKE Ingress, Cloud DNS, Secret Manager"
    }
    fn supported_kubernetes(&self) -> &'static [&'static str] {
        // REGULAR channel minors in Nov 2026 (1.37 is in RAPID only).
        &["1.36", "1.35", "1.34"]
    }
    fn has_managed_postgres(&self) -> bool {
        true
    }
    fn check_block(&self, v: &mut Validator, block: &RawTarget, path: &str) {
        refuse_keys(v, block, path, &["project", "region"]);
        match &block.project {
            None => v.missing(
                &format!("{path}.project"),
                "the GCP project id, e.g. `project: acme-prod`",
            ),
            Some(p) if !is_project_id(&p.value) => {
                v.error_at(
                    p,
                    &format!("{path}.project"),
                    format!("`{}` is not a GCP project id", p.value),
                )
                .hint = Some(
                    "6 to 30 lowercase letters, digits and `-`, starting with a letter".into(),
                );
            }
            Some(_) => {}
        }
        match &block.region {
            None => v.missing(
                &format!("{path}.region"),
                "the GCP region, e.g. `region: europe-west1`",
            ),
            Some(r) if !REGIONS.contains(&r.value.as_str()) => {
                let close = crate::spec::suggest(&r.value, REGIONS);
                v.error_at(
                    r,
                    &format!("{path}.region"),
                    format!("`{}` is not a GCP region", r.value),
                )
                .hint = Some(if close.starts_with("did you mean") {
                    close
                } else {
                    "e.g. `europe-west1` or `us-central1`".into()
                });
            }
            Some(_) => {}
        }
    }
    fn check_stack(&self, v: &mut Validator, stack: &Stack) {
        let names = cloud_names(stack);
        check_cloud_names(v, stack, &names);
        // Cloud Storage refuses bucket names that contain "google" or look like it.
        for n in names
            .iter()
            .filter(|n| n.kind == "Cloud Storage bucket name")
        {
            if n.name.contains("google") || n.name.contains("g00gle") {
                v.error(
                    None,
                    "name",
                    format!(
                        "the Cloud Storage bucket name `{}` contains `google`",
                        n.name
                    ),
                )
                .hint = Some(format!(
                    "Cloud Storage refuses bucket names with `google` in them; fredgen builds \
                     this one from {}: change the one that has it",
                    n.from
                ));
            }
        }
        check_github_access(v, stack);
        check_host_count(
            v,
            stack,
            15,
            "a GKE Ingress's target HTTPS proxy serves at most 15 certificates (one per host)",
        );
        for r in method_routes(stack) {
            v.error(
                r.at,
                &format!("{}.methods", r.spec_path),
                "GKE's load balancers cannot route by HTTP method".into(),
            )
            .hint = Some(
                "neither GKE Ingress nor the GKE Gateway controller matches methods (GKE's Gateway \
                 API conformance reports list HTTPRouteMethodMatching as unsupported): route by \
                 path instead (e.g. writes under `/write`), or let one service take every method \
                 on this path; eks and hetzner route by method"
                    .into(),
            );
        }
    }
    fn per_environment(&self, stack: &Stack) -> Vec<(&'static str, String, &'static str)> {
        stack
            .target
            .project
            .iter()
            .map(|p| {
                (
                    "project",
                    p.clone(),
                    "one project is one Workload Identity pool: a ServiceAccount of one environment named like the other's acts as its Google service accounts (database, secrets)",
                )
            })
            .collect()
    }
    fn largest_node(&self, _env: &str) -> NodeCapacity {
        // Both node pools of 20-cluster are e2-standard-4 (4 vCPU, 16 GiB). GKE reserves 80m of
        // CPU on 4 cores, and of memory 25 % of the first 4 GiB, 20 % of the next 4 and 10 % of the
        // next 8, plus 100Mi for eviction: 3920m and 13,621Mi allocatable.
        NodeCapacity {
            node_type: "e2-standard-4",
            millicores: 3_920,
            bytes: 13_621 << 20,
        }
    }
    fn platform(&self, stack: &Stack) -> Result<Platform> {
        Ok({
            let managed_db = stack
                .postgres
                .as_ref()
                .filter(|p| p.placement == Placement::Managed);
            let in_cluster_db = stack
                .postgres
                .as_ref()
                .filter(|p| p.placement == Placement::InCluster);
            let project = stack.target.project.as_deref().unwrap_or_default();
            let region = stack.target.region.as_deref().unwrap_or_default();
            let gsa = |suffix: &str| {
                format!(
                    "{}-{suffix}@{project}.iam.gserviceaccount.com",
                    stack.cluster_prefix
                )
            };
            let wi = "iam.gke.io/gcp-service-account".to_string();
            // Workload Identity on Dataplane V2: the GKE metadata server answers on 169.254.169.254:80
            // (169.254.169.252:988 behind it).
            let identity_egress = vec![
                egress_to("169.254.169.254/32", &[80]),
                egress_to("169.254.169.252/32", &[988]),
            ];
            Platform {
                // The GKE Ingress sends traffic and health checks straight to the pods (container-
                // native load balancing), which the NetworkPolicies admit; a ClusterIP Service needs
                // the NEG annotation for it, explicitly, whatever the cluster's defaults.
                public_service_annotations: std::collections::BTreeMap::from([(
                    "cloud.google.com/neg".to_string(),
                    r#"{"ingress": true}"#.to_string(),
                )]),
                storage_class: "standard-rwo".into(),
                // The global external Application Load Balancer's proxies and health checks.
                lb_peers: ["35.191.0.0/16", "130.211.0.0/22"]
                    .iter()
                    .map(|c| serde_json::json!({ "ipBlock": { "cidr": c } }))
                    .collect(),
                // The Cloud SQL Auth Proxy sidecar: the instance's private IP in the private services
                // access range (10-network default 10.30.0.0/16) on 3307, the Cloud SQL Admin API on
                // 443 through Private Google Access's VIPs (10-network points *.googleapis.com at
                // them), and the metadata server for its Workload Identity token.
                database_egress: managed_db
                    .map(|_| {
                        let mut rules = vec![
                            egress_to("10.30.0.0/16", &[3307]),
                            egress_to(GOOGLE_APIS_VIP, &[443]),
                        ];
                        rules.extend(identity_egress.iter().cloned());
                        rules
                    })
                    .unwrap_or_default(),
                identity_egress,
                // IAM database login: the user is the app's service account, there is no password.
                database_url: managed_db.map(|db| {
                    format!(
                        "postgresql://{}-app%40{project}.iam@127.0.0.1:5432/{}?sslmode=disable",
                        stack.cluster_prefix, db.database
                    )
                }),
                // Workload Identity: app pods act as the app's Google service account (Cloud SQL IAM login).
                database_sa_annotations: managed_db
                    .map(|_| BTreeMap::from([(wi.clone(), gsa("app"))]))
                    .unwrap_or_default(),
                // Backups only: a guest's database keeps no archive (and the pgbak account is the
                // host's, for the host's own database).
                postgres_sa_annotations: in_cluster_db
                    .filter(|p| p.backups)
                    .map(|_| BTreeMap::from([(wi, gsa("pgbak"))]))
                    .unwrap_or_default(),
                database_sidecars: managed_db
                    .map(|db| {
                        vec![cloud_sql_proxy(
                            &format!("{project}:{region}:{}-db", stack.cluster_prefix),
                            db,
                        )]
                    })
                    .unwrap_or_default(),
                // With Cloudflare, external-dns reads the API token from a Secret in its namespace,
                // synced by k8s/platform; it then installs with the add-ons, after that step.
                cloudflare_token_namespaces: cloudflare_namespaces(stack, "external-dns"),
                external_dns_in_addons: stack.dns.cloudflare.is_some(),
                ..Platform::default()
            }
            .with_secrets(stack, |s| SecretRef {
                // A guest reads its host's values (the host's Google service accounts' reach).
                key: format!("{}-{s}", stack.cluster_prefix),
                property: None,
            })
        })
    }
    fn versions(&self) -> &'static [(&'static str, &'static str)] {
        VERSIONS
    }
}

/// The Cloud SQL Auth Proxy as a native sidecar (an init container that keeps running): IAM login
/// over the private IP, so no database password exists anywhere.
fn cloud_sql_proxy(instance: &str, _db: &crate::model::Postgres) -> serde_json::Value {
    let image = VERSIONS
        .iter()
        .find(|(k, _)| *k == "gke_cloud_sql_proxy")
        .map(|(_, v)| *v)
        .unwrap_or_default();
    serde_json::json!({
        "name": "cloud-sql-proxy",
        "image": format!("gcr.io/cloud-sql-connectors/cloud-sql-proxy:{image}"),
        "imagePullPolicy": "Always",
        "restartPolicy": "Always",
        "args": [
            "--private-ip", "--auto-iam-authn", "--structured-logs", "--port=5432", "--health-check",
            "--http-address=0.0.0.0", "--http-port=9801", "--exit-zero-on-sigterm", instance
        ],
        "ports": [{"name": "proxy-health", "containerPort": 9801, "protocol": "TCP"}],
        "startupProbe": {"httpGet": {"path": "/startup", "port": 9801}, "periodSeconds": 1, "failureThreshold": 60, "timeoutSeconds": 5},
        "livenessProbe": {"httpGet": {"path": "/liveness", "port": 9801}, "periodSeconds": 10, "failureThreshold": 3, "timeoutSeconds": 5},
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}},
        "securityContext": {
            "runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532, "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}
        }
    })
}

/// `google.subject` holds at most 127 bytes (Workload Identity Federation's attribute mapping).
const SUBJECT_MAX: usize = 127;

/// Refuses a GitHub federation Google would not create: a pool id starting with `gcp-`
/// (reserved), or a token subject over [`SUBJECT_MAX`] bytes.
fn check_github_access(v: &mut Validator, stack: &Stack) {
    let Some(ci) = crate::model::delivery::CiAccess::of(stack) else {
        return;
    };
    if stack.prefix.starts_with("gcp-") {
        v.error(
            None,
            "name",
            format!(
                "the Workload Identity pool id `{}-github` starts with `gcp-`",
                stack.prefix
            ),
        )
        .hint = Some(
            "Google reserves pool ids that start with `gcp-`; fredgen builds this one from \
             `name` and the environment: rename the stack"
                .into(),
        );
    }
    for sub in ci.plan_subjects.iter().chain(&ci.apply_subjects) {
        if sub.len() > SUBJECT_MAX {
            v.error(
                None,
                "delivery.repository",
                format!(
                    "GitHub's token subject `{sub}` is {} bytes; Workload Identity Federation maps at most {SUBJECT_MAX} into `google.subject`",
                    sub.len()
                ),
            )
            .hint = Some(
                "the subject is `repo:<repository>:` and `pull_request`, \
                 `ref:refs/heads/<branch>` or `environment:<env>`: shorten the repository's \
                 name, `delivery.branch` or the environment's name"
                    .into(),
            );
        }
    }
}

pub(crate) fn is_project_id(s: &str) -> bool {
    (6..=30).contains(&s.len())
        && s.as_bytes()[0].is_ascii_lowercase()
        && !s.ends_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Google Cloud regions (cloud.google.com/compute/docs/regions-zones, Nov 2026).
pub const REGIONS: &[&str] = &[
    "africa-south1",
    "asia-east1",
    "asia-east2",
    "asia-northeast1",
    "asia-northeast2",
    "asia-northeast3",
    "asia-south1",
    "asia-south2",
    "asia-southeast1",
    "asia-southeast2",
    "australia-southeast1",
    "australia-southeast2",
    "europe-central2",
    "europe-north1",
    "europe-north2",
    "europe-southwest1",
    "europe-west1",
    "europe-west2",
    "europe-west3",
    "europe-west4",
    "europe-west6",
    "europe-west8",
    "europe-west9",
    "europe-west10",
    "europe-west12",
    "me-central1",
    "me-central2",
    "me-west1",
    "northamerica-northeast1",
    "northamerica-northeast2",
    "northamerica-south1",
    "southamerica-east1",
    "southamerica-west1",
    "us-central1",
    "us-east1",
    "us-east4",
    "us-east5",
    "us-south1",
    "us-west1",
    "us-west2",
    "us-west3",
    "us-west4",
];

/// The Google Cloud names the GKE templates build from the spec (`terraform/*`), at their
/// longest, with each API's limit: Cloud Storage buckets 3-63 (no dots), service account ids
/// 6-30, GKE clusters 40, Cloud SQL `project:instance` 98, VPC resources 63, Secret Manager ids
/// 255.
fn cloud_names(stack: &Stack) -> Vec<CloudName> {
    let p = &stack.prefix;
    let project = stack.target.project.as_deref().unwrap_or_default();
    const FROM: &str = "`name` and the environment";
    const WITH_PROJECT: &str = "`targets.gke.project`, `name` and the environment";
    let bucket = |suffix: &str| {
        CloudName::new(
            "Cloud Storage bucket name",
            format!("{project}-{p}-{suffix}"),
            3..=63,
            WITH_PROJECT,
        )
    };
    let sa =
        |suffix: &str| CloudName::new("service account id", format!("{p}-{suffix}"), 6..=30, FROM);
    let mut names = vec![
        CloudName::new("GKE cluster name", p.clone(), 1..=40, FROM),
        CloudName::new("VPC resource name", format!("{p}-googleapis"), 1..=63, FROM),
        bucket("tfstate"),
        bucket("tfstate-logs"),
        bucket("access-logs"),
        bucket("loki"),
        bucket("velero"),
        sa("nodes"),
        sa("eso"),
        sa("xdns"),
        sa("loki"),
        sa("vbak"),
    ];
    if crate::model::delivery::CiAccess::of(stack).is_some() {
        // The GitHub workflows' accounts and pool (terraform/00-bootstrap/github.tf).
        names.push(sa("gh-plan"));
        names.push(sa("gh-apply"));
        names.push(CloudName::new(
            "Workload Identity pool id",
            format!("{p}-github"),
            4..=32,
            FROM,
        ));
    }
    if stack.dns.cloudflare.is_some() {
        // external-dns writes to Cloud DNS as that account; with Cloudflare it needs none.
        let xdns = format!("{p}-xdns");
        names.retain(|n| n.name != xdns);
    }
    match stack.postgres.as_ref().map(|pg| pg.placement) {
        Some(Placement::Managed) => {
            names.push(sa("app"));
            names.push(CloudName::new(
                "Cloud SQL `project:instance`",
                format!("{project}:{p}-db"),
                1..=98,
                WITH_PROJECT,
            ));
        }
        Some(Placement::InCluster) => {
            names.push(sa("pgbak"));
            names.push(bucket("pg-backups"));
        }
        None => {}
    }
    for site in &stack.static_sites {
        let from = "`targets.gke.project`, `name`, the environment and the static site's `name`";
        names.push(CloudName::new(
            "Cloud Storage bucket name",
            format!("{project}-{}", site.resource),
            3..=63,
            from,
        ));
        // The load balancer's objects: `<prefix>-redirect-<site>` is the longest name.
        names.push(CloudName::new(
            "Compute Engine resource name",
            format!("{}-redirect-{}", stack.prefix, site.name),
            1..=63,
            from,
        ));
    }
    for s in &stack.secrets {
        names.push(CloudName::new(
            "Secret Manager secret id",
            format!("{p}-{s}"),
            1..=255,
            "`name`, the environment and the secret's name",
        ));
    }
    names
}

/// GKE-only pins, declared once: a bump is one edit. Sources are noted next to each.
pub static VERSIONS: &[(&str, &str)] = &[
    ("gke_provider_google", "7.45.0"),
    ("gke_provider_google_beta", "7.45.0"),
    ("gke_provider_random", "3.7.2"),
    ("gke_provider_null", "3.2.4"),
    ("gke_module_network", "18.1.0"),
    ("gke_module_cloud_router", "9.0.0"),
    ("gke_module_cloud_nat", "7.0.0"),
    ("gke_module_kubernetes_engine", "44.2.0"),
    ("gke_module_sql_db", "28.1.1"),
    ("gke_cloud_sql_proxy", "2.25.3"),
    // velero/velero-plugin-for-gcp image for the shared chart_velero (Velero 1.18): plugin v1.14.x
    // is built against Velero 1.18 (plugin go.mod at v1.14.2: vmware-tanzu/velero v1.18.0); v1.14.2
    // is the newest tag read in the plugin's repository here. Bump together with chart_velero.
    ("gke_velero_plugin_gcp", "v1.14.2"),
    ("gke_kubernetes_default", "1.36"),
];

//! Cross-stage — every version fredgen pins that all targets share, declared once: a bump is one
//! edit here. Target-only pins live in each backend's `VERSIONS`. Where a pin matches the
//! upstream reference data in `shared/reference`, the checker verifies values against exactly it.

/// Shared pins: chart versions, providers, operator releases. Key → exact version.
pub static SHARED: &[(&str, &str)] = &[
    // Terraform itself: S3 `use_lockfile` needs 1.10; kube-hetzner 3.x needs 1.10.1.
    ("terraform_required", ">= 1.10.1"),
    // hashicorp/helm; schema in shared/reference is 3.1.1.
    ("provider_helm", "3.1.1"),
    // hashicorp/kubernetes 3.x (3.0.0 on 2025-12-04; 3.2.1 on 2026-06-30, the newest argument set
    // in shared/reference); kube-hetzner 3.x requires >= 3.1.0.
    ("provider_kubernetes", "3.2.1"),
    // cloudflare/cloudflare (with `dns.provider: cloudflare`: the records Terraform owns): v5.22.0
    // (tag 2026-07-10) is the newest 5.x release in the provider's repository and the newest
    // argument set in shared/reference (cloudflare_dns_record, data cloudflare_zone with
    // `filter`); no later 5.x release could be read here.
    ("provider_cloudflare", "5.22.0"),
    // prometheus-community/kube-prometheus-stack (reference: 88.5.3).
    ("chart_kube_prometheus_stack", "88.5.3"),
    // prometheus-community/prometheus-operator-crds 31.0.1 (appVersion v0.93.1, the operator of
    // chart_kube_prometheus_stack): installed first so every chart's monitors have their CRDs.
    ("chart_prometheus_operator_crds", "31.0.1"),
    // grafana/alloy (reference: 1.11.1, Alloy v1.18.1).
    ("chart_alloy", "1.11.1"),
    // kedacore/keda 2.21: the release whose tested window (keda.sh "Kubernetes compatibility":
    // v2.21 = v1.34-v1.36) covers every default Kubernetes minor (1.36); 2.20 stops at 1.35 and
    // 2.22's matrix is still "TBD". The chart's version is the KEDA version. Reference: 2.20.2.
    ("chart_keda", "2.21.0"),
    // external-secrets (reference: 2.9.0).
    ("chart_external_secrets", "2.9.0"),
    // cloudnative-pg operator (reference: 0.29.0, CNPG 1.30.0).
    ("chart_cloudnative_pg", "0.29.0"),
    // cloudnative-pg/plugin-barman-cloud (reference: 0.7.0, plugin v0.13.0).
    ("chart_plugin_barman_cloud", "0.7.0"),
    // jetstack cert-manager (reference: v1.21.1).
    ("chart_cert_manager", "v1.21.1"),
    // kubernetes-sigs external-dns (reference: 1.21.1).
    ("chart_external_dns", "1.21.1"),
    // Loki's chart from the community fork: chart `loki` in https://grafana-community.github.io/helm-charts
    // (source github.com/grafana-community/helm-charts, charts/loki); 18.11.0 ships Loki 3.7.6
    // (reference: loki@grafana-community 18.11.0). The chart in grafana/helm-charts
    // (grafana/loki, last 7.3.0) is maintenance-only for Grafana Enterprise Logs since 2026-03-16
    // (grafana/loki#20705). Its releases renamed keys (SingleBinary -> Monolithic in 12.0, global.* ->
    // defaults.* for extraArgs/extraEnvFrom) and dropped GEL (8.0): read the chart README's
    // "Upgrading" notes before a major bump.
    ("chart_loki_community", "18.11.0"),
    // vmware-tanzu/velero (reference: 12.1.0, Velero 1.18.1).
    ("chart_velero", "12.1.0"),
    // velero/velero-plugin-for-aws image (EKS S3, Hetzner Object Storage), for chart_velero's
    // Velero 1.18: plugin v1.14.x is the line built against Velero 1.18 (plugin go.mod at v1.14.2:
    // vmware-tanzu/velero v1.18.0; compatibility matrix 1.14.x <-> 1.18.x). v1.14.2 is the newest
    // tag read in the plugin's repository here; later patches were seen only second-hand, so
    // they are not pinned unverified. Bump together with chart_velero.
    ("velero_plugin_aws", "v1.14.2"),
    // argoproj/argo-helm chart `argo-cd` (with `delivery.argocd`). 10.5.0 is the newest release
    // proven: its release tag argo-cd-10.5.0 (compare argo-cd-10.4.3...argo-cd-10.5.0: "allow
    // appending additional resource.exclusions"), as Renovate offered it on 2026-08-31
    // (AndreiGavriliu/homelab#7224). It ships Argo CD v3.5.2: argo-cd-10.4.1 (argo-helm#4040,
    // 2026-08-28) moved to v3.5.2; the changes listed for 10.4.2, 10.4.3 and 10.5.0 are the Redis
    // exporter's tag, a Redis hostNetwork option and resource.exclusions. Argo CD 3.5 is tested on
    // Kubernetes 1.33-1.36 (docs/operator-manual/tested-kubernetes-versions.md); 3.4 stops at
    // 1.35. (10.10.2, pinned before, is in no release, index or changelog searched.)
    // Values: every key fredgen sets is in the values.yaml of 10.1.1 (the reference, the mirror's
    // newest, Argo CD v3.4.4); the releases from 10.1.2 to 10.5.0 are minor or patch releases
    // (argo-helm bumps the major on a breaking values change); the changelogs read here (10.1.2-4,
    // 10.2.3, 10.3.3, 10.4.0-10.5.0) only add options or bump images.
    // `configs.cm` passes any key to argocd-cm (url overrides the global.domain preset), and
    // `applicationSet.replicas` is the Deployment's replica count as written.
    ("chart_argo_cd", "10.5.0"),
    // rabbitmq/cluster-operator release (CRD schema in reference: v2.22.3).
    ("rabbitmq_cluster_operator", "2.22.3"),
    // rabbitmq/messaging-topology-operator release (reference: v1.20.1).
    ("rabbitmq_messaging_topology_operator", "1.20.1"),
];

/// RabbitMQ minor → exact image (official Docker library image, not Bitnami). Default first.
pub static RABBITMQ_IMAGES: &[(&str, &str)] = &[
    // 4.3 is the community-supported series (4.2 left community support 2026-07-31; 4.1 in January).
    ("4.3", "rabbitmq:4.3.5-management"),
    ("4.2", "rabbitmq:4.2.10-management"),
];

/// PostgreSQL major → exact CloudNativePG operand image. Default first.
pub static POSTGRES_IMAGES: &[(&str, &str)] = &[
    // cloudnative-pg/postgres-containers, `<major>.<minor>-standard-trixie` (bare tags are deprecated).
    (
        "18",
        "ghcr.io/cloudnative-pg/postgresql:18.6-standard-trixie",
    ),
    (
        "17",
        "ghcr.io/cloudnative-pg/postgresql:17.11-standard-trixie",
    ),
    (
        "16",
        "ghcr.io/cloudnative-pg/postgresql:16.15-standard-trixie",
    ),
    (
        "15",
        "ghcr.io/cloudnative-pg/postgresql:15.19-standard-trixie",
    ),
];

/// The Terraform CLI the generated GitHub workflows install (hashicorp/terraform: v1.15.9 is the
/// newest release tag read upstream; 1.16 had only release candidates).
pub const TERRAFORM_CLI: &str = "1.15.9";

/// The Google Cloud CLI the generated GKE workflows install (with gke-gcloud-auth-plugin: the
/// runner image's apt-installed gcloud cannot add components). 576.0.0 is the newest release read
/// upstream (a renovate bump of gcr.io/google.com/cloudsdktool/google-cloud-cli from 575.0.1).
pub const GCLOUD_CLI: &str = "576.0.0";

/// The GitHub Actions the generated workflows use, each pinned by the commit of its newest release
/// tag read upstream: key → (`owner/repo@<commit>`, the tag, for the comment beside the pin).
pub static ACTIONS: &[(&str, &str, &str)] = &[
    (
        "checkout",
        "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1",
        "v7.0.1",
    ),
    (
        "setup_terraform",
        "hashicorp/setup-terraform@dfe3c3f87815947d99a8997f908cb6525fc44e9e",
        "v4.0.1",
    ),
    (
        "configure_aws_credentials",
        "aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c",
        "v6.2.3",
    ),
    (
        "google_auth",
        "google-github-actions/auth@7c6bc770dae815cd3e89ee6cdf493a5fab2cc093",
        "v3.0.0",
    ),
    (
        "setup_gcloud",
        "google-github-actions/setup-gcloud@aa5489c8933f4cc7a4f7d45035b3b1440c9c10db",
        "v3.0.1",
    ),
    (
        "cache",
        "actions/cache@27d5ce7f107fe9357f9df03efb73ab90386fccae",
        "v5.0.5",
    ),
];

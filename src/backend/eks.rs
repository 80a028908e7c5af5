//! Stage 3 — the AWS EKS backend: VPC, EKS with Karpenter, RDS, Pod Identity, ALB, Route 53.

use super::*;
use crate::model::Placement;
use crate::model::validate::refuse_keys;
use crate::render::{SecretRef, egress_to};

/// AWS EKS.
pub struct Eks;

impl Target for Eks {
    fn block_keys(&self) -> Vec<super::BlockKey> {
        use super::{BlockKey, KeyValues};
        vec![BlockKey::new(
            "region",
            true,
            "AWS region.",
            KeyValues::OneOf(REGIONS),
        )]
    }

    fn id(&self) -> &'static str {
        "eks"
    }
    fn describe(&self) -> &'static str {
        "AWS EKS: VPC, EKS + Karpenter, RDS PostgreSQL, ALB + ACM, Route 53, Secrets Manager"
    }
    fn supported_kubernetes(&self) -> &'static [&'static str] {
        // Standard support in Nov 2026: 1.36 (since June 2026), 1.35, 1.34 (until 2026-12-02).
        &["1.36", "1.35", "1.34"]
    }
    fn has_managed_postgres(&self) -> bool {
        true
    }
    fn check_block(&self, v: &mut Validator, block: &RawTarget, path: &str) {
        refuse_keys(v, block, path, &["region"]);
        match &block.region {
            None => v.missing(
                &format!("{path}.region"),
                "the AWS region, e.g. `region: eu-west-1`",
            ),
            Some(r) if !REGIONS.contains(&r.value.as_str()) => {
                let close = crate::spec::suggest(&r.value, REGIONS);
                v.error_at(
                    r,
                    &format!("{path}.region"),
                    format!("`{}` is not an AWS region", r.value),
                )
                .hint = Some(if close.starts_with("did you mean") {
                    close
                } else {
                    "e.g. `eu-west-1` or `us-east-2` (AWS commercial, GovCloud and China regions)"
                        .into()
                });
            }
            Some(_) => {}
        }
    }
    fn needs_own_runner(&self) -> Option<&'static str> {
        Some(
            "the EKS API endpoint is private (reachable from the VPC and `api_private_cidrs`), so the jobs that plan and apply the roots after `cluster` need a runner inside the VPC or a network routed into it",
        )
    }

    fn check_stack(&self, v: &mut Validator, stack: &Stack) {
        check_cloud_names(v, stack, &cloud_names(stack));
        check_host_count(
            v,
            stack,
            25,
            "an ALB listener serves at most 25 certificates (one per host, the default quota)",
        );
        // An ALB rule evaluates at most five values, three per condition: the host, the path (a
        // prefix other than `/` is two patterns, `/p` and `/p/*`) and the methods.
        for r in method_routes(stack) {
            let max = if r.path == "/" { 3 } else { 2 };
            if r.methods.len() > max {
                v.error(
                    r.at,
                    &format!("{}.methods", r.spec_path),
                    format!(
                        "an ALB rule matches at most {max} methods on `{}` ({} listed)",
                        r.path,
                        r.methods.len()
                    ),
                )
                .hint = Some(format!(
                    "an ALB listener rule evaluates at most five values (the host, the path as \
                     {}, the methods) and three per condition: split the methods over two routes \
                     with the same host and path, e.g. `[{}]` and `[{}]`",
                    if r.path == "/" {
                        "`/*`".to_string()
                    } else {
                        format!("`{0}` and `{0}/*`", r.path)
                    },
                    r.methods[..max].join(", "),
                    r.methods[max..].join(", ")
                ));
            }
        }
        let rules: usize = stack.hosts.iter().map(|h| h.routes.len()).sum();
        if rules > ALB_RULES {
            v.error(
                None,
                "services",
                format!("the stack has {rules} public routes; an ALB listener holds {ALB_RULES} rules"),
            )
            .hint = Some("the default quota of rules per ALB listener: merge routes (one service can serve several paths under one prefix)".into());
        }
        check_trust_policy(v, stack);
    }
    fn largest_node(&self, env: &str) -> NodeCapacity {
        // Karpenter's NodePool (30-platform) launches amd64 instances of the c, m and r
        // categories, generation 6 or later, up to its CPU limit: 200 vCPU in prod (so at most
        // a 48xlarge, 192 vCPU), 64 elsewhere. The largest memory of those: r7i.48xlarge (192 vCPU,
        // 1536 GiB) and r7i.16xlarge (64 vCPU, 512 GiB). Allocatable: Karpenter's 7.5 % VM
        // overhead and the AL2023 AMI's kube-reserved (255Mi + 11Mi per pod, 737 pods; CPU 6 % of
        // the first core, 1 % of the second, 0.5 % of the next two, 0.25 % above), less 100Mi
        // for eviction.
        if env == "prod" {
            NodeCapacity {
                node_type: "r7i.48xlarge",
                millicores: 191_450,
                bytes: 1_446_437 << 20,
            }
        } else {
            NodeCapacity {
                node_type: "r7i.16xlarge",
                millicores: 63_770,
                bytes: 476_504 << 20,
            }
        }
    }
    fn platform(&self, stack: &Stack) -> Result<Platform> {
        Ok({
            let managed_db = stack
                .postgres
                .as_ref()
                .is_some_and(|p| p.placement == Placement::Managed);
            Platform {
                storage_class: "gp3".into(),
                // The load balancer controller injects readiness gates into the app's pods, so a
                // rollout (or a node drain) waits until the ALB's target group has the new pods
                // healthy before old ones go.
                namespace_labels: std::collections::BTreeMap::from([(
                    "elbv2.k8s.aws/pod-readiness-gate-inject".to_string(),
                    "enabled".to_string(),
                )]),
                // The internet-facing ALB's nodes live in the public subnets of 10-network
                // (cidrsubnet(vpc, 8, 96 + az)): only they reach the frontend's pods.
                lb_peers: PUBLIC_SUBNETS
                    .iter()
                    .map(|c| serde_json::json!({ "ipBlock": { "cidr": c } }))
                    .collect(),
                // RDS lives in the database subnets 10.0.100.0/24-10.0.102.0/24 (10-network).
                database_egress: if managed_db {
                    vec![egress_to("10.0.100.0/22", &[5432])]
                } else {
                    Vec::new()
                },
                // EKS Pod Identity agent (credentials for the Barman Cloud backups to S3).
                identity_egress: vec![egress_to("169.254.170.23/32", &[80])],
                // Each public service is its own ALB target group, health-checked on its own path
                // (the Ingress's annotation is the frontend's).
                health_path_annotation: Some("alb.ingress.kubernetes.io/healthcheck-path".into()),
                // With Cloudflare, external-dns reads the API token from a Secret in its namespace,
                // synced by k8s/platform; it then installs with the add-ons, after that step.
                cloudflare_token_namespaces: cloudflare_namespaces(stack, "external-dns"),
                external_dns_in_addons: stack.dns.cloudflare.is_some(),
                ..Platform::default()
            }
            .with_secrets(stack, |s| SecretRef {
                // A guest reads its host's values: the store's role is scoped to the host's prefix.
                key: format!("{}/{}/{s}", stack.name, stack.cluster_env),
                property: None,
            })
        })
    }
    fn versions(&self) -> &'static [(&'static str, &'static str)] {
        VERSIONS
    }
}

/// An IAM role's trust policy holds at most 2,048 characters (whitespace aside; the default
/// quota, 4,096 at most on request).
const TRUST_POLICY_MAX: usize = 2048;

/// The apply role's trust policy in terraform/00-bootstrap/github.tf without its subjects, at its
/// longest (the GovCloud partition's ARN), as IAM counts it.
const TRUST_POLICY_BASE: usize = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRoleWithWebIdentity","Principal":{"Federated":"arn:aws-us-gov:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},"Condition":{"StringEquals":{"token.actions.githubusercontent.com:sub":[],"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}}]}"#.len();

/// Refuses an apply role whose trust policy (one subject per GitHub environment: the host's and
/// each guest's) would not fit IAM's limit.
fn check_trust_policy(v: &mut Validator, stack: &Stack) {
    let Some(ci) = crate::model::delivery::CiAccess::of(stack) else {
        return;
    };
    // Each subject is quoted and separated by a comma.
    let len = TRUST_POLICY_BASE + ci.apply_subjects.iter().map(|s| s.len() + 3).sum::<usize>();
    if len > TRUST_POLICY_MAX {
        v.error(
            None,
            "delivery.github",
            format!(
                "the trust policy of `{}-github-apply` would be about {len} characters, over IAM's limit of {TRUST_POLICY_MAX}: it names one GitHub environment per environment in `{}`'s cluster ({})",
                stack.prefix,
                stack.env,
                ci.environments.len()
            ),
        )
        .hint = Some(
            "put fewer environments in this cluster (`cluster:`), shorten their names or the \
             repository's, or ask AWS for a larger \"Role trust policy length\" quota (4,096) \
             and keep the spec below that"
                .into(),
        );
    }
}

/// Rules per ALB listener (the default quota): one per public route.
const ALB_RULES: usize = 100;

/// The public subnets of terraform/10-network (`cidrsubnet(local.vpc_cidr, 8, k + 96)` there, one
/// per availability zone): where the internet-facing ALB's nodes live.
const PUBLIC_SUBNETS: [&str; 3] = ["10.0.96.0/24", "10.0.97.0/24", "10.0.98.0/24"];

/// AWS regions EKS runs in: the commercial partition, GovCloud (US) and China (the templates take
/// the partition from `aws_partition`). AWS "Regions and Availability Zones" list, Nov 2026.
pub const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-1",
    "ap-south-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-south-1",
    "eu-south-2",
    "eu-north-1",
    "il-central-1",
    "me-south-1",
    "me-central-1",
    "mx-central-1",
    "sa-east-1",
    "us-gov-east-1",
    "us-gov-west-1",
    "cn-north-1",
    "cn-northwest-1",
];

/// The AWS resource names the EKS templates build from the spec (`terraform/*`), at their longest,
/// with each API's limit: S3 buckets 3-63, IAM roles 64, SQS queues 80, RDS identifiers 63,
/// EKS clusters 100.
fn cloud_names(stack: &Stack) -> Vec<CloudName> {
    let p = &stack.prefix;
    let region = stack.target.region.as_deref().unwrap_or_default();
    const FROM: &str = "`name` and the environment";
    let bucket = |n: String| CloudName::new("S3 bucket name", n, 3..=63, FROM);
    let role = |n: String| CloudName::new("IAM role name", n, 1..=64, FROM);
    let mut names = vec![
        CloudName::new("EKS cluster name", p.clone(), 1..=100, FROM),
        bucket(format!("{p}-tfstate-{ACCOUNT_ID}")),
        bucket(format!("{p}-velero-{ACCOUNT_ID}")),
        bucket(format!("{p}-loki-chunks-{ACCOUNT_ID}")),
        CloudName::new("SQS queue name", format!("{p}-karpenter"), 1..=80, FROM),
        role(format!("{p}-cluster")),
        role(format!("{p}-karpenter")),
        role(format!("{p}-karpenter-node")),
        role(format!("{p}-ebs-csi")),
        role(format!("{p}-aws-lbc")),
        role(format!("{p}-external-dns")),
        role(format!("{p}-external-secrets")),
        role(format!("{p}-loki")),
        role(format!("{p}-velero")),
    ];
    if crate::model::delivery::CiAccess::of(stack).is_some() {
        // The GitHub workflows' roles (terraform/00-bootstrap/github.tf).
        names.push(role(format!("{p}-github-plan")));
        names.push(role(format!("{p}-github-apply")));
    }
    if stack.dns.cloudflare.is_some() {
        // external-dns writes to Route 53 as that role; with Cloudflare it needs no AWS access.
        let external_dns = format!("{p}-external-dns");
        names.retain(|n| n.name != external_dns);
    }
    if let Some(pg) = &stack.postgres {
        let db = &pg.name;
        if pg.placement == Placement::Managed {
            names.push(CloudName::new(
                "RDS instance identifier",
                format!("{p}-{db}"),
                1..=63,
                FROM,
            ));
            names.push(role(format!("{p}-{db}-monitoring")));
        } else {
            names.push(CloudName::new(
                "S3 bucket name",
                format!("{p}-{db}-backups-{region}"),
                3..=63,
                "`name`, the environment and `targets.eks.region`",
            ));
            names.push(role(format!("{p}-{db}-backup")));
        }
    }
    for site in &stack.static_sites {
        let from = "`name`, the environment and the static site's `name`";
        names.push(CloudName::new(
            "S3 bucket name",
            format!("{}-{ACCOUNT_ID}", site.resource),
            3..=63,
            from,
        ));
        names.push(CloudName::new(
            "CloudFront function name",
            format!("{}-index", site.resource),
            1..=64,
            from,
        ));
    }
    names
}

/// EKS-only pins, declared once: a bump is one edit. Sources are noted next to each.
pub static VERSIONS: &[(&str, &str)] = &[
    // newest EKS minor in standard support in Nov 2026 (EKS user guide "Kubernetes versions on
    // standard support" lists 1.36, available on EKS since 2026-06; 1.37 not on EKS yet; 1.34
    // standard support ends 2026-12-02); kubernetes-validate 1.37.0 in the checker venv has 1.36
    // schemas. Used only as the default for `target.eks.kubernetes`.
    ("eks_kubernetes_default", "1.36"),
    // hashicorp/aws: one exact 6.x that every module called satisfies (s3-bucket 5.15.4 needs
    // >= 6.42; vpc, eks, rds, kms, eks-pod-identity >= 6.28). 6.58.0 is the newest argument set in
    // shared/reference; verify's category h proves init resolves.
    ("eks_provider_aws", "6.58.0"),
    // terraform-aws-modules/vpc/aws latest release in reference (2026-01-08).
    ("eks_module_vpc", "6.6.0"),
    // terraform-aws-modules/eks/aws (also `//modules/karpenter`) latest release in reference
    // (2026-04-27).
    ("eks_module_eks", "21.19.0"),
    // terraform-aws-modules/rds/aws latest release in reference (2026-03-19).
    ("eks_module_rds", "7.2.0"),
    // terraform-aws-modules/s3-bucket/aws latest release in reference (2026-08-06).
    ("eks_module_s3_bucket", "5.15.4"),
    // terraform-aws-modules/kms/aws latest release in reference (2026-01-08).
    ("eks_module_kms", "4.2.0"),
    // terraform-aws-modules/security-group/aws latest release in reference (v5.3.1, 2025-10-21).
    ("eks_module_security_group", "5.3.1"),
    // terraform-aws-modules/eks-pod-identity/aws latest release in reference (2026-05-29).
    ("eks_module_pod_identity", "2.8.1"),
    // oci://public.ecr.aws/karpenter charts karpenter and karpenter-crd v1.14.1 (reference
    // charts/karpenter, charts/karpenter-crd, CRDs karpenter.sh/v1, karpenter.k8s.aws/v1).
    ("eks_chart_karpenter", "1.14.1"),
    // https://aws.github.io/eks-charts chart aws-load-balancer-controller 3.5.0 (appVersion v3.5.0,
    // reference charts/).
    ("eks_chart_aws_load_balancer_controller", "3.5.0"),
    // kubernetes-sigs/metrics-server chart 3.13.1 (metrics-server 0.8.1; tag
    // metrics-server-helm-chart-3.13.1): EKS has no resource metrics API of its own.
    ("eks_chart_metrics_server", "3.13.1"),
    // EC2NodeClass amiSelectorTerms alias: the AL2023 EKS-optimized AMI release v20260903
    // (awslabs/amazon-eks-ami releases; AL2023 1.35.7-20260903). Karpenter recommends a dated pin.
    ("eks_karpenter_ami_alias", "al2023@v20260903"),
];

//! Tests — DNS at Cloudflare (`dns.provider: cloudflare`, examples/micro): no cloud DNS zone is
//! looked up or granted, every record is DNS only, the API token reaches exactly the namespace
//! that reads it before the step that needs it, and `apply.sh` stops before its first step when
//! the Terraform provider's token is missing.

use fredgen::render::Output;

use crate::support::{Case, edited, render, reported};

fn micro(target: &'static str, env: &str) -> Output {
    render(&Case {
        example: "micro".into(),
        target,
        env: Some(env.into()),
    })
}

/// The Terraform files of a render, concatenated with their paths.
fn terraform(out: &Output) -> Vec<(&String, &String)> {
    out.files
        .iter()
        .filter(|(p, _)| p.ends_with(".tf"))
        .collect()
}

#[test]
fn cloudflare_stacks_keep_no_cloud_dns_zone_or_grant() {
    // What the cloud's own DNS needs, by target: none of it may remain with Cloudflare. (GKE's
    // 10-network keeps its private googleapis.com zone: Private Google Access, not public DNS.)
    let cloud_dns: &[(&str, &[&str])] = &[
        (
            "eks",
            &[
                "aws_route53_zone",
                "aws_route53_record",
                "external_dns_pod_identity",
                "external_dns_hosted_zone_arns",
            ],
        ),
        (
            "gke",
            &[
                "google_dns_managed_zones",
                "data \"google_dns_managed_zone\"",
                "google_dns_managed_zone_iam_member",
                "roles/dns.",
                "xdns",
            ],
        ),
        ("hetzner", &["hcloud_zone_rrset", "variable \"dns_zone\""]),
    ];
    for (target, forbidden) in cloud_dns {
        for env in ["staging", "prod"] {
            let out = micro(target, env);
            for (path, text) in terraform(&out) {
                for f in *forbidden {
                    assert!(
                        !text.contains(f),
                        "micro-{target}-{env}: {path} still has `{f}`"
                    );
                }
            }
            let values = out.files.iter().filter(|(p, _)| p.contains("/values/"));
            for (path, text) in values {
                assert!(
                    !text.contains("provider:\n  name: aws")
                        && !text.contains("provider:\n  name: google"),
                    "micro-{target}-{env}: {path} points external-dns at the cloud's DNS"
                );
            }
        }
    }
}

#[test]
fn every_cloudflare_record_is_dns_only_in_a_root_that_pins_the_provider() {
    for target in ["eks", "hetzner"] {
        let out = micro(target, "prod");
        let roots: Vec<&str> = terraform(&out)
            .into_iter()
            .filter(|(_, t)| t.contains("resource \"cloudflare_dns_record\""))
            .map(|(p, _)| p.rsplit_once('/').map(|(d, _)| d).unwrap_or_default())
            .collect();
        assert!(!roots.is_empty(), "micro-{target}: no Cloudflare record");
        for root in roots {
            let versions = &out.files[&format!("{root}/versions.tf")];
            assert!(
                versions.contains("source  = \"cloudflare/cloudflare\"")
                    && versions.contains("version = \"= 5."),
                "micro-{target}: {root} does not pin cloudflare/cloudflare 5.x exactly"
            );
            let main = &out.files[&format!("{root}/main.tf")];
            for block in main.split("resource \"cloudflare_dns_record\"").skip(1) {
                let body = &block[..block.find("\n}").expect("a closed block")];
                assert!(
                    body.contains("proxied = false"),
                    "micro-{target}: a record that may be proxied:{body}"
                );
            }
        }
    }
    // external-dns writes the records on eks and gke: never proxied, on the Ingress too.
    for target in ["eks", "gke"] {
        let out = micro(target, "prod");
        let values = &out.files["terraform/40-addons/values/external-dns.yaml"];
        assert!(values.contains("name: cloudflare") && !values.contains("- --cloudflare-proxied"));
        assert!(
            out.files["k8s/route.yaml"]
                .contains("external-dns.alpha.kubernetes.io/cloudflare-proxied: \"false\"")
        );
    }
}

#[test]
fn the_token_reaches_the_namespace_that_reads_it_before_it_is_read() {
    let check = fredgen::render::apply_model::check;
    let consistency = fredgen::render::consistency::check;
    // Hetzner: cert-manager's DNS-01 solver reads it in cert-manager's namespace.
    let out = micro("hetzner", "prod");
    let elsewhere = edited(
        &out,
        "k8s/platform/dns-token.yaml",
        "namespace: cert-manager",
        "namespace: micro",
    );
    reported(
        &check(&elsewhere),
        "ClusterIssuer /letsencrypt needs Secret cert-manager/cloudflare-api-token",
    );
    reported(
        &consistency(&elsewhere),
        "reads Secret `cloudflare-api-token` in namespace `cert-manager`, which nothing creates",
    );
    // No HTTP-01 solver pods, so no policy admitting the load balancer to them.
    assert!(!out.files["k8s/network-policies.yaml"].contains("acme-http01-solver"));
    // EKS: external-dns installs with the add-ons, after the token synced into its namespace.
    let out = micro("eks", "prod");
    reported(
        &check(&edited(
            &out,
            "k8s/platform/dns-token.yaml",
            "namespace: external-dns",
            "namespace: monitoring",
        )),
        "helm_release.external_dns needs Secret external-dns/cloudflare-api-token",
    );
    // The store admits the namespace only because the stack uses Cloudflare.
    reported(
        &check(&edited(
            &out,
            "k8s/platform/secret-store.yaml",
            "        - external-dns\n",
            "",
        )),
        "which the `conditions` of ClusterSecretStore `micro` do not admit",
    );
}

#[test]
fn apply_sh_stops_before_its_first_step_without_the_cloudflare_token() {
    for target in ["eks", "hetzner"] {
        let out = micro(target, "prod");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("apply.sh"), &out.files["apply.sh"]).expect("write");
        let run = std::process::Command::new("bash")
            .arg("apply.sh")
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .output()
            .expect("bash runs");
        let stdout = String::from_utf8_lossy(&run.stdout);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(
            run.status.code(),
            Some(2),
            "micro-{target}: {stdout}{stderr}"
        );
        assert!(
            !stdout.contains("== apply.sh: step"),
            "micro-{target}: a step ran first:\n{stdout}"
        );
        assert!(
            stderr.contains("step platform needs CLOUDFLARE_API_TOKEN in the environment"),
            "micro-{target}: {stderr}"
        );
    }
    // GKE's Terraform talks to Cloudflare only for the static sites' records (step cluster).
    let gke = &micro("gke", "prod").files["apply.sh"];
    assert!(gke.contains("check_env"), "{gke}");
    assert!(
        gke.contains("writes the static sites"),
        "the token is asked for the static sites' records:\n{gke}"
    );
}

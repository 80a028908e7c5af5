//! Tests of stage 2–4 for environments that share a cluster: a guest renders its app layer alone,
//! collides with nothing of its host's, and its host's certificates and DNS cover its hosts.

use std::collections::BTreeMap;

use fredgen::render::Output;

use crate::support::{Case, render};

fn case(target: &'static str, env: &str) -> Output {
    render(&Case {
        example: "fred".into(),
        target,
        env: Some(env.to_string()),
    })
}

const TARGETS: [&str; 3] = ["eks", "gke", "hetzner"];

#[test]
fn a_guest_renders_no_terraform_and_nothing_cluster_wide() {
    for t in TARGETS {
        let out = case(t, "pr-142");
        let cluster_level: Vec<&String> = out
            .files
            .keys()
            .filter(|p| {
                p.starts_with("terraform/")
                    || p.starts_with("k8s/platform/")
                    || p.starts_with("bootstrap/")
            })
            .collect();
        assert!(cluster_level.is_empty(), "{t}: {cluster_level:?}");
        assert!(out.files.contains_key("remove.sh"), "{t}");
        // A preview keeps no backups.
        assert!(!out.files.contains_key("k8s/velero-schedules.yaml"), "{t}");
        let ids: Vec<&str> = out.plan.steps.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids.first(), Some(&"cluster"), "{t}: {ids:?}");
        for id in ["platform-secrets", "addons", "rabbitmq-operator"] {
            assert!(!ids.contains(&id), "{t}: {ids:?}");
        }
    }
}

/// Every object of host and guests that could meet in the one cluster: cluster-scoped ones, and
/// namespaced ones outside each environment's own namespace. None may be another's.
#[test]
fn host_and_guest_objects_never_collide() {
    for t in TARGETS {
        let mut seen: BTreeMap<(String, String, String), String> = BTreeMap::new();
        let mut namespaces = Vec::new();
        for env in ["staging", "pr-142"] {
            let out = case(t, env);
            let ns = fredgen::render::parse_back::yaml_documents(&out.files["k8s/namespace.yaml"])
                .expect("yaml")[0]["metadata"]["name"]
                .as_str()
                .expect("name")
                .to_string();
            namespaces.push(ns.clone());
            for (path, text) in out.files.iter().filter(|(p, _)| {
                p.ends_with(".yaml") && (p.starts_with("k8s/") || p.starts_with("remove/"))
            }) {
                for d in fredgen::render::parse_back::yaml_documents(text).expect("yaml") {
                    let kind = d["kind"].as_str().unwrap_or_default().to_string();
                    if kind.is_empty() || kind == "Kustomization" {
                        continue;
                    }
                    let name = d["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    let object_ns = d["metadata"]["namespace"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    if object_ns == ns {
                        continue;
                    }
                    let key = (kind, object_ns, name);
                    if let Some(other) = seen.insert(key.clone(), format!("{env}: {path}")) {
                        panic!("{t}: {key:?} in {other} and {env}: {path}");
                    }
                }
            }
        }
        assert_ne!(namespaces[0], namespaces[1], "{t}");
    }
}

#[test]
fn the_hosts_certificates_dns_and_store_cover_its_guests() {
    let guest = "pr-142.staging.fred.example.com";
    let eks = case("eks", "staging");
    assert!(eks.files["terraform/30-platform/main.tf"].contains(&format!("\"{guest}\"")));
    assert!(
        eks.files["terraform/30-platform/values/external-dns.yaml"].contains(&format!("- {guest}"))
    );
    let gke = case("gke", "staging");
    assert!(
        gke.files["terraform/20-cluster/dns.tf"]
            .contains(&format!("[\"{guest}\", \"fred-pr-142-frontend\"]"))
    );
    assert!(gke.files["terraform/20-cluster/iam.tf"].contains("\"fred-pr-142/fred-web\""));
    assert!(gke.files["terraform/20-cluster/database.tf"].contains("\"fred_pr_142\""));
    let hetzner = case("hetzner", "staging");
    assert!(hetzner.files["terraform/30-platform/main.tf"].contains(&format!("\"{guest}\"")));
    for out in [&eks, &gke, &hetzner] {
        assert!(out.files["k8s/platform/secret-store.yaml"].contains("- fred-pr-142"));
    }
    // prod has no guest: its certificates name its own host alone.
    let prod = case("eks", "prod");
    assert!(!prod.files["terraform/30-platform/main.tf"].contains(guest));
}

#[test]
fn a_guest_reads_its_hosts_secrets_and_its_own_database() {
    let eks = case("eks", "pr-142");
    assert!(eks.files["k8s/secrets.yaml"].contains("key: \"fred/staging/DJANGO_SECRET_KEY\""));
    assert!(eks.files["k8s/postgres-secret.yaml"].contains("dbname: \"fred_pr_142\""));
    assert!(
        eks.files["remove/drop-database.yaml"].contains("DROP DATABASE IF EXISTS \"fred_pr_142\"")
    );
    let gke = case("gke", "pr-142");
    assert!(gke.files["k8s/web.yaml"].contains("127.0.0.1:5432/fred_pr_142"));
    let hetzner = case("hetzner", "pr-142");
    let pg = &hetzner.files["k8s/postgres.yaml"];
    assert!(
        pg.contains("namespace: fred-pr-142") && !pg.contains("barman"),
        "{pg}"
    );
}

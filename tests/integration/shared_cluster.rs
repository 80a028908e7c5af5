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
    // The guest's database is its own CloudNativePG Cluster, never in the host's Cloud SQL
    // instance nor bound to the host's database identity.
    assert!(!gke.files["terraform/20-cluster/iam.tf"].contains("fred-pr-142/"));
    assert!(!gke.files["terraform/20-cluster/database.tf"].contains("pr_142"));
    let hetzner = case("hetzner", "staging");
    assert!(hetzner.files["terraform/30-platform/main.tf"].contains(&format!("\"{guest}\"")));
    for out in [&eks, &gke, &hetzner] {
        assert!(out.files["k8s/platform/secret-store.yaml"].contains("- fred-pr-142"));
    }
    // A managed database's host installs the CloudNativePG operator for its guests' databases
    // (no Barman Cloud plugin: they keep no archive).
    for out in [&eks, &gke] {
        let platform = &out.files["terraform/30-platform/main.tf"];
        assert!(platform.contains("resource \"helm_release\" \"cloudnative_pg\""));
        assert!(!platform.contains("resource \"helm_release\" \"plugin_barman_cloud\""));
    }
    // prod has no guest: its certificates name its own host alone.
    let prod = case("eks", "prod");
    assert!(!prod.files["terraform/30-platform/main.tf"].contains(guest));
}

#[test]
fn a_guest_reads_its_hosts_secrets_and_its_own_database() {
    let eks = case("eks", "pr-142");
    assert!(eks.files["k8s/secrets.yaml"].contains("key: \"fred/staging/DJANGO_SECRET_KEY\""));
    for t in TARGETS {
        let out = case(t, "pr-142");
        let pg = &out.files["k8s/postgres.yaml"];
        assert!(
            pg.contains("kind: Cluster")
                && pg.contains("namespace: fred-pr-142")
                && pg.contains("instances: 1")
                && !pg.contains("barman"),
            "{t}: {pg}"
        );
        // Its pods reach its own database's pods.
        assert!(
            out.files["k8s/network-policies.yaml"].contains("cnpg.io/cluster: fred-db"),
            "{t}"
        );
    }
}

/// No guest output holds or reaches the host's database: not its credentials (the RDS master
/// secret, an admin Secret, the Cloud SQL identity), not the managed instance's address.
#[test]
fn no_guest_reaches_its_hosts_database() {
    let forbidden = [
        "rds-master-secret",
        "-admin",
        "DROP DATABASE",
        "CREATE DATABASE",
        "cloud-sql-proxy",
        "fred-staging-app@",
        "iam.gke.io/gcp-service-account",
        "10.0.100.0/22",
        "10.30.0.0/16",
        "fred_pr_142",
    ];
    for t in TARGETS {
        let out = case(t, "pr-142");
        assert!(
            !out.files.keys().any(|p| p.starts_with("remove/")),
            "{t}: no Job of remove.sh's"
        );
        for (path, text) in &out.files {
            if path == "README.md" {
                continue;
            }
            for f in forbidden {
                assert!(!text.contains(f), "{t}: {path} contains {f}");
            }
        }
        let remove = &out.files["remove.sh"];
        assert!(
            remove.contains("kubectl delete namespace fred-pr-142"),
            "{t}"
        );
        assert!(
            remove.contains(&format!("fred-staging/{t}")),
            "{t}: checks the host target"
        );
    }
}

/// Every namespace carries its owner's labels itself, so `kubectl apply -f k8s/namespace.yaml`
/// alone (steps migrate, database) keeps what apply.sh's and remove.sh's checks read.
#[test]
fn every_namespace_carries_its_app_and_target_labels() {
    for t in TARGETS {
        for (env, prefix) in [
            ("staging", "fred-staging"),
            ("pr-142", "fred-pr-142"),
            ("prod", "fred-prod"),
        ] {
            let out = case(t, env);
            let ns = &fredgen::render::parse_back::yaml_documents(&out.files["k8s/namespace.yaml"])
                .expect("yaml")[0]["metadata"]["labels"];
            assert_eq!(ns["fredgen.io/app"], prefix, "{t} {env}");
            assert_eq!(ns["fredgen.io/target"], t, "{t} {env}");
        }
    }
}

/// A guest's apply stops unless the host's secret store admits its namespace: the host was
/// applied with it.
#[test]
fn a_guests_apply_checks_that_its_host_admits_it() {
    for t in TARGETS {
        let out = case(t, "pr-142");
        let script = &out.files["apply.sh"];
        assert!(
            script.contains("apply staging first: it must admit this environment"),
            "{t}"
        );
        assert!(script.contains(&format!("fred-staging/{t}")), "{t}");
    }
}

//! Tests — the production posture of every rendered case: the restricted Pod Security profile on
//! every app workload, a default-deny NetworkPolicy, no Secret carrying data, HA in prod.

use serde_json::Value;

use crate::support::{Case, cases, render};

/// Every Kubernetes document of a case, with the file it came from.
fn k8s_docs(case: &Case) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (path, text) in &render(case).files {
        if !path.starts_with("k8s/") || path.ends_with("kustomization.yaml") {
            continue;
        }
        for doc in fredgen::render::parse_back::yaml_documents(text).expect("parses") {
            out.push((path.clone(), doc));
        }
    }
    out
}

/// The pod spec of a workload kind, if the document is one.
fn pod_spec(doc: &Value) -> Option<&Value> {
    match doc["kind"].as_str()? {
        "Deployment" | "StatefulSet" | "DaemonSet" | "Job" => {
            Some(&doc["spec"]["template"]["spec"])
        }
        "CronJob" => Some(&doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]),
        _ => None,
    }
}

/// Every way a container can fall short of the restricted profile plus our resource rules.
fn container_problems(c: &Value) -> Vec<String> {
    let sc = &c["securityContext"];
    let mut p = Vec::new();
    if sc["allowPrivilegeEscalation"] != Value::Bool(false) {
        p.push("allowPrivilegeEscalation is not false".into());
    }
    if sc["readOnlyRootFilesystem"] != Value::Bool(true) {
        p.push("readOnlyRootFilesystem is not true".into());
    }
    let drops_all = sc["capabilities"]["drop"]
        .as_array()
        .is_some_and(|d| d.iter().any(|x| x == "ALL"));
    if !drops_all {
        p.push("capabilities.drop lacks ALL".into());
    }
    if sc["capabilities"]["add"]
        .as_array()
        .is_some_and(|a| !a.is_empty())
    {
        p.push("adds capabilities".into());
    }
    if sc["privileged"] == Value::Bool(true) {
        p.push("privileged".into());
    }
    for key in ["cpu", "memory"] {
        if c["resources"]["requests"][key].is_null() {
            p.push(format!("no {key} request"));
        }
    }
    if c["resources"]["limits"]["memory"].is_null() {
        p.push("no memory limit".into());
    }
    if c["image"]
        .as_str()
        .is_none_or(|i| i.ends_with(":latest") || !i.contains(':'))
    {
        p.push(format!("image {} is not pinned", c["image"]));
    }
    p
}

#[test]
fn every_app_workload_meets_the_restricted_profile() {
    let mut checked = 0;
    for case in cases() {
        for (path, doc) in k8s_docs(&case) {
            let Some(pod) = pod_spec(&doc) else { continue };
            let name = format!("{}: {path}: {}", case.name(), doc["metadata"]["name"]);
            let psc = &pod["securityContext"];
            assert_eq!(
                psc["runAsNonRoot"],
                Value::Bool(true),
                "{name}: runAsNonRoot"
            );
            assert_eq!(
                psc["seccompProfile"]["type"], "RuntimeDefault",
                "{name}: seccomp profile"
            );
            for host in ["hostNetwork", "hostPID", "hostIPC"] {
                assert_ne!(pod[host], Value::Bool(true), "{name}: {host}");
            }
            let volumes = pod["volumes"].as_array().cloned().unwrap_or_default();
            assert!(
                volumes.iter().all(|v| v["hostPath"].is_null()),
                "{name}: hostPath volume"
            );
            let containers = pod["containers"].as_array().expect("containers");
            let init = pod["initContainers"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for c in containers.iter().chain(init.iter()) {
                let problems = container_problems(c);
                assert!(
                    problems.is_empty(),
                    "{name}: container {}: {problems:?}",
                    c["name"]
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 30, "only {checked} containers were checked");
}

#[test]
fn the_app_namespace_enforces_restricted_and_denies_by_default() {
    for case in cases() {
        let docs = k8s_docs(&case);
        let ns = docs
            .iter()
            .find(|(_, d)| d["kind"] == "Namespace")
            .map(|(_, d)| d)
            .unwrap_or_else(|| panic!("{}: no Namespace", case.name()));
        let ns_name = ns["metadata"]["name"].as_str().expect("named");
        assert_eq!(
            ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
            "restricted",
            "{}",
            case.name()
        );
        let deny = docs.iter().map(|(_, d)| d).find(|d| {
            d["kind"] == "NetworkPolicy"
                && d["metadata"]["namespace"] == ns_name
                && d["spec"]["podSelector"]
                    .as_object()
                    .is_some_and(|o| o.is_empty())
                && d["spec"]["ingress"].is_null()
                && d["spec"]["egress"].is_null()
        });
        let deny = deny.unwrap_or_else(|| panic!("{}: no default-deny NetworkPolicy", case.name()));
        let types: Vec<&str> = deny["spec"]["policyTypes"]
            .as_array()
            .expect("policyTypes")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            types.contains(&"Ingress") && types.contains(&"Egress"),
            "{}: the default deny covers {types:?}",
            case.name()
        );
        // Every pod-carrying workload of the namespace is let out to DNS at least: an allow policy
        // selects it (all policies but the default deny select something).
        let allows = docs
            .iter()
            .filter(|(_, d)| {
                d["kind"] == "NetworkPolicy" && d["metadata"]["name"] != "default-deny"
            })
            .count();
        assert!(allows >= 2, "{}: only {allows} allow policies", case.name());
    }
}

#[test]
fn no_secret_object_carries_data() {
    for case in cases() {
        for (path, doc) in k8s_docs(&case) {
            if doc["kind"] == "Secret" {
                for key in ["data", "stringData"] {
                    assert!(
                        doc[key].as_object().is_none_or(|m| m.is_empty()),
                        "{}: {path}: Secret {} has {key}",
                        case.name(),
                        doc["metadata"]["name"]
                    );
                }
            }
        }
    }
}

#[test]
fn production_workloads_are_highly_available() {
    for case in cases()
        .into_iter()
        .filter(|c| c.env.as_deref() == Some("prod"))
    {
        let docs = k8s_docs(&case);
        for (path, doc) in &docs {
            if doc["kind"] != "Deployment" {
                continue;
            }
            let name = format!("{}: {path}: {}", case.name(), doc["metadata"]["name"]);
            let spec = &doc["spec"];
            assert_eq!(
                spec["strategy"]["rollingUpdate"]["maxUnavailable"], 0,
                "{name}: maxUnavailable"
            );
            let pod = &spec["template"]["spec"];
            assert!(
                pod["topologySpreadConstraints"]
                    .as_array()
                    .is_some_and(|t| t.len() >= 2),
                "{name}: spread over zones and nodes"
            );
            let c = &pod["containers"][0];
            for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
                assert!(c[probe].is_object(), "{name}: no {probe}");
            }
            let pre_stop = c["lifecycle"]["preStop"]["sleep"]["seconds"].as_u64();
            let grace = pod["terminationGracePeriodSeconds"].as_u64();
            assert!(
                matches!((pre_stop, grace), (Some(p), Some(g)) if g > p),
                "{name}: preStop {pre_stop:?} must be shorter than the grace period {grace:?}"
            );
            // A PodDisruptionBudget and an autoscaler with at least 2 replicas select it.
            let app = &doc["metadata"]["name"];
            assert!(
                docs.iter().any(|(_, d)| d["kind"] == "PodDisruptionBudget"
                    && d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == *app),
                "{name}: no PodDisruptionBudget"
            );
            let min = docs.iter().find_map(|(_, d)| {
                let target = &d["spec"]["scaleTargetRef"]["name"];
                match d["kind"].as_str() {
                    Some("HorizontalPodAutoscaler") if target == app => {
                        d["spec"]["minReplicas"].as_u64()
                    }
                    Some("ScaledObject") if target == app => d["spec"]["minReplicaCount"].as_u64(),
                    _ => None,
                }
            });
            assert!(min.is_some_and(|m| m >= 2), "{name}: min replicas {min:?}");
        }
    }
}

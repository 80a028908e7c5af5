//! Tests — network flows: for every case, the rendered NetworkPolicies admit every flow the stack
//! declares and refuse connections nobody declared; removing a rule or widening a policy is caught.

use std::collections::BTreeMap;

use fredgen::render::Output;
use fredgen::render::flows::{Conn, Endpoint, PUBLIC_IP, admits, connections};
use fredgen::render::parse_back::yaml_documents;
use serde_json::Value;

use crate::support::{Case, cases, edited, render};

fn policies(out: &Output) -> Vec<Value> {
    yaml_documents(&out.files["k8s/network-policies.yaml"]).expect("parses")
}

fn namespace(out: &Output) -> String {
    policies(out)[0]["metadata"]["namespace"]
        .as_str()
        .expect("namespaced")
        .to_string()
}

/// Declared flows the policies block.
fn blocked(out: &Output) -> Vec<String> {
    let (pols, ns) = (policies(out), namespace(out));
    out.flows
        .iter()
        .flat_map(|f| connections(f, &ns).into_iter().map(move |c| (f, c)))
        .filter(|(_, c)| !admits(&pols, c))
        .map(|(f, c)| format!("{} ({}): {c}", f.policy, f.why))
        .collect()
}

fn pod(ns: &str, labels: &[(&str, &str)]) -> Endpoint {
    Endpoint::Pod {
        namespace: ns.to_string(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
    }
}

fn conn(from: &Endpoint, to: &Endpoint, port: &str) -> Conn {
    Conn {
        from: from.clone(),
        to: to.clone(),
        protocol: "TCP".into(),
        port: port.into(),
    }
}

/// Connections nobody declared that the policies admit.
fn undeclared_open(out: &Output) -> Vec<String> {
    let (pols, ns) = (policies(out), namespace(out));
    let stack = stack_of(out);
    let app = |name: &str, component: &str, egress: bool| {
        let mut labels = vec![
            ("app.kubernetes.io/name", name),
            ("app.kubernetes.io/part-of", stack.name.as_str()),
            ("app.kubernetes.io/managed-by", "fredgen"),
            ("app.kubernetes.io/component", component),
        ];
        if egress {
            labels.push(("fredgen.io/egress", "internet"));
        }
        pod(&ns, &labels)
    };
    let frontend = app(&stack.frontend, "web", false);
    let stranger = pod("default", &[]);
    let internet = Endpoint::Ip(PUBLIC_IP);
    let mut must_refuse = vec![
        (
            conn(&stranger, &frontend, "http"),
            "a pod of another namespace to the frontend",
        ),
        (
            conn(&frontend, &internet, "443"),
            "the frontend to the internet",
        ),
        (
            conn(&frontend, &internet, "80"),
            "the frontend to the internet",
        ),
    ];
    for (name, internet_ok) in &stack.workers {
        let w = app(name, "worker", *internet_ok);
        must_refuse.push((conn(&w, &frontend, "http"), "a worker to the frontend"));
        must_refuse.push((
            conn(&stranger, &w, "9100"),
            "a pod of another namespace to a worker",
        ));
        must_refuse.push((
            conn(&w, &internet, "25"),
            "a worker to the internet on SMTP",
        ));
        if !internet_ok {
            must_refuse.push((
                conn(&w, &internet, "443"),
                "an `egress: none` worker to the internet",
            ));
        }
    }
    if let Some(q) = &stack.queue {
        let q = pod(&ns, &[("app.kubernetes.io/name", q.as_str())]);
        must_refuse.push((
            conn(&stranger, &q, "5672"),
            "a pod of another namespace to RabbitMQ",
        ));
    }
    if let Some(pg) = &stack.postgres {
        let pg = pod(&ns, &[("cnpg.io/cluster", pg.as_str())]);
        must_refuse.push((
            conn(&stranger, &pg, "5432"),
            "a pod of another namespace to PostgreSQL",
        ));
    }
    must_refuse
        .into_iter()
        .filter(|(c, _)| admits(&pols, c))
        .map(|(c, why)| format!("{why}: {c}"))
        .collect()
}

/// What the probes need of a stack, read from its rendered objects.
struct Probe {
    name: String,
    frontend: String,
    workers: Vec<(String, bool)>,
    queue: Option<String>,
    postgres: Option<String>,
}

fn stack_of(out: &Output) -> Probe {
    let docs: Vec<Value> = out
        .files
        .iter()
        .filter(|(p, _)| p.starts_with("k8s/") && p.ends_with(".yaml"))
        .flat_map(|(_, t)| yaml_documents(t).expect("parses"))
        .collect();
    let label = |d: &Value, k: &str| d["metadata"]["labels"][k].as_str().map(str::to_string);
    let deployments = docs.iter().filter(|d| d["kind"] == "Deployment");
    let mut frontend = String::new();
    let mut workers = Vec::new();
    let mut name = String::new();
    for d in deployments {
        let n = d["metadata"]["name"].as_str().expect("named").to_string();
        name = label(d, "app.kubernetes.io/part-of").unwrap_or_default();
        let pod_labels = &d["spec"]["template"]["metadata"]["labels"];
        match label(d, "app.kubernetes.io/component").as_deref() {
            Some("web") => frontend = n,
            Some("worker") => workers.push((n, pod_labels["fredgen.io/egress"] == "internet")),
            _ => {}
        }
    }
    let named = |kind: &str, api: &str| {
        docs.iter()
            .find(|d| {
                d["kind"] == kind && d["apiVersion"].as_str().is_some_and(|a| a.starts_with(api))
            })
            .and_then(|d| d["metadata"]["name"].as_str().map(str::to_string))
    };
    Probe {
        name,
        frontend,
        workers,
        queue: named("RabbitmqCluster", "rabbitmq.com/"),
        postgres: named("Cluster", "postgresql.cnpg.io/"),
    }
}

#[test]
fn every_case_admits_its_flows_and_nothing_undeclared() {
    let mut failures = Vec::new();
    for case in cases() {
        let out = render(&case);
        assert!(
            out.flows.len() >= 2,
            "{}: {} flows",
            case.name(),
            out.flows.len()
        );
        for p in blocked(&out) {
            failures.push(format!("{}: declared flow blocked: {p}", case.name()));
        }
        for p in undeclared_open(&out) {
            failures.push(format!("{}: undeclared flow open: {p}", case.name()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn acme(target: &'static str) -> Output {
    render(&Case {
        example: "acme".into(),
        target,
        env: None,
    })
}

/// `out` without the NetworkPolicy `name`.
fn without_policy(out: &Output, name: &str) -> Output {
    let text = &out.files["k8s/network-policies.yaml"];
    let docs: Vec<&str> = text
        .split("\n---\n")
        .filter(|d| !d.contains(&format!("\n  name: {name}\n")))
        .collect();
    assert!(
        docs.len() < text.split("\n---\n").count(),
        "no policy `{name}`"
    );
    let mut cut = out.clone();
    cut.files
        .insert("k8s/network-policies.yaml".into(), docs.join("\n---\n"));
    cut
}

#[test]
fn a_call_through_an_env_url_is_a_flow_both_ways() {
    // acme's API reads METRICS_URL=http://acme-collector.acme.svc.cluster.local:9100.
    let out = acme("eks");
    let calls: Vec<_> = out
        .flows
        .iter()
        .filter(|f| f.policy == "acme-web-calls" || f.policy == "acme-collector-callers")
        .collect();
    assert_eq!(calls.len(), 2, "{:#?}", out.flows);
    // Without the callee's ingress rule the call is blocked, and reported.
    let b = blocked(&without_policy(&out, "acme-collector-callers"));
    assert!(
        b.iter().any(|p| p.starts_with("acme-web-calls")),
        "the call is not reported blocked: {b:#?}"
    );
}

#[test]
fn a_removed_rule_blocks_a_declared_flow() {
    let out = acme("hetzner");
    // The ACME HTTP-01 solver behind Traefik (review B7): without its policy, the order never
    // validates.
    let b = blocked(&without_policy(&out, "acme-http01-solver"));
    assert!(
        b.iter().any(|p| p.starts_with("acme-http01-solver")),
        "{b:#?}"
    );
}

#[test]
fn a_widened_policy_opens_an_undeclared_flow() {
    let out = render(&Case {
        example: "fred".into(),
        target: "eks",
        env: Some("prod".into()),
    });
    // Internet egress on every port (review M12) lets a worker send mail.
    let wide = edited(
        &out,
        "k8s/network-policies.yaml",
        "  egress:\n    - ports:\n        - port: 443\n          protocol: TCP\n      to:\n        - ipBlock:\n            cidr: 0.0.0.0/0",
        "  egress:\n    - to:\n        - ipBlock:\n            cidr: 0.0.0.0/0",
    );
    let open = undeclared_open(&wide);
    assert!(
        open.iter()
            .any(|p| p.starts_with("a worker to the internet on SMTP")),
        "{open:#?}"
    );
}

//! Tests — network flows: for every case and generated call graphs, the rendered NetworkPolicies
//! admit every flow the stack declares and refuse connections nobody declared; removing a rule or
//! widening a policy is caught.

use std::collections::BTreeMap;

use fredgen::render::Output;
use fredgen::render::flows::{Endpoint, PUBLIC_IP, admits, connections};
use fredgen::render::parse_back::yaml_documents;
use serde_json::Value;

use crate::support::{Case, cases, conn, edited, pod, render};

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
    let mut must_refuse = vec![(
        conn(&stranger, &frontend, "http"),
        "a pod of another namespace to the frontend",
    )];
    // A frontend that declares no egress (the exact check per process is
    // `each_process_reaches_exactly_what_its_spec_gives_it`).
    let frontend_egress = format!("{}-egress", stack.frontend);
    if !pols
        .iter()
        .any(|p| p["metadata"]["name"] == frontend_egress.as_str())
    {
        must_refuse.push((
            conn(&frontend, &internet, "443"),
            "the frontend to the internet",
        ));
        must_refuse.push((
            conn(&frontend, &internet, "80"),
            "the frontend to the internet",
        ));
    }
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
fn a_declared_call_is_a_flow_both_ways() {
    // acme's API declares `calls: [{ service: collector, env: METRICS_URL }]`.
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
        "  egress:\n    - ports:\n        - port: 443\n          protocol: TCP\n      to:\n        - ipBlock:\n            cidr: 1.0.0.0/8",
        "  egress:\n    - to:\n        - ipBlock:\n            cidr: 1.0.0.0/8",
    );
    let open = undeclared_open(&wide);
    assert!(
        open.iter()
            .any(|p| p.starts_with("a worker to the internet on SMTP")),
        "{open:#?}"
    );
}

/// One app process as its pods carry it, and what the spec lets it reach.
struct Process {
    what: String,
    pod: Endpoint,
    database: bool,
    queue: bool,
    internet: bool,
    egress: Vec<fredgen::model::Destination>,
    /// The Kubernetes names of the services it declares it calls.
    calls: Vec<String>,
    /// For an internal service: its container port.
    serves: Option<u16>,
}

/// The processes of a case: the frontend, its migration Job (the frontend's database and queue,
/// no egress) and each worker, with the pod labels as rendered.
fn processes(case: &Case, out: &Output, stack: &fredgen::model::Stack) -> Vec<Process> {
    let ns = namespace(out);
    let mut found = Vec::new();
    for (path, text) in &out.files {
        if !(path.starts_with("k8s/") && path.ends_with(".yaml")) {
            continue;
        }
        for d in yaml_documents(text).expect("parses") {
            if d["kind"] != "Deployment" && d["kind"] != "Job" {
                continue;
            }
            let labels: BTreeMap<String, String> = d["spec"]["template"]["metadata"]["labels"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect();
            let name = labels["app.kubernetes.io/name"].clone();
            let pod = Endpoint::Pod {
                namespace: ns.clone(),
                labels: labels.clone(),
            };
            let f = &stack.frontend;
            let p = match labels["app.kubernetes.io/component"].as_str() {
                "web" => Process {
                    what: name,
                    pod,
                    database: f.database_env.is_some(),
                    queue: f.queue_env.is_some(),
                    internet: f.egress_internet,
                    egress: f.egress.clone(),
                    calls: callees(&f.calls),
                    serves: None,
                },
                "migrate" => Process {
                    what: name,
                    pod,
                    database: f.database_env.is_some(),
                    queue: f.queue_env.is_some(),
                    internet: false,
                    egress: Vec::new(),
                    calls: Vec::new(),
                    serves: None,
                },
                "service" => {
                    let s = stack
                        .services
                        .iter()
                        .find(|s| s.name == name)
                        .unwrap_or_else(|| panic!("{}: no service {name}", case.name()));
                    Process {
                        what: name,
                        pod,
                        database: s.database_env.is_some(),
                        queue: s.queue_env.is_some(),
                        internet: s.egress_internet,
                        egress: s.egress.clone(),
                        calls: callees(&s.calls),
                        serves: Some(s.port),
                    }
                }
                "worker" => {
                    let w = stack
                        .workers
                        .iter()
                        .find(|w| w.name == name)
                        .unwrap_or_else(|| panic!("{}: no worker {name}", case.name()));
                    Process {
                        what: name,
                        pod,
                        database: w.database_env.is_some(),
                        queue: w.queue_env.is_some(),
                        internet: w.egress_internet,
                        egress: w.egress.clone(),
                        calls: callees(&w.calls),
                        serves: None,
                    }
                }
                _ => continue,
            };
            found.push(p);
        }
    }
    found
}

/// The validated model of a case.
fn model_of(case: &Case) -> fredgen::model::Stack {
    let loaded = crate::support::load_example(&case.example);
    let target = fredgen::backend::find(case.target).expect("target");
    loaded
        .stack(target, case.env.as_deref())
        .expect("validates")
}

fn callees(calls: &[fredgen::model::Call]) -> Vec<String> {
    calls.iter().map(|c| c.name.clone()).collect()
}

/// Where the public load balancer's traffic comes from on this case's target: the peers of the
/// frontend's declared ingress flow.
fn load_balancer(out: &Output, stack: &fredgen::model::Stack) -> Vec<Endpoint> {
    let policy = format!("{}-ingress", stack.frontend.name);
    let flow = out
        .flows
        .iter()
        .find(|f| f.policy == policy)
        .expect("the frontend's ingress flow");
    connections(flow, &stack.namespace)
        .into_iter()
        .map(|c| c.from)
        .collect()
}

/// For every process × service: a connection to the service's port is open exactly when the
/// process declares the call; the load balancer reaches it exactly when it has public routes; a
/// pod of another namespace never reaches a service, and a caller never reaches another port of
/// it.
fn call_mismatches(case: &Case, out: &Output, stack: &fredgen::model::Stack) -> Vec<String> {
    let pols = policies(out);
    let procs = processes(case, out, stack);
    let services: Vec<&Process> = procs.iter().filter(|p| p.serves.is_some()).collect();
    assert_eq!(services.len(), stack.services.len(), "{}", case.name());
    let stranger = pod("default", &[]);
    let lb = load_balancer(out, stack);
    assert!(!lb.is_empty(), "{}: no load balancer peer", case.name());
    let mut found = Vec::new();
    for s in &services {
        let port = s.serves.expect("a service").to_string();
        if admits(&pols, &conn(&stranger, &s.pod, &port)) {
            found.push(format!("{}: a foreign pod reaches {}", case.name(), s.what));
        }
        let public = stack.services.iter().any(|m| m.name == s.what && m.public);
        for from in &lb {
            if admits(&pols, &conn(from, &s.pod, &port)) != public {
                let verb = if public { "blocked" } else { "open" };
                found.push(format!(
                    "{}: load balancer -> {} {verb}",
                    case.name(),
                    s.what
                ));
            }
        }
        for p in &procs {
            let want = p.calls.contains(&s.what);
            if admits(&pols, &conn(&p.pod, &s.pod, &port)) != want {
                let verb = if want { "blocked" } else { "open" };
                found.push(format!("{}: {} -> {} {verb}", case.name(), p.what, s.what));
            }
            if admits(&pols, &conn(&p.pod, &s.pod, "6379")) {
                found.push(format!(
                    "{}: {} -> {} on another port",
                    case.name(),
                    p.what,
                    s.what
                ));
            }
        }
    }
    found
}

#[test]
fn each_process_reaches_exactly_the_services_it_calls() {
    let (mut failures, mut calls) = (Vec::new(), 0);
    for case in cases() {
        let stack = model_of(&case);
        let out = render(&case);
        calls += stack.frontend.calls.len()
            + stack.workers.iter().map(|w| w.calls.len()).sum::<usize>()
            + stack.services.iter().map(|s| s.calls.len()).sum::<usize>();
        failures.extend(call_mismatches(&case, &out, &stack));
    }
    assert!(calls >= 5, "the examples declare {calls} calls");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_load_balancer_reaches_a_service_only_through_its_public_routes() {
    // shop's search is public and pricing internal: removing search's ingress policy blocks
    // the load balancer; giving pricing search's policy opens it, and both are caught.
    for target in ["eks", "gke", "hetzner"] {
        let case = cases()
            .into_iter()
            .find(|c| c.example == "shop" && c.target == target)
            .expect("shop is a case");
        let stack = model_of(&case);
        let out = render(&case);
        assert!(call_mismatches(&case, &out, &stack).is_empty());
        let closed = without_policy(&out, "shop-search-ingress");
        let found = call_mismatches(&case, &closed, &stack);
        assert!(
            found
                .iter()
                .any(|f| f.contains("load balancer -> shop-search blocked")),
            "{target}: {found:?}"
        );
        // The search ingress policy, opened to every service on pricing's port.
        let mut widened = out.clone();
        let text = widened
            .files
            .get_mut("k8s/network-policies.yaml")
            .expect("rendered");
        *text = text
            .split("---\n")
            .map(|doc| {
                if doc.contains("name: shop-search-ingress\n") {
                    doc.replace(
                        "app.kubernetes.io/name: shop-search\n",
                        "app.kubernetes.io/component: service\n",
                    )
                    .replace("- port: 9200\n", "- port: 8080\n")
                } else {
                    doc.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("---\n");
        let found = call_mismatches(&case, &widened, &stack);
        assert!(
            found
                .iter()
                .any(|f| f.contains("load balancer -> shop-pricing open")),
            "{target}: {found:?}"
        );
    }
}

#[test]
fn a_call_opened_on_one_side_only_is_caught() {
    // shop's exporter calls search; without its egress rule the call is blocked both in the
    // declared flows and in the per-process check; a call needs both sides, so only widening both
    // the callee's ingress and a caller's egress opens an undeclared call, and that is caught.
    let case = Case {
        example: "shop".into(),
        target: "gke",
        env: None,
    };
    let out = render(&case);
    let loaded = crate::support::load_example("shop");
    let stack = loaded
        .stack(fredgen::backend::find("gke").expect("target"), None)
        .expect("validates");
    assert_eq!(call_mismatches(&case, &out, &stack), Vec::<String>::new());
    let cut = without_policy(&out, "shop-exporter-calls");
    let b = blocked(&cut);
    assert!(
        b.iter().any(|p| p.starts_with("shop-exporter-calls")),
        "{b:#?}"
    );
    crate::support::reported(
        &call_mismatches(&case, &cut, &stack),
        "shop-exporter -> shop-search blocked",
    );
    let wide = edited(
        &out,
        "k8s/network-policies.yaml",
        "  ingress:\n    - from:\n        - podSelector:\n            matchLabels:\n              app.kubernetes.io/name: shop-web\n",
        "  ingress:\n    - from:\n        - podSelector: {}\n",
    );
    // One side alone opens nothing: the thumbnailer's own egress still denies it.
    assert_eq!(call_mismatches(&case, &wide, &stack), Vec::<String>::new());
    // Both sides: the exporter's call rule over every pod of the namespace.
    let wide = edited(
        &wide,
        "k8s/network-policies.yaml",
        "  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: shop-exporter\n  policyTypes:\n    - Egress\n",
        "  podSelector: {}\n  policyTypes:\n    - Egress\n",
    );
    let open = call_mismatches(&case, &wide, &stack);
    crate::support::reported(&open, "shop-thumbnailer -> shop-search open");
}

fn in_cidr(cidr: &str, ip: std::net::Ipv4Addr) -> bool {
    let (net, bits) = cidr.split_once('/').expect("a CIDR");
    let net: std::net::Ipv4Addr = net.parse().expect("an address");
    let bits: u32 = bits.parse().expect("a prefix");
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    u32::from(ip) & mask == u32::from(net) & mask
}

/// For every process: a connection to the database, the queue and each probe address × port is
/// open exactly when the spec gives the process that access.
fn access_mismatches(case: &Case, out: &Output, stack: &fredgen::model::Stack) -> Vec<String> {
    use fredgen::model::Placement;
    let (pols, ns) = (policies(out), namespace(out));
    let procs = processes(case, out, stack);
    assert!(
        procs.len() > stack.workers.len(),
        "{}: processes found",
        case.name()
    );
    // Where each service is reached, per target.
    let database: Option<(Endpoint, &str)> =
        stack
            .postgres
            .as_ref()
            .map(|pg| match (pg.placement, case.target) {
                (Placement::InCluster, _) => {
                    (pod(&ns, &[("cnpg.io/cluster", pg.name.as_str())]), "5432")
                }
                (Placement::Managed, "eks") => (Endpoint::Ip([10, 0, 100, 10].into()), "5432"),
                (Placement::Managed, "gke") => (Endpoint::Ip([10, 30, 0, 10].into()), "3307"),
                (Placement::Managed, t) => panic!("no managed database on {t}"),
            });
    let queue = stack
        .queue
        .as_ref()
        .map(|q| pod(&ns, &[("app.kubernetes.io/name", q.name.as_str())]));
    // Probe addresses: a public one, one inside each listed block, a private one; probe ports:
    // HTTPS, SMTP and every listed port.
    let mut listed: Vec<&fredgen::model::Destination> = stack.frontend.egress.iter().collect();
    listed.extend(stack.workers.iter().flat_map(|w| &w.egress));
    let mut ips = vec![PUBLIC_IP, std::net::Ipv4Addr::new(10, 200, 0, 1)];
    let mut ports: Vec<u16> = vec![443, 25];
    for d in &listed {
        ports.push(d.port);
        if let Some(c) = &d.cidr {
            let net: std::net::Ipv4Addr =
                c.split('/').next().unwrap_or_default().parse().expect("ip");
            ips.push(net);
        }
    }
    ports.sort_unstable();
    ports.dedup();
    let private = |ip: std::net::Ipv4Addr| ip.is_private() || ip.is_link_local();
    let mut out_ = Vec::new();
    for p in &procs {
        let mut check = |to: &Endpoint, port: &str, want: bool, what: &str| {
            let c = conn(&p.pod, to, port);
            if admits(&pols, &c) != want {
                let verb = if want { "blocked" } else { "open" };
                out_.push(format!("{} ({}): {what} {verb}: {c}", case.name(), p.what));
            }
        };
        if let Some((db, port)) = &database {
            check(db, port, p.database, "the database");
        }
        if let Some(q) = &queue {
            check(q, "5672", p.queue, "the queue");
        }
        for ip in &ips {
            for port in &ports {
                let want = !private(*ip)
                    && ((p.internet && *port == 443)
                        || p.egress.iter().any(|d| {
                            d.port == *port && d.cidr.as_deref().is_none_or(|c| in_cidr(c, *ip))
                        }));
                check(&Endpoint::Ip(*ip), &port.to_string(), want, "egress");
            }
        }
    }
    out_
}

#[test]
fn each_process_reaches_exactly_what_its_spec_gives_it() {
    let mut failures = Vec::new();
    let mut shapes = std::collections::BTreeSet::new();
    for case in cases() {
        let stack = model_of(&case);
        let out = render(&case);
        let f = &stack.frontend;
        let procs = std::iter::once((&f.database_env, &f.queue_env, f.egress_internet, &f.egress))
            .chain(
                stack
                    .workers
                    .iter()
                    .map(|w| (&w.database_env, &w.queue_env, w.egress_internet, &w.egress)),
            );
        for (db, q, internet, egress) in procs {
            shapes.insert((db.is_some(), q.is_some(), internet, !egress.is_empty()));
        }
        failures.extend(access_mismatches(&case, &out, &stack));
    }
    // The examples exercise a process with and without each kind of access.
    for (i, what) in ["database", "queue", "internet", "listed egress"]
        .iter()
        .enumerate()
    {
        let pick = |s: &(bool, bool, bool, bool)| [s.0, s.1, s.2, s.3][i];
        assert!(shapes.iter().any(pick), "no example process with {what}");
        assert!(
            shapes.iter().any(|s| !pick(s)),
            "no example process without {what}"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_process_that_opts_out_of_the_database_is_refused_when_its_rule_is_widened() {
    // shop's mailer says `postgres: false`; a database policy over every app pod lets it in.
    let out = render(&Case {
        example: "shop".into(),
        target: "hetzner",
        env: None,
    });
    let loaded = crate::support::load_example("shop");
    let stack = loaded
        .stack(fredgen::backend::find("hetzner").expect("target"), None)
        .expect("validates");
    let case = Case {
        example: "shop".into(),
        target: "hetzner",
        env: None,
    };
    assert_eq!(access_mismatches(&case, &out, &stack), Vec::<String>::new());
    // Both sides: the clients' egress and the database's ingress.
    let mut wide = out.clone();
    let text = wide
        .files
        .get_mut("k8s/network-policies.yaml")
        .expect("rendered");
    assert_eq!(text.matches("- shop-mailer\n").count(), 2, "{text}");
    *text = text.replace("- shop-mailer\n", "- nobody\n");
    let found = access_mismatches(&case, &wide, &stack);
    assert!(
        found
            .iter()
            .any(|p| p.contains("(shop-mailer): the database open")),
        "{found:#?}"
    );
}

/// A generated call graph: services (their ports, whether each uses the database) and, for the
/// frontend, each worker and each service, which services it calls and whether it names the
/// variable.
#[derive(Debug, Clone)]
struct Graph {
    ports: Vec<u16>,
    database: Vec<bool>,
    workers: usize,
    /// Per caller (frontend, workers, services in order): (callee index, named variable).
    calls: Vec<Vec<(usize, bool)>>,
}

fn graph() -> impl proptest::strategy::Strategy<Value = Graph> {
    use proptest::prelude::*;
    (1usize..=4, 0usize..=3).prop_flat_map(|(services, workers)| {
        let callers = 1 + workers + services;
        (
            proptest::collection::vec(1024u16..=65535, services),
            proptest::collection::vec(any::<bool>(), services),
            proptest::collection::vec(
                proptest::sample::subsequence((0..services).collect::<Vec<_>>(), 0..=services)
                    .prop_flat_map(|callees| {
                        let n = callees.len();
                        (Just(callees), proptest::collection::vec(any::<bool>(), n))
                    }),
                callers,
            ),
        )
            .prop_map(move |(ports, database, calls)| Graph {
                ports,
                database,
                workers,
                calls: calls
                    .into_iter()
                    .enumerate()
                    .map(|(caller, (callees, named))| {
                        callees
                            .into_iter()
                            .zip(named)
                            // A service does not call itself.
                            .filter(|(c, _)| caller < 1 + workers || *c != caller - 1 - workers)
                            .collect()
                    })
                    .collect(),
            })
    })
}

impl Graph {
    fn spec(&self) -> String {
        let calls = |i: usize| -> String {
            let items: Vec<String> = self.calls[i]
                .iter()
                .map(|(c, named)| {
                    if *named {
                        format!("{{ service: s{c}, env: CALL_{i}_{c} }}")
                    } else {
                        format!("s{c}")
                    }
                })
                .collect();
            format!("[{}]", items.join(", "))
        };
        let mut text = format!(
            "name: graph\ndomain: graph.example.com\nfrontend:\n  image: ghcr.io/acme/g:1.0.0\n  port: 8000\n  calls: {}\n",
            calls(0)
        );
        if self.workers > 0 {
            text.push_str("workers:\n");
        }
        for w in 0..self.workers {
            text.push_str(&format!(
                "  - name: w{w}\n    image: ghcr.io/acme/g:1.0.0\n    postgres: false\n    calls: {}\n",
                calls(1 + w)
            ));
        }
        text.push_str("services:\n");
        for (s, port) in self.ports.iter().enumerate() {
            text.push_str(&format!(
                "  - name: s{s}\n    image: ghcr.io/acme/g:1.0.0\n    port: {port}\n    metrics: {{ port: 9100 }}\n    postgres: {}\n    calls: {}\n",
                self.database[s],
                calls(1 + self.workers + s)
            ));
        }
        text.push_str(
            "postgres: { placement: in-cluster }\ntargets:\n  eks: { region: eu-west-1 }\n  gke: { project: acme-g, region: europe-west1 }\n  hetzner: { location: fsn1 }\n",
        );
        text
    }
}

#[test]
fn generated_call_graphs_open_exactly_their_calls() {
    use proptest::test_runner::{Config, RngSeed, TestRunner};
    let mut runner = TestRunner::new(Config {
        cases: 12,
        rng_seed: RngSeed::Fixed(14),
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&graph(), |g| {
        let text = g.spec();
        let loaded = fredgen::parse("g.yaml", text.clone()).expect("parses");
        for target in ["eks", "gke", "hetzner"] {
            let t = fredgen::backend::find(target).expect("target");
            let stack = loaded
                .stack(t, None)
                .unwrap_or_else(|e| panic!("{text}\n{}", e.report()));
            let out = loaded.render(t, None).expect("renders");
            let case = Case {
                example: "generated".into(),
                target,
                env: None,
            };
            let mut failures = blocked(&out);
            failures.extend(undeclared_open(&out));
            failures.extend(call_mismatches(&case, &out, &stack));
            failures.extend(access_mismatches(&case, &out, &stack));
            failures.extend(fredgen::render::consistency::check(&out));
            proptest::prop_assert!(failures.is_empty(), "{text}\n{}", failures.join("\n"));
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Only Prometheus scrapes: for every case, each process's metrics port (often the app's own
/// port) admits Prometheus's pods and no other pod of the `monitoring` namespace (Grafana, Alloy,
/// Loki live there too).
#[test]
fn only_prometheus_reaches_a_metrics_port() {
    let prometheus = pod("monitoring", &[("app.kubernetes.io/name", "prometheus")]);
    let grafana = pod("monitoring", &[("app.kubernetes.io/name", "grafana")]);
    let (mut failures, mut checked) = (Vec::new(), 0);
    for case in cases() {
        let stack = model_of(&case);
        let out = render(&case);
        if !stack.monitoring.metrics {
            continue;
        }
        let pols = policies(&out);
        let ports: BTreeMap<String, u16> = std::iter::once(&stack.frontend)
            .filter_map(|f| f.metrics.as_ref().map(|m| (f.name.clone(), m.port)))
            .chain(
                stack
                    .services
                    .iter()
                    .filter_map(|s| s.metrics.as_ref().map(|m| (s.name.clone(), m.port))),
            )
            .chain(
                stack
                    .workers
                    .iter()
                    .filter_map(|w| w.metrics.as_ref().map(|m| (w.name.clone(), m.port))),
            )
            .collect();
        for p in processes(&case, &out, &stack) {
            let Some(port) = ports.get(&p.what) else {
                continue;
            };
            let port = port.to_string();
            checked += 1;
            if !admits(&pols, &conn(&prometheus, &p.pod, &port)) {
                failures.push(format!(
                    "{}: Prometheus cannot scrape {}",
                    case.name(),
                    p.what
                ));
            }
            if admits(&pols, &conn(&grafana, &p.pod, &port)) {
                failures.push(format!(
                    "{}: Grafana reaches {} on {port}",
                    case.name(),
                    p.what
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(checked >= 10, "only {checked} metrics ports checked");
}

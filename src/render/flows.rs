//! Stage 4 — the network flows of a stack, declared once: every connection the stack implies, from
//! which `k8s/network-policies.yaml` is rendered and against which the tests evaluate it.
//!
//! A [`Flow`] is one allowed connection as the NetworkPolicy that admits it sees it: the policy's
//! pods (its `podSelector`), the direction, the peers on the other side and the ports. Flows of one
//! policy are rendered as that policy's rules, in declaration order; everything else stays denied by
//! `default-deny`. The flows come from the stack (load balancer → frontend and the services with
//! public routes, app → PostgreSQL and RabbitMQ, a process → each internal service it declares in
//! `calls`, Prometheus → metrics ports, operators → their pods, internet egress of the workers that
//! ask for it) and from the target's [`Platform`] (load balancer peers, the managed database,
//! workload identity endpoints, the cert-manager HTTP-01 solver behind the ingress where
//! cert-manager validates over HTTP-01 (a DNS-01 solver runs in cert-manager's own namespace,
//! where fredgen writes no policy), the static sites' caching proxies: load balancer in, their
//! buckets out).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::Serialize;
use serde_json::{Value, json};

use super::consistency::{label_selector, string_map};
use super::context::{Platform, egress_to, public_egress};
use crate::model::{Call, Frontend, Placement, Service as App, Stack, Worker};

/// Which way a flow crosses its policy's pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Direction {
    /// Into the policy's pods, from the peers.
    Ingress,
    /// Out of the policy's pods, to the peers.
    Egress,
}

/// One allowed connection, as the NetworkPolicy that admits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flow {
    /// The NetworkPolicy (in the app's namespace) that admits it.
    pub policy: String,
    /// That policy's `podSelector`.
    pub pods: Value,
    /// In or out of those pods.
    pub direction: Direction,
    /// NetworkPolicy peers on the other side; empty: anywhere.
    pub peers: Vec<Value>,
    /// NetworkPolicy ports; empty: every port.
    pub ports: Vec<Value>,
    /// Why the stack needs it, one line.
    pub why: String,
}

/// `k8s/network-policies.yaml` without its header: each policy as YAML under its comment.
pub fn policies_yaml(policies: &[Policy]) -> Result<String, String> {
    let options = serde_saphyr::ser_options! { compact_list_indent: false };
    let mut out = String::new();
    for (i, p) in policies.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str("# ");
        out.push_str(&p.comment);
        out.push('\n');
        out.push_str(
            &serde_saphyr::to_string_with_options(&p.object, options.clone())
                .map_err(|e| e.to_string())?,
        );
    }
    Ok(out)
}

/// One rendered NetworkPolicy: its comment and the object.
#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    /// Why it exists: the reasons of its flows.
    pub comment: String,
    /// The NetworkPolicy object.
    pub object: Value,
}

fn tcp(ports: &[u16]) -> Vec<Value> {
    ports
        .iter()
        .map(|p| json!({ "protocol": "TCP", "port": p }))
        .collect()
}

fn by_name(name: &str) -> Value {
    json!({ "matchLabels": { "app.kubernetes.io/name": name } })
}

fn namespace(ns: &str) -> Value {
    json!({ "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": ns } } })
}

/// Prometheus's pods, as prometheus-operator labels them, in the `monitoring` namespace: the only
/// peer a metrics port admits (Grafana, Alloy and Loki live there too, and a metrics port is
/// often the app's own).
fn prometheus() -> Value {
    let mut peer = namespace("monitoring");
    peer["podSelector"] = json!({ "matchLabels": { "app.kubernetes.io/name": "prometheus" } });
    peer
}

fn pods(selector: Value) -> Value {
    json!({ "podSelector": selector })
}

/// The peers (`to`) and ports of a NetworkPolicy egress rule the platform gives.
fn peers_of(rule: &Value) -> Vec<Value> {
    rule["to"].as_array().cloned().unwrap_or_default()
}

fn ports_of(rule: &Value) -> Vec<Value> {
    rule["ports"].as_array().cloned().unwrap_or_default()
}

/// The app's own pods: frontend, workers, the migration Job and (when the stack has them) the
/// internal services.
fn app_pods(stack: &Stack) -> Value {
    let mut components = vec!["web", "worker", "migrate"];
    if !stack.services.is_empty() {
        components.push("service");
    }
    json!({
        "matchLabels": {
            "app.kubernetes.io/part-of": stack.name,
            "app.kubernetes.io/managed-by": "fredgen",
        },
        "matchExpressions": [{
            "key": "app.kubernetes.io/component",
            "operator": "In",
            "values": components,
        }],
    })
}

/// One of the stack's services a process may use.
#[derive(Debug, Clone, Copy)]
enum Service {
    /// PostgreSQL.
    Database,
    /// RabbitMQ.
    Queue,
}

impl Service {
    fn frontend(self, f: &Frontend) -> bool {
        match self {
            Service::Database => f.database_env.is_some(),
            Service::Queue => f.queue_env.is_some(),
        }
    }
    fn worker(self, w: &Worker) -> bool {
        match self {
            Service::Database => w.database_env.is_some(),
            Service::Queue => w.queue_env.is_some(),
        }
    }
    fn service(self, s: &App) -> bool {
        match self {
            Service::Database => s.database_env.is_some(),
            Service::Queue => s.queue_env.is_some(),
        }
    }
}

/// The app's pods that use `service`: [`app_pods`] when every process does, else the components
/// that do (`web` with its `migrate` Job, which follows the frontend; `worker`) less the workers
/// that do not, by name. The Job is selected by its component, never by its name: the name
/// changes with every release, and the Job runs before the new policies are applied. `None` when
/// no process uses it.
fn users(stack: &Stack, service: Service) -> Option<Value> {
    let web = service.frontend(&stack.frontend);
    let (using, not): (Vec<&Worker>, Vec<&Worker>) =
        stack.workers.iter().partition(|w| service.worker(w));
    let (using_s, not_s): (Vec<&App>, Vec<&App>) =
        stack.services.iter().partition(|s| service.service(s));
    if web && not.is_empty() && not_s.is_empty() {
        return Some(app_pods(stack));
    }
    let mut components = Vec::new();
    if web {
        components.extend(["web", "migrate"]);
    }
    if !using.is_empty() {
        components.push("worker");
    }
    if !using_s.is_empty() {
        components.push("service");
    }
    if components.is_empty() {
        return None;
    }
    let mut selector = app_pods(stack);
    let mut expressions = vec![json!({
        "key": "app.kubernetes.io/component",
        "operator": "In",
        "values": components,
    })];
    // The processes of a selected component that do not use it, by name.
    let mut except: Vec<&str> = Vec::new();
    if !using.is_empty() {
        except.extend(not.iter().map(|w| w.name.as_str()));
    }
    if !using_s.is_empty() {
        except.extend(not_s.iter().map(|s| s.name.as_str()));
    }
    if !except.is_empty() {
        expressions.push(json!({
            "key": "app.kubernetes.io/name",
            "operator": "NotIn",
            "values": except,
        }));
    }
    selector["matchExpressions"] = json!(expressions);
    Some(selector)
}

/// The policy that admits the egress of `users` to a service: `app-egress` when every app pod
/// uses it, else `<service>-clients`.
fn egress_policy(stack: &Stack, users: &Value, service: &str) -> String {
    if *users == app_pods(stack) {
        "app-egress".to_string()
    } else {
        format!("{service}-clients")
    }
}

/// Every call a process declares (`calls`): (caller's Kubernetes name, the call).
fn calls(stack: &Stack) -> impl Iterator<Item = (&str, &Call)> {
    let f = &stack.frontend;
    std::iter::once((f.name.as_str(), f.calls.as_slice()))
        .chain(
            stack
                .workers
                .iter()
                .map(|w| (w.name.as_str(), w.calls.as_slice())),
        )
        .chain(
            stack
                .services
                .iter()
                .map(|s| (s.name.as_str(), s.calls.as_slice())),
        )
        .flat_map(|(caller, calls)| calls.iter().map(move |c| (caller, c)))
}

/// Every flow of the stack, in the order its policies are rendered.
pub fn flows(stack: &Stack, platform: &Platform) -> Vec<Flow> {
    let mut out = Vec::new();
    let mut add = |policy: &str, pods: Value, direction, peers, ports, why: &str| {
        out.push(Flow {
            policy: policy.to_string(),
            pods,
            direction,
            peers,
            ports,
            why: why.to_string(),
        });
    };
    use Direction::{Egress, Ingress};
    let f = &stack.frontend;
    let metrics = stack.monitoring.metrics;
    add(
        "allow-dns",
        json!({}),
        Egress,
        vec![namespace("kube-system")],
        vec![
            json!({ "protocol": "UDP", "port": 53 }),
            json!({ "protocol": "TCP", "port": 53 }),
        ],
        "every pod to the cluster DNS",
    );
    let frontend = format!("{}-ingress", f.name);
    add(
        &frontend,
        by_name(&f.name),
        Ingress,
        platform.lb_peers.clone(),
        tcp(&[f.port]),
        "the public load balancer to the frontend",
    );
    if let Some(m) = f.metrics.as_ref().filter(|_| metrics) {
        add(
            &frontend,
            by_name(&f.name),
            Ingress,
            vec![prometheus()],
            tcp(&[m.port]),
            "Prometheus to its metrics",
        );
    }
    for s in stack.services.iter().filter(|s| s.public) {
        add(
            &format!("{}-ingress", s.name),
            by_name(&s.name),
            Ingress,
            platform.lb_peers.clone(),
            tcp(&[s.port]),
            "the public load balancer to the service, which has public routes",
        );
    }
    // A static site's caching proxy (a platform with no CDN): the ingress in, the site's bucket
    // out on HTTPS (a public endpoint: public addresses only). It reads nothing else.
    for p in &platform.static_proxies {
        add(
            &p.name,
            by_name(&p.name),
            Ingress,
            platform.lb_peers.clone(),
            tcp(&[p.port]),
            "the public load balancer to the static site's caching proxy",
        );
        let rule = public_egress(&[443]);
        add(
            &p.name,
            by_name(&p.name),
            Egress,
            peers_of(&rule),
            ports_of(&rule),
            "the proxy to the site's bucket (Object Storage on public addresses, HTTPS only)",
        );
    }
    if platform.acme_http01 {
        add(
            "acme-http01-solver",
            json!({ "matchLabels": { "acme.cert-manager.io/http01-solver": "true" } }),
            Ingress,
            platform.lb_peers.clone(),
            tcp(&[8089]),
            "the ingress to cert-manager's ACME HTTP-01 solver, while a certificate is issued",
        );
    }
    for s in stack.services.iter().filter(|_| metrics) {
        if let Some(m) = &s.metrics {
            add(
                &format!("{}-metrics", s.name),
                by_name(&s.name),
                Ingress,
                vec![prometheus()],
                tcp(&[m.port]),
                "Prometheus to the service's metrics",
            );
        }
    }
    for (w, m) in stack
        .workers
        .iter()
        .filter_map(|w| Some((w, w.metrics.as_ref()?)))
        .filter(|_| metrics)
    {
        add(
            &format!("{}-metrics", w.name),
            by_name(&w.name),
            Ingress,
            vec![prometheus()],
            tcp(&[m.port]),
            "Prometheus to the worker's metrics",
        );
    }
    let q = stack.queue.as_ref();
    let pg = stack
        .postgres
        .as_ref()
        .filter(|p| p.placement != Placement::Managed);
    let queue_users = q.and_then(|_| users(stack, Service::Queue));
    let db_users = stack
        .postgres
        .as_ref()
        .and_then(|_| users(stack, Service::Database));
    if let (Some(q), Some(who)) = (q, &queue_users) {
        add(
            &egress_policy(stack, who, "queue"),
            who.clone(),
            Egress,
            vec![pods(by_name(&q.name))],
            tcp(&[5672]),
            "the app's pods to the queue",
        );
    }
    if let (Some(pg), Some(who)) = (pg, &db_users) {
        add(
            &egress_policy(stack, who, "database"),
            who.clone(),
            Egress,
            vec![pods(
                json!({ "matchLabels": { "cnpg.io/cluster": pg.name } }),
            )],
            tcp(&[5432]),
            "the app's pods to the database",
        );
    }
    if let Some(who) = &db_users {
        for rule in &platform.database_egress {
            add(
                &egress_policy(stack, who, "database"),
                who.clone(),
                Egress,
                peers_of(rule),
                ports_of(rule),
                "the app's pods to the managed database and what its access path needs",
            );
        }
    }
    for (caller, call) in calls(stack) {
        add(
            &format!("{caller}-calls"),
            by_name(caller),
            Egress,
            vec![pods(by_name(&call.name))],
            tcp(&[call.port]),
            "the internal services it declares in `calls`",
        );
        add(
            &format!("{}-callers", call.name),
            by_name(&call.name),
            Ingress,
            vec![pods(by_name(caller))],
            tcp(&[call.port]),
            "the processes that declare a call to it (nothing else reaches it)",
        );
    }
    let f_internet = stack.frontend.egress_internet;
    let s_internet = stack.services.iter().any(|s| s.egress_internet);
    if f_internet || s_internet || stack.workers.iter().any(|w| w.egress_internet) {
        let rule = public_egress(&[443]);
        let who = if f_internet || s_internet {
            "processes"
        } else {
            "workers"
        };
        add(
            "internet-egress",
            json!({ "matchLabels": { "fredgen.io/egress": "internet" } }),
            Egress,
            peers_of(&rule),
            ports_of(&rule),
            &format!(
                "{who} that declare `egress: internet` to public addresses on HTTPS (never private ranges)"
            ),
        );
    }
    // `egress: [host:port, ...]`: an address or CIDR exactly, a DNS name's port on public
    // addresses only (a NetworkPolicy matches addresses, not names).
    let listed = std::iter::once((&stack.frontend.name, &stack.frontend.egress))
        .chain(stack.workers.iter().map(|w| (&w.name, &w.egress)))
        .chain(stack.services.iter().map(|s| (&s.name, &s.egress)));
    for (name, destinations) in listed {
        for d in destinations {
            let rule = match &d.cidr {
                Some(cidr) => egress_to(cidr, &[d.port]),
                None => public_egress(&[d.port]),
            };
            add(
                &format!("{name}-egress"),
                by_name(name),
                Egress,
                peers_of(&rule),
                ports_of(&rule),
                "the destinations its `egress` lists (a DNS name: that port on public addresses only)",
            );
        }
    }
    // RabbitMQ: clustering ports between its own pods.
    let mut cluster_ports = tcp(&[4369, 5672, 15672, 25672]);
    cluster_ports.push(json!({ "protocol": "TCP", "port": 35672, "endPort": 35682 }));
    if let Some(q) = q {
        let me = by_name(&q.name);
        let policy = q.name.as_str();
        let mut own = |d, peers, ports, why: &str| add(policy, me.clone(), d, peers, ports, why);
        let mut from: Vec<Value> = queue_users.iter().map(|u| pods(u.clone())).collect();
        from.push(namespace("keda"));
        own(Ingress, from, tcp(&[5672]), "AMQP from the app and KEDA");
        own(
            Ingress,
            vec![pods(me.clone())],
            cluster_ports.clone(),
            "clustering between its own pods",
        );
        own(
            Ingress,
            vec![namespace("rabbitmq-system")],
            tcp(&[15672]),
            "the operator's management API calls",
        );
        if metrics {
            own(Ingress, vec![prometheus()], tcp(&[15692]), "Prometheus");
        }
        own(
            Egress,
            vec![pods(me.clone())],
            cluster_ports,
            "out to its peers",
        );
        own(
            Egress,
            Vec::new(),
            tcp(&[443, 6443]),
            "the Kubernetes API (peer discovery)",
        );
    }
    if let Some(pg) = pg {
        let me = json!({ "matchLabels": { "cnpg.io/cluster": pg.name } });
        let policy = pg.name.as_str();
        let mut own = |d, peers, ports, why: &str| add(policy, me.clone(), d, peers, ports, why);
        if let Some(who) = &db_users {
            own(
                Ingress,
                vec![pods(who.clone())],
                tcp(&[5432]),
                "PostgreSQL from the app",
            );
        }
        own(
            Ingress,
            vec![pods(me.clone())],
            tcp(&[5432, 8000]),
            "replication and status between instances",
        );
        own(
            Ingress,
            vec![namespace("cnpg-system")],
            Vec::new(),
            "the operator and the Barman Cloud plugin",
        );
        if metrics {
            own(Ingress, vec![prometheus()], tcp(&[9187]), "Prometheus");
        }
        own(
            Egress,
            vec![pods(me.clone())],
            tcp(&[5432, 8000]),
            "out to its peers",
        );
        own(
            Egress,
            vec![namespace("cnpg-system")],
            Vec::new(),
            "the operator and the plugin",
        );
        own(
            Egress,
            Vec::new(),
            tcp(&[443, 6443]),
            "the Kubernetes API and the backup object store (HTTPS)",
        );
        for rule in &platform.identity_egress {
            own(
                Egress,
                peers_of(rule),
                ports_of(rule),
                "the platform's workload identity endpoint (backup credentials)",
            );
        }
    }
    out
}

/// The NetworkPolicies of the app's namespace: `default-deny`, then one per policy named by the
/// flows, in the order the flows first name them.
pub fn policies(stack: &Stack, flows: &[Flow]) -> Vec<Policy> {
    let mut out = vec![Policy {
        comment: format!(
            "Network policy of namespace {}: everything is denied, then each flow the stack needs is allowed by one of the policies below.",
            stack.namespace
        ),
        object: json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": { "name": "default-deny", "namespace": stack.namespace },
            "spec": { "podSelector": {}, "policyTypes": ["Ingress", "Egress"] },
        }),
    }];
    // Flows grouped by policy, in the order the flows first name them.
    let mut groups: Vec<(&str, Vec<&Flow>)> = Vec::new();
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for f in flows {
        let i = *index.entry(f.policy.as_str()).or_insert_with(|| {
            groups.push((f.policy.as_str(), Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push(f);
    }
    for (name, mine) in groups {
        let rules = |d: Direction, key: &str| -> Vec<Value> {
            mine.iter()
                .filter(|f| f.direction == d)
                .map(|f| {
                    let mut rule = serde_json::Map::new();
                    if !f.peers.is_empty() {
                        rule.insert(key.into(), Value::Array(f.peers.clone()));
                    }
                    if !f.ports.is_empty() {
                        rule.insert("ports".into(), Value::Array(f.ports.clone()));
                    }
                    Value::Object(rule)
                })
                .collect()
        };
        let ingress = rules(Direction::Ingress, "from");
        let egress = rules(Direction::Egress, "to");
        let mut types = Vec::new();
        let mut spec = serde_json::Map::new();
        spec.insert("podSelector".into(), mine[0].pods.clone());
        if !ingress.is_empty() {
            types.push("Ingress");
        }
        if !egress.is_empty() {
            types.push("Egress");
        }
        spec.insert("policyTypes".into(), json!(types));
        if !ingress.is_empty() {
            spec.insert("ingress".into(), Value::Array(ingress));
        }
        if !egress.is_empty() {
            spec.insert("egress".into(), Value::Array(egress));
        }
        let mut whys: Vec<&str> = Vec::new();
        for f in &mine {
            if !whys.contains(&f.why.as_str()) {
                whys.push(&f.why);
            }
        }
        out.push(Policy {
            comment: whys.join("; "),
            object: json!({
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": { "name": name, "namespace": stack.namespace },
                "spec": spec,
            }),
        });
    }
    out
}

/// One end of a connection: a pod (namespace and labels) or an address outside the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A pod.
    Pod {
        /// Its namespace.
        namespace: String,
        /// Its labels.
        labels: BTreeMap<String, String>,
    },
    /// An IPv4 address outside the cluster.
    Ip(Ipv4Addr),
}

/// A connection: from, to, protocol and port (a number or a container port's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conn {
    /// Who connects.
    pub from: Endpoint,
    /// Who accepts.
    pub to: Endpoint,
    /// `TCP` or `UDP`.
    pub protocol: String,
    /// The destination port, as the policies name it.
    pub port: String,
}

impl std::fmt::Display for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let end = |e: &Endpoint| match e {
            Endpoint::Pod { namespace, labels } => format!("pod {namespace}/{labels:?}"),
            Endpoint::Ip(ip) => ip.to_string(),
        };
        write!(
            f,
            "{} -> {} {}/{}",
            end(&self.from),
            end(&self.to),
            self.protocol,
            self.port
        )
    }
}

fn cidr_contains(cidr: &str, ip: Ipv4Addr) -> bool {
    let Some((net, bits)) = cidr.split_once('/') else {
        return false;
    };
    let (Ok(net), Ok(bits)) = (net.parse::<Ipv4Addr>(), bits.parse::<u32>()) else {
        return false;
    };
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits.min(32))
    };
    u32::from(ip) & mask == u32::from(net) & mask
}

/// Whether a NetworkPolicy peer admits an endpoint; `own` is the policy's namespace.
fn peer_admits(peer: &Value, own: &str, e: &Endpoint) -> bool {
    if let Some(block) = peer.get("ipBlock") {
        let Endpoint::Ip(ip) = e else { return false };
        let cidr = block["cidr"].as_str().unwrap_or_default();
        let except = block["except"].as_array().into_iter().flatten();
        return cidr_contains(cidr, *ip)
            && !except
                .filter_map(Value::as_str)
                .any(|c| cidr_contains(c, *ip));
    }
    let Endpoint::Pod { namespace, labels } = e else {
        return false;
    };
    let ns_ok = match peer.get("namespaceSelector") {
        None => namespace == own,
        Some(sel) => {
            let ns_labels =
                BTreeMap::from([("kubernetes.io/metadata.name".to_string(), namespace.clone())]);
            sel.as_object().is_some_and(|m| m.is_empty()) || label_selector(sel, &ns_labels)
        }
    };
    let pod_ok = match peer.get("podSelector") {
        None => true,
        Some(sel) => sel.as_object().is_some_and(|m| m.is_empty()) || label_selector(sel, labels),
    };
    ns_ok && pod_ok
}

fn port_admits(p: &Value, protocol: &str, port: &str) -> bool {
    let proto = p["protocol"].as_str().unwrap_or("TCP");
    if proto != protocol {
        return false;
    }
    match (&p["port"], port.parse::<u64>()) {
        (Value::Null, _) => true,
        (Value::Number(n), Ok(want)) => {
            let from = n.as_u64().unwrap_or_default();
            let to = p["endPort"].as_u64().unwrap_or(from);
            (from..=to).contains(&want)
        }
        (Value::String(name), _) => name == port,
        _ => false,
    }
}

/// Whether the policies of the pod's namespace let `peer` through in `direction` on the port.
fn side_admits(
    policies: &[Value],
    pod: &Endpoint,
    direction: Direction,
    peer: &Endpoint,
    protocol: &str,
    port: &str,
) -> bool {
    let Endpoint::Pod { namespace, labels } = pod else {
        return true; // outside the cluster: no policy applies
    };
    let (kind, key) = match direction {
        Direction::Ingress => ("Ingress", "from"),
        Direction::Egress => ("Egress", "to"),
    };
    let rules_key = kind.to_ascii_lowercase();
    let mut governed = false;
    for p in policies {
        let spec = &p["spec"];
        let in_ns = p["metadata"]["namespace"].as_str() == Some(namespace.as_str());
        let selects = spec["podSelector"]
            .as_object()
            .is_some_and(|m| m.is_empty())
            || label_selector(&spec["podSelector"], labels);
        let typed = spec["policyTypes"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t == kind));
        if !(in_ns && selects && typed) {
            continue;
        }
        governed = true;
        for rule in spec[&rules_key].as_array().into_iter().flatten() {
            let peers_ok = rule[key]
                .as_array()
                .is_none_or(|ps| ps.iter().any(|q| peer_admits(q, namespace, peer)));
            let ports_ok = rule["ports"]
                .as_array()
                .is_none_or(|ps| ps.iter().any(|q| port_admits(q, protocol, port)));
            if peers_ok && ports_ok {
                return true;
            }
        }
    }
    !governed
}

/// Whether the NetworkPolicy objects `policies` let `c` through: the sender's egress and the
/// receiver's ingress (a namespace no policy governs lets everything through).
pub fn admits(policies: &[Value], c: &Conn) -> bool {
    side_admits(
        policies,
        &c.from,
        Direction::Egress,
        &c.to,
        &c.protocol,
        &c.port,
    ) && side_admits(
        policies,
        &c.to,
        Direction::Ingress,
        &c.from,
        &c.protocol,
        &c.port,
    )
}

/// A pod that a label selector selects: its `matchLabels`, plus the first value of each `In`
/// expression.
fn pod_of(selector: &Value, namespace: &str) -> Endpoint {
    let mut labels = string_map(&selector["matchLabels"]);
    for e in selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if e["operator"] == "In"
            && let (Some(k), Some(v)) = (e["key"].as_str(), e["values"][0].as_str())
        {
            labels.insert(k.to_string(), v.to_string());
        }
    }
    Endpoint::Pod {
        namespace: namespace.to_string(),
        labels,
    }
}

/// An address outside the cluster on the public internet (TEST-NET-3, never private).
pub const PUBLIC_IP: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);

/// Endpoints a peer admits, one each: a pod of its selectors, or an address of its ipBlock.
fn peer_endpoint(peer: &Value, own: &str) -> Endpoint {
    if let Some(cidr) = peer["ipBlock"]["cidr"].as_str() {
        let net = cidr
            .split_once('/')
            .and_then(|(n, _)| n.parse::<Ipv4Addr>().ok())
            .unwrap_or(PUBLIC_IP);
        // An address of the block: the host of a /31 or /32, else the first after the network
        // (0.0.0.0/0: a public one).
        let bits: u32 = cidr
            .split_once('/')
            .and_then(|(_, b)| b.parse().ok())
            .unwrap_or(32);
        let ip = if u32::from(net) == 0 {
            PUBLIC_IP
        } else if bits >= 31 {
            net
        } else {
            Ipv4Addr::from(u32::from(net) + 1)
        };
        return Endpoint::Ip(ip);
    }
    let ns = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        .as_str()
        .unwrap_or(own);
    pod_of(&peer["podSelector"], ns)
}

/// The concrete connections one flow stands for: each peer × each port (every port: port 1;
/// anywhere: a public address for egress, a pod of another namespace for ingress).
pub fn connections(flow: &Flow, namespace: &str) -> Vec<Conn> {
    let me = pod_of(&flow.pods, namespace);
    let peers: Vec<Endpoint> = if flow.peers.is_empty() {
        vec![match flow.direction {
            Direction::Egress => Endpoint::Ip(PUBLIC_IP),
            Direction::Ingress => Endpoint::Pod {
                namespace: "elsewhere".into(),
                labels: BTreeMap::new(),
            },
        }]
    } else {
        flow.peers
            .iter()
            .map(|p| peer_endpoint(p, namespace))
            .collect()
    };
    let ports: Vec<(String, String)> = if flow.ports.is_empty() {
        vec![("TCP".into(), "1".into())]
    } else {
        flow.ports
            .iter()
            .map(|p| {
                let port = match &p["port"] {
                    Value::String(s) => s.clone(),
                    v => v.to_string(),
                };
                (p["protocol"].as_str().unwrap_or("TCP").to_string(), port)
            })
            .collect()
    };
    let mut out = Vec::new();
    for peer in peers {
        for (protocol, port) in &ports {
            let (from, to) = match flow.direction {
                Direction::Ingress => (peer.clone(), me.clone()),
                Direction::Egress => (me.clone(), peer.clone()),
            };
            out.push(Conn {
                from,
                to,
                protocol: protocol.clone(),
                port: port.clone(),
            });
        }
    }
    out
}

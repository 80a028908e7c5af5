//! Stage 4 — cross-object consistency of a rendered [`Output`]: the references no schema sees.
//!
//! Every Service selects the pods of a workload (or of an operator: RabbitMQ, CloudNativePG,
//! cert-manager's HTTP-01 solver for an Ingress it issues over HTTP-01); every Secret an issuer's
//! DNS-01 solver reads is created; every HPA, PDB, ScaledObject,
//! ServiceMonitor and PodMonitor targets an object that exists; every referenced Secret and ServiceAccount is
//! generated, created by an operator we generate the owner of, or declared external; every
//! ConfigMap a pod mounts or reads is generated in its namespace; every
//! NetworkPolicy selects existing pods; every port a route or monitor names exists on its
//! Service; every `file(...)` in Terraform points at a generated file. Each problem is one line.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Output;
use super::parse_back::yaml_documents;

/// Secrets that exist outside the output by design (none today; kept explicit so a new external
/// reference is a deliberate edit here, not a silent gap).
pub const EXTERNAL_SECRETS: &[&str] = &[];

/// The namespace every target installs cert-manager into, which is also where a ClusterIssuer's
/// Secrets are read (the chart's default cluster resource namespace is its release namespace).
pub const CERT_MANAGER_NAMESPACE: &str = "cert-manager";

/// The Secrets a cert-manager Issuer or ClusterIssuer reads for its DNS-01 solvers (each
/// provider's `*SecretRef`), as (namespace, name): a ClusterIssuer's in
/// [`CERT_MANAGER_NAMESPACE`], an Issuer's in its own namespace.
pub fn issuer_secrets(doc: &Value) -> Vec<(String, String)> {
    let kind = doc["kind"].as_str().unwrap_or_default();
    let ns = match kind {
        "ClusterIssuer" => CERT_MANAGER_NAMESPACE,
        "Issuer" => doc["metadata"]["namespace"].as_str().unwrap_or_default(),
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    for solver in doc["spec"]["acme"]["solvers"]
        .as_array()
        .into_iter()
        .flatten()
    {
        for (_, provider) in solver["dns01"].as_object().into_iter().flatten() {
            for (key, secret) in provider.as_object().into_iter().flatten() {
                if key.ends_with("SecretRef")
                    && let Some(name) = secret["name"].as_str()
                {
                    out.push((ns.to_string(), name.to_string()));
                }
            }
        }
    }
    out
}

/// Whether an Issuer or ClusterIssuer solves ACME challenges over HTTP-01 (with solver pods in the
/// namespace of the certificate being issued).
fn solves_http01(doc: &Value) -> bool {
    doc["spec"]["acme"]["solvers"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|s| s["http01"].is_object())
}

/// A Kubernetes object with where it came from.
struct Obj {
    file: String,
    doc: Value,
}

impl Obj {
    fn kind(&self) -> &str {
        self.doc["kind"].as_str().unwrap_or_default()
    }
    fn name(&self) -> &str {
        self.doc["metadata"]["name"].as_str().unwrap_or_default()
    }
    fn ns(&self) -> &str {
        self.doc["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
    }
    fn at(&self) -> String {
        format!(
            "{}: {} {}/{}",
            self.file,
            self.kind(),
            self.ns(),
            self.name()
        )
    }
}

/// Pods an object runs: (namespace, labels of the pod template).
fn pod_labels(o: &Obj) -> Option<BTreeMap<String, String>> {
    let labels = match o.kind() {
        "Deployment" | "StatefulSet" | "DaemonSet" | "Job" => {
            &o.doc["spec"]["template"]["metadata"]["labels"]
        }
        _ => return None,
    };
    Some(string_map(labels))
}

pub(crate) fn string_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// A `LabelSelector` (matchLabels and matchExpressions) against a pod's labels. The empty
/// selector `{}` selects every pod; a missing one selects none.
pub(crate) fn label_selector(selector: &Value, labels: &BTreeMap<String, String>) -> bool {
    let Some(sel) = selector.as_object() else {
        return false;
    };
    let by_labels = string_map(&selector["matchLabels"])
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v));
    let by_expressions = sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .all(|e| {
            let value = e["key"].as_str().and_then(|k| labels.get(k));
            let values: Vec<&str> = e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            match e["operator"].as_str() {
                Some("In") => value.is_some_and(|v| values.contains(&v.as_str())),
                Some("NotIn") => value.is_none_or(|v| !values.contains(&v.as_str())),
                Some("Exists") => value.is_some(),
                Some("DoesNotExist") => value.is_none(),
                _ => false,
            }
        });
    by_labels && by_expressions
}

/// Checks one output; returns every problem found.
pub fn check(out: &Output) -> Vec<String> {
    let mut objs = Vec::new();
    let mut problems = Vec::new();
    for (path, text) in &out.files {
        if path.starts_with("k8s/")
            && path.ends_with(".yaml")
            && !path.ends_with("kustomization.yaml")
        {
            match yaml_documents(text) {
                Ok(docs) => {
                    objs.extend(docs.into_iter().filter(|d| d.is_object()).map(|doc| Obj {
                        file: path.clone(),
                        doc,
                    }))
                }
                Err(e) => problems.push(format!("{path}: does not parse: {e}")),
            }
        }
    }
    // One object per kind, namespace and name: kustomize refuses a second ("already registered
    // id"), and `kubectl apply` of one file would silently keep only the last.
    let mut ids = BTreeSet::new();
    for o in &objs {
        if !ids.insert((
            o.kind().to_string(),
            o.ns().to_string(),
            o.name().to_string(),
        )) {
            problems.push(format!(
                "{}: a second {} `{}` in namespace `{}`",
                o.file,
                o.kind(),
                o.name(),
                o.ns()
            ));
        }
    }
    let find = |kind: &str, ns: &str, name: &str| {
        objs.iter()
            .any(|o| o.kind() == kind && o.ns() == ns && o.name() == name)
    };

    // Issuers generated here: (kind, namespace, name) → whether they solve over HTTP-01. A
    // certificate from an issuer not generated here may be solved over HTTP-01.
    let issuers: BTreeMap<(String, String, String), bool> = objs
        .iter()
        .filter(|o| {
            matches!(o.kind(), "ClusterIssuer" | "Issuer")
                && o.doc["apiVersion"]
                    .as_str()
                    .is_some_and(|a| a.starts_with("cert-manager.io/"))
        })
        .map(|o| {
            (
                (
                    o.kind().to_string(),
                    o.ns().to_string(),
                    o.name().to_string(),
                ),
                solves_http01(&o.doc),
            )
        })
        .collect();
    let http01 = |kind: &str, ns: &str, name: &str| {
        let ns = if kind == "ClusterIssuer" { "" } else { ns };
        issuers
            .get(&(kind.to_string(), ns.to_string(), name.to_string()))
            .copied()
            .unwrap_or(true)
    };

    // Pods: workloads we generate, plus those operators create for objects we generate.
    let mut pods: Vec<(String, BTreeMap<String, String>)> = Vec::new();
    // Services: (namespace, name, port names, selector).
    let mut services: Vec<Svc> = Vec::new();
    let mut secrets: BTreeSet<(String, String)> = BTreeSet::new();
    let config_maps: BTreeSet<(String, String)> = objs
        .iter()
        .filter(|o| o.kind() == "ConfigMap")
        .map(|o| (o.ns().to_string(), o.name().to_string()))
        .collect();
    for o in &objs {
        let ns = o.ns().to_string();
        if let Some(l) = pod_labels(o) {
            pods.push((ns.clone(), l));
        }
        match o.kind() {
            "Service" => {
                // Port names and numbers, both as strings.
                let ports = o.doc["spec"]["ports"]
                    .as_array()
                    .map(|ps| {
                        ps.iter()
                            .flat_map(|p| {
                                [
                                    p["name"].as_str().map(str::to_string),
                                    p["port"].as_u64().map(|n| n.to_string()),
                                ]
                            })
                            .flatten()
                            .collect()
                    })
                    .unwrap_or_default();
                services.push((
                    ns.clone(),
                    o.name().into(),
                    ports,
                    string_map(&o.doc["spec"]["selector"]),
                ));
            }
            "Secret" => {
                secrets.insert((ns.clone(), o.name().into()));
            }
            "ExternalSecret" => {
                let target = o.doc["spec"]["target"]["name"].as_str().unwrap_or(o.name());
                secrets.insert((ns.clone(), target.to_string()));
            }
            // cert-manager issues a Certificate (or, through its ingress-shim, an Ingress's);
            // with an HTTP-01 solver it runs solver pods in that namespace while the order is
            // open.
            "Ingress" | "Certificate" if issued_over_http01(o, &http01) => {
                pods.push((
                    ns.clone(),
                    BTreeMap::from([(
                        "acme.cert-manager.io/http01-solver".into(),
                        "true".to_string(),
                    )]),
                ));
            }
            "RabbitmqCluster" => {
                let n = o.name().to_string();
                pods.push((
                    ns.clone(),
                    BTreeMap::from([("app.kubernetes.io/name".into(), n.clone())]),
                ));
                let ports = ["amqp", "5672", "management", "15672", "prometheus", "15692"]
                    .map(String::from)
                    .into_iter()
                    .collect();
                let sel = BTreeMap::from([("app.kubernetes.io/name".to_string(), n.clone())]);
                services.push((ns.clone(), n.clone(), ports, sel));
                secrets.insert((ns.clone(), format!("{n}-default-user")));
            }
            "Cluster"
                if o.doc["apiVersion"]
                    .as_str()
                    .is_some_and(|a| a.starts_with("postgresql.cnpg.io/")) =>
            {
                pods.push((
                    ns.clone(),
                    BTreeMap::from([("cnpg.io/cluster".into(), o.name().to_string())]),
                ));
                secrets.insert((ns.clone(), format!("{}-app", o.name())));
            }
            _ => {}
        }
    }
    let has_pods = |ns: &str, sel: &BTreeMap<String, String>| {
        pods.iter().any(|(pns, l)| pns == ns && selects(sel, l))
    };
    let service = |ns: &str, name: &str| {
        services
            .iter()
            .find(|(sns, sn, _, _)| sns == ns && sn == name)
    };
    let secret_ok = |ns: &str, name: &str| {
        secrets.contains(&(ns.to_string(), name.to_string())) || EXTERNAL_SECRETS.contains(&name)
    };

    for o in &objs {
        let ns = o.ns();
        let spec = &o.doc["spec"];
        match o.kind() {
            "Service"
                if !spec["selector"].is_null() && !has_pods(ns, &string_map(&spec["selector"])) =>
            {
                problems.push(format!("{}: selects no pods", o.at()));
            }
            "HorizontalPodAutoscaler" | "ScaledObject" => {
                let t = &spec["scaleTargetRef"];
                let kind = t["kind"].as_str().unwrap_or("Deployment");
                let name = t["name"].as_str().unwrap_or_default();
                if !find(kind, ns, name) {
                    problems.push(format!(
                        "{}: scales {kind} `{name}`, which is not generated",
                        o.at()
                    ));
                }
            }
            "PodDisruptionBudget" | "NetworkPolicy" | "PodMonitor" => {
                let key = if o.kind() == "NetworkPolicy" {
                    "podSelector"
                } else {
                    "selector"
                };
                if !pods
                    .iter()
                    .any(|(pns, l)| pns == ns && label_selector(&spec[key], l))
                {
                    problems.push(format!("{}: selects no pods", o.at()));
                }
            }
            "ServiceMonitor" => {
                let sel = string_map(&spec["selector"]["matchLabels"]);
                let matching: Vec<_> = services
                    .iter()
                    .filter(|(sns, sn, _, _)| {
                        sns == ns
                            && objs.iter().any(|s| {
                                s.kind() == "Service"
                                    && s.ns() == ns
                                    && s.name() == sn
                                    && selects(&sel, &string_map(&s.doc["metadata"]["labels"]))
                            })
                            || sns == ns
                                && sel.get("app.kubernetes.io/name") == Some(sn)
                                && find("RabbitmqCluster", ns, sn)
                    })
                    .collect();
                if matching.is_empty() {
                    problems.push(format!("{}: selects no Service", o.at()));
                }
                for ep in spec["endpoints"].as_array().into_iter().flatten() {
                    if let Some(port) = ep["port"].as_str()
                        && !matching.iter().any(|(_, _, ports, _)| ports.contains(port))
                    {
                        problems.push(format!(
                            "{}: port `{port}` is not on the selected Service",
                            o.at()
                        ));
                    }
                }
            }
            "Ingress" => {
                for rule in spec["rules"].as_array().into_iter().flatten() {
                    for p in rule["http"]["paths"].as_array().into_iter().flatten() {
                        let svc = &p["backend"]["service"];
                        if svc["port"]["name"] == "use-annotation" {
                            // The AWS Load Balancer Controller's action of that name forwards.
                            check_alb_action(&mut problems, o, svc["name"].as_str(), &service);
                            continue;
                        }
                        check_backend(
                            &mut problems,
                            o,
                            svc["name"].as_str(),
                            svc["port"]["name"].as_str(),
                            svc["port"]["number"].as_u64(),
                            &service,
                        );
                    }
                }
            }
            "IngressRoute" => {
                for route in spec["routes"].as_array().into_iter().flatten() {
                    for b in route["services"].as_array().into_iter().flatten() {
                        if b["kind"] == "TraefikService" {
                            continue;
                        }
                        check_backend(
                            &mut problems,
                            o,
                            b["name"].as_str(),
                            b["port"].as_str(),
                            b["port"].as_u64(),
                            &service,
                        );
                    }
                }
            }
            "HTTPRoute" => {
                for rule in spec["rules"].as_array().into_iter().flatten() {
                    for b in rule["backendRefs"].as_array().into_iter().flatten() {
                        check_backend(
                            &mut problems,
                            o,
                            b["name"].as_str(),
                            None,
                            b["port"].as_u64(),
                            &service,
                        );
                    }
                }
            }
            "ClusterIssuer" | "Issuer" => {
                for (sns, name) in issuer_secrets(&o.doc) {
                    if !secret_ok(&sns, &name) {
                        problems.push(format!(
                            "{}: its DNS-01 solver reads Secret `{name}` in namespace `{sns}`, \
                             which nothing creates",
                            o.at()
                        ));
                    }
                }
            }
            "TriggerAuthentication" => {
                for r in spec["secretTargetRef"].as_array().into_iter().flatten() {
                    let name = r["name"].as_str().unwrap_or_default();
                    if !secret_ok(ns, name) {
                        problems.push(format!(
                            "{}: reads Secret `{name}`, which nothing creates",
                            o.at()
                        ));
                    }
                }
            }
            _ => {}
        }
        // Pod specs: ServiceAccounts and Secrets they reference.
        let pod = match o.kind() {
            "Deployment" | "StatefulSet" | "DaemonSet" | "Job" => &spec["template"]["spec"],
            _ => continue,
        };
        if let Some(sa) = pod["serviceAccountName"].as_str()
            && !find("ServiceAccount", ns, sa)
        {
            problems.push(format!(
                "{}: uses ServiceAccount `{sa}`, which is not generated",
                o.at()
            ));
        }
        let containers = pod["containers"]
            .as_array()
            .into_iter()
            .chain(pod["initContainers"].as_array())
            .flatten();
        for c in containers {
            for e in c["env"].as_array().into_iter().flatten() {
                if let Some(name) = e["valueFrom"]["secretKeyRef"]["name"].as_str()
                    && !secret_ok(ns, name)
                {
                    problems.push(format!(
                        "{}: reads Secret `{name}`, which nothing creates",
                        o.at()
                    ));
                }
            }
        }
        for name in pod_config_maps(pod) {
            if !config_maps.contains(&(ns.to_string(), name.clone())) {
                problems.push(format!(
                    "{}: reads ConfigMap `{name}`, which is not generated",
                    o.at()
                ));
            }
        }
    }
    // Terraform file(...) references.
    for (path, text) in &out.files {
        if !path.ends_with(".tf") {
            continue;
        }
        let dir = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        for (i, _) in text.match_indices("file(\"${path.module}/") {
            let rest = &text[i + "file(\"${path.module}/".len()..];
            let Some(end) = rest.find('"') else { continue };
            let target = format!("{dir}/{}", &rest[..end]);
            if !out.files.contains_key(&target) {
                problems.push(format!(
                    "{path}: file(\"${{path.module}}/{}\") is not generated",
                    &rest[..end]
                ));
            }
        }
    }
    problems
}

/// The ConfigMaps a pod spec cannot start without: its volumes' (plain and projected) and its
/// containers' `envFrom` and `env` references, optional ones left out.
pub(crate) fn pod_config_maps(pod: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut add = |r: &Value| {
        if let Some(n) = r["name"].as_str()
            && r["optional"] != true
        {
            out.insert(n.to_string());
        }
    };
    let containers = ["containers", "initContainers"]
        .iter()
        .filter_map(|k| pod[k].as_array())
        .flatten();
    for c in containers {
        for e in c["envFrom"].as_array().into_iter().flatten() {
            add(&e["configMapRef"]);
        }
        for e in c["env"].as_array().into_iter().flatten() {
            add(&e["valueFrom"]["configMapKeyRef"]);
        }
    }
    for v in pod["volumes"].as_array().into_iter().flatten() {
        add(&v["configMap"]);
        for p in v["projected"]["sources"].as_array().into_iter().flatten() {
            add(&p["configMap"]);
        }
    }
    out
}

/// Whether cert-manager solves the certificate of a Certificate, or of an Ingress it issues through
/// its ingress-shim, over HTTP-01 (`http01(kind, namespace, name)` of its issuer).
fn issued_over_http01(o: &Obj, http01: &dyn Fn(&str, &str, &str) -> bool) -> bool {
    if o.kind() == "Certificate" {
        let r = &o.doc["spec"]["issuerRef"];
        let kind = r["kind"].as_str().unwrap_or("Issuer");
        return http01(kind, o.ns(), r["name"].as_str().unwrap_or_default());
    }
    let a = &o.doc["metadata"]["annotations"];
    [
        ("ClusterIssuer", "cert-manager.io/cluster-issuer"),
        ("Issuer", "cert-manager.io/issuer"),
    ]
    .iter()
    .any(|(kind, key)| a[key].as_str().is_some_and(|n| http01(kind, o.ns(), n)))
}

/// A Service: namespace, name, port names and numbers, selector.
type Svc = (String, String, BTreeSet<String>, BTreeMap<String, String>);

type ServiceRef<'a> = Option<&'a Svc>;

/// An ALB Ingress backend that names an action (`port: use-annotation`): the action's annotation
/// must exist and forward to generated Services and ports.
fn check_alb_action<'a>(
    problems: &mut Vec<String>,
    o: &Obj,
    action: Option<&str>,
    service: &dyn Fn(&str, &str) -> ServiceRef<'a>,
) {
    let action = action.unwrap_or_default();
    let key = format!("alb.ingress.kubernetes.io/actions.{action}");
    let parsed: Option<serde_json::Value> = o.doc["metadata"]["annotations"][key.as_str()]
        .as_str()
        .and_then(|j| serde_json::from_str(j).ok());
    let groups = parsed
        .as_ref()
        .and_then(|a| a["forwardConfig"]["targetGroups"].as_array());
    let Some(groups) = groups.filter(|g| !g.is_empty()) else {
        problems.push(format!(
            "{}: routes to the action `{action}`, which has no forward annotation `{key}`",
            o.at()
        ));
        return;
    };
    for g in groups {
        check_backend(
            problems,
            o,
            g["serviceName"].as_str(),
            g["servicePort"].as_str(),
            g["servicePort"].as_u64(),
            service,
        );
    }
}

fn check_backend<'a>(
    problems: &mut Vec<String>,
    o: &Obj,
    name: Option<&str>,
    port_name: Option<&str>,
    port_number: Option<u64>,
    service: &dyn Fn(&str, &str) -> ServiceRef<'a>,
) {
    let name = name.unwrap_or_default();
    match service(o.ns(), name) {
        None => problems.push(format!(
            "{}: routes to Service `{name}`, which is not generated",
            o.at()
        )),
        Some((_, _, ports, _)) => {
            if let Some(p) = port_name
                && !ports.contains(p)
            {
                problems.push(format!(
                    "{}: routes to port `{p}`, which Service `{name}` does not have",
                    o.at()
                ));
            }
            if let Some(n) = port_number
                && !ports.contains(&n.to_string())
            {
                problems.push(format!(
                    "{}: routes to port {n}, which Service `{name}` does not have",
                    o.at()
                ));
            }
        }
    }
}

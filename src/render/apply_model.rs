//! Stage 4 — a model of the first apply: walks the [`Plan`]'s steps in order over a rendered
//! [`Output`] and reports everything used before it exists.
//!
//! Each step creates objects: a Terraform root its Helm releases (with the CRDs and webhooks their
//! charts install), namespaces, Secrets and manifests; a kustomization its Kubernetes objects (an
//! ExternalSecret or an operator's custom resource counts as the Secret it produces); an upstream
//! manifest what its step declares. Each object needs things: a custom resource its CRD, a Helm
//! values key (`existingSecret`, a ServiceMonitor switch) its Secret or CRD, a pod the Secrets and
//! ConfigMaps it reads, an ExternalSecret a store whose `conditions` admit its namespace, an operator its
//! prerequisites, a Terraform data source what an earlier root created. Within one Terraform root,
//! a Helm release may rely only on what it (transitively) depends on: everything else installs in
//! parallel. One problem per line, naming the step, the file and the object.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Output;
use super::parse_back::yaml_documents;
use super::plan::Step;

/// What a chart installs, as facts: `crd:<group>/<Kind>`, `webhook:<name>`.
const CHARTS: &[(&str, &[&str])] = &[
    (
        "cert-manager",
        &[
            "crd:cert-manager.io/Certificate",
            "crd:cert-manager.io/Issuer",
            "crd:cert-manager.io/ClusterIssuer",
            "crd:cert-manager.io/CertificateRequest",
            "crd:acme.cert-manager.io/Order",
            "crd:acme.cert-manager.io/Challenge",
            "webhook:cert-manager",
        ],
    ),
    (
        "external-secrets",
        &[
            "crd:external-secrets.io/ExternalSecret",
            "crd:external-secrets.io/ClusterSecretStore",
            "crd:external-secrets.io/SecretStore",
            "crd:external-secrets.io/ClusterExternalSecret",
            "webhook:external-secrets",
        ],
    ),
    ("prometheus-operator-crds", MONITORING_CRDS),
    ("kube-prometheus-stack", MONITORING_CRDS),
    (
        "keda",
        &[
            "crd:keda.sh/ScaledObject",
            "crd:keda.sh/ScaledJob",
            "crd:keda.sh/TriggerAuthentication",
            "crd:keda.sh/ClusterTriggerAuthentication",
            "webhook:keda",
        ],
    ),
    (
        "cloudnative-pg",
        &[
            "crd:postgresql.cnpg.io/Cluster",
            "crd:postgresql.cnpg.io/Backup",
            "crd:postgresql.cnpg.io/ScheduledBackup",
            "crd:postgresql.cnpg.io/Pooler",
            "crd:postgresql.cnpg.io/Database",
            "webhook:cloudnative-pg",
        ],
    ),
    (
        "plugin-barman-cloud",
        &[
            "crd:barmancloud.cnpg.io/ObjectStore",
            "webhook:barman-cloud",
        ],
    ),
    (
        "velero",
        &[
            "crd:velero.io/Schedule",
            "crd:velero.io/Backup",
            "crd:velero.io/Restore",
            "crd:velero.io/BackupStorageLocation",
            "crd:velero.io/VolumeSnapshotLocation",
        ],
    ),
    (
        "argo-cd",
        &[
            "crd:argoproj.io/Application",
            "crd:argoproj.io/AppProject",
            "crd:argoproj.io/ApplicationSet",
        ],
    ),
    ("karpenter-crd", KARPENTER_CRDS),
    ("karpenter", KARPENTER_CRDS),
    (
        "aws-load-balancer-controller",
        &[
            "crd:elbv2.k8s.aws/TargetGroupBinding",
            "crd:elbv2.k8s.aws/IngressClassParams",
            "webhook:aws-load-balancer-controller",
        ],
    ),
    (
        "traefik",
        &[
            "crd:traefik.io/IngressRoute",
            "crd:traefik.io/Middleware",
            "crd:traefik.io/TLSOption",
            "crd:traefik.io/ServersTransport",
        ],
    ),
];

const MONITORING_CRDS: &[&str] = &[
    "crd:monitoring.coreos.com/ServiceMonitor",
    "crd:monitoring.coreos.com/PodMonitor",
    "crd:monitoring.coreos.com/PrometheusRule",
    "crd:monitoring.coreos.com/Probe",
    "crd:monitoring.coreos.com/Prometheus",
    "crd:monitoring.coreos.com/Alertmanager",
    "crd:monitoring.coreos.com/AlertmanagerConfig",
    "crd:monitoring.coreos.com/ScrapeConfig",
];

const KARPENTER_CRDS: &[&str] = &[
    "crd:karpenter.sh/NodePool",
    "crd:karpenter.sh/NodeClaim",
    "crd:karpenter.k8s.aws/EC2NodeClass",
];

/// What a chart needs running before it installs (its webhooks' certificates, its operands).
const CHART_NEEDS: &[(&str, &[&str])] = &[(
    "plugin-barman-cloud",
    &[
        "webhook:cert-manager",
        "crd:cert-manager.io/Certificate",
        "crd:postgresql.cnpg.io/Cluster",
    ],
)];

/// API groups served by Kubernetes itself (no CRD needed).
const BUILTIN_GROUPS: &[&str] = &[
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "node.k8s.io",
    "certificates.k8s.io",
    "flowcontrol.apiserver.k8s.io",
];

/// Namespaces every cluster starts with.
const BUILTIN_NAMESPACES: &[&str] = &[
    "ns:default",
    "ns:kube-system",
    "ns:kube-public",
    "ns:kube-node-lease",
];

/// When a need must be met.
#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    /// When Terraform plans the step: only an earlier step can meet it.
    Plan,
    /// When the object installs: an earlier step, or in a Terraform root a resource it depends on.
    Install,
    /// Eventually: the same step meets it too (a pod waits for a Secret the same apply makes).
    Run,
}

/// One thing an object needs, when, and why.
struct Need {
    fact: String,
    why: String,
    by: By,
}

/// One unit that creates and needs facts: a Terraform resource or a Kubernetes object.
struct Unit {
    /// Where it is, for messages: `terraform/30-platform: helm_release.keda`.
    at: String,
    /// Terraform address, for depends_on (empty for Kubernetes objects).
    addr: String,
    /// Terraform addresses it references (explicit `depends_on` and implicit references).
    deps: BTreeSet<String>,
    creates: Vec<String>,
    needs: Vec<Need>,
    /// An ExternalSecret: (namespace, store name).
    store_ref: Option<(String, String)>,
    /// A ClusterSecretStore: (name, its conditions).
    store: Option<(String, Value)>,
}

impl Unit {
    fn new(at: String) -> Unit {
        Unit {
            at,
            addr: String::new(),
            deps: BTreeSet::new(),
            creates: Vec::new(),
            needs: Vec::new(),
            store_ref: None,
            store: None,
        }
    }
    fn need(&mut self, fact: String, why: impl Into<String>, by: By) {
        self.needs.push(Need {
            fact,
            why: why.into(),
            by,
        });
    }
}

/// Every fact the steps of `out` create, once applied: what a guest environment's apply may rely
/// on in its host's cluster. A ClusterSecretStore is `store:<name>/<namespace>` for each
/// namespace its `conditions` admit by name.
pub fn created(out: &Output) -> std::collections::BTreeSet<String> {
    let mut problems = Vec::new();
    let mut facts = std::collections::BTreeSet::new();
    for s in &out.plan.steps {
        let mut units = external_unit(s);
        for a in &s.applies {
            if a.starts_with("terraform/") {
                units.extend(terraform_units(out, a, &mut problems));
            } else {
                units.extend(k8s_units(out, a, &mut problems));
            }
        }
        for u in units {
            facts.extend(u.creates);
            if let Some((name, cond)) = u.store {
                for c in cond.as_array().into_iter().flatten() {
                    for ns in c["namespaces"].as_array().into_iter().flatten() {
                        if let Some(ns) = ns.as_str() {
                            facts.insert(format!("store:{name}/{ns}"));
                        }
                    }
                }
            }
        }
    }
    facts
}

/// Walks the plan of `out` and returns every problem found.
pub fn check(out: &Output) -> Vec<String> {
    let mut problems = out.plan.problems();
    let steps = &out.plan.steps;
    // Every Terraform root and every manifest must be applied by a step.
    let applied: BTreeSet<String> = steps
        .iter()
        .flat_map(|s| &s.applies)
        .flat_map(|a| applied_files(out, a))
        .collect();
    let covered = |path: &str| applied.contains(path);
    for path in out.files.keys() {
        let applied = (path.starts_with("terraform/") && path.ends_with(".tf"))
            || (path.starts_with("k8s/")
                && path.ends_with(".yaml")
                && !path.ends_with("kustomization.yaml"));
        if applied && !covered(path) {
            problems.push(format!("{path}: no step applies it"));
        }
    }
    // Roots in the order the steps apply them.
    let mut roots = Vec::new();
    let units: Vec<Vec<Unit>> = steps
        .iter()
        .map(|s| {
            let mut units = external_unit(s);
            for a in &s.applies {
                if let Some(root) = a.strip_prefix("terraform/") {
                    roots.push(root.to_string());
                    units.extend(terraform_units(out, a, &mut problems));
                } else {
                    units.extend(k8s_units(out, a, &mut problems));
                }
            }
            units
        })
        .collect();
    check_data_sources(out, &roots, &mut problems);

    // Which step creates each fact first.
    let mut first: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, us) in units.iter().enumerate() {
        for u in us {
            for f in &u.creates {
                first.entry(f.as_str()).or_insert(i);
            }
        }
    }
    let mut stores: BTreeMap<String, Value> = BTreeMap::new();
    for (i, (step, us)) in steps.iter().zip(&units).enumerate() {
        for u in us {
            if let Some((name, cond)) = &u.store {
                stores.insert(name.clone(), cond.clone());
            }
        }
        let by_addr: BTreeMap<&str, &Unit> = us
            .iter()
            .filter(|u| !u.addr.is_empty())
            .map(|u| (u.addr.as_str(), u))
            .collect();
        for u in us {
            let reach = reachable(u, &by_addr);
            for n in &u.needs {
                let builtin = BUILTIN_NAMESPACES.contains(&n.fact.as_str());
                let before = builtin || first.get(n.fact.as_str()).is_some_and(|&j| j < i);
                let here = first.get(n.fact.as_str()) == Some(&i);
                if before || u.creates.contains(&n.fact) {
                    continue;
                }
                if here {
                    if n.by == By::Run {
                        continue;
                    }
                    let provider = us
                        .iter()
                        .find(|o| o.creates.contains(&n.fact))
                        .expect("created in this step");
                    let depends =
                        !provider.addr.is_empty() && reach.contains(provider.addr.as_str());
                    if n.by == By::Install && depends {
                        continue;
                    }
                    let how = if n.by == By::Plan && !u.addr.is_empty() {
                        "in the same root, after Terraform plans it".to_string()
                    } else if provider.addr.is_empty() || u.addr.is_empty() {
                        "in the same apply, which cannot serve it yet".to_string()
                    } else {
                        format!(
                            "by {} in the same root, which it does not depend on (they install in parallel)",
                            provider.addr
                        )
                    };
                    problems.push(format!(
                        "step `{}`: {} needs {} ({}), created only {how}",
                        step.id,
                        u.at,
                        show(&n.fact),
                        n.why
                    ));
                    continue;
                }
                let when = match first.get(n.fact.as_str()) {
                    Some(&j) => format!("created only later, by step `{}`", steps[j].id),
                    None => "which no step creates".to_string(),
                };
                problems.push(format!(
                    "step `{}`: {} needs {} ({}), {when}",
                    step.id,
                    u.at,
                    show(&n.fact),
                    n.why
                ));
            }
            // A guest's store is its host's, which an earlier step declares it provides.
            let provided = |ns: &str, store: &str| {
                first
                    .get(format!("store:{store}/{ns}").as_str())
                    .is_some_and(|&j| j < i)
            };
            if let Some((ns, store)) = &u.store_ref
                && !provided(ns, store)
            {
                match stores.get(store) {
                    None => problems.push(format!(
                        "step `{}`: {} reads ClusterSecretStore `{store}`, which no earlier step creates",
                        step.id, u.at
                    )),
                    Some(cond) if !admits(cond, ns) => problems.push(format!(
                        "step `{}`: {} is in namespace `{ns}`, which the `conditions` of ClusterSecretStore `{store}` do not admit",
                        step.id, u.at
                    )),
                    Some(_) => {}
                }
            }
        }
    }
    problems
}

fn show(fact: &str) -> String {
    match fact.split_once(':') {
        Some(("crd", k)) => format!("the CRD of {k}"),
        Some(("secret", s)) => format!("Secret {s}"),
        Some(("configmap", c)) => format!("ConfigMap {c}"),
        Some(("ns", n)) => format!("namespace {n}"),
        Some(("webhook", w)) => format!("{w} running"),
        _ => fact.to_string(),
    }
}

/// Terraform addresses `u` reaches through its references, transitively.
fn reachable<'a>(u: &'a Unit, by_addr: &BTreeMap<&str, &'a Unit>) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<&str> = u.deps.iter().map(String::as_str).collect();
    while let Some(a) = todo.pop() {
        if seen.insert(a)
            && let Some(d) = by_addr.get(a)
        {
            todo.extend(d.deps.iter().map(String::as_str));
        }
    }
    seen
}

/// Whether a ClusterSecretStore's `conditions` admit a namespace (no conditions: every one).
fn admits(conditions: &Value, ns: &str) -> bool {
    let Some(list) = conditions.as_array() else {
        return true;
    };
    list.is_empty()
        || list.iter().any(|c| {
            c["namespaces"]
                .as_array()
                .is_some_and(|n| n.iter().any(|n| n == ns))
                || c["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == ns
        })
}

/// The unit of a step that applies something from outside the output (an operator's release
/// manifest): what the plan says it creates and needs.
fn external_unit(s: &Step) -> Vec<Unit> {
    if s.creates.is_empty() && s.requires.is_empty() {
        return Vec::new();
    }
    let mut u = Unit::new(format!("step `{}`", s.id));
    u.creates = s.creates.clone();
    for r in &s.requires {
        u.need(r.clone(), "declared by the step", By::Install);
    }
    vec![u]
}

/// The group and kind of a manifest.
fn group_kind(doc: &Value) -> (String, String) {
    let api = doc["apiVersion"].as_str().unwrap_or_default();
    let group = api.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    (
        group.to_string(),
        doc["kind"].as_str().unwrap_or_default().to_string(),
    )
}

/// The CRD a manifest needs, unless Kubernetes serves its kind itself.
fn crd_of(doc: &Value) -> Option<String> {
    let (group, kind) = group_kind(doc);
    (!BUILTIN_GROUPS.contains(&group.as_str())).then(|| format!("crd:{group}/{kind}"))
}

/// The files an applied path stands for: a kustomization directory its `resources` (nested
/// kustomizations followed), another directory every file below it, else the file itself.
fn applied_files(out: &Output, applied: &str) -> Vec<String> {
    let kustomization = format!("{applied}/kustomization.yaml");
    if let Some(text) = out.files.get(&kustomization) {
        let doc = yaml_documents(text)
            .ok()
            .and_then(|d| d.into_iter().next())
            .unwrap_or_default();
        return doc["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .flat_map(|r| applied_files(out, &format!("{applied}/{r}")))
            .collect();
    }
    let below = format!("{applied}/");
    let files: Vec<String> = out
        .files
        .keys()
        .filter(|p| *p == applied || p.starts_with(&below))
        .filter(|p| !p.ends_with("kustomization.yaml") && !p.contains("/values/"))
        .cloned()
        .collect();
    files
}

/// The Kubernetes objects of one applied path (a kustomization directory or one manifest).
fn k8s_units(out: &Output, applied: &str, problems: &mut Vec<String>) -> Vec<Unit> {
    let mut units = Vec::new();
    for path in applied_files(out, applied) {
        let text = &out.files[&path];
        if !path.ends_with(".yaml") {
            continue;
        }
        let docs = match yaml_documents(text) {
            Ok(d) => d,
            Err(e) => {
                problems.push(format!("{path}: does not parse: {e}"));
                continue;
            }
        };
        for doc in docs.into_iter().filter(Value::is_object) {
            units.push(k8s_unit(&path, &doc));
        }
    }
    units
}

fn k8s_unit(path: &str, doc: &Value) -> Unit {
    let kind = doc["kind"].as_str().unwrap_or_default();
    let name = doc["metadata"]["name"].as_str().unwrap_or_default();
    let ns = doc["metadata"]["namespace"].as_str().unwrap_or_default();
    let mut u = Unit::new(format!("{path}: {kind} {ns}/{name}"));
    if let Some(crd) = crd_of(doc) {
        u.need(crd, "a custom resource", By::Install);
    }
    if !ns.is_empty() {
        u.need(format!("ns:{ns}"), "its namespace", By::Run);
    }
    let spec = &doc["spec"];
    let (group, _) = group_kind(doc);
    match (group.as_str(), kind) {
        ("", "Namespace") => u.creates.push(format!("ns:{name}")),
        ("", "Secret") => u.creates.push(format!("secret:{ns}/{name}")),
        ("", "ConfigMap") => u.creates.push(format!("configmap:{ns}/{name}")),
        ("", "ServiceAccount") => u.creates.push(format!("sa:{ns}/{name}")),
        ("batch", "Job")
            if doc["metadata"]["labels"]["app.kubernetes.io/component"] == "migrate" =>
        {
            u.creates.push(format!("{MIGRATED}{ns}"));
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            let g = spec["group"].as_str().unwrap_or_default();
            let k = spec["names"]["kind"].as_str().unwrap_or_default();
            u.creates.push(format!("crd:{g}/{k}"));
        }
        ("external-secrets.io", "ExternalSecret") => {
            let target = spec["target"]["name"].as_str().unwrap_or(name);
            u.creates.push(format!("secret:{ns}/{target}"));
            if spec["secretStoreRef"]["kind"] == "ClusterSecretStore" {
                let store = spec["secretStoreRef"]["name"].as_str().unwrap_or_default();
                u.store_ref = Some((ns.to_string(), store.to_string()));
            }
        }
        ("external-secrets.io", "ClusterSecretStore") => {
            u.store = Some((name.to_string(), spec["conditions"].clone()));
        }
        ("rabbitmq.com", "RabbitmqCluster") => {
            u.creates.push(format!("secret:{ns}/{name}-default-user"));
        }
        ("postgresql.cnpg.io", "Cluster") => {
            u.creates.push(format!("secret:{ns}/{name}-app"));
        }
        ("cert-manager.io", "Certificate") => {
            if let Some(s) = spec["secretName"].as_str() {
                u.creates.push(format!("secret:{ns}/{s}"));
            }
        }
        ("cert-manager.io", "ClusterIssuer" | "Issuer") => {
            for (sns, s) in super::consistency::issuer_secrets(doc) {
                u.need(format!("secret:{sns}/{s}"), "its DNS-01 solver", By::Run);
            }
        }
        ("keda.sh", "TriggerAuthentication") => {
            for r in spec["secretTargetRef"].as_array().into_iter().flatten() {
                if let Some(s) = r["name"].as_str() {
                    u.need(format!("secret:{ns}/{s}"), "secretTargetRef", By::Run);
                }
            }
        }
        _ => {}
    }
    let pod = match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" | "Job" => &spec["template"]["spec"],
        "CronJob" => &spec["jobTemplate"]["spec"]["template"]["spec"],
        _ => return u,
    };
    for s in pod_secrets(pod) {
        u.need(format!("secret:{ns}/{s}"), "read by its pods", By::Run);
    }
    if let Some(sa) = pod["serviceAccountName"]
        .as_str()
        .filter(|s| *s != "default")
    {
        u.need(format!("sa:{ns}/{sa}"), "its pods' ServiceAccount", By::Run);
    }
    for c in super::consistency::pod_config_maps(pod) {
        u.need(format!("configmap:{ns}/{c}"), "read by its pods", By::Run);
    }
    u
}

/// The fact a migration Job creates (`migrated:<namespace>`): the database of its namespace holds
/// the schema the new release expects.
pub const MIGRATED: &str = "migrated:";

/// What one Kubernetes object creates and needs, as facts (`ns:`, `secret:`, `configmap:`, `sa:`,
/// `crd:`, [`MIGRATED`]), in the notation of a step's `creates`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// Where it is: `<path>: <Kind> <namespace>/<name>`.
    pub at: String,
    /// What it creates (an ExternalSecret or an operator's resource: the Secret it produces).
    pub creates: Vec<String>,
    /// What it needs before it can work.
    pub needs: Vec<String>,
}

/// The facts of a set of objects applied together (`(path, object)`): each object's own, and
/// every Deployment of a namespace whose migration Job is in the set needs that Job (the
/// database migrates before new pods roll out).
pub fn object_facts(objects: &[(String, Value)]) -> Vec<Facts> {
    let mut facts: Vec<Facts> = objects
        .iter()
        .map(|(path, doc)| {
            let u = k8s_unit(path, doc);
            Facts {
                at: u.at,
                creates: u.creates,
                needs: u.needs.into_iter().map(|n| n.fact).collect(),
            }
        })
        .collect();
    let migrated: BTreeSet<String> = facts
        .iter()
        .flat_map(|f| &f.creates)
        .filter(|c| c.starts_with(MIGRATED))
        .cloned()
        .collect();
    for (f, (_, doc)) in facts.iter_mut().zip(objects) {
        let ns = doc["metadata"]["namespace"].as_str().unwrap_or_default();
        let fact = format!("{MIGRATED}{ns}");
        if doc["kind"] == "Deployment" && migrated.contains(&fact) {
            f.needs.push(fact);
        }
    }
    facts
}

/// Secrets a pod spec cannot start without (optional references left out).
fn pod_secrets(pod: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let containers = ["containers", "initContainers"]
        .iter()
        .filter_map(|k| pod[k].as_array())
        .flatten();
    for c in containers {
        for e in c["env"].as_array().into_iter().flatten() {
            let r = &e["valueFrom"]["secretKeyRef"];
            if let Some(n) = r["name"].as_str()
                && r["optional"] != true
            {
                out.insert(n.to_string());
            }
        }
        for e in c["envFrom"].as_array().into_iter().flatten() {
            let r = &e["secretRef"];
            if let Some(n) = r["name"].as_str()
                && r["optional"] != true
            {
                out.insert(n.to_string());
            }
        }
    }
    for v in pod["volumes"].as_array().into_iter().flatten() {
        if let Some(n) = v["secret"]["secretName"].as_str()
            && v["secret"]["optional"] != true
        {
            out.insert(n.to_string());
        }
        for s in v["projected"]["sources"].as_array().into_iter().flatten() {
            if let Some(n) = s["secret"]["name"].as_str()
                && s["secret"]["optional"] != true
            {
                out.insert(n.to_string());
            }
        }
    }
    out
}

/// `helm_release.x`, `kubernetes_namespace_v1.y`… referenced in a block's text.
fn references(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = text.as_bytes();
    for prefix in ["helm_release.", "kubernetes_", "module."] {
        for (i, _) in text.match_indices(prefix) {
            if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_') {
                continue;
            }
            let end = text[i..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                .map_or(text.len(), |e| i + e);
            let mut parts = text[i..end].split('.');
            if let (Some(t), Some(n)) = (parts.next(), parts.next())
                && !n.is_empty()
            {
                out.insert(format!("{t}.{n}"));
            }
        }
    }
    out
}

/// The first `["key"]` or quoted literal in an expression's text.
fn literal(text: &str) -> Option<String> {
    let start = text.find('"')? + 1;
    let end = start + text[start..].find('"')?;
    Some(text[start..end].to_string())
}

/// The Terraform resources of one root.
fn terraform_units(out: &Output, root: &str, problems: &mut Vec<String>) -> Vec<Unit> {
    let mut units = Vec::new();
    let mut bodies = Vec::new();
    for (path, text) in &out.files {
        let Some(file) = path.strip_prefix(&format!("{root}/")) else {
            continue;
        };
        if file.contains('/') || !file.ends_with(".tf") {
            continue;
        }
        match hcl::parse(text) {
            Ok(b) => bodies.push(b),
            Err(e) => problems.push(format!("{path}: does not parse: {e}")),
        }
    }
    let mut locals = BTreeMap::new();
    for body in &bodies {
        local_maps(body, &mut locals);
    }
    for body in &bodies {
        for block in body.blocks() {
            let labels: Vec<&str> = block.labels().iter().map(|l| l.as_str()).collect();
            if block.identifier() != "resource" || labels.len() != 2 {
                continue;
            }
            let text = hcl::format::to_string(block).unwrap_or_default();
            let addr = format!("{}.{}", labels[0], labels[1]);
            let mut u = Unit::new(format!("{root}: {addr}"));
            u.deps = references(&text);
            u.deps.remove(&addr);
            u.addr = addr;
            let attr = |key: &str| {
                block
                    .body()
                    .attributes()
                    .find(|a| a.key() == key)
                    .map(|a| hcl::format::to_string(a.expr()).unwrap_or_default())
            };
            match labels[0] {
                "helm_release" => helm_unit(out, root, &mut u, &attr),
                "kubernetes_namespace_v1" => {
                    // `for_each` over a map of names, or one name in metadata.
                    if let Some(each) = attr("for_each") {
                        let names = each_keys(&each, &locals);
                        u.creates
                            .extend(names.into_iter().map(|n| format!("ns:{n}")));
                    } else if let Some(n) = metadata_name(&text) {
                        u.creates.push(format!("ns:{n}"));
                    }
                }
                "kubernetes_manifest" => {
                    // The CRD must exist when Terraform plans: created by an earlier step.
                    for f in value_files(&attr("manifest").unwrap_or_default(), root) {
                        if let Some(t) = out.files.get(&f)
                            && let Ok(docs) = yaml_documents(t)
                        {
                            for d in docs {
                                if let Some(crd) = crd_of(&d) {
                                    let kind = group_kind(&d).1;
                                    u.need(
                                        crd,
                                        format!("{kind}, read when Terraform plans"),
                                        By::Plan,
                                    );
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
            units.push(u);
        }
    }
    units
}

/// The keys of a `for_each` that names a local map (`local.namespaces`).
fn each_keys(each: &str, locals: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    each.trim()
        .strip_prefix("local.")
        .and_then(|n| locals.get(n))
        .cloned()
        .unwrap_or_default()
}

/// The keys of every map in the root's `locals` blocks, by local name.
fn local_maps(body: &hcl::Body, out: &mut BTreeMap<String, Vec<String>>) {
    for block in body.blocks().filter(|b| b.identifier() == "locals") {
        for a in block.body().attributes() {
            if let hcl::Expression::Object(m) = a.expr() {
                let keys = m
                    .keys()
                    .map(|k| match k {
                        hcl::ObjectKey::Identifier(i) => i.to_string(),
                        hcl::ObjectKey::Expression(e) => hcl::format::to_string(e)
                            .unwrap_or_default()
                            .trim_matches('"')
                            .to_string(),
                        _ => String::new(),
                    })
                    .collect();
                out.insert(a.key().to_string(), keys);
            }
        }
    }
}

fn metadata_name(block: &str) -> Option<String> {
    let m = block.find("metadata")?;
    let rest = &block[m..];
    let n = rest.find("name")?;
    let line = rest[n..].lines().next()?;
    let v = line.split_once('=')?.1.trim();
    v.strip_prefix('"')?
        .strip_suffix('"')
        .map(str::to_string)
        .filter(|s| !s.contains("${"))
}

/// `values/<file>` paths an expression reads with `file(...)`, as output paths.
fn value_files(expr: &str, root: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in expr.match_indices("${path.module}/") {
        let rest = &expr[i + "${path.module}/".len()..];
        if let Some(end) = rest.find('"') {
            out.push(format!("{root}/{}", &rest[..end]));
        }
    }
    out
}

fn helm_unit(out: &Output, root: &str, u: &mut Unit, attr: &dyn Fn(&str) -> Option<String>) {
    let chart = attr("chart").and_then(|c| literal(&c)).unwrap_or_default();
    let ns_expr = attr("namespace").unwrap_or_default();
    let ns = literal(&ns_expr).unwrap_or_default();
    let creates_ns = attr("create_namespace").is_some_and(|v| v.trim() == "true");
    if creates_ns {
        u.creates.push(format!("ns:{ns}"));
    } else if !ns.is_empty() {
        u.need(format!("ns:{ns}"), "the release's namespace", By::Install);
    }
    // Values: the files, then `set` entries on top.
    let mut values: Vec<Value> = Vec::new();
    for f in value_files(&attr("values").unwrap_or_default(), root) {
        if let Some(t) = out.files.get(&f)
            && let Ok(docs) = yaml_documents(t)
        {
            values.extend(docs);
        }
    }
    let set = attr("set").unwrap_or_default();
    let set_pairs = set_entries(&set);
    let switch_off = |key: &str| {
        set_pairs.iter().any(|(k, v)| k == key && v == "false")
            || values.iter().any(|v| {
                key.split('.')
                    .try_fold(v, |v, k| v.get(k))
                    .is_some_and(|v| *v == false)
            })
    };
    if let Some((_, facts)) = CHARTS.iter().find(|(c, _)| *c == chart) {
        for f in *facts {
            let crd = f.starts_with("crd:");
            // kube-prometheus-stack with `crds.enabled: false` leaves its CRDs to another release.
            if crd && chart == "kube-prometheus-stack" && switch_off("crds.enabled") {
                continue;
            }
            u.creates.push((*f).to_string());
        }
    }
    if let Some((_, needs)) = CHART_NEEDS.iter().find(|(c, _)| *c == chart) {
        for n in *needs {
            u.need((*n).to_string(), format!("chart {chart}"), By::Install);
        }
    }
    let mut needs = BTreeSet::new();
    for v in &values {
        value_needs(v, "", &ns, &mut needs);
    }
    for (k, v) in &set_pairs {
        if k.ends_with("existingSecret") && !v.is_empty() {
            needs.insert((format!("secret:{ns}/{v}"), format!("set {k}")));
        }
    }
    for (fact, why) in needs {
        u.need(fact, why, By::Install);
    }
}

/// `name`/`value` pairs of a `set = [...]` list, as text.
fn set_entries(set: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut name = None;
    for line in set.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_end_matches(',').trim_matches('"').to_string();
        match k.trim().trim_start_matches('{').trim() {
            "name" => name = Some(v),
            "value" => {
                if let Some(n) = name.take() {
                    out.push((n, v));
                }
            }
            _ => {}
        }
    }
    out
}

/// Secrets and CRDs a chart's values make it need: `existingSecret` keys, Alertmanager's mounted
/// `secrets`, `secretRef`/`secretKeyRef` names, and enabled ServiceMonitor/PodMonitor/
/// PrometheusRule switches.
fn value_needs(v: &Value, key: &str, ns: &str, out: &mut BTreeSet<(String, String)>) {
    match v {
        Value::Object(m) => {
            let lower = key.to_ascii_lowercase();
            let enabled = m.get("enabled") == Some(&Value::Bool(true));
            for (kind, needle) in [
                ("ServiceMonitor", "servicemonitor"),
                ("PodMonitor", "podmonitor"),
                ("PrometheusRule", "prometheusrule"),
            ] {
                if enabled && lower.contains(needle) {
                    out.insert((
                        format!("crd:monitoring.coreos.com/{kind}"),
                        format!("values `{key}.enabled`"),
                    ));
                }
            }
            if (key == "secretRef" || key == "secretKeyRef")
                && let Some(n) = m.get("name").and_then(Value::as_str)
                && m.get("optional") != Some(&Value::Bool(true))
            {
                out.insert((format!("secret:{ns}/{n}"), format!("values `{key}`")));
            }
            for (k, child) in m {
                if k == "podMonitorEnabled" && *child == true {
                    out.insert((
                        "crd:monitoring.coreos.com/PodMonitor".into(),
                        "values `podMonitorEnabled`".into(),
                    ));
                }
                if (k == "existingSecret" || k == "existingSecretName")
                    && let Some(n) = child.as_str().filter(|n| !n.is_empty())
                {
                    out.insert((format!("secret:{ns}/{n}"), format!("values `{k}`")));
                }
                if k == "secrets" && key == "alertmanagerSpec" {
                    for n in child
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                    {
                        out.insert((
                            format!("secret:{ns}/{n}"),
                            "values `alertmanagerSpec.secrets`".into(),
                        ));
                    }
                }
                value_needs(child, k, ns, out);
            }
        }
        Value::Array(a) => {
            for child in a {
                value_needs(child, key, ns, out);
            }
        }
        _ => {}
    }
}

/// What creates the object a data source reads: (data type, resource types or module sources
/// that create it). A data source whose creator is only in a later root reads nothing yet.
const DATA_CREATORS: &[(&str, &[&str])] = &[
    (
        "aws_eks_cluster",
        &["aws_eks_cluster", "terraform-aws-modules/eks/aws"],
    ),
    (
        "aws_kms_alias",
        &["aws_kms_alias", "terraform-aws-modules/kms/aws"],
    ),
    (
        "aws_db_subnet_group",
        &["aws_db_subnet_group", "terraform-aws-modules/vpc/aws"],
    ),
    ("aws_vpc", &["aws_vpc", "terraform-aws-modules/vpc/aws"]),
    (
        "aws_subnets",
        &["aws_subnet", "terraform-aws-modules/vpc/aws"],
    ),
    (
        "google_container_cluster",
        &[
            "google_container_cluster",
            "terraform-google-modules/kubernetes-engine/google",
        ],
    ),
    (
        "google_compute_network",
        &[
            "google_compute_network",
            "terraform-google-modules/network/google",
        ],
    ),
    (
        "google_compute_subnetwork",
        &[
            "google_compute_subnetwork",
            "terraform-google-modules/network/google",
        ],
    ),
    (
        "google_compute_global_address",
        &["google_compute_global_address"],
    ),
    ("google_service_account", &["google_service_account"]),
    ("google_dns_managed_zone", &["google_dns_managed_zone"]),
];

/// A data source must not read what only a later root creates (see [`DATA_CREATORS`]).
fn check_data_sources(out: &Output, roots: &[String], problems: &mut Vec<String>) {
    let bodies: Vec<Vec<hcl::Body>> = roots
        .iter()
        .map(|root| {
            out.files
                .iter()
                .filter(|(p, _)| {
                    p.strip_prefix(&format!("terraform/{root}/"))
                        .is_some_and(|f| !f.contains('/') && f.ends_with(".tf"))
                })
                .filter_map(|(_, t)| hcl::parse(t).ok())
                .collect()
        })
        .collect();
    // Whether root `i` creates something of one of the kinds in `creators`.
    let creates = |i: usize, creators: &[&str]| {
        bodies[i].iter().flat_map(|b| b.blocks()).any(|b| {
            let label = b.labels().first().map(|l| l.as_str()).unwrap_or_default();
            match b.identifier() {
                "resource" => creators.contains(&label),
                "module" => b.body().attributes().any(|a| {
                    a.key() == "source"
                        && matches!(a.expr(), hcl::Expression::String(s)
                            if creators.iter().any(|c| s.starts_with(c)))
                }),
                _ => false,
            }
        })
    };
    for (i, root) in roots.iter().enumerate() {
        for block in bodies[i].iter().flat_map(|b| b.blocks()) {
            let labels: Vec<&str> = block.labels().iter().map(|l| l.as_str()).collect();
            if block.identifier() != "data" || labels.len() != 2 {
                continue;
            }
            let Some((_, creators)) = DATA_CREATORS.iter().find(|(t, _)| *t == labels[0]) else {
                continue;
            };
            if (0..=i).any(|j| creates(j, creators)) {
                continue;
            }
            if let Some(j) = (i + 1..roots.len()).find(|&j| creates(j, creators)) {
                problems.push(format!(
                    "terraform/{root}: data.{}.{} reads what only the later root terraform/{} creates",
                    labels[0], labels[1], roots[j]
                ));
            }
        }
    }
}

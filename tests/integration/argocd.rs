//! Tests — Argo CD delivery: the order Argo CD syncs the app layer in (phase, then wave) never
//! runs an object before what it uses, as the apply model knows it; the Applications and
//! AppProjects validate against Argo CD's CRD schemas; without `argocd: true` nothing changes.

use std::collections::BTreeMap;

use fredgen::render::Output;
use fredgen::render::apply_model::object_facts;
use fredgen::render::parse_back::yaml_documents;
use serde_json::Value;

use crate::support::{cases, edited, render, root};

/// The argocd cases: every target of the examples that set `delivery.argocd`.
fn argocd_outputs() -> Vec<(String, Output)> {
    let out: Vec<(String, Output)> = cases()
        .into_iter()
        .map(|c| (c.name(), render(&c)))
        .filter(|(_, o)| o.files.contains_key("argocd/root.yaml"))
        .collect();
    assert!(
        out.len() >= 3,
        "only {} cases deliver with Argo CD",
        out.len()
    );
    out
}

/// The YAML documents of `path` (a kustomization's first).
fn docs(out: &Output, path: &str) -> Vec<Value> {
    yaml_documents(&out.files[path]).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The objects a kustomization directory (output path, no trailing slash) builds, with the
/// annotations its `patches` add (by target kind and name), as kustomize builds them.
fn build(out: &Output, dir: &str) -> Vec<(String, Value)> {
    let k = &docs(out, &format!("{dir}/kustomization.yaml"))[0];
    let mut objects = Vec::new();
    for r in k["resources"].as_array().into_iter().flatten() {
        let r = r.as_str().expect("a resource path");
        let path = normalize(&format!("{dir}/{r}"));
        if out
            .files
            .contains_key(&format!("{path}/kustomization.yaml"))
        {
            objects.extend(build(out, &path));
        } else {
            for d in docs(out, &path).into_iter().filter(Value::is_object) {
                objects.push((path.clone(), d));
            }
        }
    }
    for p in k["patches"].as_array().into_iter().flatten() {
        let target = &p["target"];
        let patch = &yaml_documents(p["patch"].as_str().expect("an inline patch"))
            .expect("the patch parses")[0];
        for (_, o) in objects.iter_mut() {
            let hit = o["kind"] == target["kind"]
                && (target["name"].is_null() || o["metadata"]["name"] == target["name"]);
            if !hit {
                continue;
            }
            for (key, value) in patch["metadata"]["annotations"]
                .as_object()
                .into_iter()
                .flatten()
            {
                let meta = o["metadata"].as_object_mut().expect("metadata");
                let annotations = meta
                    .entry("annotations")
                    .or_insert_with(|| Value::Object(Default::default()));
                annotations[key.as_str()] = value.clone();
            }
        }
    }
    objects
}

/// `a/b/../../c` → `c`.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// When Argo CD syncs an object: (phase, wave). PreSync hooks first, then the Sync phase (hooks
/// and plain objects together), then PostSync; within a phase, by wave (0 when not annotated).
/// A later wave starts only once every object of the earlier ones is healthy.
fn slot(o: &Value) -> (u8, i64) {
    let a = &o["metadata"]["annotations"];
    let phase = match a["argocd.argoproj.io/hook"].as_str() {
        Some("PreSync") => 0,
        Some("PostSync") => 2,
        _ => 1,
    };
    let wave = a["argocd.argoproj.io/sync-wave"]
        .as_str()
        .map(|w| w.parse().expect("a wave is an integer"))
        .unwrap_or(0);
    (phase, wave)
}

/// What the apply model leaves to cert-manager: a Certificate needs the issuer its `issuerRef`
/// names (an `Issuer` of its namespace unless it says `ClusterIssuer`), which an Issuer or a
/// ClusterIssuer provides.
fn issuer_facts(o: &Value, creates: &mut Vec<String>, needs: &mut Vec<String>) {
    let api = o["apiVersion"].as_str().unwrap_or_default();
    if !api.starts_with("cert-manager.io/") {
        return;
    }
    let ns = o["metadata"]["namespace"].as_str().unwrap_or_default();
    let name = o["metadata"]["name"].as_str().unwrap_or_default();
    match o["kind"].as_str().unwrap_or_default() {
        "Issuer" => creates.push(format!("issuer:{ns}/{name}")),
        "ClusterIssuer" => creates.push(format!("clusterissuer:{name}")),
        "Certificate" => {
            let r = &o["spec"]["issuerRef"];
            let issuer = r["name"].as_str().unwrap_or_default();
            match r["kind"].as_str().unwrap_or("Issuer") {
                "ClusterIssuer" => needs.push(format!("clusterissuer:{issuer}")),
                _ => needs.push(format!("issuer:{ns}/{issuer}")),
            }
        }
        _ => {}
    }
}

/// Every need of an object the app layer itself meets must be met in an earlier slot.
fn wave_problems(out: &Output) -> Vec<String> {
    let objects = build(out, "argocd/app");
    let mut facts = object_facts(&objects);
    for (f, (_, o)) in facts.iter_mut().zip(&objects) {
        issuer_facts(o, &mut f.creates, &mut f.needs);
    }
    let mut providers: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, f) in facts.iter().enumerate() {
        for c in &f.creates {
            providers.entry(c.as_str()).or_default().push(i);
        }
    }
    let mut problems = Vec::new();
    for (i, f) in facts.iter().enumerate() {
        let at = slot(&objects[i].1);
        for n in &f.needs {
            for &j in providers.get(n.as_str()).into_iter().flatten() {
                if j != i && slot(&objects[j].1) >= at {
                    problems.push(format!(
                        "{} (phase {}, wave {}) needs {n}, which {} creates only in phase {}, wave {}",
                        f.at,
                        at.0,
                        at.1,
                        facts[j].at,
                        slot(&objects[j].1).0,
                        slot(&objects[j].1).1
                    ));
                }
            }
        }
    }
    problems
}

#[test]
fn no_sync_wave_runs_an_object_before_what_it_uses() {
    let mut failures = Vec::new();
    for (name, out) in argocd_outputs() {
        let objects = build(&out, "argocd/app");
        // The whole app layer, and its migration Job as a Sync hook.
        let k8s = build(&out, "k8s");
        assert!(
            objects.len() > k8s.len(),
            "{name}: argocd/app leaves objects out"
        );
        let job = objects
            .iter()
            .find(|(p, _)| p == "k8s/migrate/migrate.yaml")
            .expect("the migration Job");
        assert_eq!(
            job.1["metadata"]["annotations"]["argocd.argoproj.io/hook"],
            "Sync"
        );
        for p in wave_problems(&out) {
            failures.push(format!("{name}: {p}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `out` with `kind`'s sync wave moved from `from` to `to` in argocd/app.
fn rewaved(out: &Output, kind: &str, from: i32, to: i32) -> Output {
    let patch = |w: i32| {
        format!(
            "kind: {kind}\n      metadata:\n        name: any\n        annotations:\n          argocd.argoproj.io/sync-wave: \"{w}\""
        )
    };
    edited(
        out,
        "argocd/app/kustomization.yaml",
        &patch(from),
        &patch(to),
    )
}

#[test]
fn a_wave_out_of_order_is_reported() {
    let (_, out) = argocd_outputs().remove(0);
    // The ExternalSecrets after the workloads that read their Secrets.
    let late = rewaved(&out, "ExternalSecret", -4, 1);
    let problems = wave_problems(&late);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("Deployment") && p.contains("ExternalSecret")),
        "{problems:#?}"
    );
    // The certificate's issuer after the Certificate (the Hetzner case holds both).
    let (_, out) = argocd_outputs()
        .into_iter()
        .find(|(_, o)| {
            o.files
                .get("k8s/route.yaml")
                .is_some_and(|t| t.contains("kind: ClusterIssuer"))
        })
        .expect("a case whose app layer issues its certificate");
    let late = rewaved(&out, "ClusterIssuer", -6, 1);
    let problems = wave_problems(&late);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("Certificate") && p.contains("needs clusterissuer:")),
        "{problems:#?}"
    );
    // The migration Job after the Deployments.
    let late = edited(
        &out,
        "argocd/app/kustomization.yaml",
        "argocd.argoproj.io/hook: Sync",
        "argocd.argoproj.io/hook: PostSync",
    );
    let problems = wave_problems(&late);
    assert!(
        problems.iter().any(|p| p.contains("needs migrated:")),
        "{problems:#?}"
    );
}

/// A draft-04 subset (type, enum, properties, required, additionalProperties, items) as the
/// reference CRD schemas use it.
fn schema_errors(schema: &Value, v: &Value, path: &str, out: &mut Vec<String>) {
    if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        if !(v.is_string() || v.is_i64() || v.is_u64()) {
            out.push(format!("{path}: not an integer or string"));
        }
        return;
    }
    if let Some(t) = schema["type"].as_str() {
        let ok = match t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            _ => true,
        };
        if !ok {
            out.push(format!("{path}: not of type {t}"));
            return;
        }
    }
    if let Some(e) = schema["enum"].as_array()
        && !e.contains(v)
    {
        out.push(format!("{path}: {v} is not one of {e:?}"));
    }
    if let Some(obj) = v.as_object() {
        for r in schema["required"].as_array().into_iter().flatten() {
            if !obj.contains_key(r.as_str().unwrap_or_default()) {
                out.push(format!("{path}: `{r}` is required"));
            }
        }
        for (k, child) in obj {
            let at = format!("{path}.{k}");
            match (
                schema["properties"].get(k),
                schema.get("additionalProperties"),
            ) {
                (Some(s), _) => schema_errors(s, child, &at, out),
                (None, Some(Value::Bool(false))) => out.push(format!("{at}: not allowed")),
                (None, Some(s)) if s.is_object() => schema_errors(s, child, &at, out),
                _ => {}
            }
        }
    }
    if let (Some(items), Some(a)) = (schema.get("items"), v.as_array()) {
        for (i, child) in a.iter().enumerate() {
            schema_errors(items, child, &format!("{path}[{i}]"), out);
        }
    }
}

#[test]
fn applications_and_projects_validate_against_the_argo_cd_crds() {
    let dir = root().join("../shared/reference/crds/argoproj.io");
    if !dir.is_dir() {
        eprintln!("skipped: {} is not here", dir.display());
        return;
    }
    let schema = |file: &str| -> Value {
        let text = std::fs::read_to_string(dir.join(file)).expect("read schema");
        serde_json::from_str(&text).expect("a JSON schema")
    };
    let schemas = BTreeMap::from([
        ("Application", schema("application_v1alpha1.min.json")),
        ("AppProject", schema("appproject_v1alpha1.min.json")),
    ]);
    let mut errors = Vec::new();
    let mut seen = 0;
    for (name, out) in argocd_outputs() {
        for (path, _) in out.files.iter().filter(|(p, _)| {
            p.starts_with("argocd/") && p.ends_with(".yaml") && !p.ends_with("kustomization.yaml")
        }) {
            for d in docs(&out, path) {
                let kind = d["kind"].as_str().unwrap_or_default();
                let schema = schemas
                    .get(kind)
                    .unwrap_or_else(|| panic!("{name}: {path}: unexpected kind {kind}"));
                seen += 1;
                schema_errors(schema, &d, &format!("{name}: {path}: {kind}"), &mut errors);
            }
        }
    }
    assert!(seen >= 9, "only {seen} objects checked");
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn without_argocd_no_argo_file_is_rendered() {
    for case in cases().into_iter().filter(|c| c.example != "shop") {
        let out = render(&case);
        assert!(
            !out.files.keys().any(|p| p.starts_with("argocd/")
                || p.ends_with("argocd.tf")
                || p.ends_with("argo-cd.yaml")
                || p == "k8s/migrate/kustomization.yaml"),
            "{}",
            case.name()
        );
        assert!(
            !out.plan.steps.iter().any(|s| s.id == "argocd"),
            "{}",
            case.name()
        );
    }
}

#[test]
fn what_argo_cd_never_prunes_does_not_keep_the_application_out_of_sync() {
    for (name, out) in argocd_outputs() {
        let mut kept = 0;
        for (path, o) in build(&out, "argocd/app") {
            let kind = o["kind"].as_str().unwrap_or_default();
            if !fredgen::render::argocd::KEEP.contains(&kind) {
                continue;
            }
            kept += 1;
            let a = &o["metadata"]["annotations"];
            assert_eq!(
                a["argocd.argoproj.io/sync-options"], "Prune=false,Delete=false",
                "{name}: {path}: {kind}"
            );
            assert_eq!(
                a["argocd.argoproj.io/compare-options"], "IgnoreExtraneous",
                "{name}: {path}: {kind}"
            );
        }
        assert!(kept >= 3, "{name}: only {kept} kept objects");
    }
}

#[test]
fn the_app_project_admits_its_own_cluster_objects_by_name_only() {
    for (name, out) in argocd_outputs() {
        let projects: Vec<Value> = docs(&out, "argocd/root.yaml")
            .into_iter()
            .filter(|d| d["kind"] == "AppProject")
            .collect();
        let mut named = 0;
        for p in &projects {
            for entry in p["spec"]["clusterResourceWhitelist"]
                .as_array()
                .into_iter()
                .flatten()
            {
                // Never a whole kind: another tenant's Namespace, a shared ClusterIssuer.
                let object = entry["name"].as_str().unwrap_or_default();
                assert!(!object.is_empty() && object != "*", "{name}: {entry}");
                let rendered = out.files.values().any(|text| {
                    text.contains(&format!(
                        "kind: {}\n",
                        entry["kind"].as_str().unwrap_or_default()
                    )) && text.contains(&format!("name: {object}\n"))
                });
                assert!(
                    rendered,
                    "{name}: admits {entry}, which the app does not render"
                );
                named += 1;
            }
        }
        assert!(named > 0, "{name}: the app's Namespace at least");
    }
}

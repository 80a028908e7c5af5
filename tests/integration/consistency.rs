//! Tests — cross-object consistency: every case is consistent, and breaking one reference of each
//! kind is reported.

use fredgen::render::Output;
use fredgen::render::consistency::check;

use crate::support::{Case, cases, edited, render, reported};

#[test]
fn every_case_is_consistent() {
    for case in cases() {
        let problems = check(&render(&case));
        assert!(
            problems.is_empty(),
            "{}:\n{}",
            case.name(),
            problems.join("\n")
        );
    }
}

fn fred_eks() -> Output {
    render(&Case {
        example: "fred".into(),
        target: "eks",
        env: Some("prod".into()),
    })
}

/// The problems reported once `from` is replaced by `to` in `path`.
fn broken(out: &Output, path: &str, from: &str, to: &str) -> Vec<String> {
    check(&edited(out, path, from, to))
}

/// Specs the fuzzer found rendering inconsistent output (`fuzz/regressions/`): each must now
/// render consistently on every target it declares.
#[test]
fn fuzz_regressions_render_consistently() {
    let dir = crate::support::root().join("fuzz/regressions");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz/regressions exists") {
        let path = entry.expect("readable").path();
        let loaded = fredgen::load(&path).expect("a regression spec parses");
        for case in loaded.validate_all().expect("a regression spec validates") {
            let target = fredgen::backend::find(case.target).expect("target");
            let out = loaded
                .render(target, case.env.as_deref())
                .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.report()));
            let problems = check(&out);
            assert!(
                problems.is_empty(),
                "{} on {}:\n{}",
                path.display(),
                case.target,
                problems.join("\n")
            );
            seen += 1;
        }
    }
    assert!(seen > 0, "no regression spec was rendered");
}

#[test]
fn each_kind_of_broken_reference_is_reported() {
    let out = fred_eks();
    assert!(check(&out).is_empty());
    // A Service whose selector matches no pods.
    reported(
        &broken(
            &out,
            "k8s/web.yaml",
            "  selector:\n    app.kubernetes.io/name: fred-web",
            "  selector:\n    app.kubernetes.io/name: fred-wbe",
        ),
        "Service fred/fred-web: selects no pods",
    );
    // An HPA and a ScaledObject targeting a missing Deployment.
    reported(
        &broken(
            &out,
            "k8s/web.yaml",
            "    kind: Deployment\n    name: fred-web",
            "    kind: Deployment\n    name: fred-webb",
        ),
        "scales Deployment `fred-webb`",
    );
    reported(
        &broken(
            &out,
            "k8s/workers.yaml",
            "    kind: Deployment\n    name: fred-agent",
            "    kind: Deployment\n    name: fred-agnt",
        ),
        "scales Deployment `fred-agnt`",
    );
    // A PDB selecting nothing.
    reported(
        &broken(
            &out,
            "k8s/workers.yaml",
            "  unhealthyPodEvictionPolicy: AlwaysAllow\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: fred-agent",
            "  unhealthyPodEvictionPolicy: AlwaysAllow\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: nobody",
        ),
        "PodDisruptionBudget fred/fred-agent: selects no pods",
    );
    // A ServiceMonitor selecting no Service, and one naming a port the Service lacks.
    reported(
        &broken(
            &out,
            "k8s/monitors.yaml",
            "      app.kubernetes.io/name: fred-web",
            "      app.kubernetes.io/name: fred-api",
        ),
        "ServiceMonitor fred/fred-web: selects no Service",
    );
    reported(
        &broken(
            &out,
            "k8s/monitors.yaml",
            "    - port: http",
            "    - port: metrics",
        ),
        "port `metrics` is not on the selected Service",
    );
    // A Secret and a ServiceAccount nobody creates.
    reported(
        &broken(
            &out,
            "k8s/web.yaml",
            "name: fred-app-secrets",
            "name: fred-app-secret",
        ),
        "reads Secret `fred-app-secret`",
    );
    reported(
        &broken(
            &out,
            "k8s/rabbitmq.yaml",
            "name: fred-rabbitmq-default-user",
            "name: fred-rabbit-default-user",
        ),
        "reads Secret `fred-rabbit-default-user`",
    );
    reported(
        &broken(
            &out,
            "k8s/web.yaml",
            "serviceAccountName: fred-web",
            "serviceAccountName: fred-frontend",
        ),
        "uses ServiceAccount `fred-frontend`",
    );
    // A route to a port the Service does not have.
    reported(
        &broken(&out, "k8s/route.yaml", "name: http", "name: https"),
        "routes to port `https`",
    );
    // A Terraform file(...) pointing at nothing.
    reported(
        &broken(
            &out,
            "terraform/30-platform/main.tf",
            "values/keda.yaml",
            "values/keda-values.yaml",
        ),
        "values/keda-values.yaml\") is not generated",
    );
}

#[test]
fn network_policies_and_routes_by_number_are_checked() {
    let mut out = fred_eks();
    out.files.insert(
        "k8s/netpol.yaml".into(),
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: x\n  namespace: fred\nspec:\n  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: ghost\n".into(),
    );
    out.files.insert(
        "k8s/httproute.yaml".into(),
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: r\n  namespace: fred\nspec:\n  rules:\n    - backendRefs:\n        - name: fred-web\n          port: 8080\n".into(),
    );
    // matchExpressions count: a component no pod has selects nothing; the empty selector of the
    // default deny selects every pod, so it is not reported.
    out.files.insert(
        "k8s/netpol-expr.yaml".into(),
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: cron-only\n  namespace: fred\nspec:\n  podSelector:\n    matchLabels:\n      app.kubernetes.io/part-of: fred\n    matchExpressions:\n      - key: app.kubernetes.io/component\n        operator: In\n        values: [cron]\n".into(),
    );
    let problems = check(&out);
    reported(&problems, "NetworkPolicy fred/x: selects no pods");
    reported(&problems, "NetworkPolicy fred/cron-only: selects no pods");
    reported(&problems, "routes to port 8080");
    assert!(
        !problems.iter().any(|p| p.contains("default-deny")),
        "the empty selector selects every pod: {problems:?}"
    );
}

#[test]
fn a_second_object_of_one_kind_and_name_is_reported() {
    let out = fred_eks();
    let web = out.files["k8s/web.yaml"].clone();
    let doubled = broken(
        &out,
        "k8s/workers.yaml",
        "apiVersion: apps/v1\nkind: Deployment\n",
        &format!(
            "{}\n---\napiVersion: apps/v1\nkind: Deployment\n",
            web.split("\n---\n")
                .find(|d| d.contains("kind: Deployment"))
                .expect("the frontend's Deployment")
        ),
    );
    assert!(
        doubled
            .iter()
            .any(|p| p.contains("a second Deployment `fred-web`")),
        "{doubled:#?}"
    );
}

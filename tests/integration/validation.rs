//! Tests — validation: the exact error report for bad specs (positions, key paths, hints).

fn report(spec: &str) -> String {
    match fredgen::parse("bad.yaml", spec.to_string()).and_then(|l| l.validate_all().map(|_| l)) {
        Ok(_) => panic!("spec was accepted:\n{spec}"),
        Err(e) => e.report(),
    }
}

const BASE: &str = "name: fred\ndomain: fred.example.com\nfrontend:\n  image: ghcr.io/acme/web:1.0.0\n  port: 8000\ntargets:\n  eks: { region: eu-west-1 }\n";

#[test]
fn a_valid_base_is_accepted() {
    let loaded = fredgen::parse("ok.yaml", BASE.to_string()).expect("parses");
    let cases = loaded.validate_all().expect("valid");
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].target, "eks");
    assert_eq!(cases[0].env, None);
    // The EKS default is the newest version in standard support, not an extended-support one.
    assert_eq!(cases[0].kubernetes, "1.36");
}

#[test]
fn every_problem_is_reported_with_position_path_and_hint() {
    let spec = "name: Fred\ndomain: fred\nfrontend:\n  image: ghcr.io/acme/web\n  port: 80000\n  replicas: { min: 5, max: 2 }\n  env: { DB_PASSWORD: hunter2 }\nworkers:\n  - name: agent\n    image: ghcr.io/acme/agent:1.0.0\n    consumes: tasks\n  - name: agent\n    image: ghcr.io/acme/agent:latest\ntargets:\n  eks: { region: moon-1, kubernetes: \"1.29\" }\n";
    insta::assert_snapshot!("validation_many_problems", report(spec));
}

#[test]
fn unknown_keys_and_wrong_types_point_at_the_key() {
    insta::assert_snapshot!(
        "validation_unknown_key",
        report(&BASE.replace("  port: 8000\n", "  port: 8000\n  replica: 3\n"))
    );
    insta::assert_snapshot!(
        "validation_wrong_type",
        report(&BASE.replace("port: 8000", "port: eighty"))
    );
}

#[test]
fn target_blocks_need_their_own_keys() {
    let spec = BASE.replace("  eks: { region: eu-west-1 }\n", "  eks: { location: fsn1 }\n  gke: { region: europe-west1 }\n  hetzner: { location: mars1 }\n");
    insta::assert_snapshot!("validation_target_blocks", report(&spec));
}

#[test]
fn postgres_placement_and_version_are_checked_per_target() {
    let spec = format!("{BASE}postgres: {{ version: \"9\", placement: managed }}\n").replace(
        "  eks: { region: eu-west-1 }\n",
        "  hetzner: { location: fsn1 }\n",
    );
    insta::assert_snapshot!("validation_postgres", report(&spec));
}

#[test]
fn an_empty_spec_is_refused_with_a_hint() {
    insta::assert_snapshot!("validation_empty", report("   \n"));
}

#[test]
fn overlays_cannot_rename_and_must_exist() {
    let spec = format!("{BASE}environments:\n  prod: {{ name: other }}\n");
    insta::assert_snapshot!("validation_overlay_rename", report(&spec));
}

#[test]
fn unknown_target_ids_are_refused_with_a_hint() {
    let spec = BASE.replace(
        "  eks: { region: eu-west-1 }\n",
        "  eks: { region: eu-west-1 }\n  gkee: { project: acme-fred, region: europe-west1 }\n",
    );
    insta::assert_snapshot!("validation_unknown_target", report(&spec));
}

#[test]
fn production_refuses_single_replicas_with_positions() {
    let spec = format!(
        "{BASE}workers:\n  - name: agent\n    image: ghcr.io/acme/agent:1.0.0\n    replicas: {{ min: 1, max: 3 }}\nenvironments:\n  staging: {{}}\n  prod:\n    frontend: {{ replicas: {{ min: 1 }} }}\n"
    );
    let loaded = fredgen::parse("ha.yaml", spec).expect("parses");
    let target = fredgen::backend::find("eks").expect("eks");
    assert!(
        loaded.stack(target, Some("staging")).is_ok(),
        "staging may run one replica"
    );
    let report = match loaded.stack(target, Some("prod")) {
        Err(e) => e.report(),
        Ok(_) => panic!("prod with single replicas was accepted"),
    };
    assert!(
        report.contains("ha.yaml:15:"),
        "frontend min of the prod overlay has its line:\n{report}"
    );
    assert!(report.contains("frontend.replicas.min"), "{report}");
    assert!(
        report.contains("ha.yaml:11:"),
        "worker min has its line:\n{report}"
    );
    assert!(report.contains("workers[0].replicas.min"), "{report}");
    assert!(
        report.contains("0 lets KEDA scale it from zero"),
        "{report}"
    );
}

#[test]
fn a_worker_health_section_needs_a_command() {
    let spec = format!(
        "{BASE}workers:\n  - name: agent\n    image: ghcr.io/acme/agent:1.0.0\n    health: {{ command: [] }}\n"
    );
    let err = fredgen::parse("h.yaml", spec)
        .and_then(|l| l.validate_all().map(|_| ()))
        .expect_err("an empty health command is refused");
    let report = err.report();
    assert!(report.contains("workers[0].health.command"), "{report}");
    assert!(report.contains("non-empty `command`"), "{report}");
}

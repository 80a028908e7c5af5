//! Tests — PostgreSQL archive generations: a raised `postgres.backup.generation` recovers the
//! in-cluster database from the previous generation's backups and archives under a path of its own.

use crate::support::example_spec;

/// The fred example for hetzner (in-cluster PostgreSQL), with `backup` replaced.
fn fred_with(backup: &str) -> fredgen::render::Output {
    let spec = std::fs::read_to_string(example_spec("fred"))
        .expect("example")
        .replace(
            "  backup: { retention_days: 30 }",
            &format!("  backup: {backup}"),
        );
    let loaded = fredgen::parse("fredgen.yaml", spec).expect("parses");
    let target = fredgen::backend::find("hetzner").expect("hetzner");
    loaded
        .render(target, Some("prod"))
        .unwrap_or_else(|e| panic!("{}", e.report()))
}

fn cluster(out: &fredgen::render::Output) -> serde_json::Value {
    fredgen::render::parse_back::yaml_documents(&out.files["k8s/postgres.yaml"])
        .expect("yaml")
        .into_iter()
        .find(|d| d["kind"] == "Cluster")
        .expect("a Cluster")
}

#[test]
fn the_first_generation_initialises_and_archives_under_the_clusters_name() {
    let c = cluster(&fred_with("{ retention_days: 30 }"));
    assert_eq!(c["spec"]["bootstrap"]["initdb"]["database"], "fred");
    assert!(c["spec"]["externalClusters"].is_null());
    // The plugin's default server name is the cluster's.
    assert!(c["spec"]["plugins"][0]["parameters"]["serverName"].is_null());
}

#[test]
fn a_raised_generation_recovers_from_the_previous_one_into_a_path_of_its_own() {
    let out =
        fred_with("{ retention_days: 30, generation: 3, recover_to: \"2026-11-27T10:00:00Z\" }");
    let c = cluster(&out);
    let recovery = &c["spec"]["bootstrap"]["recovery"];
    assert!(c["spec"]["bootstrap"]["initdb"].is_null());
    assert_eq!(recovery["source"], "fred-db-g2");
    assert_eq!(recovery["database"], "fred");
    assert_eq!(recovery["owner"], "fred");
    assert_eq!(
        recovery["recoveryTarget"]["targetTime"],
        "2026-11-27T10:00:00Z"
    );
    let source = &c["spec"]["externalClusters"][0];
    assert_eq!(source["name"], "fred-db-g2");
    assert_eq!(source["plugin"]["name"], "barman-cloud.cloudnative-pg.io");
    assert_eq!(
        source["plugin"]["parameters"]["barmanObjectName"],
        "fred-db-backup"
    );
    assert_eq!(source["plugin"]["parameters"]["serverName"], "fred-db-g2");
    let archiver = &c["spec"]["plugins"][0]["parameters"];
    assert_eq!(archiver["serverName"], "fred-db-g3");
    assert_eq!(archiver["barmanObjectName"], "fred-db-backup");
    // Still a first apply that comes up.
    crate::support::assert_deployable(&out);
    assert!(out.files["README.md"].contains("archives under `fred-db-g3` (generation 3"));
    // A base backup of the new generation at once: its own ScheduledBackup, `immediate`.
    let scheduled = fredgen::render::parse_back::yaml_documents(&out.files["k8s/postgres.yaml"])
        .expect("yaml")
        .into_iter()
        .find(|d| d["kind"] == "ScheduledBackup")
        .expect("a ScheduledBackup");
    assert_eq!(scheduled["metadata"]["name"], "fred-db-g3-daily");
    assert_eq!(scheduled["spec"]["immediate"], true);
    // apply.sh refuses the raised generation while an older one runs, before it applies the app.
    let script = &out.files["apply.sh"];
    let guard = script
        .find(r#"if [ "${archive:-fred-db}" != "fred-db-g3" ]; then"#)
        .expect("the archive guard");
    assert!(
        guard
            < script
                .find("kubectl apply -k k8s/ --prune")
                .expect("the app step")
    );
}

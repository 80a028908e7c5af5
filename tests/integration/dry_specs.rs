//! Tests — DRY specs: anchors kept under `x-` extension keys and merged with `<<`, bounded by what
//! they expand to rather than by how many aliases they use.

/// A spec with `count` workers, each merging one anchor kept under an `x-` key.
fn dry_spec(count: usize) -> String {
    let mut spec = String::from(
        "x-defaults: &defaults\n  image: ghcr.io/acme/shop-worker:1.4.2\n  command: [python, -m, shop.worker]\n  replicas: { min: 1, max: 4 }\n  resources: { cpu: 100m, memory: 128Mi }\n  env: { LOG_LEVEL: info }\nx-notes: [anything, { goes: here }]\nname: shop\ndomain: shop.example.com\nfrontend:\n  image: ghcr.io/acme/shop-web:1.4.2\n  port: 8000\nworkers:\n",
    );
    for i in 0..count {
        spec.push_str(&format!("  - <<: *defaults\n    name: w{i}\n"));
    }
    spec.push_str("  - { <<: [*defaults], name: big, replicas: { min: 2, max: 8 } }\n");
    spec.push_str("targets:\n  eks: { region: eu-west-1 }\n  gke: { project: acme-shop, region: europe-west1 }\n  hetzner: { location: fsn1 }\n");
    spec
}

#[test]
fn a_hundred_workers_merging_one_anchor_validate_and_render() {
    let loaded = fredgen::parse("dry.yaml", dry_spec(100)).expect("parses");
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    let cases = loaded
        .validate_all()
        .unwrap_or_else(|e| panic!("{}", e.report()));
    assert_eq!(cases.len(), 3);
    for t in loaded.declared_targets() {
        let stack = loaded.stack(t, None).expect("valid");
        assert_eq!(stack.workers.len(), 101);
        let w = &stack.workers[57];
        assert_eq!(w.short_name, "w57");
        assert_eq!(w.image, "ghcr.io/acme/shop-worker:1.4.2");
        assert_eq!(w.command, ["python", "-m", "shop.worker"]);
        assert_eq!((w.replicas.min, w.replicas.max), (1, 4));
        let big = &stack.workers[100];
        assert_eq!(
            (big.replicas.min, big.replicas.max),
            (2, 8),
            "a key beside `<<` wins"
        );
        assert_eq!(big.resources.memory, "128Mi");
        loaded.render(t, None).expect("renders");
    }
}

#[test]
fn an_anchor_expanded_past_the_node_budget_is_refused() {
    // The same shape, with an anchor so large that its expansions pass the budget.
    let big: Vec<String> = (0..1000).map(|i| format!("A{i}")).collect();
    let spec = dry_spec(60).replace(
        "  env: { LOG_LEVEL: info }\n",
        &format!("  secrets: [{}]\n", big.join(", ")),
    );
    let err = fredgen::parse("dry.yaml", spec)
        .map(|_| ())
        .expect_err("refused");
    assert!(
        err.report()
            .contains("expands to more than 50000 YAML nodes"),
        "{}",
        err.report()
    );
}

#[test]
fn the_schema_accepts_extension_keys() {
    let schema: serde_json::Value =
        serde_json::from_str(&fredgen::spec::schema_json()).expect("json");
    assert!(schema["patternProperties"]["^x-"].is_object(), "{schema}");
}

//! Tests — the JSON Schema: the committed `schema/fredgen.schema.json` is what `fredgen schema`
//! prints (and is snapshotted); every shipped spec satisfies it; the bad specs whose mistake one
//! key shows (a wrong enum value, a bad name, a number out of range, a missing required key) are
//! refused by it, and the others are not (the schema is never stricter than the validator).

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde_json::Value;

use crate::support::root;

#[test]
fn the_committed_schema_is_the_generated_one() {
    let path = root().join("schema/fredgen.schema.json");
    let generated = fredgen::spec::schema_json();
    if std::env::var_os("FREDGEN_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).expect("write schema");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "schema/fredgen.schema.json is out of date; regenerate it with \
         `FREDGEN_UPDATE_SCHEMA=1 cargo test schema` and commit the result"
    );
}

#[test]
fn the_schema_is_snapshotted() {
    insta::assert_snapshot!("schema", fredgen::spec::schema_json());
}

/// The schema as a draft-07 validator, built once.
pub fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let schema: Value = serde_json::from_str(&fredgen::spec::schema_json()).expect("JSON");
        jsonschema::draft7::new(&schema).expect("a valid draft-07 schema")
    })
}

/// What the schema says of a spec's text: `Ok` when it satisfies it, else each violation as
/// `<instance path>: <message>`. `None` when the text is not YAML a spec could be.
pub fn schema_verdict(text: &str) -> Option<Result<(), Vec<String>>> {
    // Booleans as the parser reads them: `true` and `false` only (`yes` is text).
    let options = serde_saphyr::options! { strict_booleans: true };
    let instance: Value = serde_saphyr::from_str_with_options(text, options).ok()?;
    let errors: Vec<String> = validator()
        .iter_errors(&instance)
        .map(|e| match e.instance_path().as_str() {
            "" => format!("/: {e}"),
            at => format!("{at}: {e}"),
        })
        .collect();
    Some(if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    })
}

#[test]
fn the_schema_has_a_versioned_id_and_is_a_valid_draft07_schema() {
    let schema: Value = serde_json::from_str(&fredgen::spec::schema_json()).expect("JSON");
    assert_eq!(schema["$id"], "urn:fredgen:stack-spec:1");
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert!(jsonschema::meta::is_valid(&schema));
}

/// In the base, a key set to nothing is a key not set (the validator accepts it); in an overlay it
/// is refused, by both.
#[test]
fn a_key_set_to_nothing_is_absent_in_the_base_and_refused_in_an_overlay() {
    let base = "\
name: mini
domain: mini.example.com
frontend: { image: \"ghcr.io/acme/mini:2.0.0\", port: 8080, command: }
monitoring:
delivery: ~
targets:
  eks: { region: us-east-2, kubernetes: }
";
    let loaded = fredgen::parse("base.yaml", base.to_string()).expect("parses");
    assert!(loaded.validate_all().is_ok(), "the validator accepts it");
    assert_eq!(schema_verdict(base), Some(Ok(())));

    let overlay = format!("{base}environments:\n  dev:\n    monitoring:\n");
    let refused = fredgen::parse("overlay.yaml", overlay.clone())
        .map_or(true, |loaded| loaded.validate_all().is_err());
    assert!(refused, "the validator refuses it");
    assert_eq!(
        schema_verdict(&overlay),
        Some(Err(vec![
            "/environments/dev/monitoring: {\"type\":\"null\"} is not allowed for null".to_string()
        ]))
    );
}

#[test]
fn every_example_the_readme_reference_and_the_starter_spec_satisfy_the_schema() {
    let mut specs: Vec<(String, String)> = Vec::new();
    for entry in std::fs::read_dir(root().join("examples")).expect("examples/") {
        let path = entry.expect("entry").path().join("fredgen.yaml");
        let text = std::fs::read_to_string(&path).expect("example spec");
        specs.push((path.display().to_string(), text));
    }
    specs.push(("README.md".into(), crate::support::readme_annotated_spec()));
    let starter = root().join("src/init/fredgen.yaml");
    let text = std::fs::read_to_string(&starter).expect("the starter spec of `fredgen init`");
    specs.push((starter.display().to_string(), text));
    assert!(specs.len() >= 9, "{}", specs.len());
    for (name, text) in specs {
        match schema_verdict(&text) {
            Some(Ok(())) => {}
            Some(Err(errors)) => {
                panic!("{name} does not satisfy the schema:\n{}", errors.join("\n"))
            }
            None => panic!("{name} does not read as YAML"),
        }
    }
}

/// The bad specs the schema refuses: each is wrong in one key in a way a schema states (a key
/// that does not exist, a wrong type, a value outside a closed set, a name, path or quantity of
/// the wrong form, a number out of range, a missing required key, `null`). The others are wrong
/// across keys or in ways only `fredgen validate` checks, and the schema must accept them (it is
/// never stricter than the validator), or not read them at all (broken YAML).
const REFUSED_BY_THE_SCHEMA: &[&str] = &[
    "access-shapes.yaml",
    "dns-provider-unknown.yaml",
    "dns-zone.yaml",
    "egress-destinations.yaml",
    "env-name-invalid.yaml",
    "env-shared-cluster.yaml",
    "hostile-alias-flood.yaml",
    "hostile-empty.yaml",
    "missing-required.yaml",
    "missing-target-keys.yaml",
    "missing-targets.yaml",
    "overlay-bad-value.yaml",
    "overlay-name.yaml",
    "overlay-null.yaml",
    "overlay-unknown-env-name.yaml",
    "rollout-steps.yaml",
    "routes-shapes.yaml",
    "scaling-cpu-range.yaml",
    "secret-name-lowercase.yaml",
    "services-shapes.yaml",
    "static-shapes.yaml",
    "syntax-top-level-list.yaml",
    "syntax-top-level-scalar.yaml",
    "type-and-semantic.yaml",
    "type-command-string.yaml",
    "type-env-null.yaml",
    "type-ha-yes.yaml",
    "type-many.yaml",
    "type-port-float.yaml",
    "type-port-string.yaml",
    "type-replicas-list.yaml",
    "type-workers-mapping.yaml",
    "unknown-far-key.yaml",
    "unknown-frontend-key.yaml",
    "unknown-many.yaml",
    "unknown-overlay-key.yaml",
    "unknown-target-key.yaml",
    "unknown-top-level.yaml",
    "unknown-worker-key.yaml",
    "value-cloud-name-gke.yaml",
    "value-cloud-name-length.yaml",
    "value-cpu.yaml",
    "value-domain.yaml",
    "value-egress.yaml",
    "value-health-path.yaml",
    "value-http-path-chars.yaml",
    "value-image-bad-digest.yaml",
    "value-image-digest-hex.yaml",
    "value-image-grammar.yaml",
    "value-image-latest.yaml",
    "value-image-untagged.yaml",
    "value-kubernetes-old.yaml",
    "value-memory.yaml",
    "value-name-too-long.yaml",
    "value-name-uppercase.yaml",
    "value-port-range.yaml",
    "value-port-zero.yaml",
    "value-postgres-generation.yaml",
    "value-postgres-version.yaml",
    "value-quantity-sign.yaml",
    "value-rabbitmq-even.yaml",
    "value-region-typo.yaml",
    "value-region.yaml",
    "value-secret-name-edges.yaml",
    "value-slack-channel.yaml",
    "value-trojan-source.yaml",
];

#[test]
fn the_schema_refuses_the_bad_specs_whose_mistake_one_key_shows() {
    let mut refused = BTreeSet::new();
    let mut report = String::new();
    let mut files: Vec<_> = std::fs::read_dir(root().join("tests/bad-specs"))
        .expect("tests/bad-specs")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for path in files {
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // not UTF-8: no schema applies
        };
        if let Some(Err(errors)) = schema_verdict(&text) {
            report.push_str(&format!("{name}:\n  {}\n", errors.join("\n  ")));
            refused.insert(name);
        }
    }
    let expected: BTreeSet<String> = REFUSED_BY_THE_SCHEMA
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(refused, expected, "\n{report}");
}

/// A base spec may leave keys to its environments, and an overlay sets only what differs: what
/// `fredgen validate` accepts there, the schema accepts; a spec without environments must be
/// complete.
#[test]
fn required_keys_apply_to_a_spec_without_environments_only() {
    let partial = "\
name: mini
frontend:
  port: 8080
targets:
  eks: { region: us-east-2 }
environments:
  dev:
    domain: dev.example.com
    frontend: { image: \"ghcr.io/acme/mini:2.0.0\" }
    targets: { eks: { kubernetes: \"1.35\" } }
";
    let loaded = fredgen::parse("partial.yaml", partial.to_string()).expect("parses");
    assert!(loaded.validate_all().is_ok(), "the validator accepts it");
    assert_eq!(schema_verdict(partial), Some(Ok(())));

    let complete = partial.split("environments:").next().expect("base");
    let Some(Err(errors)) = schema_verdict(complete) else {
        panic!("a spec without environments must set `domain` and `frontend.image`");
    };
    assert_eq!(
        errors,
        [
            "/: \"domain\" is a required property",
            "/frontend: \"image\" is a required property"
        ],
        "{errors:?}"
    );
}

/// Whether `fredgen validate` accepts a spec's text, and whether the schema does.
fn verdicts(text: &str) -> (bool, bool) {
    let validator = fredgen::parse("spec.yaml", text.to_string())
        .is_ok_and(|loaded| loaded.validate_all().is_ok());
    (validator, schema_verdict(text) == Some(Ok(())))
}

/// Replacements in a spec's text: `(from, to)`.
type Edits<'a> = &'a [(&'a str, &'a str)];

/// The starter spec of `fredgen init` with each `(from, to)` replaced (each `from` must occur).
fn starter_with(edits: Edits) -> String {
    let mut text = std::fs::read_to_string(root().join("src/init/fredgen.yaml")).expect("starter");
    for (from, to) in edits {
        assert!(text.contains(from), "the starter has no `{from}`");
        text = text.replacen(from, to, 1);
    }
    text
}

/// Keys left out of the base and of an environment, which the validator refuses, are refused by
/// the schema too; each beside a near miss both accept (the key set in that environment).
#[test]
fn the_schema_requires_a_key_in_the_base_or_in_every_environment() {
    let cases: &[(&str, Edits, Edits)] = &[
        (
            "domain set in neither the base nor prod",
            &[("domain: myapp.example.com\n", "")],
            &[
                ("domain: myapp.example.com\n", ""),
                ("prod: {}", "prod: { domain: myapp.example.com }"),
            ],
        ),
        (
            "frontend.port set in neither the base nor any environment",
            &[("  port: 8080\n", "")],
            &[
                ("  port: 8080\n", ""),
                ("frontend: { replicas", "frontend: { port: 8080, replicas"),
                ("prod: {}", "prod: { frontend: { port: 8080 } }"),
            ],
        ),
        (
            "targets.gke.project set in staging only",
            &[("project: my-gcp-project, ", "")],
            &[
                ("project: my-gcp-project, ", ""),
                (
                    "prod: {}",
                    "prod: { targets: { gke: { project: my-gcp-project } } }",
                ),
            ],
        ),
        (
            "a target only staging declares, without its region",
            &[(
                "  gke: { project: my-gcp-project, region: europe-west1 }",
                "",
            )],
            &[
                (
                    "  gke: { project: my-gcp-project, region: europe-west1 }",
                    "",
                ),
                (
                    "{ project: my-gcp-project-staging }",
                    "{ project: my-gcp-project-staging, region: europe-west1 }",
                ),
            ],
        ),
    ];
    for (what, bad, near) in cases {
        assert_eq!(
            verdicts(&starter_with(bad)),
            (false, false),
            "{what}: both refuse it"
        );
        let near = starter_with(near);
        assert_eq!(
            verdicts(&near),
            (true, true),
            "{what}: both take the near miss"
        );
    }
}

/// Mistakes in one key that the validator refuses are refused by the schema too; each beside a
/// near miss both accept: `(mistake, text in the starter spec, wrong value, near miss)`.
#[test]
fn the_schema_refuses_what_the_validator_refuses_in_one_key_and_takes_the_near_misses() {
    let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let latest_pinned = format!("myapp-web:latest@{digest}");
    let pg_storage = "storage: 20Gi                    # at least";
    let cpu = "cpu: 250m, memory: 256Mi }\n  #";
    let memory = "memory: 256Mi }\n  #";
    let eks = "eks: { region: eu-west-1 }";
    let cidrs = |cidr: &str| format!("eks: {{ region: eu-west-1, api_allowed_cidrs: [{cidr}] }}");
    let cases: Vec<(&str, &str, String, String)> = vec![
        (
            "an image tagged latest",
            "myapp-web:1.0.0",
            "myapp-web:latest".into(),
            latest_pinned,
        ),
        (
            "an untagged image",
            "myapp-web:1.0.0",
            "myapp-web".into(),
            "myapp-web:1.0.0-rc.1_b".into(),
        ),
        (
            "an upper-case image path (a registry may be upper case)",
            "ghcr.io/example/myapp-worker:1.0.0",
            "ghcr.io/Example/myapp-worker:1.0.0".into(),
            "Registry.Example:5000/example/myapp-worker:1.0.0".into(),
        ),
        (
            "a PostgreSQL major no target supports",
            "version: \"18\"",
            "version: \"14\"".into(),
            "version: 16".into(),
        ),
        (
            "a PostgreSQL volume under 10Gi",
            pg_storage,
            "storage: 9Gi #".into(),
            "storage: 10Gi #".into(),
        ),
        (
            "a CPU request of zero",
            cpu,
            cpu.replace("250m", "\"0.0\""),
            cpu.replace("250m", "1m"),
        ),
        (
            "a memory request of zero",
            memory,
            memory.replace("256Mi", "0Mi"),
            memory.replace("256Mi", "16Mi"),
        ),
        (
            "no frontend replica (the worker beside it may have none)",
            "frontend: { replicas: { min: 1",
            "frontend: { replicas: { min: 0".into(),
            "frontend: { replicas: { min: 1".into(),
        ),
        (
            "a secret listed twice",
            "  secrets: [APP_SECRET_KEY]\n",
            "  secrets: [APP_SECRET_KEY, APP_SECRET_KEY]\n".into(),
            "  secrets: [APP_SECRET_KEY, APP_TOKEN]\n".into(),
        ),
        (
            "an egress destination without a port",
            "egress: none ",
            "egress: [api.stripe.com] ".into(),
            "egress: [api.stripe.com:443] ".into(),
        ),
        (
            "an API CIDR without a prefix length",
            eks,
            cidrs("203.0.113.7"),
            cidrs("203.0.113.7/32"),
        ),
        (
            "a name written as a number",
            "name: myapp\n",
            "name: 123\n".into(),
            "name: \"myapp\"\n".into(),
        ),
    ];
    for (what, from, bad, near) in &cases {
        let bad = starter_with(&[(from, bad)]);
        assert_eq!(verdicts(&bad), (false, false), "{what}: both refuse it");
        let near = starter_with(&[(from, near)]);
        assert_eq!(
            verdicts(&near),
            (true, true),
            "{what}: both take the near miss"
        );
    }
}

/// With `environments: {}` the base alone is checked, and must be complete.
#[test]
fn an_empty_environments_map_leaves_the_base_to_be_complete() {
    let base = "\
name: mini
frontend: { image: \"ghcr.io/acme/mini:2.0.0\", port: 8080 }
targets: { eks: { region: us-east-2 } }
";
    for (text, accepted) in [
        (format!("{base}environments: {{}}\n"), false),
        (
            format!("domain: mini.example.com\n{base}environments: {{}}\n"),
            true,
        ),
        (
            format!("{base}environments: {{ dev: {{ domain: dev.example.com }} }}\n"),
            true,
        ),
        (
            format!("{base}environments: {{ dev: {{ domain: dev.example.com }}, qa: {{}} }}\n"),
            false,
        ),
    ] {
        assert_eq!(verdicts(&text), (accepted, accepted), "{text}");
    }
}

/// A guest environment (`cluster:`) takes its host's target settings and may not set `targets`:
/// keys the other environments supply are not asked of it.
#[test]
fn a_guest_environment_is_not_asked_for_the_keys_its_host_supplies() {
    let spec = "name: myapp
domain: myapp.example.com
frontend: { image: ghcr.io/example/web:1.0.0, port: 8080 }
targets: { hetzner: {} }
environments:
  staging: { domain: staging.myapp.example.com, targets: { hetzner: { location: fsn1 } } }
  prod:    { targets: { hetzner: { location: nbg1 } } }
  dev:     { cluster: staging, domain: dev.myapp.example.com }
";
    assert_eq!(verdicts(spec), (true, true));
    // Without the guest's host supplying it, prod still must.
    let missing = spec.replace(
        "  prod:    { targets: { hetzner: { location: nbg1 } } }\n",
        "  prod:    {}\n",
    );
    assert_eq!(verdicts(&missing), (false, false));
}

/// A CPU or memory request written as a number is never zero or below, as when written as text.
#[test]
fn a_request_written_as_a_number_is_never_zero() {
    let base = "name: myapp
domain: myapp.example.com
frontend: { image: ghcr.io/example/web:1.0.0, port: 8080, resources: { cpu: CPU } }
targets: { hetzner: { location: fsn1 } }
";
    for zero in ["0", "0.0", "-1"] {
        assert_eq!(
            verdicts(&base.replace("CPU", zero)),
            (false, false),
            "{zero}"
        );
    }
    for fine in ["1", "0.5", "2"] {
        assert_eq!(verdicts(&base.replace("CPU", fine)), (true, true), "{fine}");
    }
}

/// In a spec without environments a required key set to nothing is as missing as an absent one.
#[test]
fn a_required_key_set_to_nothing_is_missing() {
    let spec = "name: myapp
domain: myapp.example.com
frontend: { image: ghcr.io/example/web:1.0.0, port: 8080 }
targets: { hetzner: { location: fsn1 } }
";
    assert_eq!(verdicts(spec), (true, true));
    for (key, null) in [
        ("domain: myapp.example.com", "domain: ~"),
        ("image: ghcr.io/example/web:1.0.0", "image: ~"),
        ("location: fsn1", "location: ~"),
    ] {
        assert_eq!(verdicts(&spec.replace(key, null)), (false, false), "{null}");
    }
}

//! Tests — validation (what stays accepted): values near the hardened rules that must validate and
//! render on every target, so a rule that closes a class of bad values does not close good ones.

/// A spec declaring every target; `{frontend}` and `{env}` are spliced in.
const SPEC: &str = "name: shop\ndomain: shop.example.com\nfrontend:\n  image: ghcr.io/acme/web:1.0.0\n  port: 8000\n{frontend}  env:\n{env}  secrets: [DJANGO_SECRET_KEY]\npostgres: { version: \"17\" }\nqueue: { rabbitmq: { queues: [jobs] } }\nworkers:\n  - name: jobs\n    image: ghcr.io/acme/worker:1.0.0\n    consumes: jobs\ntargets:\n  eks: { region: eu-west-1 }\n  gke: { project: shop-prod, region: europe-west3 }\n  hetzner: { location: fsn1 }\n";

/// Validates `spec` and renders it for every target; panics with the report otherwise.
#[track_caller]
fn renders_everywhere(spec: &str) -> Vec<fredgen::render::Output> {
    let loaded = fredgen::parse("ok.yaml", spec.to_string())
        .unwrap_or_else(|e| panic!("refused:\n{}\n{spec}", e.report()));
    loaded
        .declared_targets()
        .into_iter()
        .map(|t| {
            loaded
                .render(t, None)
                .unwrap_or_else(|e| panic!("{} refused:\n{}\n{spec}", t.id(), e.report()))
        })
        .collect()
}

fn spec(frontend: &str, env: &str) -> String {
    SPEC.replace("{frontend}", frontend).replace("{env}", env)
}

#[test]
fn tabs_and_newlines_in_env_values_and_commands_render() {
    let outs = renders_everywhere(&spec(
        "  command: [sh, -c, \"exec\\tgunicorn\\n--workers 2\"]\n",
        "    GREETING: \"line one\\nline two\\tand a tab\"\n    ACCENTS: \"é ü 😀\"\n",
    ));
    for out in outs {
        let web = &out.files["k8s/web.yaml"];
        assert!(web.contains(r#""line one\nline two\tand a tab""#), "{web}");
    }
}

#[test]
fn paths_with_colons_and_escapes_render_quoted_where_yaml_needs_it() {
    // `/healthz:` validated and then failed the EKS route's parse-back (a plain scalar ending in
    // `:`): the annotation is now written as YAML, quoted where needed.
    let outs = renders_everywhere(&spec(
        "  health: { path: \"/healthz:\" }\n  metrics: { path: \"/a%2Fb/@me+x&y=1~\" }\n",
        "    LOG_LEVEL: info\n",
    ));
    assert!(outs[0].files["k8s/route.yaml"].contains("healthcheck-path: \"/healthz:\"\n"));
}

#[test]
fn sha256_and_sha512_digests_render() {
    let sha256 = "0123456789abcdef".repeat(4);
    let sha512 = "0123456789abcdef".repeat(8);
    let text = spec("", "    LOG_LEVEL: info\n")
        .replace(
            "ghcr.io/acme/web:1.0.0",
            &format!("ghcr.io/acme/web@sha256:{sha256}"),
        )
        .replace(
            "ghcr.io/acme/worker:1.0.0",
            &format!("ghcr.io/acme/worker@sha512:{sha512}"),
        );
    // Both are pinned by digest: neither gets checkov's "no digest" (CKV_K8S_43) suppression,
    // which a test for `@sha256:` alone gave the sha512 worker.
    for out in renders_everywhere(&text) {
        for (path, text) in &out.files {
            assert!(!text.contains("CKV_K8S_43"), "{path}");
        }
    }
}

/// The variable names of each `env:` list in a rendered manifest.
fn env_lists(text: &str) -> Vec<Vec<String>> {
    let mut lists = Vec::new();
    let mut current: Option<(usize, Vec<String>)> = None;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        if let Some((at, names)) = &mut current {
            if let Some(name) = line
                .trim_start()
                .strip_prefix("- name: ")
                .filter(|_| indent == *at + 2)
            {
                names.push(name.to_string());
                continue;
            }
            if indent <= *at && !line.trim().is_empty() {
                lists.push(current.take().map(|(_, n)| n).unwrap_or_default());
            }
        }
        if line.trim_start() == "env:" {
            current = Some((indent, Vec::new()));
        }
    }
    lists.extend(current.map(|(_, n)| n));
    lists
}

#[test]
fn the_names_fredgen_injects_are_exactly_the_ones_validation_reserves() {
    let text = spec("", "    LOG_LEVEL: info\n");
    let raw = fredgen::parse("ok.yaml", text.clone()).expect("parses").raw;
    // Every process uses the stack's database and queue by default, under the default names.
    use fredgen::model::validate::{DEFAULT_DATABASE_ENV, DEFAULT_QUEUE_ENV, injected_env};
    let reserved: Vec<String> = injected_env(
        raw.postgres.as_ref().map(|_| DEFAULT_DATABASE_ENV),
        raw.queue.as_ref().map(|_| DEFAULT_QUEUE_ENV),
    )
    .into_iter()
    .map(|(n, _)| n)
    .collect();
    for out in renders_everywhere(&text) {
        for file in ["k8s/web.yaml", "k8s/workers.yaml"] {
            let lists = env_lists(&out.files[file]);
            assert!(!lists.is_empty(), "{file} has env lists");
            for names in lists {
                let mut unique = names.clone();
                unique.sort();
                unique.dedup();
                assert_eq!(unique.len(), names.len(), "{file}: {names:?}");
                for injected in names
                    .iter()
                    .filter(|n| !["LOG_LEVEL", "DJANGO_SECRET_KEY"].contains(&n.as_str()))
                {
                    assert!(reserved.contains(injected), "{file}: {injected}");
                }
                for r in &reserved {
                    assert!(names.iter().any(|n| n == r), "{file}: {r} in {names:?}");
                }
            }
        }
    }
}

#[test]
fn every_form_of_the_quantity_grammar_validates_and_renders() {
    // `0.5Gi` and `5e-1` were refused as malformed; they are Kubernetes quantities.
    for (cpu, memory) in [
        ("0.5", "0.5Gi"),
        ("5e-1", "129e6"),
        ("+.25", "1.5Gi"),
        ("100m", "262144Ki"),
        ("2", "1G"),
    ] {
        let frontend = format!("  resources: {{ cpu: \"{cpu}\", memory: \"{memory}\" }}\n");
        let outs = renders_everywhere(&spec(&frontend, "    LOG_LEVEL: info\n"));
        for out in outs {
            let web = &out.files["k8s/web.yaml"];
            assert!(web.contains(&format!("memory: \"{memory}\"")), "{web}");
        }
    }
}

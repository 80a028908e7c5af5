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
    renders_everywhere(&text);
}

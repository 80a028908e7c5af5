//! Tests — the CLI contract: exit codes, render/diff/check against a directory, and ownership of
//! files in the output directory.

use std::fs;

use crate::support::{example_spec, fredgen};

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn check_is_clean_after_render_and_reports_an_edit_that_diff_shows() {
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::create_dir(tmp.path().join("stack")).expect("mkdir");
    fs::copy(example_spec("fred"), tmp.path().join("stack/fredgen.yaml")).expect("copy");
    let spec = "stack/fredgen.yaml";
    let render = fredgen(
        tmp.path(),
        &["render", "-f", spec, "--target", "eks", "--env", "prod"],
    );
    assert_eq!(render.status.code(), Some(0), "{}", text(&render));
    // Next to the spec, not in the current directory.
    let out_dir = tmp.path().join("stack/deploy/eks/prod");
    assert!(out_dir.join("k8s/web.yaml").is_file());

    let check = fredgen(
        tmp.path(),
        &["check", "-f", spec, "--target", "eks", "--env", "prod"],
    );
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));

    let web = out_dir.join("k8s/web.yaml");
    let edited = fs::read_to_string(&web)
        .expect("read")
        .replace("maxUnavailable: 0", "maxUnavailable: 3");
    fs::write(&web, edited).expect("write");
    let check = fredgen(
        tmp.path(),
        &["check", "-f", spec, "--target", "eks", "--env", "prod"],
    );
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    assert!(
        text(&check).contains("modified") && text(&check).contains("k8s/web.yaml"),
        "{}",
        text(&check)
    );

    let diff = fredgen(
        tmp.path(),
        &["diff", "-f", spec, "--target", "eks", "--env", "prod"],
    );
    assert_eq!(diff.status.code(), Some(1));
    let d = text(&diff);
    assert!(
        d.contains("--- a/k8s/web.yaml")
            && d.contains("-      maxUnavailable: 3")
            && d.contains("+      maxUnavailable: 0"),
        "{d}"
    );

    let again = fredgen(
        tmp.path(),
        &["render", "-f", spec, "--target", "eks", "--env", "prod"],
    );
    assert_eq!(again.status.code(), Some(0));
    let check = fredgen(
        tmp.path(),
        &["check", "-f", spec, "--target", "eks", "--env", "prod"],
    );
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
}

#[test]
fn hand_written_files_survive_and_are_never_overwritten() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let spec = example_spec("minimal");
    let spec = spec.to_str().expect("utf8");
    let out = tmp.path().join("out");
    fs::create_dir_all(out.join("k8s")).expect("mkdir");
    fs::write(out.join("NOTES.md"), "mine\n").expect("write");
    fs::write(out.join("k8s/web.yaml"), "# my own web.yaml\n").expect("write");

    let refused = fredgen(
        tmp.path(),
        &["render", "-f", spec, "--target", "gke", "-o", "out"],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        text(&refused).contains("did not generate"),
        "{}",
        text(&refused)
    );
    assert_eq!(
        fs::read_to_string(out.join("k8s/web.yaml")).expect("read"),
        "# my own web.yaml\n"
    );
    assert!(
        !out.join("k8s/namespace.yaml").exists(),
        "nothing is written when a path is refused"
    );

    fs::remove_file(out.join("k8s/web.yaml")).expect("rm");
    let ok = fredgen(
        tmp.path(),
        &["render", "-f", spec, "--target", "gke", "-o", "out"],
    );
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    assert_eq!(
        fs::read_to_string(out.join("NOTES.md")).expect("read"),
        "mine\n"
    );
}

#[test]
fn files_a_spec_no_longer_needs_are_removed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let full = fs::read_to_string(example_spec("fred")).expect("read");
    fs::write(tmp.path().join("fredgen.yaml"), &full).expect("write");
    let r = fredgen(
        tmp.path(),
        &[
            "render", "--target", "hetzner", "--env", "prod", "-o", "out",
        ],
    );
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    assert!(tmp.path().join("out/k8s/rabbitmq.yaml").is_file());

    let without_queue: String = full.replace("    consumes: fred.tasks\n", "").replace(
        "queue:\n  rabbitmq: { version: \"4.3\", replicas: 3, queues: [fred.tasks] }\n",
        "",
    );
    fs::write(tmp.path().join("fredgen.yaml"), without_queue).expect("write");
    let check = fredgen(
        tmp.path(),
        &["check", "--target", "hetzner", "--env", "prod", "-o", "out"],
    );
    assert_eq!(check.status.code(), Some(1));
    assert!(text(&check).contains("stale"), "{}", text(&check));
    let r = fredgen(
        tmp.path(),
        &[
            "render", "--target", "hetzner", "--env", "prod", "-o", "out",
        ],
    );
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    assert!(!tmp.path().join("out/k8s/rabbitmq.yaml").exists());
}

#[test]
fn usage_errors_exit_2_with_a_hint() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let spec = example_spec("fred");
    let spec = spec.to_str().expect("utf8");
    let unknown = fredgen(
        tmp.path(),
        &["render", "-f", spec, "--target", "azure", "--env", "prod"],
    );
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        text(&unknown).contains("available targets: eks, gke, hetzner"),
        "{}",
        text(&unknown)
    );
    let no_env = fredgen(tmp.path(), &["render", "-f", spec, "--target", "eks"]);
    assert_eq!(no_env.status.code(), Some(2));
    assert!(
        text(&no_env).contains("declared environments: pr-142, prod, staging"),
        "{}",
        text(&no_env)
    );
    let only_eks = "name: one
domain: one.example.com
frontend: { image: \"ghcr.io/acme/one:1.0.0\", port: 8080 }
targets: { eks: { region: eu-west-1 } }
";
    fs::write(tmp.path().join("one.yaml"), only_eks).expect("write");
    let undeclared = fredgen(tmp.path(), &["render", "-f", "one.yaml", "--target", "gke"]);
    assert_eq!(undeclared.status.code(), Some(2));
    assert!(
        text(&undeclared).contains("target `gke` is not declared"),
        "{}",
        text(&undeclared)
    );
    assert!(!tmp.path().join("deploy").exists(), "errors write nothing");
}

#[test]
fn help_documents_commands_and_exit_codes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let help = fredgen(tmp.path(), &["--help"]);
    assert_eq!(help.status.code(), Some(0));
    insta::assert_snapshot!("help", String::from_utf8_lossy(&help.stdout));
}

#[test]
fn targets_lists_every_backend() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = fredgen(tmp.path(), &["targets"]);
    let s = String::from_utf8_lossy(&out.stdout);
    for id in ["eks", "gke", "hetzner"] {
        assert!(s.lines().any(|l| l.starts_with(id)), "{s}");
    }
}

/// Parses the one JSON object a `--format json` run prints, and checks nothing went to stderr.
fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(out.stderr.is_empty(), "{}", text(out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", text(out)))
}

#[test]
fn validate_json_lists_cases_or_every_error_with_its_position() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let spec = example_spec("minimal");
    let spec = spec.to_str().expect("utf8");
    let good = fredgen(tmp.path(), &["validate", "-f", spec, "--format", "json"]);
    assert_eq!(good.status.code(), Some(0), "{}", text(&good));
    let v = json(&good);
    assert_eq!(v["command"], "validate");
    assert_eq!(v["ok"], true);
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["spec"], spec);
    assert_eq!(v["errors"], serde_json::json!([]));
    let targets: Vec<&str> = v["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| c["target"].as_str().expect("target"))
        .collect();
    assert_eq!(targets, ["eks", "gke", "hetzner"]);
    assert_eq!(v["cases"][0]["env"], serde_json::Value::Null);

    let bad = "name: bad
domain: bad.example.com
frontend:
  image: ghcr.io/acme/bad:1.0.0
  port: 99999
  replicass: { min: 2 }
targets: { eks: { region: eu-west-1 } }
";
    fs::write(tmp.path().join("bad.yaml"), bad).expect("write");
    let out = fredgen(tmp.path(), &["validate", "-f", "bad.yaml", "--format=json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["ok"], false);
    assert_eq!(v["exit_code"], 2);
    assert_eq!(v["cases"], serde_json::json!([]));
    let errors = v["errors"].as_array().expect("errors");
    let unknown = errors
        .iter()
        .find(|e| e["path"] == "frontend.replicass")
        .unwrap_or_else(|| panic!("no error at frontend.replicass: {v:#}"));
    assert_eq!(unknown["kind"], "spec");
    assert_eq!(unknown["file"], "bad.yaml");
    assert_eq!(unknown["line"], 6);
    assert_eq!(unknown["column"], 3);
    assert!(
        unknown["hint"]
            .as_str()
            .is_some_and(|h| h.contains("replicas")),
        "{v:#}"
    );
    for e in errors {
        let keys: Vec<&String> = e.as_object().expect("object").keys().collect();
        assert_eq!(
            keys,
            // serde_json's map sorts keys; fredgen prints them in the README's order.
            ["column", "file", "hint", "kind", "line", "message", "path"],
            "{v:#}"
        );
    }

    let missing = fredgen(
        tmp.path(),
        &["validate", "-f", "nope.yaml", "--format", "json"],
    );
    assert_eq!(missing.status.code(), Some(2));
    let v = json(&missing);
    assert_eq!(v["errors"][0]["kind"], "io");
    assert_eq!(v["errors"][0]["file"], "nope.yaml");
    assert_eq!(v["errors"][0]["line"], serde_json::Value::Null);
    assert_eq!(
        v["errors"][0]["hint"],
        "run `fredgen init -f nope.yaml` to write a starter spec there, or check the path"
    );

    let human = fredgen(tmp.path(), &["validate", "-f", "bad.yaml"]);
    assert_eq!(human.status.code(), Some(2));
    assert!(human.stdout.is_empty(), "human errors go to stderr");
}

#[test]
fn check_and_diff_json_report_changed_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let spec = example_spec("minimal");
    let spec = spec.to_str().expect("utf8");
    let args = |cmd: &'static str| [cmd, "-f", spec, "--target", "gke", "-o", "out"];
    let render = fredgen(tmp.path(), &args("render"));
    assert_eq!(render.status.code(), Some(0), "{}", text(&render));

    let clean = fredgen(
        tmp.path(),
        &[&args("check")[..], &["--format", "json"]].concat(),
    );
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean));
    let v = json(&clean);
    assert_eq!(v["command"], "check");
    assert_eq!(v["ok"], true);
    assert_eq!(v["target"], "gke");
    assert_eq!(v["env"], serde_json::Value::Null);
    assert_eq!(v["output"], "out");
    assert_eq!(v["changes"], serde_json::json!([]));

    let web = tmp.path().join("out/k8s/web.yaml");
    let mut edited = fs::read_to_string(&web).expect("read");
    edited.push_str("# edited by hand\n");
    fs::write(&web, edited).expect("write");
    let check = fredgen(
        tmp.path(),
        &[&args("check")[..], &["--format", "json"]].concat(),
    );
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    let v = json(&check);
    assert_eq!(v["ok"], false);
    assert_eq!(v["exit_code"], 1);
    assert_eq!(
        v["changes"],
        serde_json::json!([{ "change": "modified", "path": "k8s/web.yaml" }])
    );

    let diff = fredgen(
        tmp.path(),
        &[&args("diff")[..], &["--format", "json"]].concat(),
    );
    assert_eq!(diff.status.code(), Some(1), "{}", text(&diff));
    let v = json(&diff);
    assert_eq!(v["command"], "diff");
    assert_eq!(v["changes"][0]["change"], "modified");
    let d = v["changes"][0]["diff"].as_str().expect("diff text");
    assert!(
        d.starts_with("--- a/k8s/web.yaml\n+++ b/k8s/web.yaml\n")
            && d.contains("-# edited by hand"),
        "{d}"
    );
    let human = fredgen(tmp.path(), &args("diff"));
    assert_eq!(String::from_utf8_lossy(&human.stdout), d);

    let unknown = fredgen(
        tmp.path(),
        &["check", "-f", spec, "--target", "azure", "--format", "json"],
    );
    assert_eq!(unknown.status.code(), Some(2));
    let v = json(&unknown);
    assert_eq!(v["output"], serde_json::Value::Null);
    assert_eq!(v["errors"][0]["kind"], "usage");
    assert_eq!(
        v["errors"][0]["hint"],
        format!(
            "available targets: {}",
            fredgen::backend::Registry::builtin().ids().join(", ")
        )
    );

    let bad_arg = fredgen(tmp.path(), &["diff", "--format", "json", "--bogus"]);
    assert_eq!(bad_arg.status.code(), Some(2));
    let v = json(&bad_arg);
    assert_eq!(v["command"], "diff");
    assert_eq!(v["errors"][0]["kind"], "usage");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("--bogus")),
        "{v:#}"
    );
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bash = fredgen(tmp.path(), &["completions", "bash"]);
    assert_eq!(bash.status.code(), Some(0), "{}", text(&bash));
    let script = String::from_utf8_lossy(&bash.stdout);
    assert!(
        script.contains("render") && script.contains("--format"),
        "{script}"
    );
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = fredgen(tmp.path(), &["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("validate"),
            "{shell}"
        );
    }

    let man = fredgen(tmp.path(), &["man"]);
    assert_eq!(man.status.code(), Some(0), "{}", text(&man));
    let page = String::from_utf8_lossy(&man.stdout);
    // clap_mangen puts a two-line quote-character preamble before the title.
    let title = page
        .lines()
        .find(|l| l.starts_with('.') && !l.starts_with(".ie") && !l.starts_with(".el"));
    assert!(
        title.is_some_and(|l| l.starts_with(".TH fredgen 1")),
        "{page}"
    );
    assert!(
        page.contains(".SH \"EXIT STATUS\"") && page.contains("fredgen\\-init"),
        "{page}"
    );

    fs::create_dir(tmp.path().join("man")).expect("mkdir");
    let pages = fredgen(tmp.path(), &["man", "-o", "man"]);
    assert_eq!(pages.status.code(), Some(0), "{}", text(&pages));
    assert_eq!(
        fs::read_to_string(tmp.path().join("man/fredgen.1")).expect("fredgen.1"),
        page
    );
    let check = fs::read_to_string(tmp.path().join("man/fredgen-check.1")).expect("check page");
    assert!(check.contains("\\-\\-format"), "{check}");
}

#[test]
fn init_writes_a_starter_that_validates_and_renders_everywhere() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let init = fredgen(tmp.path(), &["init"]);
    assert_eq!(init.status.code(), Some(0), "{}", text(&init));
    let spec = fs::read_to_string(tmp.path().join("fredgen.yaml")).expect("spec written");
    assert_eq!(
        spec.lines().next(),
        Some("# yaml-language-server: $schema=./fredgen.schema.json")
    );
    assert_eq!(
        fs::read_to_string(tmp.path().join("fredgen.schema.json")).expect("schema written"),
        fredgen::spec::schema_json()
    );

    let validate = fredgen(tmp.path(), &["validate", "--format", "json"]);
    assert_eq!(validate.status.code(), Some(0), "{}", text(&validate));
    let cases = json(&validate)["cases"].as_array().expect("cases").clone();
    assert_eq!(cases.len(), 6, "3 targets × staging, prod: {cases:?}");
    for case in &cases {
        let (target, env) = (
            case["target"].as_str().expect("target"),
            case["env"].as_str().expect("env"),
        );
        let render = fredgen(tmp.path(), &["render", "--target", target, "--env", env]);
        assert_eq!(
            render.status.code(),
            Some(0),
            "{target} {env}: {}",
            text(&render)
        );
    }
    assert!(tmp.path().join("deploy/eks/prod/k8s/web.yaml").is_file());

    let schema = fredgen(tmp.path(), &["schema"]);
    assert_eq!(schema.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&schema.stdout),
        fredgen::spec::schema_json()
    );
}

#[test]
fn init_never_overwrites_a_spec_and_keeps_an_existing_schema() {
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::write(tmp.path().join("fredgen.yaml"), "name: mine\n").expect("write");
    let refused = fredgen(tmp.path(), &["init"]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("`fredgen.yaml` already exists") && err.contains("hint:"),
        "{err}"
    );
    assert_eq!(
        fs::read(tmp.path().join("fredgen.yaml")).expect("read"),
        b"name: mine\n"
    );
    assert!(
        !tmp.path().join("fredgen.schema.json").exists(),
        "a refused init writes nothing"
    );

    fs::create_dir(tmp.path().join("other")).expect("mkdir");
    fs::write(tmp.path().join("other/fredgen.schema.json"), "{}\n").expect("write");
    let ok = fredgen(tmp.path(), &["init", "-f", "other/stack.yaml"]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    assert!(
        text(&ok).contains("kept other/fredgen.schema.json"),
        "{}",
        text(&ok)
    );
    assert_eq!(
        fs::read_to_string(tmp.path().join("other/fredgen.schema.json")).expect("read"),
        "{}\n"
    );
    let validate = fredgen(tmp.path(), &["validate", "-f", "other/stack.yaml"]);
    assert_eq!(validate.status.code(), Some(0), "{}", text(&validate));
}

/// A valid spec with `n` workers, the shape of `bench/gen-spec.py`.
fn many_workers(n: usize) -> String {
    let mut spec = String::from(
        "name: many\ndomain: many.example.com\nfrontend:\n  image: ghcr.io/acme/web:1.0.0\n  port: 8000\n  health: { path: /healthz }\n  replicas: { min: 2, max: 4 }\n  resources: { cpu: 250m, memory: 256Mi }\nworkers:\n",
    );
    for i in 0..n {
        spec += &format!(
            "  - name: w{i}\n    image: ghcr.io/acme/worker:1.0.0\n    command: [celery, worker, -Q, q{q}]\n    consumes: q{q}\n    replicas: {{ min: 2, max: 4 }}\n    resources: {{ cpu: 100m, memory: 128Mi }}\n    health: {{ command: [celery, inspect, ping] }}\n",
            q = i % 3
        );
    }
    spec + "queue:\n  rabbitmq: { version: \"4.3\", replicas: 3, queues: [q0, q1, q2] }\npostgres:\n  version: \"17\"\n  storage: 20Gi\n  ha: true\n  backup: { retention_days: 7 }\nmonitoring:\n  metrics: true\n  logs: true\ntargets:\n  eks: { region: eu-west-1 }\n  gke: { project: many-prod, region: europe-west1 }\n  hetzner: { location: fsn1 }\n"
}

/// Every file below `dir`, relative path → bytes.
fn tree(dir: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in fs::read_dir(&d).expect("readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let rel = path.strip_prefix(dir).expect("below dir");
                out.insert(
                    rel.to_string_lossy().into_owned(),
                    fs::read(&path).expect("readable"),
                );
            }
        }
    }
    out
}

#[test]
fn a_large_render_is_the_same_bytes_on_one_thread_and_on_four() {
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::write(tmp.path().join("fredgen.yaml"), many_workers(150)).expect("writes");
    for target in ["eks", "gke", "hetzner"] {
        let mut trees = Vec::new();
        for threads in ["1", "4"] {
            // The same directory each time: the headers name it in their regenerate command.
            let out = "out";
            let run = std::process::Command::new(env!("CARGO_BIN_EXE_fredgen"))
                .current_dir(tmp.path())
                .env("FREDGEN_THREADS", threads)
                .args(["render", "--target", target, "-o", out])
                .output()
                .expect("fredgen runs");
            assert!(run.status.success(), "{target}/{threads}: {}", text(&run));
            trees.push(tree(&tmp.path().join(out)));
            fs::remove_dir_all(tmp.path().join(out)).expect("removes");
        }
        // The manifests of 150 workers are parsed back in several pieces.
        let workers = trees[0]["k8s/workers.yaml"].len();
        assert!(
            workers > 3 * fredgen::render::tidy::PIECE,
            "{target}: workers.yaml is only {workers} bytes"
        );
        assert_eq!(trees[0], trees[1], "{target}: 1 and 4 threads differ");
    }
}

#[test]
fn a_hostile_spec_file_name_cannot_inject_anything_into_the_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = fs::read_to_string(example_spec("fred")).expect("read");
    // Line breaks for YAML 1.1 readers and kubectl (U+2028, U+2029, U+0085) that would end the
    // header comment and start a kustomization key; an HTML comment's end; a code span's end.
    for name in [
        "e\u{2028}namespace: kube-system\u{2028}#.yaml",
        "e\u{2029}images:\u{85}- name: x\u{85}#.yaml",
        "a-->b<script>`c.yaml",
        "tab\tand\rcr.yaml",
    ] {
        fs::write(dir.path().join(name), &spec).expect("write");
        let out = dir.path().join("out");
        let args = |cmd| {
            vec![
                cmd, "-f", name, "-o", "out", "--target", "eks", "--env", "prod",
            ]
        };
        let r = fredgen(dir.path(), &args("render"));
        if name.contains(['\u{2028}', '\u{2029}', '\u{85}', '\t', '\r']) {
            // No header's command could name it exactly on one line: refused, nothing written.
            assert_eq!(r.status.code(), Some(2), "{name:?}: {}", text(&r));
            assert!(
                text(&r).contains(
                    "holds a control character, a line separator, a bidirectional control or an invisible character"
                ),
                "{name:?}: {}",
                text(&r)
            );
            assert!(!out.exists(), "{name:?}");
            continue;
        }
        assert_eq!(r.status.code(), Some(0), "{name:?}: {}", text(&r));
        for entry in walkdir::WalkDir::new(&out) {
            let entry = entry.expect("walk");
            if !entry.file_type().is_file() || entry.file_name() == ".fredgen-manifest" {
                continue;
            }
            let body = fs::read_to_string(entry.path()).expect("read");
            let first = body.lines().next().unwrap_or_default();
            assert!(
                !body.contains(['\u{2028}', '\u{2029}', '\u{85}', '\r']),
                "{name:?}: a line break in {}",
                entry.path().display()
            );
            let named = first
                .split_once("from ")
                .and_then(|(_, rest)| rest.split_once(" (sha256:"))
                .map(|(named, _)| named)
                .expect("a header naming the spec");
            assert!(!named.contains(['`', '<', '>', '\t']), "{name:?}: {first}");
            // The regenerate command names the spec too, exactly, in single quotes (a shell
            // reads `<`, `>` and backticks there as they are), with no `-->` ending a Markdown
            // header's comment early.
            assert!(
                first.contains("--file 'a--''>b<script>`c.yaml'"),
                "{name:?}: {first}"
            );
            if entry.path().ends_with("README.md") {
                assert_eq!(first.matches("-->").count(), 1, "{first}");
                assert!(first.ends_with(" -->"), "{first}");
                assert!(!body[first.len()..].contains("<script>"), "{first}");
            }
        }
        let check = fredgen(dir.path(), &args("check"));
        assert_eq!(check.status.code(), Some(0), "{name:?}: {}", text(&check));
        fs::remove_dir_all(&out).expect("clean");
    }
}

/// The annotated spec in the README's spec reference is a spec that validates, on every target it
/// declares: a reference that documents a refused spec teaches the wrong thing.
#[test]
fn the_readme_spec_reference_validates() {
    let spec = crate::support::readme_annotated_spec();
    assert!(
        spec.contains("services:") && spec.contains("targets:"),
        "{spec}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("fredgen.yaml"), spec).expect("write");
    let out = fredgen(dir.path(), &["validate", "-f", "fredgen.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

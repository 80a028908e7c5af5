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
    let spec = example_spec("fred");
    let spec = spec.to_str().expect("utf8");
    let render = fredgen(
        tmp.path(),
        &["render", "-f", spec, "--target", "eks", "--env", "prod"],
    );
    assert_eq!(render.status.code(), Some(0), "{}", text(&render));
    let out_dir = tmp.path().join("deploy/eks/prod");
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
        text(&no_env).contains("declared environments: prod, staging"),
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

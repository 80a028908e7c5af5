//! Tests — targets defined by a folder: the shipped `kubernetes` folder is listed and renders like a
//! compiled target, and a user's own folder (`--target-dir`, `target_folders:`) is loaded at run
//! time and validated the same way, its mistakes refused with their position.

use std::fs;
use std::path::Path;

use crate::support::{Case, fredgen, render, root};

/// The folder target shipped in `targets/` and the example that uses it.
const SHIPPED: &str = "kubernetes";
const EXAMPLE: &str = "cluster";

#[test]
fn targets_lists_the_shipped_folder_target_and_a_users() {
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_as(
        &root().join("targets").join(SHIPPED),
        &tmp.path().join("onprem"),
        "onprem",
    );
    let out = fredgen(tmp.path(), &["targets", "--target-dir", "onprem"]);
    assert_eq!(out.status.code(), Some(0));
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    let ids: Vec<&str> = listed
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        ids,
        ["eks", "gke", "hetzner", SHIPPED, "onprem"],
        "{listed}"
    );
    assert!(
        listed
            .lines()
            .last()
            .is_some_and(|l| l.ends_with("(from onprem)"))
    );
}

#[test]
fn the_shipped_folder_target_renders_its_example_with_no_cloud_terraform() {
    for env in ["staging", "prod"] {
        let out = render(&Case {
            example: EXAMPLE.into(),
            target: SHIPPED,
            env: Some(env.into()),
        });
        let roots: std::collections::BTreeSet<&str> = out
            .files
            .keys()
            .filter_map(|p| p.strip_prefix("terraform/")?.split('/').next())
            .collect();
        assert_eq!(
            roots.into_iter().collect::<Vec<_>>(),
            ["30-platform", "40-addons"],
            "only the add-ons are Terraform"
        );
        for (path, text) in &out.files {
            if path.ends_with(".tf") {
                for cloud in ["hashicorp/aws", "hashicorp/google", "hetznercloud/hcloud"] {
                    assert!(!text.contains(cloud), "{path} uses {cloud}");
                }
            }
        }
        assert!(out.files.contains_key("k8s/kustomization.yaml"));
        assert!(!out.plan.steps.is_empty());
    }
}

/// Renders the prod environment of the spec in `dir` for `target`, with the folder target in
/// `dir/onprem`, into `dir/<out>`.
fn render_prod(dir: &Path, target: &str, out: &str) -> std::process::Output {
    fredgen(
        dir,
        &[
            "render",
            "--target-dir",
            "onprem",
            "--target",
            target,
            "--env",
            "prod",
            "-o",
            out,
        ],
    )
}

/// Copies a folder target, giving it the id `id` (its templates read `target.<id>`).
fn copy_as(from: &Path, to: &Path, id: &str) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("readable");
        let rel = entry.path().strip_prefix(from).expect("below");
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            fs::create_dir_all(&dest).expect("mkdir");
        } else {
            let text = fs::read_to_string(entry.path()).expect("text");
            let text = text
                .replace(&format!("id: {SHIPPED}\n"), &format!("id: {id}\n"))
                .replace(&format!("target.{SHIPPED}"), &format!("target.{id}"));
            fs::write(&dest, text).expect("write");
        }
    }
}

/// The cluster example as a spec for the folder target `id`.
fn spec_for(id: &str) -> String {
    let spec = fs::read_to_string(crate::support::example_spec(EXAMPLE)).expect("example");
    spec.replace(
        &format!("targets:\n  {SHIPPED}:\n"),
        &format!("targets:\n  {id}:\n"),
    )
    .replace(
        &format!("targets:\n      {SHIPPED}: {{"),
        &format!("targets:\n      {id}: {{"),
    )
}

#[test]
fn a_users_folder_target_renders_as_the_shipped_one_does() {
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_as(
        &root().join("targets").join(SHIPPED),
        &tmp.path().join("onprem"),
        "onprem",
    );
    fs::write(tmp.path().join("fredgen.yaml"), spec_for("onprem")).expect("spec");
    let flag = render_prod(tmp.path(), "onprem", "a");
    assert_eq!(
        flag.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&flag.stderr)
    );
    // The same folder named by the spec.
    let spec = fs::read_to_string(tmp.path().join("fredgen.yaml")).expect("spec");
    fs::write(
        tmp.path().join("fredgen.yaml"),
        format!("{spec}target_folders: [onprem]\n"),
    )
    .expect("spec");
    let key = fredgen(
        tmp.path(),
        &["render", "--target", "onprem", "--env", "prod", "-o", "b"],
    );
    assert_eq!(
        key.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&key.stderr)
    );
    let check = fredgen(
        tmp.path(),
        &["check", "--target", "onprem", "--env", "prod", "-o", "b"],
    );
    assert_eq!(check.status.code(), Some(0));
    // Both render what the shipped target renders, but for the id.
    let shipped = render(&Case {
        example: EXAMPLE.into(),
        target: SHIPPED,
        env: Some("prod".into()),
    });
    for dir in ["a", "b"] {
        for (path, text) in &shipped.files {
            let mine = fs::read_to_string(tmp.path().join(dir).join(path))
                .unwrap_or_else(|_| panic!("{dir}/{path} rendered"));
            let lines = |t: &str| t.lines().skip(1).count();
            assert_eq!(lines(&mine), lines(text), "{dir}/{path}");
        }
    }
}

#[test]
fn a_target_dir_that_is_missing_or_no_folder_target_says_so_without_blaming_a_spec() {
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::create_dir(tmp.path().join("empty")).expect("mkdir");
    fs::write(tmp.path().join("file"), "").expect("write");
    let hint =
        "  = hint: a folder target is a folder with target.yaml, platform.yaml.j2 and templates/\n";
    for (dir, expected) in [
        (
            "my-target",
            format!("error: the target folder `my-target` does not exist\n{hint}"),
        ),
        (
            "file",
            format!("error: the target folder `file` is not a folder\n{hint}"),
        ),
        (
            "empty",
            format!(
                "error: `empty` has no target.yaml\n  --> empty/target.yaml\n{hint}\n1 problem\n"
            ),
        ),
    ] {
        let out = fredgen(tmp.path(), &["targets", "--target-dir", dir]);
        assert_eq!(out.status.code(), Some(2), "{dir}");
        assert_eq!(out.stdout, b"", "{dir}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), expected, "{dir}");
    }
}

#[test]
fn a_broken_folder_target_or_block_is_refused_with_its_position() {
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_as(
        &root().join("targets").join(SHIPPED),
        &tmp.path().join("onprem"),
        "onprem",
    );
    let manifest = tmp.path().join("onprem/target.yaml");
    let good = fs::read_to_string(&manifest).expect("manifest");
    let mut report = String::new();
    let mut run = |what: &str, manifest_text: &str, spec: &str, target: &str| {
        fs::write(&manifest, manifest_text).expect("write");
        fs::write(tmp.path().join("fredgen.yaml"), spec).expect("write");
        let out = render_prod(tmp.path(), target, "out");
        assert_eq!(out.status.code(), Some(2), "{what}");
        assert!(!tmp.path().join("out").exists());
        report.push_str(&format!(
            "### {what}\n{}\n",
            String::from_utf8_lossy(&out.stderr)
        ));
    };
    let spec = spec_for("onprem");
    run(
        "a manifest key it does not know",
        &good.replace("managed_postgres: false", "managed_postgress: false"),
        &spec,
        "onprem",
    );
    run(
        "an id fredgen's own templates use",
        &good.replace("id: onprem", "id: eks"),
        &spec,
        "eks",
    );
    run(
        "the id of a target shipped with fredgen",
        &good.replace("id: onprem", &format!("id: {SHIPPED}")),
        &spec,
        SHIPPED,
    );
    run(
        "a block key the target does not declare",
        &good,
        &spec.replacen("storage_class:", "storage_clas:", 1),
        "onprem",
    );
    run(
        "a key of the wrong type",
        &good,
        &spec.replacen("s3_region: us-east-1", "s3_region: [us-east-1]", 1),
        "onprem",
    );
    insta::assert_snapshot!("folder_target_errors", report);
}

#[test]
fn a_folder_targets_broken_template_or_unsafe_value_is_the_users_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let folder = tmp.path().join("onprem");
    copy_as(&root().join("targets").join(SHIPPED), &folder, "onprem");
    let spec = spec_for("onprem");
    // Each case changes one file of the folder or the spec, then puts it back.
    type Change = (&'static str, &'static str, &'static str, &'static str);
    let cases: [Change; 5] = [
        (
            "a context holding a line break",
            "../fredgen.yaml",
            "context: ledger-prod",
            "context: \"ledger-prod\\n  touch /tmp/x #\"",
        ),
        (
            "an endpoint that is no https URL",
            "../fredgen.yaml",
            "s3_endpoint: https://s3.example.com",
            "s3_endpoint: ftp://s3.example.com",
        ),
        (
            "platform knobs without the load balancer's peers",
            "platform.yaml.j2",
            "lb_peers:\n  - namespaceSelector:\n      matchLabels:\n        kubernetes.io/metadata.name: traefik\n",
            "lb_peers: []\n",
        ),
        (
            "a template reading an undefined value",
            "templates/k8s/route.yaml.j2",
            "apiVersion",
            "{{ nothing.here }}apiVersion",
        ),
        (
            "apply steps that never apply the app",
            "templates/apply.yaml.j2",
            "{% include \"shared/apply/app.yaml.j2\" %}",
            "",
        ),
    ];
    let mut report = String::new();
    for (what, file, from, to) in cases {
        fs::write(tmp.path().join("fredgen.yaml"), &spec).expect("spec");
        let path = folder.join(file);
        let good = fs::read_to_string(&path).expect("read");
        assert!(good.contains(from), "{file} has no `{from}`");
        fs::write(&path, good.replacen(from, to, 1)).expect("write");
        let out = render_prod(tmp.path(), "onprem", "out");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
        assert!(!stderr.contains("bug in fredgen"), "{what}: {stderr}");
        assert!(!tmp.path().join("out").exists());
        report.push_str(&format!("### {what}\n{stderr}\n"));
        fs::write(&path, good).expect("restore");
    }
    insta::assert_snapshot!("folder_target_user_errors", report);
}

//! Tests — overrides: the shop example's overrides apply on every target, survive a second render,
//! and a broken or dangling override is refused at its entry in the spec, with nothing written.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::support::{Case, example_spec, fredgen, render, root};

/// The documents of a rendered YAML file, by kind and name.
fn object(out: &fredgen::render::Output, path: &str, kind: &str, name: &str) -> Value {
    let docs = fredgen::render::parse_back::yaml_documents(&out.files[path]).expect("parses");
    docs.into_iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{path} has no {kind} {name}"))
}

#[test]
fn every_kind_of_override_applies_on_every_target() {
    for target in ["eks", "gke", "hetzner"] {
        let case = Case {
            example: "shop".into(),
            target,
            env: None,
        };
        let out = render(&case);
        // Strategic merge patch: a pod annotation and the grace period, nothing else of the pod.
        let web = object(&out, "k8s/web.yaml", "Deployment", "shop-web");
        let pod = &web["spec"]["template"];
        assert_eq!(
            pod["metadata"]["annotations"]["acme.example/cost-center"],
            "shop"
        );
        assert_eq!(pod["spec"]["terminationGracePeriodSeconds"], 60);
        assert_eq!(pod["spec"]["containers"][0]["name"], "web");
        // JSON Patch.
        let hpa = object(
            &out,
            "k8s/services.yaml",
            "HorizontalPodAutoscaler",
            "shop-search",
        );
        assert_eq!(
            hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"],
            600
        );
        // Extra manifest, in the kustomization the app step applies.
        let limits = object(&out, "k8s/limits.yaml", "LimitRange", "shop-container-caps");
        assert_eq!(limits["spec"]["limits"][0]["max"]["memory"], "8Gi");
        assert!(out.files["k8s/kustomization.yaml"].contains("  - limits.yaml\n"));
        // Helm values: merged, the generated values around it kept.
        let values: Value = serde_saphyr::from_str(
            &out.files["terraform/40-addons/values/kube-prometheus-stack.yaml"],
        )
        .expect("values parse");
        let prom = &values["prometheus"]["prometheusSpec"];
        assert_eq!(prom["retention"], "30d");
        assert_eq!(prom["retentionSize"], "40GiB");
        // A Terraform file in a root, with fredgen's header (so fredgen owns it).
        let tf = &out.files["terraform/40-addons/addons-outputs.tf"];
        assert!(fredgen::render::carries_header(tf));
        assert!(tf.contains("output \"kube_prometheus_stack_chart_version\""));
        // The Terraform override file only on the target it names.
        assert_eq!(
            out.files
                .contains_key("terraform/10-cluster/sizing_override.tf"),
            target == "hetzner"
        );
        // Listed in the README and in the applied list the manifest of owned files is written from.
        let expected = if target == "hetzner" { 6 } else { 5 };
        assert_eq!(out.overrides.len(), expected, "{target}");
        for o in &out.overrides {
            assert!(
                out.files["README.md"].contains(&format!("| `{}` |", o.file)),
                "{target}: README lists {}",
                o.file
            );
        }
    }
}

#[test]
fn overrides_survive_a_second_render_and_check_sees_them() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let spec = example_spec("shop");
    let spec = spec.to_str().expect("utf8");
    let args = ["-f", spec, "--target", "hetzner", "-o", "out"];
    let first = fredgen(tmp.path(), &[&["render"][..], &args].concat());
    assert_eq!(first.status.code(), Some(0));
    let manifest = fs::read_to_string(tmp.path().join("out/.fredgen-manifest")).expect("manifest");
    assert!(manifest.contains("k8s/limits.yaml\n"));
    assert!(manifest.contains(
        "# override \"overrides/sizing_override.tf\" -> terraform/10-cluster/sizing_override.tf"
    ));
    let second = fredgen(tmp.path(), &[&["render"][..], &args].concat());
    assert_eq!(second.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&second.stdout).contains("(0 changed)"),
        "{}",
        String::from_utf8_lossy(&second.stdout)
    );
    let check = fredgen(tmp.path(), &[&["check"][..], &args].concat());
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    // Hand-editing a patched file is drift, as for any generated file.
    let web = tmp.path().join("out/k8s/web.yaml");
    let edited = fs::read_to_string(&web).expect("read").replace(
        "terminationGracePeriodSeconds: 60",
        "terminationGracePeriodSeconds: 45",
    );
    fs::write(&web, edited).expect("write");
    let check = fredgen(tmp.path(), &[&["check"][..], &args].concat());
    assert_eq!(check.status.code(), Some(1));
}

/// A copy of the shop example (spec and override files) in a temporary folder.
fn shop_copy() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let from = root().join("examples/shop");
    fs::copy(from.join("fredgen.yaml"), tmp.path().join("fredgen.yaml")).expect("copy spec");
    fs::create_dir(tmp.path().join("overrides")).expect("mkdir");
    for entry in fs::read_dir(from.join("overrides")).expect("overrides/") {
        let entry = entry.expect("entry");
        fs::copy(
            entry.path(),
            tmp.path().join("overrides").join(entry.file_name()),
        )
        .expect("copy");
    }
    tmp
}

/// Edits one file of a shop copy.
fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = fs::read_to_string(&path).expect("read");
    assert!(text.contains(from), "{file} has no `{from}`");
    fs::write(&path, text.replacen(from, to, 1)).expect("write");
}

/// Renders the copy for `target`: it must be refused (exit 2) with nothing written. Returns the
/// error report.
fn refused(dir: &Path, target: &str) -> String {
    let out = fredgen(dir, &["render", "--target", target, "-o", "out"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!dir.join("out").exists(), "nothing is written");
    stderr
}

#[test]
fn a_broken_or_dangling_override_is_refused_at_its_entry() {
    type Setup = fn(&Path);
    let cases: [(&str, &str, Setup); 18] = [
        ("a patch addressing no object", "eks", |d| {
            edit(d, "fredgen.yaml", "name: shop-web", "name: shop-webb")
        }),
        ("a patch addressing an object of another kind", "eks", |d| {
            edit(d, "fredgen.yaml", "kind: Deployment", "kind: StatefulSet")
        }),
        ("a JSON Patch whose test fails", "gke", |d| {
            edit(
                d,
                "overrides/search-scale-down.yaml",
                "value: 300",
                "value: 301",
            )
        }),
        ("a patch file that is not YAML", "eks", |d| {
            edit(
                d,
                "overrides/web-shutdown.yaml",
                "terminationGracePeriodSeconds: 60",
                "terminationGracePeriodSeconds: [60",
            )
        }),
        ("a patch that changes nothing", "eks", |d| {
            edit(
                d,
                "overrides/web-shutdown.yaml",
                "terminationGracePeriodSeconds: 60",
                "terminationGracePeriodSeconds: 45",
            );
            edit(
                d,
                "overrides/web-shutdown.yaml",
                "    metadata:\n      annotations:\n        acme.example/cost-center: shop\n",
                "",
            );
        }),
        (
            "a patch that leaves a Service selecting no pod",
            "hetzner",
            |d| {
                fs::write(
                    d.join("overrides/web-shutdown.yaml"),
                    "spec:\n  selector:\n    app.kubernetes.io/name: nothing\n",
                )
                .expect("write");
                edit(
                    d,
                    "fredgen.yaml",
                    "kind: Deployment\n    name: shop-web",
                    "kind: Service\n    name: shop-search",
                );
            },
        ),
        ("values for a chart this render does not have", "eks", |d| {
            edit(
                d,
                "fredgen.yaml",
                "chart: kube-prometheus-stack",
                "chart: kube-prometheus-stak",
            )
        }),
        ("a Terraform root this target does not render", "eks", |d| {
            edit(d, "fredgen.yaml", "root: 40-addons", "root: 45-addons")
        }),
        (
            "a Terraform override file overriding nothing",
            "hetzner",
            |d| {
                edit(
                    d,
                    "overrides/sizing_override.tf",
                    "\"agent_count\"",
                    "\"agent_counts\"",
                )
            },
        ),
        (
            "an extra manifest named like a generated file",
            "eks",
            |d| {
                fs::rename(
                    d.join("overrides/limits.yaml"),
                    d.join("overrides/web.yaml"),
                )
                .expect("mv");
                edit(
                    d,
                    "fredgen.yaml",
                    "manifest: overrides/limits.yaml",
                    "manifest: overrides/web.yaml",
                );
            },
        ),
        (
            "a missing file, an unknown target and two actions in one entry",
            "eks",
            |d| {
                edit(
                    d,
                    "fredgen.yaml",
                    "manifest: overrides/limits.yaml",
                    "manifest: overrides/limit.yaml",
                );
                edit(
                    d,
                    "fredgen.yaml",
                    "targets: [hetzner]",
                    "targets: [hetzner, hetznr]",
                );
                edit(
                    d,
                    "fredgen.yaml",
                    "  - values: overrides/kube-prometheus-stack.yaml",
                    "  - values: overrides/kube-prometheus-stack.yaml\n    terraform: overrides/addons-outputs.tf",
                );
            },
        ),
        ("a path out of the spec's folder", "eks", |d| {
            edit(
                d,
                "fredgen.yaml",
                "manifest: overrides/limits.yaml",
                "manifest: ../limits.yaml",
            )
        }),
        ("a symbolic link out of the spec's folder", "eks", |d| {
            fs::remove_file(d.join("overrides/limits.yaml")).expect("rm");
            std::os::unix::fs::symlink("/etc/hostname", d.join("overrides/limits.yaml"))
                .expect("symlink");
        }),
        (
            "a literal credential patched into a container's env",
            "eks",
            |d| {
                fs::write(
                d.join("overrides/web-shutdown.yaml"),
                "spec:\n  template:\n    spec:\n      containers:\n        - name: web\n          env:\n            - name: DB_PASSWORD\n              value: hunter2-very-secret\n",
            )
            .expect("write");
            },
        ),
        (
            "a Secret in an extra manifest, and a kind no command line may hold",
            "eks",
            |d| {
                fs::write(
                d.join("overrides/limits.yaml"),
                "apiVersion: v1\nkind: Secret\nmetadata: { name: s, namespace: shop }\nstringData: { a: b }\n",
            )
            .expect("write");
                fs::write(
                d.join("overrides/kube-prometheus-stack.yaml"),
                "apiVersion: v1\nkind: \"Foo$(touch x)\"\nmetadata: { name: y, namespace: shop }\n",
            )
            .expect("write");
                edit(
                    d,
                    "fredgen.yaml",
                    "  - values: overrides/kube-prometheus-stack.yaml  # merged into the chart's generated values\n    chart: kube-prometheus-stack",
                    "  - manifest: overrides/kube-prometheus-stack.yaml",
                );
            },
        ),
        ("a patch that removes the only container", "eks", |d| {
            fs::write(
                d.join("overrides/web-shutdown.yaml"),
                "spec:\n  template:\n    spec:\n      containers:\n        - name: web\n          $patch: delete\n",
            )
            .expect("write");
        }),
        (
            "a Terraform file declaring again what the root has, and a backend override",
            "hetzner",
            |d| {
                fs::write(
                d.join("overrides/addons-outputs.tf"),
                "resource \"helm_release\" \"velero\" {\n  name  = \"velero\"\n  chart = \"velero\"\n}\n",
            )
            .expect("write");
                fs::write(
                    d.join("overrides/sizing_override.tf"),
                    "terraform {\n  backend \"local\" {}\n}\n",
                )
                .expect("write");
            },
        ),
        (
            "a file fredgen generated, and an empty target list",
            "hetzner",
            |d| {
                let generated = "# Generated by fredgen from fredgen.yaml (target eks, environment default). Do not edit: change the spec and run `fredgen render`.\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: c, namespace: shop }\n";
                fs::write(d.join("overrides/limits.yaml"), generated).expect("write");
                edit(d, "fredgen.yaml", "targets: [hetzner]", "targets: []");
            },
        ),
    ];
    let mut report = String::new();
    for (what, target, setup) in cases {
        let dir = shop_copy();
        setup(dir.path());
        report.push_str(&format!(
            "### {what} ({target})\n{}\n",
            refused(dir.path(), target)
        ));
    }
    insta::assert_snapshot!("override_errors", report);
}

#[test]
fn a_template_folder_replaces_built_in_templates_by_id() {
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::copy(example_spec("minimal"), tmp.path().join("fredgen.yaml")).expect("copy");
    let builtin = fs::read_to_string(root().join("templates/shared/k8s/namespace.yaml.j2"))
        .expect("built-in template");
    let replaced = builtin.replacen(
        "  labels:\n",
        "  labels:\n    acme.example/team: platform\n",
        1,
    );
    assert_ne!(
        builtin, replaced,
        "the built-in namespace template has labels"
    );
    let mine = tmp.path().join("mine/shared/k8s");
    fs::create_dir_all(&mine).expect("mkdir");
    fs::write(mine.join("namespace.yaml.j2"), &replaced).expect("write");

    // `templates list` and `show` print the ids and texts to start from.
    let list = fredgen(tmp.path(), &["templates", "list"]);
    let ids = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(ids.lines().any(|l| l == "shared/k8s/namespace.yaml.j2"));
    assert!(
        ids.lines()
            .any(|l| l == "eks/terraform/20-cluster/main.tf.j2")
    );
    let show = fredgen(
        tmp.path(),
        &["templates", "show", "shared/k8s/namespace.yaml.j2"],
    );
    assert_eq!(String::from_utf8_lossy(&show.stdout), builtin);

    for how in [&["--templates", "mine"][..], &[]] {
        if how.is_empty() {
            let spec = fs::read_to_string(tmp.path().join("fredgen.yaml")).expect("read");
            fs::write(
                tmp.path().join("fredgen.yaml"),
                format!("{spec}templates: mine\n"),
            )
            .expect("write");
        }
        let out_dir = format!("out{}", how.len());
        let render = fredgen(
            tmp.path(),
            &[&["render", "--target", "gke", "-o", &out_dir][..], how].concat(),
        );
        assert_eq!(
            render.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&render.stderr)
        );
        let ns = fs::read_to_string(tmp.path().join(&out_dir).join("k8s/namespace.yaml"))
            .expect("namespace");
        assert!(ns.contains("acme.example/team: platform"), "{ns}");
        let readme =
            fs::read_to_string(tmp.path().join(&out_dir).join("README.md")).expect("README");
        assert!(
            readme.contains(
                "| `shared/k8s/namespace.yaml.j2` | `mine/shared/k8s/namespace.yaml.j2` |"
            )
        );
    }
}

#[test]
fn a_template_id_that_is_no_built_in_is_refused_with_the_nearest_ids() {
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::copy(example_spec("minimal"), tmp.path().join("fredgen.yaml")).expect("copy");
    let mine = tmp.path().join("mine/shared/k8s");
    fs::create_dir_all(&mine).expect("mkdir");
    fs::write(mine.join("namespaces.yaml.j2"), "kind: Namespace\n").expect("write");
    let render = fredgen(
        tmp.path(),
        &[
            "render",
            "--target",
            "eks",
            "--templates",
            "mine",
            "-o",
            "out",
        ],
    );
    assert_eq!(render.status.code(), Some(2));
    assert!(!tmp.path().join("out").exists());
    let show = fredgen(
        tmp.path(),
        &["templates", "show", "shared/k8s/namespaces.yaml.j2"],
    );
    assert_eq!(show.status.code(), Some(2));
    insta::assert_snapshot!(
        "template_id_errors",
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&render.stderr),
            String::from_utf8_lossy(&show.stderr)
        )
    );
}

#[test]
fn validate_finds_an_override_file_that_cannot_be_read() {
    let dir = shop_copy();
    assert_eq!(fredgen(dir.path(), &["validate"]).status.code(), Some(0));
    edit(
        dir.path(),
        "fredgen.yaml",
        "manifest: overrides/limits.yaml",
        "manifest: overrides/limitz.yaml",
    );
    let out = fredgen(dir.path(), &["validate"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error at `overrides[2].manifest`: cannot read `overrides/limitz.yaml`")
            && stderr.contains("--> fredgen.yaml:70:15")
            && stderr.contains("\n1 problem in the stack spec\n"),
        "{stderr}"
    );
}

/// `templates list` prints every `.j2` file of `templates/` by its path, and every one of a
/// shipped folder target's `templates/` below the target's id (its folder's name), sorted: the
/// embedded table `build.rs` writes misses none and adds none.
#[test]
fn templates_list_prints_every_template_of_the_repository_by_id() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let j2_below = |dir: &Path| -> Vec<String> {
        walkdir::WalkDir::new(dir)
            .into_iter()
            .map(|e| e.expect("a readable folder"))
            .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "j2"))
            .map(|e| {
                let rel = e.path().strip_prefix(dir).expect("below dir");
                let parts: Vec<_> = rel.iter().map(|c| c.to_string_lossy()).collect();
                parts.join("/")
            })
            .collect()
    };
    let mut ids = j2_below(&root().join("templates"));
    for target in fs::read_dir(root().join("targets")).expect("targets/") {
        let target = target.expect("an entry").path();
        if target.is_dir() {
            let name = target
                .file_name()
                .expect("a name")
                .to_string_lossy()
                .into_owned();
            ids.extend(
                j2_below(&target.join("templates"))
                    .into_iter()
                    .map(|rel| format!("{name}/{rel}")),
            );
        }
    }
    ids.sort();
    assert!(ids.len() > 100, "{} templates", ids.len());
    let out = fredgen(tmp.path(), &["templates", "list"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), ids.join("\n") + "\n");
}

//! Tests — delivery: `render --all` / `check --all` over every case of a spec, and the GitHub
//! workflows of `delivery.github` (where they go, what they run, how they hold secrets).

use std::path::Path;

use crate::support::{fredgen, root};

/// A repository holding the fred example at `examples/fred` (its `delivery.folder`).
fn repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec_dir = dir.path().join("examples/fred");
    std::fs::create_dir_all(&spec_dir).expect("mkdir");
    std::fs::copy(
        root().join("examples/fred/fredgen.yaml"),
        spec_dir.join("fredgen.yaml"),
    )
    .expect("copy");
    dir
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The rendered workflows, by file name.
fn workflows(repo: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(repo.join(".github/workflows"))
        .expect("workflows written")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .map(|p| {
            (
                p.file_name().expect("name").to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).expect("read"),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn render_all_then_check_all_passes_on_a_fresh_directory() {
    let repo = repository();
    let spec = "examples/fred/fredgen.yaml";
    let out = fredgen(repo.path(), &["render", "--all", "-f", spec]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Every declared target × environment, and the workflows at the repository's root.
    for case in [
        "eks/prod",
        "eks/staging",
        "gke/prod",
        "gke/staging",
        "hetzner/prod",
    ] {
        assert!(
            repo.path()
                .join("examples/fred/deploy")
                .join(case)
                .join("apply.sh")
                .is_file(),
            "{case}: {}",
            text(&out)
        );
    }
    let names: Vec<String> = workflows(repo.path()).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "fredgen-fred-eks.yml",
            "fredgen-fred-gke.yml",
            "fredgen-fred-hetzner.yml",
            "fredgen-fred.yml"
        ]
    );
    let check = fredgen(repo.path(), &["check", "--all", "-f", spec]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    assert_eq!(
        String::from_utf8_lossy(&check.stdout),
        "every case below examples/fred/deploy is up to date\n"
    );

    // A workflow edited by hand is drift, named by its path; a case's file too.
    let eks = repo.path().join(".github/workflows/fredgen-fred-eks.yml");
    let edited = std::fs::read_to_string(&eks)
        .expect("read")
        .replace("timeout-minutes: 180", "timeout-minutes: 5");
    std::fs::write(&eks, edited).expect("write");
    std::fs::remove_file(
        repo.path()
            .join("examples/fred/deploy/gke/prod/k8s/web.yaml"),
    )
    .expect("rm");
    let check = fredgen(repo.path(), &["check", "--all", "-f", spec]);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    assert_eq!(
        String::from_utf8_lossy(&check.stdout),
        "modified .github/workflows/fredgen-fred-eks.yml\nmissing  examples/fred/deploy/gke/prod/k8s/web.yaml\n"
    );
    let json = fredgen(
        repo.path(),
        &["check", "--all", "-f", spec, "--format", "json"],
    );
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(report["exit_code"], 1);
    assert_eq!(report["target"], serde_json::Value::Null);
    assert_eq!(report["output"], "examples/fred/deploy");
    assert_eq!(report["changes"].as_array().map(Vec::len), Some(2));
    // render --all restores both.
    let out = fredgen(repo.path(), &["render", "--all", "-f", spec]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let check = fredgen(repo.path(), &["check", "--all", "-f", spec]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
}

#[test]
fn a_workflow_fredgen_did_not_write_is_never_overwritten() {
    let repo = repository();
    let dir = repo.path().join(".github/workflows");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let mine = "name: mine\non: push\njobs: {}\n";
    std::fs::write(dir.join("fredgen-fred.yml"), mine).expect("write");
    let out = fredgen(
        repo.path(),
        &["render", "--all", "-f", "examples/fred/fredgen.yaml"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("fredgen-fred.yml"), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(dir.join("fredgen-fred.yml")).expect("read"),
        mine
    );
    // Nothing of the spec's was written either: every output is rendered and checked first.
    assert!(
        !repo
            .path()
            .join(".github/workflows/fredgen-fred-eks.yml")
            .exists()
    );
}

#[test]
fn all_takes_no_target_and_the_workflows_need_the_default_output() {
    let repo = repository();
    let spec = "examples/fred/fredgen.yaml";
    let out = fredgen(
        repo.path(),
        &["render", "--all", "--target", "eks", "-f", spec],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = fredgen(repo.path(), &["render", "-f", spec]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--target"), "{}", text(&out));
    let out = fredgen(
        repo.path(),
        &["render", "--all", "-o", "elsewhere", "-f", spec],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("--out with `delivery`"),
        "{}",
        text(&out)
    );
    assert!(!repo.path().join("elsewhere").exists());
    // A spec in a folder delivery.folder does not name.
    let moved = repo.path().join("infra");
    std::fs::create_dir_all(&moved).expect("mkdir");
    std::fs::copy(repo.path().join(spec), moved.join("fredgen.yaml")).expect("copy");
    let out = fredgen(
        repo.path(),
        &["render", "--all", "-f", "infra/fredgen.yaml"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("delivery.folder"), "{}", text(&out));
}

#[test]
fn the_workflows_pin_every_action_and_keep_event_data_out_of_scripts() {
    let repo = repository();
    let out = fredgen(
        repo.path(),
        &["render", "--all", "-f", "examples/fred/fredgen.yaml"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let files = workflows(repo.path());
    let combined: String = files
        .iter()
        .map(|(name, text)| format!("=== {name} ===\n{text}\n"))
        .collect();
    insta::assert_snapshot!("fred-workflows", crate::support::versionless(&combined));
    for (name, text) in &files {
        let doc: serde_json::Value = serde_saphyr::from_str(text).expect("YAML");
        // Nothing by default: each job names what it needs.
        assert_eq!(doc["permissions"], serde_json::json!({}), "{name}");
        let jobs = doc["jobs"].as_object().expect("jobs");
        for (id, job) in jobs {
            let perms = job["permissions"].as_object().expect("job permissions");
            for (scope, level) in perms {
                assert!(
                    matches!(
                        (scope.as_str(), level.as_str()),
                        ("contents", Some("read")) | ("id-token", Some("write"))
                    ),
                    "{name} {id}: {scope}: {level}"
                );
            }
            for step in job["steps"].as_array().expect("steps") {
                if let Some(uses) = step["uses"].as_str() {
                    let (_, sha) = uses.split_once('@').expect("a ref");
                    assert!(
                        sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
                        "{name} {id}: {uses} is not pinned by a commit"
                    );
                }
                // A script reads expressions only through its environment.
                if let Some(run) = step["run"].as_str() {
                    assert!(!run.contains("${{"), "{name} {id}: {run}");
                }
                if let Some(with) = step["with"].as_object() {
                    for v in with.values().filter_map(|v| v.as_str()) {
                        assert!(
                            !v.contains("github.event") && !v.contains("github.head_ref"),
                            "{name} {id}: {v}"
                        );
                    }
                }
            }
            // A job that gets the credentials that change things runs in its GitHub
            // environment: on a merge, or (a preview's) when run by hand.
            if let Some(env) = id.strip_prefix("apply-") {
                assert_eq!(job["environment"].as_str(), Some(env), "{name} {id}");
                // Only from the default branch: a branch that edits the workflow cannot deploy.
                assert_eq!(
                    job["if"], "github.event_name == 'push' && github.ref == 'refs/heads/main'",
                    "{name} {id}"
                );
            }
            for action in ["create", "remove"] {
                if let Some(env) = id.strip_prefix(&format!("{action}-")) {
                    assert_eq!(job["environment"].as_str(), Some(env), "{name} {id}");
                    assert_eq!(
                        job["if"].as_str().unwrap_or_default(),
                        format!(
                            "github.event_name == 'workflow_dispatch' && github.ref == 'refs/heads/main' && inputs.preview == '{env}' && inputs.action == '{action}'"
                        ),
                        "{name} {id}"
                    );
                }
            }
            if id.starts_with("plan-") {
                assert!(
                    job["if"]
                        .as_str()
                        .is_some_and(|c| c.starts_with("github.event_name != 'push'")),
                    "{name} {id}"
                );
            }
        }
    }
    // prod is applied after staging, on every target; the preview pr-142 in staging's cluster
    // is created and removed by hand, with staging's credentials, and has nothing to plan.
    for (name, text) in files.iter().filter(|(n, _)| n != "fredgen-fred.yml") {
        let doc: serde_json::Value = serde_saphyr::from_str(text).expect("YAML");
        let jobs = &doc["jobs"];
        assert_eq!(jobs["apply-prod"]["needs"], "apply-staging", "{name}");
        assert!(jobs["apply-staging"].get("needs").is_none(), "{name}");
        assert!(jobs.get("plan-pr-142").is_none(), "{name}");
        assert!(jobs.get("apply-pr-142").is_none(), "{name}");
        assert_eq!(
            doc["on"]["workflow_dispatch"]["inputs"]["preview"]["options"],
            serde_json::json!(["pr-142"]),
            "{name}"
        );
        let create = serde_json::to_string(&jobs["create-pr-142"]).expect("json");
        let remove = serde_json::to_string(&jobs["remove-pr-142"]).expect("json");
        assert!(create.contains("/pr-142/apply.sh cluster app"), "{create}");
        assert!(remove.contains("/pr-142/remove.sh"), "{remove}");
        for job in [&create, &remove] {
            assert!(job.contains("FREDGEN_STAGING_"), "{name}: {job}");
            assert!(!job.contains("FREDGEN_PR_142"), "{name}: {job}");
        }
    }
}

/// The fred example's spec with `from` replaced by `to` (asserting it is there), in a fresh
/// repository; returns the repository and what `render --all` printed and exited with.
fn render_edited(from: &str, to: &str) -> (tempfile::TempDir, std::process::Output) {
    let repo = repository();
    let spec = repo.path().join("examples/fred/fredgen.yaml");
    let text = std::fs::read_to_string(&spec).expect("read");
    assert!(text.contains(from), "the example has {from:?}");
    std::fs::write(&spec, text.replacen(from, to, 1)).expect("write");
    let out = fredgen(
        repo.path(),
        &["render", "--all", "-f", "examples/fred/fredgen.yaml"],
    );
    (repo, out)
}

#[test]
fn delivery_settings_that_cannot_work_are_refused_before_anything_is_written() {
    for (from, to, expected) in [
        // Hosted runners cannot reach a private EKS API or Hetzner nodes behind admin CIDRs.
        (
            "    runs_on: [self-hosted, fred-deploy]\n",
            "",
            "target `eks` needs runners of your own",
        ),
        // A preview is created by hand; a guest is promoted after its host.
        (
            "promote: [staging, prod]",
            "promote: [staging, pr-142, prod]",
            "`pr-142` is a preview",
        ),
        ("folder: examples/fred", "folder: -x", "delivery.folder"),
    ] {
        let (repo, out) = render_edited(from, to);
        assert_eq!(out.status.code(), Some(2), "{to}: {}", text(&out));
        assert!(text(&out).contains(expected), "{to}: {}", text(&out));
        assert!(
            !repo.path().join("examples/fred/deploy").exists()
                && !repo.path().join(".github").exists(),
            "{to}: something was written"
        );
    }
}

#[test]
fn one_repository_holds_one_specs_workflows() {
    let repo = repository();
    let spec = "examples/fred/fredgen.yaml";
    let out = fredgen(repo.path(), &["render", "--all", "-f", spec]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Another stack in the same repository, with workflows of its own.
    let other = repo.path().join("examples/other");
    std::fs::create_dir_all(&other).expect("mkdir");
    let text_of = std::fs::read_to_string(repo.path().join(spec)).expect("read");
    let renamed = text_of
        .replacen("name: fred\n", "name: other\n", 1)
        .replacen("folder: examples/fred", "folder: examples/other", 1);
    std::fs::write(other.join("fredgen.yaml"), renamed).expect("write");
    let out = fredgen(
        repo.path(),
        &["render", "--all", "-f", "examples/other/fredgen.yaml"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("fredgen-fred.yml"),
        "names the other stack's workflows: {}",
        text(&out)
    );
    // fred's workflows are untouched and still match.
    let check = fredgen(repo.path(), &["check", "--all", "-f", spec]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
}

#[test]
fn all_needs_the_spec_as_a_file() {
    let repo = repository();
    let spec = std::fs::read(repo.path().join("examples/fred/fredgen.yaml")).expect("read");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fredgen"))
        .current_dir(repo.path())
        .args(["check", "--all", "-f", "/dev/stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        let _ = stdin.write_all(&spec);
    }
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("not a file"), "{}", text(&out));
}

/// [`repository`] after `render --all`.
fn rendered() -> tempfile::TempDir {
    let repo = repository();
    let out = fredgen(
        repo.path(),
        &["render", "--all", "-f", "examples/fred/fredgen.yaml"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    repo
}

/// A rendered file of the fred example's repository, from the spec's folder.
fn read(repo: &Path, path: &str) -> String {
    std::fs::read_to_string(repo.join("examples/fred").join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The words after each `marker` in `text`, up to the first character not in `[A-Za-z0-9_]`.
fn names_after(text: &str, marker: &str) -> std::collections::BTreeSet<String> {
    text.match_indices(marker)
        .map(|(i, _)| {
            text[i + marker.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

/// The JSON list that follows `key` in `text` (a Terraform list of strings on one line).
fn list_after(text: &str, key: &str) -> Vec<String> {
    let at = text.find(key).unwrap_or_else(|| panic!("no {key}"));
    let rest = &text[at + key.len()..];
    let open = rest.find('[').expect("a list");
    let close = rest[open..].find(']').expect("its end") + open;
    serde_json::from_str(&rest[open..=close]).expect("a JSON list")
}

#[test]
fn the_cloud_federation_trusts_exactly_the_jobs_that_use_it() {
    let repo = rendered();
    let plan = [
        "repo:acme/fred-infra:pull_request",
        "repo:acme/fred-infra:ref:refs/heads/main",
    ];
    // staging hosts the preview pr-142, whose jobs use staging's apply credentials.
    for (env, apply) in [
        ("staging", &["staging", "pr-142"][..]),
        ("prod", &["prod"][..]),
    ] {
        let apply: Vec<String> = apply
            .iter()
            .map(|e| format!("repo:acme/fred-infra:environment:{e}"))
            .collect();
        let eks = read(
            repo.path(),
            &format!("deploy/eks/{env}/terraform/00-bootstrap/github.tf"),
        );
        let plan_trust = &eks[eks.find("\"github_plan_trust\"").expect("plan trust")..];
        let apply_trust = &eks[eks.find("\"github_apply_trust\"").expect("apply trust")..];
        assert_eq!(list_after(plan_trust, ":sub\""), plan, "eks {env}");
        assert_eq!(list_after(apply_trust, ":sub\""), apply, "eks {env}");
        assert_eq!(eks.matches(":sub\"").count(), 2, "eks {env}");
        let gke = read(
            repo.path(),
            &format!("deploy/gke/{env}/terraform/00-bootstrap/github.tf"),
        );
        assert_eq!(list_after(&gke, "plan  ="), plan, "gke {env}");
        assert_eq!(list_after(&gke, "apply ="), apply, "gke {env}");
        // The provider itself accepts only those subjects, of this repository.
        let condition = gke
            .lines()
            .find_map(|l| l.trim().strip_prefix("attribute_condition = "))
            .expect("a condition");
        let accepted: Vec<String> = plan
            .iter()
            .map(|s| s.to_string())
            .chain(apply.iter().cloned())
            .map(|s| format!("assertion.sub == '{s}'"))
            .collect();
        assert_eq!(
            condition,
            format!(
                "\"assertion.repository == 'acme/fred-infra' && ({})\"",
                accepted.join(" || ")
            )
        );
        // With the workflows, the cluster's admins are named: no creator entry, which would
        // move to whoever applies (the CI role) and collide with its own entry.
        let cluster = read(
            repo.path(),
            &format!("deploy/eks/{env}/terraform/20-cluster/main.tf"),
        );
        assert!(
            cluster.contains("enable_cluster_creator_admin_permissions = false"),
            "eks {env}"
        );
        for (entry, policy) in [
            ("github_apply", "AmazonEKSClusterAdminPolicy"),
            ("github_plan", "AmazonEKSAdminViewPolicy"),
        ] {
            let at = cluster
                .find(&format!("{entry} = {{"))
                .unwrap_or_else(|| panic!("eks {env}: no access entry {entry}"));
            assert!(cluster[at..].contains(policy), "eks {env} {entry}");
        }
    }
    // A guest renders no Terraform: its host's federation serves it.
    for target in ["eks", "gke", "hetzner"] {
        assert!(
            !repo
                .path()
                .join(format!("examples/fred/deploy/{target}/pr-142/terraform"))
                .exists(),
            "{target}"
        );
    }
}

#[test]
fn without_workflows_there_is_no_federation_and_the_creator_administers_eks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = std::fs::read_to_string(root().join("examples/fred/fredgen.yaml")).expect("read");
    let start = spec.find("\n  github:\n").expect("delivery.github") + 1;
    let end = start + spec[start..].find("\nenvironments:").expect("environments");
    let spec = format!("{}{}", &spec[..start], &spec[end + 1..]);
    assert!(!spec.contains("fredgen: acme/fredgen@"), "{spec}");
    std::fs::write(dir.path().join("fredgen.yaml"), spec).expect("write");
    for target in ["eks", "gke"] {
        let out = fredgen(
            dir.path(),
            &["render", "--target", target, "--env", "staging"],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let bootstrap = dir
            .path()
            .join(format!("deploy/{target}/staging/terraform/00-bootstrap"));
        assert!(bootstrap.join("main.tf").is_file(), "{target}");
        assert!(!bootstrap.join("github.tf").exists(), "{target}");
        let readme = std::fs::read_to_string(
            dir.path()
                .join(format!("deploy/{target}/staging/README.md")),
        )
        .expect("README");
        assert!(!readme.contains("CI/CD (GitHub Actions)"), "{target}");
    }
    let cluster = std::fs::read_to_string(
        dir.path()
            .join("deploy/eks/staging/terraform/20-cluster/main.tf"),
    )
    .expect("main.tf");
    assert!(cluster.contains("enable_cluster_creator_admin_permissions = true"));
    assert!(!cluster.contains("access_entries"));
    assert!(
        !std::fs::read_to_string(
            dir.path()
                .join("deploy/eks/staging/terraform/00-bootstrap/variables.tf")
        )
        .is_ok_and(|t| t.contains("github"))
    );
}

#[test]
fn every_repository_variable_and_secret_a_workflow_reads_is_set_by_a_readme_command() {
    let repo = rendered();
    let files = workflows(repo.path());
    for target in ["eks", "gke", "hetzner"] {
        let workflow = &files
            .iter()
            .find(|(n, _)| *n == format!("fredgen-fred-{target}.yml"))
            .expect("the target's workflow")
            .1;
        let mut readmes = String::new();
        for env in ["staging", "prod", "pr-142"] {
            readmes += &read(repo.path(), &format!("deploy/{target}/{env}/README.md"));
        }
        // The READMEs name the workflow by the file that exists.
        assert!(
            readmes.contains(&format!("`.github/workflows/fredgen-fred-{target}.yml`")),
            "{target}"
        );
        for kind in ["variable", "secret"] {
            let read_by_workflow = names_after(
                workflow,
                if kind == "variable" {
                    "vars."
                } else {
                    "secrets."
                },
            );
            let set_by_readme = names_after(&readmes, &format!("gh {kind} set "));
            assert_eq!(read_by_workflow, set_by_readme, "{target} {kind}s");
            if target != "hetzner" && kind == "secret" {
                // OIDC on AWS and GCP: no cloud credential is a secret; the only secrets are the
                // store secrets' values the apply job may store.
                for name in &read_by_workflow {
                    assert!(
                        [
                            "DJANGO_SECRET_KEY",
                            "GRAFANA_ADMIN_PASSWORD",
                            "SLACK_WEBHOOK_URL"
                        ]
                        .iter()
                        .any(|s| name.ends_with(&format!("_{s}"))),
                        "{target}: {name}"
                    );
                }
            }
        }
    }
}

#[test]
fn an_immutable_subject_and_plan_runners_of_their_own_reach_the_trust_and_the_jobs() {
    let (repo, out) = render_edited(
        "    runs_on: [self-hosted, fred-deploy]\n",
        "    runs_on: [self-hosted, fred-deploy]\n    subject: acme@1234/fred-infra@5678\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let trust = read(
        repo.path(),
        "deploy/eks/prod/terraform/00-bootstrap/github.tf",
    );
    assert!(
        trust.contains("repo:acme@1234/fred-infra@5678:environment:prod")
            && trust.contains("repo:acme@1234/fred-infra@5678:pull_request")
            && !trust.contains("repo:acme/fred-infra:"),
        "{trust}"
    );
    let gcp = read(
        repo.path(),
        "deploy/gke/prod/terraform/00-bootstrap/github.tf",
    );
    assert!(
        gcp.contains("repo:acme@1234/fred-infra@5678:ref:refs/heads/main"),
        "{gcp}"
    );
    let eks = std::fs::read_to_string(repo.path().join(".github/workflows/fredgen-fred-eks.yml"))
        .expect("workflow");
    let doc: serde_json::Value = serde_saphyr::from_str(&eks).expect("YAML");
    assert_eq!(
        doc["jobs"]["plan-prod"]["runs-on"],
        serde_json::json!(["self-hosted", "fred-plan"])
    );
    assert_eq!(
        doc["jobs"]["apply-prod"]["runs-on"],
        serde_json::json!(["self-hosted", "fred-deploy"])
    );
    // A subject naming another repository is refused at its line.
    let (_, out) = render_edited(
        "    runs_on: [self-hosted, fred-deploy]\n",
        "    runs_on: [self-hosted, fred-deploy]\n    subject: evil@1/fred-infra@2\n",
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("delivery.github.subject"),
        "{}",
        text(&out)
    );
}

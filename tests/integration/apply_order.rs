//! Tests — the apply model: every case comes up in its plan's order, and breaking one reference of
//! each kind (a Secret, a CRD, a store condition, a prerequisite, a data source) is reported.

use fredgen::render::Output;
use fredgen::render::apply_model::check;

use crate::support::{Case, cases, edited, render, reported};

#[test]
fn every_case_comes_up_in_its_plan_order() {
    let mut failures = Vec::new();
    for case in cases() {
        let out = render(&case);
        // A guest environment (in another's cluster) checks the cluster, migrates, applies.
        let guest = out.plan.steps[0].id == "cluster"
            && !out.files.keys().any(|p| p.starts_with("terraform/"));
        assert!(
            out.plan.steps.len() >= if guest { 3 } else { 4 },
            "{}: a plan of {} steps",
            case.name(),
            out.plan.steps.len()
        );
        let problems = check(&out);
        if !problems.is_empty() {
            failures.push(format!("{}:\n  {}", case.name(), problems.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn case(example: &str, target: &'static str, env: Option<&str>) -> Output {
    render(&Case {
        example: example.into(),
        target,
        env: env.map(str::to_string),
    })
}

/// `out` with step `id` moved to position `to` of its plan (`usize::MAX`: the end).
fn moved(out: &Output, id: &str, to: usize) -> Output {
    let mut out = out.clone();
    let steps = &mut out.plan.steps;
    let i = steps
        .iter()
        .position(|s| s.id == id)
        .unwrap_or_else(|| panic!("a step `{id}`"));
    let s = steps.remove(i);
    steps.insert(to.min(steps.len()), s);
    out
}

/// The problems reported once `from` is replaced by `to` in `path`.
fn broken(out: &Output, path: &str, from: &str, to: &str) -> Vec<String> {
    check(&edited(out, path, from, to))
}

#[test]
fn a_secret_a_release_waits_for_must_exist_before_its_root() {
    let out = case("fred", "eks", Some("prod"));
    // Grafana's admin Secret, synced by k8s/platform before 40-addons: moved after it, it is late.
    reported(
        &check(&moved(&out, "platform-secrets", usize::MAX)),
        "helm_release.kube_prometheus_stack needs Secret monitoring/grafana-admin",
    );
    // A values key naming a Secret nothing creates.
    reported(
        &broken(
            &out,
            "terraform/40-addons/values/kube-prometheus-stack.yaml",
            "existingSecret: grafana-admin",
            "existingSecret: grafana-admins",
        ),
        "grafana-admins (values `existingSecret`), which no step creates",
    );
}

#[test]
fn a_pod_secret_nothing_creates_is_reported() {
    let out = case("fred", "gke", Some("prod"));
    reported(
        &broken(
            &out,
            "k8s/web.yaml",
            "name: fred-app-secrets",
            "name: fred-app-secret",
        ),
        "needs Secret fred/fred-app-secret (read by its pods)",
    );
}

#[test]
fn a_monitor_before_its_crd_is_reported() {
    let out = case("fred", "hetzner", Some("prod"));
    // KEDA's ServiceMonitors need the Prometheus Operator's CRDs: without the dependency the two
    // releases install in parallel.
    reported(
        &broken(
            &out,
            "terraform/30-platform/main.tf",
            "depends_on = [helm_release.prometheus_operator_crds]",
            "depends_on = []",
        ),
        "does not depend on (they install in parallel)",
    );
    // A custom resource whose CRD no step installs.
    reported(
        &broken(
            &out,
            "k8s/rabbitmq.yaml",
            "apiVersion: rabbitmq.com/v1beta1",
            "apiVersion: rabbitmq.example/v1beta1",
        ),
        "needs the CRD of rabbitmq.example/RabbitmqCluster",
    );
}

#[test]
fn an_external_secret_its_store_does_not_admit_is_reported() {
    let out = case("acme", "eks", None);
    reported(
        &broken(
            &out,
            "k8s/platform/secret-store.yaml",
            "        - monitoring\n",
            "",
        ),
        "is in namespace `monitoring`, which the `conditions` of ClusterSecretStore `acme` do not admit",
    );
}

#[test]
fn an_operator_before_its_prerequisite_is_reported() {
    // The RabbitMQ operator needs cert-manager: run it first and it is reported.
    let out = moved(&case("fred", "eks", Some("prod")), "rabbitmq-operator", 0);
    reported(
        &check(&out),
        "step `rabbitmq-operator` needs cert-manager running (declared by the step), created only later",
    );
}

#[test]
fn a_data_source_reading_a_later_root_is_reported() {
    // 30-platform looks the EKS cluster up by name: applied before 20-cluster, it reads nothing.
    let out = moved(&case("fred", "eks", Some("prod")), "platform", 2);
    reported(
        &check(&out),
        "terraform/30-platform: data.aws_eks_cluster.this reads what only the later root terraform/20-cluster creates",
    );
}

#[test]
fn a_file_no_step_applies_is_reported() {
    let mut out = case("minimal", "gke", None);
    out.plan.steps.retain(|s| s.id != "addons");
    reported(
        &check(&out),
        "terraform/40-addons/main.tf: no step applies it",
    );
}

#[test]
fn a_manifest_terraform_plans_before_its_crd_is_reported() {
    // 30-platform plans Karpenter's NodePool: its CRD must come from an earlier root (25-karpenter).
    let out = moved(&case("fred", "eks", Some("prod")), "karpenter", usize::MAX);
    reported(
        &check(&out),
        "kubernetes_manifest.karpenter_node_pool needs the CRD of karpenter.sh/NodePool (NodePool, read when Terraform plans), created only later, by step `karpenter`",
    );
}

/// Runs an output's `apply.sh` with `args`, every external command replaced by a stub that logs
/// its command line (and answers `kubectl get … jsonpath` with a completed Job, and no database
/// Cluster: a first apply), and returns its
/// exit code and the log.
fn run_apply_script(
    out: &Output,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Option<i32>, Vec<String>) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("bin");
    let log = dir.path().join("log");
    let stub = "#!/bin/sh\nprintf '%s\\n' \"$(basename \"$0\") $*\" >>\"$STUB_LOG\"\n\
        case \"$(basename \"$0\") $*\" in\n  kubectl\\ *cluster.postgresql.cnpg.io*jsonpath*) ;;\n  \
        kubectl\\ *jsonpath*) echo \"${STUB_JOB:-Complete}\" ;;\n  \
        terraform\\ *\\ plan\\ *) exit \"${STUB_PLAN:-0}\" ;;\n  \
        git\\ clone*) for d; do :; done; mkdir -p \"$d/packer-template/scripts\"; \
        printf '#!/bin/sh\\n' >\"$d/packer-template/scripts/install-verified-packer-plugin-hcloud.sh\"; \
        chmod +x \"$d/packer-template/scripts/install-verified-packer-plugin-hcloud.sh\" ;;\nesac\n";
    for cmd in ["terraform", "kubectl", "aws", "gcloud", "packer", "git"] {
        let p = bin.join(cmd);
        std::fs::write(&p, stub).expect("stub");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let script = dir.path().join("apply.sh");
    std::fs::write(&script, &out.files["apply.sh"]).expect("apply.sh");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = std::process::Command::new("bash");
    cmd.arg(&script)
        .args(args)
        .env("PATH", path)
        .env("STUB_LOG", &log)
        .env("KUBECONFIG", dir.path().join("kubeconfig"));
    // Every secret value from the environment, as the README says.
    for s in [
        "DJANGO_SECRET_KEY",
        "GRAFANA_ADMIN_PASSWORD",
        "SLACK_WEBHOOK_URL",
    ] {
        cmd.env(s, "value");
    }
    // Unattended, as in CI: every apply is approved by the flag, never by a prompt.
    cmd.env("AUTO_APPROVE", "1");
    cmd.env("OBJECT_STORAGE_ACCESS_KEY_ID", "id")
        .env("OBJECT_STORAGE_SECRET_ACCESS_KEY", "key");
    cmd.envs(env.iter().copied());
    let done = cmd.output().expect("bash runs");
    let log = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    (done.status.code(), log)
}

#[test]
fn apply_sh_applies_the_roots_and_kustomizations_in_plan_order() {
    for (example, target, env) in [
        ("fred", "eks", Some("prod")),
        ("fred", "gke", Some("prod")),
        ("fred", "hetzner", Some("prod")),
    ] {
        let out = case(example, target, env);
        let (code, log) = run_apply_script(&out, &[], &[]);
        assert_eq!(code, Some(0), "{target}: {log:#?}");
        // What the plan applies, in order: Terraform roots and kustomizations.
        let expected: Vec<String> = out
            .plan
            .steps
            .iter()
            .flat_map(|s| &s.applies)
            .filter(|a| a.starts_with("terraform/") || !a.ends_with(".yaml"))
            .filter(|a| *a != "k8s/migrate")
            .cloned()
            .collect();
        let ran: Vec<String> = log
            .iter()
            .filter_map(|l| {
                if let Some(rest) = l.strip_prefix("terraform -chdir=")
                    && rest.contains(" apply ")
                {
                    rest.split(' ').next().map(str::to_string)
                } else {
                    l.strip_prefix("kubectl apply -k ")
                        .and_then(|k| k.split(' ').next())
                        .map(|k| k.trim_end_matches('/').to_string())
                }
            })
            .collect();
        assert_eq!(ran, expected, "{target}: {log:#?}");
        assert!(
            log.iter()
                .any(|l| l.starts_with("kubectl replace --force -f k8s/migrate/")),
            "{target}: the migration Job is never run"
        );
        // The app step prunes what an earlier render applied, by the kustomization's label, and
        // never a kind that holds data.
        let app = log
            .iter()
            .find(|l| l.starts_with("kubectl apply -k k8s/ "))
            .expect("the app step");
        assert!(app.contains("--prune -l fredgen.io/app=fred-prod"), "{app}");
        assert!(
            app.contains("--prune-allowlist=networking.k8s.io/v1/NetworkPolicy"),
            "{app}"
        );
        for kept in ["Namespace", "Secret", "Cluster", "RabbitmqCluster", "Job"] {
            assert!(
                !app.split(' ')
                    .filter_map(|a| a.strip_prefix("--prune-allowlist="))
                    .any(|k| k.rsplit('/').next() == Some(kept)),
                "{target}: prunes {kept}: {app}"
            );
        }
        assert!(
            out.files["k8s/kustomization.yaml"].contains("fredgen.io/app: fred-prod"),
            "{target}: the label the app step prunes by"
        );
        // KEDA copies a ScaledObject's labels to the HPA it creates: without the exclusion, every
        // app step would prune that HPA as one it applied.
        let workers = &out.files["k8s/workers.yaml"];
        let scaled = workers.matches("kind: ScaledObject").count();
        assert!(scaled > 0, "{target}: fred has a KEDA worker");
        assert_eq!(
            workers
                .matches("scaledobject.keda.sh/hpa-excluded-labels: fredgen.io/app\n")
                .count(),
            scaled,
            "{target}"
        );
        // AUTO_APPROVE=1: no apply waits for a prompt.
        let applies: Vec<&String> = log
            .iter()
            .filter(|l| l.starts_with("terraform ") && l.contains(" apply "))
            .collect();
        assert!(
            applies.iter().all(|l| l.ends_with(" -auto-approve")),
            "{target}: {applies:#?}"
        );
    }
}

#[test]
fn apply_sh_runs_a_range_of_steps_and_refuses_unknown_ones() {
    let out = case("fred", "eks", Some("prod"));
    let (code, log) = run_apply_script(&out, &["platform-secrets", "addons"], &[]);
    assert_eq!(code, Some(0), "{log:#?}");
    assert!(
        log[0].starts_with("kubectl apply -k k8s/platform/"),
        "{log:#?}"
    );
    assert!(
        log.iter()
            .any(|l| l.starts_with("terraform -chdir=terraform/40-addons apply ")),
        "{log:#?}"
    );
    // Nothing before the first step, nothing after the last.
    let applies: Vec<&String> = log
        .iter()
        .filter(|l| l.starts_with("terraform ") && l.contains(" apply "))
        .collect();
    assert_eq!(applies.len(), 1, "{log:#?}");
    assert!(
        !log.iter().any(|l| l == "kubectl apply -k k8s/"),
        "{log:#?}"
    );
    // Only AUTO_APPROVE=1 skips the approval prompt.
    let (code, log) = run_apply_script(&out, &["network", "network"], &[("AUTO_APPROVE", "0")]);
    assert_eq!(code, Some(0), "{log:#?}");
    let apply = log
        .iter()
        .find(|l| l.starts_with("terraform -chdir=terraform/10-network apply"))
        .expect("the network root is applied");
    assert!(!apply.contains("-auto-approve"), "{apply}");
    // An unknown step is refused before anything runs.
    let (code, log) = run_apply_script(&out, &["netwrk"], &[]);
    assert_eq!(code, Some(2));
    assert!(log.is_empty(), "{log:#?}");
}

#[test]
fn apply_sh_plans_only_the_terraform_roots_and_reports_changes() {
    for target in ["eks", "gke", "hetzner"] {
        let out = case("fred", target, Some("prod"));
        let first = out.plan.ci_steps()[0].id.clone();
        let plan = [("FREDGEN_PLAN", "1")];
        let (code, log) = run_apply_script(&out, &[&first], &plan);
        assert_eq!(code, Some(0), "{target}: no changes: {log:#?}");
        // Every Terraform root CI reaches is planned, in order; nothing is applied, no secret
        // stored, no manifest applied.
        let expected: Vec<&str> = out
            .plan
            .ci_steps()
            .iter()
            .filter(|s| s.is_terraform())
            .flat_map(|s| &s.applies)
            .map(String::as_str)
            .collect();
        let planned: Vec<&str> = log
            .iter()
            .filter(|l| l.contains(" plan -input=false -lock=false -detailed-exitcode"))
            .filter_map(|l| l.strip_prefix("terraform -chdir=")?.split(' ').next())
            .collect();
        assert_eq!(planned, expected, "{target}: {log:#?}");
        for l in &log {
            assert!(
                !l.contains(" apply") && !l.contains("put-secret") && !l.contains("versions add"),
                "{target}: plan mode changed something: {l}"
            );
        }
        // A plan with changes: exit 3, and the roots after it (which read what it creates) are
        // not planned.
        let (code, log) = run_apply_script(&out, &[&first], &[plan[0], ("STUB_PLAN", "2")]);
        assert_eq!(code, Some(3), "{target}: {log:#?}");
        let plans = log.iter().filter(|l| l.contains(" plan -input=false"));
        assert_eq!(plans.count(), 1, "{target}: {log:#?}");
        // A failing plan stops the script with its error.
        let (code, _) = run_apply_script(&out, &[&first], &[plan[0], ("STUB_PLAN", "1")]);
        assert_eq!(code, Some(1), "{target}");
    }
}

#[test]
fn apply_sh_stops_when_the_migration_fails() {
    let out = case("fred", "gke", Some("prod"));
    let (code, log) = run_apply_script(&out, &["migrate"], &[("STUB_JOB", "Failed")]);
    assert_ne!(code, Some(0), "{log:#?}");
    assert!(
        log.iter()
            .any(|l| l.starts_with("kubectl -n fred logs job/fred-migrate-")),
        "{log:#?}"
    );
    // The app is not rolled out over a failed migration.
    assert!(
        !log.iter().any(|l| l == "kubectl apply -k k8s/"),
        "{log:#?}"
    );
}

/// A stack that no longer has a KEDA worker (or any object of an add-on kind) still prunes the
/// ScaledObjects an earlier render applied: the add-ons every target installs are always in the
/// prune allowlist, whatever the spec uses now.
#[test]
fn the_app_step_prunes_add_on_kinds_the_spec_no_longer_uses() {
    for target in ["eks", "gke", "hetzner"] {
        let out = case("minimal", target, None);
        assert!(
            !out.files.contains_key("k8s/workers.yaml"),
            "{target}: minimal has no workers"
        );
        let app = &out
            .plan
            .steps
            .iter()
            .find(|s| s.id == "app")
            .expect("app step")
            .run;
        for kind in [
            "keda.sh/v1alpha1/ScaledObject",
            "external-secrets.io/v1/ExternalSecret",
            "monitoring.coreos.com/v1/ServiceMonitor",
        ] {
            assert!(
                app.contains(&format!("--prune-allowlist={kind}")),
                "{target}: {app}"
            );
        }
    }
}

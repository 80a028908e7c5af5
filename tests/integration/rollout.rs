//! Tests — render: `scaling.cpu` and `rollout` reach the HPA target and the Deployment strategy of
//! the frontend, each service and each worker, exactly as written, on every target.

use serde_json::{Value, json};

const SPEC: &str = r#"name: shop
domain: shop.example.com
frontend:
  image: ghcr.io/acme/web:1.0.0
  port: 8000
  scaling: { cpu: 60 }
  rollout: { max_surge: 1, max_unavailable: 0 }
services:
  - name: geo
    image: ghcr.io/acme/geo:1.0.0
    port: 8080
    scaling: { cpu: 85 }
    rollout: { max_surge: 50%, max_unavailable: 25% }
workers:
  - name: thumbs
    image: ghcr.io/acme/worker:1.0.0
    scaling: { cpu: 45 }
    rollout: { max_surge: 0, max_unavailable: 1 }
  - name: mailer
    image: ghcr.io/acme/worker:1.0.0
    consumes: mail
    rollout: { max_surge: 2, max_unavailable: 0% }
  - name: plain
    image: ghcr.io/acme/worker:1.0.0
postgres: { version: "17" }
queue: { rabbitmq: { queues: [mail] } }
targets:
  eks: { region: eu-west-1 }
  gke: { project: shop-prod, region: europe-west3 }
  hetzner: { location: fsn1 }
"#;

/// The documents of `text` of `kind`, by `metadata.name`.
fn objects(text: &str, kind: &str) -> Vec<(String, Value)> {
    text.split("\n---\n")
        .map(|doc| serde_saphyr::from_str::<Value>(doc).expect("a rendered document parses"))
        .filter(|v| v["kind"] == kind)
        .map(|v| {
            (
                v["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                v,
            )
        })
        .collect()
}

fn one<'a>(objects: &'a [(String, Value)], name: &str) -> &'a Value {
    let found: Vec<_> = objects.iter().filter(|(n, _)| n == name).collect();
    assert_eq!(found.len(), 1, "one object named {name}");
    &found[0].1
}

#[test]
fn scaling_and_rollout_render_exactly_on_every_target() {
    let loaded = fredgen::parse("rollout.yaml", SPEC.to_string())
        .unwrap_or_else(|e| panic!("refused:\n{}", e.report()));
    let targets = loaded.declared_targets();
    assert_eq!(targets.len(), 3);
    for t in targets {
        let out = loaded
            .render(t, None)
            .unwrap_or_else(|e| panic!("{} refused:\n{}", t.id(), e.report()));
        let k8s = |file: &str| out.files[&format!("k8s/{file}")].as_str();
        let deployments: Vec<_> = ["web.yaml", "services.yaml", "workers.yaml"]
            .iter()
            .flat_map(|f| objects(k8s(f), "Deployment"))
            .collect();
        let hpas: Vec<_> = ["web.yaml", "services.yaml", "workers.yaml"]
            .iter()
            .flat_map(|f| objects(k8s(f), "HorizontalPodAutoscaler"))
            .collect();
        let strategy = |name: &str| one(&deployments, name)["spec"]["strategy"].clone();
        let rolling = |surge: Value, unavailable: Value| json!({ "type": "RollingUpdate", "rollingUpdate": { "maxSurge": surge, "maxUnavailable": unavailable } });
        let id = t.id();
        assert_eq!(strategy("shop-web"), rolling(json!(1), json!(0)), "{id}");
        assert_eq!(
            strategy("shop-geo"),
            rolling(json!("50%"), json!("25%")),
            "{id}"
        );
        assert_eq!(strategy("shop-thumbs"), rolling(json!(0), json!(1)), "{id}");
        assert_eq!(
            strategy("shop-mailer"),
            rolling(json!(2), json!("0%")),
            "{id}"
        );
        // Unset: the strategy fredgen rendered before `rollout` existed.
        assert_eq!(
            strategy("shop-plain"),
            rolling(json!("25%"), json!(0)),
            "{id}"
        );

        let cpu = |name: &str| {
            let metrics = one(&hpas, name)["spec"]["metrics"].clone();
            let cpu: Vec<_> = metrics
                .as_array()
                .expect("metrics is a list")
                .iter()
                .filter(|m| m["resource"]["name"] == "cpu")
                .map(|m| m["resource"]["target"].clone())
                .collect();
            assert_eq!(cpu.len(), 1, "{id}: one CPU metric on {name}");
            cpu[0].clone()
        };
        let utilization = |p: u32| json!({ "type": "Utilization", "averageUtilization": p });
        assert_eq!(cpu("shop-web"), utilization(60), "{id}");
        assert_eq!(cpu("shop-geo"), utilization(85), "{id}");
        assert_eq!(cpu("shop-thumbs"), utilization(45), "{id}");
        assert_eq!(cpu("shop-plain"), utilization(70), "{id}");
        // The consumer is scaled by KEDA on its queue: no HPA of fredgen's, no CPU trigger.
        assert!(hpas.iter().all(|(n, _)| n != "shop-mailer"), "{id}");
        let scaled = objects(k8s("workers.yaml"), "ScaledObject");
        let triggers = &one(&scaled, "shop-mailer")["spec"]["triggers"];
        assert_eq!(triggers.as_array().map(Vec::len), Some(1), "{id}");
        assert_eq!(triggers[0]["type"], "rabbitmq", "{id}");
    }
}

#[test]
fn an_overlay_changes_one_knob_and_keeps_the_others() {
    let spec = SPEC.replacen(
        "targets:\n",
        "environments:\n  staging:\n    domain: staging.shop.example.com\n    frontend: { scaling: { cpu: 90 }, rollout: { max_unavailable: 1 } }\n    workers:\n      - { name: thumbs, rollout: { max_surge: 25% } }\ntargets:\n",
        1,
    );
    let loaded =
        fredgen::parse("rollout.yaml", spec).unwrap_or_else(|e| panic!("refused:\n{}", e.report()));
    let eks = fredgen::backend::find("eks").expect("eks exists");
    let out = loaded
        .render(eks, Some("staging"))
        .unwrap_or_else(|e| panic!("refused:\n{}", e.report()));
    let web = objects(&out.files["k8s/web.yaml"], "Deployment");
    assert_eq!(
        one(&web, "shop-web")["spec"]["strategy"]["rollingUpdate"],
        json!({ "maxSurge": 1, "maxUnavailable": 1 })
    );
    let hpa = objects(&out.files["k8s/web.yaml"], "HorizontalPodAutoscaler");
    assert_eq!(
        one(&hpa, "shop-web")["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        90
    );
    let workers = objects(&out.files["k8s/workers.yaml"], "Deployment");
    assert_eq!(
        one(&workers, "shop-thumbs")["spec"]["strategy"]["rollingUpdate"],
        json!({ "maxSurge": "25%", "maxUnavailable": 1 })
    );
}

//! Stage 3 — the Hetzner Cloud backend: k3s on hcloud (kube-hetzner), CloudNativePG, Traefik.

use super::*;
use crate::model::validate::refuse_keys;
use crate::render::SecretRef;

/// Hetzner Cloud.
pub struct Hetzner;

/// Hetzner Cloud locations.
const LOCATIONS: &[&str] = &["fsn1", "nbg1", "hel1", "ash", "hil", "sin"];

impl Target for Hetzner {
    fn id(&self) -> &'static str {
        "hetzner"
    }
    fn describe(&self) -> &'static str {
        "Hetzner Cloud: k3s on hcloud servers (kube-hetzner), CloudNativePG to Object Storage, Traefik, cert-manager"
    }
    fn supported_kubernetes(&self) -> &'static [&'static str] {
        // kube-hetzner 2.18.4 accepts k3s channels up to v1.34; a newer minor needs a newer module.
        &["1.34"]
    }
    fn has_managed_postgres(&self) -> bool {
        false
    }
    fn check_block(&self, v: &mut Validator, block: &RawTarget, path: &str) {
        refuse_keys(v, block, path, &["location"]);
        match &block.location {
            None => v.missing(
                &format!("{path}.location"),
                "the Hetzner location, e.g. `location: fsn1`",
            ),
            Some(l) if !LOCATIONS.contains(&l.value.as_str()) => {
                v.error_at(
                    l,
                    &format!("{path}.location"),
                    format!("`{}` is not a Hetzner Cloud location", l.value),
                )
                .hint = Some(format!("one of: {}", LOCATIONS.join(", ")));
            }
            Some(_) => {}
        }
    }
    fn platform(&self, stack: &Stack) -> Platform {
        Platform {
            storage_class: "hcloud-volumes".into(),
            // Traefik (namespace traefik) terminates TLS and forwards to the frontend.
            lb_peers: vec![serde_json::json!({
                "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": "traefik" } }
            })],
            cert_manager: true,
            ..Platform::default()
        }
        .with_secrets(stack, |s| SecretRef {
            key: format!("app-{}", s.to_ascii_lowercase().replace('_', "-")),
            property: Some("value".into()),
        })
    }
    fn versions(&self) -> &'static [(&'static str, &'static str)] {
        VERSIONS
    }
}

/// Hetzner-only pins, declared once: a bump is one edit. Sources are noted next to each.
pub static VERSIONS: &[(&str, &str)] = &[
    ("hetzner_kubernetes_default", "1.34"),
    ("hetzner_k3s_version", "v1.34.3+k3s1"),
    ("hetzner_provider_hcloud", "1.68.0"),
    ("hetzner_module_kube_hetzner", "2.18.4"),
    ("hetzner_provider_ssh", "2.7.0"),
    ("hetzner_provider_local", "2.5.3"),
    ("hetzner_provider_github", "6.6.0"),
    ("hetzner_provider_assert", "0.16.0"),
    ("hetzner_provider_semvers", "0.7.1"),
    ("hetzner_chart_hcloud_ccm", "1.35.0"),
    ("hetzner_chart_hcloud_csi", "2.22.1"),
    ("hetzner_cluster_autoscaler", "v1.34.3"),
    ("hetzner_kured", "1.20.0"),
    ("hetzner_system_upgrade_controller", "v0.14.2"),
    ("hetzner_chart_traefik", "41.3.0"),
];

//! Stage 3 — the Hetzner Cloud backend: k3s on hcloud (kube-hetzner), CloudNativePG, Traefik.

use super::*;
use crate::model::validate::refuse_keys;

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
        &["1.35", "1.34"]
    }
    fn has_managed_postgres(&self) -> bool {
        false
    }
    fn check_block(&self, v: &mut Validator, block: &RawTarget, path: &str) {
        refuse_keys(v, block, path, &["location"]);
        match &block.location {
            None => v.missing(&format!("{path}.location"), "the Hetzner location, e.g. `location: fsn1`"),
            Some(l) if !LOCATIONS.contains(&l.value.as_str()) => {
                v.error_at(l, &format!("{path}.location"), format!("`{}` is not a Hetzner Cloud location", l.value)).hint =
                    Some(format!("one of: {}", LOCATIONS.join(", ")));
            }
            Some(_) => {}
        }
    }
    fn platform(&self, stack: &Stack) -> Platform {
        Platform {
            storage_class: "hcloud-volumes".into(),
            secret_prefix: format!("{}-", stack.prefix),
            ..Platform::default()
        }
    }
    fn versions(&self) -> &'static [(&'static str, &'static str)] {
        VERSIONS
    }
}

/// Hetzner-only pins. Sources are noted next to each.
pub static VERSIONS: &[(&str, &str)] = &[];

//! Stage 3 — the Google GKE backend: VPC-native network, private regional GKE, Cloud SQL, Gateway.

use super::*;
use crate::model::validate::refuse_keys;

/// Google GKE.
pub struct Gke;

impl Target for Gke {
    fn id(&self) -> &'static str {
        "gke"
    }
    fn describe(&self) -> &'static str {
        "Google GKE: VPC-native network + Cloud NAT, private regional GKE, Cloud SQL, GKE Gateway, Cloud DNS, Secret Manager"
    }
    fn supported_kubernetes(&self) -> &'static [&'static str] {
        &["1.35", "1.34"]
    }
    fn has_managed_postgres(&self) -> bool {
        true
    }
    fn check_block(&self, v: &mut Validator, block: &RawTarget, path: &str) {
        refuse_keys(v, block, path, &["project", "region"]);
        match &block.project {
            None => v.missing(&format!("{path}.project"), "the GCP project id, e.g. `project: acme-prod`"),
            Some(p) if !is_project_id(&p.value) => {
                v.error_at(p, &format!("{path}.project"), format!("`{}` is not a GCP project id", p.value)).hint =
                    Some("6 to 30 lowercase letters, digits and `-`, starting with a letter".into());
            }
            Some(_) => {}
        }
        match &block.region {
            None => v.missing(&format!("{path}.region"), "the GCP region, e.g. `region: europe-west1`"),
            Some(r) if !is_gcp_region(&r.value) => {
                v.error_at(r, &format!("{path}.region"), format!("`{}` is not a GCP region", r.value)).hint =
                    Some("e.g. `europe-west1` or `us-central1`".into());
            }
            Some(_) => {}
        }
    }
    fn platform(&self, stack: &Stack) -> Platform {
        Platform {
            storage_class: "standard-rwo".into(),
            secret_prefix: format!("{}-", stack.prefix),
            ..Platform::default()
        }
    }
    fn versions(&self) -> &'static [(&'static str, &'static str)] {
        VERSIONS
    }
}

fn is_project_id(s: &str) -> bool {
    (6..=30).contains(&s.len())
        && s.as_bytes()[0].is_ascii_lowercase()
        && !s.ends_with('-')
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_gcp_region(s: &str) -> bool {
    let Some((area, rest)) = s.split_once('-') else { return false };
    let digits = rest.trim_start_matches(|c: char| c.is_ascii_lowercase());
    !area.is_empty()
        && area.bytes().all(|b| b.is_ascii_lowercase())
        && digits.len() < rest.len()
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
}

/// GKE-only pins. Sources are noted next to each.
pub static VERSIONS: &[(&str, &str)] = &[];

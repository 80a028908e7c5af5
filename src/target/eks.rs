//! Stage 3 — the AWS EKS backend: VPC, EKS with Karpenter, RDS, Pod Identity, ALB, Route 53.

use super::*;
use crate::model::validate::refuse_keys;

/// AWS EKS.
pub struct Eks;

impl Target for Eks {
    fn id(&self) -> &'static str {
        "eks"
    }
    fn describe(&self) -> &'static str {
        "AWS EKS: VPC, EKS + Karpenter, RDS PostgreSQL, ALB + ACM, Route 53, Secrets Manager"
    }
    fn supported_kubernetes(&self) -> &'static [&'static str] {
        &["1.35", "1.34"]
    }
    fn has_managed_postgres(&self) -> bool {
        true
    }
    fn check_block(&self, v: &mut Validator, block: &RawTarget, path: &str) {
        refuse_keys(v, block, path, &["region"]);
        match &block.region {
            None => v.missing(&format!("{path}.region"), "the AWS region, e.g. `region: eu-west-1`"),
            Some(r) if !is_aws_region(&r.value) => {
                v.error_at(r, &format!("{path}.region"), format!("`{}` is not an AWS region", r.value)).hint =
                    Some("e.g. `eu-west-1` or `us-east-2`".into());
            }
            Some(_) => {}
        }
    }
    fn platform(&self, stack: &Stack) -> Platform {
        Platform {
            storage_class: "gp3".into(),
            secret_prefix: format!("{}/{}/", stack.name, stack.env),
            ..Platform::default()
        }
    }
    fn versions(&self) -> &'static [(&'static str, &'static str)] {
        VERSIONS
    }
}

fn is_aws_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        && parts.last().is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// EKS-only pins. Sources are noted next to each.
pub static VERSIONS: &[(&str, &str)] = &[];

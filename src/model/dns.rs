//! Stage 2 — validation of `dns:`: who serves the public hosts' records, the cloud's own DNS or
//! Cloudflare, and for Cloudflare the zone and the store secret holding its API token.
//!
//! The zone must hold every public host (each host is the zone or ends in `.<zone>`): the records,
//! and on EKS the certificates' validation records, are written there and nowhere else. `zone` and
//! `token_secret` say something only about Cloudflare, so they are refused with any other
//! provider rather than ignored.

use super::validate::{Validator, check_secret_name, host_problem};
use super::{Cloudflare, Dns, DnsProvider};
use crate::spec::RawStack;

/// The providers `dns.provider` takes, as written in the spec.
pub const PROVIDERS: &[&str] = &["cloud", "cloudflare"];

/// The default store secret of the Cloudflare API token: the variable the Terraform provider
/// reads it from too, so one `export` serves both where they are the same token.
pub const DEFAULT_TOKEN_SECRET: &str = "CLOUDFLARE_API_TOKEN";

/// The Kubernetes Secret the token is synced into (external-dns's namespace, cert-manager's).
pub const TOKEN_SECRET_OBJECT: &str = "cloudflare-api-token";

/// The environment variable the Terraform Cloudflare provider reads its token from.
pub const TERRAFORM_TOKEN_VARIABLE: &str = "CLOUDFLARE_API_TOKEN";

/// The token's key in [`TOKEN_SECRET_OBJECT`].
pub const TOKEN_SECRET_KEY: &str = "api-token";

/// `dns:` resolved. The default Cloudflare zone is the registered domain of `domain` (the first of
/// `hosts`), else `parent_zone` ([`super::routes::parent_zone`]).
pub fn dns(v: &mut Validator, raw: &RawStack, hosts: &[&str], parent_zone: &str) -> Dns {
    let d = raw.dns.clone().unwrap_or_default();
    let provider = match &d.provider {
        None => Some(DnsProvider::Cloud),
        Some(p) => match p.value.as_str() {
            "cloud" => Some(DnsProvider::Cloud),
            "cloudflare" => Some(DnsProvider::Cloudflare),
            other => {
                v.error_at(
                    p,
                    "dns.provider",
                    format!("`{other}` is not a DNS provider fredgen knows"),
                )
                .hint = Some(crate::spec::suggest(other, PROVIDERS));
                None
            }
        },
    };
    if provider == Some(DnsProvider::Cloud) {
        for (key, value) in [("zone", &d.zone), ("token_secret", &d.token_secret)] {
            if let Some(value) = value {
                v.error_at(
                    value,
                    &format!("dns.{key}"),
                    format!("`dns.{key}` applies only with `provider: cloudflare`"),
                )
                .hint = Some(
                    "the cloud's own DNS zone is found by each target (see its README section): \
                     add `provider: cloudflare`, or remove this key"
                        .into(),
                );
            }
        }
    }
    let token_secret = match &d.token_secret {
        Some(s) => {
            check_secret_name(v, s, "dns.token_secret");
            s.value.clone()
        }
        None => DEFAULT_TOKEN_SECRET.to_string(),
    };
    let zone = match &d.zone {
        Some(z) => {
            if psl::suffix_str(&z.value) == Some(z.value.as_str()) {
                v.error_at(
                    z,
                    "dns.zone",
                    format!(
                        "`{}` is a public suffix, under which anyone registers",
                        z.value
                    ),
                )
                .hint = Some(format!(
                    "the Cloudflare zone is the domain you registered, e.g. `{parent_zone}`"
                ));
            } else if let Some((message, _)) = host_problem(&z.value) {
                v.error_at(z, "dns.zone", message.replace("host name", "DNS zone"))
                    .hint = Some(format!(
                    "the name of the Cloudflare zone that holds the public hosts, e.g. `{parent_zone}`"
                ));
            } else {
                let outside: Vec<&str> = hosts
                    .iter()
                    .copied()
                    .filter(|h| !in_zone(h, &z.value))
                    .collect();
                if !outside.is_empty() {
                    v.error_at(
                        z,
                        "dns.zone",
                        format!(
                            "the Cloudflare zone `{}` does not contain {}",
                            z.value,
                            outside
                                .iter()
                                .map(|h| format!("`{h}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                    .hint = Some(format!(
                        "every public host gets its DNS record in this zone, so each must be the \
                         zone or end in `.<zone>`: e.g. `{parent_zone}`"
                    ));
                }
            }
            z.value.clone()
        }
        // The registered domain (Cloudflare zones are, but on Enterprise plans), the same for
        // every environment (`staging.shop.example.com` and `shop.example.com`: `example.com`).
        None => hosts
            .first()
            .and_then(|d| psl::domain_str(d))
            .unwrap_or(parent_zone)
            .to_string(),
    };
    match provider {
        Some(DnsProvider::Cloudflare) => Dns {
            provider: DnsProvider::Cloudflare,
            cloudflare: Some(Cloudflare {
                zone,
                token_secret,
                secret: TOKEN_SECRET_OBJECT.into(),
                secret_key: TOKEN_SECRET_KEY.into(),
            }),
        },
        _ => Dns {
            provider: DnsProvider::Cloud,
            cloudflare: None,
        },
    }
}

/// Whether `host` lies in `zone`: it is the zone's apex or a name below it.
pub fn in_zone(host: &str, zone: &str) -> bool {
    host == zone
        || host
            .strip_suffix(zone)
            .is_some_and(|rest| rest.ends_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_is_in_a_zone_by_whole_labels() {
        assert!(in_zone("example.com", "example.com"));
        assert!(in_zone("shop.example.com", "example.com"));
        assert!(in_zone("api.shop.example.com", "shop.example.com"));
        assert!(!in_zone("badexample.com", "example.com"));
        assert!(!in_zone("example.com", "shop.example.com"));
        assert!(!in_zone("example.org", "example.com"));
    }
}

//! Stage 2 — validation of `services[].public`: the stack's public hosts and the routes each
//! serves (host, path prefix, methods → Service), in the order a load balancer must try them.
//!
//! The frontend answers everything on `domain` that no service's route takes. Two routes of one
//! host may share a path only when their methods do not overlap; the more specific route wins
//! (the longer path, then the one that names its methods), so every target renders the same
//! table. What a target cannot express is refused by its backend (`Target::check_stack`), at the
//! route's position.

use std::collections::BTreeMap;

use super::validate::{Validator, host_problem};
use super::{Frontend, Host, Route, Service};
use crate::error::Pos;
use crate::spec::{RawRoute, RawRouteWith, RawStack};

/// The HTTP methods a route may name (RFC 9110 and PATCH); CONNECT and TRACE are never routed.
pub const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// Longest route path: what every target's load balancer matches (an ALB path pattern holds at
/// most 128 characters, and a prefix route adds `/*`).
pub const MAX_ROUTE_PATH: usize = 120;

/// The stack's public hosts: `domain` first (the frontend's), then the others by name; each
/// host's routes most specific first, the frontend's catch-all last.
pub fn hosts(
    v: &mut Validator,
    raw: &RawStack,
    domain: &str,
    frontend: &Frontend,
    services: &[Service],
) -> Vec<Host> {
    let mut by_host: BTreeMap<String, Vec<Route>> = BTreeMap::new();
    by_host.entry(domain.to_string()).or_default().push(Route {
        id: "web".into(),
        host: domain.to_string(),
        path: "/".into(),
        methods: vec![],
        backend: frontend.name.clone(),
        // The frontend's Service listens on 80 (k8s/web.yaml); a service's on its own port.
        port: 80,
        health_path: frontend.health_path.clone(),
        at: None,
        spec_path: "domain".into(),
    });
    for ((i, raw_service), service) in raw.services.iter().flatten().enumerate().zip(services) {
        for (j, item) in raw_service.public.iter().flatten().enumerate() {
            let path = format!("services[{i}].public[{j}]");
            let at = Pos::from_location(&item.referenced);
            if let Some(route) = route(v, &item.value, at, &path, service, j) {
                by_host.entry(route.host.clone()).or_default().push(route);
            }
        }
    }
    let mut hosts: Vec<Host> = by_host
        .into_iter()
        .map(|(name, mut routes)| {
            refuse_overlaps(v, &routes, domain);
            routes.sort_by(|a, b| {
                b.path
                    .len()
                    .cmp(&a.path.len())
                    .then(a.methods.is_empty().cmp(&b.methods.is_empty()))
                    .then(a.id.cmp(&b.id))
            });
            Host {
                key: format!("{:016x}", super::validate::fnv1a(&name)),
                name,
                routes,
            }
        })
        .collect();
    refuse_other_zones(v, &hosts, domain);
    // `domain` first: the frontend's host, the one the README and alerts name.
    if let Some(i) = hosts.iter().position(|h| h.name == domain) {
        let first = hosts.remove(i);
        hosts.insert(0, first);
    }
    hosts
}

/// One `public` entry, checked; `None` when it has no usable host.
fn route(
    v: &mut Validator,
    raw: &RawRoute,
    at: Option<Pos>,
    path: &str,
    service: &Service,
    index: usize,
) -> Option<Route> {
    let (host, host_at, prefix, methods) = match raw {
        RawRoute::Host(h) => (h.clone(), at, None, None),
        RawRoute::With(RawRouteWith { host: None, .. }) => {
            v.error(
                at,
                &format!("{path}.host"),
                "a public route names its `host`".into(),
            )
            .hint = Some("e.g. `{ host: api.example.com, path: /v1, methods: [GET] }`".into());
            return None;
        }
        RawRoute::With(RawRouteWith {
            host: Some(h),
            path: p,
            methods,
        }) => (
            h.value.clone(),
            Pos::from_location(&h.referenced),
            p.as_ref(),
            methods.as_ref(),
        ),
    };
    let host_path = match raw {
        RawRoute::Host(_) => path.to_string(),
        RawRoute::With(_) => format!("{path}.host"),
    };
    if let Some((message, hint)) = host_problem(&host) {
        v.error(host_at, &host_path, message).hint = Some(hint);
        return None;
    }
    let route_path = match prefix {
        None => "/".to_string(),
        Some(p) => {
            if let Some(problem) = route_path_problem(&p.value) {
                v.error_at(p, &format!("{path}.path"), problem).hint = Some(format!(
                    "a path prefix such as `/api/v1`: `/` then at most {MAX_ROUTE_PATH} letters, \
                     digits and `-._~/@:+&` (what an ALB path pattern accepts), no `//` and no trailing `/` (a prefix matches whole \
                     segments: `/api` matches `/api` and `/api/x`, not `/apix`)"
                ));
            }
            p.value.clone()
        }
    };
    let mut names: Vec<String> = Vec::new();
    if let Some(list) = methods {
        if list.is_empty() {
            v.error(
                at,
                &format!("{path}.methods"),
                "`methods` is empty, so the route would match nothing".into(),
            )
            .hint = Some(
                "name the methods, e.g. `[GET, HEAD]`, or leave `methods` out for every method"
                    .into(),
            );
        }
        for (k, m) in list.iter().enumerate() {
            let m_path = format!("{path}.methods[{k}]");
            if !METHODS.contains(&m.value.as_str()) {
                let upper = m.value.to_ascii_uppercase();
                v.error_at(
                    m,
                    &m_path,
                    format!("`{}` is not an HTTP method fredgen routes", m.value),
                )
                .hint = Some(if METHODS.contains(&upper.as_str()) {
                    format!("methods are upper case: `{upper}`")
                } else {
                    format!("one of: {}", METHODS.join(", "))
                });
            } else if names.contains(&m.value) {
                v.error_at(m, &m_path, format!("`{}` is listed twice", m.value))
                    .hint = Some("list each method once".into());
            } else {
                names.push(m.value.clone());
            }
        }
    }
    Some(Route {
        id: format!("{}-{}", service.short_name, index + 1),
        host,
        path: route_path,
        methods: names,
        backend: service.name.clone(),
        port: service.port,
        health_path: service.health_path.clone(),
        at,
        spec_path: path.to_string(),
    })
}

/// Why `p` cannot be a route's path prefix, if it cannot.
pub fn route_path_problem(p: &str) -> Option<String> {
    let ok_chars = p
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || b"-._~/@:+&".contains(&c));
    if !p.starts_with('/') || !ok_chars || p.len() > MAX_ROUTE_PATH {
        Some(format!("`{p}` is not a path prefix"))
    } else if p.contains("//") {
        Some(format!("`{p}` has an empty segment (`//`)"))
    } else if p.len() > 1 && p.ends_with('/') {
        Some(format!(
            "`{p}` ends in `/`; write `{}`, which matches the same requests",
            p.trim_end_matches('/')
        ))
    } else if p.split('/').any(|s| s == "." || s == "..") {
        Some(format!(
            "`{p}` has a `.` or `..` segment, which clients resolve away"
        ))
    } else {
        None
    }
}

/// Two routes of one host on the same path whose methods overlap would leave the load balancer
/// to pick one: refused, at the later route.
fn refuse_overlaps(v: &mut Validator, routes: &[Route], domain: &str) {
    for (k, later) in routes.iter().enumerate() {
        for earlier in &routes[..k] {
            if earlier.path != later.path {
                continue;
            }
            let shared: Vec<&str> = if earlier.methods.is_empty() || later.methods.is_empty() {
                if !(earlier.methods.is_empty() && later.methods.is_empty()) {
                    // One names its methods, the other takes the rest: the named ones win.
                    continue;
                }
                vec![]
            } else {
                later
                    .methods
                    .iter()
                    .filter(|m| earlier.methods.contains(m))
                    .map(String::as_str)
                    .collect()
            };
            if !earlier.methods.is_empty() && shared.is_empty() {
                continue;
            }
            let what = if shared.is_empty() {
                "every method".to_string()
            } else {
                shared.join(", ")
            };
            let owner = if earlier.id == "web" {
                format!("the frontend, which answers everything on `{domain}` no other route takes")
            } else {
                format!("`{}`", earlier.spec_path)
            };
            v.error(
                later.at,
                &later.spec_path,
                format!(
                    "`{}{}` ({what}) is already routed to {owner}",
                    later.host, later.path
                ),
            )
            .hint = Some(
                "one request goes to one service: give this route another path, or split the \
                 methods (e.g. `methods: [GET, HEAD]` here and `[POST]` there)"
                    .into(),
            );
        }
    }
}

/// The DNS zone every public host lies in when the stack has several: the longest name of at
/// least two labels that each host is, or ends in; `None` with one host (each target then
/// derives the zone from `domain` as before) or when the hosts share none.
pub fn shared_zone(names: &[&str]) -> Option<String> {
    (names.len() >= 2).then(|| shared_suffix(names)).flatten()
}

/// The longest name of at least two labels that each of `names` is, or ends in.
pub fn shared_suffix(names: &[&str]) -> Option<String> {
    let labels: Vec<Vec<&str>> = names.iter().map(|n| n.rsplit('.').collect()).collect();
    let shortest = labels.iter().map(Vec::len).min().unwrap_or(0);
    let common = (0..shortest)
        .take_while(|&i| labels.iter().all(|l| l[i] == labels[0][i]))
        .count();
    (common >= 2)
        .then(|| {
            let mut zone: Vec<&str> = labels[0][..common].to_vec();
            zone.reverse();
            zone.join(".")
        })
        .filter(|zone| !is_public_suffix(zone))
}

/// A name under which anyone may register (`co.uk`, `github.io`): never a stack's zone. The
/// Public Suffix List, through the `psl` crate.
fn is_public_suffix(name: &str) -> bool {
    psl::suffix_str(name) == Some(name)
}

/// The zone the hosts' parent names share (a host's parent is the host less its first label, or
/// the host itself when it has two labels): the name a stack's DNS zone most often has
/// (`example.com` for `shop.example.com` and `api.shop.example.com`). With one host, its parent.
pub fn parent_zone(names: &[&str]) -> String {
    let parents: Vec<&str> = names
        .iter()
        .map(|n| match n.split_once('.') {
            Some((_, rest)) if rest.contains('.') && !is_public_suffix(rest) => rest,
            _ => n,
        })
        .collect();
    match parents.as_slice() {
        [only] => only.to_string(),
        _ => shared_suffix(&parents)
            .or_else(|| shared_suffix(names))
            .unwrap_or_else(|| parents.first().map(|p| p.to_string()).unwrap_or_default()),
    }
}

/// Every target keeps the stack's records and certificate validations in one DNS zone (one
/// Route 53 hosted zone, Cloud DNS managed zone or Hetzner zone, which external-dns and the
/// certificate issuers are granted): a host outside the zone `domain` shares with the others is
/// refused at its first route.
fn refuse_other_zones(v: &mut Validator, hosts: &[Host], domain: &str) {
    let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
    if shared_zone(&names).is_some() {
        return;
    }
    for h in hosts.iter().filter(|h| h.name != domain) {
        let shares = shared_suffix(&[domain, &h.name]).is_some();
        if shares {
            continue;
        }
        let Some(first) = h.routes.iter().min_by_key(|r| r.at) else {
            continue;
        };
        v.error(
            first.at,
            &first.spec_path,
            format!("`{}` is not in a DNS zone with `{domain}`", h.name),
        )
        .hint = Some(format!(
            "every public host of a stack lies in one DNS zone (its records and certificate \
             validations are written there): use a host under `{}`, or give this service a \
             stack of its own",
            parent_zone(&[domain])
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_of_the_public_hosts() {
        let one = ["fred.example.com"];
        assert_eq!(shared_zone(&one), None);
        assert_eq!(parent_zone(&one), "example.com");
        let nested = ["shop.example.com", "api.shop.example.com"];
        assert_eq!(shared_zone(&nested).as_deref(), Some("shop.example.com"));
        assert_eq!(parent_zone(&nested), "example.com");
        let apex = ["acme.com", "www.acme.com"];
        assert_eq!(shared_zone(&apex).as_deref(), Some("acme.com"));
        assert_eq!(parent_zone(&apex), "acme.com");
        let apart = ["acme.com", "acme.org"];
        assert_eq!(shared_zone(&apart), None);
        let registrable = ["shop.co.uk", "api.co.uk"];
        assert_eq!(shared_zone(&registrable), None);
        assert_eq!(parent_zone(&["acme.co.uk"]), "acme.co.uk");
        assert_eq!(parent_zone(&["www.acme.co.uk"]), "acme.co.uk");
    }

    #[test]
    fn route_paths() {
        assert_eq!(route_path_problem("/api/v1"), None);
        assert_eq!(route_path_problem("/"), None);
        for bad in [
            "api", "/api/", "/a//b", "/a/*", "/a/../b", "/a?b", "/%41", "/a=b",
        ] {
            assert!(route_path_problem(bad).is_some(), "{bad}");
        }
        assert!(route_path_problem(&format!("/{}", "a".repeat(MAX_ROUTE_PATH))).is_some());
    }
}

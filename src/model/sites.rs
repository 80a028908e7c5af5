//! Stage 2 — validation of `static:`: static websites, each on a public host of its own, served
//! from object storage through the target's CDN (or caching proxy).

use std::collections::BTreeMap;

use super::routes::route_path_problem;
use super::validate::{Validator, fnv1a, host_problem, is_dns_label};
use super::{Host, StaticSite};
use crate::spec::{RawStack, Sp};

/// Longest a site name may be: it names buckets and CDN objects with the stack's prefix.
const MAX_SITE_NAME: usize = 20;

/// The longest cache lifetime a site may ask for: a year, what browsers and CDNs honour.
const MAX_CACHE: i64 = 31_536_000;

/// The static sites of the stack. `hosts` are the routes' hosts: a site's host is its own.
pub fn sites(v: &mut Validator, raw: &RawStack, prefix: &str, hosts: &[Host]) -> Vec<StaticSite> {
    let mut out: Vec<StaticSite> = Vec::new();
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    let mut taken: BTreeMap<String, usize> = BTreeMap::new();
    for (i, s) in raw.static_sites.iter().flatten().enumerate() {
        let path = format!("static[{i}]");
        let name = v.required(
            &s.name,
            &format!("{path}.name"),
            "each static site needs a `name`, e.g. `name: www`",
        );
        if let Some(n) = &s.name {
            if !is_dns_label(&n.value, MAX_SITE_NAME) {
                v.error_at(
                    n,
                    &format!("{path}.name"),
                    format!(
                        "`{}` is not a DNS-1123 label of at most {MAX_SITE_NAME} characters",
                        n.value
                    ),
                )
                .hint = Some("use lowercase letters, digits and `-`, e.g. `www`".into());
            } else if let Some(first) = names.insert(n.value.clone(), i) {
                v.error_at(
                    n,
                    &format!("{path}.name"),
                    format!("duplicate static site name `{}`", n.value),
                )
                .hint = Some(format!("`static[{first}]` already uses it"));
            }
        }
        let host = v.required(
            &s.host,
            &format!("{path}.host"),
            "the public host the site is served on, e.g. `host: www.example.com`",
        );
        if let Some(h) = &s.host {
            check_host(v, h, &format!("{path}.host"), hosts, &mut taken, i);
        }
        let base = match &s.path {
            None => "/".to_string(),
            Some(p) => {
                if let Some(problem) = route_path_problem(&p.value) {
                    v.error_at(p, &format!("{path}.path"), problem).hint = Some(
                        "the base path the site lives under, e.g. `/docs`: `/` then letters, \
                         digits and `-._~/@:+&`, no trailing `/`"
                            .into(),
                    );
                }
                p.value.clone()
            }
        };
        let cache = s.cache.as_ref();
        let html = seconds(v, cache.and_then(|c| c.html.as_ref()), &path, "html", 60);
        let assets = seconds(
            v,
            cache.and_then(|c| c.assets.as_ref()),
            &path,
            "assets",
            MAX_CACHE as u32,
        );
        if let (Some(c), Ok(html), Ok(assets)) = (cache, html, assets) {
            check_lifetimes(v, c, &path, html, assets);
        }
        let (html, assets) = (html.unwrap_or_else(|d| d), assets.unwrap_or_else(|d| d));
        out.push(StaticSite {
            resource: format!("{prefix}-site-{name}"),
            key: format!("{:016x}", fnv1a(&host)),
            name,
            host,
            path: base,
            spa: s.spa.as_ref().is_some_and(|b| b.value),
            cache_html: html,
            cache_assets: assets,
        });
    }
    out
}

/// A site's host: a public name, not a route's host, not another site's.
fn check_host(
    v: &mut Validator,
    h: &Sp<String>,
    path: &str,
    hosts: &[Host],
    taken: &mut BTreeMap<String, usize>,
    i: usize,
) {
    if let Some((message, hint)) = host_problem(&h.value) {
        v.error_at(h, path, message).hint = Some(hint);
    } else if hosts.iter().any(|r| r.name == h.value) {
        v.error_at(
            h,
            path,
            format!("`{}` is already a host of the stack's routes", h.value),
        )
        .hint = Some(
            "a static site is served by the CDN on a host of its own (the routes' hosts go to \
             the cluster's load balancer): use another host, e.g. `www.` or `static.`"
                .into(),
        );
    } else if let Some(domain) = hosts.first().map(|d| d.name.as_str())
        && super::routes::shared_suffix(&[domain, &h.value]).is_none()
    {
        v.error_at(
            h,
            path,
            format!("`{}` is not in a DNS zone with `{domain}`", h.value),
        )
        .hint = Some(
            "every public host of a stack lies in one DNS zone (its records and certificate \
             validations are written there): use a host in the zone of `domain`"
                .into(),
        );
    } else if let Some(first) = taken.insert(h.value.clone(), i) {
        v.error_at(
            h,
            path,
            format!("`{}` is already the host of `static[{first}]`", h.value),
        )
        .hint = Some("one site per host: give it another host, or merge the two sites".into());
    }
}

/// A cache lifetime: 0 to a year, `default` when unset; `Err(default)` when it is refused.
fn seconds(
    v: &mut Validator,
    s: Option<&Sp<i64>>,
    path: &str,
    key: &str,
    default: u32,
) -> Result<u32, u32> {
    let Some(s) = s else { return Ok(default) };
    if !(0..=MAX_CACHE).contains(&s.value) {
        v.error_at(
            s,
            &format!("{path}.cache.{key}"),
            format!("{} seconds is outside 0..{MAX_CACHE}", s.value),
        )
        .hint = Some("a cache lifetime in seconds, at most a year (31536000)".into());
        return Err(default);
    }
    Ok(s.value as u32)
}

/// The HTML lifetime is the CDN's default and the assets' its maximum: the default may not exceed
/// the maximum, and a maximum of 0 would turn the CDN off (CloudFront then also refuses to cache
/// compressed copies). Reported at `assets` (or `html` when `assets` is not set).
fn check_lifetimes(
    v: &mut Validator,
    c: &crate::spec::RawCache,
    path: &str,
    html: u32,
    assets: u32,
) {
    let Some(at) = c.assets.as_ref().or(c.html.as_ref()) else {
        return;
    };
    let key = format!("{path}.cache.assets");
    if assets == 0 {
        v.error_at(
            at,
            &key,
            "an assets lifetime of 0 would turn the CDN off".into(),
        )
        .hint = Some("at least 1 second; a year (the default) for assets with hashed names".into());
    } else if html > assets {
        v.error_at(
            at,
            &key,
            format!("the assets' lifetime ({assets} s) is shorter than the HTML's ({html} s)"),
        )
        .hint = Some(
            "the HTML lifetime is the CDN's default and the assets' its maximum: make `html` at \
             most `assets`"
                .into(),
        );
    }
}

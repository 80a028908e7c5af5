//! Stage 3 — the Hetzner Cloud backend: k3s on hcloud (kube-hetzner), CloudNativePG, Traefik.

use super::*;
use crate::model::validate::refuse_keys;
use crate::render::{STATIC_PROXY_PORT, SecretRef, StaticProxy};

/// Hetzner Cloud.
pub struct Hetzner;

/// Names a Let's Encrypt certificate holds at most: the routes' and static sites' hosts share one.
const MAX_CERTIFICATE_NAMES: usize = 100;

/// Hetzner Cloud locations.
pub const LOCATIONS: &[&str] = &["fsn1", "nbg1", "hel1", "ash", "hil", "sin"];

impl Target for Hetzner {
    fn block_keys(&self) -> Vec<super::BlockKey> {
        use super::{BlockKey, KeyValues};
        vec![BlockKey::new(
            "location",
            true,
            "Hetzner Cloud location.",
            KeyValues::OneOf(LOCATIONS),
        )]
    }

    fn id(&self) -> &'static str {
        "hetzner"
    }
    fn describe(&self) -> &'static str {
        "Hetzner Cloud: k3s on hcloud servers (kube-hetzner), CloudNativePG to Object Storage, Traefik, cert-manager"
    }
    fn supported_kubernetes(&self) -> &'static [&'static str] {
        // Kubernetes 1.34 left upstream support on 2026-10-27. kube-hetzner 3.1.0 installs any exact
        // k3s release (`k3s_version`); each minor here has one in VERSIONS (`hetzner_k3s_<minor>`).
        &["1.36", "1.35"]
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
    fn needs_own_runner(&self) -> Option<&'static str> {
        Some(
            "kube-hetzner provisions the nodes over SSH and the Kubernetes API is open to `admin_cidrs` only, so the jobs need a runner inside those networks",
        )
    }

    fn check_stack(&self, v: &mut Validator, stack: &Stack) {
        check_cloud_names(v, stack, &cloud_names(stack));
        check_static_names(v, stack);
        check_host_count(
            v,
            stack,
            MAX_CERTIFICATE_NAMES,
            "a Let's Encrypt certificate holds at most 100 names",
        );
        // Each store secret is a Kubernetes Secret in the secrets namespace (30-platform).
        for s in &stack.secrets {
            let name = secret_object(s);
            // A name the shared rules refuse is reported there.
            if crate::model::validate::is_secret_name(s)
                && !crate::model::validate::is_dns_subdomain(&name)
            {
                v.error(
                    None,
                    "secrets",
                    format!(
                        "secret `{s}` would be the Kubernetes Secret `{name}`, not a DNS-1123 name"
                    ),
                )
                .hint = Some(
                    "Kubernetes names are lowercase letters, digits, `-` and `.`, starting and \
                     ending with a letter or digit: rename the secret"
                        .into(),
                );
            }
        }
    }
    fn largest_node(&self, _env: &str) -> NodeCapacity {
        // The agents and the autoscaled pool of 10-cluster are cpx32 (4 vCPU, 8 GB) unless the
        // operator overrides the Terraform variables. Allocatable: capacity less about 250m and
        // 1Gi for the OS and k3s, and 100Mi for eviction.
        NodeCapacity {
            node_type: "cpx32",
            millicores: 3_750,
            bytes: 7_068 << 20,
        }
    }
    fn platform(&self, stack: &Stack) -> Result<Platform> {
        Ok({
            Platform {
            storage_class: "hcloud-volumes".into(),
            // Traefik (namespace traefik) terminates TLS and forwards to the frontend.
            lb_peers: vec![serde_json::json!({
                "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": "traefik" } }
            })],
            cert_manager: true,
            static_proxies: static_proxies(stack),
            // Let's Encrypt checks the hosts over HTTP-01 through Traefik, or with Cloudflare over
            // DNS-01: the ClusterIssuer then reads the API token from cert-manager's namespace
            // (its cluster resource namespace, the chart's default).
            acme_http01: stack.dns.cloudflare.is_none(),
            cloudflare_token_namespaces: cloudflare_namespaces(stack, "cert-manager"),
            ..Platform::default()
        }
        .with_secrets(stack, |s| SecretRef {
            key: secret_object(s),
            property: Some("value".into()),
        })
        })
    }
    fn versions(&self) -> &'static [(&'static str, &'static str)] {
        VERSIONS
    }
}

/// Hetzner has no CDN: each static site is a public-read Object Storage bucket, served on the
/// site's host by a caching nginx in the app's namespace behind Traefik.
fn static_proxies(stack: &Stack) -> Vec<StaticProxy> {
    let location = stack.target.location.as_deref().unwrap_or("fsn1");
    stack
        .static_sites
        .iter()
        .map(|s| StaticProxy {
            site: s.clone(),
            name: static_proxy_name(stack, &s.name),
            bucket: s.resource.clone(),
            origin: format!("{}.{location}.your-objectstorage.com", s.resource),
            port: STATIC_PROXY_PORT,
        })
        .collect()
}

/// The Kubernetes name of a static site's proxy: `<stack>-static-<site>`.
fn static_proxy_name(stack: &Stack, site: &str) -> String {
    format!("{}-static-{site}", stack.name)
}

/// A static site's proxy's Kubernetes objects (`<stack>-static-<site>`) may not be a process's,
/// and its host needs room on the routes' certificate. (Its bucket, `<prefix>-site-<site>`, is
/// never another bucket of the stack.)
fn check_static_names(v: &mut Validator, stack: &Stack) {
    let processes: Vec<&str> = std::iter::once(stack.frontend.name.as_str())
        .chain(stack.workers.iter().map(|w| w.name.as_str()))
        .chain(stack.services.iter().map(|s| s.name.as_str()))
        .collect();
    for (i, site) in stack.static_sites.iter().enumerate() {
        let path = format!("static[{i}].name");
        // The sites' hosts share the routes' Let's Encrypt certificate (k8s/route.yaml).
        let nth = stack.hosts.len() + i + 1;
        if nth > MAX_CERTIFICATE_NAMES {
            v.error(
                None,
                &format!("static[{i}].host"),
                format!(
                    "`{}` is public host {nth} of the stack; a Let's Encrypt certificate holds at \
                     most {MAX_CERTIFICATE_NAMES} names",
                    site.host
                ),
            )
            .hint = Some(
                "every public host, the static sites' too, is a name on the one certificate \
                 Traefik serves: at most 100 on this target"
                    .into(),
            );
        }
        let proxy = static_proxy_name(stack, &site.name);
        if processes.contains(&proxy.as_str()) {
            v.error(
                None,
                &path,
                format!(
                    "static site `{}` is served by the proxy `{proxy}`, which is already the \
                     name of a process",
                    site.name
                ),
            )
            .hint = Some("rename the site or the process".into());
        }
    }
}

/// The Kubernetes Secret a store secret is kept in (30-platform's `app_secrets`).
fn secret_object(secret: &str) -> String {
    format!("app-{}", secret.to_ascii_lowercase().replace('_', "-"))
}

/// The Hetzner names the templates build from the spec, at their longest: Object Storage
/// buckets 3-63, load balancers 63, servers (kube-hetzner's `<cluster>-<nodepool>-<3 random>`, a
/// host name) 63.
fn cloud_names(stack: &Stack) -> Vec<CloudName> {
    let p = &stack.prefix;
    let location = stack.target.location.as_deref().unwrap_or("fsn1");
    const FROM: &str = "`name` and the environment";
    let sites = stack.static_sites.iter().map(|s| {
        CloudName::new(
            "Object Storage bucket name",
            s.resource.clone(),
            3..=63,
            "`name`, the environment and the static site's `name`",
        )
    });
    let mut names = vec![
        CloudName::new(
            "Object Storage bucket name",
            format!("{p}-tfstate"),
            3..=63,
            FROM,
        ),
        CloudName::new(
            "Object Storage bucket name",
            format!("{p}-velero"),
            3..=63,
            FROM,
        ),
        CloudName::new("load balancer name", format!("{p}-ingress"), 1..=63, FROM),
        CloudName::new(
            "server name",
            format!("{p}-control-plane-{location}-xxx"),
            1..=63,
            FROM,
        ),
    ];
    names.extend(sites);
    names
}

/// Hetzner-only pins, declared once: a bump is one edit. Sources are noted next to each.
pub static VERSIONS: &[(&str, &str)] = &[
    ("hetzner_kubernetes_default", "1.36"),
    // Exact k3s release per supported minor (kube-hetzner `k3s_version`). v1.36.3+k3s1 is the
    // release kube-hetzner 3.1.0's reviewed manifest (locals.tf) maps `stable` to, so the module
    // checks the binary against SHA-256 digests it carries. v1.35.9+k3s1 (2026-09-30) is not in
    // that manifest: the module verifies it against the release's own published checksums.
    ("hetzner_k3s_1_36", "v1.36.3+k3s1"),
    ("hetzner_k3s_1_35", "v1.35.9+k3s1"),
    // The one release above that kube-hetzner 3.1.0 carries digests for (its `stable`).
    ("hetzner_k3s_reviewed", "v1.36.3+k3s1"),
    // Cluster Autoscaler per Kubernetes minor (its minor must match the cluster's):
    // cluster-autoscaler-1.36.1 and -1.35.2, both released 2026-07-23.
    ("hetzner_cluster_autoscaler_1_36", "v1.36.1"),
    ("hetzner_cluster_autoscaler_1_35", "v1.35.2"),
    ("hetzner_provider_hcloud", "1.68.0"),
    // kube-hetzner 3.1.0 (2026-08-08); its versions.tf asks terraform >= 1.10.1, hcloud >= 1.62.0,
    // kubernetes >= 3.1.0, helm >= 3.1.1 (the shared provider_kubernetes / provider_helm pins
    // satisfy both), random >= 3.8.1, local >= 2.5.2, http >= 3.5.0, cloudinit >= 2.3.7,
    // assert >= 0.16.0, semvers >= 0.7.1 and ssh = 2.7.0; its values_merger submodule asks
    // isometry/deepmerge ~> 1.0. The root pins each exactly.
    ("hetzner_module_kube_hetzner", "3.1.0"),
    ("hetzner_provider_ssh", "2.7.0"),
    ("hetzner_provider_local", "2.5.3"),
    ("hetzner_provider_http", "3.5.0"),
    ("hetzner_provider_random", "3.9.1"),
    ("hetzner_provider_cloudinit", "2.3.7"),
    ("hetzner_provider_assert", "0.16.0"),
    ("hetzner_provider_semvers", "0.7.1"),
    ("hetzner_provider_deepmerge", "1.2.1"),
    ("hetzner_chart_hcloud_ccm", "1.35.0"),
    ("hetzner_chart_hcloud_csi", "2.22.1"),
    // kured 1.23.0 and system-upgrade-controller v0.18.0: the defaults kube-hetzner 3.1.0 reviewed
    // (locals.tf addon_default_versions, variables.tf system_upgrade_controller_version).
    ("hetzner_kured", "1.23.0"),
    ("hetzner_system_upgrade_controller", "v0.18.0"),
    ("hetzner_chart_traefik", "41.3.0"),
    // The static sites' caching proxy: nginx's unprivileged image (nginx/docker-nginx-unprivileged:
    // UID 101, port 8080, pid and temp paths in /tmp), stable line, from GitHub's registry, where
    // the same workflow pushes the same tags as to Docker Hub (no anonymous pull limit for the
    // nodes). 1.30.5 is the newest stable confirmed upstream (docker-nginx-unprivileged PR #424
    // and docker-nginx PR #1062, 2026-09-15; repo-info 1.30.5-alpine); a 1.30.6 is mentioned only
    // second-hand, so it is not pinned unverified. Only the current stable and mainline tags are
    // rebuilt: bump with each stable release. 1.30.4+ has the fixes for CVE-2026-42945 and
    // CVE-2026-60005 (rewrite patterns like the proxy's). nginx 1.27.3+ resolves upstream names at
    // run time (`server ... resolve`), which the proxy relies on.
    (
        "hetzner_nginx_unprivileged",
        "ghcr.io/nginx/nginx-unprivileged:1.30.5-alpine",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn pin(key: &str) -> Option<&'static str> {
        VERSIONS.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// The templates look the k3s release and the autoscaler up by the spec's minor: every
    /// supported minor needs both, each of that very minor, and the default is the first one.
    #[test]
    fn every_supported_minor_has_its_k3s_release_and_autoscaler() {
        let minors = Hetzner.supported_kubernetes();
        assert_eq!(pin("hetzner_kubernetes_default"), Some(minors[0]));
        for minor in minors {
            let key = minor.replace('.', "_");
            let k3s = pin(&format!("hetzner_k3s_{key}")).expect("k3s release pinned");
            assert!(
                k3s.starts_with(&format!("v{minor}.")) && k3s.contains("+k3s"),
                "{k3s}"
            );
            let ca = pin(&format!("hetzner_cluster_autoscaler_{key}")).expect("autoscaler pinned");
            assert!(ca.starts_with(&format!("v{minor}.")), "{ca}");
        }
        let reviewed = pin("hetzner_k3s_reviewed").expect("reviewed release named");
        assert!(
            minors
                .iter()
                .any(|m| pin(&format!("hetzner_k3s_{}", m.replace('.', "_"))) == Some(reviewed))
        );
    }
}

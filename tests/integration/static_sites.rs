//! Tests — static sites on Hetzner, which has no CDN: each site's caching proxy serves its own
//! bucket on its own host (a single-page app's unknown paths get its `index.html`, another site's a
//! 404), a configuration change rolls only that site's pods, Traefik, DNS and the certificate cover
//! the sites' hosts, and the NetworkPolicies admit exactly Traefik in and HTTPS to public
//! addresses out.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use fredgen::render::Output;
use fredgen::render::flows::{Endpoint, PUBLIC_IP, admits};
use fredgen::render::parse_back::yaml_documents;
use serde_json::Value;

use crate::support::{conn, pod};

/// Two sites: a single-page app at the root of its host, and documentation under `/docs` that is
/// not one.
fn spec(app_html: u32) -> String {
    format!(
        "name: shop
domain: shop.example.com
static:
  - {{ name: app, host: app.example.com, spa: true, cache: {{ html: {app_html}, assets: 86400 }} }}
  - {{ name: docs, host: help.example.com, path: /docs }}
frontend:
  image: ghcr.io/acme/shop:1.0.0
  port: 8080
postgres: {{ placement: in-cluster }}
targets:
  hetzner: {{ location: fsn1 }}
"
    )
}

fn render(text: &str) -> Output {
    let loaded = fredgen::parse("shop.yaml", text.to_string()).expect("parses");
    let hetzner = fredgen::backend::find("hetzner").expect("target");
    loaded
        .render(hetzner, None)
        .unwrap_or_else(|e| panic!("{}", e.report()))
}

fn docs(out: &Output, path: &str) -> Vec<Value> {
    yaml_documents(&out.files[path]).expect("parses")
}

fn object<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn site_conf<'a>(docs: &'a [Value], proxy: &str) -> &'a str {
    object(docs, "ConfigMap", proxy)["data"]["site.conf"]
        .as_str()
        .expect("the nginx configuration")
}

fn config_checksum(docs: &[Value], proxy: &str) -> String {
    object(docs, "Deployment", proxy)["spec"]["template"]["metadata"]["annotations"]
        ["fredgen.io/config-checksum"]
        .as_str()
        .expect("a checksum annotation on the pod template")
        .to_string()
}

#[test]
fn each_proxy_serves_its_own_bucket_and_only_a_spa_falls_back_to_its_index() {
    let out = render(&spec(60));
    let d = docs(&out, "k8s/static.yaml");
    let app = site_conf(&d, "shop-static-app");
    let help = site_conf(&d, "shop-static-docs");

    // Each proxy reaches its own bucket, by its virtual-hosted name: TLS name, SNI and Host.
    for (conf, bucket) in [(app, "shop-site-app"), (help, "shop-site-docs")] {
        let origin = format!("{bucket}.fsn1.your-objectstorage.com");
        assert!(
            conf.contains(&format!("server {origin}:443 resolve;")),
            "{conf}"
        );
        assert!(
            conf.contains(&format!("proxy_set_header Host {origin};")),
            "{conf}"
        );
        assert!(
            conf.contains(&format!("proxy_ssl_name {origin};")),
            "{conf}"
        );
        assert!(conf.contains("proxy_ssl_server_name on;"), "{conf}");
        assert!(conf.contains("proxy_ssl_verify on;"), "{conf}");
        assert!(conf.contains("proxy_cache site;"), "{conf}");
    }
    // The SPA: a path with no file is its index.html with 200 (also while the bucket fails); the
    // bucket's answers are cached
    // for the site's HTML lifetime unless their Cache-Control says otherwise.
    assert!(app.contains("proxy_intercept_errors on;"), "{app}");
    assert!(
        app.contains("error_page 403 404 502 503 504 =200 /index.html;"),
        "{app}"
    );
    assert!(app.contains("proxy_cache_valid 200 60s;"), "{app}");
    // Not a SPA: a missing file is a 404, never the index; the site lives under /docs only.
    assert!(!help.contains("=200"), "{help}");
    assert!(help.contains("error_page 403 404 = @missing;"), "{help}");
    // ... and an extensionless path is redirected to its directory form, as a bucket website does.
    assert!(
        help.contains(r#"rewrite "^(.*/[^/.]+)$" $1/ permanent;"#),
        "{help}"
    );
    // Never a `return` with the decoded $uri in a Location header (CRLF would split it).
    assert!(!help.contains("return 301 $uri"), "{help}");
    assert!(help.contains("location /docs/ {"), "{help}");
    assert!(help.contains("return 301 /docs/;"), "{help}");
    // The HTML lifetime defaults to 60 seconds.
    assert!(help.contains("proxy_cache_valid 200 60s;"), "{help}");

    // The pods mount their own configuration and run as the app's pods do.
    for proxy in ["shop-static-app", "shop-static-docs"] {
        let pod = &object(&d, "Deployment", proxy)["spec"]["template"]["spec"];
        let volumes = pod["volumes"].as_array().expect("volumes");
        assert!(
            volumes.iter().any(|v| v["configMap"]["name"] == proxy),
            "{proxy}: {volumes:?}"
        );
        let c = &pod["containers"][0];
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
        assert_eq!(pod["automountServiceAccountToken"], false);
    }
}

#[test]
fn a_site_configuration_change_rolls_only_that_sites_pods() {
    let before = docs(&render(&spec(60)), "k8s/static.yaml");
    let after = docs(&render(&spec(30)), "k8s/static.yaml");
    assert!(site_conf(&after, "shop-static-app").contains("proxy_cache_valid 200 30s;"));
    assert_ne!(
        config_checksum(&before, "shop-static-app"),
        config_checksum(&after, "shop-static-app")
    );
    assert_eq!(
        config_checksum(&before, "shop-static-docs"),
        config_checksum(&after, "shop-static-docs")
    );
}

#[test]
fn traefik_dns_and_the_certificate_cover_the_sites_hosts() {
    let out = render(&spec(60));
    let route = docs(&out, "k8s/route.yaml");
    let cert = object(&route, "Certificate", "shop-web");
    let names: Vec<&str> = cert["spec"]["dnsNames"]
        .as_array()
        .expect("dnsNames")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        names,
        ["shop.example.com", "app.example.com", "help.example.com"]
    );
    let https = object(&route, "IngressRoute", "shop-web");
    let to = |host_rule: &str| {
        https["spec"]["routes"]
            .as_array()
            .expect("routes")
            .iter()
            .find(|r| {
                r["match"]
                    .as_str()
                    .is_some_and(|m| m.starts_with(host_rule))
            })
            .map(|r| r["services"][0]["name"].as_str().unwrap_or_default())
    };
    assert_eq!(
        to("Host(`app.example.com`) && PathPrefix(`/`)"),
        Some("shop-static-app")
    );
    assert_eq!(
        to("Host(`help.example.com`) && (Path(`/docs`) || PathPrefix(`/docs/`))"),
        Some("shop-static-docs")
    );
    let redirect = object(&route, "IngressRoute", "shop-web-redirect");
    for host in ["app.example.com", "help.example.com"] {
        assert!(
            redirect["spec"]["routes"]
                .as_array()
                .expect("routes")
                .iter()
                .any(|r| r["match"] == format!("Host(`{host}`)")),
            "{host} is not redirected to HTTPS"
        );
    }
    let tf = &out.files["terraform/30-platform/main.tf"];
    assert!(
        tf.contains(r#"["shop.example.com", "app.example.com", "help.example.com"]"#),
        "{tf}"
    );
    // The buckets: created public-read (GetObject only) by step `buckets`, in their own project.
    let buckets = out
        .plan
        .steps
        .iter()
        .find(|s| s.id == "buckets")
        .expect("step buckets");
    for b in ["shop-site-app", "shop-site-docs"] {
        assert!(
            buckets.run.contains(&format!(
                r#"s3_sites s3api put-bucket-policy --bucket {b} --policy '{{"Version":"2012-10-17","Statement":[{{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{b}/*"}}]}}'"#
            )),
            "{}",
            buckets.run
        );
    }
    crate::support::assert_deployable(&out);
}

#[test]
fn only_traefik_reaches_a_proxy_and_a_proxy_reaches_only_public_https() {
    let out = render(&spec(60));
    let policies = docs(&out, "k8s/network-policies.yaml");
    // The proxy's pods as the Deployment labels them.
    let d = docs(&out, "k8s/static.yaml");
    let labels: BTreeMap<String, String> =
        object(&d, "Deployment", "shop-static-app")["spec"]["template"]["metadata"]["labels"]
            .as_object()
            .expect("labels")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
    let proxy = Endpoint::Pod {
        namespace: "shop".into(),
        labels,
    };
    let traefik = pod("traefik", &[("app.kubernetes.io/name", "traefik")]);
    let stranger = pod("default", &[]);
    let frontend = pod(
        "shop",
        &[
            ("app.kubernetes.io/name", "shop-web"),
            ("app.kubernetes.io/component", "web"),
            ("app.kubernetes.io/part-of", "shop"),
            ("app.kubernetes.io/managed-by", "fredgen"),
        ],
    );
    let database = pod("shop", &[("cnpg.io/cluster", "shop-db")]);
    let private = Endpoint::Ip(Ipv4Addr::new(10, 0, 0, 5));
    let internet = Endpoint::Ip(PUBLIC_IP);

    let open = [
        (conn(&traefik, &proxy, "8080"), "Traefik to the proxy"),
        (conn(&proxy, &internet, "443"), "the proxy to its bucket"),
    ];
    for (c, what) in &open {
        assert!(admits(&policies, c), "{what} is blocked: {c}");
    }
    let shut = [
        (
            conn(&stranger, &proxy, "8080"),
            "a pod of another namespace to the proxy",
        ),
        (conn(&frontend, &proxy, "8080"), "the frontend to the proxy"),
        (
            conn(&traefik, &proxy, "8081"),
            "Traefik to the proxy's probe port",
        ),
        (
            conn(&proxy, &private, "443"),
            "the proxy to a private address",
        ),
        (
            conn(&proxy, &internet, "80"),
            "the proxy to the internet on HTTP",
        ),
        (conn(&proxy, &database, "5432"), "the proxy to PostgreSQL"),
    ];
    for (c, what) in &shut {
        assert!(!admits(&policies, c), "{what} is open: {c}");
    }
    // The declared flows name the proxy, and the rendered policies admit each of them.
    let ns = "shop";
    let declared: Vec<_> = out
        .flows
        .iter()
        .filter(|f| f.policy == "shop-static-app")
        .collect();
    assert_eq!(declared.len(), 2, "{declared:#?}");
    for f in declared {
        for c in fredgen::render::flows::connections(f, ns) {
            assert!(admits(&policies, &c), "declared but blocked: {c}");
        }
    }
}

#[test]
fn a_stack_without_sites_renders_no_proxy() {
    let text = spec(60)
        .lines()
        .filter(|l| !l.starts_with("static:") && !l.starts_with("  - {"))
        .collect::<Vec<_>>()
        .join("\n");
    let out = render(&text);
    assert!(!out.files.contains_key("k8s/static.yaml"));
    assert!(!out.files["apply.sh"].contains("s3_sites"));
    assert!(out.flows.iter().all(|f| !f.policy.contains("-static-")));
}

#[test]
fn a_site_may_not_take_a_process_name_of_the_stack() {
    let text = "name: shop
domain: shop.example.com
static:
  - { name: velero, host: app.example.com }
  - { name: ui, host: ui.example.com }
frontend:
  image: ghcr.io/acme/shop:1.0.0
  port: 8080
  calls: [static-ui]
services:
  - { name: static-ui, image: ghcr.io/acme/ui:1.0.0, port: 8080 }
targets:
  hetzner: { location: fsn1 }
";
    let loaded = fredgen::parse("shop.yaml", text.to_string()).expect("parses");
    let hetzner = fredgen::backend::find("hetzner").expect("target");
    let report = loaded.stack(hetzner, None).expect_err("refused").report();
    // A site named after a stack bucket gets a bucket of its own (`<prefix>-site-<name>`).
    assert!(!report.contains("static[0]"), "{report}");
    assert!(
        report.contains(
            "is served by the proxy `shop-static-ui`, which is already the name of a process"
        ),
        "{report}"
    );
}

//! Stage 2 — validation of `calls`: which internal services a process calls, the variable that
//! holds each URL, and the refusal of env URLs that would call a workload without declaring it.

use std::collections::{BTreeMap, BTreeSet};

use super::Call;
use super::validate::{Validator, is_env_name};
use crate::error::Pos;
use crate::spec::{RawCall, RawCallWith, RawStack, Sp};

/// Where a call's variable comes from, in the hint of a refused `env` or `secrets` name.
pub const CALL_ENV_FROM: &str = "from `calls` (the URL of a service this process calls)";

/// The services a process may call: spec name → container port, and their Kubernetes names.
pub struct Callees {
    stack: String,
    ports: BTreeMap<String, u16>,
}

/// The variable a call's URL is read from unless the call names one: `collector` → `COLLECTOR_URL`.
pub fn derived_env(service: &str) -> String {
    format!("{}_URL", service.to_ascii_uppercase().replace('-', "_"))
}

impl Callees {
    /// The services the spec declares (their names and ports as written; the services' own
    /// problems are reported where they are validated).
    pub fn of(raw: &RawStack, stack: &str) -> Callees {
        let ports = raw
            .services
            .iter()
            .flatten()
            .filter_map(|s| {
                let name = s.name.as_ref()?.value.clone();
                let port = s
                    .port
                    .as_ref()
                    .and_then(|p| u16::try_from(p.value).ok())
                    .filter(|p| *p > 0)
                    .unwrap_or(8080);
                Some((name, port))
            })
            .collect();
        Callees {
            stack: stack.to_string(),
            ports,
        }
    }

    /// The Kubernetes names of the stack's services.
    fn kube_names(&self) -> BTreeMap<String, &str> {
        self.ports
            .keys()
            .map(|n| (format!("{}-{n}", self.stack), n.as_str()))
            .collect()
    }

    /// A process's `calls`, resolved: each callee declared, not the process itself (`me`), called
    /// once, under a variable name no other of the process's injected variables has. Each call's
    /// variable joins `injected`, so the process's own `env` and `secrets` cannot reuse it.
    pub fn resolve(
        &self,
        v: &mut Validator,
        raw: &Option<Vec<Sp<RawCall>>>,
        path: &str,
        me: Option<&str>,
        injected: &mut Vec<(String, &'static str)>,
    ) -> Vec<Call> {
        let mut out: Vec<Call> = Vec::new();
        let mut first_of: BTreeMap<String, usize> = BTreeMap::new();
        for (i, item) in raw.iter().flatten().enumerate() {
            let item_path = format!("{path}[{i}]");
            let at = Pos::from_location(&item.referenced);
            let (service, service_at, env) = match &item.value {
                RawCall::Name(n) => (n.clone(), at, None),
                RawCall::With(RawCallWith { service: None, .. }) => {
                    v.error(
                        at,
                        &format!("{item_path}.service"),
                        "a call names the `service` it calls".into(),
                    )
                    .hint = Some("e.g. `{ service: collector, env: METRICS_URL }`".into());
                    continue;
                }
                RawCall::With(RawCallWith {
                    service: Some(s),
                    env,
                }) => (
                    s.value.clone(),
                    Pos::from_location(&s.referenced),
                    env.as_ref(),
                ),
            };
            let Some(&port) = self.ports.get(&service) else {
                let known: Vec<&str> = self.ports.keys().map(String::as_str).collect();
                let hint = if known.is_empty() {
                    "the stack declares no `services:`; a process calls only a service declared there"
                        .to_string()
                } else {
                    let close = crate::spec::suggest(&service, &known);
                    if close.starts_with("did you mean") {
                        close
                    } else {
                        format!("declared services: {}", known.join(", "))
                    }
                };
                v.error(
                    service_at,
                    &item_path,
                    format!("service `{service}` is not declared"),
                )
                .hint = Some(hint);
                continue;
            };
            if me == Some(service.as_str()) {
                v.error(
                    service_at,
                    &item_path,
                    format!("service `{service}` calls itself"),
                )
                .hint = Some(
                    "a process reaches its own pods without a call; remove it from `calls`".into(),
                );
                continue;
            }
            if let Some(first) = first_of.insert(service.clone(), i) {
                v.error(
                    service_at,
                    &item_path,
                    format!("service `{service}` is called twice"),
                )
                .hint = Some(format!(
                    "`{path}[{first}]` already calls it; one call gives one URL"
                ));
                continue;
            }
            let var = match env {
                Some(e) => {
                    let env_path = format!("{item_path}.env");
                    if !is_env_name(&e.value) {
                        v.error_at(
                            e,
                            &env_path,
                            format!("`{}` is not a valid environment variable name", e.value),
                        )
                        .hint = Some(
                            "letters, digits and `_`, not starting with a digit, e.g. `METRICS_URL`"
                                .into(),
                        );
                        continue;
                    }
                    (e.value.clone(), Pos::from_location(&e.referenced), env_path)
                }
                None => (derived_env(&service), service_at, item_path.clone()),
            };
            let (var, var_at, var_path) = var;
            if let Some((_, from)) = injected.iter().find(|(n, _)| *n == var) {
                let from = if *from == CALL_ENV_FROM {
                    "from another of its `calls`"
                } else {
                    from
                };
                v.error(
                    var_at,
                    &var_path,
                    format!("the URL of `{service}` would be `{var}`, which fredgen already sets"),
                )
                .hint = Some(format!(
                    "`{var}` comes {from}; name this call's variable with `{{ service: {service}, env: VAR }}`"
                ));
                continue;
            }
            injected.push((var.clone(), CALL_ENV_FROM));
            let name = format!("{}-{service}", self.stack);
            out.push(Call {
                url: format!("http://{name}.{}.svc.cluster.local:{port}", self.stack),
                service,
                name,
                env: var,
                port,
            });
        }
        out
    }
}

/// The host and explicit port of an `http(s)://` URL, or `None` for anything else.
pub fn url_host_port(value: &str) -> Option<(&str, Option<u16>)> {
    let rest = value
        .strip_prefix("http://")
        .or_else(|| value.strip_prefix("https://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    match authority.rsplit_once(':') {
        Some((h, p)) => Some((h, Some(p.parse().ok()?))),
        None => Some((authority, None)),
    }
}

/// Refuses a literal env value that is a URL of one of the stack's own in-cluster Services (the
/// frontend, a worker's metrics, a service): a call is declared with `calls`, which gives the URL
/// and opens exactly that flow; an undeclared one would be blocked by the NetworkPolicies.
pub fn refuse_env_urls(v: &mut Validator, raw: &RawStack, stack: &str, callees: &Callees) {
    let services = callees.kube_names();
    let mut others: BTreeSet<String> = BTreeSet::from([format!("{stack}-web")]);
    others.extend(
        raw.workers
            .iter()
            .flatten()
            .filter_map(|w| w.name.as_ref().map(|n| format!("{stack}-{}", n.value))),
    );
    let envs = raw
        .frontend
        .iter()
        .map(|f| ("frontend".to_string(), &f.env))
        .chain(
            raw.workers
                .iter()
                .flatten()
                .enumerate()
                .map(|(i, w)| (format!("workers[{i}]"), &w.env)),
        )
        .chain(
            raw.services
                .iter()
                .flatten()
                .enumerate()
                .map(|(i, s)| (format!("services[{i}]"), &s.env)),
        );
    for (path, env) in envs {
        for (key, value) in env.iter().flatten() {
            let Some((host, _)) = url_host_port(&value.value) else {
                continue;
            };
            let mut parts = host.split('.');
            let first = parts.next().unwrap_or_default();
            let in_ns = parts
                .next()
                .is_none_or(|ns| ns == stack && parts.next().is_none_or(|s| s == "svc"));
            if !in_ns {
                continue;
            }
            // The frontend and the workers first: a service named like one is refused anyway.
            let hint = if others.contains(first) {
                "only a service under `services:` is called; the NetworkPolicies let no process \
                 reach the frontend or a worker"
                    .to_string()
            } else if let Some(short) = services.get(first) {
                format!(
                    "declare the call instead: `calls: [{{ service: {short}, env: {key} }}]` sets \
                     `{key}` to the service's URL and opens exactly that flow"
                )
            } else {
                continue;
            };
            v.error_at(
                value,
                &format!("{path}.env.{key}"),
                format!("`{key}` is the URL of `{first}`, a workload of this stack, set by hand"),
            )
            .hint = Some(hint);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_their_host_and_port() {
        assert_eq!(
            url_host_port("http://acme-collector.acme.svc.cluster.local:9100/push"),
            Some(("acme-collector.acme.svc.cluster.local", Some(9100)))
        );
        assert_eq!(
            url_host_port("https://u:p@api:8443"),
            Some(("api", Some(8443)))
        );
        assert_eq!(url_host_port("http://web"), Some(("web", None)));
        assert_eq!(url_host_port("postgres://db:5432"), None);
        assert_eq!(url_host_port("http://x:notaport"), None);
    }

    #[test]
    fn derived_names_are_upper_case_with_underscores() {
        assert_eq!(derived_env("collector"), "COLLECTOR_URL");
        assert_eq!(derived_env("geo-ip"), "GEO_IP_URL");
    }
}

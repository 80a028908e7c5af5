//! Stage 3 — folder targets: a target defined by a folder, loaded at run time and validated like a
//! built-in one.
//!
//! A folder holds:
//!
//! - `target.yaml`, the manifest ([`Manifest`]): id, description, supported Kubernetes minors, the
//!   keys of its `targets.<id>` block with their types, the largest node pods can be scheduled on,
//!   settings two environments may not share, what of the spec it cannot serve, and its version
//!   pins (merged over the shared ones);
//! - `platform.yaml.j2`, which renders the platform knobs the shared templates read
//!   ([`Platform`]) from the stack and the target's keys;
//! - `templates/`, its templates: `apply.yaml.j2` (the apply steps), `README.section.md.j2`, and
//!   every file it renders (`terraform/<root>/…`, `k8s/…`), as a built-in's `templates/<id>/`.
//!
//! The folders in `targets/` of this repository are embedded and listed with the built-in targets;
//! a user adds one with `--target-dir` or `target_folders:` in the spec.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

use super::{NodeCapacity, Target, check_host_count, method_routes};
use crate::error::{Diagnostic, Error, Result};
use crate::model::Stack;
use crate::model::validate::Validator;
use crate::render::Platform;
use crate::spec::RawTarget;

/// The folder targets shipped with fredgen: every file below `targets/`, as (path with `/`,
/// text), sorted by path: the table build.rs writes.
static EMBEDDED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/targets.rs"));

/// The shipped folder targets' files, as (path below `targets/`, text), sorted by path.
#[cfg(test)]
pub(crate) fn embedded() -> &'static [(&'static str, &'static str)] {
    EMBEDDED
}

/// The manifest file of a folder target.
pub const MANIFEST: &str = "target.yaml";
/// The platform template of a folder target.
pub const PLATFORM: &str = "platform.yaml.j2";
/// The templates every folder target must have (below `templates/`).
pub const REQUIRED_TEMPLATES: [&str; 2] = ["apply.yaml.j2", "README.section.md.j2"];

/// `target.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The target's id: a DNS label, not a built-in target's.
    pub id: String,
    /// One line for `fredgen targets`.
    pub description: String,
    /// Kubernetes minors in support, newest first; the first is the default.
    pub kubernetes: Vec<String>,
    /// Whether the platform has a managed PostgreSQL (`postgres.placement: managed`).
    #[serde(default)]
    pub managed_postgres: bool,
    /// The largest node the app's pods can be scheduled on.
    pub largest_node: RawNode,
    /// The keys of `targets.<id>` beyond `kubernetes`, by name.
    #[serde(default)]
    pub keys: BTreeMap<String, KeySpec>,
    /// Keys two environments of one spec may not share.
    #[serde(default)]
    pub per_environment: Vec<PerEnvironment>,
    /// What of the spec the target cannot serve, each with the hint given when a spec uses it.
    #[serde(default)]
    pub refuse: Refuse,
    /// The most public hosts its load balancer serves, and why.
    pub max_hosts: Option<MaxHosts>,
    /// Version pins, by key, merged over the shared ones; templates read `versions.<key>`.
    #[serde(default)]
    pub versions: BTreeMap<String, String>,
}

/// `largest_node:` — a node's allocatable resources.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNode {
    /// How the platform names it.
    #[serde(rename = "type")]
    pub node_type: String,
    /// Allocatable CPU, a Kubernetes quantity (`3750m`).
    pub cpu: String,
    /// Allocatable memory, a Kubernetes quantity (`7Gi`).
    pub memory: String,
}

/// One key of the target's block.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    /// Its type.
    #[serde(rename = "type")]
    pub kind: KeyType,
    /// What it is, for errors.
    pub doc: String,
    /// Whether a spec must set it.
    #[serde(default)]
    pub required: bool,
    /// Its value when not set (an optional key without one is `null` in templates).
    pub default: Option<Value>,
    /// The values it may take, when they are few (a string key only).
    #[serde(default)]
    pub one_of: Vec<String>,
    /// The form a string key's value must have, beyond printable text.
    pub format: Option<KeyFormat>,
}

/// The forms a string key's value may be required to have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyFormat {
    /// A Kubernetes object name: a DNS-1123 subdomain.
    DnsSubdomain,
    /// An `https://host[:port][/path]` URL.
    HttpsUrl,
}

impl KeyFormat {
    fn accepts(self, s: &str) -> bool {
        match self {
            KeyFormat::DnsSubdomain => crate::model::validate::is_dns_subdomain(s),
            KeyFormat::HttpsUrl => s.strip_prefix("https://").is_some_and(|rest| {
                let host = rest.split(['/', ':']).next().unwrap_or_default();
                !host.is_empty()
                    && host
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
                    && rest
                        .bytes()
                        .all(|b| b.is_ascii_graphic() && !b"\"'`\\<>{}|^ ".contains(&b))
            }),
        }
    }
    fn describe(self) -> &'static str {
        match self {
            KeyFormat::DnsSubdomain => "a Kubernetes name (lowercase letters, digits, `-` and `.`)",
            KeyFormat::HttpsUrl => "an `https://` URL",
        }
    }
}

/// Whether a text a target key holds is printable: not empty, no control character, nothing
/// some reader takes as a line break, and no surrounding blank (every template can put it in a
/// comment, a shell word or a YAML scalar without it spilling over).
fn printable(s: &str) -> bool {
    !s.is_empty()
        && s.trim() == s
        && !s
            .chars()
            .any(|c| c.is_control() || crate::spec::chars::special(c).is_some())
}

/// The type of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    /// Text.
    String,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// A list of texts.
    Strings,
}

impl KeyType {
    fn accepts(self, v: &Value) -> bool {
        match self {
            KeyType::String => v.is_string(),
            KeyType::Integer => v.is_i64() || v.is_u64(),
            KeyType::Boolean => v.is_boolean(),
            KeyType::Strings => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
        }
    }
    fn describe(self) -> &'static str {
        match self {
            KeyType::String => "a string",
            KeyType::Integer => "an integer",
            KeyType::Boolean => "true or false",
            KeyType::Strings => "a list of strings",
        }
    }
}

/// A key two environments may not share.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerEnvironment {
    /// The key.
    pub key: String,
    /// Why not.
    pub why: String,
}

/// What of the spec a folder target cannot serve: each set entry is the hint the refusal gives.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Refuse {
    /// `static:` sites.
    #[serde(rename = "static")]
    pub static_sites: Option<String>,
    /// Routes that name their methods.
    pub method_routes: Option<String>,
    /// `dns.provider: cloud` (the default).
    pub dns_cloud: Option<String>,
}

/// `max_hosts:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxHosts {
    /// The limit.
    pub max: usize,
    /// Whose limit, e.g. "a Let's Encrypt certificate holds at most 100 names".
    pub why: String,
}

/// A target loaded from a folder.
#[derive(Debug)]
pub struct FolderTarget {
    id: &'static str,
    description: &'static str,
    kubernetes: &'static [&'static str],
    versions: &'static [(&'static str, &'static str)],
    per_environment: Vec<(&'static str, &'static str)>,
    node: NodeCapacity,
    manifest: Manifest,
    platform: Cow<'static, str>,
    /// Its templates, by path below `templates/`.
    pub templates: BTreeMap<String, Cow<'static, str>>,
    /// Where it was loaded from (`None`: shipped with fredgen).
    source: Option<String>,
}

impl KeySpec {
    /// The JSON Schema of the key's value, for the spec's schema (`fredgen schema`): its type,
    /// doc, values and default. Its `format` is checked by validation only.
    pub fn json_schema(&self) -> Value {
        let mut schema = match self.kind {
            KeyType::String => serde_json::json!({ "type": "string" }),
            KeyType::Integer => serde_json::json!({ "type": "integer" }),
            KeyType::Boolean => serde_json::json!({ "type": "boolean" }),
            KeyType::Strings => {
                serde_json::json!({ "type": "array", "items": { "type": "string" } })
            }
        };
        schema["description"] = self.doc.clone().into();
        if !self.one_of.is_empty() {
            schema["enum"] = self.one_of.clone().into();
        }
        if let Some(default) = &self.default {
            schema["default"] = default.clone();
        }
        schema
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The folder targets shipped in `targets/`, loaded once per process.
pub fn builtin() -> &'static [FolderTarget] {
    static TARGETS: OnceLock<Vec<FolderTarget>> = OnceLock::new();
    TARGETS.get_or_init(|| {
        let mut out = Vec::new();
        for name in crate::render::templates::folders(EMBEDDED) {
            let text = |p: &str| {
                let path = format!("{name}/{p}");
                EMBEDDED
                    .iter()
                    .find(|(f, _)| *f == path)
                    .map(|(_, body)| Cow::Borrowed(*body))
            };
            let templates =
                crate::render::templates::templates_below(EMBEDDED, &format!("{name}/templates/"))
                    .map(|(rel, body)| (rel.to_string(), Cow::Borrowed(body)))
                    .collect();
            // A test loads every shipped folder: a broken one never reaches a release.
            let target = build(
                &format!("targets/{name}"),
                text(MANIFEST),
                text(PLATFORM),
                templates,
                None,
            )
            .unwrap_or_else(|e| panic!("the shipped folder target `{name}` is invalid: {e}"));
            out.push(target);
        }
        out
    })
}

/// The largest file of a folder target fredgen reads.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// Reads one file of a user's folder target: a regular file (not a symbolic link, a FIFO or a
/// device), at most [`MAX_FILE_BYTES`], UTF-8; `None` when it does not exist.
fn read_regular(path: &Path) -> Result<Option<Cow<'static, str>>> {
    let refuse = |why: &str| {
        Err(Error::usage(
            format!("`{}` {why}", path.display()),
            "a folder target holds regular files and folders only, each file at most 1 MiB",
        ))
    };
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("reading", path, e)),
        Ok(m) if m.file_type().is_symlink() => return refuse("is a symbolic link"),
        Ok(m) if !m.is_file() => return refuse("is not a regular file"),
        Ok(m) if m.len() > MAX_FILE_BYTES => return refuse("is larger than 1 MiB"),
        Ok(_) => {}
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io("reading", path, e))?;
    match String::from_utf8(bytes) {
        Ok(t) => Ok(Some(Cow::Owned(crate::overrides::normalized(t)))),
        Err(_) => refuse("is not UTF-8 text"),
    }
}

/// Loads the folder target in `dir` (`shown` as the user wrote it).
pub fn load(dir: &Path, shown: &str) -> Result<FolderTarget> {
    const HINT: &str =
        "a folder target is a folder with target.yaml, platform.yaml.j2 and templates/";
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::usage(
                format!(
                    "the target folder `{}` does not exist",
                    crate::error::shown_path(shown)
                ),
                HINT,
            ));
        }
        Err(e) => return Err(Error::io("reading", dir, e)),
        Ok(m) if !m.is_dir() => {
            return Err(Error::usage(
                format!(
                    "the target folder `{}` is not a folder",
                    crate::error::shown_path(shown)
                ),
                HINT,
            ));
        }
        Ok(_) => {}
    }
    let mut found = Vec::new();
    let templates_dir = dir.join("templates");
    match std::fs::symlink_metadata(&templates_dir) {
        Ok(m) if m.is_dir() => {
            crate::render::templates::walk(&templates_dir, &templates_dir, &mut found)?;
        }
        Ok(_) => {
            return Err(Error::usage(
                format!("`{}` is not a folder", templates_dir.display()),
                "a folder target's templates are in its folder `templates/` (not a link)",
            ));
        }
        Err(_) => {}
    }
    let mut templates = BTreeMap::new();
    for (id, path) in found {
        if let Some(text) = read_regular(&path)? {
            templates.insert(id, text);
        }
    }
    build(
        shown,
        read_regular(&dir.join(MANIFEST))?,
        read_regular(&dir.join(PLATFORM))?,
        templates,
        Some(shown.to_string()),
    )
}

/// A folder target from its files, every problem reported against `shown/<file>`.
fn build(
    shown: &str,
    manifest: Option<Cow<'static, str>>,
    platform: Option<Cow<'static, str>>,
    templates: BTreeMap<String, Cow<'static, str>>,
    source: Option<String>,
) -> Result<FolderTarget> {
    let file = format!("{shown}/{MANIFEST}");
    let problem = |message: String, hint: &str| Error::Folder {
        source_text: None,
        diagnostics: vec![Diagnostic::new(&file, None, "", message).hint(hint.to_string())],
    };
    let Some(text) = manifest else {
        return Err(problem(
            format!("`{shown}` has no {MANIFEST}"),
            "a folder target is a folder with target.yaml, platform.yaml.j2 and templates/",
        ));
    };
    let m: Manifest = serde_saphyr::from_str(&text).map_err(|e| Error::Folder {
        source_text: Some(text.to_string()),
        diagnostics: vec![crate::spec::diagnose(&file, &text, &e)],
    })?;
    let mut v = Validator::new(&file);
    if crate::render::templates::builtin_folders().contains(&m.id.as_str()) {
        v.error(
            None,
            "id",
            format!("`{}` is reserved: fredgen's own templates are there", m.id),
        )
        .hint = Some("choose another id".into());
    }
    if !printable(&m.description) {
        v.error(
            None,
            "description",
            "the description is not one line of printable text".into(),
        );
    }
    // Minors fredgen knows to be in upstream support: those of the compiled targets.
    let known: std::collections::BTreeSet<&str> = super::COMPILED
        .iter()
        .flat_map(|t| t.supported_kubernetes().iter().copied())
        .collect();
    let minor = |k: &str| k.strip_prefix("1.").and_then(|m| m.parse::<u32>().ok());
    if m.kubernetes
        .windows(2)
        .any(|w| minor(&w[0]) <= minor(&w[1]))
    {
        v.error(
            None,
            "kubernetes",
            "list each minor once, newest first".into(),
        );
    }
    for (i, k) in m.kubernetes.iter().enumerate() {
        if !known.contains(k.as_str()) {
            v.error(
                None,
                &format!("kubernetes[{i}]"),
                format!("Kubernetes {k} is not a minor in upstream support"),
            )
            .hint = Some(format!(
                "minors in support: {}",
                known.iter().rev().copied().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    if m.max_hosts.as_ref().is_some_and(|h| h.max == 0) {
        v.error(
            None,
            "max_hosts.max",
            "a target serves at least one host".into(),
        );
    }
    for id in templates.keys() {
        let out = id.strip_suffix(".j2").unwrap_or(id);
        let plain =
            crate::overrides::plain_relative(id) && id.split('/').all(|c| !c.starts_with('.'));
        if !plain {
            v.error(
                None,
                "",
                format!("the template name `templates/{id}` is not a plain relative path"),
            )
            .hint = Some("letters, digits and `._-/`, no component starting with `.`".into());
        } else if crate::render::templates::shared_outputs()
            .iter()
            .any(|o| o == out)
        {
            v.error(
                None,
                "",
                format!("`templates/{id}` would render `{out}`, which fredgen renders itself"),
            )
            .hint = Some(
                "name it otherwise; to change a shared file, use a template folder or an override"
                    .into(),
            );
        }
    }
    if !crate::model::validate::is_dns_label(&m.id, 20) {
        v.error(
            None,
            "id",
            format!("`{}` is not a DNS label of at most 20 characters", m.id),
        )
        .hint = Some("lowercase letters, digits and `-`, e.g. `kubernetes`".into());
    }
    if m.kubernetes.is_empty() {
        v.missing(
            "kubernetes",
            "list the Kubernetes minors it supports, newest first, e.g. [\"1.36\", \"1.35\"]",
        );
    }
    for (i, k) in m.kubernetes.iter().enumerate() {
        let ok = k
            .strip_prefix("1.")
            .is_some_and(|minor| !minor.is_empty() && minor.bytes().all(|b| b.is_ascii_digit()));
        if !ok {
            v.error(
                None,
                &format!("kubernetes[{i}]"),
                format!("`{k}` is not a Kubernetes minor"),
            )
            .hint = Some("e.g. \"1.35\" (quoted)".into());
        }
    }
    let millicores = crate::model::quantity::millicores(&m.largest_node.cpu);
    let bytes = crate::model::quantity::bytes(&m.largest_node.memory);
    if millicores.is_some_and(|c| c == 0 || c > 1024 * 1000) {
        v.error(
            None,
            "largest_node.cpu",
            "a node has between 1m and 1024 CPUs".into(),
        );
    }
    if bytes.is_some_and(|b| b == 0 || b > 16u128 << 40) {
        v.error(
            None,
            "largest_node.memory",
            "a node has between 1 byte and 16Ti of memory".into(),
        );
    }
    if millicores.is_none() {
        v.error(
            None,
            "largest_node.cpu",
            format!("`{}` is not a CPU quantity", m.largest_node.cpu),
        )
        .hint = Some("e.g. `3750m` or `4`".into());
    }
    if bytes.is_none() {
        v.error(
            None,
            "largest_node.memory",
            format!("`{}` is not a memory quantity", m.largest_node.memory),
        )
        .hint = Some("e.g. `7Gi`".into());
    }
    for (key, spec) in &m.keys {
        if ["kubernetes", "api_allowed_cidrs"].contains(&key.as_str()) {
            v.error(
                None,
                &format!("keys.{key}"),
                format!("`{key}` is a key every target has"),
            )
            .hint = Some("declare only the target's own keys".into());
        }
        if let Some(d) = &spec.default
            && !spec.kind.accepts(d)
        {
            v.error(
                None,
                &format!("keys.{key}.default"),
                format!("the default is not {}", spec.kind.describe()),
            );
        }
        if (!spec.one_of.is_empty() || spec.format.is_some()) && spec.kind != KeyType::String {
            v.error(
                None,
                &format!("keys.{key}"),
                "`one_of` and `format` apply to a string key".into(),
            );
        }
        if let Some(d) = spec.default.as_ref().and_then(Value::as_str)
            && !spec.one_of.is_empty()
            && !spec.one_of.iter().any(|o| o == d)
        {
            v.error(
                None,
                &format!("keys.{key}.default"),
                "the default is not one of `one_of`".into(),
            );
        }
        if ["region", "project", "location"].contains(&key.as_str()) && spec.kind != KeyType::String
        {
            v.error(
                None,
                &format!("keys.{key}"),
                format!("`{key}` is a string key"),
            );
        }
        if spec.required && spec.default.is_some() {
            v.error(
                None,
                &format!("keys.{key}"),
                "a required key has no default".into(),
            );
        }
    }
    for (i, p) in m.per_environment.iter().enumerate() {
        if !m.keys.contains_key(&p.key) {
            v.error(
                None,
                &format!("per_environment[{i}].key"),
                format!("`{}` is not one of `keys`", p.key),
            );
        }
    }
    if platform.is_none() {
        v.error(None, "", format!("`{shown}` has no {PLATFORM}"))
            .hint = Some("it renders the platform knobs the shared templates read".into());
    }
    for t in REQUIRED_TEMPLATES {
        if !templates.contains_key(t) {
            v.error(None, "", format!("`{shown}` has no templates/{t}"))
                .hint = Some("every target renders its apply steps and its README section".into());
        }
    }
    let diagnostics = v.finish();
    if !diagnostics.is_empty() {
        return Err(Error::Folder {
            source_text: Some(text.to_string()),
            diagnostics,
        });
    }
    let kubernetes: Vec<&'static str> = m.kubernetes.iter().map(|k| leak(k.clone())).collect();
    let versions: Vec<(&'static str, &'static str)> = m
        .versions
        .iter()
        .map(|(k, v)| (leak(k.clone()), leak(v.clone())))
        .collect();
    Ok(FolderTarget {
        id: leak(m.id.clone()),
        description: leak(m.description.clone()),
        kubernetes: Box::leak(kubernetes.into_boxed_slice()),
        versions: Box::leak(versions.into_boxed_slice()),
        per_environment: m
            .per_environment
            .iter()
            .map(|p| (leak(p.key.clone()), leak(p.why.clone())))
            .collect(),
        node: NodeCapacity {
            node_type: leak(m.largest_node.node_type.clone()),
            millicores: millicores.unwrap_or_default(),
            bytes: bytes.unwrap_or_default(),
        },
        manifest: m,
        platform: platform.unwrap_or_default(),
        templates,
        source,
    })
}

impl FolderTarget {
    /// Every key the block holds, as JSON with its position: the built-in typed ones too, so a
    /// folder target may declare `region`.
    fn present(block: &RawTarget) -> Vec<(String, Value, Option<crate::error::Pos>)> {
        let mut out = Vec::new();
        let typed = [
            ("region", &block.region),
            ("project", &block.project),
            ("location", &block.location),
        ];
        for (k, v) in typed {
            if let Some(v) = v {
                out.push((
                    k.to_string(),
                    Value::String(v.value.clone()),
                    crate::error::Pos::from_location(&v.referenced),
                ));
            }
        }
        for (k, v) in &block.settings {
            out.push((
                k.clone(),
                v.value.clone(),
                crate::error::Pos::from_location(&v.referenced),
            ));
        }
        out
    }
}

impl Target for FolderTarget {
    fn id(&self) -> &'static str {
        self.id
    }
    /// The keys its `target.yaml` declares, each typed there.
    fn block_keys(&self) -> Vec<super::BlockKey> {
        self.manifest
            .keys
            .iter()
            .map(|(name, spec)| super::BlockKey {
                name: name.clone(),
                required: spec.required,
                description: self.description,
                values: super::KeyValues::Schema(spec.json_schema()),
            })
            .collect()
    }
    fn describe(&self) -> &'static str {
        self.description
    }
    fn supported_kubernetes(&self) -> &'static [&'static str] {
        self.kubernetes
    }
    fn has_managed_postgres(&self) -> bool {
        self.manifest.managed_postgres
    }
    fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }
    fn folder_templates(&self) -> Option<&BTreeMap<String, Cow<'static, str>>> {
        Some(&self.templates)
    }
    fn check_block(&self, v: &mut Validator, block: &RawTarget, path: &str) {
        let keys = &self.manifest.keys;
        let present = Self::present(block);
        for (key, value, at) in &present {
            let key_path = format!("{path}.{key}");
            let Some(spec) = keys.get(key) else {
                let mut known: Vec<&str> = keys.keys().map(String::as_str).collect();
                known.extend(["kubernetes", "api_allowed_cidrs"]);
                v.error(*at, &key_path, format!("unknown key `{key}` in `{path}`"))
                    .hint = Some(crate::spec::suggest(key, &known));
                continue;
            };
            let texts: Vec<&str> = match value {
                Value::String(t) => vec![t.as_str()],
                Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            if !spec.kind.accepts(value) {
                v.error(
                    *at,
                    &key_path,
                    format!("`{key}` must be {}", spec.kind.describe()),
                )
                .hint = Some(spec.doc.clone());
            } else if let Some(bad) = texts.iter().find(|t| !printable(t)) {
                v.error(
                    *at,
                    &key_path,
                    format!("`{key}` holds {bad:?}, which is empty, padded or not printable text"),
                )
                .hint = Some(spec.doc.clone());
            } else if let Some(f) = spec.format
                && let Some(bad) = texts.iter().find(|t| !f.accepts(t))
            {
                v.error(*at, &key_path, format!("`{bad}` is not {}", f.describe()))
                    .hint = Some(spec.doc.clone());
            } else if !spec.one_of.is_empty()
                && !value
                    .as_str()
                    .is_some_and(|s| spec.one_of.iter().any(|o| o == s))
            {
                v.error(
                    *at,
                    &key_path,
                    format!("`{key}` is not one of the values this target takes"),
                )
                .hint = Some(format!("one of: {}", spec.one_of.join(", ")));
            }
        }
        for (key, spec) in keys {
            if spec.required && !present.iter().any(|(k, _, _)| k == key) {
                v.missing(&format!("{path}.{key}"), &spec.doc);
            }
        }
    }
    fn settings(&self, block: &RawTarget) -> BTreeMap<String, Value> {
        let present = Self::present(block);
        self.manifest
            .keys
            .iter()
            .map(|(key, spec)| {
                let value = present
                    .iter()
                    .find(|(k, _, _)| k == key)
                    .map(|(_, v, _)| v.clone())
                    .or_else(|| spec.default.clone())
                    .unwrap_or(Value::Null);
                (key.clone(), value)
            })
            .collect()
    }
    fn largest_node(&self, _env: &str) -> NodeCapacity {
        self.node
    }
    fn check_stack(&self, v: &mut Validator, stack: &Stack) {
        let refuse = &self.manifest.refuse;
        if let Some(hint) = &refuse.static_sites {
            for (i, site) in stack.static_sites.iter().enumerate() {
                v.error(
                    None,
                    &format!("static[{i}]"),
                    format!(
                        "target `{}` does not serve static sites (`{}`)",
                        self.id, site.name
                    ),
                )
                .hint = Some(hint.clone());
            }
        }
        if let Some(hint) = &refuse.method_routes {
            for r in method_routes(stack) {
                v.error(
                    r.at,
                    &format!("{}.methods", r.spec_path),
                    format!("target `{}` cannot route by HTTP method", self.id),
                )
                .hint = Some(hint.clone());
            }
        }
        if let Some(hint) = &refuse.dns_cloud
            && stack.dns.cloudflare.is_none()
        {
            v.error(
                None,
                "dns.provider",
                format!("target `{}` has no cloud DNS", self.id),
            )
            .hint = Some(hint.clone());
        }
        if let Some(m) = &self.manifest.max_hosts {
            check_host_count(v, stack, m.max, &m.why);
        }
    }
    fn platform(&self, stack: &Stack) -> Result<Platform> {
        let id = format!("{}/{PLATFORM}", self.id);
        let fail = |message: String| Error::Template {
            template: id.clone(),
            message,
        };
        #[derive(serde::Serialize)]
        struct Context<'a> {
            stack: &'a Stack,
            target: BTreeMap<&'a str, &'a crate::model::TargetSettings>,
        }
        let ctx = Context {
            stack,
            target: BTreeMap::from([(self.id, &stack.target)]),
        };
        let env = crate::render::templates::plain_environment();
        let text = env
            .render_str(&self.platform, minijinja::value::Serde(&ctx))
            .map_err(|e| fail(format!("{e:#}")))?;
        let knobs: Platform = serde_saphyr::from_str(&text)
            .map_err(|e| fail(format!("the knobs it renders: {e}")))?;
        // Knobs whose default would be wrong on any platform: no StorageClass, and a frontend
        // NetworkPolicy open to every source (the load balancer's peers are always named).
        if knobs.storage_class.is_empty() || knobs.lb_peers.is_empty() {
            return Err(fail(
                "it must set `storage_class` and `lb_peers` (where the load balancer's traffic to \
                 the public pods comes from)"
                    .into(),
            ));
        }
        Ok(knobs)
    }
    fn per_environment(&self, stack: &Stack) -> Vec<(&'static str, String, &'static str)> {
        self.per_environment
            .iter()
            .filter_map(|(key, why)| {
                let value = stack.target.settings.get(*key)?;
                let text = match value {
                    Value::String(s) => s.clone(),
                    Value::Null => return None,
                    other => other.to_string(),
                };
                Some((*key, text, *why))
            })
            .collect()
    }
    fn versions(&self) -> &'static [(&'static str, &'static str)] {
        self.versions
    }
}

//! Stage 1 (editor view) — the JSON Schema of the stack spec, derived from the raw types
//! ([`super::RawStack`]) and the validator's own rules, for editors (yaml-language-server) and
//! `fredgen schema`.
//!
//! It checks what a single key can be checked for: the keys a spec must set, closed sets of values
//! (target ids, regions, locations, Kubernetes minors, egress words, DNS providers...), the forms
//! of names, paths, images and quantities, and the ranges of numbers. Each enum is built from the
//! constant the validator checks against, and each pattern mirrors one of the validator's
//! functions (the tests below compare them on generated strings). Where a rule cannot be written as a pattern the
//! schema is looser than `fredgen validate`, never stricter: rules across keys (references,
//! uniqueness, `min` ≤ `max`, what a target supports) are the validator's alone.
//!
//! Two refinements over the derived schema follow what the parser and the validator do:
//!
//! - A spec without `environments` is complete and must set every required key, while an
//!   environment overlay (and a base spec whose environments fill in the rest) may leave any of
//!   them out. The derived definitions therefore hold no `required`; the required keys are
//!   gathered into one definition, [`COMPLETE`], that the root applies when the spec declares no
//!   `environments`; when it does, [`COMPLETE_ACROSS`] asks for each key reached through
//!   mappings in the base or in every environment (the keys of list items are left to the
//!   validator there: an overlay merges them by name).
//! - In the base spec a key set to nothing (`delivery:`, `postgres: ~`) is a key not set, so an
//!   optional key's schema admits `null` there; an overlay refuses it (it would silently keep the
//!   base's value, [`super::merge::overlay_nulls`]), which [`NO_NULL`] states for overlays.
//! - A text key reads any scalar as the text it is written as (`version: 17`, `cpu: 2`,
//!   `DEBUG: true`), so its schema admits numbers and booleans too ([`scalar_text`]); a boolean
//!   key reads `"true"` and `"false"` as well, an integer key a quoted integer.

use schemars::Schema;
use serde_json::{Map, Value, json};

use super::RawStack;
use crate::backend::{self, Target};
use crate::model::validate::MAX_NAME;

/// The schema's identity: bumped (`:2`, `:3`) when a change refuses specs the previous one took.
pub const SCHEMA_ID: &str = "urn:fredgen:stack-spec:1";

/// The definition that holds every key a complete spec must set.
pub const COMPLETE: &str = "CompleteStack";

/// The definition that holds the keys of [`COMPLETE`] for a spec with `environments`: each is
/// set in the base or in every environment ([`complete_across`]).
pub const COMPLETE_ACROSS: &str = "CompleteAcrossEnvironments";

/// The definition of one environment overlay.
pub const OVERLAY: &str = "EnvironmentOverlay";

/// The definition that refuses `null` as the value of any key of a mapping, at any depth of
/// mappings (not inside lists), as overlays do.
pub const NO_NULL: &str = "NoNullInMappings";

/// A DNS-1123 label ([`crate::model::validate::is_dns_label`]); its length is a `maxLength`.
pub const DNS_LABEL: &str = "^[a-z]([-a-z0-9]*[a-z0-9])?$";

/// A fully qualified host name (`is_hostname` in the validator): two or more DNS labels of
/// lowercase letters, digits and inner `-`. The validator also refuses IP addresses and
/// non-public domains.
pub const HOSTNAME: &str =
    r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$";

/// An HTTP path every load balancer takes ([`crate::model::validate::is_http_path`]).
pub const HTTP_PATH: &str = "^/([-A-Za-z0-9._~/@:+&=]|%[0-9A-Fa-f]{2})*$";

/// A Kubernetes quantity no lower than zero ([`crate::model::quantity::parse`]): a decimal with
/// an optional `+` (or a `-` before a zero), then a binary or decimal suffix or an exponent.
pub const QUANTITY: &str = r"^(\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)|-(0+(\.0*)?|\.0+))([KMGTPE]i|[numkMGTPE]|[eE][-+]?[0-9]+)?$";

/// A volume size in whole GiB (`quantity_gi` in the validator; its lower bound is per key).
pub const GIBIBYTES: &str = "^[1-9][0-9]*Gi$";

/// A quoted integer as YAML spells one (decimal, `0x`, `0o`, `0b`, `_` between digits), loosely.
pub const INTEGER_TEXT: &str = r"^\s*[-+]?[0-9][0-9A-Fa-fxob_]*\s*$";

/// A rollout step's percentage: the validator reads the number before `%` as an unsigned integer.
pub const PERCENT: &str = r"^\+?[0-9]+%$";

/// A Slack channel ([`crate::model::validate::is_slack_channel`]).
pub const SLACK_CHANNEL: &str = "^#[a-z0-9_-]{1,80}$";

/// A secret name ([`crate::model::validate::is_secret_name`]): upper case letters, digits and
/// `_`, starting with a letter and ending with a letter or digit.
pub const SECRET_NAME: &str = "^[A-Z]([A-Z0-9_]*[A-Z0-9])?$";

/// An environment variable name (`is_env_name` in the validator).
pub const ENV_NAME: &str = "^[A-Za-z_][A-Za-z0-9_]*$";

/// A RabbitMQ queue name as the validator takes it (at most 200 characters).
pub const QUEUE_NAME: &str = "^[A-Za-z0-9._-]{1,200}$";

/// A GitHub repository `owner/name` ([`crate::model::delivery::is_repository`]), except that it
/// lets the names `.` and `..` through.
pub const REPOSITORY: &str = "^[A-Za-z0-9]([-A-Za-z0-9]{0,37}[A-Za-z0-9])?/[A-Za-z0-9._-]{1,100}$";

/// `owner/repo[/path]@<40 lowercase hex>`: the fredgen action, pinned by commit (the validator's
/// `is_pinned_action`, looser on the path).
pub const PINNED_ACTION: &str = "^[A-Za-z0-9]([-A-Za-z0-9]{0,37}[A-Za-z0-9])?/[A-Za-z0-9._-]{1,100}(/[A-Za-z0-9._/-]+)?@[0-9a-f]{40}$";

/// An IPv4 CIDR (`is_ipv4_cidr` in the validator), loosely: the validator also checks each
/// octet and that the prefix length (which it reads as an unsigned integer) is at most 32.
pub const IPV4_CIDR: &str = r"^[0-9]{1,3}(\.[0-9]{1,3}){3}/\+?[0-9]+$";

/// An image reference with an exact tag or digest ([`crate::model::validate::image_problem`]):
/// `[registry[:port]/]path[:tag][@digest]` as distribution/reference parses it, with a tag or a
/// digest. Looser than the validator on a bracketed IPv6 registry and on lengths (the name at
/// most 255 characters); `:latest` without a digest is [`LATEST_IMAGE`].
pub const IMAGE: &str = concat!(
    r"^(([a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)*",
    r"|\[[0-9A-Fa-f:.]+\])(:[0-9]+)?/)?",
    r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*",
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(@(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}))?",
    r"|@(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}))$",
);

/// An image whose tag is `latest` and that has no digest: the validator refuses it.
pub const LATEST_IMAGE: &str = "^[^@]*:latest$";

/// A quantity that is zero however it is written (`0`, `-0.0`, `0Mi`, `0e3`): neither a CPU
/// request (at least `1m`) nor a memory request (at least `16Mi`).
pub const ZERO_QUANTITY: &str = r"^[-+]?(0+(\.0*)?|\.0+)([KMGTPE]i|[numkMGTPE]|[eE][-+]?[0-9]+)?$";

/// A PostgreSQL volume: at least 10 GiB (`quantity_gi` with its lower bound for `postgres`).
pub const POSTGRES_GIBIBYTES: &str = "^[1-9][0-9]+Gi$";

/// An egress destination ends in `:port` (`destination` in the validator, which reads the port
/// after the last `:` as an unsigned integer and checks the rest).
pub const EGRESS_ITEM: &str = r":\+?[0-9]+$";

/// The JSON Schema of the spec, as [`schema_json`] prints it (draft-07, which editors' YAML
/// language servers support best).
pub fn schema() -> Schema {
    let mut root = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<RawStack>();
    assemble(&mut root);
    root
}

/// The schema the parser's tree check reads ([`super::tree::check_and_prune`]): the types the
/// raw types derive, with no key required (a missing key is the validator's to report, with its
/// hint) and each target's block as [`super::RawTarget`] reads it (a target's keys are checked by
/// the target). Only its types, keys and shapes are read; [`schema`] refines it for editors.
pub fn parser_schema() -> Schema {
    let derived = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<RawStack>();
    let mut value = Value::from(derived);
    drop_required(&mut value);
    if let Some(Value::Object(targets)) = value.pointer_mut("/properties/targets") {
        targets.remove("properties");
    }
    Schema::try_from(value).unwrap_or_default()
}

/// Removes every `required`, letting the keys it named take `null` (a key set to nothing).
fn drop_required(schema: &mut Value) {
    match schema {
        Value::Object(obj) => {
            if let Some(Value::Array(required)) = obj.remove("required")
                && let Some(Value::Object(props)) = obj.get_mut("properties")
            {
                for key in required.iter().filter_map(Value::as_str) {
                    if let Some(prop) = props.get_mut(key) {
                        nullable(prop);
                    }
                }
            }
            obj.values_mut().for_each(drop_required);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_required),
        _ => {}
    }
}

/// [`schema`] as pretty-printed JSON with a trailing newline, as `fredgen schema` prints it.
pub fn schema_json() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    text.push('\n');
    text
}

/// Splits the derived schema into the overlay's shape (nothing required) and the complete spec's
/// required keys, and gives the root its identity.
fn assemble(root: &mut Schema) {
    let Some(obj) = root.as_object_mut() else {
        return;
    };
    let mut definitions = match obj.remove("definitions") {
        Some(Value::Object(d)) => d,
        _ => Map::new(),
    };
    // The fields of the raw types (not the variants of the untagged enums, whose readers take
    // text only as text); `targets` sets its own, since a folder target's keys are typed.
    if let Some(Value::Object(props)) = obj.get_mut("properties") {
        props
            .iter_mut()
            .filter(|(key, _)| *key != "targets")
            .for_each(|(_, sub)| scalar_text_fields(sub));
    }
    for def in definitions.values_mut() {
        if let Some(Value::Object(props)) = def.get_mut("properties") {
            props.values_mut().for_each(scalar_text_fields);
        }
    }
    if let Some(Value::Object(props)) = obj.get_mut("properties") {
        refine(props, &mut definitions);
    }
    let mut complete = Map::new();
    gather_required(obj, &mut definitions, &mut complete);
    // A complete spec declares a target (an environment may declare one for itself).
    if let Some(Value::Object(props)) = complete.get_mut("properties")
        && let Some(Value::Object(targets)) = props.get_mut("targets")
    {
        targets.insert("minProperties".into(), 1.into());
    }
    let mut complete = Value::Object(complete);
    definitions.insert(COMPLETE_ACROSS.into(), complete_across(&complete));
    forbid_null_required(&mut complete);

    // An overlay: the spec's keys less those set once in the base, and nothing required.
    let mut overlay = obj.clone();
    overlay.remove("required");
    overlay.remove("$schema");
    overlay.remove("title");
    overlay.insert(
        "description".into(),
        "One environment overlay: merged over the base spec with `--env`; it sets only what differs."
            .into(),
    );
    if let Some(Value::Object(props)) = overlay.get_mut("properties") {
        for base_only in [
            "name",
            "environments",
            "target_folders",
            "templates",
            "overrides",
            "delivery",
        ] {
            props.remove(base_only);
        }
    }
    // The base: the overlay's own keys are refused there.
    if let Some(Value::Object(props)) = obj.get_mut("properties") {
        props.remove("cluster");
        props.remove("preview");
        if let Some(envs) = props.get_mut("environments") {
            replace_root_ref(envs);
        }
    }
    definitions.insert(OVERLAY.into(), Value::Object(overlay));
    definitions.insert(COMPLETE.into(), complete);
    definitions.insert(
        NO_NULL.into(),
        json!({
            "additionalProperties": {
                "not": { "type": "null" },
                "allOf": [{ "$ref": format!("#/definitions/{NO_NULL}") }],
            }
        }),
    );

    let mut out = Map::new();
    for key in ["$schema", "$id", "title", "description"] {
        let value = match key {
            "$id" => Some(SCHEMA_ID.into()),
            "description" => {
                obj.remove(key);
                Some(
                    "A fredgen stack spec: one stack, its targets and its environments' overlays. \
                     `fredgen validate` checks what spans keys."
                        .into(),
                )
            }
            _ => obj.remove(key),
        };
        if let Some(value) = value {
            out.insert(key.into(), value);
        }
    }
    out.append(obj);
    out.insert("if".into(), json!({ "required": ["environments"] }));
    out.insert(
        "then".into(),
        json!({ "$ref": format!("#/definitions/{COMPLETE_ACROSS}") }),
    );
    out.insert(
        "else".into(),
        json!({ "$ref": format!("#/definitions/{COMPLETE}") }),
    );
    out.insert("definitions".into(), Value::Object(definitions));
    *root = Schema::from(out);
}

/// The validator's rules on single keys the derived schema does not state: exact images,
/// PostgreSQL's versions and volume floor, non-zero requests, at least one replica of the
/// frontend and of a service, no secret listed twice, `host:port` egress destinations.
fn refine(root: &mut Map<String, Value>, defs: &mut Map<String, Value>) {
    for (holder, key, rule) in [
        ("frontend", "image", Rule::Image),
        ("RawWorker", "image", Rule::Image),
        ("RawService", "image", Rule::Image),
        ("frontend", "replicas", Rule::AtLeastOneReplica),
        ("RawService", "replicas", Rule::AtLeastOneReplica),
        ("frontend", "secrets", Rule::Unique),
        ("RawWorker", "secrets", Rule::Unique),
        ("RawService", "secrets", Rule::Unique),
        ("RawPostgres", "version", Rule::PostgresVersion),
        ("RawPostgres", "storage", Rule::Pattern(POSTGRES_GIBIBYTES)),
        ("RawResources", "cpu", Rule::NotZero),
        ("RawResources", "memory", Rule::NotZero),
    ] {
        let holder = match holder {
            "frontend" => root.get_mut(holder),
            _ => defs.get_mut(holder),
        };
        if let Some(schema) = holder
            .and_then(|h| h.get_mut("properties"))
            .and_then(|p| p.get_mut(key))
        {
            rule.apply(schema);
        }
    }
    // The list form of egress: its items are text only.
    if let Some(Value::Array(forms)) = defs.get_mut("RawEgress").and_then(|e| e.get_mut("anyOf")) {
        for items in forms.iter_mut().filter_map(|f| f.get_mut("items")) {
            items["pattern"] = EGRESS_ITEM.into();
        }
    }
}

/// One of [`refine`]'s rules.
enum Rule {
    /// [`IMAGE`], and not [`LATEST_IMAGE`].
    Image,
    /// `min` at least 1 (the replicas' definition, shared with workers, allows 0).
    AtLeastOneReplica,
    /// No item twice.
    Unique,
    /// A major some target supports.
    PostgresVersion,
    /// Not [`ZERO_QUANTITY`].
    NotZero,
    /// A pattern in place of the derived one.
    Pattern(&'static str),
}

impl Rule {
    fn apply(&self, schema: &mut Value) {
        let Some(obj) = schema.as_object_mut() else {
            return;
        };
        match self {
            Rule::Image => {
                obj.insert("pattern".into(), IMAGE.into());
                obj.insert(
                    "not".into(),
                    json!({ "type": "string", "pattern": LATEST_IMAGE }),
                );
            }
            Rule::NotZero => {
                obj.insert(
                    "not".into(),
                    json!({ "anyOf": [
                        { "type": "string", "pattern": ZERO_QUANTITY },
                        { "type": "number", "maximum": 0 },
                    ] }),
                );
            }
            Rule::Unique => {
                obj.insert("uniqueItems".into(), true.into());
            }
            Rule::Pattern(pattern) => {
                obj.insert("pattern".into(), (*pattern).into());
            }
            Rule::AtLeastOneReplica => {
                let description = obj.remove("description");
                let derived = Value::Object(std::mem::take(obj));
                if let Some(d) = description {
                    obj.insert("description".into(), d);
                }
                obj.insert(
                    "allOf".into(),
                    json!([derived, { "properties": { "min": { "minimum": 1 } } }]),
                );
            }
            Rule::PostgresVersion => {
                // Every target reads the majors of `supported_postgres`; a spec may name any
                // target's.
                let mut majors: Vec<&str> = Vec::new();
                for target in backend::Registry::builtin().all() {
                    for (major, _) in target.supported_postgres() {
                        if !majors.contains(major) {
                            majors.push(major);
                        }
                    }
                }
                let mut values: Vec<Value> = majors.into_iter().map(Value::from).collect();
                values.push(Value::Null);
                obj.insert("enum".into(), Value::Array(values));
                scalar_text(schema);
            }
        }
    }
}

/// The keys [`COMPLETE`] requires through mappings (not the items of lists, which an overlay
/// merges by name), each as what every environment's merged spec needs: mappings merge key by
/// key, so the merged spec of each environment sets `P.k` wherever its mapping `P` is set
/// exactly when the base sets `P.k`, or every environment does, or the base does not set `P` and
/// each environment that sets `P` sets `P.k`. A key set to nothing is not set in the base. With
/// `environments: {}` the base alone is checked, as the validator does.
fn complete_across(complete: &Value) -> Value {
    let mut keys = Vec::new();
    required_paths(complete, &mut Vec::new(), &mut keys);
    let rules: Vec<Value> = keys
        .into_iter()
        .filter_map(|(path, leaf)| {
            let (key, parent) = path.split_last()?;
            // A guest environment (`cluster:`) takes its host's settings and may not set
            // `targets`: it is not asked for the key.
            let every_env = |schema: Value| {
                json!({
                    "required": ["environments"],
                    "properties": { "environments": {
                        "type": "object",
                        "minProperties": 1,
                        "additionalProperties": {
                            "anyOf": [{ "required": ["cluster"] }, schema],
                        },
                    } },
                })
            };
            let has = sets(&path, leaf);
            let mut either = vec![has.clone(), every_env(has)];
            if !parent.is_empty() {
                let mut when_set = json!({ "required": [key] });
                for step in parent.iter().rev() {
                    when_set = json!({ "properties": { step: when_set } });
                }
                either.push(json!({
                    "not": sets(parent, json!({ "type": "object" })),
                    "properties": { "environments": { "additionalProperties": when_set } },
                }));
            }
            Some(json!({ "anyOf": either }))
        })
        .collect();
    json!({ "allOf": rules })
}

/// Each path to a key `complete` requires through `properties`, with what the key's own node
/// states beyond its keys (`minProperties`).
fn required_paths(complete: &Value, at: &mut Vec<String>, out: &mut Vec<(Vec<String>, Value)>) {
    let props = complete.get("properties").and_then(Value::as_object);
    for key in complete
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let mut leaf = json!({ "not": { "type": "null" } });
        if let Some(min) = props
            .and_then(|p| p.get(key))
            .and_then(|k| k.get("minProperties"))
        {
            leaf["minProperties"] = min.clone();
        }
        let mut path = at.clone();
        path.push(key.to_string());
        out.push((path, leaf));
    }
    for (key, sub) in props.into_iter().flatten() {
        at.push(key.clone());
        required_paths(sub, at, out);
        at.pop();
    }
}

/// Makes each key `complete` requires through `properties` refuse `null` too: a key set to
/// nothing in the base is a key not set, so `domain: ~` is as missing as no `domain`.
fn forbid_null_required(node: &mut Value) {
    let Some(obj) = node.as_object_mut() else {
        return;
    };
    let required: Vec<String> = obj
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    if !required.is_empty() {
        obj.entry("properties").or_insert_with(|| json!({}));
    }
    let Some(props) = obj.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for key in required {
        if let Some(entry) = props
            .entry(key)
            .or_insert_with(|| json!({}))
            .as_object_mut()
        {
            entry
                .entry("not")
                .or_insert_with(|| json!({ "type": "null" }));
        }
    }
    props.values_mut().for_each(forbid_null_required);
}

/// A schema that holds when the mappings along `path` are set and its last key satisfies `leaf`.
fn sets(path: &[String], leaf: Value) -> Value {
    path.iter().rev().fold(leaf, |inner, key| {
        json!({
            "type": "object",
            "required": [key],
            "properties": { key: inner },
        })
    })
}

/// Moves every `required` reachable from `schema` through `properties`, `additionalProperties`,
/// `items`, `$ref` and the variants of `allOf` and `anyOf` into `into`, a schema of the same shape that holds only them (but `name`,
/// required everywhere).
fn gather_required(
    schema: &mut Map<String, Value>,
    defs: &mut Map<String, Value>,
    into: &mut Map<String, Value>,
) {
    if let Some(Value::Array(required)) = schema.remove("required") {
        // `name` is required everywhere: the stack's is set once in the base, and an item of
        // `workers`, `services` or `static` is matched by it in an overlay.
        let (always, complete): (Vec<Value>, Vec<Value>) =
            required.into_iter().partition(|k| k == "name");
        if !always.is_empty() {
            schema.insert("required".into(), Value::Array(always));
        }
        // The others may still be set to nothing in a base that leaves them to its environments
        // (schemars makes a required `Option` non-null).
        if let Some(Value::Object(props)) = schema.get_mut("properties") {
            for key in complete.iter().filter_map(Value::as_str) {
                if let Some(prop) = props.get_mut(key) {
                    nullable(prop);
                }
            }
        }
        if !complete.is_empty() {
            into.insert("required".into(), Value::Array(complete));
        }
    }
    if let Some(Value::String(r)) = schema.get("$ref").cloned()
        && let Some(name) = r.strip_prefix("#/definitions/")
        && let Some(Value::Object(mut def)) = defs.remove(name)
    {
        gather_required(&mut def, defs, into);
        defs.insert(name.into(), Value::Object(def));
    }
    // `allOf: [$ref]` (a `$ref` with a description), `anyOf: [$ref, null]` (an optional one).
    for key in ["allOf", "anyOf"] {
        if let Some(Value::Array(parts)) = schema.get_mut(key) {
            for part in parts.iter_mut().filter_map(Value::as_object_mut) {
                gather_required(part, defs, into);
            }
        }
    }
    if let Some(Value::Object(props)) = schema.get_mut("properties") {
        let mut inner = Map::new();
        for (key, sub) in props.iter_mut() {
            if let Value::Object(sub) = sub {
                let mut one = Map::new();
                gather_required(sub, defs, &mut one);
                if !one.is_empty() {
                    inner.insert(key.clone(), Value::Object(one));
                }
            }
        }
        if !inner.is_empty() {
            into.insert("properties".into(), Value::Object(inner));
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(Value::Object(sub)) = schema.get_mut(key) {
            let mut one = Map::new();
            gather_required(sub, defs, &mut one);
            if !one.is_empty() {
                into.insert(key.into(), Value::Object(one));
            }
        }
    }
}

/// [`scalar_text`] over a field's schema and the fields, items and values inside it.
fn scalar_text_fields(schema: &mut Value) {
    scalar_text(schema);
    quoted_booleans(schema);
    quoted_integers(schema);
    if let Some(Value::Object(props)) = schema.get_mut("properties") {
        props.values_mut().for_each(scalar_text_fields);
    }
    for key in ["items", "additionalProperties"] {
        if let Some(sub) = schema.get_mut(key) {
            scalar_text_fields(sub);
        }
    }
}

/// The starts of the patterns no number's text matches.
const NOT_A_NUMBER: [&str; 4] = ["^[a-z]", "^[A-Z]", "^#", "^/"];

/// Widens a text schema to the scalars a text key reads (numbers and booleans, as written), and
/// its `enum` to the numbers its texts spell (`"4.3"` is also written `4.3`). Its `pattern` and
/// lengths apply to strings only, so a number is checked by the validator alone, but where the
/// pattern's first character is one no number starts with ([`NOT_A_NUMBER`]: a name, a secret,
/// a path, a channel) a number is refused, as the validator refuses its text.
pub fn scalar_text(schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    let types = match obj.get("type") {
        Some(Value::String(t)) if t == "string" => vec![json!("string")],
        Some(Value::Array(t)) if t.contains(&json!("string")) => t.clone(),
        _ => return,
    };
    // A number is written with a digit, a sign or a `.` first (`17`, `-1`, `.5`, `.inf`), so a
    // pattern whose first character is a letter, `#` or `/` takes no number's text.
    let no_number = obj
        .get("pattern")
        .and_then(Value::as_str)
        .is_some_and(|p| NOT_A_NUMBER.iter().any(|start| p.starts_with(start)));
    let mut widened = vec![json!("string"), json!("number"), json!("boolean")];
    if no_number {
        widened.remove(1);
    }
    widened.extend(types.into_iter().filter(|t| t == "null"));
    obj.insert("type".into(), Value::Array(widened));
    if let Some(Value::Array(values)) = obj.get_mut("enum") {
        let numbers: Vec<Value> = values
            .iter()
            .filter_map(Value::as_str)
            .filter_map(|s| serde_json::from_str::<serde_json::Number>(s).ok())
            .map(Value::Number)
            .collect();
        values.extend(numbers);
    }
}

/// Widens a boolean schema to the quoted `"true"` and `"false"`, which a boolean key reads too.
fn quoted_booleans(schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    let nullable = match obj.get("type") {
        Some(Value::String(t)) if t == "boolean" => false,
        Some(Value::Array(t)) if t.contains(&json!("boolean")) && !t.contains(&json!("string")) => {
            t.contains(&json!("null"))
        }
        _ => return,
    };
    let mut values = vec![json!(true), json!(false), json!("true"), json!("false")];
    let mut types = vec![json!("boolean"), json!("string")];
    if nullable {
        values.push(Value::Null);
        types.push(json!("null"));
    }
    obj.insert("type".into(), Value::Array(types));
    obj.insert("enum".into(), Value::Array(values));
}

/// Widens an integer schema to the quoted integers an integer key reads too (`"8000"`,
/// `"0x1F40"`, `"8_000"`); its range applies to numbers only.
fn quoted_integers(schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    let mut types = match obj.get("type") {
        Some(Value::String(t)) if t == "integer" => vec![json!("integer")],
        Some(Value::Array(t)) if t.contains(&json!("integer")) && !t.contains(&json!("string")) => {
            t.clone()
        }
        _ => return,
    };
    types.insert(1, json!("string"));
    obj.insert("type".into(), Value::Array(types));
    obj.insert("pattern".into(), INTEGER_TEXT.into());
    if let Some(Value::Array(values)) = obj.get_mut("enum") {
        let texts: Vec<Value> = values
            .iter()
            .filter_map(Value::as_i64)
            .map(|n| n.to_string().into())
            .collect();
        values.extend(texts);
    }
}

/// Lets a schema take `null` too.
fn nullable(schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    match obj.get_mut("type") {
        Some(Value::Array(types)) => {
            if !types.contains(&json!("null")) {
                types.push(json!("null"));
            }
        }
        Some(Value::String(t)) if t != "null" => {
            let t = std::mem::take(t);
            obj.insert("type".into(), json!([t, "null"]));
        }
        Some(_) => return,
        None => {
            let description = obj.remove("description");
            let inner = std::mem::take(obj);
            obj.insert("anyOf".into(), json!([inner, { "type": "null" }]));
            if let Some(d) = description {
                obj.insert("description".into(), d);
            }
            return;
        }
    }
    if let Some(Value::Array(values)) = obj.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
}

/// Points the root's self-reference (`environments`' values) at the overlay's definition.
fn replace_root_ref(schema: &mut Value) {
    match schema {
        Value::Object(obj) => {
            if obj.get("$ref") == Some(&json!("#")) {
                obj.remove("$ref");
                obj.insert(
                    "allOf".into(),
                    json!([
                        { "$ref": format!("#/definitions/{OVERLAY}") },
                        { "$ref": format!("#/definitions/{NO_NULL}") },
                    ]),
                );
            }
            obj.values_mut().for_each(replace_root_ref);
        }
        Value::Array(items) => items.iter_mut().for_each(replace_root_ref),
        _ => {}
    }
}

/// Sets `key` to `value` in a schema.
fn set(schema: &mut Schema, key: &str, value: Value) {
    schema.insert(key.into(), value);
}

/// A text of the form `pattern`, at most `max` characters.
fn form(schema: &mut Schema, pattern: &str, max: usize) {
    set(schema, "pattern", pattern.into());
    set(schema, "maxLength", max.into());
}

/// Restricts a schema to `values` (and `null`, when it admits `null`: `enum` applies to every
/// type).
fn one_of(schema: &mut Schema, values: Value) {
    let mut values = match values {
        Value::Array(values) => values,
        other => vec![other],
    };
    let nullable = match schema.get("type") {
        Some(Value::Array(types)) => types.iter().any(|t| t == "null"),
        Some(t) => t == "null",
        None => false,
    };
    if nullable {
        values.push(Value::Null);
    }
    set(schema, "enum", Value::Array(values));
}

/// `maxLength` of a DNS label of at most `MAX` characters, with [`DNS_LABEL`].
pub fn dns_label<const MAX: usize>(schema: &mut Schema) {
    form(schema, DNS_LABEL, MAX);
}

/// The stack's name ([`MAX_NAME`]).
pub fn stack_name(schema: &mut Schema) {
    dns_label::<MAX_NAME>(schema);
}

/// A public host name ([`HOSTNAME`], at most 64 characters: a certificate's first name).
pub fn host(schema: &mut Schema) {
    form(schema, HOSTNAME, crate::model::validate::MAX_PUBLIC_HOST);
}

/// An HTTP path ([`HTTP_PATH`]) of at most 1024 characters.
pub fn http_path(schema: &mut Schema) {
    form(schema, HTTP_PATH, crate::model::validate::MAX_HTTP_PATH);
}

/// A secret's name ([`SECRET_NAME`], at most 64 characters).
pub fn secret_name(schema: &mut Schema) {
    form(schema, SECRET_NAME, crate::model::validate::MAX_SECRET_NAME);
}

/// A list of secret names ([`secret_name`]).
pub fn secret_names(schema: &mut Schema) {
    if let Some(items) = schema
        .get_mut("items")
        .and_then(|i| <&mut Schema>::try_from(i).ok())
    {
        secret_name(items);
    }
}

/// Environment names: DNS labels of at most 12 characters.
pub fn environment_names(schema: &mut Schema) {
    set(
        schema,
        "propertyNames",
        json!({ "pattern": DNS_LABEL, "maxLength": 12 }),
    );
}

/// Environment variable names as the keys of `env`.
pub fn env_names(schema: &mut Schema) {
    set(schema, "propertyNames", json!({ "pattern": ENV_NAME }));
}

/// `dns.provider`: [`crate::model::dns::PROVIDERS`].
pub fn dns_provider(schema: &mut Schema) {
    one_of(schema, json!(crate::model::dns::PROVIDERS));
}

/// A rollout step's pod count: 0 to 1000.
pub fn step_count(schema: &mut Schema) {
    set(schema, "minimum", 0.into());
    set(schema, "maximum", 1000.into());
}

/// A rollout step's percentage ([`PERCENT`]).
pub fn step_percent(schema: &mut Schema) {
    set(schema, "pattern", PERCENT.into());
}

/// `queue.rabbitmq.replicas`: the odd node counts the validator takes.
pub fn rabbitmq_replicas(schema: &mut Schema) {
    one_of(schema, json!([1, 3, 5, 7]));
}

/// `postgres.placement`: the two words the validator takes.
pub fn placement(schema: &mut Schema) {
    one_of(schema, json!(["managed", "in-cluster"]));
}

/// `methods`: [`crate::model::routes::METHODS`].
pub fn methods(schema: &mut Schema) {
    if let Some(items) = schema.get_mut("items").and_then(Value::as_object_mut) {
        items.insert("enum".into(), json!(crate::model::routes::METHODS));
    }
}

/// `queue.rabbitmq.version`: the minors of [`crate::versions::RABBITMQ_IMAGES`].
pub fn rabbitmq_version(schema: &mut Schema) {
    let minors: Vec<&str> = crate::versions::RABBITMQ_IMAGES
        .iter()
        .map(|(m, _)| *m)
        .collect();
    one_of(schema, json!(minors));
}

/// The egress word of [`super::RawEgress`]: `none` or `internet`.
pub fn egress_word(schema: &mut Schema) {
    // The words `egress` in the validator takes.
    one_of(schema, json!(["none", "internet"]));
}

/// `targets:` — one entry per target id. The built-in targets (those compiled in and the folder
/// targets shipped with fredgen) are listed with their own keys, so an editor completes both;
/// any other id is a folder target of the spec's own (`target_folders:`), whose keys only its
/// `target.yaml` knows.
pub fn targets(generator: &mut schemars::SchemaGenerator) -> Schema {
    let any = generator.subschema_for::<super::RawTarget>();
    let mut properties = Map::new();
    for target in backend::Registry::builtin().all() {
        properties.insert(target.id().into(), Value::Object(target_block(*target)));
    }
    Schema::from(
        json!({
            "description": "Per-target settings by target id; a target may only be rendered when it is declared here.",
            "type": ["object", "null"],
            "propertyNames": { "pattern": DNS_LABEL, "maxLength": 20 },
            "properties": properties,
            "additionalProperties": any,
        })
        .as_object()
        .cloned()
        .unwrap_or_default(),
    )
}

/// The schema of a built-in target's block: its own keys and `kubernetes`, `api_allowed_cidrs`.
fn target_block(target: &dyn Target) -> Map<String, Value> {
    let mut keys = Map::new();
    let mut required = Vec::new();
    for (key, needed, schema) in block_keys(target) {
        if needed {
            required.push(key.clone());
        }
        keys.insert(key, schema);
    }
    let mut minors = json!(target.supported_kubernetes());
    if let Value::Array(m) = &mut minors {
        m.push(Value::Null);
    }
    keys.insert(
        "kubernetes".into(),
        json!({
            "description": "Kubernetes minor version; default the first of these.",
            "type": ["string", "null"],
            "enum": minors,
        }),
    );
    keys.insert(
        "api_allowed_cidrs".into(),
        json!({
            "description": "CIDRs allowed to reach the Kubernetes API endpoint.",
            "type": ["array", "null"],
            "items": { "type": "string", "pattern": IPV4_CIDR },
        }),
    );
    // `kubernetes` and `api_allowed_cidrs` are text keys of every target's block.
    for key in ["kubernetes", "api_allowed_cidrs"] {
        if let Some(k) = keys.get_mut(key) {
            scalar_text_fields(k);
        }
    }
    let mut block = Map::new();
    block.insert("description".into(), target.describe().into());
    block.insert("type".into(), "object".into());
    block.insert("properties".into(), Value::Object(keys));
    if !required.is_empty() {
        block.insert("required".into(), json!(required));
    }
    block.insert("additionalProperties".into(), false.into());
    block
}

/// A built-in target's own keys (beyond `kubernetes` and `api_allowed_cidrs`), as
/// [`Target::block_keys`] describes them: (key, required, schema). Text keys are set to nothing
/// when not set, as `check_block` reads them.
fn block_keys(target: &dyn Target) -> Vec<(String, bool, Value)> {
    target
        .block_keys()
        .into_iter()
        .map(|key| {
            let schema = match key.values {
                backend::KeyValues::OneOf(values) => {
                    let mut values = json!(values);
                    if let Value::Array(v) = &mut values {
                        v.push(Value::Null);
                    }
                    let mut schema = json!({ "description": key.description, "type": ["string", "null"], "enum": values });
                    scalar_text(&mut schema);
                    schema
                }
                backend::KeyValues::Pattern(pattern) => {
                    let mut schema = json!({ "description": key.description, "type": ["string", "null"], "pattern": pattern });
                    scalar_text(&mut schema);
                    schema
                }
                backend::KeyValues::Schema(schema) => schema,
            };
            (key.name, key.required, schema)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::validate;
    use proptest::prelude::*;

    /// Whether a JSON Schema validator takes `s` for the text schema `schema` (each schema
    /// compiled once).
    fn takes(schema: &Value, s: &str) -> bool {
        use std::collections::HashMap;
        use std::sync::{Mutex, OnceLock};
        static COMPILED: OnceLock<Mutex<HashMap<String, jsonschema::Validator>>> = OnceLock::new();
        let mut compiled = COMPILED
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        compiled
            .entry(schema.to_string())
            .or_insert_with(|| jsonschema::draft7::new(schema).expect("a valid schema"))
            .is_valid(&json!(s))
    }

    fn text(pattern: &str, max: Option<usize>) -> Value {
        let mut schema = json!({ "type": "string", "pattern": pattern });
        if let Some(max) = max {
            schema["maxLength"] = max.into();
        }
        schema
    }

    /// Strings close to every pattern below: the characters they accept and those they refuse.
    const NEAR: &str = "[-a-zA-Z0-9_./%#@:+&=~?` eE]{0,14}";

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

        /// Each pattern takes exactly what the validator's function takes.
        #[test]
        fn patterns_agree_with_the_validator(s in NEAR) {
            prop_assert_eq!(takes(&text(DNS_LABEL, Some(MAX_NAME)), &s), validate::is_dns_label(&s, MAX_NAME));
            prop_assert_eq!(takes(&text(HTTP_PATH, Some(validate::MAX_HTTP_PATH)), &s), validate::is_http_path(&s));
            prop_assert_eq!(takes(&text(SLACK_CHANNEL, None), &s), validate::is_slack_channel(&s));
            prop_assert_eq!(takes(&text(ENV_NAME, None), &s), validate::is_env_name(&s));
            prop_assert_eq!(takes(&text(SECRET_NAME, Some(validate::MAX_SECRET_NAME)), &s), validate::is_secret_name(&s));
            prop_assert_eq!(takes(&text(crate::backend::gke::PROJECT_ID, None), &s), crate::backend::gke::is_project_id(&s));
            prop_assert_eq!(
                takes(&text(HOSTNAME, Some(validate::MAX_PUBLIC_HOST)), &s),
                validate::is_hostname(&s) && s.len() <= validate::MAX_PUBLIC_HOST
            );
            prop_assert_eq!(takes(&text(QUANTITY, None), &s), crate::model::quantity::parse(&s, 1).is_some());
        }

        /// Dotted names, for the host names.
        #[test]
        fn the_host_pattern_agrees_with_the_validator(s in "([-a-zA-Z0-9]{0,5}\\.){0,4}[-a-z0-9.]{0,6}") {
            prop_assert_eq!(
                takes(&text(HOSTNAME, Some(validate::MAX_PUBLIC_HOST)), &s),
                validate::is_hostname(&s) && s.len() <= validate::MAX_PUBLIC_HOST
            );
        }

        /// Upper-case and digit-heavy strings, for the names and quantities.
        #[test]
        fn patterns_agree_on_names_and_quantities(s in "[-A-Z0-9_a-z.+]{0,8}(Ki|Mi|Gi|m|k|e3|E-2|)") {
            prop_assert_eq!(takes(&text(SECRET_NAME, Some(validate::MAX_SECRET_NAME)), &s), validate::is_secret_name(&s));
            prop_assert_eq!(takes(&text(QUANTITY, None), &s), crate::model::quantity::parse(&s, 1).is_some());
            prop_assert_eq!(takes(&text(DNS_LABEL, Some(20)), &s), validate::is_dns_label(&s, 20));
        }

        /// The repository and action patterns are looser than the validator, never stricter.
        #[test]
        fn repository_patterns_are_never_stricter(owner in "[-a-zA-Z0-9]{0,41}", name in "[-a-zA-Z0-9._]{0,6}", sha in "[0-9a-f]{40}") {
            let repo = format!("{owner}/{name}");
            if crate::model::delivery::is_repository(&repo) {
                prop_assert!(takes(&text(REPOSITORY, None), &repo));
                let action = format!("{repo}@{sha}");
                prop_assert!(takes(&text(PINNED_ACTION, None), &action));
            }
        }
    }

    /// The image schema: [`IMAGE`], and not [`LATEST_IMAGE`].
    fn image_schema() -> Value {
        let mut schema = text(IMAGE, None);
        Rule::Image.apply(&mut schema);
        schema
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

        /// Image references near the grammar (registries, ports, paths, tags, `latest`, digests):
        /// the pattern takes exactly what the validator takes.
        #[test]
        fn the_image_pattern_agrees_with_the_validator(
            s in concat!(
                "([a-zA-Z0-9.-]{1,6}(:[0-9]{0,3})?/)?[a-zA-Z0-9._-]{1,6}(/[a-z0-9._-]{1,5}){0,2}",
                "(:[a-zA-Z0-9._-]{0,5}|:latest)?(@sha256:[0-9a-f]{64}|@sha512:[0-9a-f]{128}|@sha256:[0-9a-fA-F]{2,3}|@)?",
            )
        ) {
            prop_assert_eq!(takes(&image_schema(), &s), validate::image_problem(&s).is_none());
        }

        /// The same on strings of any of the characters that matter.
        #[test]
        fn the_image_pattern_agrees_on_near_strings(s in "[-a-zA-Z0-9_./:@ ]{0,14}") {
            prop_assert_eq!(takes(&image_schema(), &s), validate::image_problem(&s).is_none());
        }

        /// The CIDR, egress and zero patterns are never stricter than the validator.
        #[test]
        fn the_cidr_egress_and_zero_patterns_are_never_stricter(
            cidr in "[0-9]{1,4}(\\.[0-9]{1,4}){2,4}(/[+]?[0-9]{0,3})?",
            entry in "[-a-z0-9.]{0,8}(/[0-9]{1,2})?(:[+]?[0-9]{0,6})?",
            quantity in "[-+]?[0-9.]{0,4}(Ki|Mi|m|k|e3|E-2|)",
        ) {
            if validate::is_ipv4_cidr(&cidr) {
                prop_assert!(takes(&text(IPV4_CIDR, None), &cidr), "{}", cidr);
            }
            if validate::destination(&entry).is_ok() {
                prop_assert!(takes(&text(EGRESS_ITEM, None), &entry), "{}", entry);
            }
            if takes(&text(ZERO_QUANTITY, None), &quantity) {
                prop_assert!(crate::model::quantity::millicores(&quantity).is_none_or(|m| m < 1));
                prop_assert!(crate::model::quantity::bytes(&quantity).is_none_or(|b| b < 16 << 20));
            }
        }
    }

    /// Each PostgreSQL major a target supports is in `postgres.version`'s enum, as text and as a
    /// number, and nothing else is.
    #[test]
    fn the_postgres_versions_are_the_targets_majors() {
        let mut schema = json!({ "type": ["string", "number", "boolean", "null"] });
        Rule::PostgresVersion.apply(&mut schema);
        let mut expected: Vec<Value> = crate::versions::POSTGRES_IMAGES
            .iter()
            .map(|(m, _)| json!(m))
            .collect();
        expected.push(Value::Null);
        expected.extend(
            crate::versions::POSTGRES_IMAGES
                .iter()
                .map(|(m, _)| json!(m.parse::<u64>().expect("a major"))),
        );
        assert_eq!(schema["enum"], Value::Array(expected));
    }

    #[test]
    fn patterns_refuse_the_validators_examples_of_bad_values() {
        for (pattern, bad) in [
            (DNS_LABEL, "Shop_Web"),
            (HTTP_PATH, "/healthz?full=1"),
            (HTTP_PATH, "/a%zz"),
            (QUANTITY, "250 millicores"),
            (QUANTITY, "-1"),
            (GIBIBYTES, "+20Gi"),
            (SLACK_CHANNEL, "@oncall"),
            (PERCENT, "10 %"),
            (IMAGE, "ghcr.io/acme/app"),
            (IMAGE, "ghcr.io/Acme/app:1.0"),
            (IMAGE, "ghcr.io/acme/my app:1.0"),
            (IMAGE, "ghcr.io/acme/app@sha256:abc"),
            (IPV4_CIDR, "10.0.0.1"),
            (EGRESS_ITEM, "api.stripe.com"),
            (POSTGRES_GIBIBYTES, "9Gi"),
        ] {
            assert!(!takes(&text(pattern, None), bad), "{pattern} takes {bad}");
        }
        for (pattern, good) in [
            (QUANTITY, "-0"),
            (QUANTITY, "+1.5e3"),
            (PERCENT, "+25%"),
            (IMAGE, "localhost:5000/acme/app:latest"),
            (POSTGRES_GIBIBYTES, "10Gi"),
        ] {
            assert!(
                takes(&text(pattern, None), good),
                "{pattern} refuses {good}"
            );
        }
    }
}

//! Stage 1 (diagnostics) — the spec as a generic tree with positions, checked against the spec's
//! own JSON Schema so that one run reports every unknown key and every wrong type, not only the
//! first one serde stops at.
//!
//! The typed parse ([`super::parse`]) stays the source of truth; this tree is read only when it
//! fails (to list every structural problem) or when a diagnostic needs a position it does not have
//! (a missing key points at its parent).

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value as Json;

use crate::error::{Diagnostic, Pos};

/// One YAML node and where it was written.
#[derive(Debug, Clone)]
pub struct Node {
    /// The node's value.
    pub value: Value,
    /// Where the node is used (an alias: where it is referenced), when known.
    pub pos: Option<Pos>,
    /// Where the node is written (an alias: its anchor's node), when known.
    pub defined: Option<Pos>,
}

/// A YAML value; mapping keys keep their own positions.
#[derive(Debug, Clone)]
pub enum Value {
    /// `~`, `null` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i128),
    /// A float.
    Float(f64),
    /// A string (plain or quoted).
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<(Node, Node)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        let s = serde_saphyr::Spanned::<Value>::deserialize(d)?;
        Ok(Node {
            pos: Pos::from_location(&s.referenced),
            defined: Pos::from_location(&s.defined),
            value: s.value,
        })
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        Ok(i128::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(n) = seq.next_element::<Node>()? {
            items.push(n);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(k) = map.next_key::<Node>()? {
            let v = map.next_value::<Node>()?;
            entries.push((k, v));
        }
        Ok(Value::Map(entries))
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

/// Parses text into a tree; `None` when the YAML itself is malformed (serde's error says where).
pub fn parse(text: &str) -> Option<Node> {
    parse_result(text).ok()
}

/// [`parse`], with the parser's error.
pub fn parse_result(text: &str) -> Result<Node, serde_saphyr::Error> {
    serde_saphyr::from_str_with_options::<Node>(text, super::options())
}

/// Every unknown key and wrong type in the tree, judged by the spec's JSON Schema (the types the
/// raw types derive, [`super::schema::parser_schema`]).
pub fn check(file: &str, root: &Node) -> Vec<Diagnostic> {
    check_and_prune(file, &mut root.clone())
}

/// [`check`], and removes from the tree what it reports (an unknown key's entry, a wrongly typed
/// value's entry or list item) and the extension keys (`x-...`), so that the rest reads as the
/// spec's types ([`super::from_tree`]) and is validated too.
pub fn check_and_prune(file: &str, root: &mut Node) -> Vec<Diagnostic> {
    let schema = super::schema::parser_schema();
    let mut checker = Checker {
        file,
        root: schema.as_value(),
        out: Vec::new(),
    };
    checker.node(root, checker.root, "");
    checker.out
}

struct Checker<'a> {
    file: &'a str,
    root: &'a Json,
    out: Vec<Diagnostic>,
}

impl<'a> Checker<'a> {
    /// Follows `$ref` (`#` and `#/definitions/<name>`).
    fn resolve(&self, mut schema: &'a Json) -> &'a Json {
        for _ in 0..8 {
            // A described reference is `allOf: [{ $ref }]` in draft-07.
            if let Some([only]) = schema
                .get("allOf")
                .and_then(Json::as_array)
                .map(Vec::as_slice)
            {
                schema = only;
                continue;
            }
            let Some(r) = schema.get("$ref").and_then(Json::as_str) else {
                break;
            };
            schema = match r.strip_prefix("#/definitions/") {
                Some(name) => &self.root["definitions"][name],
                None => self.root,
            };
        }
        schema
    }

    /// The JSON types a schema takes, through `$ref` and `anyOf`.
    fn types_of(&self, schema: &'a Json) -> Vec<&'a str> {
        let schema = self.resolve(schema);
        if let Some(branches) = schema.get("anyOf").and_then(Json::as_array) {
            return branches.iter().flat_map(|b| self.types_of(b)).collect();
        }
        match schema.get("type") {
            Some(Json::String(t)) => vec![t.as_str()],
            Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// Reports `node` as not of the `expected` types (described).
    fn wrong_type(&mut self, node: &Node, path: &str, expected: &[&str]) {
        self.out.push(Diagnostic::new(
            self.file,
            node.pos,
            path,
            format!(
                "expected {}, found {}",
                expected.join(" or "),
                found(&node.value)
            ),
        ));
    }

    /// Checks `node`; false when it is wrongly typed (and must be pruned).
    fn node(&mut self, node: &mut Node, schema: &'a Json, path: &str) -> bool {
        let schema = self.resolve(schema);
        if let Some(branches) = schema.get("anyOf").and_then(Json::as_array) {
            if matches!(node.value, Value::Null) && branches.iter().any(allows_null) {
                return true;
            }
            let candidates: Vec<&'a Json> = branches.iter().filter(|b| !is_null_only(b)).collect();
            if let [only] = candidates[..] {
                return self.node(node, only, path);
            }
            // A value of several shapes (`postgres: false` or `{ env: NAME }`): the first branch
            // whose type takes the node.
            let mut expected = Vec::new();
            for branch in &candidates {
                let types = self.types_of(branch);
                if types.iter().any(|t| accepts(t, &node.value)) {
                    return self.node(node, branch, path);
                }
                expected.extend(
                    types
                        .into_iter()
                        .filter(|t| *t != "null")
                        .map(describe_type),
                );
            }
            if candidates.is_empty() {
                return true;
            }
            expected.dedup();
            self.wrong_type(node, path, &expected);
            return false;
        }
        let types: Vec<&str> = match schema.get("type") {
            Some(Json::String(t)) => vec![t.as_str()],
            Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).collect(),
            _ => return true,
        };
        if !types.iter().any(|t| accepts(t, &node.value)) {
            let expected: Vec<&str> = types
                .iter()
                .filter(|t| **t != "null")
                .map(|t| describe_type(t))
                .collect();
            self.wrong_type(node, path, &expected);
            return false;
        }
        match &mut node.value {
            Value::Map(entries) => self.mapping(entries, schema, path),
            Value::Seq(items) => {
                if let Some(item_schema) = schema.get("items") {
                    let mut i = 0;
                    items.retain_mut(|item| {
                        i += 1;
                        self.node(item, item_schema, &format!("{path}[{}]", i - 1))
                    });
                }
            }
            _ => {}
        }
        true
    }

    /// Checks a mapping's entries and keeps those that read as the schema says.
    fn mapping(&mut self, entries: &mut Vec<(Node, Node)>, schema: &'a Json, path: &str) {
        entries.retain_mut(|(key, value)| self.entry(key, value, schema, path));
    }

    /// Checks one entry of a mapping; false when it is to be pruned.
    fn entry(&mut self, key: &Node, value: &mut Node, schema: &'a Json, path: &str) -> bool {
        let properties = schema.get("properties").and_then(Json::as_object);
        let additional = schema.get("additionalProperties");
        {
            let name = scalar_text(&key.value);
            let key_path = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            if let Some(prop) = properties.and_then(|p| p.get(&name)) {
                return self.node(value, prop, &key_path);
            }
            if extension(schema, &name) {
                return false;
            }
            match additional {
                Some(Json::Bool(false)) => {
                    let known: Vec<&str> = properties
                        .map(|p| p.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    let place = if path.is_empty() {
                        "at the top level".to_string()
                    } else {
                        format!("in `{path}`")
                    };
                    self.out.push(
                        Diagnostic::new(
                            self.file,
                            key.pos,
                            &key_path,
                            format!("unknown key `{name}` {place}"),
                        )
                        .hint(super::suggest(&name, &known)),
                    );
                    false
                }
                Some(extra @ Json::Object(_)) => self.node(value, extra, &key_path),
                _ => true,
            }
        }
    }
}

/// True for a key the schema's `patternProperties` accept (only `^prefix` patterns are used:
/// the `x-` extension keys), which carry no meaning for fredgen.
fn extension(schema: &Json, name: &str) -> bool {
    schema
        .get("patternProperties")
        .and_then(Json::as_object)
        .is_some_and(|patterns| {
            patterns
                .keys()
                .filter_map(|p| p.strip_prefix('^'))
                .any(|prefix| name.starts_with(prefix))
        })
}

fn is_null_only(schema: &Json) -> bool {
    schema.get("type").and_then(Json::as_str) == Some("null")
}

fn allows_null(schema: &Json) -> bool {
    match schema.get("type") {
        Some(Json::String(t)) => t == "null",
        Some(Json::Array(ts)) => ts.iter().any(|t| t == "null"),
        _ => false,
    }
}

/// Whether a YAML value deserializes as the JSON Schema type, as leniently as serde-saphyr reads
/// it: any scalar is a string, and quoted numbers and booleans are read as numbers and booleans.
fn accepts(ty: &str, v: &Value) -> bool {
    match (ty, v) {
        ("null", Value::Null) => true,
        ("string", Value::Str(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_)) => true,
        ("integer", Value::Int(_)) => true,
        ("integer", Value::Str(s)) => s.trim().parse::<i64>().is_ok(),
        ("number", Value::Int(_) | Value::Float(_)) => true,
        ("boolean", Value::Bool(_)) => true,
        ("boolean", Value::Str(s)) => s == "true" || s == "false",
        ("array", Value::Seq(_)) => true,
        ("object", Value::Map(_)) => true,
        _ => false,
    }
}

fn describe_type(ty: &str) -> &'static str {
    match ty {
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "`true` or `false`",
        "array" => "a list",
        "object" => "a mapping",
        _ => "a value",
    }
}

fn found(v: &Value) -> String {
    match v {
        Value::Null => "nothing (null)".into(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Int(i) => format!("the integer `{i}`"),
        Value::Float(f) => format!("the number `{f}`"),
        Value::Str(s) => {
            let short: String = s.chars().take(40).collect();
            let more = if short.len() < s.len() { "…" } else { "" };
            format!("the string `{short}{more}`")
        }
        Value::Seq(_) => "a list".into(),
        Value::Map(_) => "a mapping".into(),
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "~".into(),
        Value::Seq(_) | Value::Map(_) => "<complex key>".into(),
    }
}

/// The position of the deepest node on `path` (`workers[1].replicas.max`) that exists: a missing
/// key is reported at its parent.
pub fn locate(root: &Node, path: &str) -> Option<Pos> {
    let mut node = root;
    let mut best = None;
    for segment in path_segments(path) {
        let next = match (&node.value, segment) {
            (Value::Map(entries), Segment::Key(k)) => entries
                .iter()
                .find(|(key, _)| scalar_text(&key.value) == k)
                .map(|(key, value)| (key.pos, value)),
            (Value::Seq(items), Segment::Index(i)) => items.get(i).map(|n| (n.pos, n)),
            _ => None,
        };
        let Some((pos, child)) = next else { break };
        best = pos.or(best);
        node = child;
    }
    best
}

enum Segment<'p> {
    Key(&'p str),
    Index(usize),
}

fn path_segments(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, indexes) = part
            .split_once('[')
            .map_or((part, ""), |(k, rest)| (k, rest));
        if !key.is_empty() {
            out.push(Segment::Key(key));
        }
        for idx in indexes.split('[') {
            if let Ok(i) = idx.trim_end_matches(']').parse() {
                out.push(Segment::Index(i));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(text: &str) -> Vec<String> {
        let root = parse(text).expect("well-formed YAML");
        check("t.yaml", &root)
            .into_iter()
            .map(|d| {
                format!(
                    "{} {} {} {}",
                    d.pos.map(|p| p.to_string()).unwrap_or_default(),
                    d.path,
                    d.message,
                    d.hint.unwrap_or_default()
                )
            })
            .collect()
    }

    #[test]
    fn every_unknown_key_and_wrong_type_is_listed_with_its_path() {
        let text = "name: fred\nfrontnd: {}\nfrontend:\n  port: eighty\n  replica: 2\nworkers:\n  - name: a\n    replicas: {min: 1, maxx: 2}\n  - name: b\n    command: run\n";
        assert_eq!(
            messages(text),
            [
                "2:1 frontnd unknown key `frontnd` at the top level did you mean `frontend`?",
                "4:9 frontend.port expected an integer, found the string `eighty` ",
                "5:3 frontend.replica unknown key `replica` in `frontend` did you mean `replicas`?",
                "8:24 workers[0].replicas.maxx unknown key `maxx` in `workers[0].replicas` did you mean `max`?",
                "10:14 workers[1].command expected a list, found the string `run` ",
            ]
        );
    }

    #[test]
    fn what_serde_accepts_the_check_accepts() {
        // quoted numbers and booleans, numbers as strings, nulls for optional blocks
        let text = "name: 16\nfrontend: {port: \"8000\", env: {A: 1}}\npostgres: {ha: \"true\"}\nqueue: ~\n";
        assert!(crate::spec::parse("t.yaml", text).is_ok());
        assert_eq!(messages(text), Vec::<String>::new());
    }

    #[test]
    fn missing_keys_are_located_at_their_parent() {
        let root =
            parse("name: x\nworkers:\n  - name: a\n  - name: b\n    replicas: {}\n").expect("yaml");
        assert_eq!(
            locate(&root, "workers[1].replicas.max"),
            Some(Pos { line: 5, column: 5 })
        );
        assert_eq!(
            locate(&root, "workers[1].image"),
            Some(Pos { line: 4, column: 5 })
        );
        assert_eq!(locate(&root, "frontend.image"), None);
    }
}

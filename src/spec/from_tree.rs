//! Stage 1 (lenient read) — the raw spec types read from the positioned tree ([`super::tree`])
//! instead of from the text, so that a spec with wrong types or unknown keys still yields the rest
//! of its values for validation: the schema check prunes what it reports, and this deserializer
//! reads what is left, with the positions the tree kept.
//!
//! Scalars are read as leniently as serde-saphyr reads them (a quoted number is a number, a plain
//! number is a string where a string is expected, spelled as written).

use serde::de::value::{Error, MapDeserializer, SeqDeserializer};
use serde::de::{self, Deserializer, IntoDeserializer, Visitor};

use super::tree::{Node, Value};
use crate::error::Pos;

/// The newtype name [`super::Sp`] asks for: this deserializer answers it with the value and its
/// position instead of the value alone.
pub(crate) const SP_MARKER: &str = "__fredgen_positioned";

/// Reads `T` from a (pruned) tree. `text` is the spec, for the spelling of plain numbers.
pub fn read<'de, T: de::Deserialize<'de>>(root: &Node, text: &str) -> Result<T, Error> {
    T::deserialize(NodeDe { node: root, text })
}

#[derive(Clone, Copy)]
struct NodeDe<'a> {
    node: &'a Node,
    text: &'a str,
}

impl<'a> NodeDe<'a> {
    fn child(&self, node: &'a Node) -> NodeDe<'a> {
        NodeDe {
            node,
            text: self.text,
        }
    }

    /// A plain scalar as written in the source (`1.30` stays `1.30`), else its value's text.
    fn scalar_text(&self) -> Option<String> {
        let written = self.node.defined.and_then(|p| {
            let line = self.text.lines().nth(p.line.checked_sub(1)?)?;
            let rest: String = line.chars().skip(p.column - 1).collect();
            let end = rest.find([',', ']', '}', '#']).unwrap_or(rest.len());
            let raw = rest[..end].trim();
            let plain = raw.starts_with(|c: char| c.is_ascii_digit() || "+-.".contains(c));
            plain.then(|| raw.to_string())
        });
        match &self.node.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(written.unwrap_or_else(|| i.to_string())),
            Value::Float(f) => Some(written.unwrap_or_else(|| f.to_string())),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

impl<'de> IntoDeserializer<'de, Error> for NodeDe<'_> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> Deserializer<'de> for NodeDe<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => match i64::try_from(*i) {
                Ok(i) => visitor.visit_i64(i),
                Err(_) => visitor.visit_i128(*i),
            },
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Str(s) => visitor.visit_str(s),
            Value::Seq(items) => {
                visitor.visit_seq(SeqDeserializer::new(items.iter().map(|n| self.child(n))))
            }
            Value::Map(entries) => visitor.visit_map(MapDeserializer::new(
                entries.iter().map(|(k, v)| (self.child(k), self.child(v))),
            )),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        if name != SP_MARKER {
            return visitor.visit_newtype_struct(self);
        }
        let Pos { line, column } = self.node.pos.unwrap_or(Pos { line: 0, column: 0 });
        let entries: [(&str, Positioned); 3] = [
            ("line", Positioned::Number(line)),
            ("column", Positioned::Number(column)),
            ("value", Positioned::Value(self)),
        ];
        visitor.visit_map(MapDeserializer::new(entries.into_iter()))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.scalar_text() {
            Some(s) => visitor.visit_string(s),
            None => self.deserialize_any(visitor),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node.value {
            Value::Str(s) => match s.trim().parse::<i64>() {
                Ok(i) => visitor.visit_i64(i),
                Err(_) => self.deserialize_any(visitor),
            },
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.node.value {
            Value::Str(s) if s == "true" || s == "false" => visitor.visit_bool(s == "true"),
            _ => self.deserialize_any(visitor),
        }
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf unit unit_struct seq
        tuple tuple_struct map struct enum identifier ignored_any
    }
}

/// One entry of the map [`super::Sp`] reads: a coordinate, or the value itself.
enum Positioned<'a> {
    Number(usize),
    Value(NodeDe<'a>),
}

impl<'de> IntoDeserializer<'de, Error> for Positioned<'_> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

// A coordinate reads as a number whatever is asked; the value answers as the tree does.
macro_rules! to_value {
    ($($method:ident),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self {
                Positioned::Number(n) => visitor.visit_u64(n as u64),
                Positioned::Value(v) => v.$method(visitor),
            }
        }
    )*};
}

impl<'de> Deserializer<'de> for Positioned<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Positioned::Number(n) => visitor.visit_u64(n as u64),
            Positioned::Value(v) => v.deserialize_any(visitor),
        }
    }

    to_value!(
        deserialize_option,
        deserialize_string,
        deserialize_str,
        deserialize_i64,
        deserialize_bool
    );

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self {
            Positioned::Number(n) => visitor.visit_u64(n as u64),
            Positioned::Value(v) => v.deserialize_newtype_struct(name, visitor),
        }
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf unit unit_struct seq
        tuple tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use crate::spec::parse;

    #[test]
    fn values_read_from_the_tree_keep_their_spelling_and_position() {
        // The `x-` key sends the spec through the tree; plain numbers read as written.
        let text = "x-a: &v 1.30\nname: fred\ntargets:\n  eks: { region: eu-west-1, kubernetes: 1.30 }\n  gke: { kubernetes: *v, project: \"17\" }\n";
        let raw = parse("t.yaml", text).expect("parses");
        let targets = raw.targets.expect("targets");
        let eks = &targets["eks"].value;
        let k = eks.kubernetes.as_ref().expect("kubernetes");
        assert_eq!(k.value, "1.30");
        assert_eq!((k.referenced.line(), k.referenced.column()), (4, 41));
        let gke = &targets["gke"].value;
        assert_eq!(gke.kubernetes.as_ref().expect("alias").value, "1.30");
        assert_eq!(gke.project.as_ref().expect("project").value, "17");
        assert_eq!(raw.name.expect("name").referenced.line(), 2);
    }
}

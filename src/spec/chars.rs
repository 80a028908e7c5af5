//! Stage 1 (checks) — characters no string of the spec may hold, checked once over every key and
//! value of the parsed tree, wherever it sits.
//!
//! A spec's strings end up in YAML manifests, Helm values, HCL, shell scripts and Markdown. Some
//! characters make one of those readers fail or read something else: the YAML reader in the
//! parse-back check refuses DEL, C1 controls and noncharacters outright (a "bug in fredgen" after
//! the spec validated), YAML 1.1 readers (PyYAML, older kubectl) break lines at NEL, U+2028 and
//! U+2029, and a BOM inside a value is invisible in every editor. Bidirectional controls (U+061C,
//! U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) and invisible characters (U+200B, U+2060, U+180E)
//! make the committed output read differently from what runs ("Trojan Source"): a reviewer sees
//! reordered or joined text. The zero-width joiner and non-joiner (U+200C, U+200D) are kept: emoji
//! and some scripts need them. Tab and line feed are kept: in env values and commands they render
//! correctly (JSON-escaped), and every other field's own rule refuses whitespace.

use super::tree::{Node, Value};
use crate::error::Diagnostic;

/// What `c` is, when no string of the spec may hold it.
pub fn special(c: char) -> Option<&'static str> {
    let u = c as u32;
    Some(match u {
        0x09 | 0x0A => return None,
        0x00..=0x1F => "a control character",
        0x7F => "the control character DEL",
        0x85 => "the C1 control character NEL (a line break to YAML 1.1 readers)",
        0x80..=0x9F => "a C1 control character",
        0x2028 => "the Unicode line separator (a line break to YAML 1.1 readers)",
        0x2029 => "the Unicode paragraph separator (a line break to YAML 1.1 readers)",
        0xFEFF => "a byte order mark",
        0x061C | 0x200E | 0x200F | 0x202A..=0x202E | 0x2066..=0x2069 => {
            "a bidirectional control (the text reads in another order than it runs)"
        }
        0x200B => "a zero-width space (invisible)",
        0x2060 => "a word joiner (invisible)",
        0x180E => "the Mongolian vowel separator (invisible)",
        0xFDD0..=0xFDEF => "a Unicode noncharacter",
        _ if u & 0xFFFE == 0xFFFE => "a Unicode noncharacter",
        _ => return None,
    })
}

/// Whether `c` cannot stand as itself on one line a person reads or a shell runs: a control
/// character (tab and newline too), what [`special`] refuses, or a character Unicode says to
/// draw as nothing (its Default_Ignorable_Code_Point ranges), which would make one name look like
/// another. What fredgen prints escapes it; what a header's command names may not hold it.
pub fn unprintable(c: char) -> bool {
    c.is_control()
        || special(c).is_some()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{034f}'
                | '\u{115f}'
                | '\u{1160}'
                | '\u{17b4}'
                | '\u{17b5}'
                | '\u{180b}'..='\u{180f}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2060}'..='\u{206f}'
                | '\u{3164}'
                | '\u{fe00}'..='\u{fe0f}'
                | '\u{ffa0}'
                | '\u{fff0}'..='\u{fff8}'
                | '\u{1bca0}'..='\u{1bca3}'
                | '\u{1d173}'..='\u{1d17a}'
                | '\u{e0000}'..='\u{e0fff}'
        )
}

/// One diagnostic for each key or value of the tree holding a character [`special`] refuses.
pub fn check(file: &str, root: &Node) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    walk(file, root, "", &mut out);
    out
}

fn walk(file: &str, node: &Node, path: &str, out: &mut Vec<Diagnostic>) {
    match &node.value {
        Value::Str(s) => refuse(file, node, path, s, "value", out),
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(file, item, &format!("{path}[{i}]"), out);
            }
        }
        Value::Map(entries) => {
            for (key, value) in entries {
                let name = match &key.value {
                    Value::Str(s) => s.escape_default().to_string(),
                    _ => String::from("<key>"),
                };
                let key_path = if path.is_empty() {
                    name
                } else {
                    format!("{path}.{name}")
                };
                if let Value::Str(k) = &key.value {
                    refuse(file, key, &key_path, k, "key", out);
                }
                walk(file, value, &key_path, out);
            }
        }
        Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) => {}
    }
}

fn refuse(file: &str, node: &Node, path: &str, s: &str, what: &str, out: &mut Vec<Diagnostic>) {
    let Some((at, c, name)) = s
        .chars()
        .enumerate()
        .find_map(|(i, c)| special(c).map(|name| (i + 1, c, name)))
    else {
        return;
    };
    out.push(
        Diagnostic::new(
            file,
            node.pos,
            path,
            format!(
                "this {what} holds U+{:04X}, {name}, at character {at}",
                c as u32
            ),
        )
        .hint(
            "remove it: YAML, JSON and HCL readers refuse or re-read such characters, and \
             invisible or direction-changing ones show reviewers other text than what runs; \
             only tab and line feed may stand beside printable text",
        ),
    );
}

/// The bidirectional controls and invisible characters [`special`] refuses, for tests.
#[cfg(test)]
pub const TROJAN_SOURCE: &[char] = &[
    '\u{61c}', '\u{200e}', '\u{200f}', '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}',
    '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{200b}', '\u{2060}', '\u{180e}',
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classes_are_refused_and_text_is_not() {
        for c in [
            '\0',
            '\r',
            '\x1b',
            '\x7f',
            '\u{80}',
            '\u{85}',
            '\u{9f}',
            '\u{2028}',
            '\u{2029}',
            '\u{feff}',
            '\u{fdd0}',
            '\u{fdef}',
            '\u{fffe}',
            '\u{ffff}',
            '\u{1fffe}',
            '\u{10ffff}',
        ]
        .into_iter()
        .chain(TROJAN_SOURCE.iter().copied())
        {
            assert!(special(c).is_some(), "{:04X}", c as u32);
        }
        for c in [
            '\t', '\n', ' ', '~', '\u{a0}', 'é', '\u{fdcf}', '\u{fdf0}', '\u{fffd}', '😀',
            '\u{200c}', '\u{200d}', '\u{61b}', '\u{180d}', '\u{2065}', '\u{206a}', '\u{2061}', 'ب',
        ] {
            assert!(special(c).is_none(), "{:04X}", c as u32);
        }
    }

    #[test]
    fn keys_and_values_anywhere_are_checked_with_their_paths() {
        let text = "a:\n  - \"x\\x7fy\"\n  - ok\nb: {\"k\\u2028\": v, c: \"\\N\"}\n";
        let root = super::super::tree::parse(text).expect("yaml");
        let found: Vec<String> = check("t.yaml", &root)
            .into_iter()
            .map(|d| format!("{} {}", d.path, d.message))
            .collect();
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].starts_with("a[0] this value holds U+007F, the control character DEL"));
        assert!(
            found[1].starts_with("b.k\\u{2028} this key holds U+2028, the Unicode line separator")
        );
        assert!(found[2].starts_with("b.c this value holds U+0085, the C1 control character NEL"));
    }
}

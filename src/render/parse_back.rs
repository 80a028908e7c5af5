//! Stage 4 — parse every rendered file back before it leaves the renderer.
//!
//! `.tf` files must parse as HCL (hcl-rs); `.yaml` files must parse as YAML, one value per
//! document; documents below `k8s/` (except the kustomization) must carry `apiVersion`, `kind` and
//! `metadata.name`. A failure here is a bug in a template, reported with the template's id.

use serde_json::Value;

use crate::error::{Error, Result};

/// Whether a character may not appear in any generated file: a control character other than tab
/// and newline (DEL and C1 included), a line or paragraph separator (U+2028, U+2029: line breaks
/// for YAML 1.1 readers and kubectl, as U+0085 is, but not for the parsers here), a byte-order
/// mark, a Unicode noncharacter, a bidirectional control or an invisible character (see
/// [`crate::spec::chars`]). A YAML comment such a character ends early turns the rest of
/// the line into keys that only some consumers see.
pub fn is_forbidden(c: char) -> bool {
    crate::spec::chars::special(c).is_some()
}

/// Refuses a generated file that holds a [forbidden](is_forbidden) character, with its line. A
/// byte scan, 64 bytes at a time (which the compiler vectorizes): only a block holding the lead
/// byte of a character concerned is looked at closely.
pub fn check_characters(path: &str, text: &str) -> Result<()> {
    // ASCII controls but tab and newline, DEL, and the lead bytes of U+0080–U+00BF, U+0600–U+063F
    // (U+061C), U+1000–U+1FFF (U+180E), U+2000–U+2FFF, U+F000–U+FFFF and the supplementary planes
    // (never a continuation byte: each one starts a character).
    fn suspect(b: u8) -> bool {
        (b < 0x20 && b != b'\n' && b != b'\t')
            | (b == 0x7f)
            | (b == 0xc2)
            | (b == 0xd8)
            | (b == 0xe1)
            | (b == 0xe2)
            | (b == 0xef)
            | (b >= 0xf0)
    }
    const BLOCK: usize = 64;
    let bytes = text.as_bytes();
    for (n, block) in bytes.chunks(BLOCK).enumerate() {
        if !block.iter().fold(false, |any, &b| any | suspect(b)) {
            continue;
        }
        for (j, _) in block.iter().enumerate().filter(|(_, b)| suspect(**b)) {
            let i = n * BLOCK + j;
            let c = text[i..].chars().next().unwrap_or_default();
            if is_forbidden(c) {
                let line = bytes[..i].iter().filter(|b| **b == b'\n').count() + 1;
                return Err(Error::ParseBack {
                    path: path.to_string(),
                    template: "the template that wrote it".to_string(),
                    format: "text every consumer reads the same way",
                    message: format!("line {line} holds the character U+{:04X}", u32::from(c)),
                });
            }
        }
    }
    Ok(())
}

/// One piece of a rendered file to parse back: a whole file, or a run of whole documents of a
/// large `.yaml` file (see [`super::tidy::Tidy::with_pieces`]).
#[derive(Debug, Clone, Copy)]
pub struct Piece<'a> {
    /// Output path.
    pub path: &'a str,
    /// The template the file came from.
    pub template: &'a str,
    /// The piece's text.
    pub text: &'a str,
    /// How many lines of the file come before the piece, for messages.
    pub lines_before: usize,
}

/// Whether files at `path` are parsed back: `.tf` and `.yaml` files are.
pub fn applies(path: &str) -> bool {
    path.ends_with(".tf") || path.ends_with(".yaml")
}

/// Checks one whole rendered file.
pub fn check(path: &str, template: &str, text: &str) -> Result<()> {
    check_piece(&Piece {
        path,
        template,
        text,
        lines_before: 0,
    })
}

/// Checks one piece: HCL must parse; YAML must parse, and below `k8s/` (except the
/// kustomization) every document must carry `apiVersion`, `kind` and `metadata.name`.
pub fn check_piece(piece: &Piece) -> Result<()> {
    let fail = |format: &'static str, message: String| Error::ParseBack {
        path: piece.path.to_string(),
        template: piece.template.to_string(),
        format,
        message,
    };
    if piece.path.ends_with(".tf") {
        // hcl-rs parses with hcl-edit; calling it directly skips converting the tree.
        hcl::edit::parser::parse_body(piece.text).map_err(|e| fail("HCL", e.to_string()))?;
        return Ok(());
    }
    if !piece.path.ends_with(".yaml") {
        return Ok(());
    }
    let heads = yaml_heads(piece.text, piece.lines_before).map_err(|m| fail("YAML", m))?;
    if piece.path.starts_with("k8s/") && !piece.path.ends_with("kustomization.yaml") {
        for (line, head) in heads {
            let Some(head) = head else { continue };
            for (what, ok) in ["apiVersion", "kind", "metadata.name"].iter().zip(head) {
                if !ok {
                    return Err(fail(
                        "a Kubernetes object",
                        format!("the document at line {line} has no `{what}`"),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Whether one document has a scalar `apiVersion`, `kind` and `metadata.name`; `None` for an
/// empty document.
type Head = Option<[bool; 3]>;

/// Where a node sits, as far as [`Head`] cares.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// The value of the top-level `apiVersion`, `kind`, or `metadata`'s `name`.
    Head(usize),
    /// The value of the top-level `metadata`.
    Metadata,
    /// Anything else.
    Other,
}

/// What a collection being parsed is, for [`yaml_heads`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The document's top-level mapping.
    Top,
    /// `metadata` in the top-level mapping.
    Metadata,
    /// Anything else.
    Other,
}

struct Frame {
    mapping: bool,
    role: Role,
    /// In a mapping: the next node is a key.
    expecting_key: bool,
    /// In a mapping: what the value of the last key read is.
    slot: Slot,
}

/// Parses YAML (every document) at the event level, without building values or copying keys,
/// and reports each document's first line (counting `lines_before`) and [`Head`]. Rendering calls
/// this for every YAML file it writes, so it must be cheap: building a value tree per document
/// costs more than rendering the templates.
fn yaml_heads(text: &str, lines_before: usize) -> std::result::Result<Vec<(usize, Head)>, String> {
    use granit_parser::{Event, Parser};
    let mut docs = Vec::new();
    let mut head: Head = None;
    let mut doc_line = 0;
    let mut frames: Vec<Frame> = Vec::new();
    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| {
            let info = e.info();
            format!(
                "{} at line {} column {}",
                info.lines().next().unwrap_or("invalid YAML"),
                e.marker().line() + lines_before,
                e.marker().col() + 1
            )
        })?;
        let node = matches!(
            event,
            Event::Scalar(..)
                | Event::MappingStart(..)
                | Event::SequenceStart(..)
                | Event::Alias(_)
        );
        // For a node inside a mapping: is it a key, and what is the value of that key?
        let (is_key, parent, slot) = match frames.last_mut() {
            Some(f) if node && f.mapping => {
                let is_key = f.expecting_key;
                f.expecting_key = !is_key;
                (is_key, Some(f.role), f.slot)
            }
            Some(f) => (false, Some(f.role), Slot::Other),
            None => (false, None, Slot::Other),
        };
        match event {
            Event::DocumentStart(..) => {
                head = None;
                doc_line = span.start.line() + lines_before;
            }
            Event::DocumentEnd => docs.push((doc_line, head.take())),
            Event::Scalar(value, ..) => {
                if is_key {
                    if let Some(f) = frames.last_mut() {
                        f.slot = match (f.role, value.as_ref()) {
                            (Role::Top, "apiVersion") => Slot::Head(0),
                            (Role::Top, "kind") => Slot::Head(1),
                            (Role::Top, "metadata") => Slot::Metadata,
                            (Role::Metadata, "name") => Slot::Head(2),
                            _ => Slot::Other,
                        };
                    }
                    continue;
                }
                match (parent, slot, head.as_mut()) {
                    (Some(_), Slot::Head(i), Some(h)) => h[i] = true,
                    (None, _, _) if !matches!(value.as_ref(), "" | "~" | "null") => {
                        head = Some([false; 3]);
                    }
                    _ => {}
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let mapping = matches!(event, Event::MappingStart(..));
                let role = match (parent, slot) {
                    (None, _) => {
                        head = Some([false; 3]);
                        if mapping { Role::Top } else { Role::Other }
                    }
                    (Some(Role::Top), Slot::Metadata) if mapping && !is_key => Role::Metadata,
                    _ => Role::Other,
                };
                frames.push(Frame {
                    mapping,
                    role,
                    expecting_key: true,
                    slot: Slot::Other,
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                frames.pop();
            }
            _ => {}
        }
    }
    Ok(docs)
}

fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or("invalid YAML").to_string()
}

/// Parses every YAML document of a file into values (for the consistency checks).
pub fn yaml_documents(text: &str) -> std::result::Result<Vec<Value>, String> {
    serde_saphyr::from_multiple::<Value>(text).map_err(|e| first_line(&e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_some_consumer_reads_as_a_line_break_are_bugs() {
        let ok = "# a — comment → with é, ✓, 🚀, ب, ᠍, 👩\u{200d}💻 and \u{200c}\nkey:\tvalue\n";
        assert!(check_characters("a.yaml", ok).is_ok());
        for bad in [
            '\u{85}',
            '\u{2028}',
            '\u{2029}',
            '\r',
            '\u{7f}',
            '\u{9b}',
            '\u{feff}',
            '\u{fffe}',
            '\u{1ffff}',
            '\u{fdd0}',
            '\u{b}',
        ]
        .into_iter()
        .chain(crate::spec::chars::TROJAN_SOURCE.iter().copied())
        {
            let text = format!("a: 1\n# x{bad}y\n");
            let err = check_characters("a.yaml", &text).expect_err(&format!("{bad:?}"));
            assert!(
                err.to_string().contains("line 2") || format!("{err:?}").contains("line 2"),
                "{err:?}"
            );
        }
    }

    #[test]
    fn broken_yaml_and_headless_objects_are_bugs() {
        assert!(
            check(
                "terraform/30-platform/values/x.yaml",
                "t",
                "a: [1, 2\nb: c\n"
            )
            .is_err()
        );
        assert!(check("k8s/x.yaml", "t", "a: {b: 1\n").is_err());
        let headless = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\nkind: Service\nmetadata: {name: b}\n";
        let err = check("k8s/x.yaml", "t", headless).expect_err("no apiVersion");
        assert!(
            err.to_string()
                .contains("the document at line 5 has no `apiVersion`"),
            "{err}"
        );
        let nameless = "apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {a: b}}\n";
        assert!(check("k8s/x.yaml", "t", nameless).is_err());
        let ok =
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: [1, {x: y}]}\n";
        assert!(check("k8s/x.yaml", "t", ok).is_ok());
        assert!(
            check(
                "terraform/00-bootstrap/main.tf",
                "t",
                "resource \"a\" \"b\" {\n"
            )
            .is_err()
        );
    }
}

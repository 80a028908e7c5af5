//! Stage 4 — parse every rendered file back before it leaves the renderer.
//!
//! `.tf` files must parse as HCL (hcl-rs); `.yaml` files must parse as YAML, one value per
//! document; documents below `k8s/` (except the kustomization) must carry `apiVersion`, `kind` and
//! `metadata.name`. A failure here is a bug in a template, reported with the template's id.

use serde_json::Value;

use crate::error::{Error, Result};

/// Checks one rendered file.
pub fn check(path: &str, template: &str, text: &str) -> Result<()> {
    let fail = |format: &'static str, message: String| Error::ParseBack {
        path: path.to_string(),
        template: template.to_string(),
        format,
        message,
    };
    if path.ends_with(".tf") {
        hcl::parse(text).map_err(|e| fail("HCL", e.to_string()))?;
    } else if path.ends_with(".yaml") {
        let heads = yaml_heads(text).map_err(|m| fail("YAML", m))?;
        if path.starts_with("k8s/") && !path.ends_with("kustomization.yaml") {
            for (i, head) in heads.iter().enumerate() {
                let Some(head) = head else { continue };
                for (what, ok) in ["apiVersion", "kind", "metadata.name"].iter().zip(head) {
                    if !ok {
                        return Err(fail(
                            "a Kubernetes object",
                            format!("document {} has no `{what}`", i + 1),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Whether one document has a scalar `apiVersion`, `kind` and `metadata.name`; `None` for an
/// empty document.
type Head = Option<[bool; 3]>;

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
    /// In a mapping: the last key read.
    key: String,
}

/// Parses YAML (every document) at the event level, without building values, and reports each
/// document's [`Head`]. Rendering calls this for every YAML file it writes, so it must be cheap:
/// building a value tree per document costs more than rendering the templates.
fn yaml_heads(text: &str) -> std::result::Result<Vec<Head>, String> {
    use granit_parser::{Event, Parser};
    let mut docs = Vec::new();
    let mut head: Head = None;
    let mut frames: Vec<Frame> = Vec::new();
    for item in Parser::new_from_str(text) {
        let (event, _) = item.map_err(|e| first_line(&e.to_string()))?;
        let node = matches!(
            event,
            Event::Scalar(..)
                | Event::MappingStart(..)
                | Event::SequenceStart(..)
                | Event::Alias(_)
        );
        // For a node inside a mapping: is it a key, and which key does a value belong to?
        let (is_key, parent, key) = match frames.last_mut() {
            Some(f) if node && f.mapping => {
                let is_key = f.expecting_key;
                f.expecting_key = !is_key;
                (is_key, Some(f.role), f.key.clone())
            }
            Some(f) => (false, Some(f.role), String::new()),
            None => (false, None, String::new()),
        };
        match event {
            Event::DocumentStart(..) => head = None,
            Event::DocumentEnd => docs.push(head.take()),
            Event::Scalar(value, ..) => {
                if is_key {
                    if let Some(f) = frames.last_mut() {
                        f.key = value.into_owned();
                    }
                    continue;
                }
                match (parent, key.as_str(), head.as_mut()) {
                    (Some(Role::Top), "apiVersion", Some(h)) => h[0] = true,
                    (Some(Role::Top), "kind", Some(h)) => h[1] = true,
                    (Some(Role::Metadata), "name", Some(h)) => h[2] = true,
                    (None, _, _) if !matches!(value.as_ref(), "" | "~" | "null") => {
                        head = Some([false; 3]);
                    }
                    _ => {}
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let mapping = matches!(event, Event::MappingStart(..));
                let role = match (parent, key.as_str()) {
                    (None, _) => {
                        head = Some([false; 3]);
                        if mapping { Role::Top } else { Role::Other }
                    }
                    (Some(Role::Top), "metadata") if mapping && !is_key => Role::Metadata,
                    _ => Role::Other,
                };
                frames.push(Frame {
                    mapping,
                    role,
                    expecting_key: true,
                    key: String::new(),
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
            err.to_string().contains("document 2 has no `apiVersion`"),
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

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
        let docs = yaml_documents(text).map_err(|m| fail("YAML", m))?;
        if path.starts_with("k8s/") && !path.ends_with("kustomization.yaml") {
            for (i, doc) in docs.iter().enumerate() {
                if doc.is_null() {
                    continue;
                }
                for (what, ok) in [
                    ("apiVersion", doc["apiVersion"].is_string()),
                    ("kind", doc["kind"].is_string()),
                    ("metadata.name", doc["metadata"]["name"].is_string()),
                ] {
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

/// Parses every YAML document of a file.
pub fn yaml_documents(text: &str) -> std::result::Result<Vec<Value>, String> {
    serde_saphyr::from_multiple::<Value>(text).map_err(|e| {
        e.to_string()
            .lines()
            .next()
            .unwrap_or("invalid YAML")
            .to_string()
    })
}

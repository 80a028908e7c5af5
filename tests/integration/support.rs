//! Tests — shared helpers: the examples, rendering a case, and the snapshot format.

use std::path::{Path, PathBuf};

use fredgen::render::Output;

/// One example × target × environment.
#[derive(Debug, Clone)]
pub struct Case {
    /// Example folder name.
    pub example: String,
    /// Target id.
    pub target: &'static str,
    /// Environment, when the example declares environments.
    pub env: Option<String>,
}

impl Case {
    /// `fred-eks-prod`, `minimal-gke`.
    pub fn name(&self) -> String {
        match &self.env {
            Some(e) => format!("{}-{}-{}", self.example, self.target, e),
            None => format!("{}-{}", self.example, self.target),
        }
    }
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The annotated spec of the README's spec reference: its longest YAML block.
pub fn readme_annotated_spec() -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let reference = &readme[readme.find("## The stack spec").expect("the spec section")..];
    reference
        .split("```yaml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .max_by_key(|b| b.len())
        .expect("an annotated spec")
        .to_string()
}

/// The spec of one example.
pub fn example_spec(example: &str) -> PathBuf {
    root().join("examples").join(example).join("fredgen.yaml")
}

/// An example's spec, loaded as the CLI loads it: with the files its overrides name.
pub fn load_example(example: &str) -> fredgen::Loaded {
    fredgen::load_with(&example_spec(example), &Default::default())
        .unwrap_or_else(|e| panic!("example {example} does not load:\n{}", e.report()))
}

/// Every example × declared target × environment.
pub fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let mut examples: Vec<String> = std::fs::read_dir(root().join("examples"))
        .expect("examples/ exists")
        .map(|e| {
            e.expect("readable")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    examples.sort();
    for example in examples {
        let loaded = load_example(&example);
        let envs = loaded.environments();
        for t in loaded.declared_targets() {
            if envs.is_empty() {
                out.push(Case {
                    example: example.clone(),
                    target: t.id(),
                    env: None,
                });
            }
            for e in &envs {
                out.push(Case {
                    example: example.clone(),
                    target: t.id(),
                    env: Some(e.clone()),
                });
            }
        }
    }
    out
}

/// Renders a case in memory.
pub fn render(case: &Case) -> Output {
    let loaded = load_example(&case.example);
    let target = loaded.find_target(case.target).expect("target exists");
    loaded
        .render(target, case.env.as_deref())
        .unwrap_or_else(|e| panic!("{} does not render:\n{}", case.name(), e.report()))
}

/// One text with a header per file, as snapshots store it.
pub fn combined(out: &Output) -> String {
    let mut s = String::new();
    for (path, text) in &out.files {
        s.push_str(&format!("=== {path} ===\n{text}\n"));
    }
    s
}

/// Runs the fredgen binary.
pub fn fredgen(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_fredgen"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("fredgen runs")
}

/// `out` with `from` replaced by `to` once in `path` (asserting the edit happened).
pub fn edited(out: &Output, path: &str, from: &str, to: &str) -> Output {
    let mut out = out.clone();
    let text = out
        .files
        .get_mut(path)
        .unwrap_or_else(|| panic!("{path} is rendered"));
    assert!(text.contains(from), "{path} does not contain {from:?}");
    *text = text.replacen(from, to, 1);
    out
}

/// Asserts that one of `problems` contains `needle`.
#[track_caller]
pub fn reported(problems: &[String], needle: &str) {
    assert!(
        problems.iter().any(|p| p.contains(needle)),
        "expected a problem containing {needle:?}, got {problems:#?}"
    );
}

/// A pod of namespace `ns` with these labels, as the NetworkPolicy evaluator sees it.
pub fn pod(ns: &str, labels: &[(&str, &str)]) -> fredgen::render::flows::Endpoint {
    fredgen::render::flows::Endpoint::Pod {
        namespace: ns.to_string(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// A TCP connection from `from` to `to` on `port` (a number or a container port's name).
pub fn conn(
    from: &fredgen::render::flows::Endpoint,
    to: &fredgen::render::flows::Endpoint,
    port: &str,
) -> fredgen::render::flows::Conn {
    fredgen::render::flows::Conn {
        from: from.clone(),
        to: to.clone(),
        protocol: "TCP".into(),
        port: port.into(),
    }
}

/// Asserts an output passes the deployability checks: cross-object references and the first
/// apply's order.
pub fn assert_deployable(out: &Output) {
    assert_eq!(
        fredgen::render::consistency::check(out),
        Vec::<String>::new()
    );
    assert_eq!(
        fredgen::render::apply_model::check(out),
        Vec::<String>::new()
    );
}

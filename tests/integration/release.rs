//! Tests — what a release promises outside the code: the minimum Rust version the README states
//! is the one Cargo.toml declares and every dependency builds on, installs are `--locked`, and
//! the CHANGELOG has a section for the version being built.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel))
        .unwrap_or_else(|e| panic!("reading {rel}: {e}"))
}

/// `key = "value"` from the `[package]` table of Cargo.toml.
fn package_key(key: &str) -> String {
    let toml = read("Cargo.toml");
    let package = toml
        .split("\n[")
        .find(|t| t.starts_with("[package]"))
        .expect("a [package] table");
    package
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
        })
        .unwrap_or_else(|| panic!("`{key}` in [package]"))
}

/// A `major.minor[.patch]` version as numbers, for comparing.
fn version(v: &str) -> Vec<u64> {
    v.split('.')
        .map(|p| p.parse().unwrap_or_else(|_| panic!("version `{v}`")))
        .collect()
}

#[test]
fn the_readme_states_the_msrv_cargo_toml_declares() {
    let readme = read("README.md");
    let msrv = package_key("rust-version");
    let edition = package_key("edition");
    assert!(
        readme.contains(&format!("Rust {msrv} or newer")),
        "the README must state the minimum Rust version {msrv}"
    );
    assert!(
        readme.contains(&format!("edition {edition}")),
        "the README must name the edition {edition}"
    );
}

#[test]
fn every_install_in_the_readme_is_locked() {
    let readme = read("README.md");
    let installs: Vec<&str> = readme
        .lines()
        .filter(|l| l.contains("cargo install"))
        .collect();
    assert!(!installs.is_empty(), "the README shows how to install");
    for line in installs {
        assert!(
            line.contains("--locked"),
            "an install without --locked builds dependencies CI never tested: {line}"
        );
    }
}

#[test]
fn the_changelog_has_a_section_for_this_version() {
    let changelog = read("CHANGELOG.md");
    let headings: Vec<&str> = changelog
        .lines()
        .filter_map(|l| l.strip_prefix("## ["))
        .filter_map(|l| l.split_once(']').map(|(v, _)| v))
        .collect();
    assert_eq!(headings.first(), Some(&"Unreleased"), "{headings:?}");
    let this = package_key("version");
    assert!(
        headings.contains(&this.as_str()),
        "no `## [{this}]` in {headings:?}"
    );
}

/// Every crate the binary builds from (normal and build dependencies, followed from fredgen
/// through the lockfile) declares a `rust-version` no newer than fredgen's, so the README's
/// minimum is the real one. The test dependencies are not part of an install.
#[test]
fn every_dependency_declares_a_rust_version_within_the_msrv() {
    // The crates this machine builds (cargo would fetch the other platforms' to list them).
    let rustc = std::process::Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc runs");
    let rustc = String::from_utf8_lossy(&rustc.stdout).into_owned();
    let host = rustc
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host");
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .args(["--filter-platform", host])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let rust_version: BTreeMap<&str, Option<&str>> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| (p["id"].as_str().expect("id"), p["rust_version"].as_str()))
        .collect();
    let nodes: BTreeMap<&str, &serde_json::Value> = meta["resolve"]["nodes"]
        .as_array()
        .expect("resolve")
        .iter()
        .map(|n| (n["id"].as_str().expect("id"), n))
        .collect();
    let root = meta["resolve"]["root"].as_str().expect("root");
    let msrv = version(&package_key("rust-version"));
    let (mut seen, mut todo, mut checked) = (BTreeSet::new(), vec![root], 0);
    while let Some(id) = todo.pop() {
        if !seen.insert(id) {
            continue;
        }
        if let Some(Some(rv)) = rust_version.get(id) {
            checked += 1;
            assert!(
                version(rv) <= msrv,
                "{id} needs Rust {rv}, newer than fredgen's rust-version"
            );
        }
        for dep in nodes[id]["deps"].as_array().expect("deps") {
            let installed = dep["dep_kinds"]
                .as_array()
                .expect("dep_kinds")
                .iter()
                .any(|k| k["kind"].is_null() || k["kind"] == "build");
            if installed {
                todo.push(dep["pkg"].as_str().expect("pkg"));
            }
        }
    }
    assert!(checked > 10, "only {checked} crates declare a rust-version");
}

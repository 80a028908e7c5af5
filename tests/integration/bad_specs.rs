//! Tests — the corpus of bad specs in `tests/bad-specs/`: each one is refused with exit code 2
//! and its exact report (positions, key paths, hints) is snapshotted; nothing panics.

use crate::support::{fredgen, root};

/// The report `fredgen validate` prints for a spec, with its exit code.
fn validate(dir: &std::path::Path, spec: &str) -> String {
    let out = fredgen(dir, &["validate", "-f", spec]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{spec} was not refused with exit code 2:\n{}{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        out.stdout.is_empty(),
        "{spec}: a refused spec prints nothing on stdout"
    );
    assert!(
        !stderr.contains("panicked"),
        "{spec}: fredgen panicked:\n{stderr}"
    );
    format!("exit code 2\n{stderr}")
}

#[test]
fn every_bad_spec_is_refused_with_its_exact_report() {
    let mut count = 0;
    insta::glob!("../bad-specs", "*.yaml", |path| {
        count += 1;
        let name = path.file_name().expect("file name").to_string_lossy();
        let rel = format!("tests/bad-specs/{name}");
        insta::assert_snapshot!(validate(&root(), &rel));
    });
    assert!(
        count >= 40,
        "the corpus has {count} specs; the issue asks for at least 40"
    );
}

#[test]
fn a_very_large_file_is_refused_before_it_is_parsed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("name: big\nfrontend:\n  env:\n");
    let mut i = 0;
    while text.len() <= 4 << 20 {
        text.push_str(&format!("    VAR_{i}: \"{}\"\n", "x".repeat(100)));
        i += 1;
    }
    std::fs::write(dir.path().join("big.yaml"), &text).expect("write");
    insta::assert_snapshot!(
        validate(dir.path(), "big.yaml").replace(&text.len().to_string(), "<size>")
    );
}

#[test]
fn an_endless_stream_is_read_only_to_one_byte_past_the_limit() {
    // /dev/zero has no length to check first: reading it whole would never end.
    let report = validate(&root(), "/dev/zero");
    assert!(
        report.contains("spec is more than 1048576 bytes, the limit"),
        "{report}"
    );
}

#[test]
fn thousands_of_problems_are_all_reported_each_with_its_line() {
    // Each report used to split the source into lines again: 40,000 took 24 s.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from(
        "name: dup\nfrontend:\n  image: ghcr.io/a/web:1.0.0\n  port: 8000\n  secrets:\n",
    );
    for _ in 0..5000 {
        text.push_str("    - DUP\n");
    }
    std::fs::write(dir.path().join("dup.yaml"), &text).expect("write");
    let report = validate(dir.path(), "dup.yaml");
    assert_eq!(report.matches("duplicate secret `DUP`").count(), 4999);
    assert!(report.contains("  --> dup.yaml:5005:7\n"), "the last one");
    assert!(
        report.contains("5005 |     - DUP\n"),
        "with its source line"
    );
}

#[test]
fn a_thousand_environments_sharing_a_host_are_one_problem_not_a_million() {
    // Every pair of them used to be a problem of its own: 999,000 reports and 2 GB of memory.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = std::fs::read_to_string(crate::support::example_spec("minimal"))
        .expect("read")
        .replace("  gke: { project: acme-mini, region: us-central1 }\n", "");
    assert!(!text.contains("environments"), "{text}");
    text.push_str("environments:\n");
    for i in 0..1000 {
        text.push_str(&format!("  e{i}: {{}}\n"));
    }
    std::fs::write(dir.path().join("many.yaml"), &text).expect("write");
    let report = validate(dir.path(), "many.yaml");
    assert!(
        report.contains("\n1 problem in the stack spec\n"),
        "{report}"
    );
    assert!(
        report.contains(
            "environments `e0`, `e1`, `e10`, `e100`, `e101` and 995 more all use `domain:"
        ),
        "{report}"
    );
}

//! Tests — one combined snapshot per example × target × environment, and byte-identical re-renders.

use crate::support::{cases, combined, render};

#[test]
fn every_case_matches_its_snapshot() {
    let cases = cases();
    assert!(
        cases.len() >= 9,
        "expected every example on every target, got {}",
        cases.len()
    );
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for case in &cases {
            insta::assert_snapshot!(case.name(), combined(&render(case)));
        }
    });
}

#[test]
fn rendering_twice_gives_identical_bytes() {
    for case in cases() {
        let a = render(&case);
        let b = render(&case);
        assert_eq!(a, b, "{} is not deterministic", case.name());
    }
}

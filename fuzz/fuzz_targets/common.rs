//! Fuzzing — the shared body of the `render_<target>` fuzz targets: arbitrary bytes through
//! load/parse, `validate_all` and `render` of one target for every environment.
//!
//! Oracles (a panic here is a finding; libFuzzer reports it as a crash):
//! - nothing in fredgen panics, loops or allocates without bound on any input;
//! - `Error::Template` and `Error::ParseBack` never come back from `render`: they are bugs in
//!   fredgen, whatever the spec says (`Error::Spec` is the user's error and is fine);
//! - validation never fails with anything but `Error::Spec`;
//! - a target × environment that `validate_all` accepted renders without any error, and its
//!   output is cross-object consistent (`render::consistency::check`);
//! - reading the bytes from a file (`fredgen::load`) agrees with `fredgen::parse` on the text.

use std::path::PathBuf;
use std::sync::OnceLock;

use fredgen::error::Error;
use fredgen::backend::Target;

/// A per-process scratch file, so the bytes also go through the file-loading path.
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("fredgen-fuzz-{}.yaml", std::process::id()))
    })
}

/// Consistency problems already found by fuzzing and reported, each with its reproducer in
/// `fuzz/regressions/`, skipped so fuzzing can go on past them until they are fixed (set
/// `FREDGEN_FUZZ_STRICT=1` to report them anyway). Empty: the two found so far (values files
/// referenced but not rendered) are fixed, and `tests/integration/consistency.rs` renders their
/// reproducers.
const KNOWN_INCONSISTENCIES: &[&str] = &[];

fn strict() -> bool {
    static STRICT: OnceLock<bool> = OnceLock::new();
    *STRICT.get_or_init(|| std::env::var_os("FREDGEN_FUZZ_STRICT").is_some_and(|v| v == "1"))
}

/// Panics with the full report when `err` is one of fredgen's own bugs.
fn assert_not_a_bug(what: &str, err: &Error) {
    if matches!(err, Error::Template { .. } | Error::ParseBack { .. }) {
        panic!("fredgen bug in {what}:\n{}", err.report());
    }
}

/// Runs one input through every stage for `target_id`.
pub fn run(target_id: &str, data: &[u8]) {
    let target: &dyn Target = fredgen::backend::find(target_id).expect("a registered target");

    // The file-loading path first: raw bytes, UTF-8 check, size limit, parse.
    let loaded = if std::fs::write(scratch(), data).is_ok() {
        let from_file = fredgen::load(scratch());
        match std::str::from_utf8(data) {
            Err(_) => {
                assert!(
                    matches!(from_file, Err(Error::Spec { .. })),
                    "load accepted bytes that are not UTF-8"
                );
                None
            }
            Ok(text) => {
                let from_text = fredgen::parse("fuzz.yaml", text.to_string());
                assert_eq!(
                    from_file.is_ok(),
                    from_text.is_ok(),
                    "load and parse disagree on the same text"
                );
                Some(from_text)
            }
        }
    } else {
        None
    };
    // Text that is not UTF-8 still exercises the parser, lossily decoded.
    let parsed = match loaded {
        Some(p) => p,
        None => fredgen::parse("fuzz.yaml", String::from_utf8_lossy(data).into_owned()),
    };

    let loaded = match parsed {
        Ok(l) => l,
        Err(e) => {
            assert!(matches!(e, Error::Spec { .. }), "parse failed with {e:?}");
            let _ = e.report(); // diagnostics render (line/caret slicing) must not panic
            return;
        }
    };

    let envs = loaded.environments();
    let env_list: Vec<Option<&str>> = if envs.is_empty() {
        vec![None]
    } else {
        envs.iter().map(|e| Some(e.as_str())).collect()
    };
    for env in &env_list {
        let _ = loaded.resolve_env(*env);
    }
    let _ = loaded.declared_targets();

    let validated = match loaded.validate_all() {
        Ok(cases) => cases,
        Err(e) => {
            assert!(
                matches!(e, Error::Spec { .. }),
                "validate_all failed with something other than a spec error:\n{}",
                e.report()
            );
            let _ = e.report();
            Vec::new()
        }
    };

    for env in &env_list {
        let accepted = validated
            .iter()
            .any(|c| c.target == target.id() && c.env.as_deref() == *env);
        match loaded.render(target, *env) {
            Ok(out) => {
                let mut problems = fredgen::render::consistency::check(&out);
                if !strict() {
                    problems.retain(|p| !KNOWN_INCONSISTENCIES.iter().any(|k| p.ends_with(k)));
                }
                assert!(
                    problems.is_empty(),
                    "rendered output of {} env {env:?} is inconsistent:\n{}",
                    target.id(),
                    problems.join("\n")
                );
            }
            Err(e) => {
                assert_not_a_bug(&format!("render {} env {env:?}", target.id()), &e);
                assert!(
                    !accepted,
                    "validate_all accepted {} env {env:?} but render failed:\n{}",
                    target.id(),
                    e.report()
                );
                let _ = e.report();
            }
        }
    }
}

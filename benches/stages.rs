//! Benchmarks — each pipeline stage on its own (parse, validate, render, write), for every
//! example × target and for generated specs with 10, 100 and 1000 workers. Run by `bench/run`
//! (which also times whole processes); these are measurements, never assertions.

use std::path::PathBuf;
use std::sync::OnceLock;

use fredgen::Loaded;
use fredgen::backend::Target;

fn main() {
    divan::main();
}

/// `<example>/<target>[/<env>]` for the shipped examples, `workers-<n>/<target>` for generated
/// specs.
const CASES: &[&str] = &[
    "minimal/eks",
    "minimal/gke",
    "minimal/hetzner",
    "acme/eks",
    "acme/gke",
    "acme/hetzner",
    "fred/eks/prod",
    "fred/gke/prod",
    "fred/hetzner/prod",
    "workers-10/eks",
    "workers-100/eks",
    "workers-1000/eks",
    "workers-1000/gke",
    "workers-1000/hetzner",
];

struct Case {
    text: String,
    loaded: Loaded,
    target: &'static dyn Target,
    env: Option<String>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The spec text of an example or a generated spec (`bench/gen-spec.py`).
fn spec_text(name: &str) -> String {
    match name.strip_prefix("workers-") {
        Some(n) => {
            let out = std::process::Command::new("python3")
                .arg(root().join("bench/gen-spec.py"))
                .arg(n)
                .output()
                .expect("python3 runs bench/gen-spec.py");
            assert!(out.status.success(), "bench/gen-spec.py {n} failed");
            String::from_utf8(out.stdout).expect("UTF-8")
        }
        None => std::fs::read_to_string(root().join("examples").join(name).join("fredgen.yaml"))
            .expect("example spec"),
    }
}

fn case(name: &str) -> &'static Case {
    static ALL: OnceLock<Vec<(&'static str, Case)>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        CASES
            .iter()
            .map(|name| {
                let mut parts = name.split('/');
                let spec = parts.next().expect("spec");
                let target = fredgen::backend::find(parts.next().expect("target")).expect("target");
                let env = parts.next().map(str::to_string);
                let text = spec_text(spec);
                let loaded = fredgen::parse("fredgen.yaml", text.clone()).expect("parses");
                (
                    *name,
                    Case {
                        text,
                        loaded,
                        target,
                        env,
                    },
                )
            })
            .collect()
    });
    &all.iter()
        .find(|(n, _)| *n == name)
        .expect("a listed case")
        .1
}

#[divan::bench(args = CASES, sample_count = 20, sample_size = 1)]
fn parse(bencher: divan::Bencher, name: &str) {
    let c = case(name);
    bencher
        .with_inputs(|| c.text.clone())
        .bench_values(|text| fredgen::parse("fredgen.yaml", text).expect("parses"));
}

#[divan::bench(args = CASES, sample_count = 20, sample_size = 1)]
fn validate(bencher: divan::Bencher, name: &str) {
    let c = case(name);
    bencher.bench(|| c.loaded.stack(c.target, c.env.as_deref()).expect("valid"));
}

#[divan::bench(args = CASES, sample_count = 20, sample_size = 1)]
fn render(bencher: divan::Bencher, name: &str) {
    let c = case(name);
    let stack = c.loaded.stack(c.target, c.env.as_deref()).expect("valid");
    // The headers the CLI writes for the default output directory.
    let provenance = c
        .loaded
        .provenance(Some((c.target.id(), c.env.as_deref())), None);
    bencher.bench(|| fredgen::backend::render(c.target, &stack, &provenance).expect("renders"));
}

/// Writing the whole output into a new directory (staging, fsync, swap).
#[divan::bench(args = CASES, sample_count = 20, sample_size = 1)]
fn write(bencher: divan::Bencher, name: &str) {
    let c = case(name);
    let out = c
        .loaded
        .render(c.target, c.env.as_deref())
        .expect("renders");
    let tmp = tempfile::tempdir().expect("tempdir");
    let n = std::sync::atomic::AtomicU32::new(0);
    bencher
        .with_inputs(|| {
            let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tmp.path().join(format!("out-{i}"))
        })
        .bench_values(|dir| fredgen::output::write(&out, &dir).expect("writes"));
}

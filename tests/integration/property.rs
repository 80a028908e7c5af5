//! Tests — properties over generated specs: any spec the validator accepts renders on every target
//! and environment it declares, twice, byte-identically, and every file parses back; a spec it
//! refuses is refused with diagnostics, never a panic or another error kind. Small mutations of the
//! examples' text hold to the same contract.
//!
//! Beyond parsing, every rendered file ends with a newline and holds no placeholder; no Terraform
//! address or Kubernetes object is declared twice; `name`/`namespace`/`key`-like fields of
//! Kubernetes objects are strings (a value written unquoted reads as `true` or `null`); and the
//! spec's argv items and env values reach the manifests verbatim.
//!
//! The generator writes YAML text covering the spec's whole space (every section, valid, borderline
//! and invalid values, block and flow style, plain and quoted scalars), mixing in invalid values
//! at a rate drawn per spec, so both the accept and the reject path run; the test asserts that at
//! least a quarter of the specs are accepted, or the render property would hold vacuously.
//!
//! Runs are deterministic: a fixed seed unless `PROPTEST_RNG_SEED` is set, and `PROPTEST_CASES`
//! overrides the number of cases (e.g. `PROPTEST_CASES=2000 PROPTEST_RNG_SEED=7 cargo test
//! property` for a longer local hunt). Failures are not persisted (no `proptest-regressions/`
//! files); a failure prints the shrunk spec text and the error instead.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};

use fredgen::error::Error;
use proptest::prelude::*;
use proptest::sample::{Index, select, subsequence};
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};

use crate::support::example_spec;

// ---------------------------------------------------------------------------------------------
// Runner configuration
// ---------------------------------------------------------------------------------------------

/// The seed used unless `PROPTEST_RNG_SEED` is set.
const SEED: u64 = 0x00f4_ed6e_2026;

/// A deterministic configuration: `cases` unless `PROPTEST_CASES` is set, a fixed seed unless
/// `PROPTEST_RNG_SEED` is set, no failure persistence, and bounded shrinking.
fn config(cases: u32) -> Config {
    let from_env = Config::default();
    Config {
        cases: if std::env::var_os("PROPTEST_CASES").is_some() {
            from_env.cases
        } else {
            cases
        },
        rng_seed: if std::env::var_os("PROPTEST_RNG_SEED").is_some() {
            from_env.rng_seed
        } else {
            RngSeed::Fixed(SEED)
        },
        failure_persistence: None,
        max_shrink_iters: 512,
        max_shrink_time: 30_000,
        ..from_env
    }
}

/// Runs `test` over `strategy`; on failure panics with the shrunk input shown by `show`.
fn run<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    show: impl Fn(&S::Value) -> String,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let mut runner = TestRunner::new(config(cases));
    match runner.run(&strategy, test) {
        Ok(()) => {}
        Err(TestError::Fail(reason, value)) => panic!(
            "{name}: property failed: {reason}\n--- minimal failing spec ---\n{}--- end ---",
            show(&value)
        ),
        Err(TestError::Abort(reason)) => panic!("{name}: aborted: {reason}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The generated spec
// ---------------------------------------------------------------------------------------------

/// A scalar as written in the spec.
#[derive(Debug, Clone)]
enum Sc {
    /// A string, quoted or plain as the style says.
    S(String),
    /// An integer, plain.
    I(i64),
    /// A boolean, plain.
    B(bool),
    /// Written exactly as is (a wrong type, a YAML 1.1 boolean, a float ...).
    Raw(&'static str),
}

/// How the YAML text is laid out.
#[derive(Debug, Clone, Copy)]
struct Style {
    /// Mappings and sequences at this depth or deeper are written in flow style.
    flow_depth: usize,
    /// How strings are quoted.
    quote: Quote,
    /// Whether comment lines are sprinkled in.
    comments: bool,
}

#[derive(Debug, Clone, Copy)]
enum Quote {
    /// Plain where YAML allows it, double-quoted otherwise.
    Minimal,
    /// Always double-quoted.
    Double,
    /// Single-quoted where possible.
    Single,
}

#[derive(Debug, Clone)]
struct Spec {
    style: Style,
    name: Option<Sc>,
    domain: Option<Sc>,
    frontend: Option<Frontend>,
    /// `None`: no `workers` key.
    workers: Option<Vec<Worker>>,
    /// Offset into [`WORKER_NAMES`], so generated worker names are distinct.
    worker_base: usize,
    queue: Option<Queue>,
    postgres: Option<Postgres>,
    monitoring: Option<Monitoring>,
    targets: Option<Targets>,
    environments: Option<BTreeMap<String, Overlay>>,
}

#[derive(Debug, Clone)]
struct Frontend {
    image: Option<Sc>,
    port: Option<Sc>,
    command: Option<Vec<Sc>>,
    /// `Some(None)`: `health: {}`.
    health: Option<Option<Sc>>,
    metrics: Option<Metrics>,
    replicas: Option<Replicas>,
    resources: Option<Resources>,
    env: Option<BTreeMap<String, Sc>>,
    secrets: Option<Vec<Sc>>,
    migrate: Option<Vec<Sc>>,
}

#[derive(Debug, Clone)]
struct Metrics {
    path: Option<Sc>,
    port: Option<Sc>,
}

#[derive(Debug, Clone)]
struct Replicas {
    min: Option<Sc>,
    max: Option<Sc>,
}

#[derive(Debug, Clone)]
struct Resources {
    cpu: Option<Sc>,
    memory: Option<Sc>,
}

#[derive(Debug, Clone)]
enum WorkerName {
    /// The next distinct name from [`WORKER_NAMES`].
    Fresh,
    /// The previous worker's name again.
    Duplicate,
    /// A name from the invalid pool.
    Bad(Sc),
    /// No `name` key.
    Missing,
}

#[derive(Debug, Clone)]
enum Consumes {
    /// A declared queue (by index), or no `consumes` when no queue is declared.
    Declared(usize),
    /// A queue that is not declared.
    Undeclared,
}

#[derive(Debug, Clone)]
struct Worker {
    name: WorkerName,
    image: Option<Sc>,
    command: Option<Vec<Sc>>,
    consumes: Option<Consumes>,
    metrics: Option<Metrics>,
    /// `Some(None)`: `health: {}`.
    health: Option<Option<Vec<Sc>>>,
    replicas: Option<Replicas>,
    resources: Option<Resources>,
    env: Option<BTreeMap<String, Sc>>,
    secrets: Option<Vec<Sc>>,
    egress: Option<Sc>,
}

#[derive(Debug, Clone)]
struct Queue {
    /// `None`: `queue: {}`.
    rabbitmq: Option<Rabbitmq>,
}

#[derive(Debug, Clone)]
struct Rabbitmq {
    version: Option<Sc>,
    replicas: Option<Sc>,
    storage: Option<Sc>,
    queues: Option<Vec<Sc>>,
}

#[derive(Debug, Clone)]
struct Postgres {
    version: Option<Sc>,
    storage: Option<Sc>,
    ha: Option<Sc>,
    /// `Some(None)`: `backup: {}`.
    backup: Option<Option<Sc>>,
    placement: Option<Sc>,
}

#[derive(Debug, Clone)]
struct Monitoring {
    metrics: Option<Sc>,
    logs: Option<Sc>,
    alerts: Option<(Option<Sc>, Option<Sc>)>,
}

#[derive(Debug, Clone, Default)]
struct TargetBlock {
    region: Option<Sc>,
    project: Option<Sc>,
    location: Option<Sc>,
    kubernetes: Option<Sc>,
    api_allowed_cidrs: Option<Vec<Sc>>,
}

/// The keys of a target block in field order, as each target's strategy draws them.
type TargetKeys = (
    Option<Sc>,
    Option<Sc>,
    Option<Sc>,
    Option<Sc>,
    Option<Vec<Sc>>,
);

impl From<TargetKeys> for TargetBlock {
    fn from((region, project, location, kubernetes, api_allowed_cidrs): TargetKeys) -> Self {
        TargetBlock {
            region,
            project,
            location,
            kubernetes,
            api_allowed_cidrs,
        }
    }
}

#[derive(Debug, Clone)]
struct Targets {
    /// Which of eks, gke, hetzner are declared (indices into the three blocks).
    chosen: Vec<usize>,
    blocks: [TargetBlock; 3],
    /// An unknown target id, declared too.
    unknown: Option<Sc>,
}

#[derive(Debug, Clone)]
struct Overlay {
    /// `prod:` with no value at all.
    null: bool,
    name: Option<Sc>,
    domain: Option<Sc>,
    frontend_replicas: Option<Replicas>,
    frontend_image: Option<Sc>,
    workers: Option<Vec<OverlayWorker>>,
    postgres: Option<(Option<Sc>, Option<Sc>)>,
    logs: Option<Sc>,
    /// `targets.<first declared>.kubernetes`.
    kubernetes: Option<Sc>,
    nested: bool,
}

#[derive(Debug, Clone)]
struct OverlayWorker {
    /// An existing worker (by index), or a new name.
    name: Result<usize, Sc>,
    replicas: Option<Replicas>,
    egress: Option<Sc>,
}

// ---------------------------------------------------------------------------------------------
// Value pools: valid (including borderline) and invalid values per key
// ---------------------------------------------------------------------------------------------

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// Worker names. Words YAML reads as booleans or null (`null`, `yes`) are refused as names, so
/// they sit in the bad pools, where the validator must refuse them.
const WORKER_NAMES: &[&str] = &["agent", "collector", "mailer", "w1", "a-b", "sync-2"];

fn s(v: &str) -> Sc {
    Sc::S(v.to_string())
}

fn strs(v: &[&str]) -> Vec<Sc> {
    v.iter().map(|x| s(x)).collect()
}

fn ints(v: &[i64]) -> Vec<Sc> {
    v.iter().map(|x| Sc::I(*x)).collect()
}

fn images() -> Vec<Sc> {
    let mut v = strs(&[
        "ghcr.io/acme/web:1.4.2",
        "nginx:1.27",
        "docker.io/acme/api:3.2.0",
        "registry.example.com:5000/team/app:v2",
        "acme/app_x:2026.01.5-rc.1",
    ]);
    v.push(Sc::S(format!("ghcr.io/acme/web@{DIGEST}")));
    v.push(Sc::S(format!("ghcr.io/acme/web:1.4.2@{DIGEST}")));
    v
}

fn bad_images() -> Vec<Sc> {
    vec![
        s("ghcr.io/acme/web"),
        s("nginx:latest"),
        s("nginx"),
        s("ghcr.io/acme/web@sha256:abc"),
        s("/abs/path:1"),
        s("has space:1"),
        s(""),
        s("registry.example.com:5000/team/app"),
        Sc::Raw("[nested, list]"),
    ]
}

/// Argv items: ordinary, and strings that stress every quoting layer downstream.
fn argv_items() -> Vec<Sc> {
    strs(&[
        "gunicorn",
        "app.wsgi",
        "-b",
        "0.0.0.0:8000",
        "sh",
        "-c",
        "exec app --port=$PORT",
        "it's",
        "say \"hi\"",
        "back\\slash",
        "${HOME}",
        "{{ not_a_template }}",
        "%{ if true }x%{ endif }",
        "# not a comment",
        "key: value",
        "- dash",
        "multi\nline",
        "tab\there",
        "héllo ✓",
        "",
    ])
}

fn env_values() -> Vec<Sc> {
    let mut v = argv_items();
    v.extend([
        s("fred.settings.prod"),
        s("http://x.svc:9100/a?b=c&d"),
        s("true"),
    ]);
    v
}

fn env_keys() -> Vec<&'static str> {
    vec![
        "DJANGO_SETTINGS_MODULE",
        "LOG_LEVEL",
        "_UNDERSCORE",
        "lower_case",
        "X1",
        "API_TOKEN", // secret-looking: valid only with an empty value
    ]
}

fn bad_env_keys() -> Vec<&'static str> {
    // YAML 1.1 booleans and nulls are refused as names (they would be written as non-strings).
    vec![
        "1BAD",
        "BAD-KEY",
        "DB_PASSWORD",
        "with space",
        "",
        "TRUE",
        "on",
        "Y",
    ]
}

fn secret_names() -> Vec<&'static str> {
    vec![
        "DJANGO_SECRET_KEY",
        "API_KEY",
        "S3_ACCESS",
        "X",
        "A_64_CHARACTER_SECRET_NAME_IS_THE_LONGEST_ONE_THAT_FREDGEN_TAKES",
    ]
}

fn bad_secret_names() -> Vec<Sc> {
    vec![
        s("lower"),
        s("NO"),
        s("NULL"),
        s("1X"),
        s("WITH-DASH"),
        s(""),
        s("A_65_CHARACTER_SECRET_NAME_IS_ONE_MORE_THAN_THE_LONGEST_FREDGEN_TAKES"),
        s("TRAILING_"),
        // fredgen's own platform secret: never handed to the app's pods.
        s("GRAFANA_ADMIN_PASSWORD"),
        Sc::I(42),
    ]
}

fn queue_names() -> Vec<&'static str> {
    vec![
        "tasks",
        "fred.tasks",
        "emails",
        "q-1_x",
        "Mixed.Case",
        "123",
        "null",
        "1.5",
        "a-queue-name-that-is-rather-long-for-a-kubernetes-resource-name-x",
    ]
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

/// The share of keys (in percent) that take a value from their invalid pool, drawn per spec.
#[derive(Debug, Clone, Copy)]
struct Bad(u32);

impl Bad {
    /// Probability that a required key is present.
    fn required(self) -> f64 {
        1.0 - f64::from(self.0) / 300.0
    }
}

/// A value: from `valid` mostly, from `invalid` at the spec's bad rate.
fn pick(bad: Bad, valid: Vec<Sc>, invalid: Vec<Sc>) -> BoxedStrategy<Sc> {
    if bad.0 == 0 || invalid.is_empty() {
        select(valid).boxed()
    } else {
        prop_oneof![100 - bad.0 => select(valid), bad.0 => select(invalid)].boxed()
    }
}

fn opt<S: Strategy + 'static>(p: f64, s: S) -> BoxedStrategy<Option<S::Value>>
where
    S::Value: std::fmt::Debug + Clone,
{
    if p >= 1.0 {
        s.prop_map(Some).boxed()
    } else if p <= 0.0 {
        Just(None).boxed()
    } else {
        prop::option::weighted(p, s).boxed()
    }
}

fn argv(min: usize) -> BoxedStrategy<Vec<Sc>> {
    prop::collection::vec(select(argv_items()), min..=4).boxed()
}

fn env_map(bad: Bad) -> BoxedStrategy<BTreeMap<String, Sc>> {
    let key = if bad.0 == 0 {
        select(env_keys()).boxed()
    } else {
        prop_oneof![100 - bad.0 => select(env_keys()), bad.0 => select(bad_env_keys())].boxed()
    };
    prop::collection::btree_map(key.prop_map(str::to_string), select(env_values()), 0..=3)
        .prop_map(|mut m| {
            // A secret-looking key is valid only with an empty value: keep it valid here; the bad
            // pool's DB_PASSWORD covers the refusal.
            if let Some(v) = m.get_mut("API_TOKEN") {
                *v = s("");
            }
            m
        })
        .boxed()
}

fn secrets(bad: Bad) -> BoxedStrategy<Vec<Sc>> {
    let valid = subsequence(secret_names(), 0..=3).prop_map(|v| strs(&v));
    spoil_list(bad, valid, bad_secret_names())
}

/// A list of valid names which, in proportion to `bad`, gains one of `invalid` and a duplicate
/// of its first name.
fn spoil_list(
    bad: Bad,
    valid: impl Strategy<Value = Vec<Sc>> + 'static,
    invalid: Vec<Sc>,
) -> BoxedStrategy<Vec<Sc>> {
    if bad.0 == 0 {
        return valid.boxed();
    }
    (
        valid,
        opt(f64::from(bad.0) / 100.0, select(invalid)),
        prop::bool::weighted(f64::from(bad.0) / 200.0),
    )
        .prop_map(|(mut v, extra, dup)| {
            if let Some(x) = extra {
                v.push(x);
            }
            if dup && let Some(first) = v.first().cloned() {
                v.push(first);
            }
            v
        })
        .boxed()
}

fn http_path(bad: Bad) -> BoxedStrategy<Sc> {
    pick(
        bad,
        strs(&[
            "/",
            "/healthz",
            "/api/v1/health?full=1",
            "/métriques",
            "/a/b/c/",
        ]),
        vec![s("healthz"), s("/with space"), s(""), Sc::I(200)],
    )
}

fn port(bad: Bad) -> BoxedStrategy<Sc> {
    pick(
        bad,
        ints(&[8000, 8080, 80, 1, 65535, 9100, 443]),
        vec![
            Sc::I(0),
            Sc::I(-1),
            Sc::I(65536),
            Sc::Raw("eighty"),
            Sc::Raw("80.5"),
            Sc::Raw("99999999999999999999"),
        ],
    )
}

fn metrics(bad: Bad, default_port: bool) -> BoxedStrategy<Metrics> {
    (
        opt(0.5, http_path(bad)),
        opt(if default_port { 0.4 } else { 0.6 }, port(bad)),
    )
        .prop_map(|(path, port)| Metrics { path, port })
        .boxed()
}

/// Replica bounds: mostly a valid pair (max ≥ min, up to the borderline 1000), at the bad rate an
/// invalid one; either bound may be left out.
fn replicas(bad: Bad, mins: &'static [i64]) -> BoxedStrategy<Replicas> {
    let valid = (select(mins), select(&[0i64, 1, 8, 18, 1000][..]))
        .prop_map(|(min, d)| (Sc::I(min), Sc::I((min + d).clamp(1, 1000))));
    let invalid = select(vec![
        (Sc::I(3), Sc::I(2)),
        (Sc::I(-1), Sc::I(2)),
        (Sc::I(2), Sc::I(0)),
        (Sc::I(1), Sc::I(1001)),
        (Sc::Raw("two"), Sc::I(4)),
        (Sc::I(1001), Sc::I(1001)),
    ]);
    let pair = if bad.0 == 0 {
        valid.boxed()
    } else {
        prop_oneof![100 - bad.0 => valid, bad.0 => invalid].boxed()
    };
    (pair, 0..8u8)
        .prop_map(|((min, max), shape)| match shape {
            0 => Replicas {
                min: Some(min),
                max: None,
            },
            1 => Replicas {
                min: None,
                max: Some(max),
            },
            _ => Replicas {
                min: Some(min),
                max: Some(max),
            },
        })
        .boxed()
}

fn resources(bad: Bad) -> BoxedStrategy<Resources> {
    let cpu = pick(
        bad,
        vec![
            s("250m"),
            s("1"),
            s("0.5"),
            s("1.5"),
            s("2000m"),
            s("1m"),
            s("0.001"),
            Sc::I(2),
        ],
        vec![
            s("0"),
            s("-1"),
            s("1..5"),
            s("m"),
            s("abc"),
            s("1e3"),
            s(""),
        ],
    );
    let memory = pick(
        bad,
        strs(&[
            "16Mi", "256Mi", "1Gi", "512M", "16777216", "1Ti", "20000k", "3G",
        ]),
        vec![
            s("15Mi"),
            s("1.5Gi"),
            s("lots"),
            s(""),
            s("0"),
            s("16mi"),
            s("99999999999999999999Ti"),
            Sc::I(512),
        ],
    );
    (opt(0.8, cpu), opt(0.8, memory))
        .prop_map(|(cpu, memory)| Resources { cpu, memory })
        .boxed()
}

fn frontend(bad: Bad) -> BoxedStrategy<Frontend> {
    (
        (
            opt(bad.required(), pick(bad, images(), bad_images())),
            opt(bad.required(), port(bad)),
            opt(0.5, argv(0)),
            opt(0.6, opt(0.9, http_path(bad))),
            opt(0.5, metrics(bad, true)),
        ),
        (
            opt(0.7, replicas(bad, &[2, 2, 3, 1, 10, 1000])),
            opt(0.6, resources(bad)),
            opt(0.5, env_map(bad)),
            opt(0.5, secrets(bad)),
            opt(0.4, argv(1)),
        ),
    )
        .prop_map(
            |(
                (image, port, command, health, metrics),
                (replicas, resources, env, secrets, migrate),
            )| Frontend {
                image,
                port,
                command,
                health,
                metrics,
                replicas,
                resources,
                env,
                secrets,
                migrate,
            },
        )
        .boxed()
}

fn worker(bad: Bad) -> BoxedStrategy<Worker> {
    let name = if bad.0 == 0 {
        Just(WorkerName::Fresh).boxed()
    } else {
        prop_oneof![
            100 - bad.0 => Just(WorkerName::Fresh),
            bad.0 => prop_oneof![
                Just(WorkerName::Duplicate),
                Just(WorkerName::Missing),
                select(strs(&["web", "Agent", "1w", "", "a-worker-name-of-21ch", "w_1"]))
                    .prop_map(WorkerName::Bad),
            ],
        ]
        .boxed()
    };
    let consumes = if bad.0 == 0 {
        any::<usize>().prop_map(Consumes::Declared).boxed()
    } else {
        prop_oneof![
            100 - bad.0 => any::<usize>().prop_map(Consumes::Declared),
            bad.0 => Just(Consumes::Undeclared),
        ]
        .boxed()
    };
    let health = if bad.0 == 0 {
        argv(1).prop_map(Some).boxed()
    } else {
        prop_oneof![
            100 - bad.0 => argv(1).prop_map(Some),
            bad.0 => prop_oneof![Just(None), Just(Some(vec![]))],
        ]
        .boxed()
    };
    (
        (
            name,
            opt(bad.required(), pick(bad, images(), bad_images())),
            opt(0.5, argv(0)),
            opt(0.5, consumes),
            opt(0.3, metrics(bad, false)),
            opt(0.4, health),
        ),
        (
            opt(0.9, replicas(bad, &[2, 2, 3, 10, 0, 1])),
            opt(0.5, resources(bad)),
            opt(0.4, env_map(bad)),
            opt(0.4, secrets(bad)),
            opt(
                0.5,
                pick(
                    bad,
                    strs(&["internet", "none"]),
                    vec![s("public"), s(""), Sc::B(true)],
                ),
            ),
        ),
    )
        .prop_map(
            |(
                (name, image, command, consumes, metrics, health),
                (replicas, resources, env, secrets, egress),
            )| Worker {
                name,
                image,
                command,
                consumes,
                metrics,
                health,
                replicas,
                resources,
                env,
                secrets,
                egress,
            },
        )
        .boxed()
}

fn queue(bad: Bad) -> BoxedStrategy<Queue> {
    let names = subsequence(queue_names(), 1..=3).prop_map(|v| strs(&v));
    let names = spoil_list(
        bad,
        names,
        vec![s("bad name"), s(""), s("q/1"), s("ü"), Sc::I(7)],
    );
    let rabbitmq = (
        opt(
            0.6,
            pick(
                bad,
                strs(&["4.3", "4.2"]),
                vec![s("4.1"), s("3.13"), Sc::Raw("4.3"), s("latest")],
            ),
        ),
        opt(0.6, pick(bad, ints(&[1, 3, 5, 7]), ints(&[0, 2, 9, -3]))),
        opt(
            0.5,
            pick(
                bad,
                strs(&["1Gi", "20Gi", "65536Gi", "8Gi"]),
                strs(&["0Gi", "20G", "65537Gi", "big", "1.5Gi"]),
            ),
        ),
        opt(0.9, names),
    )
        .prop_map(|(version, replicas, storage, queues)| Rabbitmq {
            version,
            replicas,
            storage,
            queues,
        });
    opt(bad.required(), rabbitmq)
        .prop_map(|rabbitmq| Queue { rabbitmq })
        .boxed()
}

fn postgres(bad: Bad) -> BoxedStrategy<Postgres> {
    (
        opt(
            0.7,
            pick(
                bad,
                strs(&["15", "16", "17", "18"]),
                vec![s("14"), s("19"), s("17.2"), Sc::I(17)],
            ),
        ),
        opt(
            0.6,
            pick(
                bad,
                strs(&["10Gi", "20Gi", "100Gi", "65536Gi"]),
                strs(&["9Gi", "1Ti", "10GB", "", "65537Gi"]),
            ),
        ),
        opt(
            0.6,
            pick(
                bad,
                vec![Sc::B(true), Sc::B(false)],
                vec![Sc::Raw("yes"), Sc::Raw("\"true\""), Sc::I(1)],
            ),
        ),
        opt(
            0.5,
            opt(
                0.9,
                pick(bad, ints(&[1, 7, 30, 35]), ints(&[0, 36, -5, 365])),
            ),
        ),
        opt(
            0.4,
            pick(
                bad,
                strs(&["in-cluster", "in-cluster", "managed"]),
                strs(&["cloud", "Managed", ""]),
            ),
        ),
    )
        .prop_map(|(version, storage, ha, backup, placement)| Postgres {
            version,
            storage,
            ha,
            backup,
            placement,
        })
        .boxed()
}

fn monitoring(bad: Bad) -> BoxedStrategy<Monitoring> {
    let boolean = || {
        pick(
            bad,
            vec![Sc::B(true), Sc::B(false)],
            vec![Sc::Raw("no"), Sc::Raw("on"), s("false")],
        )
    };
    let alerts = (
        opt(
            bad.required(),
            pick(
                bad,
                strs(&["#alerts", "#a", "#fred-oncall", "#ops_team"]),
                strs(&[
                    "alerts",
                    "#",
                    "#with space",
                    "",
                    "#{{ x }}",
                    "@oncall",
                    "#Alerts",
                ]),
            ),
        ),
        opt(
            0.5,
            pick(
                bad,
                strs(&["SLACK_WEBHOOK_URL", "ALERTS_HOOK"]),
                strs(&["hook-url", "1HOOK"]),
            ),
        ),
    );
    (opt(0.6, boolean()), opt(0.6, boolean()), opt(0.5, alerts))
        .prop_map(|(metrics, logs, alerts)| Monitoring {
            metrics,
            logs,
            alerts,
        })
        .boxed()
}

fn kubernetes(bad: Bad, valid: &[&str]) -> BoxedStrategy<Sc> {
    pick(
        bad,
        strs(valid),
        vec![
            s("1.33"),
            s("1.37"),
            s("v1.35"),
            Sc::Raw("1.35"),
            s("1.36.1"),
        ],
    )
}

fn cidrs(bad: Bad) -> BoxedStrategy<Vec<Sc>> {
    let valid = strs(&[
        "203.0.113.0/24",
        "10.0.0.0/8",
        "198.51.100.7/32",
        "192.0.2.0/28",
    ]);
    let item = pick(
        bad,
        valid,
        strs(&[
            "0.0.0.0/0",
            "10.0.0.0/33",
            "::/0",
            "10.0.0/8",
            "203.0.113.0",
        ]),
    );
    prop::collection::vec(item, 0..=2).boxed()
}

/// A key that does not belong to the target, at the bad rate.
fn stray(bad: Bad, pool: &[&str]) -> BoxedStrategy<Option<Sc>> {
    opt(f64::from(bad.0) / 300.0, select(strs(pool))).boxed()
}

fn targets(bad: Bad) -> BoxedStrategy<Targets> {
    let eks = (
        opt(
            bad.required(),
            pick(
                bad,
                strs(&["eu-west-1", "us-east-2", "ap-southeast-1", "us-gov-west-1"]),
                strs(&["europe-west1", "eu-west", "EU-WEST-1", "eu--1"]),
            ),
        ),
        stray(bad, &["acme-fred"]),
        stray(bad, &["fsn1"]),
        opt(0.4, kubernetes(bad, &["1.36", "1.35", "1.34"])),
        opt(0.4, cidrs(bad)),
    )
        .prop_map(TargetBlock::from);
    let gke = (
        opt(
            bad.required(),
            pick(
                bad,
                strs(&["europe-west1", "us-central1", "asia-northeast3"]),
                strs(&["europe-west", "eu-west-1", "Europe-west1"]),
            ),
        ),
        opt(
            bad.required(),
            pick(
                bad,
                strs(&[
                    "acme-fred",
                    "abcdef",
                    "a-thirty-character-project-id",
                    "p12345",
                ]),
                strs(&["short", "Acme-fred", "acme-", "1acme-fred", "a_b_c_d_e"]),
            ),
        ),
        stray(bad, &["fsn1"]),
        opt(0.4, kubernetes(bad, &["1.36", "1.35", "1.34"])),
        opt(0.4, cidrs(bad)),
    )
        .prop_map(TargetBlock::from);
    let hetzner = (
        stray(bad, &["eu-central-1"]),
        stray(bad, &["acme-fred"]),
        opt(
            bad.required(),
            pick(
                bad,
                strs(&["fsn1", "nbg1", "hel1", "ash", "hil", "sin"]),
                strs(&["fra1", "FSN1", ""]),
            ),
        ),
        opt(0.3, kubernetes(bad, &["1.36", "1.35"])),
        opt(0.4, cidrs(bad)),
    )
        .prop_map(TargetBlock::from);
    (
        // One target most often: every declared target is rendered, so this keeps the cost per
        // spec down while all three targets still come up often.
        prop_oneof![5 => Just(1usize), 3 => Just(2), 2 => Just(3)]
            .prop_flat_map(|n| subsequence(vec![0usize, 1, 2], n)),
        eks,
        gke,
        hetzner,
        opt(
            f64::from(bad.0) / 300.0,
            select(strs(&["aws", "ekss", "azure"])),
        ),
    )
        .prop_map(|(chosen, eks, gke, hetzner, unknown)| Targets {
            chosen,
            blocks: [eks, gke, hetzner],
            unknown,
        })
        .boxed()
}

fn overlay(bad: Bad) -> BoxedStrategy<Overlay> {
    let worker = (
        prop_oneof![
            9 => any::<usize>().prop_map(Ok),
            1 => select(strs(&["newbie", "agent"])).prop_map(Err),
        ],
        opt(0.7, replicas(bad, &[2, 0, 1, 3])),
        opt(0.2, select(strs(&["internet", "none"]))),
    )
        .prop_map(|(name, replicas, egress)| OverlayWorker {
            name,
            replicas,
            egress,
        });
    let rare = f64::from(bad.0) / 300.0;
    (
        (
            prop::bool::weighted(rare),
            opt(rare, select(strs(&["renamed"]))),
            opt(0.1, select(strs(&["staging.example.com", "Bad_Domain"]))),
            opt(0.5, replicas(bad, &[1, 2, 3])),
            opt(0.1, pick(bad, images(), bad_images())),
        ),
        (
            opt(0.4, prop::collection::vec(worker, 0..=2)),
            opt(
                0.4,
                (
                    opt(0.7, select(vec![Sc::B(false), Sc::B(true)])),
                    opt(0.5, pick(bad, strs(&["20Gi", "10Gi"]), strs(&["5Gi"]))),
                ),
            ),
            opt(0.2, select(vec![Sc::B(false), Sc::B(true)])),
            opt(0.2, kubernetes(bad, &["1.36", "1.35"])),
            prop::bool::weighted(rare),
        ),
    )
        .prop_map(
            |(
                (null, name, domain, frontend_replicas, frontend_image),
                (workers, postgres, logs, kubernetes, nested),
            )| Overlay {
                null,
                name,
                domain,
                frontend_replicas,
                frontend_image,
                workers,
                postgres,
                logs,
                kubernetes,
                nested,
            },
        )
        .boxed()
}

fn environments(bad: Bad) -> BoxedStrategy<BTreeMap<String, Overlay>> {
    let name = pick(
        bad,
        strs(&["staging", "prod", "production", "dev", "qa", "null", "on"]),
        strs(&["Prod", "a-very-long-env", "stg_1", ""]),
    )
    .prop_map(|n| match n {
        Sc::S(v) => v,
        _ => "x".to_string(),
    });
    prop::collection::btree_map(name, overlay(bad), 0..=3).boxed()
}

fn style() -> impl Strategy<Value = Style> {
    (
        select(vec![100usize, 2, 3, 1]),
        select(vec![Quote::Minimal, Quote::Double, Quote::Single]),
        any::<bool>(),
    )
        .prop_map(|(flow_depth, quote, comments)| Style {
            flow_depth,
            quote,
            comments,
        })
}

/// A whole spec: the bad rate is drawn first (mostly 0, so a healthy share is accepted).
fn spec() -> impl Strategy<Value = Spec> {
    prop_oneof![6 => Just(0u32), 2 => Just(3u32), 2 => Just(25u32)].prop_flat_map(|b| {
        let bad = Bad(b);
        (
            (
                style(),
                opt(
                    bad.required(),
                    pick(
                        bad,
                        strs(&["fred", "shop-api", "a", "x1", "abcdefghijklmnopqrs"]),
                        vec![
                            s("true"),
                            s("null"),
                            s("yes"),
                            s("n"),
                            s("Fred"),
                            s("-a"),
                            s("a-"),
                            s("1abc"),
                            s("a_b"),
                            s("abcdefghijklmnopqrstu"),
                            s(""),
                            Sc::I(5),
                        ],
                    ),
                ),
                opt(
                    bad.required(),
                    pick(
                        bad,
                        strs(&[
                            "fred.example.com",
                            "a.b",
                            "api.acme-corp.io",
                            "x.y.z.example.org",
                        ]),
                        strs(&[
                            "fred",
                            "Fred.example.com",
                            "-a.example.com",
                            "a..b",
                            "example.com.",
                            "a b.com",
                        ]),
                    ),
                ),
                opt(bad.required(), frontend(bad)),
            ),
            (
                opt(0.6, prop::collection::vec(worker(bad), 0..=3)),
                0..WORKER_NAMES.len(),
                opt(0.5, queue(bad)),
                opt(0.6, postgres(bad)),
                opt(0.5, monitoring(bad)),
                opt(bad.required(), targets(bad)),
                opt(0.5, environments(bad)),
            ),
        )
            .prop_map(
                |(
                    (style, name, domain, frontend),
                    (workers, worker_base, queue, postgres, monitoring, targets, environments),
                )| Spec {
                    style,
                    name,
                    domain,
                    frontend,
                    workers,
                    worker_base,
                    queue,
                    postgres,
                    monitoring,
                    targets,
                    environments,
                },
            )
    })
}

// ---------------------------------------------------------------------------------------------
// Spec → YAML text
// ---------------------------------------------------------------------------------------------

/// A YAML node.
#[derive(Debug, Clone)]
enum Node {
    Scalar(Sc),
    Null,
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

/// Builds a mapping from optional entries, leaving out the absent ones.
fn map(entries: Vec<(&str, Option<Node>)>) -> Node {
    Node::Map(
        entries
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
            .collect(),
    )
}

fn sc(v: &Option<Sc>) -> Option<Node> {
    v.clone().map(Node::Scalar)
}

fn seq(v: &Option<Vec<Sc>>) -> Option<Node> {
    v.as_ref()
        .map(|v| Node::Seq(v.iter().cloned().map(Node::Scalar).collect()))
}

fn env_node(v: &Option<BTreeMap<String, Sc>>) -> Option<Node> {
    v.as_ref().map(|m| {
        Node::Map(
            m.iter()
                .map(|(k, v)| (k.clone(), Node::Scalar(v.clone())))
                .collect(),
        )
    })
}

fn metrics_node(m: &Option<Metrics>) -> Option<Node> {
    m.as_ref()
        .map(|m| map(vec![("path", sc(&m.path)), ("port", sc(&m.port))]))
}

fn replicas_node(r: &Option<Replicas>) -> Option<Node> {
    r.as_ref()
        .map(|r| map(vec![("min", sc(&r.min)), ("max", sc(&r.max))]))
}

fn resources_node(r: &Option<Resources>) -> Option<Node> {
    r.as_ref()
        .map(|r| map(vec![("cpu", sc(&r.cpu)), ("memory", sc(&r.memory))]))
}

/// The declared queue names (strings only).
fn declared_queues(spec: &Spec) -> Vec<String> {
    spec.queue
        .as_ref()
        .and_then(|q| q.rabbitmq.as_ref())
        .and_then(|r| r.queues.as_ref())
        .map(|qs| {
            qs.iter()
                .filter_map(|q| match q {
                    Sc::S(v) => Some(v.clone()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The worker names as written (`None` for a worker without `name`).
fn worker_names(spec: &Spec) -> Vec<Option<Sc>> {
    let mut names: Vec<Option<Sc>> = Vec::new();
    for (i, w) in spec.workers.iter().flatten().enumerate() {
        let fresh = || s(WORKER_NAMES[(spec.worker_base + i) % WORKER_NAMES.len()]);
        let name = match &w.name {
            WorkerName::Fresh => Some(fresh()),
            WorkerName::Duplicate => Some(
                names
                    .iter()
                    .rev()
                    .flatten()
                    .next()
                    .cloned()
                    .unwrap_or_else(fresh),
            ),
            WorkerName::Bad(b) => Some(b.clone()),
            WorkerName::Missing => None,
        };
        names.push(name);
    }
    names
}

fn to_node(spec: &Spec) -> Node {
    let queues = declared_queues(spec);
    let names = worker_names(spec);
    let frontend = spec.frontend.as_ref().map(|f| {
        map(vec![
            ("image", sc(&f.image)),
            ("port", sc(&f.port)),
            ("command", seq(&f.command)),
            (
                "health",
                f.health.as_ref().map(|p| map(vec![("path", sc(p))])),
            ),
            ("metrics", metrics_node(&f.metrics)),
            ("replicas", replicas_node(&f.replicas)),
            ("resources", resources_node(&f.resources)),
            ("env", env_node(&f.env)),
            ("secrets", seq(&f.secrets)),
            ("migrate", seq(&f.migrate)),
        ])
    });
    let workers = spec.workers.as_ref().map(|ws| {
        Node::Seq(
            ws.iter()
                .zip(&names)
                .map(|(w, name)| {
                    let consumes = match &w.consumes {
                        Some(Consumes::Declared(i)) if !queues.is_empty() => {
                            Some(Node::Scalar(s(&queues[i % queues.len()])))
                        }
                        Some(Consumes::Declared(_)) | None => None,
                        Some(Consumes::Undeclared) => Some(Node::Scalar(s("not.declared"))),
                    };
                    map(vec![
                        ("name", name.clone().map(Node::Scalar)),
                        ("image", sc(&w.image)),
                        ("command", seq(&w.command)),
                        ("consumes", consumes),
                        ("metrics", metrics_node(&w.metrics)),
                        (
                            "health",
                            w.health.as_ref().map(|c| map(vec![("command", seq(c))])),
                        ),
                        ("replicas", replicas_node(&w.replicas)),
                        ("resources", resources_node(&w.resources)),
                        ("env", env_node(&w.env)),
                        ("secrets", seq(&w.secrets)),
                        ("egress", sc(&w.egress)),
                    ])
                })
                .collect(),
        )
    });
    let queue = spec.queue.as_ref().map(|q| {
        map(vec![(
            "rabbitmq",
            q.rabbitmq.as_ref().map(|r| {
                map(vec![
                    ("version", sc(&r.version)),
                    ("replicas", sc(&r.replicas)),
                    ("storage", sc(&r.storage)),
                    ("queues", seq(&r.queues)),
                ])
            }),
        )])
    });
    let postgres = spec.postgres.as_ref().map(|p| {
        map(vec![
            ("version", sc(&p.version)),
            ("storage", sc(&p.storage)),
            ("ha", sc(&p.ha)),
            (
                "backup",
                p.backup
                    .as_ref()
                    .map(|d| map(vec![("retention_days", sc(d))])),
            ),
            ("placement", sc(&p.placement)),
        ])
    });
    let monitoring = spec.monitoring.as_ref().map(|m| {
        map(vec![
            ("metrics", sc(&m.metrics)),
            ("logs", sc(&m.logs)),
            (
                "alerts",
                m.alerts.as_ref().map(|(channel, secret)| {
                    map(vec![
                        ("slack_channel", sc(channel)),
                        ("webhook_secret", sc(secret)),
                    ])
                }),
            ),
        ])
    });
    const IDS: [&str; 3] = ["eks", "gke", "hetzner"];
    let declared: Vec<&str> = spec
        .targets
        .as_ref()
        .map(|t| t.chosen.iter().map(|i| IDS[*i]).collect())
        .unwrap_or_default();
    let targets = spec.targets.as_ref().map(|t| {
        let mut entries: Vec<(String, Node)> = t
            .chosen
            .iter()
            .map(|i| {
                let b = &t.blocks[*i];
                let node = map(vec![
                    ("region", sc(&b.region)),
                    ("project", sc(&b.project)),
                    ("location", sc(&b.location)),
                    ("kubernetes", sc(&b.kubernetes)),
                    ("api_allowed_cidrs", seq(&b.api_allowed_cidrs)),
                ]);
                (IDS[*i].to_string(), node)
            })
            .collect();
        if let Some(Sc::S(id)) = &t.unknown {
            entries.push((
                id.clone(),
                map(vec![("region", Some(Node::Scalar(s("eu-west-1"))))]),
            ));
        }
        Node::Map(entries)
    });
    let environments = spec.environments.as_ref().map(|envs| {
        Node::Map(
            envs.iter()
                .map(|(name, o)| (name.clone(), overlay_node(o, &names, &declared)))
                .collect(),
        )
    });
    map(vec![
        ("name", sc(&spec.name)),
        ("domain", sc(&spec.domain)),
        ("frontend", frontend),
        ("workers", workers),
        ("queue", queue),
        ("postgres", postgres),
        ("monitoring", monitoring),
        ("targets", targets),
        ("environments", environments),
    ])
}

fn overlay_node(o: &Overlay, names: &[Option<Sc>], declared: &[&str]) -> Node {
    if o.null {
        return Node::Null;
    }
    let named: Vec<&Sc> = names.iter().flatten().collect();
    let workers = o.workers.as_ref().map(|ws| {
        Node::Seq(
            ws.iter()
                .filter_map(|w| {
                    let name = match &w.name {
                        Ok(i) if !named.is_empty() => named[i % named.len()].clone(),
                        Ok(_) => return None,
                        Err(n) => n.clone(),
                    };
                    Some(map(vec![
                        ("name", Some(Node::Scalar(name))),
                        ("replicas", replicas_node(&w.replicas)),
                        ("egress", sc(&w.egress)),
                    ]))
                })
                .collect(),
        )
    });
    let frontend = (o.frontend_replicas.is_some() || o.frontend_image.is_some()).then(|| {
        map(vec![
            ("image", sc(&o.frontend_image)),
            ("replicas", replicas_node(&o.frontend_replicas)),
        ])
    });
    let targets = match (&o.kubernetes, declared.first()) {
        (Some(k), Some(id)) => Some(Node::Map(vec![(
            id.to_string(),
            map(vec![("kubernetes", Some(Node::Scalar(k.clone())))]),
        )])),
        _ => None,
    };
    map(vec![
        ("name", sc(&o.name)),
        ("domain", sc(&o.domain)),
        ("frontend", frontend),
        ("workers", workers),
        (
            "postgres",
            o.postgres
                .as_ref()
                .map(|(ha, storage)| map(vec![("ha", sc(ha)), ("storage", sc(storage))])),
        ),
        (
            "monitoring",
            o.logs
                .as_ref()
                .map(|l| map(vec![("logs", Some(Node::Scalar(l.clone())))])),
        ),
        ("targets", targets),
        (
            "environments",
            o.nested
                .then(|| Node::Map(vec![("inner".into(), Node::Map(vec![]))])),
        ),
    ])
}

/// YAML words that a plain scalar must not be (they would read as booleans or null).
const SPECIAL: &[&str] = &[
    "true", "false", "null", "yes", "no", "on", "off", "y", "n", "~",
];

fn plain_ok(v: &str, in_flow: bool) -> bool {
    let first_ok = v.chars().next().is_some_and(|c| {
        c.is_ascii_alphabetic()
            || c == '/'
            || (c.is_ascii_digit() && !v.contains(['.', 'e', 'E', 'x', 'o']))
    });
    let rest_ok = v.chars().all(|c| {
        c.is_ascii_alphanumeric() || "._/-".contains(c) || (!in_flow && (c == ':' || c == '@'))
    });
    // Digits only would read as an integer; `250m`, `20Gi` are strings.
    let has_letter = v.chars().any(|c| c.is_ascii_alphabetic() || c == '/');
    first_ok && rest_ok && has_letter && !SPECIAL.contains(&v.to_ascii_lowercase().as_str())
}

fn fmt_str(v: &str, quote: Quote, in_flow: bool) -> String {
    match quote {
        Quote::Minimal if plain_ok(v, in_flow) => v.to_string(),
        Quote::Single if !v.chars().any(char::is_control) => {
            format!("'{}'", v.replace('\'', "''"))
        }
        // A JSON string is a valid YAML double-quoted scalar.
        _ => serde_json::to_string(v).expect("a string serializes"),
    }
}

fn fmt_scalar(v: &Sc, quote: Quote, in_flow: bool) -> String {
    match v {
        Sc::S(x) => fmt_str(x, quote, in_flow),
        Sc::I(i) => i.to_string(),
        Sc::B(b) => b.to_string(),
        Sc::Raw(r) => r.to_string(),
    }
}

fn flow(node: &Node, st: &Style) -> String {
    match node {
        Node::Scalar(v) => fmt_scalar(v, st.quote, true),
        Node::Null => "~".into(),
        Node::Seq(items) => {
            let items: Vec<String> = items.iter().map(|n| flow(n, st)).collect();
            format!("[{}]", items.join(", "))
        }
        Node::Map(entries) => {
            let entries: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}: {}", fmt_str(k, st.quote, true), flow(v, st)))
                .collect();
            format!("{{ {} }}", entries.join(", ")).replace("{  }", "{}")
        }
    }
}

/// True when `node` is written inline (scalar, empty collection, or at the flow depth).
fn inline(node: &Node, depth: usize, st: &Style) -> bool {
    match node {
        Node::Scalar(_) | Node::Null => true,
        Node::Seq(v) => v.is_empty() || depth >= st.flow_depth,
        Node::Map(v) => v.is_empty() || depth >= st.flow_depth,
    }
}

fn block(out: &mut String, node: &Node, indent: usize, depth: usize, st: &Style) {
    let pad = " ".repeat(indent);
    match node {
        Node::Map(entries) => {
            for (i, (k, v)) in entries.iter().enumerate() {
                if st.comments && depth == 0 && i % 3 == 1 {
                    out.push_str(&format!("{pad}# {k}\n"));
                }
                out.push_str(&format!("{pad}{}:", fmt_str(k, st.quote, false)));
                if inline(v, depth + 1, st) {
                    let text = match v {
                        Node::Scalar(x) => fmt_scalar(x, st.quote, false),
                        _ => flow(v, st),
                    };
                    out.push_str(&format!(" {text}\n"));
                } else {
                    out.push('\n');
                    block(out, v, indent + 2, depth + 1, st);
                }
            }
        }
        Node::Seq(items) => {
            for item in items {
                if inline(item, depth + 1, st) {
                    let text = match item {
                        Node::Scalar(x) => fmt_scalar(x, st.quote, false),
                        _ => flow(item, st),
                    };
                    out.push_str(&format!("{pad}- {text}\n"));
                } else {
                    let mut inner = String::new();
                    block(&mut inner, item, indent + 2, depth + 1, st);
                    out.push_str(&pad);
                    out.push_str("- ");
                    out.push_str(&inner[indent + 2..]);
                }
            }
        }
        Node::Scalar(_) | Node::Null => {
            out.push_str(&format!("{pad}{}\n", flow(node, st)));
        }
    }
}

fn to_yaml(spec: &Spec) -> String {
    let mut out = String::new();
    if spec.style.comments {
        out.push_str("# generated by the property test\n");
    }
    block(&mut out, &to_node(spec), 0, 0, &spec.style);
    if out.is_empty() {
        out.push_str("{}\n");
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------------------

/// Words no generated file may contain.
const FORBIDDEN: &[&str] = &["TODO", "PLACEHOLDER", "CHANGEME"];

/// A failed case. The spec text is not repeated here: [`run`] prints the shrunk one.
fn fail(what: String) -> TestCaseError {
    TestCaseError::fail(what)
}

/// A refused spec must be refused as `Error::Spec` with at least one diagnostic.
fn expect_spec_error(stage: &str, e: Error) -> Result<(), TestCaseError> {
    let report = e.report();
    match e {
        Error::Spec { diagnostics, .. } if !diagnostics.is_empty() && !report.is_empty() => Ok(()),
        Error::Spec { .. } => Err(fail(format!("{stage}: Error::Spec without diagnostics"))),
        other => Err(fail(format!(
            "{stage}: expected Error::Spec, got another kind: {other:?}\n{report}"
        ))),
    }
}

/// Checks every file of one output: it ends with a newline, holds no placeholder, and parses
/// back by its extension (`.tf` as HCL, `.yaml` as YAML documents, `.json` as JSON). Also no two
/// Terraform blocks of one root declare the same address and no two Kubernetes objects share
/// kind, namespace and name: both would parse, and both are refused on apply. Every string of
/// `verbatim` must be a string value somewhere in the YAML files.
fn check_output(out: &fredgen::render::Output, verbatim: &[String]) -> Result<(), String> {
    let mut tf: BTreeSet<(&str, String, Vec<String>)> = BTreeSet::new();
    let mut k8s: BTreeSet<(String, String, String)> = BTreeSet::new();
    let mut strings: BTreeSet<String> = BTreeSet::new();
    for (path, body) in &out.files {
        if !body.ends_with('\n') {
            return Err(format!("{path} does not end with a newline"));
        }
        if let Some(w) = FORBIDDEN.iter().find(|w| body.contains(*w)) {
            return Err(format!("{path} contains `{w}`"));
        }
        if path.ends_with(".tf") || path.ends_with(".hcl") {
            let parsed =
                hcl::parse(body).map_err(|e| format!("{path} does not parse as HCL: {e}"))?;
            let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
            for b in parsed.blocks() {
                let kind = b.identifier();
                if !matches!(kind, "resource" | "data" | "module" | "variable" | "output") {
                    continue;
                }
                let labels: Vec<String> =
                    b.labels().iter().map(|l| l.as_str().to_string()).collect();
                if !tf.insert((dir, kind.to_string(), labels.clone())) {
                    return Err(format!(
                        "{dir}: `{kind} {}` is declared twice",
                        labels.join(".")
                    ));
                }
            }
        } else if path.ends_with(".yaml") || path.ends_with(".yml") {
            let docs = serde_saphyr::from_multiple::<serde_json::Value>(body)
                .map_err(|e| format!("{path} does not parse as YAML: {e}"))?;
            docs.iter().for_each(|d| collect_strings(d, &mut strings));
            if !path.starts_with("k8s/") || path.ends_with("kustomization.yaml") {
                continue;
            }
            for doc in docs.iter().filter(|d| !d.is_null()) {
                check_string_keys(doc).map_err(|m| format!("{path}: {m}"))?;
                let field = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
                let key = (
                    field(&doc["kind"]),
                    field(&doc["metadata"]["namespace"]),
                    field(&doc["metadata"]["name"]),
                );
                if !k8s.insert(key.clone()) {
                    return Err(format!(
                        "{path}: {} {}/{} is declared twice",
                        key.0, key.1, key.2
                    ));
                }
            }
        } else if path.ends_with(".json") {
            serde_json::from_str::<serde_json::Value>(body)
                .map_err(|e| format!("{path} does not parse as JSON: {e}"))?;
        }
    }
    match verbatim.iter().find(|v| !strings.contains(*v)) {
        Some(v) => Err(format!(
            "{v:?} from the spec is no string value in any YAML file: its quoting was lost"
        )),
        None => Ok(()),
    }
}

/// Keys whose values are strings in every Kubernetes object: a boolean, null or number there is a
/// value written unquoted (`name: true`, `- name: NULL`), which the API server refuses.
const STRING_KEYS: &[&str] = &[
    "name",
    "namespace",
    "key",
    "secretKey",
    "serviceAccountName",
];

fn check_string_keys(v: &serde_json::Value) -> Result<(), String> {
    match v {
        serde_json::Value::Array(items) => items.iter().try_for_each(check_string_keys),
        serde_json::Value::Object(m) => m.iter().try_for_each(|(k, v)| match v {
            serde_json::Value::Bool(_) | serde_json::Value::Null | serde_json::Value::Number(_)
                if STRING_KEYS.contains(&k.as_str()) =>
            {
                Err(format!(
                    "`{k}: {v}` is not a string: a value was written unquoted"
                ))
            }
            _ => check_string_keys(v),
        }),
        _ => Ok(()),
    }
}

fn collect_strings(v: &serde_json::Value, into: &mut BTreeSet<String>) {
    match v {
        serde_json::Value::String(s) => {
            into.insert(s.clone());
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| collect_strings(i, into)),
        serde_json::Value::Object(m) => m.values().for_each(|i| collect_strings(i, into)),
        _ => {}
    }
}

/// Strings of the spec that must reach the Kubernetes manifests verbatim: argv items, env values
/// and the frontend's health path. A template that loses their quoting shows here even when the
/// file still parses (`# x` read as a comment, `a: b` as a mapping).
fn verbatim_strings(spec: &Spec) -> Vec<String> {
    let mut all: Vec<&Sc> = Vec::new();
    if let Some(f) = &spec.frontend {
        all.extend(f.command.iter().chain(&f.migrate).flatten());
        all.extend(f.env.iter().flat_map(|m| m.values()));
        if let Some(Some(p)) = &f.health {
            all.push(p);
        }
    }
    for w in spec.workers.iter().flatten() {
        all.extend(w.command.iter().flatten());
        all.extend(w.env.iter().flat_map(|m| m.values()));
        all.extend(w.health.iter().flatten().flatten());
    }
    let mut out: Vec<String> = all
        .into_iter()
        .filter_map(|v| match v {
            Sc::S(x) => Some(x.clone()),
            _ => None,
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Renders every target × environment `validate_all` accepted. `thorough`: twice, comparing
/// bytes, and checking every file with [`check_output`]; otherwise once (the renderer parses its
/// own output back).
fn check_renders(
    loaded: &fredgen::Loaded,
    cases: &[fredgen::Case],
    thorough: bool,
    verbatim: &[String],
) -> Result<(), TestCaseError> {
    let expected = loaded.declared_targets().len() * loaded.environments().len().max(1);
    if cases.len() != expected {
        return Err(fail(format!(
            "validate_all returned {} cases for {expected} target × environment pairs",
            cases.len()
        )));
    }
    for case in cases {
        let target = fredgen::backend::find(case.target)
            .map_err(|e| fail(format!("{}: {}", case.target, e.report())))?;
        let env = case.env.as_deref();
        let label = format!("{}/{}", case.target, env.unwrap_or("-"));
        let render = || {
            loaded.render(target, env).map_err(|e| {
                fail(format!(
                    "validated spec does not render for {label}:\n{}",
                    e.report()
                ))
            })
        };
        let first = render()?;
        if first.files.is_empty() {
            return Err(fail(format!("{label}: rendered no files")));
        }
        if !thorough {
            continue;
        }
        let second = render()?;
        if first != second {
            let path = first
                .files
                .iter()
                .find(|(p, t)| second.files.get(*p) != Some(*t))
                .map_or("(the file list)", |(p, _)| p.as_str());
            return Err(fail(format!("{label}: two renders differ at {path}")));
        }
        check_output(&first, verbatim).map_err(|m| fail(format!("{label}: {m}")))?;
    }
    Ok(())
}

/// Parses, validates and (when accepted) renders `text`; `Ok(true)` when it was accepted.
fn check_spec(text: &str, thorough: bool, verbatim: &[String]) -> Result<bool, TestCaseError> {
    let loaded = match fredgen::parse("prop.yaml", text.to_string()) {
        Ok(l) => l,
        Err(e) => return expect_spec_error("parse", e).map(|()| false),
    };
    match loaded.validate_all() {
        Ok(cases) => {
            // What the validator accepts, the JSON Schema accepts: it is never stricter.
            if let Some(Err(errors)) = crate::schema::schema_verdict(text) {
                return Err(TestCaseError::fail(format!(
                    "the validator accepts this spec, the JSON Schema refuses it:\n{}\n{text}",
                    errors.join("\n")
                )));
            }
            check_renders(&loaded, &cases, thorough, verbatim).map(|()| true)
        }
        Err(e) => expect_spec_error("validate_all", e).map(|()| false),
    }
}

/// Cases for the generated-spec property: about 8 s of CPU in a debug build (half accepted).
const SPEC_CASES: u32 = 40;

#[test]
fn accepted_specs_render_everywhere_deterministically_and_parse_back() {
    let total = Cell::new(0u32);
    let accepted = Cell::new(0u32);
    run("generated specs", SPEC_CASES, spec(), to_yaml, |spec| {
        let text = to_yaml(&spec);
        let ok = check_spec(&text, true, &verbatim_strings(&spec))?;
        total.set(total.get() + 1);
        accepted.set(accepted.get() + u32::from(ok));
        Ok(())
    });
    let (total, accepted) = (total.get(), accepted.get());
    println!("generated specs: {accepted} of {total} accepted");
    if total >= 20 {
        assert!(
            accepted * 4 >= total,
            "only {accepted} of {total} generated specs were accepted: the render property is close to vacuous; make the generator produce more valid specs"
        );
        assert!(
            accepted < total,
            "all {total} generated specs were accepted: the reject path is not exercised"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Mutations of the examples
// ---------------------------------------------------------------------------------------------

/// One small edit of a spec's text.
#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(Index),
    DuplicateLine(Index),
    /// Replaces one integer in the text.
    ChangeInt(Index, &'static str),
    /// Swaps the values of two `key: value` lines.
    SwapValues(Index, Index),
    /// Replaces the value of one `key: value` line.
    SetValue(Index, &'static str),
    /// Indents or dedents one line by two spaces.
    Shift(Index, bool),
    /// Cuts the text at a character boundary.
    Truncate(Index),
}

const INTS: &[&str] = &[
    "-1",
    "0",
    "1",
    "2",
    "3",
    "7",
    "35",
    "36",
    "65535",
    "65536",
    "1001",
    "99999999999999999999",
    "1.5",
];

const VALUES: &[&str] = &[
    "~",
    "[]",
    "{}",
    "yes",
    "\"\"",
    "latest",
    "x",
    "\"#x\"",
    "- a",
    "&a 1",
    "*a",
    "[1, 2]",
    "{ a: 1 }",
    "\"1.34\"",
    "in-cluster",
    "managed",
    "internet",
    "true",
    "\"17\"",
    "0.0.0.0/0",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<Index>().prop_map(Mutation::DeleteLine),
        any::<Index>().prop_map(Mutation::DuplicateLine),
        (any::<Index>(), select(INTS)).prop_map(|(i, v)| Mutation::ChangeInt(i, v)),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapValues(a, b)),
        (any::<Index>(), select(VALUES)).prop_map(|(i, v)| Mutation::SetValue(i, v)),
        (any::<Index>(), any::<bool>()).prop_map(|(i, b)| Mutation::Shift(i, b)),
        any::<Index>().prop_map(Mutation::Truncate),
    ]
}

/// The `key: value` split of a line, when it has a non-empty inline value.
fn value_at(line: &str) -> Option<usize> {
    let i = line.find(": ")?;
    (!line[i + 2..].trim().is_empty()).then_some(i + 2)
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.is_empty() {
        return text.to_string();
    }
    match m {
        Mutation::DeleteLine(i) => {
            lines.remove(i.index(lines.len()));
        }
        Mutation::DuplicateLine(i) => {
            let at = i.index(lines.len());
            lines.insert(at, lines[at].clone());
        }
        Mutation::ChangeInt(i, v) => {
            let spans: Vec<(usize, usize)> = int_spans(text);
            if spans.is_empty() {
                return text.to_string();
            }
            let (a, b) = spans[i.index(spans.len())];
            return format!("{}{v}{}", &text[..a], &text[b..]);
        }
        Mutation::SwapValues(a, b) => {
            let with: Vec<usize> = (0..lines.len())
                .filter(|j| value_at(&lines[*j]).is_some())
                .collect();
            if with.len() >= 2 {
                let (x, y) = (with[a.index(with.len())], with[b.index(with.len())]);
                let (vx, vy) = (
                    value_at(&lines[x]).unwrap_or(0),
                    value_at(&lines[y]).unwrap_or(0),
                );
                let (tx, ty) = (lines[x][vx..].to_string(), lines[y][vy..].to_string());
                lines[x] = format!("{}{ty}", &lines[x][..vx]);
                lines[y] = format!("{}{tx}", &lines[y][..vy]);
            }
        }
        Mutation::SetValue(i, v) => {
            let with: Vec<usize> = (0..lines.len())
                .filter(|j| value_at(&lines[*j]).is_some())
                .collect();
            if !with.is_empty() {
                let x = with[i.index(with.len())];
                let vx = value_at(&lines[x]).unwrap_or(0);
                lines[x] = format!("{}{v}", &lines[x][..vx]);
            }
        }
        Mutation::Shift(i, right) => {
            let at = i.index(lines.len());
            if *right {
                lines[at] = format!("  {}", lines[at]);
            } else if let Some(rest) = lines[at].strip_prefix("  ") {
                lines[at] = rest.to_string();
            }
        }
        Mutation::Truncate(i) => {
            let bounds: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
            return text[..bounds[i.index(bounds.len())]].to_string();
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// Byte spans of the decimal integers in `text`.
fn int_spans(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            spans.push((start, i));
        } else {
            i += 1;
        }
    }
    spans
}

fn examples() -> Vec<String> {
    ["acme", "fred", "minimal"]
        .iter()
        .map(|e| {
            std::fs::read_to_string(example_spec(e)).unwrap_or_else(|err| panic!("{e}: {err}"))
        })
        .collect()
}

/// Cases for the mutation property: about 3 s of CPU in a debug build.
const MUTATION_CASES: u32 = 64;

#[test]
fn mutated_examples_never_panic_and_render_when_accepted() {
    let examples = examples();
    let n = examples.len();
    let strategy = (0..n, prop::collection::vec(mutation(), 1..=3));
    let mutated = |(e, ms): &(usize, Vec<Mutation>)| {
        ms.iter().fold(examples[*e].clone(), |t, m| apply(&t, m))
    };
    let total = Cell::new(0u32);
    let accepted = Cell::new(0u32);
    run("mutated examples", MUTATION_CASES, strategy, mutated, |v| {
        let text = mutated(&v);
        let ok = check_spec(&text, false, &[])?;
        total.set(total.get() + 1);
        accepted.set(accepted.get() + u32::from(ok));
        Ok(())
    });
    println!(
        "mutated examples: {} of {} accepted",
        accepted.get(),
        total.get()
    );
}

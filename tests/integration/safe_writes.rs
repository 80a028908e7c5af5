//! Stage 5 — safe writes, through the real binary: a render killed at random points leaves the
//! output directory all-old, all-new, or half-way behind a journal that the next run completes;
//! concurrent renders never interleave; the directory keeps its inode; hand-written files survive
//! every render (also when the manifest is edited to name them); stale generated files go;
//! FIFOs are refused, not opened; nothing outside the output directory is ever touched.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{example_spec, fredgen};

const ARGS: [&str; 4] = ["--target", "eks", "--env", "prod"];

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Spec A (the fred example) and spec B (another image tag and domain, no queue: most files
/// differ, one is dropped), written into `dir` as `a.yaml` and `b.yaml`.
fn specs(dir: &Path) -> (PathBuf, PathBuf) {
    let a = fs::read_to_string(example_spec("fred")).expect("read");
    let b = a
        .replace("1.4.2", "1.5.0")
        .replace("fred.example.com", "fred.example.org")
        .replace("    consumes: fred.tasks\n", "")
        .replace(
            "queue:\n  rabbitmq: { version: \"4.3\", replicas: 3, queues: [fred.tasks] }\n",
            "",
        );
    assert_ne!(a, b);
    let (pa, pb) = (dir.join("a.yaml"), dir.join("b.yaml"));
    fs::write(&pa, a).expect("write");
    fs::write(&pb, b).expect("write");
    (pa, pb)
}

/// `fredgen <cmd> -f <spec> --target eks --env prod -o <out>`, in `cwd`.
fn run(cwd: &Path, cmd: &str, spec: &Path, out: &Path) -> std::process::Output {
    let (spec, out) = (spec.to_str().expect("utf8"), out.to_str().expect("utf8"));
    let mut args = vec![cmd, "-f", spec, "-o", out];
    args.extend(ARGS);
    fredgen(cwd, &args)
}

fn render_ok(cwd: &Path, spec: &Path, out: &Path) -> String {
    let r = run(cwd, "render", spec, out);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    text(&r)
}

/// Every file under `dir` (not following links): relative path → bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.expect("walk"))
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).expect("inside");
            (
                rel.to_string_lossy().into_owned(),
                fs::read(e.path()).expect("read"),
            )
        })
        .collect()
}

/// What a render leaves only when it was interrupted: fredgen's staging and journal inside `out`,
/// and (from fredgen before 0.2) siblings named `.<out>.fredgen-…` next to it.
fn leftovers(out: &Path) -> Vec<String> {
    let name = out
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let prefix = format!(".{name}.fredgen-");
    let names = |dir: &Path| -> Vec<String> {
        fs::read_dir(dir)
            .map(|entries| {
                entries
                    .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut found: Vec<String> = names(out.parent().expect("parent"))
        .into_iter()
        .filter(|n| n.starts_with(&prefix))
        .chain(
            names(out)
                .into_iter()
                .filter(|n| n.starts_with(".fredgen-") && n != ".fredgen-manifest"),
        )
        .collect();
    found.sort();
    found
}

fn journal_pending(out: &Path) -> bool {
    out.join(".fredgen-journal").exists()
}

/// A small deterministic PRNG (splitmix64), so a failing iteration can be replayed.
fn splitmix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(unix)]
fn inode(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    fs::symlink_metadata(path).expect("stat").ino()
}

/// Hand-written files to put into an output directory: notes, a provider cache (many files, as a
/// real `.terraform/` has, which also widens the window a kill can hit).
fn hand_written() -> BTreeMap<String, Vec<u8>> {
    let mut hand = BTreeMap::from([
        ("NOTES.md".to_string(), b"mine\n".to_vec()),
        ("k8s/web.yaml.orig".to_string(), b"# my copy\n".to_vec()),
        (
            "terraform/20-cluster/.terraform/x".to_string(),
            b"provider cache\n".to_vec(),
        ),
        (
            "terraform/00-bootstrap/terraform.tfstate".to_string(),
            b"{\"version\": 4}\n".to_vec(),
        ),
    ]);
    for i in 0..300 {
        hand.insert(
            format!("terraform/20-cluster/.terraform/providers/p{}/f{i}", i % 7),
            format!("blob {i}\n").into_bytes(),
        );
    }
    hand
}

fn add(out: &Path, hand: &BTreeMap<String, Vec<u8>>) {
    for (rel, bytes) in hand {
        let path = out.join(rel);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, bytes).expect("write");
    }
}

/// The generated part of a directory: everything but the hand-written files and what an
/// interrupted render left (staging, journal).
fn generated(out: &Path, hand: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    let mut all = files(out);
    all.retain(|rel, _| {
        !hand.contains_key(rel) && (!rel.starts_with(".fredgen-") || rel == ".fredgen-manifest")
    });
    all
}

fn assert_hand_written_intact(out: &Path, hand: &BTreeMap<String, Vec<u8>>, context: &str) {
    let all = files(out);
    for (rel, bytes) in hand {
        assert_eq!(
            all.get(rel),
            Some(bytes),
            "{context}: {rel} changed or vanished"
        );
    }
}

/// The files specs A and B render to, each into a fresh directory: into `out` (where the test
/// renders, which the headers' regenerate command names), then moved aside.
fn references(
    tmp: &Path,
    a: &Path,
    b: &Path,
    out: &Path,
) -> (BTreeMap<String, Vec<u8>>, BTreeMap<String, Vec<u8>>) {
    let reference = |spec: &Path, name: &str| {
        let dir = tmp.join(name);
        let _ = fs::remove_dir_all(&dir);
        render_ok(tmp, spec, out);
        fs::rename(out, &dir).expect("moves");
        files(&dir)
    };
    (reference(a, "ref-a"), reference(b, "ref-b"))
}

/// Starts every command before waiting for any (so the renders really run at once), then asserts
/// each one succeeded.
fn all_at_once(commands: Vec<Command>, context: &str) {
    let children: Vec<_> = commands
        .into_iter()
        .map(|mut c| {
            c.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert_eq!(out.status.code(), Some(0), "{context}: {}", text(&out));
    }
}

/// Asserts `now`, the files of `out`, are exactly one of `whole` renders, and that nothing an
/// interrupted render leaves is there.
fn assert_one_whole_render(
    out: &Path,
    now: &BTreeMap<String, Vec<u8>>,
    whole: [&BTreeMap<String, Vec<u8>>; 2],
    context: &str,
) {
    assert!(whole.contains(&now), "{context}: a mix of renders");
    assert!(leftovers(out).is_empty(), "{context}: {:?}", leftovers(out));
}

#[test]
fn a_killed_render_leaves_all_old_or_all_new_and_hand_written_files_intact() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = specs(tmp.path());
    let out = tmp.path().join("deploy/out");
    let (ref_a, ref_b) = references(tmp.path(), &a, &b, &out);
    assert_ne!(ref_a, ref_b);
    assert!(ref_a.contains_key("k8s/rabbitmq.yaml") && !ref_b.contains_key("k8s/rabbitmq.yaml"));

    render_ok(tmp.path(), &a, &out);
    let hand = hand_written();
    add(&out, &hand);
    #[cfg(unix)]
    std::os::unix::fs::symlink("web.yaml", out.join("k8s/current")).expect("symlink");

    // A kill lands within the duration of one full render, measured here and then on the last
    // un-killed render, so the spread follows the machine's load.
    let started = Instant::now();
    render_ok(tmp.path(), &b, &out);
    let mut last = started.elapsed();
    render_ok(tmp.path(), &a, &out);

    #[cfg(unix)]
    let dir_inode = inode(&out);
    let iterations = 40u64;
    // Where the kills landed: before anything was written, while staging (old output and a
    // staging directory), after the commit (a journal; every file old or new), after the end.
    let (mut before, mut staging, mut journaled, mut after) = (0, 0, 0, 0);
    for i in 0..iterations {
        // Even iterations go A → B, odd ones B → A.
        let (from, to, spec) = if i % 2 == 0 {
            (&ref_a, &ref_b, &b)
        } else {
            (&ref_b, &ref_a, &a)
        };
        let delay = Duration::from_nanos(
            splitmix(i) % u64::try_from(last.as_nanos()).expect("fits").max(1),
        );
        let mut child = Command::new(env!("CARGO_BIN_EXE_fredgen"))
            .current_dir(tmp.path())
            .args(["render", "-f"])
            .arg(spec)
            .arg("-o")
            .arg(&out)
            .args(ARGS)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(delay);
        // SIGKILL on Unix: no handler runs, nothing is cleaned up.
        let _ = child.kill();
        let status = child.wait().expect("wait");
        let context = format!("iteration {i} (killed after {delay:?}, {status})");

        let now = generated(&out, &hand);
        let pending = journal_pending(&out);
        if pending {
            // Half-way: every file is whole, in its old or its new version.
            for rel in now.keys().chain(from.keys()).chain(to.keys()) {
                assert!(
                    now.get(rel) == from.get(rel) || now.get(rel) == to.get(rel),
                    "{context}: {rel} is neither its old nor its new version"
                );
            }
            let check = run(tmp.path(), "check", spec, &out);
            assert_eq!(check.status.code(), Some(2), "{context}: {}", text(&check));
            assert!(text(&check).contains("interrupted"), "{}", text(&check));
            journaled += 1;
        } else if now == *to {
            assert!(
                leftovers(&out).is_empty(),
                "{context}: {:?}",
                leftovers(&out)
            );
            after += 1;
        } else {
            assert!(
                now == *from,
                "{context}: no journal, and the output is neither all-old nor all-new; differs from old in {:?}",
                now.keys()
                    .chain(from.keys())
                    .filter(|k| now.get(*k) != from.get(*k))
                    .collect::<Vec<_>>()
            );
            if leftovers(&out).is_empty() {
                before += 1;
            } else {
                staging += 1;
            }
        }
        assert_hand_written_intact(&out, &hand, &context);
        #[cfg(unix)]
        {
            assert_eq!(
                fs::read_link(out.join("k8s/current")).expect("link"),
                Path::new("web.yaml"),
                "{context}"
            );
            assert_eq!(
                inode(&out),
                dir_inode,
                "{context}: the directory was replaced"
            );
        }

        // The next render completes the change (a journal: before comparing, so it finds
        // nothing left to change) and clears what the killed one left.
        let started = Instant::now();
        let rendered = render_ok(tmp.path(), spec, &out);
        last = started.elapsed();
        if pending {
            assert!(rendered.contains("(0 changed)"), "{context}: {rendered}");
        }
        assert_eq!(
            generated(&out, &hand),
            *to,
            "{context}: after a full render"
        );
        assert_eq!(
            leftovers(&out),
            Vec::<String>::new(),
            "{context}: leftovers"
        );
        assert_hand_written_intact(&out, &hand, &context);
    }
    eprintln!(
        "kill test: {iterations} renders killed: {before} before writing, {staging} while staging, {journaled} after the commit, {after} after finishing"
    );
    assert_eq!(before + staging + journaled + after, iterations);
    assert!(
        staging + journaled > 0,
        "no kill landed mid-way: the test did not exercise an interrupted render"
    );
}

#[test]
fn hand_written_files_survive_render_after_render() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = specs(tmp.path());
    let out = tmp.path().join("out");
    render_ok(tmp.path(), &a, &out);
    let hand = hand_written();
    add(&out, &hand);
    for spec in [&b, &a, &b, &a] {
        render_ok(tmp.path(), spec, &out);
        assert_hand_written_intact(&out, &hand, &spec.display().to_string());
        let check = run(tmp.path(), "check", spec, &out);
        assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    }
}

#[cfg(unix)]
#[test]
fn a_render_that_changes_nothing_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, _) = specs(tmp.path());
    let out = tmp.path().join("out");
    render_ok(tmp.path(), &a, &out);
    let (dir, web) = (inode(&out), inode(&out.join("k8s/web.yaml")));
    let again = render_ok(tmp.path(), &a, &out);
    assert!(again.contains("(0 changed)"), "{again}");
    assert_eq!((inode(&out), inode(&out.join("k8s/web.yaml"))), (dir, web));
}

#[test]
fn an_edited_generated_file_is_reported_by_check_and_overwritten_by_render() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, _) = specs(tmp.path());
    let out = tmp.path().join("out");
    render_ok(tmp.path(), &a, &out);
    let reference = files(&out);
    let web = fs::read_to_string(out.join("k8s/web.yaml")).expect("read");
    let header = web.lines().next().expect("header");
    fs::write(
        out.join("k8s/web.yaml"),
        format!("{header}\n# edited by hand\n"),
    )
    .expect("write");
    fs::write(out.join("NOTES.md"), "mine\n").expect("write");

    let check = run(tmp.path(), "check", &a, &out);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    assert!(
        text(&check).contains("modified") && text(&check).contains("k8s/web.yaml"),
        "{}",
        text(&check)
    );
    let diff = run(tmp.path(), "diff", &a, &out);
    assert_eq!(diff.status.code(), Some(1));
    assert!(text(&diff).contains("-# edited by hand"), "{}", text(&diff));

    let rendered = render_ok(tmp.path(), &a, &out);
    assert!(rendered.contains("(1 changed)"), "{rendered}");
    let mut now = files(&out);
    assert_eq!(now.remove("NOTES.md"), Some(b"mine\n".to_vec()));
    assert_eq!(now, reference);
}

#[test]
fn a_stale_generated_file_is_removed_but_a_similar_hand_written_one_is_not() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = specs(tmp.path());
    let out = tmp.path().join("out");
    render_ok(tmp.path(), &a, &out);
    assert!(out.join("k8s/rabbitmq.yaml").is_file());
    for similar in [
        "k8s/rabbitmq.yaml.orig",
        "k8s/rabbitmq.yml",
        "rabbitmq.yaml",
    ] {
        fs::write(out.join(similar), "mine\n").expect("write");
    }
    let check = run(tmp.path(), "check", &b, &out);
    assert_eq!(check.status.code(), Some(1));
    let listed = text(&check);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("stale") && l.ends_with("k8s/rabbitmq.yaml")),
        "{listed}"
    );
    assert_eq!(listed.matches("rabbitmq").count(), 1, "{listed}");

    render_ok(tmp.path(), &b, &out);
    assert!(!out.join("k8s/rabbitmq.yaml").exists());
    for similar in [
        "k8s/rabbitmq.yaml.orig",
        "k8s/rabbitmq.yml",
        "rabbitmq.yaml",
    ] {
        assert_eq!(
            fs::read_to_string(out.join(similar)).expect("kept"),
            "mine\n"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_symlinked_output_directory_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, _) = specs(tmp.path());
    let real = tmp.path().join("real");
    fs::create_dir(&real).expect("mkdir");
    let out = tmp.path().join("out");
    std::os::unix::fs::symlink(&real, &out).expect("symlink");
    let r = run(tmp.path(), "render", &a, &out);
    assert_eq!(r.status.code(), Some(2), "{}", text(&r));
    assert!(text(&r).contains("symbolic link"), "{}", text(&r));
    assert!(files(&real).is_empty());
    assert!(leftovers(&out).is_empty());
}

#[cfg(unix)]
#[test]
fn a_symlinked_output_directory_is_refused_however_it_is_spelled() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, _) = specs(tmp.path());
    let real = tmp.path().join("real");
    fs::create_dir(&real).expect("mkdir");
    std::os::unix::fs::symlink(&real, tmp.path().join("out")).expect("symlink");
    for spelling in ["out/", "out/.", "./out//", "real/../out/"] {
        let r = fredgen(
            tmp.path(),
            &[
                "render",
                "-f",
                a.to_str().expect("utf8"),
                "-o",
                spelling,
                "--target",
                "eks",
                "--env",
                "prod",
            ],
        );
        assert_eq!(r.status.code(), Some(2), "{spelling}: {}", text(&r));
        assert!(
            text(&r).contains("symbolic link"),
            "{spelling}: {}",
            text(&r)
        );
        assert!(
            files(&real).is_empty(),
            "{spelling}: written through the link"
        );
    }
}

#[cfg(unix)]
#[test]
fn renders_of_one_directory_spelled_differently_take_one_lock() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = specs(tmp.path());
    let out = tmp.path().join("out");
    let (ref_a, ref_b) = references(tmp.path(), &a, &b, &out);
    let inner = out.join("inner");
    fs::create_dir_all(&inner).expect("mkdir");
    fs::create_dir(tmp.path().join("elsewhere")).expect("mkdir");
    std::os::unix::fs::symlink(tmp.path(), tmp.path().join("elsewhere/up")).expect("symlink");
    let spellings = ["..", "../", "elsewhere/up/out", "out", "elsewhere/../out/"];
    for round in 0..8 {
        let children: Vec<_> = spellings
            .iter()
            .enumerate()
            .map(|(i, spelling)| {
                let cwd = if spelling.starts_with("..") {
                    &inner
                } else {
                    tmp.path()
                };
                let mut cmd = Command::new(env!("CARGO_BIN_EXE_fredgen"));
                cmd.current_dir(cwd)
                    .args(["render", "-f"])
                    .arg(if (i + round) % 2 == 0 { &a } else { &b })
                    .args(["-o", spelling])
                    .args(ARGS);
                cmd
            })
            .collect();
        all_at_once(children, &format!("round {round}"));
        let mut now = files(&out);
        now.retain(|rel, _| !rel.starts_with("inner"));
        assert_one_whole_render(&out, &now, [&ref_a, &ref_b], &format!("round {round}"));
    }
}

#[cfg(unix)]
#[test]
fn a_symlink_where_a_generated_directory_belongs_is_refused_and_nothing_outside_is_written() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, _) = specs(tmp.path());
    let outside = tmp.path().join("outside");
    fs::create_dir(&outside).expect("mkdir");
    let out = tmp.path().join("out");
    fs::create_dir(&out).expect("mkdir");
    std::os::unix::fs::symlink(&outside, out.join("k8s")).expect("symlink");
    let r = run(tmp.path(), "render", &a, &out);
    assert_eq!(r.status.code(), Some(2), "{}", text(&r));
    assert!(text(&r).contains("symbolic link"), "{}", text(&r));
    assert!(files(&outside).is_empty(), "nothing is written outside");
    assert!(files(&out).is_empty(), "nothing is written at all");
    assert!(leftovers(&out).is_empty());
}

#[cfg(unix)]
#[test]
fn a_manifest_listing_paths_outside_the_directory_touches_none_of_them() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, _) = specs(tmp.path());
    let out = tmp.path().join("out");
    render_ok(tmp.path(), &a, &out);

    let escape = tmp.path().join("escape");
    fs::write(&escape, "not fredgen's\n").expect("write");
    let elsewhere = tmp.path().join("elsewhere");
    fs::create_dir(&elsewhere).expect("mkdir");
    let victim = elsewhere.join("victim");
    fs::write(&victim, "not fredgen's either\n").expect("write");
    std::os::unix::fs::symlink(&elsewhere, out.join("link")).expect("symlink");
    let passwd = fs::read("/etc/passwd").ok();
    let before = [inode(&escape), inode(&victim)];

    let manifest = out.join(".fredgen-manifest");
    let mut listed = fs::read_to_string(&manifest).expect("read");
    listed.push_str(&format!(
        "../escape\n/etc/passwd\n{}\nlink/victim\n.fredgen-manifest\n",
        victim.display()
    ));
    fs::write(&manifest, &listed).expect("write");

    let check = run(tmp.path(), "check", &a, &out);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    render_ok(tmp.path(), &a, &out);
    render_ok(tmp.path(), &a, &out);

    assert_eq!(
        fs::read_to_string(&escape).expect("kept"),
        "not fredgen's\n"
    );
    assert_eq!(
        fs::read_to_string(&victim).expect("kept"),
        "not fredgen's either\n"
    );
    assert_eq!([inode(&escape), inode(&victim)], before);
    assert_eq!(fs::read("/etc/passwd").ok(), passwd);
    assert!(
        fs::symlink_metadata(out.join("link"))
            .expect("kept")
            .is_symlink()
    );
    let rewritten = fs::read_to_string(&manifest).expect("read");
    for line in ["../escape", "/etc/passwd", "link/victim"] {
        assert!(!rewritten.lines().any(|l| l == line), "{rewritten}");
    }
}

#[test]
fn a_listed_file_rewritten_without_the_header_is_not_fredgens_and_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, _) = specs(tmp.path());
    let out = tmp.path().join("out");
    render_ok(tmp.path(), &a, &out);
    fs::write(out.join("k8s/web.yaml"), "# my own manifest now\n").expect("write");
    let before = files(&out);
    let r = run(tmp.path(), "render", &a, &out);
    assert_eq!(r.status.code(), Some(2), "{}", text(&r));
    assert!(text(&r).contains("generated-file header"), "{}", text(&r));
    assert_eq!(files(&out), before, "nothing was written");
}

#[test]
fn a_hand_edited_manifest_cannot_make_a_render_delete_the_users_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = specs(tmp.path());
    let out = tmp.path().join("out");
    render_ok(tmp.path(), &a, &out);
    let hand = hand_written();
    add(&out, &hand);
    let state = "terraform/00-bootstrap/.terraform/terraform.tfstate";
    add(
        &out,
        &BTreeMap::from([(state.to_string(), b"{}\n".to_vec())]),
    );
    let manifest = out.join(".fredgen-manifest");
    let mut listed = fs::read_to_string(&manifest).expect("read");
    for rel in hand.keys().map(String::as_str).chain([state]) {
        listed.push_str(rel);
        listed.push('\n');
    }
    fs::write(&manifest, listed).expect("write");

    // Neither spec generates them: listed, but not proven fredgen's, they are not stale.
    let check = run(tmp.path(), "check", &b, &out);
    assert!(!text(&check).contains("NOTES.md"), "{}", text(&check));
    for spec in [&b, &a] {
        render_ok(tmp.path(), spec, &out);
        assert_hand_written_intact(&out, &hand, "after a render");
        assert_eq!(fs::read(out.join(state)).expect("kept"), b"{}\n");
    }
}

#[test]
fn what_an_interrupted_render_staged_without_a_journal_is_rolled_back() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, _) = specs(tmp.path());
    let out = tmp.path().join("out");
    render_ok(tmp.path(), &a, &out);
    let reference = files(&out);
    let staging = out.join(".fredgen-staging");
    fs::create_dir_all(staging.join("k8s")).expect("mkdir");
    fs::write(staging.join("k8s/web.yaml"), "half-written").expect("write");
    fs::write(out.join(".fredgen-journal.tmp"), "put k8s/web.yaml\n").expect("write");
    let not_ours = [".fredgen-staging.keep", "fredgen-staging"];
    for name in not_ours {
        fs::create_dir(out.join(name)).expect("mkdir");
    }
    render_ok(tmp.path(), &a, &out);
    assert!(
        leftovers(&out).iter().all(|l| l == ".fredgen-staging.keep"),
        "{:?}",
        leftovers(&out)
    );
    let mut now = files(&out);
    now.retain(|rel, _| reference.contains_key(rel));
    assert_eq!(now, reference, "the rollback kept the old output");
    for name in not_ours {
        assert!(out.join(name).is_dir(), "{name} was removed");
    }
}

#[test]
fn a_committed_journal_is_completed_by_the_next_render_whatever_its_spec() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = specs(tmp.path());
    let ref_b = tmp.path().join("ref-b");
    let out = tmp.path().join("out");
    // Rendered into `out` and moved: the headers name the directory.
    render_ok(tmp.path(), &b, &out);
    fs::rename(&out, &ref_b).expect("moves");
    render_ok(tmp.path(), &a, &out);
    fs::write(out.join("NOTES.md"), "mine\n").expect("write");

    // What a render from A to B leaves when killed half-way through its journal: staged new
    // versions, some already renamed into place, a stale file not yet removed.
    let (old, new) = (files(&out), files(&ref_b));
    let staging = out.join(".fredgen-staging");
    let mut journal = String::from("# fredgen's journal\n");
    let changed: Vec<&String> = new
        .keys()
        .filter(|rel| *rel != ".fredgen-manifest" && old.get(*rel) != new.get(*rel))
        .collect();
    assert!(changed.len() > 4);
    for (i, rel) in changed.iter().enumerate() {
        let path = if i % 2 == 0 {
            staging.join(rel)
        } else {
            out.join(rel)
        };
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(&path, &new[*rel]).expect("write");
        journal.push_str(&format!("put {rel}\n"));
    }
    journal.push_str("del k8s/rabbitmq.yaml\nput .fredgen-manifest\n");
    fs::write(staging.join(".fredgen-manifest"), &new[".fredgen-manifest"]).expect("write");
    fs::write(out.join(".fredgen-journal"), journal).expect("write");

    let check = run(tmp.path(), "check", &b, &out);
    assert_eq!(check.status.code(), Some(2), "{}", text(&check));
    assert!(text(&check).contains("interrupted"), "{}", text(&check));
    // Completing B first, the render of B finds nothing left to change.
    let rendered = render_ok(tmp.path(), &b, &out);
    assert!(rendered.contains("(0 changed)"), "{rendered}");
    let mut now = files(&out);
    assert_eq!(now.remove("NOTES.md"), Some(b"mine\n".to_vec()));
    assert_eq!(now, new);
    assert!(leftovers(&out).is_empty());
}

#[cfg(unix)]
#[test]
fn the_output_directory_keeps_its_inode_and_a_process_inside_it_keeps_working() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = specs(tmp.path());
    let out = tmp.path().join("out");
    render_ok(tmp.path(), &a, &out);
    let (dir, bootstrap) = (inode(&out), inode(&out.join("terraform/00-bootstrap")));
    // A shell `cd`'d into the output directory (terraform keeping local state there) writes
    // while renders run.
    let mut shell = Command::new("sh")
        .arg("-c")
        .arg("for i in 1 2 3 4 5 6 7 8 9 10; do echo \"$i\" >> terraform/00-bootstrap/terraform.tfstate; sleep 0.05; done; pwd -P > where")
        .current_dir(&out)
        .spawn()
        .expect("spawn");
    for spec in [&b, &a, &b] {
        render_ok(tmp.path(), spec, &out);
    }
    assert!(shell.wait().expect("wait").success());
    assert_eq!(
        (inode(&out), inode(&out.join("terraform/00-bootstrap"))),
        (dir, bootstrap)
    );
    let state =
        fs::read_to_string(out.join("terraform/00-bootstrap/terraform.tfstate")).expect("state");
    assert_eq!(
        state.lines().count(),
        10,
        "every write of the process landed: {state}"
    );
    assert_eq!(
        fs::read_to_string(out.join("where")).expect("where").trim(),
        fs::canonicalize(&out).expect("canonical").to_string_lossy()
    );
}

#[cfg(unix)]
#[test]
fn concurrent_first_renders_into_a_missing_parent_never_interleave() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = specs(tmp.path());
    for round in 0..3 {
        let out = tmp.path().join(format!("new-{round}/parent/out"));
        let (ref_a, ref_b) = references(tmp.path(), &a, &b, &out);
        fs::remove_dir_all(tmp.path().join(format!("new-{round}"))).expect("removes");
        let children: Vec<_> = (0..6)
            .map(|i| {
                let mut cmd = Command::new(env!("CARGO_BIN_EXE_fredgen"));
                cmd.current_dir(tmp.path())
                    .args(["render", "-f"])
                    .arg(if i % 2 == 0 { &a } else { &b })
                    .arg("-o")
                    .arg(&out)
                    .args(ARGS);
                cmd
            })
            .collect();
        all_at_once(children, &format!("round {round}"));
        assert_one_whole_render(
            &out,
            &files(&out),
            [&ref_a, &ref_b],
            &format!("round {round}"),
        );
    }
}

#[cfg(unix)]
#[test]
fn a_fifo_at_a_generated_path_is_refused_not_opened() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, _) = specs(tmp.path());
    let out = tmp.path().join("out");
    render_ok(tmp.path(), &a, &out);
    for rel in ["k8s/web.yaml", "k8s/extra.yaml"] {
        let path = out.join(rel);
        let _ = fs::remove_file(&path);
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &path,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .expect("mkfifo");
    }
    // Listed in the manifest, so a stale-file check would open it too.
    let manifest = out.join(".fredgen-manifest");
    let listed = fs::read_to_string(&manifest).expect("read") + "k8s/extra.yaml\n";
    fs::write(&manifest, listed).expect("write");
    for cmd in ["render", "check", "diff"] {
        let (spec, dir) = (a.to_str().expect("utf8"), out.to_str().expect("utf8"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_fredgen"))
            .current_dir(tmp.path())
            .args([cmd, "-f", spec, "-o", dir])
            .args(ARGS)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                panic!("`fredgen {cmd}` hangs on a FIFO");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err)
            .expect("read");
        assert_eq!(status.code(), Some(2), "{cmd}: {err}");
        assert!(err.contains("not a regular file"), "{cmd}: {err}");
    }
}

#[cfg(unix)]
#[test]
fn directories_keep_their_inodes_modes_and_extended_attributes_and_links_stay_links() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = specs(tmp.path());
    let out = tmp.path().join("out");
    render_ok(tmp.path(), &a, &out);
    let private = out.join("secrets");
    fs::create_dir(&private).expect("mkdir");
    fs::write(private.join("key"), "k").expect("write");
    fs::set_permissions(&private, fs::Permissions::from_mode(0o500)).expect("chmod");
    std::os::unix::fs::symlink("/nonexistent/target", out.join("dangling")).expect("symlink");
    // Extended attributes (ACLs live there too) on the output directory, a generated directory
    // and a hand-written one, and a mode on a generated directory.
    let tagged = [out.clone(), out.join("k8s"), private.clone()];
    for dir in &tagged {
        rustix::fs::setxattr(
            dir,
            "user.fredgen-test",
            b"kept",
            rustix::fs::XattrFlags::empty(),
        )
        .expect("this test needs a file system with user extended attributes");
    }
    fs::set_permissions(out.join("terraform"), fs::Permissions::from_mode(0o750)).expect("chmod");
    let inodes: Vec<u64> = tagged.iter().map(|d| inode(d)).collect();

    render_ok(tmp.path(), &b, &out);
    for dir in &tagged {
        let mut value = [0u8; 16];
        let n = rustix::fs::getxattr(dir, "user.fredgen-test", &mut value[..]).expect("xattr kept");
        assert_eq!(&value[..n], b"kept", "{}", dir.display());
    }
    assert_eq!(tagged.iter().map(|d| inode(d)).collect::<Vec<_>>(), inodes);
    let mode = fs::metadata(out.join("terraform"))
        .expect("stat")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o750);
    let mode = fs::metadata(&private).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o500);
    assert_eq!(fs::read_to_string(private.join("key")).expect("read"), "k");
    assert_eq!(
        fs::read_link(out.join("dangling")).expect("link"),
        Path::new("/nonexistent/target")
    );
    assert!(leftovers(&out).is_empty());
    fs::set_permissions(&private, fs::Permissions::from_mode(0o700)).expect("chmod");
}

/// The minimal example rendered for EKS into `<tmp>/out`: the spec's and the directory's paths.
fn minimal_rendered(tmp: &Path) -> (PathBuf, PathBuf) {
    let spec = tmp.join("fredgen.yaml");
    fs::copy(example_spec("minimal"), &spec).expect("copy");
    let out = tmp.join("out");
    let r = fredgen(tmp, &["render", "-t", "eks", "-o", "out", "-q"]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    (spec, out)
}

/// `line` appended to the manifest of `out`; then check, diff and render (`-v`) of the minimal
/// spec all succeed, report nothing to change, and leave every file but the manifest as it was.
fn ignored(tmp: &Path, out: &Path, line: &[u8]) {
    let manifest = out.join(".fredgen-manifest");
    let mut listed = fs::read(&manifest).expect("read");
    listed.extend_from_slice(line);
    listed.push(b'\n');
    fs::write(&manifest, listed).expect("write");
    let mut before = files(out);
    before.remove(".fredgen-manifest");
    let shown = String::from_utf8_lossy(&line[..line.len().min(80)]).into_owned();
    for (cmd, expected) in [
        ("check", "out is up to date\n"),
        ("diff", ""),
        ("render", "rendered 54 files into out (0 changed)\n"),
    ] {
        let r = fredgen(tmp, &[cmd, "-t", "eks", "-o", "out", "-v"]);
        assert_eq!(
            r.status.code(),
            Some(0),
            "{cmd} with {shown:?}: {}",
            text(&r)
        );
        assert_eq!(text(&r), expected, "{cmd} with {shown:?}");
        let mut after = files(out);
        after.remove(".fredgen-manifest");
        assert_eq!(after, before, "{cmd} with {shown:?}");
    }
}

#[test]
fn a_manifest_line_spelled_differently_never_removes_a_generated_file() {
    for line in [
        "k8s//web.yaml",
        "k8s/./web.yaml",
        "./k8s/web.yaml",
        "k8s/web.yaml/",
        "k8s/web.yaml/.",
        "k8s/../k8s/web.yaml",
        "terraform/10-network/./main.tf",
        "terraform//10-network/main.tf",
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (_, out) = minimal_rendered(tmp.path());
        ignored(tmp.path(), &out, line.as_bytes());
        // The manifest a render writes lists the canonical spelling only.
        let manifest = fs::read_to_string(out.join(".fredgen-manifest")).expect("read");
        assert!(!manifest.lines().any(|l| l == line), "{manifest}");
        assert!(manifest.lines().any(|l| l == "k8s/web.yaml"), "{manifest}");
    }
}

#[test]
fn manifest_lines_that_name_no_file_fredgen_could_have_written_are_ignored() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (_, out) = minimal_rendered(tmp.path());
    fs::create_dir(out.join("old")).expect("mkdir");
    let long_name = format!("k8s/{}.yaml", "a".repeat(300));
    let huge = "b".repeat(5 << 20);
    let lines: [&[u8]; 9] = [
        b"k8s",
        b"terraform",
        b"old",
        b"old/",
        b"k8s/web.yaml/",
        b"k8s/web.yaml/inner",
        long_name.as_bytes(),
        b"k8s/we\0b.yaml",
        huge.as_bytes(),
    ];
    for line in lines {
        ignored(tmp.path(), &out, line);
    }
    assert!(out.join("old").is_dir());
}

#[cfg(unix)]
#[test]
fn another_name_of_a_file_the_render_writes_is_never_stale() {
    // What `K8S/web.yaml` is on a file system that ignores case: another name of the same file.
    let tmp = tempfile::tempdir().expect("tempdir");
    let (_, out) = minimal_rendered(tmp.path());
    fs::hard_link(out.join("k8s/web.yaml"), out.join("k8s/alias.yaml")).expect("link");
    ignored(tmp.path(), &out, b"k8s/alias.yaml");
    assert!(out.join("k8s/alias.yaml").is_file());
}

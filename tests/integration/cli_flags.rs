//! Tests — the CLI's conventions: global `-q`/`-v`/`--color`, hand-edit warnings, check and diff
//! refusing what render refuses, examples and exit codes in every help and man page, completions
//! of target ids, and the messages for a missing or empty spec.

use std::fs;
use std::path::Path;

use crate::support::{example_spec, fredgen};

/// Runs fredgen with `env` set, and the colour variables unset unless `env` sets them.
fn fredgen_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_fredgen"));
    cmd.current_dir(dir).args(args);
    for var in ["NO_COLOR", "CLICOLOR_FORCE", "CLICOLOR"] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("fredgen runs")
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The minimal example's spec copied into `dir`, rendered for GKE into `dir/out`.
fn rendered_minimal(dir: &Path) {
    fs::copy(example_spec("minimal"), dir.join("fredgen.yaml")).expect("copy");
    let r = fredgen(dir, &["render", "-t", "gke", "-o", "out", "-q"]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
}

/// Edits `dir/out/k8s/web.yaml` by hand, keeping fredgen's header.
fn edit_web(dir: &Path) {
    let web = dir.join("out/k8s/web.yaml");
    let text = fs::read_to_string(&web).expect("read");
    fs::write(&web, format!("{text}# my edit\n")).expect("write");
}

const HAND_EDIT_WARNING: &str = "warning: out/k8s/web.yaml was edited by hand; the edit is overwritten
  = hint: generated files are rewritten on every render: put the change in the spec, or in the spec's `overrides:` (see the README's Overrides section)
";

#[test]
fn quiet_prints_nothing_but_errors_and_keeps_exit_codes_and_json() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    fs::copy(example_spec("minimal"), dir.join("fredgen.yaml")).expect("copy");
    // Before or after the subcommand, as cargo takes it.
    for args in [
        ["-q", "render", "-t", "gke", "-o", "out"],
        ["render", "-t", "gke", "-o", "out", "--quiet"],
    ] {
        let r = fredgen(dir, &args);
        assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
        assert_eq!((stdout(&r), stderr(&r)), (String::new(), String::new()));
    }
    edit_web(dir);
    for command in ["check", "diff", "validate"] {
        let args: &[&str] = match command {
            "validate" => &["validate", "-q"],
            _ => &[command, "-q", "-t", "gke", "-o", "out"],
        };
        let r = fredgen(dir, args);
        let code = if command == "validate" { 0 } else { 1 };
        assert_eq!(r.status.code(), Some(code), "{command}: {}", stderr(&r));
        assert_eq!(
            (stdout(&r), stderr(&r)),
            (String::new(), String::new()),
            "{command}"
        );
    }
    let json = |quiet: bool| {
        let mut args = vec!["check", "-t", "gke", "-o", "out", "--format", "json"];
        if quiet {
            args.push("-q");
        }
        let r = fredgen(dir, &args);
        assert_eq!(r.status.code(), Some(1));
        stdout(&r)
    };
    assert!(
        json(true).contains("\"change\": \"modified\""),
        "{}",
        json(true)
    );
    assert_eq!(json(true), json(false));
    // A render over the hand edit says nothing with -q, not even the warning.
    let r = fredgen(dir, &["render", "-q", "-t", "gke", "-o", "out"]);
    assert_eq!((stdout(&r), stderr(&r)), (String::new(), String::new()));
    // Errors still show.
    let r = fredgen(dir, &["render", "-q", "-t", "azure"]);
    assert_eq!(r.status.code(), Some(2));
    assert_eq!(stdout(&r), "");
    assert!(
        stderr(&r).starts_with("error: unknown target `azure`"),
        "{}",
        stderr(&r)
    );
    let both = fredgen(dir, &["render", "-q", "-v", "-t", "gke"]);
    assert_eq!(both.status.code(), Some(2));
    assert!(
        stderr(&both).contains("cannot be used with"),
        "{}",
        stderr(&both)
    );
}

#[test]
fn render_verbose_lists_every_changed_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    fs::copy(example_spec("minimal"), dir.join("fredgen.yaml")).expect("copy");
    let first = fredgen(dir, &["render", "-v", "-t", "gke", "-o", "out"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let text = stdout(&first);
    let mut lines = text.lines();
    let summary = lines.next().expect("a summary");
    let files: Vec<&str> = lines.collect();
    assert!(summary.starts_with("rendered ") && summary.ends_with(" changed)"));
    assert!(files.contains(&"  added    k8s/web.yaml"), "{text}");
    assert!(files.iter().all(|l| l.starts_with("  added    ")), "{text}");
    // The spec changes one file, and a file it no longer renders is removed.
    let spec = fs::read_to_string(dir.join("fredgen.yaml")).expect("read");
    let out = dir.join("out");
    // A file an earlier render wrote: it opens with fredgen's header.
    let web = fs::read_to_string(out.join("k8s/web.yaml")).expect("read");
    let header = web.lines().next().expect("a header");
    fs::write(out.join("old.yaml"), format!("{header}\nkind: Old\n")).expect("write");
    let manifest = fs::read_to_string(out.join(".fredgen-manifest")).expect("manifest");
    fs::write(
        out.join(".fredgen-manifest"),
        manifest.replacen("\n", "\nold.yaml\n", 1),
    )
    .expect("write");
    let (from, to) = ("port: 8080", "port: 8081");
    assert!(spec.contains(from), "{spec}");
    fs::write(dir.join("fredgen.yaml"), spec.replacen(from, to, 1)).expect("write");
    let check = fredgen(dir, &["check", "-v", "-t", "gke", "-o", "out"]);
    assert!(
        stdout(&check).contains("modified out/k8s/web.yaml\n"),
        "a change from the spec is no hand edit: {}",
        stdout(&check)
    );
    let r = fredgen(dir, &["render", "-v", "-t", "gke", "-o", "out"]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    let n = fs::read_to_string(out.join(".fredgen-manifest"))
        .expect("manifest")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .count();
    let listed: Vec<String> = stdout(&r).lines().skip(1).map(str::to_string).collect();
    assert!(
        listed.contains(&"  removed  old.yaml".to_string()),
        "{listed:?}"
    );
    assert!(
        listed.contains(&"  modified k8s/web.yaml".to_string()),
        "{listed:?}"
    );
    assert_eq!(
        stdout(&r).lines().next(),
        Some(format!("rendered {n} files into out ({} changed)", listed.len()).as_str())
    );
    assert_eq!(stderr(&r), "", "a change from the spec is no hand edit");
}

#[test]
fn render_warns_when_it_overwrites_a_hand_edit_it_can_prove() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    rendered_minimal(dir);
    edit_web(dir);
    // check -v says which difference is a hand edit; check alone does not.
    let check = |verbose: bool| {
        let args = ["check", "-t", "gke", "-o", "out", "-v"];
        let r = fredgen(dir, &args[..if verbose { 6 } else { 5 }]);
        assert_eq!(r.status.code(), Some(1), "{}", stderr(&r));
        stdout(&r)
    };
    assert_eq!(check(true), "modified out/k8s/web.yaml (edited by hand)\n");
    assert_eq!(check(false), "modified out/k8s/web.yaml\n");
    let r = fredgen(dir, &["render", "-v", "-t", "gke", "-o", "out"]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    assert_eq!(stderr(&r), HAND_EDIT_WARNING);
    assert!(
        stdout(&r).ends_with(" (1 changed)\n  modified k8s/web.yaml\n"),
        "{}",
        stdout(&r)
    );
    // Rendered again, nothing is edited: no warning.
    let again = fredgen(dir, &["render", "-t", "gke", "-o", "out"]);
    assert_eq!(stderr(&again), "");

    // A manifest written before fredgen recorded digests: nothing to prove an edit with.
    let path = dir.join("out/.fredgen-manifest");
    let manifest = fs::read_to_string(&path).expect("manifest");
    let old: String = manifest
        .lines()
        .filter(|l| !l.starts_with("# blake3 ") && !l.starts_with("# The BLAKE3"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(&path, old).expect("write");
    edit_web(dir);
    let r = fredgen(dir, &["render", "-t", "gke", "-o", "out"]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    assert_eq!(stderr(&r), "");
    // The render wrote the digests again.
    assert_eq!(fs::read_to_string(&path).expect("manifest"), manifest);
}

#[test]
fn the_manifest_records_the_digest_of_each_file_as_written() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    rendered_minimal(dir);
    let manifest = fs::read_to_string(dir.join("out/.fredgen-manifest")).expect("manifest");
    let paths: Vec<&str> = manifest.lines().filter(|l| !l.starts_with('#')).collect();
    let digests: Vec<(&str, &str)> = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("# blake3 ")?.split_once(' '))
        .collect();
    assert_eq!(
        digests.iter().map(|(_, p)| *p).collect::<Vec<_>>(),
        paths,
        "one digest per path, in the same order"
    );
    for (hex, rel) in digests {
        let bytes = fs::read(dir.join("out").join(rel)).expect("read");
        let want = blake3::hash(&bytes).to_hex().to_string();
        assert_eq!(hex, want, "{rel}");
    }
    // Byte-identical when rendered again from nothing (the headers name the directory, so the
    // same one).
    fs::remove_dir_all(dir.join("out")).expect("remove");
    let r = fredgen(dir, &["render", "-q", "-t", "gke", "-o", "out"]);
    assert_eq!(r.status.code(), Some(0));
    assert_eq!(
        fs::read_to_string(dir.join("out/.fredgen-manifest")).expect("manifest"),
        manifest
    );
}

#[test]
fn color_paints_reports_as_asked_and_never_files_or_json() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    rendered_minimal(dir);
    let web = dir.join("out/k8s/web.yaml");
    let text = fs::read_to_string(&web).expect("read");
    assert!(text.contains("containerPort: 8080"), "{text}");
    fs::write(
        &web,
        text.replacen("containerPort: 8080", "containerPort: 9", 1),
    )
    .expect("write");
    let check = ["check", "-t", "gke", "-o", "out"];
    let painted = "\u{1b}[1m\u{1b}[33mmodified\u{1b}[0m out/k8s/web.yaml\n";
    let plain = "modified out/k8s/web.yaml\n";
    for (args, env, want) in [
        (&["--color", "always"][..], &[][..], painted),
        (&["--color=never"], &[("CLICOLOR_FORCE", "1")], plain),
        // auto: a pipe is not a terminal; CLICOLOR_FORCE forces colour, NO_COLOR wins over it.
        (&[], &[], plain),
        (&[], &[("CLICOLOR_FORCE", "1")], painted),
        (&[], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")], plain),
        // An empty NO_COLOR is unset.
        (&[], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "")], painted),
        // CLICOLOR_FORCE=0 (or empty) forces nothing (https://bixense.com/clicolors/).
        (&[], &[("CLICOLOR_FORCE", "0")], plain),
        (&[], &[("CLICOLOR_FORCE", "")], plain),
    ] {
        let r = fredgen_env(dir, &[&check[..], args].concat(), env);
        assert_eq!(r.status.code(), Some(1));
        assert_eq!(stdout(&r), want, "{args:?} {env:?}");
    }

    let diff = fredgen_env(
        dir,
        &["diff", "-t", "gke", "-o", "out", "--color", "always"],
        &[],
    );
    let d = stdout(&diff);
    let port = text
        .lines()
        .find(|l| l.contains("containerPort: 8080"))
        .expect("a port line");
    for line in [
        "\u{1b}[1m--- a/k8s/web.yaml\u{1b}[0m\n".to_string(),
        "\u{1b}[1m+++ b/k8s/web.yaml\u{1b}[0m\n".to_string(),
        format!("\u{1b}[31m-{}\u{1b}[0m\n", port.replace("8080", "9")),
        format!("\u{1b}[32m+{port}\u{1b}[0m\n"),
    ] {
        assert!(d.contains(&line), "{line:?} in {d:?}");
    }
    assert!(d.lines().any(|l| l.starts_with("\u{1b}[36m@@ ")), "{d:?}");

    // Errors: the prefixes are painted, the rest is the plain report.
    let error = fredgen_env(dir, &["render", "-t", "azure", "--color", "always"], &[]);
    let plain_error = fredgen_env(dir, &["render", "-t", "azure"], &[]);
    assert_eq!(
        stderr(&error),
        stderr(&plain_error)
            .replacen("error", "\u{1b}[1m\u{1b}[31merror\u{1b}[0m", 1)
            .replacen("= hint:", "\u{1b}[1m\u{1b}[36m= hint:\u{1b}[0m", 1)
    );
    assert!(!stderr(&plain_error).contains('\u{1b}'));

    // Never in JSON, never in files.
    let json = fredgen_env(
        dir,
        &[&check[..], &["--format", "json", "--color", "always"]].concat(),
        &[],
    );
    assert!(!stdout(&json).contains('\u{1b}'), "{}", stdout(&json));
    let r = fredgen_env(
        dir,
        &[
            "render", "-v", "-t", "gke", "-o", "out", "--color", "always",
        ],
        &[],
    );
    assert_eq!(r.status.code(), Some(0));
    for entry in walkdir::WalkDir::new(dir.join("out")) {
        let entry = entry.expect("walk");
        if entry.file_type().is_file() {
            let bytes = fs::read(entry.path()).expect("read");
            assert!(!bytes.contains(&0x1b), "{}", entry.path().display());
        }
    }

    // clap's own help and errors follow --color.
    for (args, escapes) in [
        (&["--color", "always", "render", "--help"][..], true),
        (&["render", "--help", "--color=never"], false),
        (&["render", "--help"], false),
    ] {
        let r = fredgen_env(dir, args, &[]);
        assert_eq!(stdout(&r).contains('\u{1b}'), escapes, "{args:?}");
    }
    for (value, escapes) in [("1", true), ("0", false)] {
        let r = fredgen_env(dir, &["render", "--help"], &[("CLICOLOR_FORCE", value)]);
        assert_eq!(
            stdout(&r).contains('\u{1b}'),
            escapes,
            "CLICOLOR_FORCE={value}"
        );
    }
    let bad = fredgen_env(dir, &["--color", "always", "render", "--bogus"], &[]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains('\u{1b}'), "{}", stderr(&bad));
}

/// render, check and diff of `out` (with `-t gke`), with their exit codes and stderr.
fn all_three(dir: &Path) -> Vec<(Option<i32>, String)> {
    ["render", "check", "diff"]
        .into_iter()
        .map(|command| {
            let r = fredgen(dir, &[command, "-t", "gke", "-o", "out"]);
            (r.status.code(), stderr(&r))
        })
        .collect()
}

#[test]
fn check_and_diff_refuse_what_render_refuses() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    fs::copy(example_spec("minimal"), dir.join("fredgen.yaml")).expect("copy");

    // A hand-written file at a generated path.
    fs::create_dir_all(dir.join("out/k8s")).expect("mkdir");
    fs::write(dir.join("out/k8s/web.yaml"), "# my own web.yaml\n").expect("write");
    let refusal = "error: refusing to touch `out/k8s/web.yaml`: the file exists and fredgen did not generate it (it is not in fredgen's manifest, or does not open with fredgen's generated-file header)\n  = hint: move it away or render to another directory\n";
    assert_eq!(all_three(dir), vec![(Some(2), refusal.to_string()); 3]);
    assert_eq!(
        fs::read_to_string(dir.join("out/k8s/web.yaml")).expect("read"),
        "# my own web.yaml\n"
    );
    let json = fredgen(
        dir,
        &["check", "-t", "gke", "-o", "out", "--format", "json"],
    );
    assert_eq!(json.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(v["errors"][0]["kind"], "unsafe", "{v:#}");
    assert_eq!(v["errors"][0]["file"], "out/k8s/web.yaml", "{v:#}");
    assert_eq!(
        v["errors"][0]["message"],
        "refusing to touch `out/k8s/web.yaml`: the file exists and fredgen did not generate it (it is not in fredgen's manifest, or does not open with fredgen's generated-file header)",
        "{v:#}"
    );
    assert_eq!(
        v["errors"][0]["hint"], "move it away or render to another directory",
        "{v:#}"
    );

    // A generated file whose header was removed by hand, though the manifest lists it.
    fs::remove_dir_all(dir.join("out")).expect("rm");
    rendered_minimal(dir);
    let web = dir.join("out/k8s/web.yaml");
    let text = fs::read_to_string(&web).expect("read");
    let headless: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
    fs::write(&web, headless).expect("write");
    assert_eq!(all_three(dir), vec![(Some(2), refusal.to_string()); 3]);

    // A file where the output directory should be.
    fs::remove_dir_all(dir.join("out")).expect("rm");
    fs::write(dir.join("out"), "mine\n").expect("write");
    let in_the_way =
        "error: refusing to touch `out`: a file is in the way of the output directory\n";
    assert_eq!(all_three(dir), vec![(Some(2), in_the_way.to_string()); 3]);

    // A symbolic link in the output directory's place.
    #[cfg(unix)]
    {
        fs::remove_file(dir.join("out")).expect("rm");
        fs::create_dir(dir.join("elsewhere")).expect("mkdir");
        std::os::unix::fs::symlink(dir.join("elsewhere"), dir.join("out")).expect("symlink");
        for out in ["out", "out/"] {
            let link = format!(
                "error: refusing to touch `{out}`: the output directory is a symbolic link\n"
            );
            for command in ["render", "check", "diff"] {
                let r = fredgen(dir, &[command, "-t", "gke", "-o", out]);
                assert_eq!(r.status.code(), Some(2), "{command} {out}");
                assert_eq!(stderr(&r), link, "{command} {out}");
            }
        }
        assert!(
            fs::read_dir(dir.join("elsewhere"))
                .expect("ls")
                .next()
                .is_none()
        );
    }
}

const COMMANDS: [&str; 10] = [
    "render",
    "diff",
    "check",
    "validate",
    "targets",
    "templates",
    "init",
    "schema",
    "completions",
    "man",
];

#[test]
fn every_help_has_examples_and_exit_codes_and_fits_80_columns() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let nested = ["templates list", "templates show"];
    for command in std::iter::once("").chain(COMMANDS).chain(nested) {
        for flag in ["-h", "--help"] {
            let args: Vec<&str> = command
                .split(' ')
                .chain([flag])
                .filter(|a| !a.is_empty())
                .collect();
            let r = fredgen_env(tmp.path(), &args, &[("COLUMNS", "80")]);
            assert_eq!(r.status.code(), Some(0), "{args:?}");
            let help = stdout(&r);
            assert!(help.contains("\n\nExamples:\n  # "), "{args:?}: {help}");
            assert!(
                help.contains("\n  fredgen ") || help.contains("\n  echo "),
                "{args:?}: {help}"
            );
            assert!(help.contains("\n\nExit codes:\n  0  "), "{args:?}: {help}");
            assert!(help.contains("\n  2  error"), "{args:?}: {help}");
            for line in help.lines() {
                assert!(line.chars().count() <= 80, "{args:?}: {line:?}");
            }
        }
    }
    let check = stdout(&fredgen(tmp.path(), &["check", "--help"]));
    assert!(
        check.contains("\n  1  the directory differs (also with -q)\n"),
        "{check}"
    );
    // --format says what each value does, without sending the reader elsewhere.
    let format = &check[check.find("--format <FORMAT>").expect("--format")..];
    let format = &format[..format.find("[default: human]").expect("end")];
    for want in [
        "- human: Text for people on stdout",
        "- json:  One JSON object on stdout and nothing on stderr",
    ] {
        assert!(format.contains(want), "{format}");
    }
    assert!(!check.contains("see the README"), "{check}");
}

/// The paragraph under `flag` in `help` (up to the next blank line), on one line.
fn help_of(help: &str, flag: &str) -> String {
    let from = &help[help.find(flag).unwrap_or_else(|| panic!("{flag}: {help}"))..];
    let paragraph = from.split("\n\n").next().expect("paragraph");
    paragraph.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn help_says_what_each_command_writes_and_the_targets_it_serves() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let help = |args: &[&str]| stdout(&fredgen_env(tmp.path(), args, &[("COLUMNS", "200")]));
    let render_all = "--all Every target × environment the spec declares, each into \
                      `<DIR>/<target>/<env>` (DIR: `--out`, default `deploy` next to the spec), \
                      and the GitHub workflows of `delivery.github` into the repository's \
                      `.github/workflows/`";
    assert_eq!(help_of(&help(&["render", "--help"]), "--all\n"), render_all);
    for command in ["diff", "check"] {
        assert_eq!(
            help_of(&help(&[command, "--help"]), "--all\n"),
            "--all Every target × environment the spec declares, each compared with \
             `<DIR>/<target>/<env>` (DIR: `--out`, default `deploy` next to the spec), and the \
             GitHub workflows of `delivery.github` with the repository's `.github/workflows/`; \
             writes nothing",
            "{command}"
        );
    }
    let validate = help(&["validate", "--help"]);
    assert!(
        validate.contains("\n  2  error: a bad spec or argument, or a file that cannot be read\n"),
        "{validate}"
    );
    assert!(!validate.contains("touch"), "{validate}");
    let top = help(&["--help"]);
    assert!(top.starts_with("fredgen compiles"), "{top}");
    assert_eq!(
        help_of(&top, "fredgen compiles"),
        "fredgen compiles one stack spec into the Terraform, Helm values and Kubernetes \
         manifests that stand the stack up on AWS EKS, Google GKE, Hetzner Cloud or an existing \
         Kubernetes cluster (the `kubernetes` folder target)"
    );
    // The examples name a folder the reader makes, not one fredgen does not ship.
    for args in [&["targets", "--help"][..], &["templates", "list", "--help"]] {
        let text = help(args);
        assert!(text.contains("--target-dir ./my-target\n"), "{text}");
        assert!(!text.contains("targets/k3s"), "{text}");
    }
}

#[test]
fn every_man_page_has_a_name_examples_and_exit_status() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // -o creates the directory and its parents.
    let r = fredgen(tmp.path(), &["man", "-o", "share/man/man1"]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    let dir = tmp.path().join("share/man/man1");
    for command in std::iter::once("").chain(COMMANDS) {
        let (name, file) = match command {
            "" => ("fredgen".to_string(), "fredgen.1".to_string()),
            c => (format!("fredgen\\-{c}"), format!("fredgen-{c}.1")),
        };
        let page = fs::read_to_string(dir.join(&file)).expect("page");
        let name_line = page
            .lines()
            .skip_while(|l| *l != ".SH NAME")
            .nth(1)
            .unwrap_or_default();
        let about = name_line
            .strip_prefix(&format!("{name} \\- "))
            .unwrap_or_else(|| panic!("{file}: {name_line}"));
        assert!(
            about.len() > 10 && !about.to_lowercase().starts_with("fredgen"),
            "{file}: {name_line}"
        );
        let examples = page.find("\n.SH EXAMPLES\n.TP\n\\fB");
        let status = page.find("\n.SH \"EXIT STATUS\"\n.TP\n\\fB0\\fR\n");
        assert!(examples.is_some() && status.is_some(), "{file}:\n{page}");
        assert!(examples < status, "{file}");
        assert!(!page.contains(".SH EXTRA"), "{file}");
    }
    let fredgen_1 = fs::read_to_string(dir.join("fredgen.1")).expect("page");
    assert_eq!(
        stdout(&fredgen(tmp.path(), &["man"])),
        fredgen_1,
        "fredgen man prints fredgen.1"
    );
    // fredgen.1 alone names the environment, the files and where to read on, after the exit
    // status; each variable it names is one fredgen reads.
    let at = |section: &str| fredgen_1.find(&format!("\n.SH {section}\n"));
    let order = [
        at("\"EXIT STATUS\""),
        at("ENVIRONMENT"),
        at("FILES"),
        at("\"SEE ALSO\""),
        at("VERSION"),
    ];
    assert!(order.iter().all(Option::is_some), "{fredgen_1}");
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{fredgen_1}");
    let render_1 = fs::read_to_string(dir.join("fredgen-render.1")).expect("page");
    assert!(!render_1.contains(".SH ENVIRONMENT"));
    let sources: String = ["src/console.rs", "src/render/parallel.rs"]
        .iter()
        .map(|f| fs::read_to_string(crate::support::root().join(f)).expect("source"))
        .collect();
    let environment = &fredgen_1[order[1].expect("there")..order[2].expect("there")];
    let named: Vec<&str> = environment
        .lines()
        .filter_map(|l| l.strip_prefix("\\fB")?.strip_suffix("\\fR"))
        .collect();
    assert_eq!(named, ["NO_COLOR", "CLICOLOR_FORCE", "FREDGEN_THREADS"]);
    for var in ["CLICOLOR_FORCE", "FREDGEN_THREADS"] {
        assert!(sources.contains(&format!("\"{var}\"")), "{var} is read");
    }
}

#[test]
fn completions_offer_target_ids_for_target_and_no_files_for_env() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let script = |shell| {
        let r = fredgen(tmp.path(), &["completions", shell]);
        assert_eq!(r.status.code(), Some(0));
        stdout(&r)
    };
    let bash = script("bash");
    for flag in ["--target)", "-t)"] {
        let cases: Vec<&str> = bash
            .match_indices(&format!("                {flag}\n"))
            .map(|(i, _)| &bash[i..])
            .collect();
        assert_eq!(cases.len(), 3, "render, diff, check: {flag}");
        for case in cases {
            let body = &case[..case.find(";;").expect("end of case")];
            assert!(
                body.contains(
                    "COMPREPLY=($(compgen -W \"eks gke hetzner kubernetes\" -- \"${cur}\"))"
                ),
                "{body}"
            );
            assert!(!body.contains("compgen -f"), "{body}");
        }
    }
    let env = &bash[bash.find("                --env)\n").expect("--env")..];
    let env = &env[..env.find(";;").expect("end")];
    assert!(
        env.contains("COMPREPLY=(\"${cur}\")") && !env.contains("compgen -f"),
        "{env}"
    );

    let zsh = script("zsh");
    let target: Vec<&str> = zsh
        .lines()
        .filter(|l| l.starts_with("'--target=["))
        .collect();
    assert_eq!(target.len(), 3, "{zsh}");
    for line in target {
        assert!(line.contains(":TARGET:((eks\\:\"AWS EKS"), "{line}");
        assert!(
            !line.contains("_files") && !line.contains("_default"),
            "{line}"
        );
    }
    for id in ["gke\\:", "hetzner\\:", "kubernetes\\:"] {
        assert!(zsh.contains(id), "{id}");
    }
    let env: Vec<&str> = zsh.lines().filter(|l| l.starts_with("'--env=[")).collect();
    assert_eq!(env.len(), 3, "{zsh}");
    for line in env {
        assert!(line.ends_with(":ENV:' \\"), "{line}");
    }

    // --only offers the render's top folders, --spec-name no file, `templates show` the ids.
    let only = &bash[bash.find("                --only)\n").expect("--only")..];
    let only = &only[..only.find(";;").expect("end")];
    assert!(
        only.contains("COMPREPLY=($(compgen -W \"k8s/ terraform/ argocd/\" -- \"${cur}\"))"),
        "{only}"
    );
    for case in bash.match_indices("                --spec-name)\n") {
        let body = &bash[case.0..];
        let body = &body[..body.find(";;").expect("end")];
        assert!(
            body.contains("COMPREPLY=(\"${cur}\")") && !body.contains("compgen -f"),
            "{body}"
        );
    }
    let show = &bash[bash
        .find("        fredgen__subcmd__templates__subcmd__show)\n")
        .expect("templates show")..];
    let show = show.lines().nth(1).expect("opts");
    assert!(
        show.contains(" eks/apply.yaml.j2 ") && show.contains(" shared/"),
        "{show}"
    );
    assert!(zsh.contains(":PREFIX:(k8s/ terraform/ argocd/)'"), "{zsh}");
    assert!(
        zsh.lines()
            .any(|l| l.starts_with("':id -- ") && l.contains(" eks/apply.yaml.j2 "))
    );

    // Any id is still accepted: fredgen itself says which exist, not clap.
    let r = fredgen(
        tmp.path(),
        &[
            "render",
            "-f",
            &example_spec("fred").display().to_string(),
            "-t",
            "azure",
            "-e",
            "prod",
        ],
    );
    assert_eq!(r.status.code(), Some(2));
    assert!(!stderr(&r).contains("possible values"), "{}", stderr(&r));
    assert!(
        stderr(&r).contains("available targets: eks, gke, hetzner"),
        "{}",
        stderr(&r)
    );
}

#[test]
fn a_mistyped_target_or_environment_gets_the_nearest_declared_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::copy(example_spec("fred"), tmp.path().join("fredgen.yaml")).expect("copy");
    let run = |target: &str, env: &str| {
        let r = fredgen(tmp.path(), &["render", "-t", target, "-e", env]);
        assert_eq!(r.status.code(), Some(2));
        assert_eq!(stdout(&r), "");
        stderr(&r)
    };
    let targets = "available targets: eks, gke, hetzner, kubernetes";
    assert_eq!(
        run("aks", "prod"),
        format!("error: unknown target `aks`\n  = hint: did you mean `eks`? {targets}\n")
    );
    assert_eq!(
        run("kube", "prod"),
        format!("error: unknown target `kube`\n  = hint: did you mean `kubernetes`? {targets}\n")
    );
    assert_eq!(
        run("azure", "prod"),
        format!("error: unknown target `azure`\n  = hint: {targets}\n")
    );
    let envs = "declared environments: pr-142, prod, staging";
    for (typed, meant) in [
        ("production", "prod"),
        ("PROD", "prod"),
        ("stagin", "staging"),
    ] {
        assert_eq!(
            run("eks", typed),
            format!(
                "error: environment `{typed}` is not declared\n  = hint: did you mean `{meant}`? {envs}\n"
            )
        );
    }
    assert_eq!(
        run("eks", "dev"),
        format!("error: environment `dev` is not declared\n  = hint: {envs}\n")
    );
    assert!(!tmp.path().join("deploy").exists());
}

#[test]
fn a_missing_or_empty_spec_points_at_fredgen_init() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let r = fredgen(dir, &["render", "-t", "eks"]);
    assert_eq!(r.status.code(), Some(2));
    assert_eq!(stdout(&r), "");
    assert_eq!(
        stderr(&r),
        "error: no stack spec at `fredgen.yaml`
  = hint: run `fredgen init` to write a starter spec there, or name the spec with -f <SPEC>
"
    );
    let r = fredgen(dir, &["validate", "-f", "stacks/shop.yaml"]);
    assert_eq!(
        stderr(&r),
        "error: no stack spec at `stacks/shop.yaml`
  = hint: run `fredgen init -f stacks/shop.yaml` to write a starter spec there, or check the path
"
    );
    let r = fredgen(dir, &["check", "-t", "eks", "-f", "my stacks/it's.yaml"]);
    assert_eq!(
        stderr(&r),
        "error: no stack spec at `my stacks/it's.yaml`
  = hint: run `fredgen init -f 'my stacks/it'\\''s.yaml'` to write a starter spec there, or check the path
"
    );
    // The hint's command does what it says, in a folder that does not exist yet.
    let r = fredgen(dir, &["init", "-f", "stacks/shop.yaml"]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    assert!(dir.join("stacks/shop.yaml").is_file());
    assert!(dir.join("stacks/fredgen.schema.json").is_file());
    assert_eq!(
        fredgen(dir, &["validate", "-f", "stacks/shop.yaml"])
            .status
            .code(),
        Some(0)
    );

    fs::write(dir.join("fredgen.yaml"), "# nothing yet\n").expect("write");
    let r = fredgen(dir, &["render", "-t", "eks"]);
    assert_eq!(r.status.code(), Some(2));
    assert_eq!(
        stderr(&r),
        "error: the spec is empty
  --> fredgen.yaml
  = hint: `fredgen init` writes a commented starter spec, and `fredgen schema` prints the JSON Schema of every key

1 problem in the stack spec
"
    );
    assert!(!dir.join("deploy").exists());
}

#[test]
fn version_and_render_help_are_snapshotted() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let version = fredgen(tmp.path(), &["--version"]);
    assert_eq!(version.status.code(), Some(0));
    insta::assert_snapshot!("version", stdout(&version));
    let help = fredgen_env(tmp.path(), &["render", "--help"], &[("COLUMNS", "100")]);
    assert_eq!(help.status.code(), Some(0));
    insta::assert_snapshot!("render_help", stdout(&help));
}

/// Every file below `dir` (not following links): relative path → bytes, or `->` and the
/// target of a link.
fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.expect("walk"))
        .filter(|e| !e.file_type().is_dir())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .expect("below")
                .display()
                .to_string();
            let bytes = if e.file_type().is_symlink() {
                format!("-> {}", fs::read_link(e.path()).expect("link").display()).into_bytes()
            } else {
                fs::read(e.path()).expect("read")
            };
            (rel, bytes)
        })
        .collect()
}

#[cfg(unix)]
#[test]
fn man_and_schema_replace_a_symbolic_link_instead_of_writing_through_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let victim = dir.join("victim");
    fs::write(&victim, "not a man page\n").expect("write");
    fs::create_dir(dir.join("man1")).expect("mkdir");
    std::os::unix::fs::symlink(&victim, dir.join("man1/fredgen.1")).expect("symlink");
    std::os::unix::fs::symlink(&victim, dir.join("schema.json")).expect("symlink");

    let man = fredgen(dir, &["man", "-o", "man1"]);
    assert_eq!(man.status.code(), Some(0), "{}", stderr(&man));
    let schema = fredgen(dir, &["schema", "-o", "schema.json"]);
    assert_eq!(schema.status.code(), Some(0), "{}", stderr(&schema));
    assert_eq!(stdout(&schema), "wrote schema.json\n");

    assert_eq!(
        fs::read_to_string(&victim).expect("read"),
        "not a man page\n"
    );
    for (path, printed) in [
        ("man1/fredgen.1", fredgen(dir, &["man"])),
        ("schema.json", fredgen(dir, &["schema"])),
    ] {
        let meta = fs::symlink_metadata(dir.join(path)).expect("there");
        assert!(meta.is_file(), "{path} is a file now, not a link");
        assert_eq!(
            fs::read(dir.join(path)).expect("read"),
            printed.stdout,
            "{path}"
        );
    }
    // Nothing else was left in the directories (no temporary file).
    let names: Vec<String> = tree(dir).into_keys().collect();
    assert_eq!(names.len(), 13, "{names:?}");
    assert!(names.iter().all(|n| !n.contains(".fredgen-")), "{names:?}");
}

#[test]
fn man_checks_every_page_before_writing_the_first() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    fs::create_dir_all(dir.join("d/fredgen-check.1")).expect("mkdir");
    let r = fredgen(dir, &["man", "-o", "d"]);
    assert_eq!(r.status.code(), Some(2));
    assert_eq!(stdout(&r), "");
    assert_eq!(
        stderr(&r),
        "error: refusing to touch `d/fredgen-check.1`: it is a directory\n"
    );
    let names: Vec<String> = fs::read_dir(dir.join("d"))
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["fredgen-check.1"], "no page was written");

    let r = fredgen(dir, &["schema", "-o", "d"]);
    assert_eq!(r.status.code(), Some(2));
    assert_eq!(
        stderr(&r),
        "error: refusing to touch `d`: it is a directory\n"
    );
}

#[test]
fn schema_into_a_missing_folder_names_the_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let r = fredgen(tmp.path(), &["schema", "-o", "nodir/x.json"]);
    assert_eq!(r.status.code(), Some(2));
    assert_eq!(
        stderr(&r),
        "error: writing `nodir/x.json`: No such file or directory (os error 2)\n"
    );
}

#[test]
fn man_into_a_file_says_it_is_not_a_directory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    fs::write(dir.join("afile"), "mine\n").expect("write");
    let r = fredgen(dir, &["man", "-o", "afile"]);
    assert_eq!(r.status.code(), Some(2));
    assert_eq!(
        stderr(&r),
        "error: `afile` is not a directory\n  = hint: give `man -o` a directory (created when missing), or omit -o to print fredgen.1\n"
    );
    assert_eq!(
        fs::read_to_string(dir.join("afile")).expect("read"),
        "mine\n"
    );
}

#[cfg(unix)]
#[test]
fn control_characters_in_paths_are_printed_escaped() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    rendered_minimal(dir);
    // A generated file copied under a hostile name, listed in the manifest: stale.
    let hostile = "k8s/e\u{1b}]0;PWNED\u{7}\u{1b}[2J\u{202e}\u{2028}.yaml";
    let shown = "k8s/e\\u{1b}]0;PWNED\\u{7}\\u{1b}[2J\\u{202e}\\u{2028}.yaml";
    fs::copy(dir.join("out/k8s/web.yaml"), dir.join("out").join(hostile)).expect("copy");
    let manifest = dir.join("out/.fredgen-manifest");
    let listed = fs::read_to_string(&manifest).expect("read");
    fs::write(&manifest, format!("{listed}{hostile}\n")).expect("write");

    let check = fredgen(dir, &["check", "-t", "gke", "-o", "out"]);
    assert_eq!(check.status.code(), Some(1));
    assert_eq!(stdout(&check), format!("stale    out/{shown}\n"));
    let diff = fredgen(dir, &["diff", "-t", "gke", "-o", "out"]);
    assert_eq!(diff.status.code(), Some(1));
    assert!(
        stdout(&diff).starts_with(&format!("--- a/{shown}\n+++ /dev/null\n")),
        "{}",
        stdout(&diff)
    );
    // JSON keeps the exact path (serde_json escapes it).
    let json = fredgen(dir, &["diff", "-t", "gke", "-o", "out", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(v["changes"][0]["path"], hostile, "{v:#}");
    assert!(!String::from_utf8_lossy(&json.stdout).contains('\u{1b}'));
    let render = fredgen(dir, &["render", "-t", "gke", "-o", "out", "-v"]);
    assert_eq!(render.status.code(), Some(0), "{}", stderr(&render));
    assert!(
        stdout(&render).ends_with(&format!("  removed  {shown}\n")),
        "{}",
        stdout(&render)
    );

    // An output directory with control characters is refused before anything is written: the
    // command in every header could not name it on one line.
    let out = "o\u{1b}[2J\t\n";
    let r = fredgen(dir, &["render", "-t", "gke", "-o", out, "-q"]);
    assert_eq!(r.status.code(), Some(2));
    assert_eq!(
        stderr(&r),
        "error: the output directory's path holds a control character, a line separator, a bidirectional control or an invisible character, which no header's command can show on one line\n  = hint: give --out a directory whose path has none\n"
    );
    assert!(!dir.join(out).exists());
}

/// A full disk on stdout is an error (exit 2, said on stderr) for every command that prints;
/// a closed pipe (`fredgen man | head -1`) is not.
#[cfg(unix)]
#[test]
fn a_failed_write_to_stdout_exits_2_and_a_closed_pipe_does_not() {
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::copy(example_spec("minimal"), tmp.path().join("fredgen.yaml")).expect("copy");
    let run = |args: &[&str], out: std::process::Stdio| {
        std::process::Command::new(env!("CARGO_BIN_EXE_fredgen"))
            .current_dir(tmp.path())
            .args(args)
            .stdout(out)
            .stderr(std::process::Stdio::piped())
            .output()
            .expect("fredgen runs")
    };
    for args in [
        &["render", "--stdout", "-t", "gke"][..],
        &["render", "-t", "gke", "-o", "out"],
        &["schema"],
        &["man"],
        &["completions", "bash"],
        &["validate", "--format", "json"],
        &["check", "-t", "gke", "-o", "out", "--format", "json"],
        &["templates", "list"],
        &["templates", "show", "eks/apply.yaml.j2"],
        &["targets"],
        &["--help"],
        &["render", "--help"],
        &["--version"],
    ] {
        let full = fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let r = run(args, full.into());
        assert_eq!(r.status.code(), Some(2), "{args:?}: {}", stderr(&r));
        assert_eq!(
            stderr(&r),
            "error: writing `<stdout>`: No space left on device (os error 28)\n",
            "{args:?}"
        );
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let r = run(args, writer.into());
        assert_eq!(r.status.code(), Some(0), "{args:?}: {}", stderr(&r));
        assert_eq!(stderr(&r), "", "{args:?}");
    }
    // init writes its files, then says it cannot say so.
    let full = fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let r = run(&["init", "-f", "new.yaml"], full.into());
    assert_eq!(
        stderr(&r),
        "error: writing `<stdout>`: No space left on device (os error 28)\n"
    );
    assert_eq!(r.status.code(), Some(2));
    assert!(tmp.path().join("new.yaml").is_file());
}

/// `check` says why files differ only in their header: another fredgen version rendered them,
/// or the spec changed since.
#[test]
fn check_names_the_version_or_spec_that_rendered_files_differing_in_their_header_alone() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    rendered_minimal(dir);
    let version = env!("CARGO_PKG_VERSION");
    // Another fredgen's headers on two files, with the digests it would have recorded.
    let manifest = dir.join("out/.fredgen-manifest");
    let mut listed = fs::read_to_string(&manifest).expect("manifest");
    for rel in ["k8s/web.yaml", "terraform/10-network/main.tf"] {
        let path = dir.join("out").join(rel);
        let text = fs::read_to_string(&path).expect("read");
        let older = text.replacen(&format!("fredgen {version} from"), "fredgen 0.0.9 from", 1);
        assert_ne!(older, text);
        fs::write(&path, &older).expect("write");
        let (was, now) = (
            blake3::hash(text.as_bytes()),
            blake3::hash(older.as_bytes()),
        );
        let line = format!("# blake3 {} {rel}\n", was.to_hex());
        assert!(listed.contains(&line), "{line}");
        listed = listed.replace(&line, &format!("# blake3 {} {rel}\n", now.to_hex()));
    }
    fs::write(&manifest, listed).expect("write");
    let r = fredgen(dir, &["check", "-t", "gke", "-o", "out"]);
    assert_eq!(r.status.code(), Some(1));
    assert_eq!(
        stdout(&r),
        "modified out/k8s/web.yaml\nmodified out/terraform/10-network/main.tf\n"
    );
    assert_eq!(
        stderr(&r),
        format!(
            "note: 2 modified files differ only in the header: rendered by fredgen 0.0.9, checked by fredgen {version}\n  = hint: render with fredgen {version} and commit, or check with the fredgen that rendered them: pin one fredgen for workstations and CI\n"
        )
    );
    // -q says nothing, and the exit code stays.
    let r = fredgen(dir, &["check", "-q", "-t", "gke", "-o", "out"]);
    assert_eq!((r.status.code(), stderr(&r).as_str()), (Some(1), ""));

    // A spec edited without a render: every file differs in its header's hash.
    let r = fredgen(dir, &["render", "-q", "-t", "gke", "-o", "out"]);
    assert_eq!(r.status.code(), Some(0));
    let spec = dir.join("fredgen.yaml");
    let old_hash = fredgen::spec_hash(&fs::read(&spec).expect("read"));
    let text = fs::read_to_string(&spec).expect("read");
    fs::write(&spec, format!("{text}# a comment\n")).expect("write");
    let new_hash = fredgen::spec_hash(&fs::read(&spec).expect("read"));
    let r = fredgen(dir, &["check", "-t", "gke", "-o", "out"]);
    assert_eq!(r.status.code(), Some(1));
    let files = stdout(&r).lines().count();
    assert!(files > 10, "{}", stdout(&r));
    assert_eq!(
        stderr(&r),
        format!(
            "note: {files} modified files differ only in the header: rendered from the spec at {old_hash}, which is {new_hash} now\n  = hint: the spec changed since the last render (every header names its hash): render again and commit\n"
        )
    );
    // A header edited by hand (the manifest's digest says so) is no render's: no note.
    let r = fredgen(dir, &["render", "-q", "-t", "gke", "-o", "out"]);
    assert_eq!(r.status.code(), Some(0));
    let web = dir.join("out/k8s/web.yaml");
    let text = fs::read_to_string(&web).expect("read");
    fs::write(
        &web,
        text.replacen(&format!("fredgen {version} from"), "fredgen 0.0.1 from", 1),
    )
    .expect("write");
    let r = fredgen(dir, &["check", "-t", "gke", "-o", "out"]);
    assert_eq!(
        (r.status.code(), stdout(&r).as_str(), stderr(&r).as_str()),
        (Some(1), "modified out/k8s/web.yaml\n", "")
    );

    // A check with another spec name than the render's: the command differs, and says how.
    let r = fredgen(dir, &["render", "-q", "-t", "gke", "-o", "out"]);
    assert_eq!(r.status.code(), Some(0));
    fs::copy(&spec, dir.join("stack.yaml")).expect("copy");
    let r = fredgen(
        dir,
        &["render", "-q", "-t", "gke", "-o", "out", "-f", "stack.yaml"],
    );
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    let r = fredgen(dir, &["check", "-t", "gke", "-o", "out"]);
    assert_eq!(r.status.code(), Some(1));
    // Every file but the README, which names the spec in its text too.
    let files = stdout(&r).lines().count() - 1;
    assert!(stdout(&r).contains("modified out/README.md\n"));
    assert_eq!(
        stderr(&r),
        format!(
            "note: {files} modified files differ only in the header's command: rendered as `fredgen render --target gke --file stack.yaml --out out`, checked as `fredgen render --target gke --out out`\n  = hint: check with the spec name (--spec-name for a spec from stdin) and the output directory the header's command names\n"
        )
    );

    // A change beyond the header is not explained away.
    let web = dir.join("out/k8s/web.yaml");
    let r = fredgen(dir, &["render", "-q", "-t", "gke", "-o", "out"]);
    assert_eq!(r.status.code(), Some(0));
    let text = fs::read_to_string(&web).expect("read");
    fs::write(&web, format!("{text}# my edit\n")).expect("write");
    let r = fredgen(dir, &["check", "-t", "gke", "-o", "out"]);
    assert_eq!(r.status.code(), Some(1));
    assert_eq!(stderr(&r), "");
}

/// A link to a stream (`/dev/stdout` is one) is no file `schema -o` or `man -o` may replace.
#[cfg(unix)]
#[test]
fn schema_and_man_refuse_a_link_to_a_stream() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    std::os::unix::fs::symlink("/proc/self/fd/1", dir.join("myout")).expect("symlink");
    let r = fredgen(dir, &["schema", "-o", "myout"]);
    assert_eq!(r.status.code(), Some(2));
    assert_eq!(
        stderr(&r),
        "error: refusing to touch `myout`: it is a symbolic link to something other than a regular file (a stream, device or directory)\n"
    );
    assert!(
        fs::symlink_metadata(dir.join("myout"))
            .expect("there")
            .file_type()
            .is_symlink()
    );
    fs::create_dir(dir.join("man1")).expect("mkdir");
    std::os::unix::fs::symlink("/dev/null", dir.join("man1/fredgen.1")).expect("symlink");
    let r = fredgen(dir, &["man", "-o", "man1"]);
    assert_eq!(r.status.code(), Some(2));
    assert_eq!(fs::read_dir(dir.join("man1")).expect("ls").count(), 1);
}

//! Stage 4b — overrides: the user's patches, extra manifests, Helm values overlays and Terraform
//! files, declared in the spec's `overrides:` and applied to every render of a target.
//!
//! They are resolved against the spec ([`resolve`]: which apply to this target and environment,
//! with their files read) and applied to the rendered files before the kustomizations, the apply
//! plan and the README are rendered from them ([`apply`]), so `render`, `diff` and `check` all see
//! them. Every override must change something: one that addresses nothing, or whose result does not
//! parse back, is an error at its entry in the spec.

pub mod patch;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::error::{Diagnostic, Error, Pos, Result};
use crate::spec::{RawOverride, RawStack, Sp};

/// The files the overrides name, by the path as written: their text, or why it could not be read.
pub type Files = BTreeMap<String, std::result::Result<String, String>>;

/// The largest override file read: overrides are small.
const MAX_FILE_BYTES: u64 = 4 << 20;

/// Whether `path` resolves (through any symbolic link) to a place below `base`.
pub fn stays_below(base: &Path, path: &Path) -> bool {
    let base = if base.as_os_str().is_empty() {
        Path::new(".")
    } else {
        base
    };
    match (base.canonicalize(), path.canonicalize()) {
        (Ok(b), Ok(p)) => p.starts_with(b),
        // A path that does not exist is reported as missing where it is read.
        (Ok(_), Err(_)) => true,
        _ => false,
    }
}

/// A file's text as fredgen writes it: without a byte order mark, with `\n` line ends.
pub fn normalized(text: String) -> String {
    let text = text
        .strip_prefix('\u{feff}')
        .map(str::to_string)
        .unwrap_or(text);
    if text.contains('\r') {
        text.replace("\r\n", "\n")
    } else {
        text
    }
}

/// Reads every file the spec's overrides name, relative to `base` (the spec's folder).
pub fn read_files(raw: &RawStack, base: &Path) -> Files {
    let mut files = Files::new();
    for o in raw.overrides.iter().flatten() {
        let Some(file) = source(&o.value).filter(|f| plain_relative(&f.value)) else {
            continue;
        };
        let path = base.join(&file.value);
        if !stays_below(base, &path) {
            files.insert(
                file.value.clone(),
                Err("it leads out of the spec's folder (through a symbolic link)".into()),
            );
            continue;
        }
        let text = match std::fs::metadata(&path) {
            Ok(m) if !m.is_file() => Err("it is not a regular file".to_string()),
            Ok(m) if m.len() > MAX_FILE_BYTES => Err(format!(
                "it is {} bytes; an override file holds at most {MAX_FILE_BYTES}",
                m.len()
            )),
            Ok(_) => std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| String::from_utf8(b).map_err(|_| "it is not UTF-8 text".into()))
                .map(normalized)
                .and_then(|t| {
                    if crate::render::carries_header(&t) {
                        Err(
                            "it is a file fredgen generated (it opens with fredgen's header); \
                             name a file of your own"
                                .into(),
                        )
                    } else {
                        Ok(t)
                    }
                }),
            Err(e) => Err(e.to_string()),
        };
        files.insert(file.value.clone(), text);
    }
    files
}

/// The file an override entry names (whichever of its four keys is set first).
fn source(o: &RawOverride) -> Option<&Sp<String>> {
    o.patch
        .as_ref()
        .or(o.manifest.as_ref())
        .or(o.values.as_ref())
        .or(o.terraform.as_ref())
}

/// What [`plain_relative`] takes, for hints.
pub const PLAIN_PATH_HINT: &str = "name files below the spec's folder, relative to it, with letters, \
     digits and `._-/` (no `..`, no absolute path)";

/// A path the spec may name: relative, below the spec's folder (no `..`), of letters, digits and
/// `._-/` only, so it is safe in a README, a comment and a manifest line.
pub fn plain_relative(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('/')
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-/".contains(&b))
        && p.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
}

/// One override that applies to the target and environment being rendered.
#[derive(Debug, Clone)]
pub struct Override {
    /// The spec file (for errors).
    pub spec: String,
    /// Its key path, `overrides[2]`.
    pub path: String,
    /// Where its file is named in the spec.
    pub at: Option<Pos>,
    /// Its file, as written in the spec.
    pub file: String,
    /// The file's text.
    pub text: String,
    /// What it does.
    pub action: Action,
}

/// What an override does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Patches the Kubernetes object `kind`/`name`.
    Patch {
        /// The object's kind.
        kind: String,
        /// Its `metadata.name`.
        name: String,
    },
    /// Adds manifests to `k8s/`.
    Manifest,
    /// Merges Helm values into `chart`'s values file.
    Values {
        /// The chart, as its values file is named.
        chart: String,
    },
    /// Places a Terraform file into `root`.
    Terraform {
        /// The root, e.g. `30-platform`.
        root: String,
    },
}

/// An override as applied, for the README and the manifest of owned files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// Its file, as written in the spec.
    pub file: String,
    /// What it did, e.g. "strategic merge patch of Deployment shop-web".
    pub what: String,
    /// The generated file it changed or added.
    pub into: String,
    /// Its entry in the spec (`overrides[2].patch`), for errors about the output it changed.
    #[serde(skip)]
    pub entry: String,
    /// The object it patched, as `Kind name`.
    #[serde(skip)]
    pub object: Option<(String, String)>,
}

impl Applied {
    /// Whether a deployability problem (one line naming a file and an object) is about what this
    /// override changed: its file, and for a patch its object's kind and name.
    pub fn concerns(&self, problem: &str) -> bool {
        problem.contains(&self.into)
            && self
                .object
                .as_ref()
                .is_none_or(|(kind, name)| problem.contains(kind) && problem.contains(name))
    }
}

/// The overrides of `loaded`'s spec that apply to `target` in `env`, with their files, checked
/// for what can be checked before rendering: one action per entry, its companion keys, known
/// targets and environments, a readable file.
pub fn resolve(
    loaded: &crate::Loaded,
    target: &dyn crate::backend::Target,
    env: Option<&str>,
) -> Result<Vec<Override>> {
    let mut out = Vec::new();
    let mut v = crate::model::validate::Validator::new(&loaded.file);
    let envs = loaded.environments();
    let ids = loaded.targets.ids();
    for (i, entry) in loaded.raw.overrides.iter().flatten().enumerate() {
        let o = &entry.value;
        let path = format!("overrides[{i}]");
        let set: Vec<(&str, &Sp<String>)> = [
            ("patch", &o.patch),
            ("manifest", &o.manifest),
            ("values", &o.values),
            ("terraform", &o.terraform),
        ]
        .into_iter()
        .filter_map(|(k, f)| f.as_ref().map(|f| (k, f)))
        .collect();
        let [(key, file)] = set.as_slice() else {
            v.error_at(
                entry,
                &path,
                if set.is_empty() {
                    "an override names no file".to_string()
                } else {
                    format!(
                        "an override does one thing; this one sets {}",
                        set.iter()
                            .map(|(k, _)| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(" and ")
                    )
                },
            )
            .hint = Some(
                "each entry has exactly one of `patch` (with `kind` and `name`), `manifest`, \
                 `values` (with `chart`) or `terraform` (with `root`)"
                    .into(),
            );
            continue;
        };
        let companions: [(&str, &Option<Sp<String>>, &str); 4] = [
            ("kind", &o.kind, "patch"),
            ("name", &o.name, "patch"),
            ("chart", &o.chart, "values"),
            ("root", &o.root, "terraform"),
        ];
        for (companion, value, belongs) in companions {
            match value {
                Some(value) if belongs != *key => {
                    v.error_at(
                        value,
                        &format!("{path}.{companion}"),
                        format!("`{companion}` goes with `{belongs}`, not `{key}`"),
                    );
                }
                None if belongs == *key => {
                    v.error_at(
                        file,
                        &format!("{path}.{companion}"),
                        format!("`{key}` needs `{companion}`"),
                    )
                    .hint = Some(match companion {
                        "kind" | "name" => "name the object it patches as rendered, e.g. \
                                            `kind: Deployment`, `name: shop-web`"
                            .into(),
                        "chart" => "the chart whose generated values it merges into, as its \
                                    values file is named, e.g. `chart: kube-prometheus-stack`"
                            .into(),
                        _ => "the Terraform root it goes into, e.g. `root: 30-platform`".into(),
                    });
                }
                _ => {}
            }
        }
        let known = |list: &Option<Vec<Sp<String>>>, what: &str, all: &[&str], field: &str| {
            let mut problems = Vec::new();
            for (j, item) in list.iter().flatten().enumerate() {
                if !all.contains(&item.value.as_str()) {
                    problems.push((
                        item.clone(),
                        format!("{path}.{field}[{j}]"),
                        format!("`{}` is not {what}", item.value),
                        crate::spec::suggest(&item.value, all),
                    ));
                }
            }
            problems
        };
        let env_names: Vec<&str> = envs.iter().map(String::as_str).collect();
        let mut problems = known(&o.targets, "a target", &ids, "targets");
        problems.extend(known(
            &o.environments,
            "a declared environment",
            &env_names,
            "environments",
        ));
        for (at, p, message, hint) in problems {
            v.error_at(&at, &p, message).hint = Some(hint);
        }
        for (field, list) in [("targets", &o.targets), ("environments", &o.environments)] {
            if list.as_ref().is_some_and(Vec::is_empty) {
                v.error_at(
                    file,
                    &format!("{path}.{field}"),
                    format!("`{field}: []` limits the override to nothing"),
                )
                .hint = Some(format!(
                    "name at least one, or remove `{field}` to apply it everywhere"
                ));
            }
        }
        if !plain_relative(&file.value) {
            v.error_at(
                file,
                &format!("{path}.{key}"),
                format!("`{}` is not a plain relative path", file.value),
            )
            .hint = Some(PLAIN_PATH_HINT.into());
            continue;
        }
        let text = match loaded.override_files.get(&file.value) {
            Some(Ok(text)) => text.clone(),
            Some(Err(why)) => {
                v.error_at(
                    file,
                    &format!("{path}.{key}"),
                    format!("cannot read `{}`: {why}", file.value),
                )
                .hint = Some("override files are named relative to the spec's folder".into());
                continue;
            }
            None => {
                v.error_at(
                    file,
                    &format!("{path}.{key}"),
                    format!("`{}` was not read", file.value),
                );
                continue;
            }
        };
        let selected = |list: &Option<Vec<Sp<String>>>, this: Option<&str>| {
            list.as_ref()
                .is_none_or(|l| this.is_some_and(|t| l.iter().any(|x| x.value == t)))
        };
        if !selected(&o.targets, Some(target.id())) || !selected(&o.environments, env) {
            continue;
        }
        let text_of =
            |s: &Option<Sp<String>>| s.as_ref().map(|s| s.value.clone()).unwrap_or_default();
        let action = match *key {
            "patch" => Action::Patch {
                kind: text_of(&o.kind),
                name: text_of(&o.name),
            },
            "manifest" => Action::Manifest,
            "values" => Action::Values {
                chart: text_of(&o.chart),
            },
            _ => Action::Terraform {
                root: text_of(&o.root),
            },
        };
        out.push(Override {
            spec: loaded.file.clone(),
            path: format!("{path}.{key}"),
            at: Pos::from_location(&file.referenced),
            file: file.value.clone(),
            text,
            action,
        });
    }
    let diagnostics = v.finish();
    if diagnostics.is_empty() {
        Ok(out)
    } else {
        Err(Error::Spec {
            source_text: Some(loaded.text.clone()),
            diagnostics,
        })
    }
}

impl Override {
    /// An error at this override's entry in the spec.
    pub fn error(&self, message: String, hint: impl Into<String>) -> Error {
        Error::Spec {
            source_text: None,
            diagnostics: vec![
                Diagnostic::new(&self.spec, self.at, &self.path, message).hint(hint.into()),
            ],
        }
    }

    /// An error in this override's own file (a YAML or HCL problem): at its entry in the spec,
    /// naming the position in the file.
    fn error_in_file(&self, d: Diagnostic) -> Error {
        let at = d
            .pos
            .map(|p| format!(" (line {}, column {})", p.line, p.column))
            .unwrap_or_default();
        let message = d.message.trim_start_matches("error: ");
        // The parser's own "line L column C: " prefix, already given above.
        let message = match message.split_once(": ") {
            Some((head, rest)) if head.starts_with("line ") && head.contains(" column ") => rest,
            _ => message,
        }
        .to_string();
        self.error(
            format!("`{}` does not parse{at}: {message}", self.file),
            d.hint.unwrap_or_else(|| "fix the file".into()),
        )
    }

    /// Its file as YAML documents, each a JSON value.
    fn yaml(&self) -> Result<Vec<Value>> {
        serde_saphyr::from_multiple::<Value>(&self.text)
            .map(|docs| docs.into_iter().filter(|d| !d.is_null()).collect())
            .map_err(|e| self.error_in_file(crate::spec::diagnose(&self.file, &self.text, &e)))
    }

    /// Its one YAML document.
    fn yaml_one(&self) -> Result<Value> {
        let mut docs = self.yaml()?;
        match docs.len() {
            1 => Ok(docs.remove(0)),
            n => Err(self.error(
                format!(
                    "`{}` holds {n} YAML documents; this override takes one",
                    self.file
                ),
                "one patch or values file per override",
            )),
        }
    }
}

/// Applies `overrides`, in their order, to the rendered `files`; `header` gives a new file's
/// generated header. Returns what each did.
pub fn apply(
    files: &mut BTreeMap<String, String>,
    overrides: &[Override],
    header: impl Fn(&str) -> String,
) -> Result<Vec<Applied>> {
    let mut applied = Vec::new();
    let mut diagnostics = Vec::new();
    // Added files first, so a patch may address an object an extra manifest adds, and an override
    // file may override a block an extra Terraform file adds.
    let rank = |o: &Override| match &o.action {
        Action::Manifest => 0,
        Action::Terraform { .. } if is_override_file(&file_name(o)) => 2,
        Action::Terraform { .. } => 1,
        _ => 3,
    };
    let mut order: Vec<&Override> = overrides.iter().collect();
    order.sort_by_key(|o| rank(o));
    for o in order {
        let done = match &o.action {
            Action::Manifest => add_manifest(files, o, &header),
            Action::Terraform { root } => add_terraform(files, o, root, &header),
            Action::Patch { kind, name } => patch_object(files, o, kind, name),
            Action::Values { chart } => merge_values(files, o, chart),
        };
        // Every override's problem is reported, not only the first one's.
        match done {
            Ok(a) => applied.push(a),
            // An override's problem, at its entry in the spec (errors of other kinds stop here).
            Err(Error::Spec {
                source_text: None,
                diagnostics: found,
            }) => diagnostics.extend(found),
            Err(other) => return Err(other),
        }
    }
    if diagnostics.is_empty() {
        Ok(applied)
    } else {
        Err(Error::Spec {
            source_text: None,
            diagnostics,
        })
    }
}

/// The file name an added file gets: the override file's own name.
fn file_name(o: &Override) -> String {
    Path::new(&o.file)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Adds `o`'s file as `path`, refusing a generated file of that name.
fn add_file(
    files: &mut BTreeMap<String, String>,
    o: &Override,
    path: String,
    header: &impl Fn(&str) -> String,
) -> Result<()> {
    if files.contains_key(&path) {
        return Err(o.error(
            format!(
                "`{}` would replace `{path}`, which fredgen generates or another override adds",
                o.file
            ),
            "rename the override's file: an override adds files, it never replaces one (patch it instead)",
        ));
    }
    let name = file_name(o);
    if name.starts_with(['.', '#']) || name.ends_with('~') {
        return Err(o.error(
            format!("`{name}` is a name Terraform and kubectl skip"),
            "name the file without a leading `.` or `#` or a trailing `~`",
        ));
    }
    crate::render::parse_back::check_characters(&path, &o.text).map_err(|e| {
        o.error(
            format!("`{}` holds a character fredgen never writes: {}", o.file, detail(&e)),
            "remove it (a control character, or one some readers take as a line break or a direction change)",
        )
    })?;
    let text = header(&path) + &o.text;
    let text = if text.ends_with('\n') {
        text
    } else {
        text + "\n"
    };
    crate::render::parse_back::check(&path, &o.file, &text).map_err(|e| {
        o.error(
            format!(
                "`{}` does not parse back as `{path}`: {}",
                o.file,
                detail(&e)
            ),
            "fix the file",
        )
    })?;
    files.insert(path, text);
    Ok(())
}

/// The parser's words in a parse-back error, without "bug in fredgen".
fn detail(e: &Error) -> String {
    match e {
        Error::ParseBack { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

fn add_manifest(
    files: &mut BTreeMap<String, String>,
    o: &Override,
    header: &impl Fn(&str) -> String,
) -> Result<Applied> {
    let name = file_name(o);
    if !name.ends_with(".yaml") || name == "kustomization.yaml" {
        return Err(o.error(
            format!(
                "`{}` is not a `.yaml` file fredgen can add to `k8s/`",
                o.file
            ),
            "name it `<something>.yaml` (not kustomization.yaml)",
        ));
    }
    let docs = o.yaml()?;
    if docs.is_empty() {
        return Err(o.error(
            format!("`{}` holds no manifest", o.file),
            "an override that adds nothing is a mistake; remove it",
        ));
    }
    for doc in &docs {
        check_object(o, doc, true)?;
    }
    let path = format!("k8s/{name}");
    add_file(files, o, path.clone(), header)?;
    Ok(Applied {
        entry: o.path.clone(),
        object: None,
        file: o.file.clone(),
        what: match docs.len() {
            1 => "a manifest added to the app's kustomization".to_string(),
            n => format!("{n} manifests added to the app's kustomization"),
        },
        into: path,
    })
}

fn add_terraform(
    files: &mut BTreeMap<String, String>,
    o: &Override,
    root: &str,
    header: &impl Fn(&str) -> String,
) -> Result<Applied> {
    let prefix = format!("terraform/{root}/");
    let base: Vec<&str> = files
        .iter()
        .filter(|(p, _)| {
            p.strip_prefix(&prefix)
                .is_some_and(|f| !f.contains('/') && f.ends_with(".tf") && !is_override_file(f))
        })
        .map(|(_, t)| t.as_str())
        .collect();
    if base.is_empty() {
        let roots: std::collections::BTreeSet<&str> = files
            .keys()
            .filter_map(|p| {
                p.strip_prefix("terraform/")?
                    .split_once('/')
                    .map(|(r, _)| r)
            })
            .collect();
        let roots: Vec<&str> = roots.into_iter().collect();
        return Err(o.error(
            format!("this target renders no Terraform root `{root}`"),
            if roots.is_empty() {
                "this target renders no Terraform".to_string()
            } else {
                format!("its roots: {}", roots.join(", "))
            },
        ));
    }
    let name = file_name(o);
    if !name.ends_with(".tf") {
        return Err(o.error(
            format!("`{}` is not a `.tf` file", o.file),
            "Terraform reads only `.tf` files in a root",
        ));
    }
    // No literal credential: in any quoted string, or a PEM private key.
    for (n, line) in o.text.lines().enumerate() {
        let quoted = line.split('"').skip(1).step_by(2);
        let found = quoted
            .chain(line.contains("PRIVATE KEY-----").then_some(line))
            .find_map(crate::model::secret_shapes::credential);
        if let Some(f) = found {
            return Err(o.error(
                format!("line {} of `{}` holds what looks like a credential ({})", n + 1, o.file, f.what),
                "a Terraform file is committed in plain text: read the value from a variable set in \
                 the environment (`TF_VAR_…`) or from the platform's secret store",
            ));
        }
    }
    // A syntax error, at its line in the file.
    if let Err(e) = hcl::edit::parser::parse_body(&o.text) {
        let message = e.to_string();
        let pos = e.location();
        return Err(o.error_in_file(Diagnostic::new(
            &o.file,
            Some(Pos {
                line: pos.line(),
                column: pos.column(),
            }),
            "",
            message
                .lines()
                .last()
                .unwrap_or_default()
                .trim()
                .to_string(),
        )));
    }
    let what = if is_override_file(&name) {
        let dangling = patch::unmatched_override_blocks(&base, &o.text)
            .map_err(|e| o.error(format!("`{}`: {e}", o.file), "fix the override file"))?;
        if !dangling.is_empty() {
            return Err(o.error(
                format!(
                    "`{}` overrides what root `{root}` does not have: {}",
                    o.file,
                    dangling.join(", ")
                ),
                "an override file only replaces arguments of blocks the root declares (Terraform \
                 fails with \"Missing base\" otherwise); add new blocks in a file not named \
                 `*_override.tf`",
            ));
        }
        "Terraform override file"
    } else {
        let twice = patch::duplicate_blocks(&base, &o.text)
            .map_err(|e| o.error(format!("`{}`: {e}", o.file), "fix the file"))?;
        if !twice.is_empty() {
            return Err(o.error(
                format!(
                    "`{}` declares again what root `{root}` already has: {}",
                    o.file,
                    twice.join(", ")
                ),
                "Terraform refuses a second declaration; to change one of the root's, put the \
                 change in a file named `*_override.tf`",
            ));
        }
        "Terraform file"
    };
    let path = format!("{prefix}{name}");
    add_file(files, o, path.clone(), header)?;
    Ok(Applied {
        entry: o.path.clone(),
        object: None,
        file: o.file.clone(),
        what: format!("{what} in root `{root}`"),
        into: path,
    })
}

/// Terraform's override file names: `override.tf` and `*_override.tf`.
fn is_override_file(name: &str) -> bool {
    name == "override.tf" || name.ends_with("_override.tf")
}

/// Every string in a value, with its key path.
fn leaves<'a>(value: &'a Value, path: &str, out: &mut Vec<(String, &'a str)>) {
    match value {
        Value::String(s) => out.push((path.to_string(), s)),
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                leaves(v, &format!("{path}[{i}]"), out);
            }
        }
        Value::Object(m) => {
            for (k, v) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                leaves(v, &p, out);
            }
        }
        _ => {}
    }
}

/// A key as an environment variable name (`adminPassword` → `ADMIN_PASSWORD`), for the rule on
/// names that say secret.
fn screaming(key: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in key.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            out.push('_');
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(if c == '-' || c == '.' {
            '_'
        } else {
            c.to_ascii_uppercase()
        });
    }
    out
}

/// A Kubernetes kind, or an `apiVersion`, as fredgen writes it into a command line: letters,
/// digits, `.`, `-` and (an apiVersion's) one `/`.
fn plain_identifier(s: &str, slash: bool) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || (slash && b == b'/'))
        && s.matches('/').count() <= 1
}

/// What an object an override adds or patches must be: identified (kind, apiVersion, name, plain
/// enough for a command line), holding no literal credential, and, for a workload, runnable (at
/// least one container, each named once and with an image). An added object may not be a Secret:
/// secret values come from the platform's store.
fn check_object(o: &Override, doc: &Value, added: bool) -> Result<()> {
    let kind = doc["kind"].as_str().unwrap_or_default();
    let api = doc["apiVersion"].as_str().unwrap_or_default();
    let name = doc["metadata"]["name"].as_str().unwrap_or_default();
    let what = format!("{kind} `{name}`");
    if !plain_identifier(kind, false) || !plain_identifier(api, true) || name.is_empty() {
        return Err(o.error(
            format!(
                "`{}` holds an object without a plain `apiVersion`, `kind` and `metadata.name`",
                o.file
            ),
            "every manifest names its apiVersion (`apps/v1`), kind (`Deployment`) and name",
        ));
    }
    if added && kind == "Secret" {
        return Err(o.error(
            format!("`{}` adds the Secret `{name}`", o.file),
            "a Secret in a file is committed in plain text: list the secret under `secrets` in the \
             spec and store its value in the platform's secret store",
        ));
    }
    let mut strings = Vec::new();
    leaves(doc, "", &mut strings);
    for (at, value) in &strings {
        // `env` literals get the name rule too, as the spec's `env` does.
        let env_name = at
            .strip_suffix(".value")
            .filter(|p| p.contains(".env["))
            .and_then(|p| {
                let mut v = doc;
                for part in p.split(['.', '[']) {
                    v = match part.strip_suffix(']').and_then(|i| i.parse::<usize>().ok()) {
                        Some(i) => &v[i],
                        None => &v[part],
                    };
                }
                v["name"].as_str()
            });
        // A ConfigMap's data key names what its value is, as an env variable's name does.
        let key_name = env_name.map(str::to_string).or_else(|| {
            let last = at.rsplit('.').next().unwrap_or_default();
            (kind == "ConfigMap" && at.starts_with("data.")).then(|| screaming(last))
        });
        let env_name = key_name.as_deref();
        let finding = match env_name {
            Some(n) => crate::model::secret_shapes::env_literal(n, value, false).map(|f| match f {
                crate::model::secret_shapes::EnvFinding::Named => {
                    format!("`{n}` looks like a secret but has a literal value")
                }
                crate::model::secret_shapes::EnvFinding::Shape(f) => {
                    format!("the value at `{at}` looks like a credential ({})", f.what)
                }
            }),
            None => crate::model::secret_shapes::credential(value)
                .map(|f| format!("the value at `{at}` looks like a credential ({})", f.what)),
        };
        if let Some(message) = finding {
            return Err(o.error(
                format!("in {what}: {message}"),
                "a literal in a manifest is committed in plain text: list the secret under `secrets` \
                 in the spec and store its value in the platform's secret store",
            ));
        }
    }
    let pod = match kind {
        "Pod" => Some(&doc["spec"]),
        "CronJob" => Some(&doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]),
        "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "ReplicaSet" => {
            Some(&doc["spec"]["template"]["spec"])
        }
        _ => None,
    };
    if let Some(pod) = pod {
        let containers = pod["containers"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut names = std::collections::BTreeSet::new();
        let runnable = !containers.is_empty()
            && containers.iter().all(|c| {
                c["image"].as_str().is_some_and(|i| !i.is_empty())
                    && c["name"].as_str().is_some_and(|n| names.insert(n))
            });
        if !runnable {
            return Err(o.error(
                format!("{what} would not run: its pods need at least one container, each with a name of its own and an image"),
                "check the containers the override leaves",
            ));
        }
        if kind != "Pod"
            && kind != "CronJob"
            && kind != "Job"
            && !doc["spec"]["selector"].is_object()
        {
            return Err(o.error(
                format!("{what} has no `spec.selector`"),
                "a workload selects its pods; keep the generated selector",
            ));
        }
    }
    Ok(())
}

/// The documents of a generated YAML file: its header, then each document's text.
fn split_documents(text: &str) -> (String, Vec<String>) {
    let mut header = String::new();
    let mut docs: Vec<String> = vec![String::new()];
    let mut in_header = true;
    for line in text.split_inclusive('\n') {
        if in_header && line.starts_with('#') {
            header.push_str(line);
            continue;
        }
        in_header = false;
        let separator =
            line.trim_end() == "---" || line.starts_with("--- ") || line.starts_with("---\t");
        if separator {
            docs.push(String::new());
        } else if let Some(last) = docs.last_mut() {
            last.push_str(line);
        }
    }
    docs.retain(|d| !d.trim().is_empty());
    (header, docs)
}

/// The key order of a YAML document as written: a patched document keeps it (new keys come
/// after the old ones, sorted), so a patch's diff shows what it changed and nothing else.
#[derive(Debug, Default)]
enum Shape {
    /// A mapping's keys in order, each with its value's shape.
    Map(Vec<(String, Shape)>),
    /// A sequence's items.
    Seq(Vec<Shape>),
    /// A scalar.
    #[default]
    Leaf,
}

impl<'de> serde::Deserialize<'de> for Shape {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Shape;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_bool<E>(self, _: bool) -> std::result::Result<Shape, E> {
                Ok(Shape::Leaf)
            }
            fn visit_i64<E>(self, _: i64) -> std::result::Result<Shape, E> {
                Ok(Shape::Leaf)
            }
            fn visit_u64<E>(self, _: u64) -> std::result::Result<Shape, E> {
                Ok(Shape::Leaf)
            }
            fn visit_f64<E>(self, _: f64) -> std::result::Result<Shape, E> {
                Ok(Shape::Leaf)
            }
            fn visit_str<E>(self, _: &str) -> std::result::Result<Shape, E> {
                Ok(Shape::Leaf)
            }
            fn visit_unit<E>(self) -> std::result::Result<Shape, E> {
                Ok(Shape::Leaf)
            }
            fn visit_none<E>(self) -> std::result::Result<Shape, E> {
                Ok(Shape::Leaf)
            }
            fn visit_some<D: serde::Deserializer<'de>>(
                self,
                d: D,
            ) -> std::result::Result<Shape, D::Error> {
                serde::Deserialize::deserialize(d)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Shape, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Shape::Seq(items))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Shape, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<serde_json::Value, Shape>()? {
                    let key = match k {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    entries.push((key, v));
                }
                Ok(Shape::Map(entries))
            }
        }
        d.deserialize_any(Visit)
    }
}

/// A value serialized in the key order of `shape` (the document it was patched from).
struct InOrder<'a> {
    value: &'a Value,
    shape: &'a Shape,
}

impl Serialize for InOrder<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        const LEAF: &Shape = &Shape::Leaf;
        match self.value {
            Value::Object(m) => {
                let old: &[(String, Shape)] = match self.shape {
                    Shape::Map(entries) => entries,
                    _ => &[],
                };
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, shape) in old {
                    if let Some(v) = m.get(k) {
                        map.serialize_entry(k, &InOrder { value: v, shape })?;
                    }
                }
                for (k, v) in m {
                    if !old.iter().any(|(o, _)| o == k) {
                        map.serialize_entry(
                            k,
                            &InOrder {
                                value: v,
                                shape: LEAF,
                            },
                        )?;
                    }
                }
                map.end()
            }
            Value::Array(items) => {
                let old: &[Shape] = match self.shape {
                    Shape::Seq(items) => items,
                    _ => &[],
                };
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for (i, v) in items.iter().enumerate() {
                    seq.serialize_element(&InOrder {
                        value: v,
                        shape: old.get(i).unwrap_or(LEAF),
                    })?;
                }
                seq.end()
            }
            other => other.serialize(s),
        }
    }
}

/// A value as block YAML, as the templates write it, in the key order of `original` (its text
/// before the change).
fn to_yaml(value: &Value, original: &str) -> std::result::Result<String, String> {
    let shape: Shape = serde_saphyr::from_str(original).unwrap_or_default();
    // Sequences indented under their key, long strings on one line (never folded).
    let options = serde_saphyr::ser_options! {
        compact_list_indent: false,
        folded_wrap_chars: usize::MAX,
    };
    serde_saphyr::to_string_with_options(
        &InOrder {
            value,
            shape: &shape,
        },
        options,
    )
    .map_err(|e| e.to_string())
}

fn patch_object(
    files: &mut BTreeMap<String, String>,
    o: &Override,
    kind: &str,
    name: &str,
) -> Result<Applied> {
    let patch_doc = o.yaml_one()?;
    let mut found: Vec<(String, usize, Value)> = Vec::new();
    let mut kinds_named: Vec<String> = Vec::new();
    for (path, text) in files.iter() {
        if !path.starts_with("k8s/")
            || !path.ends_with(".yaml")
            || path.ends_with("kustomization.yaml")
        {
            continue;
        }
        let (_, docs) = split_documents(text);
        for (i, doc) in docs.iter().enumerate() {
            let Ok(value) = serde_saphyr::from_str::<Value>(doc) else {
                continue;
            };
            if value["metadata"]["name"] == name {
                if value["kind"] == kind {
                    found.push((path.clone(), i, value));
                } else if let Some(k) = value["kind"].as_str() {
                    kinds_named.push(format!("{k} in {path}"));
                }
            }
        }
    }
    let (path, index, mut object) = match found.len() {
        1 => found.remove(0),
        0 => {
            return Err(o.error(
                format!("the patch addresses {kind} `{name}`, which this render does not have"),
                if kinds_named.is_empty() {
                    "name an object of `k8s/` as rendered (`fredgen render`, then look at its \
                     `kind` and `metadata.name`), or limit the override with `targets:` or \
                     `environments:`"
                        .to_string()
                } else {
                    format!("objects named `{name}`: {}", kinds_named.join(", "))
                },
            ));
        }
        _ => {
            return Err(o.error(
                format!(
                    "the patch addresses {kind} `{name}`, which this render has {} times ({})",
                    found.len(),
                    found
                        .iter()
                        .map(|(p, _, _)| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "a patch changes one object",
            ));
        }
    };
    let before = object.clone();
    let what = match &patch_doc {
        Value::Array(_) => {
            patch::json_patch(&mut object, &patch_doc).map_err(|e| {
                o.error(
                    format!("the JSON Patch fails on {kind} `{name}`: {e}"),
                    "fix the operation",
                )
            })?;
            "JSON Patch"
        }
        Value::Object(_) => {
            patch::strategic_merge(&mut object, &patch_doc).map_err(|e| {
                o.error(
                    format!("the strategic merge patch fails on {kind} `{name}`: {e}"),
                    "fix the patch",
                )
            })?;
            "strategic merge patch"
        }
        _ => {
            return Err(o.error(
                format!(
                    "`{}` is neither a mapping (strategic merge) nor a list (JSON Patch)",
                    o.file
                ),
                "write the fields to change as a mapping, or a list of RFC 6902 operations",
            ));
        }
    };
    if object == before {
        return Err(o.error(
            format!("the patch changes nothing in {kind} `{name}`"),
            "every field it sets is already the generated one; remove the override",
        ));
    }
    if object["kind"] != kind || object["metadata"]["name"] != name {
        return Err(o.error(
            format!("the patch changes the kind or name of {kind} `{name}`"),
            "a patch changes an object, it cannot rename it; add a manifest instead",
        ));
    }
    check_object(o, &object, false)?;
    let text = &files[&path];
    let (header, mut docs) = split_documents(text);
    docs[index] = to_yaml(&object, &docs[index]).map_err(|e| o.error(e, "fix the patch"))?;
    let mut new = header;
    for (i, d) in docs.iter().enumerate() {
        if i > 0 {
            new.push_str("---\n");
        }
        new.push_str(d);
        if !d.ends_with('\n') {
            new.push('\n');
        }
    }
    crate::render::parse_back::check(&path, &o.file, &new).map_err(|e| {
        o.error(
            format!("after the patch, `{path}` is not a valid manifest: {e}"),
            "fix the patch",
        )
    })?;
    files.insert(path.clone(), new);
    Ok(Applied {
        entry: o.path.clone(),
        object: Some((kind.to_string(), name.to_string())),
        file: o.file.clone(),
        what: format!("{what} of {kind} `{name}`"),
        into: path,
    })
}

fn merge_values(
    files: &mut BTreeMap<String, String>,
    o: &Override,
    chart: &str,
) -> Result<Applied> {
    let overlay = o.yaml_one()?;
    if !overlay.is_object() {
        return Err(o.error(
            format!("`{}` is not a mapping of Helm values", o.file),
            "write the values as the chart's values.yaml does",
        ));
    }
    let mut strings = Vec::new();
    leaves(&overlay, "", &mut strings);
    for (at, value) in strings {
        if let Some(found) = crate::model::secret_shapes::credential(value) {
            return Err(o.error(
                format!(
                    "the value at `{at}` looks like a credential ({})",
                    found.what
                ),
                "a values file is committed in plain text: give the chart the credential through a \
                 Secret it reads (`existingSecret`-style values) synced from the platform store",
            ));
        }
    }
    let name = format!("/values/{chart}.yaml");
    let matches: Vec<String> = files
        .keys()
        .filter(|p| p.starts_with("terraform/") && p.ends_with(&name))
        .cloned()
        .collect();
    let path = match matches.as_slice() {
        [one] => one.clone(),
        [] => {
            let charts: Vec<&str> = files
                .keys()
                .filter(|p| p.starts_with("terraform/") && p.contains("/values/"))
                .filter_map(|p| p.rsplit('/').next()?.strip_suffix(".yaml"))
                .collect();
            return Err(o.error(
                format!("this render has no values file for chart `{chart}`"),
                crate::spec::suggest(chart, &charts),
            ));
        }
        more => {
            return Err(o.error(
                format!(
                    "chart `{chart}` has several values files: {}",
                    more.join(", ")
                ),
                "this cannot happen with the built-in targets; report it",
            ));
        }
    };
    let text = &files[&path];
    let (header, docs) = split_documents(text);
    let mut values = match docs.as_slice() {
        [] => Value::Object(Default::default()),
        [one] => serde_saphyr::from_str::<Value>(one)
            .map_err(|e| o.error(format!("`{path}` does not parse: {e}"), "report it"))?,
        _ => return Err(o.error(format!("`{path}` holds several documents"), "report it")),
    };
    let before = values.clone();
    patch::merge_values(&mut values, &overlay);
    if values == before {
        return Err(o.error(
            format!("`{}` changes nothing in the values of `{chart}`", o.file),
            "every value it sets is already the generated one; remove the override",
        ));
    }
    let original = docs.first().map(String::as_str).unwrap_or_default();
    let new = header + &to_yaml(&values, original).map_err(|e| o.error(e, "fix the values"))?;
    crate::render::parse_back::check(&path, &o.file, &new)
        .map_err(|e| o.error(format!("after the merge, `{path}`: {e}"), "fix the values"))?;
    files.insert(path.clone(), new);
    Ok(Applied {
        entry: o.path.clone(),
        object: None,
        file: o.file.clone(),
        what: format!("Helm values merged into chart `{chart}`"),
        into: path,
    })
}

/// With overrides or replaced templates, the output must still pass the deployability checks
/// (cross-object references, the first apply's order) that the built-in output passes by
/// construction and by test. A failure is reported at the override that changed the object it
/// names; else at `overrides` (they cause it together) or at the replaced templates.
pub fn deployable(
    out: &crate::render::Output,
    overrides: &[Override],
    templates: &crate::render::TemplateSet,
    spec: &str,
    target: &dyn crate::backend::Target,
) -> Result<()> {
    let replaced: Vec<(&str, &str)> = templates.replaced().collect();
    // A folder target's output is checked at every render: no test of fredgen's proves it.
    let folder = target.folder_templates().is_some();
    if overrides.is_empty() && replaced.is_empty() && !folder {
        return Ok(());
    }
    let mut problems: Vec<String> = crate::render::consistency::check(out)
        .into_iter()
        .chain(crate::render::apply_model::check(out))
        .collect();
    if !out
        .plan
        .steps
        .iter()
        .any(|s| s.applies.iter().any(|a| a == "k8s"))
    {
        problems.push(
            "apply.sh: no step applies the app (`k8s`); a target's apply.yaml.j2 ends with \
             `{% include \"shared/apply/app.yaml.j2\" %}`"
                .into(),
        );
    }
    let mut diagnostics = Vec::new();
    for problem in problems {
        // The last override that changed what the problem names (a later one may undo an
        // earlier one's work).
        let by = out
            .overrides
            .iter()
            .rev()
            .find(|a| a.concerns(&problem))
            .and_then(|a| overrides.iter().find(|o| o.path == a.entry));
        diagnostics.push(match (by, replaced.first()) {
            (Some(o), _) => Diagnostic::new(
                &o.spec,
                o.at,
                &o.path,
                format!("with this override, the output would not come up: {problem}"),
            )
            .hint("fix or remove the override"),
            (None, _) if folder && replaced.is_empty() => {
                Diagnostic::new(
                    spec,
                    None,
                    &format!("targets.{}", target.id()),
                    format!(
                        "target `{}` renders an output that would not come up: {problem}",
                        target.id()
                    ),
                )
                .hint(match target.source() {
                    Some(dir) => format!("the folder target in `{dir}` causes it: fix its templates or platform.yaml.j2"),
                    None => "this is a bug in a target shipped with fredgen; report it".into(),
                })
            }
            (None, Some(_)) if overrides.is_empty() => Diagnostic::new(
                spec,
                None,
                "templates",
                format!("with the replaced templates, the output would not come up: {problem}"),
            )
            .hint(format!(
                "the built-in templates' output passes this check; compare yours ({}) with \
                 `fredgen templates show <id>`",
                replaced.iter().map(|(_, f)| format!("`{f}`")).collect::<Vec<_>>().join(", ")
            )),
            _ => Diagnostic::new(
                spec,
                None,
                "overrides",
                format!("with the overrides applied, the output would not come up: {problem}"),
            )
            .hint("no one override changed what it names: they (or the replaced templates) cause it together"),
        });
    }
    if diagnostics.is_empty() {
        Ok(())
    } else {
        Err(Error::Spec {
            source_text: None,
            diagnostics,
        })
    }
}

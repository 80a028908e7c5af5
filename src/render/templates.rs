//! Stage 4 — the template set: every template by id (the embedded ones, those of folder targets,
//! and a user's replacements), and the minijinja environment that compiles them.
//!
//! A template's id is its path below `templates/` (`shared/k8s/web.yaml.j2`,
//! `eks/terraform/20-cluster/main.tf.j2`); a folder target's templates get ids below its own id
//! (`<id>/…`), as a built-in target's do. A user template folder replaces templates by id, file by
//! file, as mdBook's theme folder does; it cannot add one.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use minijinja::{Environment, UndefinedBehavior};

use crate::error::{Diagnostic, Error, Result};

/// The largest template read from a folder.
const MAX_TEMPLATE_BYTES: u64 = 1 << 20;

/// Every file below `templates/`, as (path with `/`, text), sorted by path: the table build.rs
/// writes.
static EMBEDDED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/templates.rs"));

/// Every template of a render, by id, sorted.
#[derive(Debug, Clone, Default)]
pub struct TemplateSet {
    texts: BTreeMap<String, Cow<'static, str>>,
    /// Where each replaced or added template came from (a user's file), for errors and the README.
    origins: BTreeMap<String, String>,
}

impl TemplateSet {
    /// The embedded templates and those of the built-in folder targets.
    pub fn builtin() -> &'static TemplateSet {
        static SET: OnceLock<TemplateSet> = OnceLock::new();
        SET.get_or_init(|| {
            let mut set = TemplateSet::default();
            for (id, text) in templates_below(EMBEDDED, "") {
                set.texts.insert(id.to_string(), Cow::Borrowed(text));
            }
            for t in crate::backend::folder::builtin() {
                set.add_target(crate::backend::Target::id(t), &t.templates);
            }
            set
        })
    }

    /// The built-in templates with those of every folder target of `targets` (a user's too).
    pub fn for_targets(targets: &crate::backend::Registry) -> TemplateSet {
        let mut set = TemplateSet::builtin().clone();
        for t in targets.all() {
            if let Some(templates) = t.folder_templates() {
                set.add_target(t.id(), templates);
            }
        }
        set
    }

    /// Adds a folder target's templates, as `<id>/<path>`.
    pub fn add_target(&mut self, id: &str, templates: &BTreeMap<String, Cow<'static, str>>) {
        for (path, text) in templates {
            self.texts.insert(format!("{id}/{path}"), text.clone());
        }
    }

    /// Every id, sorted.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.texts.keys().map(String::as_str)
    }

    /// A template's text.
    pub fn get(&self, id: &str) -> Option<&str> {
        self.texts.get(id).map(|t| t.as_ref())
    }

    /// The user's file a template was replaced with, if it was.
    pub fn origin(&self, id: &str) -> Option<&str> {
        self.origins.get(id).map(String::as_str)
    }

    /// Every replaced template, as (id, the user's file), sorted by id.
    pub fn replaced(&self) -> impl Iterator<Item = (&str, &str)> {
        self.origins.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Replaces templates with the `.j2` files below `dir`, each by the id its path below `dir`
    /// names. `shown` is how `dir` is named in errors (as the spec or flag wrote it). A file whose
    /// id is no template's is refused, with the nearest ids; so is a file that is not UTF-8.
    pub fn replace_from(&mut self, dir: &Path, shown: &str) -> Result<()> {
        let meta = std::fs::metadata(dir).map_err(|e| Error::io("reading", dir, e))?;
        if !meta.is_dir() {
            return Err(Error::usage(
                format!("the template folder `{shown}` is not a directory"),
                "name a folder whose files mirror template ids, e.g. `shared/k8s/web.yaml.j2`",
            ));
        }
        let mut found = Vec::new();
        walk(dir, dir, &mut found)?;
        let mut problems = Vec::new();
        for (id, path) in found {
            let shown_file = format!("{shown}/{id}");
            if !self.texts.contains_key(&id) {
                let ids: Vec<&str> = self.ids().collect();
                problems.push(
                    Diagnostic::new(
                        &shown_file,
                        None,
                        "",
                        format!("`{id}` is not the id of a built-in template"),
                    )
                    .hint(nearest(&id, &ids)),
                );
                continue;
            }
            let meta = std::fs::metadata(&path).map_err(|e| Error::io("reading", &path, e))?;
            if meta.len() > MAX_TEMPLATE_BYTES {
                problems.push(Diagnostic::new(
                    &shown_file,
                    None,
                    "",
                    format!(
                        "the template is {} bytes; a template holds at most {MAX_TEMPLATE_BYTES}",
                        meta.len()
                    ),
                ));
                continue;
            }
            let bytes = std::fs::read(&path).map_err(|e| Error::io("reading", &path, e))?;
            let Ok(text) = String::from_utf8(bytes).map(crate::overrides::normalized) else {
                problems.push(Diagnostic::new(
                    &shown_file,
                    None,
                    "",
                    "a template must be UTF-8 text".into(),
                ));
                continue;
            };
            self.texts.insert(id.clone(), Cow::Owned(text));
            self.origins.insert(id, shown_file);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Folder {
                source_text: None,
                diagnostics: problems,
            })
        }
    }

    /// The ids of the templates of one folder (`shared/k8s`), with the path each renders to:
    /// `out_prefix` and the id below the folder, without `.j2`.
    pub fn folder(&self, prefix: &str, out_prefix: &str) -> Vec<(String, String)> {
        let dir = format!("{prefix}/");
        self.texts
            .range(dir.clone()..)
            .map(|(id, _)| id)
            .take_while(|id| id.starts_with(&dir))
            .filter_map(|id| {
                let rel = id.strip_prefix(&dir)?.strip_suffix(".j2")?;
                Some((id.clone(), format!("{out_prefix}{rel}")))
            })
            .collect()
    }

    /// The environment that compiles these templates (on first use of each).
    pub fn environment(self: &Arc<Self>) -> Environment<'static> {
        let set = Arc::clone(self);
        let mut env = base_environment();
        env.set_loader(move |id| Ok(set.get(id).map(str::to_string)));
        env
    }
}

/// The environment of the built-in templates, built once per process; templates compile on
/// first use (a render compiles only its own target's templates and the shared ones).
pub fn builtin_environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = base_environment();
        env.set_loader(|id| Ok(TemplateSet::builtin().get(id).map(str::to_string)));
        env
    })
}

/// An environment with fredgen's syntax, filters and globals and no templates, for a text rendered
/// once (a folder target's platform knobs).
pub fn plain_environment() -> Environment<'static> {
    base_environment()
}

/// An environment with fredgen's syntax, filters and globals, and no loader yet.
fn base_environment() -> Environment<'static> {
    environment_with_variables("{{", "}}")
}

/// An environment with fredgen's syntax, filters and globals, and no loader yet, whose variables
/// are written `start … end` (the workflow templates, whose output speaks `${{ }}` itself).
pub(crate) fn environment_with_variables(
    start: &'static str,
    end: &'static str,
) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .variable_delimiters(start, end)
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("the delimiters are valid"),
    );
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.add_filter("toyaml", super::toyaml);
    env.add_filter("checksum", super::checksum);
    // `FREDGEN_<ENV>` of an environment: the repository variables the workflows read.
    env.add_filter("ci_vars", |env: &str| {
        crate::model::delivery::vars_prefix(env)
    });
    // The label the app step prunes by, for templates that must keep it off objects
    // controllers derive from theirs.
    env.add_global("prune_label_key", super::PRUNE_LABEL);
    env
}

/// The folders of the embedded templates (`shared`, and each compiled target's id): no folder
/// target may take one as its id.
pub fn builtin_folders() -> Vec<&'static str> {
    folders(EMBEDDED)
}

/// The files the shared templates render (`k8s/web.yaml`, `terraform/40-addons/values/…`), and
/// those fredgen renders itself: a folder target's template may not render one of them.
pub fn shared_outputs() -> Vec<String> {
    let mut out: Vec<String> = templates_below(EMBEDDED, "")
        .filter_map(|(id, _)| {
            let id = id.strip_suffix(".j2")?;
            if let Some(rel) = id.strip_prefix("shared/k8s/") {
                Some(format!("k8s/{rel}"))
            } else {
                let rel = id.strip_prefix("shared/values/")?;
                let (root, file) = rel.split_once('/')?;
                Some(format!("terraform/{root}/values/{file}"))
            }
        })
        .collect();
    out.extend(
        [
            "README.md",
            "apply.sh",
            "k8s/kustomization.yaml",
            "k8s/platform/kustomization.yaml",
        ]
        .map(String::from),
    );
    out
}

/// "did you mean" for an unknown template id: the three nearest ids.
pub fn nearest(id: &str, ids: &[&str]) -> String {
    let mut scored: Vec<(usize, &str)> = ids
        .iter()
        .map(|c| (strsim::levenshtein(id, c), *c))
        .collect();
    scored.sort();
    let near: Vec<String> = scored
        .iter()
        .take(3)
        .map(|(_, c)| format!("`{c}`"))
        .collect();
    format!(
        "the nearest template ids are {}; `fredgen templates list` prints them all",
        near.join(", ")
    )
}

/// Every `.j2` file of an embedded table (`templates/`, `targets/`) below the folder `prefix`
/// (`""`: all of them; else ending in `/`), as (its path below `prefix`, its text), in path order.
pub fn templates_below(
    table: &'static [(&'static str, &'static str)],
    prefix: &str,
) -> impl Iterator<Item = (&'static str, &'static str)> {
    table.iter().filter_map(move |(path, text)| {
        let rel = path.strip_prefix(prefix)?;
        rel.ends_with(".j2").then_some((rel, *text))
    })
}

/// The top-level folders of an embedded table, sorted.
pub fn folders(table: &'static [(&'static str, &'static str)]) -> Vec<&'static str> {
    let mut out: Vec<&str> = table
        .iter()
        .filter_map(|(path, _)| Some(path.split_once('/')?.0))
        .collect();
    out.dedup();
    out
}

/// Every regular `.j2` file below `root` on disk, as (id relative to `root` with `/`, path), in
/// id order. Anything else is refused: a symbolic link (a template folder cannot reach outside
/// itself), a file that is not a `.j2` template (a typo would otherwise replace nothing, silently).
pub fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, std::path::PathBuf)>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io("reading", dir, e))?
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io("reading", dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| Error::io("reading", &path, e))?;
        if kind.is_dir() {
            walk(root, &path, out)?;
        } else if !kind.is_file() || path.extension().is_none_or(|e| e != "j2") {
            let what = if kind.is_symlink() {
                "a symbolic link"
            } else if kind.is_file() {
                "not a template (templates end in `.j2`)"
            } else {
                "not a regular file"
            };
            return Err(Error::usage(
                format!("`{}` is {what}", path.display()),
                "a template folder holds only `.j2` files (and folders), named by template id",
            ));
        } else {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let id: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push((id.join("/"), path));
        }
    }
    out.sort();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file below `folder` of this repository, as (path with `/`, text), sorted.
    fn on_disk(folder: &str) -> Vec<(String, String)> {
        fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
            for entry in std::fs::read_dir(dir).expect("a readable folder") {
                let path = entry.expect("an entry").path();
                if path.is_dir() {
                    collect(root, &path, out);
                } else {
                    let rel = path.strip_prefix(root).expect("below root");
                    let id: Vec<_> = rel.iter().map(|c| c.to_string_lossy()).collect();
                    let text = std::fs::read_to_string(&path).expect("UTF-8");
                    out.push((id.join("/"), text));
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
        let mut out = Vec::new();
        collect(&root, &root, &mut out);
        out.sort();
        out
    }

    fn owned(table: &[(&str, &str)]) -> Vec<(String, String)> {
        table
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect()
    }

    #[test]
    fn the_embedded_tables_hold_every_file_of_their_folders_as_on_disk() {
        assert_eq!(owned(EMBEDDED), on_disk("templates"));
        assert_eq!(
            owned(crate::backend::folder::embedded()),
            on_disk("targets")
        );
        assert_eq!(
            builtin_folders(),
            ["eks", "github", "gke", "hetzner", "shared"]
        );
    }

    #[test]
    fn templates_below_a_folder_are_its_j2_files_by_relative_path() {
        let table: &'static [(&str, &str)] = &[
            ("a/README.md", "r"),
            ("a/templates/x.yaml.j2", "x"),
            ("a/templates/y/z.tf.j2", "z"),
            ("a/target.yaml", "t"),
            ("b.md", "b"),
            ("c/k.j2", "k"),
        ];
        let below: Vec<_> = templates_below(table, "a/templates/").collect();
        assert_eq!(below, [("x.yaml.j2", "x"), ("y/z.tf.j2", "z")]);
        assert_eq!(templates_below(table, "").count(), 3);
        assert_eq!(folders(table), ["a", "c"]);
    }
}

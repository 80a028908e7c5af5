//! fredgen — a compiler from one stack spec to the Terraform, Helm values and Kubernetes manifests
//! that stand the stack up on AWS EKS, Google GKE or Hetzner Cloud.
//!
//! The pipeline, one module per stage:
//!
//! 1. [`spec`] reads the YAML into raw types that mirror it (unknown keys refused, positions kept),
//!    and merges an environment overlay over the base.
//! 2. [`model`] validates the merged spec for one target, collecting every problem, and resolves
//!    every default into a [`model::Stack`].
//! 3. [`backend`] holds the target backends: the [`backend::Target`] trait, the targets compiled
//!    in, and those defined by a folder ([`backend::folder`]), in one registry.
//! 4. [`render`] renders a target's templates (embedded, a folder target's, a user's
//!    replacements) with typed contexts into an [`render::Output`] — a sorted map of relative
//!    path → text — and parses every file back; [`overrides`] applies the spec's patches, values
//!    and extra files to it before the kustomizations, plan and README are rendered.
//! 5. [`output`] writes that map to a directory or compares it with one; nothing else touches
//!    the file system.
//!
//! [`cli`] and `main.rs` sit on top: parse arguments, call these stages, map the result to an exit
//! code (0 ok, 1 drift or differences, 2 error); [`console`] decides what `-q`, `-v` and `--color`
//! let through to the terminal.

pub mod backend;
pub mod cli;
pub mod console;
pub mod error;
pub mod model;
pub mod output;
pub mod overrides;
pub mod render;
pub mod spec;
pub mod versions;

use error::{Error, Result};

/// A loaded spec: its text (for positions), its display name, and the raw stack.
pub struct Loaded {
    /// The file name shown in diagnostics.
    pub file: String,
    /// The file's text.
    pub text: String,
    /// The parsed raw stack (without what `problems` refuses).
    pub raw: spec::RawStack,
    /// The unknown keys and wrong types in the spec: reported with the problems validation finds
    /// in the rest, so a spec's every problem is listed at once.
    pub problems: Vec<error::Diagnostic>,
    /// The targets this spec can name: the built-in ones and its folder targets.
    pub targets: backend::Registry,
    /// The templates it renders with: the built-in ones, its folder targets' and its
    /// replacements.
    pub engine: render::Engine,
    /// The files its overrides name, read (relative to the spec's folder), by the path as written.
    pub override_files: overrides::Files,
    /// The spec's file name as generated headers and the README name it (not escaped; see
    /// [`Loaded::file_name`]): the file's own name, `--spec-name` for a stream, else
    /// [`DEFAULT_SPEC`]. Never how the spec was passed (`-`, `/dev/stdin`).
    pub name: String,
    /// `sha256:` and the first 16 hex digits of the SHA-256 of the spec's bytes, for headers.
    pub hash: String,
    /// The spec file's folder, which its relative paths resolve against; none for a spec read
    /// from a stream (stdin, a pipe) or given as text, whose paths resolve against the current
    /// directory.
    pub folder: Option<std::path::PathBuf>,
}

/// The spec's name when none is given: `-f`'s default, and the name headers give a spec read
/// from a stream without `--spec-name`.
pub const DEFAULT_SPEC: &str = "fredgen.yaml";

/// `sha256:` and the first 16 hex digits of the SHA-256 of `bytes`, its line endings taken as
/// `\n`: a checkout with `core.autocrlf` (CRLF) reads the same spec, so its headers must not
/// differ.
pub fn spec_hash(bytes: &[u8]) -> String {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let mut rest = bytes;
    while let Some(i) = rest.windows(2).position(|w| w == b"\r\n") {
        hasher.update(&rest[..i]);
        rest = &rest[i + 1..];
    }
    hasher.update(rest);
    let digest = hasher.finalize();
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// What extends a spec beyond the built-in targets and templates, from the command line: added to
/// what the spec itself names (`target_folders:`, `templates:`).
#[derive(Debug, Clone, Default)]
pub struct Extensions {
    /// `--target-dir`: folder targets.
    pub target_dirs: Vec<std::path::PathBuf>,
    /// `--templates`: a template folder (replaces the spec's `templates:`).
    pub templates: Option<std::path::PathBuf>,
}

/// Parses spec text that was read from `file` (its file name names the spec in headers).
pub fn parse(file: &str, text: String) -> Result<Loaded> {
    match spec::parse_lenient(file, &text) {
        Ok((raw, problems)) => Ok(Loaded {
            file: file.to_string(),
            name: std::path::Path::new(file)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| file.to_string()),
            hash: spec_hash(text.as_bytes()),
            folder: None,
            text,
            raw,
            problems,
            targets: backend::Registry::builtin().clone(),
            engine: render::Engine::Builtin,
            override_files: Default::default(),
        }),
        Err(diagnostics) => Err(Error::Spec {
            source_text: Some(text),
            diagnostics,
        }),
    }
}

/// Reads and parses a spec file, with the folder targets, templates and override files it names
/// and those of `ext`.
pub fn load_with(path: &std::path::Path, ext: &Extensions) -> Result<Loaded> {
    load_named(path, None, ext)
}

/// Reads and parses a spec file (built-in targets and templates only; overrides unread).
pub fn load(path: &std::path::Path) -> Result<Loaded> {
    read(path, None)
}

/// Reads and parses the spec as the command line gives it: `-f PATH` (`-` reads stdin) and
/// `--spec-name NAME`, with the folder targets, templates and override files it names and those
/// of `ext`.
///
/// A spec that is not a regular file, or lies below `/dev` or `/proc` (stdin, a pipe,
/// `/dev/stdin` whatever it was redirected from), is a stream: headers name it
/// `name`, else [`DEFAULT_SPEC`]; diagnostics name it `name`, else the path (`<stdin>` for `-`);
/// its relative paths resolve against the current directory. A regular file's name is its own:
/// a different `name` is refused.
pub fn load_named(path: &std::path::Path, name: Option<&str>, ext: &Extensions) -> Result<Loaded> {
    let mut loaded = read(path, name)?;
    let base = loaded.folder.clone().unwrap_or_default();
    loaded.extend(&base, ext)?;
    Ok(loaded)
}

/// How diagnostics name stdin (`-f -`) without `--spec-name`.
pub const STDIN: &str = "<stdin>";

/// [`load_named`] without the extensions.
fn read(path: &std::path::Path, name: Option<&str>) -> Result<Loaded> {
    use std::io::Read;
    let stdin = path == std::path::Path::new("-");
    let shown = if stdin {
        std::path::PathBuf::from(STDIN)
    } else {
        path.to_path_buf()
    };
    // A regular file's metadata; none for a stream: stdin, a pipe, or a process's file
    // descriptor (`/dev/stdin`, `/dev/fd/3`, `/proc/self/fd/0`), whatever it was redirected from.
    let (handle, meta): (Box<dyn Read>, _) = if stdin {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let file = std::fs::File::open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NoSpec { path: path.into() },
            _ => Error::io("reading", path, e),
        })?;
        let descriptor = path.starts_with("/dev") || path.starts_with("/proc");
        let meta = file.metadata().ok().filter(|m| m.is_file() && !descriptor);
        (Box::new(file), meta)
    };
    let own_name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    if let (Some(_), Some(name), Some(own)) = (&meta, name, &own_name)
        && name != own
    {
        return Err(Error::usage(
            format!(
                "--spec-name {name}: the spec is the file {}, which headers name `{own}`",
                path.display()
            ),
            "--spec-name names a spec read from stdin or a pipe; omit it, or rename the file",
        ));
    }
    let file = match (&meta, name) {
        (None, Some(name)) => name.to_string(),
        _ => shown.display().to_string(),
    };
    let too_large = |len| Error::Spec {
        source_text: None,
        diagnostics: vec![spec::too_large(&file, len)],
    };
    // A file over the limit is refused before it is read, and a stream (a pipe, /dev/stdin) is
    // read only to one byte past it: memory stays bounded whatever the path names.
    let len = meta.as_ref().map(|m| m.len()).unwrap_or(0);
    if len > spec::MAX_SPEC_BYTES as u64 {
        return Err(too_large(Some(len)));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    handle
        .take(spec::MAX_SPEC_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("reading", &shown, e))?;
    if bytes.len() > spec::MAX_SPEC_BYTES {
        return Err(too_large(None));
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(_) => {
            return Err(Error::Spec {
                source_text: None,
                diagnostics: vec![
                    error::Diagnostic::new(&file, None, "", "the spec is not UTF-8 text".into())
                        .hint("a stack spec is a YAML file; is this the right file?"),
                ],
            });
        }
    };
    let mut loaded = parse(&file, text)?;
    match meta {
        Some(_) => {
            loaded.name = own_name.unwrap_or_else(|| DEFAULT_SPEC.to_string());
            loaded.folder = Some(
                path.parent()
                    .unwrap_or(std::path::Path::new(""))
                    .to_path_buf(),
            );
        }
        None => loaded.name = name.unwrap_or(DEFAULT_SPEC).to_string(),
    }
    Ok(loaded)
}

impl Loaded {
    /// Loads what the spec (whose folder is `base`) and `ext` name: folder targets, a template
    /// folder, the override files.
    pub fn extend(&mut self, base: &std::path::Path, ext: &Extensions) -> Result<()> {
        let named = self
            .raw
            .target_folders
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, d)| (format!("target_folders[{i}]"), d))
            .chain(
                self.raw
                    .templates
                    .iter()
                    .map(|d| ("templates".to_string(), d)),
            );
        let refused: Vec<error::Diagnostic> = named
            .filter_map(|(path, d)| {
                let at = error::Pos::from_location(&d.referenced);
                let full = base.join(&d.value);
                let (message, hint) = if !overrides::plain_relative(&d.value) {
                    (
                        format!("`{}` is not a plain relative path", d.value),
                        overrides::PLAIN_PATH_HINT.to_string(),
                    )
                } else if !full.is_dir() {
                    (
                        format!("`{}` is not a folder", d.value),
                        "name a folder relative to the spec's folder".to_string(),
                    )
                } else if !overrides::stays_below(base, &full) {
                    (
                        format!("`{}` leads out of the spec's folder", d.value),
                        "a symbolic link may not take fredgen outside the spec's folder".into(),
                    )
                } else {
                    return None;
                };
                Some(error::Diagnostic::new(&self.file, at, &path, message).hint(hint))
            })
            .collect();
        if !refused.is_empty() {
            return Err(self.spec_error(refused));
        }
        let spec_relative = |p: &str| (base.join(p), p.to_string());
        let mut dirs: Vec<(std::path::PathBuf, String)> = self
            .raw
            .target_folders
            .iter()
            .flatten()
            .map(|d| spec_relative(&d.value))
            .collect();
        dirs.extend(
            ext.target_dirs
                .iter()
                .map(|d| (d.clone(), d.display().to_string())),
        );
        let templates = match &ext.templates {
            Some(d) => Some((d.clone(), d.display().to_string())),
            None => self.raw.templates.as_ref().map(|d| spec_relative(&d.value)),
        };
        if !dirs.is_empty() {
            self.targets = backend::Registry::with_folders(&dirs)?;
        }
        if !dirs.is_empty() || templates.is_some() {
            let mut set = render::TemplateSet::for_targets(&self.targets);
            if let Some((dir, shown)) = &templates {
                set.replace_from(dir, shown)?;
            }
            self.engine = render::Engine::custom(set);
        }
        self.override_files = overrides::read_files(&self.raw, base);
        Ok(())
    }

    /// Whether the spec changes what the built-in templates render: overrides or replaced
    /// templates (so `validate` must render to know it renders).
    fn extended(&self) -> bool {
        self.raw.overrides.as_ref().is_some_and(|o| !o.is_empty())
            || self.engine.set().replaced().next().is_some()
    }

    /// Looks a target up by id among those this spec can name.
    pub fn find_target(&self, id: &str) -> Result<&'static dyn backend::Target> {
        self.targets.find(id)
    }

    /// The environments the spec declares, sorted.
    pub fn environments(&self) -> Vec<String> {
        self.raw
            .environments
            .as_ref()
            .map(|e| e.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The targets the spec declares, in registry order.
    pub fn declared_targets(&self) -> Vec<&'static dyn backend::Target> {
        self.targets
            .all()
            .iter()
            .copied()
            .filter(|t| {
                self.declares(t.id(), None)
                    || self
                        .environments()
                        .iter()
                        .any(|e| self.declares(t.id(), Some(e)))
            })
            .collect()
    }

    /// Whether target `id` is declared for `env`: in the base spec, or in that environment's
    /// overlay (which may add a target for itself alone).
    fn declares(&self, id: &str, env: Option<&str>) -> bool {
        let in_targets =
            |raw: &spec::RawStack| raw.targets.as_ref().is_some_and(|d| d.contains_key(id));
        in_targets(&self.raw) || env.and_then(|e| self.overlay(e)).is_some_and(in_targets)
    }

    /// The spec file name without directories, as written into generated headers and the
    /// README. A file name is the one input a spec's validation never sees, so every character
    /// but letters, digits, spaces and `._-+@=,~` is written as `\u{…}`: no consumer of the
    /// output (YAML 1.1 readers and kubectl take U+0085, U+2028 and U+2029 as line breaks) can
    /// see a line break, markup (`-->`) or the end of a code span in it.
    pub fn file_name(&self) -> String {
        escape_file_name(&self.name)
    }

    /// Resolves `--env`: required when the spec declares environments, refused otherwise.
    pub fn resolve_env(&self, env: Option<&str>) -> Result<Option<String>> {
        let envs = self.environments();
        match (env, envs.is_empty()) {
            (None, true) => Ok(None),
            (None, false) => Err(Error::usage(
                "the spec declares environments; choose one with --env",
                format!("declared environments: {}", envs.join(", ")),
            )),
            (Some(e), true) => Err(Error::usage(
                format!("--env {e}: the spec declares no environments"),
                "omit --env",
            )),
            (Some(e), false) if !envs.iter().any(|x| x == e) => {
                let names: Vec<&str> = envs.iter().map(String::as_str).collect();
                Err(Error::usage(
                    format!("environment `{e}` is not declared"),
                    spec::did_you_mean(
                        e,
                        &names,
                        format!("declared environments: {}", envs.join(", ")),
                    ),
                ))
            }
            (Some(e), false) => Ok(Some(e.to_string())),
        }
    }

    /// Validates the spec for one target and environment, and refuses what that environment
    /// shares with another that must be its own.
    pub fn stack(&self, target: &dyn backend::Target, env: Option<&str>) -> Result<model::Stack> {
        let built = self.build(target, env).and_then(|stack| {
            // The other environments, built too (those that do not validate report themselves).
            let others: Vec<model::Stack> = self
                .environments()
                .iter()
                .filter(|e| Some(e.as_str()) != env)
                .filter_map(|e| self.build(target, Some(e)).ok())
                .collect();
            let all: Vec<&model::Stack> = others.iter().chain([&stack]).collect();
            let clashes = self.environment_clashes(target, &stack, &clash_index(target, &all));
            if clashes.is_empty() {
                Ok(stack)
            } else {
                Err(clashes)
            }
        });
        built.map_err(|diagnostics| self.spec_error(diagnostics))
    }

    /// One target and environment, validated on its own, with the spec's unknown keys and wrong
    /// types. A value refused as wrongly typed is not reported again as missing.
    fn build(
        &self,
        target: &dyn backend::Target,
        env: Option<&str>,
    ) -> std::result::Result<model::Stack, Vec<error::Diagnostic>> {
        let built = model::validate::build(&self.file, &self.raw, env, target, &self.targets).map(
            |mut stack| {
                if stack.cluster.is_none() {
                    stack.guests = self.guests(target, &stack.env);
                    // Each guest's database is a CloudNativePG Cluster of its own.
                    stack.cloudnative_pg |= stack.guests.iter().any(|g| g.database);
                    let guest_hosts = stack.guests.iter().flat_map(|g| &g.hosts);
                    stack
                        .cluster_hosts
                        .extend(guest_hosts.map(|h| h.name.clone()));
                }
                stack
            },
        );
        if self.problems.is_empty() {
            return built;
        }
        let mut all = self.problems.clone();
        let refused = |path: &str| {
            self.problems.iter().any(|p| {
                path.strip_prefix(p.path.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
            })
        };
        if let Err(found) = built {
            all.extend(found.into_iter().filter(|d| !refused(&d.path)));
        }
        Err(all)
    }

    /// The environments that deploy into `host`'s cluster and validate (the others report their
    /// own problems), as the host renders for them.
    fn guests(&self, target: &dyn backend::Target, host: &str) -> Vec<model::Guest> {
        self.environments()
            .iter()
            .filter(|e| {
                self.overlay(e)
                    .and_then(|o| o.cluster.as_ref())
                    .is_some_and(|c| c.value == host)
            })
            .filter_map(|e| {
                model::validate::build(&self.file, &self.raw, Some(e), target, &self.targets).ok()
            })
            .map(|g| model::Guest::of(&g))
            .collect()
    }

    /// Diagnostics with the positions of missing keys filled in, and the environment named in
    /// those about a value an environment's overlay set (their key path is the merged one).
    fn located(&self, mut diagnostics: Vec<error::Diagnostic>) -> Vec<error::Diagnostic> {
        spec::locate_missing(&self.text, &mut diagnostics);
        // The lines of the top-level `environments:` block: only a problem there is looked at.
        let mut lines = self.text.lines().enumerate();
        let Some((start, _)) = lines.find(|(_, l)| l.starts_with("environments:")) else {
            return diagnostics;
        };
        let end = lines
            .find(|(_, l)| l.starts_with(|c: char| !c.is_whitespace() && c != '#'))
            .map_or(usize::MAX, |(i, _)| i);
        for d in &mut diagnostics {
            let Some(pos) = d.pos else { continue };
            if d.path.starts_with("environments.") || !(start + 1..=end).contains(&pos.line) {
                continue;
            }
            let at = spec::key_path_at(&self.text, pos.line);
            if let Some(env) = at
                .strip_prefix("environments.")
                .and_then(|rest| rest.split(['.', '[']).next())
                && !env.is_empty()
            {
                d.message
                    .push_str(&format!(" (set by environment `{env}`)"));
            }
        }
        diagnostics
    }

    /// A spec error from diagnostics.
    fn spec_error(&self, diagnostics: Vec<error::Diagnostic>) -> Error {
        Error::Spec {
            source_text: Some(self.text.clone()),
            diagnostics: self.located(diagnostics),
        }
    }

    /// What `stack`'s environment shares with other environments of the spec and must not: the
    /// public host (DNS records and certificates would fight) and the target's per-environment
    /// settings ([`backend::Target::per_environment`]). One report per shared value, naming every
    /// environment that shares it, the same from each of them (so it is listed once). `stacks`
    /// are every environment that validates (the others report their own problems).
    fn environment_clashes(
        &self,
        target: &dyn backend::Target,
        stack: &model::Stack,
        index: &ClashIndex,
    ) -> Vec<error::Diagnostic> {
        let mut out = Vec::new();
        for (index_key, value, why) in clash_keys(target, stack) {
            let Some(envs) = index.get(&(index_key.clone(), value.clone())) else {
                continue;
            };
            if envs.len() < 2 {
                continue;
            }
            // A host is named by the key that sets it: `domain` when it is every environment's
            // domain, else `public` (a service's route) or `host` (a static site's).
            let is_domain = |e: &str| self.domain_of(e).as_deref() == Some(value.as_str());
            let key = match index_key.as_str() {
                HOST_KEY if envs.iter().all(|e| is_domain(e)) => "domain".to_string(),
                HOST_KEY => "public".to_string(),
                _ => index_key.clone(),
            };
            // Reported where an overlay set the value (the first such environment), else at the
            // base spec they all inherit it from.
            let overlay = |p: &str| p.starts_with("environments.");
            let located: Vec<(String, Option<error::Pos>)> = envs
                .iter()
                .map(|e| {
                    if index_key == HOST_KEY && !is_domain(e) {
                        self.public_host_at(e, &value)
                    } else {
                        self.env_key(
                            e,
                            if index_key == HOST_KEY {
                                "domain"
                            } else {
                                &key
                            },
                        )
                    }
                })
                .collect();
            // A host that is one environment's `domain` and another's service route is reported
            // at the route (the `domain` stays where it is).
            let mixed = key == "public" && envs.iter().any(|e| is_domain(e));
            let set_by = envs
                .iter()
                .zip(&located)
                .filter(|(e, _)| !mixed || !is_domain(e))
                .find(|(_, (p, _))| overlay(p) || mixed);
            let (path, pos) = set_by.map_or(&located[0], |(_, at)| at).clone();
            // A static site's host is its `host`.
            let key = if key == "public" && path.contains("static[") {
                "host".to_string()
            } else {
                key
            };
            const SHOWN: usize = 5;
            let mut named = envs
                .iter()
                .take(SHOWN)
                .map(|e| format!("`{e}`"))
                .collect::<Vec<_>>();
            let last = match envs.len() {
                n if n > SHOWN => format!("{} more", n - SHOWN),
                _ => named.pop().unwrap_or_default(),
            };
            let hint = match set_by {
                Some((env, _)) if mixed => format!(
                    "a service's route in `{env}` names a host another environment uses as its \
                     `domain`: give `{env}`'s routes hosts of its own in its overlay \
                     (`environments.{env}.services`), next to its `domain`"
                ),
                Some((env, _)) if envs.len() == 2 => {
                    format!("give `environments.{env}` a `{key}` of its own")
                }
                _ => format!(
                    "give each of them a `{key}` of its own in its overlay (`environments.<env>`)"
                ),
            };
            out.push(
                error::Diagnostic::new(
                    &self.file,
                    pos,
                    &path,
                    format!(
                        "environments {} and {last} {} use `{key}: {value}`; {why}",
                        named.join(", "),
                        if envs.len() == 2 { "both" } else { "all" }
                    ),
                )
                .hint(hint),
            );
        }
        out
    }

    /// The overlay of environment `env`, when the spec declares it.
    fn overlay(&self, env: &str) -> Option<&spec::RawStack> {
        self.raw
            .environments
            .as_ref()
            .and_then(|e| e.get(env))
            .map(|o| &o.value)
    }

    /// The `domain` of `env`: its overlay's, else the base spec's.
    fn domain_of(&self, env: &str) -> Option<String> {
        self.overlay(env)
            .and_then(|o| o.domain.as_ref())
            .or(self.raw.domain.as_ref())
            .map(|d| d.value.clone())
    }

    /// Where a static site or a service's public route names `host` for `env`: its overlay's
    /// first such place when it has one, else the base spec's.
    fn public_host_at(&self, env: &str, host: &str) -> (String, Option<error::Pos>) {
        let find = |raw: &spec::RawStack| -> Option<(String, Option<error::Pos>)> {
            for (i, site) in raw.static_sites.iter().flatten().enumerate() {
                if let Some(h) = site.host.as_ref().filter(|h| h.value == host) {
                    return Some((
                        format!("static[{i}].host"),
                        error::Pos::from_location(&h.referenced),
                    ));
                }
            }
            for (i, s) in raw.services.iter().flatten().enumerate() {
                for (j, r) in s.public.iter().flatten().enumerate() {
                    let (name, at) = match &r.value {
                        spec::RawRoute::Host(h) => (h.as_str(), &r.referenced),
                        spec::RawRoute::With(w) => match &w.host {
                            Some(h) => (h.value.as_str(), &h.referenced),
                            None => continue,
                        },
                    };
                    if name == host {
                        return Some((
                            format!("services[{i}].public[{j}]"),
                            error::Pos::from_location(at),
                        ));
                    }
                }
            }
            None
        };
        let overlay = self.overlay(env).and_then(find);
        match overlay {
            Some((path, pos)) => (format!("environments.{env}.{path}"), pos),
            None => find(&self.raw).unwrap_or_else(|| ("services".into(), None)),
        }
    }

    /// Where `key` (`domain`, `targets.<id>.<field>`) is set for `env`: its overlay when it sets
    /// it, else the base spec.
    fn env_key(&self, env: &str, key: &str) -> (String, Option<error::Pos>) {
        let find = |raw: &spec::RawStack| -> Option<error::Pos> {
            let at = match key.split('.').collect::<Vec<_>>().as_slice() {
                ["domain"] => raw.domain.as_ref()?.referenced,
                ["targets", id, field] => {
                    let t = &raw.targets.as_ref()?.get(*id)?.value;
                    match *field {
                        "project" => t.project.as_ref()?.referenced,
                        "region" => t.region.as_ref()?.referenced,
                        "location" => t.location.as_ref()?.referenced,
                        other => t.settings.get(other)?.referenced,
                    }
                }
                _ => return None,
            };
            error::Pos::from_location(&at)
        };
        let overlay = self.overlay(env).and_then(find);
        match overlay {
            Some(pos) => (format!("environments.{env}.{key}"), Some(pos)),
            None => (key.to_string(), find(&self.raw)),
        }
    }

    /// Validates and renders one target and environment, its headers naming the command that
    /// renders it into the default directory (`deploy/<target>[/<env>]` in the spec's folder).
    pub fn render(
        &self,
        target: &dyn backend::Target,
        env: Option<&str>,
    ) -> Result<render::Output> {
        self.render_to(target, env, None)
    }

    /// What the headers of a render say: the spec's name and hash, and the command that
    /// regenerates the output in the spec's folder. `case` is the target and environment (none:
    /// `--all`); `out` the output directory from the spec's folder (`/`-separated), when it is not
    /// the default one.
    pub fn provenance(
        &self,
        case: Option<(&str, Option<&str>)>,
        out: Option<&str>,
    ) -> render::Provenance {
        let mut args = Vec::new();
        match case {
            Some((target, env)) => {
                args.push(("--target", Some(target)));
                if let Some(env) = env {
                    args.push(("--env", Some(env)));
                }
            }
            None => args.push(("--all", None)),
        }
        if self.name != DEFAULT_SPEC {
            args.push(("--file", Some(self.name.as_str())));
        }
        if let Some(out) = out {
            args.push(("--out", Some(out)));
        }
        render::Provenance {
            spec_file: self.file_name(),
            spec_hash: self.hash.clone(),
            command: render::regenerate_command(&args),
        }
    }

    /// [`Loaded::render`] into `out`, the output directory from the spec's folder
    /// (`/`-separated), when it is not the default one: what the headers' command names.
    pub fn render_to(
        &self,
        target: &dyn backend::Target,
        env: Option<&str>,
        out: Option<&str>,
    ) -> Result<render::Output> {
        let mut stack = self.stack(target, env)?;
        if let Some(shared) = &mut stack.cluster {
            // What the host's render stands up, for the guest's plan to rely on.
            let host = self.render(target, Some(&shared.host.clone()))?;
            shared.provides = render::apply_model::created(&host).into_iter().collect();
        }
        let overrides = overrides::resolve(self, target, env)?;
        let set = self.engine.set();
        // A user's folder target (not one shipped with fredgen).
        let user_folder = target.source();
        let provenance = self.provenance(Some((target.id(), env)), out);
        backend::render_with(target, &stack, &provenance, &self.engine, &overrides)
            .and_then(|out| {
                overrides::deployable(&out, &overrides, set, &self.file, target).map(|()| out)
            })
            .map_err(|e| match e {
                // An override's error points into the spec: show its line.
                Error::Spec {
                    source_text: None,
                    diagnostics,
                } if diagnostics.iter().all(|d| d.file == self.file) => {
                    self.spec_error(diagnostics)
                }
                // A replaced template's error is the user's, at their file; so is one of a user's
                // folder target.
                Error::Template { template, message }
                | Error::ParseBack {
                    template, message, ..
                } if set.origin(&template).is_some()
                    || user_folder.is_some_and(|dir| template.starts_with(&format!("{}/", target.id())) && !dir.is_empty()) =>
                {
                    let (file, hint) = match set.origin(&template) {
                        Some(file) => (
                            file.to_string(),
                            "it replaces a built-in template: compare it with `fredgen templates show <id>`".to_string(),
                        ),
                        None => (
                            format!(
                                "{}/{}",
                                user_folder.unwrap_or_default(),
                                template
                                    .strip_prefix(&format!("{}/", target.id()))
                                    .map(|t| if t == "platform.yaml.j2" { t.to_string() } else { format!("templates/{t}") })
                                    .unwrap_or_default()
                            ),
                            format!("a template of the folder target `{}`", target.id()),
                        ),
                    };
                    Error::Spec {
                        source_text: None,
                        diagnostics: vec![
                            error::Diagnostic::new(&file, None, "", format!("the template `{template}` fails: {message}"))
                                .hint(hint),
                        ],
                    }
                }
                other => other,
            })
    }

    /// Validates every declared target × environment, collecting every distinct problem.
    /// Returns the valid cases in declaration order.
    pub fn validate_all(&self) -> Result<Vec<Case>> {
        let envs = self.environments();
        let env_list: Vec<Option<&str>> = if envs.is_empty() {
            vec![None]
        } else {
            envs.iter().map(|e| Some(e.as_str())).collect()
        };
        let mut all: Vec<error::Diagnostic> = Vec::new();
        let mut seen: std::collections::BTreeSet<error::Diagnostic> = Default::default();
        let mut cases = Vec::new();
        let targets = self.declared_targets();
        if targets.is_empty() {
            all.push(
                error::Diagnostic::new(&self.file, None, "targets", "no target is declared".into())
                    .hint(format!(
                        "add `targets:` with at least one of {}",
                        self.targets.ids().join(", ")
                    )),
            );
            // Still report what is wrong whatever the target: the problems every backend finds.
            all.extend(self.common_problems(&env_list)?);
            seen.extend(all.iter().cloned());
        }
        for t in &targets {
            // The environments that declare the target (an overlay may add one for itself).
            let env_list: Vec<Option<&str>> = env_list
                .iter()
                .copied()
                .filter(|env| self.declares(t.id(), *env))
                .collect();
            // Each environment is built once; clashes are then found among the valid ones.
            let built: Vec<_> = env_list.iter().map(|env| self.build(*t, *env)).collect();
            let valid: Vec<&model::Stack> = built.iter().filter_map(|b| b.as_ref().ok()).collect();
            let index = clash_index(*t, &valid);
            let clashes: Vec<Vec<error::Diagnostic>> = built
                .iter()
                .map(|b| {
                    b.as_ref()
                        .map(|stack| self.environment_clashes(*t, stack, &index))
                        .unwrap_or_default()
                })
                .collect();
            for ((env, b), clashes) in env_list.iter().zip(&built).zip(clashes) {
                // The overrides' own problems (files, keys, targets), found before a render.
                let overrides = match overrides::resolve(self, *t, *env) {
                    Err(Error::Spec { diagnostics, .. }) => diagnostics,
                    _ => Vec::new(),
                };
                let result = match b {
                    Ok(_) if !overrides.is_empty() => Err(overrides),
                    Ok(stack) if clashes.is_empty() => Ok(stack),
                    Ok(_) => Err(clashes),
                    Err(d) => Err(d.clone()),
                };
                // With overrides or replaced templates, a case is valid when it renders.
                let result = match result {
                    Ok(stack) if self.extended() => match self.render(*t, *env) {
                        Ok(_) => Ok(stack),
                        Err(Error::Spec { diagnostics, .. }) => Err(diagnostics),
                        Err(other) => return Err(other),
                    },
                    other => other,
                };
                match result {
                    Ok(stack) => cases.push(Case {
                        target: t.id(),
                        env: env.map(str::to_owned),
                        kubernetes: stack.target.kubernetes.clone(),
                    }),
                    Err(diagnostics) => {
                        for d in self.located(diagnostics) {
                            if seen.insert(d.clone()) {
                                all.push(d);
                            }
                        }
                    }
                }
            }
        }
        if all.is_empty() {
            Ok(cases)
        } else {
            all.sort_by(|a, b| a.pos.cmp(&b.pos).then(a.path.cmp(&b.path)));
            Err(Error::Spec {
                source_text: Some(self.text.clone()),
                diagnostics: all,
            })
        }
    }
}

impl Loaded {
    /// For a spec that declares no target: the problems that every registered backend reports
    /// (so none that depends on the target, nor "target not declared" itself).
    fn common_problems(&self, env_list: &[Option<&str>]) -> Result<Vec<error::Diagnostic>> {
        let mut common: Option<Vec<error::Diagnostic>> = None;
        for t in self.targets.all() {
            let mut found = Vec::new();
            for env in env_list {
                match self.stack(*t, *env) {
                    Ok(_) => {}
                    Err(Error::Spec { diagnostics, .. }) => found.extend(diagnostics),
                    Err(e) => return Err(e),
                }
            }
            common = Some(match common {
                None => found,
                Some(prev) => {
                    let found: std::collections::BTreeSet<_> = found.into_iter().collect();
                    prev.into_iter().filter(|d| found.contains(d)).collect()
                }
            });
        }
        let mut out: Vec<error::Diagnostic> = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for d in common.unwrap_or_default() {
            if !d.path.starts_with("targets") && seen.insert(d.clone()) {
                out.push(d);
            }
        }
        Ok(out)
    }
}

/// One valid target × environment of a stack spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Target id (`eks`, `gke`, ...).
    pub target: &'static str,
    /// Environment name, when the spec declares environments.
    pub env: Option<String>,
    /// Kubernetes minor version the case renders for.
    pub kubernetes: String,
}

/// For each setting an environment must have of its own and each value of it: the environments
/// (by name, sorted) that use that value.
type ClashIndex = std::collections::HashMap<(String, String), Vec<String>>;

/// The settings an environment must not share, with their values and why: its public host, and
/// the target's per-environment settings.
fn clash_keys(
    target: &dyn backend::Target,
    s: &model::Stack,
) -> Vec<(String, String, &'static str)> {
    // Every public host, `domain` or a service's: one environment's `domain` may not be
    // another's service host either.
    let mut keys: Vec<(String, String, &'static str)> = s
        .hosts
        .iter()
        .map(|h| h.name.clone())
        .chain(s.static_sites.iter().map(|site| site.host.clone()))
        .map(|h| {
            (
                HOST_KEY.to_string(),
                h,
                "DNS records and TLS certificates of both would fight over it",
            )
        })
        .collect();
    // A guest shares its host's cloud settings by design: they are its host's cluster's.
    if s.cluster.is_some() {
        return keys;
    }
    keys.extend(
        target
            .per_environment(s)
            .into_iter()
            .map(|(k, v, why)| (format!("targets.{}.{k}", target.id()), v, why)),
    );
    keys
}

/// The clash key of a public host (`domain` or a service's).
const HOST_KEY: &str = "host";

/// Indexes the settings of `stacks` ([`clash_keys`]) by value, once for all of them.
fn clash_index(target: &dyn backend::Target, stacks: &[&model::Stack]) -> ClashIndex {
    let mut index = ClashIndex::new();
    for stack in stacks {
        for (key, value, _) in clash_keys(target, stack) {
            index
                .entry((key, value))
                .or_default()
                .push(stack.env.clone());
        }
    }
    for envs in index.values_mut() {
        envs.sort();
        envs.dedup();
    }
    index
}

/// Writes every character of a file name but letters, digits, spaces and `._-+@=,~` as `\u{…}`.
pub(crate) fn escape_file_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_alphanumeric() || " ._-+@=,~".contains(c) {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{escape_file_name, spec_hash};

    #[test]
    fn a_spec_hash_reads_crlf_line_endings_as_lf() {
        // `printf 'name: a\nx: 1\n' | sha256sum`
        let lf = spec_hash(b"name: a\nx: 1\n");
        assert_eq!(lf, "sha256:25f7e9226ca966a3");
        assert_eq!(spec_hash(b"name: a\r\nx: 1\r\n"), lf);
        // A lone CR is content, not a line ending.
        assert_ne!(spec_hash(b"name: a\rx: 1\n"), lf);
        assert_ne!(spec_hash(b"name: b\nx: 1\n"), lf);
    }

    #[test]
    fn a_file_name_cannot_break_a_line_or_close_markup() {
        assert_eq!(escape_file_name("fredgen.yaml"), "fredgen.yaml");
        assert_eq!(escape_file_name("stäck 2.yaml"), "stäck 2.yaml");
        assert_eq!(
            escape_file_name("e\u{2028}namespace: kube-system\u{2028}#.yaml"),
            "e\\u{2028}namespace\\u{3a} kube-system\\u{2028}\\u{23}.yaml"
        );
        assert_eq!(escape_file_name("a-->b`c"), "a--\\u{3e}b\\u{60}c");
        for c in [
            '\n', '\r', '\u{85}', '\u{2029}', '\u{b}', '\u{c}', '\u{202e}',
        ] {
            assert!(!escape_file_name(&format!("a{c}b")).contains(c), "{c:?}");
        }
    }
}

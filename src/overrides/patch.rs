//! Stage 4b — the pure patch operations behind overrides: Kubernetes strategic merge patches,
//! RFC 6902 JSON patches, Helm values overlays, and the check that a Terraform override file
//! overrides something.
//!
//! Everything here works on values and text: no file is read or written. Errors are sentences
//! that name the key path they are about (`spec.template.spec.containers[name=web].env`), and a
//! failed patch leaves its target as it was.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::{Map, Value};

// ---------------------------------------------------------------------------------------------
// Strategic merge patch
// ---------------------------------------------------------------------------------------------

/// The patch merge key of a list field, chosen by the field's name and, for the two names that
/// mean different things in different places, where it is.
///
/// From the `patchStrategy:"merge"` / `patchMergeKey` tags of k8s.io/api `core/v1/types.go`
/// (kubernetes/api at 10b39a39, July 2026):
///
/// | field                          | tag                                            |
/// |--------------------------------|------------------------------------------------|
/// | `PodSpec.containers`           | `patchMergeKey:"name"`                         |
/// | `PodSpec.initContainers`       | `patchMergeKey:"name"`                         |
/// | `PodSpec.ephemeralContainers`  | `patchMergeKey:"name"`                         |
/// | `PodSpec.volumes`              | `patchStrategy:"merge,retainKeys" patchMergeKey:"name"` |
/// | `PodSpec.imagePullSecrets`     | `patchMergeKey:"name"`                         |
/// | `PodSpec.resourceClaims`       | `patchStrategy:"merge,retainKeys" patchMergeKey:"name"` |
/// | `PodSpec.schedulingGates`      | `patchMergeKey:"name"`                         |
/// | `PodSpec.hostAliases`          | `patchMergeKey:"ip"`                           |
/// | `PodSpec.topologySpreadConstraints` | `patchMergeKey:"topologyKey"`             |
/// | `Container.env`                | `patchMergeKey:"name"`                         |
/// | `Container.volumeMounts`       | `patchMergeKey:"mountPath"`                    |
/// | `Container.volumeDevices`      | `patchMergeKey:"devicePath"`                   |
/// | `Container.ports`              | `patchMergeKey:"containerPort"`                |
/// | `ServiceSpec.ports`            | `patchMergeKey:"port"`                         |
///
/// And what upstream does *not* tag, so a patch replaces it whole:
/// - `PodSpec.readinessGates` is `+listType=atomic` with no patch strategy (it is not merged by
///   `conditionType`);
/// - `ServiceAccount.imagePullSecrets` has no patch strategy (only the pod's is merged);
/// - `ports` anywhere else — `NetworkPolicy` rules (`NetworkPolicyPort`), `Endpoints`,
///   `EndpointSlice`, status ports — has no patch strategy;
/// - `args`, `command`, `envFrom`, `tolerations`, `resizePolicy`, … have none either.
fn merge_key(field: &str, parent: &[Seg], kind: Option<&str>) -> Option<&'static str> {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "resourceClaims"
        | "schedulingGates" => Some("name"),
        "imagePullSecrets" if kind == Some("ServiceAccount") && parent.is_empty() => None,
        "imagePullSecrets" => Some("name"),
        "volumeMounts" => Some("mountPath"),
        "volumeDevices" => Some("devicePath"),
        "hostAliases" => Some("ip"),
        "topologySpreadConstraints" => Some("topologyKey"),
        "ports" if in_container(parent) => Some("containerPort"),
        "ports" if kind == Some("Service") && matches!(parent, [Seg::Field(f)] if f == "spec") => {
            Some("port")
        }
        _ => None,
    }
}

/// Whether `path` is an item of a pod's container list.
fn in_container(path: &[Seg]) -> bool {
    matches!(
        path,
        [.., Seg::Field(list), Seg::Item { .. }]
            if matches!(list.as_str(), "containers" | "initContainers" | "ephemeralContainers")
    )
}

/// One step of a key path: a map key, or a list item picked by its merge key.
#[derive(Debug, Clone)]
enum Seg {
    /// A map key.
    Field(String),
    /// A list item, by the value of its merge key.
    Item { key: &'static str, value: String },
}

/// Where the merge is: the document's kind and the key path, for merge keys and messages.
struct Ctx {
    kind: Option<String>,
    path: Vec<Seg>,
}

impl Ctx {
    /// The key path, as `spec.template.spec.containers[name=web].env`.
    fn at(&self) -> String {
        if self.path.is_empty() {
            return "the top level".to_string();
        }
        let mut out = String::new();
        for seg in &self.path {
            match seg {
                Seg::Field(f) if out.is_empty() => out.push_str(f),
                Seg::Field(f) => {
                    out.push('.');
                    out.push_str(f);
                }
                Seg::Item { key, value } => {
                    let _ = write!(out, "[{key}={value}]");
                }
            }
        }
        out
    }
}

/// A `$patch` directive on a map.
enum Directive {
    Replace,
    Delete,
}

/// The `$patch` directive of a patch map, if it has one.
fn map_directive(patch: &Map<String, Value>, ctx: &Ctx) -> Result<Option<Directive>, String> {
    match patch.get("$patch") {
        None => Ok(None),
        Some(Value::String(s)) if s == "replace" => Ok(Some(Directive::Replace)),
        Some(Value::String(s)) if s == "delete" => Ok(Some(Directive::Delete)),
        Some(other) => Err(format!(
            "{}: unknown directive `$patch: {other}` (a map takes `$patch: replace` or \
             `$patch: delete`)",
            ctx.at()
        )),
    }
}

/// Applies a Kubernetes strategic merge patch to `target`, client-side, as `kubectl patch --type
/// strategic` and kustomize's `patchesStrategicMerge` do for built-in kinds.
///
/// - Maps merge recursively; a `null` deletes the key.
/// - A list of objects with a patch merge key (`containers`, `env`, `volumes`, `volumeMounts`,
///   container and Service `ports`, …, see the table on `merge_key`) merges item by item: a
///   patch item whose key matches a target item is merged into it, one with a new key is
///   appended, in patch order (the target's order is kept, as kustomize keeps it; the API
///   server's merge would also move matched items into the patch's order). A patch item without
///   the merge key is an error.
/// - Any other list (`args`, `command`, `tolerations`, `envFrom`, `readinessGates`, …) is
///   replaced whole.
/// - Directives: a list item `{"$patch": "delete", <key>: v}` deletes the target item with that
///   key (an error when there is none); a list item `{"$patch": "replace"}` alone makes the
///   patch's other items replace the list; a map with `"$patch": "replace"` replaces the target
///   map; a map `{"$patch": "delete"}` deletes its key. `$setElementOrder/…`, `$retainKeys` and
///   `$deleteFromPrimitiveList/…` are refused.
/// - A patch value of another type than the target's (a map over a scalar) replaces it.
///
/// The document's `kind` decides two merge keys: `spec.ports` merges by `port` in a `Service`
/// only, and a `ServiceAccount`'s `imagePullSecrets` are replaced (upstream tags only the pod's).
///
/// On error `target` is left as it was.
pub fn strategic_merge(target: &mut Value, patch: &Value) -> Result<(), String> {
    let Value::Object(patch) = patch else {
        return Err(format!(
            "a strategic merge patch is a map of keys, not {}",
            type_name(patch)
        ));
    };
    let kind = target
        .get("kind")
        .or_else(|| patch.get("kind"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut ctx = Ctx {
        kind,
        path: Vec::new(),
    };
    let mut merged = match (map_directive(patch, &ctx)?, &*target) {
        (Some(Directive::Delete), _) => {
            return Err(
                "`$patch: delete` at the top level of a patch would delete the whole document"
                    .to_string(),
            );
        }
        (Some(Directive::Replace), _) => Map::new(),
        (None, Value::Object(m)) => m.clone(),
        (None, _) => Map::new(),
    };
    merge_map(&mut merged, patch, &mut ctx)?;
    *target = Value::Object(merged);
    Ok(())
}

/// Merges patch map `patch` into `target`. A `$patch` key is the caller's to handle.
fn merge_map(
    target: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    ctx: &mut Ctx,
) -> Result<(), String> {
    for (key, value) in patch {
        if key == "$patch" {
            continue;
        }
        if key == "$retainKeys"
            || key.starts_with("$setElementOrder/")
            || key.starts_with("$deleteFromPrimitiveList/")
        {
            return Err(format!(
                "{}: the directive `{key}` is not supported (it is for patches computed by \
                 `kubectl apply`; write the keys and list items you want instead)",
                ctx.at()
            ));
        }
        ctx.path.push(Seg::Field(key.clone()));
        let merged = merge_entry(target, key, value, ctx);
        ctx.path.pop();
        merged?;
    }
    Ok(())
}

/// Merges the patch's `value` for `key` into `target` (`ctx.path` ends with `key`).
fn merge_entry(
    target: &mut Map<String, Value>,
    key: &str,
    value: &Value,
    ctx: &mut Ctx,
) -> Result<(), String> {
    match value {
        Value::Null => {
            target.remove(key);
        }
        Value::Object(patch) => match map_directive(patch, ctx)? {
            Some(Directive::Delete) => {
                target.remove(key);
            }
            Some(Directive::Replace) => {
                let mut fresh = Map::new();
                merge_map(&mut fresh, patch, ctx)?;
                target.insert(key.to_string(), Value::Object(fresh));
            }
            None => match target.get_mut(key) {
                Some(Value::Object(existing)) => merge_map(existing, patch, ctx)?,
                _ => {
                    // Absent, or another type: the patch's map, its nulls and directives applied
                    // to nothing.
                    let mut fresh = Map::new();
                    merge_map(&mut fresh, patch, ctx)?;
                    target.insert(key.to_string(), Value::Object(fresh));
                }
            },
        },
        Value::Array(items) => {
            let parent = &ctx.path[..ctx.path.len() - 1];
            let merged = match merge_key(key, parent, ctx.kind.as_deref()) {
                Some(merge_key) => {
                    let mut list = match target.remove(key) {
                        Some(Value::Array(list)) => list,
                        _ => Vec::new(),
                    };
                    merge_list(&mut list, items, key, merge_key, ctx)?;
                    list
                }
                None => replaced_list(items, key, ctx)?,
            };
            target.insert(key.to_string(), Value::Array(merged));
        }
        scalar => {
            target.insert(key.to_string(), scalar.clone());
        }
    }
    Ok(())
}

/// A list without a merge key, replaced by the patch's: refused when it holds `$patch` items,
/// which would otherwise be written out as data.
fn replaced_list(items: &[Value], field: &str, ctx: &Ctx) -> Result<Vec<Value>, String> {
    if items.iter().any(holds_directive) {
        return Err(format!(
            "{}: `{field}` has no merge key, so a patch replaces it whole and a `$patch` \
             directive in it means nothing; write the whole list",
            ctx.at()
        ));
    }
    Ok(items.to_vec())
}

/// Whether a value holds a `$patch` key anywhere.
fn holds_directive(value: &Value) -> bool {
    match value {
        Value::Object(m) => m.contains_key("$patch") || m.values().any(holds_directive),
        Value::Array(items) => items.iter().any(holds_directive),
        _ => false,
    }
}

/// Merges a patch list into a target list item by item, by `key` (`ctx.path` ends with the
/// list's field `field`).
fn merge_list(
    list: &mut Vec<Value>,
    items: &[Value],
    field: &str,
    key: &'static str,
    ctx: &mut Ctx,
) -> Result<(), String> {
    let mut maps = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Value::Object(map) = item else {
            return Err(format!(
                "{}: patch item {i} is {}, but `{field}` is a list of maps merged by `{key}`",
                ctx.at(),
                type_name(item)
            ));
        };
        maps.push((i, map));
    }
    let replace = maps.iter().any(|(_, m)| {
        m.get("$patch")
            .is_some_and(|d| d.as_str() == Some("replace"))
    });
    let mut merged = Vec::new();
    for (i, map) in maps {
        match map.get("$patch") {
            None => merged.push((i, map)),
            Some(Value::String(d)) if d == "replace" => {
                if map.len() > 1 {
                    return Err(format!(
                        "{}: patch item {i} has `$patch: replace` and other keys; that item \
                         only marks the list as replaced by the patch's other items, so it \
                         must hold nothing else",
                        ctx.at()
                    ));
                }
            }
            Some(Value::String(d)) if d == "delete" => {
                if replace {
                    return Err(format!(
                        "{}: patch item {i} deletes an item of a list the patch replaces \
                         (`$patch: replace`); leave it out",
                        ctx.at()
                    ));
                }
                let Some(wanted) = map.get(key) else {
                    return Err(format!(
                        "{}: patch item {i} has `$patch: delete` but no `{key}` (`{field}` \
                         items are matched by `{key}`)",
                        ctx.at()
                    ));
                };
                let before = list.len();
                list.retain(|item| item.get(key) != Some(wanted));
                if list.len() == before {
                    return Err(format!(
                        "{}: patch item {i} deletes the item with {key}={}, but there is none",
                        ctx.at(),
                        show(wanted)
                    ));
                }
            }
            Some(other) => {
                return Err(format!(
                    "{}: patch item {i} has the unknown directive `$patch: {other}` (a list \
                     item takes `$patch: delete`, or `$patch: replace` alone)",
                    ctx.at()
                ));
            }
        }
    }
    if replace {
        list.clear();
    }
    for (i, map) in merged {
        let Some(wanted) = map.get(key) else {
            return Err(format!(
                "{}: patch item {i} has no `{key}` (`{field}` items are merged by `{key}`)",
                ctx.at()
            ));
        };
        ctx.path.push(Seg::Item {
            key,
            value: show(wanted),
        });
        let existing = list
            .iter_mut()
            .filter_map(Value::as_object_mut)
            .find(|item| item.get(key) == Some(wanted));
        let done = match existing {
            Some(existing) => merge_map(existing, map, ctx),
            None => {
                let mut fresh = Map::new();
                let done = merge_map(&mut fresh, map, ctx);
                list.push(Value::Object(fresh));
                done
            }
        };
        ctx.path.pop();
        done?;
    }
    Ok(())
}

/// A merge key's value as it is shown in a key path: a string without quotes, else JSON.
fn show(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// "a map", "a list", … for messages.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

// ---------------------------------------------------------------------------------------------
// JSON patch
// ---------------------------------------------------------------------------------------------

/// Applies an RFC 6902 JSON patch (a list of `add`, `remove`, `replace`, `move`, `copy` and
/// `test` operations) to `target`, with the `json-patch` crate.
///
/// The whole patch applies or nothing changes. An error names the operation (its index in the
/// list, its `op` and `path`) and why it failed.
pub fn json_patch(target: &mut Value, ops: &Value) -> Result<(), String> {
    let Value::Array(list) = ops else {
        return Err(format!(
            "a JSON patch is a list of operations, not {}",
            type_name(ops)
        ));
    };
    let mut parsed = Vec::with_capacity(list.len());
    for (i, op) in list.iter().enumerate() {
        let operation: json_patch::PatchOperation = serde_json::from_value(op.clone())
            .map_err(|e| format!("JSON patch operation {i}{}: {e}", describe_raw_op(op)))?;
        parsed.push(operation);
    }
    // Applied to a copy, which replaces the target only when every operation succeeded.
    let mut patched = target.clone();
    if let Err(e) = json_patch::patch_unsafe(&mut patched, &parsed) {
        let (name, from) = match parsed.get(e.operation) {
            Some(json_patch::PatchOperation::Add(_)) => ("add", None),
            Some(json_patch::PatchOperation::Remove(_)) => ("remove", None),
            Some(json_patch::PatchOperation::Replace(_)) => ("replace", None),
            Some(json_patch::PatchOperation::Move(m)) => ("move", Some(m.from.to_string())),
            Some(json_patch::PatchOperation::Copy(c)) => ("copy", Some(c.from.to_string())),
            Some(json_patch::PatchOperation::Test(_)) => ("test", None),
            None => ("?", None),
        };
        let from = from.map(|f| format!(" from `{f}`")).unwrap_or_default();
        let why = match (&e.kind, parsed.get(e.operation)) {
            (json_patch::PatchErrorKind::TestFailed, Some(json_patch::PatchOperation::Test(t))) => {
                let found = patched
                    .pointer(t.path.as_str())
                    .map_or_else(|| "nothing".to_string(), Value::to_string);
                format!("the value is {found}, not {}", t.value)
            }
            (json_patch::PatchErrorKind::InvalidPointer, _) => {
                "the path names no location in the document".to_string()
            }
            (json_patch::PatchErrorKind::InvalidFromPointer, _) => {
                "`from` names no value in the document".to_string()
            }
            (kind, _) => kind.to_string(),
        };
        return Err(format!(
            "JSON patch operation {} ({name} `{}`{from}) failed: {why}; nothing was changed",
            e.operation, e.path
        ));
    }
    *target = patched;
    Ok(())
}

/// ` (op `path`)` of an operation that did not parse, from what it holds.
fn describe_raw_op(op: &Value) -> String {
    let op_name = op.get("op").and_then(Value::as_str);
    let path = op.get("path").and_then(Value::as_str);
    match (op_name, path) {
        (Some(o), Some(p)) => format!(" ({o} `{p}`)"),
        (Some(o), None) => format!(" ({o})"),
        (None, Some(p)) => format!(" (at `{p}`)"),
        (None, None) => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Helm values
// ---------------------------------------------------------------------------------------------

/// Merges a Helm values overlay into `base`, as `helm install -f base.yaml -f overlay.yaml`
/// coalesces them: maps merge recursively, a `null` in the overlay deletes the key (Helm: "you
/// may override the value of the key to be null, in which case Helm will remove the key"), and
/// anything else — lists included — replaces.
///
/// An overlay that is `null` as a whole (an empty values file) changes nothing.
pub fn merge_values(base: &mut Value, overlay: &Value) {
    match overlay {
        Value::Null => {}
        Value::Object(overlay) => {
            if !base.is_object() {
                *base = Value::Object(Map::new());
            }
            if let Value::Object(base) = base {
                merge_value_maps(base, overlay);
            }
        }
        other => *base = other.clone(),
    }
}

/// Merges map `overlay` into map `base` by Helm's rules.
fn merge_value_maps(base: &mut Map<String, Value>, overlay: &Map<String, Value>) {
    for (key, value) in overlay {
        match value {
            Value::Null => {
                base.remove(key);
            }
            Value::Object(inner) => {
                let slot = base
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                if let Value::Object(slot) = slot {
                    merge_value_maps(slot, inner);
                }
            }
            other => {
                base.insert(key.clone(), other.clone());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Terraform override files
// ---------------------------------------------------------------------------------------------

/// The blocks of a Terraform override file (`*_override.tf`) that override nothing in the
/// root's ordinary `.tf` files (`base`): `terraform` then fails with "Missing resource to
/// override", "Missing base variable declaration to override", … Each is described as it is
/// written: `resource "aws_s3_bucket" "logs"`, `data "aws_iam_policy_document" "x"`,
/// `module "eks"`, `variable "region"`, `output "x"`, `action "t" "n"`,
/// `provider "aws" { alias = "east" }`, and a local value as `local.foo`.
///
/// Matching follows Terraform's `Module.mergeFile` (internal/configs/module.go) and the
/// [override files](https://developer.hashicorp.com/terraform/language/files/override) docs:
/// a block matches a base block with the same header (type and labels); `locals` match entry by
/// entry, whatever `locals` block holds them; a `terraform` block always matches (its settings
/// merge); a `provider` block without `alias` always matches (Terraform takes an absent default
/// provider configuration as an empty one), one with `alias` needs a base configuration of that
/// provider and alias. A `data` block in a base `check` block counts as a base data source.
///
/// `Err` for what Terraform refuses or ignores whatever the base holds: HCL syntax errors (the
/// parser's message, with line and column), `moved`, `import` and `check` blocks, `removed` and
/// `ephemeral` blocks (Terraform silently ignores them in override files), `depends_on` in an
/// overriding `resource`, `data`, `module` or `output`, a top-level `required_providers` block
/// or argument, and unknown block types.
pub fn unmatched_override_blocks(
    base: &[&str],
    override_text: &str,
) -> Result<Vec<String>, String> {
    let overrides = hcl::parse(override_text)
        .map_err(|e| format!("the override file is not valid HCL:\n{e}"))?;
    let mut declared = BTreeSet::new();
    for (i, text) in base.iter().enumerate() {
        let body = hcl::parse(text).map_err(|e| {
            format!(
                "base file {} of {} is not valid HCL:\n{e}",
                i + 1,
                base.len()
            )
        })?;
        for block in body.blocks() {
            declared.extend(declarations(block));
        }
    }
    let mut unmatched = Vec::new();
    for structure in overrides.iter() {
        let block = match structure {
            hcl::Structure::Block(block) => block,
            hcl::Structure::Attribute(attr) => {
                return Err(format!(
                    "`{} = …`: an override file holds blocks, not top-level arguments \
                     (Terraform: \"Unsupported argument\")",
                    attr.key()
                ));
            }
        };
        for name in overridden(block)? {
            if !declared.contains(&name) && !unmatched.contains(&name) {
                unmatched.push(name);
            }
        }
    }
    Ok(unmatched)
}

/// The blocks of `text` (an ordinary `.tf` file added to a root) that the root's files in `base`
/// already declare: Terraform refuses a second declaration ("Duplicate resource", "Duplicate
/// provider configuration", "Duplicate backend configuration", "Duplicate required providers
/// configuration"), each described as it is written.
pub fn duplicate_blocks(base: &[&str], text: &str) -> Result<Vec<String>, String> {
    let added = hcl::parse(text).map_err(|e| format!("the file is not valid HCL:\n{e}"))?;
    let mut declared = BTreeSet::new();
    let mut settings = BTreeSet::new();
    for text in base {
        let body =
            hcl::parse(text).map_err(|e| format!("a file of the root is not valid HCL:\n{e}"))?;
        for block in body.blocks() {
            declared.extend(declarations(block));
            if block.identifier() == "provider" {
                declared.insert(provider_name(block).0);
            }
            settings.extend(terraform_settings(block));
        }
    }
    let mut duplicates = Vec::new();
    for block in added.blocks() {
        let mut mine = declarations(block);
        if block.identifier() == "provider" {
            mine.push(provider_name(block).0);
        }
        for name in mine.into_iter().chain(terraform_settings(block)) {
            if (declared.contains(&name) || settings.contains(&name)) && !duplicates.contains(&name)
            {
                duplicates.push(name);
            }
        }
    }
    Ok(duplicates)
}

/// The settings a `terraform` block holds that a module may declare once: its backend (or HCP
/// Terraform `cloud`) and `required_providers`.
fn terraform_settings(block: &hcl::Block) -> Vec<String> {
    if block.identifier() != "terraform" {
        return Vec::new();
    }
    block
        .body()
        .blocks()
        .filter_map(|b| match b.identifier() {
            "backend" | "cloud" => Some("terraform { backend }".to_string()),
            "required_providers" => Some("terraform { required_providers }".to_string()),
            _ => None,
        })
        .collect()
}

/// A block's header as it is written: its type and quoted labels.
fn header(block: &hcl::Block) -> String {
    let mut out = block.identifier().to_string();
    for label in block.labels() {
        let _ = write!(out, " \"{}\"", label.as_str());
    }
    out
}

/// A provider block's name as an override file must match it: with its alias when it has one.
fn provider_name(block: &hcl::Block) -> (String, bool) {
    let alias = block
        .body()
        .attributes()
        .find(|a| a.key() == "alias")
        .map(|a| match a.expr() {
            hcl::Expression::String(s) => s.clone(),
            other => hcl::format::to_string(other).unwrap_or_default(),
        });
    match alias {
        Some(alias) => (format!("{} {{ alias = \"{alias}\" }}", header(block)), true),
        None => (header(block), false),
    }
}

/// What a base file's top-level block declares that an override block can match.
fn declarations(block: &hcl::Block) -> Vec<String> {
    match block.identifier() {
        "resource" | "data" | "module" | "variable" | "output" | "action" => vec![header(block)],
        "locals" => block
            .body()
            .attributes()
            .map(|a| format!("local.{}", a.key()))
            .collect(),
        "provider" => vec![provider_name(block).0],
        // A check block's scoped data source joins the module's data sources.
        "check" => block
            .body()
            .blocks()
            .filter(|b| b.identifier() == "data")
            .map(header)
            .collect(),
        _ => Vec::new(),
    }
}

/// What an override file's top-level block needs a base declaration of, or why Terraform
/// refuses it.
fn overridden(block: &hcl::Block) -> Result<Vec<String>, String> {
    let kind = block.identifier();
    match kind {
        "terraform"
            if !terraform_settings(block)
                .iter()
                .all(|s| s.contains("required_providers")) =>
        {
            Err(
                "terraform { backend }: the state's location is fredgen's (apply.sh initialises \
                 each root with it); it cannot be overridden"
                    .to_string(),
            )
        }
        "terraform" => Ok(Vec::new()),
        "provider" => match provider_name(block) {
            (name, true) => Ok(vec![name]),
            (_, false) => Ok(Vec::new()),
        },
        "locals" => Ok(block
            .body()
            .attributes()
            .map(|a| format!("local.{}", a.key()))
            .collect()),
        "resource" | "data" | "module" | "output" => {
            if block.body().attributes().any(|a| a.key() == "depends_on") {
                return Err(format!(
                    "{}: `depends_on` may not be overridden (Terraform: \"Unsupported \
                     override\"); set it in the original block",
                    header(block)
                ));
            }
            Ok(vec![header(block)])
        }
        "variable" | "action" => Ok(vec![header(block)]),
        "moved" | "import" => Err(format!(
            "{}: Terraform refuses `{kind}` blocks in override files (\"Cannot override \
             '{kind}' blocks\"); put it in an ordinary .tf file",
            header(block)
        )),
        "check" => Err(format!(
            "{}: Terraform refuses `check` blocks in override files (\"Can't override check \
             blocks\"); put it in an ordinary .tf file",
            header(block)
        )),
        "removed" | "ephemeral" => Err(format!(
            "{}: Terraform ignores `{kind}` blocks in override files, so it would have no \
             effect; put it in an ordinary .tf file",
            header(block)
        )),
        "required_providers" => Err(
            "`required_providers`: the block belongs inside a `terraform` block (Terraform: \
             \"Invalid required_providers block\")"
                .to_string(),
        ),
        _ => Err(format!(
            "{}: `{kind}` is not a Terraform block type (Terraform: \"Unsupported block type\")",
            header(block)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web", "tier": "front"}},
            "spec": {
                "replicas": 2,
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "web",
                                "image": "web:1",
                                "args": ["--a", "--b"],
                                "env": [
                                    {"name": "A", "value": "1"},
                                    {"name": "B", "value": "2"}
                                ],
                                "ports": [{"containerPort": 8080, "name": "http"}],
                                "volumeMounts": [{"mountPath": "/tmp", "name": "tmp"}],
                                "resources": {"limits": {"memory": "256Mi"}}
                            },
                            {"name": "sidecar", "image": "sidecar:1"}
                        ],
                        "volumes": [{"name": "tmp", "emptyDir": {}}],
                        "tolerations": [{"key": "a", "operator": "Exists"}]
                    }
                }
            }
        })
    }

    fn pod_spec(doc: &Value) -> &Value {
        &doc["spec"]["template"]["spec"]
    }

    fn patched(patch: Value) -> Value {
        let mut doc = deployment();
        strategic_merge(&mut doc, &patch).expect("patch applies");
        doc
    }

    fn refused(patch: Value) -> String {
        let mut doc = deployment();
        let err = strategic_merge(&mut doc, &patch).expect_err("patch is refused");
        assert_eq!(doc, deployment(), "a refused patch changes nothing");
        err
    }

    #[test]
    fn maps_merge_and_scalars_replace() {
        let doc = patched(json!({
            "metadata": {"labels": {"team": "x", "tier": "back"}},
            "spec": {"replicas": 5}
        }));
        assert_eq!(
            doc["metadata"]["labels"],
            json!({"app": "web", "tier": "back", "team": "x"})
        );
        assert_eq!(doc["metadata"]["name"], "web");
        assert_eq!(doc["spec"]["replicas"], 5);
    }

    #[test]
    fn null_deletes_a_key() {
        let doc = patched(json!({
            "metadata": {"labels": {"tier": null, "absent": null}},
            "spec": {"template": {"spec": {"containers": [
                {"name": "web", "resources": null}
            ]}}}
        }));
        assert_eq!(doc["metadata"]["labels"], json!({"app": "web"}));
        let web = &pod_spec(&doc)["containers"][0];
        assert_eq!(web["name"], "web");
        assert!(web.get("resources").is_none());
        assert_eq!(web["image"], "web:1");
    }

    #[test]
    fn containers_merge_by_name() {
        let doc = patched(json!({"spec": {"template": {"spec": {"containers": [
            {"name": "sidecar", "image": "sidecar:2"},
            {"name": "web", "resources": {"limits": {"cpu": "1"}}}
        ]}}}}));
        let containers = &pod_spec(&doc)["containers"];
        assert_eq!(containers.as_array().map(Vec::len), Some(2));
        // Target order is kept; matched items are merged in place.
        assert_eq!(containers[0]["name"], "web");
        assert_eq!(containers[0]["image"], "web:1");
        assert_eq!(
            containers[0]["resources"],
            json!({"limits": {"memory": "256Mi", "cpu": "1"}})
        );
        assert_eq!(
            containers[1],
            json!({"name": "sidecar", "image": "sidecar:2"})
        );
    }

    #[test]
    fn env_merges_by_name_inside_a_container() {
        let doc = patched(json!({"spec": {"template": {"spec": {"containers": [
            {"name": "web", "env": [
                {"name": "B", "value": "two"},
                {"name": "C", "value": "3"}
            ]}
        ]}}}}));
        assert_eq!(
            pod_spec(&doc)["containers"][0]["env"],
            json!([
                {"name": "A", "value": "1"},
                {"name": "B", "value": "two"},
                {"name": "C", "value": "3"}
            ])
        );
    }

    #[test]
    fn a_new_container_is_appended_in_patch_order() {
        let doc = patched(json!({"spec": {"template": {"spec": {"containers": [
            {"name": "z", "image": "z:1"},
            {"name": "web", "image": "web:2"},
            {"name": "a", "image": "a:1", "stray": null}
        ]}}}}));
        let names: Vec<&str> = pod_spec(&doc)["containers"]
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(names, ["web", "sidecar", "z", "a"]);
        assert_eq!(pod_spec(&doc)["containers"][0]["image"], "web:2");
        // A new item's nulls delete nothing and are not written.
        assert_eq!(
            pod_spec(&doc)["containers"][3],
            json!({"name": "a", "image": "a:1"})
        );
    }

    #[test]
    fn volume_mounts_merge_by_mount_path_and_container_ports_by_container_port() {
        let doc = patched(json!({"spec": {"template": {"spec": {"containers": [{
            "name": "web",
            "volumeMounts": [
                {"mountPath": "/tmp", "readOnly": true},
                {"mountPath": "/cache", "name": "cache"}
            ],
            "ports": [
                {"containerPort": 8080, "protocol": "TCP"},
                {"containerPort": 9090, "name": "metrics"}
            ]
        }]}}}}));
        let web = &pod_spec(&doc)["containers"][0];
        assert_eq!(
            web["volumeMounts"],
            json!([
                {"mountPath": "/tmp", "name": "tmp", "readOnly": true},
                {"mountPath": "/cache", "name": "cache"}
            ])
        );
        assert_eq!(
            web["ports"],
            json!([
                {"containerPort": 8080, "name": "http", "protocol": "TCP"},
                {"containerPort": 9090, "name": "metrics"}
            ])
        );
    }

    #[test]
    fn pod_lists_merge_by_their_upstream_keys() {
        let mut doc = json!({"kind": "Deployment", "spec": {"template": {"spec": {
            "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["a"]}],
            "topologySpreadConstraints": [
                {"topologyKey": "zone", "maxSkew": 1, "whenUnsatisfiable": "DoNotSchedule"}
            ],
            "imagePullSecrets": [{"name": "regcred"}],
            "initContainers": [{"name": "init", "image": "i:1"}]
        }}}});
        strategic_merge(
            &mut doc,
            &json!({"spec": {"template": {"spec": {
                "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["b"]}, {"ip": "10.0.0.2"}],
                "topologySpreadConstraints": [{"topologyKey": "zone", "maxSkew": 2}],
                "imagePullSecrets": [{"name": "other"}],
                "initContainers": [{"name": "init", "image": "i:2"}]
            }}}}),
        )
        .expect("patch applies");
        let spec = pod_spec(&doc);
        assert_eq!(
            spec["hostAliases"],
            json!([{"ip": "10.0.0.1", "hostnames": ["b"]}, {"ip": "10.0.0.2"}])
        );
        assert_eq!(
            spec["topologySpreadConstraints"],
            json!([{"topologyKey": "zone", "maxSkew": 2, "whenUnsatisfiable": "DoNotSchedule"}])
        );
        assert_eq!(
            spec["imagePullSecrets"],
            json!([{"name": "regcred"}, {"name": "other"}])
        );
        assert_eq!(
            spec["initContainers"],
            json!([{"name": "init", "image": "i:2"}])
        );
    }

    #[test]
    fn lists_without_a_merge_key_are_replaced() {
        let doc = patched(json!({"spec": {"template": {"spec": {
            "containers": [{"name": "web", "args": ["--c"]}],
            "tolerations": [{"key": "b", "operator": "Exists"}]
        }}}}));
        let spec = pod_spec(&doc);
        assert_eq!(spec["containers"][0]["args"], json!(["--c"]));
        assert_eq!(
            spec["tolerations"],
            json!([{"key": "b", "operator": "Exists"}])
        );
    }

    #[test]
    fn readiness_gates_are_replaced_as_upstream_has_no_merge_key_for_them() {
        let mut doc = json!({"kind": "Pod", "spec": {
            "readinessGates": [{"conditionType": "a"}]
        }});
        strategic_merge(
            &mut doc,
            &json!({"spec": {"readinessGates": [{"conditionType": "b"}]}}),
        )
        .expect("patch applies");
        assert_eq!(
            doc["spec"]["readinessGates"],
            json!([{"conditionType": "b"}])
        );
    }

    #[test]
    fn a_directive_in_a_replaced_list_is_refused() {
        let err = refused(json!({"spec": {"template": {"spec": {
            "tolerations": [{"$patch": "delete", "key": "a"}]
        }}}}));
        assert!(err.contains("spec.template.spec.tolerations"), "{err}");
        assert!(err.contains("no merge key"), "{err}");
    }

    #[test]
    fn patch_delete_removes_the_matching_item() {
        let doc = patched(json!({"spec": {"template": {"spec": {"containers": [
            {"name": "sidecar", "$patch": "delete"},
            {"name": "web", "env": [{"name": "A", "$patch": "delete"}]}
        ]}}}}));
        let containers = &pod_spec(&doc)["containers"];
        assert_eq!(containers.as_array().map(Vec::len), Some(1));
        assert_eq!(containers[0]["env"], json!([{"name": "B", "value": "2"}]));
    }

    #[test]
    fn patch_delete_of_a_missing_item_is_an_error() {
        let err = refused(json!({"spec": {"template": {"spec": {"containers": [
            {"name": "web", "env": [{"name": "NOPE", "$patch": "delete"}]}
        ]}}}}));
        assert!(
            err.starts_with("spec.template.spec.containers[name=web].env:"),
            "{err}"
        );
        assert!(err.contains("name=NOPE"), "{err}");
    }

    #[test]
    fn patch_delete_without_the_merge_key_is_an_error() {
        let err = refused(json!({"spec": {"template": {"spec": {"volumes": [
            {"$patch": "delete"}
        ]}}}}));
        assert!(err.starts_with("spec.template.spec.volumes:"), "{err}");
        assert!(err.contains("`name`"), "{err}");
    }

    #[test]
    fn patch_replace_on_a_map_replaces_it() {
        let doc = patched(json!({"spec": {"template": {"spec": {"containers": [
            {"name": "web", "resources": {"$patch": "replace", "requests": {"cpu": "1"}}}
        ]}}}}));
        assert_eq!(
            pod_spec(&doc)["containers"][0]["resources"],
            json!({"requests": {"cpu": "1"}})
        );
    }

    #[test]
    fn patch_replace_at_the_top_level_replaces_the_document() {
        let doc = patched(json!({"$patch": "replace", "kind": "ConfigMap", "data": {"a": "b"}}));
        assert_eq!(doc, json!({"kind": "ConfigMap", "data": {"a": "b"}}));
    }

    #[test]
    fn patch_delete_on_a_map_deletes_the_key() {
        let doc = patched(json!({"metadata": {"labels": {"$patch": "delete"}}}));
        assert_eq!(doc["metadata"], json!({"name": "web"}));
    }

    #[test]
    fn patch_replace_item_replaces_a_merged_list() {
        let doc = patched(json!({"spec": {"template": {"spec": {"containers": [
            {"name": "web", "env": [{"$patch": "replace"}, {"name": "Z", "value": "26"}]}
        ]}}}}));
        assert_eq!(
            pod_spec(&doc)["containers"][0]["env"],
            json!([{"name": "Z", "value": "26"}])
        );
        let err = refused(json!({"spec": {"template": {"spec": {"volumes": [
            {"$patch": "replace", "name": "tmp"}
        ]}}}}));
        assert!(err.contains("must hold nothing else"), "{err}");
    }

    #[test]
    fn unknown_and_unsupported_directives_are_errors() {
        let err = refused(json!({"metadata": {"labels": {"$patch": "merge"}}}));
        assert!(err.starts_with("metadata.labels:"), "{err}");
        assert!(err.contains("$patch: \"merge\""), "{err}");
        let err = refused(json!({"spec": {"template": {"spec": {"containers": [
            {"name": "web", "$patch": "retain"}
        ]}}}}));
        assert!(err.contains("unknown directive"), "{err}");
        let err = refused(json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "web"}]
        }}}}));
        assert!(err.starts_with("spec.template.spec:"), "{err}");
        assert!(err.contains("not supported"), "{err}");
        let err = refused(json!({"spec": {"$retainKeys": ["replicas"]}}));
        assert!(err.contains("`$retainKeys` is not supported"), "{err}");
        let err = refused(json!({"$patch": "delete"}));
        assert!(err.contains("whole document"), "{err}");
    }

    #[test]
    fn a_patch_item_without_the_merge_key_is_an_error() {
        let err = refused(json!({"spec": {"template": {"spec": {"containers": [
            {"name": "web", "env": [{"value": "orphan"}]}
        ]}}}}));
        assert_eq!(
            err,
            "spec.template.spec.containers[name=web].env: patch item 0 has no `name` (`env` \
             items are merged by `name`)"
        );
        let err = refused(json!({"spec": {"template": {"spec": {"containers": [
            {"image": "x"}
        ]}}}}));
        assert!(err.starts_with("spec.template.spec.containers:"), "{err}");
        assert!(err.contains("`name`"), "{err}");
        let err = refused(json!({"spec": {"template": {"spec": {"containers": ["web"]}}}}));
        assert!(err.contains("patch item 0 is a string"), "{err}");
    }

    #[test]
    fn service_ports_merge_by_port() {
        let mut svc = json!({
            "apiVersion": "v1",
            "kind": "Service",
            "spec": {"ports": [
                {"port": 80, "targetPort": 8080, "name": "http"},
                {"port": 443, "targetPort": 8443, "name": "https"}
            ]}
        });
        strategic_merge(
            &mut svc,
            &json!({"spec": {"ports": [
                {"port": 443, "nodePort": 30443},
                {"port": 9090, "name": "metrics"},
                {"port": 80, "$patch": "delete"}
            ]}}),
        )
        .expect("patch applies");
        assert_eq!(
            svc["spec"]["ports"],
            json!([
                {"port": 443, "targetPort": 8443, "name": "https", "nodePort": 30443},
                {"port": 9090, "name": "metrics"}
            ])
        );
        let err = strategic_merge(&mut svc, &json!({"spec": {"ports": [{"name": "x"}]}}))
            .expect_err("no port");
        assert!(err.starts_with("spec.ports:"), "{err}");
        assert!(err.contains("`port`"), "{err}");
    }

    #[test]
    fn ports_elsewhere_are_replaced_as_upstream_has_no_merge_key_for_them() {
        let mut policy = json!({
            "kind": "NetworkPolicy",
            "spec": {"ingress": [{"ports": [{"port": 80, "protocol": "TCP"}]}]}
        });
        strategic_merge(
            &mut policy,
            &json!({"spec": {"ingress": [{"ports": [{"protocol": "UDP"}]}]}}),
        )
        .expect("patch applies");
        assert_eq!(
            policy["spec"]["ingress"],
            json!([{"ports": [{"protocol": "UDP"}]}])
        );
        let mut account = json!({
            "kind": "ServiceAccount",
            "imagePullSecrets": [{"name": "a"}]
        });
        strategic_merge(&mut account, &json!({"imagePullSecrets": [{"name": "b"}]}))
            .expect("patch applies");
        assert_eq!(account["imagePullSecrets"], json!([{"name": "b"}]));
    }

    #[test]
    fn a_type_mismatch_replaces() {
        let mut doc = json!({"kind": "ConfigMap", "data": "oops", "spec": {"x": 1}});
        strategic_merge(
            &mut doc,
            &json!({"data": {"a": "b", "gone": null}, "spec": "flat"}),
        )
        .expect("patch applies");
        assert_eq!(
            doc,
            json!({"kind": "ConfigMap", "data": {"a": "b"}, "spec": "flat"})
        );
        // A merged list the target lacks is built from the patch, keys checked.
        let mut pod = json!({"kind": "Pod", "spec": {}});
        strategic_merge(
            &mut pod,
            &json!({"spec": {"containers": [{"name": "a", "env": [{"name": "X"}]}]}}),
        )
        .expect("patch applies");
        assert_eq!(
            pod["spec"]["containers"],
            json!([{"name": "a", "env": [{"name": "X"}]}])
        );
    }

    #[test]
    fn a_patch_that_is_not_a_map_is_refused() {
        let err = refused(json!([1, 2]));
        assert!(err.contains("not a list"), "{err}");
    }

    // JSON patch

    #[test]
    fn json_patch_add_replace_remove() {
        let mut doc = deployment();
        json_patch(
            &mut doc,
            &json!([
                {"op": "add", "path": "/metadata/annotations", "value": {"a": "b"}},
                {"op": "replace", "path": "/spec/replicas", "value": 3},
                {"op": "remove", "path": "/metadata/labels/tier"},
                {"op": "add", "path": "/spec/template/spec/containers/0/args/-", "value": "--c"},
                {"op": "test", "path": "/spec/replicas", "value": 3}
            ]),
        )
        .expect("patch applies");
        assert_eq!(doc["metadata"]["annotations"], json!({"a": "b"}));
        assert_eq!(doc["spec"]["replicas"], 3);
        assert_eq!(doc["metadata"]["labels"], json!({"app": "web"}));
        assert_eq!(
            pod_spec(&doc)["containers"][0]["args"],
            json!(["--a", "--b", "--c"])
        );
    }

    #[test]
    fn a_failed_test_leaves_the_target_unchanged() {
        let mut doc = deployment();
        let err = json_patch(
            &mut doc,
            &json!([
                {"op": "replace", "path": "/spec/replicas", "value": 9},
                {"op": "test", "path": "/metadata/name", "value": "api"}
            ]),
        )
        .expect_err("the test fails");
        assert_eq!(doc, deployment());
        assert_eq!(
            err,
            "JSON patch operation 1 (test `/metadata/name`) failed: the value is \"web\", not \
             \"api\"; nothing was changed"
        );
    }

    #[test]
    fn json_patch_errors_name_the_operation() {
        let mut doc = deployment();
        let err = json_patch(
            &mut doc,
            &json!([
                {"op": "add", "path": "/metadata/x", "value": 1},
                {"op": "remove", "path": "/spec/nope"}
            ]),
        )
        .expect_err("no such path");
        assert_eq!(doc, deployment());
        assert!(
            err.starts_with("JSON patch operation 1 (remove `/spec/nope`) failed:"),
            "{err}"
        );
        let err = json_patch(&mut doc, &json!([{"op": "frobnicate", "path": "/a"}]))
            .expect_err("unknown op");
        assert!(
            err.starts_with("JSON patch operation 0 (frobnicate `/a`): unknown variant"),
            "{err}"
        );
        let err =
            json_patch(&mut doc, &json!([{"op": "add", "path": "/a"}])).expect_err("no value");
        assert!(err.contains("missing field `value`"), "{err}");
        let err = json_patch(
            &mut doc,
            &json!([{"op": "move", "from": "/nope", "path": "/a"}]),
        )
        .expect_err("no from");
        assert!(err.contains("(move `/a` from `/nope`)"), "{err}");
        let err = json_patch(&mut doc, &json!({"op": "add"})).expect_err("not a list");
        assert!(err.contains("list of operations"), "{err}");
        assert_eq!(doc, deployment());
    }

    // Helm values

    #[test]
    fn values_merge_maps_delete_nulls_and_replace_lists() {
        let mut base = json!({
            "image": {"repository": "r", "tag": "1"},
            "replicaCount": 1,
            "tolerations": [{"key": "a"}],
            "extraArgs": ["--x"],
            "podAnnotations": {"a": "1"}
        });
        merge_values(
            &mut base,
            &json!({
                "image": {"tag": "2"},
                "tolerations": [{"key": "b"}],
                "extraArgs": [],
                "podAnnotations": null,
                "absent": null,
                "new": {"deep": {"x": 1, "y": null}}
            }),
        );
        assert_eq!(
            base,
            json!({
                "image": {"repository": "r", "tag": "2"},
                "replicaCount": 1,
                "tolerations": [{"key": "b"}],
                "extraArgs": [],
                "new": {"deep": {"x": 1}}
            })
        );
    }

    #[test]
    fn values_maps_replace_scalars_and_an_empty_overlay_changes_nothing() {
        let mut base = json!({"resources": "none", "a": {"b": 1}});
        merge_values(&mut base, &json!({"resources": {"limits": {"cpu": "1"}}}));
        assert_eq!(
            base,
            json!({"resources": {"limits": {"cpu": "1"}}, "a": {"b": 1}})
        );
        merge_values(&mut base, &Value::Null);
        assert_eq!(
            base,
            json!({"resources": {"limits": {"cpu": "1"}}, "a": {"b": 1}})
        );
        merge_values(&mut base, &json!({"a": "flat"}));
        assert_eq!(base["a"], "flat");
    }

    // Terraform override files

    const BASE_MAIN: &str = r#"
terraform {
  required_version = ">= 1.9"
}

provider "aws" {
  region = var.region
}

provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"
}

variable "region" {
  type = string
}

locals {
  name = "x"
  tags = { a = "b" }
}

resource "aws_s3_bucket" "logs" {
  bucket = local.name
}

data "aws_iam_policy_document" "x" {}

module "eks" {
  source = "terraform-aws-modules/eks/aws"
}

check "health" {
  data "http" "probe" {
    url = "https://example.com"
  }
  assert {
    condition     = data.http.probe.status_code == 200
    error_message = "down"
  }
}
"#;

    const BASE_OUTPUTS: &str = r#"
output "x" {
  value = 1
}

locals {
  other = 2
}

action "aws_lambda_invoke" "notify" {
  config {
    function_name = "n"
  }
}
"#;

    fn unmatched(text: &str) -> Vec<String> {
        unmatched_override_blocks(&[BASE_MAIN, BASE_OUTPUTS], text).expect("valid override file")
    }

    #[test]
    fn override_blocks_that_match_their_base() {
        let text = r#"
terraform {
  required_version = ">= 1.10"
}

provider "aws" {
  region = "eu-west-1"
}

provider "aws" {
  alias  = "us_east_1"
  region = "us-east-2"
}

provider "google" {
  project = "p"
}

variable "region" {
  default = "eu-west-1"
}

locals {
  name  = "y"
  other = 3
}

resource "aws_s3_bucket" "logs" {
  force_destroy = true
}

data "aws_iam_policy_document" "x" {}

data "http" "probe" {
  url = "https://example.org"
}

module "eks" {
  cluster_version = "1.31"
}

output "x" {
  value = 2
}

action "aws_lambda_invoke" "notify" {
  config {
    function_name = "m"
  }
}
"#;
        assert_eq!(unmatched(text), Vec::<String>::new());
    }

    #[test]
    fn override_blocks_that_override_nothing() {
        let text = r#"
resource "aws_s3_bucket" "log" {
  force_destroy = true
}

resource "aws_s3_object" "logs" {}

data "aws_iam_policy_document" "y" {}

module "gke" {}

variable "zone" {}

output "y" {
  value = 1
}

provider "aws" {
  alias = "eu"
}

locals {
  name    = "ok"
  missing = 1
}

action "aws_lambda_invoke" "other" {}
"#;
        assert_eq!(
            unmatched(text),
            [
                r#"resource "aws_s3_bucket" "log""#,
                r#"resource "aws_s3_object" "logs""#,
                r#"data "aws_iam_policy_document" "y""#,
                r#"module "gke""#,
                r#"variable "zone""#,
                r#"output "y""#,
                r#"provider "aws" { alias = "eu" }"#,
                "local.missing",
                r#"action "aws_lambda_invoke" "other""#,
            ]
        );
    }

    #[test]
    fn a_resource_does_not_match_a_data_source_of_the_same_name() {
        let text = r#"
resource "aws_iam_policy_document" "x" {}
data "aws_s3_bucket" "logs" {}
"#;
        assert_eq!(
            unmatched(text),
            [
                r#"resource "aws_iam_policy_document" "x""#,
                r#"data "aws_s3_bucket" "logs""#
            ]
        );
    }

    #[test]
    fn an_empty_override_file_matches_and_no_base_matches_nothing() {
        assert_eq!(unmatched(""), Vec::<String>::new());
        assert_eq!(
            unmatched_override_blocks(&[], "variable \"a\" {}\nterraform {}\nprovider \"aws\" {}")
                .expect("valid"),
            [r#"variable "a""#]
        );
    }

    #[test]
    fn blocks_terraform_refuses_in_override_files_are_errors() {
        for (text, says) in [
            (
                "moved {\n  from = a.b\n  to = a.c\n}",
                "Cannot override 'moved' blocks",
            ),
            (
                "import {\n  to = a.b\n  id = \"x\"\n}",
                "Cannot override 'import' blocks",
            ),
            ("check \"health\" {}", "Can't override check blocks"),
            ("removed {\n  from = a.b\n}", "ignores `removed` blocks"),
            (
                "ephemeral \"random_password\" \"p\" {}",
                "ignores `ephemeral` blocks",
            ),
            ("required_providers {}", "inside a `terraform` block"),
            ("resources \"a\" \"b\" {}", "not a Terraform block type"),
            ("region = \"x\"", "top-level arguments"),
            (
                "resource \"aws_s3_bucket\" \"logs\" {\n  depends_on = [module.eks]\n}",
                "`depends_on` may not be overridden",
            ),
        ] {
            let err = unmatched_override_blocks(&[BASE_MAIN], text).expect_err(text);
            assert!(err.contains(says), "{text}: {err}");
        }
    }

    #[test]
    fn hcl_syntax_errors_carry_line_and_column() {
        let err = unmatched_override_blocks(&[BASE_MAIN], "resource \"a\" \"b\" {\n  x = \n}")
            .expect_err("syntax error");
        assert!(
            err.starts_with("the override file is not valid HCL"),
            "{err}"
        );
        assert!(err.contains("line 2, column 7"), "{err}");
        let err = unmatched_override_blocks(&[BASE_MAIN, "locals {"], "").expect_err("base");
        assert!(
            err.starts_with("base file 2 of 2 is not valid HCL"),
            "{err}"
        );
        assert!(err.contains("line 1"), "{err}");
    }
}

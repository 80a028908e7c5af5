//! Stage 1b — environment overlays: merge an overlay [`RawStack`] over the base, field by field.
//!
//! Scalars and lists set in the overlay replace the base; mappings merge recursively; `workers`
//! and `services` (and `static`) merge by `name` (an overlay changes only the base's items: one with another name is
//! refused by validation and left out here); `env` maps merge by key.

use std::collections::BTreeMap;

use super::*;

/// Field-wise merge of an overlay (`over`) onto a base (`self`).
pub trait Merge {
    /// Returns the base with everything the overlay sets replaced.
    fn merge(self, over: Self) -> Self;
}

impl<T> Merge for Option<Sp<T>> {
    fn merge(self, over: Self) -> Self {
        over.or(self)
    }
}

impl<T> Merge for Option<Vec<Sp<T>>> {
    fn merge(self, over: Self) -> Self {
        over.or(self)
    }
}

impl<T> Merge for Option<BTreeMap<String, Sp<T>>> {
    fn merge(self, over: Self) -> Self {
        match (self, over) {
            (Some(mut base), Some(over)) => {
                base.extend(over);
                Some(base)
            }
            (base, over) => over.or(base),
        }
    }
}

/// Merges `Option<Struct>` where the struct is itself [`Merge`].
fn merge_nested<T: Merge + Default>(base: Option<T>, over: Option<T>) -> Option<T> {
    match (base, over) {
        (Some(b), Some(o)) => Some(b.merge(o)),
        (b, o) => o.or(b),
    }
}

/// Implements [`Merge`] for a struct: `leaf` fields use the `Option` impls, `nested` fields recurse.
macro_rules! merge_struct {
    ($ty:ident { $($leaf:ident),* ; $($nested:ident),* }) => {
        impl Merge for $ty {
            fn merge(self, over: Self) -> Self {
                $ty {
                    $($leaf: self.$leaf.merge(over.$leaf),)*
                    $($nested: merge_nested(self.$nested, over.$nested),)*
                }
            }
        }
    };
}

merge_struct!(RawFrontend { image, port, command, env, secrets, migrate, postgres, queue, egress, calls ; health, metrics, replicas, resources, scaling, rollout });
merge_struct!(RawHealth { path ; });
merge_struct!(RawMetrics { path, port ; });
merge_struct!(RawReplicas { min, max ; });
merge_struct!(RawResources { cpu, memory ; });
merge_struct!(RawScaling { cpu ; });
merge_struct!(RawRollout { max_surge, max_unavailable ; });
merge_struct!(RawWorkerHealth { command ; });
merge_struct!(RawWorker { name, image, command, consumes, env, secrets, egress, postgres, queue, calls ; metrics, replicas, resources, health, scaling, rollout });
merge_struct!(RawService { name, image, port, command, env, secrets, postgres, queue, egress, calls, public ; health, metrics, replicas, resources, scaling, rollout });
merge_struct!(RawStatic { name, host, path, spa ; cache });
merge_struct!(RawCache { html, assets ; });
merge_struct!(RawQueue { ; rabbitmq });
merge_struct!(RawRabbitmq { version, replicas, storage, queues ; });
merge_struct!(RawPostgres { version, storage, ha, placement ; backup });
merge_struct!(RawBackup { retention_days, generation, recover_to ; });
merge_struct!(RawMonitoring { metrics, logs ; alerts });
merge_struct!(RawAlerts { slack_channel, webhook_secret ; });
merge_struct!(RawDns { provider, token_secret, zone ; });
impl Merge for RawTarget {
    fn merge(self, over: Self) -> Self {
        let mut settings = self.settings;
        settings.extend(over.settings);
        RawTarget {
            region: self.region.merge(over.region),
            project: self.project.merge(over.project),
            location: self.location.merge(over.location),
            kubernetes: self.kubernetes.merge(over.kubernetes),
            api_allowed_cidrs: self.api_allowed_cidrs.merge(over.api_allowed_cidrs),
            settings,
        }
    }
}

impl RawStack {
    /// Merges an environment overlay over this base. `name` and `environments` in an overlay are
    /// rejected by validation before this is called, so they are ignored here.
    pub fn with_overlay(self, over: RawStack) -> RawStack {
        RawStack {
            name: self.name,
            domain: self.domain.merge(over.domain),
            frontend: merge_nested(self.frontend, over.frontend),
            workers: merge_named(self.workers, over.workers, |w| &w.name),
            services: merge_named(self.services, over.services, |s| &s.name),
            static_sites: merge_named(self.static_sites, over.static_sites, |s| &s.name),
            queue: merge_nested(self.queue, over.queue),
            postgres: merge_nested(self.postgres, over.postgres),
            monitoring: merge_nested(self.monitoring, over.monitoring),
            dns: merge_nested(self.dns, over.dns),
            targets: merge_targets(self.targets, over.targets),
            // Set once, in the base spec (validation refuses them in an overlay).
            target_folders: self.target_folders,
            templates: self.templates,
            overrides: self.overrides,
            delivery: self.delivery,
            environments: None,
            // An overlay's own: the base may not set them (validation refuses it there).
            cluster: over.cluster,
            preview: over.preview,
        }
    }
}

/// Workers and services merge by name; overlay items with a name the base does not have are left
/// out (validation reports them at the overlay's line).
fn merge_named<T: Merge + Default>(
    base: Option<Vec<T>>,
    over: Option<Vec<T>>,
    name: fn(&T) -> &Option<Sp<String>>,
) -> Option<Vec<T>> {
    let Some(over) = over else { return base };
    let name_of = |t: &T| name(t).as_ref().map(|n| n.value.clone());
    let mut merged = base.unwrap_or_default();
    for item in over {
        let existing = merged
            .iter()
            .position(|w| name_of(w).is_some() && name_of(w) == name_of(&item));
        if let Some(i) = existing {
            let base_item = std::mem::take(&mut merged[i]);
            merged[i] = base_item.merge(item);
        }
    }
    Some(merged)
}

/// Target blocks merge by target id; each block merges field by field.
fn merge_targets(
    base: Option<BTreeMap<String, Sp<RawTarget>>>,
    over: Option<BTreeMap<String, Sp<RawTarget>>>,
) -> Option<BTreeMap<String, Sp<RawTarget>>> {
    let Some(over) = over else { return base };
    let mut merged = base.unwrap_or_default();
    for (id, block) in over {
        let value = match merged.remove(&id) {
            Some(b) => Sp(serde_saphyr::Spanned {
                value: b.0.value.merge(block.0.value),
                ..block.0
            }),
            None => block,
        };
        merged.insert(id, value);
    }
    Some(merged)
}

/// One diagnostic for each key an environment overlay sets to null (`postgres: ~`, or a key with
/// nothing after it). The typed spec cannot tell such a key from one the overlay does not set, so
/// it would silently keep the base's value; an overlay removes nothing.
pub fn overlay_nulls(file: &str, root: &tree::Node) -> Vec<Diagnostic> {
    fn walk(file: &str, env: &str, node: &tree::Node, path: &str, out: &mut Vec<Diagnostic>) {
        let tree::Value::Map(entries) = &node.value else {
            return;
        };
        for (key, value) in entries {
            let tree::Value::Str(name) = &key.value else {
                continue;
            };
            let path = format!("{path}.{name}");
            match &value.value {
                tree::Value::Null => out.push(
                    Diagnostic::new(
                        file,
                        key.pos,
                        &path,
                        format!("environment `{env}` sets `{name}` to nothing, which would keep the base spec's value"),
                    )
                    .hint("an overlay changes values and removes none: give it a value, or delete the key from the overlay"),
                ),
                tree::Value::Map(_) => walk(file, env, value, &path, out),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    let tree::Value::Map(top) = &root.value else {
        return out;
    };
    for (key, envs) in top {
        if !matches!(&key.value, tree::Value::Str(k) if k == "environments") {
            continue;
        }
        let tree::Value::Map(envs) = &envs.value else {
            continue;
        };
        for (env, overlay) in envs {
            if let tree::Value::Str(env) = &env.value {
                walk(file, env, overlay, &format!("environments.{env}"), &mut out);
            }
        }
    }
    out
}

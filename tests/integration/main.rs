//! Tests — the one integration test binary: snapshots of every example, determinism, the CLI's
//! write/diff/check contract, validation errors, and invariants over every rendered file.

mod accepted;
mod apply_order;
mod argocd;
mod backups;
mod bad_specs;
mod cli;
mod cli_flags;
mod consistency;
mod delivery;
mod dns;
mod dry_specs;
mod flows;
mod folder_targets;
mod invariants;
mod overrides;
mod posture;
mod property;
mod release;
mod rollout;
mod safe_writes;
mod schema;
mod shared_cluster;
mod snapshots;
mod spec_input;
mod static_sites;
mod support;
mod validation;

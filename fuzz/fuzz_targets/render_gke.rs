//! Fuzzing — arbitrary bytes through fredgen's load/parse, `validate_all` and the `gke` render
//! for every environment; see `common.rs` for what is asserted.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| common::run("gke", data));

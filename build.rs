//! Build — embeds `templates/` and `targets/`: writes, for each, a table of every file below it
//! (path with `/`, text through `include_str!`) to `$OUT_DIR`, which the crate `include!`s
//! (`src/render/templates.rs`, `src/backend/folder.rs`). Cargo reruns this when a file in either
//! folder is added, removed or changed, and `include_str!` tracks each file's text.
//!
//! A table rather than a crate: `include_dir` is no longer released, and minijinja-embed only
//! adds templates to an `Environment` (eagerly, every one compiled at start-up), while fredgen
//! also lists and prints them (`fredgen templates`), replaces them from a user's folder, and
//! embeds files that are not templates (`target.yaml`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    for (folder, table) in [("templates", "templates.rs"), ("targets", "targets.rs")] {
        println!("cargo:rerun-if-changed={folder}");
        let dir = root.join(folder);
        let mut files = Vec::new();
        collect(&dir, &dir, &mut files);
        files.sort();
        let mut code = String::from("&[\n");
        for (id, path) in files {
            writeln!(code, "    ({id:?}, include_str!({:?})),", path.display()).expect("a String");
        }
        code.push_str("]\n");
        std::fs::write(out.join(table), code).expect("OUT_DIR is writable");
    }
}

/// Every file below `dir`, as (its path below `root` joined with `/`, its path).
fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a readable folder").path();
        if path.is_dir() {
            collect(root, &path, out);
        } else {
            let rel = path.strip_prefix(root).expect("below root");
            let id: Vec<String> = rel
                .components()
                .map(|c| {
                    c.as_os_str()
                        .to_str()
                        .expect("UTF-8 file names")
                        .to_string()
                })
                .collect();
            out.push((id.join("/"), path));
        }
    }
}

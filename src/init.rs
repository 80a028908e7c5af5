//! CLI edge — `fredgen init`: writes the embedded, commented starter spec (never over an existing
//! file) and, when absent, the spec's JSON Schema next to it.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use fredgen::cli::InitArgs;
use fredgen::error::{Error, Result};

/// The starter spec: valid for every target and environment it declares.
const STARTER: &str = include_str!("init/fredgen.yaml");

/// The schema file the starter's first line points at, next to the spec.
const SCHEMA_FILE: &str = "fredgen.schema.json";

/// Runs `fredgen init`, telling `out` what was written.
pub fn run(args: &InitArgs, out: &mut impl Write) -> Result<u8> {
    let spec = &args.file;
    // `init -f stacks/shop.yaml` in a fresh directory: its folder is created, as `man -o` does.
    if let Some(dir) = spec.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))?;
    }
    match create_new(spec, STARTER) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            return Err(Error::usage(
                format!(
                    "`{}` already exists; fredgen init never overwrites a file",
                    spec.display()
                ),
                "edit the existing spec, move it away, or write the starter elsewhere with `fredgen init -f <file>`",
            ));
        }
        Err(e) => return Err(Error::io("creating", spec, e)),
    }
    let _ = writeln!(out, "wrote {}", spec.display());

    let schema = schema_path(spec);
    match create_new(&schema, &fredgen::spec::schema_json()) {
        Ok(()) => {
            let _ = writeln!(out, "wrote {}", schema.display());
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            let _ = writeln!(
                out,
                "kept {} (it exists; `fredgen schema` prints the current schema)",
                schema.display()
            );
        }
        Err(e) => return Err(Error::io("creating", schema, e)),
    }

    let file_arg = if spec == Path::new("fredgen.yaml") {
        String::new()
    } else {
        format!(" -f {}", spec.display())
    };
    let _ = writeln!(
        out,
        "next: edit {}, then run `fredgen validate{file_arg}` and `fredgen render{file_arg} --target eks --env prod`",
        spec.display()
    );
    Ok(0)
}

/// `fredgen.schema.json` in the spec's directory.
fn schema_path(spec: &Path) -> PathBuf {
    spec.parent()
        .unwrap_or_else(|| Path::new(""))
        .join(SCHEMA_FILE)
}

/// Creates `path` only if nothing (not even a dangling link) is there, and writes `text`;
/// removes the file again when writing fails.
fn create_new(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
    let written = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all());
    if written.is_err() {
        let _ = fs::remove_file(path);
    }
    written
}

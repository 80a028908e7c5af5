//! Build — rebuild when a template or a shipped folder target changes: both are embedded with
//! `include_dir!`.

fn main() {
    println!("cargo:rerun-if-changed=templates");
    println!("cargo:rerun-if-changed=targets");
}

//! Tests — the JSON Schema: the committed `schema/fredgen.schema.json` is what `fredgen schema`
//! prints, and every shipped spec satisfies it.

use crate::support::root;

#[test]
fn the_committed_schema_is_the_generated_one() {
    let path = root().join("schema/fredgen.schema.json");
    let generated = fredgen::spec::schema_json();
    if std::env::var_os("FREDGEN_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).expect("write schema");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "schema/fredgen.schema.json is out of date; regenerate it with \
         `FREDGEN_UPDATE_SCHEMA=1 cargo test schema` and commit the result"
    );
}

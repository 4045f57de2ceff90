//! The README's rule table is generated from the rule registry; keep them equal.

#[test]
fn readme_lists_every_rule_as_the_registry_does() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = starflake::diagnostic::rules_markdown();
    assert!(
        readme.contains(&table),
        "README.md's rule table is stale; replace it with the output of `starflake rules --format markdown`:\n{table}"
    );
}

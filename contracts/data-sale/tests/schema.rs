//! The committed JSON schema (`schema/`) is the one the code generates: the example
//! `examples/schema.rs` writes it, and this test writes it again into a scratch directory and
//! compares every file, so a message changed without regenerating the schema fails the suite.
//!
//! `write_api!` writes under the current directory, so this file holds one test only: an
//! integration test file is a process of its own, and nothing else here depends on the directory.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use cosmwasm_schema::write_api;
use data_sale::msg::{ExecuteMsg, InstantiateMsg, QueryMsg};

/// Every file under `dir`, by its path relative to `dir`, with its contents.
fn files(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut found = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in fs::read_dir(&current).expect("a readable schema directory") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let text = fs::read_to_string(&path).expect("a readable schema file");
                let relative = path.strip_prefix(dir).expect("under dir").to_path_buf();
                found.insert(relative, text);
            }
        }
    }
    found
}

#[test]
fn committed_schema_matches_the_code() {
    let committed = files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("schema"));
    let scratch = std::env::temp_dir().join(format!("data-sale-schema-{}", std::process::id()));
    fs::create_dir_all(&scratch).unwrap();
    std::env::set_current_dir(&scratch).unwrap();
    write_api! {
        instantiate: InstantiateMsg,
        execute: ExecuteMsg,
        query: QueryMsg,
    }
    let generated = files(&scratch.join("schema"));
    fs::remove_dir_all(&scratch).unwrap();

    let stale: Vec<_> = generated
        .iter()
        .filter(|(path, text)| committed.get(*path) != Some(*text))
        .map(|(path, _)| path.display().to_string())
        .chain(
            committed
                .keys()
                .filter(|path| !generated.contains_key(*path))
                .map(|path| format!("{} (no longer generated)", path.display())),
        )
        .collect();
    assert!(
        stale.is_empty(),
        "the committed JSON schema of data-sale is out of date ({}): run \
         `cargo run --example schema` in contracts/data-sale and commit contracts/data-sale/schema",
        stale.join(", ")
    );
}

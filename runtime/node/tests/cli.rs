//! Runs the real `consign` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{bail, Context, Result};

const GOOD: &str = r#"(module
    (import "env" "db_read" (func (param i32) (result i32)))
    (memory (export "memory") 17)
    (func (export "allocate") (param i32) (result i32) local.get 0)
    (func (export "deallocate") (param i32))
    (func (export "interface_version_8"))
    (func (export "requires_iterator"))
    (func (export "instantiate") (param i32 i32 i32) (result i32) i32.const 0)
    (func (export "execute") (param i32 i32 i32) (result i32)
        (memory.copy (i32.const 0) (i32.const 8) (i32.const 8))
        i32.const 0)
    (func (export "query") (param i32 i32) (result i32) i32.const 0))"#;

const BAD: &str = r#"(module
    (import "env" "consign_teleport" (func (param i32)))
    (memory (export "memory") 17)
    (func (export "allocate") (param i32) (result i32) local.get 0)
    (func (export "interface_version_8")))"#;

const NEEDS_STARGATE: &str = r#"(module
    (memory (export "memory") 17)
    (func (export "allocate") (param i32) (result i32) local.get 0)
    (func (export "deallocate") (param i32))
    (func (export "interface_version_8"))
    (func (export "requires_stargate")))"#;

const NEEDS_IBC2: &str = r#"(module
    (memory (export "memory") 17)
    (func (export "allocate") (param i32) (result i32) local.get 0)
    (func (export "deallocate") (param i32))
    (func (export "interface_version_8"))
    (func (export "requires_ibc2")))"#;

fn write_wasm(dir: &Path, name: &str, wat: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, wat::parse_str(wat)?)?;
    Ok(path)
}

fn consign(args: &[&str], dir: &Path) -> Result<Output> {
    Command::new(env!("CARGO_BIN_EXE_consign"))
        .args(args)
        .current_dir(dir)
        .env_remove("CONSIGN_OUTPUT")
        .env_remove("CONSIGN_CAPABILITIES")
        .env_remove("RUST_LOG")
        .output()
        .context("running consign")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn check_accepts_a_good_contract() -> Result<()> {
    let dir = tempfile::tempdir()?;
    write_wasm(dir.path(), "good.wasm", GOOD)?;
    let output = consign(&["check", "good.wasm"], dir.path())?;
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    assert!(
        first.starts_with("good.wasm: accepted (checksum "),
        "{text}"
    );
    assert!(first.ends_with(" B)"), "{text}");
    assert_eq!(
        lines.next(),
        Some("  entry points: instantiate, execute, query")
    );
    assert_eq!(lines.next(), Some("  requires: iterator"));
    Ok(())
}

#[test]
fn check_rejects_and_lists_every_problem() -> Result<()> {
    let dir = tempfile::tempdir()?;
    write_wasm(dir.path(), "good.wasm", GOOD)?;
    write_wasm(dir.path(), "bad.wasm", BAD)?;
    let output = consign(&["check", "good.wasm", "bad.wasm"], dir.path())?;
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("good.wasm: accepted"), "{text}");
    assert!(
        text.contains(
            "bad.wasm: rejected\n  - [missing-export] missing required export \"deallocate\""
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "  - [unknown-import] the contract imports env.consign_teleport, which this runtime \
         does not provide (it provides: db_read,"
        ),
        "{text}"
    );
    Ok(())
}

#[test]
fn check_json_output() -> Result<()> {
    let dir = tempfile::tempdir()?;
    write_wasm(dir.path(), "good.wasm", GOOD)?;
    write_wasm(dir.path(), "bad.wasm", BAD)?;
    let output = consign(
        &["--output", "json", "check", "good.wasm", "bad.wasm"],
        dir.path(),
    )?;
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let reports = json.as_array().context("an array")?;
    assert_eq!(reports.len(), 2);
    let good = &reports[0];
    assert_eq!(good["file"], "good.wasm");
    assert_eq!(good["accepted"], true);
    assert_eq!(good["checksum"].as_str().map(str::len), Some(64));
    assert_eq!(
        good["size"],
        std::fs::metadata(dir.path().join("good.wasm"))?.len()
    );
    assert_eq!(
        good["entry_points"],
        serde_json::json!(["instantiate", "execute", "query"])
    );
    assert_eq!(
        good["required_capabilities"],
        serde_json::json!(["iterator"])
    );
    assert_eq!(good["imports"], serde_json::json!(["env.db_read"]));
    assert_eq!(good["problems"], serde_json::json!([]));
    let bad = &reports[1];
    assert_eq!(bad["accepted"], false);
    let rules: Vec<&str> = bad["problems"]
        .as_array()
        .context("problems")?
        .iter()
        .filter_map(|p| p["rule"].as_str())
        .collect();
    assert_eq!(rules, ["missing-export", "unknown-import"]);
    Ok(())
}

#[test]
fn check_with_extra_capability() -> Result<()> {
    let dir = tempfile::tempdir()?;
    // `stargate` is offered: the chain routes protobuf messages and queries by type URL.
    // So are the contracts built with cosmwasm-std's `stargate` feature, like the test contract
    // that sends and queries through it (scripts/build-contracts.sh).
    write_wasm(dir.path(), "stargate.wasm", NEEDS_STARGATE)?;
    let built = std::env::var_os("CONSIGN_CONTRACTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/contracts"))
        .join("stargazer.wasm");
    let built = built.to_str().context("contracts directory path")?;
    let output = consign(&["check", "stargate.wasm", built], dir.path())?;
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    // IBC is not, unless asked for.
    write_wasm(dir.path(), "ibc2.wasm", NEEDS_IBC2)?;
    let output = consign(&["check", "ibc2.wasm"], dir.path())?;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("[unavailable-capability] the contract needs capability \"ibc2\"")
    );
    let output = consign(&["check", "--capability", "ibc2", "ibc2.wasm"], dir.path())?;
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    Ok(())
}

#[test]
fn check_unreadable_file_exits_2() -> Result<()> {
    let dir = tempfile::tempdir()?;
    write_wasm(dir.path(), "good.wasm", GOOD)?;
    let output = consign(&["check", "good.wasm", "missing.wasm"], dir.path())?;
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(text.contains("good.wasm: accepted"), "{text}");
    assert!(
        text.contains("missing.wasm: rejected\n  - [read-error] cannot read missing.wasm: "),
        "{text}"
    );
    Ok(())
}

#[test]
fn usage_errors_exit_2() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let output = consign(&["check"], dir.path())?;
    assert_eq!(output.status.code(), Some(2));
    let output = consign(&["--output", "yaml", "check", "a.wasm"], dir.path())?;
    assert_eq!(output.status.code(), Some(2));
    Ok(())
}

#[test]
fn help_teaches_with_examples() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let output = consign(&["--help"], dir.path())?;
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).contains("consign check target/contracts/cw20_base.wasm"));
    let output = consign(&["check", "--help"], dir.path())?;
    let text = stdout(&output);
    assert!(
        text.contains("Exit status: 0 if every file is accepted"),
        "{text}"
    );
    assert!(text.contains("--capability <NAME>"), "{text}");
    Ok(())
}

/// Where `scripts/build-contracts.sh` puts the contracts: `$CONSIGN_CONTRACTS_DIR`, or
/// `target/contracts` in the workspace root.
fn contracts_dir() -> PathBuf {
    std::env::var_os("CONSIGN_CONTRACTS_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/contracts"),
        PathBuf::from,
    )
}

fn contract(name: &str) -> Result<PathBuf> {
    let path = contracts_dir().join(name);
    if !path.is_file() {
        bail!(
            "{} is missing: run scripts/build-contracts.sh first (or set CONSIGN_CONTRACTS_DIR)",
            path.display()
        );
    }
    Ok(path)
}

#[test]
fn real_contracts() -> Result<()> {
    let cw20 = contract("cw20_base.wasm")?;
    let bad_import = contract("bad_import.wasm")?;
    let no_interface = contract("no_interface.wasm")?;
    let dir = tempfile::tempdir()?;
    let path = |p: &PathBuf| p.display().to_string();

    let output = consign(&["check", &path(&cw20)], dir.path())?;
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(
        text.contains("  entry points: instantiate, execute, query, migrate"),
        "{text}"
    );

    let output = consign(&["check", &path(&bad_import)], dir.path())?;
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("[unknown-import]"), "{text}");

    let output = consign(&["check", &path(&no_interface)], dir.path())?;
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("[interface-version]"), "{text}");

    let simd = contract("simd.wasm")?;
    let output = consign(&["check", &path(&simd)], dir.path())?;
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("[wasm-feature] SIMD is not allowed"),
        "{text}"
    );
    Ok(())
}

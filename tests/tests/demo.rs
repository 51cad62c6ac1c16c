//! `consign demo`, the README's first command, run as a user runs it: to its end, with the
//! mission's steps in its narration.

use std::process::Command;

use consign_tests::{consign_bin, contract};

#[test]
fn the_demo_plays_the_whole_story() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(consign_bin())
        .args(["demo", "--dir"])
        .arg(dir.path().join("demo"))
        .arg("--wasm")
        .arg(contract("data_sale"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "consign demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for step in [
        "A local chain starts",
        "Three storage nodes start",
        "The seller sells, in advance, 2 of 3",
        "The seller goes offline",
        "nothing of where the data is",
        "The buyer purchases, writing the delivery address into the contract",
        "Storage node 1 goes down before the purchase",
        "delivery instruction #1 recorded by the runtime",
        "Two storage nodes deliver; the inbox rebuilds and verifies",
        // Named with the extension the seller published (`sell --extension csv`).
        "Weather_readings_2026-1.csv",
        "the escrow pays the seller",
        "purchase 1: released",
        // Each node's directory against its own key, and the buyer's rebuilt key.
        "No storage node can read what it holds; the buyer can",
        "whose ciphertext `age -d` with that key refuses",
        "opens the ciphertext rebuilt from fragments 0 and 2",
        "consign dev",
    ] {
        assert!(stdout.contains(step), "missing {step:?} in:\n{stdout}");
    }
    // Each numbered step says how long it took.
    let timed = stdout
        .lines()
        .filter(|l| {
            l.trim_start()
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        })
        .filter(|l| l.trim_end().ends_with(" ms)") || l.trim_end().ends_with(" s)"))
        .count();
    assert_eq!(timed, 13, "{stdout}");
}

#[test]
fn the_demo_as_json_is_one_object_per_step() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(consign_bin())
        .args(["--output", "json", "demo", "--size", "64KiB", "--dir"])
        .arg(dir.path().join("demo"))
        .arg("--wasm")
        .arg(contract("data_sale"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let steps: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(steps.len(), 13);
    assert!(steps.iter().all(|s| s["ms"].as_f64().is_some()));
}

//! `docs/CLI.md`, the command reference, is the `--help` of every `consign` and
//! `consign-storage` command, generated: this test renders it from the binaries and fails when
//! the committed file differs. `UPDATE_CLI_REFERENCE=1 cargo test -p consign-tests --test
//! cli_reference` rewrites it.

use std::path::{Path, PathBuf};
use std::process::Command;

use consign_tests::{consign_bin, workspace_bin};

/// The commands under "Commands:" in a help text (without `help`).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .map(|name| name.trim_end_matches(',').to_owned())
        .filter(|name| name != "help")
        .collect()
}

fn help(bin: &Path, path: &[String]) -> String {
    let out = Command::new(bin)
        .args(path)
        .arg("--help")
        // The help must not depend on who runs it.
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    assert!(out.status.success(), "{path:?} --help failed");
    String::from_utf8(out.stdout).unwrap()
}

fn render(bin: &Path, name: &str, path: &mut Vec<String>, doc: &mut String) {
    let text = help(bin, path);
    let title = std::iter::once(name.to_owned())
        .chain(path.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    let depth = path.len().min(3) + 2;
    doc.push_str(&format!(
        "{} `{title}`\n\n```text\n{}```\n\n",
        "#".repeat(depth),
        text
    ));
    for sub in subcommands(&text) {
        path.push(sub);
        render(bin, name, path, doc);
        path.pop();
    }
}

fn reference_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/CLI.md")
}

#[test]
fn the_command_reference_matches_the_help() {
    let mut doc = String::from(
        "# Command reference\n\n\
         Generated from `--help` by `tests/tests/cli_reference.rs`, which fails when this file and \
         the binaries disagree; regenerate with\n\
         `UPDATE_CLI_REFERENCE=1 cargo test -p consign-tests --test cli_reference`.\n\n",
    );
    render(&consign_bin(), "consign", &mut Vec::new(), &mut doc);
    render(
        &workspace_bin("consign-storage", "CONSIGN_STORAGE_BIN"),
        "consign-storage",
        &mut Vec::new(),
        &mut doc,
    );
    let path = reference_path();
    if std::env::var_os("UPDATE_CLI_REFERENCE").is_some() {
        std::fs::write(&path, &doc).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != doc {
        let first = committed
            .lines()
            .zip(doc.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(committed.lines().count().min(doc.lines().count()));
        panic!(
            "docs/CLI.md is out of date (first difference at line {}: {:?}); regenerate it with \
             UPDATE_CLI_REFERENCE=1 cargo test -p consign-tests --test cli_reference",
            first + 1,
            doc.lines().nth(first)
        );
    }
}

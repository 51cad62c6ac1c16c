//! `consign check FILE.wasm…`: runs the VM's upload checks on contract files and reports, per
//! file, either what the contract offers and needs or every rule it breaks.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use consign_util::size::format_size;
use consign_vm::checks::{check_wasm, CheckConfig, CheckReport};
use serde::Serialize;

use super::{OutputFormat, Session, EXIT_OK, EXIT_REJECTED, EXIT_USAGE};

/// Long help of `consign check`.
pub(super) const LONG_ABOUT: &str = "\
Check contract wasm files against the upload rules, like cosmwasm-check.

Every rule a contract breaks is reported, not only the first: the exports a CosmWasm contract
must have (memory, allocate, deallocate, interface_version_8), the imports the runtime provides
and their signatures, the capabilities it offers, the allowed wasm features (no SIMD, threads
or exceptions; bulk memory is fine), and size limits on code, memory, tables and functions.

Exit status: 0 if every file is accepted, 1 if any is rejected, 2 for a usage error or a file
that cannot be read.";

/// Examples for `consign check --help`.
pub(super) const EXAMPLES: &str = "\
Examples:
  consign check target/contracts/cw20_base.wasm
  consign check a.wasm b.wasm
  consign check --capability ibc2 contract.wasm
  consign check --output json target/contracts/*.wasm | jq '.[] | select(.accepted | not)'";

/// Arguments of `consign check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Contract wasm files to check.
    #[arg(required = true, value_name = "FILE.wasm")]
    pub files: Vec<PathBuf>,

    /// Offer this capability too, besides the runtime's own (repeatable, or comma-separated).
    #[arg(
        long = "capability",
        value_name = "NAME",
        value_delimiter = ',',
        env = "CONSIGN_CAPABILITIES"
    )]
    pub capabilities: Vec<String>,
}

/// One problem, as printed: the rule broken and a message for people.
#[derive(Debug, Clone, Serialize)]
struct Problem {
    rule: String,
    message: String,
}

/// The result for one file, as printed (JSON: one object per file).
#[derive(Debug, Clone, Serialize)]
struct FileReport {
    file: String,
    accepted: bool,
    /// Absent (null) if the file could not be read.
    checksum: Option<String>,
    size: Option<usize>,
    entry_points: Vec<String>,
    required_capabilities: BTreeSet<String>,
    imports: Vec<String>,
    problems: Vec<Problem>,
    /// Set when the file could not be read; not printed in JSON (the problem says it).
    #[serde(skip)]
    unreadable: bool,
}

impl FileReport {
    fn from_check(file: String, report: CheckReport) -> Self {
        Self {
            file,
            accepted: report.is_ok(),
            checksum: Some(report.checksum.to_hex()),
            size: Some(report.size),
            entry_points: report.entry_points,
            required_capabilities: report.required_capabilities,
            imports: report.imports,
            problems: report
                .problems
                .iter()
                .map(|p| Problem {
                    rule: p.rule().to_owned(),
                    message: p.to_string(),
                })
                .collect(),
            unreadable: false,
        }
    }

    fn unreadable(file: String, error: &std::io::Error) -> Self {
        Self {
            accepted: false,
            checksum: None,
            size: None,
            entry_points: Vec::new(),
            required_capabilities: BTreeSet::new(),
            imports: Vec::new(),
            problems: vec![Problem {
                rule: "read-error".to_owned(),
                message: format!("cannot read {file}: {error}"),
            }],
            file,
            unreadable: true,
        }
    }
}

/// Checks every file and writes the reports to `out`; returns the exit status ([`EXIT_OK`],
/// [`EXIT_REJECTED`], or [`EXIT_USAGE`] if a file could not be read).
///
/// # Errors
///
/// Fails only if `out` cannot be written.
pub fn run(args: &CheckArgs, session: &Session, out: &mut impl Write) -> anyhow::Result<u8> {
    let output = session.output;
    let config = CheckConfig::default().with_capabilities(args.capabilities.iter().cloned());
    let reports: Vec<FileReport> = args.files.iter().map(|f| check_file(f, &config)).collect();
    match output {
        OutputFormat::Text => {
            for report in &reports {
                write_text(report, out)?;
            }
        }
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &reports)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    let code = if reports.iter().any(|r| r.unreadable) {
        EXIT_USAGE
    } else if reports.iter().all(|r| r.accepted) {
        EXIT_OK
    } else {
        EXIT_REJECTED
    };
    Ok(code)
}

fn check_file(path: &Path, config: &CheckConfig) -> FileReport {
    let file = path.display().to_string();
    match std::fs::read(path) {
        Ok(wasm) => {
            let report = check_wasm(&wasm, config);
            tracing::debug!(
                target: "runtime::cli",
                file,
                accepted = report.is_ok(),
                problems = report.problems.len(),
                "checked contract"
            );
            FileReport::from_check(file, report)
        }
        Err(error) => FileReport::unreadable(file, &error),
    }
}

fn write_text(report: &FileReport, out: &mut impl Write) -> std::io::Result<()> {
    if !report.accepted {
        writeln!(out, "{}: rejected", report.file)?;
        for problem in &report.problems {
            writeln!(out, "  - [{}] {}", problem.rule, problem.message)?;
        }
        return Ok(());
    }
    let checksum = report.checksum.as_deref().unwrap_or("-");
    let size = report.size.map_or_else(
        || "-".to_owned(),
        |size| format_size(u64::try_from(size).unwrap_or(u64::MAX)),
    );
    writeln!(
        out,
        "{}: accepted (checksum {checksum}, {size})",
        report.file
    )?;
    writeln!(
        out,
        "  entry points: {}",
        list_or_none(&report.entry_points)
    )?;
    writeln!(
        out,
        "  requires: {}",
        list_or_none(&report.required_capabilities)
    )?;
    Ok(())
}

fn list_or_none<'a>(items: impl IntoIterator<Item = &'a String>) -> String {
    let items: Vec<&str> = items.into_iter().map(String::as_str).collect();
    if items.is_empty() {
        "(none)".to_owned()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_file_is_rejected_with_exit_2() {
        let args = CheckArgs {
            files: vec![PathBuf::from("/nonexistent/contract.wasm")],
            capabilities: Vec::new(),
        };
        let mut out = Vec::new();
        let session = Session::new(OutputFormat::Text).unwrap();
        let code = run(&args, &session, &mut out).unwrap();
        assert_eq!(code, EXIT_USAGE);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("/nonexistent/contract.wasm: rejected\n  - [read-error] cannot read")
        );
    }
}

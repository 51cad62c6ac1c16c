//! What a node prints once it serves (`consign dev`, `consign start`), and the dev accounts'
//! list (those and `consign init`, `consign testnet`): one JSON line with `--output json`, else
//! a few aligned lines for a person.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::OutputFormat;

/// A dev account, as printed.
#[derive(Debug, Serialize)]
pub(super) struct DevAccount {
    pub name: String,
    pub address: String,
}

/// The text form of a node's startup report.
pub(super) struct Banner<'a> {
    /// The first line: the chain, its height, the home.
    pub headline: String,
    /// `label: value` lines, their values aligned.
    pub fields: Vec<(&'a str, String)>,
    /// The dev accounts and their keyring, when the node made them.
    pub accounts: Option<(&'a Path, &'a [DevAccount])>,
    /// How to stop it: a hint for the person, written to stderr, not part of the report.
    pub hint: &'a str,
}

/// Prints that the node serves: `report` as one JSON line, or `banner` as text.
///
/// # Errors
///
/// When `out` cannot be written.
pub(super) fn print_started(
    report: &impl Serialize,
    banner: &Banner<'_>,
    output: OutputFormat,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match output {
        OutputFormat::Json => {
            serde_json::to_writer(&mut *out, report)?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            writeln!(out, "{}", banner.headline)?;
            let width = banner
                .fields
                .iter()
                .map(|(label, _)| label.len() + 1)
                .max()
                .unwrap_or(0);
            for (label, value) in &banner.fields {
                writeln!(out, "{:width$} {value}", format!("{label}:"))?;
            }
            if let Some((keyring, accounts)) = banner.accounts {
                write_accounts(keyring, accounts, out)?;
            }
            eprintln!("{}", banner.hint);
        }
    }
    out.flush()?;
    Ok(())
}

/// The dev accounts, one a line under a heading that says where their keys are and that they
/// hold no real value.
///
/// # Errors
///
/// When `out` cannot be written.
pub(super) fn write_accounts(
    keyring: &Path,
    accounts: &[DevAccount],
    out: &mut impl Write,
) -> anyhow::Result<()> {
    writeln!(
        out,
        "dev accounts (keys in {}; anyone can derive them, never hold real value):",
        keyring.display()
    )?;
    let width = accounts.iter().map(|a| a.name.len()).max().unwrap_or(0);
    for account in accounts {
        writeln!(out, "  {:width$}  {}", account.name, account.address)?;
    }
    Ok(())
}

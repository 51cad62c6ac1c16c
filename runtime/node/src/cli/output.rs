//! How commands print: `--output text|json`, JSON documents, a transaction's result, and a
//! broadcast's outcome with its exit status.

use std::io::Write;

use clap::ValueEnum;
use consign_client::{Broadcast, ClientError, Coin, TxResult};
use serde::Serialize;

use super::{EXIT_OK, EXIT_REJECTED};

/// How results are printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text.
    Text,
    /// JSON, one document per command.
    Json,
}

/// Writes `value` as JSON: pretty for people, one compact line for scripts.
pub fn print_json(
    value: &impl Serialize,
    output: OutputFormat,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match output {
        OutputFormat::Text => serde_json::to_writer_pretty(&mut *out, value)?,
        OutputFormat::Json => serde_json::to_writer(&mut *out, value)?,
    }
    writeln!(out)?;
    Ok(())
}

/// What a refused transaction prints with `--output json`, in the shape of a result.
#[derive(Serialize)]
struct Refusal<'a> {
    txhash: Option<String>,
    code: u32,
    log: &'a str,
}

/// Reports a broadcast's outcome: a committed success through `on_success`; a failure in the
/// block or a refusal on stderr (and, with `--output json`, as JSON on stdout); a transaction
/// only accepted into the mempool by its hash. Returns the exit status.
///
/// # Errors
///
/// If the node could not be reached or answered with an error other than a refusal, or `out`
/// cannot be written.
pub fn report<W: Write>(
    outcome: Result<Broadcast, ClientError>,
    output: OutputFormat,
    out: &mut W,
    on_success: impl FnOnce(&TxResult, OutputFormat, &mut W) -> anyhow::Result<()>,
) -> anyhow::Result<u8> {
    match outcome {
        Ok(Broadcast::Committed(result)) if result.code == 0 => {
            on_success(&result, output, out)?;
            Ok(EXIT_OK)
        }
        Ok(Broadcast::Committed(result)) => {
            // The reason goes to stderr once; scripts reading `--output json` get the result.
            if output == OutputFormat::Json {
                print_result(&result, output, out)?;
            }
            eprintln!(
                "error: transaction {} failed in block {} (code {}): {}",
                result.txhash, result.height, result.code, result.log
            );
            Ok(EXIT_REJECTED)
        }
        Ok(Broadcast::Checked(check)) => {
            match output {
                OutputFormat::Json => writeln!(out, "{}", serde_json::to_string(&check)?)?,
                OutputFormat::Text => writeln!(
                    out,
                    "txhash: {}\naccepted into the mempool; see the result with `consign query tx {}`",
                    check.txhash, check.txhash
                )?,
            }
            Ok(EXIT_OK)
        }
        Err(ClientError::Refused {
            message,
            code,
            txhash,
        }) => {
            if output == OutputFormat::Json {
                let refusal = Refusal {
                    txhash: txhash.map(|h| h.to_string()),
                    code,
                    log: &message,
                };
                writeln!(out, "{}", serde_json::to_string(&refusal)?)?;
            }
            let hash = txhash.map(|h| format!(" {h}")).unwrap_or_default();
            eprintln!("error: transaction{hash} refused by the node (code {code}): {message}");
            Ok(EXIT_REJECTED)
        }
        Err(error) => Err(error.into()),
    }
}

/// Prints a committed result: the whole [`TxResult`] as one JSON object, or a short summary.
pub fn print_result(
    result: &TxResult,
    output: OutputFormat,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if output == OutputFormat::Json {
        writeln!(out, "{}", serde_json::to_string(result)?)?;
        return Ok(());
    }
    writeln!(out, "txhash: {}", result.txhash)?;
    writeln!(out, "height: {}", result.height)?;
    if result.code == 0 {
        writeln!(out, "code: 0 (ok)")?;
    } else {
        writeln!(out, "code: {} (failed)", result.code)?;
        writeln!(out, "log: {}", result.log)?;
    }
    writeln!(
        out,
        "gas: {} used of {}",
        result.gas_used, result.gas_wanted
    )?;
    if let Some(code_id) = result.code_id {
        writeln!(out, "code_id: {code_id}")?;
    }
    if let Some(address) = &result.contract_address {
        writeln!(out, "contract_address: {address}")?;
    }
    if !result.deliveries.is_empty() {
        let sequences: Vec<String> = result
            .deliveries
            .iter()
            .map(|d| d.sequence.to_string())
            .collect();
        writeln!(out, "deliveries: {}", sequences.join(", "))?;
    }
    Ok(())
}

/// An error and its causes on one line, `outer: cause: root`, each text once: a cause already
/// contained in what is written (a thiserror message that embeds its `#[source]`, an io error's
/// own text repeated by the layer above) is not written again.
pub fn error_message(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if cause.is_empty() || message.contains(&cause) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&cause);
    }
    message
}

/// Coins as the command line writes them: `100ucsn,5foo`.
pub fn coins_to_string(coins: &[Coin]) -> String {
    coins
        .iter()
        .map(|c| format!("{}{}", c.amount, c.denom))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cause_is_written_once() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let text = io.to_string();
        let error = anyhow::Error::new(io)
            .context(format!("wrapped: {text}"))
            .context("cannot read offer.bin");
        assert_eq!(
            error_message(&error),
            format!("cannot read offer.bin: wrapped: {text}")
        );
        let error = anyhow::anyhow!("root").context("middle").context("top");
        assert_eq!(error_message(&error), "top: middle: root");
    }
}

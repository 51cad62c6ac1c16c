//! Transactions that are not signed and broadcast in one go, as wasmd's flags and commands
//! have them: `--dry-run` (simulate on the node, print the gas estimate and the result,
//! broadcast nothing), `--generate-only` (print the unsigned transaction), `consign tx sign`
//! (sign such a file, without the node) and `consign tx broadcast` (send a signed file).

use std::io::{Read as _, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use consign_client::{validate_address, ClientError, Keyring, Msg, Simulation, Tx, TxBody};
use serde::{Deserialize, Serialize};

use super::args::{BroadcastOptions, FromArg, NodeArgs, TxOptions};
use super::broadcast::{prepare, Gas, Signer};
use super::output::{print_json, print_result, report};
use super::{OutputFormat, Session, EXIT_OK, EXIT_REJECTED};

/// `--dry-run` and `--generate-only`.
#[derive(Debug, Clone, Args)]
pub struct OfflineFlags {
    /// Simulate the transaction on the node against its last block and print the gas estimate
    /// (the gas used times --gas-adjustment) and what it would do; nothing is signed into a
    /// block or broadcast, and the exit status is 1 if it would fail.
    #[arg(long, global = true, conflicts_with = "generate_only")]
    pub dry_run: bool,

    /// Print the transaction unsigned, as JSON, for `consign tx sign`; nothing is signed or
    /// broadcast. --from may be an address outside the keyring. The node is asked only for
    /// what --chain-id, --sequence, --gas N and --fees leave out.
    #[arg(long, global = true)]
    pub generate_only: bool,
}

/// `consign tx sign`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct SignArgs {
    /// The unsigned transaction, as `--generate-only` prints it; `-` reads standard input.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The signer: it must be the transaction's sender.
    #[command(flatten)]
    pub from: FromArg,
    /// Write the signed transaction to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output_document: Option<PathBuf>,
    /// Sign for this chain id instead of the file's.
    #[arg(long, value_name = "ID")]
    pub chain_id: Option<String>,
    /// Sign with this account sequence instead of the file's.
    #[arg(long, value_name = "N")]
    pub sequence: Option<u64>,
}

/// `consign tx broadcast`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct BroadcastArgs {
    /// The signed transaction, as `consign tx sign` prints it; `-` reads standard input.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// How to broadcast it.
    #[command(flatten)]
    pub broadcast: BroadcastOptions,
}

/// A transaction as `--generate-only` prints it: its body, unsigned.
#[derive(Debug, Clone, Serialize)]
struct UnsignedTx {
    body: TxBody,
}

/// What `consign tx sign` reads: an unsigned transaction, or a signed one (signed again, so a
/// file can be re-signed with new overrides). Nothing else: a wrong file is refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TxFile {
    body: TxBody,
    #[serde(default, rename = "public_key")]
    _public_key: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "signature")]
    _signature: Option<serde::de::IgnoredAny>,
}

/// What `--dry-run` prints with `--output json`: the simulation and the gas it suggests.
#[derive(Serialize)]
struct DryRun<'a> {
    gas_estimate: u64,
    #[serde(flatten)]
    simulation: &'a Simulation,
}

/// Reads `file`, or standard input for `-`.
fn read_input(file: &Path) -> anyhow::Result<Vec<u8>> {
    if file == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("cannot read the transaction from standard input")?;
        return Ok(bytes);
    }
    std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))
}

/// Who `from` is: a key of the keyring (which can sign and simulate), else an address.
fn signer(keyring: &Keyring, from: &str, address_only: bool) -> anyhow::Result<Signer> {
    if address_only {
        // Someone signs it later: the address is all it needs, and the keyring's public part
        // gives it without the `file` backend's passphrase.
        if let Ok(info) = keyring.info(from) {
            return Ok(Signer::Address(info.address));
        }
    }
    match keyring.get(from) {
        Ok(key) => Ok(Signer::Key(key.secret_key().clone())),
        Err(_) if validate_address(from).is_ok() => Ok(Signer::Address(from.to_owned())),
        Err(e) => Err(e).with_context(|| {
            format!("`{from}` is neither a key in the keyring nor a valid address")
        }),
    }
}

/// Carries out `--dry-run` or `--generate-only` for `messages` from `from`.
///
/// # Errors
///
/// If the key cannot be read, the node cannot be reached when it is needed, or `out` cannot be
/// written.
pub fn run(
    flags: &OfflineFlags,
    node: &NodeArgs,
    options: &TxOptions,
    from: &str,
    messages: Vec<Msg>,
    session: &Session,
    out: &mut impl Write,
) -> anyhow::Result<u8> {
    // `--generate-only` with a fixed gas limit never signs, not even a simulation.
    let address_only = flags.generate_only && options.gas != Some(Gas::Auto);
    let signer = signer(&node.home.keyring()?, from, address_only)?;
    if flags.generate_only {
        if let Some(body) = offline_body(options, signer.address(), &messages) {
            print_unsigned(body, session.output, out)?;
            return Ok(EXIT_OK);
        }
    }
    let client = node.client()?;
    let prepared = session.block_on(prepare(&client, options, &signer, messages, flags.dry_run));
    let prepared = match prepared {
        Ok(prepared) => prepared,
        Err(ClientError::Refused { message, code, .. }) => {
            eprintln!("error: the node refused the transaction (code {code}): {message}");
            return Ok(EXIT_REJECTED);
        }
        Err(e) => return Err(e.into()),
    };
    if flags.generate_only {
        print_unsigned(prepared.body, session.output, out)?;
        return Ok(EXIT_OK);
    }
    let simulation = prepared
        .simulation
        .context("the dry run did not simulate the transaction")?;
    let gas_estimate = super::broadcast::adjusted(simulation.gas_used, options.gas_adjustment);
    print_dry_run(&simulation, gas_estimate, options, session.output, out)?;
    if simulation.code == 0 {
        Ok(EXIT_OK)
    } else {
        eprintln!(
            "error: the transaction would fail (code {}): {}",
            simulation.code, simulation.log
        );
        Ok(EXIT_REJECTED)
    }
}

/// The body `--generate-only` can make without the node: when the options give the chain id,
/// the sequence, a fixed gas limit (or the default) and a fee that does not depend on the
/// node's price.
fn offline_body(options: &TxOptions, sender: String, messages: &[Msg]) -> Option<TxBody> {
    let gas_limit = match options.gas {
        Some(Gas::Auto) => return None,
        Some(Gas::Limit(n)) => n,
        None => super::broadcast::default_gas(messages),
    };
    let fee = match (&options.fees, &options.gas_prices) {
        (Some(fees), _) => fees.0.clone(),
        (None, Some(price)) => consign_client::min_fee(price, gas_limit),
        (None, None) => return None,
    };
    Some(TxBody {
        chain_id: options.chain_id.clone()?,
        sender,
        sequence: options.sequence?,
        gas_limit,
        fee,
        memo: String::new(),
        messages: messages.to_vec(),
    })
}

/// Prints an unsigned transaction: pretty JSON for people, one line for scripts.
fn print_unsigned(body: TxBody, output: OutputFormat, out: &mut impl Write) -> anyhow::Result<()> {
    print_json(&UnsignedTx { body }, output, out)
}

fn print_dry_run(
    simulation: &Simulation,
    gas_estimate: u64,
    options: &TxOptions,
    output: OutputFormat,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if output == OutputFormat::Json {
        let dry_run = DryRun {
            gas_estimate,
            simulation,
        };
        writeln!(out, "{}", serde_json::to_string(&dry_run)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "gas estimate: {gas_estimate} ({} used × {} adjustment)",
        simulation.gas_used, options.gas_adjustment
    )?;
    if simulation.code == 0 {
        writeln!(out, "code: 0 (would succeed)")?;
    } else {
        writeln!(out, "code: {} (would fail)", simulation.code)?;
        writeln!(out, "log: {}", simulation.log)?;
    }
    if let Some(code_id) = simulation.code_id {
        writeln!(out, "code_id: {code_id}")?;
    }
    if let Some(address) = &simulation.contract_address {
        writeln!(out, "contract_address: {address}")?;
    }
    if simulation.deliveries > 0 {
        writeln!(out, "deliveries: {}", simulation.deliveries)?;
    }
    writeln!(out, "dry run: nothing was broadcast")?;
    Ok(())
}

/// `consign tx sign FILE --from KEY`: signs the transaction in FILE with KEY, which must be
/// its sender, and prints it (or writes it to `--output-document`). `--chain-id` and
/// `--sequence` replace the file's; the node is never asked.
///
/// # Errors
///
/// If the file is not a transaction, the key cannot be read or is not the sender's, or the
/// output cannot be written.
pub fn sign(args: &SignArgs, node: &NodeArgs, out: &mut impl Write) -> anyhow::Result<u8> {
    let bytes = read_input(&args.file)?;
    let file: TxFile = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{} is not a transaction as `--generate-only` prints it",
            args.file.display()
        )
    })?;
    let mut body = file.body;
    if let Some(chain_id) = &args.chain_id {
        body.chain_id.clone_from(chain_id);
    }
    if let Some(sequence) = args.sequence {
        body.sequence = sequence;
    }
    let key = node.home.signing_key(&args.from.from)?;
    anyhow::ensure!(
        key.address() == body.sender,
        "the transaction is from {}, but `{}` is {}: sign it with the sender's key",
        body.sender,
        args.from.from,
        key.address()
    );
    let mut signed = Tx::sign(body, &key).to_bytes();
    signed.push(b'\n');
    match &args.output_document {
        Some(path) => consign_util::fs::atomic_write(path, &signed)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => out.write_all(&signed)?,
    }
    Ok(EXIT_OK)
}

/// `consign tx broadcast FILE`: checks the signed transaction in FILE locally (it decodes and
/// its signature is its sender's), sends its bytes as they are and reports as every
/// transaction command does.
///
/// # Errors
///
/// If the file cannot be read or is not a signed transaction, the node cannot be reached, or
/// `out` cannot be written.
pub fn broadcast(
    args: &BroadcastArgs,
    node: &NodeArgs,
    session: &Session,
    out: &mut impl Write,
) -> anyhow::Result<u8> {
    let bytes = read_input(&args.file)?;
    let bytes = bytes.trim_ascii_end().to_vec();
    let tx = Tx::from_bytes(&bytes).with_context(|| {
        format!(
            "{} is not a signed transaction as `consign tx sign` prints it",
            args.file.display()
        )
    })?;
    tx.verify().with_context(|| {
        format!(
            "the transaction in {} is not validly signed",
            args.file.display()
        )
    })?;
    let client = node.client()?;
    let outcome = session.block_on(client.broadcast_bytes(bytes, args.broadcast.mode()));
    report(outcome, session.output, out, print_result)
}

//! `consign sell FILE --storage URL --price …`: everything a seller does before going offline.
//! Uploads the file to a storage node (signed with the seller's account key), creates the
//! offer on-chain with the file's digest and size, and registers the offer with the storage node
//! privately. Also `consign offer register`, to retry that last step alone.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use consign_client::{Broadcast, SecretKey, StorageClient};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::market::{ContractArg, OfferCreated, OfferFields};
use super::query::{block_on, print_json, NodeArgs};
use super::tx::{report, sign_and_broadcast, TxOptions};
use super::{OutputFormat, EXIT_OK, EXIT_REJECTED};

/// Long help of `consign sell`.
pub(super) const LONG_ABOUT: &str = "\
Sell a file: upload it to a storage node, create the offer on-chain, and register the offer with
the storage node. When it returns, the storage node holds the data (encrypted at rest) and will
deliver it, encrypted to each buyer, when a purchase commits: the seller's machine may go away.

1. Upload: the file is streamed to --storage with a progress bar, authorised by a signature with
   the --from key (no password). The node keeps it only if its SHA-256 and size match.
2. Offer: `create_offer` in the data-sale contract (--contract) with the digest, size, price,
   title, description and terms. Nothing on-chain names the storage node.
3. Registration: a message signed with the same key binds (contract, offer id) to the upload.
   The storage node checks on-chain that the signer is the offer's seller and the digests match.
   It is sent to the storage node only, never to the chain.

If step 3 fails (the storage node was unreachable, say), the offer exists: retry with
`consign offer register OFFER_ID FILE --storage URL --from KEY`.";

/// Examples for `consign sell --help`.
pub(super) const EXAMPLES: &str = "\
Examples:
  consign sell weather.csv --storage http://127.0.0.1:7070 --price 5000ucsn --title 'Weather 2026' --from alice --contract $MARKET
  consign --output json sell data.bin --storage $STORAGE --price 100ucsn --from alice | jq .offer_id";

/// `consign sell`.
#[derive(Debug, Clone, Args)]
pub struct SellArgs {
    /// Which node, and where the keyring is.
    #[command(flatten)]
    pub node: NodeArgs,
    /// Which contract.
    #[command(flatten)]
    pub contract: ContractArg,
    /// How to sign and broadcast.
    #[command(flatten)]
    pub options: TxOptions,
    /// The file to sell.
    pub file: PathBuf,
    /// The storage node's URL.
    #[arg(long, value_name = "URL", env = "CONSIGN_STORAGE")]
    pub storage: String,
    /// What the offer says.
    #[command(flatten)]
    pub fields: OfferFields,
}

/// `consign offer register`.
#[derive(Debug, Clone, Args)]
pub struct RegisterArgs {
    /// The offer's id.
    pub offer: u64,
    /// The offer's content, as uploaded: read to compute its digest.
    pub file: PathBuf,
    /// The storage node's URL.
    #[arg(long, value_name = "URL", env = "CONSIGN_STORAGE")]
    pub storage: String,
    /// The seller's key.
    #[arg(long, value_name = "KEY")]
    pub from: String,
}

/// What `consign sell` prints.
#[derive(Debug, Serialize)]
struct Sold<'a> {
    #[serde(flatten)]
    offer: OfferCreated<'a>,
    storage: &'a str,
    registered: bool,
}

/// Carries out `consign sell`.
///
/// # Errors
///
/// If the file, the key, the storage node or the chain node fail; the message says which step.
pub fn run(args: &SellArgs, output: OutputFormat, out: &mut impl Write) -> anyhow::Result<u8> {
    let contract = args.contract.address()?;
    let key = seller_key(&args.node, &args.fields.from)?;
    let storage = StorageClient::new(&args.storage)?;

    // 1. Upload.
    let size = std::fs::metadata(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?
        .len();
    let bar = transfer_bar(size, "uploading");
    let started = Instant::now();
    let progress = bar.clone();
    let receipt = block_on(storage.upload_file(&args.file, &key, move |sent, _| {
        progress.set_position(sent);
    }))?
    .with_context(|| format!("uploading {} to {}", args.file.display(), args.storage))?;
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    eprintln!(
        "uploaded {} ({} bytes, sha256 {}) to {} in {:.1?}{}",
        args.file.display(),
        receipt.size,
        receipt.sha256,
        args.storage,
        elapsed,
        if receipt.created {
            ""
        } else {
            " (it already held it)"
        }
    );

    // 2. The offer.
    let msg = args
        .fields
        .create_msg(&args.node, &args.file, &receipt.sha256, receipt.size)?;
    let outcome = sign_and_broadcast(
        &args.node,
        &args.options,
        &args.fields.from,
        vec![super::market::execute_msg(contract, &msg, vec![])],
    )?;
    let result = match outcome {
        Ok(Broadcast::Committed(result)) if result.code == 0 => result,
        other => return report(other, output, out, |_, _, _| Ok(())),
    };
    let offer = OfferCreated::from_result(&result, contract, &receipt.sha256, receipt.size)?;
    eprintln!(
        "offer {} created in block {}",
        offer.offer_id, result.height
    );

    // 3. The private registration.
    let chain_id = chain_id(&args.node)?;
    let registered =
        block_on(storage.register(contract, offer.offer_id, &receipt.sha256, &chain_id, &key))?;
    if let Err(error) = &registered {
        eprintln!(
            "error: offer {} exists but the storage node did not take its registration: {error}\n\
             retry with: consign offer register {} {} --storage {} --from {}",
            offer.offer_id,
            offer.offer_id,
            args.file.display(),
            args.storage,
            args.fields.from
        );
    } else {
        eprintln!(
            "offer {} registered with {}: the storage node will deliver it; you may go offline",
            offer.offer_id, args.storage
        );
    }
    let ok = registered.is_ok();
    let sold = Sold {
        offer,
        storage: &args.storage,
        registered: ok,
    };
    match output {
        OutputFormat::Json => print_json(&sold, output, out)?,
        OutputFormat::Text => writeln!(out, "offer_id: {}", sold.offer.offer_id)?,
    }
    Ok(if ok { EXIT_OK } else { EXIT_REJECTED })
}

/// Carries out `consign offer register`.
///
/// # Errors
///
/// If the file, the key or a node cannot be reached.
pub fn run_register(
    node: &NodeArgs,
    contract: &str,
    args: &RegisterArgs,
    output: OutputFormat,
    out: &mut impl Write,
) -> anyhow::Result<u8> {
    let key = seller_key(node, &args.from)?;
    let (sha256, _) = super::market::hash_file(&args.file)?;
    let storage = StorageClient::new(&args.storage)?;
    let chain_id = chain_id(node)?;
    match block_on(storage.register(contract, args.offer, &sha256, &chain_id, &key))? {
        Ok(receipt) => {
            match output {
                OutputFormat::Json => print_json(&receipt, output, out)?,
                OutputFormat::Text => writeln!(
                    out,
                    "offer {} of {} registered with {} (sha256 {})",
                    receipt.offer_id, receipt.contract, args.storage, receipt.sha256
                )?,
            }
            Ok(EXIT_OK)
        }
        Err(error) => {
            eprintln!("error: the storage node refused the registration: {error}");
            Ok(EXIT_REJECTED)
        }
    }
}

fn seller_key(node: &NodeArgs, from: &str) -> anyhow::Result<SecretKey> {
    Ok(node
        .home
        .keyring()?
        .get(from)
        .with_context(|| format!("cannot sign with `{from}`"))?
        .secret_key()
        .clone())
}

fn chain_id(node: &NodeArgs) -> anyhow::Result<String> {
    let client = node.client()?;
    Ok(block_on(client.status())??.chain_id)
}

/// A byte-progress bar on stderr, drawn only when stderr is a terminal.
pub(super) fn transfer_bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len).with_message(what.to_owned());
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
        )
        .expect("a valid progress template"),
    );
    bar
}

//! `consign sell FILE --storage URL --price …`: everything a seller does before going offline.
//! Uploads the file to a storage node (signed with the seller's account key), creates the
//! offer on-chain with the file's digest and size, and registers the offer with the storage node
//! privately (`consign offer register` retries that last step alone). With several `--storage`
//! and `--threshold K`, the file goes k-of-n to several nodes instead ([`custody`]).

mod custody;
pub(super) mod pending;
pub(super) mod register;

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use consign_client::{Broadcast, StorageClient};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::args::MarketArgs;
use super::broadcast::{chain_id, sign_and_broadcast};
use super::market::{OfferCreated, OfferFields};
use super::output::{print_json, report};
use super::{OutputFormat, Session, EXIT_OK, EXIT_REJECTED};
use consign_market::Custody;
use register::{register_retrying, RegisterTimeout, ToRegister};

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

Step 3 is sent again with backoff while the storage node cannot be reached or answers 429 or
5xx (a restart, say), for up to --register-timeout. If it still fails, the offer exists: retry
with `consign offer register OFFER_ID FILE --storage URL --from KEY`.

K OF N STORAGE NODES (--storage several times, --threshold K)
  One storage node can read what it holds, and if it is down nobody receives the data. With n
  nodes and --threshold k, no node can: the file is encrypted on this machine to a fresh key,
  the ciphertext is erasure-coded into n fragments of which any k rebuild it, and the key is
  split k-of-n (Shamir, with public commitments). Node i receives fragment i and key share i,
  sealed to it. Any k-1 nodes together learn nothing; up to n-k may be down when a purchase
  commits, and each sends about 1/k of the data. The buyer's inbox checks every piece against
  the offer, rebuilds the key and the file, and checks its SHA-256. The offer then also carries
  k, n and the commitments (public; they name no node). Fragments are written to --work-dir
  first; the data key is never written anywhere. If any upload fails no offer is created.
  Until its node has taken it, each piece is kept in <home>/custody-pending/, its share sealed
  to that node (only the node can open it): if a registration fails, or this command is killed
  after the offer is created, `consign offer register OFFER_ID --from KEY` registers the rest.

WHAT BECOMES PUBLIC
  Anyone can read, on-chain: the price, the file's SHA-256 and size, --title, --description,
  --terms, the expiry, --extension if given, and the seller's address (the --from key's).
  --title is required and the file's name is never used: write a title you are happy to
  publish. Buyers' inboxes name saved files with --extension (`--extension csv`: `…-7.csv`); the
  file's own extension is published only if you pass it. Not public: the file's content and
  name, and which storage node holds it.";

/// Examples for `consign sell --help`.
pub(super) const EXAMPLES: &str = "\
Examples:
  consign sell weather.csv --storage http://127.0.0.1:7070 --price 5000ucsn --title 'Weather 2026' --extension csv --from alice --contract $MARKET
  consign --output json sell data.bin --storage $STORAGE --price 100ucsn --title 'Survey data' --from alice | jq .offer_id
  consign sell data.bin --storage http://a:7070 --storage http://b:7070 --storage http://c:7070 --threshold 2 --price 100ucsn --title 'Survey data' --from alice";

/// `consign sell`.
#[derive(Debug, Clone, Args)]
pub struct SellArgs {
    /// Which node, contract and keyring, and how transactions are signed and broadcast.
    #[command(flatten)]
    pub market: MarketArgs,
    /// The file to sell.
    pub file: PathBuf,
    /// The storage node's URL. Give it several times (with --threshold) to spread the data
    /// k-of-n over several nodes, none of which can read it.
    #[arg(
        long,
        value_name = "URL",
        env = "CONSIGN_STORAGE",
        value_delimiter = ',',
        required = true
    )]
    pub storage: Vec<String>,
    /// With several --storage: how many of them must answer for a buyer to receive the data
    /// (k of n = the number of --storage). Any k−1 of them together learn nothing of it; up to
    /// n−k may be down when a purchase commits.
    #[arg(long, value_name = "K")]
    pub threshold: Option<u16>,
    /// With --threshold: where the n fragments are written before they are uploaded (about
    /// n/k × the file's size; removed afterwards). Default: the system's temporary directory.
    #[arg(long, value_name = "DIR", requires = "threshold")]
    pub work_dir: Option<PathBuf>,
    /// How long each registration is retried.
    #[command(flatten)]
    pub register_timeout: RegisterTimeout,
    /// What the offer says.
    #[command(flatten)]
    pub fields: OfferFields,
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
pub fn run(args: &SellArgs, session: &Session, out: &mut impl Write) -> anyhow::Result<u8> {
    // Before the upload: an offer without a title is refused, not uploaded for nothing.
    args.fields.title()?;
    if args.fields.extension.is_none() {
        if let Some(ext) = args.file.extension().and_then(|e| e.to_str()) {
            if consign_market::validate_extension(ext).is_ok() {
                eprintln!(
                    "note: buyers will save this data without an extension; pass --extension \
                     {ext} to publish it in the offer"
                );
            }
        }
    }
    match (args.storage.as_slice(), args.threshold) {
        ([storage], None | Some(1)) => sell_whole(args, storage, session, out),
        (_, Some(k)) => custody::run(args, k, session, out),
        (nodes, None) => anyhow::bail!(
            "{n} storage nodes given but no --threshold: pass --threshold K, how many of them \
             must answer for a buyer to receive the data (k of n = {n}; e.g. --threshold {k})",
            n = nodes.len(),
            k = nodes.len().div_ceil(2).max(2).min(nodes.len()),
        ),
    }
}

/// The whole file to one storage node, which encrypts it at rest with its own key.
fn sell_whole(
    args: &SellArgs,
    storage_url: &str,
    session: &Session,
    out: &mut impl Write,
) -> anyhow::Result<u8> {
    let output = session.output;
    let contract = args.market.contract.address()?;
    let key = args.market.node.home.signing_key(&args.fields.from)?;
    let storage = StorageClient::new(storage_url)?;

    // 1. Upload.
    let size = std::fs::metadata(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?
        .len();
    let bar = transfer_bar(size, "uploading");
    let started = Instant::now();
    let progress = bar.clone();
    let receipt = session
        .block_on(storage.upload_file(&args.file, &key, move |sent, _| {
            progress.set_position(sent);
        }))
        .with_context(|| format!("uploading {} to {storage_url}", args.file.display()))?;
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    eprintln!(
        "uploaded {} ({} bytes, sha256 {}) to {} in {:.1?}{}",
        args.file.display(),
        receipt.size,
        receipt.sha256,
        storage_url,
        elapsed,
        if receipt.created {
            ""
        } else {
            " (it already held it)"
        }
    );

    // 2. The offer.
    let (offer, height) =
        match create_offer(args, session, &receipt.sha256, receipt.size, None, out)? {
            Ok(created) => created,
            Err(exit) => return Ok(exit),
        };
    eprintln!("offer {} created in block {height}", offer.offer_id);

    // 3. The private registration.
    let chain_id = chain_id(session, &args.market.node)?;
    let registration = ToRegister {
        contract,
        offer_id: offer.offer_id,
        sha256: &receipt.sha256,
        chain_id: &chain_id,
        key: &key,
        piece: None,
    };
    let registered = session.block_on(register_retrying(
        &storage,
        storage_url,
        &registration,
        args.register_timeout.duration,
    ));
    if let Err(error) = &registered {
        eprintln!(
            "error: offer {} exists but the storage node did not take its registration: {error}\n\
             retry with: consign offer register {} {} --storage {} --from {}",
            offer.offer_id,
            offer.offer_id,
            args.file.display(),
            storage_url,
            args.fields.from
        );
    } else {
        eprintln!(
            "offer {} registered with {storage_url}: the storage node will deliver it; you may \
             go offline",
            offer.offer_id
        );
    }
    let ok = registered.is_ok();
    let sold = Sold {
        offer,
        storage: storage_url,
        registered: ok,
    };
    print_sold(&sold, sold.offer.offer_id, ok, output, out)
}

/// Prints what `consign sell` did (`sold` as JSON, or the offer id), and the exit status: OK
/// only if every registration was taken.
fn print_sold(
    sold: &impl Serialize,
    offer_id: u64,
    registered: bool,
    output: OutputFormat,
    out: &mut impl Write,
) -> anyhow::Result<u8> {
    match output {
        OutputFormat::Json => print_json(sold, output, out)?,
        OutputFormat::Text => writeln!(out, "offer_id: {offer_id}")?,
    }
    Ok(if registered { EXIT_OK } else { EXIT_REJECTED })
}

/// Creates the offer in the market (both flows' step after the upload) and reads its id from
/// the result: the offer and its block's height, or the exit code when the chain refused it
/// (the refusal already reported to the user).
pub(super) fn create_offer<'a>(
    args: &'a SellArgs,
    session: &Session,
    sha256: &'a str,
    size: u64,
    custody: Option<Custody>,
    out: &mut impl Write,
) -> anyhow::Result<Result<(OfferCreated<'a>, u64), u8>> {
    let contract = args.market.contract.address()?;
    let msg = args
        .fields
        .create_msg(session, &args.market.node, sha256, size, custody)?;
    let outcome = sign_and_broadcast(
        session,
        &args.market.node,
        &args.market.options,
        &args.fields.from,
        vec![msg.to_msg(contract, vec![])],
    )?;
    let result = match outcome {
        Ok(Broadcast::Committed(result)) if result.code == 0 => result,
        other => return report(other, session.output, out, |_, _, _| Ok(())).map(Err),
    };
    let offer = OfferCreated::from_result(&result, contract, sha256, size)?;
    Ok(Ok((offer, result.height)))
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

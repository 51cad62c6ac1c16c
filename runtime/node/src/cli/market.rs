//! The data-sale contract's commands for its two parties: `consign offer …` for sellers and
//! `consign buy` / `consign purchase …` for buyers. Each builds the contract's execute or query
//! message, so nobody has to write its JSON by hand, and reads back what the contract answered
//! (the new offer's or purchase's id, the delivery instruction's sequence number).

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use consign_client::{Broadcast, ClientError, Coin, DeliveryAddress, Msg, Timestamp, TxResult};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::query::{block_on, print_json, NodeArgs};
use super::tx::{parse_address, parse_coins, report, sign_and_broadcast, Coins, TxOptions};
use super::{OutputFormat, EXIT_OK};

/// Long help of `consign offer`.
pub(super) const OFFER_LONG_ABOUT: &str = "\
Sell data through a data-sale contract: create, show, list and withdraw offers.

An offer is public: its price, the data's SHA-256 and size, a title, a description and terms. It
never names or hints at where the data is stored; the storage node learns of the offer privately
(`consign sell` does both steps).

The contract is --contract ADDRESS, else $CONSIGN_CONTRACT.";

/// Examples for `consign offer --help`.
pub(super) const OFFER_EXAMPLES: &str = "\
Examples:
  consign offer create weather.csv --price 5000ucsn --title 'Weather 2026' --from alice --contract $MARKET
  consign offer show 1 --contract $MARKET
  consign offer list --seller $(consign keys show alice -a) --active --contract $MARKET
  consign offer withdraw 1 --from alice --contract $MARKET";

/// Long help of `consign buy`.
pub(super) const BUY_LONG_ABOUT: &str = "\
Buy an offer of a data-sale contract, paying exactly its price (read from the contract, or
--amount), and name where the data must be delivered: --deliver-to, the http(s) URL the storage
node will POST the encrypted data to (run `consign inbox` there), and --recipient, the age X25519
public key (age1…) it is encrypted to.

The payment is held in escrow until you confirm receipt (`consign purchase confirm`), the release
window passes, or the arbiter settles a dispute. Prints the purchase id and the sequence number of
the delivery instruction the contract emitted.";

/// Examples for `consign buy --help`.
pub(super) const BUY_EXAMPLES: &str = "\
Examples:
  consign buy 1 --deliver-to https://bob.example/inbox --recipient age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p --from bob --contract $MARKET
  consign --output json buy 1 --deliver-to http://127.0.0.1:8080/ --recipient $(cat bob.age.pub) --from bob | jq .purchase_id";

/// Long help of `consign purchase`.
pub(super) const PURCHASE_LONG_ABOUT: &str = "\
Follow a purchase of a data-sale contract and end its escrow: show it, confirm receipt (the buyer;
pays the seller), dispute it within the release window (the buyer), claim the payment after the
window (the seller), or settle a dispute (the arbiter).";

/// Examples for `consign purchase --help`.
pub(super) const PURCHASE_EXAMPLES: &str = "\
Examples:
  consign purchase show 1 --contract $MARKET
  consign purchase list --buyer $(consign keys show bob -a) --contract $MARKET
  consign purchase confirm 1 --from bob --contract $MARKET
  consign purchase dispute 1 --reason 'digest mismatch' --from bob --contract $MARKET
  consign purchase claim 1 --from alice --contract $MARKET
  consign purchase resolve 1 --refund --from arbiter --contract $MARKET";

/// `--contract`: the data-sale contract.
#[derive(Debug, Clone, Args)]
pub struct ContractArg {
    /// The data-sale contract's address.
    #[arg(long, global = true, value_name = "ADDRESS", env = "CONSIGN_CONTRACT", value_parser = parse_address)]
    pub contract: Option<String>,
}

impl ContractArg {
    /// The contract's address.
    ///
    /// # Errors
    ///
    /// If none was given.
    pub(super) fn address(&self) -> anyhow::Result<&str> {
        self.contract
            .as_deref()
            .context("no data-sale contract given: pass --contract ADDRESS or set CONSIGN_CONTRACT")
    }
}

/// `consign offer …`.
#[derive(Debug, Clone, Args)]
pub struct OfferArgs {
    /// Which node, and where the keyring is.
    #[command(flatten)]
    pub node: NodeArgs,
    /// Which contract.
    #[command(flatten)]
    pub contract: ContractArg,
    /// How to sign and broadcast.
    #[command(flatten)]
    pub options: TxOptions,
    /// What to do.
    #[command(subcommand)]
    pub command: OfferCommand,
}

/// The `consign offer` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum OfferCommand {
    /// Create an offer for a file: reads FILE only to compute its SHA-256 and size.
    #[command(
        long_about = "Create an offer whose content is FILE. The file is read once, to compute \
                      its SHA-256 and size, which go into the offer; the file itself goes nowhere \
                      (upload it to a storage node with `consign sell`, which also creates the \
                      offer). Prints the new offer's id.",
        after_help = "Examples:\n  consign offer create data.csv --price 5000ucsn --title 'Daily prices' --from alice\n  consign offer create data.csv --price 5000ucsn --title T --terms 'personal use' --expires-in 30d --from alice"
    )]
    Create(CreateOffer),
    /// Show one offer.
    Show {
        /// The offer's id.
        id: u64,
    },
    /// List offers, all or one seller's, in id order.
    List {
        /// Only this seller's offers.
        #[arg(long, value_name = "ADDRESS", value_parser = parse_address)]
        seller: Option<String>,
        /// Only offers that can be purchased now.
        #[arg(long)]
        active: bool,
        /// Start after this offer id.
        #[arg(long, value_name = "ID")]
        start_after: Option<u64>,
        /// At most this many (the contract caps it at 100).
        #[arg(long, value_name = "N")]
        limit: Option<u32>,
    },
    /// Register an existing offer with a storage node that holds its content (as `consign sell`
    /// does after creating the offer): retries that step alone.
    Register(super::sell::RegisterArgs),
    /// Withdraw an offer for good (its seller only); existing purchases are unaffected.
    Withdraw {
        /// The offer's id.
        id: u64,
        /// The seller's key.
        #[arg(long, value_name = "KEY")]
        from: String,
    },
}

/// `consign offer create`.
#[derive(Debug, Clone, Args)]
pub struct CreateOffer {
    /// The file offered.
    pub file: PathBuf,
    /// What the offer says.
    #[command(flatten)]
    pub fields: OfferFields,
}

/// What an offer says besides its content's digest and size; shared by `consign offer create`
/// and `consign sell`.
#[derive(Debug, Clone, Args)]
pub struct OfferFields {
    /// The price, paid exactly by each buyer: `5000ucsn`, or several coins separated by commas.
    #[arg(long, value_name = "COINS", value_parser = parse_coins)]
    pub price: Coins,
    /// A short title [default: the file's name].
    #[arg(long)]
    pub title: Option<String>,
    /// What the data is.
    #[arg(long, default_value = "")]
    pub description: String,
    /// The terms of sale and use.
    #[arg(long, default_value = "")]
    pub terms: String,
    /// Stop selling after this long (`30d`, `12h`), counted from the latest block's time.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub expires_in: Option<Duration>,
    /// The seller's key: its name in the keyring, or its address.
    #[arg(long, value_name = "KEY")]
    pub from: String,
}

impl OfferFields {
    /// The `create_offer` execute message for content `sha256` of `size` bytes from `file`.
    ///
    /// # Errors
    ///
    /// With `--expires-in`, if the node's status cannot be read.
    pub(super) fn create_msg(
        &self,
        node: &NodeArgs,
        file: &Path,
        sha256: &str,
        size: u64,
    ) -> anyhow::Result<Value> {
        let title = match &self.title {
            Some(title) => title.clone(),
            None => file_title(file),
        };
        let mut msg = json!({
            "price": self.price.0,
            "content_sha256": sha256,
            "size": size,
            "title": title,
            "description": self.description,
            "terms": self.terms,
        });
        if let Some(after) = self.expires_in {
            let client = node.client()?;
            let now = block_on(client.status())??.latest_block_time;
            let nanos = u64::try_from(after.as_nanos()).context("--expires-in is too long")?;
            msg["expires"] = json!(Timestamp::from_nanos(now.nanos().saturating_add(nanos)));
        }
        Ok(json!({ "create_offer": msg }))
    }
}

/// `consign buy`.
#[derive(Debug, Clone, Args)]
pub struct BuyArgs {
    /// Which node, and where the keyring is.
    #[command(flatten)]
    pub node: NodeArgs,
    /// Which contract.
    #[command(flatten)]
    pub contract: ContractArg,
    /// How to sign and broadcast.
    #[command(flatten)]
    pub options: TxOptions,
    /// The offer's id.
    pub offer: u64,
    /// The http(s) URL the data is delivered to.
    #[arg(long, value_name = "URL")]
    pub deliver_to: String,
    /// The age X25519 recipient (age1…) the data is encrypted to.
    #[arg(long, value_name = "AGE_RECIPIENT")]
    pub recipient: String,
    /// Pay this instead of the offer's price as read now (the contract refuses anything but the
    /// exact price).
    #[arg(long, value_name = "COINS", value_parser = parse_coins)]
    pub amount: Option<Coins>,
    /// The buyer's key: its name in the keyring, or its address.
    #[arg(long, value_name = "KEY")]
    pub from: String,
}

/// `consign purchase …`.
#[derive(Debug, Clone, Args)]
pub struct PurchaseArgs {
    /// Which node, and where the keyring is.
    #[command(flatten)]
    pub node: NodeArgs,
    /// Which contract.
    #[command(flatten)]
    pub contract: ContractArg,
    /// How to sign and broadcast.
    #[command(flatten)]
    pub options: TxOptions,
    /// What to do.
    #[command(subcommand)]
    pub command: PurchaseCommand,
}

/// The `consign purchase` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum PurchaseCommand {
    /// Show one purchase and its escrow state.
    Show {
        /// The purchase's id.
        id: u64,
    },
    /// List a buyer's purchases or a seller's sales.
    List {
        /// This buyer's purchases.
        #[arg(long, value_name = "ADDRESS", value_parser = parse_address, conflicts_with = "seller", required_unless_present = "seller")]
        buyer: Option<String>,
        /// This seller's sales.
        #[arg(long, value_name = "ADDRESS", value_parser = parse_address)]
        seller: Option<String>,
        /// Start after this purchase id.
        #[arg(long, value_name = "ID")]
        start_after: Option<u64>,
        /// At most this many (the contract caps it at 100).
        #[arg(long, value_name = "N")]
        limit: Option<u32>,
    },
    /// The buyer confirms receipt: the payment goes to the seller.
    Confirm {
        /// The purchase's id.
        id: u64,
        /// The buyer's key.
        #[arg(long, value_name = "KEY")]
        from: String,
    },
    /// The buyer disputes the purchase within the release window; the arbiter decides.
    Dispute {
        /// The purchase's id.
        id: u64,
        /// Why.
        #[arg(long)]
        reason: String,
        /// The buyer's key.
        #[arg(long, value_name = "KEY")]
        from: String,
    },
    /// The seller takes the payment once the release window has passed without a dispute.
    Claim {
        /// The purchase's id.
        id: u64,
        /// The seller's key.
        #[arg(long, value_name = "KEY")]
        from: String,
    },
    /// The arbiter settles a dispute: --release pays the seller, --refund repays the buyer.
    Resolve {
        /// The purchase's id.
        id: u64,
        /// Pay the seller.
        #[arg(long, conflicts_with = "refund", required_unless_present = "refund")]
        release: bool,
        /// Refund the buyer.
        #[arg(long)]
        refund: bool,
        /// The arbiter's key.
        #[arg(long, value_name = "KEY")]
        from: String,
    },
}

/// What `consign offer create` prints.
#[derive(Debug, Serialize)]
pub(super) struct OfferCreated<'a> {
    pub(super) offer_id: u64,
    contract: &'a str,
    content_sha256: &'a str,
    size: u64,
    txhash: String,
    height: u64,
}

impl<'a> OfferCreated<'a> {
    /// Reads the new offer's id from the committed `create_offer`.
    pub(super) fn from_result(
        result: &TxResult,
        contract: &'a str,
        content_sha256: &'a str,
        size: u64,
    ) -> anyhow::Result<Self> {
        Ok(OfferCreated {
            offer_id: attribute_u64(result, contract, "offer_id")?,
            contract,
            content_sha256,
            size,
            txhash: result.txhash.to_string(),
            height: result.height,
        })
    }

    /// Prints it: one JSON object, or a few lines.
    pub(super) fn print(&self, output: OutputFormat, out: &mut impl Write) -> anyhow::Result<()> {
        match output {
            OutputFormat::Json => print_json(self, output, out),
            OutputFormat::Text => {
                writeln!(
                    out,
                    "offer {} created in block {}",
                    self.offer_id, self.height
                )?;
                writeln!(out, "content_sha256: {}", self.content_sha256)?;
                writeln!(out, "size: {} bytes", self.size)?;
                writeln!(out, "txhash: {}", self.txhash)?;
                Ok(())
            }
        }
    }
}

/// What `consign buy` prints.
#[derive(Debug, Serialize)]
struct Purchased<'a> {
    purchase_id: u64,
    offer_id: u64,
    contract: &'a str,
    paid: String,
    delivery_sequence: u64,
    txhash: String,
    height: u64,
}

/// The fields of a data-sale offer the commands read.
#[derive(Debug, Deserialize)]
struct OfferPrice {
    price: Vec<Coin>,
}

/// Carries out `consign offer …`.
///
/// # Errors
///
/// If the file cannot be read, the node cannot be reached, or `out` cannot be written.
pub fn run_offer(
    args: &OfferArgs,
    output: OutputFormat,
    out: &mut impl Write,
) -> anyhow::Result<u8> {
    let contract = args.contract.address()?;
    match &args.command {
        OfferCommand::Create(create) => {
            let (sha256, size) = hash_file(&create.file)?;
            let msg = create
                .fields
                .create_msg(&args.node, &create.file, &sha256, size)?;
            let outcome = execute(args, &create.fields.from, msg)?;
            report(outcome, output, out, |result, output, out| {
                let created = OfferCreated::from_result(result, contract, &sha256, size)?;
                created.print(output, out)
            })
        }
        OfferCommand::Show { id } => query(
            &args.node,
            contract,
            &json!({ "offer": { "id": id } }),
            output,
            out,
        ),
        OfferCommand::List {
            seller,
            active,
            start_after,
            limit,
        } => query(
            &args.node,
            contract,
            &json!({ "offers": { "seller": seller, "active_only": active, "start_after": start_after, "limit": limit } }),
            output,
            out,
        ),
        OfferCommand::Register(register) => {
            super::sell::run_register(&args.node, contract, register, output, out)
        }
        OfferCommand::Withdraw { id, from } => {
            let outcome = execute(args, from, json!({ "withdraw_offer": { "id": id } }))?;
            report(outcome, output, out, super::tx::print_result)
        }
    }
}

/// Carries out `consign buy`.
///
/// # Errors
///
/// If the node cannot be reached, or `out` cannot be written.
pub fn run_buy(args: &BuyArgs, output: OutputFormat, out: &mut impl Write) -> anyhow::Result<u8> {
    let contract = args.contract.address()?;
    let recipient = DeliveryAddress {
        endpoint: args.deliver_to.clone(),
        key: args.recipient.clone(),
    };
    // The contract checks it too; checking first saves a failed transaction and says which flag.
    recipient
        .validate()
        .map_err(|e| anyhow::anyhow!("invalid --deliver-to or --recipient: {e}"))?;
    let funds = match &args.amount {
        Some(amount) => amount.0.clone(),
        None => {
            let client = args.node.client()?;
            let offer: OfferPrice =
                block_on(client.smart_query(contract, &json!({ "offer": { "id": args.offer } })))?
                    .with_context(|| format!("cannot read offer {} of {contract}", args.offer))?;
            offer.price
        }
    };
    let paid = coins_to_string(&funds);
    let msg = json!({ "purchase": { "offer_id": args.offer, "recipient": recipient } });
    let outcome = sign_and_broadcast(
        &args.node,
        &args.options,
        &args.from,
        vec![execute_msg(contract, &msg, funds)],
    )?;
    report(outcome, output, out, |result, output, out| {
        let delivery = result
            .deliveries
            .first()
            .context("the purchase committed but emitted no delivery instruction")?;
        let purchased = Purchased {
            purchase_id: attribute_u64(result, contract, "purchase_id")?,
            offer_id: args.offer,
            contract,
            paid: paid.clone(),
            delivery_sequence: delivery.sequence,
            txhash: result.txhash.to_string(),
            height: result.height,
        };
        match output {
            OutputFormat::Json => print_json(&purchased, output, out),
            OutputFormat::Text => {
                writeln!(
                    out,
                    "purchase {} of offer {} committed in block {}; paid {} (held in escrow)",
                    purchased.purchase_id, purchased.offer_id, purchased.height, purchased.paid
                )?;
                writeln!(
                    out,
                    "delivery instruction {} recorded: the data goes to {}",
                    purchased.delivery_sequence, recipient.endpoint
                )?;
                writeln!(out, "txhash: {}", purchased.txhash)?;
                Ok(())
            }
        }
    })
}

/// Carries out `consign purchase …`.
///
/// # Errors
///
/// If the node cannot be reached, or `out` cannot be written.
pub fn run_purchase(
    args: &PurchaseArgs,
    output: OutputFormat,
    out: &mut impl Write,
) -> anyhow::Result<u8> {
    let contract = args.contract.address()?;
    let (from, msg) = match &args.command {
        PurchaseCommand::Show { id } => {
            return query(
                &args.node,
                contract,
                &json!({ "purchase": { "id": id } }),
                output,
                out,
            )
        }
        PurchaseCommand::List {
            buyer,
            seller,
            start_after,
            limit,
        } => {
            let msg = match (buyer, seller) {
                (Some(buyer), _) => {
                    json!({ "purchases_by_buyer": { "buyer": buyer, "start_after": start_after, "limit": limit } })
                }
                (None, Some(seller)) => {
                    json!({ "purchases_by_seller": { "seller": seller, "start_after": start_after, "limit": limit } })
                }
                (None, None) => bail!("give --buyer or --seller"),
            };
            return query(&args.node, contract, &msg, output, out);
        }
        PurchaseCommand::Confirm { id, from } => {
            (from, json!({ "confirm_receipt": { "purchase_id": id } }))
        }
        PurchaseCommand::Dispute { id, reason, from } => (
            from,
            json!({ "dispute": { "purchase_id": id, "reason": reason } }),
        ),
        PurchaseCommand::Claim { id, from } => {
            (from, json!({ "claim_payment": { "purchase_id": id } }))
        }
        PurchaseCommand::Resolve {
            id, release, from, ..
        } => (
            from,
            json!({ "resolve": { "purchase_id": id, "release": release } }),
        ),
    };
    let outcome = sign_and_broadcast(
        &args.node,
        &args.options,
        from,
        vec![execute_msg(contract, &msg, vec![])],
    )?;
    report(outcome, output, out, super::tx::print_result)
}

/// A `MsgExecuteContract` of `msg`'s JSON.
pub(super) fn execute_msg(contract: &str, msg: &Value, funds: Vec<Coin>) -> Msg {
    Msg::Execute {
        contract: contract.to_owned(),
        msg: serde_json::to_vec(msg)
            .expect("a JSON value serialises")
            .into(),
        funds,
    }
}

/// Signs and broadcasts one execute message (without funds) of an offer command.
fn execute(
    args: &OfferArgs,
    from: &str,
    msg: Value,
) -> anyhow::Result<Result<Broadcast, ClientError>> {
    let contract = args.contract.address()?;
    sign_and_broadcast(
        &args.node,
        &args.options,
        from,
        vec![execute_msg(contract, &msg, vec![])],
    )
}

/// Runs a smart query and prints the contract's answer.
fn query(
    node: &NodeArgs,
    contract: &str,
    msg: &Value,
    output: OutputFormat,
    out: &mut impl Write,
) -> anyhow::Result<u8> {
    let client = node.client()?;
    let answer: Value = block_on(client.smart_query(contract, msg))??;
    print_json(&answer, output, out)?;
    Ok(EXIT_OK)
}

/// The value of the attribute `key` that `contract` emitted in its `wasm` event, as a number.
fn attribute_u64(result: &TxResult, contract: &str, key: &str) -> anyhow::Result<u64> {
    result
        .events
        .iter()
        .filter(|e| e.ty == "wasm")
        .filter(|e| {
            e.attributes
                .iter()
                .any(|a| a.key == "_contract_address" && a.value == contract)
        })
        .flat_map(|e| &e.attributes)
        .find(|a| a.key == key)
        .with_context(|| format!("the contract's response has no `{key}` attribute: is {contract} a data-sale contract?"))?
        .value
        .parse()
        .with_context(|| format!("the `{key}` attribute is not a number"))
}

/// The SHA-256 (lowercase hex) and size of a file, read once in 1 MiB pieces; a progress bar on
/// stderr for files over 64 MiB when stderr is a terminal.
pub(super) fn hash_file(path: &Path) -> anyhow::Result<(String, u64)> {
    const PIECE: usize = 1 << 20;
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len == 0 {
        bail!(
            "{} is empty: an offer needs at least one byte of data",
            path.display()
        );
    }
    let bar = if len > 64 << 20 {
        let bar = ProgressBar::new(len).with_message(format!("hashing {}", path.display()));
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec})",
            )
            .expect("a valid progress template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; PIECE];
    let mut size = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
        bar.set_position(size);
    }
    bar.finish_and_clear();
    Ok((hex::encode(hasher.finalize()), size))
}

/// A title from a file's name.
fn file_title(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn coins_to_string(coins: &[Coin]) -> String {
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
    fn files_hash_in_pieces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.bin");
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let (sha, size) = hash_file(&path).unwrap();
        assert_eq!(size, data.len() as u64);
        assert_eq!(sha, hex::encode(Sha256::digest(&data)));
    }

    #[test]
    fn an_empty_file_cannot_be_offered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty");
        std::fs::write(&path, b"").unwrap();
        let err = hash_file(&path).unwrap_err();
        assert!(err.to_string().contains("is empty"), "{err}");
    }
}

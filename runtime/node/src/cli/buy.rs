//! `consign buy OFFER --deliver-to URL --recipient age1…`: a buyer's purchase, naming where the
//! data is delivered and the key it is encrypted to.

use std::io::Write;

use anyhow::Context as _;
use clap::Args;
use consign_client::DeliveryAddress;
use consign_market::{created_purchase_id, ExecuteMsg, OfferResponse, QueryMsg};
use serde::Serialize;

use super::args::{parse_coins, Coins, MarketArgs};
use super::broadcast::sign_and_broadcast;
use super::output::{coins_to_string, print_json, report};
use super::{OutputFormat, Session};

/// Long help of `consign buy`.
pub(super) const LONG_ABOUT: &str = "\
Buy an offer of a data-sale contract, paying exactly its price (read from the contract, or
--amount), and name where the data must be delivered: --deliver-to, the http(s) URL the storage
node will POST the encrypted data to (run `consign inbox` there), and --recipient, the age X25519
public key (age1…) it is encrypted to.

The payment is held in escrow until you confirm receipt (`consign purchase confirm`), the release
window passes, or the arbiter settles a dispute. Prints the purchase id and the sequence number of
the delivery instruction the contract emitted.";

/// Examples for `consign buy --help`.
pub(super) const EXAMPLES: &str = "\
Examples:
  consign buy 1 --deliver-to https://bob.example/inbox --recipient age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p --from bob --contract $MARKET
  consign --output json buy 1 --deliver-to http://127.0.0.1:8080/ --recipient $(cat bob.age.pub) --from bob | jq .purchase_id";

/// `consign buy`.
#[derive(Debug, Clone, Args)]
pub struct BuyArgs {
    /// Which node, contract and keyring, and how transactions are signed and broadcast.
    #[command(flatten)]
    pub market: MarketArgs,
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

/// Carries out `consign buy`.
///
/// # Errors
///
/// If the node cannot be reached, or `out` cannot be written.
pub fn run(args: &BuyArgs, session: &Session, out: &mut impl Write) -> anyhow::Result<u8> {
    let output = session.output;
    let contract = args.market.contract.address()?;
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
            let client = args.market.node.client()?;
            let offer: OfferResponse = session
                .block_on(client.smart_query(contract, &QueryMsg::offer(args.offer)))
                .with_context(|| format!("cannot read offer {} of {contract}", args.offer))?;
            offer.price
        }
    };
    let paid = coins_to_string(&funds);
    let msg = ExecuteMsg::purchase(args.offer, recipient.clone());
    let outcome = sign_and_broadcast(
        session,
        &args.market.node,
        &args.market.options,
        &args.from,
        vec![msg.to_msg(contract, funds)],
    )?;
    report(outcome, output, out, |result, output, out| {
        let delivery = result
            .deliveries
            .first()
            .context("the purchase committed but emitted no delivery instruction")?;
        let purchased = Purchased {
            purchase_id: created_purchase_id(&result.events, contract)?,
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

//! `consign purchase show|list|confirm|dispute|claim|resolve`: follow a purchase and end its
//! escrow.

use std::io::Write;

use anyhow::{bail, Context as _};
use clap::{ArgGroup, Args, Subcommand};
use consign_client::{NodeClient, Timestamp};
use consign_market::{ConfigResponse, Escrow, ExecuteMsg, PurchaseResponse, QueryMsg};
use serde::Serialize;

use super::args::{parse_address, MarketArgs};
use super::broadcast::sign_and_broadcast;
use super::market::query;
use super::output::{coins_to_string, print_json, print_result, report};
use super::{OutputFormat, Session, EXIT_OK};

/// Long help of `consign purchase`.
pub(super) const LONG_ABOUT: &str = "\
Follow a purchase of a data-sale contract and end its escrow: show it, confirm receipt (the buyer;
pays the seller), dispute it within the release window (the buyer), claim the payment after the
window (the seller), or settle a dispute (the arbiter).

`purchase show` prints the dispute deadline: the end of the release window (the purchase's time
plus the contract's release_window_seconds), in local time (RFC 3339 in UTC with --output json).
The data should be delivered before it; until then the buyer may dispute a purchase that never
arrived, and after it the seller may claim the payment.";

/// Examples for `consign purchase --help`.
pub(super) const EXAMPLES: &str = "\
Examples:
  consign purchase show 1 --contract $MARKET
  consign purchase list --buyer $(consign keys show bob -a) --contract $MARKET
  consign purchase confirm 1 --from bob --contract $MARKET
  consign purchase dispute 1 --reason 'digest mismatch' --from bob --contract $MARKET
  consign purchase claim 1 --from alice --contract $MARKET
  consign purchase resolve 1 --refund --from arbiter --contract $MARKET";

/// `consign purchase …`.
#[derive(Debug, Clone, Args)]
pub struct PurchaseArgs {
    /// Which node, contract and keyring, and how transactions are signed and broadcast.
    #[command(flatten)]
    pub market: MarketArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: PurchaseCommand,
}

/// The `consign purchase` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum PurchaseCommand {
    /// Show one purchase, its escrow state and its dispute deadline (in local time).
    Show {
        /// The purchase's id.
        id: u64,
    },
    /// List a buyer's purchases or a seller's sales.
    #[command(group(ArgGroup::new("party").required(true).args(["buyer", "seller"])))]
    List {
        /// This buyer's purchases.
        #[arg(long, value_name = "ADDRESS", value_parser = parse_address)]
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
    #[command(group(ArgGroup::new("outcome").required(true).args(["release", "refund"])))]
    Resolve {
        /// The purchase's id.
        id: u64,
        /// Pay the seller.
        #[arg(long)]
        release: bool,
        /// Refund the buyer.
        #[arg(long)]
        refund: bool,
        /// The arbiter's key.
        #[arg(long, value_name = "KEY")]
        from: String,
    },
}

/// Carries out `consign purchase …`.
///
/// # Errors
///
/// If the node cannot be reached, or `out` cannot be written.
pub fn run(args: &PurchaseArgs, session: &Session, out: &mut impl Write) -> anyhow::Result<u8> {
    let contract = args.market.contract.address()?;
    let (from, msg) = match &args.command {
        PurchaseCommand::Show { id } => return show(session, args, contract, *id, out),
        PurchaseCommand::List {
            buyer,
            seller,
            start_after,
            limit,
        } => {
            let msg = match (buyer, seller) {
                (Some(buyer), _) => QueryMsg::purchases_by_buyer(buyer, *start_after, *limit),
                (None, Some(seller)) => QueryMsg::purchases_by_seller(seller, *start_after, *limit),
                (None, None) => bail!("give --buyer or --seller"),
            };
            return query(session, &args.market.node, contract, &msg, out);
        }
        PurchaseCommand::Confirm { id, from } => (from, ExecuteMsg::confirm_receipt(*id)),
        PurchaseCommand::Dispute { id, reason, from } => {
            (from, ExecuteMsg::dispute(*id, reason.clone()))
        }
        PurchaseCommand::Claim { id, from } => (from, ExecuteMsg::claim_payment(*id)),
        PurchaseCommand::Resolve {
            id, release, from, ..
        } => (from, ExecuteMsg::resolve(*id, *release)),
    };
    let outcome = sign_and_broadcast(
        session,
        &args.market.node,
        &args.market.options,
        from,
        vec![msg.to_msg(contract, vec![])],
    )?;
    report(outcome, session.output, out, print_result)
}

/// A block time, to print: in local time for people, RFC 3339 for JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BlockTime(jiff::Timestamp);

impl BlockTime {
    /// `time` as the contract stores it.
    ///
    /// # Errors
    ///
    /// If it is beyond the year 9999.
    pub(super) fn new(time: Timestamp) -> anyhow::Result<Self> {
        jiff::Timestamp::from_nanosecond(i128::from(time.nanos()))
            .map(Self)
            .with_context(|| format!("the block time {time} is beyond the year 9999"))
    }

    /// The dispute deadline of a purchase made at `created` under a release window of
    /// `window_seconds`: until then the buyer may dispute it (the contract refuses a dispute from
    /// this instant on), and from then on the seller may claim the payment. The data should be
    /// delivered before it.
    ///
    /// # Errors
    ///
    /// If the deadline is beyond the year 9999.
    pub(super) fn dispute_deadline(
        created: Timestamp,
        window_seconds: u64,
    ) -> anyhow::Result<Self> {
        let beyond = || format!("a release window of {window_seconds} s ends beyond the year 9999");
        let window = i64::try_from(window_seconds).with_context(beyond)?;
        Self::new(created)?
            .0
            .checked_add(jiff::SignedDuration::from_secs(window))
            .map(Self)
            .with_context(beyond)
    }

    /// RFC 3339 in UTC, for JSON: `2026-12-02T14:05:03Z`.
    pub(super) fn rfc3339(self) -> String {
        self.0.to_string()
    }

    /// In the local time zone (TZ, else the system's), with the zone's abbreviation:
    /// `2026-12-02 15:05:03 CET`.
    pub(super) fn local(self) -> String {
        self.0
            .to_zoned_datetime(jiff::tz::TimeZone::system())
            .strftime("%Y-%m-%d %H:%M:%S %Z")
            .to_string()
    }

    /// Whether it has passed, by this machine's clock.
    pub(super) fn passed(self) -> bool {
        jiff::Timestamp::now() >= self.0
    }
}

/// Reads the contract's release window.
///
/// # Errors
///
/// If the node cannot be reached or the contract does not answer.
pub(super) fn release_window(
    session: &Session,
    client: &NodeClient,
    contract: &str,
) -> anyhow::Result<u64> {
    let config: ConfigResponse = session
        .block_on(client.smart_query(contract, &QueryMsg::config()))
        .with_context(|| format!("cannot read the configuration of {contract}"))?;
    Ok(config.release_window_seconds)
}

/// What `consign purchase show --output json` prints: the purchase as the contract answers it,
/// with its deadline.
#[derive(Debug, Serialize)]
struct Shown<'a> {
    #[serde(flatten)]
    purchase: &'a PurchaseResponse,
    /// The contract's release window.
    release_window_seconds: u64,
    /// When the release window ends (RFC 3339, UTC).
    dispute_deadline: String,
}

/// Carries out `consign purchase show`.
///
/// # Errors
///
/// If the node cannot be reached, the purchase cannot be read, or `out` cannot be written.
fn show(
    session: &Session,
    args: &PurchaseArgs,
    contract: &str,
    id: u64,
    out: &mut impl Write,
) -> anyhow::Result<u8> {
    let client = args.market.node.client()?;
    let purchase: PurchaseResponse = session
        .block_on(client.smart_query(contract, &QueryMsg::purchase(id)))
        .with_context(|| format!("cannot read purchase {id} of {contract}"))?;
    let window = release_window(session, &client, contract)?;
    let deadline = BlockTime::dispute_deadline(purchase.created, window)?;
    if session.output == OutputFormat::Json {
        let shown = Shown {
            purchase: &purchase,
            release_window_seconds: window,
            dispute_deadline: deadline.rfc3339(),
        };
        print_json(&shown, session.output, out)?;
        return Ok(EXIT_OK);
    }
    let p = &purchase;
    writeln!(out, "purchase {} of offer {}", p.id, p.offer_id)?;
    writeln!(out, "buyer:            {}", p.buyer)?;
    writeln!(out, "seller:           {}", p.seller)?;
    writeln!(out, "price:            {}", coins_to_string(&p.price))?;
    writeln!(out, "deliver to:       {}", p.recipient.endpoint)?;
    writeln!(out, "recipient:        {}", p.recipient.key)?;
    writeln!(
        out,
        "bought:           {}",
        BlockTime::new(p.created)?.local()
    )?;
    writeln!(out, "escrow:           {}", p.state)?;
    let note = match (p.state, deadline.passed()) {
        (Escrow::Held, false) => {
            "the data should arrive before then; until then the buyer may dispute (`consign purchase dispute`)"
        }
        (Escrow::Held, true) => "passed: the buyer can no longer dispute; the seller may claim the payment",
        _ => "settled or disputed: the deadline no longer applies",
    };
    writeln!(out, "dispute deadline: {} ({note})", deadline.local())?;
    if let Some(reason) = &p.dispute_reason {
        writeln!(out, "dispute reason:   {reason}")?;
    }
    if let Some(settled) = p.settled {
        writeln!(
            out,
            "settled:          {}",
            BlockTime::new(settled)?.local()
        )?;
    }
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dispute_deadline_is_the_purchase_time_plus_the_window() {
        let created = Timestamp::from_nanos(1_700_000_000_250_000_000);
        let deadline = BlockTime::dispute_deadline(created, 3600).unwrap();
        assert_eq!(deadline.rfc3339(), "2023-11-14T23:13:20.25Z");
        assert!(deadline.passed());
        assert!(BlockTime::dispute_deadline(created, u64::MAX).is_err());
    }
}

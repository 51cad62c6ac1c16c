//! `consign purchase show|list|confirm|dispute|claim|resolve`: follow a purchase and end its
//! escrow.

use std::io::Write;

use anyhow::bail;
use clap::{Args, Subcommand};
use consign_market::{ExecuteMsg, QueryMsg};

use super::args::{parse_address, MarketArgs};
use super::broadcast::sign_and_broadcast;
use super::market::query;
use super::output::{print_result, report};
use super::Session;

/// Long help of `consign purchase`.
pub(super) const LONG_ABOUT: &str = "\
Follow a purchase of a data-sale contract and end its escrow: show it, confirm receipt (the buyer;
pays the seller), dispute it within the release window (the buyer), claim the payment after the
window (the seller), or settle a dispute (the arbiter).";

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

/// Carries out `consign purchase …`.
///
/// # Errors
///
/// If the node cannot be reached, or `out` cannot be written.
pub fn run(args: &PurchaseArgs, session: &Session, out: &mut impl Write) -> anyhow::Result<u8> {
    let contract = args.market.contract.address()?;
    let (from, msg) = match &args.command {
        PurchaseCommand::Show { id } => {
            return query(
                session,
                &args.market.node,
                contract,
                &QueryMsg::purchase(*id),
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

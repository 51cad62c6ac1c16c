//! `consign purchase show|list|confirm|dispute|claim|claim-refund|resolve`: follow a purchase
//! and end its escrow.

use std::collections::btree_map::{BTreeMap, Entry};
use std::io::Write;

use anyhow::{bail, Context as _};
use clap::{ArgGroup, Args, Subcommand};
use consign_client::{ClientError, NodeClient};
use consign_market::{
    Escrow, ExecuteMsg, OfferResponse, PurchaseResponse, PurchasesResponse, QueryMsg, DEFAULT_LIMIT,
};
use serde::Serialize;

use super::args::{parse_address, ContractArg, NodeArgs, TxOptions};
use super::broadcast::sign_and_broadcast;
use super::market::market_config;
use super::output::{
    coins_to_string, field, next_block_time, print_json, print_result, report, truncate, Align,
    BlockTime, Table,
};
use super::{OutputFormat, Session, EXIT_OK};

/// Long help of `consign purchase`.
pub(super) const LONG_ABOUT: &str = "\
Follow a purchase of a data-sale contract and end its escrow: show it, confirm receipt (the buyer;
pays the seller), dispute it within the release window (the buyer), claim the payment after the
window (the seller), settle a dispute (the arbiter), or take the payment back when the arbiter
left a dispute unresolved for the whole arbitration window (the buyer, `claim-refund`).

`purchase show` prints the dispute deadline: the end of the release window (the purchase's time
plus the contract's release_window_seconds), in local time (RFC 3339 in UTC with --output json).
The data should be delivered before it; until then the buyer may dispute a purchase that never
arrived, and after it the seller may claim the payment. Of a disputed purchase it also prints
when it was disputed and the arbitration deadline (the dispute's time plus the contract's
arbitration_window_seconds): the arbiter should resolve it before then, and after it the buyer
may run `consign purchase claim-refund ID`.

`show` and `list` only read: they take the node and the contract. The others sign a
transaction and take the transaction flags (--gas, --fees, --broadcast-mode, …) after their
name: `consign purchase confirm 1 --from bob --gas auto`.";

/// Examples for `consign purchase --help`.
pub(super) const EXAMPLES: &str = "\
Examples:
  consign purchase show 1 --contract $MARKET
  consign purchase list --buyer $(consign keys show bob -a) --contract $MARKET
  consign purchase confirm 1 --from bob --contract $MARKET
  consign purchase dispute 1 --reason 'digest mismatch' --from bob --contract $MARKET
  consign purchase claim 1 --from alice --contract $MARKET
  consign purchase resolve 1 --refund --from arbiter --contract $MARKET
  consign purchase claim-refund 1 --from bob --contract $MARKET";

/// `consign purchase …`.
#[derive(Debug, Clone, Args)]
pub struct PurchaseArgs {
    /// Which node, and where the keyring is.
    #[command(flatten)]
    pub node: NodeArgs,
    /// Which contract.
    #[command(flatten)]
    pub contract: ContractArg,
    /// What to do.
    #[command(subcommand)]
    pub command: PurchaseCommand,
}

/// The `consign purchase` subcommands. Only those that sign a transaction take [`TxOptions`],
/// so `show` and `list` do not list flags they would ignore.
#[derive(Debug, Clone, Subcommand)]
pub enum PurchaseCommand {
    /// Show one purchase, its escrow state and its deadlines (in local time).
    #[command(
        long_about = "Show one purchase as `key: value` lines: the offer, buyer, seller, price, \
                      delivery address, when it was bought, its escrow state (held, disputed, \
                      released, refunded) and its dispute deadline; of a disputed purchase, \
                      when it was disputed, why, and the arbitration deadline after which the \
                      buyer may claim a refund. Times are local (RFC 3339 in UTC with --output \
                      json, which prints the contract's answer with release_window_seconds, \
                      dispute_deadline, arbitration_window_seconds and, once disputed, \
                      arbitration_deadline).",
        after_help = "Examples:\n  consign purchase show 1 --contract $MARKET\n  consign --output json purchase show 1 | jq -r .dispute_deadline"
    )]
    Show {
        /// The purchase's id.
        id: u64,
    },
    /// List a buyer's purchases or a seller's sales, as a table.
    #[command(
        group(ArgGroup::new("party").required(true).args(["buyer", "seller"])),
        long_about = "List a buyer's purchases or a seller's sales in id order, as a table: id, \
                      offer, title, price, escrow state, when bought, and the next deadline (the \
                      dispute deadline while the payment is held, the arbitration deadline while \
                      disputed) in local time. With --output json, the contract's answer: \
                      {\"purchases\": [...]}. A page holds --limit purchases (30 by default); \
                      pass the last id as --start-after for the next one.",
        after_help = "Examples:\n  consign purchase list --buyer $(consign keys show bob -a) --contract $MARKET\n  consign purchase list --seller $(consign keys show alice -a) --start-after 30"
    )]
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
        /// How to sign and broadcast.
        #[command(flatten)]
        tx: TxOptions,
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
        /// How to sign and broadcast.
        #[command(flatten)]
        tx: TxOptions,
    },
    /// The seller takes the payment once the release window has passed without a dispute.
    Claim {
        /// The purchase's id.
        id: u64,
        /// The seller's key.
        #[arg(long, value_name = "KEY")]
        from: String,
        /// How to sign and broadcast.
        #[command(flatten)]
        tx: TxOptions,
    },
    /// The buyer takes the payment back from a dispute the arbiter left unresolved for the
    /// whole arbitration window.
    #[command(
        visible_alias = "refund",
        long_about = "The buyer takes back the payment of a disputed purchase once the \
                      arbitration window (the contract's arbitration_window_seconds, counted \
                      from the dispute) has passed without the arbiter resolving it: an absent \
                      arbiter cannot hold the money for ever. `consign purchase show ID` prints \
                      the arbitration deadline.\n\n\
                      Checked before anything is signed, and refused with the reason: --from \
                      is the purchase's buyer, the purchase is disputed (not held, released or \
                      refunded), and the arbitration deadline has passed (by the later of the \
                      node's latest block time and this machine's clock).",
        after_help = "Examples:\n  consign purchase claim-refund 1 --from bob --contract $MARKET\n  consign purchase refund 1 --from bob --output json"
    )]
    ClaimRefund {
        /// The purchase's id.
        id: u64,
        /// The buyer's key.
        #[arg(long, value_name = "KEY")]
        from: String,
        /// How to sign and broadcast.
        #[command(flatten)]
        tx: TxOptions,
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
        /// How to sign and broadcast.
        #[command(flatten)]
        tx: TxOptions,
    },
}

/// Carries out `consign purchase …`.
///
/// # Errors
///
/// If the node cannot be reached, a check before signing fails, or `out` cannot be written.
pub fn run(args: &PurchaseArgs, session: &Session, out: &mut impl Write) -> anyhow::Result<u8> {
    let contract = args.contract.address()?;
    let (from, msg, tx) = match &args.command {
        PurchaseCommand::Show { id } => return show(session, &args.node, contract, *id, out),
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
            let by_buyer = buyer.is_some();
            return list(session, &args.node, contract, &msg, by_buyer, *limit, out);
        }
        PurchaseCommand::Confirm { id, from, tx } => (from, ExecuteMsg::confirm_receipt(*id), tx),
        PurchaseCommand::Dispute {
            id,
            reason,
            from,
            tx,
        } => (from, ExecuteMsg::dispute(*id, reason.clone()), tx),
        PurchaseCommand::Claim { id, from, tx } => (from, ExecuteMsg::claim_payment(*id), tx),
        PurchaseCommand::ClaimRefund { id, from, tx } => {
            check_claim_refund(session, &args.node, contract, *id, from)?;
            (from, ExecuteMsg::claim_refund(*id), tx)
        }
        PurchaseCommand::Resolve {
            id,
            release,
            from,
            tx,
            ..
        } => (from, ExecuteMsg::resolve(*id, *release), tx),
    };
    let outcome = sign_and_broadcast(
        session,
        &args.node,
        tx,
        from,
        vec![msg.to_msg(contract, vec![])],
    )?;
    report(outcome, session.output, out, print_result)
}

/// Reads purchase `id`.
///
/// # Errors
///
/// `purchase ID does not exist` with a hint for a purchase that does not exist; otherwise if the
/// node cannot be reached or the contract does not answer.
fn read_purchase(
    session: &Session,
    client: &NodeClient,
    contract: &str,
    id: u64,
) -> anyhow::Result<PurchaseResponse> {
    match session.block_on(client.smart_query(contract, &QueryMsg::purchase(id))) {
        Ok(purchase) => Ok(purchase),
        // The contract's own words, once, and where to find the ids that do exist.
        Err(error @ ClientError::QueryFailed { .. }) if error.is_absent() => bail!(
            "purchase {id} does not exist\nhint: `consign purchase list --buyer ADDRESS` (or \
             --seller) lists the purchases of {contract}"
        ),
        Err(error) => Err(error.into()),
    }
}

/// The arbitration deadline of a disputed purchase: its dispute's time plus the window.
fn arbitration_deadline(
    purchase: &PurchaseResponse,
    window_seconds: u64,
) -> anyhow::Result<Option<BlockTime>> {
    match (purchase.state, purchase.disputed) {
        (Escrow::Disputed, Some(disputed)) => Ok(Some(
            BlockTime::new(disputed)?.plus_seconds(window_seconds)?,
        )),
        _ => Ok(None),
    }
}

/// Refuses, before anything is signed, a `claim_refund` the contract would refuse: not the
/// buyer, not disputed, or the arbitration window still open.
///
/// # Errors
///
/// Saying which, what to do instead, and that nothing was signed; also if the key, the node or
/// the contract cannot be read.
fn check_claim_refund(
    session: &Session,
    node: &NodeArgs,
    contract: &str,
    id: u64,
    from: &str,
) -> anyhow::Result<()> {
    let claimer = node
        .home
        .keyring()?
        .info(from)
        .with_context(|| format!("cannot sign with `{from}`"))?
        .address;
    let client = node.client()?;
    let purchase = read_purchase(session, &client, contract, id)?;
    let config = market_config(session, &client, contract)?;
    let latest = session.block_on(client.status())?.latest_block_time;
    let now = BlockTime::new(next_block_time(latest))?;
    refund_refusal(&purchase, &claimer, config.arbitration_window_seconds, now)
}

/// Why the contract would refuse `claimer`'s `claim_refund` of `purchase` at `now`, if it would.
fn refund_refusal(
    purchase: &PurchaseResponse,
    claimer: &str,
    window_seconds: u64,
    now: BlockTime,
) -> anyhow::Result<()> {
    let id = purchase.id;
    if purchase.buyer.as_str() != claimer {
        bail!(
            "only purchase {id}'s buyer, {}, can claim its refund, and --from is {claimer}; \
             nothing was signed",
            purchase.buyer
        );
    }
    let settled = || -> anyhow::Result<String> {
        Ok(purchase
            .settled
            .map(BlockTime::new)
            .transpose()?
            .map(|t| format!(" at {}", t.local()))
            .unwrap_or_default())
    };
    match purchase.state {
        Escrow::Held => bail!(
            "purchase {id} is not disputed (its payment is held in escrow): a refund can be \
             claimed only after a dispute the arbiter left unresolved. If the data has not \
             arrived, dispute it before its dispute deadline (`consign purchase show {id}`): \
             `consign purchase dispute {id} --reason … --from {claimer}`; nothing was signed"
        ),
        Escrow::Released => bail!(
            "purchase {id} is settled: its payment was released to the seller{}; nothing was \
             signed",
            settled()?
        ),
        Escrow::Refunded => bail!(
            "purchase {id} is settled: its payment was already refunded to the buyer{}; nothing \
             was signed",
            settled()?
        ),
        Escrow::Disputed => {}
    }
    if let Some(deadline) = arbitration_deadline(purchase, window_seconds)? {
        if now < deadline {
            bail!(
                "the arbiter has until {} to resolve purchase {id} (the arbitration window of {} \
                 s counts from its dispute); claim the refund after that time; nothing was \
                 signed",
                deadline.local(),
                window_seconds
            );
        }
    }
    Ok(())
}

/// What `consign purchase show --output json` prints: the purchase as the contract answers it,
/// with its deadlines.
#[derive(Debug, Serialize)]
struct Shown<'a> {
    #[serde(flatten)]
    purchase: &'a PurchaseResponse,
    /// The contract's release window.
    release_window_seconds: u64,
    /// When the release window ends (RFC 3339, UTC).
    dispute_deadline: String,
    /// The contract's arbitration window.
    arbitration_window_seconds: u64,
    /// When the arbitration window of a disputed purchase ends (RFC 3339, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    arbitration_deadline: Option<String>,
}

/// Carries out `consign purchase show`.
///
/// # Errors
///
/// If the node cannot be reached, the purchase cannot be read, or `out` cannot be written.
fn show(
    session: &Session,
    node: &NodeArgs,
    contract: &str,
    id: u64,
    out: &mut impl Write,
) -> anyhow::Result<u8> {
    let client = node.client()?;
    let purchase = read_purchase(session, &client, contract, id)?;
    let config = market_config(session, &client, contract)?;
    let deadline = BlockTime::dispute_deadline(purchase.created, config.release_window_seconds)?;
    let arbitration = arbitration_deadline(&purchase, config.arbitration_window_seconds)?;
    if session.output == OutputFormat::Json {
        let shown = Shown {
            purchase: &purchase,
            release_window_seconds: config.release_window_seconds,
            dispute_deadline: deadline.rfc3339(),
            arbitration_window_seconds: config.arbitration_window_seconds,
            arbitration_deadline: arbitration.map(BlockTime::rfc3339),
        };
        print_json(&shown, session.output, out)?;
        return Ok(EXIT_OK);
    }
    let p = &purchase;
    field(out, "purchase", &p.id.to_string())?;
    field(out, "offer", &p.offer_id.to_string())?;
    field(out, "buyer", p.buyer.as_str())?;
    field(out, "seller", p.seller.as_str())?;
    field(out, "price", &coins_to_string(&p.price))?;
    field(out, "deliver to", &p.recipient.endpoint)?;
    field(out, "recipient", &p.recipient.key)?;
    field(out, "bought", &BlockTime::new(p.created)?.local())?;
    field(out, "escrow", p.state.as_str())?;
    let note = match (p.state, deadline.passed()) {
        (Escrow::Held, false) => {
            "the data should arrive before then; until then the buyer may dispute (`consign purchase dispute`)"
        }
        (Escrow::Held, true) => "passed: the buyer can no longer dispute; the seller may claim the payment",
        (Escrow::Disputed, _) => "disputed in time: the arbiter decides",
        _ => "settled: it no longer applies",
    };
    field(
        out,
        "dispute deadline",
        &format!("{} ({note})", deadline.local()),
    )?;
    if let Some(disputed) = p.disputed {
        field(out, "disputed", &BlockTime::new(disputed)?.local())?;
    }
    if let Some(reason) = &p.dispute_reason {
        field(out, "dispute reason", reason)?;
    }
    if let Some(arbitration) = arbitration {
        let note = if arbitration.passed() {
            format!(
                "passed: the arbiter has not resolved it; the buyer can take the payment back \
                 with `consign purchase claim-refund {}`",
                p.id
            )
        } else {
            format!(
                "until then the arbiter may resolve it (`consign purchase resolve`); after it, \
                 if unresolved, the buyer can run `consign purchase claim-refund {}`",
                p.id
            )
        };
        field(
            out,
            "arbitration deadline",
            &format!("{} ({note})", arbitration.local()),
        )?;
    }
    if let Some(settled) = p.settled {
        field(out, "settled", &BlockTime::new(settled)?.local())?;
    }
    Ok(EXIT_OK)
}

/// Carries out `consign purchase list`: the contract's answer as JSON, or a table with each
/// purchase's offer title and next deadline.
///
/// # Errors
///
/// If the node cannot be reached, the contract does not answer, or `out` cannot be written.
fn list(
    session: &Session,
    node: &NodeArgs,
    contract: &str,
    msg: &QueryMsg,
    by_buyer: bool,
    limit: Option<u32>,
    out: &mut impl Write,
) -> anyhow::Result<u8> {
    let client = node.client()?;
    let answer: serde_json::Value = session.block_on(client.smart_query(contract, msg))?;
    if session.output == OutputFormat::Json {
        print_json(&answer, session.output, out)?;
        return Ok(EXIT_OK);
    }
    let page: PurchasesResponse = serde_json::from_value(answer)
        .with_context(|| format!("unexpected answer to a purchase listing from {contract}"))?;
    if page.purchases.is_empty() {
        let whose = if by_buyer { "buyer" } else { "seller" };
        eprintln!("no purchases for this {whose} in {contract} (after --start-after, if given)");
        return Ok(EXIT_OK);
    }
    let config = market_config(session, &client, contract)?;
    // Each offer's title, read once however many purchases it has.
    let mut titles: BTreeMap<u64, String> = BTreeMap::new();
    for p in &page.purchases {
        if let Entry::Vacant(title) = titles.entry(p.offer_id) {
            let offer: OfferResponse = session
                .block_on(client.smart_query(contract, &QueryMsg::offer(p.offer_id)))
                .with_context(|| format!("cannot read offer {} of {contract}", p.offer_id))?;
            title.insert(offer.title);
        }
    }
    let mut table = Table::new(&[
        ("ID", Align::Right),
        ("OFFER", Align::Right),
        ("TITLE", Align::Left),
        ("PRICE", Align::Left),
        ("STATE", Align::Left),
        ("BOUGHT", Align::Left),
        ("DEADLINE", Align::Left),
    ]);
    for p in &page.purchases {
        let deadline = match p.state {
            Escrow::Held => {
                let deadline =
                    BlockTime::dispute_deadline(p.created, config.release_window_seconds)?;
                let what = if deadline.passed() {
                    "claimable since"
                } else {
                    "dispute by"
                };
                format!("{what} {}", deadline.local_short())
            }
            Escrow::Disputed => match arbitration_deadline(p, config.arbitration_window_seconds)? {
                Some(deadline) if deadline.passed() => {
                    format!("refundable since {}", deadline.local_short())
                }
                Some(deadline) => format!("arbiter by {}", deadline.local_short()),
                None => "-".to_owned(),
            },
            Escrow::Released | Escrow::Refunded => "-".to_owned(),
        };
        table.row(vec![
            p.id.to_string(),
            p.offer_id.to_string(),
            truncate(titles.get(&p.offer_id).map_or("", String::as_str), 32),
            coins_to_string(&p.price),
            p.state.to_string(),
            BlockTime::new(p.created)?.local_short(),
            deadline,
        ]);
    }
    table.write(out)?;
    let shown = u32::try_from(page.purchases.len()).unwrap_or(u32::MAX);
    if shown >= limit.unwrap_or(DEFAULT_LIMIT) {
        if let Some(last) = page.purchases.last() {
            eprintln!(
                "more may follow: add --start-after {} for the next page",
                last.id
            );
        }
    }
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use consign_client::Timestamp;

    use super::*;

    fn purchase(state: Escrow, disputed: Option<u64>) -> PurchaseResponse {
        serde_json::from_value(serde_json::json!({
            "id": 4, "offer_id": 1, "buyer": "consign1buyer", "seller": "consign1seller",
            "price": [{"denom": "ucsn", "amount": "100"}],
            "recipient": {"endpoint": "https://b.example/", "key": "age1x"},
            "created": "1000000000000", "state": state, "dispute_reason": null,
            "disputed": disputed.map(|s| (s * 1_000_000_000).to_string()), "settled": null
        }))
        .unwrap()
    }

    fn at(seconds: u64) -> BlockTime {
        BlockTime::new(Timestamp::from_seconds(seconds)).unwrap()
    }

    #[test]
    fn a_refund_is_refused_before_signing_unless_the_contract_would_pay_it() {
        let disputed = purchase(Escrow::Disputed, Some(2_000));
        assert!(refund_refusal(&disputed, "consign1buyer", 60, at(2_060)).is_ok());
        let err = refund_refusal(&disputed, "consign1buyer", 60, at(2_059)).unwrap_err();
        let err = err.to_string();
        assert!(err.starts_with("the arbiter has until "), "{err}");
        assert!(err.contains("nothing was signed"), "{err}");
        let err = refund_refusal(&disputed, "consign1other", 60, at(9_999)).unwrap_err();
        assert!(err.to_string().contains("only purchase 4's buyer"), "{err}");
        let held = purchase(Escrow::Held, None);
        let err = refund_refusal(&held, "consign1buyer", 60, at(9_999)).unwrap_err();
        assert!(
            err.to_string().contains("purchase 4 is not disputed"),
            "{err}"
        );
        assert!(
            err.to_string().contains("consign purchase dispute 4"),
            "{err}"
        );
        let refunded = purchase(Escrow::Refunded, Some(2_000));
        let err = refund_refusal(&refunded, "consign1buyer", 60, at(9_999)).unwrap_err();
        assert!(err.to_string().contains("already refunded"), "{err}");
    }
}

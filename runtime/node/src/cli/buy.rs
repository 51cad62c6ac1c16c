//! `consign buy OFFER --deliver-to URL --recipient age1…`: a buyer's purchase, naming where the
//! data is delivered and the key it is encrypted to.

use std::io::Write;
use std::net::{IpAddr, ToSocketAddrs as _};

use anyhow::{bail, Context as _};
use clap::Args;
use consign_client::ip::classify;
use consign_client::{amount_of, Coin, DeliveryAddress, NodeClient, Timestamp};
use consign_market::{
    created_purchase_id, ExecuteMsg, OfferResponse, OfferStatus, PurchaseResponse, QueryMsg,
};
use reqwest::Url;
use serde::Serialize;

use super::args::{parse_coins, Coins, MarketArgs, TxOptions};
use super::broadcast::{default_gas, fee, sign_and_broadcast, Gas};
use super::market::market_config;
use super::output::{coins_to_string, field, next_block_time, print_json, report, BlockTime};
use super::{OutputFormat, Session};

/// Long help of `consign buy`.
pub(super) const LONG_ABOUT: &str = "\
Buy an offer of a data-sale contract, paying exactly its price (read from the contract, or
--amount), and name where the data must be delivered: --deliver-to, the http(s) URL the storage
node will POST the encrypted data to (run `consign inbox` there), and --recipient, the age X25519
public key (age1…) it is encrypted to.

The payment is held in escrow until you confirm receipt (`consign purchase confirm`), the release
window passes, or the arbiter settles a dispute. Prints the purchase id, what was paid, the
sequence number of the delivery instruction the contract emitted, the dispute deadline in local
time (RFC 3339 with --output json) and the transaction hash, as `key: value` lines on stdout;
what happened is told on stderr. The data should arrive before the deadline, and until then you
can dispute (`consign purchase dispute`); after it the seller may claim the payment.

Checked before anything is signed; a failed check is an error and nothing is broadcast:
  - the offer exists, is active (not withdrawn) and has not expired;
  - your balance covers the price plus the fee (the fee is counted from --fees, --gas-prices or
    the node's minimum gas price times the gas limit; with --gas auto, only --fees is counted);
  - --deliver-to is an http(s) URL and --recipient an age X25519 recipient.
Warned about on stderr, and bought anyway:
  - --deliver-to names a loopback, private or other non-public address (or a name that resolves
    only to such addresses): a storage node on its default egress policy refuses to deliver
    there, so the delivery fails unless the storage node runs with --allow-private-egress (as on
    a local test setup).";

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
    /// The contract's release window.
    release_window_seconds: u64,
    /// When it ends for this purchase (RFC 3339, UTC): deliveries should arrive before it, and
    /// the buyer can dispute until it.
    dispute_deadline: String,
}

/// Carries out `consign buy`.
///
/// # Errors
///
/// If a check before signing fails (see [`LONG_ABOUT`]), the node cannot be reached, or `out`
/// cannot be written.
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
    if let Some(warning) = non_public_endpoint(&args.deliver_to) {
        eprintln!("warning: {warning}");
    }
    let client = args.market.node.client()?;
    let buyer = args
        .market
        .node
        .home
        .keyring()?
        .info(&args.from)
        .with_context(|| format!("cannot sign with `{}`", args.from))?
        .address;
    let offer: OfferResponse = session
        .block_on(client.smart_query(contract, &QueryMsg::offer(args.offer)))
        .with_context(|| format!("cannot read offer {} of {contract}", args.offer))?;
    let status = session.block_on(client.status())?;
    check_offer(&offer, next_block_time(status.latest_block_time))?;
    let funds = match &args.amount {
        Some(amount) => amount.0.clone(),
        None => offer.price,
    };
    let msg = ExecuteMsg::purchase(args.offer, recipient.clone()).to_msg(contract, funds.clone());
    let fee = session.block_on(fee_estimate(&client, &args.market.options, &msg))?;
    let balances = session.block_on(client.balances(&buyer))?;
    check_funds(&buyer, &funds, &fee, &balances)?;
    let window = market_config(session, &client, contract)?.release_window_seconds;
    let paid = coins_to_string(&funds);
    let outcome = sign_and_broadcast(
        session,
        &args.market.node,
        &args.market.options,
        &args.from,
        vec![msg],
    )?;
    report(outcome, output, out, |result, output, out| {
        let delivery = result
            .deliveries
            .first()
            .context("the purchase committed but emitted no delivery instruction")?;
        let purchase_id = created_purchase_id(&result.events, contract)?;
        let purchase: PurchaseResponse = session
            .block_on(client.smart_query(contract, &QueryMsg::purchase(purchase_id)))
            .with_context(|| format!("cannot read purchase {purchase_id} of {contract}"))?;
        let deadline = BlockTime::dispute_deadline(purchase.created, window)?;
        let purchased = Purchased {
            purchase_id,
            offer_id: args.offer,
            contract,
            paid: paid.clone(),
            delivery_sequence: delivery.sequence,
            txhash: result.txhash.to_string(),
            height: result.height,
            release_window_seconds: window,
            dispute_deadline: deadline.rfc3339(),
        };
        match output {
            OutputFormat::Json => print_json(&purchased, output, out),
            OutputFormat::Text => {
                // What happened, for the person (stderr); the result, for scripts too (stdout).
                eprintln!(
                    "purchase {} of offer {} committed in block {}; {} held in escrow until \
                     you confirm receipt; delivery instruction {} recorded: the data goes to {}",
                    purchased.purchase_id,
                    purchased.offer_id,
                    purchased.height,
                    purchased.paid,
                    purchased.delivery_sequence,
                    recipient.endpoint
                );
                field(out, "purchase", &purchased.purchase_id.to_string())?;
                field(out, "offer", &purchased.offer_id.to_string())?;
                field(out, "paid", &purchased.paid)?;
                field(
                    out,
                    "delivery sequence",
                    &purchased.delivery_sequence.to_string(),
                )?;
                field(
                    out,
                    "dispute deadline",
                    &format!(
                        "{} (the data should arrive before then; if it has not, dispute before \
                         it: `consign purchase dispute {} --reason … --from {}`; after it the \
                         seller may claim the payment)",
                        deadline.local(),
                        purchased.purchase_id,
                        args.from
                    ),
                )?;
                field(out, "txhash", &purchased.txhash)?;
                Ok(())
            }
        }
    })
}

/// Refuses an offer that cannot be bought: withdrawn, or expired at `now`, the earliest time the
/// purchase's block can have ([`next_block_time`]).
///
/// # Errors
///
/// Saying which, and that nothing was signed.
fn check_offer(offer: &OfferResponse, now: Timestamp) -> anyhow::Result<()> {
    if offer.status == OfferStatus::Withdrawn {
        bail!(
            "offer {} was withdrawn by its seller and can no longer be bought; nothing was signed",
            offer.id
        );
    }
    if let Some(expires) = offer.expires.filter(|expires| now >= *expires) {
        bail!(
            "offer {} expired at {} and can no longer be bought; nothing was signed",
            offer.id,
            BlockTime::new(expires)?.local()
        );
    }
    Ok(())
}

/// The fee the purchase will pay, as `sign_and_broadcast` will choose it: from --fees, or the
/// gas limit (--gas N or the default) times --gas-prices or the node's minimum gas price. With
/// `--gas auto` and no --fees the limit is unknown until the simulation; nothing is counted.
///
/// # Errors
///
/// If the node cannot be reached.
async fn fee_estimate(
    client: &NodeClient,
    options: &TxOptions,
    msg: &consign_client::Msg,
) -> anyhow::Result<Vec<Coin>> {
    let gas = match options.gas {
        Some(Gas::Limit(n)) => n,
        Some(Gas::Auto) if options.fees.is_none() => return Ok(Vec::new()),
        _ => default_gas(std::slice::from_ref(msg)),
    };
    Ok(fee(client, options, gas).await?)
}

/// Refuses a purchase the buyer cannot pay for: `funds` plus `fee`, denomination by
/// denomination, against `balances`.
///
/// # Errors
///
/// Naming what is needed, what is held, and that nothing was signed.
fn check_funds(buyer: &str, funds: &[Coin], fee: &[Coin], balances: &[Coin]) -> anyhow::Result<()> {
    let mut needed: Vec<Coin> = Vec::new();
    for coin in funds.iter().chain(fee) {
        match needed.iter_mut().find(|c| c.denom == coin.denom) {
            Some(c) => c.amount = c.amount.saturating_add(coin.amount),
            None => needed.push(coin.clone()),
        }
    }
    let short: Vec<&Coin> = needed
        .iter()
        .filter(|c| c.amount > amount_of(balances, &c.denom).into())
        .collect();
    if short.is_empty() {
        return Ok(());
    }
    let fee_text = if fee.iter().all(|c| c.amount.is_zero()) {
        String::new()
    } else {
        format!(" plus a fee of {}", coins_to_string(fee))
    };
    let holds = if balances.is_empty() {
        "nothing".to_owned()
    } else {
        coins_to_string(balances)
    };
    bail!(
        "insufficient funds: this purchase costs {}{fee_text}, but {buyer} holds {holds}; nothing \
         was signed. Fund the account first (e.g. `consign tx bank send KEY {buyer} AMOUNT`)",
        coins_to_string(funds)
    )
}

/// A warning when `endpoint`'s host is an address the storage node's default egress policy
/// refuses ([`classify`], the rule it enforces), or a name that resolves here only to such
/// addresses (it connects only to the public addresses a name resolves to). `None` when it is
/// public, or when the name does not resolve here (the storage node resolves it for itself).
fn non_public_endpoint(endpoint: &str) -> Option<String> {
    let url = Url::parse(endpoint).ok()?;
    let port = url.port_or_known_default()?;
    let host = url.host_str()?;
    let (what, ip) = match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        Ok(ip) => (ip.to_string(), ip),
        Err(_) => {
            let name = host;
            let ips: Vec<IpAddr> = (name, port)
                .to_socket_addrs()
                .ok()?
                .map(|a| a.ip())
                .collect();
            if ips.iter().any(|ip| classify(*ip).is_none()) {
                return None;
            }
            let first = *ips.first()?;
            (format!("{name} resolves to {first}, which"), first)
        }
    };
    let kind = classify(ip)?;
    Some(format!(
        "--deliver-to {endpoint}: {what} is {kind}. A storage node on its default egress policy \
         refuses to deliver to loopback, private and other non-public addresses (they reach into \
         its operator's network), so this delivery will fail unless the storage node that holds \
         the offer runs with --allow-private-egress (as on a local test setup). Buying anyway; \
         give a public address for a real purchase."
    ))
}

#[cfg(test)]
mod tests {
    use consign_client::coins;

    use super::*;

    #[test]
    fn private_and_loopback_endpoints_are_warned_of() {
        let warning = non_public_endpoint("http://127.0.0.1:8080/inbox").unwrap();
        assert!(
            warning.contains("127.0.0.1 is a loopback address"),
            "{warning}"
        );
        assert!(warning.contains("--allow-private-egress"), "{warning}");
        let warning = non_public_endpoint("https://[fd00::1]/").unwrap();
        assert!(warning.contains("a unique local"), "{warning}");
        assert!(non_public_endpoint("http://192.168.1.20/").is_some());
        assert!(non_public_endpoint("https://8.8.8.8/inbox").is_none());
        let warning = non_public_endpoint("http://localhost:9/").unwrap();
        assert!(warning.contains("localhost resolves to"), "{warning}");
    }

    #[test]
    fn withdrawn_and_expired_offers_are_refused() {
        let mut offer: OfferResponse = serde_json::from_value(serde_json::json!({
            "id": 7, "seller": "consign1seller", "price": [{"denom": "ucsn", "amount": "100"}],
            "content_sha256": "00".repeat(32), "size": 1, "title": "t", "description": "",
            "terms": "", "expires": "1000000000000", "status": "active", "created": "10"
        }))
        .unwrap();
        assert!(check_offer(&offer, Timestamp::from_seconds(999)).is_ok());
        let err = check_offer(&offer, Timestamp::from_seconds(1_000)).unwrap_err();
        assert!(err.to_string().starts_with("offer 7 expired at "), "{err}");
        offer.status = OfferStatus::Withdrawn;
        let err = check_offer(&offer, Timestamp::from_seconds(999)).unwrap_err();
        assert!(err.to_string().contains("withdrawn by its seller"), "{err}");
    }

    #[test]
    fn funds_must_cover_price_and_fee() {
        let buyer = "consign1buyer";
        let price = coins(100, "ucsn");
        assert!(check_funds(buyer, &price, &[], &coins(100, "ucsn")).is_ok());
        let err = check_funds(buyer, &price, &coins(5, "ucsn"), &coins(100, "ucsn"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("costs 100ucsn plus a fee of 5ucsn"), "{err}");
        assert!(err.contains("holds 100ucsn"), "{err}");
        let err = check_funds(buyer, &price, &[], &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("holds nothing; nothing was signed"), "{err}");
    }
}

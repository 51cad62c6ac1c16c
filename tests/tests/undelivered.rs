//! A buyer whose purchase is never delivered gets the money back by doing nothing but running
//! `consign inbox --confirm`: `consign dev`, the seller's `consign offer create` (never
//! registered with a storage node, so nothing is ever sent) and the buyer's inbox as separate
//! processes, in a market whose release and arbitration windows are a few seconds long. The
//! inbox disputes the purchase before its dispute deadline, the arbiter never answers, and the
//! inbox claims the refund when the arbitration window ends. A purchase delivered to another
//! recipient is not this inbox's to dispute and stays held. The chain charges fees, so the
//! inbox's own transactions must pay them as every command's do.

use std::path::Path;

use consign_client::{amount_of, NodeClient, SecretKey};
use consign_tests::{buy, deploy_data_sale_with, ok_json, runtime, DevNode, Inbox, Seller};

/// Seconds after a purchase until its dispute deadline.
const RELEASE_WINDOW: u64 = 6;
/// Seconds after a dispute until the buyer may claim the refund.
const ARBITRATION_WINDOW: u64 = 4;
/// The node's least fee per unit of gas: 20ucsn for a transaction at the default 2,000,000 gas.
const MIN_GAS_PRICE: &str = "0.00001ucsn";
/// The fee of one contract call at the default gas limit for contract calls (10,000,000) and
/// [`MIN_GAS_PRICE`].
const FEE: u128 = 100;

fn ucsn(node: &DevNode, address: &str) -> u128 {
    let balances = runtime()
        .block_on(NodeClient::new(&node.url).unwrap().balances(address))
        .unwrap();
    amount_of(&balances, "ucsn")
}

fn purchase(node: &DevNode, market: &str, id: u64) -> serde_json::Value {
    ok_json(
        &node
            .consign(&[
                "purchase",
                "show",
                &id.to_string(),
                "--contract",
                market,
                "--output",
                "json",
            ])
            .unwrap(),
    )
}

fn offer(seller: &Seller, node: &DevNode, market: &str, dir: &Path) -> u64 {
    let file = dir.join("data.csv");
    std::fs::write(&file, b"day,price\n1,100\n").unwrap();
    let created = ok_json(&seller.create_offer(node, market, &file).unwrap());
    created["offer_id"].as_u64().unwrap()
}

#[test]
fn an_undelivered_purchase_is_disputed_and_refunded_by_the_inbox_alone() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start_with(
        &dir.path().join("chain"),
        &["--min-gas-price", MIN_GAS_PRICE],
    )
    .unwrap();
    let market = deploy_data_sale_with(&node, RELEASE_WINDOW, Some(ARBITRATION_WINDOW)).unwrap();
    let seller = Seller::new(&node, &dir.path().join("seller")).unwrap();
    let offer_id = offer(&seller, &node, &market, dir.path());
    let recipient = node.age_key("bob").unwrap();
    let bob = SecretKey::from_seed("bob").address();

    let inbox = Inbox::start(
        &node,
        &dir.path().join("inbox"),
        "127.0.0.1:0",
        &[
            "--age-key",
            "bob",
            "--contract",
            &market,
            "--confirm",
            "--from",
            "bob",
        ],
    );
    let watching = inbox.wait_for_event("watching");
    assert_eq!(watching["release_window_seconds"], RELEASE_WINDOW);
    assert_eq!(watching["arbitration_window_seconds"], ARBITRATION_WINDOW);

    let before = ucsn(&node, &bob);
    let bought = buy(
        &node,
        &market,
        offer_id,
        &format!("{}/", inbox.url),
        &recipient,
    )
    .unwrap();
    let id = bought.purchase_id;
    // Another purchase by bob, to another identity's inbox: not this inbox's to dispute.
    let other_recipient = consign_client::AgeIdentity::generate().recipient();
    let other = buy(
        &node,
        &market,
        offer_id,
        "https://elsewhere.example/inbox",
        &other_recipient,
    )
    .unwrap();
    let paid = ucsn(&node, &bob);
    assert_eq!(paid, before - 2 * (100 + FEE), "two purchases at 100ucsn");

    // Nothing is delivered: the inbox disputes before the deadline...
    let disputed = inbox.wait_for("disputed", id);
    assert_eq!(disputed["txhash"].as_str().unwrap().len(), 64, "{disputed}");
    let shown = purchase(&node, &market, id);
    assert_eq!(shown["state"], "disputed", "{shown}");
    assert!(
        shown["dispute_reason"]
            .as_str()
            .unwrap()
            .starts_with("not delivered"),
        "{shown}"
    );
    // ...the arbiter never answers, and the inbox claims the refund when its window ends.
    let refunded = inbox.wait_for("refund_claimed", id);
    assert_eq!(refunded["txhash"].as_str().unwrap().len(), 64, "{refunded}");
    assert_eq!(purchase(&node, &market, id)["state"], "refunded");
    assert_eq!(
        ucsn(&node, &bob),
        paid + 100 - 2 * FEE,
        "the price is back, less the dispute's and the claim's fees"
    );

    // The seller's claim after the deadline finds nothing to take.
    let claim = seller
        .consign(
            &node,
            &[
                "purchase",
                "claim",
                &id.to_string(),
                "--contract",
                &market,
                "--from",
                "seller",
                "--output",
                "json",
            ],
        )
        .unwrap();
    assert!(
        !claim.status.success(),
        "the seller claimed a refunded purchase"
    );

    // The purchase to another recipient was left alone: still held, past its deadline.
    assert_eq!(purchase(&node, &market, other.purchase_id)["state"], "held");
    let events = inbox.events();
    assert!(
        !events
            .iter()
            .any(|e| e["purchase_id"] == other.purchase_id && e["event"] != "listening"),
        "the inbox acted on another recipient's purchase: {events:?}"
    );
}

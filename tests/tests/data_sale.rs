//! The data-sale contract on a real `consign dev` node, driven through the `consign offer`,
//! `consign buy` and `consign purchase` commands: a purchase emits exactly one delivery
//! instruction, stamped by the runtime; a failed purchase emits none; and nothing on-chain says
//! where the data is stored.

use std::path::Path;

use consign_client::DeliveryAddress;
use consign_market::ExecuteMsg;
use consign_tests::{deploy_data_sale, dev_address, ok_json, ChainNode, DevNode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A valid age recipient (the example in age's README).
const AGE_RECIPIENT: &str = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
/// Where the buyer wants the data. No server listens there: issue 4 stops at the instruction.
const BUYER_ENDPOINT: &str = "https://bob.example:8443/inbox";

fn run(node: &DevNode, args: &[&str]) -> std::process::Output {
    node.consign(args).expect("consign runs")
}

fn deliveries(node: &DevNode) -> Vec<Value> {
    let page = ok_json(&run(node, &["query", "deliveries", "--output", "json"]));
    page["deliveries"].as_array().unwrap().clone()
}

/// Creates an offer of `data` from alice at 100ucsn; returns (offer id, sha256).
fn create_offer(node: &DevNode, market: &str, dir: &Path, data: &[u8]) -> (u64, String) {
    let file = dir.join("weather.csv");
    std::fs::write(&file, data).unwrap();
    let out = ok_json(&run(
        node,
        &[
            "offer",
            "create",
            file.to_str().unwrap(),
            "--price",
            "100ucsn",
            "--title",
            "Weather 2026",
            "--description",
            "Hourly readings",
            "--terms",
            "personal use",
            "--from",
            "alice",
            "--contract",
            market,
            "--output",
            "json",
        ],
    ));
    let sha = hex::encode(Sha256::digest(data));
    assert_eq!(out["content_sha256"], sha.as_str(), "{out}");
    assert_eq!(out["size"], data.len() as u64);
    (out["offer_id"].as_u64().expect("offer_id"), sha)
}

fn buy(node: &DevNode, market: &str, offer: u64, extra: &[&str]) -> std::process::Output {
    let offer = offer.to_string();
    let mut args = vec![
        "buy",
        &offer,
        "--deliver-to",
        BUYER_ENDPOINT,
        "--recipient",
        AGE_RECIPIENT,
        "--from",
        "bob",
        "--contract",
        market,
        "--output",
        "json",
    ];
    args.extend_from_slice(extra);
    run(node, &args)
}

/// Every string anywhere in a JSON value.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            out.push(k.clone());
            strings(v, out);
        }),
        _ => {}
    }
}

#[test]
fn a_purchase_emits_exactly_one_instruction_stamped_by_the_runtime() {
    let home = tempfile::tempdir().unwrap();
    let node = DevNode::start(home.path()).unwrap();
    let market = deploy_data_sale(&node).unwrap();
    let data = b"time,temp\n00:00,3.1\n01:00,2.9\n".repeat(100);
    let (offer_id, sha) = create_offer(&node, &market, home.path(), &data);
    assert!(deliveries(&node).is_empty(), "an offer delivers nothing");

    let bob_before = node.balance(&dev_address("bob"));
    let bought = ok_json(&buy(&node, &market, offer_id, &[]));
    assert_eq!(bought["offer_id"], offer_id);
    assert_eq!(bought["paid"], "100ucsn");
    let purchase_id = bought["purchase_id"].as_u64().expect("purchase_id");
    let sequence = bought["delivery_sequence"].as_u64().expect("sequence");

    // Exactly one instruction in the public feed, as the contract emitted it, with what only the
    // runtime knows stamped on it.
    let feed = deliveries(&node);
    assert_eq!(feed.len(), 1, "{feed:?}");
    let record = &feed[0];
    assert_eq!(record["sequence"], sequence);
    assert_eq!(
        record["contract"],
        market.as_str(),
        "stamped by the runtime"
    );
    assert_eq!(record["tx_hash"], bought["txhash"]);
    assert_eq!(record["height"], bought["height"]);
    // The instruction's own fields sit beside the stamped ones.
    let mut instruction = record.clone();
    for stamped in ["sequence", "contract", "height", "tx_hash", "time"] {
        instruction.as_object_mut().unwrap().remove(stamped);
    }
    assert_eq!(
        instruction,
        json!({
            "offer_id": offer_id,
            "purchase_id": purchase_id,
            "buyer": dev_address("bob"),
            "recipient": { "endpoint": BUYER_ENDPOINT, "key": AGE_RECIPIENT },
            "content_sha256": sha,
            "size": data.len(),
        })
    );

    // The payment sits in escrow.
    assert_eq!(node.balance(&dev_address("bob")), bob_before - 100);
    assert_eq!(node.balance(&market), 100);
    let purchase = ok_json(&run(
        &node,
        &[
            "purchase",
            "show",
            &purchase_id.to_string(),
            "--contract",
            &market,
            "--output",
            "json",
        ],
    ));
    assert_eq!(purchase["state"], "held");

    // The buyer confirms receipt: the seller is paid, once; a second confirmation is refused.
    let alice_before = node.balance(&dev_address("alice"));
    let confirm = [
        "purchase",
        "confirm",
        &purchase_id.to_string(),
        "--from",
        "bob",
        "--contract",
        &market,
    ];
    ok_json(&run(&node, &[&confirm[..], &["--output", "json"]].concat()));
    assert_eq!(node.balance(&dev_address("alice")), alice_before + 100);
    assert_eq!(node.balance(&market), 0);
    let again = run(&node, &confirm);
    assert_eq!(again.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("released"), "{stderr}");
    assert_eq!(node.balance(&dev_address("alice")), alice_before + 100);
    assert_eq!(deliveries(&node).len(), 1, "settling delivers nothing more");
}

#[test]
fn failed_purchases_emit_no_instruction_and_move_no_funds() {
    let home = tempfile::tempdir().unwrap();
    let node = DevNode::start(home.path()).unwrap();
    let market = deploy_data_sale(&node).unwrap();
    let (offer_id, _) = create_offer(&node, &market, home.path(), b"some data");
    let bob_before = node.balance(&dev_address("bob"));

    // Wrong funds: the contract refuses, the transaction fails in its block, nothing is kept.
    let wrong = buy(&node, &market, offer_id, &["--amount", "99ucsn"]);
    assert_eq!(wrong.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(stderr.contains("100ucsn"), "says the price: {stderr}");

    // A bad delivery address is refused before anything is signed.
    let bad = run(
        &node,
        &[
            "buy",
            &offer_id.to_string(),
            "--deliver-to",
            "ftp://bob.example/",
            "--recipient",
            AGE_RECIPIENT,
            "--from",
            "bob",
            "--contract",
            &market,
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("--deliver-to"), "{stderr}");

    // A submessage failure: a proxy contract buys (with the right funds) and then fails; the
    // whole transaction reverts, including the purchase and its instruction.
    let proxy = deploy_proxy(&node);
    ok_json(&run(
        &node,
        &[
            "tx", "bank", "send", "bob", &proxy, "500ucsn", "--output", "json",
        ],
    ));
    let recipient = DeliveryAddress {
        endpoint: BUYER_ENDPOINT.to_owned(),
        key: AGE_RECIPIENT.to_owned(),
    };
    let purchase = serde_json::to_value(ExecuteMsg::purchase(offer_id, recipient)).unwrap();
    let purchase_then_fail = json!({"dispatch": {"messages": [
        {"id": 1, "msg": {"wasm": {"execute": {"contract_addr": market, "msg": b64(&purchase), "funds": [{"denom": "ucsn", "amount": "100"}]}}}, "reply_on": "never", "payload": ""},
        {"id": 2, "msg": {"wasm": {"execute": {"contract_addr": proxy, "msg": b64(&json!({"fail": {"message": "boom"}})), "funds": []}}}, "reply_on": "never", "payload": ""}
    ]}});
    let failed = run(
        &node,
        &[
            "tx",
            "wasm",
            "execute",
            &proxy,
            &purchase_then_fail.to_string(),
            "--from",
            "bob",
        ],
    );
    assert_eq!(failed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failed.stderr).contains("boom"));
    assert_eq!(node.balance(&proxy), 500);

    // A purchase submessage that fails (wrong funds) but whose error the proxy catches: the
    // transaction commits, yet the failed purchase left nothing behind.
    let caught = json!({"dispatch": {"messages": [
        {"id": 3, "msg": {"wasm": {"execute": {"contract_addr": market, "msg": b64(&purchase), "funds": [{"denom": "ucsn", "amount": "1"}]}}}, "reply_on": "error", "payload": ""}
    ]}});
    let out = ok_json(&run(
        &node,
        &[
            "tx",
            "wasm",
            "execute",
            &proxy,
            &caught.to_string(),
            "--from",
            "bob",
            "--output",
            "json",
        ],
    ));
    assert_eq!(out["code"], 0, "{out}");
    assert_eq!(out["deliveries"], json!([]));
    assert_eq!(node.balance(&proxy), 500);

    assert!(deliveries(&node).is_empty());
    assert_eq!(node.balance(&market), 0);
    assert_eq!(node.balance(&dev_address("bob")), bob_before - 500);
    let purchases = ok_json(&run(
        &node,
        &[
            "purchase",
            "list",
            "--buyer",
            &dev_address("bob"),
            "--contract",
            &market,
            "--output",
            "json",
        ],
    ));
    assert_eq!(purchases["purchases"], json!([]));
}

#[test]
fn nothing_on_chain_names_where_the_data_is_stored() {
    let home = tempfile::tempdir().unwrap();
    let node = DevNode::start(home.path()).unwrap();
    let market = deploy_data_sale(&node).unwrap();
    let (offer_id, _) = create_offer(&node, &market, home.path(), b"confidential bytes");
    ok_json(&buy(&node, &market, offer_id, &[]));

    // The stored offer has exactly the public fields: no location, no hint.
    let offer = ok_json(&run(
        &node,
        &[
            "offer",
            "show",
            &offer_id.to_string(),
            "--contract",
            &market,
            "--output",
            "json",
        ],
    ));
    let mut keys: Vec<&str> = offer
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "content_sha256",
            "created",
            "description",
            "expires",
            "id",
            "price",
            "seller",
            "size",
            "status",
            "terms",
            "title"
        ]
    );

    // Every block, every transaction (its body and its events): the only URL anywhere is the
    // buyer's own endpoint, written by the buyer; the seller's file name appears nowhere.
    let status = ok_json(&run(&node, &["status", "--output", "json"]));
    let height = status["height"].as_u64().unwrap();
    let mut seen = Vec::new();
    for h in 1..=height {
        let block = ok_json(&run(
            &node,
            &["query", "block", &h.to_string(), "--output", "json"],
        ));
        strings(&block, &mut seen);
        for hash in block["txs"].as_array().unwrap() {
            let tx = ok_json(&run(
                &node,
                &["query", "tx", hash.as_str().unwrap(), "--output", "json"],
            ));
            strings(&tx, &mut seen);
        }
    }
    strings(&offer, &mut seen);
    for s in &seen {
        let lower = s.to_ascii_lowercase();
        if lower.contains("http") {
            assert_eq!(s, BUYER_ENDPOINT, "an unexpected URL on-chain");
        }
        assert!(!s.contains("weather.csv"), "the file name leaked: {s}");
    }
    assert!(seen.iter().any(|s| s == BUYER_ENDPOINT));
}

fn b64(value: &Value) -> String {
    consign_client::Binary::new(value.to_string().into_bytes()).to_base64()
}

fn deploy_proxy(node: &DevNode) -> String {
    consign_tests::deploy(node, "proxy", "{}", "proxy").unwrap()
}

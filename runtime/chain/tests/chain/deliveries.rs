//! The delivery log: committed `deliver()` calls get a gap-free sequence, stamped by the chain.

use consign_types::{Binary, DeliveryAddress, DeliveryInstruction};
use serde_json::json;

use crate::common::{addr, TestChain};

fn instruction(purchase_id: u64) -> DeliveryInstruction {
    DeliveryInstruction {
        offer_id: 1,
        purchase_id,
        buyer: addr("bob"),
        recipient: DeliveryAddress {
            endpoint: "https://buyer.example/inbox".into(),
            key: "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p".into(),
        },
        content_sha256: "ab".repeat(32),
        size: 42,
        deadline: None,
    }
}

#[test]
fn committed_deliveries_are_numbered_and_stamped_and_failed_ones_are_not() {
    let mut chain = TestChain::new();
    let sink_code = chain.store("kitchen_sink");
    let proxy_code = chain.store("proxy");
    let sink = chain.instantiate(sink_code, json!({}), "sink");
    let proxy = chain.instantiate(proxy_code, json!({}), "proxy");

    let result = chain.execute(
        "alice",
        &sink,
        json!({"deliver": {"instruction": instruction(1)}}),
        vec![],
    );
    assert_eq!(result.code, 0, "{}", result.log);
    assert_eq!(result.deliveries.len(), 1);
    let record = &result.deliveries[0];
    assert_eq!(record.sequence, 1);
    assert_eq!(
        record.contract, sink,
        "stamped with the emitting contract by the chain"
    );
    assert_eq!(record.height, result.height);
    assert_eq!(record.tx_hash, result.txhash);
    assert_eq!(record.instruction, instruction(1));

    // A failing transaction records none.
    let failed = chain.execute(
        "alice",
        &sink,
        json!({"deliver_then_fail": {"instruction": instruction(2)}}),
        vec![],
    );
    assert_ne!(failed.code, 0);
    assert!(failed.deliveries.is_empty());

    // Nor does a delivering submessage that fails later in the same transaction.
    let b64 = |v: serde_json::Value| Binary::new(serde_json::to_vec(&v).unwrap()).to_base64();
    let msg = json!({"dispatch": {"messages": [
        {"id": 1, "msg": {"wasm": {"execute": {"contract_addr": sink, "msg": b64(json!({"deliver": {"instruction": instruction(3)}})), "funds": []}}}, "reply_on": "never", "payload": ""},
        {"id": 2, "msg": {"wasm": {"execute": {"contract_addr": proxy, "msg": b64(json!({"fail": {"message": "late failure"}})), "funds": []}}}, "reply_on": "never", "payload": ""}
    ]}});
    let failed = chain.execute("alice", &proxy, msg, vec![]);
    assert_ne!(failed.code, 0);
    assert!(failed.deliveries.is_empty());

    // A delivering submessage through the proxy: the record names the sink, which emitted it.
    let msg = json!({"dispatch": {"messages": [
        {"id": 1, "msg": {"wasm": {"execute": {"contract_addr": sink, "msg": b64(json!({"deliver": {"instruction": instruction(4)}})), "funds": []}}}, "reply_on": "never", "payload": ""}
    ]}});
    let ok = chain.execute("alice", &proxy, msg, vec![]);
    assert_eq!(ok.code, 0, "{}", ok.log);
    assert_eq!(ok.deliveries[0].sequence, 2, "no gap after the failures");
    assert_eq!(ok.deliveries[0].contract, sink);

    let log = chain.app.deliveries(0, 10).unwrap();
    assert_eq!(
        log.iter().map(|d| d.sequence).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(chain.app.deliveries(1, 10).unwrap().len(), 1);
    assert_eq!(chain.app.next_delivery_sequence(), 3);
}

#[test]
fn stored_records_name_no_storage_location() {
    let mut chain = TestChain::new();
    let sink_code = chain.store("kitchen_sink");
    let sink = chain.instantiate(sink_code, json!({}), "sink");
    let result = chain.execute(
        "alice",
        &sink,
        json!({"deliver": {"instruction": instruction(5)}}),
        vec![],
    );
    let text = serde_json::to_string(&result).unwrap();
    // What the chain records is what the contract said and the chain's stamps: nothing else.
    let record = serde_json::to_value(&result.deliveries[0]).unwrap();
    let keys: Vec<_> = record.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "buyer",
            "content_sha256",
            "contract",
            "height",
            "offer_id",
            "purchase_id",
            "recipient",
            "sequence",
            "size",
            "time",
            "tx_hash"
        ]
    );
    assert!(!text.contains("storage"), "{text}");
}

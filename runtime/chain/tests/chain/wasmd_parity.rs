//! Where the chain behaves as wasmd does in ways real contracts rely on: submessage gas limits,
//! the old code's migrate version, bank events and the context of nested failures, and the
//! queries behind the capabilities offered.

use consign_types::{Binary, Msg};
use serde_json::{json, Value};

use crate::common::{addr, TestChain};

fn b64(v: &Value) -> String {
    Binary::new(serde_json::to_vec(v).unwrap()).to_base64()
}

/// A proxy's `dispatch` of one submessage executing `msg` on `contract`.
fn dispatch_one(contract: &str, msg: &Value, reply_on: &str, gas_limit: Option<u64>) -> Value {
    json!({"dispatch": {"messages": [
        {"id": 1, "msg": {"wasm": {"execute": {"contract_addr": contract, "msg": b64(msg), "funds": []}}},
         "reply_on": reply_on, "gas_limit": gas_limit, "payload": ""}
    ]}})
}

#[test]
fn a_gas_limited_submessage_that_runs_out_is_caught_by_the_reply_and_charged_its_limit() {
    const LIMIT: u64 = 2_000_000;
    let mut chain = TestChain::new();
    let proxy_code = chain.store("proxy");
    let hostile_code = chain.store("hostile");
    let proxy = chain.instantiate(proxy_code, json!({}), "proxy");
    let hostile = chain.instantiate(hostile_code, json!({}), "hostile");
    let endless = json!({"loop": {}});

    // Caught: the parent's transaction succeeds, the reply sees the error, the looping
    // contract's write is rolled back, and the transaction pays the submessage's limit, not its
    // whole budget.
    let result = chain.execute(
        "alice",
        &proxy,
        dispatch_one(&hostile, &endless, "error", Some(LIMIT)),
        vec![],
    );
    assert_eq!(result.code, 0, "{}", result.log);
    assert!(
        result.gas_used > LIMIT && result.gas_used < LIMIT + 1_000_000,
        "charged {} gas for a submessage limited to {LIMIT}",
        result.gas_used
    );
    let replies = chain.query(&proxy, json!({"replies": {}}));
    let caught = replies["replies"][0]["result"].as_str().unwrap();
    assert!(
        caught.contains("hit its gas limit of 2000000: out of gas"),
        "{replies}"
    );
    assert_eq!(
        chain.query(&hostile, json!({"state": {}})),
        json!({"state": "original"})
    );

    // Not caught (no reply on error): the transaction fails with out of gas, still charged only
    // the submessage's limit.
    let result = chain.execute(
        "alice",
        &proxy,
        dispatch_one(&hostile, &endless, "success", Some(LIMIT)),
        vec![],
    );
    assert_eq!(result.code, 11, "{}", result.log);
    assert!(result.log.contains("hit its gas limit"), "{}", result.log);
    assert!(result.gas_used < LIMIT + 1_000_000, "{}", result.gas_used);

    // A limit above what remains is no limit, as on wasmd: running out ends the transaction
    // even though the parent asked for a reply on error.
    let result = chain.execute(
        "alice",
        &proxy,
        dispatch_one(&hostile, &endless, "always", Some(u64::MAX)),
        vec![],
    );
    assert_eq!(result.code, 11, "{}", result.log);
    assert_eq!(result.gas_used, result.gas_wanted);

    // A limit the submessage stays within changes nothing; the reply sees success.
    let result = chain.execute(
        "alice",
        &proxy,
        dispatch_one(
            &hostile,
            &json!({"recurse": {"depth": 3}}),
            "always",
            Some(LIMIT),
        ),
        vec![],
    );
    assert_eq!(result.code, 0, "{}", result.log);
    let replies = chain.query(&proxy, json!({"replies": {}}));
    assert_eq!(replies["replies"][0]["result"], "ok", "{replies}");
}

#[test]
fn migrate_passes_the_old_codes_migrate_version() {
    let mut chain = TestChain::new();
    // The kitchen-sink declares `#[migrate_version(2)]`; the proxy declares none.
    let sink_code = chain.store("kitchen_sink");
    let proxy_code = chain.store("proxy");
    let sink = chain.instantiate(sink_code, json!({}), "sink");
    let proxy = chain.instantiate(proxy_code, json!({}), "proxy");
    let migrate = |contract: &str| Msg::Migrate {
        contract: contract.to_owned(),
        code_id: sink_code,
        msg: Binary::new(b"{}".to_vec()),
    };
    chain.run_ok("alice", vec![migrate(&sink), migrate(&proxy)]);
    let record = |chain: &TestChain, contract: &str| {
        chain.query(contract, json!({"get": {"key": "migrate"}}))["value"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        record(&chain, &sink),
        format!("sender={} old_version=2", addr("alice"))
    );
    assert_eq!(
        record(&chain, &proxy),
        format!("sender={} old_version=none", addr("alice"))
    );
}

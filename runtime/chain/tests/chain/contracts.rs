//! Contracts on the chain: cw20-base, contracts that send funds and call each other through
//! submessages and replies, and the revert semantics of each `reply_on`.

use consign_types::{coins, Binary, Msg};
use serde_json::{json, Value};

use crate::common::{addr, TestChain};

fn b64(v: &Value) -> String {
    Binary::new(serde_json::to_vec(v).unwrap()).to_base64()
}

#[test]
fn cw20_base_runs_on_the_chain() {
    let mut chain = TestChain::new();
    let code_id = chain.store("cw20_base");
    let token = chain.instantiate(
        code_id,
        json!({"name": "Consign Token", "symbol": "CSN", "decimals": 6,
               "initial_balances": [{"address": addr("alice"), "amount": "1000"}]}),
        "token",
    );
    let result = chain.execute(
        "alice",
        &token,
        json!({"transfer": {"recipient": addr("bob"), "amount": "400"}}),
        vec![],
    );
    assert_eq!(result.code, 0, "{}", result.log);
    let wasm = result
        .events
        .iter()
        .find(|e| e.ty == "wasm")
        .expect("wasm event");
    assert_eq!(wasm.attributes[0].key, "_contract_address");
    assert_eq!(wasm.attributes[0].value, token);
    assert!(wasm
        .attributes
        .iter()
        .any(|a| a.key == "action" && a.value == "transfer"));
    assert_eq!(
        chain.query(&token, json!({"balance": {"address": addr("bob")}})),
        json!({"balance": "400"})
    );

    let failed = chain.execute(
        "bob",
        &token,
        json!({"transfer": {"recipient": addr("alice"), "amount": "401"}}),
        vec![],
    );
    assert_eq!(failed.code, 5_000);
    assert!(failed.log.contains("Cannot Sub"), "{}", failed.log);
    assert_eq!(
        chain.query(&token, json!({"balance": {"address": addr("bob")}})),
        json!({"balance": "400"})
    );

    let info = chain.app.contract(&token).unwrap();
    assert_eq!(info.code_id, code_id);
    assert_eq!(info.admin, Some(addr("alice")));
    assert!(chain.app.code_wasm(code_id).is_some());
}

#[test]
fn submessages_send_funds_call_contracts_and_reply() {
    let mut chain = TestChain::new();
    let proxy_code = chain.store("proxy");
    let sink_code = chain.store("kitchen_sink");
    let proxy = chain.instantiate(proxy_code, json!({}), "proxy");
    let sink = chain.instantiate(sink_code, json!({"count": 10}), "sink");

    let msg = json!({"dispatch": {"messages": [
        {"id": 1, "msg": {"bank": {"send": {"to_address": addr("dave"), "amount": [{"denom": "ucsn", "amount": "30"}]}}}, "reply_on": "success", "payload": ""},
        {"id": 2, "msg": {"wasm": {"execute": {"contract_addr": sink, "msg": b64(&json!({"increment": {}})), "funds": []}}}, "reply_on": "always", "payload": ""}
    ]}});
    let result = chain.execute("alice", &proxy, msg, coins(100, "ucsn"));
    assert_eq!(result.code, 0, "{}", result.log);
    assert_eq!(chain.balance(&addr("dave")), 30);
    assert_eq!(chain.balance(&proxy), 70);
    assert_eq!(
        chain.query(&sink, json!({"counter": {}})),
        json!({"count": 11})
    );
    let replies = chain.query(&proxy, json!({"replies": {}}));
    assert_eq!(replies["replies"][0]["id"], 1);
    assert_eq!(replies["replies"][0]["result"], "ok");
    assert_eq!(replies["replies"][1]["id"], 2);
    assert_eq!(replies["replies"][1]["result"], "ok");
    // The caller of the kitchen-sink was the proxy, so its events name the sink.
    assert!(result
        .events
        .iter()
        .any(|e| e.ty == "execute" && e.attributes[0].value == sink));
    assert!(result.events.iter().filter(|e| e.ty == "reply").count() == 2);
}

#[test]
fn a_failing_submessage_without_reply_reverts_the_whole_transaction() {
    let mut chain = TestChain::new();
    let proxy_code = chain.store("proxy");
    let proxy = chain.instantiate(proxy_code, json!({}), "proxy");
    let other = chain.instantiate(proxy_code, json!({}), "other");
    let before = chain.balance(&addr("dave"));
    let msg = json!({"dispatch": {"messages": [
        {"id": 1, "msg": {"bank": {"send": {"to_address": addr("dave"), "amount": [{"denom": "ucsn", "amount": "30"}]}}}, "reply_on": "never", "payload": ""},
        {"id": 2, "msg": {"wasm": {"execute": {"contract_addr": other, "msg": b64(&json!({"fail": {"message": "nope"}})), "funds": []}}}, "reply_on": "never", "payload": ""}
    ]}});
    let result = chain.execute("alice", &proxy, msg, coins(100, "ucsn"));
    assert_ne!(result.code, 0);
    assert!(result.log.contains("nope"), "{}", result.log);
    assert_eq!(
        chain.balance(&addr("dave")),
        before,
        "the first submessage's send is reverted"
    );
    assert_eq!(
        chain.balance(&proxy),
        0,
        "the funds sent with the call are reverted"
    );
    assert_eq!(chain.app.raw_query(&other, b"failed").unwrap(), None);
}

#[test]
fn a_failing_submessage_with_reply_on_error_is_caught_and_only_it_is_reverted() {
    let mut chain = TestChain::new();
    let proxy_code = chain.store("proxy");
    let proxy = chain.instantiate(proxy_code, json!({}), "proxy");
    let other = chain.instantiate(proxy_code, json!({}), "other");
    let msg = json!({"dispatch": {"messages": [
        {"id": 1, "msg": {"bank": {"send": {"to_address": addr("dave"), "amount": [{"denom": "ucsn", "amount": "30"}]}}}, "reply_on": "never", "payload": ""},
        {"id": 7, "msg": {"wasm": {"execute": {"contract_addr": other, "msg": b64(&json!({"fail": {"message": "nope"}})), "funds": []}}}, "reply_on": "error", "payload": ""}
    ]}});
    let result = chain.execute("alice", &proxy, msg, coins(100, "ucsn"));
    assert_eq!(result.code, 0, "{}", result.log);
    assert_eq!(chain.balance(&addr("dave")), 30);
    assert_eq!(
        chain.app.raw_query(&other, b"failed").unwrap(),
        None,
        "the failed call's write is gone"
    );
    let replies = chain.query(&proxy, json!({"replies": {}}));
    assert_eq!(replies["replies"][0]["id"], 7);
    assert!(
        replies["replies"][0]["result"]
            .as_str()
            .unwrap()
            .contains("nope"),
        "{replies}"
    );

    // A reply that fails fails the transaction.
    let msg = json!({"dispatch": {"messages": [
        {"id": 8, "msg": {"wasm": {"execute": {"contract_addr": other, "msg": b64(&json!({"fail": {"message": "again"}})), "funds": []}}}, "reply_on": "error", "payload": Binary::new(b"fail".to_vec())}
    ]}});
    let result = chain.execute("alice", &proxy, msg, vec![]);
    assert_ne!(result.code, 0);
    assert!(result.log.contains("reply asked to fail"), "{}", result.log);
}

#[test]
fn instantiate_from_a_contract_reports_the_new_address_to_the_reply() {
    let mut chain = TestChain::new();
    let proxy_code = chain.store("proxy");
    let sink_code = chain.store("kitchen_sink");
    let proxy = chain.instantiate(proxy_code, json!({}), "proxy");
    let msg = json!({"dispatch": {"messages": [
        {"id": 3, "msg": {"wasm": {"instantiate": {"admin": null, "code_id": sink_code, "msg": b64(&json!({"count": 1})), "funds": [], "label": "child"}}}, "reply_on": "success", "payload": ""}
    ]}});
    let result = chain.execute("alice", &proxy, msg, vec![]);
    assert_eq!(result.code, 0, "{}", result.log);
    let child = result
        .events
        .iter()
        .find(|e| e.ty == "instantiate")
        .and_then(|e| e.attributes.iter().find(|a| a.key == "_contract_address"))
        .map(|a| a.value.clone())
        .expect("instantiate event");
    assert_eq!(chain.app.contract(&child).unwrap().creator, proxy);
    let replies = chain.query(&proxy, json!({"replies": {}}));
    // The reply's data is MsgInstantiateContractResponse: field 1 is the address.
    let data: Binary = serde_json::from_value(replies["replies"][0]["data"].clone()).unwrap();
    assert_eq!(data[0], 0x0a);
    assert_eq!(&data[2..2 + child.len()], child.as_bytes());
}

#[test]
fn migrate_and_admin_rules() {
    let mut chain = TestChain::new();
    let sink_code = chain.store("kitchen_sink");
    let sink = chain.instantiate(sink_code, json!({}), "sink");
    let migrate = |code_id| Msg::Migrate {
        contract: sink.clone(),
        code_id,
        msg: Binary::new(b"{}".to_vec()),
    };
    let denied = chain.run("bob", vec![migrate(sink_code)]);
    assert_ne!(denied.code, 0);
    assert!(denied.log.contains("only its admin"), "{}", denied.log);
    chain.run_ok("alice", vec![migrate(sink_code)]);
    let record = chain.query(&sink, json!({"get": {"key": "migrate"}}));
    assert!(record["value"]
        .as_str()
        .unwrap()
        .starts_with(&format!("sender={}", addr("alice"))));
    chain.run_ok(
        "alice",
        vec![Msg::UpdateAdmin {
            contract: sink.clone(),
            new_admin: addr("bob"),
        }],
    );
    chain.run_ok(
        "bob",
        vec![Msg::ClearAdmin {
            contract: sink.clone(),
        }],
    );
    let denied = chain.run("bob", vec![migrate(sink_code)]);
    assert!(denied.log.contains("it has no admin"), "{}", denied.log);
}

#[test]
fn contracts_query_the_chain_bank_and_other_contracts() {
    let mut chain = TestChain::new();
    let sink_code = chain.store("kitchen_sink");
    let sink = chain.instantiate(sink_code, json!({"count": 3}), "sink");
    let other = chain.instantiate(sink_code, json!({"count": 9}), "other");

    let balance = chain.query(
        &sink,
        json!({"balance": {"address": addr("carol"), "denom": "ucsn"}}),
    );
    assert_eq!(
        balance,
        json!({"ok": {"denom": "ucsn", "amount": "1000000"}})
    );

    let ask = |chain: &TestChain, request: Value| -> Value {
        let answer = chain.query(&sink, json!({"chain": {"request": request}}));
        let ok = &answer["ok"]["ok"];
        assert!(!ok.is_null(), "{answer}");
        let bytes: Binary = serde_json::from_value(ok.clone()).unwrap();
        serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    let smart = ask(
        &chain,
        json!({"wasm": {"smart": {"contract_addr": other, "msg": b64(&json!({"counter": {}}))}}}),
    );
    assert_eq!(smart, json!({"count": 9}));
    let info = ask(
        &chain,
        json!({"wasm": {"contract_info": {"contract_addr": other}}}),
    );
    assert_eq!(info["code_id"], sink_code);
    assert_eq!(info["creator"], addr("alice"));
    let raw = ask(
        &chain,
        json!({"wasm": {"raw": {"contract_addr": other, "key": Binary::new(b"counter".to_vec())}}}),
    );
    assert_eq!(raw, json!(9));
    let supply = ask(&chain, json!({"bank": {"supply": {"denom": "ucsn"}}}));
    assert_eq!(
        supply,
        json!({"amount": {"denom": "ucsn", "amount": "3000000"}})
    );
    let missing = chain.query(&sink, json!({"chain": {"request": {"wasm": {"smart": {"contract_addr": addr("nobody"), "msg": b64(&json!({}))}}}}}));
    assert!(
        missing["error"].to_string().contains("no_such_contract"),
        "{missing}"
    );
}

#[test]
fn instantiate2_gives_the_predicted_address() {
    let mut chain = TestChain::new();
    let sink_code = chain.store("kitchen_sink");
    let checksum = chain.app.code(sink_code).unwrap().checksum;
    let creator = consign_types::canonicalize_address(&addr("alice")).unwrap();
    let predicted =
        consign_types::instantiate2_address(&hex::decode(&checksum).unwrap(), &creator, b"salt")
            .unwrap();
    let msg = Msg::Instantiate2 {
        code_id: sink_code,
        msg: Binary::new(b"{}".to_vec()),
        funds: vec![],
        label: "two".into(),
        admin: None,
        salt: Binary::new(b"salt".to_vec()),
    };
    let result = chain.run_ok("alice", vec![msg.clone()]);
    assert_eq!(
        result.contract_address,
        Some(consign_types::humanize_address(&predicted))
    );
    let again = chain.run("alice", vec![msg]);
    assert!(again.log.contains("already exists"), "{}", again.log);
}

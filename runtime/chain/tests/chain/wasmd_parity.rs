//! Where the chain behaves as wasmd does in ways real contracts rely on: submessage gas limits,
//! the old code's migrate version, bank events and the context of nested failures, and the
//! queries behind the capabilities offered.

use consign_types::{coins, Binary, Msg};
use cosmos_sdk_proto::cosmos::bank::v1beta1::{QueryBalanceRequest, QueryBalanceResponse};
use cosmos_sdk_proto::prost::Message;
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

/// The `(type, [(key, value)])` of the bank's events, in order.
fn bank_events(events: &[cosmwasm_std::Event]) -> Vec<(String, Vec<(String, String)>)> {
    events
        .iter()
        .filter(|e| ["coin_spent", "coin_received", "transfer", "burn"].contains(&e.ty.as_str()))
        .map(|e| {
            let attributes = e
                .attributes
                .iter()
                .map(|a| (a.key.clone(), a.value.clone()))
                .collect();
            (e.ty.clone(), attributes)
        })
        .collect()
}

/// What the SDK's bank emits for one send.
fn sent(from: &str, to: &str, amount: &str) -> Vec<(String, Vec<(String, String)>)> {
    let pairs = |list: &[(&str, &str)]| {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    vec![
        (
            "coin_spent".into(),
            pairs(&[("spender", from), ("amount", amount)]),
        ),
        (
            "coin_received".into(),
            pairs(&[("receiver", to), ("amount", amount)]),
        ),
        (
            "transfer".into(),
            pairs(&[("recipient", to), ("sender", from), ("amount", amount)]),
        ),
    ]
}

#[test]
fn bank_transfers_emit_the_sdks_events_and_nested_failures_name_every_level() {
    let mut chain = TestChain::new();
    let (alice, dave) = (addr("alice"), addr("dave"));

    let result = chain.run_ok(
        "alice",
        vec![Msg::BankSend {
            to: dave.clone(),
            amount: coins(250, "ucsn"),
        }],
    );
    assert_eq!(bank_events(&result.events), sent(&alice, &dave, "250ucsn"));

    // Funds sent with an execute, then a contract's `BankMsg::Send` and `BankMsg::Burn`.
    let proxy_code = chain.store("proxy");
    let proxy = chain.instantiate(proxy_code, json!({}), "proxy");
    let msg = json!({"dispatch": {"messages": [
        {"id": 1, "msg": {"bank": {"send": {"to_address": dave, "amount": [{"denom": "ucsn", "amount": "30"}]}}}, "reply_on": "never", "payload": ""},
        {"id": 2, "msg": {"bank": {"burn": {"amount": [{"denom": "ucsn", "amount": "5"}]}}}, "reply_on": "never", "payload": ""}
    ]}});
    let result = chain.execute("alice", &proxy, msg, coins(100, "ucsn"));
    assert_eq!(result.code, 0, "{}", result.log);
    let mut expected = sent(&alice, &proxy, "100ucsn");
    expected.extend(sent(&proxy, &dave, "30ucsn"));
    expected.push((
        "coin_spent".into(),
        vec![
            ("spender".into(), proxy.clone()),
            ("amount".into(), "5ucsn".into()),
        ],
    ));
    expected.push((
        "burn".into(),
        vec![
            ("burner".into(), proxy.clone()),
            ("amount".into(), "5ucsn".into()),
        ],
    ));
    assert_eq!(bank_events(&result.events), expected);

    // A failure three contracts deep names each level, outermost first, and keeps the code of
    // the innermost failure.
    let middle = chain.instantiate(proxy_code, json!({}), "middle");
    let inner = chain.instantiate(proxy_code, json!({}), "inner");
    let fail = json!({"fail": {"message": "deep down"}});
    let to_middle = json!({"dispatch": {"messages": [
        {"id": 2, "msg": {"wasm": {"execute": {"contract_addr": inner, "msg": b64(&fail), "funds": []}}}, "reply_on": "never", "payload": ""}
    ]}});
    let result = chain.execute(
        "alice",
        &proxy,
        dispatch_one(&middle, &to_middle, "never", None),
        vec![],
    );
    assert_eq!(result.code, 5_000, "{}", result.log);
    assert_eq!(
        result.log,
        format!(
            "{proxy}: dispatch submessage 1: {middle}: dispatch submessage 2: contract {inner} returned an error: kind: Other, error: deep down"
        )
    );
}

/// The kitchen-sink's `chain` query: `Ok(answer)` decoded from JSON, or `Err(the whole raw
/// SystemResult)` when the host did not answer with data.
fn ask(chain: &TestChain, sink: &str, request: Value) -> Result<Value, Value> {
    let answer = chain.query(sink, json!({"chain": {"request": request}}));
    match answer["ok"].get("ok") {
        Some(data) => {
            let bytes: Binary = serde_json::from_value(data.clone()).unwrap();
            Ok(serde_json::from_slice(&bytes).unwrap())
        }
        None => Err(answer),
    }
}

#[test]
fn every_offered_capability_answers_or_says_what_is_missing() {
    let mut chain = TestChain::new();
    let sink_code = chain.store("kitchen_sink");
    let sink = chain.instantiate(sink_code, json!({}), "sink");
    let other = chain.instantiate(sink_code, json!({}), "other");
    for (key, value) in [("c", "3"), ("a", "1"), ("b", "2")] {
        let result = chain.execute(
            "alice",
            &other,
            json!({"set": {"key": key, "value": value}}),
            vec![],
        );
        assert_eq!(result.code, 0, "{}", result.log);
    }
    let b = |text: &str| Binary::new(text.as_bytes().to_vec());
    let entry = |key: &str, value: &str| json!([b(key), b(value)]);

    // cosmwasm_3_0: WasmQuery::RawRange pages through another contract's storage.
    let range = |order: &str, start: Option<&str>, limit: u16| {
        json!({"wasm": {"raw_range": {"contract_addr": other, "start": start.map(b),
            "end": b("kv;"), "limit": limit, "order": order}}})
    };
    assert_eq!(
        ask(&chain, &sink, range("ascending", Some("kv:"), 2)).unwrap(),
        json!({"data": [entry("kv:a", "1"), entry("kv:b", "2")], "next_key": b("kv:c")})
    );
    assert_eq!(
        ask(&chain, &sink, range("ascending", Some("kv:c"), 2)).unwrap(),
        json!({"data": [entry("kv:c", "3")], "next_key": null})
    );
    assert_eq!(
        ask(&chain, &sink, range("descending", Some("kv:"), 2)).unwrap(),
        json!({"data": [entry("kv:c", "3"), entry("kv:b", "2")], "next_key": b("kv:a")})
    );
    let nobody = ask(
        &chain,
        &sink,
        json!({"wasm": {"raw_range": {"contract_addr": addr("nobody"), "start": null, "end": null, "limit": 1, "order": "ascending"}}}),
    )
    .unwrap_err();
    assert!(nobody.to_string().contains("no_such_contract"), "{nobody}");

    // cosmwasm_1_3: denomination metadata of the native denomination.
    let metadata = ask(
        &chain,
        &sink,
        json!({"bank": {"denom_metadata": {"denom": "ucsn"}}}),
    )
    .unwrap();
    assert_eq!(metadata["metadata"]["base"], "ucsn");
    assert_eq!(metadata["metadata"]["display"], "csn");
    assert_eq!(metadata["metadata"]["denom_units"][1]["exponent"], 6);
    let all = ask(
        &chain,
        &sink,
        json!({"bank": {"all_denom_metadata": {"pagination": null}}}),
    )
    .unwrap();
    assert_eq!(all["metadata"][0], metadata["metadata"]);
    let unknown = ask(
        &chain,
        &sink,
        json!({"bank": {"denom_metadata": {"denom": "uatom"}}}),
    )
    .unwrap_err();
    assert!(
        unknown.to_string().contains("no metadata for denomination"),
        "{unknown}"
    );

    // cosmwasm_2_0: a gRPC query answers the response's protobuf bytes (as wasmd); an unknown
    // path is refused, naming it.
    let balance = QueryBalanceRequest {
        address: addr("alice"),
        denom: "ucsn".into(),
    };
    let answer = chain.query(
        &sink,
        json!({"chain": {"request": {"grpc": {
            "path": "/cosmos.bank.v1beta1.Query/Balance",
            "data": Binary::new(balance.encode_to_vec()),
        }}}}),
    );
    let bytes: Binary = serde_json::from_value(answer["ok"]["ok"].clone()).unwrap();
    let decoded = QueryBalanceResponse::decode(bytes.as_slice()).unwrap();
    assert_eq!(
        decoded.balance.map(|c| (c.denom, c.amount)),
        Some(("ucsn".to_owned(), chain.balance(&addr("alice")).to_string()))
    );
    let grpc = ask(
        &chain,
        &sink,
        json!({"grpc": {"path": "/cosmos.gov.v1.Query/Proposal", "data": ""}}),
    )
    .unwrap_err();
    assert!(
        grpc.to_string()
            .contains("'/cosmos.gov.v1.Query/Proposal' path is not allowed from the contract"),
        "{grpc}"
    );
    // cosmwasm_1_3/1_4: distribution queries are answered by the staking module (tests in
    // staking.rs); a delegator's withdraw address is itself until it sets one.
    let distribution = ask(
        &chain,
        &sink,
        json!({"distribution": {"delegator_withdraw_address": {"delegator_address": addr("alice")}}}),
    )
    .unwrap();
    assert_eq!(distribution, json!({"withdraw_address": addr("alice")}));

    let proxy_code = chain.store("proxy");
    let proxy = chain.instantiate(proxy_code, json!({}), "proxy");
    // cosmwasm_2_0: `CosmosMsg::Any` of a type URL the chain has no handler for fails the call,
    // naming it, as wasmd (the routed ones: stargate.rs).
    let any = json!({"dispatch": {"messages": [
        {"id": 1, "msg": {"any": {"type_url": "/cosmos.gov.v1.MsgVote", "value": ""}}, "reply_on": "never", "payload": ""}
    ]}});
    let result = chain.execute("alice", &proxy, any, vec![]);
    assert_eq!(result.code, 4, "{}", result.log);
    assert!(
        result
            .log
            .contains(r#"no message type is registered for type URL "/cosmos.gov.v1.MsgVote""#),
        "{}",
        result.log
    );
}

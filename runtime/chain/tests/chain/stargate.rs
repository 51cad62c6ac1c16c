//! Protobuf messages and queries routed by type URL, from a contract built with cosmwasm-std's
//! `stargate` feature that encodes and decodes with cosmos-sdk-proto: a `MsgSend` as
//! `CosmosMsg::Any` and a `MsgDelegate` as `CosmosMsg::Stargate` move the coins the typed
//! messages move, gRPC answers decode, Stargate answers are wasmd's JSON, and what is not routed
//! — an unknown type URL or query path, a message signed by someone else — fails, naming it.

use consign_types::{coin, Binary, Msg};
use cosmos_sdk_proto::cosmos::bank::v1beta1::{
    MsgSend, QueryAllBalancesRequest, QueryAllBalancesResponse, QueryBalanceRequest,
    QuerySupplyOfRequest, QuerySupplyOfResponse,
};
use cosmos_sdk_proto::cosmos::base::v1beta1::Coin as ProtoCoin;
use cosmos_sdk_proto::cosmos::staking::v1beta1::{
    MsgDelegate, MsgUndelegate, MsgUndelegateResponse, QueryParamsRequest, QueryParamsResponse,
    QueryValidatorRequest, QueryValidatorResponse,
};
use cosmos_sdk_proto::prost::Message;
use serde_json::json;

use crate::common::{addr, TestChain};
use crate::staking::{attrs, failed, module, staking_chain, valoper, UNBONDING};

/// The answer's bytes of a gRPC query asked through the contract's pass-through.
fn grpc(chain: &TestChain, contract: &str, path: &str, request: &impl Message) -> Vec<u8> {
    let data = Binary::new(request.encode_to_vec());
    let ask = json!({"grpc": {"path": path, "data": data}});
    chain
        .app
        .smart_query(contract, &serde_json::to_vec(&ask).unwrap(), 100_000_000)
        .unwrap()
        .to_vec()
}

#[test]
fn a_contract_built_with_the_stargate_feature_speaks_protobuf_as_on_wasmd() {
    let mut chain = staking_chain();
    let v1 = valoper("val1");
    let wasm = crate::common::wasm("stargazer");
    assert!(
        wasm.windows(17).any(|w| w == b"requires_stargate"),
        "the contract is built with cosmwasm-std's stargate feature"
    );
    let code = chain.store("stargazer");
    let gazer = chain.instantiate(code, json!({}), "stargazer");
    chain.run_ok(
        "alice",
        vec![Msg::BankSend {
            to: gazer.clone(),
            amount: vec![coin(500_000, "ucsn")],
        }],
    );

    // A MsgSend in CosmosMsg::Any: the bank's events, the coins moved.
    let result = chain.execute(
        "bob",
        &gazer,
        json!({"send": {"to": addr("carol"), "denom": "ucsn", "amount": "1000"}}),
        vec![],
    );
    assert_eq!(result.code, 0, "{}", result.log);
    assert_eq!(
        attrs(&result.outcome.events, "transfer"),
        vec![vec![
            ("recipient", addr("carol").as_str()),
            ("sender", gazer.as_str()),
            ("amount", "1000ucsn"),
        ]]
    );
    assert_eq!(chain.balance(&addr("carol")), 1_001_000);
    assert_eq!(chain.balance(&gazer), 499_000);

    // A MsgDelegate in CosmosMsg::Stargate: the staking module's events and pools.
    let result = chain.execute(
        "bob",
        &gazer,
        json!({"delegate": {"validator": v1, "denom": "ucsn", "amount": "200000"}}),
        vec![],
    );
    assert_eq!(result.code, 0, "{}", result.log);
    assert_eq!(
        attrs(&result.outcome.events, "delegate")[0][1],
        ("delegator", gazer.as_str())
    );
    assert_eq!(chain.balance(&gazer), 299_000);
    assert_eq!(chain.balance(&module("bonded_tokens_pool")), 200_000);
    let delegations = chain.app.view().delegations(&gazer).unwrap().delegations;
    assert_eq!(delegations.len(), 1);
    assert_eq!(
        (delegations[0].validator.as_str(), &delegations[0].amount),
        (v1.as_str(), &coin(200_000, "ucsn"))
    );

    // gRPC answers, decoded by the contract from protobuf; the Stargate one is JSON.
    let coin_json = |amount: &str| json!({"denom": "ucsn", "amount": amount});
    assert_eq!(
        chain.query(&gazer, json!({"balance": {"denom": "ucsn"}})),
        coin_json("299000")
    );
    assert_eq!(
        chain.query(&gazer, json!({"stargate_balance": {"denom": "ucsn"}})),
        coin_json("299000")
    );
    assert_eq!(
        chain.query(&gazer, json!({"delegation": {"validator": v1}})),
        coin_json("200000")
    );
    // Alone in the bonded pool, the contract has earned one block's reward (1,200) as of the
    // next block: a decimal coin, 18 decimals on the wire.
    chain.block(vec![]);
    assert_eq!(
        chain.query(&gazer, json!({"rewards": {"validator": v1}})),
        json!([{"denom": "ucsn", "amount": "1200000000000000000000"}])
    );
    // The validator, through the raw gRPC pass-through: bonded, with the contract's tokens.
    let request = QueryValidatorRequest {
        validator_addr: v1.clone(),
    };
    let bytes = grpc(
        &chain,
        &gazer,
        "/cosmos.staking.v1beta1.Query/Validator",
        &request,
    );
    let validator = QueryValidatorResponse::decode(bytes.as_slice())
        .unwrap()
        .validator
        .unwrap();
    assert_eq!(validator.operator_address, v1);
    assert_eq!(validator.tokens, "200000");
    assert_eq!(validator.delegator_shares, "200000000000000000000000");
    assert_eq!(validator.description.unwrap().moniker, "val1");
    // The staking parameters, which is where a contract learns the unbonding time.
    let bytes = grpc(
        &chain,
        &gazer,
        "/cosmos.staking.v1beta1.Query/Params",
        &QueryParamsRequest {},
    );
    let params = QueryParamsResponse::decode(bytes.as_slice())
        .unwrap()
        .params
        .unwrap();
    assert_eq!(params.unbonding_time.unwrap().seconds, UNBONDING as i64);
    assert_eq!(
        (
            params.max_validators,
            params.max_entries,
            params.bond_denom.as_str()
        ),
        (2, 7, "ucsn")
    );
    // All balances and the supply, the same way.
    let all = QueryAllBalancesRequest {
        address: gazer.clone(),
        pagination: None,
        resolve_denom: false,
    };
    let bytes = grpc(
        &chain,
        &gazer,
        "/cosmos.bank.v1beta1.Query/AllBalances",
        &all,
    );
    let balances = QueryAllBalancesResponse::decode(bytes.as_slice()).unwrap();
    // No page asked for: all of them, counted, nothing after.
    let pagination = balances.pagination.unwrap();
    assert_eq!((pagination.total, pagination.next_key.len()), (1, 0));
    assert_eq!(
        balances.balances,
        vec![ProtoCoin {
            denom: "ucsn".into(),
            amount: "299000".into()
        }]
    );
    let supply = QuerySupplyOfRequest {
        denom: "ucsn".into(),
    };
    let bytes = grpc(
        &chain,
        &gazer,
        "/cosmos.bank.v1beta1.Query/SupplyOf",
        &supply,
    );
    let supply = QuerySupplyOfResponse::decode(bytes.as_slice())
        .unwrap()
        .amount
        .unwrap();
    // The genesis accounts' coins: no reward has been paid (minted) yet.
    assert_eq!(
        (supply.denom.as_str(), supply.amount.as_str()),
        ("ucsn", "3000000")
    );

    // What is not routed fails, naming it, and moves nothing.
    let before = chain.balance(&gazer);
    let unknown = chain.execute(
        "bob",
        &gazer,
        json!({"any": {"type_url": "/cosmos.gov.v1.MsgVote", "value": ""}}),
        vec![],
    );
    failed(
        &unknown,
        r#"no message type is registered for type URL "/cosmos.gov.v1.MsgVote""#,
    );
    assert_eq!(unknown.code, 4, "{}", unknown.log);
    let path = "/cosmos.gov.v1.Query/Proposal";
    let refused = chain
        .app
        .smart_query(
            &gazer,
            &serde_json::to_vec(&json!({"grpc": {"path": path, "data": ""}})).unwrap(),
            100_000_000,
        )
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains(&format!("'{path}' path is not allowed from the contract")),
        "{refused}"
    );
    // A query the SDK refuses is refused with its reason.
    let data = Binary::new(
        QueryBalanceRequest {
            address: "not an address".into(),
            denom: "ucsn".into(),
        }
        .encode_to_vec(),
    );
    let refused = chain
        .app
        .smart_query(
            &gazer,
            &serde_json::to_vec(
                &json!({"grpc": {"path": "/cosmos.bank.v1beta1.Query/Balance", "data": data}}),
            )
            .unwrap(),
            100_000_000,
        )
        .unwrap_err()
        .to_string();
    assert!(refused.contains("invalid address"), "{refused}");

    // The attack: the contract signs a MsgSend from alice's account to carol. wasmd refuses a
    // message whose signer is not the contract; so does this chain, and alice keeps her coins.
    let alice_before = chain.balance(&addr("alice"));
    let theft = MsgSend {
        from_address: addr("alice"),
        to_address: addr("carol"),
        amount: vec![ProtoCoin {
            denom: "ucsn".into(),
            amount: "100000".into(),
        }],
    };
    let result = chain.execute(
        "alice",
        &gazer,
        json!({"any": {
            "type_url": "/cosmos.bank.v1beta1.MsgSend",
            "value": Binary::new(theft.encode_to_vec()),
        }}),
        vec![],
    );
    failed(&result, "contract doesn't have permission");
    assert!(
        result
            .log
            .contains(&format!(r#"has from_address "{}""#, addr("alice"))),
        "{}",
        result.log
    );
    assert_eq!(chain.balance(&addr("alice")), alice_before);
    assert_eq!(chain.balance(&addr("carol")), 1_001_000);
    assert_eq!(chain.balance(&gazer), before);
}

#[test]
fn a_protobuf_submessage_replies_with_its_typed_twins_response() {
    let mut chain = staking_chain();
    let v1 = valoper("val1");
    let code = chain.store("proxy");
    let proxy = chain.instantiate(code, json!({}), "proxy");
    chain.run_ok(
        "alice",
        vec![Msg::BankSend {
            to: proxy.clone(),
            amount: vec![coin(100_000, "ucsn")],
        }],
    );
    let stake = |amount: &str| {
        Some(ProtoCoin {
            denom: "ucsn".into(),
            amount: amount.into(),
        })
    };
    let any = |type_url: &str, value: Vec<u8>, reply_on: &str| {
        json!({"dispatch": {"messages": [{
            "id": 1,
            "msg": {"any": {"type_url": type_url, "value": Binary::new(value)}},
            "reply_on": reply_on,
            "payload": "",
        }]}})
    };
    let delegate = MsgDelegate {
        delegator_address: proxy.clone(),
        validator_address: v1.clone(),
        amount: stake("50000"),
    };
    let result = chain.execute(
        "bob",
        &proxy,
        any(
            "/cosmos.staking.v1beta1.MsgDelegate",
            delegate.encode_to_vec(),
            "never",
        ),
        vec![],
    );
    assert_eq!(result.code, 0, "{}", result.log);

    // The reply to an undelegation sent as Any gets MsgUndelegateResponse, as the typed
    // StakingMsg::Undelegate's reply does: when it completes, and what.
    let undelegate = MsgUndelegate {
        delegator_address: proxy.clone(),
        validator_address: v1,
        amount: stake("20000"),
    };
    let result = chain.execute(
        "bob",
        &proxy,
        any(
            "/cosmos.staking.v1beta1.MsgUndelegate",
            undelegate.encode_to_vec(),
            "success",
        ),
        vec![],
    );
    assert_eq!(result.code, 0, "{}", result.log);
    let replies = chain.query(&proxy, json!({"replies": {}}));
    let data: Binary = serde_json::from_value(replies["replies"][0]["data"].clone()).unwrap();
    let response = MsgUndelegateResponse::decode(data.as_slice()).unwrap();
    assert_eq!(response.amount, stake("20000"));
    assert_eq!(
        response.completion_time.map(|t| t.seconds),
        Some(i64::try_from(chain.clock + UNBONDING).unwrap())
    );
}

//! cw20-base 2.0.0 from crates.io, unmodified, through instantiate, transfer, send, allowances
//! and their queries.

use cosmwasm_std::{ContractResult, CosmosMsg, WasmMsg};
use serde_json::{json, Value};

use crate::common::{addr, Harness};

fn balance(h: &mut Harness, who: u8) -> u128 {
    let res: Value = h.query(json!({"balance": {"address": addr(who)}}));
    res["balance"].as_str().unwrap().parse().unwrap()
}

fn token() -> Harness {
    let mut h = Harness::new("cw20_base");
    let res = h
        .instantiate(
            &addr(1),
            json!({
                "name": "Consign Token",
                "symbol": "CSN",
                "decimals": 6,
                "initial_balances": [
                    {"address": addr(1), "amount": "1000"},
                    {"address": addr(2), "amount": "500"}
                ],
                "mint": {"minter": addr(1)}
            }),
        )
        .unwrap();
    assert!(matches!(res, ContractResult::Ok(_)), "{res:?}");
    h
}

#[test]
fn instantiate_and_token_info() {
    let mut h = token();
    let info: Value = h.query(json!({"token_info": {}}));
    assert_eq!(
        info,
        json!({"name": "Consign Token", "symbol": "CSN", "decimals": 6, "total_supply": "1500"})
    );
    assert_eq!(balance(&mut h, 1), 1000);
    assert_eq!(balance(&mut h, 2), 500);
    assert_eq!(balance(&mut h, 3), 0);
}

#[test]
fn transfer_moves_balances_and_a_failing_transfer_changes_nothing() {
    let mut h = token();
    h.execute_ok(
        &addr(1),
        json!({"transfer": {"recipient": addr(3), "amount": "250"}}),
    );
    assert_eq!(balance(&mut h, 1), 750);
    assert_eq!(balance(&mut h, 3), 250);

    let before = h.snapshot();
    let res = h
        .execute(
            &addr(3),
            json!({"transfer": {"recipient": addr(1), "amount": "251"}}),
        )
        .unwrap();
    match res {
        ContractResult::Err(msg) => assert!(
            msg.contains("Overflow") || msg.contains("Cannot Sub"),
            "{msg}"
        ),
        ok => panic!("overdraft accepted: {ok:?}"),
    }
    assert_eq!(h.snapshot(), before);
    assert_eq!(balance(&mut h, 3), 250);

    let res = h
        .execute(
            &addr(1),
            json!({"transfer": {"recipient": "not-an-address", "amount": "1"}}),
        )
        .unwrap();
    assert!(matches!(res, ContractResult::Err(_)), "{res:?}");
    assert_eq!(h.snapshot(), before);
}

#[test]
fn send_debits_and_calls_the_receiving_contract() {
    let mut h = token();
    let response = h.execute_ok(
        &addr(2),
        json!({"send": {"contract": addr(9), "amount": "100", "msg": "eyJoaSI6e319"}}),
    );
    assert_eq!(balance(&mut h, 2), 400);
    assert_eq!(balance(&mut h, 9), 100);
    assert_eq!(response.messages.len(), 1);
    match &response.messages[0].msg {
        CosmosMsg::Wasm(WasmMsg::Execute {
            contract_addr, msg, ..
        }) => {
            assert_eq!(contract_addr, addr(9).as_str());
            let receive: Value = serde_json::from_slice(msg).unwrap();
            assert_eq!(receive["receive"]["sender"], addr(2).to_string());
            assert_eq!(receive["receive"]["amount"], "100");
        }
        other => panic!("unexpected message {other:?}"),
    }
}

#[test]
fn allowances_transfer_from_and_their_queries() {
    let mut h = token();
    h.execute_ok(
        &addr(1),
        json!({"increase_allowance": {"spender": addr(5), "amount": "300"}}),
    );
    let allowance: Value = h.query(json!({"allowance": {"owner": addr(1), "spender": addr(5)}}));
    assert_eq!(
        allowance,
        json!({"allowance": "300", "expires": {"never": {}}})
    );

    h.execute_ok(
        &addr(5),
        json!({"transfer_from": {"owner": addr(1), "recipient": addr(6), "amount": "120"}}),
    );
    assert_eq!(balance(&mut h, 1), 880);
    assert_eq!(balance(&mut h, 6), 120);
    let allowance: Value = h.query(json!({"allowance": {"owner": addr(1), "spender": addr(5)}}));
    assert_eq!(allowance["allowance"], "180");

    // Spending beyond the allowance fails and changes nothing.
    let before = h.snapshot();
    let res = h
        .execute(
            &addr(5),
            json!({"transfer_from": {"owner": addr(1), "recipient": addr(6), "amount": "181"}}),
        )
        .unwrap();
    assert!(matches!(res, ContractResult::Err(_)), "{res:?}");
    assert_eq!(h.snapshot(), before);

    h.execute_ok(
        &addr(1),
        json!({"decrease_allowance": {"spender": addr(5), "amount": "80"}}),
    );
    h.execute_ok(
        &addr(5),
        json!({"burn_from": {"owner": addr(1), "amount": "100"}}),
    );
    let info: Value = h.query(json!({"token_info": {}}));
    assert_eq!(info["total_supply"], "1400");
    let all: Value = h.query(json!({"all_allowances": {"owner": addr(1)}}));
    // 300 - 120 spent - 80 decreased - 100 burnt: nothing left to spend.
    assert_eq!(all["allowances"][0]["allowance"], "0", "{all}");
    let accounts: Value = h.query(json!({"all_accounts": {"limit": 10}}));
    assert_eq!(
        accounts["accounts"].as_array().unwrap().len(),
        3,
        "{accounts}"
    );
}

#[test]
fn mint_by_the_minter_only() {
    let mut h = token();
    h.execute_ok(
        &addr(1),
        json!({"mint": {"recipient": addr(7), "amount": "10"}}),
    );
    assert_eq!(balance(&mut h, 7), 10);
    let res = h
        .execute(
            &addr(2),
            json!({"mint": {"recipient": addr(2), "amount": "10"}}),
        )
        .unwrap();
    assert_eq!(res, ContractResult::Err("Unauthorized".into()));
}

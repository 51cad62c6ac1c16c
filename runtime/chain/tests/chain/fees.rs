//! Fees: unknown senders are refused, the fee is paid before the messages run and kept when they
//! fail, and it is part of the replayed, hashed state.

use consign_chain::{fee_collector, App, AppConfig, CheckError, Pending};
use consign_types::{coins, Msg, Tx, TxBody};

use crate::common::{addr, genesis, key, TestChain, CHAIN_ID, GAS};

fn with_fee(from: &str, sequence: u64, fee: u128, messages: Vec<Msg>) -> Vec<u8> {
    let body = TxBody {
        chain_id: CHAIN_ID.into(),
        sender: addr(from),
        sequence,
        gas_limit: GAS,
        fee: if fee == 0 { vec![] } else { coins(fee, "ucsn") },
        memo: String::new(),
        messages,
    };
    Tx::sign(body, &key(from)).to_bytes()
}

fn send(to: &str, amount: u128) -> Vec<Msg> {
    vec![Msg::BankSend {
        to: addr(to),
        amount: coins(amount, "ucsn"),
    }]
}

#[test]
fn an_account_that_never_received_funds_is_refused_even_without_a_price() {
    let chain = TestChain::new();
    let tx = with_fee("mallory", 0, 0, send("alice", 1));
    let err = chain.app.check_tx(&tx, |_| 0).unwrap_err();
    assert!(matches!(err, CheckError::UnknownAccount { .. }), "{err}");
    assert!(err.to_string().contains("receive funds first"), "{err}");
    let store = with_fee(
        "mallory",
        0,
        0,
        vec![Msg::StoreCode {
            wasm: crate::common::wasm("kitchen_sink").into(),
        }],
    );
    assert!(matches!(
        chain.app.check_tx(&store, |_| 0),
        Err(CheckError::UnknownAccount { .. })
    ));
}

#[test]
fn the_fee_is_paid_before_execution_and_kept_when_the_transaction_fails() {
    let mut chain = TestChain::new();
    // Alice sends more than she has: the send fails, the fee is still paid.
    let tx = with_fee("alice", 0, 700, send("bob", 10_000_000));
    let outcome = chain.block(vec![tx]);
    let result = &outcome.results[0];
    assert_ne!(result.code, 0, "the send cannot succeed");
    assert_eq!(chain.balance(&addr("alice")), 1_000_000 - 700);
    assert_eq!(chain.balance(&fee_collector()), 700);
    assert_eq!(chain.app.sequence(&addr("alice")), 1);
    let tx_event = &result.events[0];
    assert!(
        tx_event
            .attributes
            .iter()
            .any(|a| a.key == "fee" && a.value == "700ucsn"),
        "{tx_event:?}"
    );

    // Cannot pay: refused at admission, counting what pending transactions already promise.
    let tx = with_fee("alice", 1, 999_000, send("bob", 1));
    let checked = consign_chain::CheckedTx::decode(&tx).unwrap();
    chain.app.admit(&checked, &Pending::count(0)).unwrap();
    let pending = Pending {
        count: 0,
        fees: [("ucsn".to_owned(), 1_000)].into(),
    };
    let err = chain.app.admit(&checked, &pending).unwrap_err();
    assert!(matches!(err, CheckError::CannotPayFee { .. }), "{err}");

    // Two transactions in one block whose fees together exceed the balance: the second is
    // dropped, not charged.
    let first = with_fee("alice", 1, 999_000, send("bob", 1));
    let second = with_fee("alice", 2, 999_000, send("bob", 1));
    let checked = [&first, &second]
        .iter()
        .map(|b| consign_chain::CheckedTx::decode(b).unwrap())
        .collect();
    let outcome = chain
        .app
        .execute_block(
            checked,
            consign_types::Timestamp::from_seconds(1_800_000_000),
        )
        .unwrap();
    assert_eq!(outcome.results.len(), 1);
    assert_eq!(outcome.dropped.len(), 1);
    assert!(matches!(
        outcome.dropped[0].1,
        CheckError::CannotPayFee { .. }
    ));
}

#[test]
fn a_minimum_gas_price_refuses_small_fees_and_replay_reaches_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = AppConfig::new(dir.path());
    config.min_gas_price = "0.00001ucsn".parse().unwrap();
    let mut app = App::open(config, Some(&genesis())).unwrap();
    // GAS × 0.00001 = 500.
    let low = with_fee("alice", 0, 499, send("bob", 5));
    let err = app.check_tx(&low, |_| 0).unwrap_err();
    assert!(matches!(err, CheckError::InsufficientFee { .. }), "{err}");
    assert!(err.to_string().contains("--fees 500ucsn"), "{err}");
    let ok = with_fee("alice", 0, 500, send("bob", 5));
    let checked = app.check_tx(&ok, |_| 0).unwrap();
    let time = consign_types::Timestamp::from_seconds(1_700_000_001);
    app.execute_block(vec![checked.clone()], time).unwrap();
    let hash = app.state_hash();

    // Another node, without the price, replays the block to the same state.
    let other = tempfile::tempdir().unwrap();
    let mut replay = App::open(AppConfig::new(other.path()), Some(&genesis())).unwrap();
    replay.execute_block(vec![checked], time).unwrap();
    assert_eq!(replay.state_hash(), hash);
    assert_eq!(
        replay.balances(&fee_collector()).unwrap(),
        coins(500, "ucsn")
    );
}

//! Accounts, bank transfers and the checks every transaction goes through.

use consign_chain::CheckError;
use consign_types::{coins, Msg};

use crate::common::{addr, TestChain, GAS};

#[test]
fn genesis_funds_the_dev_accounts() {
    let chain = TestChain::new();
    assert_eq!(chain.app.height(), 0);
    assert_eq!(chain.balance(&addr("alice")), 1_000_000);
    assert_eq!(chain.app.block(0).unwrap().unwrap().header.height, 0);
}

#[test]
fn a_send_moves_funds_and_uses_the_sequence() {
    let mut chain = TestChain::new();
    let result = chain.run_ok(
        "alice",
        vec![Msg::BankSend {
            to: addr("dave"),
            amount: coins(250, "ucsn"),
        }],
    );
    assert_eq!(result.height, 1);
    assert!(result.gas_used > 0 && result.gas_used <= GAS);
    assert!(result.events.iter().any(|e| e.ty == "transfer"));
    assert_eq!(chain.balance(&addr("alice")), 999_750);
    assert_eq!(chain.balance(&addr("dave")), 250);
    assert_eq!(chain.app.sequence(&addr("alice")), 1);
    let stored = chain.app.tx(&result.txhash).unwrap().unwrap();
    assert_eq!(stored, result);
}

#[test]
fn insufficient_funds_fails_in_the_block_and_changes_nothing_but_the_sequence() {
    let mut chain = TestChain::new();
    let result = chain.run(
        "bob",
        vec![
            Msg::BankSend {
                to: addr("dave"),
                amount: coins(10, "ucsn"),
            },
            Msg::BankSend {
                to: addr("dave"),
                amount: coins(5_000_000, "ucsn"),
            },
        ],
    );
    assert_eq!(result.code, 5);
    assert!(
        result.log.starts_with("insufficient funds: "),
        "{}",
        result.log
    );
    assert!(
        result.log.contains("has 999990ucsn, needs 5000000ucsn"),
        "{}",
        result.log
    );
    // The first send of the same transaction is reverted too.
    assert_eq!(chain.balance(&addr("bob")), 1_000_000);
    assert_eq!(chain.balance(&addr("dave")), 0);
    assert_eq!(chain.app.sequence(&addr("bob")), 1);
}

#[test]
fn replayed_forged_and_underfunded_transactions_are_refused_with_a_reason() {
    let mut chain = TestChain::new();
    let send = vec![Msg::BankSend {
        to: addr("dave"),
        amount: coins(1, "ucsn"),
    }];
    let tx = chain.signed("alice", send.clone());
    chain.block(vec![tx.clone()]);

    let err = chain.app.check_tx(&tx, |_| 0).unwrap_err();
    assert!(
        matches!(
            err,
            CheckError::Sequence {
                expected: 1,
                got: 0,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("a replayed or already used transaction"),
        "{err}"
    );

    // A signature over other bytes.
    let mut forged: serde_json::Value =
        serde_json::from_slice(&chain.signed("alice", send.clone())).unwrap();
    forged["body"]["memo"] = "changed after signing".into();
    let err = chain
        .app
        .check_tx(&serde_json::to_vec(&forged).unwrap(), |_| 0)
        .unwrap_err();
    assert!(err.to_string().contains("bad signature"), "{err}");

    let low = chain.sign("alice", send.clone(), 100, 1);
    let err = chain.app.check_tx(&low, |_| 0).unwrap_err();
    assert!(
        matches!(err, CheckError::GasTooLow { limit: 100, .. }),
        "{err}"
    );

    let err = chain.app.check_tx(b"{not json", |_| 0).unwrap_err();
    assert!(err.to_string().contains("malformed transaction"), "{err}");

    // Pending transactions in the mempool move the expected sequence.
    let next = chain.sign("alice", send, GAS, 2);
    assert!(chain.app.check_tx(&next, |_| 1).is_ok());
}

#[test]
fn running_out_of_gas_fails_the_transaction() {
    let mut chain = TestChain::new();
    let code_id = chain.store("kitchen_sink");
    let contract = chain.instantiate(code_id, serde_json::json!({}), "sink");
    let before = chain.app.state_hash();
    let msg = Msg::Execute {
        contract: contract.clone(),
        msg: consign_types::Binary::new(br#"{"increment":{}}"#.to_vec()),
        funds: vec![],
    };
    let tight = consign_chain::gas::intrinsic(900) + 1_000;
    let sequence = chain.app.sequence(&addr("alice"));
    let bytes = chain.sign("alice", vec![msg], tight, sequence);
    let result = chain.block(vec![bytes]).results.remove(0);
    assert_eq!(result.code, 11, "{}", result.log);
    assert!(result.log.starts_with("out of gas"), "{}", result.log);
    assert_ne!(chain.app.state_hash(), before, "the sequence still moved");
    assert_eq!(
        chain.query(&contract, serde_json::json!({"counter": {}})),
        serde_json::json!({"count": 0})
    );
}

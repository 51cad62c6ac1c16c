//! A block decided elsewhere (CometBFT): finalized without a write, then committed; every
//! transaction gets a result at its position; heights must follow on.

use consign_chain::{ChainError, CheckedTx, RefusedTx};
use consign_types::{coins, Msg, Timestamp};

use crate::common::{addr, TestChain};

fn send(chain: &TestChain, from: &str, to: &str, sequence: u64) -> Vec<u8> {
    chain.sign(
        from,
        vec![Msg::BankSend {
            to: addr(to),
            amount: coins(7, "ucsn"),
        }],
        crate::common::GAS,
        sequence,
    )
}

#[test]
fn finalize_writes_nothing_until_commit() {
    let mut chain = TestChain::new();
    let hash_before = chain.app.state_hash();
    let tx = send(&chain, "alice", "bob", 0);
    let finalized = chain
        .app
        .finalize_block(
            1,
            Timestamp::from_seconds(1_700_000_001),
            vec![CheckedTx::decode_for_block(&tx)],
        )
        .unwrap();
    assert_eq!(finalized.results.len(), 1);
    assert_eq!(finalized.results[0].code, 0, "{}", finalized.results[0].log);
    // Not committed: the height, the hash and the balances are the last block's.
    assert_eq!(chain.app.height(), 0);
    assert_eq!(chain.app.state_hash(), hash_before);
    assert_eq!(chain.balance(&addr("bob")), 1_000_000);
    assert!(chain.app.has_pending_block());

    let outcome = chain.app.commit().unwrap();
    assert_eq!(chain.app.height(), 1);
    assert_eq!(chain.app.state_hash(), hex::encode(finalized.state_hash));
    assert_eq!(outcome.block.header.state_hash, chain.app.state_hash());
    assert_eq!(chain.balance(&addr("bob")), 1_000_007);
    // It survives a restart.
    let chain = chain.reopen();
    assert_eq!(chain.app.height(), 1);
    assert_eq!(chain.balance(&addr("bob")), 1_000_007);
}

#[test]
fn every_transaction_gets_a_result_at_its_position() {
    let mut chain = TestChain::new();
    let good = send(&chain, "alice", "bob", 0);
    let replayed = send(&chain, "alice", "bob", 0);
    let garbage = b"not a transaction".to_vec();
    let mut bad_signature = send(&chain, "bob", "carol", 0);
    let last = bad_signature.len() - 1;
    bad_signature[last] ^= 1;
    let txs = [&good, &garbage, &replayed, &bad_signature];
    let finalized = chain
        .app
        .finalize_block(
            1,
            Timestamp::from_seconds(1_700_000_001),
            txs.iter().map(|b| CheckedTx::decode_for_block(b)).collect(),
        )
        .unwrap();
    let codes: Vec<u32> = finalized.results.iter().map(|r| r.code).collect();
    assert_eq!(codes.len(), 4);
    assert_eq!(codes[0], 0);
    assert_eq!(codes[1], 2, "undecodable: {}", finalized.results[1].log);
    assert_eq!(codes[2], 32, "a replay: {}", finalized.results[2].log);
    assert_ne!(codes[3], 0, "a bad signature");
    let indexes: Vec<u32> = finalized.results.iter().map(|r| r.index).collect();
    assert_eq!(indexes, [0, 1, 2, 3]);
    let outcome = chain.app.commit().unwrap();
    assert_eq!(outcome.block.txs.len(), 4);
    assert!(outcome.dropped.is_empty());
    // The refused ones are recorded, as the consensus engine's index has them.
    let garbage_hash = consign_types::Tx::hash(&garbage);
    let recorded = chain.app.tx(&garbage_hash).unwrap().expect("recorded");
    assert_eq!(recorded.code, 2);
    // The first of two with one hash keeps its result.
    let first = chain
        .app
        .tx(&consign_types::Tx::hash(&good))
        .unwrap()
        .unwrap();
    assert_eq!(first.code, 0);
    assert_eq!(chain.balance(&addr("bob")), 1_000_007);
}

#[test]
fn a_block_at_the_wrong_height_is_refused() {
    let mut chain = TestChain::new();
    let err = chain
        .app
        .finalize_block(2, Timestamp::from_seconds(1_700_000_001), Vec::new())
        .unwrap_err();
    assert!(
        matches!(
            err,
            ChainError::Height {
                expected: 1,
                got: 2
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("block 2 was given"), "{err}");
    let err = chain.app.commit().unwrap_err();
    assert!(
        matches!(err, ChainError::NothingToCommit { height: 0 }),
        "{err}"
    );
}

#[test]
fn finalizing_again_replaces_the_uncommitted_block() {
    let mut chain = TestChain::new();
    let tx = send(&chain, "alice", "bob", 0);
    let time = Timestamp::from_seconds(1_700_000_001);
    let first = chain
        .app
        .finalize_block(1, time, vec![CheckedTx::decode_for_block(&tx)])
        .unwrap();
    let again = chain
        .app
        .finalize_block(1, time, vec![CheckedTx::decode_for_block(&tx)])
        .unwrap();
    assert_eq!(first.state_hash, again.state_hash, "deterministic");
    assert_eq!(again.results[0].code, 0, "the first run left no trace");
    chain.app.commit().unwrap();
    assert_eq!(chain.balance(&addr("bob")), 1_000_007);
}

#[test]
fn execute_block_is_finalize_then_commit() {
    let mut produced = TestChain::new();
    let mut decided = TestChain::new();
    let tx = send(&produced, "alice", "bob", 0);
    let time = Timestamp::from_seconds(1_700_000_001);
    let checked = CheckedTx::decode(&tx).unwrap();
    produced.app.execute_block(vec![checked], time).unwrap();
    decided
        .app
        .finalize_block(1, time, vec![CheckedTx::decode_for_block(&tx)])
        .unwrap();
    decided.app.commit().unwrap();
    assert_eq!(produced.app.state_hash(), decided.app.state_hash());
    assert_eq!(
        produced.app.last_block_hash(),
        decided.app.last_block_hash()
    );
    let refused: RefusedTx = *CheckedTx::decode_for_block(b"x").unwrap_err();
    assert_eq!(refused.result(3, 1).index, 1);
}

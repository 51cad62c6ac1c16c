//! Blocks are committed durably and the state hash depends only on the history.

use consign_types::{coins, Msg};
use serde_json::json;

use crate::common::{addr, TestChain};

fn history(chain: &mut TestChain) {
    let code = chain.store("kitchen_sink");
    let sink = chain.instantiate(code, json!({}), "sink");
    for i in 0..3 {
        chain.run_ok(
            "alice",
            vec![Msg::BankSend {
                to: addr("dave"),
                amount: coins(10 + i, "ucsn"),
            }],
        );
        let r = chain.execute(
            "bob",
            &sink,
            json!({"set": {"key": format!("k{i}"), "value": "v"}}),
            vec![],
        );
        assert_eq!(r.code, 0, "{}", r.log);
    }
}

#[test]
fn the_same_history_gives_the_same_state_hash_and_blocks() {
    let mut a = TestChain::new();
    let mut b = TestChain::new();
    history(&mut a);
    history(&mut b);
    assert_eq!(a.app.height(), b.app.height());
    assert_eq!(a.app.state_hash(), b.app.state_hash());
    assert_eq!(a.app.last_block_hash(), b.app.last_block_hash());
}

#[test]
fn a_reopened_chain_keeps_every_committed_block() {
    let mut chain = TestChain::new();
    history(&mut chain);
    let height = chain.app.height();
    let hash = chain.app.state_hash();
    let dave = chain.balance(&addr("dave"));
    let block = chain.app.block(height).unwrap().unwrap();
    let mut chain = chain.reopen();
    assert_eq!(chain.app.height(), height);
    assert_eq!(chain.app.state_hash(), hash);
    assert_eq!(chain.balance(&addr("dave")), dave);
    assert_eq!(chain.app.block(height).unwrap().unwrap(), block);
    assert_eq!(
        block.header.prev_hash,
        chain.app.block(height - 1).unwrap().unwrap().hash
    );
    // And goes on from there.
    chain.run_ok(
        "alice",
        vec![Msg::BankSend {
            to: addr("dave"),
            amount: coins(1, "ucsn"),
        }],
    );
    assert_eq!(chain.app.height(), height + 1);
}

#[test]
fn a_reopened_chain_without_the_vm_cache_recompiles_its_codes() {
    let mut chain = TestChain::new();
    let code = chain.store("kitchen_sink");
    let sink = chain.instantiate(code, json!({}), "sink");
    let dir = chain.dir.path().to_path_buf();
    let chain = {
        let chain = chain;
        std::fs::remove_dir_all(dir.join("vm")).unwrap();
        chain.reopen()
    };
    assert_eq!(
        chain.query(&sink, json!({"counter": {}})),
        json!({"count": 0})
    );
}

#[test]
fn replaying_the_stored_blocks_gives_the_same_state_hash() {
    let mut chain = TestChain::new();
    history(&mut chain);
    let genesis = chain.app.genesis().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut replay =
        consign_chain::App::open(consign_chain::AppConfig::new(dir.path()), Some(&genesis))
            .unwrap();
    for height in 1..=chain.app.height() {
        let block = chain.app.block(height).unwrap().unwrap();
        let txs = block
            .txs
            .iter()
            .map(|hash| {
                let bytes = chain.app.tx_bytes(hash).unwrap().unwrap();
                consign_chain::CheckedTx::decode(&bytes).unwrap()
            })
            .collect();
        let outcome = replay.execute_block(txs, block.header.time).unwrap();
        assert_eq!(outcome.block, block, "block {height} differs on replay");
    }
    assert_eq!(replay.state_hash(), chain.app.state_hash());
}

//! Networks of four validators on 127.0.0.1 written by `consign testnet`, across real
//! processes (each node is `consign start` and the CometBFT v0.38.26 it runs beside it):
//!
//! - contracts stored and used through the command line against different nodes, validators
//!   killed with `kill -9` (one: the chain goes on; two: it halts; back: it resumes), and every
//!   validator's app hash the same at every height, nothing reported committed lost; then
//!   `--node` at a node's CometBFT RPC: `consign status` and `consign query block` read it, the
//!   commands that need the node's API say which address to give;
//! - faulty validators (debug builds' `CONSIGN_TEST_FAULT`, runtime/node/src/fault.rs): a
//!   proposer whose blocks hold a transaction the app refuses, rejected by the others'
//!   ProcessProposal, and an app whose hash mixes in the wall clock, caught by CometBFT as an app
//!   hash mismatch (its consensus halts, the node falls behind); the chain goes on.
//!
//! The two tests run side by side on separate port blocks; each stops its nodes when it ends,
//! failed or not.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result};
use consign_client::SecretKey;
use consign_tests::network::{
    comet_headers, comet_height, get_json, our_state_hash, wait_for, Testnet,
};
use consign_tests::{consign_at, contract, ok_json, ok_stdout};
use serde_json::{json, Value};

/// How long a test waits for the network to get somewhere.
const PATIENCE: Duration = Duration::from_secs(60);

/// Between blocks (CometBFT's `timeout_commit`).
const BLOCK_TIME: &str = "150ms";

fn addr(name: &str) -> String {
    SecretKey::from_seed(name).address()
}

/// Waits until node `i`'s API has committed `height`.
fn await_height(net: &Testnet, i: usize, height: u64) {
    let api = net.nodes[i].api.clone();
    wait_for(
        &format!("node{i} to commit height {height}"),
        PATIENCE,
        || {
            let status = get_json(&format!("{api}/status")).ok()?;
            (status["height"].as_u64()? >= height).then_some(())
        },
    );
}

/// Runs a transaction command through node `i` (`--output json` added), which must commit with
/// code 0; returns its result, and records its hash and height in `committed`.
fn tx(net: &Testnet, i: usize, args: &[&str], committed: &mut Vec<(String, u64)>) -> Value {
    let mut args = args.to_vec();
    args.extend(["--output", "json"]);
    let result = ok_json(&net.consign_at(i, &args).expect("consign runs"));
    assert_eq!(result["code"], 0, "through node{i}: {result}");
    let hash = result["txhash"].as_str().expect("a txhash").to_owned();
    let height = result["height"].as_u64().expect("committed at a height");
    committed.push((hash, height));
    result
}

/// A bank send of 5ucsn from alice to `to` through node `i`.
fn send(net: &Testnet, i: usize, to: &str, committed: &mut Vec<(String, u64)>) -> u64 {
    let result = tx(
        net,
        i,
        &["tx", "bank", "send", "alice", to, "5ucsn", "--yes"],
        committed,
    );
    result["height"].as_u64().expect("a height")
}

/// A contract query through node `i`: the contract's answer.
fn smart(net: &Testnet, i: usize, contract: &str, msg: &Value) -> Value {
    ok_json(
        &net.consign_at(
            i,
            &[
                "query",
                "wasm",
                "contract-state",
                "smart",
                contract,
                &msg.to_string(),
                "--output",
                "json",
            ],
        )
        .expect("consign runs"),
    )["data"]
        .clone()
}

/// The highest height CometBFT reports on the nodes given.
fn network_height(net: &Testnet, nodes: &[usize]) -> u64 {
    nodes
        .iter()
        .filter_map(|&i| comet_height(&net.nodes[i].rpc))
        .max()
        .unwrap_or(0)
}

/// Stores `name` through node 0 and instantiates it with `init` through node 1 (from alice);
/// returns its address.
fn deploy(net: &Testnet, name: &str, init: &Value, committed: &mut Vec<(String, u64)>) -> String {
    let wasm = contract(name);
    let stored = tx(
        net,
        0,
        &[
            "tx",
            "wasm",
            "store",
            wasm.to_str().expect("a UTF-8 path"),
            "--from",
            "alice",
            "--gas",
            "50000000",
        ],
        committed,
    );
    let code_id = stored["code_id"].as_u64().expect("a code id").to_string();
    await_height(net, 1, stored["height"].as_u64().expect("a height"));
    let made = tx(
        net,
        1,
        &[
            "tx",
            "wasm",
            "instantiate",
            &code_id,
            &init.to_string(),
            "--label",
            name,
            "--no-admin",
            "--from",
            "alice",
        ],
        committed,
    );
    made["contract_address"]
        .as_str()
        .expect("a contract address")
        .to_owned()
}

#[test]
fn four_validators_agree_on_every_block_through_kills_and_restarts() -> Result<()> {
    let mut net = Testnet::write(4, BLOCK_TIME)?;
    net.start_all()?;
    let mut committed = Vec::new();

    // cw20-base: stored through node0, instantiated through node1, used through node2,
    // queried through node3.
    let init = json!({"name": "Network Token", "symbol": "NET", "decimals": 6,
                      "initial_balances": [{"address": addr("alice"), "amount": "1000"}]});
    let token = deploy(&net, "cw20_base", &init, &mut committed);
    await_height(&net, 2, committed.last().expect("instantiated").1);
    let moved = tx(
        &net,
        2,
        &[
            "tx",
            "wasm",
            "execute",
            &token,
            &json!({"transfer": {"recipient": addr("bob"), "amount": "300"}}).to_string(),
            "--from",
            "alice",
        ],
        &mut committed,
    );
    await_height(&net, 3, moved["height"].as_u64().expect("a height"));
    assert_eq!(
        smart(
            &net,
            3,
            &token,
            &json!({"balance": {"address": addr("bob")}})
        ),
        json!({"balance": "300"})
    );

    // The data-sale contract the same way: an offer made through node2, read through node3.
    let market_init = serde_json::to_value(consign_market::InstantiateMsg {
        arbiter: addr("carol"),
        release_window_seconds: 3600,
        arbitration_window_seconds: None,
    })?;
    let market = deploy(&net, "data_sale", &market_init, &mut committed);
    await_height(&net, 2, committed.last().expect("instantiated").1);
    let offered = tx(
        &net,
        2,
        &[
            "tx",
            "wasm",
            "execute",
            &market,
            &json!({"create_offer": {
                "price": [{"denom": "ucsn", "amount": "100"}],
                "content_sha256": "ab".repeat(32),
                "size": 10,
                "title": "an offer made on a network",
                "description": "",
                "terms": "none"
            }})
            .to_string(),
            "--from",
            "bob",
        ],
        &mut committed,
    );
    await_height(&net, 3, offered["height"].as_u64().expect("a height"));
    let offers = smart(&net, 3, &market, &json!({"offers": {}}));
    assert!(
        offers.to_string().contains("an offer made on a network"),
        "{offers}"
    );
    send(&net, 1, &addr("dave"), &mut committed);

    // One validator killed with kill -9: the other three go on, and a send commits through
    // another node.
    net.kill9(3);
    let at_kill = network_height(&net, &[0, 1, 2]);
    wait_for("blocks after node3 was killed", PATIENCE, || {
        (network_height(&net, &[0, 1, 2]) >= at_kill + 3).then_some(())
    });
    let sent = send(&net, 2, &addr("dave"), &mut committed);
    // Restarted, it replays what it missed and agrees.
    net.start(3)?;
    await_height(&net, 3, sent);
    assert_eq!(
        our_state_hash(&net.nodes[3].api, sent),
        our_state_hash(&net.nodes[0].api, sent),
        "node3's state after block {sent}, replayed"
    );

    // Two of four killed: no two thirds, no block.
    net.kill9(2);
    net.kill9(3);
    // A block under way when they died may still finish.
    std::thread::sleep(Duration::from_millis(1500));
    let halted = network_height(&net, &[0, 1]);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        network_height(&net, &[0, 1]),
        halted,
        "a block committed with two validators of four"
    );
    // One back: the chain resumes, and commits a send.
    net.start(2)?;
    wait_for("blocks after node2 came back", PATIENCE, || {
        (network_height(&net, &[0, 1, 2]) >= halted + 2).then_some(())
    });
    let last = send(&net, 0, &addr("dave"), &mut committed);
    net.start(3)?;
    for i in 0..4 {
        await_height(&net, i, last);
    }

    // Nothing the API reported committed is lost, on any node, and balances agree.
    for (i, node) in net.nodes.iter().enumerate() {
        for (hash, height) in &committed {
            let found = get_json(&format!("{}/txs/{hash}", node.api))
                .with_context(|| format!("node{i} lost transaction {hash}"))?;
            assert_eq!(found["height"].as_u64(), Some(*height), "node{i}: {found}");
        }
        let balances = get_json(&format!("{}/accounts/{}/balances", node.api, addr("dave")))?;
        assert!(
            balances.to_string().contains("1000000000015"),
            "node{i}: dave got three sends: {balances}"
        );
    }

    // Every validator: the same app hash in every block header, and our state hash after each
    // block is the app hash the next one records.
    let top = (0..4)
        .filter_map(|i| comet_height(&net.nodes[i].rpc))
        .min()
        .context("a height")?;
    let mut app_hashes: BTreeMap<u64, String> = BTreeMap::new();
    for (i, node) in net.nodes.iter().enumerate() {
        let headers = comet_headers(&node.rpc, 1, top)?;
        for (height, header) in (1..=top).zip(&headers) {
            let hash = header["app_hash"].as_str().context("app_hash")?.to_owned();
            let first = app_hashes.entry(height).or_insert_with(|| hash.clone());
            assert_eq!(*first, hash, "node{i}'s app hash in block {height}");
        }
        for height in 1..top {
            let ours = our_state_hash(&node.api, height).context("our block")?;
            assert_eq!(
                ours.to_uppercase(),
                app_hashes[&(height + 1)],
                "node{i}'s state after block {height}"
            );
        }
    }
    assert!(top > 10, "only {top} blocks");

    // wasmd's habit: --node at CometBFT's RPC (tcp:// or http://) for a status and blocks.
    let (rpc, api, home) = (&net.nodes[1].rpc, &net.nodes[1].api, &net.nodes[1].home);
    let tcp = rpc.replacen("http://", "tcp://", 1);
    let status = ok_json(&consign_at(&tcp, home, &["--output", "json", "status"])?);
    let ours = get_json(&format!("{api}/status"))?;
    assert_eq!(status["chain_id"], ours["chain_id"], "{status}");
    assert!(status["height"].as_u64() >= Some(top), "{status}");
    assert_eq!(status["cometbft"]["catching_up"], false, "{status}");
    assert_eq!(status["cometbft"]["network"], ours["chain_id"], "{status}");
    for key in [
        "node_id",
        "moniker",
        "latest_app_hash",
        "latest_block_hash",
        "version",
    ] {
        assert!(
            status["cometbft"][key]
                .as_str()
                .is_some_and(|v| !v.is_empty()),
            "{key}: {status}"
        );
    }
    let text = ok_stdout(&consign_at(rpc, home, &["status"])?);
    for line in [
        "chain id:",
        "app hash:",
        "catching up:",
        "node id:",
        "moniker:",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
    for node in [&tcp, rpc] {
        let block = ok_json(&consign_at(
            node,
            home,
            &["--output", "json", "query", "block", "3"],
        )?);
        assert_eq!(
            block,
            get_json(&format!("{api}/blocks/3"))?,
            "through {node}"
        );
    }
    // Commands that need the node's API say which address to give.
    for (node, args) in [
        (&tcp, &["query", "bank", "balances", &addr("dave")][..]),
        (rpc, &["query", "bank", "balances", &addr("dave")][..]),
        (
            rpc,
            &["tx", "bank", "send", "alice", &addr("dave"), "5ucsn"][..],
        ),
    ] {
        let failed = consign_at(node, home, args)?;
        let stderr = String::from_utf8_lossy(&failed.stderr);
        assert!(!failed.status.success(), "{args:?} through {node}");
        assert!(
            stderr.contains("is CometBFT's RPC, not a Consign node's API")
                && stderr.contains("`api` that `consign testnet` prints"),
            "{args:?} through {node}: {stderr}"
        );
    }
    Ok(())
}

#[test]
fn faulty_validators_are_caught_and_the_chain_goes_on() -> Result<()> {
    let mut net = Testnet::write(4, BLOCK_TIME)?;
    net.set_env(0, "CONSIGN_TEST_FAULT", "bad-proposal");
    net.set_env(3, "CONSIGN_TEST_FAULT", "nondeterministic-hash");
    net.start_all()?;
    let status = get_json(&format!("{}/status", net.nodes[0].rpc))?;
    let bad_proposer = status["result"]["validator_info"]["address"]
        .as_str()
        .context("node0's validator address")?
        .to_owned();

    // node3's app hash is not the others': its CometBFT names the mismatch and halts its
    // consensus, and the node falls behind while the others go on.
    wait_for(
        "node3's CometBFT to see the app hash mismatch",
        PATIENCE,
        || {
            let (_, comet_log) = net.logs(3);
            (comet_log.contains("CONSENSUS FAILURE")
                && comet_log.contains("wrong Block.Header.AppHash"))
            .then_some(())
        },
    );
    let (start_log, _) = net.logs(3);
    assert!(start_log.contains("DELIBERATELY FAULTY"), "{start_log}");
    let stuck = comet_height(&net.nodes[3].rpc).context("node3's CometBFT answers")?;

    // node0 proposes blocks with a transaction whose signature does not verify: the others
    // reject them in ProcessProposal, and the next round's proposer makes the block.
    let from = network_height(&net, &[0, 1, 2]);
    wait_for("twelve more blocks", PATIENCE, || {
        (network_height(&net, &[0, 1, 2]) >= from + 12).then_some(())
    });
    assert_eq!(
        comet_height(&net.nodes[3].rpc),
        Some(stuck),
        "node3 went on with a wrong app hash"
    );
    assert!(net.logs(0).0.contains("test fault: proposing"));
    let rejections = net.logs(1).0.matches("rejecting a proposed block").count()
        + net.logs(2).0.matches("rejecting a proposed block").count();
    assert!(rejections > 0, "node1 and node2 rejected node0's proposals");
    let top = network_height(&net, &[1]);
    for (height, header) in (1..=top).zip(comet_headers(&net.nodes[1].rpc, 1, top)?) {
        assert_ne!(
            header["proposer_address"].as_str(),
            Some(bad_proposer.as_str()),
            "block {height} is node0's"
        );
    }
    for height in 1..=top {
        let block = get_json(&format!("{}/block?height={height}", net.nodes[1].rpc))?;
        let txs = block["result"]["block"]["data"]["txs"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(txs, 0, "block {height} holds node0's bad transaction");
    }
    Ok(())
}

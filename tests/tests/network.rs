//! A CometBFT network of one validator on 127.0.0.1, across real processes: `consign init`,
//! `consign start` (which runs CometBFT v0.38.26 as its child), a bank send through the usual
//! command line, CometBFT's app hash against ours, and `kill -9` of both processes. Then the
//! bad inputs: a malformed `app_state`, a block gas limit missing, a home whose chain is another.
//!
//! CometBFT is found as `consign` finds it: `$CONSIGN_COMETBFT`, then `PATH`, then `~/go/bin`
//! (`scripts/install-cometbft.sh` installs it there).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::Result;
use consign_client::SecretKey;
use consign_tests::network::{
    alive, comet_status, cometbft_bin, consign, free_port_block, get_json, our_height,
    our_state_hash, wait_for, NetworkNode,
};
use consign_tests::{consign_at, consign_bin, ok_json, Daemon};
use serde_json::Value;

/// How long a test waits for a network to get somewhere.
const PATIENCE: Duration = Duration::from_secs(30);

/// `consign init` of a one-validator home on free ports, 100 ms between blocks; returns
/// CometBFT's RPC URL.
fn init(home: &Path, chain_id: &str) -> String {
    // Below the ephemeral range: a port of a killed node is not taken by an outgoing connection
    // before it restarts.
    let base = free_port_block(1);
    let rpc = format!("127.0.0.1:{}", base + 1);
    let p2p = format!("127.0.0.1:{base}");
    let home_text = home.display().to_string();
    let out = consign(&[
        "init",
        "--home",
        &home_text,
        "--chain-id",
        chain_id,
        "--rpc",
        &rpc,
        "--p2p",
        &p2p,
        "--api",
        "127.0.0.1:0",
        "--block-time",
        "100ms",
    ]);
    assert!(
        out.status.success(),
        "consign init failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    format!("http://{rpc}")
}

/// CometBFT's app hash after block `height` (in the next block's header) equals ours.
fn assert_same_app_hash(rpc: &str, api: &str, height: u64) {
    let theirs = wait_for("CometBFT's next block", PATIENCE, || {
        let block = get_json(&format!("{rpc}/block?height={}", height + 1)).ok()?;
        Some(
            block["result"]["block"]["header"]["app_hash"]
                .as_str()?
                .to_owned(),
        )
    });
    let ours = our_state_hash(api, height).expect("our block");
    assert_eq!(theirs, ours.to_uppercase(), "app hash after block {height}");
}

fn send(home: &Path, api: &str, to: &str) -> Value {
    ok_json(
        &consign_at(
            api,
            home,
            &[
                "tx", "bank", "send", "alice", to, "5ucsn", "--yes", "--output", "json",
            ],
        )
        .expect("consign runs"),
    )
}

#[test]
fn a_single_validator_commits_a_cli_send_and_survives_kill_9() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let home = dir.path().join("node");
    let rpc = init(&home, "net-test");
    let mut node = NetworkNode::start(&home)?;
    let bob = SecretKey::from_seed("bob").address();

    // A send through the ordinary command line, committed end to end.
    let result = send(&home, &node.api, &bob);
    assert_eq!(result["code"], 0, "{result}");
    let height = result["height"].as_u64().expect("committed at a height");
    let balances = get_json(&format!("{}/accounts/{bob}/balances", node.api))?;
    assert!(
        balances.to_string().contains("1000000000005"),
        "bob got 5ucsn: {balances}"
    );
    // CometBFT's record of our app hash is ours, both for that block and the latest one.
    assert_same_app_hash(&rpc, &node.api, height);
    let (latest, app_hash) = wait_for("CometBFT's status", PATIENCE, || comet_status(&rpc));
    let ours = wait_for("our block before CometBFT's latest", PATIENCE, || {
        our_state_hash(&node.api, latest - 1)
    });
    assert_eq!(app_hash, ours.to_uppercase());

    // Both processes killed as a crash would: the chain comes back where it was, and goes on.
    let committed = our_height(&node.api);
    let hash = our_state_hash(&node.api, committed).expect("the last block");
    node.kill9();
    assert!(
        home.join("data/abci.sock").exists(),
        "a killed node leaves its socket behind"
    );
    let node = NetworkNode::start(&home)?;
    assert!(our_height(&node.api) >= committed);
    assert_eq!(
        our_state_hash(&node.api, committed).as_deref(),
        Some(hash.as_str())
    );
    let again = send(&home, &node.api, &bob);
    assert_eq!(again["code"], 0, "{again}");
    let next = again["height"].as_u64().expect("a height");
    assert!(next > committed);
    assert_same_app_hash(&rpc, &node.api, next);
    let balances = get_json(&format!("{}/accounts/{bob}/balances", node.api))?;
    assert!(balances.to_string().contains("1000000000010"), "{balances}");

    // The node alone killed: its CometBFT does not outlive it.
    let mut node = node;
    node.daemon.kill();
    wait_for("CometBFT to stop with its node", PATIENCE, || {
        (!alive(node.comet_pid)).then_some(())
    });
    Ok(())
}

#[test]
fn cometbft_run_by_the_operator_drives_the_node() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let home = dir.path().join("node");
    let rpc = init(&home, "external-test");
    let mut node = NetworkNode::start_with(&home, &["--cometbft", "external"], &[])?;
    assert_eq!(node.comet_pid, 0, "no CometBFT child in external mode");
    let mut command = Command::new(cometbft_bin());
    command.arg("start").arg("--home").arg(&home);
    let mut cometbft = Daemon::builder(
        "cometbft",
        command,
        home.join("cometbft.log"),
        home.join("cometbft.ready"),
    )
    .spawn_now()?;
    wait_for("CometBFT's RPC", PATIENCE, || comet_status(&rpc));
    let bob = SecretKey::from_seed("bob").address();
    let result = send(&home, &node.api, &bob);
    assert_eq!(result["code"], 0, "{result}");
    assert_same_app_hash(
        &rpc,
        &node.api,
        result["height"].as_u64().expect("a height"),
    );
    // The operator stops CometBFT first, then the node, which leaves it alone.
    cometbft.terminate(Duration::from_secs(30))?;
    let status = node.daemon.terminate(Duration::from_secs(30))?;
    assert!(status.success(), "{}", node.daemon.log());
    Ok(())
}

/// Runs `consign start` in a home that must refuse to start; returns its stderr.
fn refused_start(home: &Path) -> String {
    let home_text = home.display().to_string();
    let out = consign(&["start", "--home", &home_text]);
    assert!(!out.status.success(), "consign start should have refused");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn edit_genesis(home: &Path, edit: impl FnOnce(&mut Value)) {
    let path = home.join("config/genesis.json");
    let mut genesis: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut genesis);
    std::fs::write(&path, serde_json::to_string_pretty(&genesis).unwrap()).unwrap();
}

#[test]
fn a_malformed_genesis_or_another_chains_home_is_refused_by_name() -> Result<()> {
    let dir = tempfile::tempdir()?;

    // An app_state with a field Consign does not know.
    let typo = dir.path().join("typo");
    init(&typo, "bad-1");
    edit_genesis(&typo, |g| {
        g["app_state"]["acounts"] = Value::Array(Vec::new())
    });
    let err = refused_start(&typo);
    assert!(
        err.contains("app_state") && err.contains("acounts"),
        "{err}"
    );
    assert!(err.contains("genesis.json"), "names the file: {err}");

    // An account whose coins are not coins.
    let coins = dir.path().join("coins");
    init(&coins, "bad-2");
    edit_genesis(&coins, |g| {
        g["app_state"]["accounts"][0]["coins"] = Value::String("lots".into());
    });
    let err = refused_start(&coins);
    assert!(err.contains("app_state"), "{err}");

    // No block gas limit.
    let no_gas = dir.path().join("gas");
    init(&no_gas, "bad-3");
    edit_genesis(&no_gas, |g| {
        g["consensus_params"]["block"]["max_gas"] = Value::String("-1".into());
    });
    let err = refused_start(&no_gas);
    assert!(
        err.contains("consensus_params.block.max_gas") && err.contains("required"),
        "{err}"
    );

    // A home whose chain is another: its genesis now names another chain id.
    let other = dir.path().join("other");
    init(&other, "first-chain");
    let mut node = NetworkNode::start(&other)?;
    node.daemon.terminate(Duration::from_secs(30))?;
    edit_genesis(&other, |g| g["chain_id"] = "second-chain".into());
    let err = refused_start(&other);
    assert!(
        err.contains("first-chain") && err.contains("second-chain"),
        "names both chains: {err}"
    );
    assert!(
        err.contains(&other.display().to_string()),
        "names the home: {err}"
    );

    // CometBFT missing: the message says how to install it.
    let out = Command::new(consign_bin())
        .args(["init", "--home"])
        .arg(dir.path().join("none"))
        .env("CONSIGN_COMETBFT", dir.path().join("no-such-cometbft"))
        .stdin(Stdio::null())
        .output()?;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("install-cometbft.sh"), "{err}");
    Ok(())
}

#[test]
fn a_chain_behind_cometbfts_store_catches_up_and_one_ahead_is_refused_by_name() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let home = dir.path().join("node");
    init(&home, "replay-test");
    let mut node = NetworkNode::start(&home)?;
    let bob = SecretKey::from_seed("bob").address();
    let sent = send(&home, &node.api, &bob);
    assert_eq!(sent["code"], 0, "{sent}");
    let height = sent["height"].as_u64().expect("a height");
    let hash = our_state_hash(&node.api, height).expect("the block");
    let txhash = sent["txhash"].as_str().expect("a txhash").to_owned();
    node.daemon.terminate(Duration::from_secs(30))?;

    // The chain's directory lost (behind CometBFT's store by every block): CometBFT replays its
    // blocks from the genesis, and the chain ends where it was.
    std::fs::rename(home.join("consign"), dir.path().join("consign.lost"))?;
    let mut node = NetworkNode::start(&home)?;
    wait_for("the replay", PATIENCE, || {
        (our_height(&node.api) >= height).then_some(())
    });
    assert_eq!(our_state_hash(&node.api, height), Some(hash));
    let found = get_json(&format!("{}/txs/{txhash}", node.api))?;
    assert_eq!(found["height"].as_u64(), Some(height), "{found}");
    node.daemon.terminate(Duration::from_secs(30))?;

    // CometBFT's data reset while the chain was kept: the chain is ahead of the store, and
    // `consign start` says so instead of CometBFT's panic.
    let home_text = home.display().to_string();
    let reset = Command::new(cometbft_bin())
        .args(["unsafe-reset-all", "--home", &home_text])
        .output()?;
    assert!(reset.status.success());
    let err = refused_start(&home);
    assert!(
        err.contains("ahead of CometBFT's block store") && err.contains("ends at height 0"),
        "{err}"
    );
    assert!(
        err.contains(&home.join("consign").display().to_string()),
        "{err}"
    );
    Ok(())
}

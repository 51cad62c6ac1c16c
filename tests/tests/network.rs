//! A CometBFT network of one validator on 127.0.0.1, across real processes: `consign init`,
//! `consign start` (which runs CometBFT v0.38.26 as its child), a bank send through the usual
//! command line, CometBFT's app hash against ours, and `kill -9` of both processes. Then the
//! bad inputs: a malformed `app_state`, a block gas limit missing, a home whose chain is another.
//!
//! CometBFT is found as `consign` finds it: `$CONSIGN_COMETBFT`, then `PATH`, then `~/go/bin`
//! (`scripts/install-cometbft.sh` installs it there).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use consign_client::SecretKey;
use consign_tests::{consign_at, consign_bin, ok_json, runtime, status_ok};
use consign_util::daemon::Daemon;
use serde_json::Value;

/// The `cometbft` binary, or a failure that says how to install it.
fn cometbft_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("CONSIGN_COMETBFT") {
        return PathBuf::from(path);
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("cometbft"))
                .find(|p| p.is_file())
        })
        .unwrap_or_default();
    let in_go_bin = std::env::var_os("HOME").map(|h| PathBuf::from(h).join("go/bin/cometbft"));
    on_path
        .or(in_go_bin.filter(|p| p.is_file()))
        .expect("CometBFT v0.38.26 is not installed: run scripts/install-cometbft.sh (or set CONSIGN_COMETBFT)")
}

/// A port free on 127.0.0.1 now (CometBFT takes its ports from its config, not from us).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn consign(args: &[&str]) -> Output {
    Command::new(consign_bin())
        .args(args)
        .env("CONSIGN_COMETBFT", cometbft_bin())
        .stdin(Stdio::null())
        .output()
        .expect("consign runs")
}

/// `consign init` of a one-validator home on free ports, 100 ms between blocks; returns
/// CometBFT's RPC URL.
fn init(home: &Path, chain_id: &str) -> String {
    let rpc = format!("127.0.0.1:{}", free_port());
    let p2p = format!("127.0.0.1:{}", free_port());
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

/// A running `consign start` and the CometBFT it started.
struct NetworkNode {
    daemon: Daemon,
    comet_pid: u32,
    api: String,
}

fn start(home: &Path) -> Result<NetworkNode> {
    start_with(home, &[])
}

fn start_with(home: &Path, extra: &[&str]) -> Result<NetworkNode> {
    let mut command = Command::new(consign_bin());
    command
        .args(["--output", "json", "start", "--home"])
        .arg(home)
        .args(extra)
        .env("CONSIGN_COMETBFT", cometbft_bin())
        .env("RUST_LOG", "info");
    let daemon = Daemon::builder(
        "consign start",
        command,
        home.join("start.log"),
        home.join("api.url"),
    )
    .append_log()
    .ready_when(status_ok)
    .error_log_lines(usize::MAX)
    // A test that ends early stops the node, which stops its CometBFT.
    .terminate_on_drop(Duration::from_secs(30))
    .spawn()?;
    let log = daemon.log();
    let started: Value = log
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .map(serde_json::from_str)
        .context("consign start printed no JSON line")??;
    let comet_pid = started["cometbft_pid"]
        .as_u64()
        .and_then(|p| u32::try_from(p).ok())
        .unwrap_or(0);
    Ok(NetworkNode {
        api: daemon.url().to_owned(),
        daemon,
        comet_pid,
    })
}

fn get_json(url: &str) -> Result<Value> {
    runtime().block_on(async {
        let response = reqwest::Client::new()
            .get(url)
            .timeout(Duration::from_secs(5))
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "GET {url}: {}",
            response.status()
        );
        Ok(response.json::<Value>().await?)
    })
}

/// Waits until `check` gives a value, for at most 30 s.
fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// CometBFT's `/status`: the latest height and its header's app hash (the state after the
/// block before it).
fn comet_status(rpc: &str) -> Option<(u64, String)> {
    let status = get_json(&format!("{rpc}/status")).ok()?;
    let info = &status["result"]["sync_info"];
    Some((
        info["latest_block_height"].as_str()?.parse().ok()?,
        info["latest_app_hash"].as_str()?.to_owned(),
    ))
}

/// Our state hash after block `height`, from the node API.
fn our_state_hash(api: &str, height: u64) -> Option<String> {
    let block = get_json(&format!("{api}/blocks/{height}")).ok()?;
    Some(block["header"]["state_hash"].as_str()?.to_owned())
}

fn our_height(api: &str) -> u64 {
    get_json(&format!("{api}/status")).expect("status")["height"]
        .as_u64()
        .expect("height")
}

/// CometBFT's app hash after block `height` (in the next block's header) equals ours.
fn assert_same_app_hash(rpc: &str, api: &str, height: u64) {
    let theirs = wait_for("CometBFT's next block", || {
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

fn kill9(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status();
}

#[test]
fn a_single_validator_commits_a_cli_send_and_survives_kill_9() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let home = dir.path().join("node");
    let rpc = init(&home, "net-test");
    let mut node = start(&home)?;
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
    let (latest, app_hash) = wait_for("CometBFT's status", || comet_status(&rpc));
    let ours = wait_for("our block before CometBFT's latest", || {
        our_state_hash(&node.api, latest - 1)
    });
    assert_eq!(app_hash, ours.to_uppercase());

    // Both processes killed as a crash would: the chain comes back where it was, and goes on.
    let committed = our_height(&node.api);
    let hash = our_state_hash(&node.api, committed).expect("the last block");
    node.daemon.kill();
    kill9(node.comet_pid);
    assert!(
        home.join("data/abci.sock").exists(),
        "a killed node leaves its socket behind"
    );
    let node = start(&home)?;
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
    wait_for("CometBFT to stop with its node", || {
        (!alive(node.comet_pid)).then_some(())
    });
    Ok(())
}

/// Whether a process runs (a zombie does not count).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z')
        })
        .unwrap_or(false)
}

#[test]
fn cometbft_run_by_the_operator_drives_the_node() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let home = dir.path().join("node");
    let rpc = init(&home, "external-test");
    let mut node = start_with(&home, &["--cometbft", "external"])?;
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
    wait_for("CometBFT's RPC", || comet_status(&rpc));
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
    let mut node = start(&other)?;
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

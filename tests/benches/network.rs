//! The chain over HTTP, `consign dev` beside a network of four validators, in one run: committed
//! bank sends and cw20 transfers per second and commit latency, with how many blocks carried
//! them.
//!
//! `bash scripts/bench-network.sh` builds release binaries and runs it. Directly:
//!
//! ```text
//! CONSIGN_BIN=target/release/consign cargo bench -p consign-tests --bench network
//! ```
//!
//! 500 dev accounts each send 12 pre-signed transactions one after another with
//! `POST /txs?mode=commit` (so up to 500 are in flight and the chain batches them into blocks).
//! On `consign dev` (`--block-time 0`: a block as soon as transactions wait) every sender talks to
//! the one node; on the network (`consign testnet --validators 4`, CometBFT's loopback timeouts,
//! 100 ms between blocks) sender `i` talks to node `i mod 4`, whose CometBFT gossips the
//! transaction to the proposer. Everything, the load generator too, runs on this machine's cores.
//!
//! Under `cargo test --all-targets` (no `--bench` argument: the test command) it runs a few
//! transactions through both as a check that the benchmark works.

use std::time::Instant;

use consign_tests::load::{self, Load};
use consign_tests::network::Testnet;
use consign_tests::{contract, DevNode};

/// Validators of the network.
const VALIDATORS: u32 = 4;
/// CometBFT's `timeout_commit`: the pause after each block, in which transactions gather.
const BLOCK_TIME: &str = "100ms";

/// How much load: senders and transactions each, full or as a check.
fn shape() -> (usize, usize) {
    if std::env::args().any(|arg| arg == "--bench") {
        (500, 12)
    } else {
        (8, 2)
    }
}

fn main() -> anyhow::Result<()> {
    let (senders, per_sender) = shape();
    let accounts = senders.to_string();
    println!("{senders} senders × {per_sender} transactions each, bank sends then cw20 transfers");
    // The load runs on a runtime of its own; the helpers that start nodes block, so they run
    // outside it.
    let load = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;

    let dir = tempfile::tempdir()?;
    let dev = DevNode::start_with(&dir.path().join("dev"), &["--accounts", &accounts])?;
    load.block_on(run(
        "consign dev",
        std::slice::from_ref(&dev.url),
        senders,
        per_sender,
    ));
    drop(dev);

    let started = Instant::now();
    let mut net = Testnet::write_with(VALIDATORS, BLOCK_TIME, &["--accounts", &accounts])?;
    net.start_all()?;
    println!(
        "(network of {VALIDATORS} validators started in {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    let urls: Vec<String> = net.nodes.iter().map(|n| n.api.clone()).collect();
    load.block_on(run(
        &format!("{VALIDATORS} validators"),
        &urls,
        senders,
        per_sender,
    ));
    Ok(())
}

/// Bank sends, then cw20-base deployed through the first node and transfers, against `urls`.
async fn run(name: &str, urls: &[String], senders: usize, per_sender: usize) {
    let chain_id = load::chain_id(&urls[0]).await;
    let mut load = Load::new(&chain_id, senders);
    let bank = load.bank_sends(per_sender);
    let figures = load.drive(urls, bank).await;
    println!("{}", figures.line(&format!("{name}: bank send")));

    let wasm = std::fs::read(contract("cw20_base")).expect("cw20-base is built");
    let token = load.deploy_cw20(&urls[0], wasm).await;
    let transfers = load.cw20_transfers(&token, per_sender);
    let figures = load.drive(urls, transfers).await;
    println!("{}", figures.line(&format!("{name}: cw20 transfer")));
}

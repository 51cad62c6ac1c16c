//! End-to-end delivery benchmark with real processes: `consign dev`, `consign-storage serve` and
//! a buyer's receiving server on loopback. For each blob size it prints the time from the
//! purchase's commit to the last byte accepted by the buyer's server, the throughput that makes,
//! the upload's throughput, and the storage node's peak resident memory (VmHWM), which must not
//! grow with the blob size.
//!
//! `bash scripts/bench-delivery.sh` builds release binaries and runs it. Directly:
//!
//! ```text
//! CONSIGN_BIN=target/release/consign CONSIGN_STORAGE_BIN=target/release/consign-storage \
//!     cargo bench -p consign-tests --bench delivery -- [SIZE…]
//! ```
//!
//! SIZE is `1MiB`, `1GiB`, … (default: 1MiB and 1GiB); 1 MiB runs are repeated to report a
//! median. Needs about twice the largest size free on disk. Under `cargo test --all-targets`
//! (no `--bench` argument: the test command) it delivers one 1 MiB blob, as a check that the
//! benchmark works, not a gigabyte through debug builds.

use std::time::{Duration, Instant};

use consign_client::seal::AgeIdentity;
use consign_client::{BroadcastMode, Msg, NodeClient, SecretKey};
use consign_tests::measure::{peak_rss_kib, write_random_file};
use consign_tests::{
    deploy_data_sale, DevNode, Receiver, ReceiverBehaviour, Seller, Sold, StorageNode,
};
use consign_util::size::{format_size, parse_size};
use serde_json::json;

const REPEATS_SMALL: usize = 9;

fn main() -> anyhow::Result<()> {
    let sizes: Vec<u64> = {
        let args: Vec<String> = std::env::args()
            .skip(1)
            .filter(|a| !a.starts_with("--"))
            .collect();
        if !std::env::args().any(|arg| arg == "--bench") {
            vec![1 << 20]
        } else if args.is_empty() {
            vec![1 << 20, 1 << 30]
        } else {
            args.iter()
                .map(|a| parse_size(a))
                .collect::<Result<_, _>>()?
        }
    };
    println!(
        "{:>9}  {:>12}  {:>12}  {:>14}  {:>12}  {:>14}",
        "blob", "commit→last", "throughput", "upload", "peak RSS", "peak RSS idle"
    );
    for size in sizes {
        let bench = std::env::args().any(|arg| arg == "--bench");
        let repeats = if bench && size <= 16 << 20 {
            REPEATS_SMALL
        } else {
            1
        };
        run(size, repeats)?;
    }
    Ok(())
}

fn run(size: u64, repeats: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let node = DevNode::start(&dir.path().join("chain"))?;
    let market = deploy_data_sale(&node)?;
    let storage = StorageNode::start(
        &dir.path().join("storage"),
        &node.url,
        &["--allow-private-egress", "--quota-per-account", "8GiB"],
    )?;
    let idle_rss = peak_rss_kib(storage.pid().unwrap_or(0));

    let file = dir.path().join("blob.bin");
    write_random_file(&file, size)?;
    let seller = Seller::new(&node, &dir.path().join("seller"))?;
    let started = Instant::now();
    let sold = seller.sell(&node, &storage, &market, &file)?;
    let upload = started.elapsed();
    seller.vanish()?;
    std::fs::remove_file(&file)?;

    let receiver = Receiver::start(ReceiverBehaviour {
        count_only: true,
        ..ReceiverBehaviour::default()
    })?;
    let identity = AgeIdentity::generate();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = NodeClient::new(&node.url)?;
    let chain_id = runtime.block_on(client.status())?.chain_id;
    let bob = SecretKey::from_seed("bob");
    let mut latencies = Vec::new();
    for i in 0..repeats {
        let committed = purchase(
            &runtime, &client, &chain_id, &bob, &market, &sold, &receiver, &identity,
        )?;
        let received = receiver.wait_for(i + 1, Duration::from_secs(600))?;
        latencies.push(received[i].completed.saturating_duration_since(committed));
    }
    latencies.sort();
    let latency = latencies[latencies.len() / 2];
    let peak = peak_rss_kib(storage.pid().unwrap_or(0));
    println!(
        "{:>9}  {:>12}  {:>12}  {:>14}  {:>12}  {:>14}",
        format_size(size),
        format!("{:.1} ms", latency.as_secs_f64() * 1e3),
        format!("{:.0} MB/s", size as f64 / latency.as_secs_f64() / 1e6),
        format!("{:.0} MB/s", size as f64 / upload.as_secs_f64() / 1e6),
        format!("{:.1} MiB", peak as f64 / 1024.0),
        format!("{:.1} MiB", idle_rss as f64 / 1024.0),
    );
    if repeats > 1 {
        let (min, max) = (latencies[0], latencies[latencies.len() - 1]);
        println!(
            "           (median of {repeats}; min {:.1} ms, max {:.1} ms)",
            min.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3
        );
    }
    Ok(())
}

/// Signs and broadcasts the purchase in-process, waiting for the commit: returns the instant
/// the commit was reported, the start of the measured interval.
#[allow(clippy::too_many_arguments)]
fn purchase(
    runtime: &tokio::runtime::Runtime,
    client: &NodeClient,
    chain_id: &str,
    buyer: &SecretKey,
    market: &str,
    sold: &Sold,
    receiver: &Receiver,
    identity: &AgeIdentity,
) -> anyhow::Result<Instant> {
    let msg = json!({"purchase": {"offer_id": sold.offer_id,
        "recipient": {"endpoint": receiver.url(), "key": identity.recipient()}}});
    let execute = Msg::Execute {
        contract: market.to_owned(),
        msg: serde_json::to_vec(&msg)?.into(),
        funds: consign_client::coins(100, "ucsn"),
    };
    let result = runtime.block_on(client.sign_and_broadcast(
        buyer,
        chain_id,
        vec![execute],
        2_000_000,
        BroadcastMode::Commit {
            timeout: Duration::from_secs(30),
        },
    ))?;
    let committed = Instant::now();
    match result {
        consign_client::Broadcast::Committed(r) if r.code == 0 => Ok(committed),
        other => anyhow::bail!("the purchase failed: {other:?}"),
    }
}

//! k-of-n custody end to end, beside the single-node flow in the same run (issue 14), with real
//! processes on loopback: `consign dev`, `n` × `consign-storage serve`, the seller's
//! `consign sell` and the buyer's `consign inbox`. For (k, n) = (1, 1) and (2, 3) it prints:
//!
//! - the seller's rate: the file's size over the whole of `consign sell` (prepare, upload,
//!   offer, registrations), and that process's peak resident memory;
//! - the buyer's: purchase commit → the inbox's `saved` event (every piece received, checked,
//!   rebuilt, decrypted, hashed against the offer and saved), with every node up and, for
//!   (2, 3), again with node 0 stopped (a recovery fragment stands in: every stripe decoded);
//! - the peak resident memory of every storage node and of the inbox.
//!
//! `bash scripts/bench-custody.sh [SIZE]` builds release binaries and runs it (default 1GiB).
//! Under `cargo test --all-targets` (no `--bench` argument: the test command) it runs 1 MiB
//! through both shapes as a check that the benchmark works.

use std::process::Command;
use std::time::{Duration, Instant};

use consign_tests::inbox::Inbox;
use consign_tests::measure::{peak_rss_kib, run_measured, write_random_file};
use consign_tests::{buy, consign_bin, deploy_data_sale, ok_json, DevNode, Seller, StorageNode};
use consign_util::size::{format_size, parse_size};

/// How long one purchase may take to be saved.
const SAVE_TIMEOUT: Duration = Duration::from_secs(600);

fn main() -> anyhow::Result<()> {
    let bench = std::env::args().any(|arg| arg == "--bench");
    let size = match std::env::args().skip(1).find(|a| !a.starts_with("--")) {
        Some(size) => parse_size(&size)?,
        None if bench => 1 << 30,
        None => 1 << 20,
    };
    println!(
        "{:>8}  {:>6}  {:>22}  {:>10}  {:>26}  {:>12}  {:>12}",
        "size",
        "k of n",
        "sell (rate)",
        "seller RSS",
        "commit → saved (rate)",
        "storage RSS",
        "inbox RSS"
    );
    for (k, n) in [(1, 1), (2, 3)] {
        run(size, k, n)?;
    }
    Ok(())
}

fn run(size: u64, k: u16, n: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let node = DevNode::start(&dir.path().join("chain"))?;
    let market = deploy_data_sale(&node)?;
    let mut storage = (0..n)
        .map(|i| {
            StorageNode::start(
                &dir.path().join(format!("storage-{i}")),
                &node.url,
                &["--allow-private-egress", "--quota-per-account", "8GiB"],
            )
        })
        .collect::<anyhow::Result<Vec<_>>>()?;

    // The seller: `consign sell`, measured as a process.
    let file = dir.path().join("data.bin");
    write_random_file(&file, size)?;
    let seller = Seller::new(&node, &dir.path().join("seller"))?;
    let mut sell = Command::new(consign_bin());
    sell.arg("sell")
        .arg(&file)
        .args(["--threshold", &k.to_string(), "--price", "100ucsn"])
        .args([
            "--title",
            "bench",
            "--from",
            "seller",
            "--contract",
            &market,
        ])
        .args(["--output", "json", "--node", &node.url, "--home"])
        .arg(&seller.home)
        .arg("--work-dir")
        .arg(dir.path());
    for node in &storage {
        sell.args(["--storage", &node.url]);
    }
    let (output, seller_rss, sell_time) = run_measured(sell)?;
    let offer = ok_json(&output)["offer_id"]
        .as_u64()
        .ok_or_else(|| anyhow::anyhow!("no offer id"))?;
    seller.vanish()?;
    std::fs::remove_file(&file)?;

    // The buyer.
    let recipient = node.age_key("buyer")?;
    let inbox = Inbox::start(
        &node,
        &dir.path().join("inbox"),
        "127.0.0.1:0",
        &["--age-key", "buyer", "--contract", &market, "--from", "bob"],
    );
    let storage_peak = |storage: &[StorageNode]| {
        storage
            .iter()
            .filter_map(StorageNode::pid)
            .map(peak_rss_kib)
            .max()
            .unwrap_or(0)
    };
    let mut saved = vec![purchase_to_saved(
        &node, &market, offer, &inbox, &recipient,
    )?];
    let mut storage_rss = storage_peak(&storage);
    if n > 1 {
        storage[0].stop()?;
        saved.push(purchase_to_saved(
            &node, &market, offer, &inbox, &recipient,
        )?);
        storage_rss = storage_rss.max(storage_peak(&storage));
    }
    let inbox_rss = inbox.pid().map_or(0, peak_rss_kib);

    let mib = |kib: u64| format!("{:.1} MiB", kib as f64 / 1024.0);
    let timed = |d: Duration| {
        format!(
            "{:.2} s ({:.0} MB/s)",
            d.as_secs_f64(),
            size as f64 / d.as_secs_f64() / 1e6
        )
    };
    for (i, time) in saved.iter().enumerate() {
        let first = i == 0;
        let pieces = time
            .pieces_in
            .map(|d| format!(" (pieces in at {:.2} s)", d.as_secs_f64()))
            .unwrap_or_default();
        println!(
            "{:>8}  {:>6}  {:>22}  {:>10}  {:>26}  {:>12}  {:>12}",
            if first {
                format_size(size)
            } else {
                String::new()
            },
            if first {
                format!("{k} of {n}")
            } else {
                String::new()
            },
            if first {
                timed(sell_time)
            } else {
                String::new()
            },
            if first {
                mib(seller_rss)
            } else {
                String::new()
            },
            format!(
                "{}{pieces}{}",
                timed(time.saved),
                if first { "" } else { ", node 0 down" }
            ),
            if first {
                mib(storage_rss)
            } else {
                String::new()
            },
            if first { mib(inbox_rss) } else { String::new() },
        );
    }
    Ok(())
}

/// Buys `offer` for the inbox and waits for its `saved` event: the time from the commit to
/// it, and to the `rebuilding` event (every piece in) for a k-of-n offer.
fn purchase_to_saved(
    node: &DevNode,
    market: &str,
    offer: u64,
    inbox: &Inbox,
    recipient: &str,
) -> anyhow::Result<Saved> {
    let bought = buy(node, market, offer, &inbox.url, recipient)?;
    let mut feed = inbox.follow();
    let deadline = Instant::now() + SAVE_TIMEOUT;
    let mut pieces_in = None;
    loop {
        for event in feed.new_events() {
            if event["purchase_id"] != bought.purchase_id {
                continue;
            }
            if event["event"] == "rebuilding" {
                pieces_in = Some(bought.committed.elapsed());
            }
            if event["event"] == "saved" {
                return Ok(Saved {
                    pieces_in,
                    saved: bought.committed.elapsed(),
                });
            }
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "purchase {} was not saved: {}",
            bought.purchase_id,
            inbox.log()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// When a purchase's pieces were all in (k-of-n only) and when it was saved, from its commit.
struct Saved {
    pieces_in: Option<Duration>,
    saved: Duration,
}

//! `cargo bench -p consign --bench node`: a running `consign dev` driven over HTTP with signed
//! transactions. Prints committed transactions per second and commit latency (median, p99) for
//! bank sends and for cw20 transfers.
//!
//! 500 dev accounts each send transactions one after another, waiting for each to commit
//! (`mode=commit`), so up to 500 are in flight at once and the node batches them into blocks.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use consign_client::{coins, Binary, Msg, SecretKey, Tx, TxBody, TxResult};

const SENDERS: usize = 500;
const PER_SENDER: usize = 12;

fn names() -> Vec<String> {
    let first = ["alice", "bob", "carol", "dave"];
    (0..SENDERS)
        .map(|i| match first.get(i) {
            Some(n) => (*n).to_owned(),
            None => format!("dev{}", i + 1),
        })
        .collect()
}

struct Node {
    child: Child,
    url: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// The child is moved into `Node` at once, whose Drop kills and waits for it; clippy cannot see
// through the move.
#[allow(clippy::zombie_processes)]
fn start(home: &Path) -> Node {
    let child = Command::new(env!("CARGO_BIN_EXE_consign"))
        .args(["dev", "--home"])
        .arg(home)
        .args([
            "--api",
            "127.0.0.1:0",
            "--block-time",
            "0",
            "--accounts",
            &SENDERS.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start consign dev");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(url) = std::fs::read_to_string(home.join("api.url")) {
            if !url.trim().is_empty() {
                return Node {
                    child,
                    url: url.trim().to_owned(),
                };
            }
        }
        assert!(Instant::now() < deadline, "consign dev did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn sign(key: &SecretKey, chain_id: &str, sequence: u64, msg: Msg, gas_limit: u64) -> Vec<u8> {
    let body = TxBody {
        chain_id: chain_id.into(),
        sender: key.address(),
        sequence,
        gas_limit,
        fee: vec![],
        memo: String::new(),
        messages: vec![msg],
    };
    Tx::sign(body, key).to_bytes()
}

async fn commit(client: &reqwest::Client, url: &str, bytes: Vec<u8>) -> TxResult {
    let response = client
        .post(format!("{url}/txs?mode=commit&timeout_ms=60000"))
        .body(bytes)
        .send()
        .await
        .expect("broadcast");
    let status = response.status();
    let text = response.text().await.expect("response body");
    assert!(status.is_success(), "{status}: {text}");
    let result: TxResult = serde_json::from_str(&text).expect("a TxResult");
    assert_eq!(result.code, 0, "{}", result.log);
    result
}

/// Every sender sends its transactions in order; returns (tx/s, median, p99).
async fn drive(url: &str, txs: Vec<Vec<Vec<u8>>>) -> (f64, Duration, Duration) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(SENDERS)
        .build()
        .expect("http client");
    let url = Arc::new(url.to_owned());
    let total: usize = txs.iter().map(Vec::len).sum();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for sender_txs in txs {
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(sender_txs.len());
            for bytes in sender_txs {
                let sent = Instant::now();
                commit(&client, &url, bytes).await;
                latencies.push(sent.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    for task in tasks {
        latencies.extend(task.await.expect("sender task"));
    }
    let elapsed = start.elapsed();
    latencies.sort();
    let p = |q: usize| latencies[(latencies.len() * q / 100).min(latencies.len() - 1)];
    (total as f64 / elapsed.as_secs_f64(), p(50), p(99))
}

fn report(name: &str, (tps, median, p99): (f64, Duration, Duration)) {
    println!(
        "{name:<34}{tps:>8.0} committed tx/s   commit latency median {:>7.1} ms  p99 {:>7.1} ms   ({} tx)",
        median.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        SENDERS * PER_SENDER
    );
}

#[tokio::main]
async fn main() {
    let home = tempfile::tempdir().expect("temp home");
    let node = start(home.path());
    let status: serde_json::Value = reqwest::get(format!("{}/status", node.url))
        .await
        .expect("status")
        .json()
        .await
        .expect("status JSON");
    let chain_id = status["chain_id"].as_str().expect("chain id").to_owned();
    let keys: Vec<SecretKey> = names().iter().map(|n| SecretKey::from_seed(n)).collect();
    let addresses: Vec<String> = keys.iter().map(SecretKey::address).collect();
    println!("consign dev over HTTP: {SENDERS} senders × {PER_SENDER} transactions each");

    let bank: Vec<Vec<Vec<u8>>> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            (0..PER_SENDER as u64)
                .map(|seq| {
                    let to = addresses[(i + 1) % addresses.len()].clone();
                    sign(
                        k,
                        &chain_id,
                        seq,
                        Msg::BankSend {
                            to,
                            amount: coins(1, "ucsn"),
                        },
                        200_000,
                    )
                })
                .collect()
        })
        .collect();
    report("bank send", drive(&node.url, bank).await);

    // cw20: alice stores and instantiates a token with a balance for every sender.
    let client = reqwest::Client::new();
    let wasm = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/contracts/cw20_base.wasm"
    ))
    .expect("run scripts/build-contracts.sh first");
    let mut alice_seq = PER_SENDER as u64;
    let stored = commit(
        &client,
        &node.url,
        sign(
            &keys[0],
            &chain_id,
            alice_seq,
            Msg::StoreCode {
                wasm: Binary::new(wasm),
            },
            100_000_000,
        ),
    )
    .await;
    alice_seq += 1;
    let balances: Vec<_> = addresses
        .iter()
        .map(|a| serde_json::json!({"address": a, "amount": "1000000"}))
        .collect();
    let init = serde_json::json!({"name": "Bench", "symbol": "BNCH", "decimals": 6, "initial_balances": balances});
    let made = commit(
        &client,
        &node.url,
        sign(
            &keys[0],
            &chain_id,
            alice_seq,
            Msg::Instantiate {
                code_id: stored.code_id.expect("code id"),
                msg: Binary::new(serde_json::to_vec(&init).expect("json")),
                funds: vec![],
                label: "bench".into(),
                admin: None,
            },
            100_000_000,
        ),
    )
    .await;
    alice_seq += 1;
    let token = made.outcome.contract_address.expect("contract address");
    let cw20: Vec<Vec<Vec<u8>>> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let first = if i == 0 { alice_seq } else { PER_SENDER as u64 };
            (0..PER_SENDER as u64)
                .map(|n| {
                    let to = &addresses[(i + 1) % addresses.len()];
                    let msg = Binary::new(
                        format!(r#"{{"transfer":{{"recipient":"{to}","amount":"1"}}}}"#)
                            .into_bytes(),
                    );
                    sign(
                        k,
                        &chain_id,
                        first + n,
                        Msg::Execute {
                            contract: token.clone(),
                            msg,
                            funds: vec![],
                        },
                        2_000_000,
                    )
                })
                .collect()
        })
        .collect();
    report("cw20 transfer", drive(&node.url, cw20).await);
}

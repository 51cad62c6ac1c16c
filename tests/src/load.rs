//! The benchmarks' load generator: many dev accounts, each sending pre-signed transactions one
//! after another with `POST /txs?mode=commit`, so as many are in flight as there are senders and
//! the chain batches them into blocks. Senders are spread over one or several node APIs (a
//! network's nodes share the work of checking signatures), and the figures are committed
//! transactions per second, commit latency and how many blocks carried them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use consign_client::{coins, Binary, Msg, SecretKey, Tx, TxBody, TxResult};

/// Gas limit of a bank send.
const BANK_GAS: u64 = 200_000;
/// Gas limit of a cw20 transfer.
const CW20_GAS: u64 = 2_000_000;
/// Gas limit of storing and instantiating cw20-base.
const DEPLOY_GAS: u64 = 100_000_000;

/// What one workload measured.
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    /// Transactions sent (all committed with code 0).
    pub count: usize,
    /// Committed transactions per second, from the first send to the last commit.
    pub per_second: f64,
    /// Median time from sending a transaction to its commit.
    pub median: Duration,
    /// 99th percentile of the same.
    pub p99: Duration,
    /// Blocks committed meanwhile.
    pub blocks: u64,
    /// The whole run.
    pub elapsed: Duration,
}

impl Figures {
    /// One line: tx/s, latency, and blocks (their rate and mean size say where the time went).
    pub fn line(&self, name: &str) -> String {
        let blocks = self.blocks.max(1);
        format!(
            "{name:<30}{:>7.0} tx/s  latency median {:>6.1} ms  p99 {:>6.1} ms  {:>4} blocks ({:.1}/s, {:.0} tx/block)  {} tx",
            self.per_second,
            self.median.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3,
            self.blocks,
            blocks as f64 / self.elapsed.as_secs_f64(),
            self.count as f64 / blocks as f64,
            self.count,
        )
    }
}

/// The dev accounts `consign dev --accounts N` and `consign testnet --accounts N` fund, with
/// their keys (derived from the names) and where each sender is in its sequence.
pub struct Load {
    chain_id: String,
    keys: Vec<SecretKey>,
    addresses: Vec<String>,
    sequences: Vec<u64>,
    client: reqwest::Client,
}

impl Load {
    /// The first `senders` dev accounts of chain `chain_id`, none of which has sent anything.
    pub fn new(chain_id: &str, senders: usize) -> Self {
        let first = ["alice", "bob", "carol", "dave"];
        let keys: Vec<SecretKey> = (0..senders)
            .map(|i| match first.get(i) {
                Some(name) => SecretKey::from_seed(name),
                None => SecretKey::from_seed(&format!("dev{}", i + 1)),
            })
            .collect();
        let addresses = keys.iter().map(SecretKey::address).collect();
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(senders)
            .build()
            .expect("an HTTP client");
        Self {
            chain_id: chain_id.to_owned(),
            keys,
            addresses,
            sequences: vec![0; senders],
            client,
        }
    }

    fn sign(&mut self, sender: usize, msg: Msg, gas_limit: u64) -> Vec<u8> {
        let body = TxBody {
            chain_id: self.chain_id.clone(),
            sender: self.addresses[sender].clone(),
            sequence: self.sequences[sender],
            gas_limit,
            fee: vec![],
            memo: String::new(),
            messages: vec![msg],
        };
        self.sequences[sender] += 1;
        Tx::sign(body, &self.keys[sender]).to_bytes()
    }

    /// `per_sender` bank sends of 1 ucsn from every sender to the next.
    pub fn bank_sends(&mut self, per_sender: usize) -> Vec<Vec<Vec<u8>>> {
        let senders = self.keys.len();
        (0..senders)
            .map(|i| {
                (0..per_sender)
                    .map(|_| {
                        let to = self.addresses[(i + 1) % senders].clone();
                        let msg = Msg::BankSend {
                            to,
                            amount: coins(1, "ucsn"),
                        };
                        self.sign(i, msg, BANK_GAS)
                    })
                    .collect()
            })
            .collect()
    }

    /// Stores and instantiates cw20-base (`wasm`) through `url`, with a balance for every
    /// sender; returns the token's address.
    pub async fn deploy_cw20(&mut self, url: &str, wasm: Vec<u8>) -> String {
        let store = self.sign(
            0,
            Msg::StoreCode {
                wasm: Binary::new(wasm),
            },
            DEPLOY_GAS,
        );
        let stored = commit(&self.client, url, store).await;
        let balances: Vec<_> = self
            .addresses
            .iter()
            .map(|a| serde_json::json!({"address": a, "amount": "1000000"}))
            .collect();
        let init = serde_json::json!({
            "name": "Bench", "symbol": "BNCH", "decimals": 6, "initial_balances": balances
        });
        let instantiate = self.sign(
            0,
            Msg::Instantiate {
                code_id: stored.code_id.expect("a code id"),
                msg: Binary::new(serde_json::to_vec(&init).expect("JSON")),
                funds: vec![],
                label: "bench".into(),
                admin: None,
            },
            DEPLOY_GAS,
        );
        let made = commit(&self.client, url, instantiate).await;
        made.outcome.contract_address.expect("a contract address")
    }

    /// `per_sender` transfers of 1 token of `token` from every sender to the next.
    pub fn cw20_transfers(&mut self, token: &str, per_sender: usize) -> Vec<Vec<Vec<u8>>> {
        let senders = self.keys.len();
        (0..senders)
            .map(|i| {
                (0..per_sender)
                    .map(|_| {
                        let to = &self.addresses[(i + 1) % senders];
                        let msg = Binary::new(
                            format!(r#"{{"transfer":{{"recipient":"{to}","amount":"1"}}}}"#)
                                .into_bytes(),
                        );
                        let msg = Msg::Execute {
                            contract: token.to_owned(),
                            msg,
                            funds: vec![],
                        };
                        self.sign(i, msg, CW20_GAS)
                    })
                    .collect()
            })
            .collect()
    }

    /// Sends every sender's transactions in order, sender `i` through `urls[i % urls.len()]`,
    /// each waiting for its commit.
    ///
    /// # Panics
    /// When a transaction is refused or fails: a benchmark of failures measures nothing.
    pub async fn drive(&self, urls: &[String], txs: Vec<Vec<Vec<u8>>>) -> Figures {
        let height_before = height(&self.client, &urls[0]).await;
        let count: usize = txs.iter().map(Vec::len).sum();
        let start = Instant::now();
        let mut tasks = Vec::new();
        for (i, sender_txs) in txs.into_iter().enumerate() {
            let client = self.client.clone();
            let url = Arc::new(urls[i % urls.len()].clone());
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
        let mut latencies = Vec::with_capacity(count);
        for task in tasks {
            latencies.extend(task.await.expect("a sender's task"));
        }
        let elapsed = start.elapsed();
        let blocks = height(&self.client, &urls[0])
            .await
            .saturating_sub(height_before);
        latencies.sort();
        let at = |q: usize| latencies[(latencies.len() * q / 100).min(latencies.len() - 1)];
        Figures {
            count,
            per_second: count as f64 / elapsed.as_secs_f64(),
            median: at(50),
            p99: at(99),
            blocks,
            elapsed,
        }
    }
}

/// The chain id a node API reports.
///
/// # Panics
/// When the node does not answer.
pub async fn chain_id(url: &str) -> String {
    status(&reqwest::Client::new(), url).await["chain_id"]
        .as_str()
        .expect("a chain id")
        .to_owned()
}

async fn status(client: &reqwest::Client, url: &str) -> serde_json::Value {
    client
        .get(format!("{url}/status"))
        .send()
        .await
        .expect("the node's status")
        .json()
        .await
        .expect("status JSON")
}

async fn height(client: &reqwest::Client, url: &str) -> u64 {
    status(client, url).await["height"]
        .as_u64()
        .expect("a height")
}

async fn commit(client: &reqwest::Client, url: &str, bytes: Vec<u8>) -> TxResult {
    let response = client
        .post(format!("{url}/txs?mode=commit&timeout_ms=60000"))
        .body(bytes)
        .send()
        .await
        .expect("a broadcast");
    let status = response.status();
    let text = response.text().await.expect("a response body");
    assert!(status.is_success(), "{status}: {text}");
    let result: TxResult = serde_json::from_str(&text).expect("a TxResult");
    assert_eq!(result.code, 0, "{}", result.log);
    result
}

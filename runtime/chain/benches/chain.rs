//! `cargo bench -p consign-chain`: the state machine alone, without HTTP — how many signed
//! transactions a second it checks, executes and commits durably, in blocks of 1,000.
//!
//! Figures: signature verification (`CheckedTx::decode`) per transaction, and committed
//! transactions per second for bank sends and for cw20 transfers, with the block commit time.

use std::time::{Duration, Instant};

use consign_chain::{App, AppConfig, CheckedTx, Genesis, GenesisAccount};
use consign_types::{coins, Binary, Msg, SecretKey, Timestamp, Tx, TxBody};

const CHAIN_ID: &str = "consign-bench";
const BLOCK: usize = 1_000;
const BLOCKS: usize = 5;

fn senders(n: usize) -> Vec<SecretKey> {
    (0..n)
        .map(|i| SecretKey::from_seed(&format!("bench-{i}")))
        .collect()
}

fn sign(key: &SecretKey, sequence: u64, msg: Msg) -> Vec<u8> {
    sign_with_gas(key, sequence, msg, 5_000_000)
}

fn sign_with_gas(key: &SecretKey, sequence: u64, msg: Msg, gas_limit: u64) -> Vec<u8> {
    let body = TxBody {
        chain_id: CHAIN_ID.into(),
        sender: key.address(),
        sequence,
        gas_limit,
        fee: vec![],
        memo: String::new(),
        messages: vec![msg],
    };
    Tx::sign(body, key).to_bytes()
}

struct Bench {
    app: App,
    keys: Vec<SecretKey>,
    sequences: Vec<u64>,
    clock: u64,
}

impl Bench {
    fn block(&mut self, txs: Vec<CheckedTx>) -> consign_chain::BlockOutcome {
        self.clock += 1;
        self.app
            .execute_block(txs, Timestamp::from_seconds(self.clock))
            .unwrap()
    }

    /// One transaction from the first key, expected to succeed.
    fn setup(&mut self, msg: Msg) -> consign_types::TxResult {
        let bytes = sign_with_gas(&self.keys[0], self.sequences[0], msg, 100_000_000);
        self.sequences[0] += 1;
        let mut outcome = self.block(vec![CheckedTx::decode(&bytes).unwrap()]);
        if let Some((_, reason)) = outcome.dropped.first() {
            panic!("set-up transaction refused: {reason}");
        }
        let result = outcome.results.remove(0);
        assert_eq!(result.code, 0, "{}", result.log);
        result
    }

    /// Blocks where every key sends one transaction.
    fn run(&mut self, name: &str, make: impl Fn(usize) -> Msg) {
        let mut total = Duration::ZERO;
        let mut commits = Vec::new();
        for _ in 0..BLOCKS {
            let txs: Vec<CheckedTx> = (0..self.keys.len())
                .map(|i| {
                    let bytes = sign(&self.keys[i], self.sequences[i], make(i));
                    self.sequences[i] += 1;
                    CheckedTx::decode(&bytes).unwrap()
                })
                .collect();
            let start = Instant::now();
            let outcome = self.block(txs);
            let took = start.elapsed();
            if let Some(bad) = outcome.results.iter().find(|r| r.code != 0) {
                panic!("{name}: a transaction failed: {}", bad.log);
            }
            total += took;
            commits.push(took);
        }
        commits.sort();
        let tps = (BLOCK * BLOCKS) as f64 / total.as_secs_f64();
        println!(
            "{name:<42}{tps:>8.0} tx/s executed and committed (block of {BLOCK}: median {:.1} ms)",
            commits[commits.len() / 2].as_secs_f64() * 1e3
        );
    }
}

fn main() {
    let keys = senders(BLOCK);
    let dir = tempfile::tempdir().unwrap();
    let genesis = Genesis {
        chain_id: CHAIN_ID.into(),
        genesis_time: Timestamp::from_seconds(1_700_000_000),
        accounts: keys
            .iter()
            .map(|k| GenesisAccount {
                address: k.address(),
                coins: coins(1_000_000_000, "ucsn"),
            })
            .collect(),
        max_block_gas: None,
        staking: Default::default(),
    };
    let app = App::open(AppConfig::new(dir.path()), Some(&genesis)).unwrap();
    let targets: Vec<String> = keys.iter().map(SecretKey::address).collect();

    let sample: Vec<Vec<u8>> = keys
        .iter()
        .take(200)
        .map(|k| {
            sign(
                k,
                0,
                Msg::BankSend {
                    to: targets[0].clone(),
                    amount: coins(1, "ucsn"),
                },
            )
        })
        .collect();
    let start = Instant::now();
    for bytes in &sample {
        CheckedTx::decode(bytes).unwrap();
    }
    println!(
        "decode + verify signature                 {:>8.1} µs per transaction",
        start.elapsed().as_secs_f64() * 1e6 / sample.len() as f64
    );

    let mut bench = Bench {
        app,
        sequences: vec![0; keys.len()],
        keys,
        clock: 1_700_000_000,
    };
    bench.run("bank send", |i| Msg::BankSend {
        to: targets[(i + 1) % targets.len()].clone(),
        amount: coins(1, "ucsn"),
    });

    let wasm = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/contracts/cw20_base.wasm"
    ))
    .expect("run scripts/build-contracts.sh first");
    let code_id = bench
        .setup(Msg::StoreCode {
            wasm: Binary::new(wasm),
        })
        .code_id
        .unwrap();
    let balances: Vec<_> = targets
        .iter()
        .map(|a| serde_json::json!({"address": a, "amount": "1000000000"}))
        .collect();
    let init = serde_json::json!({"name": "Bench", "symbol": "BNCH", "decimals": 6, "initial_balances": balances});
    let token = bench
        .setup(Msg::Instantiate {
            code_id,
            msg: Binary::new(serde_json::to_vec(&init).unwrap()),
            funds: vec![],
            label: "bench".into(),
            admin: None,
        })
        .outcome
        .contract_address
        .unwrap();
    let transfers: Vec<Binary> = targets
        .iter()
        .map(|t| {
            Binary::new(
                format!(r#"{{"transfer":{{"recipient":"{t}","amount":"1"}}}}"#).into_bytes(),
            )
        })
        .collect();
    bench.run("cw20 transfer", |i| Msg::Execute {
        contract: token.clone(),
        msg: transfers[(i + 1) % transfers.len()].clone(),
        funds: vec![],
    });
}

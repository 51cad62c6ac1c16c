//! A chain in a temporary directory, with funded dev accounts, driven block by block.

use std::path::PathBuf;

use consign_chain::{App, AppConfig, BlockOutcome, Genesis, GenesisAccount};
use consign_types::{coins, Binary, Msg, SecretKey, Timestamp, Tx, TxBody, TxResult};
use serde_json::Value;

pub(crate) const CHAIN_ID: &str = "consign-test";
pub(crate) const GAS: u64 = 50_000_000;

pub(crate) fn wasm(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("CONSIGN_CONTRACTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/contracts")
        });
    let path = dir.join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; run scripts/build-contracts.sh",
            path.display()
        )
    })
}

pub(crate) fn key(name: &str) -> SecretKey {
    SecretKey::from_seed(name)
}

pub(crate) fn addr(name: &str) -> String {
    key(name).address()
}

pub(crate) fn genesis() -> Genesis {
    Genesis {
        chain_id: CHAIN_ID.into(),
        genesis_time: Timestamp::from_seconds(1_700_000_000),
        accounts: ["alice", "bob", "carol"]
            .into_iter()
            .map(|n| GenesisAccount {
                address: addr(n),
                coins: coins(1_000_000, "ucsn"),
            })
            .collect(),
        max_block_gas: None,
        staking: Default::default(),
    }
}

pub(crate) struct TestChain {
    pub(crate) app: App,
    pub(crate) dir: tempfile::TempDir,
    /// Block times advance one second a block, so runs are reproducible.
    pub(crate) clock: u64,
}

impl TestChain {
    pub(crate) fn new() -> Self {
        Self::with_genesis(&genesis())
    }

    pub(crate) fn with_genesis(genesis: &Genesis) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let app = App::open(AppConfig::new(dir.path()), Some(genesis)).unwrap();
        Self {
            app,
            dir,
            clock: 1_700_000_000,
        }
    }

    /// Closes and reopens the chain from its directory.
    pub(crate) fn reopen(self) -> Self {
        let Self { app, dir, clock } = self;
        drop(app);
        let app = App::open(AppConfig::new(dir.path()), None).unwrap();
        Self { app, dir, clock }
    }

    pub(crate) fn sign(
        &self,
        from: &str,
        messages: Vec<Msg>,
        gas_limit: u64,
        sequence: u64,
    ) -> Vec<u8> {
        let body = TxBody {
            chain_id: CHAIN_ID.into(),
            sender: addr(from),
            sequence,
            gas_limit,
            fee: vec![],
            memo: String::new(),
            messages,
        };
        Tx::sign(body, &key(from)).to_bytes()
    }

    /// Signs with the account's next sequence.
    pub(crate) fn signed(&self, from: &str, messages: Vec<Msg>) -> Vec<u8> {
        let sequence = self.app.sequence(&addr(from));
        self.sign(from, messages, GAS, sequence)
    }

    pub(crate) fn block(&mut self, txs: Vec<Vec<u8>>) -> BlockOutcome {
        let checked = txs
            .iter()
            .map(|bytes| {
                self.app
                    .check_tx(bytes, |_| 0)
                    .expect("tx passes the checks")
            })
            .collect();
        self.clock += 1;
        self.app
            .execute_block(checked, Timestamp::from_seconds(self.clock))
            .unwrap()
    }

    /// One transaction in its own block.
    pub(crate) fn run(&mut self, from: &str, messages: Vec<Msg>) -> TxResult {
        let bytes = self.signed(from, messages);
        let mut outcome = self.block(vec![bytes]);
        outcome.results.remove(0)
    }

    pub(crate) fn run_ok(&mut self, from: &str, messages: Vec<Msg>) -> TxResult {
        let result = self.run(from, messages);
        assert_eq!(result.code, 0, "transaction failed: {}", result.log);
        result
    }

    pub(crate) fn balance(&self, address: &str) -> u128 {
        let balances = self.app.balances(address).unwrap();
        consign_types::amount_of(&balances, "ucsn")
    }

    pub(crate) fn store(&mut self, name: &str) -> u64 {
        let result = self.run_ok(
            "alice",
            vec![Msg::StoreCode {
                wasm: Binary::new(wasm(name)),
            }],
        );
        result.code_id.expect("a code id")
    }

    pub(crate) fn instantiate(&mut self, code_id: u64, msg: Value, label: &str) -> String {
        let result = self.run_ok(
            "alice",
            vec![Msg::Instantiate {
                code_id,
                msg: Binary::new(serde_json::to_vec(&msg).unwrap()),
                funds: vec![],
                label: label.into(),
                admin: Some(addr("alice")),
            }],
        );
        result.outcome.contract_address.expect("a contract address")
    }

    pub(crate) fn execute(
        &mut self,
        from: &str,
        contract: &str,
        msg: Value,
        funds: Vec<cosmwasm_std::Coin>,
    ) -> TxResult {
        self.run(
            from,
            vec![Msg::Execute {
                contract: contract.into(),
                msg: Binary::new(serde_json::to_vec(&msg).unwrap()),
                funds,
            }],
        )
    }

    pub(crate) fn query(&self, contract: &str, msg: Value) -> Value {
        let bin = self
            .app
            .smart_query(contract, &serde_json::to_vec(&msg).unwrap(), 100_000_000)
            .unwrap();
        serde_json::from_slice(&bin).unwrap()
    }
}

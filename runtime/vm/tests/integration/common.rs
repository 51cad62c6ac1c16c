//! Shared set-up: the contracts built by `scripts/build-contracts.sh`, a VM over real
//! in-memory storage and the bech32 address API, and a harness that runs each call on a fresh
//! instance, as a chain does.

use std::collections::BTreeMap;
use std::path::PathBuf;

use consign_vm::{
    Backend, BackendApi, Bech32Api, Finished, GasInfo, InstanceOptions, MemoryStorage, Querier,
    QuerierResult, Storage, Vm, VmConfig, VmResult,
};
use cosmwasm_std::{
    to_json_binary, Addr, BankQuery, BlockInfo, Checksum, Coin, ContractInfo, ContractResult,
    Empty, Env, MessageInfo, QueryRequest, Response, SystemError, SystemResult, Timestamp,
    TransactionInfo,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Where the built contracts are.
pub(crate) fn contracts_dir() -> PathBuf {
    match std::env::var_os("CONSIGN_CONTRACTS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/contracts"),
    }
}

/// The wasm of a contract built by `scripts/build-contracts.sh`.
pub(crate) fn wasm(name: &str) -> Vec<u8> {
    let path = contracts_dir().join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}\nbuild the contracts first: bash scripts/build-contracts.sh",
            path.display()
        )
    })
}

/// A bank querier answering balance queries from a fixed table: the VM's tests need a chain
/// to ask, and the chain itself is tested in its own crate.
#[derive(Debug, Clone, Default)]
pub(crate) struct BankQuerier {
    pub(crate) balances: BTreeMap<(String, String), u128>,
}

impl Querier for BankQuerier {
    fn query_raw(&self, request: &[u8], _gas_limit: u64) -> QuerierResult {
        let gas = GasInfo {
            cost: 100,
            externally_used: 0,
        };
        let request: QueryRequest<Empty> = match serde_json::from_slice(request) {
            Ok(r) => r,
            Err(e) => {
                return (
                    Ok(SystemResult::Err(SystemError::InvalidRequest {
                        error: e.to_string(),
                        request: request.to_vec().into(),
                    })),
                    gas,
                )
            }
        };
        match request {
            QueryRequest::Bank(BankQuery::Balance { address, denom }) => {
                let amount = self
                    .balances
                    .get(&(address, denom.clone()))
                    .copied()
                    .unwrap_or(0);
                let response = cosmwasm_std::BalanceResponse::new(Coin::new(amount, denom));
                (
                    Ok(SystemResult::Ok(ContractResult::Ok(
                        to_json_binary(&response).unwrap(),
                    ))),
                    gas,
                )
            }
            _ => (
                Ok(SystemResult::Err(SystemError::UnsupportedRequest {
                    kind: "not bank balance".into(),
                })),
                gas,
            ),
        }
    }
}

pub(crate) type TestVm = Vm<Bech32Api, MemoryStorage, BankQuerier>;

pub(crate) fn api() -> Bech32Api {
    Bech32Api::new("consign").unwrap()
}

/// A valid `consign1…` address made of `n`.
pub(crate) fn addr(n: u8) -> Addr {
    Addr::unchecked(api().addr_humanize(&[n; 20]).unwrap())
}

pub(crate) fn new_vm() -> TestVm {
    Vm::new(VmConfig::default()).expect("vm starts")
}

/// One VM for the whole test binary, as a node has: each contract compiles once.
pub(crate) fn shared_vm() -> &'static TestVm {
    static VM: std::sync::OnceLock<TestVm> = std::sync::OnceLock::new();
    VM.get_or_init(new_vm)
}

pub(crate) fn env() -> Env {
    Env {
        block: BlockInfo {
            height: 12_345,
            time: Timestamp::from_seconds(1_700_000_000),
            chain_id: "consign-test".into(),
        },
        transaction: Some(TransactionInfo::new(3, vec![7u8; 32].into())),
        contract: ContractInfo { address: addr(200) },
    }
}

pub(crate) fn info(sender: &Addr, funds: &[Coin]) -> MessageInfo {
    MessageInfo {
        sender: sender.clone(),
        funds: funds.to_vec(),
    }
}

/// One contract with its storage, called on a fresh instance each time.
pub(crate) struct Harness {
    pub(crate) vm: &'static TestVm,
    pub(crate) checksum: Checksum,
    pub(crate) storage: MemoryStorage,
    pub(crate) querier: BankQuerier,
    pub(crate) gas_limit: u64,
    /// What the last call left behind.
    pub(crate) last: Option<Finished<Bech32Api, MemoryStorage, BankQuerier>>,
}

impl Harness {
    pub(crate) fn new(name: &str) -> Self {
        let vm = shared_vm();
        let checksum = vm.save_wasm(&wasm(name)).expect("contract accepted");
        Self {
            vm,
            checksum,
            storage: MemoryStorage::new(),
            querier: BankQuerier::default(),
            gas_limit: 500_000_000,
            last: None,
        }
    }

    fn run<T>(
        &mut self,
        call: impl FnOnce(
            &mut consign_vm::Instance<Bech32Api, MemoryStorage, BankQuerier>,
        ) -> VmResult<T>,
    ) -> VmResult<T> {
        let backend = Backend {
            api: api(),
            storage: std::mem::take(&mut self.storage),
            querier: self.querier.clone(),
        };
        let options = InstanceOptions {
            gas_limit: self.gas_limit,
            collect_debug: true,
            label: "test".into(),
        };
        let mut instance = self.vm.instance(&self.checksum, backend, &options)?;
        let result = call(&mut instance);
        let finished = instance.finish();
        self.storage = finished.backend.storage.clone();
        self.last = Some(finished);
        result
    }

    pub(crate) fn instantiate(
        &mut self,
        sender: &Addr,
        msg: Value,
    ) -> VmResult<ContractResult<Response>> {
        let msg = serde_json::to_vec(&msg).unwrap();
        self.run(|i| i.call_instantiate::<Empty>(&env(), &info(sender, &[]), &msg))
    }

    pub(crate) fn execute(
        &mut self,
        sender: &Addr,
        msg: Value,
    ) -> VmResult<ContractResult<Response>> {
        let msg = serde_json::to_vec(&msg).unwrap();
        self.run(|i| i.call_execute::<Empty>(&env(), &info(sender, &[]), &msg))
    }

    /// Executes and expects success.
    pub(crate) fn execute_ok(&mut self, sender: &Addr, msg: Value) -> Response {
        match self.execute(sender, msg.clone()) {
            Ok(ContractResult::Ok(r)) => r,
            other => panic!("{msg} failed: {other:?}"),
        }
    }

    pub(crate) fn query_raw(
        &mut self,
        msg: Value,
    ) -> VmResult<ContractResult<cosmwasm_std::Binary>> {
        let msg = serde_json::to_vec(&msg).unwrap();
        self.run(|i| i.call_query(&env(), &msg))
    }

    pub(crate) fn query<T: DeserializeOwned>(&mut self, msg: Value) -> T {
        match self.query_raw(msg.clone()) {
            Ok(ContractResult::Ok(bin)) => serde_json::from_slice(&bin).unwrap(),
            other => panic!("query {msg} failed: {other:?}"),
        }
    }

    /// A snapshot of every storage record.
    pub(crate) fn snapshot(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.storage
            .records()
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect()
    }

    pub(crate) fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.storage.get(key).unwrap()
    }

    pub(crate) fn gas_used(&self) -> u64 {
        self.last.as_ref().map_or(0, |f| f.gas_used)
    }
}

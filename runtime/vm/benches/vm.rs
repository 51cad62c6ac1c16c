//! `cargo bench -p consign-vm`: the VM's figures for cw20-base, the reference workload.
//!
//! Prints, for `target/contracts/cw20_base.wasm` (built by `scripts/build-contracts.sh`):
//! first compile (checks + compile + write to the disk cache), load from the disk cache,
//! a fresh instance from the memory cache, a `transfer` on a fresh instance and a `balance`
//! query on a fresh instance. Each figure is the median of many runs, with p99 and mean.
//! Set `CONSIGN_BENCH_JSON=1` to print one JSON object per figure as well,
//! `CONSIGN_BENCH_FILTER=transfer` to measure only the figures whose name contains it, and
//! `CONSIGN_BENCH_SCALE=10` to run every figure ten times as often (for profiling).

use std::path::PathBuf;
use std::time::Instant;

use consign_vm::{
    Backend, BackendApi, Bech32Api, InstanceOptions, MemoryStorage, ModuleSource, NoChainQuerier,
    Vm, VmConfig,
};
use cosmwasm_std::{
    Addr, BlockInfo, ContractInfo, ContractResult, Empty, Env, MessageInfo, Timestamp,
};

type BenchVm = Vm<Bech32Api, MemoryStorage, NoChainQuerier>;

// Shared with the reference VM's bench (`bench/reference`), so both print the same lines.
#[path = "support/figure.rs"]
mod figure;
use figure::{measure, timed};

fn env() -> Env {
    Env {
        block: BlockInfo {
            height: 1,
            time: Timestamp::from_seconds(1_700_000_000),
            chain_id: "consign-bench".into(),
        },
        transaction: None,
        contract: ContractInfo {
            address: Addr::unchecked(addr(200)),
        },
    }
}

fn addr(n: u8) -> String {
    Bech32Api::new("consign")
        .unwrap()
        .addr_humanize(&[n; 20])
        .unwrap()
}

fn backend(storage: MemoryStorage) -> Backend<Bech32Api, MemoryStorage, NoChainQuerier> {
    Backend {
        api: Bech32Api::new("consign").unwrap(),
        storage,
        querier: NoChainQuerier,
    }
}

fn main() {
    let dir = std::env::var_os("CONSIGN_CONTRACTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/contracts")
        });
    let path = dir.join("cw20_base.wasm");
    let wasm = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; run scripts/build-contracts.sh first",
            path.display()
        )
    });
    println!(
        "consign-vm on wasmtime {} — cw20-base ({} KiB)",
        consign_vm::WASMTIME_VERSION,
        wasm.len() / 1024
    );

    // First compile: a new cache directory each time, so nothing is cached.
    measure("first compile (check + compile + persist)", 1, 10, || {
        let cache = tempfile::tempdir().unwrap();
        let vm: BenchVm = Vm::new(VmConfig {
            cache_dir: Some(cache.path().to_path_buf()),
            ..VmConfig::default()
        })
        .unwrap();
        timed(|| vm.save_wasm(&wasm).unwrap()).1
    });

    let cache = tempfile::tempdir().unwrap();
    let vm: BenchVm = Vm::new(VmConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        ..VmConfig::default()
    })
    .unwrap();
    let checksum = vm.save_wasm(&wasm).unwrap();

    measure("load from the disk cache", 3, 50, || {
        vm.clear_memory_cache();
        let (source, took) = timed(|| vm.prepare(&checksum).unwrap());
        assert_eq!(source, ModuleSource::Disk);
        took
    });

    // A token with two holders.
    let info = MessageInfo {
        sender: Addr::unchecked(addr(1)),
        funds: vec![],
    };
    let init = format!(
        r#"{{"name":"Bench","symbol":"BNCH","decimals":6,"initial_balances":[{{"address":"{}","amount":"1000000000000"}}],"mint":null}}"#,
        addr(1)
    );
    let options = InstanceOptions::default();
    let mut instance = vm
        .instance(&checksum, backend(MemoryStorage::new()), &options)
        .unwrap();
    let res = instance
        .call_instantiate::<Empty>(&env(), &info, init.as_bytes())
        .unwrap();
    assert!(matches!(res, ContractResult::Ok(_)), "{res:?}");
    let mut storage = Some(instance.finish().backend.storage);

    measure("fresh instance from the memory cache", 100, 5_000, || {
        let s = storage.take().unwrap();
        let (instance, took) = timed(|| vm.instance(&checksum, backend(s), &options).unwrap());
        storage = Some(instance.finish().backend.storage);
        took
    });

    let transfer = format!(
        r#"{{"transfer":{{"recipient":"{}","amount":"1"}}}}"#,
        addr(2)
    );
    let mut gas = 0;
    measure("fresh instance + transfer + finish", 100, 5_000, || {
        let s = storage.take().unwrap();
        let start = Instant::now();
        let mut instance = vm.instance(&checksum, backend(s), &options).unwrap();
        let res = instance
            .call_execute::<Empty>(&env(), &info, transfer.as_bytes())
            .unwrap();
        let finished = instance.finish();
        let took = start.elapsed();
        assert!(matches!(res, ContractResult::Ok(_)), "{res:?}");
        gas = finished.gas_used;
        storage = Some(finished.backend.storage);
        took
    });
    if gas > 0 {
        println!("  (a transfer uses {gas} gas)");
    }

    let balance = format!(r#"{{"balance":{{"address":"{}"}}}}"#, addr(2));
    measure(
        "fresh instance + balance query + finish",
        100,
        5_000,
        || {
            let s = storage.take().unwrap();
            let start = Instant::now();
            let mut instance = vm.instance(&checksum, backend(s), &options).unwrap();
            let res = instance.call_query(&env(), balance.as_bytes()).unwrap();
            let finished = instance.finish();
            let took = start.elapsed();
            assert!(matches!(res, ContractResult::Ok(_)), "{res:?}");
            storage = Some(finished.backend.storage);
            took
        },
    );
}

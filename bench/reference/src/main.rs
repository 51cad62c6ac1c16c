//! The CosmWasm reference VM (cosmwasm-vm 3.0.10, wasmer singlepass) on the workload of
//! `cargo bench -p consign-vm --bench vm`, for a side-by-side comparison.
//!
//! Usage: `consign-bench-reference [WASM]` (normally run by `scripts/bench-reference.sh`). WASM
//! defaults to `target/contracts-lowered/cw20_base.wasm`: cw20-base with `memory.copy` and
//! `memory.fill` lowered to MVP loops, because cosmwasm-vm 3.0 rejects bulk-memory instructions
//! (see this package's README).
//!
//! Prints the same figures, under the same names and in the same format, as our bench:
//! first compile (checks + compile + write to the file-system cache), load from the file-system
//! cache, a fresh instance from the memory cache, a `transfer` on a fresh instance and a
//! `balance` query on a fresh instance; plus a fresh instance from the pinned memory cache.
//! The cache is used the way wasmd uses it and the way cosmwasm's own benches
//! (`packages/vm/benches/main.rs`) do: `store_code` (= the deprecated `save_wasm`),
//! `get_instance`, `call_*`, `recycle` to take the storage back.
//! Set `CONSIGN_BENCH_JSON=1` to print one JSON object per figure as well.

use std::path::{Path, PathBuf};
use std::time::Instant;

use cosmwasm_std::{
    Addr, BlockInfo, Checksum, ContractInfo, ContractResult, Empty, Env, MessageInfo, Timestamp,
};
use cosmwasm_vm::testing::{MockApi, MockQuerier, MockStorage};
use cosmwasm_vm::{
    call_execute, call_instantiate, call_query, capabilities_from_csv, Backend, BackendApi, Cache,
    CacheOptions, InstanceOptions, Size,
};

type BenchCache = Cache<MockApi, MockStorage, MockQuerier>;
type BenchBackend = Backend<MockApi, MockStorage, MockQuerier>;

/// What wasmd v0.55+ offers by default (wasmd's `AcceptedCapabilities`); cw20-base needs only
/// `iterator`.
const CAPABILITIES: &str = "iterator,staking,stargate,cosmwasm_1_1,cosmwasm_1_2,cosmwasm_1_3,\
                            cosmwasm_1_4,cosmwasm_2_0,cosmwasm_2_1,cosmwasm_2_2";
/// wasmd's default memory cache size is 100 MiB; cosmwasm's benches use 200 MiB. Either holds
/// cw20-base many times over.
const MEMORY_CACHE_SIZE: Size = Size::mebi(200);
/// wasmd's contract memory limit, and consign-vm's default (`InstanceLimits::memory_bytes`).
const INSTANCE_MEMORY_LIMIT: Size = Size::mebi(32);
/// consign-vm's default `InstanceOptions::gas_limit`, and cosmwasm's benches' default.
const GAS_LIMIT: u64 = 1_000_000_000;
const BECH32_PREFIX: &str = "consign";

// The same figure printing as consign-vm's bench, included by path.
#[path = "../../../runtime/vm/benches/support/figure.rs"]
mod figure;
use figure::{measure, timed};

fn api() -> MockApi {
    MockApi::default().with_prefix(BECH32_PREFIX)
}

/// The same addresses as our bench: bech32 with prefix `consign` of 20 bytes `n`.
fn addr(n: u8) -> String {
    api().addr_humanize(&[n; 20]).0.unwrap()
}

/// The same `Env` as our bench (rather than `mock_env()`, whose chain, height and transaction
/// differ), so that both VMs hand the contract the same bytes.
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

fn backend(storage: MockStorage) -> BenchBackend {
    Backend {
        api: api(),
        storage,
        querier: MockQuerier::new(&[]),
    }
}

fn new_cache(dir: &Path, memory_cache: Size) -> BenchCache {
    let options = CacheOptions::new(
        dir,
        capabilities_from_csv(CAPABILITIES),
        memory_cache,
        INSTANCE_MEMORY_LIMIT,
    );
    // SAFETY: the directory is ours, freshly created, and holds only what this cache wrote.
    unsafe { Cache::new(options) }.unwrap()
}

fn options() -> InstanceOptions {
    InstanceOptions {
        gas_limit: GAS_LIMIT,
    }
}

/// Queries `address`'s cw20 balance on a fresh instance.
fn balance_of(
    cache: &BenchCache,
    checksum: &Checksum,
    storage: MockStorage,
    address: &str,
) -> (u128, MockStorage) {
    let mut instance = cache
        .get_instance(checksum, backend(storage), options())
        .unwrap();
    let msg = format!(r#"{{"balance":{{"address":"{address}"}}}}"#);
    let res = call_query(&mut instance, &env(), msg.as_bytes()).unwrap();
    let storage = instance.recycle().unwrap().storage;
    let ContractResult::Ok(data) = res else {
        panic!("balance query failed: {res:?}");
    };
    let json: String = String::from_utf8(data.to_vec()).unwrap();
    let amount = json
        .split("\"balance\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected balance response {json}"));
    (amount, storage)
}

fn main() {
    let path = std::env::args_os().nth(1).map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/contracts-lowered/cw20_base.wasm")
        },
        PathBuf::from,
    );
    let wasm = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; run scripts/bench-reference.sh, which builds and lowers it",
            path.display()
        )
    });
    println!(
        "cosmwasm-vm 3.0.10 on wasmer singlepass — {} ({} KiB)",
        path.display(),
        wasm.len() / 1024
    );

    // Upload-time checks up front, for a clear message (cosmwasm-vm 3.0 rejects bulk memory).
    {
        let cache = tempfile::tempdir().unwrap();
        if let Err(e) = new_cache(cache.path(), Size::new(0)).store_code(&wasm, true, true) {
            eprintln!(
                "cosmwasm-vm rejects {}: {e}\n(contracts built by recent rustc contain bulk-memory \
                 instructions, which cosmwasm-vm 3.0 refuses; scripts/bench-reference.sh lowers \
                 them with `wasm-opt --llvm-memory-copy-fill-lowering`)",
                path.display()
            );
            std::process::exit(1);
        }
    }

    // First compile: a new cache directory each time, so nothing is cached. `store_code(wasm,
    // true, true)` is what the deprecated `save_wasm` does, and what wasmd calls on upload:
    // static checks, compile, write the wasm and the compiled module to disk.
    measure("first compile (check + compile + persist)", 1, 10, || {
        let dir = tempfile::tempdir().unwrap();
        let cache = new_cache(dir.path(), MEMORY_CACHE_SIZE);
        timed(|| cache.store_code(&wasm, true, true).unwrap()).1
    });

    let dir = tempfile::tempdir().unwrap();
    let cache = new_cache(dir.path(), MEMORY_CACHE_SIZE);
    let checksum = cache.store_code(&wasm, true, true).unwrap();

    // Load from the file-system cache: a second cache on the same directory with no memory
    // cache, so every `get_instance` deserialises the module from disk (cosmwasm's own
    // "instantiate from fs" bench). cosmwasm-vm has no public call that loads a module without
    // instantiating it, so this figure includes making an instance, which ours does not.
    {
        let fs_only = new_cache(dir.path(), Size::new(0));
        let mut storage = Some(MockStorage::new());
        measure("load from the disk cache", 3, 50, || {
            let s = storage.take().unwrap();
            let (instance, took) = timed(|| {
                fs_only
                    .get_instance(&checksum, backend(s), options())
                    .unwrap()
            });
            storage = Some(instance.recycle().unwrap().storage);
            took
        });
        let stats = fs_only.stats();
        assert_eq!(stats.hits_fs_cache, 53, "{stats:?}");
        assert_eq!(stats.hits_memory_cache + stats.misses, 0, "{stats:?}");
    }

    // A token with two holders.
    let info = MessageInfo {
        sender: Addr::unchecked(addr(1)),
        funds: vec![],
    };
    let init = format!(
        r#"{{"name":"Bench","symbol":"BNCH","decimals":6,"initial_balances":[{{"address":"{}","amount":"1000000000000"}}],"mint":null}}"#,
        addr(1)
    );
    let mut instance = cache
        .get_instance(&checksum, backend(MockStorage::new()), options())
        .unwrap();
    let res =
        call_instantiate::<_, _, _, Empty>(&mut instance, &env(), &info, init.as_bytes()).unwrap();
    assert!(matches!(res, ContractResult::Ok(_)), "{res:?}");
    let mut storage = Some(instance.recycle().unwrap().storage);

    measure("fresh instance from the memory cache", 100, 5_000, || {
        let s = storage.take().unwrap();
        let (instance, took) = timed(|| {
            cache
                .get_instance(&checksum, backend(s), options())
                .unwrap()
        });
        storage = Some(instance.recycle().unwrap().storage);
        took
    });
    let stats = cache.stats();
    assert_eq!(stats.hits_pinned_memory_cache, 0, "{stats:?}");
    assert!(stats.hits_memory_cache >= 5_100, "{stats:?}");

    // Not in our bench: wasmd pins its hottest contracts. Measured on a cache of its own so that
    // the figures after it still come from the (unpinned) memory cache.
    {
        let pinned = new_cache(dir.path(), MEMORY_CACHE_SIZE);
        pinned.pin(&checksum).unwrap();
        measure(
            "fresh instance from the pinned memory cache",
            100,
            5_000,
            || {
                let s = storage.take().unwrap();
                let (instance, took) = timed(|| {
                    pinned
                        .get_instance(&checksum, backend(s), options())
                        .unwrap()
                });
                storage = Some(instance.recycle().unwrap().storage);
                took
            },
        );
        assert!(pinned.stats().hits_pinned_memory_cache >= 5_100);
    }

    let transfer = format!(
        r#"{{"transfer":{{"recipient":"{}","amount":"1"}}}}"#,
        addr(2)
    );
    let mut gas = 0;
    let mut transfers: u128 = 0;
    measure("fresh instance + transfer + finish", 100, 5_000, || {
        let s = storage.take().unwrap();
        let start = Instant::now();
        let mut instance = cache
            .get_instance(&checksum, backend(s), options())
            .unwrap();
        let res = call_execute::<_, _, _, Empty>(&mut instance, &env(), &info, transfer.as_bytes())
            .unwrap();
        let gas_left = instance.get_gas_left();
        let backend = instance.recycle().unwrap();
        let took = start.elapsed();
        assert!(matches!(res, ContractResult::Ok(_)), "{res:?}");
        gas = GAS_LIMIT - gas_left;
        transfers += 1;
        storage = Some(backend.storage);
        took
    });
    println!("  (a transfer uses {gas} gas)");

    let balance = format!(r#"{{"balance":{{"address":"{}"}}}}"#, addr(2));
    measure(
        "fresh instance + balance query + finish",
        100,
        5_000,
        || {
            let s = storage.take().unwrap();
            let start = Instant::now();
            let mut instance = cache
                .get_instance(&checksum, backend(s), options())
                .unwrap();
            let res = call_query(&mut instance, &env(), balance.as_bytes()).unwrap();
            let backend = instance.recycle().unwrap();
            let took = start.elapsed();
            assert!(matches!(res, ContractResult::Ok(_)), "{res:?}");
            storage = Some(backend.storage);
            took
        },
    );

    // The lowered contract still is cw20-base: every transfer moved exactly one unit.
    let s = storage.take().unwrap();
    let (to, s) = balance_of(&cache, &checksum, s, &addr(2));
    let (from, _) = balance_of(&cache, &checksum, s, &addr(1));
    assert_eq!(to, transfers, "recipient's balance");
    assert_eq!(from, 1_000_000_000_000 - transfers, "sender's balance");
    println!("  (checked: {transfers} transfers of 1 moved {to} units; the balances add up)");
}

//! Runs the hostile test contract's attacks in the Consign VM and shows, for each, the error
//! that ends the call, the gas it used, and that the contract's storage is unchanged.
//!
//! ```text
//! bash scripts/build-contracts.sh
//! cargo run -p consign-vm --example hostile
//! ```

use anyhow::{bail, Context};
use consign_vm::{
    Backend, BackendApi, Bech32Api, InstanceOptions, MemoryStorage, NoChainQuerier, Vm, VmConfig,
};
use cosmwasm_std::{
    Addr, BlockInfo, ContractInfo, ContractResult, Empty, Env, MessageInfo, Timestamp,
};

fn main() -> anyhow::Result<()> {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../target/contracts/hostile.wasm"
        )
        .into()
    });
    let wasm = std::fs::read(&path)
        .with_context(|| format!("reading {path}; build it with scripts/build-contracts.sh"))?;
    let api = Bech32Api::new("consign")?;
    let sender = Addr::unchecked(api.addr_humanize(&[1; 20])?);
    let info = MessageInfo {
        sender,
        funds: vec![],
    };
    let env = Env {
        block: BlockInfo {
            height: 1,
            time: Timestamp::from_seconds(1_700_000_000),
            chain_id: "consign-example".into(),
        },
        transaction: None,
        contract: ContractInfo {
            address: Addr::unchecked(api.addr_humanize(&[9; 32])?),
        },
    };
    let vm: Vm<Bech32Api, MemoryStorage, NoChainQuerier> = Vm::new(VmConfig::default())?;
    let checksum = vm.save_wasm(&wasm)?;
    let options = InstanceOptions {
        gas_limit: 100_000_000,
        ..InstanceOptions::default()
    };
    let fresh = |storage: MemoryStorage| {
        vm.instance(
            &checksum,
            Backend {
                api: api.clone(),
                storage,
                querier: NoChainQuerier,
            },
            &options,
        )
    };

    let mut instance = fresh(MemoryStorage::new())?;
    match instance.call_instantiate::<Empty>(&env, &info, b"{}")? {
        ContractResult::Ok(_) => {}
        ContractResult::Err(e) => bail!("instantiate failed: {e}"),
    }
    let mut storage = instance.finish().backend.storage;
    let state = |s: &MemoryStorage| {
        s.records()
            .find(|(k, _)| *k == b"state")
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default()
    };
    println!("instantiated: state = {:?}\n", state(&storage));
    println!("each attack first writes state = \"tampered\", then misbehaves:\n");

    let attacks = [
        ("endless loop", r#"{"loop":{}}"#),
        ("memory.grow bomb", r#"{"memory_bomb":{}}"#),
        ("unbounded recursion", r#"{"recurse":{"depth":4294967295}}"#),
        ("1 GiB allocation", r#"{"huge_allocation":{}}"#),
        ("Region data out of bounds", r#"{"bad_region":{}}"#),
        (
            "Region pointer out of bounds",
            r#"{"bad_region_pointer":{}}"#,
        ),
        (
            "result over the limit",
            r#"{"huge_result":{"size":1048576}}"#,
        ),
        ("unreachable", r#"{"unreachable":{}}"#),
        (
            "bogus delivery instruction",
            r#"{"deliver_unchecked":{"json":"{\"offer_id\":1}"}}"#,
        ),
    ];
    for (name, msg) in attacks {
        let mut instance = fresh(storage)?;
        let started = std::time::Instant::now();
        let result = instance.call_execute::<Empty>(&env, &info, msg.as_bytes());
        let took = started.elapsed();
        let finished = instance.finish();
        storage = finished.backend.storage;
        match result {
            Err(err) => println!(
                "{name:<30} {:>9.1?}  gas {:>9}  state {:?}\n    {err}",
                took,
                finished.gas_used,
                state(&storage)
            ),
            Ok(other) => bail!("{name} was not stopped: {other:?}"),
        }
    }
    Ok(())
}

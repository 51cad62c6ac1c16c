//! Runs cw20-base, unmodified, in the Consign VM: upload checks, instantiate, transfer, a
//! failing transfer that leaves storage untouched, and a query, printing gas for each call.
//!
//! ```text
//! bash scripts/build-contracts.sh
//! cargo run -p consign-vm --example cw20
//! ```

use anyhow::{bail, Context};
use consign_vm::{
    Backend, BackendApi, Bech32Api, InstanceOptions, MemoryStorage, NoChainQuerier, Vm, VmConfig,
};
use cosmwasm_std::{
    Addr, BlockInfo, ContractInfo, ContractResult, Empty, Env, MessageInfo, Timestamp,
};

type ExampleVm = Vm<Bech32Api, MemoryStorage, NoChainQuerier>;

fn main() -> anyhow::Result<()> {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../target/contracts/cw20_base.wasm"
        )
        .into()
    });
    let wasm = std::fs::read(&path)
        .with_context(|| format!("reading {path}; build it with scripts/build-contracts.sh"))?;
    let api = Bech32Api::new("consign")?;
    let alice = Addr::unchecked(api.addr_humanize(&[1; 20])?);
    let bob = Addr::unchecked(api.addr_humanize(&[2; 20])?);
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

    let vm: ExampleVm = Vm::new(VmConfig::default())?;
    let report = vm.check(&wasm);
    println!(
        "checked {path}: {} KiB, entry points {}, requires {}",
        report.size / 1024,
        report.entry_points.join(", "),
        report
            .required_capabilities
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    let started = std::time::Instant::now();
    let checksum = vm.save_wasm(&wasm)?;
    println!("compiled in {:.0?}, checksum {checksum}", started.elapsed());

    let mut storage = MemoryStorage::new();
    let call = |storage: &mut MemoryStorage,
                name: &str,
                sender: &Addr,
                msg: String|
     -> anyhow::Result<bool> {
        let backend = Backend {
            api: api.clone(),
            storage: std::mem::take(storage),
            querier: NoChainQuerier,
        };
        let mut instance = vm.instance(&checksum, backend, &InstanceOptions::default())?;
        let info = MessageInfo {
            sender: sender.clone(),
            funds: vec![],
        };
        let result = if name == "instantiate" {
            instance.call_instantiate::<Empty>(&env, &info, msg.as_bytes())?
        } else {
            instance.call_execute::<Empty>(&env, &info, msg.as_bytes())?
        };
        let finished = instance.finish();
        *storage = finished.backend.storage;
        match result {
            ContractResult::Ok(_) => {
                println!("{name:<28} ok     gas {:>7}", finished.gas_used);
                Ok(true)
            }
            ContractResult::Err(e) => {
                println!("{name:<28} error  gas {:>7}  {e}", finished.gas_used);
                Ok(false)
            }
        }
    };

    call(
        &mut storage,
        "instantiate",
        &alice,
        format!(
            r#"{{"name":"Consign Token","symbol":"CSN","decimals":6,"initial_balances":[{{"address":"{alice}","amount":"1000"}}]}}"#
        ),
    )?;
    call(
        &mut storage,
        "transfer 250 to bob",
        &alice,
        format!(r#"{{"transfer":{{"recipient":"{bob}","amount":"250"}}}}"#),
    )?;
    let before: Vec<_> = storage
        .records()
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect();
    if call(
        &mut storage,
        "bob transfers 9999 (too much)",
        &bob,
        format!(r#"{{"transfer":{{"recipient":"{alice}","amount":"9999"}}}}"#),
    )? {
        bail!("an overdraft was accepted");
    }
    let after: Vec<_> = storage
        .records()
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect();
    println!("storage unchanged by the failed call: {}", before == after);

    for who in [&alice, &bob] {
        let backend = Backend {
            api: api.clone(),
            storage: std::mem::take(&mut storage),
            querier: NoChainQuerier,
        };
        let mut instance = vm.instance(&checksum, backend, &InstanceOptions::default())?;
        let result = instance.call_query(
            &env,
            format!(r#"{{"balance":{{"address":"{who}"}}}}"#).as_bytes(),
        )?;
        storage = instance.finish().backend.storage;
        match result {
            ContractResult::Ok(bin) => {
                println!("balance of {who}: {}", String::from_utf8_lossy(&bin))
            }
            ContractResult::Err(e) => bail!("balance query failed: {e}"),
        }
    }
    Ok(())
}

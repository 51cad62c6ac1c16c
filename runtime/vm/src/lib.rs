//! The Consign contract VM.
//!
//! Runs contracts compiled to WebAssembly in a wasmtime sandbox, speaking the CosmWasm contract
//! interface (so unmodified `cosmwasm-std` 2.x and 3.x contracts run) plus one Consign host
//! function, `consign_deliver`, with which a completed contract emits a delivery instruction.
//!
//! The VM knows nothing of blocks, accounts or other contracts: it sees storage, an address
//! API and a querier through the traits in [`backend`]. Each call is metered (wasmtime fuel
//! plus host costs, see [`GasCosts`]), bounded ([`InstanceLimits`]) and atomic: a call that
//! fails leaves storage as it was and emits no delivery.
//!
//! ```no_run
//! use consign_vm::{Backend, Bech32Api, InstanceOptions, MemoryStorage, NoChainQuerier, Vm, VmConfig};
//! use cosmwasm_std::testing::{message_info, mock_env};
//! use cosmwasm_std::{Addr, Empty};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let vm: Vm<Bech32Api, MemoryStorage, NoChainQuerier> = Vm::new(VmConfig::default())?;
//! let checksum = vm.save_wasm(&std::fs::read("target/contracts/kitchen_sink.wasm")?)?;
//! let backend = Backend { api: Bech32Api::new("consign")?, storage: MemoryStorage::new(), querier: NoChainQuerier };
//! let mut instance = vm.instance(&checksum, backend, &InstanceOptions::default())?;
//! let creator = Addr::unchecked("consign1…");
//! let result = instance.call_instantiate::<Empty>(&mock_env(), &message_info(&creator, &[]), br#"{}"#)?;
//! println!("{result:?}, gas used {}", instance.gas_used());
//! let finished = instance.finish();
//! println!("{} delivery instructions", finished.deliveries.len());
//! # Ok(()) }
//! ```

pub mod backend;
mod cache;
mod calls;
pub mod checks;
mod engine;
mod environment;
mod errors;
mod gas;
mod imports;
mod instance;
pub mod interface;
mod limits;
mod memory;
mod overlay;
mod sections;
mod vm;

pub use backend::{
    Backend, BackendApi, BackendError, BackendResult, Bech32Api, GasInfo, MemoryStorage,
    NoChainQuerier, Querier, QuerierResult, Record, Storage,
};
pub use checks::{check_wasm, migrate_version, CheckConfig, CheckError, CheckLimits, CheckReport};
pub use engine::Allocation;
pub use errors::{VmError, VmResult};
pub use gas::{GasCosts, LinearCost};
pub use instance::{Finished, Instance, InstanceOptions};
pub use limits::InstanceLimits;
pub use vm::{CacheStats, ModuleSource, Vm, VmConfig};

/// The wasmtime version compiled modules are cached for.
pub const WASMTIME_VERSION: &str = cache::WASMTIME_VERSION;

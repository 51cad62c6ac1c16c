//! A contract that does nothing wrong and reaches every host import of the CosmWasm interface,
//! plus `consign_deliver`, through cosmwasm-std's ordinary APIs, so the VM's imports are tested
//! by a real contract build.
//!
//! Storage layout (raw keys): `counter` (JSON number), `creator` (address string) and `kv:<key>`
//! for the values of `Set`; `sudo`, `reply` and `migrate` record in the `kv:` space that those
//! entry points ran, so `Get { key: "sudo" }` reads them.

pub mod contract;
pub mod msg;

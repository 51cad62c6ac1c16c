//! The contract interface the VM speaks: the exports a contract must have, the imports the host
//! provides (with their exact wasm signatures), and the capabilities it offers.
//!
//! This is the single list that both the upload checks ([`crate::checks`]) and the linker
//! ([`crate::imports`]) are held to: a test asserts that every import named here is linked, so
//! a contract accepted at upload always instantiates.

/// A wasm value type in an import signature (the interface only uses these two).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasmType {
    /// `i32`
    I32,
    /// `i64`
    I64,
}

/// One host function a contract may import from module `env`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportSignature {
    /// The import's field name in module `env`.
    pub name: &'static str,
    /// Parameter types.
    pub params: &'static [WasmType],
    /// Result types (zero or one).
    pub results: &'static [WasmType],
}

use WasmType::{I32, I64};

const fn sig(
    name: &'static str,
    params: &'static [WasmType],
    results: &'static [WasmType],
) -> ImportSignature {
    ImportSignature {
        name,
        params,
        results,
    }
}

/// The module every import must come from.
pub const IMPORT_MODULE: &str = "env";

/// The name of the Consign host function (see `consign_sdk::deliver`).
pub const CONSIGN_DELIVER: &str = "consign_deliver";

/// Every function the host provides in module `env`, with the signature the CosmWasm reference
/// VM gives it (and `consign_deliver`, Consign's own).
pub const HOST_IMPORTS: &[ImportSignature] = &[
    sig("db_read", &[I32], &[I32]),
    sig("db_write", &[I32, I32], &[]),
    sig("db_remove", &[I32], &[]),
    sig("db_scan", &[I32, I32, I32], &[I32]),
    sig("db_next", &[I32], &[I32]),
    sig("db_next_key", &[I32], &[I32]),
    sig("db_next_value", &[I32], &[I32]),
    sig("addr_validate", &[I32], &[I32]),
    sig("addr_canonicalize", &[I32, I32], &[I32]),
    sig("addr_humanize", &[I32, I32], &[I32]),
    sig("secp256k1_verify", &[I32, I32, I32], &[I32]),
    sig("secp256k1_recover_pubkey", &[I32, I32, I32], &[I64]),
    sig("secp256r1_verify", &[I32, I32, I32], &[I32]),
    sig("secp256r1_recover_pubkey", &[I32, I32, I32], &[I64]),
    sig("ed25519_verify", &[I32, I32, I32], &[I32]),
    sig("ed25519_batch_verify", &[I32, I32, I32], &[I32]),
    sig("bls12_381_aggregate_g1", &[I32, I32], &[I32]),
    sig("bls12_381_aggregate_g2", &[I32, I32], &[I32]),
    sig("bls12_381_pairing_equality", &[I32, I32, I32, I32], &[I32]),
    sig("bls12_381_hash_to_g1", &[I32, I32, I32, I32], &[I32]),
    sig("bls12_381_hash_to_g2", &[I32, I32, I32, I32], &[I32]),
    sig("debug", &[I32], &[]),
    sig("abort", &[I32], &[]),
    sig("query_chain", &[I32], &[I32]),
    sig(CONSIGN_DELIVER, &[I32], &[]),
];

/// Looks up a host import by name.
pub fn host_import(name: &str) -> Option<&'static ImportSignature> {
    HOST_IMPORTS.iter().find(|s| s.name == name)
}

/// The one interface version the VM speaks: `cosmwasm-std` 2.x and 3.x both export it.
pub const INTERFACE_VERSION_EXPORT: &str = "interface_version_8";

/// Prefix of the interface-version marker exports.
pub const INTERFACE_VERSION_PREFIX: &str = "interface_version_";

/// Prefix of the capability marker exports (`requires_iterator`, …).
pub const REQUIRES_PREFIX: &str = "requires_";

/// Exports every contract must have, besides the interface version.
pub const REQUIRED_EXPORTS: &[&str] = &["allocate", "deallocate"];

/// The entry points a contract may export (each optional; a contract without `instantiate`
/// can be uploaded but not instantiated).
pub const ENTRY_POINTS: &[&str] = &[
    "instantiate",
    "execute",
    "query",
    "migrate",
    "sudo",
    "reply",
];

/// The capabilities this host offers by default. The IBC ones are left out: the chain has no
/// IBC. `staking` is offered: the chain's staking module answers the staking and distribution
/// messages and queries. `stargate` is offered: the chain routes the protobuf messages and
/// queries of its bank, staking and distribution modules by type URL, and refuses any other type
/// URL at run time, as wasmd does.
pub const DEFAULT_CAPABILITIES: &[&str] = &[
    "iterator",
    "staking",
    "stargate",
    "cosmwasm_1_1",
    "cosmwasm_1_2",
    "cosmwasm_1_3",
    "cosmwasm_1_4",
    "cosmwasm_2_0",
    "cosmwasm_2_1",
    "cosmwasm_2_2",
    "cosmwasm_3_0",
    "consign",
];

//! The gas schedule.
//!
//! One unit of gas is one unit of wasmtime fuel: about one wasm instruction (wasmtime charges
//! most operators 1 and a few, such as `nop` and `drop`, nothing). Host calls and data copied
//! across the boundary are charged on top, so a call's gas depends only on the contract, its
//! inputs and its storage — never on the machine or on timing.
//!
//! The host costs are the CosmWasm reference VM's schedule (cosmwasm-vm 3.0, where an instruction
//! costs 115 gas) divided by 115, so the two schedules weigh host work against wasm work alike:
//! multiply a Consign figure by 115 for the reference's scale.

/// A cost of `base + per_byte × bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinearCost {
    /// Charged once.
    pub base: u64,
    /// Charged per byte (or per item).
    pub per_unit: u64,
}

impl LinearCost {
    /// The cost for `units` bytes or items.
    pub fn cost(&self, units: usize) -> u64 {
        let units = u64::try_from(units).unwrap_or(u64::MAX);
        self.base
            .saturating_add(self.per_unit.saturating_mul(units))
    }
}

const fn linear(base: u64, per_unit: u64) -> LinearCost {
    LinearCost { base, per_unit }
}

/// The host side of the gas schedule. Wasm instructions cost 1 each (wasmtime fuel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GasCosts {
    /// Every host function call, before anything else.
    pub host_call: u64,
    /// Reading a Region out of contract memory (per byte).
    pub read_region: LinearCost,
    /// Writing data into contract memory (per byte).
    pub write_region: LinearCost,
    /// `db_read` (per byte of key and value).
    pub storage_read: LinearCost,
    /// `db_write` (per byte of key and value).
    pub storage_write: LinearCost,
    /// `db_remove`.
    pub storage_remove: u64,
    /// Opening an iterator.
    pub storage_scan: u64,
    /// One step of an iterator (per byte of key and value).
    pub storage_next: LinearCost,
    /// Address validation and conversion (per byte).
    pub address: LinearCost,
    /// `secp256k1_verify`.
    pub secp256k1_verify: u64,
    /// `secp256k1_recover_pubkey`.
    pub secp256k1_recover_pubkey: u64,
    /// `secp256r1_verify`.
    pub secp256r1_verify: u64,
    /// `secp256r1_recover_pubkey`.
    pub secp256r1_recover_pubkey: u64,
    /// `ed25519_verify`.
    pub ed25519_verify: u64,
    /// `ed25519_batch_verify`, per signature.
    pub ed25519_batch_verify: LinearCost,
    /// `ed25519_batch_verify` with a single public key, per signature.
    pub ed25519_batch_verify_one_pubkey: LinearCost,
    /// `bls12_381_aggregate_g1`, per point.
    pub bls12_381_aggregate_g1: LinearCost,
    /// `bls12_381_aggregate_g2`, per point.
    pub bls12_381_aggregate_g2: LinearCost,
    /// `bls12_381_pairing_equality`, per pair.
    pub bls12_381_pairing_equality: LinearCost,
    /// `bls12_381_hash_to_g1`.
    pub bls12_381_hash_to_g1: u64,
    /// `bls12_381_hash_to_g2`.
    pub bls12_381_hash_to_g2: u64,
    /// `query_chain`, before the querier's own costs.
    pub query_chain: u64,
    /// `consign_deliver` (per byte of the instruction).
    pub deliver: LinearCost,
}

impl Default for GasCosts {
    fn default() -> Self {
        // The reference figures (in its scale) are in the comments; ours are those / 115.
        Self {
            host_call: 157,                                           // 18_000
            read_region: linear(1_739, 1),                            // 200_000 + 115/B
            write_region: linear(2_000, 5),                           // 230_000 + 570/B
            storage_read: linear(1_000, 3), // Cosmos SDK KV read, in SDK gas
            storage_write: linear(2_000, 30), // Cosmos SDK KV write
            storage_remove: 1_000,          // Cosmos SDK KV delete
            storage_scan: 1_000,            // Cosmos SDK iterator open
            storage_next: linear(30, 3),    // Cosmos SDK iterator step
            address: linear(250, 12),       // 28_700 + 1_400/B
            secp256k1_verify: 834_783,      // 96_000_000
            secp256k1_recover_pubkey: 1_686_957, // 194_000_000
            secp256r1_verify: 2_426_087,    // 279_000_000
            secp256r1_recover_pubkey: 5_147_826, // 592_000_000
            ed25519_verify: 304_348,        // 35_000_000
            ed25519_batch_verify: linear(208_696, 182_609), // 24M + 21M/sig
            ed25519_batch_verify_one_pubkey: linear(313_043, 86_957), // 36M + 10M/sig
            bls12_381_aggregate_g1: linear(1_182_609, 208_696), // 136M + 24M/point
            bls12_381_aggregate_g2: linear(1_182_609, 626_087), // 136M + 72M/point
            bls12_381_pairing_equality: linear(2_417_391, 1_756_522), // 278M + 202M/pair
            bls12_381_hash_to_g1: 4_521_739, // 520M
            bls12_381_hash_to_g2: 13_913_043, // 1.6G
            query_chain: 1_000,
            deliver: linear(10_000, 10),
        }
    }
}

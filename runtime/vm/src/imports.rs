//! The host functions a contract imports from module `env`, and the linker that provides them.
//!
//! Semantics, limits, result encodings and error codes follow the CosmWasm reference VM
//! (cosmwasm-vm 3.0), so unmodified `cosmwasm-std` 2.x and 3.x contracts run. Every host call
//! charges gas first; every pointer from the contract is read through [`crate::memory`].

mod addr;
mod chain;
mod crypto;
mod db;

use wasmtime::{Caller, Linker};

use crate::backend::{BackendApi, Querier, Storage};
use crate::environment::{charge, Ctx, Environment};
use crate::errors::{VmError, VmResult};
use crate::memory;

/// Largest storage key (64 KiB), as the reference.
pub(crate) const MAX_LENGTH_DB_KEY: usize = 64 * 1024;
/// Largest storage value (128 KiB), as the reference.
pub(crate) const MAX_LENGTH_DB_VALUE: usize = 128 * 1024;
/// Largest human address accepted.
pub(crate) const MAX_LENGTH_HUMAN_ADDRESS: usize = 256;
/// Largest canonical address accepted.
pub(crate) const MAX_LENGTH_CANONICAL_ADDRESS: usize = 64;
/// Largest `query_chain` request.
pub(crate) const MAX_LENGTH_QUERY_CHAIN_REQUEST: usize = 64 * 1024;
/// Largest `debug` and `abort` message.
pub(crate) const MAX_LENGTH_DEBUG: usize = 2 * 1024 * 1024;
/// Largest serialized delivery instruction.
pub(crate) const MAX_LENGTH_DELIVERY: usize = 64 * 1024;

/// Charges the flat cost of a host call.
fn enter<A: BackendApi, S: Storage, Q: Querier>(caller: &mut Ctx<'_, A, S, Q>) -> VmResult<()> {
    let (cost, limit) = (caller.data().costs.host_call, caller.data().gas_limit);
    charge(caller, cost, limit)
}

/// Charges `gas` to the running call.
fn charge_gas<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    gas: u64,
) -> VmResult<()> {
    let limit = caller.data().gas_limit;
    charge(caller, gas, limit)
}

/// Reads the Region at `ptr` (at most `max` bytes) and charges for the bytes read.
fn read<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    ptr: u32,
    max: usize,
    what: &'static str,
) -> VmResult<Vec<u8>> {
    let mem = caller.data().memory()?;
    let data = memory::read_region(mem.data(&*caller), ptr, max, what)?;
    let cost = caller.data().costs.read_region.cost(data.len());
    charge_gas(caller, cost)?;
    Ok(data)
}

/// Like [`read`]; a null pointer reads as `None`.
fn maybe_read<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    ptr: u32,
    max: usize,
    what: &'static str,
) -> VmResult<Option<Vec<u8>>> {
    if ptr == 0 {
        return Ok(None);
    }
    read(caller, ptr, max, what).map(Some)
}

/// Writes `data` into the contract's existing Region at `ptr`.
fn write<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    ptr: u32,
    data: &[u8],
) -> VmResult<()> {
    let cost = caller.data().costs.write_region.cost(data.len());
    charge_gas(caller, cost)?;
    let mem = caller.data().memory()?;
    memory::write_region(mem.data_mut(&mut *caller), ptr, data)
}

/// Allocates a Region in the contract (its `allocate` export), writes `data` into it and
/// returns the Region's pointer.
fn write_to_contract<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    data: &[u8],
) -> VmResult<u32> {
    let len = memory::to_u32(data.len(), "data for the contract")?;
    let allocate = caller
        .data()
        .allocate
        .clone()
        .ok_or_else(|| VmError::communication("the contract has no allocate export"))?;
    let gas_limit = caller.data().gas_limit;
    let ptr = allocate
        .call(&mut *caller, len)
        .map_err(|e| VmError::from_wasm(e, gas_limit))?;
    if ptr == 0 {
        return Err(VmError::region("allocate returned a null region"));
    }
    write(caller, ptr, data)?;
    Ok(ptr)
}

/// Runs a host function body and hands its error to wasmtime, which unwinds the contract.
fn host<T>(result: VmResult<T>) -> wasmtime::Result<T> {
    result.map_err(wasmtime::Error::new)
}

/// Builds the linker with every import in [`crate::interface::HOST_IMPORTS`].
pub(crate) fn linker<A: BackendApi, S: Storage, Q: Querier>(
    engine: &wasmtime::Engine,
) -> VmResult<Linker<Environment<A, S, Q>>> {
    let mut linker = Linker::new(engine);
    let err = |e: wasmtime::Error| VmError::Config {
        msg: format!("linking host functions: {e}"),
    };
    macro_rules! import {
        ($name:literal, |$caller:ident $(, $arg:ident : $ty:ty)*| -> $ret:ty $body:block) => {
            linker
                .func_wrap(
                    crate::interface::IMPORT_MODULE,
                    $name,
                    |mut $caller: Caller<'_, Environment<A, S, Q>>, $($arg: $ty),*| -> wasmtime::Result<$ret> {
                        host((|| -> VmResult<$ret> {
                            enter(&mut $caller)?;
                            $body
                        })())
                    },
                )
                .map_err(err)?;
        };
    }
    import!("db_read", |c, key: u32| -> u32 { db::read(&mut c, key) });
    import!("db_write", |c, key: u32, value: u32| -> () {
        db::write(&mut c, key, value)
    });
    import!("db_remove", |c, key: u32| -> () { db::remove(&mut c, key) });
    import!("db_scan", |c, start: u32, end: u32, order: i32| -> u32 {
        db::scan(&mut c, start, end, order)
    });
    import!("db_next", |c, id: u32| -> u32 { db::next(&mut c, id) });
    import!("db_next_key", |c, id: u32| -> u32 {
        db::next_key(&mut c, id)
    });
    import!("db_next_value", |c, id: u32| -> u32 {
        db::next_value(&mut c, id)
    });
    import!("addr_validate", |c, source: u32| -> u32 {
        addr::validate(&mut c, source)
    });
    import!("addr_canonicalize", |c, source: u32, dest: u32| -> u32 {
        addr::canonicalize(&mut c, source, dest)
    });
    import!("addr_humanize", |c, source: u32, dest: u32| -> u32 {
        addr::humanize(&mut c, source, dest)
    });
    import!("secp256k1_verify", |c,
                                 hash: u32,
                                 sig: u32,
                                 key: u32|
     -> u32 {
        crypto::secp256k1_verify(&mut c, hash, sig, key)
    });
    import!("secp256k1_recover_pubkey", |c,
                                         hash: u32,
                                         sig: u32,
                                         param: u32|
     -> u64 {
        crypto::secp256k1_recover_pubkey(&mut c, hash, sig, param)
    });
    import!("secp256r1_verify", |c,
                                 hash: u32,
                                 sig: u32,
                                 key: u32|
     -> u32 {
        crypto::secp256r1_verify(&mut c, hash, sig, key)
    });
    import!("secp256r1_recover_pubkey", |c,
                                         hash: u32,
                                         sig: u32,
                                         param: u32|
     -> u64 {
        crypto::secp256r1_recover_pubkey(&mut c, hash, sig, param)
    });
    import!("ed25519_verify", |c, msg: u32, sig: u32, key: u32| -> u32 {
        crypto::ed25519_verify(&mut c, msg, sig, key)
    });
    import!("ed25519_batch_verify", |c,
                                     msgs: u32,
                                     sigs: u32,
                                     keys: u32|
     -> u32 {
        crypto::ed25519_batch_verify(&mut c, msgs, sigs, keys)
    });
    import!("bls12_381_aggregate_g1", |c,
                                       points: u32,
                                       out: u32|
     -> u32 {
        crypto::bls12_381_aggregate_g1(&mut c, points, out)
    });
    import!("bls12_381_aggregate_g2", |c,
                                       points: u32,
                                       out: u32|
     -> u32 {
        crypto::bls12_381_aggregate_g2(&mut c, points, out)
    });
    import!("bls12_381_pairing_equality", |c,
                                           ps: u32,
                                           qs: u32,
                                           r: u32,
                                           s: u32|
     -> u32 {
        crypto::bls12_381_pairing_equality(&mut c, ps, qs, r, s)
    });
    import!("bls12_381_hash_to_g1", |c,
                                     hash: u32,
                                     msg: u32,
                                     dst: u32,
                                     out: u32|
     -> u32 {
        crypto::bls12_381_hash_to_g1(&mut c, hash, msg, dst, out)
    });
    import!("bls12_381_hash_to_g2", |c,
                                     hash: u32,
                                     msg: u32,
                                     dst: u32,
                                     out: u32|
     -> u32 {
        crypto::bls12_381_hash_to_g2(&mut c, hash, msg, dst, out)
    });
    import!("debug", |c, msg: u32| -> () { chain::debug(&mut c, msg) });
    import!("abort", |c, msg: u32| -> () { chain::abort(&mut c, msg) });
    import!("query_chain", |c, request: u32| -> u32 {
        chain::query_chain(&mut c, request)
    });
    import!("consign_deliver", |c, instruction: u32| -> () {
        chain::deliver(&mut c, instruction)
    });
    Ok(linker)
}

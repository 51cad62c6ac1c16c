//! Address imports: `addr_validate`, `addr_canonicalize`, `addr_humanize`.
//!
//! As in the reference, an invalid input is not a trap: the error text is written into a new
//! Region whose pointer is returned, and 0 means success.

use super::{
    charge_gas, read, write, write_to_contract, MAX_LENGTH_CANONICAL_ADDRESS,
    MAX_LENGTH_HUMAN_ADDRESS,
};
use crate::backend::{BackendApi, BackendError, Querier, Storage};
use crate::environment::{backend_error, Ctx};
use crate::errors::VmResult;

/// Either a value or the message to hand back to the contract.
enum Outcome<T> {
    Ok(T),
    UserErr(String),
}

fn user<T>(result: Result<T, BackendError>, gas_limit: u64) -> VmResult<Outcome<T>> {
    match result {
        Ok(v) => Ok(Outcome::Ok(v)),
        Err(BackendError::UserErr { msg }) => Ok(Outcome::UserErr(msg)),
        Err(other) => Err(backend_error(other, gas_limit)),
    }
}

/// Reads a human address, charging for it; `Err(msg)` is a message for the contract.
fn read_human<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    ptr: u32,
) -> VmResult<Outcome<String>> {
    let data = read(caller, ptr, MAX_LENGTH_HUMAN_ADDRESS, "address")?;
    let cost = caller.data().costs.address.cost(data.len());
    charge_gas(caller, cost)?;
    if data.is_empty() {
        return Ok(Outcome::UserErr("Input is empty".into()));
    }
    Ok(match String::from_utf8(data) {
        Ok(s) => Outcome::Ok(s),
        Err(_) => Outcome::UserErr("Input is not valid UTF-8".into()),
    })
}

pub(super) fn validate<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    source_ptr: u32,
) -> VmResult<u32> {
    let limit = caller.data().gas_limit;
    let human = match read_human(caller, source_ptr)? {
        Outcome::Ok(h) => h,
        Outcome::UserErr(msg) => return write_to_contract(caller, msg.as_bytes()),
    };
    let canonical = match user(caller.data().api.addr_canonicalize(&human), limit)? {
        Outcome::Ok(c) => c,
        Outcome::UserErr(msg) => return write_to_contract(caller, msg.as_bytes()),
    };
    let normalized = match user(caller.data().api.addr_humanize(&canonical), limit)? {
        Outcome::Ok(n) => n,
        Outcome::UserErr(msg) => return write_to_contract(caller, msg.as_bytes()),
    };
    if normalized != human {
        return write_to_contract(caller, b"Address is not normalized");
    }
    Ok(0)
}

pub(super) fn canonicalize<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    source_ptr: u32,
    destination_ptr: u32,
) -> VmResult<u32> {
    let limit = caller.data().gas_limit;
    let human = match read_human(caller, source_ptr)? {
        Outcome::Ok(h) => h,
        Outcome::UserErr(msg) => return write_to_contract(caller, msg.as_bytes()),
    };
    match user(caller.data().api.addr_canonicalize(&human), limit)? {
        Outcome::Ok(canonical) => {
            write(caller, destination_ptr, &canonical)?;
            Ok(0)
        }
        Outcome::UserErr(msg) => write_to_contract(caller, msg.as_bytes()),
    }
}

pub(super) fn humanize<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    source_ptr: u32,
    destination_ptr: u32,
) -> VmResult<u32> {
    let limit = caller.data().gas_limit;
    let canonical = read(
        caller,
        source_ptr,
        MAX_LENGTH_CANONICAL_ADDRESS,
        "canonical address",
    )?;
    let cost = caller.data().costs.address.cost(canonical.len());
    charge_gas(caller, cost)?;
    if canonical.is_empty() {
        return write_to_contract(caller, b"Input is empty");
    }
    match user(caller.data().api.addr_humanize(&canonical), limit)? {
        Outcome::Ok(human) => {
            write(caller, destination_ptr, human.as_bytes())?;
            Ok(0)
        }
        Outcome::UserErr(msg) => write_to_contract(caller, msg.as_bytes()),
    }
}

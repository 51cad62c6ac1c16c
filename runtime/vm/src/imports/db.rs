//! Storage imports: `db_read`, `db_write`, `db_remove`, `db_scan`, `db_next`, `db_next_key`,
//! `db_next_value`.

use cosmwasm_std::Order;

use super::{charge_gas, maybe_read, write_to_contract, MAX_LENGTH_DB_KEY, MAX_LENGTH_DB_VALUE};
use crate::backend::{BackendApi, Querier, Record, Storage};
use crate::environment::{backend_error, Ctx};
use crate::errors::{VmError, VmResult};
use crate::sections::encode_sections;

fn deny_in_query<A: BackendApi, S: Storage, Q: Querier>(
    caller: &Ctx<'_, A, S, Q>,
    op: &'static str,
) -> VmResult<()> {
    if caller.data().read_only {
        return Err(VmError::WriteAccessDenied { op });
    }
    Ok(())
}

pub(super) fn read<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    key_ptr: u32,
) -> VmResult<u32> {
    let key = super::read(caller, key_ptr, MAX_LENGTH_DB_KEY, "storage key")?;
    let limit = caller.data().gas_limit;
    let value = caller
        .data()
        .storage
        .get(&key)
        .map_err(|e| backend_error(e, limit))?;
    let bytes = key.len() + value.as_ref().map_or(0, Vec::len);
    let cost = caller.data().costs.storage_read.cost(bytes);
    charge_gas(caller, cost)?;
    match value {
        Some(value) => write_to_contract(caller, &value),
        None => Ok(0),
    }
}

pub(super) fn write<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    key_ptr: u32,
    value_ptr: u32,
) -> VmResult<()> {
    deny_in_query(caller, "db_write")?;
    let key = super::read(caller, key_ptr, MAX_LENGTH_DB_KEY, "storage key")?;
    let value = super::read(caller, value_ptr, MAX_LENGTH_DB_VALUE, "storage value")?;
    let cost = caller
        .data()
        .costs
        .storage_write
        .cost(key.len() + value.len());
    charge_gas(caller, cost)?;
    caller.data_mut().storage.set(&key, &value);
    Ok(())
}

pub(super) fn remove<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    key_ptr: u32,
) -> VmResult<()> {
    deny_in_query(caller, "db_remove")?;
    let key = super::read(caller, key_ptr, MAX_LENGTH_DB_KEY, "storage key")?;
    let cost = caller.data().costs.storage_remove;
    charge_gas(caller, cost)?;
    caller.data_mut().storage.remove(&key);
    Ok(())
}

pub(super) fn scan<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    start_ptr: u32,
    end_ptr: u32,
    order: i32,
) -> VmResult<u32> {
    let start = maybe_read(caller, start_ptr, MAX_LENGTH_DB_KEY, "range start")?;
    let end = maybe_read(caller, end_ptr, MAX_LENGTH_DB_KEY, "range end")?;
    let order = Order::try_from(order).map_err(|_| {
        VmError::communication(format!(
            "invalid order {order} for db_scan: 1 is ascending, 2 descending"
        ))
    })?;
    let cost = caller.data().costs.storage_scan;
    charge_gas(caller, cost)?;
    let limit = caller.data().gas_limit;
    caller
        .data_mut()
        .storage
        .scan(start.as_deref(), end.as_deref(), order)
        .map_err(|e| backend_error(e, limit))
}

/// Advances the iterator and charges for the record.
fn advance<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    id: u32,
) -> VmResult<Option<Record>> {
    let limit = caller.data().gas_limit;
    let record = caller
        .data_mut()
        .storage
        .next(id)
        .map_err(|e| backend_error(e, limit))?;
    let bytes = record.as_ref().map_or(0, |(k, v)| k.len() + v.len());
    let cost = caller.data().costs.storage_next.cost(bytes);
    charge_gas(caller, cost)?;
    Ok(record)
}

pub(super) fn next<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    id: u32,
) -> VmResult<u32> {
    // An empty key marks the end, as the reference.
    let out = match advance(caller, id)? {
        Some((key, value)) => encode_sections(&[&key, &value])?,
        None => encode_sections(&[b"", b""])?,
    };
    write_to_contract(caller, &out)
}

pub(super) fn next_key<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    id: u32,
) -> VmResult<u32> {
    match advance(caller, id)? {
        Some((key, _)) => write_to_contract(caller, &key),
        None => Ok(0),
    }
}

pub(super) fn next_value<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    id: u32,
) -> VmResult<u32> {
    match advance(caller, id)? {
        Some((_, value)) => write_to_contract(caller, &value),
        None => Ok(0),
    }
}

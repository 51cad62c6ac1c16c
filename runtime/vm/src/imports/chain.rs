//! `debug`, `abort`, `query_chain` and Consign's `consign_deliver`.

use consign_sdk::DeliveryInstruction;

use super::{
    charge_gas, read, write_to_contract, MAX_LENGTH_DEBUG, MAX_LENGTH_DELIVERY,
    MAX_LENGTH_QUERY_CHAIN_REQUEST,
};
use crate::backend::{BackendApi, BackendError, Querier, Storage};
use crate::environment::{backend_error, Ctx};
use crate::errors::{VmError, VmResult};

pub(super) fn debug<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    msg_ptr: u32,
) -> VmResult<()> {
    let msg = read(caller, msg_ptr, MAX_LENGTH_DEBUG, "debug message")?;
    let msg = String::from_utf8_lossy(&msg).into_owned();
    let data = caller.data_mut();
    tracing::debug!(target: "runtime::contract", contract = %data.label, "{msg}");
    if let Some(messages) = data.debug_messages.as_mut() {
        messages.push(msg);
    }
    Ok(())
}

pub(super) fn abort<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    msg_ptr: u32,
) -> VmResult<()> {
    let msg = read(caller, msg_ptr, MAX_LENGTH_DEBUG, "abort message")?;
    Err(VmError::Aborted {
        msg: String::from_utf8_lossy(&msg).into_owned(),
    })
}

pub(super) fn query_chain<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    request_ptr: u32,
) -> VmResult<u32> {
    let request = read(
        caller,
        request_ptr,
        MAX_LENGTH_QUERY_CHAIN_REQUEST,
        "query request",
    )?;
    let cost = caller.data().costs.query_chain;
    charge_gas(caller, cost)?;
    let limit = caller.data().gas_limit;
    let gas_left = caller
        .get_fuel()
        .map_err(|e| VmError::communication(format!("fuel is not enabled: {e}")))?;
    let (result, gas_info) = caller.data().querier.query_raw(&request, gas_left);
    charge_gas(caller, gas_info.total())?;
    let response = result.map_err(|e| backend_error(e, limit))?;
    let bytes = serde_json::to_vec(&response)
        .map_err(|e| VmError::communication(format!("cannot serialize query response: {e}")))?;
    write_to_contract(caller, &bytes)
}

pub(super) fn deliver<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    instruction_ptr: u32,
) -> VmResult<()> {
    let bytes = read(
        caller,
        instruction_ptr,
        MAX_LENGTH_DELIVERY,
        "delivery instruction",
    )?;
    let cost = caller.data().costs.deliver.cost(bytes.len());
    charge_gas(caller, cost)?;
    let invalid = |msg: String| VmError::InvalidDelivery { msg };
    if caller.data().read_only {
        return Err(invalid(
            "deliver() cannot be called from a query: only a transaction can complete a sale"
                .into(),
        ));
    }
    let instruction: DeliveryInstruction = serde_json::from_slice(&bytes)
        .map_err(|e| invalid(format!("not a DeliveryInstruction: {e}")))?;
    instruction.validate().map_err(|e| invalid(e.to_string()))?;
    let api = &caller.data().api;
    let buyer_ok = api
        .addr_canonicalize(&instruction.buyer)
        .and_then(|c| api.addr_humanize(&c))
        .map(|normal| normal == instruction.buyer);
    match buyer_ok {
        Ok(true) => {}
        Ok(false) => {
            return Err(invalid(format!(
                "buyer address {:?} is not in its normal (lowercase) form",
                instruction.buyer
            )))
        }
        Err(BackendError::UserErr { msg }) => {
            return Err(invalid(format!(
                "buyer address {:?} is invalid: {msg}",
                instruction.buyer
            )))
        }
        Err(other) => return Err(backend_error(other, caller.data().gas_limit)),
    }
    let data = caller.data_mut();
    if data.deliveries.len() >= data.max_deliveries {
        return Err(invalid(format!(
            "a call may emit at most {} delivery instructions",
            data.max_deliveries
        )));
    }
    tracing::debug!(target: "runtime::vm", contract = %data.label, offer = instruction.offer_id, purchase = instruction.purchase_id, "delivery instruction emitted");
    data.deliveries.push(instruction);
    Ok(())
}

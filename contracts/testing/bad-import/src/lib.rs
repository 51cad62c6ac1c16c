//! A contract that imports a function the host does not provide, `env.consign_teleport`, so a
//! runtime must reject it at upload, naming the import.

use cosmwasm_std::{entry_point, Binary, Deps, DepsMut, Env, MessageInfo, Response, StdResult};
use serde::{Deserialize, Serialize};

/// Any JSON object.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Msg {}

#[cfg(target_arch = "wasm32")]
extern "C" {
    /// Not a host function: the reason this contract exists.
    fn consign_teleport(ptr: u32) -> u32;
}

/// Succeeds, if the module were ever instantiated.
#[entry_point]
pub fn instantiate(
    _deps: DepsMut<'_>,
    _env: Env,
    _info: MessageInfo,
    _msg: Msg,
) -> StdResult<Response> {
    Ok(Response::new())
}

/// Calls the missing import (on wasm32), so the linker keeps it.
#[entry_point]
pub fn execute(
    _deps: DepsMut<'_>,
    _env: Env,
    _info: MessageInfo,
    _msg: Msg,
) -> StdResult<Response> {
    #[cfg(target_arch = "wasm32")]
    // SAFETY: a host providing this import would take a Region pointer; 0 means none.
    let teleported = unsafe { consign_teleport(0) };
    #[cfg(not(target_arch = "wasm32"))]
    let teleported = 0;
    Ok(Response::new().add_attribute("teleported", teleported.to_string()))
}

/// Answers `{}` with `{}`.
#[entry_point]
pub fn query(_deps: Deps<'_>, _env: Env, _msg: Msg) -> StdResult<Binary> {
    Ok(Binary::from(b"{}"))
}

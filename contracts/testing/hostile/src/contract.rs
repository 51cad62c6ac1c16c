//! Entry points and the misbehaviours.

use std::hint::black_box;

use cosmwasm_std::{
    entry_point, to_json_binary, Binary, Deps, DepsMut, Env, MessageInfo, Response, StdError,
    StdResult,
};

use crate::msg::{ExecuteMsg, InstantiateMsg, QueryMsg, StateResponse};

/// The raw storage key of the state.
pub const STATE: &[u8] = b"state";

/// Stores `state = "original"`.
#[entry_point]
pub fn instantiate(
    deps: DepsMut<'_>,
    _env: Env,
    _info: MessageInfo,
    _msg: InstantiateMsg,
) -> StdResult<Response> {
    deps.storage.set(STATE, b"original");
    Ok(Response::new())
}

/// Writes `state = "tampered"`, then does what the message says.
#[entry_point]
pub fn execute(
    deps: DepsMut<'_>,
    _env: Env,
    _info: MessageInfo,
    msg: ExecuteMsg,
) -> StdResult<Response> {
    deps.storage.set(STATE, b"tampered");
    match msg {
        ExecuteMsg::Loop {} => endless_loop(),
        ExecuteMsg::MemoryBomb {} => memory_bomb(),
        ExecuteMsg::Recurse { depth } => {
            let sum = recurse(black_box(depth));
            Ok(Response::new().add_attribute("sum", sum.to_string()))
        }
        ExecuteMsg::HugeAllocation {} => {
            let v = black_box(vec![1u8; 1 << 30]);
            Ok(Response::new().add_attribute("len", v.len().to_string()))
        }
        ExecuteMsg::BadRegion {} => raw::bad_region(),
        ExecuteMsg::BadRegionPointer {} => raw::bad_region_pointer(),
        ExecuteMsg::HugeResult { size } => {
            let size = usize::try_from(size).map_err(|_| StdError::msg("size too large"))?;
            Ok(Response::new().set_data(vec![b'x'; size]))
        }
        ExecuteMsg::DeliverUnchecked { json } => {
            raw::deliver_unchecked(json.as_bytes())?;
            Ok(Response::new().add_attribute("delivered", "unchecked"))
        }
        ExecuteMsg::Unreachable {} => raw::unreachable(),
    }
}

/// See [`QueryMsg`].
#[entry_point]
pub fn query(deps: Deps<'_>, _env: Env, msg: QueryMsg) -> StdResult<Binary> {
    match msg {
        QueryMsg::State {} => {
            let state = deps.storage.get(STATE).map(String::from_utf8).transpose()?;
            to_json_binary(&StateResponse { state })
        }
        QueryMsg::WriteInQuery {} => {
            raw::write(STATE, b"tampered")?;
            to_json_binary(&StateResponse {
                state: Some("written".to_owned()),
            })
        }
    }
}

/// Counts forever through a volatile location, so no optimiser can prove the loop useless.
fn endless_loop() -> ! {
    let mut counter = 0u64;
    loop {
        // SAFETY: `counter` is a live local.
        unsafe {
            let c = std::ptr::read_volatile(&counter);
            std::ptr::write_volatile(&mut counter, c.wrapping_add(1));
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn memory_bomb() -> StdResult<Response> {
    let mut pages = 0u32;
    while pages < 65_536 && core::arch::wasm32::memory_grow(0, 1) != usize::MAX {
        pages += 1;
    }
    Err(StdError::msg(format!(
        "memory bomb grew {pages} pages before memory.grow failed"
    )))
}

#[cfg(not(target_arch = "wasm32"))]
fn memory_bomb() -> StdResult<Response> {
    Err(StdError::msg("the memory bomb only works on wasm32"))
}

/// Non-tail recursion with a 1 KiB frame that the optimiser must keep.
#[inline(never)]
fn recurse(depth: u32) -> u64 {
    let mut frame = [0u8; 1024];
    // SAFETY: writes within a live local array.
    unsafe { std::ptr::write_volatile(&mut frame[depth as usize % 1024], depth as u8) };
    let frame = black_box(frame);
    if depth == 0 {
        return u64::from(frame[0]);
    }
    let below = recurse(black_box(depth - 1));
    below.wrapping_add(u64::from(frame[depth as usize % 1024]))
}

/// Direct calls of host imports with arguments cosmwasm-std would never pass.
#[cfg(target_arch = "wasm32")]
mod raw {
    use cosmwasm_std::{Response, StdError, StdResult};

    /// The memory descriptor of the CosmWasm interface.
    #[repr(C)]
    struct Region {
        offset: u32,
        capacity: u32,
        length: u32,
    }

    impl Region {
        fn of(bytes: &[u8]) -> Self {
            Region {
                offset: bytes.as_ptr() as u32,
                capacity: bytes.len() as u32,
                length: bytes.len() as u32,
            }
        }
        fn ptr(&self) -> u32 {
            self as *const Region as u32
        }
    }

    extern "C" {
        fn db_read(key: u32) -> u32;
        fn db_write(key: u32, value: u32);
        fn consign_deliver(region_ptr: u32);
    }

    pub(super) fn bad_region() -> StdResult<Response> {
        let region = Region {
            offset: 0xFFFF_0000,
            capacity: 100,
            length: 100,
        };
        // SAFETY: the host must reject the Region; we only pass a pointer to a live local.
        let value = unsafe { db_read(region.ptr()) };
        Err(StdError::msg(format!(
            "db_read accepted a Region outside memory and returned {value}"
        )))
    }

    pub(super) fn bad_region_pointer() -> StdResult<Response> {
        // SAFETY: the host must reject the pointer; nothing here dereferences it.
        let value = unsafe { db_read(0xFFFF_FFF0) };
        Err(StdError::msg(format!(
            "db_read accepted a Region pointer outside memory and returned {value}"
        )))
    }

    pub(super) fn write(key: &[u8], value: &[u8]) -> StdResult<()> {
        let (key, value) = (Region::of(key), Region::of(value));
        // SAFETY: both Regions describe live slices and outlive the call.
        unsafe { db_write(key.ptr(), value.ptr()) };
        Ok(())
    }

    pub(super) fn deliver_unchecked(json: &[u8]) -> StdResult<()> {
        let region = Region::of(json);
        // SAFETY: the Region describes a live slice and outlives the call.
        unsafe { consign_deliver(region.ptr()) };
        Ok(())
    }

    pub(super) fn unreachable() -> StdResult<Response> {
        core::arch::wasm32::unreachable()
    }
}

/// Natively there is no host to misuse: each call fails with an error.
#[cfg(not(target_arch = "wasm32"))]
mod raw {
    use cosmwasm_std::{Response, StdError, StdResult};

    fn wasm_only<T>() -> StdResult<T> {
        Err(StdError::msg("only works on wasm32"))
    }

    pub(super) fn bad_region() -> StdResult<Response> {
        wasm_only()
    }

    pub(super) fn bad_region_pointer() -> StdResult<Response> {
        wasm_only()
    }

    pub(super) fn write(_key: &[u8], _value: &[u8]) -> StdResult<()> {
        wasm_only()
    }

    pub(super) fn deliver_unchecked(_json: &[u8]) -> StdResult<()> {
        wasm_only()
    }

    pub(super) fn unreachable() -> StdResult<Response> {
        wasm_only()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cosmwasm_std::from_json;
    use cosmwasm_std::testing::{message_info, mock_dependencies, mock_env};

    #[test]
    fn instantiate_stores_original_and_shallow_recursion_works() {
        let mut deps = mock_dependencies();
        let sender = deps.api.addr_make("creator");
        let info = message_info(&sender, &[]);
        instantiate(deps.as_mut(), mock_env(), info.clone(), InstantiateMsg {}).unwrap();
        let state: StateResponse =
            from_json(query(deps.as_ref(), mock_env(), QueryMsg::State {}).unwrap()).unwrap();
        assert_eq!(state.state.as_deref(), Some("original"));
        let msg = ExecuteMsg::Recurse { depth: 10 };
        execute(deps.as_mut(), mock_env(), info, msg).unwrap();
    }
}

//! [`deliver`]: the contract's side of the `consign_deliver` host import.

use cosmwasm_std::{to_json_vec, StdError, StdResult};

use crate::DeliveryInstruction;

/// Asks the runtime to deliver a purchase to its buyer once the current transaction commits.
///
/// The instruction is validated here first, so a contract sees a bad instruction as an ordinary
/// error it can return or map; the runtime validates it again (including `buyer` with its address
/// API) and fails the call if it is invalid. If the transaction fails or is reverted, nothing is
/// delivered.
///
/// In a contract built for `wasm32` this calls the host import `env.consign_deliver` with a
/// pointer to a Region holding the instruction's JSON. Natively (in unit tests) it records the
/// instruction instead, for the call in progress: run the entry point through
/// [`testing::call`](crate::testing::call), which keeps the call's instructions when it returns
/// `Ok` and drops them when it returns `Err`, as the chain does;
/// [`testing::take_delivered`](crate::testing::take_delivered) returns those kept.
///
/// # Errors
///
/// A [`StdError`] wrapping the [`DeliveryError`](crate::DeliveryError) if the instruction is
/// invalid, or if it cannot be serialised.
pub fn deliver(instruction: &DeliveryInstruction) -> StdResult<()> {
    instruction.validate().map_err(StdError::from)?;
    let json = to_json_vec(instruction)?;
    host::consign_deliver(json);
    Ok(())
}

#[cfg(target_arch = "wasm32")]
mod host {
    /// The memory descriptor every pointer across the contract/host boundary points to.
    #[repr(C)]
    struct Region {
        offset: u32,
        capacity: u32,
        length: u32,
    }

    extern "C" {
        // Module `env`, the default for wasm32 imports.
        #[link_name = "consign_deliver"]
        fn consign_deliver_import(region_ptr: u32);
    }

    pub(super) fn consign_deliver(json: Vec<u8>) {
        // On wasm32 pointers and `usize` are 32 bits wide, so these casts are lossless.
        let region = Region {
            offset: json.as_ptr() as u32,
            capacity: json.capacity() as u32,
            length: json.len() as u32,
        };
        // SAFETY: the host only reads the Region and the bytes it describes, both of which stay
        // alive (`region` on the stack, `json` owned here) until the call returns.
        unsafe { consign_deliver_import(&region as *const Region as u32) };
        drop(json);
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod host {
    pub(super) fn consign_deliver(json: Vec<u8>) {
        crate::testing::record(json);
    }
}

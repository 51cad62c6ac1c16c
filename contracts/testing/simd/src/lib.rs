//! A contract that uses wasm SIMD (`v128`) instructions. SIMD is refused at upload: the VM
//! allows only deterministic features, and the reference VM refuses it too.

use cosmwasm_std::{entry_point, Binary, Deps, DepsMut, Env, MessageInfo, Response, StdResult};
use serde::{Deserialize, Serialize};

/// Any JSON object.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Msg {}

/// Adds four lanes at once with a SIMD instruction.
#[cfg(target_arch = "wasm32")]
#[target_feature(enable = "simd128")]
fn lanes_sum(a: [i32; 4], b: [i32; 4]) -> i32 {
    use core::arch::wasm32::{i32x4, i32x4_add, i32x4_extract_lane};
    let v = i32x4_add(i32x4(a[0], a[1], a[2], a[3]), i32x4(b[0], b[1], b[2], b[3]));
    i32x4_extract_lane::<0>(v) + i32x4_extract_lane::<3>(v)
}

#[cfg(not(target_arch = "wasm32"))]
fn lanes_sum(a: [i32; 4], b: [i32; 4]) -> i32 {
    a[0] + b[0] + a[3] + b[3]
}

/// Succeeds, if the module were ever instantiated.
#[entry_point]
pub fn instantiate(
    _deps: DepsMut<'_>,
    env: Env,
    _info: MessageInfo,
    _msg: Msg,
) -> StdResult<Response> {
    let h = i32::try_from(env.block.height % 1000).unwrap_or(0);
    let sum = lanes_sum([h, 1, 2, 3], [4, 5, 6, h]);
    Ok(Response::new().add_attribute("sum", sum.to_string()))
}

/// Answers `{}` with `{}`.
#[entry_point]
pub fn query(_deps: Deps<'_>, _env: Env, _msg: Msg) -> StdResult<Binary> {
    Ok(Binary::from(b"{}"))
}

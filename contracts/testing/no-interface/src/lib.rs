//! A "contract" with no CosmWasm interface: it exports `instantiate` but neither `allocate`,
//! `deallocate` nor `interface_version_8`, so a runtime must reject it at upload, naming what is
//! missing.

/// Looks like an entry point; never reached, because the module must be rejected first.
#[no_mangle]
pub extern "C" fn instantiate(env: u32, info: u32, msg: u32) -> u32 {
    // Use the arguments so the export keeps its three-parameter signature.
    env ^ info ^ msg ^ env ^ info ^ msg
}

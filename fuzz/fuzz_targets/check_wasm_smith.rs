//! The upload checks on valid-looking modules: `wasm-smith` turns the fuzzer's bytes into a
//! module (with proposals switched on that the checks must refuse, and imports and exports the
//! checks look at), so the fuzzer gets past the parser that random bytes rarely pass.
#![no_main]

use arbitrary::Unstructured;
use consign_vm::{check_wasm, CheckConfig};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static CONFIG: OnceLock<CheckConfig> = OnceLock::new();
    let mut input = Unstructured::new(data);
    let Ok(mut config) = input.arbitrary::<wasm_smith::Config>() else {
        return;
    };
    // Bound the work per input; the checks' own limits are exercised by the raw-bytes target.
    config.max_funcs = config.max_funcs.min(200);
    config.max_instructions = config.max_instructions.min(1_000);
    let Ok(module) = wasm_smith::Module::new(config, &mut input) else {
        return;
    };
    let wasm = module.to_bytes();
    let report = check_wasm(&wasm, CONFIG.get_or_init(CheckConfig::default));
    assert_eq!(report.size, wasm.len());
});

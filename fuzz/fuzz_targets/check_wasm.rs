//! The upload checks on arbitrary bytes, with the default configuration (what the chain uses):
//! they must report, never panic, whatever the file.
#![no_main]

use consign_vm::{check_wasm, CheckConfig};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static CONFIG: OnceLock<CheckConfig> = OnceLock::new();
    let report = check_wasm(data, CONFIG.get_or_init(CheckConfig::default));
    assert_eq!(report.size, data.len());
});

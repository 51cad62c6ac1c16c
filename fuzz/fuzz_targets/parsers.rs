//! Small parsers of user input: sizes (`--max-size 512MiB`, the storage node's quotas). They
//! must refuse or answer, never panic; a whole number of bytes prints and parses back exactly.
#![no_main]

use consign_util::size::{format_size, parse_size};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(bytes) = parse_size(text) {
        let _ = format_size(bytes);
        assert_eq!(parse_size(&bytes.to_string()).ok(), Some(bytes));
    }
});

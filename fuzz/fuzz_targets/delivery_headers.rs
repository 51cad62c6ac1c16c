//! The inbox's reading of a delivery's `x-consign-*` headers, as any stranger who can reach the
//! buyer's endpoint may send them. The input is a header block: lines of `name: value`, as many
//! and as repeated as the fuzzer likes; names and values that HTTP itself refuses are skipped.
#![no_main]

use consign_client::inbox::DeliveryHeaders;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    for line in data.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name),
            HeaderValue::from_bytes(value.trim_ascii()),
        ) else {
            continue;
        };
        headers.append(name, value);
    }
    if let Ok(parsed) = DeliveryHeaders::parse(&headers) {
        assert_eq!(parsed.content_sha256.len(), 64);
    }
});

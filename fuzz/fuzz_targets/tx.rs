//! A broadcast transaction as a stranger may send it to the node's `POST /v1/txs`: decoding and
//! signature verification must never panic, and what decodes must re-encode to something that
//! decodes to the same transaction (the sign bytes are canonical). The same bytes read as text
//! go through `TxHash` and `GasPrice` parsing, which take user input on the command line and in
//! the API's paths.
#![no_main]

use consign_types::{GasPrice, Tx, TxHash};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = Tx::from_bytes(data) {
        let verified = tx.verify();
        let again = Tx::from_bytes(&tx.to_bytes()).expect("a decoded transaction re-decodes");
        assert_eq!(again, tx, "decode(encode(tx)) differs from tx");
        assert_eq!(
            again.verify().is_ok(),
            verified.is_ok(),
            "verification depends on the JSON's formatting"
        );
        let _ = Tx::hash(data);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(hash) = text.parse::<TxHash>() {
            let again: TxHash = hash.to_string().parse().expect("a printed hash parses");
            assert_eq!(again, hash);
        }
        if let Ok(price) = text.parse::<GasPrice>() {
            let again: GasPrice = price
                .to_string()
                .parse()
                .expect("a printed gas price parses");
            assert_eq!(again, price);
            let _ = price.fee(u64::MAX);
        }
    }
});

//! The storage node's signed messages as a stranger may send them: an upload grant in the
//! `x-consign-upload` header and a registration (a JSON body, and the same header form).
//! Parsing and verifying must never panic; what parses must round-trip through its header form.
#![no_main]

use consign_types::{Registration, Signed, UploadGrant, REGISTRATION_DOMAIN, UPLOAD_DOMAIN};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde::Serialize;

fn header<T>(value: &str, domain: &str)
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    if let Ok(signed) = Signed::<T>::from_header_value(value) {
        let verified = signed.verify(domain).ok();
        let again = Signed::<T>::from_header_value(&signed.to_header_value())
            .expect("a parsed signed message re-parses");
        assert_eq!(again, signed);
        assert_eq!(again.verify(domain).ok(), verified);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        header::<UploadGrant>(text, UPLOAD_DOMAIN);
        header::<Registration>(text, REGISTRATION_DOMAIN);
    }
    // `POST /v1/registrations` takes the JSON itself.
    if let Ok(signed) = serde_json::from_slice::<Signed<Registration>>(data) {
        let _ = signed.verify(REGISTRATION_DOMAIN);
    }
});

//! The contract's migrate version: the `cw_migrate_version` custom section that cosmwasm-std's
//! `#[migrate_version(N)]` writes, a `u64` in decimal UTF-8. The chain passes the version of a
//! contract's old code to the new code's `migrate` (`MigrateInfo::old_migrate_version`).

use wasmtime::wasmparser::{Parser, Payload};

use super::CheckError;

/// The custom section's name.
pub(super) const SECTION: &str = "cw_migrate_version";

/// The migrate version a module declares: `Ok(None)` without the section, an error if the
/// section does not hold a decimal `u64` (the upload check refuses such a contract, as
/// cosmwasm-vm does). A module that does not parse declares nothing.
pub fn migrate_version(wasm: &[u8]) -> Result<Option<u64>, CheckError> {
    for payload in Parser::new(0).parse_all(wasm) {
        let Ok(payload) = payload else {
            return Ok(None);
        };
        match payload {
            Payload::CustomSection(section) if section.name() == SECTION => {
                return parse(section.data()).map(Some);
            }
            // The code section's bodies are skipped, not decoded, so this scan is cheap.
            _ => {}
        }
    }
    Ok(None)
}

pub(super) fn parse(data: &[u8]) -> Result<u64, CheckError> {
    let text = String::from_utf8_lossy(data);
    text.parse::<u64>().map_err(|e| CheckError::InvalidWasm {
        message: format!(
            "the custom section {SECTION} holds {text:?}, not a migrate version (a decimal u64): \
             {e}; declare it with cosmwasm-std's #[migrate_version(N)]"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module with one custom section.
    fn module_with(name: &str, data: &[u8]) -> Vec<u8> {
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        let mut body = vec![u8::try_from(name.len()).unwrap()];
        body.extend_from_slice(name.as_bytes());
        body.extend_from_slice(data);
        wasm.push(0);
        wasm.push(u8::try_from(body.len()).unwrap());
        wasm.extend(body);
        wasm
    }

    #[test]
    fn reads_the_section() {
        assert_eq!(migrate_version(&module_with(SECTION, b"42")), Ok(Some(42)));
        assert_eq!(migrate_version(&module_with("other", b"42")), Ok(None));
        assert_eq!(migrate_version(b"\0asm\x01\0\0\0"), Ok(None));
    }

    #[test]
    fn a_malformed_version_is_refused_with_the_fix() {
        for bad in [&b"-1"[..], b"", b"1.0", b"99999999999999999999"] {
            let err = migrate_version(&module_with(SECTION, bad)).unwrap_err();
            assert_eq!(err.rule(), "invalid-wasm");
            assert!(err.to_string().contains("#[migrate_version(N)]"), "{err}");
        }
    }
}

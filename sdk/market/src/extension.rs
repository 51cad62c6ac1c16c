//! The rule for an offer's public file name extension, shared by the contract (which refuses
//! others), the seller's tools (which check before signing) and the buyer's inbox (which names
//! saved files with it, so it must never carry a path).

/// The longest extension accepted, in bytes (`tar.zst`, `geojson` and the like fit).
pub const MAX_EXTENSION_LEN: usize = 16;

/// Checks an extension given without its leading dot: 1 to [`MAX_EXTENSION_LEN`] ASCII letters
/// and digits, in parts separated by single dots (`csv`, `tar.gz`). Nothing else can appear in
/// it, so a saved file's name built with it stays one file name in its directory.
///
/// # Errors
///
/// The reason, in words.
pub fn validate_extension(extension: &str) -> Result<(), String> {
    if extension.is_empty() || extension.len() > MAX_EXTENSION_LEN {
        return Err(format!(
            "an extension has 1 to {MAX_EXTENSION_LEN} characters, got {}",
            extension.len()
        ));
    }
    let parts_ok = extension
        .split('.')
        .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric()));
    if !parts_ok {
        return Err(format!(
            "{extension:?} is not an extension: use ASCII letters and digits, with single dots \
             between parts (csv, tar.gz), and no leading dot"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_compound_extensions_pass() {
        for ok in ["csv", "tar.gz", "JSON", "mp4", "a.b.c", "x1234567890abcde"] {
            assert_eq!(validate_extension(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn anything_that_could_leave_the_name_is_refused() {
        for bad in [
            "",
            ".csv",
            "csv.",
            "tar..gz",
            "../x",
            "a/b",
            "a\\b",
            "c v",
            "csv\n",
            "é",
            "x12345678901234567",
        ] {
            assert!(validate_extension(bad).is_err(), "{bad:?}");
        }
    }
}

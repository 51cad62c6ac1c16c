//! Byte sizes as people write and read them, one rule for every flag, config file and report.
//!
//! **Parsing** ([`parse_size`]): a whole or decimal number, optional spaces, then an optional
//! unit, in any case:
//!
//! | unit | bytes |
//! |---|---|
//! | none, `B` | 1 |
//! | `KiB`, `MiB`, `GiB`, `TiB` | 1024, 1024², 1024³, 1024⁴ (binary: what `consign` prints) |
//! | `KB`, `MB`, `GB`, `TB` and `K`, `M`, `G`, `T` | 1000, 1000², 1000³, 1000⁴ (decimal, as disks are sold) |
//!
//! So `1048576`, `1MiB`, `64 GiB`, `1.5KiB` (1536), `500MB` (500,000,000) and `64M`
//! (64,000,000) are all sizes; a decimal number is rounded to the nearest byte.
//!
//! **Printing** ([`format_size`]): binary units always: bytes below 1 KiB (`1023 B`), a whole
//! number when the size is an exact multiple of its unit (`256 MiB`), else one decimal for KiB
//! (`184.2 KiB`) and two above (`3.34 MiB`).
//!
//! (The `bytesize` crate was considered: its printer writes one decimal for every unit and
//! `1.0 GiB` for exact sizes, which would change what `consign check` and the delivery
//! benchmark print, and its parser reads `K` differently.)

/// Units above bytes, in the order [`format_size`] tries them (largest first).
const BINARY_UNITS: [(&str, u64); 6] = [
    ("EiB", 1 << 60),
    ("PiB", 1 << 50),
    ("TiB", 1 << 40),
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
];

/// Why a text is not a size.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SizeError {
    /// Not a number with a known unit.
    #[error("`{text}` is not a size; write bytes (1048576) or e.g. 10GiB, 500MB")]
    Invalid {
        /// The text given.
        text: String,
    },
    /// More bytes than a `u64` holds.
    #[error("`{text}` is too large: at most {max} bytes", max = u64::MAX)]
    TooLarge {
        /// The text given.
        text: String,
    },
}

/// Parses a size in bytes by the rule in the [module docs](self).
///
/// # Errors
///
/// [`SizeError::Invalid`] (the message says what to write instead) or
/// [`SizeError::TooLarge`].
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let invalid = || SizeError::Invalid {
        text: text.to_owned(),
    };
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" => 1_000,
        "mb" | "m" => 1_000_000,
        "gb" | "g" => 1_000_000_000,
        "tb" | "t" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return Err(invalid()),
    };
    if let Ok(whole) = number.parse::<u64>() {
        return whole
            .checked_mul(factor)
            .ok_or_else(|| SizeError::TooLarge {
                text: text.to_owned(),
            });
    }
    let fractional: f64 = number.parse().map_err(|_| invalid())?;
    // Sizes with a fraction are approximate by nature; the cast saturates.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let bytes = (fractional * factor as f64).round() as u64;
    Ok(bytes)
}

/// Prints `bytes` by the rule in the [module docs](self): `1023 B`, `184.2 KiB`, `3.34 MiB`,
/// `256 MiB`, `1 GiB`.
pub fn format_size(bytes: u64) -> String {
    let Some(&(name, unit)) = BINARY_UNITS.iter().find(|(_, unit)| bytes >= *unit) else {
        return format!("{bytes} B");
    };
    if bytes.is_multiple_of(unit) {
        return format!("{} {name}", bytes / unit);
    }
    // Printing needs a few significant digits only.
    #[allow(clippy::cast_precision_loss)]
    let value = bytes as f64 / unit as f64;
    if unit == 1 << 10 {
        format!("{value:.1} {name}")
    } else {
        format!("{value:.2} {name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_the_storage_node_and_the_demo_accept_them() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("10GiB"), Ok(10 << 30));
        assert_eq!(parse_size("64 GiB"), Ok(64 << 30));
        assert_eq!(parse_size("500MB"), Ok(500_000_000));
        assert_eq!(parse_size("1.5KiB"), Ok(1536));
        assert!(parse_size("ten").unwrap_err().to_string().contains("10GiB"));
        assert!(parse_size("5 parsecs").is_err());
        assert!(parse_size("99999999999TiB")
            .unwrap_err()
            .to_string()
            .contains("too large"));
        // The demo's and the benchmark's spellings.
        for (text, bytes) in [
            ("1MiB", 1 << 20),
            ("256MiB", 256 << 20),
            ("2GiB", 2 << 30),
            ("64KiB", 64 << 10),
            ("1000", 1000),
            ("7b", 7),
            ("3mib", 3 << 20),
            ("64M", 64_000_000),
            ("2k", 2000),
            ("1TB", 1_000_000_000_000),
            ("1TiB", 1 << 40),
        ] {
            assert_eq!(parse_size(text), Ok(bytes), "{text}");
        }
        assert!(parse_size("").is_err());
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("1..5MiB").is_err());
    }

    #[test]
    fn printed_in_binary_units() {
        // `consign check`'s sizes.
        assert_eq!(format_size(1023), "1023 B");
        assert_eq!(format_size(188_621), "184.2 KiB");
        assert_eq!(format_size(3_500_000), "3.34 MiB");
        // The delivery benchmark's sizes.
        assert_eq!(format_size(1 << 30), "1 GiB");
        assert_eq!(format_size(256 << 20), "256 MiB");
        assert_eq!(format_size(1000), "1000 B");
        assert_eq!(format_size(0), "0 B");
        assert_eq!(format_size(u64::MAX), "16.00 EiB");
        // What is printed parses back to the same size when it is exact.
        for size in [1u64 << 20, 5 << 30, 3 << 10, 12] {
            assert_eq!(parse_size(&format_size(size)), Ok(size));
        }
    }
}

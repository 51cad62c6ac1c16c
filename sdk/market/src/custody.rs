//! The public part of a k-of-n custody set that an offer may carry (issue 14): what the buyer's
//! inbox and each storage node check fragments and key shares against. It names no storage node.
//!
//! The JSON is exactly `consign-custody`'s `Commitments` (version 1), so tools convert one into
//! the other through serde. The contract checks only what it can without curve arithmetic — the
//! version, `1 ≤ k ≤ n ≤ 255`, the counts and the hex — and the inbox, which rebuilds, checks the
//! rest (points on the curve, sizes the parameters allow) when it reads the offer.

use cosmwasm_schema::cw_serde;

/// The only custody format version there is.
pub const CUSTODY_VERSION: u8 = 1;

/// The most fragments (storage nodes) one set may have.
pub const MAX_CUSTODY_FRAGMENTS: u16 = 255;

/// Commitments to a custody set: `k` of `n` fragments and key shares rebuild the data.
#[cw_serde]
#[derive(Eq)]
pub struct Custody {
    /// The format version, [`CUSTODY_VERSION`].
    pub version: u8,
    /// The set's random id, 32 lowercase hex characters: it ties the set's pieces together.
    pub set_id: String,
    /// Pieces needed to rebuild: any `k` fragments and `k` shares.
    pub k: u16,
    /// Fragments and shares made, one per storage node.
    pub n: u16,
    /// The Reed–Solomon shard size in bytes.
    pub shard_size: u32,
    /// The size of the age ciphertext the fragments encode.
    pub ciphertext_size: u64,
    /// SHA-256 of each fragment (header and body), by index; `n` of them, 64 hex each.
    pub fragment_sha256: Vec<String>,
    /// Feldman commitments to the key polynomial's `k` coefficients: compressed secp256k1 points,
    /// 66 hex each.
    pub share_commitments: Vec<String>,
}

impl Custody {
    /// The checks the contract makes: version, `1 ≤ k ≤ n ≤ 255`, a non-zero shard and
    /// ciphertext size, `n` fragment digests and `k` commitments of the right hex lengths.
    ///
    /// # Errors
    ///
    /// The first thing wrong, in words.
    pub fn validate(&self) -> Result<(), String> {
        if self.version != CUSTODY_VERSION {
            return Err(format!(
                "custody version {} is not known (this contract reads version {CUSTODY_VERSION})",
                self.version
            ));
        }
        if self.k == 0 || self.k > self.n || self.n > MAX_CUSTODY_FRAGMENTS {
            return Err(format!(
                "k = {} of n = {} is impossible: 1 ≤ k ≤ n ≤ {MAX_CUSTODY_FRAGMENTS}",
                self.k, self.n
            ));
        }
        if self.shard_size == 0 || self.ciphertext_size == 0 {
            return Err("the shard size and the ciphertext size must not be zero".into());
        }
        check_hex("set_id", &self.set_id, 32)?;
        if self.fragment_sha256.len() != usize::from(self.n) {
            return Err(format!(
                "{} fragment digests for n = {}",
                self.fragment_sha256.len(),
                self.n
            ));
        }
        if self.share_commitments.len() != usize::from(self.k) {
            return Err(format!(
                "{} share commitments for k = {}",
                self.share_commitments.len(),
                self.k
            ));
        }
        for digest in &self.fragment_sha256 {
            check_hex("fragment_sha256", digest, 64)?;
        }
        for point in &self.share_commitments {
            check_hex("share_commitments", point, 66)?;
        }
        Ok(())
    }
}

fn check_hex(field: &str, value: &str, len: usize) -> Result<(), String> {
    if value.len() != len
        || !value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(format!(
            "{field}: `{value}` is not {len} lowercase hex characters"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custody() -> Custody {
        Custody {
            version: 1,
            set_id: "ab".repeat(16),
            k: 2,
            n: 3,
            shard_size: 65536,
            ciphertext_size: 1000,
            fragment_sha256: vec!["0f".repeat(32); 3],
            share_commitments: vec![format!("02{}", "11".repeat(32)); 2],
        }
    }

    #[test]
    fn a_well_formed_set_passes() {
        custody().validate().unwrap();
    }

    #[test]
    fn impossible_thresholds_counts_and_hex_are_refused_by_name() {
        type Break = fn(&mut Custody);
        let cases: [(Break, &str); 8] = [
            (|c| c.k = 0, "k = 0 of n = 3"),
            (|c| c.k = 4, "k = 4 of n = 3"),
            (|c| c.version = 2, "version 2"),
            (|c| c.ciphertext_size = 0, "must not be zero"),
            (
                |c| {
                    c.fragment_sha256.pop();
                },
                "2 fragment digests for n = 3",
            ),
            (
                |c| c.share_commitments.push(String::new()),
                "3 share commitments for k = 2",
            ),
            (|c| c.set_id = "AB".repeat(16), "set_id"),
            (
                |c| c.fragment_sha256[1] = "0g".repeat(32),
                "fragment_sha256",
            ),
        ];
        for (break_it, expected) in cases {
            let mut c = custody();
            break_it(&mut c);
            let err = c.validate().unwrap_err();
            assert!(
                err.contains(expected),
                "{err:?} should mention {expected:?}"
            );
        }
    }
}

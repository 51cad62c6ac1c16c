//! The fragment header: 48 bytes at the start of every fragment that say what it is, so a
//! storage node can check a fragment's size before taking its body and a buyer can tell a
//! fragment of another set or of the wrong index before reading on.
//!
//! | bytes | field |
//! |---|---|
//! | 0..8 | magic `CSGNFRAG` |
//! | 8 | format version, 1 |
//! | 9 | reserved, 0 |
//! | 10..12 | `k`, big-endian |
//! | 12..14 | `n`, big-endian |
//! | 14..16 | this fragment's index, `0..n`, big-endian |
//! | 16..20 | shard size in bytes, big-endian |
//! | 20..28 | the ciphertext's size in bytes, big-endian |
//! | 28..44 | the set id (random, chosen by the seller; names no offer and no node) |
//! | 44..48 | reserved, 0 |
//!
//! The body follows: one shard of `shard_size` bytes per stripe, so a fragment is exactly
//! [`Params::fragment_size`] bytes.

use crate::error::HeaderError;
use crate::params::Params;
use crate::SetId;

/// The size of a fragment header in bytes.
pub const HEADER_LEN: usize = 48;
/// The first bytes of every fragment.
pub const MAGIC: [u8; 8] = *b"CSGNFRAG";
/// The fragment and commitment format this crate writes and reads.
pub const FORMAT_VERSION: u8 = 1;

/// What a fragment's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentHeader {
    /// The custody set the fragment belongs to.
    pub set_id: SetId,
    /// `k`, `n` and the shard size.
    pub params: Params,
    /// The fragment's index, `0..n`: storage node `index` holds it with key share `index`.
    pub index: u16,
    /// The size of the whole ciphertext, in bytes.
    pub ciphertext_size: u64,
}

impl FragmentHeader {
    /// The header's bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut bytes = [0u8; HEADER_LEN];
        bytes[0..8].copy_from_slice(&MAGIC);
        bytes[8] = FORMAT_VERSION;
        bytes[10..12].copy_from_slice(&self.params.k().to_be_bytes());
        bytes[12..14].copy_from_slice(&self.params.n().to_be_bytes());
        bytes[14..16].copy_from_slice(&self.index.to_be_bytes());
        bytes[16..20].copy_from_slice(&self.params.shard_size().to_be_bytes());
        bytes[20..28].copy_from_slice(&self.ciphertext_size.to_be_bytes());
        bytes[28..44].copy_from_slice(&self.set_id.0);
        bytes
    }

    /// Reads a header.
    ///
    /// # Errors
    ///
    /// [`HeaderError`] saying what is wrong: not a fragment, an unknown version, reserved bytes
    /// set, invalid parameters, or an index out of range.
    pub fn decode(bytes: &[u8; HEADER_LEN]) -> Result<Self, HeaderError> {
        if bytes[0..8] != MAGIC {
            return Err(HeaderError::NotAFragment);
        }
        if bytes[8] != FORMAT_VERSION {
            return Err(HeaderError::Version { version: bytes[8] });
        }
        if bytes[9] != 0 || bytes[44..48] != [0; 4] {
            return Err(HeaderError::Reserved);
        }
        let u16_at = |at: usize| u16::from_be_bytes([bytes[at], bytes[at + 1]]);
        let k = u16_at(10);
        let n = u16_at(12);
        let index = u16_at(14);
        let shard_size = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
        let mut size = [0u8; 8];
        size.copy_from_slice(&bytes[20..28]);
        let ciphertext_size = u64::from_be_bytes(size);
        let mut set_id = [0u8; 16];
        set_id.copy_from_slice(&bytes[28..44]);
        let params = Params::new(k, n)
            .and_then(|p| p.with_shard_size(shard_size))
            .map_err(HeaderError::Params)?;
        if index >= n {
            return Err(HeaderError::Index { index, n });
        }
        if params.fragment_size(ciphertext_size).is_none() {
            return Err(HeaderError::Size { ciphertext_size });
        }
        Ok(Self {
            set_id: SetId(set_id),
            params,
            index,
            ciphertext_size,
        })
    }

    /// The fragment's whole size in bytes, header included.
    pub fn fragment_size(&self) -> u64 {
        // `decode` and `prepare` only build headers whose size fits.
        self.params
            .fragment_size(self.ciphertext_size)
            .unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> FragmentHeader {
        FragmentHeader {
            set_id: SetId([7; 16]),
            params: Params::new(3, 5).unwrap().with_shard_size(4096).unwrap(),
            index: 4,
            ciphertext_size: 1_000_000,
        }
    }

    #[test]
    fn round_trips_and_says_its_size() {
        let h = header();
        let bytes = h.encode();
        assert_eq!(&bytes[..8], b"CSGNFRAG");
        assert_eq!(FragmentHeader::decode(&bytes).unwrap(), h);
        // 1_000_000 / (3 × 4096) → 82 stripes of 4096 bytes.
        assert_eq!(h.fragment_size(), 48 + 82 * 4096);
    }

    #[test]
    fn hostile_headers_are_refused_with_their_reason() {
        let good = header().encode();
        let cases: [(usize, u8, &str); 6] = [
            (0, b'X', "not a custody fragment"),
            (8, 2, "version 2"),
            (9, 1, "reserved"),
            (15, 5, "index 5"),
            (11, 6, "1 ≤ k ≤ n"),
            (19, 1, "shard size"),
        ];
        for (at, value, expected) in cases {
            let mut bytes = good;
            bytes[at] = value;
            let err = FragmentHeader::decode(&bytes).unwrap_err().to_string();
            assert!(err.contains(expected), "byte {at}: {err}");
        }
        let mut huge = good;
        huge[20..28].copy_from_slice(&u64::MAX.to_be_bytes());
        let err = FragmentHeader::decode(&huge).unwrap_err();
        assert!(matches!(err, HeaderError::Size { .. }), "{err}");
    }
}

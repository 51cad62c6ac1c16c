//! k-of-n custody for Consign: Krawczyk's "secret sharing made short" (CRYPTO '93).
//!
//! The seller encrypts the file with [age](https://age-encryption.org/v1) to a fresh X25519
//! identity (the data key), erasure-codes the ciphertext with Reed–Solomon into `n` fragments of
//! which any `k` rebuild it, and splits the key with Shamir's scheme, `k` of `n`, with Feldman
//! commitments. Storage node `i` holds fragment `i` and key share `i`; the offer may carry the
//! public [`Commitments`], which name no storage node. The buyer checks every piece as it
//! arrives, rebuilds the key from `k` shares and the ciphertext from `k` fragments, stripe by
//! stripe, and decrypts. Any `k − 1` nodes together learn nothing of the data; any `n − k` may be
//! down.
//!
//! Both sides stream: memory is about [`Params::buffer_bound`] whatever the file's size.
//!
//! ```
//! use consign_custody::{prepare, Assembly, Params};
//!
//! let data = b"the data that was sold".repeat(1000);
//! let params = Params::new(2, 3)?;
//! // The seller: three fragments (files or uploads in practice), three shares, commitments.
//! let prepared = prepare(params, &data[..], data.len() as u64, vec![Vec::new(); 3])?;
//!
//! // The buyer: pieces arrive in any order; node 1 never answers.
//! let dir = tempfile::tempdir()?;
//! let mut assembly = Assembly::open(prepared.commitments.clone(), dir.path())?;
//! assembly.add_fragment(&prepared.fragments[2][..])?;
//! assembly.add_share(prepared.shares[2].clone())?;
//! assert_eq!(assembly.status().fragments_needed(), 1);
//! assembly.add_share(prepared.shares[0].clone())?;
//! assembly.add_fragment(&prepared.fragments[0][..])?;
//! assert!(assembly.status().is_ready());
//!
//! let mut plaintext = Vec::new();
//! let report = assembly.rebuild(&mut plaintext)?;
//! assert_eq!(plaintext, data);
//! assert_eq!(report.plaintext_size, data.len() as u64);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod assembly;
mod commitments;
mod error;
mod header;
mod hexser;
mod key;
mod params;
mod prepare;
mod rebuild;
mod sealed;

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use assembly::{Accepted, Assembly, Status};
pub use commitments::Commitments;
pub use error::{
    CommitmentsError, HeaderError, ParamsError, PieceError, PrepareError, RebuildError,
    SealedShareError,
};
pub use header::{FragmentHeader, FORMAT_VERSION, HEADER_LEN, MAGIC};
pub use key::{DataKey, KeyShare};
pub use params::{
    Params, DEFAULT_BUFFER, DEFAULT_SHARD_SIZE, MAX_BUFFER, MAX_CIPHERTEXT_SIZE, MAX_FRAGMENTS,
    MAX_SHARD_SIZE, MIN_SHARD_SIZE,
};
pub use prepare::{prepare, Prepared};
pub use rebuild::{check_fragment, rebuild, rebuild_key, CiphertextReader, RebuildReport};
pub use sealed::MAX_SEALED_SHARE_LEN;

/// A custody set's id: 16 random bytes the seller chooses when it prepares the set. It ties a
/// set's fragments, shares and commitments together; it is derived from nothing (no offer, no
/// node, no file), so it links to nothing. Hex in text.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SetId(pub [u8; 16]);

impl fmt::Display for SetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for SetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SetId({self})")
    }
}

impl Serialize for SetId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for SetId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        hexser::decode(&text)
            .map(SetId)
            .map_err(serde::de::Error::custom)
    }
}

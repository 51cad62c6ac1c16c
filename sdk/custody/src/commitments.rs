//! The public commitments of a custody set: what an offer may carry so the buyer (and each
//! storage node) can check every piece. They name no storage node: `k`, `n`, the shard size,
//! the ciphertext's size, one SHA-256 per fragment (by index), and the Feldman commitments to
//! the key shares.
//!
//! No SHA-256 of the whole ciphertext: the fragment digests bind every byte the buyer decodes
//! (the code is deterministic), and age authenticates every chunk; a digest of the ciphertext
//! would cost a SHA-256 pass on each side for no check the others do not already make.
//!
//! As JSON (the [`Commitments`] serde form):
//!
//! ```json
//! {"version":1,"set_id":"<32 hex>","k":2,"n":3,"shard_size":65536,
//!  "ciphertext_size":1048853,
//!  "fragment_sha256":["<64 hex>","<64 hex>","<64 hex>"],
//!  "share_commitments":["<66 hex: compressed secp256k1 point>","<66 hex>"]}
//! ```

use k256::ProjectivePoint;
use serde::{Deserialize, Serialize};

use crate::error::{CommitmentsError, PieceError};
use crate::header::{FragmentHeader, FORMAT_VERSION};
use crate::key::{self, KeyShare};
use crate::params::Params;
use crate::{hexser, SetId};

/// What the buyer checks fragments and shares against. Public: it may go in the offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CommitmentsWire", into = "CommitmentsWire")]
pub struct Commitments {
    set_id: SetId,
    params: Params,
    ciphertext_size: u64,
    fragment_sha256: Vec<[u8; 32]>,
    share_commitments: Vec<ProjectivePoint>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommitmentsWire {
    version: u8,
    set_id: SetId,
    k: u16,
    n: u16,
    shard_size: u32,
    ciphertext_size: u64,
    #[serde(with = "hexser::list")]
    fragment_sha256: Vec<[u8; 32]>,
    #[serde(with = "hexser::list")]
    share_commitments: Vec<[u8; 33]>,
}

impl TryFrom<CommitmentsWire> for Commitments {
    type Error = CommitmentsError;

    fn try_from(wire: CommitmentsWire) -> Result<Self, CommitmentsError> {
        if wire.version != FORMAT_VERSION {
            return Err(CommitmentsError::Version {
                version: wire.version,
            });
        }
        let params = Params::new(wire.k, wire.n)
            .and_then(|p| p.with_shard_size(wire.shard_size))
            .map_err(CommitmentsError::Params)?;
        if params.fragment_size(wire.ciphertext_size).is_none() {
            return Err(CommitmentsError::Size {
                ciphertext_size: wire.ciphertext_size,
            });
        }
        if wire.fragment_sha256.len() != usize::from(wire.n) {
            return Err(CommitmentsError::FragmentDigests {
                n: wire.n,
                found: wire.fragment_sha256.len(),
            });
        }
        if wire.share_commitments.len() != usize::from(wire.k) {
            return Err(CommitmentsError::ShareCommitments {
                k: wire.k,
                found: wire.share_commitments.len(),
            });
        }
        let share_commitments = wire
            .share_commitments
            .iter()
            .enumerate()
            .map(|(index, bytes)| key::decode_point(bytes).ok_or(CommitmentsError::Point { index }))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            set_id: wire.set_id,
            params,
            ciphertext_size: wire.ciphertext_size,
            fragment_sha256: wire.fragment_sha256,
            share_commitments,
        })
    }
}

impl From<Commitments> for CommitmentsWire {
    fn from(c: Commitments) -> Self {
        Self {
            version: FORMAT_VERSION,
            set_id: c.set_id,
            k: c.params.k(),
            n: c.params.n(),
            shard_size: c.params.shard_size(),
            ciphertext_size: c.ciphertext_size,
            fragment_sha256: c.fragment_sha256,
            share_commitments: c.share_commitments.iter().map(key::encode_point).collect(),
        }
    }
}

impl Commitments {
    pub(crate) fn new(
        set_id: SetId,
        params: Params,
        ciphertext_size: u64,
        fragment_sha256: Vec<[u8; 32]>,
        share_commitments: Vec<ProjectivePoint>,
    ) -> Self {
        Self {
            set_id,
            params,
            ciphertext_size,
            fragment_sha256,
            share_commitments,
        }
    }

    /// The custody set's id (random, chosen when it was prepared).
    pub fn set_id(&self) -> SetId {
        self.set_id
    }

    /// `k`, `n` and the shard size.
    pub fn params(&self) -> Params {
        self.params
    }

    /// The ciphertext's size in bytes.
    pub fn ciphertext_size(&self) -> u64 {
        self.ciphertext_size
    }

    /// Fragment `index`'s SHA-256 (header and body), if `index < n`.
    pub fn fragment_sha256(&self, index: u16) -> Option<[u8; 32]> {
        self.fragment_sha256.get(usize::from(index)).copied()
    }

    /// The size of every fragment in bytes, header included.
    pub fn fragment_size(&self) -> u64 {
        // Checked when the commitments were made or read.
        self.params
            .fragment_size(self.ciphertext_size)
            .unwrap_or(u64::MAX)
    }

    /// The header fragment `index` must have.
    pub fn header(&self, index: u16) -> FragmentHeader {
        FragmentHeader {
            set_id: self.set_id,
            params: self.params,
            index,
            ciphertext_size: self.ciphertext_size,
        }
    }

    /// Checks a key share: its set, its index and its Feldman commitment. A storage node runs
    /// this on the share it is given; the buyer on every share it receives.
    ///
    /// # Errors
    ///
    /// [`PieceError::ShareOtherSet`], [`PieceError::ShareIndex`] or
    /// [`PieceError::ShareInvalid`].
    pub fn verify_share(&self, share: &KeyShare) -> Result<(), PieceError> {
        key::verify(share, self.set_id, self.params.n(), &self.share_commitments)
    }

    /// Checks a fragment's header against the commitments.
    ///
    /// # Errors
    ///
    /// [`PieceError::FragmentOtherSet`] or [`PieceError::FragmentMismatch`] naming the field.
    pub fn check_header(&self, header: &FragmentHeader) -> Result<(), PieceError> {
        let index = header.index;
        if header.set_id != self.set_id {
            return Err(PieceError::FragmentOtherSet {
                index,
                expected: self.set_id,
                found: header.set_id,
            });
        }
        let fields = [
            ("k", self.params.k().into(), header.params.k().into()),
            ("n", self.params.n().into(), header.params.n().into()),
            (
                "shard size",
                self.params.shard_size().into(),
                header.params.shard_size().into(),
            ),
            (
                "ciphertext size",
                self.ciphertext_size,
                header.ciphertext_size,
            ),
        ];
        for (field, expected, found) in fields {
            if expected != found {
                return Err(PieceError::FragmentMismatch {
                    index,
                    field,
                    expected,
                    found,
                });
            }
        }
        Ok(())
    }

    pub(crate) fn share_commitments(&self) -> &[ProjectivePoint] {
        &self.share_commitments
    }
}

//! [`register`]: every check a registration goes through, in order, each refusal with its
//! reason.

use consign_client::{
    validate_address, Registration, RegistrationReceipt, Signed, SignedError, REGISTRATION_DOMAIN,
};

use super::custody::check_piece;
use super::{commit, nonce_used, Committed, RegistrationRecord};
use crate::blobs::{index, is_sha256_hex};
use crate::node::{unix_now, Services};

/// How far a registration's `issued_at` may be from the node's clock, either way (seconds).
pub const FRESHNESS_SECS: u64 = 10 * 60;
/// The longest nonce accepted.
const MAX_NONCE_LEN: usize = 128;

/// Why a registration was refused (or could not be checked).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// A field is malformed.
    #[error("invalid registration: {0}")]
    Invalid(String),
    /// The signature does not verify.
    #[error(
        "the registration's signature does not verify: {0}; sign it with the seller's account key"
    )]
    Signature(#[source] SignedError),
    /// Signed for another storage node.
    #[error("the registration is for storage node {theirs}, but this is node {ours}; get the node id from GET /v1/info")]
    WrongNode {
        /// The node it names.
        theirs: String,
        /// This node.
        ours: String,
    },
    /// Signed for another chain.
    #[error("the registration is for chain {theirs}, but this node follows chain {ours}")]
    WrongChain {
        /// The chain it names.
        theirs: String,
        /// This node's chain.
        ours: String,
    },
    /// `issued_at` too far from the node's clock.
    #[error("the registration was issued at {issued_at} (Unix seconds), more than ten minutes from this node's clock ({now}); sign a fresh one, and check the clocks")]
    Stale {
        /// Its `issued_at`.
        issued_at: u64,
        /// The node's clock.
        now: u64,
    },
    /// The nonce was used before by this signer.
    #[error("replayed registration: {signer} already used nonce `{nonce}`; sign a new registration with a fresh nonce")]
    Replayed {
        /// The signer.
        signer: String,
        /// The nonce.
        nonce: String,
    },
    /// The signer did not upload the blob here.
    #[error("blob {sha256} was not uploaded to this node by {signer}; upload it first (PUT /v1/blobs/{sha256})")]
    NoBlob {
        /// The blob.
        sha256: String,
        /// The signer.
        signer: String,
    },
    /// The chain has no such offer (or no contract at the address).
    #[error("no offer {offer_id} in contract {contract}")]
    NoOffer {
        /// The contract.
        contract: String,
        /// The offer.
        offer_id: u64,
    },
    /// The signer is not the offer's seller.
    #[error("signer {signer} is not the offer's seller {seller}")]
    NotSeller {
        /// The signer.
        signer: String,
        /// The seller on-chain.
        seller: String,
    },
    /// The offer's digest is not the blob's.
    #[error("digest differs: offer {offer_id} has content_sha256 {offer}, but the registration names blob {blob}")]
    DigestDiffers {
        /// The offer.
        offer_id: u64,
        /// The offer's digest.
        offer: String,
        /// The registration's blob.
        blob: String,
    },
    /// The offer's size is not the blob's.
    #[error("size differs: offer {offer_id} has size {offer}, but blob {sha256} has {blob} bytes")]
    SizeDiffers {
        /// The offer.
        offer_id: u64,
        /// The offer's size.
        offer: u64,
        /// The blob.
        sha256: String,
        /// The blob's size.
        blob: u64,
    },
    /// A custody piece for an offer without custody commitments.
    #[error(
        "offer {offer_id} has no custody commitments: register the whole file without `custody`"
    )]
    NotCustody {
        /// The offer.
        offer_id: u64,
    },
    /// A whole-data registration for an offer under k-of-n custody.
    #[error("offer {offer_id} is held under {k}-of-{n} custody: register the piece this node keeps, with `custody` {{index, sealed_share}} and its fragment's digest as `sha256`")]
    CustodyExpected {
        /// The offer.
        offer_id: u64,
        /// The set's `k`.
        k: u16,
        /// The set's `n`.
        n: u16,
    },
    /// The offer's custody commitments cannot be used (the contract checks only their form).
    #[error("offer {offer_id}'s custody commitments cannot be used: {reason}; no piece of it can be registered")]
    CustodyCommitments {
        /// The offer.
        offer_id: u64,
        /// What is wrong with them.
        reason: String,
    },
    /// The piece's index is not below `n`.
    #[error(
        "piece {index} does not exist: offer {offer_id}'s custody set has {n} pieces (0..{n})"
    )]
    PieceIndex {
        /// The offer.
        offer_id: u64,
        /// The index named.
        index: u16,
        /// The set's `n`.
        n: u16,
    },
    /// The blob is not the fragment the offer commits to at this index.
    #[error(
        "fragment {index}'s digest in the offer is {offer}, the registration names {blob}{hint}"
    )]
    FragmentDigest {
        /// The index named.
        index: u16,
        /// The offer's digest for that fragment.
        offer: String,
        /// The registration's blob.
        blob: String,
        /// What the blob is, when the offer knows it (another index's fragment).
        hint: String,
    },
    /// The blob is not the size of the offer's fragments.
    #[error("fragment {index} is {blob} bytes here (blob {sha256}), but offer {offer_id}'s fragments are {offer} bytes each")]
    FragmentSize {
        /// The offer.
        offer_id: u64,
        /// The index named.
        index: u16,
        /// The blob.
        sha256: String,
        /// The blob's size.
        blob: u64,
        /// The offer's fragment size.
        offer: u64,
    },
    /// The key share does not open with this node's custody key.
    #[error("the key share is not sealed to this node (its custody recipient is {recipient}): {reason}; seal share {index} to the `custody_recipient` of GET /v1/info")]
    ShareNotOurs {
        /// The piece's index.
        index: u16,
        /// This node's custody recipient.
        recipient: String,
        /// Why it does not open.
        reason: String,
    },
    /// The key share opens but does not pass the offer's commitments.
    #[error("share {index} fails its commitment: {reason}")]
    ShareFails {
        /// The piece's index.
        index: u16,
        /// How it fails.
        reason: String,
    },
    /// This node keeps another piece of the offer already.
    #[error("this node already keeps piece {kept} of offer {offer_id}; one node keeps at most one piece of an offer (a node holding k pieces could rebuild the data): register piece {index} with another storage node")]
    OtherPiece {
        /// The offer.
        offer_id: u64,
        /// The piece kept.
        kept: u16,
        /// The piece offered.
        index: u16,
    },
    /// The chain could not be asked; nothing was decided.
    #[error("cannot check the offer on the chain right now: {0:#}; try again later")]
    Chain(#[source] anyhow::Error),
    /// The node's storage failed.
    #[error("the storage node failed: {0:#}")]
    Storage(#[source] anyhow::Error),
}

/// Checks a registration and, if every check passes, records it (idempotent for the same
/// binding with a fresh nonce).
///
/// The checks, in order: the fields are well-formed; the signature verifies; it names this node
/// and this chain; `issued_at` is within [`FRESHNESS_SECS`] of the node's clock; the nonce is
/// unused; the signer uploaded the blob here; the offer exists on-chain, the signer is its
/// seller, and its digest and size are the blob's. For an offer under custody, instead of the
/// last two: the registration names a piece, and the piece passes the offer's commitments
/// (see [`super::custody`]); this node keeps no other piece of the offer.
///
/// # Errors
///
/// The first check that failed, as a [`RegistrationError`].
pub async fn register(
    svc: &Services,
    signed: Signed<Registration>,
) -> Result<RegistrationReceipt, RegistrationError> {
    let reg = &signed.payload;
    if !is_sha256_hex(&reg.sha256) {
        return Err(RegistrationError::Invalid(format!(
            "sha256 `{}` is not 64 lowercase hex characters",
            reg.sha256
        )));
    }
    validate_address(&reg.contract).map_err(|e| {
        RegistrationError::Invalid(format!(
            "contract `{}` is not an address: {e}",
            reg.contract
        ))
    })?;
    if reg.nonce.is_empty()
        || reg.nonce.len() > MAX_NONCE_LEN
        || !reg.nonce.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(RegistrationError::Invalid(format!(
            "the nonce must be 1 to {MAX_NONCE_LEN} printable ASCII characters without spaces \
             (random hex is fine)"
        )));
    }
    let signer = signed
        .verify(REGISTRATION_DOMAIN)
        .map_err(RegistrationError::Signature)?;
    if reg.node_id != svc.node_id {
        return Err(RegistrationError::WrongNode {
            theirs: reg.node_id.clone(),
            ours: svc.node_id.clone(),
        });
    }
    let ours = svc
        .chain
        .verified_chain_id()
        .map_err(RegistrationError::Chain)?;
    if reg.chain_id != ours {
        return Err(RegistrationError::WrongChain {
            theirs: reg.chain_id.clone(),
            ours: ours.to_owned(),
        });
    }
    let now = unix_now();
    if reg.issued_at.abs_diff(now) > FRESHNESS_SECS {
        return Err(RegistrationError::Stale {
            issued_at: reg.issued_at,
            now,
        });
    }
    let replayed = || RegistrationError::Replayed {
        signer: signer.clone(),
        nonce: reg.nonce.clone(),
    };
    if nonce_used(&svc.db, &signer, &reg.nonce).map_err(RegistrationError::Storage)? {
        return Err(replayed());
    }
    let blob_size = index::owned_size(&svc.db, &signer, &reg.sha256)
        .map_err(RegistrationError::Storage)?
        .ok_or_else(|| RegistrationError::NoBlob {
            sha256: reg.sha256.clone(),
            signer: signer.clone(),
        })?;

    let offer = svc
        .chain
        .offer(&reg.contract, reg.offer_id)
        .await
        .map_err(RegistrationError::Chain)?
        .ok_or_else(|| RegistrationError::NoOffer {
            contract: reg.contract.clone(),
            offer_id: reg.offer_id,
        })?;
    if offer.seller.as_str() != signer {
        return Err(RegistrationError::NotSeller {
            signer,
            seller: offer.seller.into_string(),
        });
    }
    let custody = match (&reg.custody, &offer.custody) {
        (None, None) => {
            if offer.content_sha256 != reg.sha256 {
                return Err(RegistrationError::DigestDiffers {
                    offer_id: reg.offer_id,
                    offer: offer.content_sha256,
                    blob: reg.sha256.clone(),
                });
            }
            if offer.size != blob_size {
                return Err(RegistrationError::SizeDiffers {
                    offer_id: reg.offer_id,
                    offer: offer.size,
                    sha256: reg.sha256.clone(),
                    blob: blob_size,
                });
            }
            None
        }
        (Some(_), None) => {
            return Err(RegistrationError::NotCustody {
                offer_id: reg.offer_id,
            })
        }
        (None, Some(commitments)) => {
            return Err(RegistrationError::CustodyExpected {
                offer_id: reg.offer_id,
                k: commitments.k,
                n: commitments.n,
            })
        }
        (Some(piece), Some(commitments)) => Some(check_piece(
            svc,
            reg,
            piece,
            commitments,
            &offer.content_sha256,
            blob_size,
        )?),
    };

    let record = RegistrationRecord {
        sha256: reg.sha256.clone(),
        seller: signer.clone(),
        registered_at: now,
        custody,
    };
    let db = svc.db.clone();
    let (contract, offer_id, nonce, issued_at) = (
        reg.contract.clone(),
        reg.offer_id,
        reg.nonce.clone(),
        reg.issued_at,
    );
    let committed = tokio::task::spawn_blocking(move || {
        commit(&db, &contract, offer_id, record, &nonce, issued_at, now)
    })
    .await
    .map_err(|e| RegistrationError::Storage(anyhow::anyhow!("the database task failed: {e}")))?
    .map_err(RegistrationError::Storage)?;
    match committed {
        Committed::Replayed => Err(replayed()),
        Committed::NoBlob => Err(RegistrationError::NoBlob {
            sha256: reg.sha256.clone(),
            signer,
        }),
        Committed::OtherPiece(kept) => Err(RegistrationError::OtherPiece {
            offer_id: reg.offer_id,
            kept,
            index: reg.custody.as_ref().map_or(kept, |piece| piece.index),
        }),
        Committed::Recorded(record) => {
            let custody_index = record.custody.as_ref().map(|piece| piece.index);
            tracing::info!(
                target: "storage::registrations",
                contract = %reg.contract,
                offer_id = reg.offer_id,
                sha256 = %record.sha256,
                seller = %record.seller,
                custody_index,
                "offer registered"
            );
            Ok(RegistrationReceipt {
                contract: reg.contract.clone(),
                offer_id: reg.offer_id,
                sha256: record.sha256,
                seller: record.seller,
                custody_index,
            })
        }
    }
}

//! [`register`]: every check a registration goes through, in order, each refusal with its
//! reason.

use consign_client::{
    validate_address, Registration, RegistrationReceipt, Signed, SignedError, REGISTRATION_DOMAIN,
};

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
/// seller, and its digest and size are the blob's.
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

    let record = RegistrationRecord {
        sha256: reg.sha256.clone(),
        seller: signer.clone(),
        registered_at: now,
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
        Committed::Recorded(record) => {
            tracing::info!(
                target: "storage::registrations",
                contract = %reg.contract,
                offer_id = reg.offer_id,
                sha256 = %record.sha256,
                seller = %record.seller,
                "offer registered"
            );
            Ok(RegistrationReceipt {
                contract: reg.contract.clone(),
                offer_id: reg.offer_id,
                sha256: record.sha256,
                seller: record.seller,
                custody_index: None,
            })
        }
    }
}

//! [`InboxError`]: why a delivery was refused, with the HTTP status the inbox answers.

use std::io;
use std::path::PathBuf;

use crate::SealError;

/// A delivery was refused, or the inbox could not be set up. Every delivery error maps to the
/// HTTP status the sender gets ([`InboxError::status`]); the storage node retries a refusal
/// the buyer can fix (an inbox restarted with the right identity, a chain that comes back)
/// until its deadline, but gives up after a few `404`s (which an inbox never answers to a
/// delivery). The checks that need no body answer the
/// storage node's preflight too ([`Inbox::preflight`](super::Inbox::preflight)), so a refused
/// delivery never costs the body.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InboxError {
    /// A required delivery header is absent (400).
    #[error("missing header `{header}`: a delivery names its contract, purchase, offer, content SHA-256 and size in `x-consign-*` headers")]
    MissingHeader {
        /// The header's name.
        header: &'static str,
    },
    /// A delivery header is not what it should be (400).
    #[error("invalid header `{header}`: {reason}")]
    BadHeader {
        /// The header's name.
        header: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The delivery is for another contract than the one this inbox serves (422).
    #[error("the delivery is for contract {actual}, but this inbox only accepts deliveries from {expected}")]
    OtherContract {
        /// The contract this inbox was told to serve.
        expected: String,
        /// The contract the delivery names.
        actual: String,
    },
    /// The chain has no such purchase in that contract (503: not yet — see [`InboxError::status`]).
    #[error("purchase {purchase_id} not found in contract {contract}")]
    PurchaseNotFound {
        /// The contract.
        contract: String,
        /// The purchase.
        purchase_id: u64,
    },
    /// The purchase's offer is missing on-chain (503, as a missing purchase).
    #[error("offer {offer_id} of purchase {purchase_id} not found in contract {contract}")]
    OfferNotFound {
        /// The contract.
        contract: String,
        /// The purchase.
        purchase_id: u64,
        /// Its offer.
        offer_id: u64,
    },
    /// The contract does not answer the data-sale queries (422).
    #[error("contract {contract} does not answer as a data-sale contract: {reason}")]
    NotDataSale {
        /// The contract.
        contract: String,
        /// The node's or contract's message.
        reason: String,
    },
    /// The chain could not be asked (503): the node is down or failing.
    #[error("cannot check the delivery on-chain: {reason}")]
    ChainUnavailable {
        /// The client's error.
        reason: String,
    },
    /// The delivery does not match its purchase or offer on-chain, or the purchase is not this
    /// inbox's (422).
    #[error("purchase {purchase_id}: {reason}")]
    Mismatch {
        /// The purchase.
        purchase_id: u64,
        /// What does not match.
        reason: String,
    },
    /// The body did not decrypt to exactly the offer's data (422). Nothing was saved.
    #[error("purchase {purchase_id}: {source}; nothing was saved")]
    Verification {
        /// The purchase.
        purchase_id: u64,
        /// What failed: wrong identity, corruption, truncation, size or digest mismatch.
        #[source]
        source: SealError,
    },
    /// The body is longer than any age encryption of the offer's data can be (413).
    #[error("purchase {purchase_id}: the body is longer than {limit} bytes, more than an age encryption of the offer's {size} bytes can take; nothing was saved")]
    BodyTooLong {
        /// The purchase.
        purchase_id: u64,
        /// The offer's plaintext size.
        size: u64,
        /// The most ciphertext accepted.
        limit: u64,
    },
    /// Reading the request body failed: the sender went away or the connection broke (400).
    #[error("purchase {purchase_id}: the request body broke off: {reason}; nothing was saved")]
    BodyBroken {
        /// The purchase.
        purchase_id: u64,
        /// The transport's error.
        reason: String,
    },
    /// The request body came too slowly: nothing for longer than the idle timeout, or less than
    /// the least rate over a window (408). Nothing was saved; the sender may try again.
    #[error(
        "purchase {purchase_id}: the request body came too slowly: {reason}; nothing was saved"
    )]
    BodyTooSlow {
        /// The purchase.
        purchase_id: u64,
        /// How slow.
        reason: String,
    },
    /// A piece of a k-of-n delivery was refused, its fragment, its key share or both: the
    /// reason names which and why, and what the inbox holds now. A good half of the piece was
    /// kept all the same, and the pieces of other storage nodes are untouched. The status is
    /// the fragment's (400 broken off, 408 too slow, 413 too long, 422 not the committed bytes,
    /// 500 not kept for a local failure), or 422 for a refused share.
    #[error("purchase {purchase_id}: piece {index} refused: {reason}")]
    PieceRefused {
        /// The purchase.
        purchase_id: u64,
        /// The piece's index (the storage node's).
        index: u16,
        /// The HTTP status answered.
        status: u16,
        /// What was refused and why, what was kept, what the inbox holds and waits for.
        reason: String,
    },
    /// `k` fragments and `k` key shares, each checked, did not rebuild the offer's data: the
    /// seller's custody set is not what its offer commits to, or a local file failed (422, or
    /// 500 for a local failure). Nothing was saved; the purchase can be disputed.
    #[error(
        "purchase {purchase_id}: the rebuild from the pieces failed: {source}; nothing was saved"
    )]
    Rebuild {
        /// The purchase.
        purchase_id: u64,
        /// What failed.
        #[source]
        source: consign_custody::RebuildError,
    },
    /// The rebuilt data is not the offer's (422): the seller's custody set does not hold what
    /// its offer commits to. Nothing was saved; the purchase can be disputed.
    #[error("purchase {purchase_id}: the data rebuilt from the pieces has SHA-256 {actual_sha256} and {actual_size} bytes, but the offer on-chain commits to {expected_sha256} and {expected_size} bytes: the seller's custody set is not the offer's data; nothing was saved, dispute the purchase")]
    RebuiltMismatch {
        /// The purchase.
        purchase_id: u64,
        /// The offer's SHA-256.
        expected_sha256: String,
        /// The offer's size.
        expected_size: u64,
        /// The rebuilt data's SHA-256.
        actual_sha256: String,
        /// The rebuilt data's size.
        actual_size: u64,
    },
    /// The output directory could not be written (500).
    #[error("cannot {action} {}: {source}", path.display())]
    Storage {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The inbox's configuration is not valid (never a delivery's error).
    #[error("invalid inbox configuration: {field}: {reason}")]
    Config {
        /// The setting.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A file-name template is not valid (a configuration error, never a delivery's).
    #[error("invalid file-name template `{template}`: {reason}")]
    Template {
        /// The template.
        template: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The decrypting task failed unexpectedly (500).
    #[error("internal error while receiving purchase {purchase_id}: {reason}")]
    Internal {
        /// The purchase.
        purchase_id: u64,
        /// What happened.
        reason: String,
    },
}

impl InboxError {
    /// The HTTP status an inbox answers this refusal with: 400 for a malformed request, 408 for
    /// a body that came too slowly, 413 for an oversized body, 422 for a delivery that does not
    /// match the chain or does not verify, 500 for a local failure, and 503 when the chain
    /// cannot be asked or does not know the purchase or its offer yet.
    ///
    /// A purchase the inbox's node does not know is "not yet", never "no": a storage node only
    /// delivers a purchase it saw committed, so an inbox that cannot find it follows a node
    /// that is behind, which heals. Storage nodes give up on a `404` after a few tries (it means
    /// no inbox is there), so answering one here would lose a delivery to a lagging node.
    pub fn status(&self) -> u16 {
        match self {
            Self::MissingHeader { .. } | Self::BadHeader { .. } | Self::BodyBroken { .. } => 400,
            Self::BodyTooSlow { .. } => 408,
            Self::BodyTooLong { .. } => 413,
            Self::OtherContract { .. }
            | Self::NotDataSale { .. }
            | Self::Mismatch { .. }
            | Self::Verification { .. }
            | Self::RebuiltMismatch { .. } => 422,
            Self::PieceRefused { status, .. } => *status,
            Self::Rebuild { source, .. } => match source {
                consign_custody::RebuildError::Write(_)
                | consign_custody::RebuildError::Fragment { .. } => 500,
                _ => 422,
            },
            Self::ChainUnavailable { .. }
            | Self::PurchaseNotFound { .. }
            | Self::OfferNotFound { .. } => 503,
            Self::Storage { .. }
            | Self::Config { .. }
            | Self::Template { .. }
            | Self::Internal { .. } => 500,
        }
    }

    pub(super) fn storage(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| Self::Storage {
            action,
            path,
            source,
        }
    }

    pub(super) fn mismatch(purchase_id: u64, reason: impl Into<String>) -> Self {
        Self::Mismatch {
            purchase_id,
            reason: reason.into(),
        }
    }
}

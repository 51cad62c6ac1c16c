//! What one delivery attempt sends: its headers, the same on the preflight and on every `POST`,
//! and the size of the blob its body is made of.
//!
//! A whole-data registration delivers its blob, the plaintext the instruction names. A custody
//! piece (issue 14) delivers fragment `i` (the blob, of the fragment's size) and, in
//! [`KEY_SHARE`](h::KEY_SHARE), key share `i`: opened with the at-rest key and sealed again to
//! the buyer's recipient, in memory, for this attempt only. The content headers stay the
//! offer's plaintext digest and size, which the inbox checks once it has rebuilt the data; the
//! idempotency key ends in the index, so each piece is deduplicated alone.

use consign_client::storage::{delivery_headers as h, idempotency_key};
use reqwest::header::{HeaderMap, HeaderValue};

use crate::blobs::BlobStore;
use crate::deliveries::DeliveryEntry;
use crate::registrations::RegistrationRecord;

/// The headers and the body's blob size of one attempt.
pub(super) struct Parcel {
    /// The delivery's headers.
    pub(super) headers: HeaderMap,
    /// The blob's size in bytes: the plaintext's, or the fragment's for a custody piece.
    pub(super) blob_size: u64,
}

impl Parcel {
    /// The parcel of `entry`, registered here as `registration`, on chain `chain_id`.
    ///
    /// # Errors
    ///
    /// For a custody piece, if the kept share does not open with the at-rest key or the
    /// instruction's recipient is not an age X25519 recipient: nothing to retry.
    pub(super) fn new(
        entry: &DeliveryEntry,
        registration: &RegistrationRecord,
        blobs: &BlobStore,
        chain_id: &str,
    ) -> Result<Self, String> {
        let record = &entry.record;
        let instruction = &record.instruction;
        let custody = registration.custody.as_ref();
        let key = idempotency_key(
            chain_id,
            &record.contract,
            instruction.purchase_id,
            custody.map(|piece| piece.index),
        );
        let mut fields = vec![
            (h::CONTRACT, record.contract.clone()),
            (h::PURCHASE_ID, instruction.purchase_id.to_string()),
            (h::OFFER_ID, instruction.offer_id.to_string()),
            (h::CONTENT_SHA256, instruction.content_sha256.clone()),
            (h::CONTENT_SIZE, instruction.size.to_string()),
            (h::SEQUENCE, record.sequence.to_string()),
            (h::IDEMPOTENCY_KEY, key),
        ];
        let mut blob_size = instruction.size;
        if let Some(piece) = custody {
            let buyer: age::x25519::Recipient = instruction
                .recipient
                .key
                .parse()
                .map_err(|e| format!("the buyer's recipient is not an age X25519 key: {e}"))?;
            let share = blobs.open_share(&piece.sealed_share).map_err(|e| {
                format!(
                    "the key share kept for piece {} cannot be opened with the at-rest key: {e}",
                    piece.index
                )
            })?;
            fields.extend([
                (h::CUSTODY_INDEX, piece.index.to_string()),
                (h::CUSTODY_K, piece.k.to_string()),
                (h::CUSTODY_N, piece.n.to_string()),
                (h::KEY_SHARE, share.seal(&buyer)),
            ]);
            blob_size = piece.fragment_size;
        }
        let mut headers = HeaderMap::new();
        for (name, value) in fields {
            // Every value is an address, a number, hex or base64: always a valid header value.
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        Ok(Self { headers, blob_size })
    }
}

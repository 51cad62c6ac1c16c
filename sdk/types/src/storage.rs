//! The storage node's wire formats: the signed messages a seller sends it (an upload grant and a
//! registration), what it answers, and the headers of a delivery to a buyer's endpoint.
//!
//! A seller authenticates with its chain account key, never a password: each request carries a
//! [`Signed`] message, a JSON payload plus the signer's public key and an ECDSA signature over
//! `SHA-256(domain ‖ "\n" ‖ payload JSON)`. The domain ([`UPLOAD_DOMAIN`], [`REGISTRATION_DOMAIN`])
//! keeps a signature made for one purpose from being accepted for another, and the payload names
//! the storage node it is meant for (its `node_id`), so it cannot be replayed to another node.
//!
//! ```
//! use consign_types::{SecretKey, Signed, UploadGrant, UPLOAD_DOMAIN};
//!
//! let seller = SecretKey::from_seed("alice");
//! let grant = UploadGrant {
//!     node_id: "c0ffee".into(),
//!     sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into(),
//!     size: 0,
//!     expires: 1_900_000_000,
//! };
//! let signed = Signed::sign(UPLOAD_DOMAIN, grant, &seller);
//! let header = signed.to_header_value(); // the `x-consign-upload` header
//! let back: Signed<UploadGrant> = Signed::from_header_value(&header)?;
//! assert_eq!(back.verify(UPLOAD_DOMAIN)?, seller.address());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cosmwasm_std::Timestamp;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{PublicKey, SecretKey, TxError, ADDRESS_PREFIX};

/// The signing domain of an [`UploadGrant`].
pub const UPLOAD_DOMAIN: &str = "consign-storage-upload/v1";
/// The signing domain of a [`Registration`].
pub const REGISTRATION_DOMAIN: &str = "consign-storage-registration/v1";

/// The request header that carries a [`Signed<UploadGrant>`] on `PUT /v1/blobs/{sha256}`.
pub const UPLOAD_HEADER: &str = "x-consign-upload";

/// Headers of a delivery `POST` to a buyer's endpoint. The body is the age-encrypted data
/// (`content-type: application/octet-stream`).
pub mod delivery_headers {
    /// The data-sale contract that emitted the instruction (bech32).
    pub const CONTRACT: &str = "x-consign-contract";
    /// The purchase id, decimal; the inbox deduplicates by (contract, purchase id).
    pub const PURCHASE_ID: &str = "x-consign-purchase-id";
    /// The offer id, decimal.
    pub const OFFER_ID: &str = "x-consign-offer-id";
    /// SHA-256 of the plaintext, lowercase hex: what the buyer checks after decrypting.
    pub const CONTENT_SHA256: &str = "x-consign-content-sha256";
    /// The plaintext's size in bytes, decimal.
    pub const CONTENT_SIZE: &str = "x-consign-content-size";
    /// The delivery log's sequence number of the instruction, decimal.
    pub const SEQUENCE: &str = "x-consign-sequence";
    /// The same on every attempt of one delivery: `{chain_id}/{contract}/{purchase_id}`.
    pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

    /// A piece of a k-of-n custody set (issue 14): the fragment's index, decimal `0..n`. Its
    /// presence makes the delivery one piece (fragment `i` in the body, share `i` in
    /// [`KEY_SHARE`]) rather than the whole data; the idempotency key then ends in `/{index}`.
    pub const CUSTODY_INDEX: &str = "x-consign-custody-index";
    /// With [`CUSTODY_INDEX`]: the set's `k` (pieces needed), decimal; must be the offer's.
    pub const CUSTODY_K: &str = "x-consign-custody-k";
    /// With [`CUSTODY_INDEX`]: the set's `n` (pieces made), decimal; must be the offer's.
    pub const CUSTODY_N: &str = "x-consign-custody-n";
    /// With [`CUSTODY_INDEX`]: key share `i`, sealed to the buyer's recipient
    /// (`consign_custody::KeyShare::seal`: age, standard base64 on one line).
    pub const KEY_SHARE: &str = "x-consign-key-share";

    /// The preflight's answer header. Before it sends a body, a storage node asks the endpoint
    /// whether it will take the delivery: an `OPTIONS` request with the headers above and no
    /// body. It sends the body only after a `2xx` carrying `x-consign-inbox: ready`; a server
    /// that answers without this header is not a Consign inbox and never receives the body.
    pub const INBOX: &str = "x-consign-inbox";
    /// [`INBOX`]: send the body.
    pub const INBOX_READY: &str = "ready";
    /// [`INBOX`] on a `200`: the purchase was received and saved before; nothing to send.
    pub const INBOX_SAVED: &str = "saved";
    /// [`INBOX`] on a refusal (its status and a JSON `error` say why).
    pub const INBOX_REFUSED: &str = "refused";
    /// [`INBOX`] on a `503` to a piece of a k-of-n delivery: enough pieces are held or on their
    /// way; keep this one and ask again later (the JSON `error` says which).
    pub const INBOX_LATER: &str = "later";
}

/// A payload, its signer's public key and the signature over it.
///
/// JSON: `{ "public_key": base64, "payload": {…}, "signature": base64 of r ‖ s (64 bytes) }`.
/// In a header it is that JSON in URL-safe base64 without padding
/// ([`to_header_value`](Self::to_header_value)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signed<T> {
    /// The signer's secp256k1 public key; its address is the signer's account.
    pub public_key: PublicKey,
    /// What is signed.
    pub payload: T,
    /// ECDSA over `SHA-256(sign_bytes)`, low-S, `r ‖ s`.
    pub signature: cosmwasm_std::Binary,
}

/// Why a [`Signed`] message was refused before its payload was looked at.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignedError {
    /// Not base64 of the JSON of a signed message.
    #[error("malformed signed message: {reason}")]
    Malformed {
        /// What was wrong.
        reason: String,
    },
    /// The signature does not verify with the given public key.
    #[error("the signature does not verify: {0}")]
    Signature(#[from] TxError),
}

impl<T: Serialize> Signed<T> {
    /// Signs `payload` for `domain` with `key`.
    pub fn sign(domain: &str, payload: T, key: &SecretKey) -> Self {
        let bytes = sign_bytes(domain, &payload);
        Signed {
            public_key: key.public_key(),
            signature: key.sign(&bytes).to_vec().into(),
            payload,
        }
    }

    /// Checks the signature for `domain` and returns the signer's account address.
    ///
    /// # Errors
    ///
    /// [`SignedError::Signature`] if it does not verify.
    pub fn verify(&self, domain: &str) -> Result<String, SignedError> {
        let bytes = sign_bytes(domain, &self.payload);
        self.public_key.verify(&bytes, &self.signature)?;
        Ok(self.public_key.address(ADDRESS_PREFIX))
    }

    /// The message as a header value: URL-safe base64 (no padding) of its JSON.
    pub fn to_header_value(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("a signed message serialises"))
    }
}

impl<T: DeserializeOwned> Signed<T> {
    /// Parses [`to_header_value`](Self::to_header_value)'s form. The signature is not checked.
    ///
    /// # Errors
    ///
    /// [`SignedError::Malformed`] for anything that is not that form.
    pub fn from_header_value(value: &str) -> Result<Self, SignedError> {
        let json = URL_SAFE_NO_PAD
            .decode(value.trim())
            .map_err(|e| SignedError::Malformed {
                reason: format!("not URL-safe base64: {e}"),
            })?;
        serde_json::from_slice(&json).map_err(|e| SignedError::Malformed {
            reason: e.to_string(),
        })
    }
}

/// What a signature covers: the domain, a newline, and the payload's JSON (struct fields in
/// declaration order, so the encoding is canonical for the types of this module).
pub fn sign_bytes<T: Serialize>(domain: &str, payload: &T) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(domain.len() + 256);
    bytes.extend_from_slice(domain.as_bytes());
    bytes.push(b'\n');
    serde_json::to_writer(&mut bytes, payload).expect("a payload serialises");
    bytes
}

/// A seller's permission to store one blob: sent, signed, in the [`UPLOAD_HEADER`] of
/// `PUT /v1/blobs/{sha256}`. The node streams the body to disk and keeps it only if its SHA-256
/// and size are these.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadGrant {
    /// The storage node this is for ([`StorageInfo::node_id`]).
    pub node_id: String,
    /// SHA-256 of the plaintext, lowercase hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// Unix seconds after which the grant is refused (at most an hour ahead of the node's clock).
    pub expires: u64,
}

/// A seller's private binding of an offer to a blob: `POST /v1/registrations` with a
/// [`Signed<Registration>`] as the JSON body. Never sent to the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// The storage node this is for ([`StorageInfo::node_id`]).
    pub node_id: String,
    /// The chain the offer is on.
    pub chain_id: String,
    /// The data-sale contract's address.
    pub contract: String,
    /// The offer's id in that contract.
    pub offer_id: u64,
    /// The blob's SHA-256, which must be the offer's `content_sha256`.
    pub sha256: String,
    /// A value never used before by this signer (random hex is fine): a replayed registration is
    /// refused.
    pub nonce: String,
    /// Unix seconds when it was signed; refused if more than ten minutes away from the node's
    /// clock.
    pub issued_at: u64,
    /// For an offer under k-of-n custody (issue 14): which piece this node keeps. `sha256` is
    /// then fragment `index`'s digest (the offer's `custody.fragment_sha256[index]`), not the
    /// plaintext's. Absent for a whole-data offer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custody: Option<CustodyPiece>,
}

/// The piece of a custody set a storage node keeps: fragment `index` (uploaded as an ordinary
/// blob) and key share `index`, sealed to the node's [`StorageInfo::custody_recipient`]. The node
/// checks the share against the offer's commitments at registration and keeps it sealed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodyPiece {
    /// The fragment's index, `0..n`.
    pub index: u16,
    /// Key share `index`, sealed to the node (`consign_custody::KeyShare::seal`).
    pub sealed_share: String,
}

/// `GET /v1/info`: who the storage node is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageInfo {
    /// The node's id, generated at its first start; signed messages name it.
    pub node_id: String,
    /// The chain id of the node it follows.
    pub chain_id: String,
    /// The software version.
    pub version: String,
    /// The largest blob accepted, in bytes.
    pub max_blob_size: u64,
    /// Bytes each account may store in all.
    pub quota_per_account: u64,
    /// The age X25519 recipient a seller seals this node's key share to (the node's at-rest
    /// key's public half).
    pub custody_recipient: String,
}

/// The answer to a stored upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadReceipt {
    /// SHA-256 of the plaintext, lowercase hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// `false` when the node already held this blob for this account (the upload was idempotent).
    pub created: bool,
    /// Bytes the account now stores.
    pub account_usage: u64,
}

/// `GET /v1/blobs/{sha256}/admission` with the same [`UPLOAD_HEADER`] as the upload: the grant
/// passed every check the `PUT` would make before reading the body (so a large upload is not
/// sent only to be refused), and whether the signer already stored this blob (then there is
/// nothing to send).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadAdmission {
    /// SHA-256 of the plaintext, lowercase hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// The signer already stored this blob here.
    pub already_stored: bool,
    /// Bytes the signer stores now.
    pub account_usage: u64,
    /// The signer's quota in bytes.
    pub quota: u64,
}

/// The answer to an accepted registration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationReceipt {
    /// The contract.
    pub contract: String,
    /// The offer.
    pub offer_id: u64,
    /// The blob bound to it.
    pub sha256: String,
    /// The seller, as checked on-chain.
    pub seller: String,
    /// The custody piece kept, for an offer under k-of-n custody.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custody_index: Option<u16>,
}

/// Where a delivery is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its first or next attempt.
    Pending,
    /// An attempt is in flight.
    Sending,
    /// The buyer's endpoint accepted it (a 2xx). Never sent again.
    Delivered,
    /// Given up (deadline passed, purchase not found, …): see `last_error`.
    Failed,
}

/// One delivery as the operator sees it (`GET /v1/admin/deliveries`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    /// The instruction's sequence number in the chain's delivery log.
    pub sequence: u64,
    /// The contract.
    pub contract: String,
    /// The offer.
    pub offer_id: u64,
    /// The purchase.
    pub purchase_id: u64,
    /// The buyer's endpoint.
    pub endpoint: String,
    /// The blob.
    pub sha256: String,
    /// Its state.
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
    /// The last attempt's error, if it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the instruction was committed (block time).
    pub committed: Timestamp,
    /// When the buyer's endpoint accepted it, if it did (the node's clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered: Option<Timestamp>,
}

/// A page of deliveries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryViewPage {
    /// In sequence order.
    pub deliveries: Vec<DeliveryView>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<u64>,
}

/// `GET /status` on the public API: liveness and version, nothing else. Every field is constant
/// for a node, so nothing here moves with what it holds (uploads, registrations, deliveries):
/// polling every storage node cannot link an offer to the node that serves it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageStatus {
    /// Always `consign-storage`.
    pub service: String,
    /// The software version.
    pub version: String,
    /// The node's id.
    pub node_id: String,
    /// The chain id of the node it follows; `null` only before a new node has reached its chain
    /// node for the first time.
    pub chain_id: Option<String>,
}

/// Where the storage node stands with the chain node it follows (the operator's status).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainLink {
    /// Whether the chain node answers.
    pub state: ChainState,
    /// Since when (Unix seconds, the node's clock) it has been in this state.
    pub since: u64,
    /// Why the chain node is unreachable (the last error); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The chain node followed now (its API URL): the one asked first, which answered last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub following: Option<String>,
    /// Every configured chain node (`--node-url`), in order, and how each stands: current,
    /// ok, unused, failing (since when, why) or refused for another chain.
    #[serde(default)]
    pub nodes: Vec<crate::PoolNode>,
}

/// Whether the chain node answers: the storage node serves in every state, but checks
/// registrations and sellers' balances, follows the delivery feed and delivers only while it
/// does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChainState {
    /// Not asked yet since the storage node started.
    Connecting,
    /// It answered the last request.
    Reachable,
    /// It did not answer the last request (see `last_error`); asked again with backoff.
    Unreachable,
}

/// The node's figures, for its operator only: `GET /v1/admin/status` (admin token) and
/// `GET /status` on the operator's listener (`--metrics-listen`). They move with what the node
/// holds, so they are never served on the public API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorStatus {
    /// The node's id.
    pub node_id: String,
    /// The chain id of the node it follows; `null` only before a new node has reached its chain
    /// node for the first time.
    pub chain_id: Option<String>,
    /// Whether the chain node answers, since when, and why not.
    pub chain: ChainLink,
    /// The software version.
    pub version: String,
    /// Seconds since the process started.
    pub uptime_seconds: u64,
    /// Distinct blobs held.
    pub blobs: u64,
    /// The sum of their plaintext sizes, in bytes.
    pub bytes_stored: u64,
    /// Uploads in progress.
    pub uploads_in_progress: u64,
    /// Bytes reserved by the uploads in progress.
    pub bytes_reserved: u64,
    /// Offers registered for delivery.
    pub registrations: u64,
    /// The last delivery sequence the follower handled (0 before the first).
    pub follower_cursor: u64,
    /// Deliveries by state.
    pub deliveries: DeliveryCounts,
}

/// How many deliveries are in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryCounts {
    /// Waiting for an attempt.
    pub pending: u64,
    /// An attempt in flight.
    pub sending: u64,
    /// Accepted by the buyer's endpoint.
    pub delivered: u64,
    /// Given up.
    pub failed: u64,
}

/// One registration as the operator sees it (`GET /v1/admin/registrations`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationView {
    /// The data-sale contract.
    pub contract: String,
    /// The offer.
    pub offer_id: u64,
    /// The blob bound to it.
    pub sha256: String,
    /// The offer's seller, who registered it.
    pub seller: String,
    /// When it was registered (Unix seconds, the node's clock).
    pub registered_at: u64,
    /// For an offer under k-of-n custody: the piece this node keeps (the blob is that fragment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custody_index: Option<u16>,
}

/// A page of registrations, in (contract, offer id) order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationViewPage {
    /// The registrations.
    pub registrations: Vec<RegistrationView>,
    /// Pass as `after` for the next page (`{contract}/{offer_id}`); absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
}

/// One account's storage (`GET /v1/admin/accounts/{address}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    /// The account.
    pub account: String,
    /// Bytes charged to it.
    pub bytes: u64,
    /// Blobs it uploaded.
    pub blobs: u64,
    /// Its quota in bytes.
    pub quota: u64,
}

/// The idempotency key of a delivery: the same on every attempt. A custody piece's ends in
/// `/{index}`, so the pieces of one purchase are told apart and each is deduplicated alone.
pub fn idempotency_key(
    chain_id: &str,
    contract: &str,
    purchase_id: u64,
    custody_index: Option<u16>,
) -> String {
    match custody_index {
        None => format!("{chain_id}/{contract}/{purchase_id}"),
        Some(index) => format!("{chain_id}/{contract}/{purchase_id}/{index}"),
    }
}

/// SHA-256 of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration() -> Registration {
        Registration {
            node_id: "node".into(),
            chain_id: "consign-dev".into(),
            contract: "consign1contract".into(),
            offer_id: 3,
            sha256: sha256_hex(b"data"),
            nonce: "01".into(),
            issued_at: 1_700_000_000,
            custody: None,
        }
    }

    #[test]
    fn signed_messages_verify_and_name_the_signer() {
        let key = SecretKey::from_seed("alice");
        let signed = Signed::sign(REGISTRATION_DOMAIN, registration(), &key);
        assert_eq!(signed.verify(REGISTRATION_DOMAIN).unwrap(), key.address());
        let json = serde_json::to_string(&signed).unwrap();
        let back: Signed<Registration> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, signed);
    }

    #[test]
    fn a_signature_is_bound_to_its_domain_and_payload() {
        let key = SecretKey::from_seed("alice");
        let signed = Signed::sign(REGISTRATION_DOMAIN, registration(), &key);
        assert!(signed.verify(UPLOAD_DOMAIN).is_err());
        let mut forged = signed.clone();
        forged.payload.offer_id = 4;
        assert!(matches!(
            forged.verify(REGISTRATION_DOMAIN),
            Err(SignedError::Signature(TxError::BadSignature))
        ));
        let mut other_key = signed;
        other_key.public_key = SecretKey::from_seed("bob").public_key();
        assert!(other_key.verify(REGISTRATION_DOMAIN).is_err());
    }

    #[test]
    fn header_values_round_trip_and_reject_garbage() {
        let key = SecretKey::from_seed("alice");
        let grant = UploadGrant {
            node_id: "n".into(),
            sha256: sha256_hex(b""),
            size: 0,
            expires: 1,
        };
        let signed = Signed::sign(UPLOAD_DOMAIN, grant, &key);
        let value = signed.to_header_value();
        assert!(value.bytes().all(|b| b.is_ascii_graphic()));
        let back: Signed<UploadGrant> = Signed::from_header_value(&value).unwrap();
        assert_eq!(back, signed);
        let err = Signed::<UploadGrant>::from_header_value("!!!").unwrap_err();
        assert!(err.to_string().contains("base64"), "{err}");
        let err =
            Signed::<UploadGrant>::from_header_value(&URL_SAFE_NO_PAD.encode(b"{}")).unwrap_err();
        assert!(err.to_string().contains("missing field"), "{err}");
    }
}

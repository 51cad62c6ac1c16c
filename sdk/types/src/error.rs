//! The errors of this crate: one enum per concern, each message lowercase and saying what to do.

/// A secret or public key could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The bytes or hex given are not a secp256k1 secret key.
    #[error("invalid secret key: {reason}; expected 64 hex characters (32 bytes) encoding a non-zero scalar below the secp256k1 group order")]
    InvalidSecretKey {
        /// What was wrong with it.
        reason: String,
    },
    /// The bytes given are not a compressed secp256k1 public key.
    #[error("invalid public key: {reason}; expected a 33-byte compressed SEC1 secp256k1 point (base64 in JSON)")]
    InvalidPublicKey {
        /// What was wrong with it.
        reason: String,
    },
}

/// An address could not be parsed, validated or derived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// Not a bech32 string with a valid checksum.
    #[error(
        "invalid address `{address}`: {reason}; expected lowercase bech32 such as `consign1…`"
    )]
    InvalidBech32 {
        /// The address given.
        address: String,
        /// What the bech32 decoder reported.
        reason: String,
    },
    /// A valid bech32 string with another chain's prefix.
    #[error("invalid address `{address}`: its prefix is `{found}`, but this chain's addresses start with `{expected}1`")]
    WrongPrefix {
        /// The address given.
        address: String,
        /// The prefix required.
        expected: String,
        /// The prefix found.
        found: String,
    },
    /// Valid bech32, but not in its normalised (lowercase) form.
    #[error("invalid address `{address}`: not in normalised form; write it in lowercase: `{normalized}`")]
    NotNormalized {
        /// The address given.
        address: String,
        /// The same address in normalised form.
        normalized: String,
    },
    /// The address's data is empty or longer than an address can be.
    #[error("invalid address `{address}`: it holds {len} bytes, but an address holds 1 to {max} bytes (20 for accounts, 32 for contracts)")]
    InvalidLength {
        /// The address given.
        address: String,
        /// The number of bytes it holds.
        len: usize,
        /// The most an address may hold.
        max: usize,
    },
    /// The arguments to the instantiate2 derivation are out of range.
    #[error("cannot derive an instantiate2 address: {reason}")]
    Instantiate2 {
        /// What was out of range.
        reason: String,
    },
}

/// A transaction could not be decoded or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TxError {
    /// The bytes are not a transaction in this crate's JSON format.
    #[error("malformed transaction: {reason}")]
    Malformed {
        /// Where and how decoding failed.
        reason: String,
    },
    /// The signature is not 64 bytes encoding two scalars.
    #[error("invalid signature encoding: {reason}; expected 64 bytes (r ‖ s, big-endian), base64 in JSON")]
    InvalidSignature {
        /// What was wrong with it.
        reason: String,
    },
    /// The signature's `s` is in the upper half of the group order.
    #[error("high-S signature: the signature's `s` is above half the secp256k1 group order; normalise it to low-S (n - s) before broadcasting, as the Cosmos SDK requires")]
    HighS,
    /// The signature is well formed but does not verify.
    #[error("bad signature: the signature does not match the transaction body and public key")]
    BadSignature,
    /// The public key's address is not the transaction's sender.
    #[error("signer mismatch: the public key belongs to {signer}, but the transaction's sender is {sender}; sign with the sender's key")]
    SignerMismatch {
        /// The address of the public key that signed.
        signer: String,
        /// The `sender` in the transaction body.
        sender: String,
    },
}

/// A [`TxHash`](crate::TxHash) could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid transaction hash `{input}`: expected 64 hex characters (the SHA-256 of the transaction's bytes)")]
pub struct TxHashError {
    /// The text given.
    pub input: String,
}

//! Why a [`DeliveryInstruction`](crate::DeliveryInstruction) was rejected.

/// A rule of [`DeliveryInstruction::validate`](crate::DeliveryInstruction::validate) that an
/// instruction broke. Each message names the field, says what was wrong and what is expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// `buyer` is not a lowercase bech32 account address.
    #[error("buyer {buyer:?} is not a bech32 account address: {reason}")]
    InvalidBuyer {
        /// The rejected address.
        buyer: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `recipient.endpoint` is longer than [`MAX_ENDPOINT_LEN`](crate::MAX_ENDPOINT_LEN).
    #[error("endpoint is {len} bytes long; at most {max} bytes are allowed")]
    EndpointTooLong {
        /// The endpoint's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// `recipient.endpoint` contains whitespace or a control character.
    #[error(
        "endpoint {endpoint:?} contains whitespace or a control character; encode it (e.g. %20)"
    )]
    EndpointInvalidCharacter {
        /// The rejected endpoint.
        endpoint: String,
    },
    /// `recipient.endpoint` does not start with `http://` or `https://`.
    #[error("endpoint {endpoint:?} must use http or https")]
    EndpointScheme {
        /// The rejected endpoint.
        endpoint: String,
    },
    /// `recipient.endpoint` has no host.
    #[error("endpoint {endpoint:?} has no host; expected http(s)://host[:port][/path]")]
    EndpointHost {
        /// The rejected endpoint.
        endpoint: String,
    },
    /// `recipient.endpoint` has a port that is not a number from 0 to 65535.
    #[error("endpoint {endpoint:?} has an invalid port; expected a number from 0 to 65535")]
    EndpointPort {
        /// The rejected endpoint.
        endpoint: String,
    },
    /// `recipient.key` is an age secret key (`AGE-SECRET-KEY-1…`). The key is not kept in the
    /// error: the message ends up in logs and in the chain's transaction log, which are public.
    #[error("recipient key is an age secret key (AGE-SECRET-KEY-1…), which must stay private and is not repeated here; pass its public recipient age1… instead (`age-keygen -y KEYFILE` prints it)")]
    SecretKeyAsRecipient,
    /// `recipient.key` is not an age X25519 recipient (`age1…`).
    #[error("recipient key {key:?} is not an age X25519 recipient: {reason}")]
    InvalidRecipientKey {
        /// The rejected key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `content_sha256` does not have 64 characters.
    #[error("content_sha256 must be 64 lowercase hex characters, got {len}")]
    ContentSha256Length {
        /// The number of characters given.
        len: usize,
    },
    /// `content_sha256` has a character other than `0-9` and `a-f`.
    #[error("content_sha256 must be 64 lowercase hex characters, found {found:?}")]
    ContentSha256Character {
        /// The first offending character.
        found: char,
    },
    /// `size` is zero.
    #[error("size must be greater than zero")]
    ZeroSize,
}

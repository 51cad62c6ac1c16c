//! The delivery instruction a contract hands to the runtime, and its validation rules.

use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32, Hrp};
use cosmwasm_std::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::DeliveryError;

/// The longest `recipient.endpoint` accepted, in bytes.
pub const MAX_ENDPOINT_LEN: usize = 2048;

/// The human-readable part of an age X25519 recipient (`age1…`).
const AGE_HRP: &str = "age";

/// The length in bytes of an X25519 public key.
const X25519_KEY_LEN: usize = 32;

/// An order to send a purchased blob to a buyer.
///
/// A contract passes one to [`deliver`](crate::deliver); the runtime validates it again, stamps it
/// with the emitting contract, block height, transaction hash and sequence number, and appends it
/// to the delivery log when the transaction commits. The storage node holding the blob picks it
/// up and sends the data, encrypted to `recipient.key`, to `recipient.endpoint`.
///
/// JSON (fields in snake case, unknown fields rejected, `deadline` in nanoseconds as a string and
/// omitted when absent):
///
/// ```json
/// {
///   "offer_id": 1,
///   "purchase_id": 7,
///   "buyer": "consign1…",
///   "recipient": { "endpoint": "https://buyer.example/inbox", "key": "age1…" },
///   "content_sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
///   "size": 1048576,
///   "deadline": "1700000000000000000"
/// }
/// ```
#[derive(
    Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema, cw_schema::Schemaifier,
)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
// cw-schema has no notion of `deny_unknown_fields`; the JSON schema (schemars) does.
#[schemaifier(mute_warnings)]
pub struct DeliveryInstruction {
    /// The offer being delivered, as numbered by the contract.
    pub offer_id: u64,
    /// The purchase being fulfilled, as numbered by the contract; the buyer's inbox deduplicates
    /// by it.
    pub purchase_id: u64,
    /// The buyer's bech32 account address. The runtime also checks it with its address API.
    pub buyer: String,
    /// Where and to whom the data is sent.
    pub recipient: DeliveryAddress,
    /// SHA-256 of the plaintext, as 64 lowercase hex characters.
    pub content_sha256: String,
    /// Size of the plaintext in bytes; greater than zero.
    pub size: u64,
    /// Block time after which the storage node stops trying to deliver, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Timestamp>,
}

/// Where a delivery goes: the URL that receives the encrypted data and the key it is encrypted
/// to.
#[derive(
    Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema, cw_schema::Schemaifier,
)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
// cw-schema has no notion of `deny_unknown_fields`; the JSON schema (schemars) does.
#[schemaifier(mute_warnings)]
pub struct DeliveryAddress {
    /// An `http` or `https` URL with a host, at most [`MAX_ENDPOINT_LEN`] bytes, without
    /// whitespace or control characters. The storage node `POST`s the age stream to it.
    pub endpoint: String,
    /// The buyer's age X25519 recipient: `age1…`, lowercase bech32 of a 32-byte public key.
    pub key: String,
}

impl DeliveryInstruction {
    /// Checks every field against the rules documented on it.
    ///
    /// # Errors
    ///
    /// The first rule broken, as a [`DeliveryError`] whose message says what is expected.
    pub fn validate(&self) -> Result<(), DeliveryError> {
        validate_buyer(&self.buyer)?;
        self.recipient.validate()?;
        validate_sha256(&self.content_sha256)?;
        if self.size == 0 {
            return Err(DeliveryError::ZeroSize);
        }
        Ok(())
    }
}

impl DeliveryAddress {
    /// Checks the endpoint and the recipient key.
    ///
    /// # Errors
    ///
    /// The first rule broken, as a [`DeliveryError`].
    pub fn validate(&self) -> Result<(), DeliveryError> {
        validate_endpoint(&self.endpoint)?;
        validate_age_recipient(&self.key)
    }
}

fn validate_buyer(buyer: &str) -> Result<(), DeliveryError> {
    let invalid = |reason: String| DeliveryError::InvalidBuyer {
        buyer: buyer.to_owned(),
        reason,
    };
    if buyer.is_empty() {
        return Err(invalid("it is empty".to_owned()));
    }
    if buyer.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(invalid("expected lowercase".to_owned()));
    }
    bech32::decode(buyer).map_err(|e| invalid(e.to_string()))?;
    Ok(())
}

fn validate_endpoint(endpoint: &str) -> Result<(), DeliveryError> {
    if endpoint.len() > MAX_ENDPOINT_LEN {
        return Err(DeliveryError::EndpointTooLong {
            len: endpoint.len(),
            max: MAX_ENDPOINT_LEN,
        });
    }
    if endpoint
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(DeliveryError::EndpointInvalidCharacter {
            endpoint: endpoint.to_owned(),
        });
    }
    let rest = strip_prefix_ignore_case(endpoint, "https://")
        .or_else(|| strip_prefix_ignore_case(endpoint, "http://"))
        .ok_or_else(|| DeliveryError::EndpointScheme {
            endpoint: endpoint.to_owned(),
        })?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // Credentials, if any, come before the last `@`.
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        // An IPv6 literal: `[::1]` or `[::1]:8080`.
        match bracketed.split_once(']') {
            Some((ip, after)) if !ip.is_empty() => match after {
                "" => (ip, None),
                _ => match after.strip_prefix(':') {
                    Some(port) => (ip, Some(port)),
                    None => {
                        return Err(DeliveryError::EndpointPort {
                            endpoint: endpoint.to_owned(),
                        })
                    }
                },
            },
            _ => {
                return Err(DeliveryError::EndpointHost {
                    endpoint: endpoint.to_owned(),
                })
            }
        }
    } else {
        match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Err(DeliveryError::EndpointHost {
            endpoint: endpoint.to_owned(),
        });
    }
    // An empty port (`host:`) means the scheme's default, as in the URL standard.
    if let Some(port) = port.filter(|p| !p.is_empty()) {
        if !port.bytes().all(|b| b.is_ascii_digit()) || port.parse::<u16>().is_err() {
            return Err(DeliveryError::EndpointPort {
                endpoint: endpoint.to_owned(),
            });
        }
    }
    Ok(())
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// The prefix of an age secret key, which is never echoed back.
const AGE_SECRET_KEY_PREFIX: &str = "AGE-SECRET-KEY-";

fn validate_age_recipient(key: &str) -> Result<(), DeliveryError> {
    let prefix = key.trim_start().get(..AGE_SECRET_KEY_PREFIX.len());
    if prefix.is_some_and(|p| p.eq_ignore_ascii_case(AGE_SECRET_KEY_PREFIX)) {
        return Err(DeliveryError::SecretKeyAsRecipient);
    }
    let invalid = |reason: String| DeliveryError::InvalidRecipientKey {
        key: key.to_owned(),
        reason,
    };
    if key.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(invalid("expected lowercase".to_owned()));
    }
    let parsed = CheckedHrpstring::new::<Bech32>(key).map_err(|e| invalid(e.to_string()))?;
    if parsed.hrp() != Hrp::parse_unchecked(AGE_HRP) {
        return Err(invalid(format!(
            "expected the prefix \"{AGE_HRP}1\", got \"{}1\"",
            parsed.hrp()
        )));
    }
    let len = parsed.byte_iter().len();
    if len != X25519_KEY_LEN {
        return Err(invalid(format!(
            "expected {X25519_KEY_LEN} bytes of key data, got {len}"
        )));
    }
    Ok(())
}

fn validate_sha256(digest: &str) -> Result<(), DeliveryError> {
    if digest.len() != 64 {
        return Err(DeliveryError::ContentSha256Length {
            len: digest.chars().count(),
        });
    }
    match digest.chars().find(|c| !matches!(c, '0'..='9' | 'a'..='f')) {
        Some(found) => Err(DeliveryError::ContentSha256Character { found }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bech32::Bech32;

    fn age_key(bytes: &[u8]) -> String {
        bech32::encode::<Bech32>(Hrp::parse_unchecked(AGE_HRP), bytes).unwrap()
    }

    fn buyer() -> String {
        bech32::encode::<Bech32>(Hrp::parse_unchecked("consign"), &[3; 20]).unwrap()
    }

    fn valid() -> DeliveryInstruction {
        DeliveryInstruction {
            offer_id: 1,
            purchase_id: 2,
            buyer: buyer(),
            recipient: DeliveryAddress {
                endpoint: "https://buyer.example:8443/inbox?x=1".to_owned(),
                key: age_key(&[7; 32]),
            },
            content_sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
                .to_owned(),
            size: 10,
            deadline: None,
        }
    }

    fn with_endpoint(endpoint: &str) -> Result<(), DeliveryError> {
        let mut i = valid();
        i.recipient.endpoint = endpoint.to_owned();
        i.validate()
    }

    fn with_key(key: &str) -> Result<(), DeliveryError> {
        let mut i = valid();
        i.recipient.key = key.to_owned();
        i.validate()
    }

    #[test]
    fn valid_instruction_passes() {
        valid().validate().unwrap();
    }

    #[test]
    fn real_age_recipient_passes() {
        // The example recipient from the age README.
        with_key("age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p").unwrap();
    }

    #[test]
    fn json_shape() {
        let mut i = valid();
        let json = serde_json::to_value(&i).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "offer_id": 1,
                "purchase_id": 2,
                "buyer": buyer(),
                "recipient": {
                    "endpoint": "https://buyer.example:8443/inbox?x=1",
                    "key": age_key(&[7; 32]),
                },
                "content_sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "size": 10,
            })
        );
        i.deadline = Some(Timestamp::from_seconds(5));
        let json = serde_json::to_value(&i).unwrap();
        assert_eq!(json["deadline"], "5000000000");
        let back: DeliveryInstruction = serde_json::from_value(json).unwrap();
        assert_eq!(back, i);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let mut json = serde_json::to_value(valid()).unwrap();
        json["contract"] = "consign1x".into();
        let err = serde_json::from_value::<DeliveryInstruction>(json).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `contract`"),
            "{err}"
        );
        let mut json = serde_json::to_value(valid()).unwrap();
        json["recipient"]["extra"] = 1.into();
        assert!(serde_json::from_value::<DeliveryInstruction>(json).is_err());
    }

    #[test]
    fn buyer_must_be_lowercase_bech32() {
        for bad in [
            "",
            "not an address",
            "consign1qqqq",
            &buyer().to_uppercase(),
        ] {
            let mut i = valid();
            i.buyer = bad.to_owned();
            assert!(
                matches!(i.validate(), Err(DeliveryError::InvalidBuyer { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn endpoint_must_be_http_or_https() {
        let err = with_endpoint("ftp://x").unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"endpoint "ftp://x" must use http or https"#
        );
        for bad in [
            "buyer.example/inbox",
            "http:/x",
            "file:///etc/passwd",
            "https//x",
        ] {
            assert!(
                matches!(
                    with_endpoint(bad),
                    Err(DeliveryError::EndpointScheme { .. })
                ),
                "{bad}"
            );
        }
        with_endpoint("HTTP://buyer.example").unwrap();
        with_endpoint("http://127.0.0.1:9000").unwrap();
    }

    #[test]
    fn endpoint_needs_a_host() {
        for bad in [
            "http://",
            "https:///inbox",
            "http://:80/",
            "http://user@/x",
            "http://[]:1",
        ] {
            assert!(
                matches!(with_endpoint(bad), Err(DeliveryError::EndpointHost { .. })),
                "{bad}"
            );
        }
        with_endpoint("http://user:pw@host/x").unwrap();
        with_endpoint("http://[::1]:8080/inbox").unwrap();
        with_endpoint("http://[::1]").unwrap();
    }

    #[test]
    fn endpoint_port_must_be_a_number() {
        for bad in [
            "http://host:http/",
            "http://host:65536",
            "http://[::1]x",
            "http://h:-1",
        ] {
            assert!(
                matches!(with_endpoint(bad), Err(DeliveryError::EndpointPort { .. })),
                "{bad}"
            );
        }
        with_endpoint("http://host:/x").unwrap();
        with_endpoint("http://host:65535").unwrap();
    }

    #[test]
    fn endpoint_rejects_whitespace_and_control_characters() {
        for bad in [
            "http://a b",
            "http://a\n",
            "http://a\u{0}",
            "http://a\u{7f}",
            "\thttp://a",
        ] {
            assert!(
                matches!(
                    with_endpoint(bad),
                    Err(DeliveryError::EndpointInvalidCharacter { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn endpoint_length_is_limited() {
        let ok = format!("http://h/{}", "a".repeat(MAX_ENDPOINT_LEN - 9));
        assert_eq!(ok.len(), MAX_ENDPOINT_LEN);
        with_endpoint(&ok).unwrap();
        let err = with_endpoint(&format!("{ok}a")).unwrap_err();
        assert_eq!(
            err,
            DeliveryError::EndpointTooLong {
                len: MAX_ENDPOINT_LEN + 1,
                max: MAX_ENDPOINT_LEN
            }
        );
    }

    #[test]
    fn key_must_be_an_age_x25519_recipient() {
        let wrong_hrp = bech32::encode::<Bech32>(Hrp::parse_unchecked("agf"), &[7; 32]).unwrap();
        let bech32m =
            bech32::encode::<bech32::Bech32m>(Hrp::parse_unchecked(AGE_HRP), &[7; 32]).unwrap();
        let mut bad_checksum = age_key(&[7; 32]);
        bad_checksum.pop();
        bad_checksum.push('q');
        for bad in [
            String::new(),
            "age1".to_owned(),
            age_key(&[7; 31]),
            age_key(&[7; 33]),
            age_key(&[7; 32]).to_uppercase(),
            wrong_hrp,
            bech32m,
            bad_checksum,
        ] {
            let err = with_key(&bad).unwrap_err();
            assert!(
                matches!(err, DeliveryError::InvalidRecipientKey { .. }),
                "{bad}"
            );
            assert!(
                err.to_string().starts_with(&format!(
                    "recipient key {bad:?} is not an age X25519 recipient: "
                )),
                "{err}"
            );
        }
        for secret in ["AGE-SECRET-KEY-1QQQSECRET", " age-secret-key-1qqqsecret"] {
            let err = with_key(secret).unwrap_err();
            assert_eq!(err, DeliveryError::SecretKeyAsRecipient);
            assert!(!err.to_string().contains("QQQSECRET"), "{err}");
            assert!(!err.to_string().contains("qqqsecret"), "{err}");
        }
        assert!(with_key(&age_key(&[7; 31]))
            .unwrap_err()
            .to_string()
            .ends_with("expected 32 bytes of key data, got 31"));
    }

    #[test]
    fn content_sha256_must_be_64_lowercase_hex() {
        let mut i = valid();
        i.content_sha256 = "abcdef012345".to_owned();
        assert_eq!(
            i.validate().unwrap_err().to_string(),
            "content_sha256 must be 64 lowercase hex characters, got 12"
        );
        i.content_sha256 = "E".repeat(64);
        assert_eq!(
            i.validate().unwrap_err(),
            DeliveryError::ContentSha256Character { found: 'E' }
        );
        i.content_sha256 = format!("{}g", "0".repeat(63));
        assert_eq!(
            i.validate().unwrap_err(),
            DeliveryError::ContentSha256Character { found: 'g' }
        );
        // 64 bytes, but not 64 characters.
        i.content_sha256 = format!("{}é", "0".repeat(62));
        assert_eq!(
            i.validate().unwrap_err(),
            DeliveryError::ContentSha256Character { found: 'é' }
        );
    }

    #[test]
    fn size_must_be_positive() {
        let mut i = valid();
        i.size = 0;
        assert_eq!(
            i.validate().unwrap_err().to_string(),
            "size must be greater than zero"
        );
    }
}

//! secp256k1 account keys: the secret key that signs, the public key that verifies. Keeping
//! them on disk is `consign-client`'s keyring.

use std::fmt;
use std::str::FromStr;

use cosmwasm_std::Binary;
use k256::ecdsa::signature::{Signer, Verifier};
use k256::ecdsa::{Signature, SigningKey, VerifyingKey};
use rand_core::OsRng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::address::{account_address_bytes, humanize_with_prefix, ADDRESS_PREFIX};
use crate::{KeyError, Tx, TxBody, TxError};

/// The domain separator of [`SecretKey::from_seed`].
const DEV_KEY_DOMAIN: &[u8] = b"consign dev key\n";

/// A secp256k1 secret key that signs transactions.
///
/// Its `Debug` output never shows the key; the memory is wiped when it is dropped.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Self {
        Self(SigningKey::random(&mut OsRng))
    }

    /// The key whose scalar is these 32 big-endian bytes.
    ///
    /// # Errors
    ///
    /// [`KeyError::InvalidSecretKey`] for zero or a value not below the group order.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        SigningKey::from_bytes(bytes.into())
            .map(Self)
            .map_err(|_| KeyError::InvalidSecretKey {
                reason: "the value is zero or not below the secp256k1 group order".into(),
            })
    }

    /// The key written as 64 hex characters (either case).
    ///
    /// # Errors
    ///
    /// [`KeyError::InvalidSecretKey`] if it is not 32 bytes of hex or not a valid scalar.
    pub fn from_hex(hex_str: &str) -> Result<Self, KeyError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_str.trim(), &mut bytes).map_err(|e| {
            KeyError::InvalidSecretKey {
                reason: e.to_string(),
            }
        })?;
        Self::from_bytes(&bytes)
    }

    /// A deterministic development key: the scalar is
    /// `SHA-256("consign dev key\n" ‖ label)`, or, in the vanishingly rare case that is not a
    /// valid scalar, `SHA-256("consign dev key\n" ‖ label ‖ "\n" ‖ n)` for `n = 1, 2, …` (decimal)
    /// until one is. `consign dev` funds such keys in genesis, so their addresses are the same on
    /// every machine. Anyone can derive them: never hold real value with them.
    pub fn from_seed(label: &str) -> Self {
        let mut counter: u64 = 0;
        loop {
            let mut hasher = Sha256::new();
            hasher.update(DEV_KEY_DOMAIN);
            hasher.update(label.as_bytes());
            if counter > 0 {
                hasher.update(format!("\n{counter}").as_bytes());
            }
            let digest: [u8; 32] = hasher.finalize().into();
            if let Ok(key) = Self::from_bytes(&digest) {
                return key;
            }
            counter += 1;
        }
    }

    /// The scalar as 32 big-endian bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes().into()
    }

    /// The scalar as 64 lowercase hex characters, the key file's `secret_key`.
    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(*self.0.verifying_key())
    }

    /// The account address of this key on Consign (`consign1…`).
    pub fn address(&self) -> String {
        self.public_key().address(ADDRESS_PREFIX)
    }

    /// Signs `SHA-256(message)` with deterministic ECDSA (RFC 6979), returning `r ‖ s` with `s`
    /// normalised to low-S, the form [`PublicKey::verify`] and the Cosmos SDK accept.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let signature: Signature = self.0.sign(message);
        let signature = signature.normalize_s().unwrap_or(signature);
        signature.to_bytes().into()
    }

    /// Signs a transaction body: shorthand for [`Tx::sign`].
    pub fn sign_tx(&self, body: TxBody) -> Tx {
        Tx::sign(body, self)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

/// A secp256k1 public key: in JSON, base64 of its 33-byte compressed SEC1 encoding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// The length of the compressed SEC1 encoding.
    pub const LEN: usize = 33;

    /// Parses a 33-byte compressed SEC1 point.
    ///
    /// # Errors
    ///
    /// [`KeyError::InvalidPublicKey`] for another length or a point not on the curve.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != Self::LEN {
            return Err(KeyError::InvalidPublicKey {
                reason: format!("got {} bytes", bytes.len()),
            });
        }
        VerifyingKey::from_sec1_bytes(bytes)
            .map(Self)
            .map_err(|_| KeyError::InvalidPublicKey {
                reason: "not a point on the secp256k1 curve".into(),
            })
    }

    /// Parses the base64 form used in JSON.
    ///
    /// # Errors
    ///
    /// [`KeyError::InvalidPublicKey`] if it is not base64 of a valid key.
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let bytes = Binary::from_base64(text).map_err(|e| KeyError::InvalidPublicKey {
            reason: e.to_string(),
        })?;
        Self::from_bytes(&bytes)
    }

    /// The 33-byte compressed SEC1 encoding.
    pub fn to_bytes(&self) -> [u8; 33] {
        let point = self.0.to_encoded_point(true);
        let mut bytes = [0u8; 33];
        bytes.copy_from_slice(point.as_bytes());
        bytes
    }

    /// The base64 form used in JSON.
    pub fn to_base64(&self) -> String {
        Binary::from(self.to_bytes()).to_base64()
    }

    /// The Cosmos-style account address with this bech32 prefix:
    /// `bech32(prefix, RIPEMD-160(SHA-256(compressed key)))`. Use
    /// [`ADDRESS_PREFIX`](crate::ADDRESS_PREFIX) for Consign.
    ///
    /// # Panics
    ///
    /// If `prefix` is not a valid bech32 human-readable part (a caller bug, not an input error).
    pub fn address(&self, prefix: &str) -> String {
        humanize_with_prefix(prefix, &self.address_bytes())
            .expect("the address prefix must be a valid bech32 human-readable part")
    }

    /// The 20 canonical bytes of the account address.
    pub fn address_bytes(&self) -> [u8; 20] {
        account_address_bytes(&self.to_bytes())
    }

    /// Checks a 64-byte `r ‖ s` signature over `SHA-256(message)`.
    ///
    /// # Errors
    ///
    /// [`TxError::InvalidSignature`] for a signature that is not 64 bytes of two scalars,
    /// [`TxError::HighS`] for a high-S signature, and [`TxError::BadSignature`] if it does not
    /// verify.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), TxError> {
        let signature =
            Signature::from_slice(signature).map_err(|_| TxError::InvalidSignature {
                reason: if signature.len() == 64 {
                    "r or s is zero or not below the group order".into()
                } else {
                    format!("got {} bytes", signature.len())
                },
            })?;
        if signature.normalize_s().is_some() {
            return Err(TxError::HighS);
        }
        self.0
            .verify(message, &signature)
            .map_err(|_| TxError::BadSignature)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_base64())
    }
}

impl fmt::Display for PublicKey {
    /// The base64 form used in JSON.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_base64(s)
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Binary::from(self.to_bytes()).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes = Binary::deserialize(deserializer)?;
        Self::from_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_to_public_matches_tendermint_vector() {
        let key =
            SecretKey::from_hex("a96e62ed3955e65be32703f12d87b6b5cf26039ecfa948dc5107a495418e5330")
                .unwrap();
        assert_eq!(
            hex::encode(key.public_key().to_bytes()),
            "02950e1cdfcb133d6024109fd489f734eeb4502418e538c28481f22bce276f248c"
        );
        assert_eq!(
            hex::encode(key.public_key().address_bytes()),
            "7c2bb42a8be69791ec763e51f5a49bcd41e82237"
        );
    }

    #[test]
    fn hex_round_trip_and_invalid_secrets() {
        let key = SecretKey::generate();
        let again = SecretKey::from_hex(&key.to_hex()).unwrap();
        assert_eq!(key.public_key(), again.public_key());
        assert!(SecretKey::from_hex(&"00".repeat(32)).is_err());
        assert!(SecretKey::from_hex(&"ff".repeat(32)).is_err());
        let err = SecretKey::from_hex("abc").unwrap_err();
        assert!(err.to_string().starts_with("invalid secret key"), "{err}");
        assert!(!format!("{key:?}").contains(&key.to_hex()));
    }

    #[test]
    fn dev_keys_are_deterministic() {
        let alice = SecretKey::from_seed("alice");
        assert_eq!(alice.to_hex(), SecretKey::from_seed("alice").to_hex());
        assert_ne!(alice.to_hex(), SecretKey::from_seed("bob").to_hex());
        // Golden: genesis accounts depend on this derivation.
        let digest = Sha256::digest(b"consign dev key\nalice");
        assert_eq!(alice.to_hex(), hex::encode(digest));
    }

    #[test]
    fn public_key_serde_is_base64_and_checked() {
        let public = SecretKey::from_seed("alice").public_key();
        let json = serde_json::to_string(&public).unwrap();
        assert_eq!(json, format!("\"{}\"", public.to_base64()));
        let back: PublicKey = serde_json::from_str(&json).unwrap();
        assert_eq!(back, public);
        assert_eq!(public.to_string().parse::<PublicKey>().unwrap(), public);
        let short = serde_json::to_string(&Binary::from(&public.to_bytes()[..32])).unwrap();
        let err = serde_json::from_str::<PublicKey>(&short).unwrap_err();
        assert!(err.to_string().contains("33-byte"), "{err}");
        let mut off_curve = [0xffu8; 33];
        off_curve[0] = 2;
        assert!(PublicKey::from_bytes(&off_curve).is_err());
    }

    #[test]
    fn sign_and_verify_raw_messages() {
        let key = SecretKey::from_seed("alice");
        let sig = key.sign(b"hello");
        key.public_key().verify(b"hello", &sig).unwrap();
        assert_eq!(
            key.public_key().verify(b"hellp", &sig),
            Err(TxError::BadSignature)
        );
        assert!(matches!(
            key.public_key().verify(b"hello", &sig[..63]),
            Err(TxError::InvalidSignature { .. })
        ));
    }
}

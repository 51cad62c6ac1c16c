//! The data key and its shares: a fresh secp256k1 scalar, used as the secret of an age X25519
//! identity, split k-of-n with Shamir's scheme over secp256k1's scalar field, with Feldman
//! commitments (`a_j·G` for each coefficient `a_j` of the sharing polynomial) so a storage node
//! can check its own share and a buyer every share.
//!
//! Share `i` (0-based, the index of the fragment it travels with) is the polynomial's value at
//! `x = i + 1`. With `k = 1` the polynomial is the constant `s`: every share is the key itself
//! (one node alone can decrypt, as with a single storage node).

use std::fmt;

use k256::elliptic_curve::ff::{Field as _, PrimeField as _};
use k256::elliptic_curve::group::GroupEncoding as _;
use k256::elliptic_curve::zeroize::Zeroize as _;
use k256::{ProjectivePoint, Scalar};
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use vsss_rs::{
    DefaultShare, FeldmanVerifierSet as _, IdentifierPrimeField, ReadableShareSet as _, ValueGroup,
};

use crate::error::{PieceError, PrepareError, RebuildError};
use crate::params::Params;
use crate::{hexser, SetId};

/// A share as vsss-rs computes with it: identifier `x` and value `f(x)`, both scalars.
type K256Share = DefaultShare<IdentifierPrimeField<Scalar>, IdentifierPrimeField<Scalar>>;
/// A Feldman verifier: a point of secp256k1.
type Verifier = ValueGroup<ProjectivePoint>;

/// The human-readable part of an age X25519 identity.
const AGE_SECRET_HRP: bech32::Hrp = bech32::Hrp::parse_unchecked("age-secret-key-");

/// The data key: the secret of a fresh age X25519 identity that the ciphertext is encrypted to.
/// It exists whole only at the seller (while preparing) and at the buyer (after the rebuild).
pub struct DataKey {
    scalar: Scalar,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKey")
            .field("recipient", &self.recipient().to_string())
            .finish_non_exhaustive()
    }
}

impl Drop for DataKey {
    fn drop(&mut self) {
        self.scalar.zeroize();
    }
}

impl DataKey {
    /// A fresh random key from the operating system's generator.
    pub fn generate() -> Self {
        loop {
            let scalar = Scalar::random(&mut OsRng);
            if !bool::from(scalar.is_zero()) {
                return Self { scalar };
            }
        }
    }

    /// The age identity: the scalar's 32 big-endian bytes as an X25519 secret key (which
    /// clamps them, as it does any 32 bytes).
    pub fn identity(&self) -> age::x25519::Identity {
        use age::secrecy::ExposeSecret as _;
        use std::str::FromStr as _;
        let line = self.to_age_secret();
        // Any 32 bytes make a valid X25519 identity, and the encoding is age's own.
        age::x25519::Identity::from_str(line.expose_secret())
            .unwrap_or_else(|_| unreachable!("bech32 of 32 bytes is an age identity"))
    }

    /// The identity's public recipient, `age1…`.
    pub fn recipient(&self) -> age::x25519::Recipient {
        self.identity().to_public()
    }

    /// The identity as age writes it, `AGE-SECRET-KEY-1…`: put it in a file and `age -d -i`
    /// decrypts the rebuilt ciphertext. It is the whole secret: keep it private.
    pub fn to_age_secret(&self) -> age::secrecy::SecretString {
        let mut bytes: [u8; 32] = self.scalar.to_bytes().into();
        let encoded = bech32::encode::<bech32::Bech32>(AGE_SECRET_HRP, &bytes)
            .unwrap_or_else(|_| unreachable!("32 bytes fit a bech32 string"));
        bytes.zeroize();
        age::secrecy::SecretString::from(encoded.to_ascii_uppercase())
    }

    /// The Feldman commitment to the key, `s·G`: the first share commitment.
    fn commitment(&self) -> ProjectivePoint {
        ProjectivePoint::GENERATOR * self.scalar
    }
}

/// One storage node's share of the data key. It is a secret (with `k − 1` others it rebuilds
/// the key): a storage node keeps it encrypted and sends it only encrypted to the buyer.
///
/// As JSON: `{"set_id": "<32 hex>", "index": 0, "value": "<64 hex>"}`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ShareWire", into = "ShareWire")]
pub struct KeyShare {
    set_id: SetId,
    index: u16,
    value: Scalar,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShareWire {
    set_id: SetId,
    index: u16,
    #[serde(with = "hexser::bytes32")]
    value: [u8; 32],
}

impl TryFrom<ShareWire> for KeyShare {
    type Error = String;

    fn try_from(wire: ShareWire) -> Result<Self, String> {
        let value = Option::<Scalar>::from(Scalar::from_repr(wire.value.into()))
            .filter(|v| !bool::from(v.is_zero()))
            .ok_or_else(|| {
                format!(
                    "key share {}: its value is not a non-zero secp256k1 scalar",
                    wire.index
                )
            })?;
        Ok(Self {
            set_id: wire.set_id,
            index: wire.index,
            value,
        })
    }
}

impl From<KeyShare> for ShareWire {
    fn from(share: KeyShare) -> Self {
        Self {
            set_id: share.set_id,
            index: share.index,
            value: share.value.to_bytes().into(),
        }
    }
}

impl fmt::Debug for KeyShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyShare")
            .field("set_id", &self.set_id)
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl KeyShare {
    /// The custody set the share belongs to.
    pub fn set_id(&self) -> SetId {
        self.set_id
    }

    /// The share's index, `0..n`: it travels with fragment `index`.
    pub fn index(&self) -> u16 {
        self.index
    }

    fn to_vsss(&self) -> K256Share {
        K256Share {
            identifier: IdentifierPrimeField(Scalar::from(u64::from(self.index) + 1)),
            value: IdentifierPrimeField(self.value),
        }
    }

    /// The same share with another value: for tests that play a lying storage node.
    #[cfg(test)]
    pub(crate) fn tampered(&self) -> Self {
        Self {
            value: self.value + Scalar::ONE,
            ..self.clone()
        }
    }
}

/// Splits `key` into `n` shares of which `k` rebuild it; returns the shares (share `i` at
/// position `i`) and the `k` Feldman commitments.
pub(crate) fn split(
    key: &DataKey,
    params: Params,
    set_id: SetId,
) -> Result<(Vec<KeyShare>, Vec<ProjectivePoint>), PrepareError> {
    let (k, n) = (usize::from(params.k()), usize::from(params.n()));
    if k == 1 {
        let shares = (0..params.n())
            .map(|index| KeyShare {
                set_id,
                index,
                value: key.scalar,
            })
            .collect();
        return Ok((shares, vec![key.commitment()]));
    }
    let sharing = |reason: String| PrepareError::Sharing { reason };
    let (shares, verifiers) = vsss_rs::feldman::split_secret::<K256Share, Verifier>(
        k,
        n,
        &IdentifierPrimeField(key.scalar),
        None,
        OsRng,
    )
    .map_err(|e| sharing(e.to_string()))?;
    // vsss-rs numbers shares 1..=n and puts the generator before the k commitments.
    if verifiers.len() != k + 1 || verifiers[0].0 != ProjectivePoint::GENERATOR {
        return Err(sharing(format!(
            "{} verifiers for k = {k}, expected the generator and {k} commitments",
            verifiers.len()
        )));
    }
    let mut ours = Vec::with_capacity(n);
    for (index, share) in (0..params.n()).zip(&shares) {
        if share.identifier.0 != Scalar::from(u64::from(index) + 1) {
            return Err(sharing(format!(
                "share {index} has an unexpected identifier"
            )));
        }
        ours.push(KeyShare {
            set_id,
            index,
            value: share.value.0,
        });
    }
    Ok((ours, verifiers[1..].iter().map(|v| v.0).collect()))
}

/// Checks `share` against the Feldman commitments.
pub(crate) fn verify(
    share: &KeyShare,
    set_id: SetId,
    n: u16,
    commitments: &[ProjectivePoint],
) -> Result<(), PieceError> {
    if share.set_id != set_id {
        return Err(PieceError::ShareOtherSet {
            index: share.index,
            expected: set_id,
            found: share.set_id,
        });
    }
    if share.index >= n {
        return Err(PieceError::ShareIndex {
            index: share.index,
            n,
        });
    }
    let mut set: Vec<Verifier> = Vec::with_capacity(commitments.len() + 1);
    set.push(ValueGroup(ProjectivePoint::GENERATOR));
    set.extend(commitments.iter().map(|c| ValueGroup(*c)));
    set.verify_share(&share.to_vsss())
        .map_err(|_| PieceError::ShareInvalid { index: share.index })
}

/// Rebuilds the key from `k` verified shares of distinct indices and checks it against the
/// first commitment.
pub(crate) fn combine(
    shares: &[&KeyShare],
    commitments: &[ProjectivePoint],
) -> Result<DataKey, RebuildError> {
    let k = commitments.len();
    let scalar = if k == 1 {
        shares.first().map(|s| s.value).ok_or(RebuildError::Key)?
    } else {
        let set: Vec<K256Share> = shares.iter().take(k).map(|s| s.to_vsss()).collect();
        if set.len() < k {
            return Err(RebuildError::Key);
        }
        set.combine().map_err(|_| RebuildError::Key)?.0
    };
    let key = DataKey { scalar };
    if Some(&key.commitment()) != commitments.first() {
        return Err(RebuildError::Key);
    }
    Ok(key)
}

/// Interpolates whatever shares are given, without checking their number: what `k − 1`
/// colluding nodes could compute. For the tests that show it is not the key.
#[cfg(test)]
pub(crate) fn interpolate_unchecked(shares: &[&KeyShare]) -> Option<DataKey> {
    let set: Vec<K256Share> = shares.iter().map(|s| s.to_vsss()).collect();
    set.combine().ok().map(|s| DataKey { scalar: s.0 })
}

/// The compressed SEC1 encoding of a commitment, 33 bytes.
pub(crate) fn encode_point(point: &ProjectivePoint) -> [u8; 33] {
    let mut out = [0u8; 33];
    out.copy_from_slice(&point.to_bytes());
    out
}

/// A commitment from its compressed encoding; `None` unless a point other than the identity.
pub(crate) fn decode_point(bytes: &[u8; 33]) -> Option<ProjectivePoint> {
    use k256::elliptic_curve::sec1::FromEncodedPoint as _;
    let encoded = k256::EncodedPoint::from_bytes(bytes).ok()?;
    if !encoded.is_compressed() {
        return None;
    }
    Option::<ProjectivePoint>::from(ProjectivePoint::from_encoded_point(&encoded))
        .filter(|p| *p != ProjectivePoint::IDENTITY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> SetId {
        SetId([1; 16])
    }

    #[test]
    fn any_k_shares_rebuild_the_key_and_fewer_do_not() {
        for (k, n) in [(1u16, 1u16), (1, 3), (2, 3), (3, 5), (5, 5)] {
            let params = Params::new(k, n).unwrap();
            let key = DataKey::generate();
            let (shares, commitments) = split(&key, params, set()).unwrap();
            assert_eq!(shares.len(), usize::from(n));
            assert_eq!(commitments.len(), usize::from(k));
            for share in &shares {
                verify(share, set(), n, &commitments).unwrap();
            }
            // Every k-subset (as a bit mask over n ≤ 5).
            for mask in 0u32..(1 << n) {
                let chosen: Vec<&KeyShare> = shares
                    .iter()
                    .filter(|s| mask & (1 << s.index()) != 0)
                    .collect();
                if chosen.len() == usize::from(k) {
                    let rebuilt = combine(&chosen, &commitments).unwrap();
                    assert_eq!(rebuilt.scalar, key.scalar, "{k}/{n} mask {mask:b}");
                    assert_eq!(rebuilt.recipient().to_string(), key.recipient().to_string());
                } else if chosen.len() + 1 == usize::from(k) {
                    // k − 1 shares: the library refuses one share; more interpolate to
                    // something that is not the key, and `combine` refuses them.
                    if let Some(guess) = interpolate_unchecked(&chosen) {
                        assert_ne!(guess.scalar, key.scalar);
                    }
                    assert!(combine(&chosen, &commitments).is_err());
                }
            }
        }
    }

    #[test]
    fn a_wrong_share_fails_its_commitment_and_names_its_index() {
        let params = Params::new(2, 3).unwrap();
        let key = DataKey::generate();
        let (shares, commitments) = split(&key, params, set()).unwrap();
        let bad = shares[1].tampered();
        let err = verify(&bad, set(), 3, &commitments).unwrap_err();
        assert!(
            matches!(err, PieceError::ShareInvalid { index: 1 }),
            "{err}"
        );
        // A good share presented under another index fails too.
        let mut moved = shares[0].clone();
        moved.index = 2;
        assert!(verify(&moved, set(), 3, &commitments).is_err());
        let err = verify(&shares[0], SetId([9; 16]), 3, &commitments).unwrap_err();
        assert!(matches!(err, PieceError::ShareOtherSet { .. }), "{err}");
        let mut far = shares[0].clone();
        far.index = 3;
        let err = verify(&far, set(), 3, &commitments).unwrap_err();
        assert!(
            matches!(err, PieceError::ShareIndex { index: 3, n: 3 }),
            "{err}"
        );
        // A forged pair that interpolates to another key is refused by the commitment.
        let forged = [&shares[0], &bad];
        assert!(matches!(
            combine(&forged, &commitments),
            Err(RebuildError::Key)
        ));
    }

    #[test]
    fn shares_serialise_as_hex_json_and_never_debug_their_value() {
        let params = Params::new(2, 3).unwrap();
        let (shares, _) = split(&DataKey::generate(), params, set()).unwrap();
        let json = serde_json::to_string(&shares[2]).unwrap();
        assert!(
            json.starts_with(r#"{"set_id":"01010101010101010101010101010101","index":2,"value":""#),
            "{json}"
        );
        let back: KeyShare = serde_json::from_str(&json).unwrap();
        assert_eq!(back, shares[2]);
        let value = hex::encode(shares[2].value.to_bytes());
        assert!(!format!("{:?}", shares[2]).contains(&value));
        // A zero value, a value above the group order and a bad length are refused.
        for bad in ["00".repeat(32), "ff".repeat(32), "00".repeat(31)] {
            let json = format!(
                r#"{{"set_id":"{}","index":0,"value":"{bad}"}}"#,
                "01".repeat(16)
            );
            assert!(serde_json::from_str::<KeyShare>(&json).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_key_is_an_age_identity_that_decrypts_what_is_encrypted_to_it() {
        use age::secrecy::ExposeSecret as _;
        let key = DataKey::generate();
        let secret = key.to_age_secret();
        assert!(secret.expose_secret().starts_with("AGE-SECRET-KEY-1"));
        assert!(!format!("{key:?}").contains(secret.expose_secret()));
        assert!(key.recipient().to_string().starts_with("age1"));
    }
}

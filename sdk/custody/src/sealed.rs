//! Key shares in transit: a share sealed with age to one recipient, as one line of standard
//! base64 (it fits an HTTP header or a JSON string). The seller seals share `i` to storage node
//! `i`'s recipient; the node keeps it sealed and, on a purchase, opens it and seals it again to
//! the buyer, whose inbox opens it and checks it against the offer's commitments.

use std::io::{Read as _, Write as _};

use base64::Engine as _;

use crate::error::SealedShareError;
use crate::key::KeyShare;

/// The longest sealed share accepted, in base64 characters. A sealed share is about 330: the age
/// header for one X25519 recipient and the share's JSON under one chunk's tag.
pub const MAX_SEALED_SHARE_LEN: usize = 1024;

impl KeyShare {
    /// Seals the share to `recipient`: age, then standard base64 on one line.
    pub fn seal(&self, recipient: &age::x25519::Recipient) -> String {
        let json = serde_json::to_vec(self).expect("a share always serializes");
        let mut sealed = Vec::with_capacity(json.len() + 256);
        let encryptor =
            age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient))
                .expect("one recipient is always accepted");
        let mut writer = encryptor
            .wrap_output(&mut sealed)
            .expect("writing to memory cannot fail");
        writer
            .write_all(&json)
            .expect("writing to memory cannot fail");
        writer.finish().expect("writing to memory cannot fail");
        base64::engine::general_purpose::STANDARD.encode(sealed)
    }

    /// Opens a share sealed with [`seal`](Self::seal) with `identity`. The share is not checked
    /// against any commitments here: that is [`Commitments::verify_share`](crate::Commitments::verify_share).
    ///
    /// # Errors
    ///
    /// [`SealedShareError`]: too long, not base64, not sealed to `identity` (or tampered), or
    /// not a share.
    pub fn open(sealed: &str, identity: &age::x25519::Identity) -> Result<Self, SealedShareError> {
        let sealed = sealed.trim();
        if sealed.len() > MAX_SEALED_SHARE_LEN {
            return Err(SealedShareError::TooLong {
                len: sealed.len(),
                max: MAX_SEALED_SHARE_LEN,
            });
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .map_err(|e| SealedShareError::Base64(e.to_string()))?;
        let decryptor =
            age::Decryptor::new_buffered(&bytes[..]).map_err(SealedShareError::Decrypt)?;
        let mut reader = decryptor
            .decrypt(std::iter::once(identity as &dyn age::Identity))
            .map_err(SealedShareError::Decrypt)?;
        let mut json = Vec::new();
        reader
            .read_to_end(&mut json)
            .map_err(|e| SealedShareError::Corrupted(e.to_string()))?;
        serde_json::from_slice(&json).map_err(|e| SealedShareError::NotAShare(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{prepare, Params};

    fn shares() -> Vec<KeyShare> {
        let data = b"sealed shares".repeat(10);
        prepare(
            Params::new(2, 3).unwrap(),
            &data[..],
            data.len() as u64,
            vec![Vec::new(); 3],
        )
        .unwrap()
        .shares
    }

    #[test]
    fn a_sealed_share_opens_only_with_its_recipients_identity() {
        let share = shares().remove(1);
        let node = age::x25519::Identity::generate();
        let stranger = age::x25519::Identity::generate();
        let sealed = share.seal(&node.to_public());
        assert!(
            sealed.len() < MAX_SEALED_SHARE_LEN,
            "{} characters",
            sealed.len()
        );
        assert!(!sealed.contains('\n'));
        assert_eq!(KeyShare::open(&sealed, &node).unwrap(), share);
        assert!(matches!(
            KeyShare::open(&sealed, &stranger),
            Err(SealedShareError::Decrypt(_))
        ));
    }

    #[test]
    fn hostile_sealed_shares_are_refused_by_reason() {
        let node = age::x25519::Identity::generate();
        let long = "A".repeat(MAX_SEALED_SHARE_LEN + 1);
        assert!(matches!(
            KeyShare::open(&long, &node),
            Err(SealedShareError::TooLong { .. })
        ));
        assert!(matches!(
            KeyShare::open("not base64!", &node),
            Err(SealedShareError::Base64(_))
        ));
        // Sealed correctly, but not a share.
        let mut sealed = Vec::new();
        let recipient = node.to_public();
        let mut w =
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                .unwrap()
                .wrap_output(&mut sealed)
                .unwrap();
        w.write_all(br#"{"set_id":"00","index":0}"#).unwrap();
        w.finish().unwrap();
        let not_a_share = base64::engine::general_purpose::STANDARD.encode(sealed);
        assert!(matches!(
            KeyShare::open(&not_a_share, &node),
            Err(SealedShareError::NotAShare(_))
        ));
    }
}

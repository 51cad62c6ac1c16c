//! [`check_piece`]: the checks a custody piece passes at registration, against the offer's
//! commitments (issue 14). The blob must be the fragment the offer commits to at the piece's
//! index, of the fragments' size; the key share must be sealed to this node, belong to the
//! offer's set at that index and pass its Feldman commitment. The share is opened here only to
//! be checked: the record keeps it sealed, as the seller sent it.

use consign_client::{CustodyPiece, Registration};
use consign_custody::{Commitments, PieceError};
use consign_market::Custody;

use super::check::RegistrationError;
use super::CustodyRecord;
use crate::node::Services;

/// Checks `piece` of `reg` (whose blob, uploaded by the signer, is `blob_size` bytes) against
/// the offer's `custody` commitments, and returns what to keep of it. The offer's plaintext
/// digest is `content_sha256`.
pub(super) fn check_piece(
    svc: &Services,
    reg: &Registration,
    piece: &CustodyPiece,
    custody: &Custody,
    content_sha256: &str,
    blob_size: u64,
) -> Result<CustodyRecord, RegistrationError> {
    let offer_id = reg.offer_id;
    let index = piece.index;
    // The same JSON: the parse makes the checks the contract cannot (points on the curve,
    // sizes the parameters allow).
    let commitments: Commitments = serde_json::to_value(custody)
        .and_then(serde_json::from_value)
        .map_err(|e| RegistrationError::CustodyCommitments {
            offer_id,
            reason: e.to_string(),
        })?;
    let params = commitments.params();
    let digest = commitments.fragment_sha256(index).map(hex::encode).ok_or(
        RegistrationError::PieceIndex {
            offer_id,
            index,
            n: params.n(),
        },
    )?;
    if digest != reg.sha256 {
        let hint = (0..params.n())
            .find(|&i| {
                commitments.fragment_sha256(i).map(hex::encode).as_ref() == Some(&reg.sha256)
            })
            .map_or_else(
                || format!(", which is no fragment of offer {offer_id}"),
                |other| format!(", fragment {other}'s: register it as piece {other}"),
            );
        return Err(RegistrationError::FragmentDigest {
            index,
            offer: digest,
            blob: reg.sha256.clone(),
            hint,
        });
    }
    let fragment_size = commitments.fragment_size();
    if blob_size != fragment_size {
        return Err(RegistrationError::FragmentSize {
            offer_id,
            index,
            sha256: reg.sha256.clone(),
            blob: blob_size,
            offer: fragment_size,
        });
    }

    let share =
        svc.blobs
            .open_share(&piece.sealed_share)
            .map_err(|e| RegistrationError::ShareNotOurs {
                index,
                recipient: svc.blobs.recipient().to_string(),
                reason: e.to_string(),
            })?;
    let fails = |reason: String| RegistrationError::ShareFails { index, reason };
    if share.index() != index {
        return Err(fails(format!(
            "the sealed share is share {}, not share {index}",
            share.index()
        )));
    }
    commitments.verify_share(&share).map_err(|e| {
        fails(match e {
            PieceError::ShareOtherSet {
                expected, found, ..
            } => format!(
                "it belongs to custody set {found}, but offer {offer_id}'s set is {expected} (a share of another offer)"
            ),
            PieceError::ShareInvalid { .. } => format!(
                "it does not match offer {offer_id}'s share commitments (altered, or made for another set)"
            ),
            other => other.to_string(),
        })
    })?;
    Ok(CustodyRecord {
        index,
        k: params.k(),
        n: params.n(),
        fragment_size,
        content_sha256: content_sha256.to_owned(),
        sealed_share: piece.sealed_share.trim().to_owned(),
    })
}

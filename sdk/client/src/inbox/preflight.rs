//! The answer to a storage node's preflight. Before it sends a body, a storage node asks the
//! endpoint whether it will take the delivery: `OPTIONS` with the delivery's headers and no
//! body. The inbox runs the checks it would run before reading a body — the headers, the
//! contract, whether the purchase was saved before, the purchase on-chain — so a delivery it
//! would refuse never costs the sender the body, and a server that is not a Consign inbox
//! (which does not answer `x-consign-inbox: ready`) never receives one. For a piece of a
//! k-of-n delivery, the custody headers are checked against the offer too, and a piece whose
//! fragment and key share are both held already is answered as saved: nothing to send; while
//! `k` other pieces are held or on their way, a piece is answered "later" (see
//! [`underway`](super::underway)).

use reqwest::header::HeaderMap;

use super::{chain, custody, DeliveryHeaders, Inbox, InboxError, PiecesHeld, SavedRecord};
use crate::storage::delivery_headers as h;

/// What an inbox answers a preflight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Preflight {
    /// Send the body: `204`, `x-consign-inbox: ready`.
    Ready,
    /// Saved before, nothing to send: `200`, `x-consign-inbox: saved`.
    Saved(SavedRecord),
    /// A piece of a k-of-n delivery whose fragment and key share are both held already:
    /// nothing to send, `200`, `x-consign-inbox: saved`.
    Held {
        /// The piece's index.
        index: u16,
        /// The pieces of the purchase held.
        held: PiecesHeld,
    },
    /// A piece of a k-of-n delivery not needed now: `k` others are held or on their way (at
    /// least one of them on its way). `503`, `x-consign-inbox: later`: the node keeps its
    /// piece and asks again after its backoff, when the answer is "saved" (nothing to send) or,
    /// if a piece on its way failed, "ready".
    Later {
        /// The piece's index.
        index: u16,
        /// The purchase.
        purchase_id: u64,
        /// The other pieces held or on their way.
        others: Vec<u16>,
        /// Pieces needed.
        k: u16,
    },
}

impl Inbox {
    /// Answers a storage node's preflight for the delivery these `headers` describe: whether
    /// the inbox will take its body. Nothing is written and no event is reported.
    ///
    /// # Errors
    ///
    /// The [`InboxError`] the delivery itself would get before its body is read (its
    /// [`status`](InboxError::status) is the HTTP status to answer).
    pub async fn preflight(&self, headers: &HeaderMap) -> Result<Preflight, InboxError> {
        let headers = DeliveryHeaders::parse(headers)?;
        if self.config.contract != headers.contract {
            return Err(InboxError::OtherContract {
                expected: self.config.contract.clone(),
                actual: headers.contract,
            });
        }
        if let Some(record) = self.store.record(&headers.contract, headers.purchase_id)? {
            return Ok(Preflight::Saved(record));
        }
        let (delivery, custody) =
            chain::verify(&self.node, &headers, &self.config.buyer, &self.recipient).await?;
        if let Some((piece, commitments)) = custody::match_offer(&headers, custody)? {
            let k = commitments.params().k();
            let held = self.pieces_held(&delivery, commitments).await?;
            let whole: Vec<u16> = held.as_ref().map(PiecesHeld::whole).unwrap_or_default();
            if let Some(held) = held.filter(|_| whole.contains(&piece.index)) {
                return Ok(Preflight::Held {
                    index: piece.index,
                    held,
                });
            }
            let purchase = (delivery.contract.clone(), delivery.purchase_id);
            if let Err(others) = self.underway.promise(&purchase, piece.index, &whole, k) {
                return Ok(Preflight::Later {
                    index: piece.index,
                    purchase_id: delivery.purchase_id,
                    others,
                    k,
                });
            }
        }
        Ok(Preflight::Ready)
    }
}

/// The HTTP status, the `x-consign-inbox` value and the JSON body (`None` for `204`) to answer
/// a preflight with: `204 ready`; `200 saved` with the save's record; or the refusal's status,
/// `refused` and `{"error": "…"}`.
pub fn preflight_response(
    result: &Result<Preflight, InboxError>,
) -> (u16, &'static str, Option<serde_json::Value>) {
    match result {
        Ok(Preflight::Ready) => (204, h::INBOX_READY, None),
        Ok(Preflight::Saved(record)) => {
            let mut body = serde_json::to_value(record).unwrap_or_default();
            body["status"] = "saved".into();
            (200, h::INBOX_SAVED, Some(body))
        }
        Ok(Preflight::Held { index, held }) => (
            200,
            h::INBOX_SAVED,
            Some(serde_json::json!({ "status": "held", "index": index, "held": held })),
        ),
        Ok(Preflight::Later {
            index,
            purchase_id,
            others,
            k,
        }) => (
            503,
            h::INBOX_LATER,
            Some(serde_json::json!({
                "status": "later",
                "index": index,
                "error": format!(
                    "piece {index} of purchase {purchase_id} is not needed now: pieces {others:?} \
                     are held or on their way, and {k} rebuild the data; keep it and ask again \
                     later"
                ),
            })),
        ),
        Err(error) => (
            error.status(),
            h::INBOX_REFUSED,
            Some(serde_json::json!({ "error": error.to_string() })),
        ),
    }
}

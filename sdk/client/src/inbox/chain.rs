//! The on-chain side of receiving: the purchase and its offer as the data-sale contract answers
//! them, and the checks a delivery must pass against them before its body is read.

use consign_market::{Custody, Escrow, OfferResponse, PurchaseResponse, QueryMsg};
use serde::Serialize;

use super::{DeliveryHeaders, InboxError};
use crate::{ClientError, NodePool};

/// A delivery checked against the chain: what is being received, with the digest and size
/// taken from the offer on-chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// The data-sale contract.
    pub contract: String,
    /// The purchase.
    pub purchase_id: u64,
    /// The offer bought.
    pub offer_id: u64,
    /// The offer's title.
    pub title: String,
    /// The file name extension the seller published in the offer, if any (checked by the
    /// contract's rule: letters and digits, single dots between parts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    /// The buyer's address, as on-chain.
    pub buyer: String,
    /// SHA-256 of the plaintext, lowercase hex, from the offer.
    pub sha256: String,
    /// The plaintext's size in bytes, from the offer.
    pub size: u64,
    /// The delivery log's sequence number, if the sender gave it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
}

/// Maps a query's failure: absent → `absent()`, another refusal by the contract → not a
/// data-sale contract, anything else → the chain is unavailable (retry later).
fn query_error(
    error: ClientError,
    contract: &str,
    absent: impl FnOnce() -> InboxError,
) -> InboxError {
    if error.is_absent() {
        return absent();
    }
    // Every node answering something that is not a data-sale answer is the contract's doing.
    let error = match error {
        ClientError::NoNodeAnswered { last, .. } if matches!(*last, ClientError::Decode { .. }) => {
            *last
        }
        other => other,
    };
    match error {
        ClientError::Api {
            status: 400..=499,
            message,
            ..
        }
        | ClientError::QueryFailed { reason: message } => InboxError::NotDataSale {
            contract: contract.to_owned(),
            reason: message,
        },
        ClientError::Decode { error, .. } => InboxError::NotDataSale {
            contract: contract.to_owned(),
            reason: format!("unexpected answer: {error}"),
        },
        other => InboxError::ChainUnavailable {
            reason: other.to_string(),
        },
    }
}

/// Checks the delivery against the chain: the purchase exists in the contract, is for the
/// header's offer, was made by `buyer`, names `recipient` as its key and was not refunded; the
/// header's digest and size are the offer's. Returns the delivery and the offer's custody
/// commitments, if it is held k-of-n.
pub(super) async fn verify(
    node: &NodePool,
    headers: &DeliveryHeaders,
    buyer: &str,
    recipient: &str,
) -> Result<(Delivery, Option<Custody>), InboxError> {
    let contract = headers.contract.as_str();
    let id = headers.purchase_id;
    let purchase: PurchaseResponse = node
        .smart_query(contract, &QueryMsg::purchase(id))
        .await
        .map_err(|e| {
            query_error(e, contract, || InboxError::PurchaseNotFound {
                contract: contract.to_owned(),
                purchase_id: id,
            })
        })?;
    check_purchase(headers, &purchase, buyer, recipient)?;
    let offer: OfferResponse = node
        .smart_query(contract, &QueryMsg::offer(purchase.offer_id))
        .await
        .map_err(|e| {
            query_error(e, contract, || InboxError::OfferNotFound {
                contract: contract.to_owned(),
                purchase_id: id,
                offer_id: purchase.offer_id,
            })
        })?;
    check_offer(headers, &offer)?;
    let delivery = Delivery {
        contract: contract.to_owned(),
        purchase_id: id,
        offer_id: purchase.offer_id,
        title: offer.title,
        // The contract checks it; a node answering something else is not trusted with a name.
        extension: offer
            .extension
            .filter(|ext| consign_market::validate_extension(ext).is_ok()),
        buyer: purchase.buyer.into_string(),
        sha256: offer.content_sha256.to_ascii_lowercase(),
        size: offer.size,
        sequence: headers.sequence,
    };
    Ok((delivery, offer.custody))
}

pub(super) fn check_purchase(
    headers: &DeliveryHeaders,
    purchase: &PurchaseResponse,
    buyer: &str,
    recipient: &str,
) -> Result<(), InboxError> {
    let id = headers.purchase_id;
    if purchase.offer_id != headers.offer_id {
        return Err(InboxError::mismatch(
            id,
            format!(
                "the delivery says offer {}, but the purchase on-chain is of offer {}",
                headers.offer_id, purchase.offer_id
            ),
        ));
    }
    if purchase.buyer.as_str() != buyer {
        return Err(InboxError::mismatch(
            id,
            format!(
                "it was bought by {}, not by this inbox's buyer {buyer}",
                purchase.buyer
            ),
        ));
    }
    if purchase.recipient.key.trim() != recipient {
        return Err(InboxError::mismatch(
            id,
            format!(
                "it is to be encrypted to {}, not to this inbox's identity {recipient}; start the inbox with the identity whose recipient was given to `consign buy --recipient`",
                purchase.recipient.key
            ),
        ));
    }
    if purchase.state == Escrow::Refunded {
        return Err(InboxError::mismatch(
            id,
            "the purchase was refunded; its data is no longer the buyer's",
        ));
    }
    Ok(())
}

pub(super) fn check_offer(
    headers: &DeliveryHeaders,
    offer: &OfferResponse,
) -> Result<(), InboxError> {
    let id = headers.purchase_id;
    if !offer
        .content_sha256
        .eq_ignore_ascii_case(&headers.content_sha256)
    {
        return Err(InboxError::mismatch(
            id,
            format!(
                "the delivery claims content SHA-256 {}, but the offer on-chain commits to {}",
                headers.content_sha256, offer.content_sha256
            ),
        ));
    }
    if offer.size != headers.content_size {
        return Err(InboxError::mismatch(
            id,
            format!(
                "the delivery claims {} bytes, but the offer on-chain is {} bytes",
                headers.content_size, offer.size
            ),
        ));
    }
    Ok(())
}

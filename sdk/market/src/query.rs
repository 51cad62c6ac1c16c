//! The contract's queries and what it answers to each: [`QueryMsg`] names its response type on
//! every variant (`#[returns(T)]`), and each response is its own type, not the contract's storage
//! struct, so the contract can change how it stores things without changing what it answers.

use consign_sdk::cosmwasm_std::{Addr, Coin, Timestamp};
use consign_sdk::DeliveryAddress;
use cosmwasm_schema::{cw_serde, QueryResponses};

use crate::{Escrow, OfferStatus};

/// The default page size of the listings.
pub const DEFAULT_LIMIT: u32 = 30;
/// The largest page size of the listings.
pub const MAX_LIMIT: u32 = 100;

/// Queries. Listings are in id order, start after `start_after` (exclusive) and return at most
/// `limit` entries (default 30, at most 100).
#[cw_serde]
#[derive(QueryResponses)]
pub enum QueryMsg {
    /// The configuration.
    #[returns(ConfigResponse)]
    Config {},
    /// One offer.
    #[returns(OfferResponse)]
    Offer {
        /// The offer.
        id: u64,
    },
    /// Offers, all or one seller's; with `active_only`, only those that can be purchased now
    /// (not withdrawn, not expired).
    #[returns(OffersResponse)]
    Offers {
        /// Only this seller's offers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seller: Option<String>,
        /// Only offers that can be purchased now.
        #[serde(default)]
        active_only: bool,
        /// The last offer id of the previous page.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start_after: Option<u64>,
        /// The page size.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// One purchase, with its escrow state.
    #[returns(PurchaseResponse)]
    Purchase {
        /// The purchase.
        id: u64,
    },
    /// A buyer's purchases.
    #[returns(PurchasesResponse)]
    PurchasesByBuyer {
        /// The buyer.
        buyer: String,
        /// The last purchase id of the previous page.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start_after: Option<u64>,
        /// The page size.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// A seller's sales.
    #[returns(PurchasesResponse)]
    PurchasesBySeller {
        /// The seller.
        seller: String,
        /// The last purchase id of the previous page.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start_after: Option<u64>,
        /// The page size.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
}

impl QueryMsg {
    /// `config`.
    pub fn config() -> Self {
        QueryMsg::Config {}
    }

    /// `offer`: one offer, answered with an [`OfferResponse`].
    pub fn offer(id: u64) -> Self {
        QueryMsg::Offer { id }
    }

    /// `offers`: a page of offers, all (`seller: None`) or one seller's, optionally only those
    /// that can be purchased now; answered with an [`OffersResponse`].
    pub fn offers(
        seller: Option<String>,
        active_only: bool,
        start_after: Option<u64>,
        limit: Option<u32>,
    ) -> Self {
        QueryMsg::Offers {
            seller,
            active_only,
            start_after,
            limit,
        }
    }

    /// `purchase`: one purchase, answered with a [`PurchaseResponse`].
    pub fn purchase(id: u64) -> Self {
        QueryMsg::Purchase { id }
    }

    /// `purchases_by_buyer`: a page of a buyer's purchases, answered with a
    /// [`PurchasesResponse`].
    pub fn purchases_by_buyer(
        buyer: impl Into<String>,
        start_after: Option<u64>,
        limit: Option<u32>,
    ) -> Self {
        QueryMsg::PurchasesByBuyer {
            buyer: buyer.into(),
            start_after,
            limit,
        }
    }

    /// `purchases_by_seller`: a page of a seller's sales, answered with a
    /// [`PurchasesResponse`].
    pub fn purchases_by_seller(
        seller: impl Into<String>,
        start_after: Option<u64>,
        limit: Option<u32>,
    ) -> Self {
        QueryMsg::PurchasesBySeller {
            seller: seller.into(),
            start_after,
            limit,
        }
    }
}

// The JSON Schema names of the first three responses (`Config`, `Offer`, `Purchase`) are the ones
// the contract's schema has always had, so code generated from it keeps its type names.

/// Set at instantiation; never changes.
#[cw_serde]
#[schemars(rename = "Config")]
pub struct ConfigResponse {
    /// The marketplace arbiter, who resolves disputes.
    pub arbiter: Addr,
    /// How long after a purchase the buyer may dispute; after it, the seller may claim.
    pub release_window_seconds: u64,
    /// How long after a dispute the arbiter has to resolve it; after it, the buyer may claim a
    /// refund.
    pub arbitration_window_seconds: u64,
}

/// A seller's public offer. It names no storage location, by design.
#[cw_serde]
#[schemars(rename = "Offer")]
pub struct OfferResponse {
    /// Sequential id, from 1.
    pub id: u64,
    /// Who sells, and is paid.
    pub seller: Addr,
    /// The exact funds a purchase must send: denominations unique and sorted, amounts non-zero.
    pub price: Vec<Coin>,
    /// SHA-256 of the plaintext, 64 lowercase hex characters.
    pub content_sha256: String,
    /// Size of the plaintext in bytes.
    pub size: u64,
    /// A short title.
    pub title: String,
    /// What the data is.
    pub description: String,
    /// The terms of sale and use.
    pub terms: String,
    /// Block time from which the offer can no longer be purchased, if any.
    pub expires: Option<Timestamp>,
    /// Active or withdrawn.
    pub status: OfferStatus,
    /// Block time of creation.
    pub created: Timestamp,
    /// The data's file name extension, if the seller published one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    /// Commitments to the k-of-n custody set holding the data, if several storage nodes hold it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custody: Option<crate::Custody>,
}

/// A buyer's purchase of an offer, with its escrow.
#[cw_serde]
#[schemars(rename = "Purchase")]
pub struct PurchaseResponse {
    /// Sequential id, from 1.
    pub id: u64,
    /// The offer bought.
    pub offer_id: u64,
    /// Who bought, and is refunded if the arbiter so decides.
    pub buyer: Addr,
    /// Who sold, and is paid on release.
    pub seller: Addr,
    /// The funds paid and held: the offer's price at the time of purchase.
    pub price: Vec<Coin>,
    /// Where the data is delivered, as given by the buyer.
    pub recipient: DeliveryAddress,
    /// Block time of the purchase; the release window starts here.
    pub created: Timestamp,
    /// The escrow's state.
    pub state: Escrow,
    /// The buyer's reason, once disputed.
    pub dispute_reason: Option<String>,
    /// Block time of the dispute, once disputed; the arbitration window starts here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disputed: Option<Timestamp>,
    /// Block time at which the escrow was released or refunded.
    pub settled: Option<Timestamp>,
}

/// A page of offers.
#[cw_serde]
pub struct OffersResponse {
    /// The offers, in id order.
    pub offers: Vec<OfferResponse>,
}

/// A page of purchases.
#[cw_serde]
pub struct PurchasesResponse {
    /// The purchases, in id order.
    pub purchases: Vec<PurchaseResponse>,
}

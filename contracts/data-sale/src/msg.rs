//! Messages and responses (snake_case JSON; unknown fields are rejected).

use consign_sdk::cosmwasm_std::{Coin, Timestamp};
use consign_sdk::DeliveryAddress;
use cosmwasm_schema::{cw_serde, QueryResponses};

use crate::state::{Config, Offer, Purchase};

/// The default page size of the listings.
pub const DEFAULT_LIMIT: u32 = 30;
/// The largest page size of the listings.
pub const MAX_LIMIT: u32 = 100;

/// Instantiates the marketplace.
#[cw_serde]
pub struct InstantiateMsg {
    /// The address that resolves disputes.
    pub arbiter: String,
    /// How long after a purchase the buyer may dispute it; once it has passed, the seller may
    /// claim the payment. At most ten years.
    pub release_window_seconds: u64,
}

/// Transactions. Only `Purchase` takes funds.
#[cw_serde]
pub enum ExecuteMsg {
    /// Sellers: offers data for sale. Attribute `offer_id` holds the new offer's id.
    CreateOffer {
        /// The exact funds a purchase must send: at least one coin, denominations unique,
        /// amounts non-zero.
        price: Vec<Coin>,
        /// SHA-256 of the plaintext, 64 lowercase hex characters.
        content_sha256: String,
        /// Size of the plaintext in bytes, greater than zero.
        size: u64,
        /// A short title (non-empty, at most 256 bytes).
        title: String,
        /// What the data is (at most 8192 bytes).
        description: String,
        /// The terms of sale and use (at most 8192 bytes).
        terms: String,
        /// Block time from which the offer can no longer be purchased; must be in the future.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires: Option<Timestamp>,
    },
    /// The offer's seller: changes the given fields of an active (not withdrawn) offer. Existing
    /// purchases keep the price they paid. An expiry can be moved (to a future time) but not
    /// removed.
    UpdateOffer {
        /// The offer.
        id: u64,
        /// A new price.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        price: Option<Vec<Coin>>,
        /// A new title.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        /// A new description.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        /// New terms.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        terms: Option<String>,
        /// A new expiry, in the future.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires: Option<Timestamp>,
    },
    /// The offer's seller: withdraws it for good. Existing purchases are unaffected.
    WithdrawOffer {
        /// The offer.
        id: u64,
    },
    /// Buyers: buys an offer, sending exactly its price. The payment is held in escrow and the
    /// contract emits one delivery instruction to `recipient`. Attribute `purchase_id` holds the
    /// new purchase's id.
    Purchase {
        /// The offer.
        offer_id: u64,
        /// Where the data must be delivered, and the key it is encrypted to.
        recipient: DeliveryAddress,
    },
    /// The purchase's buyer: confirms receipt; the payment goes to the seller.
    ConfirmReceipt {
        /// The purchase.
        purchase_id: u64,
    },
    /// The purchase's seller: once the release window has passed without a dispute, takes the
    /// payment.
    ClaimPayment {
        /// The purchase.
        purchase_id: u64,
    },
    /// The purchase's buyer: disputes it within the release window; the arbiter decides.
    Dispute {
        /// The purchase.
        purchase_id: u64,
        /// Why (non-empty, at most 8192 bytes).
        reason: String,
    },
    /// The arbiter: settles a disputed purchase, paying the seller (`release: true`) or refunding
    /// the buyer (`release: false`).
    Resolve {
        /// The purchase.
        purchase_id: u64,
        /// Pay the seller (`true`) or refund the buyer (`false`).
        release: bool,
    },
}

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

/// The configuration.
pub type ConfigResponse = Config;
/// One offer.
pub type OfferResponse = Offer;
/// One purchase.
pub type PurchaseResponse = Purchase;

/// A page of offers.
#[cw_serde]
pub struct OffersResponse {
    /// The offers, in id order.
    pub offers: Vec<Offer>,
}

/// A page of purchases.
#[cw_serde]
pub struct PurchasesResponse {
    /// The purchases, in id order.
    pub purchases: Vec<Purchase>,
}

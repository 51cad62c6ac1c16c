//! What the contract stores.
//!
//! Offers and purchases are kept by id in [`OFFERS`] and [`PURCHASES`]; the secondary maps
//! [`OFFERS_BY_SELLER`], [`PURCHASES_BY_BUYER`] and [`PURCHASES_BY_SELLER`] hold `()` under
//! `(address, id)` so the listings page through one party's entries in id order.

use consign_sdk::cosmwasm_std::{Addr, Coin, Timestamp};
use consign_sdk::DeliveryAddress;
use cosmwasm_schema::cw_serde;
use cw_storage_plus::{Item, Map};

use consign_market::{ConfigResponse, Custody, OfferResponse, PurchaseResponse};

// Stored as they are answered: the interface crate defines them once.
pub use consign_market::{Escrow, OfferStatus};

/// Set at instantiation; never changes.
#[cw_serde]
pub struct Config {
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
pub struct Offer {
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
    pub extension: Option<String>,
    /// Commitments to the k-of-n custody set holding the data, if several storage nodes hold it.
    /// Absent from offers stored before it existed, which read as `None`.
    #[serde(default)]
    pub custody: Option<Custody>,
}

impl Offer {
    /// Whether the offer has expired at `now` (an offer expires at its `expires` time exactly).
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires.is_some_and(|expires| now >= expires)
    }

    /// Whether the offer can be purchased at `now`: active and not expired.
    pub fn is_open(&self, now: Timestamp) -> bool {
        self.status == OfferStatus::Active && !self.is_expired(now)
    }
}

/// A buyer's purchase of an offer, with its escrow.
#[cw_serde]
pub struct Purchase {
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
    pub disputed: Option<Timestamp>,
    /// Block time at which the escrow was released or refunded.
    pub settled: Option<Timestamp>,
}

/// The configuration.
pub const CONFIG: Item<Config> = Item::new("config");
/// The last offer id given out (0 before the first).
pub const OFFER_COUNT: Item<u64> = Item::new("offer_count");
/// The last purchase id given out (0 before the first).
pub const PURCHASE_COUNT: Item<u64> = Item::new("purchase_count");
/// Offers by id.
pub const OFFERS: Map<u64, Offer> = Map::new("offers");
/// `(seller, offer id)` for each offer.
pub const OFFERS_BY_SELLER: Map<(&Addr, u64), ()> = Map::new("offers_by_seller");
/// Purchases by id.
pub const PURCHASES: Map<u64, Purchase> = Map::new("purchases");
/// `(buyer, purchase id)` for each purchase.
pub const PURCHASES_BY_BUYER: Map<(&Addr, u64), ()> = Map::new("purchases_by_buyer");
/// `(seller, purchase id)` for each purchase.
pub const PURCHASES_BY_SELLER: Map<(&Addr, u64), ()> = Map::new("purchases_by_seller");

// What the queries answer is built from what is stored, field by field: the responses are the
// interface crate's own types, so storage can change without changing the answers.

impl From<Config> for ConfigResponse {
    fn from(config: Config) -> Self {
        let Config {
            arbiter,
            release_window_seconds,
            arbitration_window_seconds,
        } = config;
        ConfigResponse {
            arbiter,
            release_window_seconds,
            arbitration_window_seconds,
        }
    }
}

impl From<Offer> for OfferResponse {
    fn from(offer: Offer) -> Self {
        let Offer {
            id,
            seller,
            price,
            content_sha256,
            size,
            title,
            description,
            terms,
            expires,
            status,
            created,
            extension,
            custody,
        } = offer;
        OfferResponse {
            id,
            seller,
            price,
            content_sha256,
            size,
            title,
            description,
            terms,
            expires,
            status,
            created,
            extension,
            custody,
        }
    }
}

impl From<Purchase> for PurchaseResponse {
    fn from(purchase: Purchase) -> Self {
        let Purchase {
            id,
            offer_id,
            buyer,
            seller,
            price,
            recipient,
            created,
            state,
            dispute_reason,
            disputed,
            settled,
        } = purchase;
        PurchaseResponse {
            id,
            offer_id,
            buyer,
            seller,
            price,
            recipient,
            created,
            state,
            dispute_reason,
            disputed,
            settled,
        }
    }
}

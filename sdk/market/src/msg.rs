//! The contract's instantiate and execute messages, and helpers that build them.

use consign_sdk::cosmwasm_std::{Coin, Timestamp};
use consign_sdk::DeliveryAddress;
use cosmwasm_schema::cw_serde;

/// Instantiates the marketplace.
#[cw_serde]
pub struct InstantiateMsg {
    /// The address that resolves disputes.
    pub arbiter: String,
    /// How long after a purchase the buyer may dispute it; once it has passed, the seller may
    /// claim the payment. At most ten years.
    pub release_window_seconds: u64,
    /// How long the arbiter has to resolve a dispute; once it has passed unresolved, the buyer
    /// may take the payment back with `claim_refund`. At most ten years; the release window's
    /// length when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arbitration_window_seconds: Option<u64>,
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
        /// The data's file name extension (`csv`, `tar.gz`), if the seller chooses to publish
        /// it: buyers' inboxes name saved files with it. Public, like the whole offer; see
        /// [`validate_extension`](crate::validate_extension) for what is accepted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        extension: Option<String>,
        /// Commitments to a k-of-n custody set (issue 14), when the data is held by several
        /// storage nodes of which any `k` deliver it: what the buyer checks each piece against.
        /// Public, and names no storage node.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        custody: Option<crate::Custody>,
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
    /// The purchase's buyer: takes back the payment of a purchase they disputed, once the
    /// arbitration window has passed without the arbiter resolving it.
    ClaimRefund {
        /// The purchase.
        purchase_id: u64,
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

/// The fields of [`ExecuteMsg::CreateOffer`], to build one with [`ExecuteMsg::create_offer`]
/// (and what the contract's handler receives).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOffer {
    /// The exact funds a purchase must send.
    pub price: Vec<Coin>,
    /// SHA-256 of the plaintext, 64 lowercase hex characters.
    pub content_sha256: String,
    /// Size of the plaintext in bytes, greater than zero.
    pub size: u64,
    /// A short title (non-empty, at most 256 bytes).
    pub title: String,
    /// What the data is (at most 8192 bytes).
    pub description: String,
    /// The terms of sale and use (at most 8192 bytes).
    pub terms: String,
    /// Block time from which the offer can no longer be purchased; must be in the future.
    pub expires: Option<Timestamp>,
    /// The data's file name extension, public (see [`crate::validate_extension`]).
    pub extension: Option<String>,
    /// Commitments to the k-of-n custody set holding the data, if several nodes hold it.
    pub custody: Option<crate::Custody>,
}

impl NewOffer {
    /// An offer of `size` bytes with digest `content_sha256` at `price`, titled `title`, with an
    /// empty description, empty terms and no expiry; set those fields as needed.
    pub fn new(
        price: Vec<Coin>,
        content_sha256: impl Into<String>,
        size: u64,
        title: impl Into<String>,
    ) -> Self {
        Self {
            price,
            content_sha256: content_sha256.into(),
            size,
            title: title.into(),
            description: String::new(),
            terms: String::new(),
            expires: None,
            extension: None,
            custody: None,
        }
    }
}

/// The fields of [`ExecuteMsg::UpdateOffer`] besides the id: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OfferChanges {
    /// A new price.
    pub price: Option<Vec<Coin>>,
    /// A new title.
    pub title: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// New terms.
    pub terms: Option<String>,
    /// A new expiry, in the future.
    pub expires: Option<Timestamp>,
}

impl From<NewOffer> for ExecuteMsg {
    fn from(offer: NewOffer) -> Self {
        ExecuteMsg::CreateOffer {
            price: offer.price,
            content_sha256: offer.content_sha256,
            size: offer.size,
            title: offer.title,
            description: offer.description,
            terms: offer.terms,
            expires: offer.expires,
            extension: offer.extension,
            custody: offer.custody,
        }
    }
}

impl ExecuteMsg {
    /// `create_offer` (by the seller, without funds). The new offer's id is in the
    /// [`OFFER_ID`](crate::OFFER_ID) attribute; read it with
    /// [`created_offer_id`](crate::created_offer_id).
    pub fn create_offer(offer: NewOffer) -> Self {
        offer.into()
    }

    /// `update_offer` (by the seller, without funds): the fields of `changes` that are set.
    pub fn update_offer(id: u64, changes: OfferChanges) -> Self {
        let OfferChanges {
            price,
            title,
            description,
            terms,
            expires,
        } = changes;
        ExecuteMsg::UpdateOffer {
            id,
            price,
            title,
            description,
            terms,
            expires,
        }
    }

    /// `withdraw_offer` (by the seller, without funds).
    pub fn withdraw_offer(id: u64) -> Self {
        ExecuteMsg::WithdrawOffer { id }
    }

    /// `purchase` (by the buyer, sending exactly the offer's price): deliver to `recipient`. The
    /// new purchase's id is in the [`PURCHASE_ID`](crate::PURCHASE_ID) attribute; read it with
    /// [`created_purchase_id`](crate::created_purchase_id).
    pub fn purchase(offer_id: u64, recipient: DeliveryAddress) -> Self {
        ExecuteMsg::Purchase {
            offer_id,
            recipient,
        }
    }

    /// `confirm_receipt` (by the buyer, without funds): pays the seller.
    pub fn confirm_receipt(purchase_id: u64) -> Self {
        ExecuteMsg::ConfirmReceipt { purchase_id }
    }

    /// `claim_payment` (by the seller, without funds, after the release window).
    pub fn claim_payment(purchase_id: u64) -> Self {
        ExecuteMsg::ClaimPayment { purchase_id }
    }

    /// `dispute` (by the buyer, without funds, within the release window).
    pub fn dispute(purchase_id: u64, reason: impl Into<String>) -> Self {
        ExecuteMsg::Dispute {
            purchase_id,
            reason: reason.into(),
        }
    }

    /// `claim_refund` (by the buyer, without funds, once the arbitration window of a dispute has
    /// passed unresolved).
    pub fn claim_refund(purchase_id: u64) -> Self {
        ExecuteMsg::ClaimRefund { purchase_id }
    }

    /// `resolve` (by the arbiter, without funds): pay the seller (`release: true`) or refund the
    /// buyer (`release: false`).
    pub fn resolve(purchase_id: u64, release: bool) -> Self {
        ExecuteMsg::Resolve {
            purchase_id,
            release,
        }
    }
}

//! The data-sale contract: sellers offer data by its SHA-256 digest and size, buyers purchase
//! it naming where it must be delivered, the payment is held in escrow, and the purchase emits one
//! [`DeliveryInstruction`](consign_sdk::DeliveryInstruction) through
//! [`deliver`](consign_sdk::deliver).
//!
//! An offer is public and says nothing about where the data is stored: it has a price, a digest,
//! a size, a title, a description, terms and an optional expiry, and no URL of any kind. The
//! buyer's [`Purchase`](msg::ExecuteMsg::Purchase) names the delivery address (an `http(s)`
//! endpoint and an age X25519 recipient); the storage node holding the blob fulfils the
//! instruction.
//!
//! The escrow ends in exactly one payout:
//!
//! - the buyer confirms receipt ([`ConfirmReceipt`](msg::ExecuteMsg::ConfirmReceipt)): paid to
//!   the seller;
//! - the release window passes without a dispute and the seller claims
//!   ([`ClaimPayment`](msg::ExecuteMsg::ClaimPayment)): paid to the seller;
//! - the buyer disputes within the window ([`Dispute`](msg::ExecuteMsg::Dispute)) and the arbiter
//!   named at instantiation resolves ([`Resolve`](msg::ExecuteMsg::Resolve)): paid to the seller
//!   or refunded to the buyer.
//!
//! Modules in the cw-plus layout: [`contract`] (entry points and handlers), [`msg`], [`state`],
//! [`error`]. The messages, the query responses and the offer and escrow states are defined in
//! the interface crate [`consign_market`] (as cw-plus's `cw20` is for `cw20-base`), which tools
//! use without linking the contract; [`msg`] re-exports them.

pub mod contract;
pub mod error;
pub mod msg;
pub mod state;

pub use crate::error::ContractError;

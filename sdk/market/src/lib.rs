//! The data-sale contract's interface, as cw-plus's `cw20` package is cw20-base's: what a tool
//! needs to talk to the market without linking the contract.
//!
//! - [`InstantiateMsg`], [`ExecuteMsg`] and [`QueryMsg`], with helpers that build each message
//!   ([`ExecuteMsg::create_offer`], [`ExecuteMsg::purchase`], [`QueryMsg::offer`], …);
//! - what each query answers ([`OfferResponse`], [`PurchaseResponse`], [`OffersResponse`], …),
//!   types of their own rather than the contract's storage structs;
//! - the two state machines: an offer's [`OfferStatus`] and a purchase's [`Escrow`];
//! - the attributes the contract emits ([`OFFER_ID`], [`PURCHASE_ID`]) and readers for the ids
//!   a transaction created ([`created_offer_id`], [`created_purchase_id`]).
//!
//! The contract itself depends on this crate, so the JSON on both sides is one definition. The
//! default build compiles to `wasm32-unknown-unknown`; the `tools` feature adds
//! `ExecuteMsg::to_msg`, which makes a message into the chain's `Msg::Execute` and needs
//! `consign-types`.
//!
//! # Example
//!
//! A seller's offer, a buyer's query and the contract's answer, as JSON:
//!
//! ```
//! use consign_market::{ExecuteMsg, NewOffer, OfferResponse, OfferStatus, QueryMsg};
//! use consign_sdk::cosmwasm_std::{coins, from_json, to_json_string};
//!
//! const DIGEST: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
//!
//! let offer = NewOffer {
//!     terms: "research use only".into(),
//!     ..NewOffer::new(coins(100, "ucsn"), DIGEST, 1024, "Weather 2026")
//! };
//! let create = to_json_string(&ExecuteMsg::create_offer(offer))?;
//! assert!(create.starts_with(r#"{"create_offer":{"price":[{"denom":"ucsn","amount":"100"}],"#));
//! assert!(!create.contains("expires"), "no expiry, no field");
//!
//! assert_eq!(to_json_string(&QueryMsg::offer(1))?, r#"{"offer":{"id":1}}"#);
//! let answer: OfferResponse = from_json(format!(
//!     r#"{{"id":1,"seller":"consign1seller","price":[{{"denom":"ucsn","amount":"100"}}],
//!        "content_sha256":"{DIGEST}","size":1024,"title":"Weather 2026","description":"",
//!        "terms":"research use only","expires":null,"status":"active",
//!        "created":"1700000000000000000"}}"#
//! ))?;
//! assert_eq!(answer.status, OfferStatus::Active);
//! assert_eq!(answer.seller.as_str(), "consign1seller");
//! # Ok::<(), consign_sdk::cosmwasm_std::StdError>(())
//! ```

mod custody;
mod events;
mod extension;
mod msg;
mod query;
mod status;
#[cfg(feature = "tools")]
mod tools;

pub use custody::{Custody, CUSTODY_VERSION, MAX_CUSTODY_FRAGMENTS};
pub use events::{
    contract_attribute, contract_attribute_u64, created_offer_id, created_purchase_id,
    AttributeError, OFFER_ID, PURCHASE_ID,
};
pub use extension::{validate_extension, MAX_EXTENSION_LEN};
pub use msg::{ExecuteMsg, InstantiateMsg, NewOffer, OfferChanges};
pub use query::{
    ConfigResponse, OfferResponse, OffersResponse, PurchaseResponse, PurchasesResponse, QueryMsg,
    DEFAULT_LIMIT, MAX_LIMIT,
};
pub use status::{Escrow, OfferStatus};

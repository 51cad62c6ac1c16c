//! Write Consign contracts.
//!
//! A Consign contract is a CosmWasm contract: this crate re-exports [`cosmwasm_std`] (so one
//! dependency is enough) and adds the one thing Consign has beyond CosmWasm, [`deliver`], which
//! asks the runtime to send purchased data to a buyer once the transaction commits, as described
//! by a [`DeliveryInstruction`].
//!
//! A contract that never calls [`deliver`] imports nothing beyond the CosmWasm interface, so it
//! runs on any CosmWasm chain. In native unit tests `deliver` records the instruction instead:
//! run each entry point through [`testing::call`], which keeps a call's instructions only when it
//! returns `Ok` (the chain drops those of a failed call), and read them back with
//! [`testing::take_delivered`]. To test a contract beside others (cw20, a router, …) in one
//! cw-multi-test `App`, with its deliveries in each execution's response, use the
//! `consign-multitest` crate.
//!
//! # A complete small contract
//!
//! One file for sale at a fixed price: whoever pays exactly that price names where the data must
//! go, and the contract's completion is the one call to [`deliver`]. The storage location appears
//! nowhere: the contract knows only the data's digest and size.
//!
//! ```
//! use consign_sdk::cosmwasm_std::{
//!     entry_point, from_json, to_json_binary, Binary, Coin, Deps, DepsMut, Env, MessageInfo,
//!     Response, StdError, StdResult,
//! };
//! use consign_sdk::{deliver, DeliveryAddress, DeliveryInstruction};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! pub struct InstantiateMsg {
//!     pub price: Coin,
//!     pub content_sha256: String,
//!     pub size: u64,
//! }
//!
//! #[derive(Serialize, Deserialize)]
//! #[serde(rename_all = "snake_case")]
//! pub enum ExecuteMsg {
//!     /// Pay `price` and have the data delivered to `recipient`.
//!     Buy { recipient: DeliveryAddress },
//! }
//!
//! #[derive(Serialize, Deserialize)]
//! #[serde(rename_all = "snake_case")]
//! pub enum QueryMsg {
//!     /// How many purchases so far.
//!     Sales {},
//! }
//!
//! const OFFER: &[u8] = b"offer";
//! const SALES: &[u8] = b"sales";
//!
//! #[entry_point(crate = "consign_sdk::cosmwasm_std")]
//! pub fn instantiate(deps: DepsMut, _: Env, _: MessageInfo, msg: InstantiateMsg) -> StdResult<Response> {
//!     deps.storage.set(OFFER, &serde_json::to_vec(&msg).map_err(|e| StdError::msg(e.to_string()))?);
//!     deps.storage.set(SALES, &0u64.to_be_bytes());
//!     Ok(Response::new())
//! }
//!
//! #[entry_point(crate = "consign_sdk::cosmwasm_std")]
//! pub fn execute(deps: DepsMut, _: Env, info: MessageInfo, msg: ExecuteMsg) -> StdResult<Response> {
//!     let ExecuteMsg::Buy { recipient } = msg;
//!     let offer: InstantiateMsg = from_json(deps.storage.get(OFFER).unwrap_or_default())?;
//!     if info.funds != [offer.price.clone()] {
//!         return Err(StdError::msg(format!("send exactly {}", offer.price)));
//!     }
//!     let sales = sales(deps.as_ref()) + 1;
//!     deps.storage.set(SALES, &sales.to_be_bytes());
//!     // The completion: the runtime records this when, and only when, the transaction commits.
//!     deliver(&DeliveryInstruction {
//!         offer_id: 1,
//!         purchase_id: sales,
//!         buyer: info.sender.to_string(),
//!         recipient,
//!         content_sha256: offer.content_sha256,
//!         size: offer.size,
//!         deadline: None,
//!     })?;
//!     Ok(Response::new().add_attribute("purchase_id", sales.to_string()))
//! }
//!
//! #[entry_point(crate = "consign_sdk::cosmwasm_std")]
//! pub fn query(deps: Deps, _: Env, msg: QueryMsg) -> StdResult<Binary> {
//!     let QueryMsg::Sales {} = msg;
//!     to_json_binary(&sales(deps))
//! }
//!
//! fn sales(deps: Deps) -> u64 {
//!     let bytes = deps.storage.get(SALES).unwrap_or_default();
//!     u64::from_be_bytes(bytes.try_into().unwrap_or_default())
//! }
//!
//! // Its unit test, as with any CosmWasm contract, plus the instructions it emitted: each call
//! // runs through `call`, which keeps its instructions only if it returns Ok, as the chain does.
//! use consign_sdk::cosmwasm_std::coins;
//! use consign_sdk::testing::{call, message_info, mock_dependencies, mock_env, take_delivered};
//!
//! let mut deps = mock_dependencies();
//! let seller = deps.api.addr_make("seller");
//! let buyer = deps.api.addr_make("buyer");
//! let digest = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
//! let init = InstantiateMsg { price: Coin::new(100u128, "ucsn"), content_sha256: digest.into(), size: 1024 };
//! call(|| instantiate(deps.as_mut(), mock_env(), message_info(&seller, &[]), init))?;
//!
//! let recipient = DeliveryAddress {
//!     endpoint: "https://buyer.example/inbox".into(),
//!     key: "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p".into(),
//! };
//! let buy = || ExecuteMsg::Buy { recipient: recipient.clone() };
//!
//! // Wrong funds: refused, and nothing delivered.
//! assert!(call(|| execute(deps.as_mut(), mock_env(), message_info(&buyer, &coins(99, "ucsn")), buy())).is_err());
//! assert!(take_delivered().is_empty());
//!
//! // The right price: exactly one instruction, to the buyer's address.
//! call(|| execute(deps.as_mut(), mock_env(), message_info(&buyer, &coins(100, "ucsn")), buy()))?;
//! let delivered = take_delivered();
//! assert_eq!(delivered.len(), 1);
//! assert_eq!(delivered[0].buyer, buyer.as_str());
//! assert_eq!(delivered[0].recipient, recipient);
//! assert_eq!(delivered[0].content_sha256, digest);
//!
//! // An invalid address fails the call with a message that says why.
//! let bad = ExecuteMsg::Buy { recipient: DeliveryAddress { endpoint: "ftp://x".into(), key: recipient.key.clone() } };
//! let err = call(|| execute(deps.as_mut(), mock_env(), message_info(&buyer, &coins(100, "ucsn")), bad)).unwrap_err();
//! assert!(err.to_string().contains("http"), "{err}");
//! assert!(take_delivered().is_empty());
//! # Ok::<(), StdError>(())
//! ```
//!
//! Build it for `wasm32-unknown-unknown` as any CosmWasm contract (`crate-type = ["cdylib",
//! "rlib"]`); `contracts/data-sale` in this repository is the full marketplace: offers, purchases
//! and escrow.

pub use cosmwasm_std;

mod deliver;
mod delivery;
mod error;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

pub use deliver::deliver;
pub use delivery::{DeliveryAddress, DeliveryInstruction, MAX_ENDPOINT_LEN};
pub use error::DeliveryError;

/// The items most contracts need: [`deliver`] and its types, and the cosmwasm-std ones used in
/// every entry point.
pub mod prelude {
    pub use crate::{deliver, DeliveryAddress, DeliveryError, DeliveryInstruction};
    pub use cosmwasm_std::{
        entry_point, to_json_binary, Addr, Binary, Deps, DepsMut, Env, MessageInfo, Response,
        StdError, StdResult,
    };
}

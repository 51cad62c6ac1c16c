//! Write Consign contracts.
//!
//! A Consign contract is a CosmWasm contract: this crate re-exports [`cosmwasm_std`] (so one
//! dependency is enough) and adds the one thing Consign has beyond CosmWasm, [`deliver`], which
//! asks the runtime to send purchased data to a buyer once the transaction commits, as described
//! by a [`DeliveryInstruction`].
//!
//! A contract that never calls [`deliver`] imports nothing beyond the CosmWasm interface, so it
//! runs on any CosmWasm chain. In native unit tests `deliver` records the instruction instead;
//! read it back with [`testing::take_delivered`].
//!
//! ```
//! use consign_sdk::cosmwasm_std::{
//!     entry_point, Binary, DepsMut, Env, MessageInfo, Response, StdResult,
//! };
//! use consign_sdk::{deliver, DeliveryAddress, DeliveryInstruction};
//!
//! #[entry_point(crate = "consign_sdk::cosmwasm_std")]
//! pub fn execute(
//!     _deps: DepsMut,
//!     _env: Env,
//!     info: MessageInfo,
//!     msg: Binary,
//! ) -> StdResult<Response> {
//!     // A real contract would parse `msg`, check the funds and record the purchase.
//!     let endpoint = String::from_utf8(msg.to_vec())?;
//!     deliver(&DeliveryInstruction {
//!         offer_id: 1,
//!         purchase_id: 1,
//!         buyer: info.sender.into_string(),
//!         recipient: DeliveryAddress {
//!             endpoint,
//!             key: "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p".into(),
//!         },
//!         content_sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
//!             .into(),
//!         size: 1024,
//!         deadline: None,
//!     })?;
//!     Ok(Response::new().add_attribute("action", "deliver"))
//! }
//!
//! # use consign_sdk::testing::{message_info, mock_dependencies, mock_env};
//! let mut deps = mock_dependencies();
//! let buyer = deps.api.addr_make("buyer");
//! execute(
//!     deps.as_mut(),
//!     mock_env(),
//!     message_info(&buyer, &[]),
//!     Binary::from(b"https://buyer.example/inbox"),
//! )?;
//! let delivered = consign_sdk::testing::take_delivered();
//! assert_eq!(delivered[0].buyer, buyer.as_str());
//! # Ok::<(), consign_sdk::cosmwasm_std::StdError>(())
//! ```

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

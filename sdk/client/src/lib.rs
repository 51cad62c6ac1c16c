//! The native client library of Consign: account keys and keyrings, addresses, signed
//! transactions, and the wire types of the node's API. The node, the `consign` command line, the
//! storage node and the tests all use these, so there is one definition of each format.
//!
//! - [`SecretKey`] / [`PublicKey`]: secp256k1 keys; [`KeyFile`] and [`Keyring`] keep them on disk.
//! - Addresses: Cosmos-style bech32 with the prefix [`ADDRESS_PREFIX`] (`consign1…`); contract
//!   addresses derived exactly as wasmd derives them ([`contract_address`],
//!   [`instantiate2_address`]).
//! - [`Tx`]: a [`TxBody`] of [`Msg`]s, signed with ECDSA over the SHA-256 of canonical
//!   [sign bytes](TxBody::sign_bytes); JSON on the wire; identified by its [`TxHash`].
//! - [`TxResult`], [`Block`], [`DeliveryRecord`], [`Account`], [`NodeStatus`], …: what the node
//!   returns.
//! - [`NodeClient`]: an async client of the node's HTTP API, one method per route, and
//!   [`NodeClient::sign_and_broadcast`].
//! - [`StorageClient`]: an async client of a storage node: uploads streamed from disk with
//!   progress, registrations, status and the operator's routes; the wire types are in
//!   [`storage`].
//! - [`Inbox`]: the buyer's receiver of deliveries: checks each against the chain, decrypts it
//!   as it streams in, verifies it against the offer's digest and saves it exactly once
//!   ([`inbox`]).
//!
//! # Example
//!
//! ```
//! use consign_client::{coins, Msg, SecretKey, Tx, TxBody};
//!
//! let alice = SecretKey::from_seed("alice"); // a deterministic dev key: never hold value with it
//! let bob = SecretKey::generate();
//!
//! let body = TxBody {
//!     chain_id: "consign-dev".into(),
//!     sender: alice.address(),
//!     sequence: 0,
//!     gas_limit: 200_000,
//!     memo: String::new(),
//!     messages: vec![Msg::BankSend { to: bob.address(), amount: coins(1_000, "ucsn") }],
//! };
//! let tx = Tx::sign(body, &alice);
//! let bytes = tx.to_bytes(); // what is broadcast
//! let hash = Tx::hash(&bytes); // how the node names it
//!
//! // What the node does on receipt:
//! let received = Tx::from_bytes(&bytes)?;
//! received.verify()?;
//! assert_eq!(received.body.sender, alice.address());
//! assert_eq!(hash.to_string().len(), 64);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod address;
mod error;
mod http;
pub mod inbox;
mod keys;
mod node;
pub mod seal;
pub mod storage;
mod storage_client;
mod tx;
mod types;

pub use address::{
    account_address_bytes, canonicalize_address, canonicalize_with_prefix, contract_address,
    humanize_address, humanize_with_prefix, instantiate2_address, validate_address, ADDRESS_PREFIX,
    MAX_ADDRESS_LEN,
};
pub use error::{AddressError, KeyError, TxError, TxHashError};
pub use inbox::{Inbox, InboxConfig, InboxError, InboxEvent};
pub use keys::{KeyFile, KeyInfo, Keyring, PublicKey, SecretKey};
pub use node::{BlockId, Broadcast, BroadcastMode, ClientError, NodeClient};
pub use seal::{AgeIdentity, OpenReport, SealError};
pub use storage::{
    Registration, RegistrationReceipt, Signed, SignedError, StorageInfo, UploadGrant,
    UploadReceipt, REGISTRATION_DOMAIN, UPLOAD_DOMAIN,
};
pub use storage_client::{StorageClient, StorageClientError};
pub use tx::{Msg, Tx, TxBody, TxHash, SIGN_BYTES_PREFIX};
pub use types::{
    Account, ApiError, BalancesResponse, Block, BlockHeader, CheckResult, CodeInfo, ContractInfo,
    DeliveryPage, DeliveryRecord, NodeStatus, RawQueryResponse, SmartQueryResponse, TxResult,
};

/// The chain's native denomination.
pub const NATIVE_DENOM: &str = "ucsn";

// The cosmwasm-std types that appear in this crate's API, so users need not depend on it.
pub use consign_sdk::{DeliveryAddress, DeliveryInstruction};
pub use cosmwasm_std::{coin, coins, Attribute, Binary, Coin, Event, Timestamp, Uint128};

//! Consign's formats, with no I/O: what the state machine, the node, the storage node and every
//! tool agree on, and nothing that talks to a network or a disk. `consign-chain` depends on this
//! crate alone; tools get it re-exported by `consign-client`.
//!
//! - [`SecretKey`] / [`PublicKey`]: secp256k1 account keys.
//! - Addresses: Cosmos-style bech32 with the prefix [`ADDRESS_PREFIX`] (`consign1…`); contract
//!   addresses derived exactly as wasmd derives them ([`contract_address`],
//!   [`instantiate2_address`]).
//! - [`Tx`]: a [`TxBody`] of [`Msg`]s, signed with ECDSA over the SHA-256 of canonical
//!   [sign bytes](TxBody::sign_bytes); JSON on the wire; identified by its [`TxHash`].
//! - [`TxResult`], [`Block`], [`DeliveryRecord`], [`Account`], [`NodeStatus`], [`ApiError`], …:
//!   what the node's API returns.
//! - [`SequenceMismatch`]: a refusal for a transaction's sequence, worded by the chain and read
//!   back by clients that sign again.
//! - [`storage`]: the storage node's wire formats: signed upload grants and registrations, its
//!   answers, the headers of a delivery.
//! - [`ip`]: whether an IP address is public, the rule of the storage node's egress policy.
//!
//! # Example
//!
//! ```
//! use consign_types::{coins, Msg, SecretKey, Tx, TxBody};
//!
//! let alice = SecretKey::from_seed("alice"); // a deterministic dev key: never hold value with it
//! let bob = SecretKey::generate();
//!
//! let body = TxBody {
//!     chain_id: "consign-dev".into(),
//!     sender: alice.address(),
//!     sequence: 0,
//!     gas_limit: 200_000,
//!     fee: vec![], // zero: enough on a node whose minimum gas price is zero
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
mod chain;
mod error;
pub mod ip;
mod keys;
mod listing;
mod sequence;
mod staking;
pub mod storage;
mod tx;

pub use address::{
    account_address_bytes, canonicalize_address, canonicalize_with_prefix, contract_address,
    humanize_address, humanize_with_prefix, instantiate2_address, validate_address,
    validator_address, ADDRESS_PREFIX, MAX_ADDRESS_LEN, VALIDATOR_PREFIX,
};
pub use chain::{
    amount_of, Account, ApiError, BalancesResponse, Block, BlockHeader, CheckResult, CodeInfo,
    ContractInfo, DeliveryPage, DeliveryRecord, NodeStatus, PoolNode, PoolNodeState,
    RawQueryResponse, SmartQueryResponse, TxOutcome, TxResult,
};
pub use error::{AddressError, KeyError, TxError, TxHashError};
pub use keys::{PublicKey, SecretKey};
pub use listing::{CodeList, ContractList, ContractState, Pagination, Simulation, StateEntry};
pub use sequence::SequenceMismatch;
pub use staking::{
    DelegationInfo, DelegationsResponse, UnbondingInfo, UnbondingsResponse, ValidatorInfo,
    ValidatorsResponse,
};
pub use storage::{
    CustodyPiece, Registration, RegistrationReceipt, Signed, SignedError, StorageInfo, UploadGrant,
    UploadReceipt, REGISTRATION_DOMAIN, UPLOAD_DOMAIN,
};
pub use tx::{GasPrice, GasPriceError, Msg, Tx, TxBody, TxHash, SIGN_BYTES_PREFIX};

/// The chain's native denomination.
pub const NATIVE_DENOM: &str = "ucsn";

// The cosmwasm-std types that appear in this crate's API, so users need not depend on it.
pub use consign_sdk::{DeliveryAddress, DeliveryInstruction};
pub use cosmwasm_std::{coin, coins, Attribute, Binary, Coin, Event, Timestamp, Uint128};

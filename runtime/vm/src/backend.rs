//! What the host supplies to a running contract: storage, an address API and a querier.
//!
//! The VM knows nothing of blocks, accounts or other contracts: everything it needs from the
//! outside world comes through these three traits, so it can be tested, fuzzed and benchmarked
//! alone. The chain implements them over its state; [`MemoryStorage`], [`Bech32Api`] and
//! [`NoChainQuerier`] are complete implementations for standalone use.
//!
//! Gas for storage and address operations is charged by the VM from its [`crate::GasCosts`], so
//! the same call costs the same on every backend; a querier reports the gas its (possibly
//! nested) work used in [`GasInfo`].

mod bech32;
mod memory;
mod querier;

pub use self::bech32::Bech32Api;
pub use self::memory::MemoryStorage;
pub use self::querier::NoChainQuerier;

use cosmwasm_std::{Binary, ContractResult, Order, SystemResult};

/// A storage record: key and value.
pub type Record = (Vec<u8>, Vec<u8>);

/// Why a backend call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The input was invalid; the message is passed back to the contract (for example an
    /// address that does not parse).
    #[error("{msg}")]
    UserErr {
        /// The message for the contract.
        msg: String,
    },
    /// The backend ran out of the gas it was given.
    #[error("out of gas in the backend")]
    OutOfGas,
    /// No iterator with this id exists.
    #[error("iterator {id} does not exist")]
    IteratorDoesNotExist {
        /// The id the contract passed.
        id: u32,
    },
    /// Anything else (I/O, a corrupted store…).
    #[error("{msg}")]
    Unknown {
        /// What went wrong.
        msg: String,
    },
}

impl BackendError {
    /// An input error whose message goes back to the contract.
    pub fn user_err(msg: impl Into<String>) -> Self {
        Self::UserErr { msg: msg.into() }
    }

    /// Any other backend failure.
    pub fn unknown(msg: impl Into<String>) -> Self {
        Self::Unknown { msg: msg.into() }
    }
}

/// The result of a backend call.
pub type BackendResult<T> = Result<T, BackendError>;

/// Gas used by a querier's work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GasInfo {
    /// Gas the querier charges for the query itself.
    pub cost: u64,
    /// Gas used by work done elsewhere on the caller's behalf (a nested contract query).
    pub externally_used: u64,
}

impl GasInfo {
    /// Total gas to charge the caller.
    pub fn total(&self) -> u64 {
        self.cost.saturating_add(self.externally_used)
    }
}

/// A contract's key-value storage.
///
/// Iteration is by id: [`Storage::scan`] opens an iterator over `[start, end)` and
/// [`Storage::next`] advances it. Iterators live until [`Storage::clear_iterators`].
pub trait Storage: 'static {
    /// Reads a value.
    fn get(&self, key: &[u8]) -> BackendResult<Option<Vec<u8>>>;
    /// Opens an iterator over keys in `[start, end)` (`None` = unbounded) in `order`.
    fn scan(
        &mut self,
        start: Option<&[u8]>,
        end: Option<&[u8]>,
        order: Order,
    ) -> BackendResult<u32>;
    /// Advances an iterator; `None` at its end.
    fn next(&mut self, iterator_id: u32) -> BackendResult<Option<Record>>;
    /// Writes a value.
    fn set(&mut self, key: &[u8], value: &[u8]) -> BackendResult<()>;
    /// Removes a key (a no-op if it is absent).
    fn remove(&mut self, key: &[u8]) -> BackendResult<()>;
    /// Drops every open iterator (called when a contract call ends).
    fn clear_iterators(&mut self) {}
}

/// Address conversion between the human (bech32) and canonical (bytes) forms.
pub trait BackendApi: 'static {
    /// Human to canonical. An invalid address is a [`BackendError::UserErr`] saying why.
    fn addr_canonicalize(&self, human: &str) -> BackendResult<Vec<u8>>;
    /// Canonical to human. Invalid bytes are a [`BackendError::UserErr`].
    fn addr_humanize(&self, canonical: &[u8]) -> BackendResult<String>;
}

/// The answer of a querier: the chain's response (or a system error) and the gas it used.
pub type QuerierResult = (BackendResult<SystemResult<ContractResult<Binary>>>, GasInfo);

/// Answers a contract's queries of the chain (`query_chain`).
pub trait Querier: 'static {
    /// Answers one JSON-encoded `QueryRequest`, using at most `gas_limit` gas.
    fn query_raw(&self, request: &[u8], gas_limit: u64) -> QuerierResult;
}

/// The three parts a contract instance runs against.
#[derive(Debug)]
pub struct Backend<A, S, Q> {
    /// Address conversions.
    pub api: A,
    /// The contract's storage.
    pub storage: S,
    /// Queries of the chain.
    pub querier: Q,
}

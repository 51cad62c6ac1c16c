//! Why a transaction was refused, why it failed, or why the chain itself failed.

use consign_vm::VmError;

/// A transaction refused before it enters a block (it is not recorded, and its sequence is not
/// used up).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// The bytes are not a transaction, or its signature is wrong.
    #[error("{0}")]
    Tx(String),
    /// The transaction was signed for another chain.
    #[error("wrong chain id: the transaction is for {got:?}, this chain is {expected:?}")]
    ChainId {
        /// This chain.
        expected: String,
        /// The transaction's.
        got: String,
    },
    /// The sequence is not the account's next one.
    #[error("{}", consign_types::SequenceMismatch { expected: *expected, got: *got }.message(address))]
    Sequence {
        /// The signer.
        address: String,
        /// The sequence the account expects next.
        expected: u64,
        /// The transaction's.
        got: u64,
    },
    /// The gas limit does not even cover what the transaction costs before it runs.
    #[error(
        "gas limit {limit} is too low: this transaction needs {needed} gas before any message runs"
    )]
    GasTooLow {
        /// The transaction's limit.
        limit: u64,
        /// The intrinsic cost.
        needed: u64,
    },
    /// The gas limit is above what a transaction or a block allows.
    #[error("gas limit {limit} is above the maximum of {max}")]
    GasTooHigh {
        /// The transaction's limit.
        limit: u64,
        /// The maximum.
        max: u64,
    },
    /// A transaction with no messages.
    #[error("the transaction has no messages")]
    Empty,
    /// The fee is malformed (a denomination twice, an amount too large).
    #[error("invalid fee: {0}")]
    InvalidFee(String),
    /// The fee is below the gas limit times the node's minimum gas price.
    #[error("insufficient fee: the transaction pays {fee}, this node needs at least {required} ({gas_limit} gas at its minimum gas price of {min_gas_price}); raise the fee (--fees {required}) or lower the gas limit")]
    InsufficientFee {
        /// What the transaction pays.
        fee: String,
        /// The least this node accepts for its gas limit.
        required: String,
        /// The transaction's gas limit.
        gas_limit: u64,
        /// The node's minimum gas price.
        min_gas_price: String,
    },
    /// The sender has never held funds nor sent a transaction: it cannot pay for anything.
    #[error("unknown account {address}: it does not exist on-chain; an account exists once it has received funds, so have it receive funds first")]
    UnknownAccount {
        /// The sender.
        address: String,
    },
    /// The sender's balance cannot pay the fee on top of its pending transactions' fees.
    #[error("{address} cannot pay the fee of {fee}: it holds {available} and its pending transactions already promise {pending}; fund the account or wait for them to commit")]
    CannotPayFee {
        /// The sender.
        address: String,
        /// The fee in the short denomination.
        fee: String,
        /// The sender's balance in it.
        available: String,
        /// What its pending transactions pay in it.
        pending: String,
    },
}

impl CheckError {
    /// The result code reported for this refusal (Cosmos SDK codes where one fits).
    pub fn code(&self) -> u32 {
        match self {
            Self::Tx(_) => 2,
            Self::ChainId { .. } => 9,
            Self::Sequence { .. } => consign_types::SequenceMismatch::CODE,
            Self::GasTooLow { .. } => 11,
            Self::GasTooHigh { .. } => 11,
            Self::Empty => 12,
            Self::InvalidFee(_) => 10,
            Self::InsufficientFee { .. } => 13,
            Self::UnknownAccount { .. } => 9,
            Self::CannotPayFee { .. } => 5,
        }
    }
}

/// Why a message failed inside a block. The transaction is recorded with a non-zero code and
/// this message as its log; all its state changes and deliveries are reverted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    /// The transaction ran out of gas.
    #[error("out of gas: used {used} of the gas limit {limit}")]
    OutOfGas {
        /// The limit.
        limit: u64,
        /// Used when it ran out.
        used: u64,
    },
    /// A submessage with its own gas limit (`SubMsg::gas_limit`) ran out of it. Unlike
    /// [`ExecError::OutOfGas`], the calling contract's `reply_on_error`/`reply_always` catches
    /// it, as on wasmd.
    #[error("submessage hit its gas limit of {limit}: out of gas")]
    SubMsgOutOfGas {
        /// The submessage's gas limit, all of which was charged.
        limit: u64,
    },
    /// Not enough funds for a transfer.
    #[error("insufficient funds: {address} has {available}, needs {needed}")]
    InsufficientFunds {
        /// Whose funds.
        address: String,
        /// What it has of the denomination.
        available: String,
        /// What was needed.
        needed: String,
    },
    /// A contract returned an error.
    #[error("contract {contract} returned an error: {msg}")]
    Contract {
        /// The contract.
        contract: String,
        /// Its error.
        msg: String,
    },
    /// The VM failed the call (trap, out of memory, invalid delivery…).
    #[error("contract {contract} failed: {msg}")]
    Vm {
        /// The contract.
        contract: String,
        /// What happened.
        msg: String,
    },
    /// The message was invalid (unknown contract or code, bad address, not the admin…).
    #[error("{0}")]
    Invalid(String),
    /// A message type this chain does not support.
    #[error("unsupported message: {0}")]
    Unsupported(String),
    /// A message a contract returned failed: `context` names the contract and the step (as
    /// wasmd wraps such errors in "dispatch" and "reply"), `source` is why. Deep chains of calls
    /// nest, naming every level from the outermost.
    #[error("{context}: {source}")]
    Nested {
        /// Which contract, and what it was doing (dispatching submessage 3, its reply to 3).
        context: String,
        /// The failure inside.
        source: Box<ExecError>,
    },
}

impl ExecError {
    /// The result code recorded for the transaction.
    pub fn code(&self) -> u32 {
        match self {
            Self::OutOfGas { .. } | Self::SubMsgOutOfGas { .. } => 11,
            Self::InsufficientFunds { .. } => 5,
            Self::Contract { .. } | Self::Vm { .. } => 5_000,
            Self::Invalid(_) => 3,
            Self::Unsupported(_) => 4,
            Self::Nested { source, .. } => source.code(),
        }
    }

    /// This error with the context of the contract step it happened in. Running out of the
    /// transaction's gas is left as it is: it is no step's failure, and no reply may catch it
    /// however deep it happened.
    pub(crate) fn within(self, context: impl FnOnce() -> String) -> Self {
        match self {
            Self::OutOfGas { .. } => self,
            other => Self::Nested {
                context: context(),
                source: Box::new(other),
            },
        }
    }

    pub(crate) fn from_vm(contract: &str, err: &VmError, gas_limit: u64, gas_used: u64) -> Self {
        match err {
            VmError::OutOfGas { .. } => Self::OutOfGas {
                limit: gas_limit,
                used: gas_used.max(gas_limit),
            },
            other => Self::Vm {
                contract: contract.to_owned(),
                msg: other.to_string(),
            },
        }
    }
}

/// The chain itself failed: storage, a corrupted record, the VM's set-up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The database failed.
    #[error("database error: {0}")]
    Db(String),
    /// Another process has the database open (redb locks the file while it is open).
    #[error("{} is in use by another process (its database is locked)", path.display())]
    Locked {
        /// The database file.
        path: std::path::PathBuf,
    },
    /// A stored record could not be read.
    #[error("corrupted state: {0}")]
    Corrupt(String),
    /// The VM could not be set up or a stored code could not be loaded.
    #[error("vm error: {0}")]
    Vm(#[from] VmError),
    /// The genesis is invalid.
    #[error("invalid genesis: {0}")]
    Genesis(String),
    /// A query was invalid or failed (bad input, the contract's error).
    #[error("{0}")]
    Query(String),
    /// A block for another height than the next one was given to execute.
    #[error("the chain is at height {}, so the next block is {expected}, but block {got} was given: the consensus engine's block store and this chain's database are out of step", expected - 1)]
    Height {
        /// The next height.
        expected: u64,
        /// The block's.
        got: u64,
    },
    /// A commit with no finalized block before it.
    #[error("nothing to commit: no block was finalized after height {height}")]
    NothingToCommit {
        /// The committed height.
        height: u64,
    },
    /// What a query asked for does not exist (no contract at that address).
    #[error("{0}")]
    NotFound(String),
}

impl ChainError {
    pub(crate) fn db(err: impl std::fmt::Display) -> Self {
        Self::Db(err.to_string())
    }
}

//! The VM's error type: what went wrong in a contract call, its upload, or the VM itself.

use crate::checks::CheckError;

/// The result of a VM operation.
pub type VmResult<T> = Result<T, VmError>;

/// Why a VM operation failed. Every message says what happened in words a contract author or
/// node operator can act on; a failed call never changes the contract's storage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VmError {
    /// The upload checks refused the module.
    #[error("the contract was rejected at upload: {}", join_problems(.problems))]
    Rejected {
        /// Every rule the module broke.
        problems: Vec<CheckError>,
    },
    /// wasmtime could not compile a module that passed the checks.
    #[error("compiling the contract failed: {msg}")]
    Compile {
        /// wasmtime's message.
        msg: String,
    },
    /// No code with this checksum was saved.
    #[error("no contract code with checksum {checksum} is stored")]
    CodeNotFound {
        /// The checksum, hex.
        checksum: String,
    },
    /// Instantiating the module failed (imports, memory, table, start).
    #[error("instantiating the contract failed: {msg}")]
    Instantiate {
        /// What went wrong.
        msg: String,
    },
    /// The contract ran out of gas.
    #[error("out of gas: the call used its whole gas limit of {limit}")]
    OutOfGas {
        /// The limit the call had.
        limit: u64,
    },
    /// The contract asked for more memory than an instance may have.
    #[error("memory limit exceeded: the contract tried to grow its memory to {requested} bytes, over the limit of {limit} bytes")]
    MemoryLimit {
        /// Bytes the contract asked for in total.
        requested: u64,
        /// Bytes an instance may have.
        limit: u64,
    },
    /// The contract tried to grow its table past the limit.
    #[error("table limit exceeded: the contract tried to grow its table to {requested} elements, over the limit of {limit}")]
    TableLimit {
        /// Elements requested.
        requested: u64,
        /// Elements allowed.
        limit: u64,
    },
    /// The wasm call stack overflowed (usually unbounded recursion).
    #[error("stack overflow: the contract exceeded the wasm stack limit (unbounded recursion?)")]
    StackOverflow,
    /// The contract trapped (panic, unreachable, out-of-bounds access, division by zero…).
    #[error("the contract trapped: {msg}")]
    Trap {
        /// wasmtime's description of the trap.
        msg: String,
    },
    /// The contract called `abort` (a panic in a cosmwasm-std contract).
    #[error("the contract aborted: {msg}")]
    Aborted {
        /// The panic message.
        msg: String,
    },
    /// A pointer or Region the contract passed was invalid.
    #[error("invalid memory access by the contract: {msg}")]
    Region {
        /// What was wrong with it.
        msg: String,
    },
    /// The contract passed more data than the host accepts for this argument.
    #[error("{what} is {len} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// What the data was.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A storage write or removal in a read-only (query) call.
    #[error("{op} is not allowed in a query: queries are read-only")]
    WriteAccessDenied {
        /// `db_write` or `db_remove`.
        op: &'static str,
    },
    /// An invalid iterator id, order or other misuse of the host interface.
    #[error("invalid call to the host: {msg}")]
    Communication {
        /// What was wrong.
        msg: String,
    },
    /// The contract emitted an invalid delivery instruction.
    #[error("invalid delivery instruction: {msg}")]
    InvalidDelivery {
        /// Why it is invalid.
        msg: String,
    },
    /// The contract's result could not be read or parsed.
    #[error("the contract returned an invalid result: {msg}")]
    InvalidResult {
        /// What was wrong.
        msg: String,
    },
    /// The contract does not export the entry point called.
    #[error("the contract has no `{name}` entry point")]
    MissingEntryPoint {
        /// The entry point.
        name: String,
    },
    /// A storage, API or querier backend failed.
    #[error("backend error: {msg}")]
    Backend {
        /// What the backend reported.
        msg: String,
    },
    /// The module cache failed (I/O on the cache directory).
    #[error("module cache error: {msg}")]
    Cache {
        /// What failed.
        msg: String,
    },
    /// The VM's configuration is invalid or the engine could not start.
    #[error("vm configuration error: {msg}")]
    Config {
        /// What is wrong.
        msg: String,
    },
}

fn join_problems(problems: &[CheckError]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl VmError {
    pub(crate) fn region(msg: impl Into<String>) -> Self {
        Self::Region { msg: msg.into() }
    }

    pub(crate) fn communication(msg: impl Into<String>) -> Self {
        Self::Communication { msg: msg.into() }
    }

    pub(crate) fn cache(msg: impl std::fmt::Display) -> Self {
        Self::Cache {
            msg: msg.to_string(),
        }
    }

    pub(crate) fn invalid_result(msg: impl std::fmt::Display) -> Self {
        Self::InvalidResult {
            msg: msg.to_string(),
        }
    }

    /// Turns the error of a wasm call (a trap, or a host function's error) into a VM error.
    /// This is the one place traps are recovered.
    pub(crate) fn from_wasm(err: wasmtime::Error, gas_limit: u64) -> Self {
        let err = match err.downcast::<VmError>() {
            Ok(vm) => return vm,
            Err(err) => err,
        };
        match err.downcast_ref::<wasmtime::Trap>() {
            Some(wasmtime::Trap::OutOfFuel) => Self::OutOfGas { limit: gas_limit },
            Some(wasmtime::Trap::StackOverflow) => Self::StackOverflow,
            Some(wasmtime::Trap::MemoryOutOfBounds) => Self::Trap {
                msg: "out of bounds memory access (the contract read or wrote outside its \
                      memory; a contract whose recursion exhausts its own stack ends this way)"
                    .into(),
            },
            Some(wasmtime::Trap::UnreachableCodeReached) => Self::Trap {
                msg: "unreachable code reached (a panic in the contract?)".into(),
            },
            Some(trap) => Self::Trap {
                msg: trap.to_string(),
            },
            None => Self::Trap {
                msg: format!("{err:#}"),
            },
        }
    }

    /// The short machine-readable kind of this error, stable across versions.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Rejected { .. } => "rejected",
            Self::Compile { .. } => "compile",
            Self::CodeNotFound { .. } => "code-not-found",
            Self::Instantiate { .. } => "instantiate",
            Self::OutOfGas { .. } => "out-of-gas",
            Self::MemoryLimit { .. } => "memory-limit",
            Self::TableLimit { .. } => "table-limit",
            Self::StackOverflow => "stack-overflow",
            Self::Trap { .. } => "trap",
            Self::Aborted { .. } => "aborted",
            Self::Region { .. } => "region",
            Self::TooLarge { .. } => "too-large",
            Self::WriteAccessDenied { .. } => "write-access-denied",
            Self::Communication { .. } => "communication",
            Self::InvalidDelivery { .. } => "invalid-delivery",
            Self::InvalidResult { .. } => "invalid-result",
            Self::MissingEntryPoint { .. } => "missing-entry-point",
            Self::Backend { .. } => "backend",
            Self::Cache { .. } => "cache",
            Self::Config { .. } => "config",
        }
    }
}

impl From<crate::backend::BackendError> for VmError {
    fn from(err: crate::backend::BackendError) -> Self {
        Self::Backend {
            msg: err.to_string(),
        }
    }
}

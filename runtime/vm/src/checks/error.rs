//! [`CheckError`]: one broken upload rule, with a stable rule name and a message for people.

use serde::ser::SerializeStruct;

/// One rule a contract breaks. A [`super::CheckReport`] lists every one it found.
///
/// Each variant belongs to a rule with a stable name ([`CheckError::rule`]) that scripts may
/// match on; the `Display` message is for people and may change. Serialized (for
/// `consign check --output json`) as `{"rule": …, "message": …}`.
#[non_exhaustive]
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum CheckError {
    /// The wasm file is larger than the upload limit.
    #[error("the contract is {size} bytes, more than the limit of {limit} bytes; build it with the release profile (opt-level, lto, strip) or run wasm-opt -Os")]
    CodeSize {
        /// Size of the file in bytes.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The bytes are not a valid wasm module (and enabling more features would not help).
    #[error("not a valid wasm module: {message}")]
    InvalidWasm {
        /// What the parser or validator said, with a hint where we have one.
        message: String,
    },
    /// The module uses a wasm feature contracts may not use.
    #[error("{feature} is not allowed: {reason}")]
    WasmFeature {
        /// The feature, as people call it ("SIMD").
        feature: String,
        /// Why it is refused and how to build without it.
        reason: String,
    },
    /// A required export is absent.
    #[error("missing required export \"{name}\": {hint}")]
    MissingExport {
        /// The export's name.
        name: String,
        /// Why it is required, or where it usually comes from.
        hint: String,
    },
    /// A required export exists but is the wrong kind of item.
    #[error("export \"{name}\" is a {found}, but it must be a {expected}")]
    ExportKind {
        /// The export's name.
        name: String,
        /// What it must be (function, memory).
        expected: String,
        /// What it is.
        found: String,
    },
    /// A required function export has the wrong signature.
    #[error("export \"{name}\" has signature {found}, but the host calls it as {expected}")]
    ExportSignature {
        /// The export's name.
        name: String,
        /// The signature the host calls it with.
        expected: String,
        /// The signature in the module.
        found: String,
    },
    /// No `interface_version_*` export.
    #[error("the contract exports no interface_version_* marker, so it was not built with cosmwasm-std; contracts built with cosmwasm-std 2.x or 3.x export interface_version_8")]
    MissingInterfaceVersion,
    /// More than one `interface_version_*` export.
    #[error("the contract exports {} interface version markers ({}); exactly one is allowed", found.len(), found.join(", "))]
    MultipleInterfaceVersions {
        /// The markers found.
        found: Vec<String>,
    },
    /// The one `interface_version_*` export is not the version this runtime speaks.
    #[error("the contract exports {found}, but this runtime speaks only {expected} (cosmwasm-std 2.x and 3.x): {hint}")]
    UnsupportedInterfaceVersion {
        /// The marker found.
        found: String,
        /// The marker required.
        expected: String,
        /// What the version found means.
        hint: String,
    },
    /// A `requires_*` capability this runtime does not offer.
    #[error("the contract needs capability \"{capability}\", which this runtime does not offer (offered: {})", offered.join(", "))]
    UnavailableCapability {
        /// The capability required.
        capability: String,
        /// The capabilities offered.
        offered: Vec<String>,
    },
    /// A function import the host does not provide.
    #[error("the contract imports {module}.{name}, which this runtime does not provide{hint} (it provides: {})", provided.join(", "))]
    UnknownImport {
        /// The import's module.
        module: String,
        /// The import's name.
        name: String,
        /// Extra help for well-known foreign imports (wasm-bindgen, WASI), or empty.
        hint: String,
        /// The names the host provides in module `env`.
        provided: Vec<String>,
    },
    /// A host function imported with a different signature from the one provided.
    #[error("the contract imports env.{name} with signature {found}, but this runtime provides it as {expected}")]
    ImportSignature {
        /// The import's name.
        name: String,
        /// The signature the host provides.
        expected: String,
        /// The signature the contract imports.
        found: String,
    },
    /// An imported memory, table, global or tag: contracts may import only functions.
    #[error("the contract imports a {kind} ({module}.{name}); contracts may import only functions, and must define their own memory and table")]
    NonFunctionImport {
        /// The import's module.
        module: String,
        /// The import's name.
        name: String,
        /// What is imported (memory, table, global, tag).
        kind: String,
    },
    /// Too many imports.
    #[error("the contract has {count} imports, more than the limit of {limit}")]
    ImportCount {
        /// Number of imports.
        count: usize,
        /// The configured limit.
        limit: usize,
    },
    /// Not exactly one defined memory.
    #[error("the contract defines {count} memories, but it must define exactly one")]
    MemoryCount {
        /// Number of memories the module defines.
        count: usize,
    },
    /// The memory's initial size is above the limit.
    #[error("the contract's memory starts at {initial} pages of 64 KiB, more than the limit of {limit} pages")]
    MemoryInitial {
        /// Initial size in pages.
        initial: u64,
        /// The configured limit.
        limit: u64,
    },
    /// The memory declares a maximum size.
    #[error("the contract's memory declares a maximum of {maximum} pages, but it must leave the maximum unset: the host sets it")]
    MemoryMaximum {
        /// The declared maximum in pages.
        maximum: u64,
    },
    /// Too many tables.
    #[error("the contract has {count} tables, more than the limit of {limit}")]
    TableCount {
        /// Number of tables.
        count: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A table without a maximum size.
    #[error("the contract's table has no maximum size; it must declare one (rustc does)")]
    TableUnbounded,
    /// A table larger than the limit.
    #[error("the contract's table may hold up to {size} entries, more than the limit of {limit}")]
    TableSize {
        /// The table's maximum (or initial, if larger) number of entries.
        size: u64,
        /// The configured limit.
        limit: u64,
    },
    /// Too many functions.
    #[error("the contract defines {count} functions, more than the limit of {limit}")]
    FunctionCount {
        /// Number of functions the module defines.
        count: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A function with too many parameters.
    #[error("function {function} takes {count} parameters, more than the limit of {limit}{}", more_offenders(*others))]
    FunctionParams {
        /// The worst offender (export or debug name, or `#index`).
        function: String,
        /// Its parameter count.
        count: usize,
        /// The configured limit.
        limit: usize,
        /// How many other functions break the limit.
        others: usize,
    },
    /// Too many parameters across all functions.
    #[error(
        "the contract's functions take {total} parameters in all, more than the limit of {limit}"
    )]
    TotalFunctionParams {
        /// The sum of every function's parameter count.
        total: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A function with too many results.
    #[error("function {function} returns {count} values, more than the limit of {limit}{}", more_offenders(*others))]
    FunctionResults {
        /// The worst offender.
        function: String,
        /// Its result count.
        count: usize,
        /// The configured limit.
        limit: usize,
        /// How many other functions break the limit.
        others: usize,
    },
    /// A function with too many locals.
    #[error("function {function} declares {count} locals, more than the limit of {limit}{}", more_offenders(*others))]
    FunctionLocals {
        /// The worst offender.
        function: String,
        /// Its number of declared locals (parameters not included).
        count: u64,
        /// The configured limit.
        limit: u64,
        /// How many other functions break the limit.
        others: usize,
    },
    /// Too many locals across all functions.
    #[error(
        "the contract's functions declare {total} locals in all, more than the limit of {limit}"
    )]
    TotalFunctionLocals {
        /// The sum of every function's declared locals.
        total: u64,
        /// The configured limit.
        limit: u64,
    },
}

fn more_offenders(others: usize) -> String {
    match others {
        0 => String::new(),
        1 => " (and 1 more function breaks it)".to_owned(),
        n => format!(" (and {n} more functions break it)"),
    }
}

impl CheckError {
    /// The stable name of the rule this error breaks, such as `"unknown-import"`.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::CodeSize { .. } => "code-size",
            Self::InvalidWasm { .. } => "invalid-wasm",
            Self::WasmFeature { .. } => "wasm-feature",
            Self::MissingExport { .. } => "missing-export",
            Self::ExportKind { .. } => "export-kind",
            Self::ExportSignature { .. } => "export-signature",
            Self::MissingInterfaceVersion
            | Self::MultipleInterfaceVersions { .. }
            | Self::UnsupportedInterfaceVersion { .. } => "interface-version",
            Self::UnavailableCapability { .. } => "unavailable-capability",
            Self::UnknownImport { .. } => "unknown-import",
            Self::ImportSignature { .. } => "import-signature",
            Self::NonFunctionImport { .. } => "import-kind",
            Self::ImportCount { .. } => "import-count",
            Self::MemoryCount { .. } | Self::MemoryInitial { .. } | Self::MemoryMaximum { .. } => {
                "memory"
            }
            Self::TableCount { .. } | Self::TableUnbounded | Self::TableSize { .. } => "table",
            Self::FunctionCount { .. } => "function-count",
            Self::FunctionParams { .. } | Self::TotalFunctionParams { .. } => "function-params",
            Self::FunctionResults { .. } => "function-results",
            Self::FunctionLocals { .. } | Self::TotalFunctionLocals { .. } => "function-locals",
        }
    }
}

impl serde::Serialize for CheckError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("CheckError", 2)?;
        s.serialize_field("rule", self.rule())?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}

//! Messages. Every type is snake_case JSON and rejects unknown fields.

use serde::{Deserialize, Serialize};

/// Instantiates; takes no fields.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct InstantiateMsg {}

/// Ways to misbehave. Each first writes `state = "tampered"`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum ExecuteMsg {
    /// Loops forever (only gas stops it).
    Loop {},
    /// Grows memory one page at a time until `memory.grow` fails (or 65,536 pages), then fails
    /// with `memory bomb grew N pages before memory.grow failed`.
    MemoryBomb {},
    /// Recurses `depth` times, non-tail, with a 1 KiB frame each: a small depth succeeds, a huge
    /// one must exhaust the stack.
    Recurse {
        /// How deep.
        depth: u32,
    },
    /// Allocates and fills 1 GiB.
    HugeAllocation {},
    /// Calls `db_read` with a valid pointer to a Region whose offset (0xFFFF_0000) lies outside
    /// memory.
    BadRegion {},
    /// Calls `db_read` with the pointer 0xFFFF_FFF0 itself, outside memory.
    BadRegionPointer {},
    /// Succeeds with `size` bytes of `x` as the response data (base64 in the result JSON, so
    /// the result is about 4/3 × `size` bytes).
    HugeResult {
        /// Bytes of data.
        size: u64,
    },
    /// Passes `json` to `consign_deliver` as it is, skipping the SDK's validation.
    DeliverUnchecked {
        /// Whatever bytes the test wants the host to judge.
        json: String,
    },
    /// Executes the wasm `unreachable` instruction without calling `abort` first.
    Unreachable {},
}

/// Queries.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum QueryMsg {
    /// `{"state": "…"}`.
    State {},
    /// Calls `db_write` (`state = "tampered"`) directly from a query, where storage is
    /// read-only; the host must fail it.
    WriteInQuery {},
}

/// Answer to `State {}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct StateResponse {
    /// The stored value, if any.
    pub state: Option<String>,
}

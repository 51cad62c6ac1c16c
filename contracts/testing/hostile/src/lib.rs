//! A contract that misbehaves on purpose, to test that the runtime contains it.
//!
//! `instantiate` stores `state = "original"` (raw key `state`). Every `execute` variant first
//! writes `state = "tampered"` and then misbehaves; after each, the runtime must fail the call
//! with a clear error and `query {"state": {}}` must still answer `"original"`.

pub mod contract;
pub mod msg;

//! The state machine with real contracts (built by `scripts/build-contracts.sh`), real
//! signatures and a real redb database in a temporary directory.

mod bank;
mod common;
mod contracts;
mod deliveries;
mod durability;
mod fees;
mod finalize;
mod simulate;
mod staking;
mod stargate;
mod wasmd_parity;

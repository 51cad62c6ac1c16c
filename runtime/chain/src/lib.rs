//! The Consign chain's state machine.
//!
//! [`App`] checks signed transactions, executes blocks of them — bank transfers and contracts
//! run in the Consign VM, with CosmWasm's messages, submessages, replies and events — and
//! commits each block atomically to redb, with a state hash that is the same for the same
//! history on any machine. Delivery instructions of committed calls get a gap-free sequence in
//! the delivery log. Block production is not here: `consign dev` drives [`App`], and so could
//! a consensus engine.

mod app;
mod bank;
mod core;
mod db;
mod error;
mod events;
mod fees;
pub mod gas;
mod genesis;
mod listing;
mod querier;
mod simulate;
mod staking;
mod stargate;
mod state;
mod store;
mod view;
mod wasm;

pub use app::{App, AppConfig, BlockOutcome, CheckedTx, DecodedTx, Finalized, RefusedTx};
pub use error::{ChainError, CheckError, ExecError};
pub use fees::{fee_collector, Pending, FEE_COLLECTOR_NAME};
pub use genesis::{
    Genesis, GenesisAccount, GenesisValidator, StakingGenesis, DEFAULT_REWARD_PER_BLOCK,
    DEFAULT_UNBONDING_SECONDS,
};
pub use listing::{Page, StateEntry, MAX_SCAN};
pub use querier::ChainQuerier;
pub use state::{AccountRecord, CodeRecord, ContractRecord};
pub use store::{ContractStore, Layers};
pub use view::View;

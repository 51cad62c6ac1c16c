//! The genesis: the chain id, the time, and the funded accounts a chain starts with.

use cosmwasm_std::{Coin, Timestamp};
use serde::{Deserialize, Serialize};

/// How a chain starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    /// The chain id every transaction must name.
    pub chain_id: String,
    /// The genesis time (block 0).
    pub genesis_time: Timestamp,
    /// Accounts funded at genesis.
    pub accounts: Vec<GenesisAccount>,
}

/// A funded account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisAccount {
    /// Its bech32 address.
    pub address: String,
    /// Its coins.
    pub coins: Vec<Coin>,
}

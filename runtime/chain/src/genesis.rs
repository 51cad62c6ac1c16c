//! The genesis: the chain id, the time, the funded accounts a chain starts with, and (on a
//! CometBFT network) the block gas limit of its consensus parameters.

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
    /// The most gas one block may hold (the sum of its transactions' gas limits), when the
    /// chain has one in its genesis: CometBFT's `consensus_params.block.max_gas`. `consign dev`
    /// sets its limit per run instead (`--max-block-gas`), so its genesis has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_block_gas: Option<u64>,
}

/// A funded account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisAccount {
    /// Its bech32 address.
    pub address: String,
    /// Its coins.
    pub coins: Vec<Coin>,
}

//! The genesis: the chain id, the time, the funded accounts a chain starts with, the staking
//! module's validators and parameters, and (on a CometBFT network) the block gas limit of its
//! consensus parameters.

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
    /// The staking module's validators and parameters (none and the defaults when absent).
    #[serde(default, skip_serializing_if = "StakingGenesis::is_default")]
    pub staking: StakingGenesis,
}

/// The staking module at genesis: its validators, the unbonding period and the reward rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StakingGenesis {
    /// The validators, by operator address (`consignvaloper1…`), each starting with no
    /// delegation.
    #[serde(default)]
    pub validators: Vec<GenesisValidator>,
    /// How long undelegated coins stay unbonding before they return, in seconds (the Cosmos
    /// SDK's `unbonding_time`; 21 days by default, as on wasmd chains).
    #[serde(default = "default_unbonding_seconds")]
    pub unbonding_seconds: u64,
    /// The rewards every block pays in the bonded denomination, split among all bonded coins
    /// pro rata (`crate::staking` documents the rule).
    #[serde(default = "default_reward_per_block")]
    pub reward_per_block: u128,
}

/// A validator at genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisValidator {
    /// Its operator address, `consignvaloper1…`.
    pub address: String,
    /// A human-readable name.
    #[serde(default)]
    pub moniker: String,
}

/// 21 days, the Cosmos SDK's default unbonding time.
pub const DEFAULT_UNBONDING_SECONDS: u64 = 21 * 24 * 60 * 60;

/// The reward per block when the genesis names none: 1,000,000 ucsn (1 CSN).
pub const DEFAULT_REWARD_PER_BLOCK: u128 = 1_000_000;

fn default_unbonding_seconds() -> u64 {
    DEFAULT_UNBONDING_SECONDS
}

fn default_reward_per_block() -> u128 {
    DEFAULT_REWARD_PER_BLOCK
}

impl Default for StakingGenesis {
    fn default() -> Self {
        Self {
            validators: Vec::new(),
            unbonding_seconds: DEFAULT_UNBONDING_SECONDS,
            reward_per_block: DEFAULT_REWARD_PER_BLOCK,
        }
    }
}

impl StakingGenesis {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// A funded account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisAccount {
    /// Its bech32 address.
    pub address: String,
    /// Its coins.
    pub coins: Vec<Coin>,
}

//! The node API's answers about staking: the validators with the module's parameters, an
//! account's delegations with their rewards, and its unbondings under way.

use cosmwasm_std::{Coin, Timestamp, Uint128};
use serde::{Deserialize, Serialize};

/// `GET /staking/validators`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorsResponse {
    /// The denomination that can be bonded.
    pub bonded_denom: String,
    /// How long an unbonding lasts, in seconds.
    pub unbonding_seconds: u64,
    /// What every block pays to all bonded coins together.
    pub reward_per_block: Uint128,
    /// Every validator, by operator address.
    pub validators: Vec<ValidatorInfo>,
}

/// A validator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorInfo {
    /// Its operator address, `consignvaloper1…`.
    pub address: String,
    /// Its name.
    pub moniker: String,
    /// The coins bonded to it.
    pub tokens: Uint128,
}

/// `GET /staking/delegations/{address}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegationsResponse {
    /// The delegator.
    pub delegator: String,
    /// Where its rewards are paid.
    pub withdraw_address: String,
    /// Its delegations, by validator.
    pub delegations: Vec<DelegationInfo>,
}

/// One delegation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegationInfo {
    /// The validator's operator address.
    pub validator: String,
    /// The coins bonded.
    pub amount: Coin,
    /// The whole coins it has earned and not yet withdrawn (none when under one).
    pub rewards: Vec<Coin>,
}

/// `GET /staking/unbonding/{address}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnbondingsResponse {
    /// The delegator.
    pub delegator: String,
    /// Its unbondings under way, by validator then completion time.
    pub unbondings: Vec<UnbondingInfo>,
}

/// One unbonding under way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnbondingInfo {
    /// The validator the coins left.
    pub validator: String,
    /// The coins coming back.
    pub amount: Coin,
    /// The height it began at.
    pub creation_height: u64,
    /// When the coins come back (at the first block at or after it).
    pub completion_time: Timestamp,
}

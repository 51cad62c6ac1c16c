//! What the node API shows of the staking module ([`View::validators`],
//! [`View::delegations`], [`View::unbondings`]), in `consign-types`' wire types, as of the
//! committed block.

use consign_types::{
    DelegationInfo, DelegationsResponse, UnbondingInfo, UnbondingsResponse, ValidatorInfo,
    ValidatorsResponse,
};
use cosmwasm_std::{Coin, Uint128};

use super::rewards::{self, Accumulator};
use super::{
    decode, delegations, delegator_prefix, params, scan, validators, withdraw_address, Entry,
    BOND_DENOM, UNBONDING_PREFIX,
};
use crate::error::ChainError;
use crate::store::lock;
use crate::view::View;

impl View {
    /// The validators, with the bonded denomination, the unbonding period and the reward per
    /// block.
    ///
    /// # Errors
    /// On a corrupted record.
    pub fn validators(&self) -> Result<ValidatorsResponse, ChainError> {
        let layers = lock(&self.core.layers);
        let params = params(&layers)?;
        Ok(ValidatorsResponse {
            bonded_denom: BOND_DENOM.to_owned(),
            unbonding_seconds: params.unbonding_seconds,
            reward_per_block: Uint128::new(params.reward_per_block),
            validators: validators(&layers)?
                .into_iter()
                .map(|(address, v)| ValidatorInfo {
                    address,
                    moniker: v.moniker,
                    tokens: Uint128::new(v.tokens),
                })
                .collect(),
        })
    }

    /// An account's delegations with the rewards each has earned as of the committed block,
    /// and its withdraw address.
    ///
    /// # Errors
    /// On a corrupted record.
    pub fn delegations(&self, delegator: &str) -> Result<DelegationsResponse, ChainError> {
        let layers = lock(&self.core.layers);
        let index = Accumulator::read(&layers)?.index_at(&params(&layers)?, self.height());
        Ok(DelegationsResponse {
            delegator: delegator.to_owned(),
            withdraw_address: withdraw_address(&layers, delegator),
            delegations: delegations(&layers, delegator)?
                .into_iter()
                .map(|(validator, d)| DelegationInfo {
                    validator,
                    amount: Coin::new(d.amount, BOND_DENOM),
                    rewards: rewards::reward_coins(rewards::truncated(rewards::earned_scaled(
                        &d, index,
                    ))),
                })
                .collect(),
        })
    }

    /// An account's unbondings under way.
    ///
    /// # Errors
    /// On a corrupted record.
    pub fn unbondings(&self, delegator: &str) -> Result<UnbondingsResponse, ChainError> {
        let layers = lock(&self.core.layers);
        let prefix = delegator_prefix(UNBONDING_PREFIX, delegator);
        let mut unbondings = Vec::new();
        for (key, value) in scan(&layers, &prefix) {
            let entry: Entry = decode(&key, &value)?;
            let rest = &key[prefix.len()..];
            let validator = rest
                .split(|b| *b == 0)
                .next()
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default();
            unbondings.push(UnbondingInfo {
                validator,
                amount: Coin::new(entry.amount, BOND_DENOM),
                creation_height: entry.creation_height,
                completion_time: entry.completion_time,
            });
        }
        Ok(UnbondingsResponse {
            delegator: delegator.to_owned(),
            unbondings,
        })
    }
}

//! The staking module, with the part of distribution that pays delegators: validators, the
//! bonded denomination (the native `ucsn`), delegations, unbonding with a period that ends at
//! block time, redelegation, rewards and withdraw addresses. Transactions reach it through
//! `Msg::Delegate` and its siblings, contracts through `CosmosMsg::Staking`/`Distribution` and
//! `QueryRequest::Staking`/`Distribution`, with the Cosmos SDK's events and refusals.
//!
//! **Coins move as in the SDK**: a delegation moves coins from the delegator to the
//! `bonded_tokens_pool` module account; an undelegation moves them to `not_bonded_tokens_pool`,
//! and when its period is over the block pays them back to the delegator (`complete_unbonding`).
//! A redelegation moves no coins: both validators are bonded.
//!
//! **The reward rule** (documented in `docs/ARCHITECTURE.md`): every block pays
//! `reward_per_block` (a genesis parameter) of the bonded denomination, split among all bonded
//! coins pro rata, whichever validator they are bonded to (validators take no commission). It is
//! kept as one index, the rewards earned by one bonded coin since genesis, scaled by 10^18
//! ([`rewards`]): each block with coins bonded raises it by
//! `floor(reward_per_block × 10^18 / bonded)`, and a delegation has earned
//! `amount × (index now − index when it last changed) / 10^18`. The index is brought up to date
//! lazily, whenever the bonded total changes, so blocks in which nothing is staked write nothing.
//! Rewards are minted into the `distribution` module account as they are paid (the fraction
//! below one micro-unit is not paid), and a change to a delegation pays its rewards first, as
//! the SDK's hooks do. Integer arithmetic only: every node computes the same.
//!
//! | key | value |
//! |---|---|
//! | `staking/params` | [`Params`] (JSON) |
//! | `staking/validator/<valoper>` | [`ValidatorRecord`] (JSON) |
//! | `staking/delegation/<delegator>\0<valoper>` | [`DelegationRecord`] (JSON) |
//! | `staking/unbonding/<delegator>\0<valoper>\0<completion ns BE><seq BE>` | [`Entry`] (JSON) |
//! | `staking/redelegation/<delegator>\0<dst>\0<src>\0<completion ns BE><seq BE>` | [`Entry`] (JSON) |
//! | `staking/queue/<completion ns BE><seq BE>` | the key of the unbonding or redelegation entry |
//! | `staking/seq` | the last entry's sequence, decimal |
//! | `distribution/rewards` | [`rewards::Accumulator`] (JSON) |
//! | `distribution/withdraw/<delegator>` | the withdraw address, when not the delegator |

mod maturity;
mod msgs;
pub(crate) mod query;
mod report;
pub(crate) mod rewards;
pub(crate) mod time;

use consign_types::{canonicalize_with_prefix, NATIVE_DENOM, VALIDATOR_PREFIX};
use cosmwasm_std::{Timestamp, Uint256};
use serde::{Deserialize, Serialize};

use crate::error::{ChainError, ExecError};
use crate::genesis::StakingGenesis;
use crate::state::{read_json, write_json};
use crate::store::Layers;

pub(crate) use maturity::end_block;
pub(crate) use msgs::{
    delegate, fund_community_pool, redelegate, set_withdraw_address, undelegate, withdraw_rewards,
};

/// The denomination that can be bonded: the chain's native one.
pub(crate) const BOND_DENOM: &str = NATIVE_DENOM;

/// The module account that holds bonded coins.
pub(crate) const BONDED_POOL: &str = "bonded_tokens_pool";
/// The module account that holds unbonding coins.
pub(crate) const NOT_BONDED_POOL: &str = "not_bonded_tokens_pool";
/// The module account rewards are paid from (and the community pool is funded into).
pub(crate) const DISTRIBUTION: &str = "distribution";

/// The most unbonding entries one delegator may have with one validator, and the most
/// redelegation entries per (delegator, source, destination), as the SDK's `max_entries`.
pub(crate) const MAX_ENTRIES: usize = 7;

/// What a staking or distribution message did: its events, and its response as the SDK encodes
/// it (what a contract's reply sees in `msg_responses`).
#[derive(Debug, Default)]
pub(crate) struct Done {
    pub(crate) events: Vec<cosmwasm_std::Event>,
    pub(crate) response: Vec<u8>,
}

impl From<Vec<cosmwasm_std::Event>> for Done {
    fn from(events: Vec<cosmwasm_std::Event>) -> Self {
        Self {
            events,
            response: Vec::new(),
        }
    }
}

/// The module's parameters, from the genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Params {
    /// How long an unbonding lasts.
    pub(crate) unbonding_seconds: u64,
    /// What every block pays to all bonded coins together.
    pub(crate) reward_per_block: u128,
}

/// A validator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ValidatorRecord {
    /// Its name.
    pub(crate) moniker: String,
    /// The coins bonded to it.
    pub(crate) tokens: u128,
}

/// One delegator's coins bonded to one validator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DelegationRecord {
    /// The coins bonded.
    pub(crate) amount: u128,
    /// The reward index when its rewards were last paid.
    pub(crate) start_index: Uint256,
}

/// An unbonding or a redelegation under way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// The coins.
    pub(crate) amount: u128,
    /// The height it started at.
    pub(crate) creation_height: u64,
    /// When it completes.
    pub(crate) completion_time: Timestamp,
}

pub(crate) const PARAMS_KEY: &[u8] = b"staking/params";
pub(crate) const VALIDATOR_PREFIX_KEY: &[u8] = b"staking/validator/";
pub(crate) const DELEGATION_PREFIX: &[u8] = b"staking/delegation/";
pub(crate) const UNBONDING_PREFIX: &[u8] = b"staking/unbonding/";
pub(crate) const REDELEGATION_PREFIX: &[u8] = b"staking/redelegation/";
pub(crate) const QUEUE_PREFIX: &[u8] = b"staking/queue/";
pub(crate) const SEQ_KEY: &[u8] = b"staking/seq";
pub(crate) const WITHDRAW_PREFIX: &[u8] = b"distribution/withdraw/";

pub(crate) fn validator_key(valoper: &str) -> Vec<u8> {
    [VALIDATOR_PREFIX_KEY, valoper.as_bytes()].concat()
}

/// Where one delegator's delegations start.
pub(crate) fn delegator_prefix(prefix: &[u8], delegator: &str) -> Vec<u8> {
    [prefix, delegator.as_bytes(), b"\0"].concat()
}

pub(crate) fn delegation_key(delegator: &str, valoper: &str) -> Vec<u8> {
    [
        &delegator_prefix(DELEGATION_PREFIX, delegator)[..],
        valoper.as_bytes(),
    ]
    .concat()
}

/// Where a delegator's unbonding entries with one validator start.
pub(crate) fn unbonding_pair_prefix(delegator: &str, valoper: &str) -> Vec<u8> {
    [
        &delegator_prefix(UNBONDING_PREFIX, delegator)[..],
        valoper.as_bytes(),
        b"\0",
    ]
    .concat()
}

/// Where a delegator's redelegations into `dst` start (from `src` too, when given).
pub(crate) fn redelegation_prefix(delegator: &str, dst: &str, src: Option<&str>) -> Vec<u8> {
    let mut key = [
        &delegator_prefix(REDELEGATION_PREFIX, delegator)[..],
        dst.as_bytes(),
        b"\0",
    ]
    .concat();
    if let Some(src) = src {
        key.extend_from_slice(src.as_bytes());
        key.push(0);
    }
    key
}

pub(crate) fn withdraw_key(delegator: &str) -> Vec<u8> {
    [WITHDRAW_PREFIX, delegator.as_bytes()].concat()
}

/// The first key after every key that starts with `prefix`.
pub(crate) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return end;
        }
    }
    vec![u8::MAX; prefix.len() + 1]
}

/// Every record under `prefix`, in key order.
pub(crate) fn scan(layers: &Layers, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let end = prefix_end(prefix);
    let mut records = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    while let Some((key, value)) = layers.next_record(
        Some(prefix),
        Some(&end),
        cosmwasm_std::Order::Ascending,
        after.as_deref(),
    ) {
        after = Some(key.clone());
        records.push((key, value));
    }
    records
}

/// Decodes a record read by [`scan`].
pub(crate) fn decode<T: for<'de> Deserialize<'de>>(
    key: &[u8],
    value: &[u8],
) -> Result<T, ChainError> {
    serde_json::from_slice(value).map_err(|e| {
        ChainError::Corrupt(format!(
            "cannot decode {}: {e}",
            String::from_utf8_lossy(key)
        ))
    })
}

/// The parameters (the defaults on a chain created before the module existed).
pub(crate) fn params(layers: &Layers) -> Result<Params, ChainError> {
    Ok(read_json(layers, PARAMS_KEY)?.unwrap_or_else(|| {
        let defaults = StakingGenesis::default();
        Params {
            unbonding_seconds: defaults.unbonding_seconds,
            reward_per_block: defaults.reward_per_block,
        }
    }))
}

pub(crate) fn validator(
    layers: &Layers,
    valoper: &str,
) -> Result<Option<ValidatorRecord>, ChainError> {
    read_json(layers, &validator_key(valoper))
}

/// Every validator, by operator address.
pub(crate) fn validators(layers: &Layers) -> Result<Vec<(String, ValidatorRecord)>, ChainError> {
    scan(layers, VALIDATOR_PREFIX_KEY)
        .into_iter()
        .map(|(key, value)| {
            let address = String::from_utf8_lossy(&key[VALIDATOR_PREFIX_KEY.len()..]).into_owned();
            Ok((address, decode(&key, &value)?))
        })
        .collect()
}

pub(crate) fn delegation(
    layers: &Layers,
    delegator: &str,
    valoper: &str,
) -> Result<Option<DelegationRecord>, ChainError> {
    read_json(layers, &delegation_key(delegator, valoper))
}

/// A delegator's delegations, by validator.
pub(crate) fn delegations(
    layers: &Layers,
    delegator: &str,
) -> Result<Vec<(String, DelegationRecord)>, ChainError> {
    let prefix = delegator_prefix(DELEGATION_PREFIX, delegator);
    scan(layers, &prefix)
        .into_iter()
        .map(|(key, value)| {
            let valoper = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
            Ok((valoper, decode(&key, &value)?))
        })
        .collect()
}

/// Where a delegator's rewards are paid: its withdraw address, or itself.
pub(crate) fn withdraw_address(layers: &Layers, delegator: &str) -> String {
    layers
        .get(&withdraw_key(delegator))
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_else(|| delegator.to_owned())
}

/// Writes the module's genesis: its parameters and validators.
pub(crate) fn init(layers: &mut Layers, genesis: &StakingGenesis) -> Result<(), ChainError> {
    write_json(
        layers,
        PARAMS_KEY,
        &Params {
            unbonding_seconds: genesis.unbonding_seconds,
            reward_per_block: genesis.reward_per_block,
        },
    );
    for v in &genesis.validators {
        canonicalize_with_prefix(VALIDATOR_PREFIX, &v.address).map_err(|e| {
            ChainError::Genesis(format!(
                "validator {:?}: {e} (an operator address is {VALIDATOR_PREFIX}1…)",
                v.address
            ))
        })?;
        if validator(layers, &v.address)?.is_some() {
            return Err(ChainError::Genesis(format!(
                "validator {} is listed twice",
                v.address
            )));
        }
        write_json(
            layers,
            &validator_key(&v.address),
            &ValidatorRecord {
                moniker: v.moniker.clone(),
                tokens: 0,
            },
        );
    }
    Ok(())
}

/// A state read that failed inside a message: the record is corrupt.
pub(crate) fn corrupt(e: ChainError) -> ExecError {
    ExecError::Invalid(e.to_string())
}

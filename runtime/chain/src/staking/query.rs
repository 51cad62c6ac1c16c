//! Contracts' `StakingQuery` and `DistributionQuery`, answered in cosmwasm-std's JSON as wasmd's
//! querier answers them, at the height of the block the contract runs in (or of the view it is
//! queried from).

use consign_types::canonicalize_address;
use cosmwasm_std::{BlockInfo, Uint256};
use serde_json::{json, Value};

use super::rewards::{self, Accumulator};
use super::{
    delegation, delegations, params, redelegation_prefix, scan, validator, validators,
    withdraw_address, DelegationRecord, BOND_DENOM,
};
use crate::error::ChainError;
use crate::store::Layers;

/// What a query got: its answer, a refusal the contract sees as its query's error, or `None`
/// when the chain does not know the query.
pub(crate) type Answer = Option<Result<Value, String>>;

/// cosmwasm-std's `Validator`: validators here take no commission.
fn validator_json(address: &str) -> Value {
    json!({
        "address": address,
        "commission": "0",
        "max_commission": "0",
        "max_change_rate": "0",
    })
}

/// Decimal coins (`DecCoin`s) of an amount × 10^18: none when it is zero, as the SDK drops
/// zero coins.
fn dec_coins(scaled: Uint256) -> Value {
    if scaled.is_zero() {
        json!([])
    } else {
        json!([{"denom": BOND_DENOM, "amount": rewards::decimal_text(scaled)}])
    }
}

fn text(args: &Value, key: &str) -> String {
    args.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn account(address: &str, what: &str) -> Result<(), String> {
    canonicalize_address(address)
        .map(drop)
        .map_err(|e| format!("invalid {what} address {address:?}: {e}"))
}

/// The rewards a delegation has earned, × 10^18, at `height`.
pub(crate) fn earned(
    layers: &Layers,
    record: &DelegationRecord,
    height: u64,
) -> Result<Uint256, ChainError> {
    let index = Accumulator::read(layers)?.index_at(&params(layers)?, height);
    Ok(rewards::earned_scaled(record, index))
}

/// `StakingQuery::*`.
pub(crate) fn staking(layers: &Layers, block: &BlockInfo, kind: &str, args: &Value) -> Answer {
    let answer = || -> Result<Answer, ChainError> {
        Ok(Some(match kind {
            "bonded_denom" => Ok(json!({ "denom": BOND_DENOM })),
            "all_validators" => {
                let list: Vec<Value> = validators(layers)?
                    .iter()
                    .map(|(address, _)| validator_json(address))
                    .collect();
                Ok(json!({ "validators": list }))
            }
            "validator" => {
                let address = text(args, "address");
                let found = validator(layers, &address)?.map(|_| validator_json(&address));
                Ok(json!({ "validator": found }))
            }
            "all_delegations" => {
                let delegator = text(args, "delegator");
                if let Err(e) = account(&delegator, "delegator") {
                    return Ok(Some(Err(e)));
                }
                let list: Vec<Value> = delegations(layers, &delegator)?
                    .into_iter()
                    .map(|(valoper, d)| {
                        json!({
                            "delegator": delegator,
                            "validator": valoper,
                            "amount": {"denom": BOND_DENOM, "amount": d.amount.to_string()},
                        })
                    })
                    .collect();
                Ok(json!({ "delegations": list }))
            }
            "delegation" => {
                let delegator = text(args, "delegator");
                let valoper = text(args, "validator");
                if let Err(e) = account(&delegator, "delegator") {
                    return Ok(Some(Err(e)));
                }
                let full = match delegation(layers, &delegator, &valoper)? {
                    None => Value::Null,
                    Some(d) => {
                        // As wasmd: nothing may be redelegated from a validator that coins are
                        // still being redelegated into.
                        let receiving =
                            !scan(layers, &redelegation_prefix(&delegator, &valoper, None))
                                .is_empty();
                        let can_redelegate = if receiving { 0 } else { d.amount };
                        let rewards = rewards::truncated(earned(layers, &d, block.height)?);
                        json!({
                            "delegator": delegator,
                            "validator": valoper,
                            "amount": {"denom": BOND_DENOM, "amount": d.amount.to_string()},
                            "can_redelegate": {"denom": BOND_DENOM, "amount": can_redelegate.to_string()},
                            "accumulated_rewards": rewards::reward_coins(rewards),
                        })
                    }
                };
                Ok(json!({ "delegation": full }))
            }
            _ => return Ok(None),
        }))
    };
    finish(answer())
}

/// `DistributionQuery::*`.
pub(crate) fn distribution(layers: &Layers, block: &BlockInfo, kind: &str, args: &Value) -> Answer {
    let delegator = text(args, "delegator_address");
    if let Err(e) = account(&delegator, "delegator") {
        return Some(Err(e));
    }
    let answer = || -> Result<Answer, ChainError> {
        Ok(Some(match kind {
            "delegator_withdraw_address" => Ok(json!({
                "withdraw_address": withdraw_address(layers, &delegator)
            })),
            "delegation_rewards" => {
                let valoper = text(args, "validator_address");
                if validator(layers, &valoper)?.is_none() {
                    return Ok(Some(Err(format!("validator {valoper} does not exist"))));
                }
                match delegation(layers, &delegator, &valoper)? {
                    None => Err(format!(
                        "delegation does not exist: {delegator} has no delegation to {valoper}"
                    )),
                    Some(d) => {
                        Ok(json!({ "rewards": dec_coins(earned(layers, &d, block.height)?) }))
                    }
                }
            }
            "delegation_total_rewards" => {
                let mut total = Uint256::zero();
                let mut each = Vec::new();
                for (valoper, d) in delegations(layers, &delegator)? {
                    let scaled = earned(layers, &d, block.height)?;
                    total = total.saturating_add(scaled);
                    each.push(json!({"validator_address": valoper, "reward": dec_coins(scaled)}));
                }
                Ok(json!({ "rewards": each, "total": dec_coins(total) }))
            }
            "delegator_validators" => {
                let list: Vec<String> = delegations(layers, &delegator)?
                    .into_iter()
                    .map(|(valoper, _)| valoper)
                    .collect();
                Ok(json!({ "validators": list }))
            }
            _ => return Ok(None),
        }))
    };
    finish(answer())
}

fn finish(answer: Result<Answer, ChainError>) -> Answer {
    answer.unwrap_or_else(|e| Some(Err(e.to_string())))
}

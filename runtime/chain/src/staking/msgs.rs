//! The staking and distribution messages: delegate, undelegate, redelegate, withdraw rewards,
//! set the withdraw address, fund the community pool. Each checks its input as the Cosmos SDK's
//! message server does, with its error texts, and returns the SDK's events.

use cosmwasm_std::{BlockInfo, Coin, Event, Timestamp, Uint256};

use super::rewards::{self, Accumulator};
use super::time::rfc3339;
use super::Done;
use super::{
    corrupt, delegation, delegation_key, params, redelegation_prefix, scan, unbonding_pair_prefix,
    validator, validator_key, withdraw_key, DelegationRecord, Entry, ValidatorRecord, BONDED_POOL,
    BOND_DENOM, DISTRIBUTION, MAX_ENTRIES, NOT_BONDED_POOL, QUEUE_PREFIX, SEQ_KEY,
};
use crate::bank;
use crate::error::ExecError;
use crate::events::{attr, event};
use crate::fees::{coins_text, module_address};
use crate::state::{next_seq, write_json};
use crate::store::Layers;
use crate::wasm::proto;

fn invalid_request(what: &str) -> ExecError {
    ExecError::Invalid(format!("{what}: invalid request"))
}

/// The amount of a coin that must be positive (`what` is the SDK's complaint otherwise).
fn positive(amount: &Coin, what: &str) -> Result<u128, ExecError> {
    let value = bank::coin_amount(amount)?;
    if value == 0 {
        return Err(invalid_request(what));
    }
    Ok(value)
}

fn bond_denom(amount: &Coin) -> Result<(), ExecError> {
    if amount.denom != BOND_DENOM {
        return Err(invalid_request(&format!(
            "invalid coin denomination: got {}, expected {BOND_DENOM}",
            amount.denom
        )));
    }
    Ok(())
}

fn existing_validator(layers: &Layers, valoper: &str) -> Result<ValidatorRecord, ExecError> {
    validator(layers, valoper)
        .map_err(corrupt)?
        .ok_or_else(|| ExecError::Invalid(format!("validator {valoper} does not exist")))
}

fn existing_delegation(
    layers: &Layers,
    delegator: &str,
    valoper: &str,
) -> Result<DelegationRecord, ExecError> {
    delegation(layers, delegator, valoper)
        .map_err(corrupt)?
        .ok_or_else(|| {
            ExecError::Invalid(format!(
                "no delegation for (address, validator) tuple ({delegator}, {valoper})"
            ))
        })
}

fn write_delegation(
    layers: &mut Layers,
    delegator: &str,
    valoper: &str,
    record: &DelegationRecord,
) {
    if record.amount == 0 {
        layers.remove(&delegation_key(delegator, valoper));
    } else {
        write_json(layers, &delegation_key(delegator, valoper), record);
    }
}

/// Bank events of coins moved into or out of a staking pool: the SDK's `DelegateCoins` and
/// `UndelegateCoins` emit `coin_spent` and `coin_received`, no `transfer`.
fn move_coins(
    layers: &mut Layers,
    from: &str,
    to: &str,
    amount: u128,
) -> Result<Vec<Event>, ExecError> {
    let mut events = bank::transfer(layers, from, to, &[Coin::new(amount, BOND_DENOM)])?;
    events.retain(|e| e.ty != "transfer");
    Ok(events)
}

/// The delegation from `delegator` to `valoper` with its rewards paid up to `index` (their
/// events added to `events`), or a new, empty one that starts earning at `index`.
fn settled_or_new(
    layers: &mut Layers,
    delegator: &str,
    valoper: &str,
    index: Uint256,
    events: &mut Vec<Event>,
) -> Result<DelegationRecord, ExecError> {
    Ok(
        match delegation(layers, delegator, valoper).map_err(corrupt)? {
            Some(mut existing) => {
                events.extend(pay_rewards(
                    layers,
                    delegator,
                    valoper,
                    &mut existing,
                    index,
                )?);
                existing
            }
            None => DelegationRecord {
                amount: 0,
                start_index: index,
            },
        },
    )
}

/// Pays what a delegation has earned up to `index` to the delegator's withdraw address, minted
/// into the distribution account first, and starts it earning again from `index`.
fn pay_rewards(
    layers: &mut Layers,
    delegator: &str,
    valoper: &str,
    record: &mut DelegationRecord,
    index: Uint256,
) -> Result<Vec<Event>, ExecError> {
    let amount = rewards::truncated(rewards::earned_scaled(record, index));
    record.start_index = index;
    let mut events = Vec::new();
    if amount > 0 {
        let pool = module_address(DISTRIBUTION);
        let coin = Coin::new(amount, BOND_DENOM);
        bank::mint(layers, &pool, &coin).map_err(corrupt)?;
        let to = super::withdraw_address(layers, delegator);
        events = bank::transfer(layers, &pool, &to, &[coin])?;
    }
    events.push(event(
        "withdraw_rewards",
        [
            attr("amount", format!("{amount}{BOND_DENOM}")),
            attr("validator", valoper),
            attr("delegator", delegator),
        ],
    ));
    Ok(events)
}

/// Records an unbonding or a redelegation under `prefix` and queues its completion; returns
/// when it completes.
fn enqueue(
    layers: &mut Layers,
    block: &BlockInfo,
    prefix: Vec<u8>,
    amount: u128,
) -> Result<Timestamp, ExecError> {
    let unbonding_seconds = params(layers).map_err(corrupt)?.unbonding_seconds;
    let completion = block.time.plus_seconds(unbonding_seconds);
    let seq = next_seq(layers, SEQ_KEY).map_err(corrupt)?;
    let suffix = [completion.nanos().to_be_bytes(), seq.to_be_bytes()].concat();
    let key = [prefix, suffix.clone()].concat();
    write_json(
        layers,
        &key,
        &Entry {
            amount,
            creation_height: block.height,
            completion_time: completion,
        },
    );
    layers.set(&[QUEUE_PREFIX, &suffix].concat(), &key);
    Ok(completion)
}

/// `MsgDelegate`: bonds `amount` of `delegator`'s coins to `valoper`, paying the delegation's
/// rewards so far first.
///
/// # Errors
/// A zero amount, an unknown validator, another denomination than the bonded one, or
/// insufficient funds.
pub(crate) fn delegate(
    layers: &mut Layers,
    block: &BlockInfo,
    delegator: &str,
    valoper: &str,
    amount: &Coin,
) -> Result<Done, ExecError> {
    let value = positive(amount, "invalid delegation amount")?;
    let mut val = existing_validator(layers, valoper)?;
    bond_denom(amount)?;
    let params = params(layers).map_err(corrupt)?;
    let acc = Accumulator::advance(layers, &params, block.height).map_err(corrupt)?;
    let mut events = Vec::new();
    let mut record = settled_or_new(layers, delegator, valoper, acc.index, &mut events)?;
    events.extend(move_coins(
        layers,
        delegator,
        &module_address(BONDED_POOL),
        value,
    )?);
    record.amount = record
        .amount
        .checked_add(value)
        .ok_or_else(|| ExecError::Invalid("the delegation would overflow".into()))?;
    val.tokens = val.tokens.saturating_add(value);
    write_delegation(layers, delegator, valoper, &record);
    write_json(layers, &validator_key(valoper), &val);
    Accumulator::bond(layers, value).map_err(corrupt)?;
    events.push(event(
        "delegate",
        [
            attr("validator", valoper),
            attr("delegator", delegator),
            attr("amount", amount.to_string()),
            attr("new_shares", rewards::decimal_text(shares(value))),
        ],
    ));
    Ok(events.into())
}

/// Shares as the SDK's decimal: without slashing, one share per coin.
fn shares(amount: u128) -> Uint256 {
    Uint256::from(amount).saturating_mul(Uint256::from(1_000_000_000_000_000_000u128))
}

/// `MsgUndelegate`: unbonds `amount` from `valoper`; the coins return to `delegator` when the
/// unbonding period is over ([`super::end_block`]).
///
/// # Errors
/// A zero amount, an unknown validator, another denomination, no delegation, more than is
/// delegated, or too many unbondings under way with this validator.
pub(crate) fn undelegate(
    layers: &mut Layers,
    block: &BlockInfo,
    delegator: &str,
    valoper: &str,
    amount: &Coin,
) -> Result<Done, ExecError> {
    let value = positive(amount, "invalid shares amount")?;
    let mut val = existing_validator(layers, valoper)?;
    bond_denom(amount)?;
    let mut record = existing_delegation(layers, delegator, valoper)?;
    if value > record.amount {
        return Err(invalid_request(&format!(
            "invalid shares amount: {amount} is more than the {}{BOND_DENOM} delegated",
            record.amount
        )));
    }
    let pair = unbonding_pair_prefix(delegator, valoper);
    if scan(layers, &pair).len() >= MAX_ENTRIES {
        return Err(ExecError::Invalid(format!(
            "too many unbonding delegation entries for (delegator, validator) tuple: at most \
             {MAX_ENTRIES} may be under way; wait for one to complete"
        )));
    }
    let params = params(layers).map_err(corrupt)?;
    let acc = Accumulator::advance(layers, &params, block.height).map_err(corrupt)?;
    let mut events = pay_rewards(layers, delegator, valoper, &mut record, acc.index)?;
    record.amount -= value;
    val.tokens = val.tokens.saturating_sub(value);
    write_delegation(layers, delegator, valoper, &record);
    write_json(layers, &validator_key(valoper), &val);
    Accumulator::unbond(layers, value).map_err(corrupt)?;
    events.extend(bank::transfer(
        layers,
        &module_address(BONDED_POOL),
        &module_address(NOT_BONDED_POOL),
        &[Coin::new(value, BOND_DENOM)],
    )?);
    let completion = enqueue(layers, block, pair, value)?;
    events.push(event(
        "unbond",
        [
            attr("validator", valoper),
            attr("delegator", delegator),
            attr("amount", amount.to_string()),
            attr("completion_time", rfc3339(completion)),
        ],
    ));
    Ok(Done {
        events,
        response: proto::undelegate_response(completion, amount),
    })
}

/// `MsgBeginRedelegate`: moves `amount` of the delegation from `src` to `dst` at once. Until
/// the unbonding period is over, the coins that arrived at `dst` may not move on again.
///
/// # Errors
/// A zero amount, the same validator twice, an unknown validator, another denomination, no
/// delegation or less than `amount`, a redelegation into `src` still under way, or too many
/// under way between the two.
pub(crate) fn redelegate(
    layers: &mut Layers,
    block: &BlockInfo,
    delegator: &str,
    src: &str,
    dst: &str,
    amount: &Coin,
) -> Result<Done, ExecError> {
    let value = positive(amount, "invalid shares amount")?;
    if src == dst {
        return Err(ExecError::Invalid(
            "cannot redelegate to the same validator".into(),
        ));
    }
    let mut src_val = existing_validator(layers, src)?;
    let mut dst_val = validator(layers, dst).map_err(corrupt)?.ok_or_else(|| {
        ExecError::Invalid(format!(
            "redelegation destination validator not found: {dst}"
        ))
    })?;
    bond_denom(amount)?;
    let mut src_record = existing_delegation(layers, delegator, src)?;
    if value > src_record.amount {
        return Err(invalid_request(&format!(
            "invalid shares amount: {amount} is more than the {}{BOND_DENOM} delegated to {src}",
            src_record.amount
        )));
    }
    if !scan(layers, &redelegation_prefix(delegator, src, None)).is_empty() {
        return Err(ExecError::Invalid(format!(
            "redelegation to this validator already in progress; first redelegation to this \
             validator must complete before next redelegation ({src})"
        )));
    }
    let entries = redelegation_prefix(delegator, dst, Some(src));
    if scan(layers, &entries).len() >= MAX_ENTRIES {
        return Err(ExecError::Invalid(format!(
            "too many redelegation entries for (delegator, src-validator, dst-validator) tuple: \
             at most {MAX_ENTRIES} may be under way; wait for one to complete"
        )));
    }
    let params = params(layers).map_err(corrupt)?;
    let acc = Accumulator::advance(layers, &params, block.height).map_err(corrupt)?;
    let mut events = pay_rewards(layers, delegator, src, &mut src_record, acc.index)?;
    let mut dst_record = settled_or_new(layers, delegator, dst, acc.index, &mut events)?;
    src_record.amount -= value;
    dst_record.amount = dst_record.amount.saturating_add(value);
    src_val.tokens = src_val.tokens.saturating_sub(value);
    dst_val.tokens = dst_val.tokens.saturating_add(value);
    write_delegation(layers, delegator, src, &src_record);
    write_delegation(layers, delegator, dst, &dst_record);
    write_json(layers, &validator_key(src), &src_val);
    write_json(layers, &validator_key(dst), &dst_val);
    let completion = enqueue(layers, block, entries, value)?;
    events.push(event(
        "redelegate",
        [
            attr("source_validator", src),
            attr("destination_validator", dst),
            attr("delegator", delegator),
            attr("amount", amount.to_string()),
            attr("completion_time", rfc3339(completion)),
        ],
    ));
    Ok(Done {
        events,
        response: proto::redelegate_response(completion),
    })
}

/// `MsgWithdrawDelegatorReward`: pays the delegation's rewards to the withdraw address.
///
/// # Errors
/// An unknown validator, or no delegation to it.
pub(crate) fn withdraw_rewards(
    layers: &mut Layers,
    block: &BlockInfo,
    delegator: &str,
    valoper: &str,
) -> Result<Done, ExecError> {
    if validator(layers, valoper).map_err(corrupt)?.is_none() {
        return Err(ExecError::Invalid(format!(
            "no validator distribution info: validator {valoper} does not exist"
        )));
    }
    let mut record = delegation(layers, delegator, valoper)
        .map_err(corrupt)?
        .ok_or_else(|| {
            ExecError::Invalid(format!(
                "no delegation distribution info: {delegator} has no delegation to {valoper}"
            ))
        })?;
    let params = params(layers).map_err(corrupt)?;
    let index = Accumulator::read(layers)
        .map_err(corrupt)?
        .index_at(&params, block.height);
    let paid = rewards::truncated(rewards::earned_scaled(&record, index));
    let events = pay_rewards(layers, delegator, valoper, &mut record, index)?;
    write_delegation(layers, delegator, valoper, &record);
    Ok(Done {
        events,
        response: proto::withdraw_response(&rewards::reward_coins(paid)),
    })
}

/// `MsgSetWithdrawAddress`: where `delegator`'s rewards go from now on.
///
/// # Errors
/// When `address` is not a valid, normalized account address.
pub(crate) fn set_withdraw_address(
    layers: &mut Layers,
    delegator: &str,
    address: &str,
) -> Result<Done, ExecError> {
    let canonical = consign_types::canonicalize_address(address)
        .map_err(|e| ExecError::Invalid(format!("invalid withdraw address: {e}")))?;
    if consign_types::humanize_address(&canonical) != address {
        return Err(ExecError::Invalid(format!(
            "invalid withdraw address {address:?}: not normalized (lowercase bech32)"
        )));
    }
    if address == delegator {
        layers.remove(&withdraw_key(delegator));
    } else {
        layers.set(&withdraw_key(delegator), address.as_bytes());
    }
    Ok(vec![event(
        "set_withdraw_address",
        [attr("withdraw_address", address)],
    )]
    .into())
}

/// `MsgFundCommunityPool`: gives coins to the distribution module account.
///
/// # Errors
/// No coins, or insufficient funds.
pub(crate) fn fund_community_pool(
    layers: &mut Layers,
    sender: &str,
    amount: &[Coin],
) -> Result<Done, ExecError> {
    if amount.is_empty() || amount.iter().any(|c| c.amount.is_zero()) {
        return Err(invalid_request(&format!(
            "invalid coins {}: give a positive amount",
            coins_text(amount)
        )));
    }
    Ok(bank::transfer(layers, sender, &module_address(DISTRIBUTION), amount)?.into())
}

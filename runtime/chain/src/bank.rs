//! The bank: balances per denomination, transfers, minting at genesis.

use cosmwasm_std::{Coin, Event};

use crate::events::{attr, event};
use crate::fees::coins_text;

use crate::error::{ChainError, ExecError};
use crate::state::{balance_key, read_u128, supply_key, write_u128};
use crate::store::Layers;

/// A coin's amount as `u128`, the width balances are kept in.
pub(crate) fn coin_amount(coin: &Coin) -> Result<u128, ExecError> {
    cosmwasm_std::Uint128::try_from(coin.amount)
        .map(|a| a.u128())
        .map_err(|_| ExecError::Invalid(format!("amount {coin} is larger than 2^128")))
}

/// Fails, naming the first short denomination, unless `from` holds all of `amount`.
fn ensure_funds<'a>(
    layers: &Layers,
    from: &str,
    amount: impl IntoIterator<Item = &'a Coin>,
) -> Result<(), ExecError> {
    for coin in amount {
        let have = read_u128(layers, &balance_key(from, &coin.denom))
            .map_err(|e| ExecError::Invalid(e.to_string()))?;
        let need = coin_amount(coin)?;
        if have < need {
            return Err(ExecError::InsufficientFunds {
                address: from.to_owned(),
                available: format!("{have}{}", coin.denom),
                needed: format!("{need}{}", coin.denom),
            });
        }
    }
    Ok(())
}

/// Moves `amount` from `from` to `to`; fails without changing anything if `from` lacks any
/// of it. Returns the events the Cosmos SDK's bank emits for a send, in its order:
/// `coin_spent`, `coin_received`, `transfer` (none for an empty amount).
pub(crate) fn transfer(
    layers: &mut Layers,
    from: &str,
    to: &str,
    amount: &[Coin],
) -> Result<Vec<Event>, ExecError> {
    let amount: Vec<&Coin> = amount.iter().filter(|c| !c.amount.is_zero()).collect();
    if amount.is_empty() {
        return Ok(Vec::new());
    }
    ensure_funds(layers, from, amount.iter().copied())?;
    for coin in &amount {
        let need = coin_amount(coin)?;
        let from_key = balance_key(from, &coin.denom);
        let have = read_u128(layers, &from_key).map_err(|e| ExecError::Invalid(e.to_string()))?;
        write_u128(layers, &from_key, have - need);
        let to_key = balance_key(to, &coin.denom);
        let theirs = read_u128(layers, &to_key).map_err(|e| ExecError::Invalid(e.to_string()))?;
        let sum = theirs.checked_add(need).ok_or_else(|| {
            ExecError::Invalid(format!("balance of {to} in {} would overflow", coin.denom))
        })?;
        write_u128(layers, &to_key, sum);
    }
    let sent: Vec<Coin> = amount.into_iter().cloned().collect();
    let amount_text = coins_text(&sent);
    Ok(vec![
        coin_spent(from, &amount_text),
        event(
            "coin_received",
            [attr("receiver", to), attr("amount", &amount_text)],
        ),
        event(
            "transfer",
            [
                attr("recipient", to),
                attr("sender", from),
                attr("amount", amount_text),
            ],
        ),
    ])
}

/// The event the SDK's bank emits whenever coins leave an account.
fn coin_spent(spender: &str, amount_text: &str) -> Event {
    event(
        "coin_spent",
        [attr("spender", spender), attr("amount", amount_text)],
    )
}

/// Creates coins (genesis only).
pub(crate) fn mint(layers: &mut Layers, to: &str, coin: &Coin) -> Result<(), ChainError> {
    let key = balance_key(to, &coin.denom);
    let have = read_u128(layers, &key)?;
    let add = coin_amount(coin).map_err(|e| ChainError::Genesis(e.to_string()))?;
    let total = have
        .checked_add(add)
        .ok_or_else(|| ChainError::Genesis(format!("balance of {to} overflows")))?;
    write_u128(layers, &key, total);
    let supply_key = supply_key(&coin.denom);
    let supply = read_u128(layers, &supply_key)?;
    let supply = supply
        .checked_add(add)
        .ok_or_else(|| ChainError::Genesis(format!("supply of {} overflows", coin.denom)))?;
    write_u128(layers, &supply_key, supply);
    Ok(())
}

/// Destroys coins held by `from`. Returns the SDK's events for a burn: `coin_spent`, `burn`.
pub(crate) fn burn(
    layers: &mut Layers,
    from: &str,
    amount: &[Coin],
) -> Result<Vec<Event>, ExecError> {
    ensure_funds(layers, from, amount)?;
    for coin in amount {
        let key = balance_key(from, &coin.denom);
        let have = read_u128(layers, &key).map_err(|e| ExecError::Invalid(e.to_string()))?;
        let need = coin_amount(coin)?;
        write_u128(layers, &key, have - need);
        let skey = supply_key(&coin.denom);
        let supply = read_u128(layers, &skey).map_err(|e| ExecError::Invalid(e.to_string()))?;
        write_u128(layers, &skey, supply.saturating_sub(need));
    }
    let amount_text = coins_text(amount);
    Ok(vec![
        coin_spent(from, &amount_text),
        event("burn", [attr("burner", from), attr("amount", amount_text)]),
    ])
}

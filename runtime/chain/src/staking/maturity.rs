//! The end of every block: unbondings and redelegations whose time has come complete, in the
//! order they complete (then the order they began), as the Cosmos SDK's staking end-blocker does.

use cosmwasm_std::{BlockInfo, Coin, Event, Order};

use super::{
    decode, prefix_end, Entry, BOND_DENOM, NOT_BONDED_POOL, QUEUE_PREFIX, REDELEGATION_PREFIX,
    UNBONDING_PREFIX,
};
use crate::bank;
use crate::error::ChainError;
use crate::events::{attr, event};
use crate::fees::module_address;
use crate::store::Layers;

/// The completion time and sequence at the end of every entry's key.
const SUFFIX: usize = 16;

/// Completes what matured at `block.time`: an unbonding pays its coins back from the
/// not-bonded pool (`coin_spent`, `coin_received`, `complete_unbonding`); a redelegation is
/// forgotten, so its coins may move again (`complete_redelegation`). Writes nothing when nothing
/// matured.
///
/// # Errors
/// A corrupted entry, or a pool that cannot pay (the state is inconsistent).
pub(crate) fn end_block(layers: &mut Layers, block: &BlockInfo) -> Result<Vec<Event>, ChainError> {
    let end = prefix_end(QUEUE_PREFIX);
    let mut events = Vec::new();
    while let Some((queue_key, entry_key)) =
        layers.next_record(Some(QUEUE_PREFIX), Some(&end), Order::Ascending, None)
    {
        let nanos = queue_key
            .get(QUEUE_PREFIX.len()..QUEUE_PREFIX.len() + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_be_bytes)
            .ok_or_else(|| ChainError::Corrupt("a staking queue key is too short".into()))?;
        if nanos > block.time.nanos() {
            break;
        }
        layers.remove(&queue_key);
        let Some(value) = layers.get(&entry_key) else {
            continue;
        };
        let entry: Entry = decode(&entry_key, &value)?;
        layers.remove(&entry_key);
        if let Some(rest) = entry_key.strip_prefix(UNBONDING_PREFIX) {
            let [delegator, valoper] = parts(rest, &entry_key)?;
            let mut paid = bank::transfer(
                layers,
                &module_address(NOT_BONDED_POOL),
                &delegator,
                &[Coin::new(entry.amount, BOND_DENOM)],
            )
            .map_err(|e| ChainError::Corrupt(format!("completing an unbonding: {e}")))?;
            paid.retain(|e| e.ty != "transfer");
            events.extend(paid);
            events.push(event(
                "complete_unbonding",
                [
                    attr("amount", format!("{}{BOND_DENOM}", entry.amount)),
                    attr("validator", valoper),
                    attr("delegator", delegator),
                ],
            ));
        } else if let Some(rest) = entry_key.strip_prefix(REDELEGATION_PREFIX) {
            let [delegator, dst, src] = parts(rest, &entry_key)?;
            events.push(event(
                "complete_redelegation",
                [
                    attr("amount", format!("{}{BOND_DENOM}", entry.amount)),
                    attr("delegator", delegator),
                    attr("source_validator", src),
                    attr("destination_validator", dst),
                ],
            ));
        } else {
            return Err(ChainError::Corrupt(format!(
                "the staking queue names {}",
                String::from_utf8_lossy(&entry_key)
            )));
        }
    }
    Ok(events)
}

/// The addresses in an entry's key: `a\0b\0…` before the 16-byte suffix.
fn parts<const N: usize>(rest: &[u8], key: &[u8]) -> Result<[String; N], ChainError> {
    let bad = || ChainError::Corrupt(format!("bad staking key {}", String::from_utf8_lossy(key)));
    let names = rest
        .get(..rest.len().checked_sub(SUFFIX).ok_or_else(bad)?)
        .ok_or_else(bad)?;
    let fields: Vec<String> = names
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    fields.try_into().map_err(|_| bad())
}

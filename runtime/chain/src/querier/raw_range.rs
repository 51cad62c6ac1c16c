//! `WasmQuery::RawRange` (capability `cosmwasm_3_0`): a page of another contract's storage, as
//! wasmd answers it — `start` inclusive, `end` exclusive, at most `limit` entries in the order
//! asked, and `next_key`, the first key left out (`None` once the range is exhausted).

use cosmwasm_std::{Binary, Order};
use serde::Deserialize;

use crate::state;
use crate::store::{prefix_end, Layers};

/// Gas per entry returned, on top of the query's base cost and its bytes.
pub(super) const ENTRY_COST: u64 = 100;

/// The request's arguments (`contract_addr` is read and checked by the caller).
#[derive(Debug, Deserialize)]
pub(super) struct RawRange {
    start: Option<Binary>,
    end: Option<Binary>,
    limit: u16,
    order: Order,
}

/// The page and how many bytes it holds (for its gas).
pub(super) fn answer(
    layers: &Layers,
    canonical: &[u8],
    args: &RawRange,
) -> (serde_json::Value, u64) {
    let prefix = state::contract_state_prefix(canonical);
    let full = |key: &Binary| [prefix.as_slice(), key.as_slice()].concat();
    let start = args.start.as_ref().map_or_else(|| prefix.clone(), full);
    let end = args.end.as_ref().map_or_else(|| prefix_end(&prefix), full);
    let mut data = Vec::new();
    let mut bytes = 0u64;
    let mut after: Option<Vec<u8>> = None;
    let mut next_key = None;
    while let Some((key, value)) =
        layers.next_record(Some(&start), Some(&end), args.order, after.as_deref())
    {
        let short = key.get(prefix.len()..).unwrap_or_default().to_vec();
        if data.len() >= usize::from(args.limit) {
            next_key = Some(Binary::new(short));
            break;
        }
        bytes = bytes.saturating_add((short.len() + value.len()) as u64);
        data.push((Binary::new(short), Binary::new(value)));
        after = Some(key);
    }
    (
        serde_json::json!({ "data": data, "next_key": next_key }),
        bytes,
    )
}

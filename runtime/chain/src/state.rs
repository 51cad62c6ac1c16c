//! Where each module keeps its data in the chain's key-value state, and typed access to it.
//!
//! | key | value |
//! |---|---|
//! | `acc/<address>` | [`AccountRecord`] (JSON) |
//! | `bank/balance/<address>\0<denom>` | amount, decimal |
//! | `bank/supply/<denom>` | amount, decimal |
//! | `wasm/seq/code`, `wasm/seq/instance` | last id, decimal |
//! | `wasm/code/<id, 8 bytes BE>` | [`CodeRecord`] (JSON) |
//! | `wasm/code-bytes/<id, 8 bytes BE>` | the wasm |
//! | `wasm/contract/<address>` | [`ContractRecord`] (JSON) |
//! | `wasm/state/<len><canonical address>` ‖ key | the contract's own storage |
//! | `staking/…`, `distribution/…` | the staking module's (its table is in `staking.rs`) |

use consign_types::PublicKey;
use cosmwasm_std::{Coin, Uint128};
use serde::{Deserialize, Serialize};

use crate::error::ChainError;
use crate::store::Layers;

/// An account's replay protection and key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    /// The sequence the account's next transaction must carry.
    pub sequence: u64,
    /// Set by the account's first transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKey>,
}

/// A stored code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeRecord {
    /// SHA-256 of the wasm, hex.
    pub checksum: String,
    /// Who uploaded it.
    pub creator: String,
    /// Size of the wasm in bytes.
    pub size: u64,
    /// Height it was stored at.
    pub height: u64,
}

/// A contract instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractRecord {
    /// Its current code.
    pub code_id: u64,
    /// Who instantiated it.
    pub creator: String,
    /// Who may migrate it, if anyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<String>,
    /// Its label.
    pub label: String,
    /// Height it was created at.
    pub created: u64,
}

pub(crate) fn account_key(address: &str) -> Vec<u8> {
    [b"acc/", address.as_bytes()].concat()
}

pub(crate) fn balance_key(address: &str, denom: &str) -> Vec<u8> {
    [
        b"bank/balance/",
        address.as_bytes(),
        b"\0",
        denom.as_bytes(),
    ]
    .concat()
}

pub(crate) fn balance_prefix(address: &str) -> Vec<u8> {
    [b"bank/balance/", address.as_bytes(), b"\0"].concat()
}

pub(crate) fn supply_key(denom: &str) -> Vec<u8> {
    [b"bank/supply/", denom.as_bytes()].concat()
}

pub(crate) const CODE_SEQ_KEY: &[u8] = b"wasm/seq/code";
pub(crate) const INSTANCE_SEQ_KEY: &[u8] = b"wasm/seq/instance";

/// Where code records start: `wasm/code/<id>`.
pub(crate) const CODE_PREFIX: &[u8] = b"wasm/code/";

/// Where contract records start: `wasm/contract/<address>`.
pub(crate) const CONTRACT_PREFIX: &[u8] = b"wasm/contract/";

pub(crate) fn code_key(id: u64) -> Vec<u8> {
    [CODE_PREFIX, &id.to_be_bytes()].concat()
}

pub(crate) fn code_bytes_key(id: u64) -> Vec<u8> {
    [&b"wasm/code-bytes/"[..], &id.to_be_bytes()].concat()
}

pub(crate) fn contract_key(address: &str) -> Vec<u8> {
    [CONTRACT_PREFIX, address.as_bytes()].concat()
}

/// The prefix of a contract's own storage: length-prefixed, so no contract's prefix is a prefix
/// of another's.
pub(crate) fn contract_state_prefix(canonical: &[u8]) -> Vec<u8> {
    let len = u8::try_from(canonical.len()).unwrap_or(u8::MAX);
    [&b"wasm/state/"[..], &[len], canonical].concat()
}

pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(
    layers: &Layers,
    key: &[u8],
) -> Result<Option<T>, ChainError> {
    match layers.get(key) {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            ChainError::Corrupt(format!(
                "cannot decode {}: {e}",
                String::from_utf8_lossy(key)
            ))
        }),
    }
}

pub(crate) fn write_json<T: Serialize>(layers: &mut Layers, key: &[u8], value: &T) {
    let bytes = serde_json::to_vec(value).expect("state records serialize");
    layers.set(key, &bytes);
}

pub(crate) fn read_u128(layers: &Layers, key: &[u8]) -> Result<u128, ChainError> {
    match layers.get(key) {
        None => Ok(0),
        Some(bytes) => std::str::from_utf8(&bytes)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                ChainError::Corrupt(format!("bad amount under {}", String::from_utf8_lossy(key)))
            }),
    }
}

pub(crate) fn write_u128(layers: &mut Layers, key: &[u8], amount: u128) {
    if amount == 0 {
        layers.remove(key);
    } else {
        layers.set(key, amount.to_string().as_bytes());
    }
}

/// Increments a counter and returns the new value.
pub(crate) fn next_seq(layers: &mut Layers, key: &[u8]) -> Result<u64, ChainError> {
    let current = match layers.get(key) {
        None => 0,
        Some(bytes) => std::str::from_utf8(&bytes)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| ChainError::Corrupt("bad sequence counter".into()))?,
    };
    let next = current + 1;
    layers.set(key, next.to_string().as_bytes());
    Ok(next)
}

/// Every balance of an address.
pub(crate) fn balances(layers: &Layers, address: &str) -> Result<Vec<Coin>, ChainError> {
    let prefix = balance_prefix(address);
    let mut end = prefix.clone();
    if let Some(last) = end.last_mut() {
        *last += 1;
    }
    let mut coins = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    while let Some((key, value)) = layers.next_record(
        Some(&prefix),
        Some(&end),
        cosmwasm_std::Order::Ascending,
        after.as_deref(),
    ) {
        let denom = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
        let amount: u128 = std::str::from_utf8(&value)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| ChainError::Corrupt(format!("bad balance of {address}")))?;
        coins.push(Coin::new(Uint128::new(amount), denom));
        after = Some(key);
    }
    Ok(coins)
}

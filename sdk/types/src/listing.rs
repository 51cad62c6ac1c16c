//! The node API's answers that list or try things: a simulated transaction
//! (`POST /txs/simulate`) and the paginated lists of codes, of a code's contracts and of a
//! contract's storage (`GET /codes`, `GET /codes/{id}/contracts`, `GET /contracts/{address}/state`).
//!
//! A page ends with `next_key`: pass it back as `page_key` to get the next page; it is absent on
//! the last page. Keys are opaque to clients (a code id, an address, a hex storage key).

use cosmwasm_std::Binary;
use serde::{Deserialize, Serialize};

use crate::{CodeInfo, TxOutcome};

/// What a transaction would do against the last committed state, as `POST /txs/simulate`
/// answers: it ran as the next block's first transaction, and every change was thrown away.
///
/// Its code, log, gas used, events and the rest are a [`TxOutcome`], as a committed
/// [`TxResult`](crate::TxResult)'s are (flattened: the JSON is flat), and it dereferences to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Simulation {
    /// The gas limit the simulation ran with: the node's maximum for one transaction, not the
    /// transaction's own.
    pub gas_limit: u64,
    /// What it would do: 0 or the code it would fail with in a block, why, the gas it used
    /// (sign it with at least this much, times an adjustment, since the state may change before
    /// it is committed), its events (empty on failure), the data its last message would return,
    /// the code id it would store code under, the address of the contract it would create.
    #[serde(flatten)]
    pub outcome: TxOutcome,
    /// How many delivery instructions it would record.
    #[serde(default)]
    pub deliveries: u64,
}

impl std::ops::Deref for Simulation {
    type Target = TxOutcome;

    fn deref(&self) -> &TxOutcome {
        &self.outcome
    }
}

/// Where a page ends.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pagination {
    /// The key of the next page (pass it as `page_key`), or absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_key: Option<String>,
}

/// `GET /codes`: stored codes in code id order, as wasmd's `list-code` prints them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeList {
    /// The codes of this page.
    pub code_infos: Vec<CodeInfo>,
    /// Where the next page starts.
    pub pagination: Pagination,
}

/// `GET /codes/{id}/contracts`: the contracts whose current code is this one, in address
/// order, as wasmd's `list-contract-by-code` prints them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractList {
    /// The contracts' addresses.
    pub contracts: Vec<String>,
    /// Where the next page starts.
    pub pagination: Pagination,
}

/// One entry of a contract's storage: the key as lowercase hex and the value as base64, as
/// wasmd's `contract-state all` prints its models.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateEntry {
    /// The key, lowercase hex.
    pub key: String,
    /// The value.
    pub value: Binary,
}

/// `GET /contracts/{address}/state`: a contract's storage in key order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractState {
    /// The entries of this page.
    pub models: Vec<StateEntry>,
    /// Where the next page starts.
    pub pagination: Pagination,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_pages_omit_the_next_key() {
        let page = ContractList {
            contracts: vec!["consign1xyz".into()],
            pagination: Pagination::default(),
        };
        let json = serde_json::to_string(&page).unwrap();
        assert_eq!(json, r#"{"contracts":["consign1xyz"],"pagination":{}}"#);
        let state = ContractState {
            models: vec![StateEntry {
                key: "00ff".into(),
                value: Binary::from(b"v".to_vec()),
            }],
            pagination: Pagination {
                next_key: Some("00ff".into()),
            },
        };
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(
            json,
            r#"{"models":[{"key":"00ff","value":"dg=="}],"pagination":{"next_key":"00ff"}}"#
        );
        assert_eq!(serde_json::from_str::<ContractState>(&json).unwrap(), state);
    }

    #[test]
    fn a_simulation_s_json_is_flat_and_round_trips() {
        // `POST /txs/simulate`'s answer, as the node has always served it.
        let served = serde_json::json!({
            "gas_used": 61_000,
            "gas_limit": 100_000_000,
            "code": 0,
            "log": "",
            "events": [{"type": "wasm", "attributes": [{"key": "action", "value": "buy"}]}],
            "data": "AQI=",
            "contract_address": "consign1c",
            "deliveries": 1,
        });
        let simulation: Simulation = serde_json::from_value(served.clone()).unwrap();
        assert_eq!(simulation.gas_used, 61_000);
        assert_eq!(simulation.gas_limit, 100_000_000);
        assert_eq!(simulation.outcome.events[0].ty, "wasm");
        assert_eq!(simulation.contract_address.as_deref(), Some("consign1c"));
        assert_eq!(simulation.code_id, None);
        assert_eq!(simulation.deliveries, 1);
        assert_eq!(serde_json::to_value(&simulation).unwrap(), served);
        let failed = r#"{"gas_used":5,"gas_limit":9,"code":11,"log":"out of gas","events":[]}"#;
        let simulation: Simulation = serde_json::from_str(failed).unwrap();
        assert_eq!((simulation.code, simulation.deliveries), (11, 0));
        let again: Simulation =
            serde_json::from_str(&serde_json::to_string(&simulation).unwrap()).unwrap();
        assert_eq!(again, simulation);
    }
}

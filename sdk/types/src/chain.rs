//! The chain's wire types: what the node's HTTP API returns and clients read, as JSON. Plain data,
//! defined once here for the node, the command line, the storage node and tests.

use consign_sdk::DeliveryInstruction;
use cosmwasm_std::{Binary, Coin, Event, Timestamp, Uint128};
use serde::{Deserialize, Serialize};

use crate::{GasPrice, PublicKey, TxHash};

/// What running a transaction's messages gave: the part a committed [`TxResult`] and a
/// [`Simulation`](crate::Simulation) share, defined once and flattened into both, so each
/// keeps its flat JSON (`{"code": 0, "log": "", "gas_used": …}`).
///
/// Both dereference to it, so `result.code` reads as before.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxOutcome {
    /// 0 on success; any other value means it failed and changed nothing but the sender's
    /// sequence.
    pub code: u32,
    /// Why it failed, or empty on success.
    pub log: String,
    /// The gas it used.
    pub gas_used: u64,
    /// The events it emitted, in CosmWasm's format; empty on failure.
    pub events: Vec<Event>,
    /// The data returned by its last message, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Binary>,
    /// The code id, if it stored code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_id: Option<u64>,
    /// The new contract's address, if it instantiated one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_address: Option<String>,
}

/// The outcome of a committed transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxResult {
    /// The transaction's hash (SHA-256 of its broadcast bytes, uppercase hex).
    pub txhash: TxHash,
    /// The block it was committed in.
    pub height: u64,
    /// Its position in that block, from 0.
    pub index: u32,
    /// The gas limit it was signed with.
    pub gas_wanted: u64,
    /// What it did: its code, log, gas used, events, data, new code id or contract.
    #[serde(flatten)]
    pub outcome: TxOutcome,
    /// The delivery instructions it committed, in sequence order; empty on failure.
    #[serde(default)]
    pub deliveries: Vec<DeliveryRecord>,
}

impl std::ops::Deref for TxResult {
    type Target = TxOutcome;

    fn deref(&self) -> &TxOutcome {
        &self.outcome
    }
}

/// A block's header: what its hash commits to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockHeader {
    /// The chain's id.
    pub chain_id: String,
    /// The block's height; the first block is 1.
    pub height: u64,
    /// The block's time, which contracts see as `env.block.time` (nanoseconds, as a string).
    pub time: Timestamp,
    /// The previous block's hash, lowercase hex; 64 zeros for the first block.
    pub prev_hash: String,
    /// The root over the block's transaction hashes, lowercase hex.
    pub tx_root: String,
    /// The hash of the state after the block, lowercase hex; the same for the same history on
    /// any machine.
    pub state_hash: String,
    /// The number of transactions in the block.
    pub tx_count: u32,
}

/// A committed block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// Its header.
    pub header: BlockHeader,
    /// The hash of its header, lowercase hex.
    pub hash: String,
    /// Its transactions' hashes, in order.
    pub txs: Vec<TxHash>,
    /// What the block did besides its transactions, at its end (the Cosmos SDK's end-block
    /// events): unbondings and redelegations that completed (`complete_unbonding`, with the
    /// bank's `coin_spent`/`coin_received`, and `complete_redelegation`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Event>,
}

/// A committed delivery instruction, as the delivery feed serves it: the contract's
/// [`DeliveryInstruction`] fields, flattened, plus what the runtime stamps on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// Its place in the chain's gap-free delivery sequence, from 1.
    pub sequence: u64,
    /// The address of the contract that emitted it (set by the runtime, never self-reported).
    pub contract: String,
    /// The block it was committed in.
    pub height: u64,
    /// The transaction that emitted it.
    pub tx_hash: TxHash,
    /// That block's time.
    pub time: Timestamp,
    /// What the contract asked for.
    #[serde(flatten)]
    pub instruction: DeliveryInstruction,
}

/// An account's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Its address, `consign1…`.
    pub address: String,
    /// The sequence its next transaction must carry.
    pub sequence: u64,
    /// Its public key, once it has sent a transaction.
    #[serde(default)]
    pub public_key: Option<PublicKey>,
}

/// The node's first answer to a broadcast: whether the transaction was accepted for a block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The transaction's hash, to look it up once committed.
    pub txhash: TxHash,
    /// 0 if accepted; any other value means it was refused and will not be committed.
    pub code: u32,
    /// Why it was refused, or empty.
    pub log: String,
}

/// The node's current state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// The chain's id, to put in transactions.
    pub chain_id: String,
    /// The latest committed block's height; 0 before the first block.
    pub height: u64,
    /// That block's hash, lowercase hex.
    pub latest_block_hash: String,
    /// That block's time.
    pub latest_block_time: Timestamp,
    /// The sequence number the next committed delivery instruction will get.
    pub next_delivery_sequence: u64,
    /// The lowest gas price this node accepts: a transaction's fee must be at least its gas
    /// limit times this (rounded up). Zero (absent from older nodes) accepts any fee, but the
    /// sender must still be an account that exists on-chain.
    #[serde(default = "zero_gas_price")]
    pub min_gas_price: GasPrice,
}

fn zero_gas_price() -> GasPrice {
    GasPrice::zero(crate::NATIVE_DENOM)
}

/// One chain node of a client that follows several (a `NodePool`: the storage node's
/// `--node-url`s, the inbox's `--node`s), as its owner reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolNode {
    /// Its API URL, as configured.
    pub url: String,
    /// How it stands.
    pub state: PoolNodeState,
    /// Failing: since when it has failed without answering in between (Unix seconds, the
    /// client's clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<u64>,
    /// Failing: how many requests in a row it failed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failures: u32,
    /// Why it last failed (kept after it recovers, until the next failure replaces it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Refused: the chain it reported instead of the pool's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// How a [`PoolNode`] stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PoolNodeState {
    /// The node asked first: the last one that answered (or the first configured, before any
    /// did).
    Current,
    /// It answered its last request; not the current node.
    Ok,
    /// Not asked yet.
    Unused,
    /// It failed its last request(s) and is passed over for a while.
    Failing,
    /// It is on another chain: never asked again.
    Refused,
}

/// The body of every error response from the node's API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// What went wrong and what to do about it.
    pub error: String,
}

#[cfg(test)]
mod tests {
    use consign_sdk::DeliveryAddress;
    use serde_json::json;

    use super::*;
    use crate::Tx;

    fn record() -> DeliveryRecord {
        DeliveryRecord {
            sequence: 1,
            contract: crate::humanize_address(&crate::contract_address(1, 1)),
            height: 5,
            tx_hash: Tx::hash(b"tx"),
            time: Timestamp::from_seconds(1_700_000_000),
            instruction: DeliveryInstruction {
                offer_id: 1,
                purchase_id: 7,
                buyer: crate::SecretKey::from_seed("buyer").address(),
                recipient: DeliveryAddress {
                    endpoint: "https://buyer.example/inbox".into(),
                    key: "age1xyz".into(),
                },
                content_sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
                    .into(),
                size: 1024,
                deadline: None,
            },
        }
    }

    #[test]
    fn delivery_record_is_flat_json() {
        let record = record();
        let value = serde_json::to_value(&record).unwrap();
        assert_eq!(value["sequence"], 1);
        assert_eq!(value["offer_id"], 1);
        assert_eq!(
            value["recipient"]["endpoint"],
            "https://buyer.example/inbox"
        );
        assert_eq!(value["tx_hash"], record.tx_hash.to_string());
        assert_eq!(value["time"], "1700000000000000000");
        assert!(value.get("instruction").is_none());
        let back: DeliveryRecord = serde_json::from_value(value).unwrap();
        assert_eq!(back, record);
    }

    #[test]
    fn tx_result_round_trips_and_omits_absent_fields() {
        let result = TxResult {
            txhash: Tx::hash(b"tx"),
            height: 5,
            index: 0,
            gas_wanted: 200_000,
            outcome: TxOutcome {
                code: 0,
                log: String::new(),
                gas_used: 51_234,
                events: vec![Event::new("wasm").add_attribute("action", "transfer")],
                data: None,
                code_id: None,
                contract_address: Some(record().contract),
            },
            deliveries: vec![record()],
        };
        let value = serde_json::to_value(&result).unwrap();
        assert!(value.get("code_id").is_none());
        assert_eq!(value["events"][0]["type"], "wasm");
        assert_eq!(value["events"][0]["attributes"][0]["key"], "action");
        let back: TxResult = serde_json::from_value(value).unwrap();
        assert_eq!(back, result);
    }

    #[test]
    fn tx_result_json_is_flat_as_before_the_shared_outcome() {
        // The wire format the node has always served: every field at the top level.
        let stored = json!({
            "txhash": Tx::hash(b"tx").to_string(),
            "height": 7,
            "index": 1,
            "code": 5,
            "log": "out of gas",
            "gas_wanted": 100,
            "gas_used": 100,
            "events": [{"type": "tx", "attributes": [{"key": "sender", "value": "a"}]}],
            "data": "AQI=",
            "code_id": 3,
            "contract_address": "consign1c",
            "deliveries": [],
        });
        let result: TxResult = serde_json::from_value(stored.clone()).unwrap();
        assert_eq!(result.code, 5);
        assert_eq!(result.outcome.log, "out of gas");
        assert_eq!(result.gas_wanted, 100);
        assert_eq!(result.data, Some(Binary::from(vec![1u8, 2])));
        assert_eq!(result.code_id, Some(3));
        assert_eq!(serde_json::to_value(&result).unwrap(), stored);
        // The optional fields stay optional, and absent when empty.
        let mut minimal = stored;
        for field in ["data", "code_id", "contract_address", "deliveries"] {
            minimal.as_object_mut().unwrap().remove(field);
        }
        let result: TxResult = serde_json::from_value(minimal.clone()).unwrap();
        assert!(result.deliveries.is_empty() && result.data.is_none());
        minimal["deliveries"] = json!([]);
        assert_eq!(serde_json::to_value(&result).unwrap(), minimal);
    }

    #[test]
    fn account_and_status_round_trip() {
        let account = Account {
            address: crate::SecretKey::from_seed("a").address(),
            sequence: 2,
            public_key: Some(crate::SecretKey::from_seed("a").public_key()),
        };
        let json = serde_json::to_string(&account).unwrap();
        assert_eq!(serde_json::from_str::<Account>(&json).unwrap(), account);
        let status = NodeStatus {
            chain_id: "consign-dev".into(),
            height: 0,
            latest_block_hash: "00".repeat(32),
            latest_block_time: Timestamp::from_nanos(0),
            next_delivery_sequence: 1,
            min_gas_price: "0.025ucsn".parse().unwrap(),
        };
        let json = serde_json::to_string(&status).unwrap();
        assert!(json.contains(r#""min_gas_price":"0.025ucsn""#), "{json}");
        assert_eq!(serde_json::from_str::<NodeStatus>(&json).unwrap(), status);
    }
}

/// A stored code, as `GET /codes/{id}` returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeInfo {
    /// Its code id.
    pub code_id: u64,
    /// SHA-256 of the wasm, lowercase hex.
    pub checksum: String,
    /// Who uploaded it.
    pub creator: String,
    /// Size of the wasm in bytes.
    pub size: u64,
    /// The height it was stored at.
    pub height: u64,
}

/// A contract instance, as `GET /contracts/{address}` returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractInfo {
    /// Its address.
    pub address: String,
    /// Its current code.
    pub code_id: u64,
    /// Who instantiated it.
    pub creator: String,
    /// Who may migrate it, if anyone.
    #[serde(default)]
    pub admin: Option<String>,
    /// Its label.
    pub label: String,
    /// The height it was created at.
    pub created: u64,
}

/// A page of the delivery feed, as `GET /deliveries` returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryPage {
    /// The deliveries after the sequence asked for, in sequence order, without gaps.
    pub deliveries: Vec<DeliveryRecord>,
    /// The last sequence returned, or the one asked for if there were none: pass it as `after`
    /// to get the next page.
    pub next_after: u64,
}

/// `GET /accounts/{address}/balances`: `{"balances": [...]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalancesResponse {
    /// Every denomination the account holds.
    pub balances: Vec<Coin>,
}

impl BalancesResponse {
    /// How much of `denom` the account holds: zero when it holds none.
    #[must_use]
    pub fn amount_of(&self, denom: &str) -> u128 {
        amount_of(&self.balances, denom)
    }
}

/// The amount of `denom` among `coins` (a list with each denomination once, as balances and
/// fees are): zero when it is not there. The chain keeps amounts in a `u128`; a larger one
/// (which no node of this chain reports) reads as `u128::MAX`.
#[must_use]
pub fn amount_of(coins: &[Coin], denom: &str) -> u128 {
    coins.iter().find(|c| c.denom == denom).map_or(0, |c| {
        Uint128::try_from(c.amount).map_or(u128::MAX, |a| a.u128())
    })
}

/// `POST /contracts/{address}/smart`: `{"data": <the contract's JSON answer>}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SmartQueryResponse {
    /// The contract's answer.
    pub data: serde_json::Value,
}

/// `GET /contracts/{address}/raw/{key}`: `{"data": "<base64>" | null}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawQueryResponse {
    /// The stored value, if the key exists.
    pub data: Option<Binary>,
}

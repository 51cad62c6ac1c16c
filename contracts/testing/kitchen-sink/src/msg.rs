//! Messages and responses. Every type is snake_case JSON and rejects unknown fields.

use consign_sdk::cosmwasm_std::{Binary, QueryRequest};
use consign_sdk::DeliveryInstruction;
use serde::{Deserialize, Serialize};

/// Instantiates with a starting counter.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct InstantiateMsg {
    /// The counter's initial value (default 0).
    #[serde(default)]
    pub count: u64,
}

/// Transactions.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum ExecuteMsg {
    /// Adds one to the counter; attribute `count` holds the new value.
    Increment {},
    /// Stores `value` under `key` (`db_write`).
    Set {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// Deletes `key` (`db_remove`).
    Remove {
        /// The key.
        key: String,
    },
    /// Stores `value` under `key`, then fails with `message`: nothing of it must persist.
    SetThenFail {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// The error returned.
        message: String,
    },
    /// Calls [`consign_sdk::deliver`]; attribute `delivered` holds the purchase id.
    Deliver {
        /// The instruction.
        instruction: DeliveryInstruction,
    },
    /// Delivers each instruction in order; one `delivered` attribute per instruction.
    DeliverMany {
        /// The instructions.
        instructions: Vec<DeliveryInstruction>,
    },
    /// Delivers, then fails: the instruction must not be recorded.
    DeliverThenFail {
        /// The instruction.
        instruction: DeliveryInstruction,
    },
    /// Sends `message` to the host's debug handler (`debug`).
    Debug {
        /// The message.
        message: String,
    },
    /// Panics with the message `kitchen-sink panicked on purpose` (`abort`).
    Panic {},
    /// Returns the `MessageInfo` (sender and funds) as JSON in the response data.
    Echo {},
    /// Executes `Increment {}` on this contract as a submessage with `reply_always`, id 1.
    SelfCall {},
}

/// Queries. Results of host functions that can fail are `{"ok": …}` or `{"error": "…"}`
/// (`ContractResult`), so a test sees the host's error message instead of a failed query.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum QueryMsg {
    /// `{"count": n}`.
    Counter {},
    /// `{"creator": "addr"}`: the instantiating sender.
    Creator {},
    /// The `Env` the query ran with.
    Env {},
    /// `{"value": "…"}` or `{"value": null}` (`db_read`).
    Get {
        /// The key.
        key: String,
    },
    /// `{"entries": [{"key": …, "value": …}, …]}` (`db_scan` + `db_next`).
    List {
        /// Start after this key (exclusive; in descending order, the entries before it).
        #[serde(default)]
        start_after: Option<String>,
        /// At most this many (default 30, at most 100).
        #[serde(default)]
        limit: Option<u32>,
        /// Iterate in descending order.
        #[serde(default)]
        descending: bool,
    },
    /// `{"keys": […]}` (`db_scan` + `db_next_key`).
    Keys {
        /// As in `List`.
        #[serde(default)]
        start_after: Option<String>,
        /// As in `List`.
        #[serde(default)]
        limit: Option<u32>,
        /// As in `List`.
        #[serde(default)]
        descending: bool,
    },
    /// `{"values": […]}` (`db_scan` + `db_next_value`).
    Values {
        /// As in `List`.
        #[serde(default)]
        start_after: Option<String>,
        /// As in `List`.
        #[serde(default)]
        limit: Option<u32>,
        /// As in `List`.
        #[serde(default)]
        descending: bool,
    },
    /// `ContractResult<String>`: the validated address (`addr_validate`).
    AddrValidate {
        /// The address.
        addr: String,
    },
    /// `ContractResult<Binary>`: the canonical bytes (`addr_canonicalize`).
    AddrCanonicalize {
        /// The address.
        addr: String,
    },
    /// `ContractResult<String>` (`addr_humanize`).
    AddrHumanize {
        /// The canonical bytes.
        canonical: Binary,
    },
    /// `ContractResult<bool>` (`secp256k1_verify`).
    Secp256k1Verify {
        /// The 32-byte message hash.
        hash: Binary,
        /// The 64-byte signature.
        signature: Binary,
        /// The public key.
        pubkey: Binary,
    },
    /// `ContractResult<Binary>`: the public key (`secp256k1_recover_pubkey`).
    Secp256k1Recover {
        /// The 32-byte message hash.
        hash: Binary,
        /// The 64-byte signature.
        signature: Binary,
        /// 0 or 1.
        recovery_param: u8,
    },
    /// `ContractResult<bool>` (`secp256r1_verify`).
    Secp256r1Verify {
        /// The 32-byte message hash.
        hash: Binary,
        /// The 64-byte signature.
        signature: Binary,
        /// The public key.
        pubkey: Binary,
    },
    /// `ContractResult<Binary>` (`secp256r1_recover_pubkey`).
    Secp256r1Recover {
        /// The 32-byte message hash.
        hash: Binary,
        /// The 64-byte signature.
        signature: Binary,
        /// 0 or 1.
        recovery_param: u8,
    },
    /// `ContractResult<bool>` (`ed25519_verify`).
    Ed25519Verify {
        /// The message.
        message: Binary,
        /// The 64-byte signature.
        signature: Binary,
        /// The 32-byte public key.
        pubkey: Binary,
    },
    /// `ContractResult<bool>` (`ed25519_batch_verify`).
    Ed25519BatchVerify {
        /// The messages.
        messages: Vec<Binary>,
        /// The signatures.
        signatures: Vec<Binary>,
        /// The public keys.
        pubkeys: Vec<Binary>,
    },
    /// `ContractResult<Binary>`: the 48-byte sum (`bls12_381_aggregate_g1`).
    Bls12381AggregateG1 {
        /// Concatenated 48-byte points.
        points: Binary,
    },
    /// `ContractResult<Binary>`: the 96-byte sum (`bls12_381_aggregate_g2`).
    Bls12381AggregateG2 {
        /// Concatenated 96-byte points.
        points: Binary,
    },
    /// `ContractResult<bool>` (`bls12_381_pairing_equality`).
    Bls12381PairingEquality {
        /// Concatenated G1 points.
        ps: Binary,
        /// Concatenated G2 points.
        qs: Binary,
        /// A G1 point.
        r: Binary,
        /// A G2 point.
        s: Binary,
    },
    /// `ContractResult<Binary>`: a 48-byte point, SHA-256 (`bls12_381_hash_to_g1`).
    Bls12381HashToG1 {
        /// The message.
        msg: Binary,
        /// The domain separation tag.
        dst: Binary,
    },
    /// `ContractResult<Binary>`: a 96-byte point, SHA-256 (`bls12_381_hash_to_g2`).
    Bls12381HashToG2 {
        /// The message.
        msg: Binary,
        /// The domain separation tag.
        dst: Binary,
    },
    /// `ContractResult<Coin>` (`query_chain` with a bank balance query).
    Balance {
        /// The account.
        address: String,
        /// The denomination.
        denom: String,
    },
    /// Passes `request` to `query_chain` and returns the host's raw answer,
    /// `SystemResult<ContractResult<Binary>>`, unchanged.
    Chain {
        /// Any query request.
        request: QueryRequest,
    },
}

/// Sudo messages.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum SudoMsg {
    /// Records `note` under the key `sudo`.
    Record {
        /// Any text.
        note: String,
    },
}

/// Migrates; records the sender and old version under the key `migrate`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct MigrateMsg {}

/// Answer to `Counter {}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CounterResponse {
    /// The counter.
    pub count: u64,
}

/// Answer to `Creator {}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CreatorResponse {
    /// The instantiating sender.
    pub creator: String,
}

/// Answer to `Get {}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct GetResponse {
    /// The value, if the key is set.
    pub value: Option<String>,
}

/// One entry of a `List {}` answer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Entry {
    /// The key, without the `kv:` prefix.
    pub key: String,
    /// The value.
    pub value: String,
}

/// Answer to `List {}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ListResponse {
    /// The entries in iteration order.
    pub entries: Vec<Entry>,
}

/// Answer to `Keys {}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct KeysResponse {
    /// The keys, without the `kv:` prefix, in iteration order.
    pub keys: Vec<String>,
}

/// Answer to `Values {}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ValuesResponse {
    /// The values in iteration order.
    pub values: Vec<String>,
}

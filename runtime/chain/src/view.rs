//! [`View`]: the chain as of its last committed block, read without the state machine. The
//! node answers queries and admits transactions from the current view while the next block
//! executes; each commit makes a new view and readers of the old one finish undisturbed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use consign_types::{Account, Block, DeliveryRecord, GasPrice, Tx, TxHash};
use consign_vm::BackendApi;
use cosmwasm_std::{Binary, BlockInfo, Coin, ContractResult, SystemResult, Timestamp};

use crate::app::CheckedTx;
use crate::core::{ChainVm, Core};
use crate::db::Db;
use crate::error::{ChainError, CheckError};
use crate::fees::{self, Pending};
use crate::gas;
use crate::genesis::Genesis;
use crate::state::{self, AccountRecord, CodeRecord, ContractRecord};
use crate::store::{lock, Layers};

/// The committed state after one block: a consistent, read-only picture that never waits for
/// the block in progress.
pub struct View {
    /// Reads the committed map through layers of its own (no pending layer is ever pushed).
    pub(crate) core: Arc<Core>,
    /// The committed map itself, for simulations, which run in layers of their own over it.
    pub(crate) state: Arc<BTreeMap<Vec<u8>, Vec<u8>>>,
    db: Arc<Db>,
    pub(crate) head: Head,
}

/// The last committed block's facts, and the node's admission price.
#[derive(Debug, Clone)]
pub(crate) struct Head {
    pub(crate) chain_id: String,
    pub(crate) height: u64,
    pub(crate) last_hash: [u8; 32],
    pub(crate) last_time: Timestamp,
    pub(crate) state_hash: [u8; 32],
    pub(crate) next_delivery: u64,
    pub(crate) min_gas_price: GasPrice,
}

impl std::fmt::Debug for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("View")
            .field("chain_id", &self.head.chain_id)
            .field("height", &self.head.height)
            .finish_non_exhaustive()
    }
}

/// What a view is made of (the App's committed fields).
pub(crate) struct ViewParts {
    pub(crate) vm: Arc<ChainVm>,
    pub(crate) api: consign_vm::Bech32Api,
    pub(crate) db: Arc<Db>,
    pub(crate) state: Arc<BTreeMap<Vec<u8>, Vec<u8>>>,
    pub(crate) head: Head,
}

/// The checks of admission and of block execution that read the state: chain id, messages,
/// sequence, gas limit, fee (`min_gas_price` only at admission).
pub(crate) fn check_body(
    layers: &Layers,
    chain_id: &str,
    tx: &Tx,
    len: usize,
    pending: &Pending,
    min_gas_price: Option<&GasPrice>,
) -> Result<(), CheckError> {
    let body = &tx.body;
    if body.chain_id != chain_id {
        return Err(CheckError::ChainId {
            expected: chain_id.to_owned(),
            got: body.chain_id.clone(),
        });
    }
    if body.messages.is_empty() {
        return Err(CheckError::Empty);
    }
    let committed = state::read_json::<AccountRecord>(layers, &state::account_key(&body.sender))
        .ok()
        .flatten()
        .unwrap_or_default()
        .sequence;
    let expected = committed.saturating_add(pending.count);
    if body.sequence != expected {
        return Err(CheckError::Sequence {
            address: body.sender.clone(),
            expected,
            got: body.sequence,
        });
    }
    let needed = gas::intrinsic(len);
    if body.gas_limit < needed {
        return Err(CheckError::GasTooLow {
            limit: body.gas_limit,
            needed,
        });
    }
    if body.gas_limit > gas::MAX_TX_GAS {
        return Err(CheckError::GasTooHigh {
            limit: body.gas_limit,
            max: gas::MAX_TX_GAS,
        });
    }
    fees::check_fee(
        layers,
        &body.sender,
        body.gas_limit,
        &body.fee,
        pending,
        min_gas_price,
    )
}

impl View {
    pub(crate) fn new(parts: ViewParts) -> Self {
        let layers = Arc::new(Mutex::new(Layers::default()));
        lock(&layers).reset(parts.state.clone());
        let core = Core::new(
            parts.vm,
            layers,
            parts.api,
            BlockInfo {
                height: parts.head.height,
                time: parts.head.last_time,
                chain_id: parts.head.chain_id.clone(),
            },
        );
        Self {
            core,
            state: parts.state,
            db: parts.db,
            head: parts.head,
        }
    }

    /// The checks a transaction must pass to enter the mempool, against this committed state:
    /// those of block execution (chain id, sequence counting `pending`, gas limit, the sender
    /// exists and can pay its fee on top of `pending`'s fees) plus the node's minimum gas price.
    ///
    /// # Errors
    /// The reason it is refused.
    pub fn admit(&self, checked: &CheckedTx, pending: &Pending) -> Result<(), CheckError> {
        check_body(
            &lock(&self.core.layers),
            &self.head.chain_id,
            &checked.tx,
            checked.bytes.len(),
            pending,
            Some(&self.head.min_gas_price),
        )
    }

    /// The checks a block applies to a transaction, against this committed state with the
    /// block's earlier transactions counted in `pending`: those of [`View::admit`] without the
    /// node's minimum gas price, which is no rule of the chain. Every validator gets the same
    /// answer for the same state and block, so a proposal can be judged with it.
    ///
    /// # Errors
    /// The reason the block could not run it.
    pub fn check_in_block(&self, checked: &CheckedTx, pending: &Pending) -> Result<(), CheckError> {
        check_body(
            &lock(&self.core.layers),
            &self.head.chain_id,
            &checked.tx,
            checked.bytes.len(),
            pending,
            None,
        )
    }

    /// The state hash after the committed block, raw (the ABCI app hash).
    pub fn state_hash_bytes(&self) -> [u8; 32] {
        self.head.state_hash
    }

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        &self.head.chain_id
    }

    /// The committed height.
    pub fn height(&self) -> u64 {
        self.head.height
    }

    /// The committed block's time.
    pub fn last_time(&self) -> Timestamp {
        self.head.last_time
    }

    /// The state hash after the committed block, hex.
    pub fn state_hash(&self) -> String {
        hex::encode(self.head.state_hash)
    }

    /// The committed block's hash, hex.
    pub fn last_block_hash(&self) -> String {
        hex::encode(self.head.last_hash)
    }

    /// The sequence the next delivery instruction will get.
    pub fn next_delivery_sequence(&self) -> u64 {
        self.head.next_delivery
    }

    /// The lowest gas price admission accepts.
    pub fn min_gas_price(&self) -> &GasPrice {
        &self.head.min_gas_price
    }

    /// The account's committed sequence.
    pub fn sequence(&self, address: &str) -> u64 {
        self.account_record(address).sequence
    }

    fn account_record(&self, address: &str) -> AccountRecord {
        state::read_json::<AccountRecord>(&lock(&self.core.layers), &state::account_key(address))
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// An account's sequence and key.
    pub fn account(&self, address: &str) -> Account {
        let record = self.account_record(address);
        Account {
            address: address.to_owned(),
            sequence: record.sequence,
            public_key: record.public_key,
        }
    }

    /// An account's balances.
    ///
    /// # Errors
    /// On a corrupted record.
    pub fn balances(&self, address: &str) -> Result<Vec<Coin>, ChainError> {
        state::balances(&lock(&self.core.layers), address)
    }

    /// A committed block.
    ///
    /// # Errors
    /// On a database error.
    pub fn block(&self, height: u64) -> Result<Option<Block>, ChainError> {
        self.db
            .block(height)?
            .map(|b| {
                serde_json::from_slice(&b)
                    .map_err(|e| ChainError::Corrupt(format!("block {height}: {e}")))
            })
            .transpose()
    }

    /// A committed transaction's result.
    ///
    /// # Errors
    /// On a database error.
    pub fn tx(&self, hash: &TxHash) -> Result<Option<consign_types::TxResult>, ChainError> {
        self.db
            .tx(&hash.to_string())?
            .map(|b| {
                serde_json::from_slice(&b)
                    .map_err(|e| ChainError::Corrupt(format!("tx {hash}: {e}")))
            })
            .transpose()
    }

    /// A committed transaction's bytes, exactly as broadcast.
    ///
    /// # Errors
    /// On a database error.
    pub fn tx_bytes(&self, hash: &TxHash) -> Result<Option<Vec<u8>>, ChainError> {
        self.db.tx_bytes(&hash.to_string())
    }

    /// The genesis the chain started from.
    ///
    /// # Errors
    /// On a database error or a corrupted record.
    pub fn genesis(&self) -> Result<Genesis, ChainError> {
        let bytes = self
            .db
            .meta("genesis")?
            .ok_or_else(|| ChainError::Corrupt("the genesis is missing".into()))?;
        serde_json::from_slice(&bytes).map_err(|e| ChainError::Corrupt(format!("genesis: {e}")))
    }

    /// Delivery records after `after`, at most `limit`.
    ///
    /// # Errors
    /// On a database error.
    pub fn deliveries(&self, after: u64, limit: usize) -> Result<Vec<DeliveryRecord>, ChainError> {
        self.db
            .deliveries(after, limit)?
            .into_iter()
            .map(|b| {
                serde_json::from_slice(&b)
                    .map_err(|e| ChainError::Corrupt(format!("delivery: {e}")))
            })
            .collect()
    }

    /// A stored code's record.
    pub fn code(&self, code_id: u64) -> Option<CodeRecord> {
        state::read_json(&lock(&self.core.layers), &state::code_key(code_id))
            .ok()
            .flatten()
    }

    /// A stored code's wasm.
    pub fn code_wasm(&self, code_id: u64) -> Option<Vec<u8>> {
        lock(&self.core.layers).get(&state::code_bytes_key(code_id))
    }

    /// A contract's record.
    pub fn contract(&self, address: &str) -> Option<ContractRecord> {
        state::read_json(&lock(&self.core.layers), &state::contract_key(address))
            .ok()
            .flatten()
    }

    /// A contract's raw storage value.
    ///
    /// # Errors
    /// When the address is invalid.
    pub fn raw_query(&self, address: &str, key: &[u8]) -> Result<Option<Vec<u8>>, ChainError> {
        let canonical = self
            .core
            .api
            .addr_canonicalize(address)
            .map_err(|e| ChainError::Query(format!("invalid address {address}: {e}")))?;
        let full = [state::contract_state_prefix(&canonical), key.to_vec()].concat();
        Ok(lock(&self.core.layers).get(&full))
    }

    /// A contract's smart query, with a gas limit.
    ///
    /// # Errors
    /// When there is no such contract, or the query fails (its message says why).
    pub fn smart_query(
        &self,
        address: &str,
        msg: &[u8],
        gas_limit: u64,
    ) -> Result<Binary, ChainError> {
        if self.contract(address).is_none() {
            return Err(ChainError::NotFound(format!("no contract at {address}")));
        }
        let (result, _) = crate::querier::smart_query(&self.core, address, msg, gas_limit);
        match result {
            Ok(SystemResult::Ok(ContractResult::Ok(bin))) => Ok(bin),
            Ok(SystemResult::Ok(ContractResult::Err(e))) => {
                Err(ChainError::Query(format!("query failed: {e}")))
            }
            Ok(SystemResult::Err(e)) => Err(ChainError::Query(format!("query failed: {e}"))),
            Err(e) => Err(ChainError::Query(format!("query failed: {e}"))),
        }
    }
}

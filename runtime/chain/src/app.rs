//! [`App`]: the state machine. It checks transactions, executes a block of them, commits the
//! block durably, and answers queries. It does not decide when blocks are made: `consign dev`
//! drives it, and so could a consensus engine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use consign_types::{
    Account, Block, BlockHeader, DeliveryRecord, GasPrice, Msg, Tx, TxHash, TxOutcome, TxResult,
};
use consign_vm::{BackendApi, Bech32Api, VmConfig};
use cosmwasm_std::{Binary, BlockInfo, Coin, Timestamp};
use sha2::{Digest, Sha256};

use crate::core::{ChainVm, Core, TxContext};
use crate::db::{BlockWrite, Db};
use crate::error::{ChainError, CheckError, ExecError};
use crate::fees::{self, Pending};
use crate::gas::{self, GasMeter};
use crate::genesis::Genesis;
use crate::state::{self, AccountRecord, CodeRecord, ContractRecord};
use crate::store::{lock, Layers};
use crate::view::{check_body, Head, View, ViewParts};
use crate::wasm::{Executor, Outcome};

/// A transaction that passed [`App::check_tx`].
#[derive(Debug, Clone)]
pub struct CheckedTx {
    /// The decoded transaction.
    pub tx: Tx,
    /// Its bytes as broadcast.
    pub bytes: Vec<u8>,
    /// SHA-256 of the bytes.
    pub hash: TxHash,
}

impl CheckedTx {
    /// Decodes a transaction and verifies its signature: the checks that need no state.
    ///
    /// # Errors
    /// When the bytes are not a transaction or the signature does not match.
    pub fn decode(bytes: &[u8]) -> Result<Self, CheckError> {
        let tx = Tx::from_bytes(bytes).map_err(|e| CheckError::Tx(e.to_string()))?;
        tx.verify().map_err(|e| CheckError::Tx(e.to_string()))?;
        Ok(Self {
            hash: Tx::hash(bytes),
            tx,
            bytes: bytes.to_vec(),
        })
    }
}

/// What committing a block produced.
#[derive(Debug, Clone)]
pub struct BlockOutcome {
    /// The block.
    pub block: Block,
    /// The result of each included transaction, in order.
    pub results: Vec<TxResult>,
    /// The delivery instructions the block recorded, in sequence order.
    pub deliveries: Vec<DeliveryRecord>,
    /// Transactions left out because they no longer passed the checks, with the reason.
    pub dropped: Vec<(TxHash, CheckError)>,
}

/// Where the chain keeps its files, and this node's admission policy.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// The home directory (`chain.redb` and the VM's cache `vm/` inside).
    pub home: PathBuf,
    /// The VM's settings (its cache directory is set from `home`).
    pub vm: VmConfig,
    /// The lowest gas price admission accepts ([`View::admit`]): a fee below
    /// `gas_limit × price` is refused. The node's own policy, not the chain's: blocks do not
    /// check it. Default zero in the native denomination (senders must still exist and pay
    /// whatever fee they offer).
    pub min_gas_price: GasPrice,
}

impl AppConfig {
    /// Defaults under `home`.
    pub fn new(home: impl Into<PathBuf>) -> Self {
        Self {
            home: home.into(),
            vm: VmConfig::default(),
            min_gas_price: GasPrice::zero(consign_types::NATIVE_DENOM),
        }
    }
}

/// The state machine.
pub struct App {
    db: Arc<Db>,
    core: Arc<Core>,
    committed: Arc<BTreeMap<Vec<u8>, Vec<u8>>>,
    /// The last committed block (height, hashes, time, delivery sequence) and its state as
    /// readers see it; replaced after each commit.
    view: Arc<View>,
}

fn hex32(bytes: &[u8; 32]) -> String {
    hex::encode(bytes)
}

fn parse32(meta: Option<Vec<u8>>, what: &str) -> Result<[u8; 32], ChainError> {
    let bytes = meta.ok_or_else(|| ChainError::Corrupt(format!("missing {what}")))?;
    bytes
        .try_into()
        .map_err(|_| ChainError::Corrupt(format!("{what} is not 32 bytes")))
}

fn parse_u64(meta: Option<Vec<u8>>, what: &str) -> Result<u64, ChainError> {
    let bytes = meta.ok_or_else(|| ChainError::Corrupt(format!("missing {what}")))?;
    let arr: [u8; 8] = bytes
        .try_into()
        .map_err(|_| ChainError::Corrupt(format!("{what} is not 8 bytes")))?;
    Ok(u64::from_be_bytes(arr))
}

/// The next state hash: SHA-256 of the previous one and the block's sorted changes, so two
/// nodes with the same history have the same hash, whatever machine they run on.
fn next_state_hash(prev: &[u8; 32], changes: &BTreeMap<Vec<u8>, Option<Vec<u8>>>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    for (key, change) in changes {
        h.update((key.len() as u64).to_be_bytes());
        h.update(key);
        match change {
            Some(value) => {
                h.update([1]);
                h.update((value.len() as u64).to_be_bytes());
                h.update(value);
            }
            None => h.update([0]),
        }
    }
    h.finalize().into()
}

impl App {
    /// Opens the chain in `config.home`, creating it from `genesis` when the directory is new.
    ///
    /// # Errors
    /// When the database cannot be opened, a new chain has no genesis, or a stored code cannot
    /// be loaded into the VM.
    pub fn open(config: AppConfig, genesis: Option<&Genesis>) -> Result<Self, ChainError> {
        std::fs::create_dir_all(&config.home)
            .map_err(|e| ChainError::Db(format!("creating {}: {e}", config.home.display())))?;
        let db = Arc::new(Db::open(&config.home.join("chain.redb"))?);
        let mut vm_config = config.vm.clone();
        vm_config.cache_dir = Some(config.home.join("vm"));
        let vm = Arc::new(ChainVm::new(vm_config)?);
        let min_gas_price = config.min_gas_price.clone();
        let api = Bech32Api::new(consign_types::ADDRESS_PREFIX)
            .map_err(|e| ChainError::Genesis(e.to_string()))?;
        let layers = Arc::new(Mutex::new(Layers::default()));
        match db.meta("chain_id")? {
            Some(chain_id) => {
                let chain_id = String::from_utf8(chain_id)
                    .map_err(|_| ChainError::Corrupt("chain id is not UTF-8".into()))?;
                if let Some(g) = genesis {
                    if g.chain_id != chain_id {
                        return Err(ChainError::Genesis(format!(
                            "{} holds chain {chain_id:?}, not {:?}",
                            config.home.display(),
                            g.chain_id
                        )));
                    }
                }
                let committed = Arc::new(db.load_state()?);
                lock(&layers).reset(committed.clone());
                let height = parse_u64(db.meta("height")?, "height")?;
                let last_time = Timestamp::from_nanos(parse_u64(db.meta("time")?, "time")?);
                let core = Core::new(
                    vm,
                    layers,
                    api,
                    BlockInfo {
                        height,
                        time: last_time,
                        chain_id: chain_id.clone(),
                    },
                );
                let view = View::new(ViewParts {
                    vm: core.vm.clone(),
                    api: core.api.clone(),
                    db: db.clone(),
                    state: committed.clone(),
                    head: Head {
                        chain_id,
                        height,
                        last_hash: parse32(db.meta("last_hash")?, "last block hash")?,
                        last_time,
                        state_hash: parse32(db.meta("state_hash")?, "state hash")?,
                        next_delivery: parse_u64(db.meta("next_delivery")?, "delivery sequence")?,
                        min_gas_price,
                    },
                });
                let app = Self {
                    core,
                    committed,
                    db,
                    view: Arc::new(view),
                };
                app.restore_codes()?;
                tracing::info!(target: "runtime::chain", chain_id = %app.chain_id(), height = app.height(), "opened chain");
                Ok(app)
            }
            None => {
                let genesis = genesis.ok_or_else(|| {
                    ChainError::Genesis(format!(
                        "{} holds no chain yet and no genesis was given",
                        config.home.display()
                    ))
                })?;
                Self::init(db, vm, api, layers, genesis, min_gas_price)
            }
        }
    }

    fn init(
        db: Arc<Db>,
        vm: Arc<ChainVm>,
        api: Bech32Api,
        layers: Arc<Mutex<Layers>>,
        genesis: &Genesis,
        min_gas_price: GasPrice,
    ) -> Result<Self, ChainError> {
        if genesis.chain_id.trim().is_empty() {
            return Err(ChainError::Genesis("the chain id is empty".into()));
        }
        {
            let mut l = lock(&layers);
            l.push();
            for account in &genesis.accounts {
                api.addr_canonicalize(&account.address).map_err(|e| {
                    ChainError::Genesis(format!("account {:?}: {e}", account.address))
                })?;
                for coin in &account.coins {
                    crate::bank::mint(&mut l, &account.address, coin)?;
                }
            }
        }
        let changes = lock(&layers).take_all().changes;
        let state_hash = next_state_hash(&[0; 32], &changes);
        let header = BlockHeader {
            chain_id: genesis.chain_id.clone(),
            height: 0,
            time: genesis.genesis_time,
            prev_hash: hex32(&[0; 32]),
            tx_root: hex32(&Sha256::digest(b"").into()),
            state_hash: hex32(&state_hash),
            tx_count: 0,
        };
        let hash: [u8; 32] = Sha256::digest(serde_json::to_vec(&header).unwrap_or_default()).into();
        let block = Block {
            header,
            hash: hex32(&hash),
            txs: Vec::new(),
        };
        let write = BlockWrite {
            height: 0,
            block: serde_json::to_vec(&block).unwrap_or_default(),
            changes: changes.clone(),
            meta: vec![
                ("chain_id", genesis.chain_id.as_bytes().to_vec()),
                ("genesis", serde_json::to_vec(genesis).unwrap_or_default()),
                ("height", 0u64.to_be_bytes().to_vec()),
                ("time", genesis.genesis_time.nanos().to_be_bytes().to_vec()),
                ("last_hash", hash.to_vec()),
                ("state_hash", state_hash.to_vec()),
                ("next_delivery", 1u64.to_be_bytes().to_vec()),
            ],
            ..BlockWrite::default()
        };
        db.commit(&write)?;
        let committed = Arc::new(apply(BTreeMap::new(), changes));
        lock(&layers).reset(committed.clone());
        let core = Core::new(
            vm,
            layers,
            api,
            BlockInfo {
                height: 0,
                time: genesis.genesis_time,
                chain_id: genesis.chain_id.clone(),
            },
        );
        tracing::info!(target: "runtime::chain", chain_id = %genesis.chain_id, accounts = genesis.accounts.len(), "created chain from genesis");
        let view = View::new(ViewParts {
            vm: core.vm.clone(),
            api: core.api.clone(),
            db: db.clone(),
            state: committed.clone(),
            head: Head {
                chain_id: genesis.chain_id.clone(),
                height: 0,
                last_hash: hash,
                last_time: genesis.genesis_time,
                state_hash,
                next_delivery: 1,
                min_gas_price,
            },
        });
        Ok(Self {
            db,
            core,
            committed,
            view: Arc::new(view),
        })
    }

    /// The committed state as of the last block, for reading while the next one executes
    /// (queries, admission). Cheap: it shares the committed map.
    pub fn view(&self) -> Arc<View> {
        self.view.clone()
    }

    /// Makes sure the VM has every stored code (after its cache was deleted, say).
    fn restore_codes(&self) -> Result<(), ChainError> {
        let prefix = b"wasm/code/".to_vec();
        let end = b"wasm/code0".to_vec();
        for (key, value) in self.committed.range(prefix..end) {
            let record: CodeRecord = serde_json::from_slice(value)
                .map_err(|e| ChainError::Corrupt(format!("code record: {e}")))?;
            let checksum = cosmwasm_std::Checksum::from_hex(&record.checksum)
                .map_err(|e| ChainError::Corrupt(format!("code checksum: {e}")))?;
            if !self.core.vm.has_code(&checksum) {
                let id_bytes: [u8; 8] = key[b"wasm/code/".len()..]
                    .try_into()
                    .map_err(|_| ChainError::Corrupt("code key".into()))?;
                let id = u64::from_be_bytes(id_bytes);
                let wasm = self
                    .committed
                    .get(&state::code_bytes_key(id))
                    .ok_or_else(|| ChainError::Corrupt(format!("wasm of code {id} is missing")))?;
                self.core.vm.save_wasm(wasm)?;
            }
        }
        Ok(())
    }

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        self.view.chain_id()
    }

    /// The last committed height.
    pub fn height(&self) -> u64 {
        self.view.height()
    }

    /// The last committed block's time.
    pub fn last_time(&self) -> Timestamp {
        self.view.last_time()
    }

    /// The state hash after the last committed block, hex.
    pub fn state_hash(&self) -> String {
        self.view.state_hash()
    }

    /// The last committed block's hash, hex.
    pub fn last_block_hash(&self) -> String {
        self.view.last_block_hash()
    }

    /// The sequence the next delivery instruction will get.
    pub fn next_delivery_sequence(&self) -> u64 {
        self.view.next_delivery_sequence()
    }

    /// The account's committed sequence (the one its next transaction must carry, unless
    /// transactions are pending).
    pub fn sequence(&self, address: &str) -> u64 {
        self.view.sequence(address)
    }

    /// Checks a transaction before it may enter a block: it decodes, its signature matches its
    /// sender, it is for this chain, its sequence is the sender's next one (`pending` is how
    /// many of the sender's transactions are already waiting), its gas limit covers its
    /// intrinsic cost, and its sender exists and can pay its fee, which is at least the
    /// minimum gas price's.
    ///
    /// # Errors
    /// The reason it is refused.
    pub fn check_tx(
        &self,
        bytes: &[u8],
        pending: impl Fn(&str) -> u64,
    ) -> Result<CheckedTx, CheckError> {
        let checked = CheckedTx::decode(bytes)?;
        self.admit(&checked, &Pending::count(pending(&checked.tx.body.sender)))?;
        Ok(checked)
    }

    /// The checks of [`App::check_tx`] that need the state, for a transaction already decoded
    /// and verified with [`CheckedTx::decode`]: [`View::admit`] on the committed state.
    ///
    /// # Errors
    /// The reason it is refused.
    pub fn admit(&self, checked: &CheckedTx, pending: &Pending) -> Result<(), CheckError> {
        self.view.admit(checked, pending)
    }

    /// Executes `txs` in a new block at `time` and commits it durably: all of it, or (on a
    /// storage error) nothing.
    ///
    /// # Errors
    /// Only when the chain itself fails (the database); a failing transaction is a result with
    /// a non-zero code.
    pub fn execute_block(
        &mut self,
        txs: Vec<CheckedTx>,
        time: Timestamp,
    ) -> Result<BlockOutcome, ChainError> {
        let last = self.view.clone();
        let height = last.head.height + 1;
        let time = if time <= last.head.last_time {
            last.head.last_time.plus_nanos(1)
        } else {
            time
        };
        let block_info = BlockInfo {
            height,
            time,
            chain_id: last.head.chain_id.clone(),
        };
        {
            let mut layers = lock(&self.core.layers);
            layers.reset(self.committed.clone());
            layers.push();
        }
        let mut results = Vec::with_capacity(txs.len());
        let mut included = Vec::with_capacity(txs.len());
        let mut tx_bytes = Vec::with_capacity(txs.len());
        let mut dropped = Vec::new();
        let mut pending_deliveries: Vec<(usize, String, consign_sdk::DeliveryInstruction)> =
            Vec::new();
        for checked in txs {
            // The checks again, on the block's state so far (an earlier transaction may have
            // spent what this one's fee needs); the node's minimum gas price is not the chain's
            // rule, so it is not checked here.
            let checked_again = check_body(
                &lock(&self.core.layers),
                &last.head.chain_id,
                &checked.tx,
                checked.bytes.len(),
                &Pending::default(),
                None,
            );
            if let Err(e) = checked_again {
                dropped.push((checked.hash, e));
                continue;
            }
            let index = u32::try_from(included.len()).unwrap_or(u32::MAX);
            self.core.set_context(TxContext {
                block: block_info.clone(),
                tx: Some((index, checked.hash.as_bytes().to_vec())),
            });
            let (result, deliveries) = deliver_tx(&self.core, &checked, height, index, false);
            for (contract, instruction) in deliveries {
                pending_deliveries.push((results.len(), contract, instruction));
            }
            included.push(checked.hash);
            tx_bytes.push((checked.hash.to_string(), checked.bytes));
            results.push(result);
        }
        let block_layer = lock(&self.core.layers).take_all();
        let changes = block_layer.changes;
        let state_hash = next_state_hash(&last.head.state_hash, &changes);
        let mut tx_root = Sha256::new();
        for hash in &included {
            tx_root.update(hash.as_bytes());
        }
        let header = BlockHeader {
            chain_id: last.head.chain_id.clone(),
            height,
            time,
            prev_hash: hex32(&last.head.last_hash),
            tx_root: hex32(&tx_root.finalize().into()),
            state_hash: hex32(&state_hash),
            tx_count: u32::try_from(included.len()).unwrap_or(u32::MAX),
        };
        let hash: [u8; 32] = Sha256::digest(serde_json::to_vec(&header).unwrap_or_default()).into();
        let block = Block {
            header,
            hash: hex32(&hash),
            txs: included,
        };
        let mut next_delivery = last.head.next_delivery;
        let mut deliveries = Vec::with_capacity(pending_deliveries.len());
        for (result_index, contract, instruction) in pending_deliveries {
            let record = DeliveryRecord {
                sequence: next_delivery,
                contract,
                height,
                tx_hash: results[result_index].txhash,
                time,
                instruction,
            };
            next_delivery += 1;
            results[result_index].deliveries.push(record.clone());
            deliveries.push(record);
        }
        let write = BlockWrite {
            height,
            block: serde_json::to_vec(&block).unwrap_or_default(),
            txs: results
                .iter()
                .map(|r| {
                    (
                        r.txhash.to_string(),
                        serde_json::to_vec(r).unwrap_or_default(),
                    )
                })
                .collect(),
            tx_bytes,
            deliveries: deliveries
                .iter()
                .map(|d| (d.sequence, serde_json::to_vec(d).unwrap_or_default()))
                .collect(),
            changes: changes.clone(),
            meta: vec![
                ("height", height.to_be_bytes().to_vec()),
                ("time", time.nanos().to_be_bytes().to_vec()),
                ("last_hash", hash.to_vec()),
                ("state_hash", state_hash.to_vec()),
                ("next_delivery", next_delivery.to_be_bytes().to_vec()),
            ],
        };
        if let Err(e) = self.db.commit(&write) {
            // Nothing was committed: the in-memory state stays at the last block.
            lock(&self.core.layers).reset(self.committed.clone());
            return Err(e);
        }
        // Readers of the last view (queries, admission) keep its map: the next one is a copy
        // with the block's changes (the layers always held the last map too, so this copy was
        // made before views existed as well).
        self.committed = Arc::new(apply((*self.committed).clone(), changes));
        lock(&self.core.layers).reset(self.committed.clone());
        self.view = Arc::new(View::new(ViewParts {
            vm: self.core.vm.clone(),
            api: self.core.api.clone(),
            db: self.db.clone(),
            state: self.committed.clone(),
            head: Head {
                height,
                last_hash: hash,
                last_time: time,
                state_hash,
                next_delivery,
                ..last.head.clone()
            },
        }));
        self.core.set_context(TxContext {
            block: block_info,
            tx: None,
        });
        tracing::debug!(target: "runtime::chain", height, txs = results.len(), deliveries = deliveries.len(), "committed block");
        Ok(BlockOutcome {
            block,
            results,
            deliveries,
            dropped,
        })
    }

    /// An account's sequence and key.
    pub fn account(&self, address: &str) -> Account {
        self.view.account(address)
    }

    /// An account's balances.
    ///
    /// # Errors
    /// On a corrupted record.
    pub fn balances(&self, address: &str) -> Result<Vec<Coin>, ChainError> {
        self.view.balances(address)
    }

    /// A committed block.
    ///
    /// # Errors
    /// On a database error.
    pub fn block(&self, height: u64) -> Result<Option<Block>, ChainError> {
        self.view.block(height)
    }

    /// A committed transaction's result.
    ///
    /// # Errors
    /// On a database error.
    pub fn tx(&self, hash: &TxHash) -> Result<Option<TxResult>, ChainError> {
        self.view.tx(hash)
    }

    /// A committed transaction's bytes, exactly as broadcast (to replay the chain, or show
    /// what was signed).
    ///
    /// # Errors
    /// On a database error.
    pub fn tx_bytes(&self, hash: &TxHash) -> Result<Option<Vec<u8>>, ChainError> {
        self.view.tx_bytes(hash)
    }

    /// The genesis the chain started from.
    ///
    /// # Errors
    /// On a database error or a corrupted record.
    pub fn genesis(&self) -> Result<Genesis, ChainError> {
        self.view.genesis()
    }

    /// Delivery records after `after`, at most `limit`.
    ///
    /// # Errors
    /// On a database error.
    pub fn deliveries(&self, after: u64, limit: usize) -> Result<Vec<DeliveryRecord>, ChainError> {
        self.view.deliveries(after, limit)
    }

    /// A stored code's record.
    pub fn code(&self, code_id: u64) -> Option<CodeRecord> {
        self.view.code(code_id)
    }

    /// A stored code's wasm.
    pub fn code_wasm(&self, code_id: u64) -> Option<Vec<u8>> {
        self.view.code_wasm(code_id)
    }

    /// A contract's record.
    pub fn contract(&self, address: &str) -> Option<ContractRecord> {
        self.view.contract(address)
    }

    /// A contract's raw storage value.
    ///
    /// # Errors
    /// When the address is invalid.
    pub fn raw_query(&self, address: &str, key: &[u8]) -> Result<Option<Vec<u8>>, ChainError> {
        self.view.raw_query(address, key)
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
        self.view.smart_query(address, msg, gas_limit)
    }

    /// The home directory's database path.
    pub fn db_path(home: &Path) -> PathBuf {
        home.join("chain.redb")
    }
}

/// Runs one transaction in its own layer; returns its result and, when it succeeded, the
/// delivery instructions it emitted. A `simulation` stores no uploaded code in the VM (see
/// [`Executor::simulation`]).
pub(crate) fn deliver_tx(
    core: &Core,
    checked: &CheckedTx,
    height: u64,
    index: u32,
    simulation: bool,
) -> (TxResult, Vec<(String, consign_sdk::DeliveryInstruction)>) {
    let body = &checked.tx.body;
    // The sequence is used up and the fee paid even when the transaction fails: both are
    // written below the layer its messages run in.
    let fee_paid = {
        let mut layers = lock(&core.layers);
        let mut account =
            state::read_json::<AccountRecord>(&layers, &state::account_key(&body.sender))
                .ok()
                .flatten()
                .unwrap_or_default();
        account.sequence += 1;
        account.public_key = Some(checked.tx.public_key);
        state::write_json(&mut layers, &state::account_key(&body.sender), &account);
        // The block's checks made sure the sender can pay; should it not, the messages do
        // not run.
        let paid =
            crate::bank::transfer(&mut layers, &body.sender, &fees::fee_collector(), &body.fee);
        layers.push();
        paid
    };
    let mut executor = Executor {
        core,
        gas: GasMeter::new(body.gas_limit),
        height,
        simulation,
    };
    let mut outcome = Outcome::default();
    let result = fee_paid
        .and_then(|_| executor.gas.consume(gas::intrinsic(checked.bytes.len())))
        .and_then(|()| {
            for msg in &body.messages {
                let one = run_msg(&mut executor, &body.sender, msg)?;
                outcome.events.extend(one.events);
                outcome.data = one.data.or(outcome.data.take());
                outcome.code_id = one.code_id.or(outcome.code_id);
                outcome.contract_address = one.contract_address.or(outcome.contract_address.take());
            }
            Ok(())
        });
    let gas_used = executor.gas.used();
    let mut layers = lock(&core.layers);
    let (code, log, deliveries) = match result {
        Ok(()) => {
            let tx_layer_deliveries = layers.top_deliveries();
            layers.commit_top();
            (0, String::new(), tx_layer_deliveries)
        }
        Err(e) => {
            layers.discard_top();
            outcome = Outcome::default();
            (e.code(), e.to_string(), Vec::new())
        }
    };
    drop(layers);
    let mut events = vec![crate::events::event(
        "tx",
        [
            crate::events::attr("sender", &body.sender),
            crate::events::attr("sequence", body.sequence.to_string()),
            crate::events::attr("fee", fees::coins_text(&body.fee)),
            crate::events::attr("fee_payer", &body.sender),
        ],
    )];
    events.extend(outcome.events);
    if code != 0 {
        tracing::debug!(target: "runtime::chain", tx = %checked.hash, code, %log, "transaction failed");
    }
    (
        TxResult {
            txhash: checked.hash,
            height,
            index,
            gas_wanted: body.gas_limit,
            outcome: TxOutcome {
                code,
                log,
                gas_used,
                events,
                data: outcome.data,
                code_id: outcome.code_id,
                contract_address: outcome.contract_address,
            },
            deliveries: Vec::new(),
        },
        deliveries,
    )
}

/// Runs one of a transaction's messages.
fn run_msg(executor: &mut Executor<'_>, sender: &str, msg: &Msg) -> Result<Outcome, ExecError> {
    match msg {
        Msg::BankSend { to, amount } => Ok(Outcome {
            events: executor.send(sender, to, amount)?,
            ..Outcome::default()
        }),
        Msg::StoreCode { wasm } => executor.store_code(sender, wasm),
        Msg::Instantiate {
            code_id,
            msg,
            funds,
            label,
            admin,
        } => executor.instantiate(
            sender,
            *code_id,
            msg,
            funds,
            label,
            admin.as_deref(),
            None,
            0,
        ),
        Msg::Instantiate2 {
            code_id,
            msg,
            funds,
            label,
            admin,
            salt,
        } => executor.instantiate(
            sender,
            *code_id,
            msg,
            funds,
            label,
            admin.as_deref(),
            Some(salt.as_slice()),
            0,
        ),
        Msg::Execute {
            contract,
            msg,
            funds,
        } => {
            let mut outcome = executor.execute(sender, contract, msg, funds, 0)?;
            outcome.contract_address = None;
            Ok(outcome)
        }
        Msg::Migrate {
            contract,
            code_id,
            msg,
        } => executor.migrate(sender, contract, *code_id, msg, 0),
        Msg::UpdateAdmin {
            contract,
            new_admin,
        } => executor.set_admin(sender, contract, Some(new_admin)),
        Msg::ClearAdmin { contract } => executor.set_admin(sender, contract, None),
    }
}

/// Applies a block's changes to the committed map.
fn apply(
    mut base: BTreeMap<Vec<u8>, Vec<u8>>,
    changes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
) -> BTreeMap<Vec<u8>, Vec<u8>> {
    for (key, change) in changes {
        match change {
            Some(value) => {
                base.insert(key, value);
            }
            None => {
                base.remove(&key);
            }
        }
    }
    base
}

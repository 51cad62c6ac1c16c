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

/// A transaction of a block decided elsewhere that cannot run: it does not decode, its
/// signature is wrong, or it no longer passes the checks. It still gets a result in the block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedTx {
    /// SHA-256 of its bytes.
    pub hash: TxHash,
    /// Its gas limit, when it decodes (0 otherwise).
    pub gas_wanted: u64,
    /// Why it cannot run.
    pub error: CheckError,
}

impl RefusedTx {
    /// Its result at `index` of the block at `height`: the check's code and message, no gas
    /// used, no events.
    pub fn result(&self, height: u64, index: u32) -> TxResult {
        TxResult {
            txhash: self.hash,
            height,
            index,
            gas_wanted: self.gas_wanted,
            outcome: TxOutcome {
                code: self.error.code(),
                log: self.error.to_string(),
                gas_used: 0,
                events: Vec::new(),
                data: None,
                code_id: None,
                contract_address: None,
            },
            deliveries: Vec::new(),
        }
    }
}

/// One transaction of a block given as bytes: decoded and verified, or refused (boxed: the
/// refusal is rare and larger than the transaction's handle).
pub type DecodedTx = Result<CheckedTx, Box<RefusedTx>>;

impl CheckedTx {
    /// [`CheckedTx::decode`], with a refusal that keeps the hash (for a block's result).
    pub fn decode_for_block(bytes: &[u8]) -> DecodedTx {
        Self::decode(bytes).map_err(|error| {
            Box::new(RefusedTx {
                hash: Tx::hash(bytes),
                gas_wanted: Tx::from_bytes(bytes).map_or(0, |tx| tx.body.gas_limit),
                error,
            })
        })
    }
}

/// A block [`App::finalize_block`] executed and [`App::commit`] has not written yet.
#[derive(Debug, Clone)]
pub struct Finalized {
    /// The state hash after the block (the ABCI app hash).
    pub state_hash: [u8; 32],
    /// One result per transaction given, in order.
    pub results: Vec<TxResult>,
    /// What the block did at its end (completed unbondings and redelegations):
    /// [`Block::events`], for FinalizeBlock's block events.
    pub events: Vec<cosmwasm_std::Event>,
}

/// The finalized block waiting for its commit: what will be written, and what the App becomes.
struct PendingBlock {
    write: BlockWrite,
    block_info: BlockInfo,
    head: Head,
    outcome: BlockOutcome,
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
    /// Transactions left out because they no longer passed the checks, with the reason
    /// ([`App::execute_block`] only: [`App::finalize_block`] gives them a result instead).
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
    /// The block [`App::finalize_block`] executed, until [`App::commit`] writes it.
    pending: Option<PendingBlock>,
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
                    pending: None,
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
            crate::staking::init(&mut l, &genesis.staking)?;
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
            events: Vec::new(),
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
            pending: None,
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
    /// storage error) nothing. The same as [`App::finalize_block`] then [`App::commit`], for a
    /// producer that decides blocks alone (`consign dev`): transactions that no longer pass the
    /// checks are left out of the block and reported in [`BlockOutcome::dropped`].
    ///
    /// # Errors
    /// Only when the chain itself fails (the database); a failing transaction is a result with
    /// a non-zero code.
    pub fn execute_block(
        &mut self,
        txs: Vec<CheckedTx>,
        time: Timestamp,
    ) -> Result<BlockOutcome, ChainError> {
        let height = self.height() + 1;
        self.finalize(height, time, txs.into_iter().map(Ok).collect(), false)?;
        self.commit()
    }

    /// Executes a block decided elsewhere (by CometBFT) without writing it: every transaction
    /// in `txs` gets a result at its position, in [`Finalized::results`], including those that
    /// do not decode or no longer pass the checks (a non-zero code, no state change, recorded
    /// so that looking the hash up agrees with the consensus engine's index). The block waits in
    /// memory until [`App::commit`] writes it; finalizing again before that discards it and
    /// executes the new block instead (the engine restarted and sent the block again).
    ///
    /// Deterministic: the result depends on the committed state, `height`, `time` and `txs`
    /// only. A `time` not after the last block's is moved to 1 ns after it.
    ///
    /// # Errors
    /// [`ChainError::Height`] when `height` is not the next one; a storage error.
    pub fn finalize_block(
        &mut self,
        height: u64,
        time: Timestamp,
        txs: Vec<DecodedTx>,
    ) -> Result<Finalized, ChainError> {
        let expected = self.height() + 1;
        if height != expected {
            return Err(ChainError::Height {
                expected,
                got: height,
            });
        }
        self.finalize(height, time, txs, true)?;
        let pending = self
            .pending
            .as_ref()
            .ok_or_else(|| ChainError::Corrupt("the finalized block went missing".into()))?;
        Ok(Finalized {
            state_hash: pending.head.state_hash,
            results: pending.outcome.results.clone(),
            events: pending.outcome.block.events.clone(),
        })
    }

    /// Whether a block is finalized and waits for [`App::commit`].
    pub fn has_pending_block(&self) -> bool {
        self.pending.is_some()
    }

    /// Executes a block into [`App::pending`]; `record_refused` gives refused transactions a
    /// result in the block (CometBFT's) instead of leaving them out (`consign dev`'s).
    fn finalize(
        &mut self,
        height: u64,
        time: Timestamp,
        txs: Vec<DecodedTx>,
        record_refused: bool,
    ) -> Result<(), ChainError> {
        if self.pending.take().is_some() {
            tracing::info!(target: "runtime::chain", height, "a finalized block was never committed; executing the block sent again");
        }
        let last = self.view.clone();
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
        for decoded in txs {
            // The checks again, on the block's state so far (an earlier transaction may have
            // spent what this one's fee needs); the node's minimum gas price is not the chain's
            // rule, so it is not checked here.
            let checked_again = decoded.and_then(|checked| {
                match check_body(
                    &lock(&self.core.layers),
                    &last.head.chain_id,
                    &checked.tx,
                    checked.bytes.len(),
                    &Pending::default(),
                    None,
                ) {
                    Ok(()) => Ok(checked),
                    Err(error) => Err(Box::new(RefusedTx {
                        hash: checked.hash,
                        gas_wanted: checked.tx.body.gas_limit,
                        error,
                    })),
                }
            });
            let index = u32::try_from(included.len()).unwrap_or(u32::MAX);
            let checked = match checked_again {
                Ok(checked) => checked,
                Err(refused) if record_refused => {
                    included.push(refused.hash);
                    results.push(refused.result(height, index));
                    continue;
                }
                Err(refused) => {
                    let RefusedTx { hash, error, .. } = *refused;
                    dropped.push((hash, error));
                    continue;
                }
            };
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
        // The end of the block: unbondings and redelegations whose time has come complete.
        let end_events = {
            self.core.set_context(TxContext {
                block: block_info.clone(),
                tx: None,
            });
            let mut layers = lock(&self.core.layers);
            match crate::staking::end_block(&mut layers, &block_info) {
                Ok(events) => events,
                Err(e) => {
                    layers.reset(self.committed.clone());
                    return Err(e);
                }
            }
        };
        let block_layer = lock(&self.core.layers).take_all();
        // Nothing of the block stays in the layers until it is committed: queries and the next
        // finalize start from the committed map.
        lock(&self.core.layers).reset(self.committed.clone());
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
            events: end_events,
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
        // A hash seen twice in one block (a proposer's duplicate, refused the second time)
        // keeps its first result: that is the one that ran.
        let mut recorded = std::collections::HashSet::new();
        let write = BlockWrite {
            height,
            block: serde_json::to_vec(&block).unwrap_or_default(),
            txs: results
                .iter()
                .filter(|r| recorded.insert(r.txhash))
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
            changes,
            meta: vec![
                ("height", height.to_be_bytes().to_vec()),
                ("time", time.nanos().to_be_bytes().to_vec()),
                ("last_hash", hash.to_vec()),
                ("state_hash", state_hash.to_vec()),
                ("next_delivery", next_delivery.to_be_bytes().to_vec()),
            ],
        };
        self.pending = Some(PendingBlock {
            write,
            block_info,
            head: Head {
                height,
                last_hash: hash,
                last_time: time,
                state_hash,
                next_delivery,
                ..last.head.clone()
            },
            outcome: BlockOutcome {
                block,
                results,
                deliveries,
                dropped,
            },
        });
        Ok(())
    }

    /// Writes the block [`App::finalize_block`] executed, in one database transaction, and
    /// makes it the committed state that views, queries and the next block read.
    ///
    /// # Errors
    /// When no block is finalized, or the database failed (nothing was written then, and the
    /// finalized block is dropped: finalize it again).
    pub fn commit(&mut self) -> Result<BlockOutcome, ChainError> {
        let pending = self.pending.take().ok_or(ChainError::NothingToCommit {
            height: self.height(),
        })?;
        self.db.commit(&pending.write)?;
        // Readers of the last view (queries, admission) keep its map: the next one is a copy
        // with the block's changes, unless the block changed nothing.
        if !pending.write.changes.is_empty() {
            self.committed = Arc::new(apply((*self.committed).clone(), pending.write.changes));
        }
        lock(&self.core.layers).reset(self.committed.clone());
        let height = pending.head.height;
        self.view = Arc::new(View::new(ViewParts {
            vm: self.core.vm.clone(),
            api: self.core.api.clone(),
            db: self.db.clone(),
            state: self.committed.clone(),
            head: pending.head,
        }));
        self.core.set_context(TxContext {
            block: pending.block_info,
            tx: None,
        });
        let outcome = pending.outcome;
        tracing::debug!(target: "runtime::chain", height, txs = outcome.results.len(), deliveries = outcome.deliveries.len(), "committed block");
        Ok(outcome)
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
        Msg::Delegate { validator, amount } => executor.staking(|layers, block| {
            crate::staking::delegate(layers, block, sender, validator, amount)
        }),
        Msg::Undelegate { validator, amount } => executor.staking(|layers, block| {
            crate::staking::undelegate(layers, block, sender, validator, amount)
        }),
        Msg::Redelegate {
            src_validator,
            dst_validator,
            amount,
        } => executor.staking(|layers, block| {
            crate::staking::redelegate(layers, block, sender, src_validator, dst_validator, amount)
        }),
        Msg::WithdrawRewards { validator } => executor.staking(|layers, block| {
            crate::staking::withdraw_rewards(layers, block, sender, validator)
        }),
        Msg::SetWithdrawAddress { address } => executor
            .staking(|layers, _| crate::staking::set_withdraw_address(layers, sender, address)),
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

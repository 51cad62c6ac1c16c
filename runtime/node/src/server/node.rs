//! [`Node`]: the state machine, the mempool and the block producer, and the channels that
//! announce each committed block.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use consign_chain::{App, ChainError, CheckError, CheckedTx, View};
use consign_client::{Block, NodeStatus, Simulation, Timestamp, Tx, TxHash, TxResult};
use consign_util::size::format_size;
use tokio::sync::{broadcast, oneshot, watch, Notify, Semaphore};
use tokio::time::Instant;

use super::mempool::Mempool;
use super::NODE_TARGET;

/// How the node makes blocks and serves requests.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The interval between empty blocks when no transaction is waiting; zero makes blocks
    /// only when transactions wait. Waiting transactions always get a block at once.
    pub block_time: Duration,
    /// The most transactions in one block; more wait for the next block, made right after.
    pub max_block_txs: usize,
    /// The most gas a block may hold: the sum of its transactions' gas limits. The producer
    /// stops filling a block there, and a transaction asking for more than this alone is
    /// refused at admission.
    pub max_block_gas: u64,
    /// The most transactions pending at once; more are refused until blocks make room.
    pub max_mempool_txs: usize,
    /// The most bytes of transactions waiting for a block at once; more are refused until
    /// blocks make room. The count alone does not bound the memory: one upload may be megabytes.
    pub max_mempool_bytes: u64,
    /// The most transactions one sender may have pending at once; more are refused until its
    /// earlier ones are committed, so no sender can fill the mempool alone.
    pub max_sender_txs: u64,
    /// How long shutdown waits for open requests to finish before closing them.
    pub shutdown_grace: Duration,
    /// The most simulations (`POST /txs/simulate`) running at once. Each runs a transaction
    /// with the most gas one may use and costs its client nothing, so without a cap a flood of
    /// them takes every core and blocking thread from blocks and queries; the default leaves a
    /// core to the rest of the node.
    pub max_simulations: usize,
    /// How long a simulation waits for one of the [`NodeConfig::max_simulations`] before it is
    /// refused (503, try again): a short burst waits its turn, a flood is turned away.
    pub simulation_wait: Duration,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            block_time: Duration::from_secs(5),
            max_block_txs: 5_000,
            max_block_gas: 10_000_000_000,
            max_mempool_txs: 100_000,
            max_mempool_bytes: 256 << 20,
            max_sender_txs: 100,
            shutdown_grace: Duration::from_secs(10),
            max_simulations: std::thread::available_parallelism()
                .map_or(1, |cores| cores.get().saturating_sub(1))
                .max(1),
            simulation_wait: Duration::from_secs(5),
        }
    }
}

/// The node failed and stopped at its last committed block.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The chain failed to execute or commit a block (its storage failed).
    #[error("the chain failed: {0}")]
    Chain(#[from] ChainError),
    /// A task panicked or did not finish.
    #[error("the node failed: {0}")]
    Panicked(String),
}

/// Why a simulation was not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimulationError {
    /// Every one of the [`NodeConfig::max_simulations`] stayed taken for
    /// [`NodeConfig::simulation_wait`].
    #[error(
        "the node is running the most simulations it runs at once ({max}) and none finished \
         within {waited:?}; try again in a moment"
    )]
    Busy {
        /// [`NodeConfig::max_simulations`].
        max: usize,
        /// [`NodeConfig::simulation_wait`].
        waited: Duration,
    },
    /// The node failed.
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// Why a broadcast transaction was not accepted into the mempool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefusalKind {
    /// It failed the chain's checks (decoding, signature, chain id, sequence, gas).
    Check,
    /// The same transaction is already pending.
    Duplicate,
    /// The mempool is full; try again after the next block.
    Full,
    /// The sender has as many transactions pending as the node keeps per sender.
    SenderLimit,
    /// The node is shutting down.
    ShuttingDown,
    /// CometBFT could not be reached or refused it for a reason of its own (network mode).
    Engine,
}

/// A broadcast transaction was refused: it is not pending and will not be committed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{log}")]
pub struct BroadcastError {
    /// The transaction's hash (of the bytes received, even when they do not decode).
    pub txhash: TxHash,
    /// The result code (the chain's check codes, or 19 for a duplicate, 20 for a full mempool
    /// or a sender at its limit, 21 while shutting down).
    pub code: u32,
    /// Why, for people.
    pub log: String,
    /// What kind of refusal it is.
    pub kind: RefusalKind,
}

/// What became of a pending transaction.
#[derive(Debug, Clone)]
pub enum TxOutcome {
    /// It was committed in a block (its code may be non-zero: it failed there).
    Committed(TxResult),
    /// The block left it out: by then it no longer passed the checks.
    Dropped {
        /// The check's code.
        code: u32,
        /// Why.
        log: String,
    },
    /// The chain failed while making the block; the node has stopped.
    Failed(String),
}

/// A committed block and its transactions' results, as announced to event streams.
#[derive(Debug, Clone)]
pub struct Committed {
    /// The block.
    pub block: Block,
    /// Its transactions' results, in order.
    pub results: Vec<TxResult>,
}

/// Who decides the blocks.
#[derive(Debug)]
enum Engine {
    /// `consign dev`: this node's own mempool and block producer.
    Dev,
    /// `consign start`: CometBFT decides blocks and drives the App over ABCI
    /// ([`crate::abci`]); broadcasts go to its mempool through its JSON-RPC at `rpc`, and the
    /// node's mempool keeps only the pending counts of admission and who waits for a commit.
    Comet {
        /// CometBFT's RPC, `http://host:port`.
        rpc: String,
        client: reqwest::Client,
    },
}

/// The node: the state machine behind a mutex (only the block producer takes it), the view of
/// the last committed state that queries and admission read, the mempool, and what announces
/// each block.
pub struct Node {
    engine: Engine,
    /// Why the node stopped by itself, if it failed (a consensus error in network mode).
    failure: Mutex<Option<String>>,
    app: Mutex<App>,
    /// The last committed state: replaced, under the mempool's lock, after each commit.
    view: Mutex<Arc<View>>,
    mempool: Mutex<Mempool>,
    config: NodeConfig,
    /// Woken when a transaction joins the mempool.
    work: Notify,
    /// Each committed block, for `/events`.
    blocks: broadcast::Sender<Arc<Committed>>,
    /// The sequence the next delivery will get: delivery feeds wait on it.
    next_delivery: watch::Sender<u64>,
    /// The status after the last committed block, answered without touching the state machine.
    status: watch::Sender<NodeStatus>,
    /// Set once the node is shutting down (or has failed).
    stop: watch::Sender<bool>,
    /// One permit per simulation allowed to run ([`NodeConfig::max_simulations`]).
    simulations: Arc<Semaphore>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("status", &*self.status.borrow())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock left nothing half-written that the next user could trip
    // over: the App restores its layers at the start of each block.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn status_of(view: &View) -> NodeStatus {
    NodeStatus {
        chain_id: view.chain_id().to_owned(),
        height: view.height(),
        latest_block_hash: view.last_block_hash(),
        latest_block_time: view.last_time(),
        next_delivery_sequence: view.next_delivery_sequence(),
        min_gas_price: view.min_gas_price().clone(),
    }
}

/// The wall clock as a block time (the App keeps block times increasing).
fn now() -> Timestamp {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_nanos(u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX))
}

impl Node {
    /// A node around an opened chain. Nothing runs until [`super::run`] (or
    /// [`Node::produce_blocks`]) is called.
    pub fn new(app: App, config: NodeConfig) -> Arc<Self> {
        Self::with_engine(app, config, Engine::Dev)
    }

    /// A node whose blocks CometBFT decides (`consign start`): no block producer runs, the
    /// ABCI server ([`crate::abci::serve`]) executes and commits blocks through
    /// [`Node::finalize_block`] and [`Node::commit`], and broadcasts are forwarded to
    /// CometBFT's RPC at `rpc` (`http://127.0.0.1:26657`).
    pub fn network(app: App, config: NodeConfig, rpc: String) -> Arc<Self> {
        let client = reqwest::Client::new();
        Self::with_engine(app, config, Engine::Comet { rpc, client })
    }

    fn with_engine(app: App, config: NodeConfig, engine: Engine) -> Arc<Self> {
        let view = app.view();
        let status = status_of(&view);
        let (blocks, _) = broadcast::channel(1024);
        Arc::new(Self {
            engine,
            failure: Mutex::new(None),
            next_delivery: watch::Sender::new(status.next_delivery_sequence),
            status: watch::Sender::new(status),
            app: Mutex::new(app),
            view: Mutex::new(view),
            mempool: Mutex::new(Mempool::default()),
            work: Notify::new(),
            blocks,
            stop: watch::Sender::new(false),
            simulations: Arc::new(Semaphore::new(config.max_simulations.max(1))),
            config,
        })
    }

    /// The node's settings.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// The chain's status after the last committed block.
    pub fn status(&self) -> NodeStatus {
        self.status.borrow().clone()
    }

    /// The last committed state. Holding it never delays a block.
    pub fn view(&self) -> Arc<View> {
        lock(&self.view).clone()
    }

    /// Runs `f` on the last committed state, on tokio's blocking pool; it never waits for the
    /// block being executed.
    ///
    /// # Errors
    ///
    /// [`NodeError::Panicked`] if `f` panicked.
    pub async fn query<T, F>(self: &Arc<Self>, f: F) -> Result<T, NodeError>
    where
        T: Send + 'static,
        F: FnOnce(&View) -> T + Send + 'static,
    {
        let view = self.view();
        tokio::task::spawn_blocking(move || f(&view))
            .await
            .map_err(|e| NodeError::Panicked(e.to_string()))
    }

    /// The account as its next transaction must see it: the committed sequence plus its
    /// pending transactions. The view and the pending count are read together (the producer
    /// changes both under the mempool's lock), so a block committed meanwhile cannot make the
    /// sum count a transaction twice or not at all.
    pub fn next_account(&self, address: &str) -> consign_client::Account {
        let pool = lock(&self.mempool);
        let view = lock(&self.view).clone();
        let pending = pool.pending(address);
        drop(pool);
        let mut account = view.account(address);
        account.sequence += pending;
        account
    }

    /// How many of `address`'s transactions are pending in the mempool.
    pub fn pending(&self, address: &str) -> u64 {
        lock(&self.mempool).pending(address)
    }

    /// Whether this transaction is pending in the mempool.
    pub fn is_pending(&self, hash: &TxHash) -> bool {
        lock(&self.mempool).contains(hash)
    }

    /// Checks a transaction and adds it to the mempool. With `wait`, also returns a receiver
    /// that gets its outcome once the block that includes it is committed.
    ///
    /// # Errors
    ///
    /// Why it was refused.
    pub async fn broadcast(
        self: &Arc<Self>,
        bytes: Vec<u8>,
        wait: bool,
    ) -> Result<(TxHash, Option<oneshot::Receiver<TxOutcome>>), BroadcastError> {
        if let Engine::Comet { rpc, client } = &self.engine {
            return self.forward(rpc, client, bytes, wait).await;
        }
        let node = self.clone();
        let hash = Tx::hash(&bytes);
        tokio::task::spawn_blocking(move || node.admit(bytes, wait))
            .await
            .unwrap_or_else(|e| {
                Err(BroadcastError {
                    txhash: hash,
                    code: 1,
                    log: format!("the node failed while checking the transaction: {e}"),
                    kind: RefusalKind::Check,
                })
            })
    }

    fn admit(
        &self,
        bytes: Vec<u8>,
        wait: bool,
    ) -> Result<(TxHash, Option<oneshot::Receiver<TxOutcome>>), BroadcastError> {
        let txhash = Tx::hash(&bytes);
        let refuse = |code, log: String, kind| BroadcastError {
            txhash,
            code,
            log,
            kind,
        };
        if *self.stop.borrow() {
            return Err(refuse(
                21,
                "the node is shutting down; send the transaction again once it is back".into(),
                RefusalKind::ShuttingDown,
            ));
        }
        // Decoding and the signature check (the expensive part) need no state: they run before
        // taking any lock, so broadcasts are checked on every core while a block executes.
        let checked = CheckedTx::decode(&bytes)
            .map_err(|e: CheckError| refuse(e.code(), e.to_string(), RefusalKind::Check))?;
        // Admission reads the committed view, never the state machine, so it does not wait for
        // the block in progress. The view and the pending counts change together, under the
        // mempool's lock (the producer swaps the view while it holds it).
        let mut pool = lock(&self.mempool);
        if pool.contains(&txhash) {
            return Err(refuse(
                19,
                format!("transaction {txhash} is already in the mempool"),
                RefusalKind::Duplicate,
            ));
        }
        if pool.pending_total() >= self.config.max_mempool_txs {
            return Err(refuse(
                20,
                format!(
                    "the mempool is full ({} transactions pending); send it again after the next block",
                    pool.pending_total()
                ),
                RefusalKind::Full,
            ));
        }
        let size = checked.bytes.len() as u64;
        if pool.waiting_bytes().saturating_add(size) > self.config.max_mempool_bytes {
            return Err(refuse(
                20,
                format!(
                    "the mempool is full ({} of transactions waiting, and this one is {}; the node keeps at most {}); send it again after the next block",
                    format_size(pool.waiting_bytes()),
                    format_size(size),
                    format_size(self.config.max_mempool_bytes)
                ),
                RefusalKind::Full,
            ));
        }
        self.check_admissible(&pool, &checked)?;
        let receiver = wait.then(|| pool.wait_for(txhash));
        pool.push(checked);
        drop(pool);
        self.work.notify_one();
        tracing::trace!(target: NODE_TARGET, tx = %txhash, "accepted into the mempool");
        Ok((txhash, receiver))
    }

    /// Whether CometBFT decides this node's blocks (`consign start`).
    pub fn is_network(&self) -> bool {
        matches!(self.engine, Engine::Comet { .. })
    }

    /// Network mode's broadcast: CometBFT's `broadcast_tx_sync` runs our CheckTx and answers
    /// with its code; with `wait`, the receiver gets the result when our own commit of the
    /// block that includes it happens (registered before sending, so no commit is missed).
    async fn forward(
        &self,
        rpc: &str,
        client: &reqwest::Client,
        bytes: Vec<u8>,
        wait: bool,
    ) -> Result<(TxHash, Option<oneshot::Receiver<TxOutcome>>), BroadcastError> {
        use base64::Engine as _;
        let txhash = Tx::hash(&bytes);
        if self.is_stopping() {
            return Err(BroadcastError {
                txhash,
                code: 21,
                log: "the node is shutting down; send the transaction again once it is back".into(),
                kind: RefusalKind::ShuttingDown,
            });
        }
        let receiver = wait.then(|| lock(&self.mempool).wait_for(txhash));
        let request = serde_json::json!({
            "jsonrpc": "2.0",
            "id": 1,
            "method": "broadcast_tx_sync",
            "params": { "tx": base64::engine::general_purpose::STANDARD.encode(&bytes) },
        });
        let answer = async {
            let response = client
                .post(rpc)
                .json(&request)
                .send()
                .await
                .map_err(|e| format!("cannot reach CometBFT's RPC at {rpc}: {e}"))?;
            response.json::<serde_json::Value>().await.map_err(|e| {
                format!("CometBFT's RPC at {rpc} answered something else than JSON-RPC: {e}")
            })
        }
        .await;
        let refusal = match answer {
            Err(log) => Some((1, log, RefusalKind::Engine)),
            Ok(reply) => match (reply.get("result"), reply.get("error")) {
                (Some(result), _) => {
                    let code = result
                        .get("code")
                        .and_then(serde_json::Value::as_u64)
                        .unwrap_or(0);
                    let log = result
                        .get("log")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    match u32::try_from(code) {
                        Ok(0) => None,
                        Ok(20) => Some((20, log, RefusalKind::SenderLimit)),
                        Ok(code) => Some((code, log, RefusalKind::Check)),
                        Err(_) => Some((1, log, RefusalKind::Check)),
                    }
                }
                (None, Some(error)) => {
                    let text = error
                        .get("data")
                        .and_then(serde_json::Value::as_str)
                        .or_else(|| error.get("message").and_then(serde_json::Value::as_str))
                        .unwrap_or("CometBFT refused the transaction")
                        .to_owned();
                    Some(if text.contains("already exists in cache") {
                        (
                            19,
                            format!("transaction {txhash} is already pending: {text}"),
                            RefusalKind::Duplicate,
                        )
                    } else if text.contains("mempool is full") {
                        (20, format!("CometBFT's mempool is full; try again after the next block: {text}"), RefusalKind::Full)
                    } else {
                        (
                            1,
                            format!("CometBFT refused the transaction: {text}"),
                            RefusalKind::Engine,
                        )
                    })
                }
                (None, None) => Some((
                    1,
                    format!("CometBFT's RPC at {rpc} answered neither a result nor an error"),
                    RefusalKind::Engine,
                )),
            },
        };
        if let Some((code, log, kind)) = refusal {
            lock(&self.mempool).forget_waiters(&txhash);
            return Err(BroadcastError {
                txhash,
                code,
                log,
                kind,
            });
        }
        tracing::trace!(target: NODE_TARGET, tx = %txhash, "forwarded to CometBFT's mempool");
        Ok((txhash, receiver))
    }

    /// Network mode's admission (CometBFT's CheckTx): the per-sender cap, then
    /// [`View::admit`] on the committed state with the sender's transactions already admitted
    /// since the last commit counted; on success they count this one too. CometBFT rechecks its
    /// whole mempool after each commit, in order, which rebuilds the counts [`Node::commit`]
    /// clears.
    ///
    /// # Errors
    ///
    /// Why it is refused.
    pub fn admit_checked(&self, checked: &CheckedTx) -> Result<(), BroadcastError> {
        let mut pool = lock(&self.mempool);
        self.check_admissible(&pool, checked)?;
        pool.count_pending(&checked.tx.body.sender, &checked.tx.body.fee);
        Ok(())
    }

    /// Network mode: CometBFT's recheck after a commit refused this transaction (another one
    /// of its sender took its sequence in the block, or it can no longer pay), so CometBFT
    /// drops it from its mempool. Whoever waits for its commit (`mode=commit`) is told now,
    /// with the check's reason, instead of at the end of their timeout: a signer can sign
    /// again at once.
    pub fn dropped_at_recheck(&self, hash: &TxHash, code: u32, log: &str) {
        let height = self.status.borrow().height;
        lock(&self.mempool).notify(hash, || TxOutcome::Dropped {
            code,
            log: format!("dropped from the mempool after block {height}: {log}"),
        });
    }

    /// What both admissions (the dev mempool's and CometBFT's CheckTx) check of a decoded
    /// transaction: its gas limit against a block's, the cap on its sender's pending
    /// transactions, then the stateful checks (sequence, fees) against the committed view with
    /// what the sender already has pending. `pool` is the locked mempool, so the view and the
    /// pending counts are read together.
    fn check_admissible(&self, pool: &Mempool, checked: &CheckedTx) -> Result<(), BroadcastError> {
        let refuse = |code, log: String, kind| BroadcastError {
            txhash: checked.hash,
            code,
            log,
            kind,
        };
        let gas_limit = checked.tx.body.gas_limit;
        if gas_limit > self.config.max_block_gas {
            let e = CheckError::GasTooHigh {
                limit: gas_limit,
                max: self.config.max_block_gas,
            };
            return Err(refuse(
                e.code(),
                format!("{e} a block may hold; lower the gas limit"),
                RefusalKind::Check,
            ));
        }
        let sender = &checked.tx.body.sender;
        let pending = pool.pending_of(sender);
        if pending.count >= self.config.max_sender_txs {
            return Err(refuse(
                20,
                format!(
                    "{sender} already has {} transactions pending, the most this node keeps per sender; send more once they are committed",
                    pending.count
                ),
                RefusalKind::SenderLimit,
            ));
        }
        let view = lock(&self.view).clone();
        view.admit(checked, &pending)
            .map_err(|e: CheckError| refuse(e.code(), e.to_string(), RefusalKind::Check))
    }

    /// Network mode: executes a block CometBFT decided, without writing it
    /// ([`App::finalize_block`]).
    ///
    /// # Errors
    ///
    /// When the block is not the next one or the chain failed.
    pub fn finalize_block(
        &self,
        height: u64,
        time: Timestamp,
        txs: Vec<consign_chain::DecodedTx>,
    ) -> Result<consign_chain::Finalized, NodeError> {
        Ok(lock(&self.app).finalize_block(height, time, txs)?)
    }

    /// Network mode: writes the finalized block ([`App::commit`]), then, as the dev producer
    /// does after each block, swaps the view, tells who waits for its transactions, and
    /// announces it. Clears the pending counts of admission: CometBFT's recheck rebuilds them.
    ///
    /// # Errors
    ///
    /// When nothing was finalized or the database failed.
    pub fn commit(&self) -> Result<(), NodeError> {
        let started = std::time::Instant::now();
        let mut app = lock(&self.app);
        let outcome = app.commit()?;
        let view = app.view();
        drop(app);
        let mut pool = lock(&self.mempool);
        *lock(&self.view) = view.clone();
        pool.clear_counts();
        for result in &outcome.results {
            pool.notify(&result.txhash, || TxOutcome::Committed(result.clone()));
        }
        drop(pool);
        let committed = self.announce(&view, outcome, started);
        let _ = self.blocks.send(committed);
        Ok(())
    }

    /// Stops the node because it failed, keeping why for [`Node::failure`].
    pub fn fail(&self, why: String) {
        tracing::error!(target: NODE_TARGET, error = %why, "the node failed");
        lock(&self.failure).get_or_insert(why);
        self.stop();
    }

    /// Why the node stopped by itself, if it failed.
    pub fn failure(&self) -> Option<String> {
        lock(&self.failure).clone()
    }

    /// The most gas a simulation may use: what one transaction may ask for, and no more than a
    /// block holds.
    pub fn max_simulation_gas(&self) -> u64 {
        consign_chain::gas::MAX_TX_GAS.min(self.config.max_block_gas)
    }

    /// Runs a transaction against the last committed state without committing anything
    /// ([`View::simulate`]), on the blocking pool like a query, with the sender's pending
    /// transactions counted as admission counts them and the gas bounded by
    /// [`Node::max_simulation_gas`]. At most [`NodeConfig::max_simulations`] run at once; a
    /// simulation waits for its turn at most [`NodeConfig::simulation_wait`].
    ///
    /// # Errors
    ///
    /// [`SimulationError::Busy`] if no turn came in time, [`SimulationError::Node`] if the
    /// simulation panicked; the inner error is the check that refused the transaction.
    pub async fn simulate(
        self: &Arc<Self>,
        bytes: Vec<u8>,
    ) -> Result<Result<Simulation, CheckError>, SimulationError> {
        let sender = match Tx::from_bytes(&bytes) {
            Ok(tx) => tx.body.sender,
            Err(e) => return Ok(Err(CheckError::Tx(e.to_string()))),
        };
        let waited = self.config.simulation_wait;
        let turn = tokio::time::timeout(waited, self.simulations.clone().acquire_owned()).await;
        // The semaphore is never closed, so only the wait can fail.
        let Ok(Ok(permit)) = turn else {
            return Err(SimulationError::Busy {
                max: self.config.max_simulations,
                waited,
            });
        };
        // Read once its turn came, as in admission: the view and the pending counts together.
        let (view, pending) = {
            let pool = lock(&self.mempool);
            let view = lock(&self.view).clone();
            (view, pool.pending_of(&sender))
        };
        let gas_cap = self.max_simulation_gas();
        // The permit goes with the work, not the request: a client that hangs up does not free
        // the turn of a simulation still running.
        tokio::task::spawn_blocking(move || {
            let simulated = view.simulate(&bytes, &pending, gas_cap, now());
            drop(permit);
            simulated
        })
        .await
        .map_err(|e| NodeError::Panicked(e.to_string()).into())
    }

    /// Subscribes to committed blocks.
    pub fn subscribe_blocks(&self) -> broadcast::Receiver<Arc<Committed>> {
        self.blocks.subscribe()
    }

    /// Watches the sequence the next delivery instruction will get: it changes after each
    /// block that recorded deliveries.
    pub fn watch_deliveries(&self) -> watch::Receiver<u64> {
        self.next_delivery.subscribe()
    }

    /// Tells the node to stop: the producer finishes its block, commits what is waiting and
    /// returns; new transactions are refused; event streams end.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// Whether [`Node::stop`] was called (or the node failed).
    pub fn is_stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Completes once the node is stopping.
    pub async fn stopped(&self) {
        let mut rx = self.stop.subscribe();
        // The sender lives in `self`, so this only ends once the flag is set.
        let _ = rx.wait_for(|stopping| *stopping).await;
    }

    /// The block producer: makes a block at once whenever transactions wait, otherwise an
    /// empty block every [`NodeConfig::block_time`] (never, if it is zero). After
    /// [`Node::stop`] it commits what is still waiting and returns.
    ///
    /// # Errors
    ///
    /// When a block could not be committed; the node is then stopped.
    pub async fn produce_blocks(self: Arc<Self>) -> Result<(), NodeError> {
        let result = self.produce_until_stopped().await;
        if let Err(e) = &result {
            tracing::error!(target: NODE_TARGET, error = %e, "block production stopped");
        }
        self.stop();
        result
    }

    async fn produce_until_stopped(self: &Arc<Self>) -> Result<(), NodeError> {
        let block_time = self.config.block_time;
        let mut stop = self.stop.subscribe();
        let mut next_empty = Instant::now() + block_time;
        loop {
            if *stop.borrow_and_update() {
                break;
            }
            if lock(&self.mempool).waiting() == 0 {
                let timer = async {
                    if block_time.is_zero() {
                        std::future::pending::<()>().await;
                    } else {
                        tokio::time::sleep_until(next_empty).await;
                    }
                };
                tokio::select! {
                    () = self.work.notified() => continue,
                    _ = stop.changed() => continue,
                    () = timer => {}
                }
            }
            self.make_block().await?;
            next_empty = Instant::now() + block_time;
        }
        // Commit what was accepted before the stop, so no accepted transaction is lost.
        while lock(&self.mempool).waiting() > 0 {
            self.make_block().await?;
        }
        Ok(())
    }

    async fn make_block(self: &Arc<Self>) -> Result<(), NodeError> {
        let node = self.clone();
        let committed = tokio::task::spawn_blocking(move || node.execute_block())
            .await
            .map_err(|e| NodeError::Panicked(format!("executing a block: {e}")))??;
        // No receiver (nobody on /events) is fine.
        let _ = self.blocks.send(committed);
        Ok(())
    }

    /// Executes and commits a block of the waiting transactions (blocking).
    fn execute_block(&self) -> Result<Arc<Committed>, NodeError> {
        let txs = lock(&self.mempool).take(self.config.max_block_txs, self.config.max_block_gas);
        let taken: Vec<(TxHash, String, Vec<consign_client::Coin>)> = txs
            .iter()
            .map(|c| (c.hash, c.tx.body.sender.clone(), c.tx.body.fee.clone()))
            .collect();
        let mut app = lock(&self.app);
        let started = std::time::Instant::now();
        let outcome = match app.execute_block(txs, now()) {
            Ok(outcome) => outcome,
            Err(e) => {
                let mut pool = lock(&self.mempool);
                let reason = format!("the chain failed while committing the block: {e}");
                for (hash, sender, fee) in &taken {
                    pool.finish(hash, sender, fee, || TxOutcome::Failed(reason.clone()));
                }
                return Err(e.into());
            }
        };
        let view = app.view();
        drop(app);
        // The new view and the pending counts change together, under the mempool's lock, so a
        // check never sees the new state with the old pending counts.
        let mut pool = lock(&self.mempool);
        // Before anyone waiting for a commit is told: whoever learns of the commit then reads
        // the state that has it.
        *lock(&self.view) = view.clone();
        let mut results = outcome.results.iter();
        let mut next_result = results.next();
        for (hash, sender, fee) in &taken {
            if let Some(result) = next_result.filter(|r| r.txhash == *hash) {
                pool.finish(hash, sender, fee, || TxOutcome::Committed(result.clone()));
                next_result = results.next();
            } else if let Some((_, why)) = outcome.dropped.iter().find(|(h, _)| h == hash) {
                pool.finish(hash, sender, fee, || TxOutcome::Dropped {
                    code: why.code(),
                    log: format!("dropped from block {}: {why}", outcome.block.header.height),
                });
            } else {
                pool.finish(hash, sender, fee, || {
                    TxOutcome::Failed("the block neither included nor dropped it".into())
                });
            }
        }
        drop(pool);
        Ok(self.announce(&view, outcome, started))
    }

    /// After a commit: logs the block, moves the delivery watch and the status on, and makes
    /// the announcement for `/events`.
    fn announce(
        &self,
        view: &View,
        outcome: consign_chain::BlockOutcome,
        started: std::time::Instant,
    ) -> Arc<Committed> {
        let status = status_of(view);
        let height = outcome.block.header.height;
        let txs = outcome.results.len();
        if txs > 0 || !outcome.dropped.is_empty() {
            tracing::info!(
                target: NODE_TARGET,
                height,
                txs,
                dropped = outcome.dropped.len(),
                deliveries = outcome.deliveries.len(),
                elapsed = ?started.elapsed(),
                "committed block"
            );
        } else {
            tracing::debug!(target: NODE_TARGET, height, "committed empty block");
        }
        self.next_delivery.send_if_modified(|next| {
            let changed = *next != status.next_delivery_sequence;
            *next = status.next_delivery_sequence;
            changed
        });
        self.status.send_replace(status);
        Arc::new(Committed {
            block: outcome.block,
            results: outcome.results,
        })
    }
}

#[cfg(test)]
mod tests {
    use consign_chain::{AppConfig, Genesis};

    use super::*;

    #[test]
    fn a_transaction_dropped_at_recheck_answers_its_waiter_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let genesis = Genesis {
            chain_id: "recheck-test".into(),
            genesis_time: Timestamp::from_seconds(1_700_000_000),
            accounts: Vec::new(),
            max_block_gas: None,
            staking: Default::default(),
        };
        let app = App::open(AppConfig::new(dir.path()), Some(&genesis)).unwrap();
        let node = Node::network(app, NodeConfig::default(), "http://127.0.0.1:9".into());
        let hash = Tx::hash(b"a transaction");
        let mut waiter = lock(&node.mempool).wait_for(hash);
        let log = "sequence mismatch for consign1x: expected 4, got 3 (a replayed or already used transaction)";
        node.dropped_at_recheck(&hash, 32, log);
        match waiter.try_recv() {
            Ok(TxOutcome::Dropped { code, log: told }) => {
                assert_eq!(code, 32);
                assert!(
                    told.starts_with("dropped from the mempool after block 0: "),
                    "{told}"
                );
                let mismatch = consign_client::SequenceMismatch::find(&told);
                assert_eq!(mismatch.map(|m| m.expected), Some(4), "{told}");
            }
            other => panic!("the waiter was not told: {other:?}"),
        }
        // Another transaction's waiter is left alone.
        let other = Tx::hash(b"another");
        let mut waiting = lock(&node.mempool).wait_for(other);
        node.dropped_at_recheck(&hash, 32, log);
        assert!(waiting.try_recv().is_err());
    }
}

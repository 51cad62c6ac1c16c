//! The ABCI 2.0 application CometBFT v0.38 drives (`consign start`), served with tower-abci on
//! a Unix socket: the four connections (consensus, mempool, info, snapshot) as tower services
//! over one [`Node`].
//!
//! | ABCI | here | deterministic? |
//! |---|---|---|
//! | `Info` | the committed height and state hash (the handshake replays blocks after it) | yes |
//! | `InitChain` | compares CometBFT's genesis with the one the chain was created from | yes |
//! | `CheckTx` | signature (cached), then [`Node::admit_checked`]; recheck uses the cache, and a transaction it refuses is dropped ([`Node::dropped_at_recheck`]) | no: node policy |
//! | `PrepareProposal` / `ProcessProposal` | the same [`select`] on the committed state | yes |
//! | `FinalizeBlock` | [`Node::finalize_block`]: execute, state hash, no write | yes |
//! | `Commit` | [`Node::commit`]: one redb write, then the view swap | yes |
//! | `Query` | a few read paths of the committed state, as JSON | - |
//! | snapshots | none offered, every offer refused (state sync is off) | - |
//!
//! A request the app cannot serve (a block at the wrong height, a failed write) is fatal: the
//! node records why ([`Node::fail`]) and stops, and `consign start` stops CometBFT and fails with that reason.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use consign_chain::{CheckedTx, DecodedTx, Genesis, Pending, View};
use consign_client::{Timestamp, TxHash};
use tendermint::abci::types::ExecTxResult;
use tendermint::abci::{Code, Event, EventAttributeIndexExt as _};
use tendermint::v0_38::abci::request::{self, CheckTxKind};
use tendermint::v0_38::abci::response;
use tendermint::v0_38::abci::{
    ConsensusRequest, ConsensusResponse, InfoRequest, InfoResponse, MempoolRequest,
    MempoolResponse, SnapshotRequest, SnapshotResponse,
};
use tendermint::AppHash;
use tower_abci::BoxError;

use crate::server::Node;

/// Log target of the ABCI server.
const TARGET: &str = "runtime::abci";

/// How many decoded transactions the signature cache keeps (CheckTx fills it; recheck,
/// proposals and FinalizeBlock read it; a commit removes what it included).
const CACHE_SIZE: usize = 50_000;

/// The codespace of our CheckTx and FinalizeBlock codes.
const CODESPACE: &str = "consign";

/// The decoded, signature-checked transactions, by hash, oldest evicted first.
#[derive(Default)]
struct SigCache {
    txs: HashMap<TxHash, CheckedTx>,
    order: VecDeque<TxHash>,
}

impl SigCache {
    fn get_or_decode(&mut self, bytes: &[u8]) -> DecodedTx {
        let hash = consign_client::Tx::hash(bytes);
        if let Some(checked) = self.txs.get(&hash) {
            return Ok(checked.clone());
        }
        let decoded = CheckedTx::decode_for_block(bytes)?;
        self.insert(decoded.clone());
        Ok(decoded)
    }

    fn insert(&mut self, checked: CheckedTx) {
        if self.txs.insert(checked.hash, checked.clone()).is_none() {
            self.order.push_back(checked.hash);
        }
        while self.order.len() > CACHE_SIZE {
            if let Some(old) = self.order.pop_front() {
                self.txs.remove(&old);
            }
        }
    }

    fn remove(&mut self, hash: &TxHash) {
        self.txs.remove(hash);
    }
}

/// The application: the node, its block limit and the signature cache.
struct Abci {
    node: Arc<Node>,
    /// The genesis the chain was created from: InitChain must agree with it.
    genesis: Genesis,
    max_block_gas: u64,
    cache: Mutex<SigCache>,
    /// A fault a test asked for (`CONSIGN_TEST_FAULT`, debug builds only).
    #[cfg(debug_assertions)]
    fault: Option<crate::fault::Fault>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A block time from CometBFT's.
fn timestamp(time: tendermint::Time) -> Timestamp {
    let nanos = time.unix_timestamp_nanos();
    Timestamp::from_nanos(u64::try_from(nanos).unwrap_or(0))
}

fn height_of(height: tendermint::block::Height) -> u64 {
    height.value()
}

fn app_hash(view: &View) -> AppHash {
    // 32 bytes always convert.
    AppHash::try_from(view.state_hash_bytes().to_vec()).unwrap_or_default()
}

/// Which transactions of a proposal the block can run, judged on the committed state alone
/// (so every validator gets the same answer): each decodes with a valid signature, passes the
/// block's checks with the earlier ones of its sender counted, and all together stay within
/// `max_gas` and `max_bytes`. Returns the indexes kept and why each other one was left out.
fn select(
    view: &View,
    txs: &[DecodedTx],
    max_gas: u64,
    max_bytes: Option<u64>,
) -> (Vec<usize>, Vec<(usize, String)>) {
    let mut kept = Vec::with_capacity(txs.len());
    let mut left_out = Vec::new();
    let mut pending: HashMap<&str, Pending> = HashMap::new();
    let (mut gas, mut size) = (0u64, 0u64);
    for (i, tx) in txs.iter().enumerate() {
        let checked = match tx {
            Ok(checked) => checked,
            Err(refused) => {
                left_out.push((i, format!("{}: {}", refused.hash, refused.error)));
                continue;
            }
        };
        let body = &checked.tx.body;
        let sender_pending = pending.entry(body.sender.as_str()).or_default();
        if let Err(e) = view.check_in_block(checked, sender_pending) {
            left_out.push((i, format!("{}: {e}", checked.hash)));
            continue;
        }
        let next_gas = gas.saturating_add(body.gas_limit);
        let next_size = size.saturating_add(u64::try_from(checked.bytes.len()).unwrap_or(u64::MAX));
        if next_gas > max_gas || max_bytes.is_some_and(|max| next_size > max) {
            left_out.push((
                i,
                format!(
                    "{}: the block is full ({next_gas} gas of at most {max_gas})",
                    checked.hash
                ),
            ));
            continue;
        }
        sender_pending.add(&body.fee);
        gas = next_gas;
        size = next_size;
        kept.push(i);
    }
    (kept, left_out)
}

/// What differs between the genesis the chain was created from (`ours`) and the one CometBFT
/// sends in InitChain, field by field, compared parsed (CometBFT re-serialises `app_state`
/// between runs, so its bytes change while its meaning does not).
fn genesis_differences(ours: &Genesis, offered: &Genesis) -> Vec<String> {
    let mut differences = Vec::new();
    if offered.chain_id != ours.chain_id {
        differences.push(format!(
            "chain_id: CometBFT's genesis is for {:?}, this chain is {:?}",
            offered.chain_id, ours.chain_id
        ));
    }
    if offered.genesis_time != ours.genesis_time {
        differences.push(format!(
            "genesis_time: CometBFT's is {}, this chain's is {}",
            offered.genesis_time, ours.genesis_time
        ));
    }
    if offered.accounts != ours.accounts {
        differences.push("app_state.accounts differ".into());
    }
    if offered.staking != ours.staking {
        differences.push("app_state.staking differs".into());
    }
    if offered.max_block_gas != ours.max_block_gas {
        differences.push(format!(
            "consensus_params.block.max_gas: CometBFT's is {:?}, this chain's is {:?}",
            offered.max_block_gas, ours.max_block_gas
        ));
    }
    differences
}

/// An event in CometBFT's form, its attributes indexed.
fn abci_event(event: &consign_client::Event) -> Event {
    Event::new(
        event.ty.clone(),
        event
            .attributes
            .iter()
            .map(|a| (a.key.clone(), a.value.clone()).index()),
    )
}

/// One transaction's result as CometBFT records it. Code, data, gas wanted and gas used go
/// into the next block's `LastResultsHash`, so they are deterministic; the log is not hashed.
fn exec_result(result: &consign_client::TxResult) -> ExecTxResult {
    let events = result.events.iter().map(abci_event).collect();
    ExecTxResult {
        code: Code::from(result.code),
        data: result
            .data
            .as_ref()
            .map(|d| Bytes::from(d.to_vec()))
            .unwrap_or_default(),
        log: result.log.clone(),
        info: String::new(),
        gas_wanted: i64::try_from(result.gas_wanted).unwrap_or(i64::MAX),
        gas_used: i64::try_from(result.gas_used).unwrap_or(i64::MAX),
        events,
        codespace: if result.code == 0 {
            String::new()
        } else {
            CODESPACE.into()
        },
    }
}

impl Abci {
    fn decode_all(&self, txs: &[Bytes]) -> Vec<DecodedTx> {
        let mut cache = lock(&self.cache);
        txs.iter().map(|tx| cache.get_or_decode(tx)).collect()
    }

    fn init_chain(&self, req: request::InitChain) -> Result<response::InitChain, String> {
        let view = self.node.view();
        let app_state: crate::cometbft::AppState = serde_json::from_slice(&req.app_state_bytes)
            .map_err(|e| format!("CometBFT's genesis app_state is not Consign's: {e}"))?;
        let offered = Genesis {
            chain_id: req.chain_id.clone(),
            genesis_time: timestamp(req.time),
            accounts: app_state.accounts,
            max_block_gas: u64::try_from(req.consensus_params.block.max_gas).ok(),
            staking: app_state.staking,
        };
        let differences = genesis_differences(&self.genesis, &offered);
        if !differences.is_empty() {
            return Err(format!(
                "CometBFT's genesis is not the one this chain was created from: {}",
                differences.join("; ")
            ));
        }
        if view.height() != 0 {
            return Err(format!(
                "CometBFT asked to start the chain, but it is already at height {}: CometBFT's data directory was reset while the chain's was kept",
                view.height()
            ));
        }
        tracing::info!(target: TARGET, chain_id = %req.chain_id, "InitChain: the genesis matches");
        Ok(response::InitChain {
            consensus_params: None,
            validators: Vec::new(),
            app_hash: app_hash(&view),
        })
    }

    fn prepare_proposal(&self, req: request::PrepareProposal) -> response::PrepareProposal {
        let decoded = self.decode_all(&req.txs);
        let max_bytes = u64::try_from(req.max_tx_bytes).ok();
        let (kept, left_out) = select(&self.node.view(), &decoded, self.max_block_gas, max_bytes);
        for (_, why) in &left_out {
            tracing::debug!(target: TARGET, height = height_of(req.height), %why, "left out of the proposal");
        }
        let mut txs = req.txs;
        let keep: std::collections::HashSet<usize> = kept.into_iter().collect();
        let mut i = 0;
        txs.retain(|_| {
            let k = keep.contains(&i);
            i += 1;
            k
        });
        #[cfg(debug_assertions)]
        if self.fault == Some(crate::fault::Fault::BadProposal) {
            tracing::warn!(target: TARGET, height = height_of(req.height), "test fault: proposing a transaction with a bad signature");
            txs.push(crate::fault::bad_tx(self.node.view().chain_id()));
        }
        response::PrepareProposal { txs }
    }

    fn process_proposal(&self, req: request::ProcessProposal) -> response::ProcessProposal {
        let decoded = self.decode_all(&req.txs);
        let (_, left_out) = select(&self.node.view(), &decoded, self.max_block_gas, None);
        match left_out.first() {
            None => response::ProcessProposal::Accept,
            Some((index, why)) => {
                tracing::warn!(target: TARGET, height = height_of(req.height), index, %why, "rejecting a proposed block: a transaction in it cannot run");
                response::ProcessProposal::Reject
            }
        }
    }

    fn finalize_block(
        &self,
        req: request::FinalizeBlock,
    ) -> Result<response::FinalizeBlock, String> {
        let height = height_of(req.height);
        let decoded = self.decode_all(&req.txs);
        let finalized = self
            .node
            .finalize_block(height, timestamp(req.time), decoded)
            .map_err(|e| format!("FinalizeBlock {height}: {e}"))?;
        let tx_results = finalized.results.iter().map(exec_result).collect();
        let events = finalized.events.iter().map(abci_event).collect();
        let hash = finalized.state_hash.to_vec();
        #[cfg(debug_assertions)]
        let hash = if self.fault == Some(crate::fault::Fault::NondeterministicHash) {
            tracing::warn!(target: TARGET, height, "test fault: reporting an app hash mixed with the wall clock");
            crate::fault::clock_mixed(&hash)
        } else {
            hash
        };
        Ok(response::FinalizeBlock {
            events,
            tx_results,
            validator_updates: Vec::new(),
            consensus_param_updates: None,
            app_hash: AppHash::try_from(hash).unwrap_or_default(),
        })
    }

    fn commit(&self) -> Result<response::Commit, String> {
        self.node.commit().map_err(|e| format!("Commit: {e}"))?;
        let view = self.node.view();
        if let Ok(Some(block)) = view.block(view.height()) {
            let mut cache = lock(&self.cache);
            for hash in &block.txs {
                cache.remove(hash);
            }
        }
        Ok(response::Commit {
            data: Bytes::new(),
            // Keep every block: a node restarted from an older state replays them.
            retain_height: 0u32.into(),
        })
    }

    fn check_tx(&self, req: request::CheckTx) -> response::CheckTx {
        let decoded = match req.kind {
            CheckTxKind::New => {
                let decoded = CheckedTx::decode_for_block(&req.tx);
                if let Ok(checked) = &decoded {
                    lock(&self.cache).insert(checked.clone());
                }
                decoded
            }
            CheckTxKind::Recheck => lock(&self.cache).get_or_decode(&req.tx),
        };
        let refused = |code: u32, log: String, gas_wanted: u64| response::CheckTx {
            code: Code::from(code),
            log,
            gas_wanted: i64::try_from(gas_wanted).unwrap_or(i64::MAX),
            codespace: CODESPACE.into(),
            ..Default::default()
        };
        let checked = match decoded {
            Ok(checked) => checked,
            Err(refusal) => {
                return refused(
                    refusal.error.code(),
                    refusal.error.to_string(),
                    refusal.gas_wanted,
                )
            }
        };
        let gas_wanted = checked.tx.body.gas_limit;
        match self.node.admit_checked(&checked) {
            Ok(()) => response::CheckTx {
                gas_wanted: i64::try_from(gas_wanted).unwrap_or(i64::MAX),
                ..Default::default()
            },
            Err(e) => {
                if matches!(req.kind, CheckTxKind::Recheck) {
                    lock(&self.cache).remove(&checked.hash);
                    // CometBFT removes it from its mempool: it will not be committed.
                    self.node.dropped_at_recheck(&checked.hash, e.code, &e.log);
                }
                refused(e.code, e.log, gas_wanted)
            }
        }
    }

    fn info(&self) -> response::Info {
        let view = self.node.view();
        response::Info {
            data: "consign".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            app_version: 1,
            last_block_height: tendermint::block::Height::try_from(view.height())
                .unwrap_or_default(),
            last_block_app_hash: app_hash(&view),
        }
    }

    fn query(&self, req: request::Query) -> response::Query {
        let view = self.node.view();
        let height = view.height();
        let fail = |log: String| response::Query {
            code: Code::from(1),
            log,
            codespace: CODESPACE.into(),
            ..Default::default()
        };
        if req.prove {
            return fail("proofs are not available: the state hash is a hash chain of the blocks' changes, not a Merkle tree".into());
        }
        let asked = height_of(req.height);
        if asked != 0 && asked != height {
            return fail(format!(
                "only the latest height ({height}) can be queried, not {asked}"
            ));
        }
        let path = req.path.trim_start_matches('/');
        let parts: Vec<&str> = path.splitn(3, '/').collect();
        let value = match parts.as_slice() {
            ["consign", "status"] => serde_json::to_vec(&self.node.status()).map_err(|e| e.to_string()),
            ["consign", "balances", address] => view
                .balances(address)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::to_vec(&b).map_err(|e| e.to_string())),
            ["consign", "account", address] => {
                serde_json::to_vec(&view.account(address)).map_err(|e| e.to_string())
            }
            ["consign", "smart", contract] => view
                .smart_query(contract, &req.data, self.node.max_simulation_gas())
                .map(|b| b.to_vec())
                .map_err(|e| e.to_string()),
            ["consign", "block", which] => {
                let wanted = match *which {
                    "latest" => Ok(height),
                    number => number
                        .parse::<u64>()
                        .map_err(|_| format!("{number:?} is not a block height: give a number or `latest`")),
                };
                wanted.and_then(|wanted| match view.block(wanted) {
                    Ok(Some(block)) => serde_json::to_vec(&block).map_err(|e| e.to_string()),
                    Ok(None) => Err(format!("no block at height {wanted}; the latest is {height}")),
                    Err(e) => Err(e.to_string()),
                })
            }
            ["consign", "tx", hash] => hash
                .parse::<TxHash>()
                .map_err(|e| e.to_string())
                .and_then(|h| view.tx(&h).map_err(|e| e.to_string()))
                .and_then(|r| serde_json::to_vec(&r).map_err(|e| e.to_string())),
            _ => Err(format!(
                "unknown query path {:?}: the paths are /consign/status, /consign/balances/<address>, /consign/account/<address>, /consign/smart/<contract> (data: the JSON message), /consign/block/<height or latest> and /consign/tx/<hash>",
                req.path
            )),
        };
        match value {
            Ok(value) => response::Query {
                value: value.into(),
                height: tendermint::block::Height::try_from(height).unwrap_or_default(),
                ..Default::default()
            },
            Err(log) => fail(log),
        }
    }

    /// A fatal error: logged, recorded, and the node stops (CometBFT then loses its
    /// connection and exits too). The error also goes back to tower-abci, which ends the
    /// connection.
    fn fatal(&self, why: String) -> BoxError {
        self.node.fail(why.clone());
        why.into()
    }

    fn consensus(&self, req: ConsensusRequest) -> Result<ConsensusResponse, BoxError> {
        Ok(match req {
            ConsensusRequest::InitChain(r) => {
                ConsensusResponse::InitChain(self.init_chain(r).map_err(|e| self.fatal(e))?)
            }
            ConsensusRequest::PrepareProposal(r) => {
                ConsensusResponse::PrepareProposal(self.prepare_proposal(r))
            }
            ConsensusRequest::ProcessProposal(r) => {
                ConsensusResponse::ProcessProposal(self.process_proposal(r))
            }
            ConsensusRequest::FinalizeBlock(r) => {
                ConsensusResponse::FinalizeBlock(self.finalize_block(r).map_err(|e| self.fatal(e))?)
            }
            ConsensusRequest::Commit => {
                ConsensusResponse::Commit(self.commit().map_err(|e| self.fatal(e))?)
            }
            ConsensusRequest::ExtendVote(_) => {
                ConsensusResponse::ExtendVote(response::ExtendVote {
                    vote_extension: Bytes::new(),
                })
            }
            ConsensusRequest::VerifyVoteExtension(_) => {
                ConsensusResponse::VerifyVoteExtension(response::VerifyVoteExtension::Accept)
            }
        })
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send + 'static>>;

/// The consensus connection: each request on tokio's blocking pool (execution is CPU-bound).
/// tower-abci answers in request order.
#[derive(Clone)]
struct Consensus(Arc<Abci>);

impl tower::Service<ConsensusRequest> for Consensus {
    type Response = ConsensusResponse;
    type Error = BoxError;
    type Future = BoxFuture<ConsensusResponse>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: ConsensusRequest) -> Self::Future {
        let abci = self.0.clone();
        // Executed now, in the order CometBFT sent them: a later request never overtakes an
        // earlier one (FinalizeBlock before Commit).
        let result = tokio::task::block_in_place(|| abci.consensus(req));
        Box::pin(async move { result })
    }
}

/// The mempool connection: CheckTx, done inside `call` so admission happens in request order
/// (sequences follow one another).
#[derive(Clone)]
struct Mempool(Arc<Abci>);

impl tower::Service<MempoolRequest> for Mempool {
    type Response = MempoolResponse;
    type Error = BoxError;
    type Future = BoxFuture<MempoolResponse>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: MempoolRequest) -> Self::Future {
        let MempoolRequest::CheckTx(req) = req;
        let response = tokio::task::block_in_place(|| self.0.check_tx(req));
        Box::pin(async move { Ok(MempoolResponse::CheckTx(response)) })
    }
}

/// The info connection: Info, Query and Echo from the committed view.
#[derive(Clone)]
struct Info(Arc<Abci>);

impl tower::Service<InfoRequest> for Info {
    type Response = InfoResponse;
    type Error = BoxError;
    type Future = BoxFuture<InfoResponse>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: InfoRequest) -> Self::Future {
        let abci = self.0.clone();
        Box::pin(async move {
            Ok(match req {
                InfoRequest::Info(_) => {
                    let info = abci.info();
                    tracing::info!(target: TARGET, height = %info.last_block_height, app_hash = %info.last_block_app_hash, "Info: CometBFT replays blocks after this one");
                    InfoResponse::Info(info)
                }
                InfoRequest::Query(q) => {
                    InfoResponse::Query(tokio::task::spawn_blocking(move || abci.query(q)).await?)
                }
                InfoRequest::Echo(e) => InfoResponse::Echo(response::Echo { message: e.message }),
            })
        })
    }
}

/// The snapshot connection: no snapshots are offered and none is accepted (state sync off).
#[derive(Clone)]
struct Snapshots;

impl tower::Service<SnapshotRequest> for Snapshots {
    type Response = SnapshotResponse;
    type Error = BoxError;
    type Future = BoxFuture<SnapshotResponse>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: SnapshotRequest) -> Self::Future {
        let response = match req {
            SnapshotRequest::ListSnapshots => {
                SnapshotResponse::ListSnapshots(response::ListSnapshots::default())
            }
            SnapshotRequest::OfferSnapshot(_) => {
                SnapshotResponse::OfferSnapshot(response::OfferSnapshot::Reject)
            }
            SnapshotRequest::LoadSnapshotChunk(_) => {
                SnapshotResponse::LoadSnapshotChunk(response::LoadSnapshotChunk::default())
            }
            SnapshotRequest::ApplySnapshotChunk(_) => {
                SnapshotResponse::ApplySnapshotChunk(response::ApplySnapshotChunk {
                    result: tendermint::abci::response::ApplySnapshotChunkResult::Abort,
                    ..Default::default()
                })
            }
        };
        Box::pin(async move { Ok(response) })
    }
}

/// Serves the ABCI application for `node` on the Unix socket `socket` until the node stops.
/// The socket must not exist (`consign start` removes a stale one after taking the chain's
/// lock).
///
/// # Errors
///
/// When the socket cannot be bound, or the chain's genesis cannot be read.
pub async fn serve(socket: &Path, node: Arc<Node>, max_block_gas: u64) -> Result<(), BoxError> {
    let genesis = node.view().genesis()?;
    #[cfg(not(debug_assertions))]
    if std::env::var_os("CONSIGN_TEST_FAULT").is_some() {
        tracing::warn!(target: TARGET, "CONSIGN_TEST_FAULT is ignored: a release build has no test faults");
    }
    let abci = Arc::new(Abci {
        node: node.clone(),
        genesis,
        max_block_gas,
        cache: Mutex::new(SigCache::default()),
        #[cfg(debug_assertions)]
        fault: crate::fault::Fault::from_env()?,
    });
    let server = tower_abci::v038::Server::builder()
        .consensus(Consensus(abci.clone()))
        .mempool(Mempool(abci.clone()))
        .info(Info(abci))
        .snapshot(Snapshots)
        .finish()
        .ok_or("the ABCI server is missing a service")?;
    tracing::info!(target: TARGET, socket = %socket.display(), "serving ABCI");
    tokio::select! {
        result = server.listen_unix(socket) => result,
        () = node.stopped() => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use consign_chain::{App, AppConfig, GenesisAccount};
    use consign_client::{coins, Msg, SecretKey, Tx, TxBody};

    use super::*;

    const CHAIN: &str = "abci-test";

    fn app(dir: &Path) -> App {
        let genesis = Genesis {
            chain_id: CHAIN.into(),
            genesis_time: Timestamp::from_seconds(1_700_000_000),
            accounts: vec![GenesisAccount {
                address: SecretKey::from_seed("alice").address(),
                coins: coins(1_000, "ucsn"),
            }],
            max_block_gas: Some(1_000_000),
            staking: Default::default(),
        };
        App::open(AppConfig::new(dir), Some(&genesis)).unwrap()
    }

    fn tx(from: &str, sequence: u64, gas_limit: u64, fee: u128) -> Vec<u8> {
        let key = SecretKey::from_seed(from);
        Tx::sign(
            TxBody {
                chain_id: CHAIN.into(),
                sender: key.address(),
                sequence,
                gas_limit,
                fee: coins(fee, "ucsn"),
                memo: String::new(),
                messages: vec![Msg::BankSend {
                    to: SecretKey::from_seed("bob").address(),
                    amount: coins(1, "ucsn"),
                }],
            },
            &key,
        )
        .to_bytes()
    }

    fn decoded(txs: &[Vec<u8>]) -> Vec<DecodedTx> {
        txs.iter().map(|b| CheckedTx::decode_for_block(b)).collect()
    }

    #[test]
    fn a_proposal_keeps_what_the_block_can_run_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let view = app(dir.path()).view();
        let mut bad_signature = tx("alice", 2, 200_000, 0);
        let last = bad_signature.len() - 1;
        bad_signature[last] ^= 1;
        let txs = decoded(&[
            tx("alice", 0, 200_000, 400),
            // The sender's next one counts the first.
            tx("alice", 1, 200_000, 400),
            // A gap in the sequence.
            tx("alice", 3, 200_000, 0),
            b"garbage".to_vec(),
            bad_signature,
            // Cannot pay its fee on top of the first two.
            tx("alice", 2, 200_000, 400),
            // Never funded.
            tx("carol", 0, 200_000, 0),
            // Over the block's gas with the first two.
            tx("alice", 2, 700_000, 0),
            tx("alice", 2, 200_000, 0),
        ]);
        let (kept, left_out) = select(&view, &txs, 1_000_000, None);
        assert_eq!(kept, [0, 1, 8]);
        let reasons: Vec<usize> = left_out.iter().map(|(i, _)| *i).collect();
        assert_eq!(reasons, [2, 3, 4, 5, 6, 7]);
        assert!(left_out[0].1.contains("sequence"), "{left_out:?}");
        assert!(left_out[5].1.contains("block is full"), "{left_out:?}");
        // The same proposal, judged again (by another validator): the same answer.
        assert_eq!(select(&view, &txs, 1_000_000, None).0, kept);
        // The byte limit of PrepareProposal.
        let (kept, _) = select(&view, &txs[..1], 1_000_000, Some(10));
        assert!(kept.is_empty());
    }

    #[test]
    fn init_chain_compares_the_parsed_genesis() {
        let dir = tempfile::tempdir().unwrap();
        let ours = app(dir.path()).view().genesis().unwrap();
        // CometBFT sends pretty JSON the first time and compact JSON after a restart.
        let accounts = serde_json::json!({ "accounts": ours.accounts });
        for text in [
            serde_json::to_string_pretty(&accounts).unwrap(),
            serde_json::to_string(&accounts).unwrap(),
        ] {
            let state: crate::cometbft::AppState = serde_json::from_str(&text).unwrap();
            let offered = Genesis {
                accounts: state.accounts,
                ..ours.clone()
            };
            assert!(genesis_differences(&ours, &offered).is_empty());
        }
        let other = Genesis {
            chain_id: "other".into(),
            max_block_gas: Some(5),
            ..ours.clone()
        };
        let differences = genesis_differences(&ours, &other);
        assert_eq!(differences.len(), 2, "{differences:?}");
        assert!(differences[0].starts_with("chain_id"));
        assert!(differences[1].starts_with("consensus_params.block.max_gas"));
    }

    #[test]
    fn exec_results_carry_the_hashed_fields() {
        let refused = CheckedTx::decode_for_block(b"x").unwrap_err();
        let result = exec_result(&refused.result(1, 0));
        assert_eq!(result.code.value(), 2);
        assert_eq!(result.gas_used, 0);
        assert_eq!(result.codespace, CODESPACE);
    }
}

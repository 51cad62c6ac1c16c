//! Transaction routes: `POST /txs` (broadcast, returning at once or once committed),
//! `POST /txs/simulate` (run against the committed state, commit nothing) and `GET /txs/{hash}`.

use std::sync::Arc;
use std::time::Duration;

use consign_client::{CheckResult, TxHash};
use serde::Deserialize;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::api::{chain_failure, json, query, reply, with_node, ApiFailure, ForTx as _};
use super::node::{BroadcastError, Node, RefusalKind, SimulationError, TxOutcome};

/// The largest request body accepted, in bytes: a transaction storing a 3 MiB contract is about
/// 4 MiB of JSON.
pub(super) const MAX_BODY: u64 = 8 * 1024 * 1024;

/// The longest a `mode=commit` broadcast may wait.
const MAX_TIMEOUT_MS: u64 = 600_000;

/// When the broadcast answers.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Mode {
    /// Once the transaction passed the checks and is in the mempool.
    #[default]
    Sync,
    /// Once it is committed in a block.
    Commit,
}

/// `POST /txs?mode=…&timeout_ms=…`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BroadcastParams {
    #[serde(default)]
    mode: Mode,
    #[serde(default = "default_timeout_ms")]
    timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    30_000
}

/// The body of a transaction route: a transaction's JSON, at most [`MAX_BODY`] bytes. A request
/// without one (no `Content-Length`, or zero) is a 400 that says what to send, `expected`: left
/// to warp, it was a 411, and on `/txs/simulate` the 405 of `GET /txs/{hash}` (whose path it
/// also matches) won, which read as if the route took no POST.
fn tx_body(
    expected: &'static str,
) -> impl Filter<Extract = (warp::hyper::body::Bytes,), Error = Rejection> + Clone + Send + Sync + 'static
{
    let missing = move || {
        Rejection::from(ApiFailure::bad_request(format!(
            "this request had no body: {expected}, sent with a Content-Length header"
        )))
    };
    warp::body::content_length_limit(MAX_BODY)
        .or_else(move |rejection: Rejection| async move {
            match rejection.find::<warp::reject::LengthRequired>() {
                Some(_) => Err(missing()),
                None => Err(rejection),
            }
        })
        .and(warp::body::bytes())
        .and_then(move |body: warp::hyper::body::Bytes| async move {
            if body.is_empty() {
                Err(missing())
            } else {
                Ok(body)
            }
        })
}

pub(super) fn routes(
    node: Arc<Node>,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone + Send + Sync + 'static {
    let broadcast = warp::path!("txs")
        .and(warp::post())
        .and(query::<BroadcastParams>())
        .and(tx_body(
            "POST /txs takes a signed transaction as its body, the JSON of a Tx (as `consign tx \
             sign` prints it)",
        ))
        .and(with_node(node.clone()))
        .and_then(|params, body, node| async move { reply(broadcast(params, body, node).await) });
    let simulate = warp::path!("txs" / "simulate")
        .and(warp::post())
        .and(tx_body(
            "POST /txs/simulate takes a transaction as its body, the JSON of a Tx whose \
             signature may be empty",
        ))
        .and(with_node(node.clone()))
        .and_then(|body, node| async move { reply(simulate(body, node).await) });
    let get = warp::path!("txs" / String)
        .and(warp::get())
        .and(with_node(node))
        .and_then(|hash, node| async move { reply(get_tx(hash, node).await) });
    broadcast.or(simulate).unify().or(get).unify()
}

fn refused(e: BroadcastError) -> ApiFailure {
    let status = match e.kind {
        RefusalKind::Check | RefusalKind::Duplicate => StatusCode::BAD_REQUEST,
        RefusalKind::SenderLimit => StatusCode::TOO_MANY_REQUESTS,
        RefusalKind::Full | RefusalKind::ShuttingDown | RefusalKind::Engine => {
            StatusCode::SERVICE_UNAVAILABLE
        }
    };
    ApiFailure::new(status, e.log).for_tx(e.txhash, Some(e.code))
}

/// `POST /txs`: the body is the signed transaction's bytes.
async fn broadcast(
    params: BroadcastParams,
    body: warp::hyper::body::Bytes,
    node: Arc<Node>,
) -> Result<Response, ApiFailure> {
    if params.timeout_ms > MAX_TIMEOUT_MS {
        return Err(ApiFailure::bad_request(format!(
            "timeout_ms {} is above the maximum of {MAX_TIMEOUT_MS}",
            params.timeout_ms
        )));
    }
    let wait = matches!(params.mode, Mode::Commit);
    let (txhash, receiver) = node.broadcast(body.to_vec(), wait).await.map_err(refused)?;
    let Some(receiver) = receiver else {
        return Ok(json(&CheckResult {
            txhash,
            code: 0,
            log: String::new(),
        }));
    };
    let timeout = Duration::from_millis(params.timeout_ms);
    match tokio::time::timeout(timeout, receiver).await {
        Ok(Ok(TxOutcome::Committed(result))) => Ok(json(&result)),
        Ok(Ok(TxOutcome::Dropped { code, log })) => {
            Err(ApiFailure::bad_request(log).for_tx(txhash, Some(code)))
        }
        Ok(Ok(TxOutcome::Failed(why))) => Err(ApiFailure::internal(why).for_tx(txhash, None)),
        Ok(Err(_)) => Err(ApiFailure::internal(
            "the node stopped before the transaction was committed; look it up by its hash once the node is back",
        )
        .for_tx(txhash, None)),
        Err(_) => Err(ApiFailure::new(
            StatusCode::GATEWAY_TIMEOUT,
            format!(
                "the transaction was accepted but not committed within {} ms; it may still be; look it up with GET /txs/{txhash}",
                params.timeout_ms
            ),
        )
        .for_tx(txhash, None)),
    }
}

/// `POST /txs/simulate`: the body is a transaction, signed or with an empty signature. It runs
/// against the last committed state with the node's largest gas limit and nothing is kept; the
/// answer is its gas and result (200, with a non-zero code if it would fail while running), or
/// the check that refuses it (400, as a broadcast's refusal); 503 when the node is running its
/// most simulations at once and none finished in time.
async fn simulate(body: warp::hyper::body::Bytes, node: Arc<Node>) -> Result<Response, ApiFailure> {
    let txhash = consign_client::Tx::hash(&body);
    let simulated = node.simulate(body.to_vec()).await.map_err(|e| match e {
        SimulationError::Node(e) => ApiFailure::from(e),
        busy => ApiFailure::new(StatusCode::SERVICE_UNAVAILABLE, busy.to_string()),
    })?;
    match simulated {
        Ok(simulation) => Ok(json(&simulation)),
        Err(e) => Err(ApiFailure::bad_request(e.to_string()).for_tx(txhash, Some(e.code()))),
    }
}

/// `GET /txs/{hash}`.
async fn get_tx(hash: String, node: Arc<Node>) -> Result<Response, ApiFailure> {
    let hash: TxHash = hash
        .parse()
        .map_err(|e: consign_client::TxHashError| ApiFailure::bad_request(e.to_string()))?;
    // Pending first, then the view: the producer drops a committed transaction from the
    // mempool and swaps in the view that has it under one lock, so one of the two sees it.
    let pending = node.is_pending(&hash);
    match node
        .query(move |view| view.tx(&hash))
        .await?
        .map_err(chain_failure)?
    {
        Some(result) => Ok(json(&result)),
        None if pending => Err(ApiFailure::not_found(format!(
            "transaction {hash} is in the mempool, not committed yet"
        ))),
        None => Err(ApiFailure::not_found(format!(
            "no committed transaction {hash}"
        ))),
    }
}

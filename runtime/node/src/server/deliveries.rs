//! The delivery feed: `GET /deliveries?after=N&limit=M&wait_ms=W` (long-poll) and
//! `GET /deliveries/stream?after=N` (server-sent events, resuming after `N` or the
//! `Last-Event-ID` header). Both serve the chain's gap-free delivery log in sequence order.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use consign_client::DeliveryPage;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use warp::reply::Response;
use warp::sse::Event;
use warp::{Filter, Rejection, Reply};

use super::api::{chain_failure, json, query, reply, with_node, ApiFailure};
use super::events::KEEP_ALIVE;
use super::node::Node;
use super::API_TARGET;

/// The default and the largest page of the long-poll.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1_000;
/// The longest a long-poll may wait.
const MAX_WAIT_MS: u64 = 60_000;
/// How many records the stream reads from the log at a time.
const STREAM_PAGE: usize = 256;

/// `GET /deliveries?…`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PollParams {
    #[serde(default)]
    after: u64,
    #[serde(default = "default_limit")]
    limit: usize,
    #[serde(default)]
    wait_ms: u64,
}

fn default_limit() -> usize {
    DEFAULT_LIMIT
}

/// `GET /deliveries/stream?…`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamParams {
    #[serde(default)]
    after: Option<u64>,
}

pub(super) fn routes(
    node: Arc<Node>,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone + Send + Sync + 'static {
    let poll = warp::path!("deliveries")
        .and(warp::get())
        .and(query::<PollParams>())
        .and(with_node(node.clone()))
        .and_then(|params, node| async move { reply(poll(params, node).await) });
    let stream = warp::path!("deliveries" / "stream")
        .and(warp::get())
        .and(query::<StreamParams>())
        .and(warp::header::optional::<String>("last-event-id"))
        .and(with_node(node))
        .and_then(|params, last_id, node| async move { reply(stream(params, last_id, node)) });
    poll.or(stream).unify()
}

/// Waits up to `wait` until a delivery after `after` exists (or the node stops).
async fn wait_for_delivery(node: &Node, after: u64, wait: Duration) {
    let mut next = node.watch_deliveries();
    tokio::select! {
        _ = next.wait_for(|next| *next > after.saturating_add(1)) => {}
        () = tokio::time::sleep(wait) => {}
        () = node.stopped() => {}
    }
}

/// `GET /deliveries`.
async fn poll(params: PollParams, node: Arc<Node>) -> Result<Response, ApiFailure> {
    if params.limit == 0 || params.limit > MAX_LIMIT {
        return Err(ApiFailure::bad_request(format!(
            "limit {} is out of range: give 1 to {MAX_LIMIT}",
            params.limit
        )));
    }
    if params.wait_ms > MAX_WAIT_MS {
        return Err(ApiFailure::bad_request(format!(
            "wait_ms {} is above the maximum of {MAX_WAIT_MS}",
            params.wait_ms
        )));
    }
    let after = params.after;
    if params.wait_ms > 0 && *node.watch_deliveries().borrow() <= after.saturating_add(1) {
        wait_for_delivery(&node, after, Duration::from_millis(params.wait_ms)).await;
    }
    let limit = params.limit;
    let deliveries = node
        .query(move |app| app.deliveries(after, limit))
        .await?
        .map_err(chain_failure)?;
    let next_after = deliveries.last().map_or(after, |d| d.sequence);
    Ok(json(&DeliveryPage {
        deliveries,
        next_after,
    }))
}

/// `GET /deliveries/stream`: every stored record after the starting point, then each new one,
/// in order, with keep-alive comments while idle.
fn stream(
    params: StreamParams,
    last_event_id: Option<String>,
    node: Arc<Node>,
) -> Result<Response, ApiFailure> {
    // A reconnecting EventSource sends the last id it saw, which is later than the `after` of
    // the URL it first opened.
    let after = match last_event_id {
        Some(id) => id.trim().parse::<u64>().map_err(|_| {
            ApiFailure::bad_request(format!(
                "invalid Last-Event-ID `{id}`: expected the sequence number of a delivery"
            ))
        })?,
        None => params.after.unwrap_or(0),
    };
    let (tx, rx) = mpsc::channel::<Result<Event, Infallible>>(STREAM_PAGE);
    tokio::spawn(follow(node, after, tx));
    let stream = warp::sse::keep_alive()
        .interval(KEEP_ALIVE)
        .stream(ReceiverStream::new(rx));
    Ok(warp::sse::reply(stream).into_response())
}

/// Feeds `tx` every record after `after`, reading pages from the log and then waiting for
/// the next block's, until the client goes or the node stops.
async fn follow(node: Arc<Node>, mut after: u64, tx: mpsc::Sender<Result<Event, Infallible>>) {
    let mut next = node.watch_deliveries();
    loop {
        let available = *next.borrow_and_update();
        if available > after.saturating_add(1) {
            let page = node
                .query(move |app| app.deliveries(after, STREAM_PAGE))
                .await;
            let records = match page {
                Ok(Ok(records)) => records,
                Ok(Err(e)) => {
                    tracing::error!(target: API_TARGET, error = %e, "cannot read the delivery log");
                    let _ = tx.send(Ok(error_event(&e.to_string()))).await;
                    return;
                }
                Err(e) => {
                    tracing::error!(target: API_TARGET, error = %e, "cannot read the delivery log");
                    return;
                }
            };
            let got = records.len();
            for record in records {
                if record.sequence != after.saturating_add(1) {
                    // Never skip: end the stream; the client resumes from its last id.
                    tracing::error!(
                        target: API_TARGET,
                        expected = after.saturating_add(1),
                        got = record.sequence,
                        "gap in the delivery log"
                    );
                    let _ = tx.send(Ok(error_event("gap in the delivery log"))).await;
                    return;
                }
                let event = match Event::default()
                    .event("delivery")
                    .id(record.sequence.to_string())
                    .json_data(&record)
                {
                    Ok(event) => event,
                    Err(e) => {
                        tracing::error!(target: API_TARGET, error = %e, "cannot encode a delivery");
                        return;
                    }
                };
                if tx.send(Ok(event)).await.is_err() {
                    return;
                }
                after = record.sequence;
            }
            if got > 0 {
                continue;
            }
        }
        tokio::select! {
            changed = next.changed() => if changed.is_err() { return },
            () = node.stopped() => return,
            () = tx.closed() => return,
        }
    }
}

fn error_event(message: &str) -> Event {
    Event::default()
        .event("error")
        .data(serde_json::json!({ "error": message }).to_string())
}

//! `GET /events`: committed blocks and transactions as server-sent events.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use warp::reply::Response;
use warp::sse::Event;
use warp::{Filter, Rejection, Reply};

use super::api::with_node;
use super::node::Node;
use super::API_TARGET;

/// How often an idle stream sends a keep-alive comment.
pub(super) const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub(super) fn routes(
    node: Arc<Node>,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone + Send + Sync + 'static {
    warp::path!("events")
        .and(warp::get())
        .and(with_node(node))
        .map(|node: Arc<Node>| events(&node))
}

/// Sends an event `block` (data: the `Block`) and then an event `tx` (data: its `TxResult`)
/// per transaction, for each block committed from now on. A client too slow to keep up gets an
/// event `lagged` (data: `{"skipped": <blocks>}`) and the stream goes on.
fn events(node: &Arc<Node>) -> Response {
    let mut blocks = node.subscribe_blocks();
    let (tx, rx) = mpsc::channel::<Result<Event, Infallible>>(64);
    let node = node.clone();
    tokio::spawn(async move {
        loop {
            let next = tokio::select! {
                next = blocks.recv() => next,
                () = node.stopped() => break,
                () = tx.closed() => break,
            };
            let events = match next {
                Ok(committed) => {
                    let mut events = Vec::with_capacity(committed.results.len() + 1);
                    events.push(
                        Event::default()
                            .event("block")
                            .id(committed.block.header.height.to_string())
                            .json_data(&committed.block),
                    );
                    for result in &committed.results {
                        events.push(Event::default().event("tx").json_data(result));
                    }
                    events
                }
                Err(broadcast::error::RecvError::Lagged(skipped)) => {
                    tracing::debug!(target: API_TARGET, skipped, "event stream lagged");
                    vec![Event::default()
                        .event("lagged")
                        .json_data(serde_json::json!({ "skipped": skipped }))]
                }
                Err(broadcast::error::RecvError::Closed) => break,
            };
            for event in events {
                let event = match event {
                    Ok(event) => event,
                    Err(e) => {
                        tracing::error!(target: API_TARGET, error = %e, "cannot encode an event");
                        continue;
                    }
                };
                if tx.send(Ok(event)).await.is_err() {
                    return;
                }
            }
        }
    });
    let stream = warp::sse::keep_alive()
        .interval(KEEP_ALIVE)
        .stream(ReceiverStream::new(rx));
    warp::sse::reply(stream).into_response()
}

//! The node: a mempool and a block producer around the chain's state machine
//! ([`consign_chain::App`]), served over HTTP/JSON with warp.
//!
//! - [`Node`] owns the [`App`](consign_chain::App), the mempool and the channels that tell
//!   waiting requests and event streams about each committed block. Its block producer
//!   ([`Node::produce_blocks`]) makes a block at once whenever transactions are waiting (up to
//!   [`NodeConfig::max_block_txs`] of them), and otherwise an empty block every
//!   [`NodeConfig::block_time`].
//! - [`run`] serves the API (the routes are listed in `runtime/node/openapi.yaml`) on a bound
//!   listener until a shutdown future completes, in the shape of mini-redis's `server::run`: the
//!   caller binds (tests bind `127.0.0.1:0`) and decides when to stop.
//!
//! Execution is CPU-bound and the state machine is behind a `std::sync::Mutex`, so every use of
//! it runs on tokio's blocking pool, never on the async workers.
//!
//! # Example
//!
//! ```no_run
//! use std::sync::Arc;
//! use consign::server::{self, Node, NodeConfig};
//! use consign_chain::{App, AppConfig};
//!
//! # async fn example() -> anyhow::Result<()> {
//! let app = App::open(AppConfig::new("/tmp/consign-home"), None)?;
//! let node = Node::new(app, NodeConfig::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! println!("serving on http://{}", listener.local_addr()?);
//! server::run(listener, node, async {
//!     let _ = tokio::signal::ctrl_c().await;
//! })
//! .await?;
//! # Ok(())
//! # }
//! ```

mod api;
mod deliveries;
mod events;
mod mempool;
mod node;
mod query;
mod txs;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use consign_util::serve::{serve, Drained, ServeOptions};

pub use node::{
    BroadcastError, Committed, Node, NodeConfig, NodeError, RefusalKind, SimulationError, TxOutcome,
};

/// Log target of the node's API (requests, responses, rejections).
pub(crate) const API_TARGET: &str = "runtime::api";
/// Log target of the block producer and mempool.
pub(crate) const NODE_TARGET: &str = "runtime::node";

/// Serves the node's API on `listener` and runs its block producer until `shutdown` completes
/// (or the producer fails), then shuts down gracefully: it stops accepting connections, lets
/// the producer finish the block in progress and commit every transaction already accepted,
/// ends the event streams, and waits for open requests for at most
/// [`NodeConfig::shutdown_grace`].
///
/// # Errors
///
/// When the block producer failed: the chain's storage failed, or execution panicked. The node
/// has stopped at its last committed block.
pub async fn run(
    listener: tokio::net::TcpListener,
    node: Arc<Node>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    // In network mode CometBFT decides the blocks (the ABCI server commits them): there is no
    // producer, only the API.
    let producer = tokio::spawn({
        let node = node.clone();
        async move {
            if node.is_network() {
                node.stopped().await;
                return Ok(());
            }
            node.produce_blocks().await
        }
    });
    let routes = api::routes(node.clone());

    // The server stops accepting when the caller says so or when the node stops by itself (the
    // producer failed); either way the node is told, so streams end and the producer flushes.
    let stopping = node.clone();
    let shutdown = async move {
        tokio::select! {
            () = shutdown => tracing::info!(target: NODE_TARGET, "shutting down"),
            () = stopping.stopped() => {}
        }
        stopping.stop();
    };
    let grace = node.config().shutdown_grace;
    if serve(routes, listener, shutdown, ServeOptions::with_grace(grace)).await == Drained::Cut {
        tracing::warn!(
            target: API_TARGET,
            grace = ?grace,
            "requests still open after the shutdown grace period; closing them"
        );
    }

    // The producer may still be committing its last block: wait for it, within reason.
    node.stop();
    match tokio::time::timeout(grace.max(Duration::from_secs(1)), producer).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(NodeError::Panicked(join.to_string())),
        Err(_) => Err(NodeError::Panicked(format!(
            "the block producer did not finish within {grace:?} of shutdown"
        ))),
    }
}

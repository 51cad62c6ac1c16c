//! Starting and stopping the storage node, in the shape of mini-redis's `server::run`:
//! [`serve`] runs the API, the follower, the fulfiller and the sweep of unregistered blobs until
//! a shutdown future completes (tests pass their own); [`run`] is the daemon: wait for the chain
//! node, open the data directory, bind, write `api.url` (and, for the operator's listener,
//! `metrics.url`), serve until SIGINT or SIGTERM.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use consign_util::fs::atomic_write;
use consign_util::retry::Backoff;
use consign_util::serve::{self as api_server, Drained, ServeOptions};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::blobs::sweep::{self, SWEEP_TARGET};
use crate::config::Config;
use crate::market::Chain;
use crate::node::{Services, NODE_TARGET};
use crate::{api, follower, fulfiller};

/// How long open requests may run on after shutdown starts (an upload in progress is cut
/// off after it, and leaves nothing behind).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How long the follower and the fulfiller get to stop.
const TASKS_GRACE: Duration = Duration::from_secs(10);
/// Waiting for the chain node at start: from 250 ms, doubling, at most 30 s between attempts.
const CONNECT_BACKOFF: Backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(30));

/// Serves the API on `listener` and runs the follower and the fulfiller until `shutdown`
/// completes; then stops accepting connections, tells the follower and the fulfiller to stop
/// (deliveries in flight are abandoned and resumed at the next start), and waits a little for
/// open requests and for both tasks.
///
/// # Errors
///
/// None today; the signature leaves room for a failing part to stop the node.
pub async fn serve(
    listener: TcpListener,
    svc: Services,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    let follower = tokio::spawn(follower::run(svc.clone(), stop_rx.clone()));
    let fulfiller = tokio::spawn(fulfiller::run(svc.clone(), stop_rx.clone()));
    let sweeper = tokio::spawn(sweeper(svc.clone(), stop_rx));

    let stopper = stop_tx.clone();
    let shutdown = async move {
        shutdown.await;
        tracing::info!(target: NODE_TARGET, "shutting down");
        let _ = stopper.send(true);
    };
    let options = ServeOptions::with_grace(SHUTDOWN_GRACE);
    if api_server::serve(api::routes(svc), listener, shutdown, options).await == Drained::Cut {
        tracing::warn!(
            target: NODE_TARGET,
            grace = ?SHUTDOWN_GRACE,
            "requests still open after the shutdown grace period; closing them"
        );
    }
    let _ = stop_tx.send(true);
    for (name, task) in [
        ("follower", follower),
        ("fulfiller", fulfiller),
        ("sweeper", sweeper),
    ] {
        match tokio::time::timeout(TASKS_GRACE, task).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(target: NODE_TARGET, task = name, error = %e, "task failed")
            }
            Err(_) => tracing::warn!(
                target: NODE_TARGET,
                task = name,
                "did not stop within {TASKS_GRACE:?}; abandoning it (its work resumes at the next start)"
            ),
        }
    }
    Ok(())
}

/// Serves the operator's listener (`GET /metrics`, `GET /status`: the figures that never go on
/// the public API) on `listener` until `shutdown` completes.
pub async fn serve_operator(
    listener: TcpListener,
    svc: Services,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let options = ServeOptions::with_grace(SHUTDOWN_GRACE);
    let _ = api_server::serve(api::operator::routes(svc), listener, shutdown, options).await;
}

/// The daemon: waits for the chain node (retrying with backoff), opens the data directory,
/// binds `config.listen`, writes `http://ADDR` to `<data_dir>/api.url`, and serves until
/// SIGINT or SIGTERM.
///
/// # Errors
///
/// If the data directory cannot be opened or the address cannot be bound.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let signal = consign_util::shutdown_signal().context("cannot listen for SIGINT and SIGTERM")?;
    let (signal_tx, signal_rx) = watch::channel(false);
    tokio::spawn(async move {
        signal.await;
        let _ = signal_tx.send(true);
    });
    let stopped = move || {
        let mut rx = signal_rx.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    };

    let chain = tokio::select! {
        chain = connect(&config.node_url) => chain?,
        () = stopped() => return Ok(()),
    };
    let api_url_path = config.api_url_path();
    let metrics_url_path = config.metrics_url_path();
    let listen = config.listen;
    let metrics_listen = config.metrics_listen;
    let svc = tokio::task::spawn_blocking(move || Services::open(config, chain))
        .await
        .context("opening the data directory")??;
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    atomic_write(&api_url_path, format!("http://{addr}\n"))?;
    tracing::info!(
        target: NODE_TARGET,
        api = %format!("http://{addr}"),
        node_id = %svc.node_id,
        chain_id = %svc.chain.chain_id(),
        data_dir = %svc.config.data_dir.display(),
        admin_api = svc.config.admin_token.is_some(),
        allow_private_egress = svc.config.allow_private_egress,
        "consign-storage listening"
    );
    if svc.config.allow_private_egress {
        tracing::warn!(
            target: NODE_TARGET,
            "private egress is allowed: deliveries may reach loopback and private addresses; \
             use this only for local testing"
        );
    }
    let operator = match metrics_listen {
        Some(addr) => {
            let listener = TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} (--metrics-listen)"))?;
            let addr = listener.local_addr()?;
            atomic_write(&metrics_url_path, format!("http://{addr}\n"))?;
            tracing::info!(
                target: NODE_TARGET,
                metrics = %format!("http://{addr}"),
                "operator's listener (/metrics, /status) listening"
            );
            Some(tokio::spawn(serve_operator(
                listener,
                svc.clone(),
                stopped(),
            )))
        }
        None => None,
    };
    let result = serve(listener, svc, stopped()).await;
    if let Some(operator) = operator {
        let _ = tokio::time::timeout(TASKS_GRACE, operator).await;
        let _ = std::fs::remove_file(&metrics_url_path);
    }
    let _ = std::fs::remove_file(&api_url_path);
    tracing::info!(target: NODE_TARGET, "stopped");
    result
}

/// Deletes the blobs nobody registered within `unregistered_ttl` (see
/// [`sweep`](crate::blobs::sweep)): once at start, then every quarter of the time limit
/// (between 100 ms and 10 minutes), until `stop`.
async fn sweeper(svc: Services, mut stop: watch::Receiver<bool>) {
    let ttl = svc.config.unregistered_ttl;
    let every = (ttl / 4).clamp(Duration::from_millis(100), Duration::from_secs(600));
    loop {
        let (db, blobs) = (svc.db.clone(), svc.blobs.clone());
        let now = crate::node::unix_now();
        match tokio::task::spawn_blocking(move || sweep::sweep(&db, &blobs, ttl, now)).await {
            Ok(Ok(swept)) if swept.blobs > 0 => tracing::info!(
                target: SWEEP_TARGET,
                blobs = swept.blobs,
                bytes = swept.bytes,
                ttl = %humantime::format_duration(ttl),
                "deleted blobs nobody registered in time; their quota is free again"
            ),
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::warn!(
                target: SWEEP_TARGET,
                error = %format!("{error:#}"),
                "the sweep of unregistered blobs failed; it runs again later"
            ),
            Err(error) => tracing::error!(target: SWEEP_TARGET, %error, "the sweep panicked"),
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
    }
}

/// Reaches the chain node, retrying with backoff while it does not answer.
async fn connect(node_url: &str) -> anyhow::Result<Chain> {
    let mut attempts = CONNECT_BACKOFF.attempts();
    loop {
        match Chain::connect(node_url).await {
            Ok(chain) => return Ok(chain),
            Err(error) => {
                if error
                    .downcast_ref::<consign_client::ClientError>()
                    .is_some_and(|e| matches!(e, consign_client::ClientError::InvalidUrl { .. }))
                {
                    return Err(error);
                }
                let delay = attempts.next_delay();
                tracing::warn!(
                    target: NODE_TARGET,
                    error = %format!("{error:#}"),
                    retry_in = ?delay,
                    "waiting for the chain node"
                );
                tokio::time::sleep(delay).await;
            }
        }
    }
}

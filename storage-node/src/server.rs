//! Starting and stopping the storage node, in the shape of mini-redis's `server::run`:
//! [`serve`] runs the API, the follower, the fulfiller and the sweep of unregistered blobs until
//! a shutdown future completes (tests pass their own), and reaches the chain node in the
//! background; [`run`] is the daemon: check and open the data directory, bind, write `api.url`
//! (and, for the operator's listener, `metrics.url`), serve until SIGINT or SIGTERM. It listens
//! at once, whether or not the chain node answers.

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
use crate::market::{VerifyError, CHAIN_TARGET};
use crate::node::{Services, NODE_TARGET};
use crate::{api, follower, fulfiller};

/// How long open requests may run on after shutdown starts (an upload in progress is cut
/// off after it, and leaves nothing behind).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How long the follower and the fulfiller get to stop.
const TASKS_GRACE: Duration = Duration::from_secs(10);
/// How long the daemon's first request to the chain node may take before it listens anyway.
const FIRST_CONTACT: Duration = Duration::from_secs(2);
/// Reaching the chain node at start: from 250 ms, doubling, at most 30 s between attempts.
const CONNECT_BACKOFF: Backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(30));

/// Serves the API on `listener` and runs the follower and the fulfiller until `shutdown`
/// completes; then stops accepting connections, tells the follower and the fulfiller to stop
/// (deliveries in flight are abandoned and resumed at the next start), and waits a little for
/// open requests and for both tasks.
///
/// The API serves at once. When `svc.chain` is not verified yet, a task asks the chain node
/// for its status with backoff until it answers (the operator's status shows the chain
/// unreachable meanwhile), then records its chain id; the follower and the fulfiller start
/// then.
///
/// # Errors
///
/// When the chain node turns out to serve another chain than the data directory's (the node
/// stops), or the chain id cannot be recorded.
pub async fn serve(
    listener: TcpListener,
    svc: Services,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    let connector = tokio::spawn(reach_chain(svc.clone(), stop_tx.clone()));
    let follower = tokio::spawn(follower::run(svc.clone(), stop_rx.clone()));
    let fulfiller = tokio::spawn(fulfiller::run(svc.clone(), stop_rx.clone()));
    let sweeper = tokio::spawn(sweeper(svc.clone(), stop_rx.clone()));

    let stopper = stop_tx.clone();
    let mut failed = stop_rx;
    let shutdown = async move {
        tokio::select! {
            () = shutdown => tracing::info!(target: NODE_TARGET, "shutting down"),
            // The connector stops the node when the chain node is on another chain.
            _ = failed.wait_for(|stop| *stop) => {}
        }
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
    let reached = match tokio::time::timeout(TASKS_GRACE, connector).await {
        Ok(Ok(reached)) => reached,
        Ok(Err(e)) => Err(anyhow::anyhow!("reaching the chain node failed: {e}")),
        Err(_) => Ok(()),
    };
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
    reached
}

/// Until `svc.chain` is verified: asks the chain node for its status with backoff, then
/// records its chain id in the data directory. When the chain node is on another chain (or the
/// chain id cannot be recorded) it stops the node through `stop` and returns why.
async fn reach_chain(svc: Services, stop: Arc<watch::Sender<bool>>) -> anyhow::Result<()> {
    if svc.chain.is_verified() {
        return Ok(());
    }
    let mut stopped = stop.subscribe();
    let mut attempts = CONNECT_BACKOFF.attempts();
    loop {
        match svc.chain.verify().await {
            Ok(()) => break,
            Err(error @ VerifyError::WrongChain { .. }) => {
                tracing::error!(target: CHAIN_TARGET, %error, "stopping");
                let _ = stop.send(true);
                return Err(error.into());
            }
            Err(error) => {
                let delay = attempts.next_delay();
                tracing::debug!(
                    target: CHAIN_TARGET,
                    error = %format!("{error:#}"),
                    retry_in = ?delay,
                    "waiting for the chain node"
                );
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    _ = stopped.wait_for(|stop| *stop) => return Ok(()),
                }
            }
        }
    }
    let recorder = svc.clone();
    let recorded = tokio::task::spawn_blocking(move || recorder.record_chain_id())
        .await
        .map_err(|e| anyhow::anyhow!("recording the chain id failed: {e}"))
        .and_then(|recorded| recorded);
    if let Err(error) = recorded {
        tracing::error!(target: CHAIN_TARGET, error = %format!("{error:#}"), "stopping");
        let _ = stop.send(true);
        return Err(error);
    }
    tracing::info!(
        target: CHAIN_TARGET,
        chain_id = svc.chain.chain_id().unwrap_or_default(),
        node = %svc.chain.nodes().current().base_url(),
        "following the chain"
    );
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

/// The daemon: checks and opens the data directory (before anything else: a directory that
/// cannot be created, written or locked stops it at once), binds `config.listen`, writes
/// `http://ADDR` to `<data_dir>/api.url`, and serves until SIGINT or SIGTERM. It listens
/// whether or not the chain node answers, and reaches it in the background ([`serve`]).
///
/// # Errors
///
/// If the data directory cannot be used, an address cannot be bound, or the chain node is on
/// another chain than the data directory's.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let api_url_path = config.api_url_path();
    let metrics_url_path = config.metrics_url_path();
    let listen = config.listen;
    let metrics_listen = config.metrics_listen;
    let svc = tokio::task::spawn_blocking(move || Services::open_unverified(config))
        .await
        .context("opening the data directory")??;
    // One quick try before listening, so a node whose chain is up serves its chain id from the
    // first request; past it, `serve` keeps trying in the background.
    match tokio::time::timeout(FIRST_CONTACT, svc.chain.verify()).await {
        Ok(Ok(())) => {
            let recorder = svc.clone();
            tokio::task::spawn_blocking(move || recorder.record_chain_id())
                .await
                .context("recording the chain id")??;
        }
        Ok(Err(error @ VerifyError::WrongChain { .. })) => return Err(error.into()),
        Ok(Err(_)) | Err(_) => {}
    }

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

    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    atomic_write(&api_url_path, format!("http://{addr}\n"))?;
    tracing::info!(
        target: NODE_TARGET,
        api = %format!("http://{addr}"),
        node_id = %svc.node_id,
        chain_id = svc.chain.chain_id().unwrap_or("(not known yet)"),
        chain_nodes = %svc.chain.urls(),
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
    // The operator's listener stops with the signal, or when `serve` ends on its own (the
    // chain node is on another chain).
    let (served_tx, served_rx) = watch::channel(false);
    let operator_stop = {
        let stopped = stopped();
        let mut served = served_rx;
        async move {
            tokio::select! {
                () = stopped => {}
                _ = served.wait_for(|served| *served) => {}
            }
        }
    };
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
                operator_stop,
            )))
        }
        None => None,
    };
    let result = serve(listener, svc, stopped()).await;
    let _ = served_tx.send(true);
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

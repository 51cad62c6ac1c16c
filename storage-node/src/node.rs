//! Starting and stopping the storage node: [`Services`] (what every part shares), [`serve`]
//! (the API, the follower and the fulfiller until a shutdown future completes, in the shape of
//! mini-redis's `server::run`) and [`run`] (the daemon: wait for the chain node, bind, write
//! `api.url`, serve until SIGINT or SIGTERM).

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use redb::ReadableTable as _;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::blobs::BlobStore;
use crate::market::Chain;
use crate::config::Config;
use crate::db::{meta, Db, META};
use crate::metrics::Metrics;
use crate::{api, follower, fulfiller};

/// Log target of starting and stopping.
const NODE_TARGET: &str = "storage::node";
/// How long open requests may run on after shutdown starts (an upload in progress is cut
/// off after it, and leaves nothing behind).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How long the follower and the fulfiller get to stop.
const TASKS_GRACE: Duration = Duration::from_secs(10);
/// The longest wait between attempts to reach the chain node at start.
const MAX_CONNECT_BACKOFF: Duration = Duration::from_secs(30);

/// What every part of the node shares; cheap to clone.
#[derive(Clone)]
pub struct Services {
    /// The database.
    pub db: Db,
    /// The blobs.
    pub blobs: BlobStore,
    /// The chain followed.
    pub chain: Chain,
    /// The metrics.
    pub metrics: Metrics,
    /// The settings.
    pub config: Arc<Config>,
    /// This node's id (32 hex characters), generated at its first start; signed messages name
    /// it.
    pub node_id: String,
    /// When this process started.
    pub started: Instant,
}

impl Services {
    /// Opens the data directory (creating it, owner-only, if needed): the database, the node
    /// id (generated at the first start), the blob store and its at-rest key. The data
    /// directory serves one chain: the first chain id seen is recorded, and a later start
    /// against another chain is refused.
    ///
    /// # Errors
    ///
    /// If the data directory cannot be created or opened (another process holds its database),
    /// or belongs to another chain.
    pub fn open(config: Config, chain: Chain) -> anyhow::Result<Self> {
        create_data_dir(&config.data_dir)?;
        let db = Db::open(&config.db_path())?;
        let node_id = identify(&db, &config, chain.chain_id())?;
        let blobs = BlobStore::open(&config.data_dir)?;
        Ok(Self {
            db,
            blobs,
            chain,
            metrics: Metrics::new(),
            config: Arc::new(config),
            node_id,
            started: Instant::now(),
        })
    }
}

fn create_data_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))
}

/// Reads (or, at the first start, generates) the node id, and checks (or records) the chain id.
fn identify(db: &Db, config: &Config, chain_id: &str) -> anyhow::Result<String> {
    let tx = db.redb().begin_write()?;
    let node_id = {
        let mut table = tx.open_table(META)?;
        let stored_chain = table
            .get(meta::CHAIN_ID)?
            .map(|v| String::from_utf8_lossy(v.value()).into_owned());
        match stored_chain {
            Some(stored) if stored != chain_id => anyhow::bail!(
                "the data directory {} belongs to chain {stored}, but the node at {} is on chain \
                 {chain_id}; use another --data-dir, or the --node-url of chain {stored}",
                config.data_dir.display(),
                config.node_url
            ),
            Some(_) => {}
            None => {
                table.insert(meta::CHAIN_ID, chain_id.as_bytes())?;
            }
        }
        let stored_id = table
            .get(meta::NODE_ID)?
            .map(|v| String::from_utf8_lossy(v.value()).into_owned());
        match stored_id {
            Some(id) => id,
            None => {
                let id = hex::encode(rand::random::<[u8; 16]>());
                table.insert(meta::NODE_ID, id.as_bytes())?;
                tracing::info!(target: NODE_TARGET, node_id = %id, "new storage node");
                id
            }
        }
    };
    tx.commit()?;
    Ok(node_id)
}

/// Unix seconds now (the node's clock).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

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
    let fulfiller = tokio::spawn(fulfiller::run(svc.clone(), stop_rx));

    let (signalled_tx, signalled_rx) = tokio::sync::oneshot::channel::<()>();
    let stopper = stop_tx.clone();
    let graceful = async move {
        shutdown.await;
        tracing::info!(target: NODE_TARGET, "shutting down");
        let _ = stopper.send(true);
        let _ = signalled_tx.send(());
    };
    let server = warp::serve(api::routes(svc))
        .incoming(listener)
        .graceful(graceful)
        .run();
    let limit = async move {
        if signalled_rx.await.is_ok() {
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = server => {}
        () = limit => tracing::warn!(
            target: NODE_TARGET,
            grace = ?SHUTDOWN_GRACE,
            "requests still open after the shutdown grace period; closing them"
        ),
    }
    let _ = stop_tx.send(true);
    for (name, task) in [("follower", follower), ("fulfiller", fulfiller)] {
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

/// The daemon: waits for the chain node (retrying with backoff), opens the data directory,
/// binds `config.listen`, writes `http://ADDR` to `<data_dir>/api.url`, and serves until
/// SIGINT or SIGTERM.
///
/// # Errors
///
/// If the data directory cannot be opened or the address cannot be bound.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let (signal_tx, signal_rx) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
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
    let listen = config.listen;
    let svc = tokio::task::spawn_blocking(move || Services::open(config, chain))
        .await
        .context("opening the data directory")??;
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    write_atomically(&api_url_path, &format!("http://{addr}\n"))?;
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
    let result = serve(listener, svc, stopped()).await;
    let _ = std::fs::remove_file(&api_url_path);
    tracing::info!(target: NODE_TARGET, "stopped");
    result
}

/// Reaches the chain node, retrying with backoff while it does not answer.
async fn connect(node_url: &str) -> anyhow::Result<Chain> {
    let mut delay = Duration::from_millis(250);
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
                tracing::warn!(
                    target: NODE_TARGET,
                    error = %format!("{error:#}"),
                    retry_in = ?delay,
                    "waiting for the chain node"
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_CONNECT_BACKOFF);
            }
        }
    }
}

/// SIGINT (Ctrl-C) or SIGTERM.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn write_atomically(path: &Path, contents: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

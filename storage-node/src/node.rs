//! [`Services`]: what every part of the node shares (the database, the blobs, the chain, the
//! metrics, the settings, the fulfiller's wake-up), opened from the data directory. Starting
//! and stopping the node is [`server`](crate::server)'s.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use redb::ReadableTable as _;
use tokio::sync::Notify;

use crate::blobs::uploads::Uploads;
use crate::blobs::BlobStore;
use crate::config::Config;
use crate::db::{meta, Db, META};
use crate::market::Chain;
use crate::metrics::Metrics;

/// Log target of starting and stopping.
pub(crate) const NODE_TARGET: &str = "storage::node";

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
    /// The uploads in progress and the room they reserve.
    pub uploads: Arc<Uploads>,
    /// Wakes this node's fulfiller when the follower records deliveries (a stored permit if it
    /// is busy). Per node, not per process: two nodes in one process never wake each other.
    pub(crate) wake: Arc<Notify>,
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
            uploads: Arc::default(),
            wake: Arc::new(Notify::new()),
        })
    }

    /// Tells this node's fulfiller that new deliveries may be due.
    pub fn wake_fulfiller(&self) {
        self.wake.notify_one();
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

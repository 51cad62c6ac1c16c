//! [`Services`]: what every part of the node shares (the database, the blobs, the chain, the
//! metrics, the settings, the fulfiller's wake-up), opened from the data directory. Starting
//! and stopping the node is [`server`](crate::server)'s.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use redb::{ReadableDatabase as _, ReadableTable as _};
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
    /// Opens the data directory (see [`Services::open_unverified`]) for a chain whose id the
    /// caller knows: `chain` is taken as verified. The data directory serves one chain: the
    /// first chain id seen is recorded, and a later start against another chain is refused.
    ///
    /// # Errors
    ///
    /// As [`Services::open_unverified`], and if the data directory belongs to another chain.
    pub fn open(config: Config, chain: Chain) -> anyhow::Result<Self> {
        let (db, node_id) = open_data_dir(&config)?;
        record_chain_id(&db, &config, chain.chain_id())?;
        Self::assemble(config, db, node_id, chain)
    }

    /// Opens the data directory before the chain node has answered: checks that it exists (or
    /// creates it, owner-only), that this user can write to it and that no other process holds
    /// its database (the lock is kept while the node runs), reads or generates the node id,
    /// opens the blob store and its at-rest key. The chain handle knows the chain id the data
    /// directory recorded, if any, and is verified later ([`Chain::verify`], then
    /// [`Services::record_chain_id`]).
    ///
    /// # Errors
    ///
    /// If the data directory cannot be created, written or locked, or its database or at-rest
    /// key cannot be read; each message names the directory and what to do.
    pub fn open_unverified(config: Config) -> anyhow::Result<Self> {
        let (db, node_id) = open_data_dir(&config)?;
        let stored = stored_chain_id(&db)?;
        let chain = Chain::unverified(&config.node_url, stored)?;
        Self::assemble(config, db, node_id, chain)
    }

    fn assemble(config: Config, db: Db, node_id: String, chain: Chain) -> anyhow::Result<Self> {
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

    /// Records the chain id the chain handle now knows in the data directory, if it recorded
    /// none yet (the first start of a new node).
    ///
    /// # Errors
    ///
    /// If the database fails, or it recorded another chain.
    pub fn record_chain_id(&self) -> anyhow::Result<()> {
        record_chain_id(&self.db, &self.config, self.chain.chain_id())
    }

    /// Tells this node's fulfiller that new deliveries may be due.
    pub fn wake_fulfiller(&self) {
        self.wake.notify_one();
    }
}

/// Checks and opens the data directory: created if missing, writable, its database locked for
/// this process; returns the database and the node id (generated at the first start).
fn open_data_dir(config: &Config) -> anyhow::Result<(Db, String)> {
    let dir = &config.data_dir;
    create_data_dir(dir)?;
    check_writable(dir)?;
    let db = Db::open(&config.db_path()).map_err(|error| {
        if error
            .downcast_ref::<redb::DatabaseError>()
            .is_some_and(|e| matches!(e, redb::DatabaseError::DatabaseAlreadyOpen))
        {
            anyhow::anyhow!(
                "the data directory {} is in use by another consign-storage (its database is \
                 locked); stop that one, or give this one another --data-dir",
                dir.display()
            )
        } else {
            error
        }
    })?;
    let node_id = node_id(&db)?;
    Ok((db, node_id))
}

fn create_data_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    anyhow::ensure!(
        !dir.exists(),
        "the data directory {} exists but is not a directory; give --data-dir a directory",
        dir.display()
    );
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).with_context(|| {
        format!(
            "cannot create the data directory {}; create it for the user that runs \
             consign-storage, or give another --data-dir",
            dir.display()
        )
    })
}

/// Writes (and removes) a file in `dir`, so a read-only directory is found at start, not at
/// the first upload.
fn check_writable(dir: &Path) -> anyhow::Result<()> {
    tempfile::Builder::new()
        .prefix(".write-check")
        .tempfile_in(dir)
        .map(drop)
        .with_context(|| {
            format!(
                "the data directory {} is not writable by this user; make it writable by the \
                 user that runs consign-storage (the systemd unit's StateDirectory= does), or \
                 give another --data-dir",
                dir.display()
            )
        })
}

/// Reads (or, at the first start, generates) the node id.
fn node_id(db: &Db) -> anyhow::Result<String> {
    let tx = db.redb().begin_write()?;
    let node_id = {
        let mut table = tx.open_table(META)?;
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

/// The chain id the data directory recorded, if any.
fn stored_chain_id(db: &Db) -> anyhow::Result<Option<String>> {
    let tx = db.redb().begin_read()?;
    let table = tx.open_table(META)?;
    let stored = table
        .get(meta::CHAIN_ID)?
        .map(|v| String::from_utf8_lossy(v.value()).into_owned());
    Ok(stored)
}

/// Checks `chain_id` against the one the data directory recorded, or records it if there is
/// none; nothing to do while it is unknown.
fn record_chain_id(db: &Db, config: &Config, chain_id: Option<&str>) -> anyhow::Result<()> {
    let Some(chain_id) = chain_id else {
        return Ok(());
    };
    let tx = db.redb().begin_write()?;
    {
        let mut table = tx.open_table(META)?;
        let stored_chain = table
            .get(meta::CHAIN_ID)?
            .map(|v| String::from_utf8_lossy(v.value()).into_owned());
        match stored_chain {
            Some(stored) if stored != chain_id => anyhow::bail!(
                "the data directory {} belongs to chain {stored}, but the node at {} is on chain \
                 {chain_id}; use another --data-dir, or the --node-url of chain {stored}",
                config.data_dir.display(),
                config.node_url.join(", ")
            ),
            Some(_) => {}
            None => {
                table.insert(meta::CHAIN_ID, chain_id.as_bytes())?;
            }
        }
    }
    tx.commit()?;
    Ok(())
}

/// Unix seconds now (the node's clock).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

//! The storage node's embedded database (redb): what it holds, who uploaded it, the private
//! registrations, the follower's cursor and every delivery's state. One file,
//! `<data_dir>/storage.redb`; every change is one ACID write transaction, so a `kill -9` loses
//! nothing that was acknowledged.
//!
//! Values are JSON (small, self-describing, easy to inspect); keys are the natural ids.

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableTable, TableDefinition};

/// Small singletons, under the keys of [`meta`]: the node's identity, the follower's cursor, and
/// counters kept in step with the other tables.
pub(crate) const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");
/// sha256 (hex) → JSON `BlobMeta`: the blobs held.
pub(crate) const BLOBS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("blobs");
/// (account, sha256) → size: which account uploaded which blob (ownership and quota).
pub(crate) const BLOB_OWNERS: TableDefinition<'_, (&str, &str), u64> =
    TableDefinition::new("blob_owners");
/// account → bytes stored by it, the sum of its `BLOB_OWNERS` sizes.
pub(crate) const USAGE: TableDefinition<'_, &str, u64> = TableDefinition::new("usage");
/// (contract, offer id) → JSON `RegistrationRecord`: the offers this node serves.
pub(crate) const REGISTRATIONS: TableDefinition<'_, (&str, u64), &[u8]> =
    TableDefinition::new("registrations");
/// (signer, nonce) → issued_at: registration nonces already used (replay protection).
pub(crate) const NONCES: TableDefinition<'_, (&str, &str), u64> = TableDefinition::new("nonces");
/// delivery sequence → JSON `DeliveryEntry`: every instruction this node acts on, and its state.
pub(crate) const DELIVERIES: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("deliveries");

/// The keys of [`META`].
pub(crate) mod meta {
    /// The node's id, 32 lowercase hex characters, generated at the first start.
    pub(crate) const NODE_ID: &str = "node_id";
    /// The chain id of the node followed (UTF-8): a data directory serves one chain.
    pub(crate) const CHAIN_ID: &str = "chain_id";
    /// u64 big-endian: the last delivery sequence fully handled by the follower.
    pub(crate) const FOLLOWER_CURSOR: &str = "follower_cursor";
    /// u64 big-endian: how many distinct blobs `BLOBS` holds.
    pub(crate) const BLOB_COUNT: &str = "blob_count";
    /// u64 big-endian: the sum of their plaintext sizes.
    pub(crate) const BYTES_STORED: &str = "bytes_stored";
    /// u64 big-endian: the layout version of this database.
    pub(crate) const SCHEMA_VERSION: &str = "schema_version";
}

/// The layout version this code writes and reads.
const SCHEMA_VERSION: u64 = 1;

/// A u64 stored big-endian in [`META`]; 0 when absent.
pub(crate) fn meta_u64(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
) -> Result<u64, redb::StorageError> {
    Ok(table
        .get(key)?
        .and_then(|value| <[u8; 8]>::try_from(value.value()).ok())
        .map_or(0, u64::from_be_bytes))
}

/// Stores a u64 big-endian in [`META`].
pub(crate) fn set_meta_u64(
    table: &mut redb::Table<'_, &'static str, &'static [u8]>,
    key: &str,
    value: u64,
) -> Result<(), redb::StorageError> {
    table.insert(key, value.to_be_bytes().as_slice())?;
    Ok(())
}

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Database>,
}

impl Db {
    /// Opens (creating if needed) the database file and every table.
    ///
    /// # Errors
    ///
    /// If the file cannot be opened (another process holds it, or it is not a redb file).
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let db = Database::create(path)
            .with_context(|| format!("cannot open the database {}", path.display()))?;
        let tx = db.begin_write()?;
        {
            let mut meta = tx.open_table(META)?;
            match meta_u64(&meta, meta::SCHEMA_VERSION)? {
                0 => set_meta_u64(&mut meta, meta::SCHEMA_VERSION, SCHEMA_VERSION)?,
                SCHEMA_VERSION => {}
                other => anyhow::bail!(
                    "the database {} has layout version {other}, but this consign-storage \
                     reads version {SCHEMA_VERSION}; run the version that wrote it",
                    path.display()
                ),
            }
        }
        tx.open_table(BLOBS)?;
        tx.open_table(BLOB_OWNERS)?;
        tx.open_table(USAGE)?;
        tx.open_table(REGISTRATIONS)?;
        tx.open_table(NONCES)?;
        tx.open_table(DELIVERIES)?;
        tx.commit()?;
        Ok(Db {
            inner: Arc::new(db),
        })
    }

    /// The redb database.
    pub(crate) fn redb(&self) -> &Database {
        &self.inner
    }
}

//! Durable storage in redb: the state, blocks, transactions, the delivery log and the chain's
//! metadata. Each block is written in one write transaction, so after a crash the database is
//! at the last committed block, whole.

use std::collections::BTreeMap;
use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use crate::error::ChainError;

pub(crate) const STATE: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("state");
pub(crate) const BLOCKS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("blocks");
pub(crate) const TXS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("txs");
pub(crate) const TX_BYTES: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("tx_bytes");
pub(crate) const DELIVERIES: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("deliveries");
pub(crate) const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");

/// Everything one block writes.
#[derive(Debug, Default)]
pub(crate) struct BlockWrite {
    pub(crate) height: u64,
    pub(crate) block: Vec<u8>,
    pub(crate) txs: Vec<(String, Vec<u8>)>,
    /// Each included transaction's bytes as broadcast, by hash.
    pub(crate) tx_bytes: Vec<(String, Vec<u8>)>,
    pub(crate) deliveries: Vec<(u64, Vec<u8>)>,
    pub(crate) changes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    pub(crate) meta: Vec<(&'static str, Vec<u8>)>,
}

/// The chain's database.
pub(crate) struct Db {
    db: Database,
}

impl Db {
    pub(crate) fn open(path: &Path) -> Result<Self, ChainError> {
        let db = Database::create(path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => ChainError::Locked {
                path: path.to_path_buf(),
            },
            e => ChainError::Db(format!("opening {}: {e}", path.display())),
        })?;
        let txn = db.begin_write().map_err(ChainError::db)?;
        {
            txn.open_table(STATE).map_err(ChainError::db)?;
            txn.open_table(BLOCKS).map_err(ChainError::db)?;
            txn.open_table(TXS).map_err(ChainError::db)?;
            txn.open_table(TX_BYTES).map_err(ChainError::db)?;
            txn.open_table(DELIVERIES).map_err(ChainError::db)?;
            txn.open_table(META).map_err(ChainError::db)?;
        }
        txn.commit().map_err(ChainError::db)?;
        Ok(Self { db })
    }

    /// Writes a block atomically and durably.
    pub(crate) fn commit(&self, write: &BlockWrite) -> Result<(), ChainError> {
        let txn = self.db.begin_write().map_err(ChainError::db)?;
        {
            let mut state = txn.open_table(STATE).map_err(ChainError::db)?;
            for (key, change) in &write.changes {
                match change {
                    Some(value) => {
                        state
                            .insert(key.as_slice(), value.as_slice())
                            .map_err(ChainError::db)?;
                    }
                    None => {
                        state.remove(key.as_slice()).map_err(ChainError::db)?;
                    }
                }
            }
            let mut blocks = txn.open_table(BLOCKS).map_err(ChainError::db)?;
            blocks
                .insert(write.height, write.block.as_slice())
                .map_err(ChainError::db)?;
            let mut txs = txn.open_table(TXS).map_err(ChainError::db)?;
            for (hash, result) in &write.txs {
                txs.insert(hash.as_str(), result.as_slice())
                    .map_err(ChainError::db)?;
            }
            let mut tx_bytes = txn.open_table(TX_BYTES).map_err(ChainError::db)?;
            for (hash, bytes) in &write.tx_bytes {
                tx_bytes
                    .insert(hash.as_str(), bytes.as_slice())
                    .map_err(ChainError::db)?;
            }
            let mut deliveries = txn.open_table(DELIVERIES).map_err(ChainError::db)?;
            for (seq, record) in &write.deliveries {
                deliveries
                    .insert(*seq, record.as_slice())
                    .map_err(ChainError::db)?;
            }
            let mut meta = txn.open_table(META).map_err(ChainError::db)?;
            for (key, value) in &write.meta {
                meta.insert(*key, value.as_slice())
                    .map_err(ChainError::db)?;
            }
        }
        txn.commit().map_err(ChainError::db)
    }

    /// The whole state, to serve from memory.
    pub(crate) fn load_state(&self) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, ChainError> {
        let txn = self.db.begin_read().map_err(ChainError::db)?;
        let table = txn.open_table(STATE).map_err(ChainError::db)?;
        let mut state = BTreeMap::new();
        for entry in table.iter().map_err(ChainError::db)? {
            let (k, v) = entry.map_err(ChainError::db)?;
            state.insert(k.value().to_vec(), v.value().to_vec());
        }
        Ok(state)
    }

    pub(crate) fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, ChainError> {
        let txn = self.db.begin_read().map_err(ChainError::db)?;
        let table = txn.open_table(META).map_err(ChainError::db)?;
        Ok(table
            .get(key)
            .map_err(ChainError::db)?
            .map(|v| v.value().to_vec()))
    }

    pub(crate) fn block(&self, height: u64) -> Result<Option<Vec<u8>>, ChainError> {
        let txn = self.db.begin_read().map_err(ChainError::db)?;
        let table = txn.open_table(BLOCKS).map_err(ChainError::db)?;
        Ok(table
            .get(height)
            .map_err(ChainError::db)?
            .map(|v| v.value().to_vec()))
    }

    pub(crate) fn tx(&self, hash: &str) -> Result<Option<Vec<u8>>, ChainError> {
        let txn = self.db.begin_read().map_err(ChainError::db)?;
        let table = txn.open_table(TXS).map_err(ChainError::db)?;
        Ok(table
            .get(hash)
            .map_err(ChainError::db)?
            .map(|v| v.value().to_vec()))
    }

    pub(crate) fn tx_bytes(&self, hash: &str) -> Result<Option<Vec<u8>>, ChainError> {
        let txn = self.db.begin_read().map_err(ChainError::db)?;
        let table = txn.open_table(TX_BYTES).map_err(ChainError::db)?;
        Ok(table
            .get(hash)
            .map_err(ChainError::db)?
            .map(|v| v.value().to_vec()))
    }

    /// Delivery records with sequence > `after`, at most `limit`.
    pub(crate) fn deliveries(&self, after: u64, limit: usize) -> Result<Vec<Vec<u8>>, ChainError> {
        let txn = self.db.begin_read().map_err(ChainError::db)?;
        let table = txn.open_table(DELIVERIES).map_err(ChainError::db)?;
        let mut out = Vec::new();
        let start = after.saturating_add(1);
        for entry in table.range(start..).map_err(ChainError::db)?.take(limit) {
            let (_, v) = entry.map_err(ChainError::db)?;
            out.push(v.value().to_vec());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_open_elsewhere_is_reported_as_locked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chain.redb");
        let _first = Db::open(&path).unwrap();
        match Db::open(&path) {
            Err(ChainError::Locked { path: locked }) => assert_eq!(locked, path),
            Err(other) => panic!("expected Locked, got {other}"),
            Ok(_) => panic!("the database opened twice"),
        }
    }
}

//! The database side of the blobs: what is held (`BLOBS`), who uploaded what (`BLOB_OWNERS`)
//! and how much each account stores (`USAGE`), with the node-wide counters in `META`.
//!
//! An account is charged for each distinct blob it uploaded, whoever else uploaded the same
//! bytes: the node keeps one copy, but each uploader proved it holds the data (its upload was
//! hashed), and each account's quota stays independent of the others'.

use consign_client::UploadReceipt;
use redb::{ReadableDatabase as _, ReadableTable as _};
use serde::{Deserialize, Serialize};

use super::WrittenBlob;
use crate::db::{self, meta, Db, BLOBS, BLOB_OWNERS, META, USAGE};

/// What `BLOBS` records of a blob.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobMeta {
    /// The plaintext's size in bytes.
    pub size: u64,
    /// When it was first stored (Unix seconds).
    pub stored_at: u64,
    /// When an account last took it on (uploaded it without owning it yet; Unix seconds), if
    /// after `stored_at`: the unregistered-blob sweep counts from the later of the two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewed_at: Option<u64>,
}

impl BlobMeta {
    /// When an account last took it on: the sweep's starting point.
    pub fn taken_on(&self) -> u64 {
        self.renewed_at.unwrap_or(0).max(self.stored_at)
    }
}

/// Node-wide totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Distinct blobs held.
    pub blobs: u64,
    /// The sum of their plaintext sizes.
    pub bytes: u64,
}

/// One account's storage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AccountUsage {
    /// Bytes charged to it.
    pub bytes: u64,
    /// Blobs it uploaded.
    pub blobs: u64,
}

/// An upload the quota does not allow.
#[derive(Debug, thiserror::Error)]
#[error(
    "quota exceeded: account {account} stores {usage} bytes of its {quota}, and this blob needs \
     {size} more; ask the operator for more room"
)]
pub struct QuotaExceeded {
    /// The uploader.
    pub account: String,
    /// What it stores now.
    pub usage: u64,
    /// Its quota.
    pub quota: u64,
    /// The blob's size.
    pub size: u64,
}

/// Why [`record_upload`] refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// Over quota.
    #[error(transparent)]
    Quota(#[from] QuotaExceeded),
    /// The database or the file system failed.
    #[error("the storage node could not record the blob: {0}")]
    Storage(String),
}

fn storage(error: impl std::fmt::Display) -> RecordError {
    RecordError::Storage(error.to_string())
}

/// The size of `sha256` if `account` uploaded it.
///
/// # Errors
///
/// If the database cannot be read.
pub fn owned_size(db: &Db, account: &str, sha256: &str) -> anyhow::Result<Option<u64>> {
    let tx = db.redb().begin_read()?;
    let owners = tx.open_table(BLOB_OWNERS)?;
    Ok(owners.get((account, sha256))?.map(|v| v.value()))
}

/// What `account` stores.
///
/// # Errors
///
/// If the database cannot be read.
pub fn usage(db: &Db, account: &str) -> anyhow::Result<AccountUsage> {
    let tx = db.redb().begin_read()?;
    let bytes = tx.open_table(USAGE)?.get(account)?.map_or(0, |v| v.value());
    let owners = tx.open_table(BLOB_OWNERS)?;
    // Every (account, sha) pair with this account: sha256 names sort after "" and before "g".
    let blobs = owners.range((account, "")..(account, "g"))?.count() as u64;
    Ok(AccountUsage { bytes, blobs })
}

/// The blob's record, if held.
///
/// # Errors
///
/// If the database cannot be read or the record is corrupt.
pub fn blob_meta(db: &Db, sha256: &str) -> anyhow::Result<Option<BlobMeta>> {
    let tx = db.redb().begin_read()?;
    let blobs = tx.open_table(BLOBS)?;
    match blobs.get(sha256)? {
        Some(value) => Ok(Some(serde_json::from_slice(value.value())?)),
        None => Ok(None),
    }
}

/// Node-wide totals.
///
/// # Errors
///
/// If the database cannot be read.
pub fn stats(db: &Db) -> anyhow::Result<StoreStats> {
    let tx = db.redb().begin_read()?;
    let meta_table = tx.open_table(META)?;
    Ok(StoreStats {
        blobs: db::meta_u64(&meta_table, meta::BLOB_COUNT)?,
        bytes: db::meta_u64(&meta_table, meta::BYTES_STORED)?,
    })
}

fn check_quota(account: &str, usage: u64, size: u64, quota: u64) -> Result<(), QuotaExceeded> {
    if usage.saturating_add(size) > quota {
        return Err(QuotaExceeded {
            account: account.to_owned(),
            usage,
            quota,
            size,
        });
    }
    Ok(())
}

/// Records a received blob for `account` in one write transaction: puts the file in place if
/// it is not there yet, adds the blob to `BLOBS` and the node's totals if new, and charges the
/// account unless it already owned the blob. The quota is checked again here, against the
/// committed usage, so concurrent uploads cannot together exceed it. Blocking.
///
/// The file is renamed into place before the commit: a crash in between leaves a complete,
/// verified file that no record points to, which the next upload of the same bytes adopts.
///
/// # Errors
///
/// [`RecordError::Quota`] (and the received file is removed), or [`RecordError::Storage`].
pub fn record_upload(
    db: &Db,
    written: WrittenBlob,
    account: &str,
    quota: u64,
    now: u64,
) -> Result<UploadReceipt, RecordError> {
    let sha256 = written.sha256.clone();
    let size = written.size;
    let tx = db.redb().begin_write().map_err(storage)?;
    let receipt = {
        let mut owners = tx.open_table(BLOB_OWNERS).map_err(storage)?;
        let mut usage_table = tx.open_table(USAGE).map_err(storage)?;
        let usage = usage_table
            .get(account)
            .map_err(storage)?
            .map_or(0, |v| v.value());
        let owned = owners
            .get((account, sha256.as_str()))
            .map_err(storage)?
            .is_some();
        if !owned {
            check_quota(account, usage, size, quota)?;
        }
        written.install().map_err(storage)?;

        let mut blobs = tx.open_table(BLOBS).map_err(storage)?;
        let existing: Option<BlobMeta> = blobs
            .get(sha256.as_str())
            .map_err(storage)?
            .and_then(|value| serde_json::from_slice(value.value()).ok());
        if let Some(mut record) = existing.filter(|_| !owned) {
            // A new owner: its unregistered-blob time limit starts now.
            record.renewed_at = Some(now);
            let record = serde_json::to_vec(&record).map_err(storage)?;
            blobs
                .insert(sha256.as_str(), record.as_slice())
                .map_err(storage)?;
        } else if blobs.get(sha256.as_str()).map_err(storage)?.is_none() {
            let record = serde_json::to_vec(&BlobMeta {
                size,
                stored_at: now,
                renewed_at: None,
            })
            .map_err(storage)?;
            blobs
                .insert(sha256.as_str(), record.as_slice())
                .map_err(storage)?;
            let mut meta_table = tx.open_table(META).map_err(storage)?;
            let count = db::meta_u64(&meta_table, meta::BLOB_COUNT).map_err(storage)?;
            let bytes = db::meta_u64(&meta_table, meta::BYTES_STORED).map_err(storage)?;
            db::set_meta_u64(&mut meta_table, meta::BLOB_COUNT, count + 1).map_err(storage)?;
            db::set_meta_u64(
                &mut meta_table,
                meta::BYTES_STORED,
                bytes.saturating_add(size),
            )
            .map_err(storage)?;
        }
        let account_usage = if owned {
            usage
        } else {
            owners
                .insert((account, sha256.as_str()), size)
                .map_err(storage)?;
            let total = usage.saturating_add(size);
            usage_table.insert(account, total).map_err(storage)?;
            total
        };
        UploadReceipt {
            sha256,
            size,
            created: !owned,
            account_usage,
        }
    };
    tx.commit().map_err(storage)?;
    Ok(receipt)
}

#[cfg(test)]
mod tests {
    use consign_client::storage::sha256_hex;

    use super::*;
    use crate::blobs::BlobStore;

    fn written(store: &BlobStore, data: &[u8]) -> WrittenBlob {
        let mut writer = store.writer().unwrap();
        writer.write(data).unwrap();
        writer.finish().unwrap()
    }

    #[test]
    fn uploads_are_charged_once_per_account_and_counted_once_per_blob() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("storage.redb")).unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let sha = sha256_hex(b"twelve bytes");

        let first = record_upload(&db, written(&store, b"twelve bytes"), "alice", 100, 1).unwrap();
        assert!(first.created);
        assert_eq!(first.account_usage, 12);
        let again = record_upload(&db, written(&store, b"twelve bytes"), "alice", 100, 2).unwrap();
        assert!(!again.created);
        assert_eq!(again.account_usage, 12);
        let bob = record_upload(&db, written(&store, b"twelve bytes"), "bob", 100, 3).unwrap();
        assert!(bob.created);

        assert_eq!(
            stats(&db).unwrap(),
            StoreStats {
                blobs: 1,
                bytes: 12
            }
        );
        assert_eq!(
            usage(&db, "alice").unwrap(),
            AccountUsage {
                bytes: 12,
                blobs: 1
            }
        );
        assert_eq!(owned_size(&db, "bob", &sha).unwrap(), Some(12));
        assert_eq!(blob_meta(&db, &sha).unwrap().unwrap().stored_at, 1);
        assert_eq!(std::fs::read_dir(store.tmp_dir()).unwrap().count(), 0);
    }

    #[test]
    fn the_quota_is_enforced_at_commit() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("storage.redb")).unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        record_upload(&db, written(&store, b"0123456789"), "alice", 15, 1).unwrap();
        let big = sha256_hex(b"abcdefgh");
        let err = record_upload(&db, written(&store, b"abcdefgh"), "alice", 15, 2).unwrap_err();
        assert!(matches!(err, RecordError::Quota(_)), "{err}");
        assert!(!store.contains(&big).unwrap());
        assert_eq!(std::fs::read_dir(store.tmp_dir()).unwrap().count(), 0);
        assert_eq!(usage(&db, "alice").unwrap().bytes, 10);
    }
}

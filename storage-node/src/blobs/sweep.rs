//! [`sweep`]: deletes the blobs nobody registered in time, and gives their quota back, so an
//! upload that is never offered does not keep the node's disk forever.
//!
//! A blob is kept while any registration names it; otherwise it is deleted once
//! `unregistered_ttl` has passed since an account last took it on (its first upload, or a new
//! owner's). Everything happens in one write transaction: the registrations are read, the
//! records and the charges removed and the files deleted before the commit, so a registration
//! (which records in a write transaction of its own) or an upload of the same bytes (which puts
//! its file in place inside its own) runs entirely before or entirely after a sweep.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use redb::ReadableTable as _;

use super::index::BlobMeta;
use super::BlobStore;
use crate::db::{self, meta, Db, BLOBS, BLOB_OWNERS, META, REGISTRATIONS, USAGE};
use crate::registrations::RegistrationRecord;

/// Log target of the sweep.
pub(crate) const SWEEP_TARGET: &str = "storage::sweep";

/// What one sweep removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Blobs deleted.
    pub blobs: u64,
    /// Their plaintext bytes.
    pub bytes: u64,
}

/// Deletes every blob that no registration names and that no account took on in the last
/// `ttl` before `now` (Unix seconds); returns what went. Blocking.
///
/// # Errors
///
/// If the database cannot be read or written, or a file cannot be removed (then nothing is
/// committed and the next sweep tries again).
pub fn sweep(db: &Db, blobs: &BlobStore, ttl: Duration, now: u64) -> anyhow::Result<Swept> {
    let horizon = now.saturating_sub(ttl.as_secs());
    let tx = db.redb().begin_write()?;
    let mut swept = Swept::default();
    {
        let registered: HashSet<String> = {
            let table = tx.open_table(REGISTRATIONS)?;
            let mut set = HashSet::new();
            for entry in table.iter()? {
                let (_, value) = entry?;
                if let Ok(record) = serde_json::from_slice::<RegistrationRecord>(value.value()) {
                    set.insert(record.sha256);
                }
            }
            set
        };
        let mut blobs_table = tx.open_table(BLOBS)?;
        let mut expired: HashMap<String, u64> = HashMap::new();
        for entry in blobs_table.iter()? {
            let (key, value) = entry?;
            let sha256 = key.value();
            if registered.contains(sha256) {
                continue;
            }
            let Ok(record) = serde_json::from_slice::<BlobMeta>(value.value()) else {
                continue; // Unreadable: left for the operator rather than guessed at.
            };
            if record.taken_on() <= horizon {
                expired.insert(sha256.to_owned(), record.size);
            }
        }
        if expired.is_empty() {
            return Ok(swept);
        }
        let mut owners = tx.open_table(BLOB_OWNERS)?;
        let mut charges: Vec<(String, String, u64)> = Vec::new();
        for entry in owners.iter()? {
            let (key, value) = entry?;
            let (account, sha256) = key.value();
            if expired.contains_key(sha256) {
                charges.push((account.to_owned(), sha256.to_owned(), value.value()));
            }
        }
        let mut usage = tx.open_table(USAGE)?;
        for (account, sha256, size) in &charges {
            owners.remove((account.as_str(), sha256.as_str()))?;
            let left = usage
                .get(account.as_str())?
                .map_or(0, |v| v.value())
                .saturating_sub(*size);
            if left == 0 {
                usage.remove(account.as_str())?;
            } else {
                usage.insert(account.as_str(), left)?;
            }
        }
        for (sha256, size) in &expired {
            blobs_table.remove(sha256.as_str())?;
            let path = blobs.path(sha256)?;
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(anyhow::anyhow!("cannot remove {}: {e}", path.display()));
                }
            }
            swept.blobs += 1;
            swept.bytes = swept.bytes.saturating_add(*size);
        }
        let mut meta_table = tx.open_table(META)?;
        let count = db::meta_u64(&meta_table, meta::BLOB_COUNT)?;
        let bytes = db::meta_u64(&meta_table, meta::BYTES_STORED)?;
        db::set_meta_u64(
            &mut meta_table,
            meta::BLOB_COUNT,
            count.saturating_sub(swept.blobs),
        )?;
        db::set_meta_u64(
            &mut meta_table,
            meta::BYTES_STORED,
            bytes.saturating_sub(swept.bytes),
        )?;
    }
    tx.commit()?;
    Ok(swept)
}

#[cfg(test)]
mod tests {
    use consign_client::storage::sha256_hex;

    use super::*;
    use crate::blobs::index::{record_upload, stats, usage};
    use crate::registrations;

    #[test]
    fn unregistered_blobs_go_after_the_ttl_and_registered_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("storage.redb")).unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let put = |data: &[u8], account: &str, now: u64| {
            let mut writer = store.writer().unwrap();
            writer.write(data).unwrap();
            record_upload(&db, writer.finish().unwrap(), account, 1000, now).unwrap();
        };
        put(b"kept: registered", "alice", 100);
        put(b"dropped", "alice", 100);
        put(b"dropped", "bob", 100);
        put(b"young", "alice", 150);
        registrations::put(
            &db,
            "consign1contract",
            1,
            &RegistrationRecord {
                sha256: sha256_hex(b"kept: registered"),
                seller: "alice".into(),
                registered_at: 120,
                custody: None,
            },
        )
        .unwrap();
        let ttl = Duration::from_secs(60);
        assert_eq!(sweep(&db, &store, ttl, 159).unwrap(), Swept::default());
        assert_eq!(
            sweep(&db, &store, ttl, 160).unwrap(),
            Swept { blobs: 1, bytes: 7 }
        );
        assert!(!store.contains(&sha256_hex(b"dropped")).unwrap());
        assert!(store.contains(&sha256_hex(b"kept: registered")).unwrap());
        assert_eq!(usage(&db, "alice").unwrap().bytes, 16 + 5);
        assert_eq!(usage(&db, "bob").unwrap().bytes, 0);
        assert_eq!(stats(&db).unwrap().blobs, 2);
        assert_eq!(
            sweep(&db, &store, ttl, 1000).unwrap(),
            Swept { blobs: 1, bytes: 5 }
        );
        assert_eq!(usage(&db, "alice").unwrap().bytes, 16);
    }
}

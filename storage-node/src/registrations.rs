//! Registrations: a seller's private binding of (contract, offer id) to a blob held here, which
//! tells the follower that this node delivers that offer. Nothing about it goes on-chain.
//!
//! [`register`] accepts a [`Signed`](consign_client::Signed) [`Registration`](consign_client::Registration)
//! only after every check passed:
//! the signature, that it is meant for this node and chain, that it is fresh and not replayed,
//! that the signer uploaded the blob, and — with smart queries — that the offer exists, the
//! signer is its seller and its digest and size are the blob's. The nonce is stored in the same
//! write transaction as the registration, so a replay is refused even across restarts.

mod check;

use consign_client::storage::{RegistrationView, RegistrationViewPage};
use redb::{ReadableDatabase as _, ReadableTable as _, ReadableTableMetadata as _};
use serde::{Deserialize, Serialize};

pub use check::{register, RegistrationError, FRESHNESS_SECS};

use crate::db::{Db, BLOB_OWNERS, NONCES, REGISTRATIONS};

/// What the node keeps of an accepted registration, under (contract, offer id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationRecord {
    /// The blob's SHA-256 (the offer's `content_sha256`).
    pub sha256: String,
    /// The offer's seller, who signed the registration.
    pub seller: String,
    /// When it was first registered (Unix seconds, the node's clock).
    pub registered_at: u64,
}

/// The registration of an offer, if this node serves it.
///
/// # Errors
///
/// If the database cannot be read or the record is corrupt.
pub fn lookup(
    db: &Db,
    contract: &str,
    offer_id: u64,
) -> anyhow::Result<Option<RegistrationRecord>> {
    let tx = db.redb().begin_read()?;
    let table = tx.open_table(REGISTRATIONS)?;
    match table.get((contract, offer_id))? {
        Some(value) => Ok(Some(serde_json::from_slice(value.value())?)),
        None => Ok(None),
    }
}

/// Stores a registration as is, without any check: for tools and tests. The API goes through
/// [`register`].
///
/// # Errors
///
/// If the database cannot be written.
pub fn put(
    db: &Db,
    contract: &str,
    offer_id: u64,
    record: &RegistrationRecord,
) -> anyhow::Result<()> {
    let tx = db.redb().begin_write()?;
    {
        let mut table = tx.open_table(REGISTRATIONS)?;
        table.insert((contract, offer_id), serde_json::to_vec(record)?.as_slice())?;
    }
    tx.commit()?;
    Ok(())
}

/// How many offers are registered.
///
/// # Errors
///
/// If the database cannot be read.
pub fn count(db: &Db) -> anyhow::Result<u64> {
    let tx = db.redb().begin_read()?;
    Ok(tx.open_table(REGISTRATIONS)?.len()?)
}

/// A page of registrations in (contract, offer id) order, after `after` (exclusive).
///
/// # Errors
///
/// If the database cannot be read.
pub fn list(
    db: &Db,
    after: Option<(&str, u64)>,
    limit: usize,
) -> anyhow::Result<RegistrationViewPage> {
    let tx = db.redb().begin_read()?;
    let table = tx.open_table(REGISTRATIONS)?;
    let range = match after {
        Some((contract, offer_id)) => table.range((contract, offer_id)..)?,
        None => table.range::<(&str, u64)>(..)?,
    };
    let mut registrations = Vec::new();
    let mut more = false;
    for entry in range {
        let (key, value) = entry?;
        let (contract, offer_id) = key.value();
        if after == Some((contract, offer_id)) {
            continue;
        }
        if registrations.len() == limit {
            more = true;
            break;
        }
        let record: RegistrationRecord = serde_json::from_slice(value.value())?;
        registrations.push(RegistrationView {
            contract: contract.to_owned(),
            offer_id,
            sha256: record.sha256,
            seller: record.seller,
            registered_at: record.registered_at,
        });
    }
    let next_after = more
        .then(|| registrations.last())
        .flatten()
        .map(|last| format!("{}/{}", last.contract, last.offer_id));
    Ok(RegistrationViewPage {
        registrations,
        next_after,
    })
}

/// Whether `signer` already used `nonce`.
///
/// # Errors
///
/// If the database cannot be read.
pub(crate) fn nonce_used(db: &Db, signer: &str, nonce: &str) -> anyhow::Result<bool> {
    let tx = db.redb().begin_read()?;
    Ok(tx.open_table(NONCES)?.get((signer, nonce))?.is_some())
}

/// What [`commit`] did.
pub(crate) enum Committed {
    /// Recorded (new, or the same binding again).
    Recorded(RegistrationRecord),
    /// The nonce was used meanwhile.
    Replayed,
    /// The signer no longer holds the blob (the sweep of unregistered blobs deleted it
    /// meanwhile).
    NoBlob,
}

/// Records a checked registration and its nonce in one write transaction, and forgets nonces
/// too old to be accepted anyway. Keeps the first `registered_at` of a binding registered
/// again. Blocking.
pub(crate) fn commit(
    db: &Db,
    contract: &str,
    offer_id: u64,
    record: RegistrationRecord,
    nonce: &str,
    issued_at: u64,
    now: u64,
) -> anyhow::Result<Committed> {
    let tx = db.redb().begin_write()?;
    let stored = {
        // Checked again in the write transaction, which the sweep of unregistered blobs also
        // takes: a registration commits before a sweep (which then keeps the blob) or after
        // it (and is refused here), never for a deleted blob.
        let owned = tx
            .open_table(BLOB_OWNERS)?
            .get((record.seller.as_str(), record.sha256.as_str()))?
            .is_some();
        if !owned {
            return Ok(Committed::NoBlob);
        }
        let mut nonces = tx.open_table(NONCES)?;
        if nonces.get((record.seller.as_str(), nonce))?.is_some() {
            return Ok(Committed::Replayed);
        }
        // A nonce issued more than the freshness window (plus a margin for clock steps) ago
        // cannot come back: its registration would be refused as stale.
        let horizon = now.saturating_sub(FRESHNESS_SECS + 60);
        nonces.retain(|_, issued| issued >= horizon)?;
        nonces.insert((record.seller.as_str(), nonce), issued_at)?;

        let mut table = tx.open_table(REGISTRATIONS)?;
        let existing: Option<RegistrationRecord> = match table.get((contract, offer_id))? {
            Some(value) => serde_json::from_slice(value.value()).ok(),
            None => None,
        };
        match existing {
            Some(old) if old.sha256 == record.sha256 && old.seller == record.seller => old,
            _ => {
                table.insert(
                    (contract, offer_id),
                    serde_json::to_vec(&record)?.as_slice(),
                )?;
                record
            }
        }
    };
    tx.commit()?;
    Ok(Committed::Recorded(stored))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seller: &str, at: u64) -> RegistrationRecord {
        RegistrationRecord {
            sha256: consign_client::storage::sha256_hex(b"x"),
            seller: seller.into(),
            registered_at: at,
        }
    }

    #[test]
    fn put_lookup_list_and_count() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("storage.redb")).unwrap();
        for (contract, offer) in [("consign1b", 2), ("consign1a", 9), ("consign1b", 1)] {
            put(&db, contract, offer, &record("s", offer)).unwrap();
        }
        assert_eq!(count(&db).unwrap(), 3);
        assert_eq!(lookup(&db, "consign1a", 9).unwrap(), Some(record("s", 9)));
        assert_eq!(lookup(&db, "consign1a", 1).unwrap(), None);

        let page = list(&db, None, 2).unwrap();
        let keys: Vec<_> = page
            .registrations
            .iter()
            .map(|r| (r.contract.as_str(), r.offer_id))
            .collect();
        assert_eq!(keys, [("consign1a", 9), ("consign1b", 1)]);
        assert_eq!(page.next_after.as_deref(), Some("consign1b/1"));
        let page = list(&db, Some(("consign1b", 1)), 2).unwrap();
        assert_eq!(page.registrations.len(), 1);
        assert_eq!(page.registrations[0].offer_id, 2);
        assert_eq!(page.next_after, None);
    }

    #[test]
    fn a_nonce_is_used_once_and_old_nonces_are_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("storage.redb")).unwrap();
        let sha = consign_client::storage::sha256_hex(b"x");
        assert!(matches!(
            commit(&db, "c", 1, record("s", 1), "n0", 1, 1).unwrap(),
            Committed::NoBlob
        ));
        let tx = db.redb().begin_write().unwrap();
        tx.open_table(BLOB_OWNERS)
            .unwrap()
            .insert(("s", sha.as_str()), 1)
            .unwrap();
        tx.commit().unwrap();
        let now = 1_000_000;
        let first = commit(&db, "c", 1, record("s", now), "n1", now, now).unwrap();
        assert!(matches!(first, Committed::Recorded(_)));
        assert!(nonce_used(&db, "s", "n1").unwrap());
        let again = commit(&db, "c", 1, record("s", now + 5), "n1", now, now + 5).unwrap();
        assert!(matches!(again, Committed::Replayed));
        // Same binding, fresh nonce: accepted, first registration time kept.
        let Committed::Recorded(kept) =
            commit(&db, "c", 1, record("s", now + 9), "n2", now + 9, now + 9).unwrap()
        else {
            panic!("refused");
        };
        assert_eq!(kept.registered_at, now);
        // An hour later, n1 and n2 are pruned.
        let later = now + 3600;
        commit(&db, "c", 2, record("s", later), "n3", later, later).unwrap();
        assert!(!nonce_used(&db, "s", "n1").unwrap());
        assert!(nonce_used(&db, "s", "n3").unwrap());
    }
}

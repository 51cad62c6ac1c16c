//! Registrations: a seller's private binding of (contract, offer id) to a blob held here, which
//! tells the follower that this node delivers that offer. Nothing about it goes on-chain.
//!
//! [`register`] accepts a [`Signed`](consign_client::Signed) [`Registration`](consign_client::Registration)
//! only after every check passed:
//! the signature, that it is meant for this node and chain, that it is fresh and not replayed,
//! that the signer uploaded the blob, and — with smart queries — that the offer exists, the
//! signer is its seller and its digest and size are the blob's. The nonce is stored in the same
//! write transaction as the registration, so a replay is refused even across restarts.
//!
//! For an offer under k-of-n custody the blob is one fragment and the registration names the
//! piece ([`CustodyRecord`]): its fragment digest and size must be the offer's commitments' for
//! that index, and its key share, sealed to this node, must open with the at-rest key and pass
//! the offer's share commitments. The share is kept sealed as the seller sent it; one node keeps
//! at most one piece of an offer.

mod check;
mod custody;

use consign_client::storage::{RegistrationView, RegistrationViewPage};
use redb::{ReadableDatabase as _, ReadableTable as _, ReadableTableMetadata as _};
use serde::{Deserialize, Serialize};

pub use check::{register, RegistrationError, FRESHNESS_SECS};

use crate::db::{Db, BLOB_OWNERS, NONCES, REGISTRATIONS};

/// What the node keeps of an accepted registration, under (contract, offer id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationRecord {
    /// The blob's SHA-256: the offer's `content_sha256`, or for a custody piece the fragment's
    /// digest.
    pub sha256: String,
    /// The offer's seller, who signed the registration.
    pub seller: String,
    /// When it was first registered (Unix seconds, the node's clock).
    pub registered_at: u64,
    /// The custody piece kept, for an offer under k-of-n custody (absent in records written
    /// before custody existed, which read as whole-data registrations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custody: Option<CustodyRecord>,
}

/// The piece of a k-of-n custody set this node keeps for an offer: the blob is fragment `index`,
/// checked with the share against the offer's commitments when it was registered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustodyRecord {
    /// The fragment's (and the key share's) index, `0..n`.
    pub index: u16,
    /// The set's `k`: pieces the buyer needs.
    pub k: u16,
    /// The set's `n`: pieces made.
    pub n: u16,
    /// The fragment's size in bytes (the blob's).
    pub fragment_size: u64,
    /// The offer's plaintext digest: what delivery instructions for the offer name.
    pub content_sha256: String,
    /// Key share `index`, sealed to this node's at-rest recipient, as the seller sent it. It is
    /// opened only to be sealed again to a buyer, and never stored open.
    pub sealed_share: String,
}

impl RegistrationRecord {
    /// The plaintext digest the offer's delivery instructions name: the blob's, or for a custody
    /// piece the offer's.
    pub fn content_sha256(&self) -> &str {
        self.custody
            .as_ref()
            .map_or(&self.sha256, |piece| &piece.content_sha256)
    }
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
            custody_index: record.custody.map(|piece| piece.index),
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
    /// This node keeps another piece of the offer's custody set (its index).
    OtherPiece(u16),
}

/// Records a checked registration and its nonce in one write transaction, and forgets nonces
/// too old to be accepted anyway. Keeps the first `registered_at` of a binding registered
/// again. Refuses a custody piece when another piece of the same offer is kept: a node holding
/// k pieces could rebuild the data. Blocking.
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
        let kept = existing.as_ref().and_then(|old| old.custody.as_ref());
        if let (Some(kept), Some(new)) = (kept, record.custody.as_ref()) {
            if kept.index != new.index {
                return Ok(Committed::OtherPiece(kept.index));
            }
        }
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
            custody: None,
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
    fn a_record_from_before_custody_reads_as_a_whole_data_registration() {
        let old = r#"{"sha256":"ab","seller":"s","registered_at":3}"#;
        let record: RegistrationRecord = serde_json::from_str(old).unwrap();
        assert_eq!(record.custody, None);
        assert_eq!(record.content_sha256(), "ab");
        assert_eq!(serde_json::to_string(&record).unwrap(), old);
    }

    #[test]
    fn a_node_keeps_one_piece_of_an_offer() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("storage.redb")).unwrap();
        let piece = |index: u16| {
            let sha = consign_client::storage::sha256_hex(&index.to_be_bytes());
            let tx = db.redb().begin_write().unwrap();
            tx.open_table(BLOB_OWNERS)
                .unwrap()
                .insert(("s", sha.as_str()), 1)
                .unwrap();
            tx.commit().unwrap();
            RegistrationRecord {
                sha256: sha,
                custody: Some(CustodyRecord {
                    index,
                    k: 2,
                    n: 3,
                    fragment_size: 100,
                    content_sha256: "cd".repeat(32),
                    sealed_share: format!("sealed {index}"),
                }),
                ..record("s", 1)
            }
        };
        let first = commit(&db, "c", 1, piece(1), "n1", 1, 1).unwrap();
        assert!(matches!(first, Committed::Recorded(_)));
        let Committed::Recorded(again) = commit(&db, "c", 1, piece(1), "n2", 1, 1).unwrap() else {
            panic!("the same piece again is refused");
        };
        assert_eq!(again.content_sha256(), "cd".repeat(32));
        assert!(matches!(
            commit(&db, "c", 1, piece(0), "n3", 1, 1).unwrap(),
            Committed::OtherPiece(1)
        ));
        assert!(
            !nonce_used(&db, "s", "n3").unwrap(),
            "a refusal spends no nonce"
        );
        assert_eq!(
            lookup(&db, "c", 1).unwrap().unwrap().custody.unwrap().index,
            1
        );
        assert_eq!(
            list(&db, None, 10).unwrap().registrations[0].custody_index,
            Some(1)
        );
        // Another offer: another piece is fine.
        assert!(matches!(
            commit(&db, "c", 2, piece(0), "n4", 1, 1).unwrap(),
            Committed::Recorded(_)
        ));
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

//! [`Uploads`]: the uploads in progress, and what they reserve. An upload is admitted only if
//! its account's committed usage plus its uploads in progress plus this one fit the quota, the
//! node's committed bytes plus every upload in progress plus this one fit the capacity, and
//! neither the account nor the node has too many uploads open. The [`Reservation`] it gets is
//! released when it is dropped, whether the upload was stored or failed (once stored, its bytes
//! are in the committed figures instead).
//!
//! The committed figures are read while the lock is held, so an upload that commits meanwhile
//! is counted twice (reserved and committed) rather than not at all: the limits can refuse a
//! little early at their edge, never let a blob past them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::index::{self, QuotaExceeded};
use crate::db::Db;

/// What the uploads in progress hold.
#[derive(Debug, Default)]
struct InFlight {
    /// Per account: (uploads, bytes).
    accounts: HashMap<String, (usize, u64)>,
    uploads: usize,
    bytes: u64,
}

/// The uploads in progress of one node. Shared through an `Arc`.
#[derive(Debug, Default)]
pub struct Uploads {
    in_flight: Mutex<InFlight>,
}

/// The limits an upload is admitted against (the node's settings).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Bytes per account, committed and in progress.
    pub quota: u64,
    /// Bytes of the node, committed and in progress.
    pub capacity: u64,
    /// Uploads in progress on the node.
    pub max_uploads: usize,
    /// Uploads in progress per account.
    pub max_uploads_per_account: usize,
}

/// Why an upload is not admitted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The account's quota would be exceeded.
    #[error(transparent)]
    Quota(#[from] QuotaExceeded),
    /// The node is full.
    #[error(
        "this storage node is full: it stores or is receiving {used} bytes of its capacity of \
         {capacity}, and this blob needs {size} more; try another storage node"
    )]
    Capacity {
        /// Committed plus in progress.
        used: u64,
        /// The capacity.
        capacity: u64,
        /// The blob's size.
        size: u64,
    },
    /// The account has too many uploads open.
    #[error(
        "account {account} already has {open} uploads in progress, the most this node allows; \
         wait for one to finish and try again"
    )]
    AccountBusy {
        /// The uploader.
        account: String,
        /// Its uploads in progress.
        open: usize,
    },
    /// The node has too many uploads open.
    #[error("this storage node is receiving {open} uploads, the most it allows; try again later")]
    NodeBusy {
        /// Uploads in progress.
        open: usize,
    },
    /// The database could not be read.
    #[error("the storage node could not read its usage figures: {0}")]
    Storage(String),
}

/// One upload's hold on the limits; released when dropped.
#[derive(Debug)]
pub struct Reservation {
    uploads: Arc<Uploads>,
    account: String,
    size: u64,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut in_flight = self.uploads.lock();
        in_flight.uploads = in_flight.uploads.saturating_sub(1);
        in_flight.bytes = in_flight.bytes.saturating_sub(self.size);
        if let Some((count, bytes)) = in_flight.accounts.get_mut(&self.account) {
            *count = count.saturating_sub(1);
            *bytes = bytes.saturating_sub(self.size);
            if *count == 0 {
                in_flight.accounts.remove(&self.account);
            }
        }
    }
}

impl Uploads {
    fn lock(&self) -> std::sync::MutexGuard<'_, InFlight> {
        // The counters stay consistent even if a holder panicked: every update is one step.
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Uploads in progress and the bytes they reserve.
    pub fn totals(&self) -> (usize, u64) {
        let in_flight = self.lock();
        (in_flight.uploads, in_flight.bytes)
    }

    /// Whether `account` may upload `size` more bytes now (blocking: reads the database).
    ///
    /// # Errors
    ///
    /// The [`Refusal`].
    pub fn check(&self, db: &Db, account: &str, size: u64, limits: Limits) -> Result<(), Refusal> {
        let in_flight = self.lock();
        Self::admissible(&in_flight, db, account, size, limits)
    }

    /// Admits an upload of `size` bytes by `account` and reserves them until the
    /// [`Reservation`] is dropped (blocking: reads the database).
    ///
    /// # Errors
    ///
    /// The [`Refusal`].
    pub fn reserve(
        self: &Arc<Self>,
        db: &Db,
        account: &str,
        size: u64,
        limits: Limits,
    ) -> Result<Reservation, Refusal> {
        let mut in_flight = self.lock();
        Self::admissible(&in_flight, db, account, size, limits)?;
        in_flight.uploads += 1;
        in_flight.bytes = in_flight.bytes.saturating_add(size);
        let entry = in_flight
            .accounts
            .entry(account.to_owned())
            .or_insert((0, 0));
        entry.0 += 1;
        entry.1 = entry.1.saturating_add(size);
        Ok(Reservation {
            uploads: self.clone(),
            account: account.to_owned(),
            size,
        })
    }

    fn admissible(
        in_flight: &InFlight,
        db: &Db,
        account: &str,
        size: u64,
        limits: Limits,
    ) -> Result<(), Refusal> {
        let storage = |e: anyhow::Error| Refusal::Storage(format!("{e:#}"));
        if in_flight.uploads >= limits.max_uploads {
            return Err(Refusal::NodeBusy {
                open: in_flight.uploads,
            });
        }
        let (open, reserved) = in_flight.accounts.get(account).copied().unwrap_or((0, 0));
        if open >= limits.max_uploads_per_account {
            return Err(Refusal::AccountBusy {
                account: account.to_owned(),
                open,
            });
        }
        let usage = index::usage(db, account).map_err(storage)?.bytes;
        let held = usage.saturating_add(reserved);
        if held.saturating_add(size) > limits.quota {
            return Err(QuotaExceeded {
                account: account.to_owned(),
                usage: held,
                quota: limits.quota,
                size,
            }
            .into());
        }
        let used = index::stats(db)
            .map_err(storage)?
            .bytes
            .saturating_add(in_flight.bytes);
        if used.saturating_add(size) > limits.capacity {
            return Err(Refusal::Capacity {
                used,
                capacity: limits.capacity,
                size,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        quota: 100,
        capacity: 150,
        max_uploads: 3,
        max_uploads_per_account: 2,
    };

    #[test]
    fn uploads_in_progress_count_against_every_limit_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("storage.redb")).unwrap();
        let uploads = Arc::new(Uploads::default());
        let first = uploads.reserve(&db, "alice", 60, LIMITS).unwrap();
        let err = uploads.reserve(&db, "alice", 60, LIMITS).unwrap_err();
        assert!(matches!(err, Refusal::Quota(_)), "{err}");
        let second = uploads.reserve(&db, "alice", 10, LIMITS).unwrap();
        let err = uploads.check(&db, "alice", 1, LIMITS).unwrap_err();
        assert!(matches!(err, Refusal::AccountBusy { .. }), "{err}");
        let err = uploads.reserve(&db, "bob", 90, LIMITS).unwrap_err();
        assert!(err.to_string().contains("is full"), "{err}");
        let bob = uploads.reserve(&db, "bob", 80, LIMITS).unwrap();
        let err = uploads.check(&db, "carol", 0, LIMITS).unwrap_err();
        assert!(matches!(err, Refusal::NodeBusy { .. }), "{err}");
        assert_eq!(uploads.totals(), (3, 150));
        drop((first, second, bob));
        assert_eq!(uploads.totals(), (0, 0));
        uploads.reserve(&db, "alice", 100, LIMITS).unwrap();
    }
}

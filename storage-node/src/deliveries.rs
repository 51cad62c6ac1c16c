//! The deliveries this node acts on and where each one is: [`DeliveryEntry`] under its
//! delivery sequence in the `DELIVERIES` table.
//!
//! ```text
//!            follower            claim                2xx
//!   (new) ───────────► pending ─────────► sending ──────────► delivered
//!                        ▲   │               │
//!                        │   │ deadline,     │ error: attempts + 1 … next_attempt_at
//!                        └───┼───────────────┘
//!                            ▼  purchase gone, …
//!                          failed ◄───────── sending
//! ```
//!
//! Every transition is one redb write transaction, so a crash leaves each delivery in exactly
//! one state: `sending` ones go back to `pending` at the next start ([`resume_sending`]), and a
//! `delivered` one is never sent again. Two small index tables kept in the same transactions
//! make the fulfiller's questions cheap however many deliveries have been made: the queue of
//! `pending` entries by `next_attempt_at`, the set of `sending` ones, and a count per state for
//! the metrics.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use consign_client::storage::{DeliveryState, DeliveryView, DeliveryViewPage};
use consign_client::{DeliveryRecord, Timestamp};
use redb::{
    ReadTransaction, ReadableDatabase as _, ReadableTable as _, TableDefinition, TableError,
    WriteTransaction,
};
use serde::{Deserialize, Serialize};

use crate::db::{Db, DELIVERIES};

/// (next_attempt_at in Unix ms, sequence) → (): the `pending` deliveries, soonest first.
const QUEUE: TableDefinition<'_, (u64, u64), ()> = TableDefinition::new("delivery_queue");
/// sequence → (): the `sending` deliveries.
const IN_FLIGHT: TableDefinition<'_, u64, ()> = TableDefinition::new("delivery_in_flight");
/// state name → how many deliveries are in it.
const COUNTS: TableDefinition<'_, &str, u64> = TableDefinition::new("delivery_counts");

/// The most bytes of a `last_error` kept.
pub const MAX_ERROR_LEN: usize = 1000;

/// One delivery: the instruction as the feed served it and its progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryEntry {
    /// The committed instruction.
    pub record: DeliveryRecord,
    /// The registered blob's SHA-256: the instruction's `content_sha256`, or for a custody
    /// piece the fragment's digest.
    pub sha256: String,
    /// Where it is.
    pub state: DeliveryState,
    /// Attempts started so far.
    pub attempts: u32,
    /// Attempts the endpoint refused in a way that cannot become an acceptance (`404`, `405`,
    /// `410`, not a Consign inbox); the delivery is given up at the configured maximum.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub refusals: u32,
    /// Why the last attempt failed, or why it was given up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the next attempt is due (Unix ms); meaningful while `pending`.
    pub next_attempt_at: u64,
    /// When the buyer's endpoint accepted it (Unix ms, this node's clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<u64>,
    /// When the follower recorded it (Unix ms).
    pub created_at: u64,
}

impl DeliveryEntry {
    /// The delivery sequence.
    pub fn sequence(&self) -> u64 {
        self.record.sequence
    }

    /// As the operator sees it.
    pub fn view(&self) -> DeliveryView {
        let instruction = &self.record.instruction;
        DeliveryView {
            sequence: self.record.sequence,
            contract: self.record.contract.clone(),
            offer_id: instruction.offer_id,
            purchase_id: instruction.purchase_id,
            endpoint: instruction.recipient.endpoint.clone(),
            sha256: self.sha256.clone(),
            state: self.state,
            attempts: self.attempts,
            last_error: self.last_error.clone(),
            committed: self.record.time,
            delivered: self
                .delivered_at
                .map(|ms| Timestamp::from_nanos(ms.saturating_mul(1_000_000))),
        }
    }
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference.
fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The current time in Unix milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn state_name(state: DeliveryState) -> &'static str {
    match state {
        DeliveryState::Pending => "pending",
        DeliveryState::Sending => "sending",
        DeliveryState::Delivered => "delivered",
        DeliveryState::Failed => "failed",
    }
}

const STATES: [DeliveryState; 4] = [
    DeliveryState::Pending,
    DeliveryState::Sending,
    DeliveryState::Delivered,
    DeliveryState::Failed,
];

/// Cuts an error message to [`MAX_ERROR_LEN`] bytes at a character boundary.
fn bounded(mut error: String) -> String {
    if error.len() > MAX_ERROR_LEN {
        let mut end = MAX_ERROR_LEN;
        while !error.is_char_boundary(end) {
            end -= 1;
        }
        error.truncate(end);
        error.push('…');
    }
    error
}

fn decode(sequence: u64, bytes: &[u8]) -> anyhow::Result<DeliveryEntry> {
    serde_json::from_slice(bytes)
        .with_context(|| format!("the stored delivery {sequence} is corrupt"))
}

fn load(tx: &WriteTransaction, sequence: u64) -> anyhow::Result<Option<DeliveryEntry>> {
    let table = tx.open_table(DELIVERIES)?;
    let value = table.get(sequence)?;
    value.map(|v| decode(sequence, v.value())).transpose()
}

/// Writes `new` (replacing `old`, if any) and keeps the indexes and counts in step. Every write
/// of an entry goes through here.
fn store(
    tx: &WriteTransaction,
    old: Option<&DeliveryEntry>,
    new: &DeliveryEntry,
) -> anyhow::Result<()> {
    let sequence = new.sequence();
    let mut queue = tx.open_table(QUEUE)?;
    let mut in_flight = tx.open_table(IN_FLIGHT)?;
    let mut counts = tx.open_table(COUNTS)?;
    if let Some(old) = old {
        match old.state {
            DeliveryState::Pending => {
                queue.remove((old.next_attempt_at, sequence))?;
            }
            DeliveryState::Sending => {
                in_flight.remove(sequence)?;
            }
            DeliveryState::Delivered | DeliveryState::Failed => {}
        }
        let name = state_name(old.state);
        let count = counts.get(name)?.map_or(0, |v| v.value());
        counts.insert(name, count.saturating_sub(1))?;
    }
    match new.state {
        DeliveryState::Pending => {
            queue.insert((new.next_attempt_at, sequence), ())?;
        }
        DeliveryState::Sending => {
            in_flight.insert(sequence, ())?;
        }
        DeliveryState::Delivered | DeliveryState::Failed => {}
    }
    let name = state_name(new.state);
    let count = counts.get(name)?.map_or(0, |v| v.value());
    counts.insert(name, count + 1)?;
    tx.open_table(DELIVERIES)?
        .insert(sequence, serde_json::to_vec(new)?.as_slice())?;
    Ok(())
}

/// Records `record` as a new `pending` delivery of blob `sha256`, due now, inside the caller's
/// write transaction (the follower commits it with its cursor). Does nothing if a delivery
/// with this sequence exists; returns whether it was new.
///
/// # Errors
///
/// If the database fails.
pub fn insert_in(
    tx: &WriteTransaction,
    record: &DeliveryRecord,
    sha256: &str,
    now_ms: u64,
) -> anyhow::Result<bool> {
    if load(tx, record.sequence)?.is_some() {
        return Ok(false);
    }
    let entry = DeliveryEntry {
        record: record.clone(),
        sha256: sha256.to_owned(),
        state: DeliveryState::Pending,
        attempts: 0,
        refusals: 0,
        last_error: None,
        next_attempt_at: now_ms,
        delivered_at: None,
        created_at: now_ms,
    };
    store(tx, None, &entry)?;
    Ok(true)
}

/// [`insert_in`] in a write transaction of its own.
///
/// # Errors
///
/// If the database fails.
pub fn insert_if_new(
    db: &Db,
    record: &DeliveryRecord,
    sha256: &str,
    now_ms: u64,
) -> anyhow::Result<bool> {
    let tx = db.redb().begin_write()?;
    let inserted = insert_in(&tx, record, sha256, now_ms)?;
    tx.commit()?;
    Ok(inserted)
}

/// The delivery with this sequence.
///
/// # Errors
///
/// If the database fails or the entry is corrupt.
pub fn get(db: &Db, sequence: u64) -> anyhow::Result<Option<DeliveryEntry>> {
    let tx = db.redb().begin_read()?;
    let table = tx.open_table(DELIVERIES)?;
    let value = table.get(sequence)?;
    value.map(|v| decode(sequence, v.value())).transpose()
}

/// Takes up to `limit` `pending` deliveries due at `now_ms`, soonest first, and marks them
/// `sending` with one more attempt, in one write transaction. The caller must then finish each
/// with [`mark_delivered`], [`mark_retry`] or [`mark_failed`].
///
/// # Errors
///
/// If the database fails.
pub fn claim_due(db: &Db, now_ms: u64, limit: usize) -> anyhow::Result<Vec<DeliveryEntry>> {
    Ok(claim_due_except(db, now_ms, limit, |_| false)?.claimed)
}

/// How many due deliveries [`claim_due_except`] looks at, at most, in one call.
const CLAIM_SCAN: usize = 1024;

/// What [`claim_due_except`] took.
#[derive(Debug, Default)]
pub struct Claimed {
    /// The deliveries now `sending`.
    pub claimed: Vec<DeliveryEntry>,
    /// Whether due deliveries were left `pending` because `skip` said so: they are due
    /// already, so the caller should look again when what held them back is over.
    pub deferred: bool,
}

/// [`claim_due`], leaving `pending` the due deliveries for which `skip` says `true` (an
/// endpoint that already has a delivery in flight), and looking at no more than
/// [`CLAIM_SCAN`] due deliveries.
///
/// # Errors
///
/// If the database fails.
pub fn claim_due_except(
    db: &Db,
    now_ms: u64,
    limit: usize,
    mut skip: impl FnMut(&DeliveryEntry) -> bool,
) -> anyhow::Result<Claimed> {
    let mut result = Claimed::default();
    if limit == 0 {
        return Ok(result);
    }
    let tx = db.redb().begin_write()?;
    let due: Vec<u64> = {
        let queue = tx.open_table(QUEUE)?;
        let mut due = Vec::new();
        for item in queue.range((0, 0)..=(now_ms, u64::MAX))?.take(CLAIM_SCAN) {
            let (key, _) = item?;
            due.push(key.value().1);
        }
        due
    };
    for sequence in due {
        if result.claimed.len() == limit {
            break;
        }
        let old = load(&tx, sequence)?
            .with_context(|| format!("the delivery queue names {sequence}, which is missing"))?;
        if skip(&old) {
            result.deferred = true;
            continue;
        }
        let mut new = old.clone();
        new.state = DeliveryState::Sending;
        new.attempts = new.attempts.saturating_add(1);
        store(&tx, Some(&old), &new)?;
        result.claimed.push(new);
    }
    tx.commit()?;
    Ok(result)
}

/// When the soonest `pending` delivery is due (Unix ms), if there is one.
///
/// # Errors
///
/// If the database fails.
pub fn next_due_at(db: &Db) -> anyhow::Result<Option<u64>> {
    let tx = db.redb().begin_read()?;
    let Some(queue) = open_optional(&tx, QUEUE)? else {
        return Ok(None);
    };
    let first = queue.first()?;
    Ok(first.map(|(key, _)| key.value().0))
}

/// Applies `change` to delivery `sequence` if its state is one of `from`; returns whether it
/// did. One write transaction.
fn transition(
    db: &Db,
    sequence: u64,
    from: &[DeliveryState],
    change: impl FnOnce(&mut DeliveryEntry),
) -> anyhow::Result<bool> {
    let tx = db.redb().begin_write()?;
    let Some(old) = load(&tx, sequence)? else {
        anyhow::bail!("there is no delivery {sequence}");
    };
    if !from.contains(&old.state) {
        return Ok(false);
    }
    let mut new = old.clone();
    change(&mut new);
    store(&tx, Some(&old), &new)?;
    tx.commit()?;
    Ok(true)
}

/// `sending` → `delivered` at `now_ms`. Returns `false` (and changes nothing) if it was not
/// `sending`.
///
/// # Errors
///
/// If the database fails or there is no such delivery.
pub fn mark_delivered(db: &Db, sequence: u64, now_ms: u64) -> anyhow::Result<bool> {
    transition(db, sequence, &[DeliveryState::Sending], |entry| {
        entry.state = DeliveryState::Delivered;
        entry.delivered_at = Some(now_ms);
        entry.last_error = None;
    })
}

/// `sending` → `pending`, due at `next_attempt_at`, with the attempt's error. Returns `false`
/// if it was not `sending`.
///
/// # Errors
///
/// If the database fails or there is no such delivery.
pub fn mark_retry(
    db: &Db,
    sequence: u64,
    error: String,
    next_attempt_at: u64,
) -> anyhow::Result<bool> {
    transition(db, sequence, &[DeliveryState::Sending], |entry| {
        entry.state = DeliveryState::Pending;
        entry.last_error = Some(bounded(error));
        entry.next_attempt_at = next_attempt_at;
    })
}

/// A refusal that cannot become an acceptance: `sending` → `pending` (due at
/// `next_attempt_at`) with one more refusal and its reason, or → `failed` once it is the
/// `max_refusals`-th. Returns the new state, or `None` if it was not `sending`.
///
/// # Errors
///
/// If the database fails or there is no such delivery.
pub fn mark_refused(
    db: &Db,
    sequence: u64,
    reason: &str,
    next_attempt_at: u64,
    max_refusals: u32,
) -> anyhow::Result<Option<DeliveryState>> {
    let mut state = None;
    transition(db, sequence, &[DeliveryState::Sending], |entry| {
        entry.refusals = entry.refusals.saturating_add(1);
        if entry.refusals >= max_refusals {
            entry.state = DeliveryState::Failed;
            entry.last_error = Some(bounded(format!(
                "given up after {} refusal(s) that cannot become an acceptance; the last: {reason}",
                entry.refusals
            )));
        } else {
            entry.state = DeliveryState::Pending;
            entry.next_attempt_at = next_attempt_at;
            entry.last_error = Some(bounded(format!(
                "refusal {} of at most {max_refusals}: {reason}",
                entry.refusals
            )));
        }
        state = Some(entry.state);
    })?;
    Ok(state)
}

/// `pending` or `sending` → `failed`, with the reason. Returns `false` if it was already
/// `delivered` or `failed`.
///
/// # Errors
///
/// If the database fails or there is no such delivery.
pub fn mark_failed(db: &Db, sequence: u64, reason: String) -> anyhow::Result<bool> {
    transition(
        db,
        sequence,
        &[DeliveryState::Pending, DeliveryState::Sending],
        |entry| {
            entry.state = DeliveryState::Failed;
            entry.last_error = Some(bounded(reason));
        },
    )
}

/// Puts every `sending` delivery back to `pending`, due at `now_ms`: what was in flight when
/// the process stopped is tried again (the buyer's inbox deduplicates by purchase). Returns how
/// many. One write transaction.
///
/// # Errors
///
/// If the database fails.
pub fn resume_sending(db: &Db, now_ms: u64) -> anyhow::Result<usize> {
    let tx = db.redb().begin_write()?;
    let sending: Vec<u64> = {
        let in_flight = tx.open_table(IN_FLIGHT)?;
        let mut all = Vec::new();
        for item in in_flight.iter()? {
            all.push(item?.0.value());
        }
        all
    };
    for &sequence in &sending {
        let old = load(&tx, sequence)?
            .with_context(|| format!("the in-flight set names {sequence}, which is missing"))?;
        let mut new = old.clone();
        new.state = DeliveryState::Pending;
        new.next_attempt_at = now_ms;
        store(&tx, Some(&old), &new)?;
    }
    tx.commit()?;
    Ok(sending.len())
}

/// How many deliveries are in each state (every state listed, zeros included).
///
/// # Errors
///
/// If the database fails.
pub fn count_by_state(db: &Db) -> anyhow::Result<Vec<(DeliveryState, u64)>> {
    let tx = db.redb().begin_read()?;
    let counts = open_optional(&tx, COUNTS)?;
    STATES
        .iter()
        .map(|&state| {
            let count = match &counts {
                Some(table) => table.get(state_name(state))?.map_or(0, |v| v.value()),
                None => 0,
            };
            Ok((state, count))
        })
        .collect()
}

/// A page of deliveries in sequence order: those after `after` (exclusive), in `state` if
/// given, at most `limit` (at least 1).
///
/// # Errors
///
/// If the database fails or an entry is corrupt.
pub fn list(
    db: &Db,
    after: Option<u64>,
    limit: usize,
    state: Option<DeliveryState>,
) -> anyhow::Result<DeliveryViewPage> {
    let limit = limit.max(1);
    let tx = db.redb().begin_read()?;
    let table = tx.open_table(DELIVERIES)?;
    let start = after.map_or(0, |a| a.saturating_add(1));
    let mut deliveries = Vec::new();
    let mut more = false;
    if after != Some(u64::MAX) {
        for item in table.range(start..)? {
            let (key, value) = item?;
            let entry = decode(key.value(), value.value())?;
            if state.is_some_and(|s| s != entry.state) {
                continue;
            }
            if deliveries.len() == limit {
                more = true;
                break;
            }
            deliveries.push(entry.view());
        }
    }
    let next_after = if more {
        deliveries.last().map(|d: &DeliveryView| d.sequence)
    } else {
        None
    };
    Ok(DeliveryViewPage {
        deliveries,
        next_after,
    })
}

/// Opens a table for reading, or `None` if no write has created it yet.
fn open_optional<K: redb::Key + 'static, V: redb::Value + 'static>(
    tx: &ReadTransaction,
    definition: TableDefinition<'_, K, V>,
) -> anyhow::Result<Option<redb::ReadOnlyTable<K, V>>> {
    match tx.open_table(definition) {
        Ok(table) => Ok(Some(table)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use consign_client::{DeliveryAddress, DeliveryInstruction, TxHash};

    use super::*;

    pub(crate) fn record(sequence: u64) -> DeliveryRecord {
        DeliveryRecord {
            sequence,
            contract: "consign1contract".into(),
            height: sequence,
            tx_hash: TxHash([7; 32]),
            time: Timestamp::from_seconds(1_700_000_000 + sequence),
            instruction: DeliveryInstruction {
                offer_id: 1,
                purchase_id: sequence,
                buyer: "consign1buyer".into(),
                recipient: DeliveryAddress {
                    endpoint: "https://buyer.example/inbox".into(),
                    key: "age1recipient".into(),
                },
                content_sha256: "ab".repeat(32),
                size: 10,
                deadline: None,
            },
        }
    }

    fn db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("storage.redb")).unwrap();
        (dir, db)
    }

    fn counts(db: &Db) -> [u64; 4] {
        let counts = count_by_state(db).unwrap();
        let get = |s| counts.iter().find(|(x, _)| *x == s).unwrap().1;
        [
            get(DeliveryState::Pending),
            get(DeliveryState::Sending),
            get(DeliveryState::Delivered),
            get(DeliveryState::Failed),
        ]
    }

    #[test]
    fn a_fresh_database_has_no_deliveries() {
        let (_dir, db) = db();
        assert_eq!(counts(&db), [0, 0, 0, 0]);
        assert_eq!(next_due_at(&db).unwrap(), None);
        let page = list(&db, None, 10, None).unwrap();
        assert!(page.deliveries.is_empty());
        assert_eq!(page.next_after, None);
        assert!(get(&db, 1).unwrap().is_none());
    }

    #[test]
    fn inserting_is_idempotent_by_sequence() {
        let (_dir, db) = db();
        let sha = "ab".repeat(32);
        assert!(insert_if_new(&db, &record(1), &sha, 1000).unwrap());
        assert!(!insert_if_new(&db, &record(1), &sha, 2000).unwrap());
        let entry = get(&db, 1).unwrap().unwrap();
        assert_eq!(entry.created_at, 1000);
        assert_eq!(entry.state, DeliveryState::Pending);
        assert_eq!(counts(&db), [1, 0, 0, 0]);
        assert_eq!(next_due_at(&db).unwrap(), Some(1000));
    }

    #[test]
    fn the_life_of_a_delivery() {
        let (_dir, db) = db();
        let sha = "ab".repeat(32);
        for seq in 1..=3 {
            insert_if_new(&db, &record(seq), &sha, 100 * seq).unwrap();
        }
        // Only what is due is claimed, soonest first, and at most `limit`.
        assert!(claim_due(&db, 50, 10).unwrap().is_empty());
        let claimed = claim_due(&db, 250, 10).unwrap();
        assert_eq!(
            claimed
                .iter()
                .map(DeliveryEntry::sequence)
                .collect::<Vec<_>>(),
            [1, 2]
        );
        assert!(claimed
            .iter()
            .all(|e| e.state == DeliveryState::Sending && e.attempts == 1));
        assert_eq!(counts(&db), [1, 2, 0, 0]);
        // Claimed ones are not claimed again.
        let claimed = claim_due(&db, 1000, 10).unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].sequence(), 3);
        assert_eq!(next_due_at(&db).unwrap(), None);

        // 1 fails an attempt and is retried later; 2 is delivered; 3 gives up.
        assert!(mark_retry(&db, 1, "HTTP 503: busy".into(), 5000).unwrap());
        assert!(mark_delivered(&db, 2, 1234).unwrap());
        assert!(mark_failed(&db, 3, "deadline passed".into()).unwrap());
        assert_eq!(counts(&db), [1, 0, 1, 1]);
        assert_eq!(next_due_at(&db).unwrap(), Some(5000));
        assert!(claim_due(&db, 4999, 10).unwrap().is_empty());

        // Finished deliveries do not move again.
        assert!(!mark_delivered(&db, 2, 9999).unwrap());
        assert!(!mark_retry(&db, 2, "x".into(), 1).unwrap());
        assert!(!mark_failed(&db, 2, "x".into()).unwrap());
        assert!(!mark_delivered(&db, 3, 9999).unwrap());
        assert!(
            !mark_delivered(&db, 1, 9999).unwrap(),
            "pending is not sending"
        );
        assert!(mark_delivered(&db, 42, 1).is_err());

        let again = claim_due(&db, 5000, 10).unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].attempts, 2);
        assert_eq!(again[0].last_error.as_deref(), Some("HTTP 503: busy"));
        assert!(mark_delivered(&db, 1, 6000).unwrap());
        assert_eq!(counts(&db), [0, 0, 2, 1]);

        let delivered = get(&db, 1).unwrap().unwrap();
        assert_eq!(delivered.delivered_at, Some(6000));
        assert_eq!(delivered.last_error, None);
        let view = delivered.view();
        assert_eq!(view.delivered, Some(Timestamp::from_nanos(6_000_000_000)));
        assert_eq!(view.committed, record(1).time);
        assert_eq!(view.attempts, 2);
    }

    #[test]
    fn refusals_are_counted_and_end_the_delivery_at_the_maximum() {
        let (_dir, db) = db();
        let sha = "ab".repeat(32);
        insert_if_new(&db, &record(1), &sha, 0).unwrap();
        for (n, expected) in [
            (1, DeliveryState::Pending),
            (2, DeliveryState::Pending),
            (3, DeliveryState::Failed),
        ] {
            assert_eq!(claim_due(&db, 10_000, 10).unwrap().len(), 1);
            let state = mark_refused(&db, 1, "the endpoint answered 404", 100, 3).unwrap();
            assert_eq!(state, Some(expected));
            let entry = get(&db, 1).unwrap().unwrap();
            assert_eq!(entry.refusals, n);
            let error = entry.last_error.unwrap();
            assert!(error.ends_with("the endpoint answered 404"), "{error}");
        }
        let entry = get(&db, 1).unwrap().unwrap();
        assert!(entry
            .last_error
            .unwrap()
            .starts_with("given up after 3 refusal(s)"));
        assert_eq!(counts(&db), [0, 0, 0, 1]);
        assert_eq!(mark_refused(&db, 1, "x", 1, 3).unwrap(), None);
    }

    #[test]
    fn claims_skip_what_the_caller_holds_back_and_say_so() {
        let (_dir, db) = db();
        let sha = "ab".repeat(32);
        for seq in 1..=4 {
            insert_if_new(&db, &record(seq), &sha, seq).unwrap();
        }
        // Odd sequences are held back; the limit counts claimed ones only.
        let claimed = claim_due_except(&db, 100, 2, |e| e.sequence() % 2 == 1).unwrap();
        assert!(claimed.deferred);
        assert_eq!(
            claimed
                .claimed
                .iter()
                .map(DeliveryEntry::sequence)
                .collect::<Vec<_>>(),
            [2, 4]
        );
        assert_eq!(counts(&db), [2, 2, 0, 0]);
        let claimed = claim_due_except(&db, 100, 10, |_| false).unwrap();
        assert!(!claimed.deferred);
        assert_eq!(claimed.claimed.len(), 2);
    }

    #[test]
    fn in_flight_deliveries_resume_after_a_restart() {
        let (dir, db) = db();
        let sha = "ab".repeat(32);
        insert_if_new(&db, &record(1), &sha, 0).unwrap();
        insert_if_new(&db, &record(2), &sha, 0).unwrap();
        claim_due(&db, 10, 10).unwrap();
        mark_delivered(&db, 2, 20).unwrap();
        drop(db);

        let db = Db::open(&dir.path().join("storage.redb")).unwrap();
        assert_eq!(counts(&db), [0, 1, 1, 0]);
        assert_eq!(resume_sending(&db, 500).unwrap(), 1);
        assert_eq!(resume_sending(&db, 600).unwrap(), 0);
        assert_eq!(counts(&db), [1, 0, 1, 0]);
        let claimed = claim_due(&db, 500, 10).unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].sequence(), 1);
        assert_eq!(claimed[0].attempts, 2);
    }

    #[test]
    fn lists_page_and_filter_by_state() {
        let (_dir, db) = db();
        let sha = "ab".repeat(32);
        for seq in [2, 4, 6, 8, 10] {
            insert_if_new(&db, &record(seq), &sha, 0).unwrap();
        }
        claim_due(&db, 0, 2).unwrap(); // 2 and 4 → sending
        mark_failed(&db, 4, "x".repeat(5000)).unwrap();

        let page = list(&db, None, 2, None).unwrap();
        assert_eq!(
            page.deliveries
                .iter()
                .map(|d| d.sequence)
                .collect::<Vec<_>>(),
            [2, 4]
        );
        assert_eq!(page.next_after, Some(4));
        let failed = &page.deliveries[1];
        assert_eq!(failed.state, DeliveryState::Failed);
        assert!(failed.last_error.as_ref().unwrap().len() <= MAX_ERROR_LEN + 3);

        let page = list(&db, Some(4), 2, None).unwrap();
        assert_eq!(
            page.deliveries
                .iter()
                .map(|d| d.sequence)
                .collect::<Vec<_>>(),
            [6, 8]
        );
        assert_eq!(page.next_after, Some(8));
        let page = list(&db, Some(8), 2, None).unwrap();
        assert_eq!(page.deliveries.len(), 1);
        assert_eq!(page.next_after, None);

        let pending = list(&db, None, 10, Some(DeliveryState::Pending)).unwrap();
        assert_eq!(
            pending
                .deliveries
                .iter()
                .map(|d| d.sequence)
                .collect::<Vec<_>>(),
            [6, 8, 10]
        );
        let sending = list(&db, None, 1, Some(DeliveryState::Sending)).unwrap();
        assert_eq!(sending.deliveries.len(), 1);
        assert_eq!(sending.next_after, None);
        assert!(list(&db, Some(u64::MAX), 10, None)
            .unwrap()
            .deliveries
            .is_empty());
        assert_eq!(list(&db, None, 0, None).unwrap().deliveries.len(), 1);
    }
}

//! The follower: reads the chain's public delivery feed from a cursor kept on disk and records,
//! as `pending` [deliveries](crate::deliveries), the instructions for offers registered here.
//!
//! Every node reads the whole feed, so an observer cannot tell which node serves which offer;
//! instructions for other offers are skipped silently (at `debug` level, by sequence only).
//!
//! The cursor (`follower_cursor` in the `META` table, u64 big-endian: the last sequence fully
//! handled, 0 before the first; [`cursor`]) advances in the same write transaction as the deliveries it
//! covers, so a crash never skips an instruction nor records one twice. The feed is read
//! through the [`NodePool`](consign_client::NodePool) of every `--node-url`: the sequence
//! numbers are the chain's, the same on every node, so when the pool switches nodes (the one
//! read goes away, fails, or is behind the cursor) the next page is asked after the same cursor
//! and nothing is skipped or read twice. The feed is gap-free;
//! the follower checks it and never moves past a sequence it has not handled. It starts once the
//! chain node is known to be on this node's chain; when the node is unreachable it logs a
//! warning, reports the chain unreachable (the operator's status) and tries again with
//! exponential backoff and jitter.

use std::time::Duration;

use consign_client::DeliveryRecord;
use consign_util::retry::{Backoff, Jitter};
use redb::{ReadableDatabase as _, WriteTransaction};
use tokio::sync::watch;

use crate::db::{meta, meta_u64, set_meta_u64, Db, META};
use crate::deliveries;
use crate::metrics::gauge_value;
use crate::node::Services;
use crate::registrations;

/// Instructions asked for per request.
const PAGE_SIZE: u32 = 100;
/// The first wait after a failure.
const BACKOFF_INITIAL: Duration = Duration::from_millis(250);
/// The longest wait between two tries.
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// The last delivery sequence the follower has handled (0 if none).
///
/// # Errors
///
/// If the database fails.
pub fn cursor(db: &Db) -> anyhow::Result<u64> {
    let tx = db.redb().begin_read()?;
    let table = tx.open_table(META)?;
    Ok(meta_u64(&table, meta::FOLLOWER_CURSOR)?)
}

/// Reads the cursor inside a write transaction and checks it is still `expected` (one follower
/// per database).
fn check_cursor(tx: &WriteTransaction, expected: u64) -> anyhow::Result<()> {
    let table = tx.open_table(META)?;
    let current = meta_u64(&table, meta::FOLLOWER_CURSOR)?;
    anyhow::ensure!(
        current == expected,
        "the follower cursor moved from {expected} to {current} under this follower: is another follower using this database?"
    );
    Ok(())
}

/// What one page of the feed did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageOutcome {
    /// The cursor after it.
    pub cursor: u64,
    /// Instructions read.
    pub read: usize,
    /// Deliveries recorded (instructions for offers registered here, new).
    pub recorded: usize,
}

/// Handles the records of one page read after `cursor`: records the deliveries for offers
/// registered here and moves the cursor to the last record, in one write transaction.
///
/// # Errors
///
/// If the records do not follow `cursor` without a gap, or the database fails; nothing is
/// recorded then, and the cursor stays.
pub fn handle_page(
    db: &Db,
    cursor: u64,
    records: &[DeliveryRecord],
) -> anyhow::Result<PageOutcome> {
    let Some(last) = records.last() else {
        return Ok(PageOutcome {
            cursor,
            ..PageOutcome::default()
        });
    };
    for (offset, record) in (1u64..).zip(records) {
        let expected = cursor.saturating_add(offset);
        anyhow::ensure!(
            record.sequence == expected,
            "the delivery feed returned sequence {} where {expected} was expected; asking again from {cursor}",
            record.sequence
        );
    }
    // Decide outside the write transaction (lookups are reads), commit everything at once.
    let mut ours = Vec::new();
    for record in records {
        let instruction = &record.instruction;
        match registrations::lookup(db, &record.contract, instruction.offer_id)? {
            // A custody piece's blob is its fragment: the instruction names the offer's
            // plaintext, which the registration recorded.
            Some(registration) if registration.content_sha256() == instruction.content_sha256 => {
                ours.push((record, registration.sha256));
            }
            Some(_) => {
                tracing::debug!(target: "storage::follower", sequence = record.sequence, "skipped: digest differs from the registration");
            }
            None => {
                tracing::debug!(target: "storage::follower", sequence = record.sequence, "skipped");
            }
        }
    }
    let now = deliveries::now_ms();
    let tx = db.redb().begin_write()?;
    check_cursor(&tx, cursor)?;
    let mut recorded = 0;
    for (record, sha256) in &ours {
        if deliveries::insert_in(&tx, record, sha256, now)? {
            recorded += 1;
            tracing::info!(
                target: "storage::follower",
                sequence = record.sequence,
                contract = %record.contract,
                offer = record.instruction.offer_id,
                purchase = record.instruction.purchase_id,
                "delivery instruction recorded"
            );
        }
    }
    set_meta_u64(
        &mut tx.open_table(META)?,
        meta::FOLLOWER_CURSOR,
        last.sequence,
    )?;
    tx.commit()?;
    Ok(PageOutcome {
        cursor: last.sequence,
        read: records.len(),
        recorded,
    })
}

/// The retry policy while the feed cannot be read: equal jitter, each delay drawn in
/// [half, whole] of a step that doubles from [`BACKOFF_INITIAL`] up to [`BACKOFF_MAX`].
const BACKOFF: Backoff = Backoff::new(BACKOFF_INITIAL, BACKOFF_MAX).with_jitter(Jitter::Equal);

/// Follows the feed until `shutdown` becomes `true` (or its sender is dropped).
pub async fn run(svc: Services, mut shutdown: watch::Receiver<bool>) {
    let mut backoff = BACKOFF.attempts();
    let mut failing = false;
    let mut cursor = None;
    // The feed is read only from a node known to be on this node's chain.
    tokio::select! {
        () = svc.chain.wait_verified() => {}
        _ = shutdown.wait_for(|stop| *stop) => {
            tracing::info!(target: "storage::follower", "stopped");
            return;
        }
    }
    tracing::info!(target: "storage::follower", nodes = %svc.chain.urls(), "following the delivery feed");
    loop {
        if *shutdown.borrow() {
            break;
        }
        let result = match cursor {
            Some(at) => step(&svc, at, &mut shutdown).await,
            None => self::cursor(&svc.db).map(|at| {
                tracing::info!(target: "storage::follower", cursor = at, "starting from the stored cursor");
                Some(at)
            }),
        };
        match result {
            Ok(Some(at)) => {
                if failing {
                    tracing::info!(target: "storage::follower", cursor = at, "reading the delivery feed again");
                    failing = false;
                }
                backoff.reset();
                cursor = Some(at);
            }
            Ok(None) => break,
            Err(error) => {
                let delay = backoff.next_delay();
                failing = true;
                tracing::warn!(
                    target: "storage::follower",
                    error = %format!("{error:#}"),
                    retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    "cannot follow the delivery feed"
                );
                tokio::select! {
                    _ = shutdown.changed() => {}
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
    tracing::info!(target: "storage::follower", "stopped");
}

/// One long poll and its page. `Ok(None)` when shutting down.
async fn step(
    svc: &Services,
    cursor: u64,
    shutdown: &mut watch::Receiver<bool>,
) -> anyhow::Result<Option<u64>> {
    let nodes = svc.chain.nodes();
    let page = tokio::select! {
        _ = shutdown.changed() => return Ok(None),
        page = nodes.deliveries(cursor, Some(PAGE_SIZE), Some(svc.config.follower_wait)) => page,
    };
    // The long poll is the storage node's heartbeat of its chain node.
    let page = match page {
        Ok(page) => {
            svc.chain.mark_reachable();
            page
        }
        Err(error) => {
            svc.chain.mark_unreachable(&error.to_string());
            return Err(error.into());
        }
    };
    let outcome = handle_page(&svc.db, cursor, &page.deliveries)?;
    if outcome.recorded > 0 {
        svc.wake_fulfiller();
    }
    svc.metrics.follower_cursor.set(gauge_value(outcome.cursor));
    // The lag needs the chain's head; a failure here only leaves the gauge stale.
    match nodes.status().await {
        Ok(status) => {
            let head = status.next_delivery_sequence.saturating_sub(1);
            svc.metrics
                .follower_lag
                .set(gauge_value(head.saturating_sub(outcome.cursor)));
        }
        Err(error) => {
            tracing::debug!(target: "storage::follower", %error, "cannot read the chain's status for the lag");
        }
    }
    Ok(Some(outcome.cursor))
}

#[cfg(test)]
mod tests {
    use consign_client::storage::DeliveryState;
    use consign_client::{DeliveryAddress, DeliveryInstruction, Timestamp, TxHash};

    use super::*;
    use crate::registrations::RegistrationRecord;

    fn record(sequence: u64, offer_id: u64, sha: &str) -> DeliveryRecord {
        DeliveryRecord {
            sequence,
            contract: "consign1contract".into(),
            height: sequence,
            tx_hash: TxHash([1; 32]),
            time: Timestamp::from_seconds(1_700_000_000),
            instruction: DeliveryInstruction {
                offer_id,
                purchase_id: sequence,
                buyer: "consign1buyer".into(),
                recipient: DeliveryAddress {
                    endpoint: "https://buyer.example/inbox".into(),
                    key: "age1recipient".into(),
                },
                content_sha256: sha.into(),
                size: 10,
                deadline: None,
            },
        }
    }

    #[test]
    fn only_registered_offers_with_matching_digests_are_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("storage.redb")).unwrap();
        let ours = "aa".repeat(32);
        let other = "bb".repeat(32);
        registrations::put(
            &db,
            "consign1contract",
            7,
            &RegistrationRecord {
                sha256: ours.clone(),
                seller: "consign1seller".into(),
                registered_at: 1,
                custody: None,
            },
        )
        .unwrap();
        assert_eq!(cursor(&db).unwrap(), 0);

        let page = [
            record(1, 7, &ours),  // ours
            record(2, 8, &ours),  // another offer
            record(3, 7, &other), // our offer, another digest
            record(4, 7, &ours),  // ours
        ];
        let outcome = handle_page(&db, 0, &page).unwrap();
        assert_eq!(
            outcome,
            PageOutcome {
                cursor: 4,
                read: 4,
                recorded: 2
            }
        );
        assert_eq!(cursor(&db).unwrap(), 4);
        let listed = deliveries::list(&db, None, 10, None).unwrap();
        assert_eq!(
            listed
                .deliveries
                .iter()
                .map(|d| d.sequence)
                .collect::<Vec<_>>(),
            [1, 4]
        );
        assert!(listed
            .deliveries
            .iter()
            .all(|d| d.state == DeliveryState::Pending));

        // An empty page changes nothing.
        assert_eq!(handle_page(&db, 4, &[]).unwrap().cursor, 4);
        // A page that does not follow the cursor is refused whole.
        let err = handle_page(&db, 4, &[record(6, 7, &ours)]).unwrap_err();
        assert!(err.to_string().contains("expected"), "{err}");
        // A page read for a stale cursor is refused (another follower moved it).
        let err = handle_page(&db, 3, &[record(4, 7, &ours)]).unwrap_err();
        assert!(err.to_string().contains("cursor moved"), "{err}");
        assert_eq!(cursor(&db).unwrap(), 4);
        assert_eq!(
            deliveries::list(&db, None, 10, None)
                .unwrap()
                .deliveries
                .len(),
            2
        );
    }

    /// A custody piece's blob is its fragment; the instructions name the offer's plaintext.
    #[test]
    fn a_custody_piece_is_ours_by_the_offers_plaintext_digest() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("storage.redb")).unwrap();
        let (fragment, plaintext) = ("cc".repeat(32), "dd".repeat(32));
        registrations::put(
            &db,
            "consign1contract",
            7,
            &RegistrationRecord {
                sha256: fragment.clone(),
                seller: "consign1seller".into(),
                registered_at: 1,
                custody: Some(registrations::CustodyRecord {
                    index: 2,
                    k: 2,
                    n: 3,
                    fragment_size: 99,
                    content_sha256: plaintext.clone(),
                    sealed_share: "sealed".into(),
                }),
            },
        )
        .unwrap();
        let page = [record(1, 7, &fragment), record(2, 7, &plaintext)];
        assert_eq!(handle_page(&db, 0, &page).unwrap().recorded, 1);
        let listed = deliveries::list(&db, None, 10, None).unwrap().deliveries;
        assert_eq!(listed.len(), 1);
        assert_eq!((listed[0].sequence, &listed[0].sha256), (2, &fragment));
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let mut backoff = BACKOFF.attempts();
        let first = backoff.next_delay();
        assert!(first >= BACKOFF_INITIAL / 2 && first <= BACKOFF_INITIAL);
        for _ in 0..20 {
            assert!(backoff.next_delay() <= BACKOFF_MAX);
        }
        assert!(backoff.next_delay() >= BACKOFF_MAX / 2);
        backoff.reset();
        assert!(backoff.next_delay() <= BACKOFF_INITIAL);
    }
}

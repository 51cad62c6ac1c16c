//! The inbox's watch over its buyer's purchases (`consign inbox --confirm`, unless
//! `--no-auto-dispute`): a buyer who runs the inbox never pays for data that never came.
//!
//! - A purchase still held in escrow that this inbox has not saved is **disputed** once its
//!   dispute deadline (the purchase's time plus the contract's release window) is less than the
//!   margin away: after the deadline the seller could claim the payment, and the buyer could no
//!   longer dispute.
//! - A disputed purchase whose arbitration window has passed without the arbiter resolving it is
//!   **refunded** (`claim_refund`), whoever disputed it.
//!
//! Only purchases delivered to this inbox's own recipient are watched: another inbox of the same
//! buyer (another identity) watches its own. A purchase this inbox saved is never disputed, even
//! unconfirmed: it was delivered. The watch reads the chain every `interval` and sends its
//! transactions through the inbox's [`Signer`], one at a time with the confirmations.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use consign_client::inbox::PiecesKept;
use consign_client::{Inbox, NodePool, Timestamp};
use consign_market::{ConfigResponse, Escrow, ExecuteMsg, PurchaseResponse, QueryMsg};
use tokio::sync::{mpsc, watch};

use super::confirm::Signer;
use super::report::{CliEvent, Note};
use crate::cli::output::{next_block_time, BlockTime};

/// The page size of the purchase listing.
const PAGE: u32 = 100;
/// How long to wait before reading the contract's configuration again after a failure.
const RETRY: Duration = Duration::from_secs(5);

/// What the watch needs.
pub(super) struct Watch {
    pub(super) nodes: NodePool,
    pub(super) signer: Signer,
    pub(super) inbox: Arc<Inbox>,
    /// `--dispute-before`, if given.
    pub(super) dispute_before: Option<Duration>,
}

/// How often the watch looks, and how long before a dispute deadline it disputes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Timing {
    pub(super) interval: Duration,
    pub(super) margin: Duration,
}

impl Timing {
    /// From the contract's release window: every twentieth of it (between 1 s and a minute), and
    /// a tenth of it before the deadline (at least three looks, at most half the window, at most
    /// a day) unless `dispute_before` says otherwise.
    pub(super) fn new(release_window_seconds: u64, dispute_before: Option<Duration>) -> Self {
        let window = Duration::from_secs(release_window_seconds);
        let interval = (window / 20).clamp(Duration::from_secs(1), Duration::from_secs(60));
        let margin = dispute_before.unwrap_or_else(|| {
            (window / 10)
                .max(interval * 3)
                .min(window / 2)
                .min(Duration::from_secs(24 * 60 * 60))
        });
        Self { interval, margin }
    }
}

/// What the watch does about one purchase now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// Nothing, ever again: settled, delivered to another recipient, saved by this inbox, or
    /// held past its deadline.
    Done,
    /// Nothing yet.
    Wait,
    /// Dispute it: undelivered and its deadline is within the margin.
    Dispute { deadline: Timestamp },
    /// Held, undelivered and past its deadline: too late to dispute (said once).
    TooLate { deadline: Timestamp },
    /// Claim its refund: the arbitration window has passed.
    ClaimRefund,
}

/// Decides for `purchase`, given whether this inbox saved it, the contract's configuration and
/// the time of the block a transaction sent now would be in (`now`: the later of the latest
/// block's time and this machine's clock, since a chain may make no block while idle).
fn decide(
    purchase: &PurchaseResponse,
    ours: bool,
    saved: bool,
    config: &ConfigResponse,
    margin: Duration,
    now: Timestamp,
) -> Action {
    if !ours {
        return Action::Done;
    }
    match purchase.state {
        Escrow::Released | Escrow::Refunded => Action::Done,
        Escrow::Held if saved => Action::Done,
        Escrow::Held => {
            let deadline = purchase.created.plus_seconds(config.release_window_seconds);
            if now >= deadline {
                Action::TooLate { deadline }
            } else if now.plus_nanos(saturating_nanos(margin)) >= deadline {
                Action::Dispute { deadline }
            } else {
                Action::Wait
            }
        }
        Escrow::Disputed => {
            let disputed = purchase.disputed.unwrap_or(purchase.created);
            let ends = disputed.plus_seconds(config.arbitration_window_seconds);
            if now >= ends {
                Action::ClaimRefund
            } else {
                Action::Wait
            }
        }
    }
}

fn saturating_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Runs the watch until `stop` turns true.
pub(super) async fn run(
    watch: Watch,
    mut stop: watch::Receiver<bool>,
    notes: mpsc::UnboundedSender<Note>,
) {
    let note = |event: CliEvent| {
        let _ = notes.send(Note::Cli(event));
    };
    let contract = watch.inbox.config().contract.clone();
    let mut unreachable = false;
    let config: ConfigResponse = loop {
        match watch
            .nodes
            .smart_query(&contract, &QueryMsg::config())
            .await
        {
            Ok(config) => break config,
            Err(e) => {
                if !std::mem::replace(&mut unreachable, true) {
                    note(CliEvent::WatchUnavailable {
                        reason: format!("cannot read the contract's configuration: {e}"),
                    });
                }
                tokio::select! {
                    () = tokio::time::sleep(RETRY) => {}
                    _ = stop.wait_for(|stopped| *stopped) => return,
                }
            }
        }
    };
    let timing = Timing::new(config.release_window_seconds, watch.dispute_before);
    note(CliEvent::Watching {
        release_window_seconds: config.release_window_seconds,
        arbitration_window_seconds: config.arbitration_window_seconds,
        dispute_before_seconds: timing.margin.as_secs_f64(),
    });
    let mut state = WatchState::default();
    loop {
        match look(&watch, &contract, &config, timing, &mut state, &note).await {
            Ok(()) => unreachable = false,
            Err(reason) => {
                if !std::mem::replace(&mut unreachable, true) {
                    note(CliEvent::WatchUnavailable { reason });
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(timing.interval) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
    }
}

/// What the watch remembers between looks.
#[derive(Default)]
struct WatchState {
    /// Every purchase up to this id is done: the listing starts after it.
    done_up_to: Option<u64>,
    /// Purchases whose failure was already reported (reported once, retried every look).
    failed: HashSet<u64>,
    /// Purchases found too late to dispute (reported once).
    too_late: HashSet<u64>,
}

/// One look over the buyer's purchases.
async fn look(
    watch: &Watch,
    contract: &str,
    config: &ConfigResponse,
    timing: Timing,
    state: &mut WatchState,
    note: &impl Fn(CliEvent),
) -> Result<(), String> {
    let latest = watch
        .nodes
        .status()
        .await
        .map_err(|e| e.to_string())?
        .latest_block_time;
    let now = next_block_time(latest);
    let buyer = &watch.inbox.config().buyer;
    let recipient = watch.inbox.recipient();
    let mut start_after = state.done_up_to;
    let mut all_done_so_far = true;
    loop {
        let page: consign_market::PurchasesResponse = watch
            .nodes
            .smart_query(
                contract,
                &QueryMsg::purchases_by_buyer(buyer.as_str(), start_after, Some(PAGE)),
            )
            .await
            .map_err(|e| format!("cannot list the buyer's purchases: {e}"))?;
        let count = page.purchases.len();
        for purchase in page.purchases {
            let id = purchase.id;
            start_after = Some(id);
            let ours = purchase.recipient.key == recipient;
            let saved = ours
                && watch
                    .inbox
                    .saved(contract, id)
                    .map_err(|e| e.to_string())?
                    .is_some();
            let action = decide(&purchase, ours, saved, config, timing.margin, now);
            match action {
                Action::Done => {}
                Action::TooLate { deadline } => {
                    if state.too_late.insert(id) {
                        note(CliEvent::TooLateToDispute {
                            contract: contract.to_owned(),
                            purchase_id: id,
                            deadline: time(deadline).into(),
                        });
                    }
                }
                Action::Wait => {}
                Action::Dispute { deadline } => {
                    let pieces = watch
                        .inbox
                        .pieces(contract, id)
                        .map_err(|e| e.to_string())?;
                    let reason = dispute_reason(
                        id,
                        pieces.as_ref(),
                        timing.margin,
                        &time(deadline).rfc3339(),
                    );
                    let sent = watch
                        .signer
                        .send(contract, ExecuteMsg::dispute(id, reason))
                        .await;
                    report(state, note, id, sent, |sent| CliEvent::Disputed {
                        contract: contract.to_owned(),
                        purchase_id: id,
                        deadline: time(deadline).into(),
                        arbitration_window_seconds: config.arbitration_window_seconds,
                        txhash: sent.txhash,
                        height: sent.height,
                    });
                }
                Action::ClaimRefund => {
                    let sent = watch
                        .signer
                        .send(contract, ExecuteMsg::claim_refund(id))
                        .await;
                    report(state, note, id, sent, |sent| CliEvent::RefundClaimed {
                        contract: contract.to_owned(),
                        purchase_id: id,
                        txhash: sent.txhash,
                        height: sent.height,
                    });
                }
            }
            let done = matches!(action, Action::Done | Action::TooLate { .. });
            all_done_so_far &= done;
            if all_done_so_far {
                state.done_up_to = Some(id);
            }
        }
        if count < PAGE as usize {
            return Ok(());
        }
    }
}

/// Reports a transaction the watch sent: its event, or its failure once per purchase (it is
/// tried again at the next look, while it still can be).
fn report(
    state: &mut WatchState,
    note: &impl Fn(CliEvent),
    purchase_id: u64,
    sent: Result<super::confirm::Sent, String>,
    event: impl FnOnce(super::confirm::Sent) -> CliEvent,
) {
    match sent {
        Ok(sent) => {
            state.failed.remove(&purchase_id);
            note(event(sent));
        }
        Err(reason) => {
            if state.failed.insert(purchase_id) {
                note(CliEvent::WatchActionFailed {
                    purchase_id,
                    reason,
                });
            }
        }
    }
}

/// A block time for the notes; times beyond the year 9999 (which no contract stores) print as
/// the Unix epoch rather than fail the watch.
fn time(t: Timestamp) -> BlockTime {
    BlockTime::new(t).unwrap_or_else(|_| BlockTime::new(Timestamp::from_nanos(0)).expect("epoch"))
}

fn round_to_seconds(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs().max(1))
}

/// Why an undelivered purchase is disputed: nothing came, or (k-of-n) too few good pieces to
/// rebuild it.
fn dispute_reason(
    id: u64,
    pieces: Option<&PiecesKept>,
    margin: Duration,
    deadline: &str,
) -> String {
    let what = match pieces {
        None => format!("the buyer's inbox had received nothing for purchase {id}"),
        Some(kept) => format!(
            "the buyer's inbox had received too few good pieces to rebuild purchase {id} (only {kept} of its k-of-n set)"
        ),
    };
    format!(
        "not delivered: {what} {} before its dispute deadline ({deadline}); disputed automatically by consign inbox",
        humantime::format_duration(round_to_seconds(margin)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: u64 = 100;
    const ARBITRATION: u64 = 50;

    fn config() -> ConfigResponse {
        serde_json::from_value(serde_json::json!({
            "arbiter": "arbiter",
            "release_window_seconds": WINDOW,
            "arbitration_window_seconds": ARBITRATION,
        }))
        .unwrap()
    }

    fn purchase(state: Escrow, disputed: Option<u64>) -> PurchaseResponse {
        serde_json::from_value(serde_json::json!({
            "id": 7,
            "offer_id": 1,
            "buyer": "buyer",
            "seller": "seller",
            "price": [],
            "recipient": {"endpoint": "http://127.0.0.1:8080/", "key": "age1me"},
            "created": at(1000),
            "state": state,
            "dispute_reason": null,
            "disputed": disputed.map(at),
            "settled": null,
        }))
        .unwrap()
    }

    fn at(seconds: u64) -> Timestamp {
        Timestamp::from_seconds(seconds)
    }

    fn decide_at(p: &PurchaseResponse, ours: bool, saved: bool, now: u64) -> Action {
        decide(p, ours, saved, &config(), Duration::from_secs(10), at(now))
    }

    #[test]
    fn an_undelivered_purchase_is_disputed_within_the_margin_before_its_deadline() {
        let held = purchase(Escrow::Held, None);
        assert_eq!(decide_at(&held, true, false, 1000), Action::Wait);
        assert_eq!(decide_at(&held, true, false, 1089), Action::Wait);
        let deadline = at(1000 + WINDOW);
        assert_eq!(
            decide_at(&held, true, false, 1090),
            Action::Dispute { deadline }
        );
        assert_eq!(
            decide_at(&held, true, false, 1099),
            Action::Dispute { deadline }
        );
        assert_eq!(
            decide_at(&held, true, false, 1100),
            Action::TooLate { deadline }
        );
    }

    #[test]
    fn saved_settled_and_others_purchases_are_left_alone() {
        let held = purchase(Escrow::Held, None);
        assert_eq!(decide_at(&held, true, true, 1095), Action::Done);
        assert_eq!(decide_at(&held, false, false, 1095), Action::Done);
        for settled in [Escrow::Released, Escrow::Refunded] {
            assert_eq!(
                decide_at(&purchase(settled, Some(1050)), true, false, 5000),
                Action::Done
            );
        }
    }

    #[test]
    fn a_dispute_left_unresolved_is_refunded_after_the_arbitration_window() {
        let disputed = purchase(Escrow::Disputed, Some(1090));
        assert_eq!(decide_at(&disputed, true, false, 1139), Action::Wait);
        assert_eq!(decide_at(&disputed, true, false, 1140), Action::ClaimRefund);
    }

    #[test]
    fn a_dispute_says_which_pieces_came() {
        let margin = Duration::from_secs(60);
        let nothing = dispute_reason(7, None, margin, "2026-01-01T00:00:00Z");
        assert!(
            nothing.contains("had received nothing for purchase 7 1m before"),
            "{nothing}"
        );
        let kept = PiecesKept {
            fragments: vec![0],
            shares: vec![0, 2],
        };
        let few = dispute_reason(7, Some(&kept), margin, "2026-01-01T00:00:00Z");
        assert!(
            few.contains("too few good pieces to rebuild purchase 7 (only fragments [0] and key shares [0, 2] of its k-of-n set)"),
            "{few}"
        );
    }

    #[test]
    fn timing_scales_with_the_release_window() {
        let short = Timing::new(6, None);
        assert_eq!(short.interval, Duration::from_secs(1));
        assert_eq!(short.margin, Duration::from_secs(3));
        let day = Timing::new(86_400, None);
        assert_eq!(day.interval, Duration::from_secs(60));
        assert_eq!(day.margin, Duration::from_secs(8_640));
        let decade = Timing::new(10 * 365 * 86_400, None);
        assert_eq!(decade.margin, Duration::from_secs(86_400));
        let chosen = Timing::new(86_400, Some(Duration::from_secs(3600)));
        assert_eq!(chosen.margin, Duration::from_secs(3600));
    }
}

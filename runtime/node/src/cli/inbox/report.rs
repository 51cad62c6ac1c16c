//! What `consign inbox` tells its user: one readable line per event on stdout (one JSON object
//! per line with `--output json`), and a progress bar per large transfer on stderr when it is a
//! terminal.

use std::collections::HashMap;
use std::io::{IsTerminal as _, Write};
use std::path::PathBuf;
use std::time::Duration;

use consign_client::inbox::{Delivery, SavedRecord};
use consign_client::InboxEvent;
use consign_util::size::format_size;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::cli::output::BlockTime;
use crate::cli::OutputFormat;

/// Transfers at least this large get a progress bar.
const BAR_FROM_BYTES: u64 = 1 << 20;

/// Something to tell the user: an event of the inbox, or of the command around it.
#[derive(Debug)]
pub(super) enum Note {
    /// From the [`Inbox`](consign_client::Inbox).
    Inbox(InboxEvent),
    /// From the command.
    Cli(CliEvent),
}

/// The command's own events, tagged like [`InboxEvent`]s in JSON.
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(super) enum CliEvent {
    /// The inbox is serving.
    Listening {
        /// The URL to deliver to.
        url: String,
        /// The recipient deliveries must be encrypted to.
        recipient: String,
        /// Where files are saved.
        out: PathBuf,
        /// The only contract accepted.
        contract: String,
        /// The buyer whose purchases are accepted.
        buyer: String,
        /// Whether receipts are confirmed on-chain.
        confirm: bool,
    },
    /// The node could not be reached at start (deliveries are answered 503 until it can).
    NodeUnreachable {
        /// Why.
        reason: String,
    },
    /// Receipt confirmed on-chain: the escrow paid the seller.
    Confirmed {
        /// The contract.
        contract: String,
        /// The purchase.
        purchase_id: u64,
        /// The transaction.
        txhash: String,
        /// Its block (absent with `--broadcast-mode sync`).
        #[serde(skip_serializing_if = "Option::is_none")]
        height: Option<u64>,
    },
    /// Confirming failed; the file is saved all the same.
    ConfirmFailed {
        /// The contract.
        contract: String,
        /// The purchase.
        purchase_id: u64,
        /// Why.
        reason: String,
    },
    /// The watch over the buyer's purchases started (`--confirm` without `--no-auto-dispute`).
    Watching {
        /// The contract's release window: the dispute deadline is this long after a purchase.
        release_window_seconds: u64,
        /// How long the arbiter has to resolve a dispute before the buyer may claim a refund.
        arbitration_window_seconds: u64,
        /// How long before a dispute deadline an undelivered purchase is disputed.
        dispute_before_seconds: f64,
    },
    /// The watch cannot read the chain (said once until it can again).
    WatchUnavailable {
        /// Why.
        reason: String,
    },
    /// An undelivered purchase was disputed before its deadline.
    Disputed {
        /// The contract.
        contract: String,
        /// The purchase.
        purchase_id: u64,
        /// Its dispute deadline.
        deadline: Deadline,
        /// How long the arbiter has before this inbox claims the refund.
        arbitration_window_seconds: u64,
        /// The transaction.
        txhash: String,
        /// Its block (absent with `--broadcast-mode sync`).
        #[serde(skip_serializing_if = "Option::is_none")]
        height: Option<u64>,
    },
    /// The refund of a dispute the arbiter left unresolved was claimed: the buyer has the
    /// payment back.
    RefundClaimed {
        /// The contract.
        contract: String,
        /// The purchase.
        purchase_id: u64,
        /// The transaction.
        txhash: String,
        /// Its block (absent with `--broadcast-mode sync`).
        #[serde(skip_serializing_if = "Option::is_none")]
        height: Option<u64>,
    },
    /// A purchase of this inbox's was undelivered and past its dispute deadline when the watch
    /// first saw it.
    TooLateToDispute {
        /// The contract.
        contract: String,
        /// The purchase.
        purchase_id: u64,
        /// The deadline that passed.
        deadline: Deadline,
    },
    /// A dispute or refund claim failed (tried again at the next look while it can be).
    WatchActionFailed {
        /// The purchase.
        purchase_id: u64,
        /// Why.
        reason: String,
    },
    /// The inbox stopped.
    Stopped {
        /// Deliveries saved since it started.
        saved: u64,
    },
}

/// A deadline in an event: RFC 3339 in JSON, local time in text.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub(super) struct Deadline {
    rfc3339: String,
    #[serde(skip)]
    local: String,
}

impl From<BlockTime> for Deadline {
    fn from(time: BlockTime) -> Self {
        Self {
            rfc3339: time.rfc3339(),
            local: time.local(),
        }
    }
}

impl Deadline {
    fn local(&self) -> &str {
        &self.local
    }
}

/// Prints notes, and keeps the progress bars.
pub(super) struct Reporter<'a, W: Write> {
    out: &'a mut W,
    output: OutputFormat,
    bars: Option<MultiProgress>,
    active: HashMap<(String, u64), ProgressBar>,
    /// `--from`, for the hint after a failed confirmation.
    from: Option<String>,
}

impl<'a, W: Write> Reporter<'a, W> {
    pub(super) fn new(out: &'a mut W, output: OutputFormat, from: Option<String>) -> Self {
        let bars = std::io::stderr()
            .is_terminal()
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Self {
            out,
            output,
            bars,
            active: HashMap::new(),
            from,
        }
    }

    /// Reports one note.
    ///
    /// # Errors
    ///
    /// If stdout cannot be written.
    pub(super) fn note(&mut self, note: &Note) -> anyhow::Result<()> {
        if let Note::Inbox(event) = note {
            self.track(event);
            if matches!(event, InboxEvent::Progress { .. }) {
                return Ok(());
            }
        }
        let line = match self.output {
            OutputFormat::Json => match note {
                Note::Inbox(event) => serde_json::to_string(event)?,
                Note::Cli(event) => serde_json::to_string(event)?,
            },
            OutputFormat::Text => match note {
                Note::Inbox(event) => inbox_line(event),
                Note::Cli(event) => self.cli_line(event),
            },
        };
        // Text: warnings go to stderr, like every command's (the events a reader follows stay
        // on stdout); JSON: every event is a line on stdout, for scripts.
        let to_stderr = self.output == OutputFormat::Text && is_warning(note);
        let out = &mut *self.out;
        let mut write = || -> std::io::Result<()> {
            if to_stderr {
                let mut err = std::io::stderr().lock();
                writeln!(err, "{line}")?;
                return err.flush();
            }
            writeln!(out, "{line}")?;
            out.flush()
        };
        match &self.bars {
            Some(bars) => bars.suspend(write)?,
            None => write()?,
        }
        Ok(())
    }

    /// Moves the progress bars.
    fn track(&mut self, event: &InboxEvent) {
        let Some(bars) = &self.bars else { return };
        match event {
            InboxEvent::Received(d) if d.size >= BAR_FROM_BYTES => {
                let bar = bars.add(ProgressBar::new(d.size));
                bar.set_style(
                    ProgressStyle::with_template(
                        "{msg} {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
                    )
                    .expect("a valid progress template"),
                );
                bar.set_message(format!("purchase {}", d.purchase_id));
                bar.enable_steady_tick(Duration::from_millis(200));
                self.active.insert((d.contract.clone(), d.purchase_id), bar);
            }
            InboxEvent::Progress {
                contract,
                purchase_id,
                received,
                ..
            } => {
                if let Some(bar) = self.active.get(&(contract.clone(), *purchase_id)) {
                    bar.set_position(*received);
                }
            }
            InboxEvent::Verified(d) => self.finish(&d.contract, d.purchase_id),
            InboxEvent::Rejected {
                contract: Some(contract),
                purchase_id: Some(id),
                ..
            } => self.finish(contract, *id),
            _ => {}
        }
    }

    fn finish(&mut self, contract: &str, purchase_id: u64) {
        if let Some(bar) = self.active.remove(&(contract.to_owned(), purchase_id)) {
            bar.finish_and_clear();
            if let Some(bars) = &self.bars {
                bars.remove(&bar);
            }
        }
    }

    fn cli_line(&self, event: &CliEvent) -> String {
        match event {
            CliEvent::Listening {
                url,
                recipient,
                out,
                contract,
                buyer,
                confirm,
            } => {
                let mut text = format!(
                    "inbox listening on {url}\n  buyers give:  consign buy OFFER --deliver-to {url} --recipient {recipient}\n  saving to:    {} (records in {}/{})\n  contract:     {}\n  buyer:        {}\n  on receipt:   {}",
                    out.display(),
                    out.display(),
                    consign_client::inbox::STATE_DIR,
                    contract,
                    buyer,
                    if *confirm {
                        "confirmed on-chain, which pays the seller"
                    } else {
                        "not confirmed (add --confirm --from KEY, or run `consign purchase confirm`)"
                    }
                );
                if is_unspecified(url) {
                    text.push_str("\n  note: listening on every interface; give buyers this machine's public address in --deliver-to, not 0.0.0.0");
                }
                text
            }
            CliEvent::NodeUnreachable { reason } => format!(
                "warning: {reason}; deliveries are answered 503 (the storage node retries) until the node answers"
            ),
            CliEvent::Confirmed {
                purchase_id,
                txhash,
                height,
                ..
            } => match height {
                Some(height) => format!(
                    "[purchase {purchase_id}] receipt confirmed on-chain in block {height} (txhash {txhash}): the payment is released to the seller"
                ),
                None => format!(
                    "[purchase {purchase_id}] receipt confirmation sent (txhash {txhash}); see it with `consign query tx {txhash}`"
                ),
            },
            CliEvent::ConfirmFailed {
                contract,
                purchase_id,
                reason,
            } => format!(
                "[purchase {purchase_id}] confirming receipt failed: {reason}; the file is saved; confirm by hand with `consign purchase confirm {purchase_id} --contract {contract} --from {}`",
                self.from.as_deref().unwrap_or("KEY")
            ),
            CliEvent::Watching {
                release_window_seconds,
                arbitration_window_seconds,
                dispute_before_seconds,
            } => format!(
                "  watching:     your purchases to this inbox; one undelivered {} before its dispute deadline (release window {}) is disputed, and refunded if the arbiter has not resolved it {} later (--no-auto-dispute turns this off)",
                seconds(*dispute_before_seconds),
                seconds(*release_window_seconds as f64),
                seconds(*arbitration_window_seconds as f64),
            ),
            CliEvent::WatchUnavailable { reason } => format!(
                "warning: cannot watch your purchases for now: {reason}; trying again"
            ),
            CliEvent::Disputed {
                purchase_id,
                deadline,
                arbitration_window_seconds,
                txhash,
                ..
            } => format!(
                "[purchase {purchase_id}] nothing delivered with its dispute deadline ({}) near: disputed on-chain (txhash {txhash}); the payment stays in escrow for the arbiter, and this inbox claims it back if they have not decided {} from now",
                deadline.local(),
                seconds(*arbitration_window_seconds as f64)
            ),
            CliEvent::RefundClaimed {
                purchase_id,
                txhash,
                ..
            } => format!(
                "[purchase {purchase_id}] the arbiter did not resolve the dispute in time: refund claimed (txhash {txhash}); the payment is back in your account"
            ),
            CliEvent::TooLateToDispute {
                contract,
                purchase_id,
                deadline,
            } => format!(
                "warning: [purchase {purchase_id}] nothing was delivered to this inbox and its dispute deadline passed at {}: it can no longer be disputed (see `consign purchase show {purchase_id} --contract {contract}`)",
                deadline.local()
            ),
            CliEvent::WatchActionFailed {
                purchase_id,
                reason,
            } => format!(
                "warning: [purchase {purchase_id}] {reason}; trying again at the next look"
            ),
            CliEvent::Stopped { saved } => format!(
                "inbox stopped; {saved} {} saved since it started",
                if *saved == 1 { "delivery" } else { "deliveries" }
            ),
        }
    }
}

/// Whether a note is a warning: stderr in text mode.
fn is_warning(note: &Note) -> bool {
    match note {
        Note::Inbox(event) => matches!(event, InboxEvent::Rejected { .. }),
        Note::Cli(event) => matches!(
            event,
            CliEvent::NodeUnreachable { .. }
                | CliEvent::ConfirmFailed { .. }
                | CliEvent::WatchUnavailable { .. }
                | CliEvent::TooLateToDispute { .. }
                | CliEvent::WatchActionFailed { .. }
        ),
    }
}

/// A duration in seconds for people: `3s`, `1day 2h`.
fn seconds(s: f64) -> String {
    let d = Duration::from_secs_f64(s.max(0.0));
    humantime::format_duration(Duration::from_secs(
        d.as_secs().max(u64::from(d.subsec_nanos() > 0)),
    ))
    .to_string()
}

fn is_unspecified(url: &str) -> bool {
    url.contains("://0.0.0.0") || url.contains("://[::]")
}

fn inbox_line(event: &InboxEvent) -> String {
    match event {
        InboxEvent::Received(d) => format!(
            "[purchase {}] receiving offer {} {}, {} from {}",
            d.purchase_id,
            d.offer_id,
            title(d),
            bytes(d.size),
            d.contract
        ),
        InboxEvent::Verified(d) => format!(
            "[purchase {}] verified: SHA-256 {} and {} match offer {} on-chain",
            d.purchase_id,
            d.sha256,
            bytes(d.size),
            d.offer_id
        ),
        InboxEvent::Saved { record, path } => format!(
            "[purchase {}] saved to {}",
            record.purchase_id,
            path.display()
        ),
        InboxEvent::Duplicate { record, path } => duplicate_line(record, path),
        InboxEvent::Piece(piece) => format!(
            "[purchase {}] piece {}: fragment {}, key share {}; {}",
            piece.purchase_id, piece.index, piece.fragment, piece.share, piece.held
        ),
        InboxEvent::Rebuilding {
            purchase_id, held, ..
        } => format!("[purchase {purchase_id}] {held}; rebuilding the data"),
        InboxEvent::Rejected {
            purchase_id,
            status,
            reason,
            ..
        } => match purchase_id {
            Some(id) => format!("[purchase {id}] rejected ({status}): {reason}"),
            None => format!("[delivery] rejected ({status}): {reason}"),
        },
        InboxEvent::Progress {
            purchase_id,
            received,
            total,
            ..
        } => format!(
            "[purchase {purchase_id}] {} of {}",
            bytes(*received),
            bytes(*total)
        ),
        other => format!("{other:?}"),
    }
}

fn duplicate_line(record: &SavedRecord, path: &std::path::Path) -> String {
    format!(
        "[purchase {}] delivered again: already saved to {}; answered 200, nothing written",
        record.purchase_id,
        path.display()
    )
}

fn title(d: &Delivery) -> String {
    if d.title.is_empty() {
        "(untitled)".to_owned()
    } else {
        format!("{:?}", d.title)
    }
}

/// `n` bytes for people: `512 bytes`, `3 MiB (3145728 bytes)`, `1.5 KiB (1536 bytes)`.
fn bytes(n: u64) -> String {
    if n < 1024 {
        return format!("{n} bytes");
    }
    format!("{} ({n} bytes)", format_size(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_say_what_is_held_and_awaited() {
        use consign_client::inbox::{PieceReport, PiecesHeld, Verdict};
        let held = PiecesHeld {
            k: 2,
            n: 3,
            fragments: vec![0, 2],
            shares: vec![0],
            fragments_needed: 0,
            shares_needed: 1,
            waiting_for: vec![1, 2],
        };
        let piece = PieceReport {
            contract: "consign1market".into(),
            purchase_id: 7,
            offer_id: 3,
            index: 2,
            fragment: Verdict::Accepted,
            share: Verdict::Refused("key share 2 refused: it does not match".into()),
            held,
        };
        assert_eq!(
            inbox_line(&InboxEvent::Piece(piece.clone())),
            "[purchase 7] piece 2: fragment accepted, key share refused (key share 2 refused: it does not match); holding fragments [0, 2] and key shares [0] (k = 2 of n = 3), waiting for 1 more key share"
        );
        let json = serde_json::to_value(InboxEvent::Piece(piece)).unwrap();
        assert_eq!(json["event"], "piece");
        assert_eq!(json["index"], 2);
        assert_eq!(json["fragment"], "accepted");
        assert_eq!(
            json["share"]["refused"],
            "key share 2 refused: it does not match"
        );
        assert_eq!(json["held"]["waiting_for"], serde_json::json!([1, 2]));
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(bytes(0), "0 bytes");
        assert_eq!(bytes(1023), "1023 bytes");
        assert_eq!(bytes(3 << 20), "3 MiB (3145728 bytes)");
        assert_eq!(bytes(1536), "1.5 KiB (1536 bytes)");
    }
}

//! How commands print: `--output text|json`, JSON documents, a transaction's result, a
//! broadcast's outcome with its exit status, block times in local time, tables and `key: value`
//! lines.
//!
//! # Where things go: stdout for the result, stderr for the rest
//!
//! Every command follows one rule, so `consign … | jq`, `id=$(consign …)` and `consign … > file`
//! get exactly what they asked for:
//!
//! - **stdout** carries the command's result, what a script reads: the JSON document with
//!   `--output json`; in text, the table, the `key: value` lines or the one-line answer. A
//!   value may carry a short parenthetical note (`dispute deadline: … (until then …)`), because
//!   it is part of what the value means.
//! - **stderr** carries everything said to the person watching: narration of what was done
//!   (`uploaded …`, `purchase 3 committed in block 9`), progress bars, warnings, hints on what
//!   to run next, and errors. A failed transaction's reason is written there once; with
//!   `--output json` its result is also on stdout.
//!
//! Nothing a script needs is only on stderr, and nothing on stdout is there only to be read by
//! a person. An empty list writes nothing on stdout and says so on stderr.

use std::io::Write;

use anyhow::Context as _;
use clap::ValueEnum;
use consign_client::{Broadcast, ClientError, Coin, Timestamp, TxResult};
use serde::Serialize;
use unicode_width::UnicodeWidthChar as _;

use super::{EXIT_OK, EXIT_REJECTED};

/// How results are printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text.
    Text,
    /// JSON, one document per command.
    Json,
}

/// Writes `value` as JSON: pretty for people, one compact line for scripts.
pub fn print_json(
    value: &impl Serialize,
    output: OutputFormat,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match output {
        OutputFormat::Text => serde_json::to_writer_pretty(&mut *out, value)?,
        OutputFormat::Json => serde_json::to_writer(&mut *out, value)?,
    }
    writeln!(out)?;
    Ok(())
}

/// What a refused transaction prints with `--output json`, in the shape of a result.
#[derive(Serialize)]
struct Refusal<'a> {
    txhash: Option<String>,
    code: u32,
    log: &'a str,
}

/// Reports a broadcast's outcome: a committed success through `on_success`; a failure in the
/// block or a refusal on stderr (and, with `--output json`, as JSON on stdout); a transaction
/// only accepted into the mempool by its hash. Returns the exit status.
///
/// # Errors
///
/// If the node could not be reached or answered with an error other than a refusal, or `out`
/// cannot be written.
pub fn report<W: Write>(
    outcome: Result<Broadcast, ClientError>,
    output: OutputFormat,
    out: &mut W,
    on_success: impl FnOnce(&TxResult, OutputFormat, &mut W) -> anyhow::Result<()>,
) -> anyhow::Result<u8> {
    match outcome {
        Ok(Broadcast::Committed(result)) if result.code == 0 => {
            on_success(&result, output, out)?;
            Ok(EXIT_OK)
        }
        Ok(Broadcast::Committed(result)) => {
            // The reason goes to stderr once; scripts reading `--output json` get the result.
            if output == OutputFormat::Json {
                print_result(&result, output, out)?;
            }
            eprintln!(
                "error: transaction {} failed in block {} (code {}): {}",
                result.txhash, result.height, result.code, result.log
            );
            if result.gas_used >= result.gas_wanted {
                eprintln!(
                    "hint: it ran out of gas; give it more with --gas N, or let the node \
                     measure it with --gas auto"
                );
            }
            Ok(EXIT_REJECTED)
        }
        Ok(Broadcast::Checked(check)) => {
            match output {
                OutputFormat::Json => writeln!(out, "{}", serde_json::to_string(&check)?)?,
                OutputFormat::Text => {
                    writeln!(out, "txhash: {}", check.txhash)?;
                    eprintln!(
                        "accepted into the mempool; see the result with `consign query tx {}`",
                        check.txhash
                    );
                }
            }
            Ok(EXIT_OK)
        }
        Err(ClientError::Refused {
            message,
            code,
            txhash,
        }) => {
            if output == OutputFormat::Json {
                let refusal = Refusal {
                    txhash: txhash.map(|h| h.to_string()),
                    code,
                    log: &message,
                };
                writeln!(out, "{}", serde_json::to_string(&refusal)?)?;
            }
            let hash = txhash.map(|h| format!(" {h}")).unwrap_or_default();
            eprintln!("error: transaction{hash} refused by the node (code {code}): {message}");
            Ok(EXIT_REJECTED)
        }
        Err(error) => Err(error.into()),
    }
}

/// Prints a committed result: the whole [`TxResult`] as one JSON object, or a short summary.
pub fn print_result(
    result: &TxResult,
    output: OutputFormat,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if output == OutputFormat::Json {
        writeln!(out, "{}", serde_json::to_string(result)?)?;
        return Ok(());
    }
    writeln!(out, "txhash: {}", result.txhash)?;
    writeln!(out, "height: {}", result.height)?;
    if result.code == 0 {
        writeln!(out, "code: 0 (ok)")?;
    } else {
        writeln!(out, "code: {} (failed)", result.code)?;
        writeln!(out, "log: {}", result.log)?;
    }
    writeln!(
        out,
        "gas: {} used of {}",
        result.gas_used, result.gas_wanted
    )?;
    if let Some(code_id) = result.code_id {
        writeln!(out, "code_id: {code_id}")?;
    }
    if let Some(address) = &result.contract_address {
        writeln!(out, "contract_address: {address}")?;
    }
    if !result.deliveries.is_empty() {
        let sequences: Vec<String> = result
            .deliveries
            .iter()
            .map(|d| d.sequence.to_string())
            .collect();
        writeln!(out, "deliveries: {}", sequences.join(", "))?;
    }
    Ok(())
}

/// An error and its causes on one line, `outer: cause: root`, each text once: a cause already
/// contained in what is written (a thiserror message that embeds its `#[source]`, an io error's
/// own text repeated by the layer above) is not written again.
pub fn error_message(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if cause.is_empty() || message.contains(&cause) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&cause);
    }
    message
}

/// Coins as the command line writes them: `100ucsn,5foo`.
pub fn coins_to_string(coins: &[Coin]) -> String {
    coins
        .iter()
        .map(|c| format!("{}{}", c.amount, c.denom))
        .collect::<Vec<_>>()
        .join(",")
}

/// The earliest time of the block a transaction sent now can be in: the later of the node's
/// latest block time and this machine's clock. A chain stamps a new block with its own clock, and
/// an idle `consign dev --block-time 0` makes no block until a transaction comes, so its latest
/// block time can be long past. What is checked before signing (an offer's expiry, a refund's
/// window, a dispute's deadline) is judged by this.
pub fn next_block_time(latest: Timestamp) -> Timestamp {
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    latest.max(Timestamp::from_nanos(clock))
}

/// A block time, to print: in local time for people, RFC 3339 for JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BlockTime(jiff::Timestamp);

impl BlockTime {
    /// `time` as the chain and the contract keep it.
    ///
    /// # Errors
    ///
    /// If it is beyond the year 9999.
    pub fn new(time: Timestamp) -> anyhow::Result<Self> {
        jiff::Timestamp::from_nanosecond(i128::from(time.nanos()))
            .map(Self)
            .with_context(|| format!("the block time {time} is beyond the year 9999"))
    }

    /// `seconds` later.
    ///
    /// # Errors
    ///
    /// If that is beyond the year 9999.
    pub fn plus_seconds(self, seconds: u64) -> anyhow::Result<Self> {
        let beyond = || {
            format!(
                "{seconds} s after {} is beyond the year 9999",
                self.rfc3339()
            )
        };
        let seconds = i64::try_from(seconds).with_context(beyond)?;
        self.0
            .checked_add(jiff::SignedDuration::from_secs(seconds))
            .map(Self)
            .with_context(beyond)
    }

    /// The dispute deadline of a purchase made at `created` under a release window of
    /// `window_seconds`: until then the buyer may dispute it (the contract refuses a dispute from
    /// this instant on), and from then on the seller may claim the payment. The data should be
    /// delivered before it.
    ///
    /// # Errors
    ///
    /// If the deadline is beyond the year 9999.
    pub fn dispute_deadline(created: Timestamp, window_seconds: u64) -> anyhow::Result<Self> {
        Self::new(created)?.plus_seconds(window_seconds)
    }

    /// RFC 3339 in UTC, for JSON: `2026-12-02T14:05:03Z`.
    pub fn rfc3339(self) -> String {
        self.0.to_string()
    }

    /// In the local time zone (TZ, else the system's) to the second, with its offset from UTC:
    /// `2026-12-02 15:05:03 UTC+01` (`UTC` alone in UTC). For `key: value` lines, where a
    /// deadline may be acted on to the second.
    pub fn local(self) -> String {
        self.local_as("%Y-%m-%d %H:%M:%S")
    }

    /// As [`BlockTime::local`] to the minute, for table cells: `2026-12-02 15:05 UTC+01`.
    pub fn local_short(self) -> String {
        self.local_as("%Y-%m-%d %H:%M")
    }

    fn local_as(self, format: &str) -> String {
        self.in_zone(jiff::tz::TimeZone::system(), format)
    }

    fn in_zone(self, zone: jiff::tz::TimeZone, format: &str) -> String {
        let zoned = self.0.to_zoned_datetime(zone);
        let offset = zoned.offset().seconds();
        let (sign, offset) = if offset < 0 {
            ('-', -offset)
        } else {
            ('+', offset)
        };
        let (hours, minutes) = (offset / 3600, offset % 3600 / 60);
        let zone = match (hours, minutes) {
            (0, 0) => "UTC".to_owned(),
            (_, 0) => format!("UTC{sign}{hours:02}"),
            _ => format!("UTC{sign}{hours:02}:{minutes:02}"),
        };
        format!("{} {zone}", zoned.strftime(format))
    }

    /// Whether it has passed, by this machine's clock.
    pub fn passed(self) -> bool {
        jiff::Timestamp::now() >= self.0
    }
}

/// Text from the chain made safe to print on a terminal, on one line: control characters
/// (line breaks, tabs, escape sequences a seller could put in a title) become spaces.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Writes `key: value`; a value of several lines continues on lines indented by two spaces.
/// Control characters other than line breaks (escape sequences a seller could put in an offer's
/// description) are written as spaces.
///
/// # Errors
///
/// If `out` cannot be written.
pub fn field(out: &mut impl Write, key: &str, value: &str) -> std::io::Result<()> {
    let mut lines = value.lines();
    writeln!(out, "{key}: {}", one_line(lines.next().unwrap_or("")))?;
    for line in lines {
        writeln!(out, "  {}", one_line(line))?;
    }
    Ok(())
}

/// How a column's cells line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text.
    Left,
    /// Numbers.
    Right,
}

/// A text table: a header row, then one row per entry, each column as wide as its widest cell
/// (in terminal columns, so wide characters line up), two spaces apart, no trailing spaces.
#[derive(Debug)]
pub struct Table {
    columns: Vec<(&'static str, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these columns.
    pub fn new(columns: &[(&'static str, Align)]) -> Self {
        Self {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row: one cell per column, made one line (see [`one_line`]).
    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.columns.len(), "one cell per column");
        self.rows
            .push(cells.iter().map(|cell| one_line(cell)).collect());
    }

    /// Writes the header and the rows.
    ///
    /// # Errors
    ///
    /// If `out` cannot be written.
    pub fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        let header: Vec<String> = self
            .columns
            .iter()
            .map(|(name, _)| (*name).to_owned())
            .collect();
        let widths: Vec<usize> = (0..self.columns.len())
            .map(|i| {
                std::iter::once(&header)
                    .chain(&self.rows)
                    .map(|row| row.get(i).map_or(0, |cell| width(cell)))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                let pad = " ".repeat(widths[i].saturating_sub(width(cell)));
                let last = i + 1 == row.len();
                if i > 0 {
                    line.push_str("  ");
                }
                match self.columns[i].1 {
                    Align::Right => {
                        line.push_str(&pad);
                        line.push_str(cell);
                    }
                    Align::Left => {
                        line.push_str(cell);
                        if !last {
                            line.push_str(&pad);
                        }
                    }
                }
            }
            writeln!(out, "{line}")?;
        }
        Ok(())
    }
}

/// How many terminal columns `text` takes.
fn width(text: &str) -> usize {
    text.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// `text` cut to at most `max` terminal columns, ending in `…` when cut: a free-text cell (an
/// offer's title) that should not push the next columns off the screen.
pub fn truncate(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_owned();
    }
    let mut cut = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > max {
            break;
        }
        cut.push(c);
        used += w;
    }
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_line_up_wide_characters_and_leave_no_trailing_spaces() {
        let mut table = Table::new(&[
            ("ID", Align::Right),
            ("TITLE", Align::Left),
            ("PRICE", Align::Left),
        ]);
        table.row(vec!["7".into(), "Prix du jour".into(), "100ucsn".into()]);
        table.row(vec![
            "12".into(),
            "天気\ndata".into(),
            "5foo,100ucsn".into(),
        ]);
        let mut out = Vec::new();
        table.write(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "ID  TITLE         PRICE\n 7  Prix du jour  100ucsn\n12  天気 data     5foo,100ucsn\n"
        );
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abcd", 4), "abcd");
        assert_eq!(truncate("天気天気", 5), "天気…");
    }

    #[test]
    fn fields_indent_their_continuation_lines_and_drop_escapes() {
        let mut out = Vec::new();
        field(&mut out, "terms", "personal use\nno resale\x1b[2J").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "terms: personal use\n  no resale [2J\n"
        );
    }

    #[test]
    fn local_times_name_their_offset_from_utc() {
        let time = BlockTime::new(Timestamp::from_nanos(1_796_223_840_250_000_000)).unwrap();
        assert_eq!(time.rfc3339(), "2026-12-02T15:04:00.25Z");
        let deadline = BlockTime::dispute_deadline(Timestamp::from_seconds(1), 3600).unwrap();
        assert_eq!(deadline.rfc3339(), "1970-01-01T01:00:01Z");
        assert!(deadline.passed());
        assert!(BlockTime::dispute_deadline(Timestamp::from_seconds(1), u64::MAX).is_err());
        let zone =
            |seconds| jiff::tz::TimeZone::fixed(jiff::tz::Offset::from_seconds(seconds).unwrap());
        let format = "%Y-%m-%d %H:%M";
        assert_eq!(time.in_zone(zone(0), format), "2026-12-02 15:04 UTC");
        assert_eq!(time.in_zone(zone(3600), format), "2026-12-02 16:04 UTC+01");
        assert_eq!(
            time.in_zone(zone(-5 * 3600), format),
            "2026-12-02 10:04 UTC-05"
        );
        assert_eq!(
            time.in_zone(zone(19_800), format),
            "2026-12-02 20:34 UTC+05:30"
        );
        // The process's zone: each form ends in it.
        let zone = time.local().rsplit(' ').next().unwrap().to_owned();
        assert!(
            zone == "UTC" || zone.starts_with("UTC+") || zone.starts_with("UTC-"),
            "{zone}"
        );
        assert_eq!(time.local_short().rsplit(' ').next().unwrap(), zone);
        assert_eq!(time.local().len(), time.local_short().len() + 3);
    }

    #[test]
    fn each_cause_is_written_once() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let text = io.to_string();
        let error = anyhow::Error::new(io)
            .context(format!("wrapped: {text}"))
            .context("cannot read offer.bin");
        assert_eq!(
            error_message(&error),
            format!("cannot read offer.bin: wrapped: {text}")
        );
        let error = anyhow::anyhow!("root").context("middle").context("top");
        assert_eq!(error_message(&error), "top: middle: root");
    }
}

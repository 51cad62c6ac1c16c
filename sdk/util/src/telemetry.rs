//! The binaries' log set-up: lines on stderr, at a level chosen by the number of `-v` flags,
//! unless `RUST_LOG` says otherwise; human-readable text or one JSON object per line
//! ([`LogFormat`], the `--log-format` flag of [`LogArgs`]). Text is coloured only when stderr is
//! a terminal and `NO_COLOR` is not set, so files and journald never receive escape codes.
//! Libraries only log; binaries call [`init_tracing`] once, first thing in `main`.

use std::ffi::OsString;
use std::io::IsTerminal as _;

use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Lines for people: time, level, target, message and fields.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, `message` and the event's
    /// fields at the top level), for journald, log shippers and `jq`.
    Json,
}

/// `--log-format`, the one definition both binaries flatten into their command line.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct LogArgs {
    /// How log lines on stderr are written: `text` for people (coloured only when stderr is a
    /// terminal and NO_COLOR is not set), `json` for one JSON object per line (journald, log
    /// shippers, jq).
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "FORMAT",
        default_value_t = LogFormat::Text,
        env = "CONSIGN_LOG_FORMAT"
    )]
    pub log_format: LogFormat,
}

/// Whether text logs are coloured: only on a terminal, and never when `NO_COLOR` is set to
/// anything but the empty string (<https://no-color.org>).
pub fn use_colour(stderr_is_terminal: bool, no_color: Option<OsString>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|value| value.is_empty())
}

/// The levels `-v` steps through, quietest first.
const LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

/// The filter [`init_tracing`] uses when `RUST_LOG` is not set: `quiet` raised one level per
/// `-v` (capped at `trace`), then the `extra` directives (comma-separated, e.g.
/// `warp::server=off`), which win over the level for their targets.
///
/// `default_directives("warn", 1, "warp::server=off")` is `info,warp::server=off`.
pub fn default_directives(quiet: &str, verbose: u8, extra: &str) -> String {
    let start = LEVELS
        .iter()
        .position(|level| level.eq_ignore_ascii_case(quiet))
        .unwrap_or(2);
    let level = LEVELS[(start + usize::from(verbose)).min(LEVELS.len() - 1)];
    if extra.is_empty() {
        level.to_owned()
    } else {
        format!("{level},{extra}")
    }
}

/// Why the subscriber was not installed.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up logging")]
pub struct TelemetryError(#[source] tracing_subscriber::util::TryInitError);

/// Installs the process's tracing subscriber: lines on stderr in `format`, filtered by
/// `RUST_LOG` if it is set (and valid), else by [`default_directives`]`(quiet, verbose, extra)`.
/// Text is coloured as [`use_colour`] decides for the process's stderr and `NO_COLOR`.
///
/// # Errors
///
/// If a global subscriber is already installed.
pub fn init_tracing(
    quiet: &str,
    verbose: u8,
    extra: &str,
    format: LogFormat,
) -> Result<(), TelemetryError> {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(default_directives(quiet, verbose, extra)));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder
            .with_ansi(use_colour(
                std::io::stderr().is_terminal(),
                std::env::var_os("NO_COLOR"),
            ))
            .finish()
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_ansi(false)
            .finish()
            .try_init(),
    }
    .map_err(TelemetryError)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_v_raises_the_level_once() {
        // `consign`: warn by default.
        let node: Vec<String> = (0..5)
            .map(|v| default_directives("warn", v, "warp::server=off"))
            .collect();
        assert_eq!(
            node,
            [
                "warn,warp::server=off",
                "info,warp::server=off",
                "debug,warp::server=off",
                "trace,warp::server=off",
                "trace,warp::server=off"
            ]
        );
        // `consign-storage`: info by default.
        assert_eq!(default_directives("info", 0, ""), "info");
        assert_eq!(
            default_directives("info", 1, "hyper=warn"),
            "debug,hyper=warn"
        );
        assert_eq!(default_directives("info", 200, ""), "trace");
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_colour(true, None));
        assert!(!use_colour(false, None));
        assert!(!use_colour(true, Some("1".into())));
        assert!(!use_colour(false, Some("1".into())));
        // NO_COLOR set to the empty string does not count (no-color.org).
        assert!(use_colour(true, Some(OsString::new())));
    }

    #[test]
    fn log_format_is_a_global_flag_with_an_environment_variable() {
        use clap::Parser as _;

        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            log: LogArgs,
        }
        let cli = Cli::try_parse_from(["x", "--log-format", "json"]).unwrap();
        assert_eq!(cli.log.log_format, LogFormat::Json);
        let cli = Cli::try_parse_from(["x"]).unwrap();
        assert_eq!(cli.log.log_format, LogFormat::Text);
        let error = Cli::try_parse_from(["x", "--log-format", "xml"])
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("text") && error.contains("json"), "{error}");
    }
}

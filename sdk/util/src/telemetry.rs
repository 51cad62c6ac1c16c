//! The binaries' log set-up: human-readable lines on stderr, at a level chosen by the number
//! of `-v` flags, unless `RUST_LOG` says otherwise. Libraries only log; binaries call
//! [`init_tracing`] once, first thing in `main`.

use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::EnvFilter;

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

/// Installs the process's tracing subscriber: lines on stderr, filtered by `RUST_LOG` if it is
/// set (and valid), else by [`default_directives`]`(quiet, verbose, extra)`.
///
/// # Errors
///
/// If a global subscriber is already installed.
pub fn init_tracing(quiet: &str, verbose: u8, extra: &str) -> Result<(), TelemetryError> {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(default_directives(quiet, verbose, extra)));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .finish()
        .try_init()
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
}

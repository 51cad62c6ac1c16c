//! Long-running processes under test (`consign dev`, `consign-storage serve`): consign-util's
//! [`Daemon`], started with its log appended to a file, found ready by the `api.url` file it
//! writes and its `GET /status`, stopped with SIGTERM or killed with SIGKILL.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Result};
pub use consign_util::daemon::Daemon;

/// Runs `command` (its stdout and stderr appended to `log`), then waits until it has written
/// its URL to `url_file` and answers `GET /status`. Dropping it kills it (SIGKILL).
///
/// # Errors
/// When it exits or is not ready within 60 seconds; the error holds its log.
pub(crate) fn spawn(
    name: &'static str,
    command: Command,
    url_file: &Path,
    log: &Path,
) -> Result<Daemon> {
    Ok(Daemon::builder(name, command, log, url_file)
        .append_log()
        .ready_when(status_ok)
        .error_log_lines(usize::MAX)
        .spawn()?)
}

/// Asks the process to stop (SIGTERM) and waits for it; nothing to do if it is no longer
/// running (killed or reaped already).
///
/// # Errors
/// When it does not exit cleanly within 30 seconds.
pub(crate) fn stop(daemon: &mut Daemon) -> Result<()> {
    if daemon.pid().is_none() {
        return Ok(());
    }
    let status = daemon.terminate(Duration::from_secs(30))?;
    if !status.success() {
        bail!(
            "{} exited with {status} on SIGTERM: {}",
            daemon.name(),
            daemon.log()
        );
    }
    Ok(())
}

/// Whether `GET {url}/status` answers 2xx.
pub fn status_ok(url: &str) -> bool {
    let url = format!("{url}/status");
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return false;
    };
    runtime.block_on(async {
        match reqwest::Client::new()
            .get(&url)
            .timeout(Duration::from_secs(2))
            .send()
            .await
        {
            Ok(response) => response.status().is_success(),
            Err(_) => false,
        }
    })
}

/// The workspace's target directory: `$CARGO_TARGET_DIR` if set, else `target/`.
pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// A binary of this workspace: `$<ENV>` if set, else `target/debug/<name>`.
///
/// # Panics
/// When it has not been built.
pub fn workspace_bin(name: &str, env: &str) -> PathBuf {
    if let Some(bin) = std::env::var_os(env) {
        return PathBuf::from(bin);
    }
    let bin = target_dir().join("debug").join(name);
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build --workspace --bins` (scripts/test.sh does)",
        bin.display()
    );
    bin
}

//! The demo's processes: daemons started and stopped with it (`consign dev`, `consign-storage`,
//! `consign inbox`, each a `consign_util::daemon::Daemon`), and the one-shot `consign` commands
//! it runs, each shown as the command a person would type.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use consign_util::daemon::Daemon;
use serde_json::Value;

/// How long a daemon may take to come up.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a daemon has to stop after SIGTERM before it is killed.
pub(super) const STOP_GRACE: Duration = Duration::from_secs(10);

/// Starts `program ARGS` (with `envs`) as the daemon `name`, its output in `log`; waits until
/// `ready` (a file holding the daemon's URL) exists and is non-empty, and returns the daemon and
/// the URL. Dropping the daemon stops it (SIGTERM, then SIGKILL after [`STOP_GRACE`]).
pub(super) fn start(
    name: &'static str,
    program: &Path,
    envs: &[(&str, &str)],
    args: &[OsString],
    log: &Path,
    ready: &Path,
) -> anyhow::Result<(Daemon, String)> {
    let mut command = Command::new(program);
    command.args(args).envs(envs.iter().copied());
    let daemon = Daemon::builder(name, command, log, ready)
        .start_timeout(START_TIMEOUT)
        .terminate_on_drop(STOP_GRACE)
        .spawn()?;
    let url = daemon.url().to_owned();
    Ok((daemon, url))
}

/// Runs `consign ARGS --output json` (with `--home` and `--node`), returning its JSON; the
/// command as a person would type it is `shown`.
pub(super) struct Cli {
    pub(super) program: PathBuf,
    pub(super) node: String,
}

impl Cli {
    /// Runs `consign ARGS --home HOME --node URL --output json` and parses its output.
    pub(super) fn json(&self, home: &Path, args: &[&str]) -> anyhow::Result<Value> {
        let output = Command::new(&self.program)
            .args(args)
            .arg("--home")
            .arg(home)
            .args(["--node", &self.node, "--output", "json"])
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run {}", self.program.display()))?;
        if !output.status.success() {
            bail!(
                "`consign {}` failed ({}):\n{}{}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let text = String::from_utf8_lossy(&output.stdout);
        serde_json::from_str(text.trim())
            .with_context(|| format!("`consign {}` did not print JSON: {text}", args.join(" ")))
    }
}

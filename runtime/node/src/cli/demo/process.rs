//! The demo's processes: daemons started and stopped with it (`consign dev`, `consign-storage`,
//! `consign inbox`), and the one-shot `consign` commands it runs, each shown as the command a
//! person would type.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::Value;

/// How long a daemon may take to come up.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A daemon the demo started; stopped (SIGTERM, then SIGKILL) when dropped.
pub(super) struct Daemon {
    name: &'static str,
    child: Option<Child>,
    log: PathBuf,
}

impl Daemon {
    /// Starts `program ARGS` with its output in `log`; waits until `ready` (a file holding the
    /// daemon's URL) exists and is non-empty, and returns the URL.
    pub(super) fn start(
        name: &'static str,
        program: &Path,
        envs: &[(&str, &str)],
        args: &[OsString],
        log: &Path,
        ready: &Path,
    ) -> anyhow::Result<(Self, String)> {
        let _ = std::fs::remove_file(ready);
        let log_file = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let child = Command::new(program)
            .args(args)
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()))?;
        let mut daemon = Daemon {
            name,
            child: Some(child),
            log: log.to_path_buf(),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(url) = std::fs::read_to_string(ready) {
                let url = url.trim();
                if !url.is_empty() {
                    return Ok((daemon, url.to_owned()));
                }
            }
            if let Some(status) = daemon
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                bail!("{name} exited with {status}; its log:\n{}", daemon.tail());
            }
            if Instant::now() > deadline {
                bail!(
                    "{name} did not start within {START_TIMEOUT:?}; its log:\n{}",
                    daemon.tail()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Its process id.
    pub(super) fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Waits for it to exit by itself, up to `timeout`; returns whether it exited successfully.
    pub(super) fn wait(&mut self, timeout: Duration) -> anyhow::Result<bool> {
        let deadline = Instant::now() + timeout;
        let Some(child) = self.child.as_mut() else {
            return Ok(true);
        };
        loop {
            if let Some(status) = child.try_wait()? {
                self.child = None;
                return Ok(status.success());
            }
            if Instant::now() > deadline {
                bail!(
                    "{} did not finish within {timeout:?}; its log:\n{}",
                    self.name,
                    self.tail()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The last lines of its log.
    pub(super) fn tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Asks it to stop (SIGTERM), waiting up to 10 s before killing it.
    pub(super) fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Leaves it running after the demo ends.
    pub(super) fn detach(mut self) {
        self.child = None;
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
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

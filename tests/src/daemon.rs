//! A long-running process under test: started with its log in a file, found ready by the
//! `api.url` file it writes and its `GET /status`, stopped with SIGTERM or killed with SIGKILL.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// A running daemon (`consign dev` or `consign-storage serve`).
pub struct Daemon {
    name: &'static str,
    child: Option<Child>,
    log: PathBuf,
    /// The API's base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
}

impl Daemon {
    /// Runs `command` (its stdout and stderr appended to `log`), then waits until it has written
    /// its URL to `url_file` and answers `GET /status`.
    ///
    /// # Errors
    /// When it exits or is not ready within 60 seconds; the error holds its log.
    pub fn spawn(
        name: &'static str,
        mut command: Command,
        url_file: &Path,
        log: &Path,
    ) -> Result<Self> {
        let _ = std::fs::remove_file(url_file);
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        let mut daemon = Daemon {
            name,
            child: Some(child),
            log: log.to_path_buf(),
            url: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(url) = std::fs::read_to_string(url_file) {
                let url = url.trim().to_owned();
                if !url.is_empty() && status_ok(&url) {
                    daemon.url = url;
                    return Ok(daemon);
                }
            }
            if let Some(child) = daemon.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    bail!("{name} exited with {status}: {}", daemon.log());
                }
            }
            if Instant::now() > deadline {
                bail!("{name} did not start within 60 s: {}", daemon.log());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the process with SIGKILL, as a crash would.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Asks the process to stop (SIGTERM) and waits for it.
    ///
    /// # Errors
    /// When it does not exit cleanly within 30 seconds.
    pub fn stop(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let pid = child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait()? {
                if !status.success() {
                    bail!(
                        "{} exited with {status} on SIGTERM: {}",
                        self.name,
                        self.log()
                    );
                }
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                bail!("{} did not stop within 30 s of SIGTERM", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
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

/// A binary of this workspace: `$<ENV>` if set, else `target/debug/<name>`.
///
/// # Panics
/// When it has not been built.
pub fn workspace_bin(name: &str, env: &str) -> PathBuf {
    if let Some(bin) = std::env::var_os(env) {
        return PathBuf::from(bin);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let bin = target.join("debug").join(name);
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build --workspace --bins` (scripts/test.sh does)",
        bin.display()
    );
    bin
}

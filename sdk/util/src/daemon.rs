//! A long-running child process (`consign dev`, `consign-storage serve`, `consign inbox`)
//! started with its output in a log file, found ready by the URL it writes to a file, then
//! waited for, stopped with SIGTERM, or killed with SIGKILL as a crash would be. The demo and
//! the cross-process tests both run their daemons through [`Daemon`].
//!
//! ```no_run
//! # use std::process::Command;
//! # use std::path::Path;
//! # use std::time::Duration;
//! # fn main() -> Result<(), consign_util::daemon::DaemonError> {
//! let home = Path::new("/tmp/chain");
//! let mut command = Command::new("consign");
//! command.args(["dev", "--api", "127.0.0.1:0", "--home"]).arg(home);
//! let mut chain = consign_util::daemon::Daemon::builder(
//!     "consign dev",
//!     command,
//!     home.join("dev.log"),
//!     home.join("api.url"),
//! )
//! .spawn()?;
//! println!("{} is at {}", chain.name(), chain.url());
//! chain.terminate(Duration::from_secs(10))?;
//! # Ok(())
//! # }
//! ```

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How often the process and its ready file are looked at while waiting.
const POLL: Duration = Duration::from_millis(20);

/// Why a daemon could not be started, waited for or stopped. The variants about the process
/// carry the end of its log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    /// The log file cannot be opened.
    #[error("cannot open the log {}", path.display())]
    Log {
        /// The log file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The program cannot be started.
    #[error("cannot start {name}")]
    Spawn {
        /// The daemon's name.
        name: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// It exited before it was ready.
    #[error("{name} exited with {status}; its log:\n{log}")]
    Exited {
        /// The daemon's name.
        name: String,
        /// How it exited.
        status: ExitStatus,
        /// The end of its log.
        log: String,
    },
    /// It did not write its URL (or did not pass the readiness check) in time.
    #[error("{name} did not start within {timeout:?}; its log:\n{log}")]
    NotReady {
        /// The daemon's name.
        name: String,
        /// How long it was given.
        timeout: Duration,
        /// The end of its log.
        log: String,
    },
    /// It did not exit by itself in time ([`Daemon::wait`]); it still runs.
    #[error("{name} did not finish within {timeout:?}; its log:\n{log}")]
    NotFinished {
        /// The daemon's name.
        name: String,
        /// How long it was given.
        timeout: Duration,
        /// The end of its log.
        log: String,
    },
    /// It did not exit within the grace period after SIGTERM ([`Daemon::terminate`]); it was
    /// killed.
    #[error("{name} did not stop within {grace:?} of SIGTERM; it was killed")]
    NotStopped {
        /// The daemon's name.
        name: String,
        /// How long it was given.
        grace: Duration,
    },
    /// Waiting for it or signalling it failed.
    #[error("cannot {action} {name}")]
    Process {
        /// What was being done.
        action: &'static str,
        /// The daemon's name.
        name: String,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// What dropping a [`Daemon`] that still runs does.
#[derive(Clone, Copy, Debug)]
enum OnDrop {
    Kill,
    Terminate(Duration),
}

/// A test of the URL a daemon wrote: true once it is ready.
type ReadyCheck = Box<dyn Fn(&str) -> bool>;

/// How to start a [`Daemon`]; made by [`Daemon::builder`].
#[must_use]
pub struct DaemonBuilder {
    name: String,
    command: Command,
    log: PathBuf,
    ready_file: PathBuf,
    append_log: bool,
    start_timeout: Duration,
    log_lines: usize,
    ready_check: Option<ReadyCheck>,
    on_drop: OnDrop,
}

impl DaemonBuilder {
    /// Appends to the log file instead of starting it afresh (a restarted daemon's log then
    /// holds every run).
    pub fn append_log(mut self) -> Self {
        self.append_log = true;
        self
    }

    /// Ready only once `check(url)` is also true (for instance, `GET {url}/status` answers),
    /// not as soon as the URL is written.
    pub fn ready_when(mut self, check: impl Fn(&str) -> bool + 'static) -> Self {
        self.ready_check = Some(Box::new(check));
        self
    }

    /// How long it may take to become ready (60 s unless set).
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = timeout;
        self
    }

    /// How many of the log's last lines errors carry (20 unless set; `usize::MAX` for all).
    pub fn error_log_lines(mut self, lines: usize) -> Self {
        self.log_lines = lines;
        self
    }

    /// When dropped while it runs, ask it to stop (SIGTERM) and kill it only after `grace`;
    /// without this, a dropped daemon is killed at once (SIGKILL).
    pub fn terminate_on_drop(mut self, grace: Duration) -> Self {
        self.on_drop = OnDrop::Terminate(grace);
        self
    }

    /// Starts the program (standard input closed, standard output and error to the log) and
    /// waits until it has written a non-empty line to the ready file (removed first, so a file
    /// left by an earlier run does not count) and passes the readiness check if there is one.
    ///
    /// # Errors
    ///
    /// If the log cannot be opened, the program cannot be started, or it exits or is not ready
    /// in time (it is killed then); the error carries the end of its log.
    pub fn spawn(mut self) -> Result<Daemon, DaemonError> {
        let _ = std::fs::remove_file(&self.ready_file);
        let mut daemon = self.launch()?;
        let deadline = Instant::now() + self.start_timeout;
        loop {
            if let Ok(text) = std::fs::read_to_string(&self.ready_file) {
                let url = text.trim();
                if !url.is_empty() && self.ready_check.as_ref().is_none_or(|check| check(url)) {
                    daemon.url = url.to_owned();
                    return Ok(daemon);
                }
            }
            if let Some(status) = daemon.try_wait()? {
                return Err(DaemonError::Exited {
                    name: daemon.name.clone(),
                    status,
                    log: daemon.error_log(),
                });
            }
            if Instant::now() > deadline {
                daemon.kill();
                return Err(DaemonError::NotReady {
                    name: daemon.name.clone(),
                    timeout: self.start_timeout,
                    log: daemon.error_log(),
                });
            }
            std::thread::sleep(POLL);
        }
    }

    /// Starts the program as [`DaemonBuilder::spawn`] does but returns at once, without a ready
    /// file to wait for: for a program that writes none (CometBFT), which its caller watches.
    ///
    /// # Errors
    ///
    /// If the log cannot be opened or the program cannot be started.
    pub fn spawn_now(mut self) -> Result<Daemon, DaemonError> {
        self.launch()
    }

    fn launch(&mut self) -> Result<Daemon, DaemonError> {
        let mut options = OpenOptions::new();
        if self.append_log {
            options.append(true).create(true);
        } else {
            options.write(true).create(true).truncate(true);
        }
        let log_error = |source| DaemonError::Log {
            path: self.log.clone(),
            source,
        };
        let log_file = options.open(&self.log).map_err(log_error)?;
        let stdout = log_file.try_clone().map_err(log_error)?;
        let child = self
            .command
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(log_file)
            .spawn()
            .map_err(|source| DaemonError::Spawn {
                name: self.name.clone(),
                source,
            })?;
        Ok(Daemon {
            name: self.name.clone(),
            child: Some(child),
            exit: None,
            log: self.log.clone(),
            log_lines: self.log_lines,
            on_drop: self.on_drop,
            url: String::new(),
        })
    }
}

/// A running daemon. Dropping it kills it (or asks it to stop, see
/// [`DaemonBuilder::terminate_on_drop`]) unless it was [detached](Daemon::detach).
pub struct Daemon {
    name: String,
    child: Option<Child>,
    exit: Option<ExitStatus>,
    log: PathBuf,
    log_lines: usize,
    on_drop: OnDrop,
    url: String,
}

impl Daemon {
    /// How to start `command` as the daemon `name` (used in messages), with its output in
    /// `log`, ready once it writes its URL to `ready_file`.
    pub fn builder(
        name: impl Into<String>,
        command: Command,
        log: impl Into<PathBuf>,
        ready_file: impl Into<PathBuf>,
    ) -> DaemonBuilder {
        DaemonBuilder {
            name: name.into(),
            command,
            log: log.into(),
            ready_file: ready_file.into(),
            append_log: false,
            start_timeout: Duration::from_secs(60),
            log_lines: 20,
            ready_check: None,
            on_drop: OnDrop::Kill,
        }
    }

    /// Its name, as given to [`Daemon::builder`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL it wrote to its ready file, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its process id, while it runs (or has exited without being waited for).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Its log so far (empty if unreadable).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = self.log();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    fn error_log(&self) -> String {
        self.log_tail(self.log_lines)
    }

    /// How it exited, if it has (without waiting).
    ///
    /// # Errors
    ///
    /// If its status cannot be read.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>, DaemonError> {
        if let Some(child) = self.child.as_mut() {
            let exited = child.try_wait().map_err(|source| DaemonError::Process {
                action: "wait for",
                name: self.name.clone(),
                source,
            })?;
            if let Some(status) = exited {
                self.child = None;
                self.exit = Some(status);
            }
        }
        Ok(self.exit)
    }

    /// Waits up to `timeout` for it to exit by itself, and returns how it exited.
    ///
    /// # Errors
    ///
    /// [`DaemonError::NotFinished`] (it keeps running) if it is still running after
    /// `timeout`, with the end of its log; [`DaemonError::Process`] if it was killed or
    /// detached before it could be waited for, or its status cannot be read.
    pub fn wait(&mut self, timeout: Duration) -> Result<ExitStatus, DaemonError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(status);
            }
            if self.child.is_none() {
                return Err(DaemonError::Process {
                    action: "wait for",
                    name: self.name.clone(),
                    source: io::Error::other("it is no longer a child of this process"),
                });
            }
            if Instant::now() > deadline {
                return Err(DaemonError::NotFinished {
                    name: self.name.clone(),
                    timeout,
                    log: self.error_log(),
                });
            }
            std::thread::sleep(POLL);
        }
    }

    /// Asks it to stop (SIGTERM) and waits up to `grace` for it to exit; returns how it
    /// exited. Does nothing more if it has already exited.
    ///
    /// # Errors
    ///
    /// [`DaemonError::NotStopped`] if it did not exit within `grace` (it is killed then);
    /// [`DaemonError::Process`] if it cannot be signalled or waited for.
    pub fn terminate(&mut self, grace: Duration) -> Result<ExitStatus, DaemonError> {
        if let Some(status) = self.try_wait()? {
            return Ok(status);
        }
        let Some(child) = self.child.as_ref() else {
            return self.wait(grace);
        };
        send_sigterm(child).map_err(|source| DaemonError::Process {
            action: "signal",
            name: self.name.clone(),
            source,
        })?;
        match self.wait(grace) {
            Err(DaemonError::NotFinished { .. }) => {
                self.kill();
                Err(DaemonError::NotStopped {
                    name: self.name.clone(),
                    grace,
                })
            }
            other => other,
        }
    }

    /// Kills it with SIGKILL, as a crash would, and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            self.exit = child.wait().ok();
        }
    }

    /// Leaves it running: neither this value nor its drop will stop it.
    pub fn detach(mut self) {
        self.child = None;
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.is_none() {
            return;
        }
        match self.on_drop {
            OnDrop::Kill => self.kill(),
            OnDrop::Terminate(grace) => {
                if self.terminate(grace).is_err() {
                    self.kill();
                }
            }
        }
    }
}

/// SIGTERM to `child` (on other systems, where there is no such signal, it is killed).
fn send_sigterm(child: &Child) -> io::Result<()> {
    #[cfg(unix)]
    {
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!("kill -TERM failed: {status}")))
        }
    }
    #[cfg(not(unix))]
    {
        let _ = child;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "SIGTERM exists on Unix only",
        ))
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    #[test]
    fn ready_once_the_url_is_written_then_stopped_by_sigterm() {
        let dir = tempfile::tempdir().unwrap();
        let ready = dir.path().join("api.url");
        std::fs::write(&ready, "http://stale\n").unwrap();
        let script = format!(
            "trap 'echo bye; exit 0' TERM; echo starting; sleep 0.2; echo http://127.0.0.1:1 > {}; \
             while true; do sleep 0.05; done",
            ready.display()
        );
        let mut daemon = Daemon::builder("sleeper", sh(&script), dir.path().join("log"), &ready)
            .spawn()
            .unwrap();
        assert_eq!(daemon.url(), "http://127.0.0.1:1");
        assert!(daemon.pid().is_some());
        let status = daemon.terminate(Duration::from_secs(10)).unwrap();
        assert!(status.success(), "{status}");
        assert!(daemon.log().contains("starting\n"));
        assert!(daemon.log().contains("bye"));
        assert_eq!(daemon.pid(), None);
    }

    #[test]
    fn an_early_exit_or_a_timeout_reports_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let ready = dir.path().join("api.url");
        let err = Daemon::builder(
            "failing",
            sh("echo something is wrong; exit 3"),
            dir.path().join("log"),
            &ready,
        )
        .spawn()
        .err()
        .unwrap();
        let text = err.to_string();
        assert!(text.starts_with("failing exited with"), "{text}");
        assert!(text.ends_with("its log:\nsomething is wrong"), "{text}");

        let err = Daemon::builder("slow", sh("sleep 30"), dir.path().join("log"), &ready)
            .start_timeout(Duration::from_millis(100))
            .spawn()
            .err()
            .unwrap();
        assert!(matches!(err, DaemonError::NotReady { .. }), "{err}");

        // A check that never passes: not ready, even with the URL written.
        let script = format!("echo http://x > {}; sleep 30", ready.display());
        let err = Daemon::builder("unhealthy", sh(&script), dir.path().join("log"), &ready)
            .ready_when(|url| url == "http://y")
            .start_timeout(Duration::from_millis(300))
            .spawn()
            .err()
            .unwrap();
        assert!(matches!(err, DaemonError::NotReady { .. }), "{err}");
    }

    #[test]
    fn waits_kills_and_appends() {
        let dir = tempfile::tempdir().unwrap();
        let ready = dir.path().join("url");
        let log = dir.path().join("log");
        let script = format!("echo run; echo http://a > {}; sleep 0.3", ready.display());
        let mut first = Daemon::builder("once", sh(&script), &log, &ready)
            .spawn()
            .unwrap();
        let err = first.wait(Duration::from_millis(10)).unwrap_err();
        assert!(matches!(err, DaemonError::NotFinished { .. }), "{err}");
        assert!(first.wait(Duration::from_secs(10)).unwrap().success());
        // Waiting again answers the same.
        assert!(first.wait(Duration::ZERO).unwrap().success());

        let script = format!("echo run; echo http://b > {}; sleep 30", ready.display());
        let mut second = Daemon::builder("twice", sh(&script), &log, &ready)
            .append_log()
            .spawn()
            .unwrap();
        assert_eq!(second.url(), "http://b");
        second.kill();
        assert!(!second.try_wait().unwrap().unwrap().success());
        assert_eq!(second.log().matches("run\n").count(), 2);
        assert_eq!(second.log_tail(1), "run");
    }
}

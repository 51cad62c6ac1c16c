//! `consign-storage serve` as a real process.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;
use consign_client::StorageClient;

use crate::daemon::{self, workspace_bin, Daemon};

/// The operator token the test storage nodes are started with.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// A running storage node.
pub struct StorageNode {
    daemon: Daemon,
    dir: PathBuf,
    args: Vec<String>,
    /// The API's base URL.
    pub url: String,
}

impl StorageNode {
    /// Starts `consign-storage serve` with its data in `dir`, following the chain node at
    /// `node_url`, on a free loopback port, with [`ADMIN_TOKEN`], short retry delays, and any
    /// `extra` flags (`--allow-private-egress` to deliver to loopback test servers).
    ///
    /// # Errors
    /// When it does not start within 60 seconds (its log is `<dir>/storage.log`).
    pub fn start(dir: &Path, node_url: &str, extra: &[&str]) -> Result<Self> {
        Self::start_following(dir, &[node_url], extra)
    }

    /// As [`StorageNode::start`], following the chain through any of `node_urls` (a
    /// `--node-url` each, in order): it fails over between them.
    ///
    /// # Errors
    /// As [`StorageNode::start`].
    pub fn start_following(dir: &Path, node_urls: &[&str], extra: &[&str]) -> Result<Self> {
        let mut args: Vec<String> = ["serve", "--listen", "127.0.0.1:0"]
            .into_iter()
            .chain(node_urls.iter().flat_map(|url| ["--node-url", url]))
            .map(str::to_owned)
            .collect();
        args.extend(
            [
                "--retry-initial",
                "100ms",
                "--retry-max",
                "1s",
                "--follower-wait",
                "2s",
            ]
            .into_iter()
            .chain(extra.iter().copied())
            .map(str::to_owned),
        );
        let mut node = Self {
            daemon: Self::spawn(dir, &args)?,
            dir: dir.to_path_buf(),
            args,
            url: String::new(),
        };
        node.url = node.daemon.url().to_owned();
        Ok(node)
    }

    fn spawn(dir: &Path, args: &[String]) -> Result<Daemon> {
        std::fs::create_dir_all(dir)?;
        let mut command = Command::new(workspace_bin("consign-storage", "CONSIGN_STORAGE_BIN"));
        command
            .args(args)
            .arg("--data-dir")
            .arg(dir)
            .env("CONSIGN_STORAGE_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("RUST_LOG", "info");
        daemon::spawn(
            "consign-storage",
            command,
            &dir.join("api.url"),
            &dir.join("storage.log"),
        )
    }

    /// Starts it again, with the same data directory and flags (on a new port), after
    /// [`StorageNode::kill9`] or [`StorageNode::stop`].
    ///
    /// # Errors
    /// As [`StorageNode::start`].
    pub fn restart(&mut self) -> Result<()> {
        self.daemon = Self::spawn(&self.dir, &self.args)?;
        self.url = self.daemon.url().to_owned();
        Ok(())
    }

    /// A client of its API.
    ///
    /// # Panics
    /// Never for the URL it wrote.
    pub fn client(&self) -> StorageClient {
        StorageClient::new(&self.url).expect("the storage node's URL")
    }

    /// A client of its operator's listener (`/metrics`, `/status`), at the address it wrote to
    /// `<data-dir>/metrics.url`.
    ///
    /// # Panics
    /// When the listener is off or the file is unreadable.
    pub fn operator_client(&self) -> StorageClient {
        let url = std::fs::read_to_string(self.dir.join("metrics.url"))
            .expect("the storage node's metrics.url");
        StorageClient::new(url.trim()).expect("the operator listener's URL")
    }

    /// Its data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        self.daemon.log()
    }

    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.daemon.pid()
    }

    /// Kills it with SIGKILL, as a crash would.
    pub fn kill9(&mut self) {
        self.daemon.kill();
    }

    /// Stops it with SIGTERM.
    ///
    /// # Errors
    /// When it does not exit cleanly within 30 seconds.
    pub fn stop(&mut self) -> Result<()> {
        daemon::stop(&mut self.daemon)
    }
}

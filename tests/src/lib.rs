//! Helpers for tests across real processes: start `consign dev` and `consign-storage serve` in
//! temporary directories on `127.0.0.1:0`, find the addresses they bound, run `consign` commands
//! against them, stop them gracefully or with `kill -9`; a buyer's receiving server and a
//! pausable TCP proxy for fault tests.
//!
//! The binaries are the workspace's own (`target/debug/consign` and
//! `target/debug/consign-storage`, or `CONSIGN_BIN` / `CONSIGN_STORAGE_BIN`); the test command
//! builds them first.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::{Context, Result};

mod daemon;
mod market;
mod proxy;
mod receiver;
mod storage;

pub use daemon::{status_ok, workspace_bin, Daemon};
pub use market::{buy, Bought, Seller, Sold};
pub use proxy::TcpProxy;
pub use receiver::{Received, Receiver, ReceiverBehaviour};
pub use storage::{StorageNode, ADMIN_TOKEN};

/// A current-thread tokio runtime, to drive the async clients from a test.
///
/// # Panics
/// If the runtime cannot be built.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// `len` bytes of a repeatable pattern, different for each `seed`: data to sell in tests.
pub fn sample_data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// The `consign` binary.
pub fn consign_bin() -> PathBuf {
    workspace_bin("consign", "CONSIGN_BIN")
}

/// The wasm of a contract built by `scripts/build-contracts.sh`.
pub fn contract(name: &str) -> PathBuf {
    let dir = std::env::var_os("CONSIGN_CONTRACTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/contracts"));
    let path = dir.join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: run scripts/build-contracts.sh",
        path.display()
    );
    path
}

/// A running `consign dev`.
pub struct DevNode {
    daemon: Daemon,
    home: PathBuf,
    /// The API's base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
}

impl DevNode {
    /// Starts `consign dev` in `home` on a free loopback port, making blocks only when
    /// transactions wait, and waits until its API answers.
    ///
    /// # Errors
    /// When it does not start within 60 seconds (its log is in `<home>/dev.log`).
    pub fn start(home: &Path) -> Result<Self> {
        Self::start_with(home, &[])
    }

    /// As [`DevNode::start`], with extra arguments (a later `--api` wins over the default).
    ///
    /// # Errors
    /// As [`DevNode::start`].
    pub fn start_with(home: &Path, extra: &[&str]) -> Result<Self> {
        std::fs::create_dir_all(home)?;
        let mut command = Command::new(consign_bin());
        command
            .args(["dev", "--home"])
            .arg(home)
            .args(["--api", "127.0.0.1:0", "--block-time", "0"])
            .args(extra)
            .env("RUST_LOG", "info");
        let daemon = daemon::spawn(
            "consign dev",
            command,
            &home.join("api.url"),
            &home.join("dev.log"),
        )?;
        Ok(Self {
            url: daemon.url().to_owned(),
            daemon,
            home: home.to_path_buf(),
        })
    }

    /// The node's log so far.
    pub fn log(&self) -> String {
        self.daemon.log()
    }

    /// The home directory.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// Kills the process with SIGKILL, as a crash would.
    pub fn kill9(&mut self) {
        self.daemon.kill();
    }

    /// Asks the process to stop (SIGTERM) and waits for it.
    ///
    /// # Errors
    /// When it does not exit cleanly within 30 seconds.
    pub fn stop(&mut self) -> Result<()> {
        daemon::stop(&mut self.daemon)
    }

    /// Runs `consign ARGS --node URL --home HOME`.
    ///
    /// # Errors
    /// When the binary cannot be run.
    pub fn consign(&self, args: &[&str]) -> Result<Output> {
        Ok(Command::new(consign_bin())
            .args(args)
            .args(["--node", &self.url, "--home"])
            .arg(&self.home)
            .stdin(Stdio::null())
            .output()?)
    }
}

/// Stdout of a command that must succeed, as text.
///
/// # Panics
/// When the command failed; the message shows its output.
pub fn ok_stdout(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "command failed ({}):\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Stdout of a command that must succeed, parsed as one JSON document (`--output json`).
///
/// # Panics
/// When the command failed or did not print JSON.
pub fn ok_json(output: &Output) -> serde_json::Value {
    let text = ok_stdout(output);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The release window of [`deploy_data_sale`]'s marketplace, in seconds.
pub const RELEASE_WINDOW_SECONDS: u64 = 3600;

/// Stores and instantiates the data-sale contract (`target/contracts/data_sale.wasm`) from the
/// dev key `alice`, with the dev key `carol` as arbiter; returns its address.
///
/// # Errors
/// When a transaction fails.
pub fn deploy_data_sale(node: &DevNode) -> Result<String> {
    let wasm = contract("data_sale");
    let stored = node.consign(&[
        "tx",
        "wasm",
        "store",
        wasm.to_str().context("a UTF-8 path")?,
        "--from",
        "alice",
        "--gas",
        "50000000",
        "--output",
        "json",
    ])?;
    let code_id = ok_json(&stored)["code_id"]
        .as_u64()
        .context("no code_id after storing data-sale")?;
    let arbiter = consign_client::SecretKey::from_seed("carol").address();
    let init = serde_json::to_string(&consign_market::InstantiateMsg {
        arbiter,
        release_window_seconds: RELEASE_WINDOW_SECONDS,
    })?;
    let made = node.consign(&[
        "tx",
        "wasm",
        "instantiate",
        &code_id.to_string(),
        &init,
        "--label",
        "data-sale",
        "--no-admin",
        "--from",
        "alice",
        "--output",
        "json",
    ])?;
    ok_json(&made)["contract_address"]
        .as_str()
        .map(str::to_owned)
        .context("no contract_address after instantiating data-sale")
}

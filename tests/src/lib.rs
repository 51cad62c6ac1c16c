//! Helpers for tests across real processes: start `consign dev` and `consign-storage serve` in
//! temporary directories on `127.0.0.1:0`, find the addresses they bound, run `consign` commands
//! against them, stop them gracefully or with `kill -9`; CometBFT networks (`consign start`,
//! `consign testnet`); a buyer's receiving server and a pausable TCP proxy for fault tests.
//!
//! The binaries are the workspace's own (`target/debug/consign` and
//! `target/debug/consign-storage`, or `CONSIGN_BIN` / `CONSIGN_STORAGE_BIN`); the test command
//! builds them first.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::{Context, Result};

mod chain_node;
mod daemon;
pub mod inbox;
pub mod load;
mod market;
pub mod measure;
pub mod network;
mod proxy;
mod receiver;
pub mod soak;
mod storage;

pub use chain_node::{age_key_in, dev_address, ChainNode};
pub use daemon::{status_ok, workspace_bin, Daemon};
pub use inbox::Inbox;
pub use market::{buy, show_purchase, Bought, Seller, Sold};
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
        .unwrap_or_else(|| daemon::target_dir().join("contracts"));
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
    args: Vec<String>,
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

    /// As [`DevNode::start`], with extra arguments (not `--api`: it listens on a free port).
    ///
    /// # Errors
    /// As [`DevNode::start`].
    pub fn start_with(home: &Path, extra: &[&str]) -> Result<Self> {
        let mut args: Vec<String> = ["--api", "127.0.0.1:0", "--block-time", "0"]
            .iter()
            .chain(extra)
            .map(|s| (*s).to_owned())
            .collect();
        let daemon = Self::spawn(home, &args)?;
        // A restart listens where this one does, so whoever follows the node finds it again.
        let url = daemon.url().to_owned();
        args[1] = url.trim_start_matches("http://").to_owned();
        Ok(Self {
            url,
            daemon,
            home: home.to_path_buf(),
            args,
        })
    }

    fn spawn(home: &Path, args: &[String]) -> Result<Daemon> {
        std::fs::create_dir_all(home)?;
        let mut command = Command::new(consign_bin());
        command
            .args(["dev", "--home"])
            .arg(home)
            .args(args)
            .env("RUST_LOG", "info");
        daemon::spawn(
            "consign dev",
            command,
            &home.join("api.url"),
            &home.join("dev.log"),
        )
    }

    /// Starts it again from its home, with the same flags and on the same address, after
    /// [`DevNode::kill9`] or [`DevNode::stop`]: the chain goes on from its last committed block.
    ///
    /// # Errors
    /// As [`DevNode::start`]; also when another process took the port meanwhile.
    pub fn restart(&mut self) -> Result<()> {
        self.daemon = Self::spawn(&self.home, &self.args)?;
        anyhow::ensure!(
            self.daemon.url() == self.url,
            "restarted on {} instead of {}",
            self.daemon.url(),
            self.url
        );
        Ok(())
    }

    /// Whether its process is running (not killed or stopped).
    pub fn is_running(&self) -> bool {
        self.daemon.pid().is_some()
    }

    /// The age recipient (`age1…`) of the buyer's identity `NAME` in its home, made on first
    /// use ([`age_key_in`]).
    ///
    /// # Errors
    /// As [`age_key_in`].
    pub fn age_key(&self, name: &str) -> Result<String> {
        age_key_in(&self.home, name)
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
        consign_at(&self.url, &self.home, args)
    }
}

impl ChainNode for DevNode {
    fn api_url(&self) -> &str {
        &self.url
    }

    fn home(&self) -> &Path {
        &self.home
    }
}

/// Runs `consign ARGS --node URL --home HOME` with nothing on its standard input: a command
/// against any node URL (a [`DevNode`]'s, or one where nothing listens) from any home.
///
/// # Errors
/// When the binary cannot be run.
pub fn consign_at(url: &str, home: &Path, args: &[&str]) -> Result<Output> {
    Ok(Command::new(consign_bin())
        .args(args)
        .args(["--node", url, "--home"])
        .arg(home)
        .stdin(Stdio::null())
        .output()?)
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
/// dev key `alice`, with the dev key `carol` as arbiter and a release window of
/// [`RELEASE_WINDOW_SECONDS`]; returns its address.
///
/// # Errors
/// When a transaction fails.
pub fn deploy_data_sale(node: &impl ChainNode) -> Result<String> {
    deploy_data_sale_with(node, RELEASE_WINDOW_SECONDS, None)
}

/// [`deploy_data_sale`] with its windows: the release window, and the arbitration window (the
/// release window's length when `None`). Short windows let a test see deadlines pass.
///
/// # Errors
/// When a transaction fails.
pub fn deploy_data_sale_with(
    node: &impl ChainNode,
    release_window_seconds: u64,
    arbitration_window_seconds: Option<u64>,
) -> Result<String> {
    let arbiter = consign_client::SecretKey::from_seed("carol").address();
    let init = serde_json::to_string(&consign_market::InstantiateMsg {
        arbiter,
        release_window_seconds,
        arbitration_window_seconds,
    })?;
    deploy(node, "data_sale", &init, "data-sale")
}

/// Stores the contract `name` ([`contract`]) and instantiates it with `init` (JSON) under
/// `label`, without an admin, both from the dev key `alice`; returns its address.
///
/// # Errors
/// When a transaction fails.
pub fn deploy(node: &impl ChainNode, name: &str, init: &str, label: &str) -> Result<String> {
    let wasm = contract(name);
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
        .with_context(|| format!("no code_id after storing {name}"))?;
    let made = node.consign(&[
        "tx",
        "wasm",
        "instantiate",
        &code_id.to_string(),
        init,
        "--label",
        label,
        "--no-admin",
        "--from",
        "alice",
        "--output",
        "json",
    ])?;
    ok_json(&made)["contract_address"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no contract_address after instantiating {name}"))
}

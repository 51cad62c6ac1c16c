//! Helpers for tests across real processes: start `consign dev` in a temporary home on
//! `127.0.0.1:0`, find the address it bound, run `consign` commands against it, and stop it
//! gracefully or with `kill -9`.
//!
//! The binaries are the workspace's own (`target/debug/consign`, or `CONSIGN_BIN`); the test
//! command builds them first.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// The `consign` binary.
pub fn consign_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("CONSIGN_BIN") {
        return PathBuf::from(bin);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let bin = target.join("debug/consign");
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build -p consign` (scripts/test.sh does)",
        bin.display()
    );
    bin
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
    child: Option<Child>,
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

    /// As [`DevNode::start`], with extra arguments.
    ///
    /// # Errors
    /// As [`DevNode::start`].
    pub fn start_with(home: &Path, extra: &[&str]) -> Result<Self> {
        let url_file = home.join("api.url");
        let _ = std::fs::remove_file(&url_file);
        std::fs::create_dir_all(home)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(home.join("dev.log"))?;
        let child = Command::new(consign_bin())
            .args(["dev", "--home"])
            .arg(home)
            .args(["--api", "127.0.0.1:0", "--block-time", "0"])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting consign dev")?;
        let mut node = Self {
            child: Some(child),
            home: home.to_path_buf(),
            url: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(url) = std::fs::read_to_string(&url_file) {
                let url = url.trim().to_owned();
                if !url.is_empty() && status_ok(&url) {
                    node.url = url;
                    return Ok(node);
                }
            }
            if let Some(child) = node.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    bail!("consign dev exited with {status}: {}", node.log());
                }
            }
            if Instant::now() > deadline {
                bail!("consign dev did not start within 60 s: {}", node.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The node's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.home.join("dev.log")).unwrap_or_default()
    }

    /// The home directory.
    pub fn home(&self) -> &Path {
        &self.home
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
                        "consign dev exited with {status} on SIGTERM: {}",
                        self.log()
                    );
                }
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                bail!("consign dev did not stop within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
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

impl Drop for DevNode {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn status_ok(url: &str) -> bool {
    let url = format!("{url}/status");
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(_) => return false,
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
    let init = serde_json::json!({
        "arbiter": arbiter,
        "release_window_seconds": RELEASE_WINDOW_SECONDS,
    });
    let made = node.consign(&[
        "tx",
        "wasm",
        "instantiate",
        &code_id.to_string(),
        &init.to_string(),
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

//! CometBFT networks under test: the `cometbft` binary, free port blocks, `consign`
//! with CometBFT found, nodes run with `consign start` (and the CometBFT each starts), killed
//! with `kill -9` or stopped, CometBFT's RPC and the node API read as JSON, and a whole network
//! written by `consign testnet`. Every node is stopped when dropped, so a test that fails midway
//! leaves no process behind.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::{consign_bin, runtime, status_ok, Daemon};

/// The `cometbft` binary, found as `consign` finds it: `$CONSIGN_COMETBFT`, then `PATH`, then
/// `~/go/bin` (`scripts/install-cometbft.sh` installs it there).
///
/// # Panics
/// When it is not installed; the message says how to install it.
pub fn cometbft_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("CONSIGN_COMETBFT") {
        return PathBuf::from(path);
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("cometbft"))
                .find(|p| p.is_file())
        })
        .unwrap_or_default();
    let in_go_bin = std::env::var_os("HOME").map(|h| PathBuf::from(h).join("go/bin/cometbft"));
    on_path
        .or(in_go_bin.filter(|p| p.is_file()))
        .expect("CometBFT v0.38.26 is not installed: run scripts/install-cometbft.sh (or set CONSIGN_COMETBFT)")
}

/// How far past the process's first block the next one to try is. Blocks are 100 ports
/// between 20000 and 32000: below the ephemeral range (32768 and up), so no outgoing
/// connection takes one of them meanwhile.
static NEXT_BLOCK: AtomicU32 = AtomicU32::new(0);

/// A base port `B` for `consign testnet --base-port B` with `validators` nodes: every port it
/// uses (`B+10i`, `+1`, `+2`) binds on 127.0.0.1 now. Tests of one binary run in threads and
/// each gets its own block.
///
/// # Panics
/// When no block is free.
pub fn free_port_block(validators: u32) -> u16 {
    // Processes (nextest runs each test in its own) start at different blocks.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let start = (std::process::id().wrapping_mul(7919) ^ nanos) % 120 * 100;
    for _ in 0..120 {
        let offset = NEXT_BLOCK.fetch_add(100, Ordering::SeqCst);
        let base = 20_000 + (start + offset) % 12_000;
        let all_free = (0..validators).all(|i| {
            (0..3).all(|k| {
                u16::try_from(base + 10 * i + k)
                    .is_ok_and(|port| TcpListener::bind(("127.0.0.1", port)).is_ok())
            })
        });
        if all_free {
            return u16::try_from(base).expect("below 32768");
        }
    }
    panic!("no free block of ports between 20000 and 32000");
}

/// Runs `consign ARGS` to completion with CometBFT found ([`cometbft_bin`]) and nothing on
/// its standard input.
///
/// # Panics
/// When the binary cannot be run.
pub fn consign(args: &[&str]) -> Output {
    Command::new(consign_bin())
        .args(args)
        .env("CONSIGN_COMETBFT", cometbft_bin())
        .stdin(Stdio::null())
        .output()
        .expect("consign runs")
}

/// A running `consign start` and the CometBFT it started. Dropped, it is stopped (SIGTERM,
/// which stops its CometBFT first).
pub struct NetworkNode {
    /// The `consign start` process.
    pub daemon: Daemon,
    /// Its CometBFT's process id (0 with `--cometbft external`).
    pub comet_pid: u32,
    /// The node API's base URL.
    pub api: String,
}

impl NetworkNode {
    /// Runs `consign --output json start --home HOME` and waits until its API answers.
    ///
    /// # Errors
    /// When it does not start within 60 seconds (its log is in `<home>/start.log`).
    pub fn start(home: &Path) -> Result<Self> {
        Self::start_with(home, &[], &[])
    }

    /// As [`NetworkNode::start`], with extra arguments and environment variables.
    ///
    /// # Errors
    /// As [`NetworkNode::start`].
    pub fn start_with(home: &Path, extra: &[&str], env: &[(&str, &str)]) -> Result<Self> {
        let mut command = Command::new(consign_bin());
        command
            .args(["--output", "json", "start", "--home"])
            .arg(home)
            .args(extra)
            .env("CONSIGN_COMETBFT", cometbft_bin())
            .env("RUST_LOG", "info");
        for (key, value) in env {
            command.env(key, value);
        }
        let log = home.join("start.log");
        // The log is appended to across restarts: this run's report is after this.
        let log_start = std::fs::metadata(&log).map_or(0, |m| m.len());
        let daemon = Daemon::builder("consign start", command, &log, home.join("api.url"))
            .append_log()
            .ready_when(status_ok)
            .error_log_lines(usize::MAX)
            // A test that ends early stops the node, which stops its CometBFT.
            .terminate_on_drop(Duration::from_secs(30))
            .spawn()?;
        let started: Value = wait_for(
            "consign start's JSON report",
            Duration::from_secs(30),
            || {
                let bytes = std::fs::read(&log).ok()?;
                let start = usize::try_from(log_start).ok()?.min(bytes.len());
                String::from_utf8_lossy(&bytes[start..])
                    .lines()
                    .find(|l| l.starts_with('{'))
                    .and_then(|l| serde_json::from_str(l).ok())
            },
        );
        let comet_pid = started["cometbft_pid"]
            .as_u64()
            .and_then(|p| u32::try_from(p).ok())
            .unwrap_or(0);
        Ok(Self {
            api: daemon.url().to_owned(),
            daemon,
            comet_pid,
        })
    }

    /// Kills the node and then its CometBFT with SIGKILL, as a crash of the machine would (the
    /// node first: it would stop itself cleanly if it saw CometBFT go), and waits until both
    /// are gone.
    pub fn kill9(&mut self) {
        self.daemon.kill();
        if self.comet_pid != 0 {
            kill9(self.comet_pid);
            wait_for("CometBFT to die", Duration::from_secs(10), || {
                (!alive(self.comet_pid)).then_some(())
            });
        }
    }
}

/// Sends SIGKILL to `pid`.
pub fn kill9(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status();
}

/// Whether a process runs (a zombie does not count).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z')
        })
        .unwrap_or(false)
}

/// `GET url` as JSON.
///
/// # Errors
/// When the request fails or answers other than 2xx.
pub fn get_json(url: &str) -> Result<Value> {
    runtime().block_on(async {
        let response = reqwest::Client::new()
            .get(url)
            .timeout(Duration::from_secs(5))
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "GET {url}: {}",
            response.status()
        );
        Ok(response.json::<Value>().await?)
    })
}

/// Waits until `check` gives a value, for at most `timeout`.
///
/// # Panics
/// When it does not within `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// CometBFT's `/status`: the latest height and its header's app hash (the state after the
/// block before it).
pub fn comet_status(rpc: &str) -> Option<(u64, String)> {
    let status = get_json(&format!("{rpc}/status")).ok()?;
    let info = &status["result"]["sync_info"];
    Some((
        info["latest_block_height"].as_str()?.parse().ok()?,
        info["latest_app_hash"].as_str()?.to_owned(),
    ))
}

/// CometBFT's latest height, if its RPC answers.
pub fn comet_height(rpc: &str) -> Option<u64> {
    comet_status(rpc).map(|(height, _)| height)
}

/// The headers of blocks `from..=to` in CometBFT's store (`/blockchain`, 20 a request), by
/// height.
///
/// # Errors
/// When a request fails or a block is missing.
pub fn comet_headers(rpc: &str, from: u64, to: u64) -> Result<Vec<Value>> {
    let mut headers = Vec::new();
    let mut low = from;
    while low <= to {
        let high = (low + 19).min(to);
        let page = get_json(&format!(
            "{rpc}/blockchain?minHeight={low}&maxHeight={high}"
        ))?;
        let mut metas: Vec<Value> = page["result"]["block_metas"]
            .as_array()
            .context("no block_metas")?
            .iter()
            .map(|meta| meta["header"].clone())
            .collect();
        // Newest first in the answer.
        metas.reverse();
        anyhow::ensure!(
            metas.len() == usize::try_from(high - low + 1)?,
            "{rpc}: blocks {low}..={high} incomplete"
        );
        headers.extend(metas);
        low = high + 1;
    }
    Ok(headers)
}

/// Our state hash after block `height`, from the node API.
pub fn our_state_hash(api: &str, height: u64) -> Option<String> {
    let block = get_json(&format!("{api}/blocks/{height}")).ok()?;
    Some(block["header"]["state_hash"].as_str()?.to_owned())
}

/// The node API's height.
///
/// # Panics
/// When the API does not answer.
pub fn our_height(api: &str) -> u64 {
    get_json(&format!("{api}/status")).expect("status")["height"]
        .as_u64()
        .expect("height")
}

/// One node of a [`Testnet`], as `consign testnet --output json` printed it.
#[derive(Debug, Clone)]
pub struct TestnetNode {
    /// Its home.
    pub home: PathBuf,
    /// The node API's URL.
    pub api: String,
    /// CometBFT's RPC URL.
    pub rpc: String,
}

/// A network written by `consign testnet` in a temporary directory, its nodes started and
/// stopped one by one. Dropped, it stops every node still running.
pub struct Testnet {
    /// The nodes, in order (node0 first).
    pub nodes: Vec<TestnetNode>,
    running: Vec<Option<NetworkNode>>,
    env: Vec<Vec<(String, String)>>,
    _dir: tempfile::TempDir,
}

impl Testnet {
    /// `consign testnet --validators N` on a free block of ports ([`free_port_block`]), with
    /// `block_time` between blocks. No node runs yet.
    ///
    /// # Errors
    /// When `consign testnet` fails.
    pub fn write(validators: u32, block_time: &str) -> Result<Self> {
        Self::write_with(validators, block_time, &[])
    }

    /// As [`Testnet::write`], with more arguments for `consign testnet` (e.g. `--accounts`).
    ///
    /// # Errors
    /// As [`Testnet::write`].
    pub fn write_with(validators: u32, block_time: &str, extra: &[&str]) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let out_dir = dir.path().join("net");
        let base = free_port_block(validators).to_string();
        let validators_text = validators.to_string();
        let out_text = out_dir.display().to_string();
        let mut args = vec![
            "--output",
            "json",
            "testnet",
            "--validators",
            &validators_text,
            "--output-dir",
            &out_text,
            "--base-port",
            &base,
            "--block-time",
            block_time,
        ];
        args.extend_from_slice(extra);
        let written = consign(&args);
        anyhow::ensure!(
            written.status.success(),
            "consign testnet failed: {}",
            String::from_utf8_lossy(&written.stderr)
        );
        let report: Value = serde_json::from_slice(&written.stdout)?;
        let nodes = report["nodes"]
            .as_array()
            .context("no nodes")?
            .iter()
            .map(|node| {
                Ok(TestnetNode {
                    home: PathBuf::from(node["home"].as_str().context("home")?),
                    api: node["api"].as_str().context("api")?.to_owned(),
                    rpc: node["rpc"].as_str().context("rpc")?.to_owned(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            running: nodes.iter().map(|_| None).collect(),
            env: nodes.iter().map(|_| Vec::new()).collect(),
            nodes,
            _dir: dir,
        })
    }

    /// Sets an environment variable for node `i`'s `consign start` (from its next start).
    pub fn set_env(&mut self, i: usize, key: &str, value: &str) {
        self.env[i].push((key.to_owned(), value.to_owned()));
    }

    /// Starts node `i` (`consign start --home nodeI`) and waits until its API answers.
    ///
    /// # Errors
    /// When it does not start.
    pub fn start(&mut self, i: usize) -> Result<()> {
        let env: Vec<(&str, &str)> = self.env[i]
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let node = NetworkNode::start_with(&self.nodes[i].home, &[], &env)
            .with_context(|| format!("starting node{i}"))?;
        anyhow::ensure!(
            node.api == self.nodes[i].api,
            "node{i} serves on {} instead of {}",
            node.api,
            self.nodes[i].api
        );
        self.running[i] = Some(node);
        Ok(())
    }

    /// Starts every node, in order.
    ///
    /// # Errors
    /// When one does not start.
    pub fn start_all(&mut self) -> Result<()> {
        (0..self.nodes.len()).try_for_each(|i| self.start(i))
    }

    /// Node `i`'s process, if it was started and not killed.
    pub fn running(&mut self, i: usize) -> Option<&mut NetworkNode> {
        self.running[i].as_mut()
    }

    /// Kills node `i` and its CometBFT with SIGKILL ([`NetworkNode::kill9`]).
    pub fn kill9(&mut self, i: usize) {
        if let Some(mut node) = self.running[i].take() {
            node.kill9();
        }
    }

    /// Node `i`'s `consign start` log and CometBFT's, so far.
    pub fn logs(&self, i: usize) -> (String, String) {
        let read =
            |name: &str| std::fs::read_to_string(self.nodes[i].home.join(name)).unwrap_or_default();
        (read("start.log"), read("cometbft.log"))
    }

    /// Runs `consign ARGS --node <node i's API> --home <node i's home>`.
    ///
    /// # Errors
    /// When the binary cannot be run.
    pub fn consign_at(&self, i: usize, args: &[&str]) -> Result<Output> {
        crate::consign_at(&self.nodes[i].api, &self.nodes[i].home, args)
    }
}

//! `consign start`: runs a node of a CometBFT network from a home made by `consign init`: the
//! chain behind an ABCI server on `<home>/data/abci.sock`, the node API, and CometBFT itself as
//! a child process.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use consign_chain::{App, AppConfig, ChainError};
use consign_client::GasPrice;
use consign_util::daemon::Daemon;
use serde::Serialize;

use super::args::{HomeArgs, API_URL_FILE};
use super::banner::{print_started, Banner};
use super::{Session, EXIT_OK};
use crate::cometbft;
use crate::server::{self, Node, NodeConfig};

/// Long help of `consign start`.
pub(super) const LONG_ABOUT: &str = "\
Run a node of a CometBFT network from a home made by `consign init`.

It opens the chain in <home>/consign (creating it from config/genesis.json the first time),
serves the ABCI application on <home>/data/abci.sock, serves the node API (config/app.toml's
`api`; its URL is written to <home>/api.url), and starts `cometbft start --home <home>` as a
child process, its output in <home>/cometbft.log. CometBFT decides the blocks; the API answers
from the last committed block, and POST /txs forwards transactions to CometBFT's mempool
(broadcast_tx_sync), with mode=commit answering once this node has committed them.

With --cometbft external, CometBFT is the operator's to run (`cometbft start --home <home>`, in
any order: it retries the socket), and `consign start` neither starts nor stops it.

Stop with Ctrl-C or SIGTERM: CometBFT is stopped first, then the node. Killed at any moment (even
with kill -9), the node restarts where it was: CometBFT replays the blocks the chain had not
committed. A chain behind CometBFT's blocks (even an empty <home>/consign) catches up the same
way; a chain ahead of them (CometBFT's data reset or restored from an older copy) is refused,
saying so. If CometBFT stops by itself, or the application fails, the other is stopped too and
the command fails, saying why.";

/// Examples for `consign start --help`.
pub(super) const EXAMPLES: &str = "\
Examples:
  A one-validator network:
    consign init --home ~/.consign-node
    consign start --home ~/.consign-node
  CometBFT run by the operator, in another terminal or service:
    consign start --home ~/.consign-node --cometbft external
    cometbft start --home ~/.consign-node
  Send through it with the usual commands:
    consign tx bank send alice consign1… 5ucsn --home ~/.consign-node";

/// Arguments of `consign start`.
#[derive(Debug, Clone, Args)]
pub struct StartArgs {
    /// The node home made by `consign init`. Defaults to `$HOME/.consign`.
    #[arg(long, value_name = "DIR", env = "CONSIGN_HOME")]
    pub home: Option<PathBuf>,

    /// Where to serve the node API (`HOST:PORT`), instead of config/app.toml's `api`.
    #[arg(long, value_name = "ADDR")]
    pub api: Option<String>,

    /// The most transactions one sender may have waiting in the mempool; more are refused by
    /// CheckTx until its earlier ones are committed.
    #[arg(long, value_name = "N", default_value_t = NodeConfig::default().max_sender_txs, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_pending_per_sender: u64,

    /// Who runs CometBFT: `child` starts `cometbft start --home <home>` beside the node and
    /// stops it with it; `external` leaves it to the operator, who runs `cometbft start --home
    /// <home>` (CometBFT retries the ABCI socket until the node serves it).
    #[arg(long, value_enum, value_name = "MODE", default_value_t = CometMode::Child)]
    pub cometbft: CometMode,
}

/// `--cometbft`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CometMode {
    /// `consign start` runs CometBFT as its child process.
    Child,
    /// The operator runs CometBFT.
    External,
}

/// What `consign start` prints once it serves.
#[derive(Debug, Serialize)]
struct Started {
    chain_id: String,
    height: u64,
    home: PathBuf,
    api: String,
    cometbft_rpc: String,
    /// CometBFT's process id.
    cometbft_pid: Option<u32>,
    cometbft_log: PathBuf,
}

/// Why the node stopped.
enum Stop {
    Signal,
    Failed,
    CometExited(std::process::ExitStatus),
}

/// Runs `consign start` until SIGINT or SIGTERM, or until CometBFT or the node stops.
///
/// # Errors
///
/// When the home is not a node home, CometBFT is missing, the chain cannot be opened or does
/// not match the genesis, or CometBFT or the node failed.
pub fn run(args: &StartArgs, session: &Session, out: &mut impl Write) -> anyhow::Result<u8> {
    let home = HomeArgs::new(args.home.clone()).dir()?;
    let home = std::path::absolute(&home)
        .with_context(|| format!("cannot make {} absolute", home.display()))?;
    let genesis_file = cometbft::genesis_path(&home);
    anyhow::ensure!(
        genesis_file.exists(),
        "{} is not a node home ({} does not exist): make one with `consign init --home {}`",
        home.display(),
        genesis_file.display(),
        home.display()
    );
    let genesis = cometbft::read_genesis(&home)?;
    let max_block_gas = genesis
        .max_block_gas
        .unwrap_or(NodeConfig::default().max_block_gas);
    let settings = cometbft::read_app_toml(&home)?;
    let min_gas_price: GasPrice = settings.min_gas_price.parse().map_err(|e| {
        anyhow::anyhow!(
            "{}: min_gas_price {:?}: {e}",
            cometbft::app_toml_path(&home).display(),
            settings.min_gas_price
        )
    })?;
    let rpc = cometbft::rpc_url(&home)?;
    // Child mode needs the binary; say so before anything is opened.
    let binary = match args.cometbft {
        CometMode::Child => cometbft::find_binary()?,
        CometMode::External => PathBuf::from("cometbft"),
    };
    let socket = cometbft::socket_path(&home)?;

    let chain_dir = home.join("consign");
    let app_config = AppConfig {
        min_gas_price,
        ..AppConfig::new(&chain_dir)
    };
    let app = App::open(app_config, Some(&genesis)).map_err(|error| match error {
        ChainError::Locked { path } => anyhow::anyhow!(
            "another `consign start` is already running with home {home} (its database {db} is \
             locked); stop it first, or use another --home",
            home = home.display(),
            db = path.display(),
        ),
        ChainError::Genesis(msg) => anyhow::anyhow!(
            "the chain in {} does not match CometBFT's genesis {}: {msg}; this home belongs to \
             another chain: use the home made for it, or make a new one with `consign init`",
            chain_dir.display(),
            genesis_file.display()
        ),
        error => anyhow::Error::new(error)
            .context(format!("opening the chain in {}", chain_dir.display())),
    })?;
    // The database's lock is held: no other node uses this home, so a socket left by a node
    // that was killed is stale.
    match std::fs::remove_file(&socket) {
        Ok(()) => {
            tracing::info!(target: "runtime::node", socket = %socket.display(), "removed a stale ABCI socket");
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("removing {}", socket.display())),
    }
    let url_file = home.join(API_URL_FILE);
    match std::fs::remove_file(&url_file) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("removing {}", url_file.display())),
    }

    let api_addr = args.api.clone().unwrap_or(settings.api);
    let cometbft_log = home.join("cometbft.log");
    let result = session.block_on(async {
        let shutdown =
            consign_util::shutdown_signal().context("cannot install the signal handlers")?;
        let listener = tokio::net::TcpListener::bind(&api_addr)
            .await
            .with_context(|| format!("binding the API address {api_addr}"))?;
        let url = format!("http://{}", listener.local_addr()?);
        let mut started = Started {
            chain_id: app.chain_id().to_owned(),
            height: app.height(),
            home: home.clone(),
            api: url.clone(),
            cometbft_rpc: rpc.clone(),
            cometbft_pid: None,
            cometbft_log: cometbft_log.clone(),
        };
        let node = Node::network(
            app,
            NodeConfig {
                max_block_gas,
                max_sender_txs: args.max_pending_per_sender,
                ..NodeConfig::default()
            },
            rpc.clone(),
        );
        let abci = tokio::spawn({
            let node = node.clone();
            let socket = socket.clone();
            async move {
                if let Err(e) = crate::abci::serve(&socket, node.clone(), max_block_gas).await {
                    node.fail(format!("the ABCI server on {} failed: {e}", socket.display()));
                }
            }
        });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            anyhow::ensure!(
                !node.is_stopping() && tokio::time::Instant::now() < deadline,
                "the ABCI server did not open {}: {}",
                socket.display(),
                node.failure().unwrap_or_else(|| "it timed out".into())
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let api = tokio::spawn(server::run(listener, node.clone(), {
            let node = node.clone();
            async move { node.stopped().await }
        }));

        let mut cometbft = match args.cometbft {
            CometMode::Child => {
                // Where this run's part of the (appended) log starts.
                let log_start = std::fs::metadata(&cometbft_log).map_or(0, |m| m.len());
                let mut child = spawn_cometbft(&binary, &home, &cometbft_log)?;
                wait_for_rpc(&rpc, &mut child, &node, &home, log_start).await?;
                started.cometbft_pid = child.pid();
                Some(child)
            }
            CometMode::External => {
                tracing::info!(
                    target: "runtime::node",
                    socket = %socket.display(),
                    "waiting for CometBFT, started by the operator: cometbft start --home {}",
                    home.display()
                );
                None
            }
        };
        // Reported first: whoever waits for api.url finds the report printed.
        print_started(&started, &banner(&started), session.output, out)?;
        consign_util::fs::atomic_write(&url_file, format!("{url}\n"))?;

        tokio::pin!(shutdown);
        let stop = loop {
            tokio::select! {
                () = &mut shutdown => break Stop::Signal,
                () = node.stopped() => break Stop::Failed,
                () = tokio::time::sleep(Duration::from_millis(200)) => {
                    let exited = match cometbft.as_mut() {
                        Some(child) => child.try_wait()?,
                        None => None,
                    };
                    if let Some(status) = exited {
                        break Stop::CometExited(status);
                    }
                }
            }
        };
        // CometBFT first: it would take the application's going away for a crash.
        let terminated = match cometbft.take() {
            Some(mut child) => {
                let (child, status) = tokio::task::spawn_blocking(move || {
                    let status = child.terminate(Duration::from_secs(10));
                    (child, status)
                })
                .await
                .context("stopping CometBFT")?;
                cometbft = Some(child);
                status.map(|_| ())
            }
            None => Ok(()),
        };
        node.stop();
        let api_result = api.await.context("the API task failed")?;
        abci.abort();
        let _ = std::fs::remove_file(&url_file);
        let _ = std::fs::remove_file(&socket);
        let height = node.status().height;
        match stop {
            Stop::Signal => {
                if let Err(e) = terminated {
                    tracing::warn!(target: "runtime::node", error = %e, "CometBFT did not stop cleanly");
                }
                api_result?;
                tracing::info!(target: "runtime::node", height, "stopped");
                anyhow::Ok(())
            }
            Stop::Failed => Err(anyhow::anyhow!(
                "the node stopped at height {height}: {}",
                node.failure()
                    .unwrap_or_else(|| "the API server stopped".into())
            )),
            Stop::CometExited(status) => Err(anyhow::anyhow!(
                "CometBFT exited by itself ({status}) at height {height}; the end of its log {}:\n{}",
                cometbft_log.display(),
                cometbft.map(|c| c.log_tail(20)).unwrap_or_default()
            )),
        }
    });
    result?;
    Ok(EXIT_OK)
}

/// Starts `cometbft start --home <home>`, its output appended to `log`.
fn spawn_cometbft(binary: &Path, home: &Path, log: &Path) -> anyhow::Result<Daemon> {
    let mut command = Command::new(binary);
    command.arg("start").arg("--home").arg(home);
    stop_with_parent(&mut command);
    // CometBFT writes no ready file: `wait_for_rpc` watches it instead.
    let child = Daemon::builder("cometbft", command, log, home.join("cometbft.ready"))
        .append_log()
        .terminate_on_drop(Duration::from_secs(10))
        .spawn_now()
        .with_context(|| {
            format!(
                "starting {} start --home {}",
                binary.display(),
                home.display()
            )
        })?;
    tracing::info!(target: "runtime::node", pid = ?child.pid(), log = %log.display(), "started CometBFT");
    Ok(child)
}

/// Makes the child get SIGKILL when this process dies without stopping it (a crash, kill -9),
/// so no CometBFT outlives its node holding the home's ports and database. Not SIGTERM:
/// CometBFT's graceful stop hangs when the application died in the middle of a request (its
/// consensus waits for FinalizeBlock's answer forever; seen under load), and a CometBFT killed
/// mid-block recovers from its write-ahead log as it does after any crash. A clean stop of the
/// node still stops CometBFT with SIGTERM first. The signal follows the thread that forks: `run`
/// spawns on the main thread (inside `block_on`), which lives as long as the process.
#[cfg(target_os = "linux")]
fn stop_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt as _;
    // SAFETY: the closure runs in the forked child before exec and only calls prctl and
    // getppid, which are async-signal-safe; it allocates nothing and takes no lock.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl.
            if libc::getppid() == 1 {
                return Err(std::io::Error::other(
                    "the node exited while starting CometBFT",
                ));
            }
            Ok(())
        });
    }
}

/// Elsewhere CometBFT stops by itself when its ABCI connection drops.
#[cfg(not(target_os = "linux"))]
fn stop_with_parent(_command: &mut Command) {}

/// Waits until CometBFT's RPC answers (the API's address is published only then, so a
/// broadcast can be forwarded), for at most 60 s.
async fn wait_for_rpc(
    rpc: &str,
    child: &mut Daemon,
    node: &Node,
    home: &Path,
    log_start: u64,
) -> anyhow::Result<()> {
    let log = &home.join("cometbft.log");
    let client = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let ready = client
            .get(format!("{rpc}/status"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ready {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            let this_run = std::fs::read(log)
                .map(|bytes| {
                    let start = usize::try_from(log_start).unwrap_or(0).min(bytes.len());
                    String::from_utf8_lossy(&bytes[start..]).into_owned()
                })
                .unwrap_or_default();
            if let Some(why) = explain_handshake(&this_run, home) {
                anyhow::bail!(
                    "{why}\n(CometBFT exited at start ({status}); its log: {})",
                    log.display()
                );
            }
            anyhow::bail!(
                "CometBFT exited at start ({status}); the end of its log {}:\n{}",
                log.display(),
                child.log_tail(20)
            );
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline && !node.is_stopping(),
            "CometBFT's RPC at {rpc} did not answer within 60 s{}; see {}",
            node.failure()
                .map(|f| format!(" ({f})"))
                .unwrap_or_default(),
            log.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What a CometBFT that stopped at start means, when its log shows a handshake Consign can
/// explain: a chain ahead of CometBFT's block store (CometBFT panics on it, or refuses it with
/// `ErrAppBlockHeightTooHigh`, in its own words and a Go stack).
fn explain_handshake(log: &str, home: &Path) -> Option<String> {
    let line = log
        .lines()
        .rev()
        .find(|line| line.contains("ABCI Replay Blocks"))?;
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|word| word.strip_prefix(name))
            .and_then(|value| value.parse::<u64>().ok())
    };
    let (app, store) = (field("appHeight=")?, field("storeHeight=")?);
    (app > store).then(|| {
        format!(
            "the chain in {chain} is at height {app}, ahead of CometBFT's block store in {data}, \
             which ends at height {store}: CometBFT's data was reset or restored from an older \
             copy. Restore {data} from the same moment as {chain}, or remove {chain} so the chain \
             is rebuilt by replaying CometBFT's blocks and its peers' (a lone validator whose \
             blocks are gone starts its chain over from the genesis)",
            chain = home.join("consign").display(),
            data = home.join("data").display(),
        )
    })
}

/// The text form of what `consign start` reports once it serves.
fn banner(started: &Started) -> Banner<'_> {
    let mut fields = vec![
        ("API", started.api.clone()),
        ("CometBFT RPC", started.cometbft_rpc.clone()),
        ("CometBFT log", started.cometbft_log.display().to_string()),
    ];
    if let Some(pid) = started.cometbft_pid {
        fields.push(("CometBFT pid", pid.to_string()));
    }
    Banner {
        headline: format!(
            "chain {} at height {}, home {}",
            started.chain_id,
            started.height,
            started.home.display()
        ),
        fields,
        accounts: None,
        hint: if started.cometbft_pid.is_some() {
            "Ctrl-C stops CometBFT, then the node."
        } else {
            "Ctrl-C stops the node; CometBFT is the operator's to stop."
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_ahead_of_cometbfts_store_is_explained() {
        let home = Path::new("/h");
        let log = "I[2026-12-02|19:14:03.742] ABCI Replay Blocks                           module=consensus appHeight=42 storeHeight=0 stateHeight=0\npanic: state.AppHash does not match AppHash after replay.";
        let why = explain_handshake(log, home).expect("explained");
        assert!(
            why.contains("/h/consign is at height 42") && why.contains("ends at height 0"),
            "{why}"
        );
        // A store ahead of the chain is a replay, not a refusal.
        let replay = log.replace("appHeight=42 storeHeight=0", "appHeight=3 storeHeight=9");
        assert_eq!(explain_handshake(&replay, home), None);
        assert_eq!(explain_handshake("bind: address in use", home), None);
    }
}

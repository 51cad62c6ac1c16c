//! `consign dev`: runs a local single-node chain with funded dev accounts and serves the node
//! API, like `wasmd`'s local devnets, in one command.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use consign_chain::{
    App, AppConfig, ChainError, Genesis, GenesisAccount, GenesisValidator, StakingGenesis,
};
use consign_client::{coins, GasPrice, Keyring, SecretKey, Timestamp, NATIVE_DENOM};
use serde::Serialize;

use super::args::{parse_size, HomeArgs, API_URL_FILE};
use super::banner::{print_started, Banner, DevAccount};
use super::{Session, EXIT_OK};
use crate::server::{self, Node, NodeConfig};

/// Long help of `consign dev`.
pub(super) const LONG_ABOUT: &str = "\
Run a local single-node chain with funded dev accounts, serving the node API.

The first run in a home directory creates the chain: its genesis funds the dev accounts (alice,
bob, carol, dave, then dev5, dev6, … with --accounts) with 1000000000000 ucsn each, and their keys
are written to the keyring in <home>/keys, so `consign tx … --from alice` works at once. Dev keys
are derived from their names: anyone can recreate them, so never hold real value with them.

Later runs reopen the chain and continue from its last committed block; the genesis flags are
then ignored. Every block commits atomically, so a node killed at any moment (even with kill -9)
restarts at its last committed block.

Blocks are made at once whenever transactions are waiting, and otherwise every --block-time
(an empty block).

The chain has one validator, `dev` (its operator address is shown by `consign query staking
validators`), to which accounts may delegate; undelegated coins come back after --unbonding-time,
and every block pays 1000000 ucsn of rewards to all delegations pro rata.

Every transaction pays its fee (to the fee collector) before it runs, and keeps it paid if it
fails. Only accounts that exist on-chain (that have received funds) may send, and only fees they
can pay; --min-gas-price sets the least fee per unit of gas (default 0ucsn: any fee). A block
holds at most --max-block-gas of gas limits, and each sender at most --max-pending-per-sender
waiting transactions. The API's address is printed and written to <home>/api.url. Stop with
Ctrl-C or SIGTERM: the block in progress and every accepted transaction are committed first.";

/// Examples for `consign dev --help`.
pub(super) const EXAMPLES: &str = "\
Examples:
  Start (or continue) the chain in ~/.consign, serving on 127.0.0.1:26657:
    consign dev
  A throw-away chain on a free port, blocks only when transactions wait:
    consign dev --home /tmp/devnet --api 127.0.0.1:0 --block-time 0
  Ten funded accounts and a block every 500 ms, with block logs:
    consign -v dev --accounts 10 --block-time 500ms
  Where it listens, for scripts:
    curl \"$(cat ~/.consign/api.url)/status\"";

/// The names of the first dev accounts; later ones are `dev5`, `dev6`, …
const DEV_NAMES: [&str; 4] = ["alice", "bob", "carol", "dave"];

/// What each dev account gets at genesis, in the native denomination.
pub const DEV_FUNDS: u128 = 1_000_000_000_000;

/// Arguments of `consign dev`.
#[derive(Debug, Clone, Args)]
pub struct DevArgs {
    /// The chain's home directory: its database, the VM's cache, the keyring (`keys/`) and
    /// `api.url`. Defaults to `$HOME/.consign`.
    #[arg(long, value_name = "DIR", env = "CONSIGN_HOME")]
    pub home: Option<PathBuf>,

    /// Where to serve the node API (`HOST:PORT`; port 0 picks a free port, printed and written
    /// to `<home>/api.url`).
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:26657",
        env = "CONSIGN_API"
    )]
    pub api: String,

    /// The interval between empty blocks while no transaction waits, e.g. `5s`, `500ms`, `1m`;
    /// `0` makes blocks only when transactions wait.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "5s",
        value_parser = parse_block_time,
        env = "CONSIGN_BLOCK_TIME"
    )]
    pub block_time: Duration,

    /// The chain id of a new chain (default `consign-dev`); ignored when the home already
    /// holds a chain.
    #[arg(long, value_name = "ID")]
    pub chain_id: Option<String>,

    /// How long undelegated coins take to come back on a new chain, e.g. `21days` (wasmd's
    /// default), `1h` or `30s` to try unbonding out; ignored when the home already holds a chain.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "21days",
        value_parser = parse_unbonding_time
    )]
    pub unbonding_time: Duration,

    /// How many funded dev accounts a new chain gets (alice, bob, carol, dave, dev5, …). Their
    /// keys are added to the keyring if missing, on every start.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub accounts: u32,

    /// The lowest gas price this node accepts, e.g. `0.025ucsn`: a transaction whose fee is
    /// below its gas limit times this is refused. At `0ucsn` any fee is enough, but the sender
    /// must still exist on-chain (have received funds) and be able to pay the fee it offers.
    #[arg(
        long,
        value_name = "PRICE",
        default_value = "0ucsn",
        env = "CONSIGN_MIN_GAS_PRICE"
    )]
    pub min_gas_price: GasPrice,

    /// The most gas one block may hold (the sum of its transactions' gas limits); a
    /// transaction asking for more than this alone is refused.
    #[arg(long, value_name = "GAS", default_value_t = NodeConfig::default().max_block_gas, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_block_gas: u64,

    /// The most transactions one sender may have waiting in the mempool; more are refused
    /// until its earlier ones are committed.
    #[arg(long, value_name = "N", default_value_t = NodeConfig::default().max_sender_txs, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_pending_per_sender: u64,

    /// The most transactions waiting in the mempool in all; more are refused until blocks
    /// make room.
    #[arg(long, value_name = "N", default_value_t = NodeConfig::default().max_mempool_txs)]
    pub max_mempool_txs: usize,

    /// The most bytes of transactions waiting in the mempool in all, e.g. `256MiB`; more are
    /// refused until blocks make room (one upload may be megabytes, so the count alone does
    /// not bound the node's memory).
    #[arg(long, value_name = "SIZE", default_value = "256MiB", value_parser = parse_size)]
    pub max_mempool_bytes: u64,
}

/// `0`, or a duration such as `5s`, `500ms`, `1m 30s`.
fn parse_block_time(text: &str) -> Result<Duration, String> {
    if text.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("{e}; write a duration such as 5s, 500ms or 1m, or 0 for none"))
}

/// A duration of whole seconds, such as `21days` or `30s`.
fn parse_unbonding_time(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("{e}; write a duration such as 21days, 1h or 30s"))
}

/// The dev chain's one validator, `dev`: its operator address is `consignvaloper1…` over the
/// address of the dev key `validator` (derived from its name, like the dev accounts).
fn dev_validator() -> GenesisValidator {
    let operator = SecretKey::from_seed("validator").address();
    let bytes = consign_client::canonicalize_address(&operator)
        .expect("a dev key's address is a valid consign address");
    GenesisValidator {
        address: consign_client::validator_address(&bytes),
        moniker: "dev".into(),
    }
}

/// The dev accounts' names, in order.
pub(super) fn dev_names(count: u32) -> Vec<String> {
    (1..=count)
        .map(
            |i| match usize::try_from(i - 1).ok().and_then(|i| DEV_NAMES.get(i)) {
                Some(name) => (*name).to_owned(),
                None => format!("dev{i}"),
            },
        )
        .collect()
}

/// What `consign dev` prints once it serves.
#[derive(Debug, Serialize)]
struct Started {
    chain_id: String,
    height: u64,
    /// True when this run created the chain.
    new_chain: bool,
    api: String,
    home: PathBuf,
    /// Milliseconds; 0 means blocks only when transactions wait.
    block_time_ms: u128,
    /// The lowest gas price accepted, e.g. `0ucsn`.
    min_gas_price: String,
    keyring: PathBuf,
    accounts: Vec<DevAccount>,
}

fn now() -> Timestamp {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_nanos(u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
}

/// Runs `consign dev` until SIGINT or SIGTERM.
///
/// # Errors
///
/// When the home cannot be used, the chain cannot be opened, the address cannot be bound, or
/// the node fails.
pub fn run(args: &DevArgs, session: &Session, out: &mut impl Write) -> anyhow::Result<u8> {
    let output = session.output;
    let home = HomeArgs::new(args.home.clone()).dir()?;
    std::fs::create_dir_all(&home).with_context(|| format!("creating {}", home.display()))?;

    // The dev keys are derived from their names, so the genesis needs no keyring.
    let names = dev_names(args.accounts);
    let accounts: Vec<(DevAccount, SecretKey)> = names
        .iter()
        .map(|name| {
            let key = SecretKey::from_seed(name);
            let account = DevAccount {
                name: name.clone(),
                address: key.address(),
            };
            (account, key)
        })
        .collect();

    // Opening the chain takes its database's lock, and nothing in the home is touched before:
    // a second `consign dev` on this home must stop here, leaving the running node's api.url.
    let new_chain = !App::db_path(&home).exists();
    let chain_id = args
        .chain_id
        .clone()
        .unwrap_or_else(|| "consign-dev".into());
    let genesis = new_chain.then(|| Genesis {
        chain_id: chain_id.clone(),
        genesis_time: now(),
        accounts: accounts
            .iter()
            .map(|(a, _)| GenesisAccount {
                address: a.address.clone(),
                coins: coins(DEV_FUNDS, NATIVE_DENOM),
            })
            .collect(),
        max_block_gas: None,
        staking: StakingGenesis {
            validators: vec![dev_validator()],
            unbonding_seconds: args.unbonding_time.as_secs(),
            ..StakingGenesis::default()
        },
    });
    let app_config = AppConfig {
        min_gas_price: args.min_gas_price.clone(),
        ..AppConfig::new(&home)
    };
    let app = App::open(app_config, genesis.as_ref()).map_err(|error| match error {
        ChainError::Locked { path } => anyhow::anyhow!(
            "another `consign dev` is already running with home {home} (its database {db} is \
             locked); use that node (`consign status --home {home}`), stop it first, or start \
             this one with another --home",
            home = home.display(),
            db = path.display(),
        ),
        error => {
            anyhow::Error::new(error).context(format!("opening the chain in {}", home.display()))
        }
    })?;
    if !new_chain {
        if let Some(asked) = &args.chain_id {
            if asked != app.chain_id() {
                tracing::warn!(
                    target: "runtime::node",
                    home = %home.display(),
                    chain_id = app.chain_id(),
                    "--chain-id {asked} ignored: the home already holds a chain"
                );
            }
        }
    }

    let url_file = home.join(API_URL_FILE);
    // A file left by a node that was killed must not send clients to a dead address.
    match std::fs::remove_file(&url_file) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("removing {}", url_file.display())),
    }

    let keyring = Keyring::new(home.join("keys"));
    for (account, key) in &accounts {
        let name = &account.name;
        let path = keyring.path_of(name)?;
        if !path.exists() {
            keyring
                .import(name, key.clone())
                .with_context(|| format!("adding the dev key {name} to the keyring"))?;
        }
    }
    let accounts: Vec<DevAccount> = accounts.into_iter().map(|(account, _)| account).collect();

    session.block_on(async {
        // Before anyone can learn the address: a signal from then on must shut down cleanly.
        let shutdown =
            consign_util::shutdown_signal().context("cannot install the signal handlers")?;
        let listener = tokio::net::TcpListener::bind(&args.api)
            .await
            .with_context(|| format!("binding the API address {}", args.api))?;
        let url = format!("http://{}", listener.local_addr()?);
        consign_util::fs::atomic_write(&url_file, format!("{url}\n"))?;

        let started = Started {
            chain_id: app.chain_id().to_owned(),
            height: app.height(),
            new_chain,
            api: url,
            home: home.clone(),
            block_time_ms: args.block_time.as_millis(),
            min_gas_price: args.min_gas_price.to_string(),
            keyring: keyring.dir().to_path_buf(),
            accounts,
        };
        print_started(&started, &banner(&started), output, out)?;

        let node = Node::new(
            app,
            NodeConfig {
                block_time: args.block_time,
                max_block_gas: args.max_block_gas,
                max_sender_txs: args.max_pending_per_sender,
                max_mempool_txs: args.max_mempool_txs.max(1),
                max_mempool_bytes: args.max_mempool_bytes,
                ..NodeConfig::default()
            },
        );
        let result = server::run(listener, node.clone(), shutdown).await;
        let _ = std::fs::remove_file(&url_file);
        result?;
        let status = node.status();
        tracing::info!(target: "runtime::node", height = status.height, "stopped");
        anyhow::Ok(())
    })?;
    Ok(EXIT_OK)
}

/// The text form of what `consign dev` reports once it serves.
fn banner(started: &Started) -> Banner<'_> {
    let what = if started.new_chain {
        "created"
    } else {
        "continuing"
    };
    let block_time = if started.block_time_ms == 0 {
        "only when transactions wait".to_owned()
    } else {
        format!("{} ms", started.block_time_ms)
    };
    Banner {
        headline: format!(
            "chain {} ({what}) at height {}, home {}",
            started.chain_id,
            started.height,
            started.home.display()
        ),
        fields: vec![
            ("API", started.api.clone()),
            ("block time", block_time),
            ("min gas price", started.min_gas_price.clone()),
        ],
        accounts: Some((&started.keyring, &started.accounts)),
        hint: "Ctrl-C stops the node after committing what it accepted.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_time_accepts_zero_and_units() {
        assert_eq!(parse_block_time("0"), Ok(Duration::ZERO));
        assert_eq!(parse_block_time("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_block_time("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_block_time("soon").unwrap_err().contains("500ms"));
    }

    #[test]
    fn dev_names_continue_after_dave() {
        assert_eq!(dev_names(2), ["alice", "bob"]);
        assert_eq!(
            dev_names(6),
            ["alice", "bob", "carol", "dave", "dev5", "dev6"]
        );
    }
}

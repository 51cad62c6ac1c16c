//! `consign init`: makes a node home for a CometBFT network of one validator: CometBFT's config
//! and keys (`cometbft init`), rewritten for Consign, a genesis with funded dev accounts, and
//! Consign's `config/app.toml`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use super::args::HomeArgs;
use super::banner::{write_accounts, DevAccount};
use super::node_home::{dev_app_state, dev_keys, finish_home, GenesisArgs};
use super::{OutputFormat, Session, EXIT_OK};
use crate::cometbft::{self, AppToml, NodeSettings};

/// Long help of `consign init`.
pub(super) const LONG_ABOUT: &str = "\
Make a node home for a Consign network run by CometBFT: a single validator on this machine.

Runs `cometbft init` in the home (CometBFT v0.38.26 must be installed: scripts/install-cometbft.sh
does it), then sets what Consign needs in config/config.toml: the ABCI connection on the Unix
socket <home>/data/abci.sock, CometBFT's RPC and peer addresses (--rpc, --p2p), and sizes that fit
a contract upload. The genesis (config/genesis.json) gets the chain id, a block gas limit
(consensus_params.block.max_gas) and, in app_state, the dev accounts (alice, bob, carol, dave, …)
funded with 1000000000000 ucsn each, whose keys go to the keyring in <home>/keys, and the staking
module's validator: CometBFT's genesis validator, as consignvaloper1… over its address (the
unbonding period, 21 days, and the reward per block can be edited in app_state.staking before the
first start). Consign's own
settings (the node API's address, --api) are in config/app.toml.

Then `consign start --home <home>` runs the node. Dev keys are derived from their names: anyone can
recreate them, so never hold real value with them. For a network of several validators on this
machine, see `consign testnet`.";

/// Examples for `consign init --help`.
pub(super) const EXAMPLES: &str = "\
Examples:
  A node home in ~/.consign-node, then run it:
    consign init --home ~/.consign-node --chain-id my-chain
    consign start --home ~/.consign-node
  Other ports, and a block every 200 ms:
    consign init --home /tmp/n --rpc 127.0.0.1:36657 --p2p 127.0.0.1:36656 --api 127.0.0.1:1318 --block-time 200ms";

/// Arguments of `consign init`.
#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// The node home to create (CometBFT's home with Consign's files added). Defaults to
    /// `$HOME/.consign`.
    #[arg(long, value_name = "DIR", env = "CONSIGN_HOME")]
    pub home: Option<PathBuf>,

    /// CometBFT's RPC address (`HOST:PORT`): `consign start` forwards transactions there.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:26657")]
    pub rpc: String,

    /// CometBFT's peer-to-peer address (`HOST:PORT`).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:26656")]
    pub p2p: String,

    /// Where `consign start` serves the node API (`HOST:PORT`; port 0 picks a free one, written
    /// to `<home>/api.url`).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:1317")]
    pub api: String,

    /// The chain's settings.
    #[command(flatten)]
    pub genesis: GenesisArgs,
}

/// What `consign init` prints.
#[derive(Debug, Serialize)]
struct Initialized {
    home: PathBuf,
    chain_id: String,
    rpc: String,
    api: String,
    accounts: Vec<(String, String)>,
}

/// Runs `consign init`.
///
/// # Errors
///
/// When CometBFT is not installed, the home already holds a node, or a file cannot be written.
pub fn run(args: &InitArgs, session: &Session, out: &mut impl Write) -> anyhow::Result<u8> {
    let home = HomeArgs::new(args.home.clone()).dir()?;
    let home = std::path::absolute(&home)
        .with_context(|| format!("cannot make {} absolute", home.display()))?;
    args.genesis.check()?;
    let genesis_file = cometbft::genesis_path(&home);
    anyhow::ensure!(
        !genesis_file.exists(),
        "{} already holds a node ({} exists): start it with `consign start --home {}`, or \
         choose another --home",
        home.display(),
        genesis_file.display(),
        home.display()
    );
    // Before anything is written: the socket path must fit.
    cometbft::socket_path(&home)?;
    let binary = cometbft::find_binary()?;
    let home_text = home.display().to_string();
    cometbft::run(&binary, &["init", "--home", &home_text])?;
    let keys = dev_keys(args.genesis.accounts);
    cometbft::write_genesis(
        &home,
        &args.genesis.chain_id,
        args.genesis.max_block_gas,
        &dev_app_state(&keys, cometbft::consensus_validators(&home)?),
    )?;
    finish_home(
        &home,
        &NodeSettings {
            moniker: "node0".into(),
            rpc: args.rpc.clone(),
            p2p: args.p2p.clone(),
            block_time: args.genesis.block_time.clone(),
            persistent_peers: None,
        },
        &AppToml {
            api: args.api.clone(),
            min_gas_price: args.genesis.min_gas_price.to_string(),
        },
        &keys,
    )?;
    tracing::info!(target: "runtime::node", home = %home.display(), chain_id = %args.genesis.chain_id, "initialised a node home");
    let done = Initialized {
        home,
        chain_id: args.genesis.chain_id.clone(),
        rpc: args.rpc.clone(),
        api: args.api.clone(),
        accounts: keys.iter().map(|(n, k)| (n.clone(), k.address())).collect(),
    };
    match session.output {
        OutputFormat::Json => {
            serde_json::to_writer(&mut *out, &done)?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            writeln!(
                out,
                "initialised node home {} for chain {}",
                done.home.display(),
                done.chain_id
            )?;
            writeln!(out, "CometBFT RPC: {}   node API: {}", done.rpc, done.api)?;
            let accounts: Vec<DevAccount> = done
                .accounts
                .iter()
                .map(|(name, address)| DevAccount {
                    name: name.clone(),
                    address: address.clone(),
                })
                .collect();
            write_accounts(&done.home.join("keys"), &accounts, out)?;
            writeln!(
                out,
                "start it with: consign start --home {}",
                done.home.display()
            )?;
        }
    }
    Ok(EXIT_OK)
}

//! `consign testnet`: writes a ready network of N validators on this machine (127.0.0.1), one
//! node home each, like `cometbft testnet` and wasmd's `testnet init-files`: CometBFT's keys and
//! shared genesis from `cometbft testnet`, then in every home the rewrites `consign init` makes,
//! the peers, and ports that let the nodes run side by side.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use super::banner::{write_accounts, DevAccount};
use super::node_home::{dev_app_state, dev_keys, finish_home, import_dev_keys, GenesisArgs};
use super::{OutputFormat, Session, EXIT_OK};
use crate::cometbft::{self, AppToml, NodeSettings, LOOPBACK_TIMEOUTS, MAX_SOCKET_PATH};

/// Long help of `consign testnet`.
pub(super) const LONG_ABOUT: &str = "\
Write a ready network of N validators on this machine: one node home per validator
(<output-dir>/node0, node1, …), all on 127.0.0.1, each to be run by `consign start --home
<output-dir>/nodeI`.

It runs `cometbft testnet` (CometBFT v0.38.26 must be installed: scripts/install-cometbft.sh does
it) for the validators' keys and their shared genesis, then makes every home what `consign init`
makes: the ABCI socket <home>/data/abci.sock, sizes that fit a contract upload, config/app.toml,
and the dev accounts (alice, bob, carol, dave, … funded with 1000000000000 ucsn each) in the
genesis and in <home>/keys (and <output-dir>/keys). Every node gets the same genesis.json (chain
id, block gas limit, app_state), the other validators as its persistent peers (no peer
exchange), and consensus timeouts that fit a loopback network (timeout_propose 1s, prevote and
precommit 200ms).

Ports, for node I and --base-port B: B+10I is CometBFT's peer-to-peer port, B+10I+1 CometBFT's
RPC, B+10I+2 the node API (so the default 26600 gives node0 26600, 26601, 26602 and node1 26610,
26611, 26612). Each node is two processes: `consign start` (the chain and the node API) and the
CometBFT it starts beside it. The network commits blocks once more than two thirds of the
validators run: 3 of 4.

The output directory must not exist or be empty, and stay short enough for a Unix socket path
(<output-dir>/nodeI/data/abci.sock, at most 107 bytes). Dev keys are derived from their names:
anyone can recreate them, so never hold real value with them.";

/// Examples for `consign testnet --help`.
pub(super) const EXAMPLES: &str = "\
Examples:
  Four validators, then start each (one terminal or service per node):
    consign testnet --validators 4 --output-dir ~/consign-net
    consign start --home ~/consign-net/node0
    consign start --home ~/consign-net/node1     # and node2, node3
  Send through any node:
    consign tx bank send alice consign1… 5ucsn --home ~/consign-net/node2 --node http://127.0.0.1:26622
  Another port block, a block every 200 ms, the layout as JSON:
    consign testnet --validators 4 --output-dir /tmp/net --base-port 36600 --block-time 200ms --output json";

/// Arguments of `consign testnet`.
#[derive(Debug, Clone, Args)]
pub struct TestnetArgs {
    /// How many validators (one node home each).
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub validators: u32,

    /// Where to write the network: a directory that does not exist yet, or is empty.
    #[arg(long, value_name = "DIR")]
    pub output_dir: PathBuf,

    /// The first port: node I uses B+10I (peer-to-peer), B+10I+1 (CometBFT RPC) and B+10I+2
    /// (node API).
    #[arg(long, value_name = "B", default_value_t = 26600, value_parser = clap::value_parser!(u16).range(1024..))]
    pub base_port: u16,

    /// The chain's settings.
    #[command(flatten)]
    pub genesis: GenesisArgs,
}

/// One node of the network, as printed.
#[derive(Debug, Serialize)]
struct TestnetNode {
    moniker: String,
    home: PathBuf,
    /// CometBFT's peer id.
    node_id: String,
    /// The node API.
    api: String,
    /// CometBFT's RPC.
    rpc: String,
    /// CometBFT's peer-to-peer address.
    p2p: String,
}

/// What `consign testnet` prints.
#[derive(Debug, Serialize)]
struct Testnet {
    chain_id: String,
    output_dir: PathBuf,
    nodes: Vec<TestnetNode>,
    keyring: PathBuf,
    accounts: Vec<DevAccount>,
}

/// Node `i`'s ports for base port `base`: peer-to-peer, CometBFT RPC, node API.
fn ports(base: u16, i: u32) -> Option<(u16, u16, u16)> {
    let p2p = u32::from(base) + 10 * i;
    let port = |offset: u32| u16::try_from(p2p + offset).ok();
    Some((port(0)?, port(1)?, port(2)?))
}

/// Checks what can be checked before anything is written.
fn check(args: &TestnetArgs, dir: &Path) -> anyhow::Result<()> {
    args.genesis.check()?;
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).with_context(|| {
            format!(
                "--output-dir {} is not a directory I can read",
                dir.display()
            )
        })?;
        anyhow::ensure!(
            entries.next().is_none(),
            "--output-dir {} is not empty: a network is written into a new or empty directory \
             (start the nodes already there with `consign start --home {}/node0` …, or choose \
             another --output-dir)",
            dir.display(),
            dir.display()
        );
    }
    let last = args.validators - 1;
    anyhow::ensure!(
        ports(args.base_port, last).is_some(),
        "--base-port {} leaves no room for {} validators: node{last} would need ports up to {}, \
         past 65535; use a --base-port of at most {}",
        args.base_port,
        args.validators,
        u32::from(args.base_port) + 10 * last + 2,
        65535 - 10 * last - 2
    );
    let socket = dir
        .join(format!("node{last}"))
        .join("data")
        .join("abci.sock");
    let len = socket.as_os_str().len();
    anyhow::ensure!(
        len <= MAX_SOCKET_PATH,
        "the ABCI socket {} would be {len} bytes, longer than the {MAX_SOCKET_PATH} a Unix \
         socket path allows; choose a shorter --output-dir",
        socket.display()
    );
    Ok(())
}

/// Runs `consign testnet`.
///
/// # Errors
///
/// When the arguments cannot make a network (the directory is not empty, the ports or the
/// socket path do not fit), CometBFT is not installed, or a file cannot be written. What was
/// written is removed again.
pub fn run(args: &TestnetArgs, session: &Session, out: &mut impl Write) -> anyhow::Result<u8> {
    let dir = std::path::absolute(&args.output_dir)
        .with_context(|| format!("cannot make {} absolute", args.output_dir.display()))?;
    check(args, &dir)?;
    let binary = cometbft::find_binary()?;
    let existed = dir.exists();
    let written = write_network(args, &dir, &binary);
    let testnet = match written {
        Ok(testnet) => testnet,
        Err(error) => {
            // Leave the directory as it was: absent, or empty.
            let cleaned = if existed {
                std::fs::read_dir(&dir).and_then(|entries| {
                    entries.flatten().try_for_each(|entry| {
                        let path = entry.path();
                        if path.is_dir() {
                            std::fs::remove_dir_all(path)
                        } else {
                            std::fs::remove_file(path)
                        }
                    })
                })
            } else {
                std::fs::remove_dir_all(&dir)
            };
            if let Err(e) = cleaned {
                tracing::warn!(target: "runtime::node", dir = %dir.display(), error = %e, "could not remove the partly written network");
            }
            return Err(error);
        }
    };
    tracing::info!(target: "runtime::node", dir = %dir.display(), validators = args.validators, chain_id = %args.genesis.chain_id, "wrote a testnet");
    print(&testnet, session.output, out)?;
    Ok(EXIT_OK)
}

fn write_network(args: &TestnetArgs, dir: &Path, binary: &Path) -> anyhow::Result<Testnet> {
    let dir_text = dir.display().to_string();
    let validators = args.validators.to_string();
    cometbft::run(
        binary,
        &[
            "testnet",
            "--v",
            &validators,
            "--n",
            "0",
            "--o",
            &dir_text,
            "--starting-ip-address",
            "127.0.0.1",
            "--populate-persistent-peers=false",
            "--node-dir-prefix",
            "node",
        ],
    )?;
    let homes: Vec<PathBuf> = (0..args.validators)
        .map(|i| dir.join(format!("node{i}")))
        .collect();
    let ids = homes
        .iter()
        .map(|home| cometbft::node_id(binary, home))
        .collect::<Result<Vec<_>, _>>()?;
    let mut nodes = Vec::new();
    for (i, (home, id)) in (0..args.validators).zip(homes.iter().zip(&ids)) {
        let (p2p, rpc, api) = ports(args.base_port, i).context("the ports were checked to fit")?;
        nodes.push(TestnetNode {
            moniker: format!("node{i}"),
            home: home.clone(),
            node_id: id.clone(),
            api: format!("127.0.0.1:{api}"),
            rpc: format!("127.0.0.1:{rpc}"),
            p2p: format!("127.0.0.1:{p2p}"),
        });
    }

    // One genesis, the same bytes in every home.
    let keys = dev_keys(args.genesis.accounts);
    let first = homes.first().context("at least one validator")?;
    cometbft::write_genesis(
        first,
        &args.genesis.chain_id,
        args.genesis.max_block_gas,
        &dev_app_state(&keys, cometbft::consensus_validators(first)?),
    )?;
    let genesis_path = cometbft::genesis_path(first);
    let genesis = std::fs::read(&genesis_path)
        .with_context(|| format!("reading {}", genesis_path.display()))?;
    for home in homes.iter().skip(1) {
        let path = cometbft::genesis_path(home);
        consign_util::fs::atomic_write(&path, &genesis)
            .with_context(|| format!("writing {}", path.display()))?;
    }

    for node in &nodes {
        let peers: Vec<String> = nodes
            .iter()
            .filter(|other| other.moniker != node.moniker)
            .map(|other| format!("{}@{}", other.node_id, other.p2p))
            .collect();
        finish_home(
            &node.home,
            &NodeSettings {
                moniker: node.moniker.clone(),
                rpc: node.rpc.clone(),
                p2p: node.p2p.clone(),
                block_time: args.genesis.block_time.clone(),
                persistent_peers: Some(peers.join(",")),
            },
            &AppToml {
                api: node.api.clone(),
                min_gas_price: args.genesis.min_gas_price.to_string(),
            },
            &keys,
        )?;
    }
    let keyring = dir.join("keys");
    import_dev_keys(&keyring, &keys)?;
    Ok(Testnet {
        chain_id: args.genesis.chain_id.clone(),
        output_dir: dir.to_path_buf(),
        nodes: nodes
            .into_iter()
            .map(|node| TestnetNode {
                api: format!("http://{}", node.api),
                rpc: format!("http://{}", node.rpc),
                ..node
            })
            .collect(),
        keyring,
        accounts: keys
            .iter()
            .map(|(name, key)| DevAccount {
                name: name.clone(),
                address: key.address(),
            })
            .collect(),
    })
}

fn print(testnet: &Testnet, output: OutputFormat, out: &mut impl Write) -> anyhow::Result<()> {
    if output == OutputFormat::Json {
        serde_json::to_writer(&mut *out, testnet)?;
        writeln!(out)?;
        return Ok(());
    }
    let count = testnet.nodes.len();
    writeln!(
        out,
        "wrote a network of {count} validator{} for chain {} in {}",
        if count == 1 { "" } else { "s" },
        testnet.chain_id,
        testnet.output_dir.display()
    )?;
    let rows: Vec<[String; 5]> =
        std::iter::once(["node", "home", "node API", "CometBFT RPC", "p2p"].map(str::to_owned))
            .chain(testnet.nodes.iter().map(|node| {
                [
                    node.moniker.clone(),
                    node.home.display().to_string(),
                    node.api.clone(),
                    node.rpc.clone(),
                    node.p2p.clone(),
                ]
            }))
            .collect();
    let widths: Vec<usize> = (0..5)
        .map(|c| rows.iter().map(|row| row[c].len()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        writeln!(out, "  {}", line.join("  ").trim_end())?;
    }
    write_accounts(&testnet.keyring, &testnet.accounts, out)?;
    let timeouts: Vec<String> = LOOPBACK_TIMEOUTS
        .iter()
        .map(|(key, value)| format!("{key} {value}"))
        .collect();
    writeln!(out, "consensus timeouts: {}", timeouts.join(", "))?;
    writeln!(
        out,
        "start each node (a terminal or service each; blocks commit once more than 2/3 run):"
    )?;
    for node in &testnet.nodes {
        writeln!(out, "  consign start --home {}", node.home.display())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_spaced_by_ten_and_must_fit() {
        assert_eq!(ports(26600, 0), Some((26600, 26601, 26602)));
        assert_eq!(ports(26600, 3), Some((26630, 26631, 26632)));
        assert_eq!(ports(65534, 0), None);
        assert_eq!(ports(65510, 3), None);
        assert_eq!(ports(65503, 3), Some((65533, 65534, 65535)));
    }
}

//! `consign status`: the node's chain id, latest block and next delivery sequence.

use std::io::Write;

use clap::Args;

use consign_client::NodeStatus;

use super::args::NodeArgs;
use super::output::{field, print_json, BlockTime};
use super::rpc::{self, Endpoint};
use super::{OutputFormat, Session, EXIT_OK};

/// `consign status`.
///
/// `--keyring-backend` is accepted (it is global) but hidden from the help: reading the chain
/// signs nothing.
#[derive(Debug, Clone, Args)]
#[command(mut_arg("keyring_backend", |arg| arg.hide(true)))]
pub struct StatusArgs {
    /// Which node.
    #[command(flatten)]
    pub node: NodeArgs,
}

/// Long help of `consign status`.
pub(super) const LONG_ABOUT: &str = "\
Show the node's status as `key: value` lines: the chain id, the latest block's height, hash and
time (in local time), the sequence the next delivery instruction will get, and the minimum gas
price the node accepts. A quick way to check the node is up. With --output json, the node's
answer (the time in nanoseconds since 1970, as the node gives it).

--node may also be CometBFT's RPC address (tcp://127.0.0.1:26657 or http://…, as wasmd's
users give it): the same fields, read from the application through CometBFT, and CometBFT's
own beside them: the app hash, its latest height and block hash, whether it is catching up,
its node id, moniker and version (under `cometbft` with --output json).";

/// Examples for `consign status --help`.
pub(super) const EXAMPLES: &str = "\
Examples:
  consign status
  consign status --node http://127.0.0.1:26602
  consign status --node tcp://127.0.0.1:26657
  consign --output json status | jq -r .chain_id";

/// Carries out `consign status`.
///
/// # Errors
///
/// If the node cannot be reached or answers with an error, or `out` cannot be written.
pub fn run(args: &StatusArgs, session: &Session, out: &mut impl Write) -> anyhow::Result<u8> {
    let rpc = match rpc::endpoint(&args.node)? {
        Endpoint::Comet(rpc) => rpc,
        Endpoint::Api(node) => match session.block_on(node.status()) {
            Ok(status) => return print_status(&status, session, out),
            Err(error) => rpc::comet_instead(&error).ok_or(error)?,
        },
    };
    let status = session.block_on(rpc::status(&rpc))?;
    if session.output == OutputFormat::Json {
        print_json(&status, session.output, out)?;
        return Ok(EXIT_OK);
    }
    print_status(&status.node, session, out)?;
    let comet = &status.cometbft;
    field(
        out,
        "read through",
        &format!("CometBFT's RPC at {}", rpc.base_url()),
    )?;
    field(out, "app hash", &comet.latest_app_hash)?;
    field(
        out,
        "cometbft height",
        &comet.latest_block_height.to_string(),
    )?;
    field(out, "cometbft block hash", &comet.latest_block_hash)?;
    field(
        out,
        "catching up",
        if comet.catching_up { "yes" } else { "no" },
    )?;
    field(out, "node id", &comet.node_id)?;
    field(out, "moniker", &comet.moniker)?;
    field(out, "cometbft version", &comet.version)?;
    Ok(EXIT_OK)
}

/// The node API's status fields.
fn print_status(
    status: &NodeStatus,
    session: &Session,
    out: &mut impl Write,
) -> anyhow::Result<u8> {
    if session.output == OutputFormat::Json {
        print_json(status, session.output, out)?;
        return Ok(EXIT_OK);
    }
    field(out, "chain id", &status.chain_id)?;
    field(out, "height", &status.height.to_string())?;
    field(out, "latest block hash", &status.latest_block_hash)?;
    field(
        out,
        "latest block time",
        &BlockTime::new(status.latest_block_time)?.local(),
    )?;
    field(
        out,
        "next delivery sequence",
        &status.next_delivery_sequence.to_string(),
    )?;
    field(out, "minimum gas price", &status.min_gas_price.to_string())?;
    Ok(EXIT_OK)
}

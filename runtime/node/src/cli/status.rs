//! `consign status`: the node's chain id, latest block and next delivery sequence.

use std::io::Write;

use clap::Args;

use super::args::NodeArgs;
use super::output::{field, print_json, BlockTime};
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
answer (the time in nanoseconds since 1970, as the node gives it).";

/// Examples for `consign status --help`.
pub(super) const EXAMPLES: &str = "\
Examples:
  consign status
  consign status --node http://127.0.0.1:26657
  consign --output json status | jq -r .chain_id";

/// Carries out `consign status`.
///
/// # Errors
///
/// If the node cannot be reached or answers with an error, or `out` cannot be written.
pub fn run(args: &StatusArgs, session: &Session, out: &mut impl Write) -> anyhow::Result<u8> {
    let node = args.node.client()?;
    let status = session.block_on(node.status())?;
    if session.output == OutputFormat::Json {
        print_json(&status, session.output, out)?;
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

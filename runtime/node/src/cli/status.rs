//! `consign status`: the node's chain id, latest block and next delivery sequence.

use std::io::Write;

use clap::Args;

use super::args::NodeArgs;
use super::output::print_json;
use super::{Session, EXIT_OK};

/// `consign status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Which node.
    #[command(flatten)]
    pub node: NodeArgs,
}

/// Long help of `consign status`.
pub(super) const LONG_ABOUT: &str = "\
Show the node's status: the chain id, the latest block's height, hash and time, and the
sequence the next delivery instruction will get. A quick way to check the node is up.";

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
    print_json(&status, session.output, out)?;
    Ok(EXIT_OK)
}

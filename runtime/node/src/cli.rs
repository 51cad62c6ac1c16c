//! The `consign` command line: global options, the subcommands, and [`run`].

use std::process::ExitCode;

use clap::{ArgAction, Parser, Subcommand, ValueEnum};

pub mod check;
pub mod demo;
pub mod dev;
pub mod inbox;
pub mod keys;
pub mod market;
pub mod query;
pub mod sell;
pub mod tx;

/// Exit status when every file or command succeeded.
pub const EXIT_OK: u8 = 0;
/// Exit status when a contract was rejected (or, generally, the command's answer is "no").
pub const EXIT_REJECTED: u8 = 1;
/// Exit status for a usage error or an input that could not be read.
pub const EXIT_USAGE: u8 = 2;

const ABOUT: &str = "Consign: a local chain that runs CosmWasm contracts, and its command line";

const LONG_ABOUT: &str = "\
Consign: a local chain that runs CosmWasm contracts, and its command line.

Contracts are ordinary cosmwasm-std 2.x / 3.x contracts built for wasm32-unknown-unknown; the
runtime adds one host function, consign_deliver, for off-chain data delivery.";

const EXAMPLES: &str = "\
Examples:
  Check contracts before uploading them:
    consign check target/contracts/cw20_base.wasm
  The same, as JSON for scripts:
    consign --output json check target/contracts/*.wasm
  More logging (or set RUST_LOG, e.g. RUST_LOG=runtime::vm=debug):
    consign -vv check contract.wasm";

/// The `consign` command line.
#[derive(Debug, Parser)]
#[command(name = "consign", version, about = ABOUT, long_about = LONG_ABOUT, after_help = EXAMPLES)]
pub struct Cli {
    /// Output format: `text` for people, `json` for scripts.
    #[arg(long, short, global = true, value_enum, default_value_t = OutputFormat::Text, env = "CONSIGN_OUTPUT")]
    pub output: OutputFormat,

    /// More log output on stderr: -v info, -vv debug, -vvv trace. `RUST_LOG` overrides it.
    #[arg(long, short, global = true, action = ArgAction::Count)]
    pub verbose: u8,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How results are printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text.
    Text,
    /// JSON, one document per command.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Play the whole story on this machine: seller offline, buyer served by a storage node.
    #[command(long_about = demo::LONG_ABOUT, after_help = demo::EXAMPLES)]
    Demo(demo::DemoArgs),
    /// Check contract wasm files against the upload rules, like cosmwasm-check.
    #[command(long_about = check::LONG_ABOUT, after_help = check::EXAMPLES)]
    Check(check::CheckArgs),
    /// Run a local single-node chain with funded dev accounts, serving the node API.
    #[command(long_about = dev::LONG_ABOUT, after_help = dev::EXAMPLES)]
    Dev(dev::DevArgs),
    /// Manage the local keyring: add, list and show account keys.
    #[command(long_about = keys::LONG_ABOUT, after_help = keys::EXAMPLES)]
    Keys(keys::KeysArgs),
    /// Sign and broadcast transactions: bank sends, contract uploads and calls.
    #[command(long_about = tx::LONG_ABOUT, after_help = tx::EXAMPLES)]
    Tx(tx::TxArgs),
    /// Query the chain: balances, codes, contracts, contract state, txs, blocks, deliveries.
    #[command(long_about = query::LONG_ABOUT, after_help = query::EXAMPLES, visible_alias = "q")]
    Query(query::QueryArgs),
    /// Sellers: upload a file to a storage node, offer it on-chain and register the offer.
    #[command(long_about = sell::LONG_ABOUT, after_help = sell::EXAMPLES)]
    Sell(sell::SellArgs),
    /// Sellers: create, show, list, register and withdraw offers of a data-sale contract.
    #[command(long_about = market::OFFER_LONG_ABOUT, after_help = market::OFFER_EXAMPLES)]
    Offer(market::OfferArgs),
    /// Buyers: buy an offer, naming where the data is delivered and the key it is encrypted to.
    #[command(long_about = market::BUY_LONG_ABOUT, after_help = market::BUY_EXAMPLES)]
    Buy(market::BuyArgs),
    /// Buyers: receive purchased data: decrypt, verify against the offer, save, confirm.
    #[command(long_about = inbox::LONG_ABOUT, after_help = inbox::EXAMPLES)]
    Inbox(inbox::InboxArgs),
    /// Follow a purchase and end its escrow: show, list, confirm, dispute, claim, resolve.
    #[command(long_about = market::PURCHASE_LONG_ABOUT, after_help = market::PURCHASE_EXAMPLES)]
    Purchase(market::PurchaseArgs),
    /// Show the node's status: chain id, latest block, next delivery sequence.
    #[command(long_about = query::STATUS_LONG_ABOUT, after_help = query::STATUS_EXAMPLES)]
    Status(query::StatusArgs),
}

/// Carries out a parsed command line, writing results to stdout, and returns the exit status.
///
/// # Errors
///
/// Fails if stdout cannot be written; the caller should exit with [`EXIT_USAGE`].
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    let code = match &cli.command {
        Command::Demo(args) => demo::run(args, cli.output, &mut stdout)?,
        Command::Check(args) => check::run(args, cli.output, &mut stdout)?,
        Command::Dev(args) => dev::run(args, cli.output, &mut stdout)?,
        Command::Keys(args) => keys::run(args, cli.output, &mut stdout)?,
        Command::Tx(args) => tx::run(args, cli.output, &mut stdout)?,
        Command::Query(args) => query::run(args, cli.output, &mut stdout)?,
        Command::Status(args) => query::run_status(args, cli.output, &mut stdout)?,
        Command::Sell(args) => sell::run(args, cli.output, &mut stdout)?,
        Command::Offer(args) => market::run_offer(args, cli.output, &mut stdout)?,
        Command::Buy(args) => market::run_buy(args, cli.output, &mut stdout)?,
        Command::Inbox(args) => inbox::run(args, cli.output, &mut stdout)?,
        Command::Purchase(args) => market::run_purchase(args, cli.output, &mut stdout)?,
    };
    Ok(ExitCode::from(code))
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM: how `consign dev` and `consign inbox` are stopped.
/// The handlers are installed at once, so a signal that arrives before the future is polled is
/// not lost.
///
/// # Errors
///
/// If a handler cannot be installed.
pub(crate) fn shutdown_signal(
) -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use anyhow::Context as _;
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt =
            signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
        let mut terminate =
            signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn output_is_global() {
        let cli = Cli::try_parse_from(["consign", "check", "a.wasm", "--output", "json"]).unwrap();
        assert_eq!(cli.output, OutputFormat::Json);
    }
}

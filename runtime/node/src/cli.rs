//! The `consign` command line: global options, the subcommands, and [`run`].
//!
//! One file per top-level command (`check.rs`, `dev.rs`, `offer.rs`, …); what several commands
//! share lives in modules named for it, never in another command's file: [`args`] (argument
//! groups and parsers), [`output`] (printing), [`broadcast`] (signing and broadcasting), [`send`]
//! (sending until the sequence is the node's),
//! [`market`] (talking to a data-sale contract). [`run`] makes the one async runtime of the
//! process and hands it to the command in a [`Session`].

use std::future::Future;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{ArgAction, Parser, Subcommand};

pub mod args;
mod banner;
pub mod broadcast;
pub mod market;
mod node_home;
pub mod offline;
pub mod output;
pub mod prompt;
mod rpc;
mod send;
pub mod staking;

pub mod buy;
pub mod check;
pub mod completions;
pub mod demo;
pub mod dev;
pub mod inbox;
pub mod init;
pub mod keys;
pub mod man;
pub mod offer;
pub mod purchase;
pub mod query;
pub mod sell;
pub mod start;
pub mod status;
pub mod testnet;
pub mod tx;

pub use output::OutputFormat;

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

    /// The home directory: the keyrings, and `consign dev`'s chain and API URL. Accepted before
    /// or after any subcommand, as in wasmd; commands that use neither ignore it [default:
    /// $HOME/.consign]
    #[arg(long, global = true, value_name = "DIR", env = "CONSIGN_HOME")]
    pub home: Option<std::path::PathBuf>,

    /// How log lines are written.
    #[command(flatten)]
    pub log: consign_util::telemetry::LogArgs,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
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
    /// Make a node home for a CometBFT network (one validator on this machine).
    #[command(long_about = init::LONG_ABOUT, after_help = init::EXAMPLES)]
    Init(init::InitArgs),
    /// Write a ready network of N validators on this machine, one node home each.
    #[command(long_about = testnet::LONG_ABOUT, after_help = testnet::EXAMPLES)]
    Testnet(testnet::TestnetArgs),
    /// Run a node of a CometBFT network: the chain, its API, and CometBFT beside it.
    #[command(long_about = start::LONG_ABOUT, after_help = start::EXAMPLES)]
    Start(start::StartArgs),
    /// Manage account keys: add or recover, list, show, delete, export, import.
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
    #[command(long_about = offer::LONG_ABOUT, after_help = offer::EXAMPLES)]
    Offer(offer::OfferArgs),
    /// Buyers: buy an offer, naming where the data is delivered and the key it is encrypted to.
    #[command(long_about = buy::LONG_ABOUT, after_help = buy::EXAMPLES)]
    Buy(buy::BuyArgs),
    /// Buyers: receive purchased data: decrypt, verify against the offer, save, confirm.
    #[command(long_about = inbox::LONG_ABOUT, after_help = inbox::EXAMPLES)]
    Inbox(inbox::InboxArgs),
    /// Follow a purchase and end its escrow: show, list, confirm, dispute, claim, resolve, refund.
    #[command(long_about = purchase::LONG_ABOUT, after_help = purchase::EXAMPLES)]
    Purchase(purchase::PurchaseArgs),
    /// Show the node's status: chain id, latest block, next delivery sequence.
    #[command(long_about = status::LONG_ABOUT, after_help = status::EXAMPLES)]
    Status(status::StatusArgs),
    /// Print the shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(long_about = completions::LONG_ABOUT, after_help = completions::EXAMPLES)]
    Completions(consign_util::clidocs::CompletionsArgs),
    /// Write man pages for consign and each of its commands into a directory.
    #[command(long_about = man::LONG_ABOUT, after_help = man::EXAMPLES)]
    Man(consign_util::clidocs::ManArgs),
}

/// One run of the command line: how results are printed, and the process's one async runtime,
/// on which every command makes its requests (a reqwest client must not outlive the runtime it
/// was first used on, so there is only ever one).
#[derive(Debug)]
pub struct Session {
    /// `--output`.
    pub output: OutputFormat,
    runtime: tokio::runtime::Runtime,
}

impl Session {
    /// A session printing as `output`, with a multi-threaded runtime (`consign dev` and
    /// `consign inbox` serve on it; the other commands make a few requests in sequence).
    ///
    /// # Errors
    ///
    /// If the runtime cannot be started.
    pub fn new(output: OutputFormat) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        Ok(Self { output, runtime })
    }

    /// Runs `future` to completion on the session's runtime.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}

/// Carries out a parsed command line, writing results to stdout, and returns the exit status.
///
/// # Errors
///
/// Fails if the async runtime cannot be started or stdout cannot be written; the caller should
/// exit with [`EXIT_USAGE`].
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let session = Session::new(cli.output)?;
    let s = &session;
    let mut stdout = std::io::stdout().lock();
    let out = &mut stdout;
    let code = match &cli.command {
        Command::Demo(args) => demo::run(args, s, out)?,
        Command::Check(args) => check::run(args, s, out)?,
        Command::Dev(args) => dev::run(args, s, out)?,
        Command::Init(args) => init::run(args, s, out)?,
        Command::Start(args) => start::run(args, s, out)?,
        Command::Testnet(args) => testnet::run(args, s, out)?,
        Command::Keys(args) => keys::run(args, s, out)?,
        Command::Tx(args) => tx::run(args, s, out)?,
        Command::Query(args) => query::run(args, s, out)?,
        Command::Status(args) => status::run(args, s, out)?,
        Command::Sell(args) => sell::run(args, s, out)?,
        Command::Offer(args) => offer::run(args, s, out)?,
        Command::Buy(args) => buy::run(args, s, out)?,
        Command::Inbox(args) => inbox::run(args, s, out)?,
        Command::Purchase(args) => purchase::run(args, s, out)?,
        Command::Completions(args) => completions::run(args, out)?,
        Command::Man(args) => man::run(args, s, out)?,
    };
    Ok(ExitCode::from(code))
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
    fn home_is_accepted_before_or_after_any_subcommand() {
        let home = |args: &[&str]| -> Option<std::path::PathBuf> {
            let cli = Cli::try_parse_from(args).unwrap();
            match cli.command {
                Command::Keys(keys) => keys.home.home,
                Command::Dev(dev) => dev.home,
                _ => cli.home,
            }
        };
        let some = |p: &str| Some(std::path::PathBuf::from(p));
        assert_eq!(
            home(&["consign", "--home", "/a", "keys", "list"]),
            some("/a")
        );
        assert_eq!(
            home(&["consign", "keys", "--home", "/b", "list"]),
            some("/b")
        );
        assert_eq!(
            home(&["consign", "keys", "list", "--home", "/c"]),
            some("/c")
        );
        assert_eq!(home(&["consign", "--home", "/d", "dev"]), some("/d"));
        assert_eq!(home(&["consign", "dev", "--home", "/e"]), some("/e"));
        assert_eq!(
            home(&["consign", "--home", "/f", "keys", "age", "bob"]),
            some("/f")
        );
        assert_eq!(
            home(&["consign", "check", "a.wasm", "--home", "/g"]),
            some("/g")
        );
    }

    #[test]
    fn output_is_global() {
        let cli = Cli::try_parse_from(["consign", "check", "a.wasm", "--output", "json"]).unwrap();
        assert_eq!(cli.output, OutputFormat::Json);
    }
}

//! `consign offer create|show|list|register|withdraw`: a seller's offers in a data-sale
//! contract.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use consign_client::StorageClient;
use consign_market::{ExecuteMsg, QueryMsg};

use super::args::{parse_address, MarketArgs, NodeArgs};
use super::broadcast::{chain_id, sign_and_broadcast};
use super::market::{hash_file, query, OfferCreated, OfferFields};
use super::output::{print_json, print_result, report};
use super::{OutputFormat, Session, EXIT_OK, EXIT_REJECTED};

/// Long help of `consign offer`.
pub(super) const LONG_ABOUT: &str = "\
Sell data through a data-sale contract: create, show, list and withdraw offers.

An offer is public: anyone can read its price, the data's SHA-256 and size, its title,
description and terms, and the seller's address. The title is required and never taken from
the file's name. An offer never names or hints at where the data is stored; the storage node
learns of the offer privately (`consign sell` does both steps).

The contract is --contract ADDRESS, else $CONSIGN_CONTRACT.";

/// Examples for `consign offer --help`.
pub(super) const EXAMPLES: &str = "\
Examples:
  consign offer create weather.csv --price 5000ucsn --title 'Weather 2026' --from alice --contract $MARKET
  consign offer show 1 --contract $MARKET
  consign offer list --seller $(consign keys show alice -a) --active --contract $MARKET
  consign offer withdraw 1 --from alice --contract $MARKET";

/// `consign offer …`.
#[derive(Debug, Clone, Args)]
pub struct OfferArgs {
    /// Which node, contract and keyring, and how transactions are signed and broadcast.
    #[command(flatten)]
    pub market: MarketArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: OfferCommand,
}

/// The `consign offer` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum OfferCommand {
    /// Create an offer for a file: reads FILE only to compute its SHA-256 and size.
    #[command(
        long_about = "Create an offer whose content is FILE. The file is read once, to compute \
                      its SHA-256 and size, which go into the offer; the file itself goes nowhere \
                      (upload it to a storage node with `consign sell`, which also creates the \
                      offer). Prints the new offer's id, and warns on stderr that the offer \
                      cannot be delivered until it is registered with a storage node.\n\n\
                      PUBLIC on-chain, for anyone to read: the price, the SHA-256 and size, \
                      --title (required; the file's name is never used), --description, \
                      --terms, the expiry and the seller's address.",
        after_help = "Examples:\n  consign offer create data.csv --price 5000ucsn --title 'Daily prices' --from alice\n  consign offer create data.csv --price 5000ucsn --title T --terms 'personal use' --expires-in 30d --from alice"
    )]
    Create(CreateOffer),
    /// Show one offer.
    Show {
        /// The offer's id.
        id: u64,
    },
    /// List offers, all or one seller's, in id order.
    List {
        /// Only this seller's offers.
        #[arg(long, value_name = "ADDRESS", value_parser = parse_address)]
        seller: Option<String>,
        /// Only offers that can be purchased now.
        #[arg(long)]
        active: bool,
        /// Start after this offer id.
        #[arg(long, value_name = "ID")]
        start_after: Option<u64>,
        /// At most this many (the contract caps it at 100).
        #[arg(long, value_name = "N")]
        limit: Option<u32>,
    },
    /// Register an existing offer with a storage node that holds its content (as `consign sell`
    /// does after creating the offer): retries that step alone.
    Register(RegisterArgs),
    /// Withdraw an offer for good (its seller only); existing purchases are unaffected.
    Withdraw {
        /// The offer's id.
        id: u64,
        /// The seller's key.
        #[arg(long, value_name = "KEY")]
        from: String,
    },
}

/// `consign offer create`.
#[derive(Debug, Clone, Args)]
pub struct CreateOffer {
    /// The file offered.
    pub file: PathBuf,
    /// What the offer says.
    #[command(flatten)]
    pub fields: OfferFields,
}

/// `consign offer register`.
#[derive(Debug, Clone, Args)]
pub struct RegisterArgs {
    /// The offer's id.
    pub offer: u64,
    /// The offer's content, as uploaded: read to compute its digest.
    pub file: PathBuf,
    /// The storage node's URL.
    #[arg(long, value_name = "URL", env = "CONSIGN_STORAGE")]
    pub storage: String,
    /// The seller's key.
    #[arg(long, value_name = "KEY")]
    pub from: String,
}

/// Carries out `consign offer …`.
///
/// # Errors
///
/// If the file cannot be read, the node cannot be reached, or `out` cannot be written.
pub fn run(args: &OfferArgs, session: &Session, out: &mut impl Write) -> anyhow::Result<u8> {
    let contract = args.market.contract.address()?;
    let output = session.output;
    let execute = |from: &str, msg: ExecuteMsg| {
        sign_and_broadcast(
            session,
            &args.market.node,
            &args.market.options,
            from,
            vec![msg.to_msg(contract, vec![])],
        )
    };
    match &args.command {
        OfferCommand::Create(create) => {
            create.fields.title()?;
            let (sha256, size) = hash_file(&create.file)?;
            let msg = create
                .fields
                .create_msg(session, &args.market.node, &sha256, size)?;
            let outcome = execute(&create.fields.from, msg)?;
            report(outcome, output, out, |result, output, out| {
                let created = OfferCreated::from_result(result, contract, &sha256, size)?;
                created.print(output, out)?;
                warn_unregistered(created.offer_id, &create.file, &create.fields.from);
                Ok(())
            })
        }
        OfferCommand::Show { id } => query(
            session,
            &args.market.node,
            contract,
            &QueryMsg::offer(*id),
            out,
        ),
        OfferCommand::List {
            seller,
            active,
            start_after,
            limit,
        } => query(
            session,
            &args.market.node,
            contract,
            &QueryMsg::offers(seller.clone(), *active, *start_after, *limit),
            out,
        ),
        OfferCommand::Register(register) => {
            run_register(session, &args.market.node, contract, register, out)
        }
        OfferCommand::Withdraw { id, from } => {
            let outcome = execute(from, ExecuteMsg::withdraw_offer(*id))?;
            report(outcome, output, out, print_result)
        }
    }
}

/// Tells the seller (stderr) that an offer created alone cannot be delivered yet: no storage
/// node holds its content, so a buyer's payment would wait in escrow for a delivery that never
/// comes.
fn warn_unregistered(offer: u64, file: &std::path::Path, from: &str) {
    eprintln!(
        "warning: offer {offer} is not registered with a storage node, so it cannot be delivered \
         until it is: a buyer would pay into escrow and receive nothing. Upload {file} to a \
         storage node and register the offer there (`consign offer register {offer} {file} \
         --storage URL --from {from}` once the storage node holds the file); `consign sell` \
         uploads, creates and registers in one step.",
        file = file.display()
    );
}

/// Carries out `consign offer register`.
///
/// # Errors
///
/// If the file, the key or a node cannot be reached.
fn run_register(
    session: &Session,
    node: &NodeArgs,
    contract: &str,
    args: &RegisterArgs,
    out: &mut impl Write,
) -> anyhow::Result<u8> {
    let output = session.output;
    let key = node.home.signing_key(&args.from)?;
    let (sha256, _) = hash_file(&args.file)?;
    let storage = StorageClient::new(&args.storage)?;
    let chain_id = chain_id(session, node)?;
    match session.block_on(storage.register(contract, args.offer, &sha256, &chain_id, &key)) {
        Ok(receipt) => {
            match output {
                OutputFormat::Json => print_json(&receipt, output, out)?,
                OutputFormat::Text => writeln!(
                    out,
                    "offer {} of {} registered with {} (sha256 {})",
                    receipt.offer_id, receipt.contract, args.storage, receipt.sha256
                )?,
            }
            Ok(EXIT_OK)
        }
        Err(error) => {
            eprintln!("error: the storage node refused the registration: {error}");
            Ok(EXIT_REJECTED)
        }
    }
}

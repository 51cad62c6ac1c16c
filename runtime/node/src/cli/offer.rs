//! `consign offer create|show|list|register|withdraw`: a seller's offers in a data-sale
//! contract.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use consign_client::{SecretKey, StorageClient};
use consign_market::{ExecuteMsg, OfferResponse, OffersResponse, QueryMsg, DEFAULT_LIMIT};
use consign_util::size::format_size;

use super::args::{parse_address, ContractArg, NodeArgs, TxOptions};
use super::broadcast::{chain_id, sign_and_broadcast};
use super::market::{hash_file, OfferCreated, OfferFields};
use super::output::{
    coins_to_string, field, print_json, print_result, report, truncate, Align, BlockTime, Table,
};
use super::sell::pending::PendingPieces;
use super::sell::register::{register_retrying, RegisterTimeout, ToRegister};
use super::{OutputFormat, Session, EXIT_OK, EXIT_REJECTED};

/// Long help of `consign offer`.
pub(super) const LONG_ABOUT: &str = "\
Sell data through a data-sale contract: create, show, list and withdraw offers.

An offer is public: anyone can read its price, the data's SHA-256 and size, its title,
description and terms, and the seller's address. The title is required and never taken from
the file's name. An offer never names or hints at where the data is stored; the storage node
learns of the offer privately (`consign sell` does both steps).

The contract is --contract ADDRESS, else $CONSIGN_CONTRACT. `show` and `list` only read; `create`
and `withdraw` sign a transaction and take the transaction flags (--gas, --fees, …) after their
name.";

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
    /// Which node, and where the keyring is.
    #[command(flatten)]
    pub node: NodeArgs,
    /// Which contract.
    #[command(flatten)]
    pub contract: ContractArg,
    /// What to do.
    #[command(subcommand)]
    pub command: OfferCommand,
}

/// The `consign offer` subcommands. Only those that sign a transaction take [`TxOptions`], so
/// `show` and `list` do not list flags they would ignore.
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
    /// Show one offer: its public fields, prices and times readable.
    #[command(
        long_about = "Show one offer as `key: value` lines: title, price, size, SHA-256, file \
                      extension, seller, status (active, expired or withdrawn), when it was \
                      created and when it expires (local time), description and terms. With \
                      --output json, the contract's answer as it gave it (times in nanoseconds).",
        after_help = "Examples:\n  consign offer show 1 --contract $MARKET\n  consign --output json offer show 1 | jq -r .content_sha256"
    )]
    Show {
        /// The offer's id.
        id: u64,
    },
    /// List offers, all or one seller's, in id order, as a table.
    #[command(
        long_about = "List offers in id order as a table: id, title, price, size, status \
                      (active, expired or withdrawn) and when each was created, in local time. \
                      With --output json, the contract's answer: {\"offers\": [...]}. A page \
                      holds --limit offers (30 by default); pass the last id as --start-after \
                      for the next one.",
        after_help = "Examples:\n  consign offer list --contract $MARKET\n  consign offer list --seller $(consign keys show alice -a) --active\n  consign --output json offer list | jq '.offers[].id'"
    )]
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
    #[command(
        long_about = "Register an existing offer with the storage node that holds its content, \
                      as `consign sell` does after creating the offer: retries that step alone. \
                      The registration is signed with --from (the offer's seller) and sent to \
                      the storage node only, never to the chain; it is sent again with backoff \
                      while the node cannot be reached or answers 429 or 5xx, for up to \
                      --register-timeout.\n\n\
                      For an offer held k-of-n (`consign sell --threshold`), give neither FILE \
                      nor --storage: every piece that no node has taken yet was kept by `consign \
                      sell` in <home>/custody-pending/, its key share sealed to its node, and is \
                      registered with the node it was made for. What is taken is forgotten; \
                      what is not stays for the next try.",
        after_help = "Examples:\n  consign offer register 7 data.csv --storage http://127.0.0.1:7070 --from alice\n  consign offer register 8 --from alice   # the pieces of a k-of-n offer left unregistered"
    )]
    Register(RegisterArgs),
    /// Withdraw an offer for good (its seller only); existing purchases are unaffected.
    Withdraw {
        /// The offer's id.
        id: u64,
        /// The seller's key.
        #[arg(long, value_name = "KEY")]
        from: String,
        /// How to sign and broadcast.
        #[command(flatten)]
        tx: TxOptions,
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
    /// How to sign and broadcast.
    #[command(flatten)]
    pub tx: TxOptions,
}

/// `consign offer register`.
#[derive(Debug, Clone, Args)]
pub struct RegisterArgs {
    /// The offer's id.
    pub offer: u64,
    /// The offer's content, as uploaded: read to compute its digest (not for a k-of-n offer).
    pub file: Option<PathBuf>,
    /// The storage node's URL (not for a k-of-n offer: each piece goes to the node it was made
    /// for).
    #[arg(long, value_name = "URL", env = "CONSIGN_STORAGE")]
    pub storage: Option<String>,
    /// The seller's key.
    #[arg(long, value_name = "KEY")]
    pub from: String,
    /// How long the registration is retried.
    #[command(flatten)]
    pub register_timeout: RegisterTimeout,
}

/// Carries out `consign offer …`.
///
/// # Errors
///
/// If the file cannot be read, the node cannot be reached, or `out` cannot be written.
pub fn run(args: &OfferArgs, session: &Session, out: &mut impl Write) -> anyhow::Result<u8> {
    let contract = args.contract.address()?;
    let output = session.output;
    let execute = |from: &str, tx: &TxOptions, msg: ExecuteMsg| {
        sign_and_broadcast(
            session,
            &args.node,
            tx,
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
                .create_msg(session, &args.node, &sha256, size, None)?;
            let outcome = execute(&create.fields.from, &create.tx, msg)?;
            report(outcome, output, out, |result, output, out| {
                let created = OfferCreated::from_result(result, contract, &sha256, size)?;
                created.print(output, out)?;
                warn_unregistered(created.offer_id, &create.file, &create.fields.from);
                Ok(())
            })
        }
        OfferCommand::Show { id } => show(session, &args.node, contract, *id, out),
        OfferCommand::List {
            seller,
            active,
            start_after,
            limit,
        } => {
            let msg = QueryMsg::offers(seller.clone(), *active, *start_after, *limit);
            list(session, &args.node, contract, &msg, *limit, out)
        }
        OfferCommand::Register(register) => {
            run_register(session, &args.node, contract, register, out)
        }
        OfferCommand::Withdraw { id, from, tx } => {
            let outcome = execute(from, tx, ExecuteMsg::withdraw_offer(*id))?;
            report(outcome, output, out, print_result)
        }
    }
}

/// An offer's status as a buyer sees it now: `withdrawn`, `expired` (by this machine's clock)
/// or `active`.
fn status(offer: &OfferResponse) -> anyhow::Result<&'static str> {
    if offer.status == consign_market::OfferStatus::Withdrawn {
        return Ok("withdrawn");
    }
    match offer.expires {
        Some(expires) if BlockTime::new(expires)?.passed() => Ok("expired"),
        _ => Ok("active"),
    }
}

/// Carries out `consign offer show`: the contract's answer as JSON, or `key: value` lines.
///
/// # Errors
///
/// If the node cannot be reached, the offer does not exist (in the contract's words: `offer 42
/// does not exist`), or `out` cannot be written.
fn show(
    session: &Session,
    node: &NodeArgs,
    contract: &str,
    id: u64,
    out: &mut impl Write,
) -> anyhow::Result<u8> {
    let client = node.client()?;
    let answer: serde_json::Value =
        session.block_on(client.smart_query(contract, &QueryMsg::offer(id)))?;
    if session.output == OutputFormat::Json {
        print_json(&answer, session.output, out)?;
        return Ok(EXIT_OK);
    }
    let o: OfferResponse = serde_json::from_value(answer)
        .with_context(|| format!("unexpected answer for offer {id} from {contract}"))?;
    field(out, "offer", &o.id.to_string())?;
    field(out, "title", &o.title)?;
    field(out, "price", &coins_to_string(&o.price))?;
    field(
        out,
        "size",
        &format!("{} ({} bytes)", format_size(o.size), o.size),
    )?;
    field(out, "sha256", &o.content_sha256)?;
    let extension = match &o.extension {
        Some(extension) => extension.clone(),
        None => "none (buyers' inboxes save the data without one)".to_owned(),
    };
    field(out, "extension", &extension)?;
    field(out, "seller", o.seller.as_str())?;
    field(out, "status", status(&o)?)?;
    field(out, "created", &BlockTime::new(o.created)?.local())?;
    let expires = match o.expires {
        Some(expires) => BlockTime::new(expires)?.local(),
        None => "never".to_owned(),
    };
    field(out, "expires", &expires)?;
    if !o.description.is_empty() {
        field(out, "description", &o.description)?;
    }
    if !o.terms.is_empty() {
        field(out, "terms", &o.terms)?;
    }
    Ok(EXIT_OK)
}

/// Carries out `consign offer list`: the contract's answer as JSON, or a table.
///
/// # Errors
///
/// If the node cannot be reached, the contract does not answer, or `out` cannot be written.
fn list(
    session: &Session,
    node: &NodeArgs,
    contract: &str,
    msg: &QueryMsg,
    limit: Option<u32>,
    out: &mut impl Write,
) -> anyhow::Result<u8> {
    let client = node.client()?;
    let answer: serde_json::Value = session.block_on(client.smart_query(contract, msg))?;
    if session.output == OutputFormat::Json {
        print_json(&answer, session.output, out)?;
        return Ok(EXIT_OK);
    }
    let page: OffersResponse = serde_json::from_value(answer)
        .with_context(|| format!("unexpected answer to an offer listing from {contract}"))?;
    if page.offers.is_empty() {
        eprintln!(
            "no offers in {contract} match (sellers create them with `consign sell` or \
             `consign offer create`)"
        );
        return Ok(EXIT_OK);
    }
    let mut table = Table::new(&[
        ("ID", Align::Right),
        ("TITLE", Align::Left),
        ("PRICE", Align::Left),
        ("SIZE", Align::Right),
        ("STATUS", Align::Left),
        ("CREATED", Align::Left),
    ]);
    for o in &page.offers {
        table.row(vec![
            o.id.to_string(),
            truncate(&o.title, 40),
            coins_to_string(&o.price),
            format_size(o.size),
            status(o)?.to_owned(),
            BlockTime::new(o.created)?.local_short(),
        ]);
    }
    table.write(out)?;
    let shown = u32::try_from(page.offers.len()).unwrap_or(u32::MAX);
    if shown >= limit.unwrap_or(DEFAULT_LIMIT) {
        if let Some(last) = page.offers.last() {
            eprintln!(
                "more may follow: add --start-after {} for the next page",
                last.id
            );
        }
    }
    Ok(EXIT_OK)
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

/// Carries out `consign offer register`: the whole file's registration with `--storage`, or
/// the pieces of a k-of-n offer that this machine still keeps.
///
/// # Errors
///
/// If the file, the key or a node cannot be reached, or the arguments do not fit the offer.
fn run_register(
    session: &Session,
    node: &NodeArgs,
    contract: &str,
    args: &RegisterArgs,
    out: &mut impl Write,
) -> anyhow::Result<u8> {
    let key = node.home.signing_key(&args.from)?;
    let chain_id = chain_id(session, node)?;
    let offer: OfferResponse = session
        .block_on(
            node.client()?
                .smart_query(contract, &QueryMsg::offer(args.offer)),
        )
        .with_context(|| format!("cannot read offer {} from {contract}", args.offer))?;
    if let Some(custody) = &offer.custody {
        anyhow::ensure!(
            args.file.is_none() && args.storage.is_none(),
            "offer {} is held {} of {}: its pieces go to the nodes they were made for, from what              `consign sell` kept on this machine; give neither FILE nor --storage",
            args.offer,
            custody.k,
            custody.n
        );
        return register_pending(session, node, contract, args, &key, &custody.set_id, out);
    }
    let (Some(file), Some(storage_url)) = (&args.file, &args.storage) else {
        anyhow::bail!(
            "offer {} is held whole by one storage node: give the FILE it was made from and              --storage URL",
            args.offer
        );
    };
    let (sha256, _) = hash_file(file)?;
    let storage = StorageClient::new(storage_url)?;
    let registration = ToRegister {
        contract,
        offer_id: args.offer,
        sha256: &sha256,
        chain_id: &chain_id,
        key: &key,
        piece: None,
    };
    let timeout = args.register_timeout.duration;
    match session.block_on(register_retrying(
        &storage,
        storage_url,
        &registration,
        timeout,
    )) {
        Ok(receipt) => {
            match session.output {
                OutputFormat::Json => print_json(&receipt, session.output, out)?,
                OutputFormat::Text => writeln!(
                    out,
                    "offer {} of {} registered with {storage_url} (sha256 {})",
                    receipt.offer_id, receipt.contract, receipt.sha256
                )?,
            }
            Ok(EXIT_OK)
        }
        Err(error) => {
            eprintln!("error: the storage node did not take the registration: {error}");
            Ok(EXIT_REJECTED)
        }
    }
}

/// Registers the pieces of k-of-n custody set `set_id` that `consign sell` kept on this machine
/// for offer `args.offer`, and keeps those still not taken.
fn register_pending(
    session: &Session,
    node: &NodeArgs,
    contract: &str,
    args: &RegisterArgs,
    key: &SecretKey,
    set_id: &str,
    out: &mut impl Write,
) -> anyhow::Result<u8> {
    let home = node.home.dir()?;
    let Some(mut pending) = PendingPieces::load(&home, set_id)? else {
        anyhow::bail!(
            "no piece of offer {} is waiting in {}: `consign sell` registered every piece, or              ran with another --home. A key share no node took is gone for good: to restore the              offer's spares, withdraw it (`consign offer withdraw {}`) and sell again",
            args.offer,
            PendingPieces::path(&home, set_id)?.display(),
            args.offer
        );
    };
    anyhow::ensure!(
        pending.contract == contract,
        "the pieces kept for custody set {set_id} were made for contract {}, not {contract}",
        pending.contract
    );
    let pieces =
        session.block_on(pending.register(args.offer, key, args.register_timeout.duration));
    pending.save(&home)?;
    let all = pending.report(args.offer, &args.from, &pieces);
    match session.output {
        OutputFormat::Json => print_json(
            &serde_json::json!({
                "offer_id": args.offer,
                "k": pending.k,
                "n": pending.n,
                "storage": pieces,
                "registered": all,
            }),
            session.output,
            out,
        )?,
        OutputFormat::Text => writeln!(
            out,
            "offer {}: {} of {} pieces registered now, {} left",
            args.offer,
            pieces.iter().filter(|p| p.registered).count(),
            pieces.len(),
            pending.pieces.len()
        )?,
    }
    Ok(if all { EXIT_OK } else { EXIT_REJECTED })
}

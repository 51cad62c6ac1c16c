//! `consign query …`: read the chain through a node's HTTP API and print the answer's JSON.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use consign_client::{BlockId, NodeClient, TxHash};

use super::args::{parse_address, JsonArg, NodeArgs};
use super::output::print_json;
use super::rpc::{self, Endpoint};
use super::staking::{self, StakingQuery};
use super::{OutputFormat, Session, EXIT_OK};

/// Long help of `consign query`.
pub(super) const LONG_ABOUT: &str = "\
Query the chain through a node's HTTP API and print the answer's JSON: pretty-printed by default,
one compact line with --output json.

The node is --node URL, else $CONSIGN_NODE, else the URL `consign dev` wrote to <home>/api.url;
with none of them the command stops and says which home it looked in.";

/// Examples for `consign query --help`.
pub(super) const EXAMPLES: &str = "\
Examples:
  consign query bank balances $(consign keys show alice -a)
  consign query wasm contract-state smart $CONTRACT '{\"balance\":{\"address\":\"consign1...\"}}'
  consign q wasm list-code
  consign q wasm list-contract-by-code 1
  consign q wasm contract-state all $CONTRACT --limit 50
  consign query tx 9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08
  consign query deliveries --after 10 --wait 30
  consign --output json query block | jq .header.height";

/// `consign query …`.
///
/// `--keyring-backend` is accepted (it is global) but hidden from the help: reading the chain
/// signs nothing.
#[derive(Debug, Clone, Args)]
#[command(mut_arg("keyring_backend", |arg| arg.hide(true)))]
pub struct QueryArgs {
    /// Which node.
    #[command(flatten)]
    pub node: NodeArgs,

    /// What to query.
    #[command(subcommand)]
    pub command: QueryCommand,
}

/// The `consign query` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum QueryCommand {
    /// Query the bank: balances.
    #[command(subcommand)]
    Bank(BankQuery),
    /// Query codes, contracts and contract state.
    #[command(subcommand)]
    Wasm(WasmQuery),
    /// Query staking: validators, an account's delegations and rewards, its unbondings.
    #[command(subcommand)]
    Staking(StakingQuery),
    /// Show a committed transaction's result: height, code, log, gas, events, deliveries.
    #[command(
        long_about = "Show a committed transaction's result, as `consign tx … --output json` \
                      prints it: txhash, height, code (0 on success), log, gas_wanted, gas_used, \
                      events, and the code id, contract address and delivery records it made.",
        after_help = "Examples:\n  consign query tx 9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
    )]
    Tx {
        /// The transaction's hash: 64 hex characters, either case.
        hash: TxHash,
    },
    /// Show a committed block: header (height, time, hashes) and transaction hashes.
    #[command(
        long_about = "Show a committed block: its header (chain id, height, time, previous hash, \
                      transaction root, state hash), its hash and its transactions' hashes. \
                      Without HEIGHT, the latest block. --node may also be CometBFT's RPC \
                      address (tcp://127.0.0.1:26657, as wasmd takes it): the same block, read \
                      from the application through CometBFT.",
        after_help = "Examples:\n  consign query block\n  consign query block 42\n  consign query block 42 --node tcp://127.0.0.1:26657"
    )]
    Block {
        /// The block's height; the latest block if omitted.
        height: Option<u64>,
    },
    /// Read the delivery feed: committed delivery instructions in sequence order.
    #[command(
        long_about = "Read the delivery feed: the committed `consign_deliver` instructions with a \
                      sequence above --after, in order and without gaps, with the emitting \
                      contract, height, transaction and time. Prints {\"deliveries\": [...], \
                      \"next_after\": N}; pass N as --after to read on. With --wait, the node \
                      holds the request (up to 60 s) until there is at least one.",
        after_help = "Examples:\n  consign query deliveries\n  consign query deliveries --after 10 --limit 100 --wait 30"
    )]
    Deliveries {
        /// Return deliveries with a sequence above this one.
        #[arg(long, default_value_t = 0, value_name = "N")]
        after: u64,
        /// Return at most this many (the node's default if omitted).
        #[arg(long, value_name = "M")]
        limit: Option<u32>,
        /// Wait up to this long for a delivery: seconds, or a duration like `500ms` or `1m`.
        #[arg(long, value_name = "SECS", value_parser = parse_wait)]
        wait: Option<Duration>,
    },
    /// Show an account: its next sequence and public key.
    #[command(
        long_about = "Show an account: its address, the sequence its next transaction must carry \
                      (counting its transactions still waiting in the mempool) and its public \
                      key once it has sent a transaction.",
        after_help = "Examples:\n  consign query account $(consign keys show alice -a)"
    )]
    Account {
        /// The account's address, `consign1…`.
        #[arg(value_parser = parse_address)]
        address: String,
    },
}

/// `consign query bank …`.
#[derive(Debug, Clone, Subcommand)]
pub enum BankQuery {
    /// Show an address's balances in every denomination.
    #[command(
        long_about = "Show an address's non-zero balances in every denomination, as \
                      {\"balances\": [{\"denom\", \"amount\"}]}.",
        after_help = "Examples:\n  consign query bank balances consign1...\n  consign query bank balances $(consign keys show alice -a)"
    )]
    Balances {
        /// The address: an account or a contract.
        #[arg(value_parser = parse_address)]
        address: String,
    },
}

/// `--limit` and `--page-key`: one page of a list, as wasmd's pagination flags.
#[derive(Debug, Clone, Args)]
pub struct PageArgs {
    /// The most entries to return (the node's default is 100, its maximum 1000).
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
    /// Where the page starts: the `next_key` of the previous page's `pagination`.
    #[arg(long, value_name = "KEY")]
    pub page_key: Option<String>,
}

/// `consign query wasm …`.
#[derive(Debug, Clone, Subcommand)]
pub enum WasmQuery {
    /// List the stored codes: id, checksum, creator, size, height.
    #[command(
        visible_aliases = ["list-codes", "codes", "lco"],
        long_about = "List the stored codes in code id order, as wasmd's list-code: \
                      {\"code_infos\": [{code_id, checksum, creator, size, height}], \
                      \"pagination\": {\"next_key\"}}. A page holds --limit codes (100 by \
                      default); pass its next_key as --page-key for the next one.",
        after_help = "Examples:\n  consign query wasm list-code\n  consign query wasm list-code --limit 10 --page-key 10"
    )]
    ListCode {
        /// Which page.
        #[command(flatten)]
        page: PageArgs,
    },
    /// List the contracts running a code.
    #[command(
        visible_aliases = ["list-contracts-by-code", "list-contracts", "contracts", "lca"],
        long_about = "List the addresses of the contracts whose current code is CODE_ID, in \
                      address order, as wasmd's list-contract-by-code: {\"contracts\": [...], \
                      \"pagination\": {\"next_key\"}}. A page may hold fewer than --limit and \
                      still have a next_key (the node looks at 10,000 contracts a page).",
        after_help = "Examples:\n  consign query wasm list-contract-by-code 1\n  consign query wasm list-contract-by-code 1 --limit 10"
    )]
    ListContractByCode {
        /// The code id.
        code_id: u64,
        /// Which page.
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show a stored code's checksum, creator, size and height; optionally download it.
    #[command(
        visible_aliases = ["source-code", "source"],
        long_about = "Show a stored code: code id, checksum (SHA-256 of the wasm), creator, size \
                      and the height it was stored at. With --download FILE, also write the \
                      wasm to FILE.",
        after_help = "Examples:\n  consign query wasm code 1\n  consign query wasm code 1 --download cw20.wasm"
    )]
    Code {
        /// The code id.
        code_id: u64,
        /// Also write the wasm to this file.
        #[arg(long, value_name = "FILE")]
        download: Option<PathBuf>,
    },
    /// Show a contract's code id, creator, admin, label and creation height.
    #[command(
        visible_aliases = ["meta", "c"],
        long_about = "Show a contract instance: its address, current code id, creator, admin (if \
                      any), label and the height it was created at.",
        after_help = "Examples:\n  consign query wasm contract consign14hj2tavq8fpesdwxxcu44rty3hh90vhujrvcmstl4zr3txmfvw9sjmftvu"
    )]
    Contract {
        /// The contract's address.
        #[arg(value_parser = parse_address)]
        address: String,
    },
    /// Query a contract's state: with its own query messages, a raw storage key, or all of it.
    #[command(subcommand, visible_aliases = ["state", "cs", "s"])]
    ContractState(ContractStateQuery),
}

/// `consign query wasm contract-state …`.
#[derive(Debug, Clone, Subcommand)]
pub enum ContractStateQuery {
    /// Print a contract's whole storage, a page at a time.
    #[command(
        long_about = "Print the contract's storage in key order, as wasmd's contract-state all: \
                      {\"models\": [{\"key\": <hex>, \"value\": <base64>}], \"pagination\": \
                      {\"next_key\"}}. A page holds --limit entries (100 by default) and at most \
                      4 MiB; pass its next_key as --page-key for the next one.",
        after_help = "Examples:\n  consign query wasm contract-state all $CW20\n  consign --output json query wasm contract-state all $CW20 | jq -r '.models[].key'"
    )]
    All {
        /// The contract's address.
        #[arg(value_parser = parse_address)]
        address: String,
        /// Which page.
        #[command(flatten)]
        page: PageArgs,
    },
    /// Run a contract's query with a JSON message and print its answer.
    #[command(
        long_about = "Run the contract's `query` entry point with QUERY_JSON and print \
                      {\"data\": <its answer>}. The JSON is checked locally first, so a typo is \
                      reported with its line and column. A failing query prints the contract's \
                      error.",
        after_help = "Examples:\n  consign query wasm contract-state smart $CW20 '{\"token_info\":{}}'\n  consign query wasm contract-state smart $CW20 '{\"balance\":{\"address\":\"consign1...\"}}'"
    )]
    Smart {
        /// The contract's address.
        #[arg(value_parser = parse_address)]
        address: String,
        /// The query message, JSON.
        #[arg(value_name = "QUERY_JSON")]
        query: JsonArg,
    },
    /// Read one key of a contract's raw storage.
    #[command(
        long_about = "Read the value stored under KEY in the contract's storage and print \
                      {\"data\": <base64, or null if absent>}. KEY is hex by default; use \
                      --ascii for a text key such as a cw-storage-plus Item name.",
        after_help = "Examples:\n  consign query wasm contract-state raw $CW20 746f6b656e5f696e666f\n  consign query wasm contract-state raw $CW20 token_info --ascii"
    )]
    Raw {
        /// The contract's address.
        #[arg(value_parser = parse_address)]
        address: String,
        /// The storage key: hex, or text with --ascii.
        key: String,
        /// KEY is text, used as its UTF-8 bytes.
        #[arg(long)]
        ascii: bool,
    },
}

/// `--wait`: a number of seconds, or a humantime duration (`500ms`, `1m`).
fn parse_wait(text: &str) -> Result<Duration, String> {
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(text)
        .map_err(|e| format!("{e}; expected seconds (`30`) or a duration (`500ms`, `1m`)"))
}

/// A raw storage key from the command line.
fn parse_key(key: &str, ascii: bool) -> anyhow::Result<Vec<u8>> {
    if ascii {
        return Ok(key.as_bytes().to_vec());
    }
    hex::decode(key)
        .with_context(|| format!("storage key `{key}` is not hex; pass --ascii to use it as text"))
}

/// Carries out a `consign query` command.
///
/// # Errors
///
/// If the node cannot be reached or answers with an error (its message is passed on), a
/// downloaded file cannot be written, or `out` cannot be written.
pub fn run(args: &QueryArgs, session: &Session, out: &mut impl Write) -> anyhow::Result<u8> {
    if let QueryCommand::Block { height } = &args.command {
        if let Endpoint::Comet(comet) = rpc::endpoint(&args.node)? {
            let id = height.map_or(BlockId::Latest, BlockId::Height);
            let block = session.block_on(rpc::block(&comet, id))?;
            print_json(&block, session.output, out)?;
            return Ok(EXIT_OK);
        }
    }
    let node = args.node.client()?;
    session.block_on(query(&node, &args.command, session.output, out))?;
    Ok(EXIT_OK)
}

async fn query(
    node: &NodeClient,
    command: &QueryCommand,
    output: OutputFormat,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match command {
        QueryCommand::Bank(BankQuery::Balances { address }) => {
            let balances = node.balances(address).await?;
            print_json(&serde_json::json!({ "balances": balances }), output, out)
        }
        QueryCommand::Wasm(WasmQuery::Code { code_id, download }) => {
            let info = node.code(*code_id).await?;
            if let Some(file) = download {
                let wasm = node.code_wasm(*code_id).await?;
                std::fs::write(file, &wasm)
                    .with_context(|| format!("cannot write {}", file.display()))?;
                eprintln!(
                    "wrote code {code_id} ({} bytes) to {}",
                    wasm.len(),
                    file.display()
                );
            }
            print_json(&info, output, out)
        }
        QueryCommand::Wasm(WasmQuery::ListCode { page }) => print_json(
            &node.codes(page.limit, page.page_key.as_deref()).await?,
            output,
            out,
        ),
        QueryCommand::Wasm(WasmQuery::ListContractByCode { code_id, page }) => print_json(
            &node
                .contracts_by_code(*code_id, page.limit, page.page_key.as_deref())
                .await?,
            output,
            out,
        ),
        QueryCommand::Wasm(WasmQuery::ContractState(ContractStateQuery::All { address, page })) => {
            print_json(
                &node
                    .contract_state(address, page.limit, page.page_key.as_deref())
                    .await?,
                output,
                out,
            )
        }
        QueryCommand::Wasm(WasmQuery::Contract { address }) => {
            print_json(&node.contract(address).await?, output, out)
        }
        QueryCommand::Wasm(WasmQuery::ContractState(ContractStateQuery::Smart {
            address,
            query,
        })) => {
            let data = node
                .smart_query_raw(address, query.as_bytes().to_vec())
                .await?;
            print_json(&serde_json::json!({ "data": data }), output, out)
        }
        QueryCommand::Wasm(WasmQuery::ContractState(ContractStateQuery::Raw {
            address,
            key,
            ascii,
        })) => {
            let key = parse_key(key, *ascii)?;
            let data = node.raw_query(address, &key).await?;
            let data = data.map(consign_client::Binary::from);
            print_json(&serde_json::json!({ "data": data }), output, out)
        }
        QueryCommand::Tx { hash } => print_json(&node.tx(hash).await?, output, out),
        QueryCommand::Block { height } => {
            let id = height.map_or(BlockId::Latest, BlockId::Height);
            let block = match node.block(id).await {
                Err(error) => match rpc::comet_instead(&error) {
                    Some(comet) => rpc::block(&comet, id).await?,
                    None => return Err(error.into()),
                },
                found => found?,
            };
            print_json(&block, output, out)
        }
        QueryCommand::Deliveries { after, limit, wait } => {
            print_json(&node.deliveries(*after, *limit, *wait).await?, output, out)
        }
        QueryCommand::Account { address } => print_json(&node.account(address).await?, output, out),
        QueryCommand::Staking(command) => staking::query(node, command, output, out).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_takes_seconds_or_durations() {
        assert_eq!(parse_wait("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_wait("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_wait("soon").unwrap_err().contains("expected seconds"));
    }

    #[test]
    fn raw_keys_are_hex_unless_ascii() {
        assert_eq!(parse_key("00ff", false).unwrap(), vec![0, 255]);
        assert_eq!(parse_key("config", true).unwrap(), b"config".to_vec());
        let error = parse_key("config", false).unwrap_err();
        assert!(format!("{error:#}").contains("--ascii"), "{error:#}");
    }
}

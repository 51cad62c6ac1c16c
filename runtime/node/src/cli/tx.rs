//! `consign tx bank send` and `consign tx wasm store|instantiate|instantiate2|execute|migrate|…`:
//! build a transaction, sign it with a key from the keyring, broadcast it and report the result.
//! Also the argument parsers for coins, JSON messages, addresses and salts.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use consign_client::{
    validate_address, Binary, Broadcast, BroadcastMode, ClientError, Coin, Keyring, Msg, SecretKey,
    TxResult,
};
use serde::Serialize;

use super::query::{block_on, NodeArgs};
use super::{OutputFormat, EXIT_OK, EXIT_REJECTED};

/// The gas limit of a transaction when `--gas` is not given.
pub const DEFAULT_GAS: u64 = 2_000_000;

/// Gas per byte of uploaded wasm: the transaction's bytes (base64, so 4/3 of the wasm, at 10
/// gas a byte) plus storing the code (5 a byte), with room to spare.
const STORE_GAS_PER_BYTE: u64 = 25;

/// The gas limit used when `--gas` is not given.
fn default_gas(messages: &[Msg]) -> u64 {
    let wasm_bytes: u64 = messages
        .iter()
        .map(|m| match m {
            Msg::StoreCode { wasm } => wasm.len() as u64,
            _ => 0,
        })
        .sum();
    DEFAULT_GAS.saturating_add(STORE_GAS_PER_BYTE.saturating_mul(wasm_bytes))
}

/// Long help of `consign tx`.
pub(super) const LONG_ABOUT: &str = "\
Sign a transaction with a key from the keyring (<home>/keys) and broadcast it to a node.

By default the command waits until the transaction is committed in a block and prints its result:
the hash, height, code (0 on success), gas and what it created (code id, contract address,
delivery sequences); `--output json` prints the whole result as one JSON object. The exit status
is 1 if the node refused the transaction or it failed in the block, with the reason on stderr.

The account sequence is read from the node (counting transactions still in its mempool), and the
chain id from its status unless --chain-id is given.";

/// Examples for `consign tx --help`.
pub(super) const EXAMPLES: &str = "\
Examples:
  consign tx bank send alice $(consign keys show bob -a) 1000ucsn
  consign tx wasm store cw20_base.wasm --from alice
  consign tx wasm instantiate 1 '{\"name\":\"Token\",\"symbol\":\"TOK\",\"decimals\":6,\"initial_balances\":[]}' --label tok --from alice --no-admin
  consign tx wasm execute $CONTRACT '{\"transfer\":{\"recipient\":\"consign1...\",\"amount\":\"5\"}}' --from alice
  consign --output json tx wasm store contract.wasm --from alice | jq -r .code_id";

/// `consign tx …`.
#[derive(Debug, Clone, Args)]
pub struct TxArgs {
    /// Which node, and where the keyring is.
    #[command(flatten)]
    pub node: NodeArgs,

    /// How to sign and broadcast.
    #[command(flatten)]
    pub options: TxOptions,

    /// What to do.
    #[command(subcommand)]
    pub command: TxCommand,
}

/// The options every transaction takes.
#[derive(Debug, Clone, Args)]
pub struct TxOptions {
    /// The most gas the transaction may use; it fails (reverting everything) if it needs more.
    /// Default: 2,000,000, plus 25 per byte of uploaded wasm for `store`.
    #[arg(long, global = true, value_name = "N")]
    pub gas: Option<u64>,

    /// `commit`: wait until the transaction is in a block and print its result; `sync`: return
    /// once the node has accepted it into its mempool.
    #[arg(long, global = true, value_enum, default_value_t = BroadcastModeArg::Commit)]
    pub broadcast_mode: BroadcastModeArg,

    /// How long to wait for the commit (with `--broadcast-mode commit`).
    #[arg(long, global = true, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,

    /// The chain id to sign for [default: the node's, from its status]
    #[arg(long, global = true, value_name = "ID")]
    pub chain_id: Option<String>,
}

/// `--broadcast-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BroadcastModeArg {
    /// Return once the node has checked the transaction and put it in its mempool.
    Sync,
    /// Return once the transaction is committed in a block.
    Commit,
}

/// `--from`: the signing key.
#[derive(Debug, Clone, Args)]
pub struct FromArg {
    /// The key that signs and pays: its name in the keyring, or its address.
    #[arg(long, value_name = "KEY")]
    pub from: String,
}

/// The `consign tx` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum TxCommand {
    /// Bank transactions: send coins.
    #[command(subcommand)]
    Bank(BankTx),
    /// Contract transactions: store code, instantiate, execute, migrate, change admins.
    #[command(subcommand)]
    Wasm(WasmTx),
}

/// `consign tx bank …`.
#[derive(Debug, Clone, Subcommand)]
pub enum BankTx {
    /// Send coins from a key in the keyring to an address.
    #[command(
        long_about = "Send coins from FROM_KEY (a key name in the keyring, or its address) to \
                      TO_ADDRESS. AMOUNT is one or more coins separated by commas, each an integer \
                      followed by its denomination: `100ucsn` or `100ucsn,5foo`.",
        after_help = "Examples:\n  consign tx bank send alice consign1... 1000ucsn\n  consign tx bank send alice $(consign keys show bob -a) 100ucsn,5foo --broadcast-mode sync"
    )]
    Send {
        /// The sender: a key name in the keyring, or its address.
        #[arg(value_name = "FROM_KEY")]
        from: String,
        /// The recipient's address.
        #[arg(value_name = "TO_ADDRESS", value_parser = parse_address)]
        to: String,
        /// The coins: `100ucsn`, or several separated by commas.
        #[arg(value_name = "AMOUNT", value_parser = parse_coins)]
        amount: Coins,
    },
}

/// `consign tx wasm …`.
#[derive(Debug, Clone, Subcommand)]
pub enum WasmTx {
    /// Upload contract code; prints its new code id.
    #[command(
        long_about = "Upload a contract's wasm. The node runs the same checks as `consign check`; \
                      on success the result carries the new code id (`code_id` in JSON).",
        after_help = "Examples:\n  consign tx wasm store target/contracts/cw20_base.wasm --from alice\n  CODE_ID=$(consign --output json tx wasm store cw20_base.wasm --from alice | jq -r .code_id)"
    )]
    Store {
        /// The contract's wasm file.
        #[arg(value_name = "FILE.wasm")]
        file: PathBuf,
        /// The signer.
        #[command(flatten)]
        from: FromArg,
    },
    /// Create a contract from stored code; prints its address.
    #[command(
        long_about = "Create a contract instance from CODE_ID, calling its `instantiate` with \
                      MSG_JSON (checked locally first). --label is required. --admin sets who \
                      may migrate it (an address or a key name); without it, or with --no-admin, \
                      it has no admin and can never be migrated. The new address is \
                      `contract_address` in the result.",
        after_help = "Examples:\n  consign tx wasm instantiate 1 '{\"count\":0}' --label counter --from alice --no-admin\n  consign tx wasm instantiate 1 '{}' --label c --admin alice --amount 100ucsn --from alice"
    )]
    Instantiate {
        /// The code id.
        code_id: u64,
        /// The `InstantiateMsg`, JSON.
        #[arg(value_name = "MSG_JSON")]
        msg: JsonArg,
        /// How to create it.
        #[command(flatten)]
        options: InstantiateOptions,
    },
    /// Create a contract at a predictable address (from the code, the sender and a salt).
    #[command(
        long_about = "Like `instantiate`, but the address depends only on the code's checksum, \
                      the sender and --salt (hex, 1 to 64 bytes), as in wasmd's instantiate2, so \
                      it is known in advance.",
        after_help = "Examples:\n  consign tx wasm instantiate2 1 '{\"count\":0}' --salt 01 --label counter --from alice --no-admin"
    )]
    Instantiate2 {
        /// The code id.
        code_id: u64,
        /// The `InstantiateMsg`, JSON.
        #[arg(value_name = "MSG_JSON")]
        msg: JsonArg,
        /// The salt: 1 to 64 bytes, hex.
        #[arg(long, value_name = "HEX", value_parser = parse_salt)]
        salt: Binary,
        /// How to create it.
        #[command(flatten)]
        options: InstantiateOptions,
    },
    /// Call a contract's `execute` with a JSON message.
    #[command(
        long_about = "Call the contract's `execute` entry point with MSG_JSON (checked locally \
                      first), optionally sending it coins with --amount.",
        after_help = "Examples:\n  consign tx wasm execute $CONTRACT '{\"increment\":{}}' --from alice\n  consign tx wasm execute $CONTRACT '{\"buy\":{}}' --amount 100ucsn --from bob"
    )]
    Execute {
        /// The contract's address.
        #[arg(value_parser = parse_address)]
        contract: String,
        /// The `ExecuteMsg`, JSON.
        #[arg(value_name = "MSG_JSON")]
        msg: JsonArg,
        /// Coins to send to the contract with the call.
        #[arg(long, value_name = "COINS", value_parser = parse_coins)]
        amount: Option<Coins>,
        /// The signer.
        #[command(flatten)]
        from: FromArg,
    },
    /// Move a contract to new code and call its `migrate`; only its admin may.
    #[command(
        long_about = "Move the contract to NEW_CODE_ID and call its `migrate` entry point with \
                      MSG_JSON (checked locally first). Only the contract's admin may.",
        after_help = "Examples:\n  consign tx wasm migrate $CONTRACT 2 '{}' --from alice"
    )]
    Migrate {
        /// The contract's address.
        #[arg(value_parser = parse_address)]
        contract: String,
        /// The new code id.
        new_code_id: u64,
        /// The `MigrateMsg`, JSON.
        #[arg(value_name = "MSG_JSON")]
        msg: JsonArg,
        /// The signer: the contract's admin.
        #[command(flatten)]
        from: FromArg,
    },
    /// Give a contract a new admin; only its current admin may.
    #[command(
        long_about = "Make NEW_ADMIN (an address or a key name) the contract's admin, the one \
                      who may migrate it. Only its current admin may.",
        after_help = "Examples:\n  consign tx wasm set-contract-admin $CONTRACT bob --from alice"
    )]
    SetContractAdmin {
        /// The contract's address.
        #[arg(value_parser = parse_address)]
        contract: String,
        /// The new admin: an address, or a key name in the keyring.
        new_admin: String,
        /// The signer: the contract's current admin.
        #[command(flatten)]
        from: FromArg,
    },
    /// Remove a contract's admin, so it can never be migrated; only its admin may.
    #[command(
        long_about = "Remove the contract's admin, making it immutable: nobody can migrate it or \
                      set an admin afterwards. Only its current admin may.",
        after_help = "Examples:\n  consign tx wasm clear-contract-admin $CONTRACT --from alice"
    )]
    ClearContractAdmin {
        /// The contract's address.
        #[arg(value_parser = parse_address)]
        contract: String,
        /// The signer: the contract's current admin.
        #[command(flatten)]
        from: FromArg,
    },
}

/// The options of `instantiate` and `instantiate2`.
#[derive(Debug, Clone, Args)]
pub struct InstantiateOptions {
    /// A human-readable label for the contract.
    #[arg(long)]
    pub label: String,
    /// Who may migrate the contract: an address, or a key name in the keyring.
    #[arg(long, value_name = "ADDRESS", conflicts_with = "no_admin")]
    pub admin: Option<String>,
    /// No admin: the contract can never be migrated (the default without --admin).
    #[arg(long)]
    pub no_admin: bool,
    /// Coins to send to the new contract.
    #[arg(long, value_name = "COINS", value_parser = parse_coins)]
    pub amount: Option<Coins>,
    /// The signer.
    #[command(flatten)]
    pub from: FromArg,
}

/// Coins parsed from `100ucsn,5foo`: positive, sorted by denomination, each denomination once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coins(pub Vec<Coin>);

/// A JSON message from the command line: checked to be valid JSON, kept as written (numbers
/// beyond `u64` and key order are preserved exactly as the contract will see them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonArg(String);

impl JsonArg {
    /// The JSON text as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The JSON text's bytes, as sent to the contract.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// Parses coins: `AMOUNT DENOM` pairs such as `100ucsn`, separated by commas, as the Cosmos SDK
/// writes them. A denomination is 3 to 128 characters, a letter then letters, digits or
/// `/ : . _ -`.
///
/// # Errors
///
/// A message saying which coin is wrong and how, for an empty list, a missing amount or
/// denomination, a zero or too large amount, or a denomination given twice.
pub fn parse_coins(text: &str) -> Result<Coins, String> {
    const EXPECTED: &str = "expected coins like `100ucsn` or `100ucsn,5foo`";
    if text.trim().is_empty() {
        return Err(format!("no coins given; {EXPECTED}"));
    }
    let mut coins: Vec<Coin> = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        let digits = part.bytes().take_while(u8::is_ascii_digit).count();
        let (amount, denom) = part.split_at(digits);
        if amount.is_empty() {
            return Err(format!(
                "`{part}` has no amount before its denomination; {EXPECTED}"
            ));
        }
        if denom.is_empty() {
            return Err(format!(
                "`{part}` has no denomination after its amount (write `{part}ucsn` for the native token); {EXPECTED}"
            ));
        }
        if !valid_denom(denom) {
            return Err(format!(
                "`{denom}` in `{part}` is not a valid denomination: use 3 to 128 characters, a letter then letters, digits or `/:._-`; {EXPECTED}"
            ));
        }
        let coin = Coin {
            denom: denom.to_owned(),
            amount: amount
                .parse()
                .map_err(|_| format!("the amount in `{part}` is larger than 2^256 - 1"))?,
        };
        if coin.amount.is_zero() {
            return Err(format!("`{part}`: amounts must be positive"));
        }
        if coins.iter().any(|c| c.denom == denom) {
            return Err(format!(
                "`{denom}` appears twice in `{text}`; give each denomination once"
            ));
        }
        coins.push(coin);
    }
    coins.sort_by(|a, b| a.denom.cmp(&b.denom));
    Ok(Coins(coins))
}

fn valid_denom(denom: &str) -> bool {
    let mut bytes = denom.bytes();
    (3..=128).contains(&denom.len())
        && bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b':' | b'.' | b'_' | b'-'))
}

/// Checks that `text` is one JSON value.
///
/// # Errors
///
/// The parser's complaint with its line and column, the offending line, and a caret under the
/// column.
pub fn parse_json(text: &str) -> Result<JsonArg, String> {
    match serde_json::from_str::<serde::de::IgnoredAny>(text) {
        Ok(_) => Ok(JsonArg(text.to_owned())),
        Err(error) => {
            let line = text
                .lines()
                .nth(error.line().saturating_sub(1))
                .unwrap_or("");
            let caret = " ".repeat(line.chars().take(error.column().saturating_sub(1)).count());
            Err(format!(
                "not valid JSON: {error}\n  {line}\n  {caret}^\n(hint: quote the whole message in single quotes in the shell, and its keys and strings in double quotes)"
            ))
        }
    }
}

impl std::str::FromStr for JsonArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_json(text)
    }
}

/// Checks a bech32 address with this chain's prefix.
///
/// # Errors
///
/// The address error's message.
pub fn parse_address(text: &str) -> Result<String, String> {
    validate_address(text).map_err(|e| e.to_string())?;
    Ok(text.to_owned())
}

/// Parses an instantiate2 salt: 1 to 64 bytes, hex.
///
/// # Errors
///
/// If it is not hex or not 1 to 64 bytes.
pub fn parse_salt(text: &str) -> Result<Binary, String> {
    let bytes = hex::decode(text).map_err(|e| format!("the salt is not hex: {e}"))?;
    if !(1..=64).contains(&bytes.len()) {
        return Err(format!(
            "the salt is {} bytes; it must be 1 to 64 bytes (2 to 128 hex characters)",
            bytes.len()
        ));
    }
    Ok(Binary::from(bytes))
}

/// An address given directly, or the address of a key in the keyring.
fn resolve_address(keyring: &Keyring, name_or_address: &str) -> anyhow::Result<String> {
    if validate_address(name_or_address).is_ok() {
        return Ok(name_or_address.to_owned());
    }
    let key = keyring.get(name_or_address).with_context(|| {
        format!("`{name_or_address}` is neither a valid address nor a key in the keyring")
    })?;
    Ok(key.address())
}

/// The messages of a command, and who signs them.
fn build(command: &TxCommand, keyring: &Keyring) -> anyhow::Result<(String, Vec<Msg>)> {
    let json = |msg: &JsonArg| Binary::from(msg.as_bytes());
    let funds = |amount: &Option<Coins>| amount.as_ref().map(|c| c.0.clone()).unwrap_or_default();
    let admin = |options: &InstantiateOptions| {
        options
            .admin
            .as_deref()
            .map(|a| resolve_address(keyring, a))
            .transpose()
    };
    Ok(match command {
        TxCommand::Bank(BankTx::Send { from, to, amount }) => (
            from.clone(),
            vec![Msg::BankSend {
                to: to.clone(),
                amount: amount.0.clone(),
            }],
        ),
        TxCommand::Wasm(WasmTx::Store { file, from }) => {
            let wasm = std::fs::read(file)
                .with_context(|| format!("cannot read the contract {}", file.display()))?;
            (
                from.from.clone(),
                vec![Msg::StoreCode { wasm: wasm.into() }],
            )
        }
        TxCommand::Wasm(WasmTx::Instantiate {
            code_id,
            msg,
            options,
        }) => (
            options.from.from.clone(),
            vec![Msg::Instantiate {
                code_id: *code_id,
                msg: json(msg),
                funds: funds(&options.amount),
                label: options.label.clone(),
                admin: admin(options)?,
            }],
        ),
        TxCommand::Wasm(WasmTx::Instantiate2 {
            code_id,
            msg,
            salt,
            options,
        }) => (
            options.from.from.clone(),
            vec![Msg::Instantiate2 {
                code_id: *code_id,
                msg: json(msg),
                funds: funds(&options.amount),
                label: options.label.clone(),
                admin: admin(options)?,
                salt: salt.clone(),
            }],
        ),
        TxCommand::Wasm(WasmTx::Execute {
            contract,
            msg,
            amount,
            from,
        }) => (
            from.from.clone(),
            vec![Msg::Execute {
                contract: contract.clone(),
                msg: json(msg),
                funds: funds(amount),
            }],
        ),
        TxCommand::Wasm(WasmTx::Migrate {
            contract,
            new_code_id,
            msg,
            from,
        }) => (
            from.from.clone(),
            vec![Msg::Migrate {
                contract: contract.clone(),
                code_id: *new_code_id,
                msg: json(msg),
            }],
        ),
        TxCommand::Wasm(WasmTx::SetContractAdmin {
            contract,
            new_admin,
            from,
        }) => (
            from.from.clone(),
            vec![Msg::UpdateAdmin {
                contract: contract.clone(),
                new_admin: resolve_address(keyring, new_admin)?,
            }],
        ),
        TxCommand::Wasm(WasmTx::ClearContractAdmin { contract, from }) => (
            from.from.clone(),
            vec![Msg::ClearAdmin {
                contract: contract.clone(),
            }],
        ),
    })
}

/// What a refused transaction prints with `--output json`, in the shape of a result.
#[derive(Serialize)]
struct Refusal<'a> {
    txhash: Option<String>,
    code: u32,
    log: &'a str,
}

/// Carries out a `consign tx` command: returns [`EXIT_OK`], or [`EXIT_REJECTED`] (with the
/// reason on stderr) if the node refused the transaction or it failed in its block.
///
/// # Errors
///
/// If the signing key or a file cannot be read, the node cannot be reached or answers with an
/// error other than a refusal, or `out` cannot be written.
pub fn run(args: &TxArgs, output: OutputFormat, out: &mut impl Write) -> anyhow::Result<u8> {
    let keyring = args.node.home.keyring()?;
    let (from, messages) = build(&args.command, &keyring)?;
    let outcome = sign_and_broadcast(&args.node, &args.options, &from, messages)?;
    report(outcome, output, out, print_result)
}

/// Signs `messages` with the keyring's `from` key and broadcasts them as `options` say: the
/// chain id from the node unless given, the gas limit from `--gas` or [`default_gas`].
///
/// # Errors
///
/// If the key cannot be read, or the node cannot be reached.
pub(super) fn sign_and_broadcast(
    node: &NodeArgs,
    options: &TxOptions,
    from: &str,
    messages: Vec<Msg>,
) -> anyhow::Result<Result<Broadcast, ClientError>> {
    let key: SecretKey = node
        .home
        .keyring()?
        .get(from)
        .with_context(|| format!("cannot sign with `{from}`"))?
        .secret_key()
        .clone();
    let client = node.client()?;
    let mode = match options.broadcast_mode {
        BroadcastModeArg::Sync => BroadcastMode::Sync,
        BroadcastModeArg::Commit => BroadcastMode::Commit {
            timeout: options.timeout,
        },
    };
    block_on(async {
        let chain_id = match &options.chain_id {
            Some(id) => id.clone(),
            None => client.status().await?.chain_id,
        };
        let gas = options.gas.unwrap_or_else(|| default_gas(&messages));
        client
            .sign_and_broadcast(&key, &chain_id, messages, gas, mode)
            .await
    })
}

/// Reports a broadcast's outcome: a committed success through `on_success`; a failure in the
/// block or a refusal on stderr (and, with `--output json`, as JSON on stdout); a transaction
/// only accepted into the mempool by its hash. Returns the exit status.
///
/// # Errors
///
/// If the node could not be reached or answered with an error other than a refusal, or `out`
/// cannot be written.
pub(super) fn report<W: Write>(
    outcome: Result<Broadcast, ClientError>,
    output: OutputFormat,
    out: &mut W,
    on_success: impl FnOnce(&TxResult, OutputFormat, &mut W) -> anyhow::Result<()>,
) -> anyhow::Result<u8> {
    match outcome {
        Ok(Broadcast::Committed(result)) if result.code == 0 => {
            on_success(&result, output, out)?;
            Ok(EXIT_OK)
        }
        Ok(Broadcast::Committed(result)) => {
            print_result(&result, output, out)?;
            eprintln!(
                "error: transaction {} failed in block {} (code {}): {}",
                result.txhash, result.height, result.code, result.log
            );
            Ok(EXIT_REJECTED)
        }
        Ok(Broadcast::Checked(check)) => {
            match output {
                OutputFormat::Json => writeln!(out, "{}", serde_json::to_string(&check)?)?,
                OutputFormat::Text => writeln!(
                    out,
                    "txhash: {}\naccepted into the mempool; see the result with `consign query tx {}`",
                    check.txhash, check.txhash
                )?,
            }
            Ok(EXIT_OK)
        }
        Err(ClientError::Refused {
            message,
            code,
            txhash,
        }) => {
            if output == OutputFormat::Json {
                let refusal = Refusal {
                    txhash: txhash.map(|h| h.to_string()),
                    code,
                    log: &message,
                };
                writeln!(out, "{}", serde_json::to_string(&refusal)?)?;
            }
            let hash = txhash.map(|h| format!(" {h}")).unwrap_or_default();
            eprintln!("error: transaction{hash} refused by the node (code {code}): {message}");
            Ok(EXIT_REJECTED)
        }
        Err(error) => Err(error.into()),
    }
}

/// Prints a committed result: the whole [`TxResult`] as one JSON object, or a short summary.
pub(super) fn print_result(
    result: &TxResult,
    output: OutputFormat,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if output == OutputFormat::Json {
        writeln!(out, "{}", serde_json::to_string(result)?)?;
        return Ok(());
    }
    writeln!(out, "txhash: {}", result.txhash)?;
    writeln!(out, "height: {}", result.height)?;
    if result.code == 0 {
        writeln!(out, "code: 0 (ok)")?;
    } else {
        writeln!(out, "code: {} (failed)", result.code)?;
        writeln!(out, "log: {}", result.log)?;
    }
    writeln!(
        out,
        "gas: {} used of {}",
        result.gas_used, result.gas_wanted
    )?;
    if let Some(code_id) = result.code_id {
        writeln!(out, "code_id: {code_id}")?;
    }
    if let Some(address) = &result.contract_address {
        writeln!(out, "contract_address: {address}")?;
    }
    if !result.deliveries.is_empty() {
        let sequences: Vec<String> = result
            .deliveries
            .iter()
            .map(|d| d.sequence.to_string())
            .collect();
        writeln!(out, "deliveries: {}", sequences.join(", "))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coin(amount: u128, denom: &str) -> Coin {
        Coin::new(amount, denom)
    }

    #[test]
    fn coins_parse_and_sort() {
        assert_eq!(parse_coins("100ucsn"), Ok(Coins(vec![coin(100, "ucsn")])));
        assert_eq!(
            parse_coins("1ucsn, 2foo"),
            Ok(Coins(vec![coin(2, "foo"), coin(1, "ucsn")]))
        );
        assert_eq!(
            parse_coins("340282366920938463463374607431768211455ibc/27A6394C3F9FF9C9DCF5DFFADF9BB5FE9A37C7E92B006199894CF1824DF9AC7C"),
            Ok(Coins(vec![coin(u128::MAX, "ibc/27A6394C3F9FF9C9DCF5DFFADF9BB5FE9A37C7E92B006199894CF1824DF9AC7C")]))
        );
        let max = parse_coins(
            "115792089237316195423570985008687907853269984665640564039457584007913129639935ucsn",
        )
        .unwrap();
        assert_eq!(max.0[0].amount.to_string().len(), 78);
    }

    #[test]
    fn bad_coins_say_what_is_wrong() {
        let cases = [
            ("", "no coins given"),
            ("ucsn", "has no amount"),
            (
                "100",
                "has no denomination after its amount (write `100ucsn`",
            ),
            ("100 ucsn", "is not a valid denomination"),
            ("100u", "is not a valid denomination"),
            ("0ucsn", "must be positive"),
            ("1ucsn,2ucsn", "appears twice"),
            ("1ucsn,", "no amount"),
            (
                "115792089237316195423570985008687907853269984665640564039457584007913129639936ucsn",
                "larger than 2^256 - 1",
            ),
            ("-5ucsn", "has no amount"),
        ];
        for (input, expected) in cases {
            let error = parse_coins(input).unwrap_err();
            assert!(error.contains(expected), "{input:?}: {error}");
        }
    }

    #[test]
    fn json_messages_are_kept_as_written() {
        let text = r#"{"transfer": {"amount": "5", "big": 340282366920938463463374607431768211455, "b": 1, "a": 2}}"#;
        assert_eq!(parse_json(text).unwrap().as_str(), text);
        assert!(parse_json(r#""unit_variant""#).is_ok());
    }

    #[test]
    fn bad_json_points_at_the_problem() {
        let error = parse_json("{\"transfer\": {amount: 5}}").unwrap_err();
        assert!(
            error.contains("key must be a string at line 1 column 15"),
            "{error}"
        );
        assert!(
            error.contains("\n  {\"transfer\": {amount: 5}}\n                ^\n"),
            "{error}"
        );
        let error = parse_json("{\"a\": 1,\n \"b\": }").unwrap_err();
        assert!(error.contains("line 2 column 7"), "{error}");
        assert!(error.contains("\n   \"b\": }\n        ^\n"), "{error}");
        let error = parse_json("{} {}").unwrap_err();
        assert!(error.contains("trailing characters"), "{error}");
        assert!(parse_json("").unwrap_err().contains("EOF"));
    }

    #[test]
    fn salts_are_1_to_64_bytes_of_hex() {
        assert_eq!(parse_salt("01ff").unwrap(), Binary::from(vec![1, 255]));
        assert!(parse_salt("").unwrap_err().contains("0 bytes"));
        assert!(parse_salt(&"00".repeat(65))
            .unwrap_err()
            .contains("65 bytes"));
        assert!(parse_salt("xyz").unwrap_err().contains("not hex"));
    }

    #[test]
    fn addresses_are_checked() {
        let alice = SecretKey::from_seed("alice").address();
        assert_eq!(parse_address(&alice), Ok(alice.clone()));
        assert!(parse_address("cosmos1xyz").is_err());
        assert!(parse_address(&alice.to_uppercase())
            .unwrap_err()
            .contains("lowercase"));
    }
}

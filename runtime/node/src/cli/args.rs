//! The argument groups several commands share: where the home and the node are (`--home`,
//! `--node`), which contract (`--contract`), how a transaction is signed and broadcast (`--gas`,
//! `--broadcast-mode`, …), and the parsers of coins, JSON messages, addresses and salts.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use consign_client::{
    validate_address, Binary, BroadcastMode, Coin, GasPrice, Keyring, KeyringBackend, NodeClient,
    NodePool, SecretKey,
};

/// The home directory's default, under `$HOME`.
const DEFAULT_HOME_DIR: &str = ".consign";

/// `--home` and `--keyring-backend`: where the keyrings (`<home>/keys`, `<home>/keyring-file`)
/// and `consign dev`'s files (`<home>/api.url`, …) live, and which keyring to use.
#[derive(Debug, Clone, Args)]
pub struct HomeArgs {
    /// The home directory: the keyrings are `<home>/keys` (test) and `<home>/keyring-file`
    /// (file), and `consign dev` writes its API URL to `<home>/api.url` [default: $HOME/.consign]
    #[arg(long, global = true, value_name = "DIR", env = "CONSIGN_HOME")]
    pub home: Option<PathBuf>,

    /// Which keyring holds the keys, as wasmd's --keyring-backend. Each keeps its own keys.
    #[arg(long, global = true, value_enum, value_name = "BACKEND", default_value_t = KeyringBackendArg::Test, env = "CONSIGN_KEYRING_BACKEND")]
    pub keyring_backend: KeyringBackendArg,
}

/// `--keyring-backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyringBackendArg {
    /// Secret keys in plaintext files readable by their owner only, in <home>/keys: for
    /// development chains (`consign dev` puts its dev keys here).
    Test,
    /// Secret keys encrypted with a passphrase (age, scrypt) in <home>/keyring-file, for real
    /// keys; the passphrase is asked on the terminal, or read from $CONSIGN_KEYRING_PASSPHRASE
    /// (or a line of standard input) in scripts.
    File,
}

impl KeyringBackendArg {
    /// The keyring backend it names.
    pub fn backend(self) -> KeyringBackend {
        match self {
            Self::Test => KeyringBackend::Test,
            Self::File => KeyringBackend::File,
        }
    }
}

impl HomeArgs {
    /// The home directory `home` (`None`: `$CONSIGN_HOME`'s or `$HOME/.consign`), with the
    /// other settings of this group at their defaults: what a command that takes its own `--home`
    /// (`consign dev`) uses to find the same places.
    pub fn new(home: Option<PathBuf>) -> Self {
        Self {
            home,
            keyring_backend: KeyringBackendArg::Test,
        }
    }

    /// The home directory: `--home`, else `$CONSIGN_HOME`, else `$HOME/.consign` (as
    /// `consign dev` chooses it).
    ///
    /// # Errors
    ///
    /// If none is given and `$HOME` is not set.
    pub fn dir(&self) -> anyhow::Result<PathBuf> {
        if let Some(home) = &self.home {
            return Ok(home.clone());
        }
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .context("HOME is not set: give the home directory with --home DIR or CONSIGN_HOME")?;
        Ok(PathBuf::from(home).join(DEFAULT_HOME_DIR))
    }

    /// The keyring `--keyring-backend` names: `<home>/keys` (test) or `<home>/keyring-file`
    /// (file, asking for its passphrase as [`super::prompt::keyring_passphrase`] does, only
    /// when a secret key is read or written).
    ///
    /// # Errors
    ///
    /// As [`HomeArgs::dir`].
    pub fn keyring(&self) -> anyhow::Result<Keyring> {
        let backend = self.keyring_backend.backend();
        let dir = self.dir()?.join(backend.dir_name());
        Ok(match backend {
            KeyringBackend::File => Keyring::file(dir, super::prompt::keyring_passphrase),
            _ => Keyring::new(dir),
        })
    }

    /// The secret key `from` (a name in the keyring, or its address) signs with.
    ///
    /// # Errors
    ///
    /// As [`HomeArgs::dir`], and if the keyring has no such key or it cannot be read.
    pub fn signing_key(&self, from: &str) -> anyhow::Result<SecretKey> {
        Ok(self
            .keyring()?
            .get(from)
            .with_context(|| format!("cannot sign with `{from}`"))?
            .secret_key()
            .clone())
    }

    /// The file of the age identity `name`: `<home>/age/NAME.agekey`.
    ///
    /// # Errors
    ///
    /// As [`HomeArgs::dir`], and for a name that is not 1 to 64 ASCII letters, digits, `-`, `_`
    /// or `.` (not starting with `.`).
    pub fn age_key(&self, name: &str) -> anyhow::Result<PathBuf> {
        let valid = (1..=64).contains(&name.len())
            && !name.starts_with('.')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        anyhow::ensure!(
            valid,
            "invalid age key name `{name}`: use 1 to 64 ASCII letters, digits, `-`, `_` or `.`, not starting with `.`"
        );
        Ok(self
            .dir()?
            .join(AGE_DIR)
            .join(format!("{name}.{AGE_EXTENSION}")))
    }
}

/// The directory of age identities in the home directory.
pub const AGE_DIR: &str = "age";
/// The extension of age identity files made by `consign keys age`.
pub const AGE_EXTENSION: &str = "agekey";

/// The file in the home directory where `consign dev` writes its API URL.
pub const API_URL_FILE: &str = "api.url";

/// `--node` and `--home`: which node to talk to, and where the keyring is.
#[derive(Debug, Clone, Args)]
pub struct NodeArgs {
    /// The node's API URL [default: the URL in <home>/api.url, written by a running
    /// `consign dev --home <home>`]. `consign inbox` takes it several times (comma-separated
    /// in $CONSIGN_NODE): full nodes of one chain, asked in turn when one fails. `consign
    /// status` and `consign query block` also take CometBFT's RPC address
    /// (tcp://127.0.0.1:26657, as wasmd does)
    #[arg(
        long,
        global = true,
        value_name = "URL",
        value_delimiter = ',',
        env = "CONSIGN_NODE"
    )]
    pub node: Vec<String>,

    /// The home directory.
    #[command(flatten)]
    pub home: HomeArgs,
}

impl NodeArgs {
    /// The node URL and where it came from: `--node`/`$CONSIGN_NODE`, else the first line of
    /// `<home>/api.url`. There is no fallback address: a command that guessed one would talk
    /// to whatever listens there, or say the node is not running when it runs with another home.
    ///
    /// # Errors
    ///
    /// If no URL is given and `<home>/api.url` does not exist (the message names the home and
    /// says how to start a node there or pass `--node`), is empty, or cannot be read.
    pub fn node_url(&self) -> anyhow::Result<(String, Option<PathBuf>)> {
        match self.node.as_slice() {
            [] => {}
            [node] => return Ok((node.clone(), None)),
            many => anyhow::bail!(
                "{} node URLs were given (--node or $CONSIGN_NODE), but this command talks to \
                 one node: give one. Only `consign inbox` uses several, failing over between \
                 them",
                many.len()
            ),
        }
        let home = self.home.dir()?;
        let file = home.join(API_URL_FILE);
        match std::fs::read_to_string(&file) {
            Ok(text) => {
                let url = text.lines().next().unwrap_or("").trim().to_owned();
                anyhow::ensure!(
                    !url.is_empty(),
                    "{} is empty: it should hold the URL of the `consign dev` running with home \
                     {}; restart that node, or pass --node URL",
                    file.display(),
                    home.display()
                );
                Ok((url, Some(file)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(anyhow::anyhow!(
                "no node to talk to: no --node was given, CONSIGN_NODE is not set, and no node \
                 is running with home {home} ({file} does not exist). Start one with \
                 `consign dev --home {home}` (it writes that file while it runs), or pass \
                 --node URL (or set CONSIGN_NODE) for a node elsewhere",
                home = home.display(),
                file = file.display(),
            )),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", file.display())),
        }
    }

    /// A client of the node.
    ///
    /// # Errors
    ///
    /// As [`NodeArgs::node_url`], and if the URL is not an `http(s)://` URL; a `tcp://` one
    /// is CometBFT's RPC, which only `consign status` and `consign query block` read.
    pub fn client(&self) -> anyhow::Result<NodeClient> {
        let (url, file) = self.node_url()?;
        if super::rpc::is_rpc_address(&url) {
            return Err(consign_client::ClientError::CometRpc { url }.into());
        }
        tracing::debug!(target: "cli::node", url, from_file = ?file, "node URL");
        NodeClient::new(&url).map_err(|error| match file {
            Some(file) => anyhow::anyhow!(
                "{error} (read from {}, written by `consign dev`)",
                file.display()
            ),
            None => anyhow::anyhow!("{error} (given by --node or $CONSIGN_NODE)"),
        })
    }

    /// Clients of every node given (`--node` repeated), used as one [`NodePool`] that fails
    /// over between them; the one node of [`NodeArgs::client`] when one or none is given.
    ///
    /// # Errors
    ///
    /// As [`NodeArgs::client`], for each URL.
    pub fn pool(&self) -> anyhow::Result<NodePool> {
        if self.node.len() > 1 {
            return NodePool::new(&self.node)
                .map_err(|error| anyhow::anyhow!("{error} (given by --node or $CONSIGN_NODE)"));
        }
        self.client().map(NodePool::from)
    }
}

/// `--contract`: the data-sale contract.
#[derive(Debug, Clone, Args)]
pub struct ContractArg {
    /// The data-sale contract's address.
    #[arg(long, global = true, value_name = "ADDRESS", env = "CONSIGN_CONTRACT", value_parser = parse_address)]
    pub contract: Option<String>,
}

impl ContractArg {
    /// The contract's address.
    ///
    /// # Errors
    ///
    /// If none was given.
    pub fn address(&self) -> anyhow::Result<&str> {
        self.contract
            .as_deref()
            .context("no data-sale contract given: pass --contract ADDRESS or set CONSIGN_CONTRACT")
    }
}

/// What every command of a data-sale contract's parties takes: the node and home, the contract,
/// and how its transactions are signed and broadcast.
#[derive(Debug, Clone, Args)]
pub struct MarketArgs {
    /// Which node, and where the keyring is.
    #[command(flatten)]
    pub node: NodeArgs,
    /// Which contract.
    #[command(flatten)]
    pub contract: ContractArg,
    /// How to sign and broadcast.
    #[command(flatten)]
    pub options: TxOptions,
}

/// The options every transaction takes.
#[derive(Debug, Clone, Args)]
pub struct TxOptions {
    /// The most gas the transaction may use; it fails (reverting everything) if it needs more.
    /// `auto`: simulate it on the node first and use the gas it used times --gas-adjustment (a
    /// transaction the simulation says would fail is not broadcast). Default: 10,000,000 when a
    /// message runs a contract (instantiate, execute, migrate), else 2,000,000; plus 25 per byte
    /// of uploaded wasm for `store`.
    #[arg(long, global = true, value_name = "N|auto", value_parser = super::broadcast::parse_gas)]
    pub gas: Option<super::broadcast::Gas>,

    /// With `--gas auto`: the factor the simulated gas is multiplied by, for room if the state
    /// changes before the transaction is committed (the Cosmos SDK's default is 1.0; wasmd's
    /// guides pass 1.3).
    #[arg(long, global = true, value_name = "FACTOR", default_value_t = super::broadcast::DEFAULT_GAS_ADJUSTMENT, value_parser = super::broadcast::parse_gas_adjustment)]
    pub gas_adjustment: f64,

    /// The account sequence to sign with [default: the account's next one, from the node,
    /// counting its transactions still in the mempool]. Consign has no account numbers.
    #[arg(long, global = true, value_name = "N")]
    pub sequence: Option<u64>,

    /// Accepted for wasmd scripts (skip the confirmation prompt): Consign never asks before it
    /// signs and broadcasts, so this changes nothing.
    #[arg(long, short = 'y', global = true)]
    pub yes: bool,

    /// How to broadcast.
    #[command(flatten)]
    pub broadcast: BroadcastOptions,

    /// The chain id to sign for [default: the node's, from its status]
    #[arg(long, global = true, value_name = "ID")]
    pub chain_id: Option<String>,

    /// The fee to pay, e.g. `5000ucsn`: taken from the sender's balance before the transaction
    /// runs and kept even if it fails. [default: the gas limit times the node's minimum gas
    /// price (from its status), nothing when that is zero]
    #[arg(long, global = true, value_name = "COINS", value_parser = parse_coins, conflicts_with = "gas_prices")]
    pub fees: Option<Coins>,

    /// Pay the gas limit times this price, rounded up, e.g. `0.025ucsn` (instead of `--fees`).
    #[arg(long, global = true, value_name = "PRICE")]
    pub gas_prices: Option<GasPrice>,
}

impl TxOptions {
    /// How the client broadcasts: `--broadcast-mode`, with `--timeout` for a commit.
    pub fn mode(&self) -> BroadcastMode {
        self.broadcast.mode()
    }
}

/// How a signed transaction is broadcast: every transaction command's, and all that
/// `consign tx broadcast` takes.
#[derive(Debug, Clone, Args)]
pub struct BroadcastOptions {
    /// `commit`: wait until the transaction is in a block and print its result; `sync`: return
    /// once the node has accepted it into its mempool.
    #[arg(long, global = true, value_enum, default_value_t = BroadcastModeArg::Commit)]
    pub broadcast_mode: BroadcastModeArg,

    /// How long to wait for the commit (with `--broadcast-mode commit`).
    #[arg(long, global = true, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

impl BroadcastOptions {
    /// How the client broadcasts: `--broadcast-mode`, with `--timeout` for a commit.
    pub fn mode(&self) -> BroadcastMode {
        match self.broadcast_mode {
            BroadcastModeArg::Sync => BroadcastMode::Sync,
            BroadcastModeArg::Commit => BroadcastMode::Commit {
                timeout: self.timeout,
            },
        }
    }
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

/// A size of at least one byte, in any unit `consign_util::size` reads: `1MiB`, `256MiB`,
/// `2GiB`, `1000` (bytes).
///
/// # Errors
/// When the text is no size, or zero.
pub fn parse_size(text: &str) -> Result<u64, String> {
    match consign_util::size::parse_size(text) {
        Ok(0) => Err("the size must be at least one byte".into()),
        Ok(size) => Ok(size),
        Err(error) => Err(error.to_string()),
    }
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

    #[test]
    fn node_url_prefers_flag_then_api_url_file_and_never_guesses() {
        let home = tempfile::tempdir().unwrap();
        let args = |node: Option<&str>| NodeArgs {
            node: node.map(str::to_owned).into_iter().collect(),
            home: HomeArgs::new(Some(home.path().to_owned())),
        };
        let error = args(None).node_url().unwrap_err().to_string();
        let shown = home.path().display().to_string();
        assert!(
            error.contains(&format!("no node is running with home {shown}")),
            "{error}"
        );
        assert!(
            error.contains(&format!("consign dev --home {shown}")),
            "{error}"
        );
        assert!(error.contains("--node URL"), "{error}");
        let file = home.path().join(API_URL_FILE);
        std::fs::write(&file, "\n").unwrap();
        let error = args(None).node_url().unwrap_err().to_string();
        assert!(error.contains("is empty"), "{error}");
        std::fs::write(&file, "http://127.0.0.1:40001\n").unwrap();
        assert_eq!(
            args(None).node_url().unwrap(),
            ("http://127.0.0.1:40001".to_owned(), Some(file))
        );
        assert_eq!(
            args(Some("http://10.0.0.1:1")).node_url().unwrap(),
            ("http://10.0.0.1:1".to_owned(), None)
        );
        // Several are for `consign inbox`; any other command says so.
        let several = NodeArgs {
            node: vec!["http://10.0.0.1:1".into(), "http://10.0.0.2:1".into()],
            home: HomeArgs::new(Some(home.path().to_owned())),
        };
        let error = several.node_url().unwrap_err().to_string();
        assert!(error.contains("Only `consign inbox`"), "{error}");
        assert_eq!(several.pool().unwrap().len(), 2);
        assert_eq!(args(None).pool().unwrap().len(), 1);
    }
}

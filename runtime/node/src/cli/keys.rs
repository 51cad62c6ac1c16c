//! `consign keys add|list|show`: the development keyring in `<home>/keys`, one JSON file per
//! key, like `wasmd`'s `test` keyring backend. Also [`HomeArgs`], the `--home` option every
//! command that touches the home directory shares.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use consign_client::{KeyInfo, Keyring};

use super::{OutputFormat, EXIT_OK};

/// The home directory's default, under `$HOME`.
const DEFAULT_HOME_DIR: &str = ".consign";

/// `--home`: where the keyring (`<home>/keys`) and `consign dev`'s files (`<home>/api.url`, …)
/// live.
#[derive(Debug, Clone, Args)]
pub struct HomeArgs {
    /// The home directory: the keyring is `<home>/keys`, and `consign dev` writes its API URL to
    /// `<home>/api.url` [default: $HOME/.consign]
    #[arg(long, global = true, value_name = "DIR", env = "CONSIGN_HOME")]
    pub home: Option<PathBuf>,
}

impl HomeArgs {
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

    /// The keyring in `<home>/keys`.
    ///
    /// # Errors
    ///
    /// As [`HomeArgs::dir`].
    pub fn keyring(&self) -> anyhow::Result<Keyring> {
        Ok(Keyring::new(self.dir()?.join("keys")))
    }
}

/// Long help of `consign keys`.
pub(super) const LONG_ABOUT: &str = "\
Manage the local keyring: secp256k1 account keys kept in <home>/keys, one JSON file per key.

Like wasmd's `test` keyring backend, the secret keys are stored unencrypted (files readable by
their owner only): this keyring is for development chains. `consign dev` puts its funded dev
keys (alice, bob, carol, dave) here. Transactions name their signer with `--from NAME` (or the
key's address).";

/// Examples for `consign keys --help`.
pub(super) const EXAMPLES: &str = "\
Examples:
  consign keys add mykey
  consign keys list
  consign keys show alice --address
  consign --output json keys list | jq -r '.[].address'
  consign keys list --home /tmp/devnet";

/// `consign keys …`.
#[derive(Debug, Clone, Args)]
pub struct KeysArgs {
    /// The home directory.
    #[command(flatten)]
    pub home: HomeArgs,

    /// What to do.
    #[command(subcommand)]
    pub command: KeysCommand,
}

/// The `consign keys` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum KeysCommand {
    /// Create a new random key under a name and print its address.
    #[command(
        long_about = "Create a new random key under NAME and print its name, address and public \
                      key.\n\nThe key is written to <home>/keys/NAME.json, unencrypted and \
                      readable by its owner only. An existing key of that name is never replaced.",
        after_help = "Examples:\n  consign keys add mykey\n  consign --output json keys add mykey | jq -r .address"
    )]
    Add {
        /// The key's name: 1 to 64 ASCII letters, digits, `-`, `_` or `.`.
        name: String,
    },
    /// List the keys in the keyring with their addresses.
    #[command(
        long_about = "List every key in <home>/keys, sorted by name: its name, address and public \
                      key. Never prints secret keys.",
        after_help = "Examples:\n  consign keys list\n  consign --output json keys list"
    )]
    List,
    /// Show one key's name, address and public key.
    #[command(
        long_about = "Show the key with this name (or address): its name, address and public key. \
                      With --address, only the address, for scripts. Never prints the secret key.",
        after_help = "Examples:\n  consign keys show alice\n  ALICE=$(consign keys show alice -a)"
    )]
    Show {
        /// The key's name, or its address.
        name: String,

        /// Print only the address.
        #[arg(long, short = 'a')]
        address: bool,
    },
}

/// Carries out a `consign keys` command, writing to `out`.
///
/// # Errors
///
/// The keyring's errors (name taken, no such key, an unreadable or damaged key file), or a
/// failure to write `out`.
pub fn run(args: &KeysArgs, output: OutputFormat, out: &mut impl Write) -> anyhow::Result<u8> {
    let keyring = args.home.keyring()?;
    match &args.command {
        KeysCommand::Add { name } => {
            let key = keyring.add(name)?;
            tracing::info!(target: "cli::keys", name, dir = %keyring.dir().display(), "key added");
            print_key(&key.info(), output, out)?;
        }
        KeysCommand::List => {
            let keys: Vec<KeyInfo> = keyring.list()?.iter().map(|k| k.info()).collect();
            match output {
                OutputFormat::Json => writeln!(out, "{}", serde_json::to_string(&keys)?)?,
                OutputFormat::Text if keys.is_empty() => writeln!(
                    out,
                    "no keys in {}; add one with `consign keys add NAME`",
                    keyring.dir().display()
                )?,
                OutputFormat::Text => {
                    let width = keys.iter().map(|k| k.name.len()).max().unwrap_or(0);
                    for key in &keys {
                        writeln!(out, "{:<width$}  {}", key.name, key.address)?;
                    }
                }
            }
        }
        KeysCommand::Show { name, address } => {
            let key = keyring
                .get(name)
                .with_context(|| format!("cannot show key `{name}`"))?;
            if *address {
                match output {
                    OutputFormat::Json => {
                        writeln!(out, "{}", serde_json::json!({ "address": key.address() }))?;
                    }
                    OutputFormat::Text => writeln!(out, "{}", key.address())?,
                }
            } else {
                print_key(&key.info(), output, out)?;
            }
        }
    }
    Ok(EXIT_OK)
}

fn print_key(key: &KeyInfo, output: OutputFormat, out: &mut impl Write) -> anyhow::Result<()> {
    match output {
        OutputFormat::Json => writeln!(out, "{}", serde_json::to_string(key)?)?,
        OutputFormat::Text => writeln!(
            out,
            "name: {}\naddress: {}\npublic_key: {}",
            key.name, key.address, key.public_key
        )?,
    }
    Ok(())
}

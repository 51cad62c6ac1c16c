//! `consign keys add|list|show`: the development keyring in `<home>/keys`, one JSON file per
//! key, like `wasmd`'s `test` keyring backend; `consign keys age`: the buyer's age identities in
//! `<home>/age`, in the `age-keygen` file format.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use clap::{Args, Subcommand};
use consign_client::{AgeIdentity, KeyInfo};
use serde::Serialize;

use super::args::HomeArgs;
use super::{OutputFormat, Session, EXIT_OK};

/// Long help of `consign keys`.
pub(super) const LONG_ABOUT: &str = "\
Manage the local keyring: secp256k1 account keys kept in <home>/keys, one JSON file per key.

Like wasmd's `test` keyring backend, the secret keys are stored unencrypted (files readable by
their owner only): this keyring is for development chains. `consign dev` puts its funded dev
keys (alice, bob, carol, dave) here. Transactions name their signer with `--from NAME` (or the
key's address).

`consign keys age NAME` makes a buyer's age identity instead: the key deliveries are encrypted
to, kept in <home>/age/NAME.agekey in the age-keygen format.";

/// Examples for `consign keys --help`.
pub(super) const EXAMPLES: &str = "\
Examples:
  consign keys add mykey
  consign keys list
  consign keys show alice --address
  consign --output json keys list | jq -r '.[].address'
  consign keys list --home /tmp/devnet
  RECIPIENT=$(consign keys age bob)        # a buyer's age identity; prints its age1… recipient";

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
    /// Create a buyer's age identity (or --show one) and print its recipient, age1…
    #[command(long_about = AGE_LONG_ABOUT, after_help = AGE_EXAMPLES)]
    Age {
        /// The identity's name: 1 to 64 ASCII letters, digits, `-`, `_` or `.`.
        name: String,

        /// Print the recipient of the existing identity NAME instead of creating one.
        #[arg(long)]
        show: bool,
    },
}

/// Long help of `consign keys age`.
const AGE_LONG_ABOUT: &str = "\
Create a buyer's age identity: an X25519 key pair in the age format (https://age-encryption.org).
Deliveries are encrypted to its public half, the recipient (age1…), which you give to
`consign buy --recipient`; `consign inbox --age-key NAME` decrypts them with the secret half.

The identity is written to <home>/age/NAME.agekey, readable by its owner only, in exactly the
format `age-keygen` writes, so `age -d -i <home>/age/NAME.agekey` opens a delivery too, and a
file made by `age-keygen` works with `consign inbox --identity FILE`. An existing identity is
never replaced. Prints the recipient on stdout (alone, so `$(consign keys age NAME)` captures
it); --show prints the recipient of an existing identity.";

/// Examples for `consign keys age --help`.
const AGE_EXAMPLES: &str = "\
Examples:
  consign keys age bob
  consign buy 1 --deliver-to http://203.0.113.7:8080/ --recipient $(consign keys age bob --show) --from bob
  consign inbox --age-key bob --out ~/Downloads --confirm --from bob
  consign --output json keys age bob --show | jq -r .recipient";

/// What `consign keys age` prints with `--output json`.
#[derive(Debug, Serialize)]
struct AgeKeyInfo<'a> {
    name: &'a str,
    file: &'a Path,
    recipient: String,
    created: bool,
}

/// Carries out a `consign keys` command, writing to `out`.
///
/// # Errors
///
/// The keyring's errors (name taken, no such key, an unreadable or damaged key file), or a
/// failure to write `out`.
pub fn run(args: &KeysArgs, session: &Session, out: &mut impl Write) -> anyhow::Result<u8> {
    let output = session.output;
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
        KeysCommand::Age { name, show } => age_key(&args.home, name, *show, output, out)?,
    }
    Ok(EXIT_OK)
}

/// `consign keys age NAME [--show]`.
fn age_key(
    home: &HomeArgs,
    name: &str,
    show: bool,
    output: OutputFormat,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let file = home.age_key(name)?;
    let identity = if show {
        AgeIdentity::load(&file).with_context(|| {
            format!("cannot show age identity `{name}`; create it with `consign keys age {name}`")
        })?
    } else {
        if file.exists() {
            anyhow::bail!(
                "age identity `{name}` already exists in {}; it is never replaced (see its recipient with `consign keys age {name} --show`)",
                file.display()
            );
        }
        let dir = file.parent().context("an age key file has a directory")?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let identity = AgeIdentity::generate();
        identity.save_new(&file)?;
        tracing::info!(target: "cli::keys", name, file = %file.display(), "age identity created");
        identity
    };
    let info = AgeKeyInfo {
        name,
        file: &file,
        recipient: identity.recipient(),
        created: !show,
    };
    match output {
        OutputFormat::Json => writeln!(out, "{}", serde_json::to_string(&info)?)?,
        OutputFormat::Text => {
            writeln!(out, "{}", info.recipient)?;
            if !show {
                eprintln!(
                    "age identity `{name}` written to {} (keep it private); give the recipient above to `consign buy --recipient`",
                    file.display()
                );
            }
        }
    }
    Ok(())
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

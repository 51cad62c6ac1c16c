//! `consign keys add|list|show|delete|export|import`: the account keys, in the keyring
//! `--keyring-backend` names (`test`: `<home>/keys`, plaintext files, like wasmd's `test`
//! backend; `file`: `<home>/keyring-file`, encrypted with a passphrase); `consign keys age`: the
//! buyer's age identities in `<home>/age`, in the `age-keygen` file format.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use consign_client::{
    decrypt_secret_key, encrypt_secret_key, AgeIdentity, ExposeSecret, KeyFile, KeyInfo, Keyring,
    Mnemonic, SecretKey, ARMOR_BEGIN, COSMOS_HD_PATH,
};
use serde::Serialize;

use super::args::HomeArgs;
use super::prompt::{self, EXPORT_PASSPHRASE_ENV};
use super::{OutputFormat, Session, EXIT_OK};

/// Long help of `consign keys`.
pub(super) const LONG_ABOUT: &str = "\
Manage the account keys (secp256k1) that sign transactions, and buyers' age identities.

Two keyrings, chosen with --keyring-backend as in wasmd, each with its own keys:
  test (the default)  secret keys in plaintext files readable by their owner only, in
                      <home>/keys: for development chains. `consign dev` puts its funded dev
                      keys (alice, bob, carol, dave) here.
  file                secret keys encrypted with the keyring's passphrase (age, scrypt), in
                      <home>/keyring-file: for keys that hold real value. The passphrase is
                      asked on the terminal when a secret key is needed (twice when the first
                      key is added); scripts set CONSIGN_KEYRING_PASSPHRASE or pipe it as a line
                      of standard input. Names, addresses and public keys stay readable without
                      it, so `list` and `show` never ask.

`keys add` derives a new key from a fresh 24-word BIP-39 mnemonic and prints the mnemonic once
(on stderr; in the JSON with --output json): write it down, it is the only way to recover the
key. `keys add --recover` takes a mnemonic written by wasmd, Keplr or cosmjs and derives the same
key on the Cosmos path m/44'/118'/0'/0/0, so the same account (the same 20 address bytes, shown
as consign1…). Transactions name their signer with `--from NAME` (or the key's address).

`consign keys age NAME` makes a buyer's age identity instead: the key deliveries are encrypted
to, kept in <home>/age/NAME.agekey in the age-keygen format.";

/// Examples for `consign keys --help`.
pub(super) const EXAMPLES: &str = "\
Examples:
  consign keys add mykey                    # prints the mnemonic on stderr: write it down
  consign keys add mykey --recover          # type a wasmd/Keplr mnemonic (not echoed)
  consign keys list
  consign keys show alice --address
  consign keys delete mykey
  consign keys export mykey > mykey.age     # encrypted with a passphrase you choose
  consign keys import mykey2 mykey.age
  consign keys add vault --keyring-backend file
  consign --output json keys list | jq -r '.[].address'
  RECIPIENT=$(consign keys age bob)        # a buyer's age identity; prints its age1… recipient";

/// Long help of `consign keys add`.
const ADD_LONG_ABOUT: &str = "\
Create a key under NAME and print its name, address and public key.

Without --recover, the key is derived from a new 24-word BIP-39 mnemonic (as `wasmd keys add`
does), and the mnemonic is printed once: on stderr in text mode, as the `mnemonic` field with
--output json. Write it down: with it the key can be recovered here, in wasmd or in Keplr.
--no-backup creates the key without showing a mnemonic.

With --recover, the mnemonic (12 to 24 words) is read on the terminal without echo, or from the
first line of standard input when it is piped; it is never taken from the command line, where
shell history and `ps` would keep it. The key is derived along --hd-path, by default the Cosmos
SDK's m/44'/118'/0'/0/0: the account wasmd, Keplr and cosmjs derive, with the same address bytes
(shown with the consign1 prefix).

In the file keyring the key is encrypted with the keyring's passphrase (asked, or
CONSIGN_KEYRING_PASSPHRASE); with --recover and piped input, the mnemonic is the first line and
the passphrase the second. An existing key of that name is never replaced.";

/// Examples for `consign keys add --help`.
const ADD_EXAMPLES: &str = "\
Examples:
  consign keys add mykey
  consign keys add mykey --recover
  consign keys add mykey --recover --hd-path \"m/44'/118'/0'/0/1\"
  consign --output json keys add mykey | jq -r .mnemonic
  CONSIGN_KEYRING_PASSPHRASE=… consign keys add vault --keyring-backend file --recover < mnemonic.txt";

/// Long help of `consign keys delete`.
const DELETE_LONG_ABOUT: &str = "\
Delete the key NAME (or with this address) from the keyring --keyring-backend names.

Asks for confirmation first (an answer of y on the terminal, or a piped line `y`); --yes (-y)
skips the question, for scripts. The key file is removed: the key can only come back from its
mnemonic or an export (`consign keys export`).";

/// Long help of `consign keys export`.
const EXPORT_LONG_ABOUT: &str = "\
Print the secret key of NAME, encrypted, on stdout: armoured age encrypted with a passphrase
you choose (asked twice on the terminal, or CONSIGN_EXPORT_PASSPHRASE), which `consign keys
import` reads back (here or on another machine) and `age -d` opens too.

--unarmored-hex --unsafe prints the secret key itself as 64 hex characters instead, for tools
that need it; anyone who sees it controls the account, so both flags are required. The secret
key is never logged. A key in the file keyring needs the keyring's passphrase to be exported.";

/// Examples for `consign keys export --help`.
const EXPORT_EXAMPLES: &str = "\
Examples:
  consign keys export mykey > mykey.age
  CONSIGN_EXPORT_PASSPHRASE=… consign keys export mykey > mykey.age
  consign keys export mykey --unarmored-hex --unsafe";

/// Long help of `consign keys import`.
const IMPORT_LONG_ABOUT: &str = "\
Store the key in FILE under NAME. FILE is what `consign keys export` printed (armoured age,
decrypted with its passphrase: asked, or CONSIGN_EXPORT_PASSPHRASE), a key file of a test
keyring (<home>/keys/NAME.json), or a secret key as 64 hex characters. In the file keyring the
key is then encrypted with the keyring's passphrase. An existing key of that name is never
replaced.";

/// Examples for `consign keys import --help`.
const IMPORT_EXAMPLES: &str = "\
Examples:
  consign keys import mykey mykey.age
  consign keys import vault ~/.consign/keys/alice.json --keyring-backend file";

/// `consign keys …`.
#[derive(Debug, Clone, Args)]
pub struct KeysArgs {
    /// The home directory and the keyring backend.
    #[command(flatten)]
    pub home: HomeArgs,

    /// What to do.
    #[command(subcommand)]
    pub command: KeysCommand,
}

/// The `consign keys` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum KeysCommand {
    /// Create a key (from a new mnemonic, or --recover one) and print its address.
    #[command(long_about = ADD_LONG_ABOUT, after_help = ADD_EXAMPLES)]
    Add {
        /// The key's name: 1 to 64 ASCII letters, digits, `-`, `_` or `.`.
        name: String,

        /// Derive the key from an existing BIP-39 mnemonic, read on the terminal (not echoed) or
        /// from standard input's first line.
        #[arg(long)]
        recover: bool,

        /// The BIP-32 path the key is derived along.
        #[arg(long, value_name = "PATH", default_value = COSMOS_HD_PATH)]
        hd_path: String,

        /// Do not print the new key's mnemonic (the key cannot then be recovered if its file is
        /// lost).
        #[arg(long, conflicts_with = "recover")]
        no_backup: bool,
    },
    /// List the keys in the keyring with their addresses.
    #[command(
        long_about = "List every key in the keyring --keyring-backend names, sorted by name: its \
                      name, address and public key. Never prints secret keys, and never needs \
                      the file keyring's passphrase.",
        after_help = "Examples:\n  consign keys list\n  consign keys list --keyring-backend file\n  consign --output json keys list"
    )]
    List,
    /// Show one key's name, address and public key.
    #[command(
        long_about = "Show the key with this name (or address): its name, address and public key. \
                      With --address, only the address, for scripts. Never prints the secret key, \
                      and never needs the file keyring's passphrase.",
        after_help = "Examples:\n  consign keys show alice\n  ALICE=$(consign keys show alice -a)"
    )]
    Show {
        /// The key's name, or its address.
        name: String,

        /// Print only the address.
        #[arg(long, short = 'a')]
        address: bool,
    },
    /// Delete a key from the keyring, after asking (or with --yes).
    #[command(
        long_about = DELETE_LONG_ABOUT,
        after_help = "Examples:\n  consign keys delete mykey\n  consign keys delete mykey -y"
    )]
    Delete {
        /// The key's name, or its address.
        name: String,

        /// Delete without asking.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Print a key's secret key, encrypted with a passphrase (or, with --unarmored-hex --unsafe, in hex).
    #[command(long_about = EXPORT_LONG_ABOUT, after_help = EXPORT_EXAMPLES)]
    Export {
        /// The key's name, or its address.
        name: String,

        /// Print the secret key unencrypted, as 64 hex characters (requires --unsafe).
        #[arg(long)]
        unarmored_hex: bool,

        /// Confirm that the secret key may be printed unencrypted.
        #[arg(long = "unsafe")]
        unsafe_: bool,
    },
    /// Store a key from a file: a `keys export`, a test keyring's key file, or hex.
    #[command(long_about = IMPORT_LONG_ABOUT, after_help = IMPORT_EXAMPLES)]
    Import {
        /// The name to store the key under.
        name: String,

        /// The file holding the key.
        file: PathBuf,
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

/// What `consign keys add` prints with `--output json`: the key, and its new mnemonic unless
/// it was recovered or `--no-backup` was given (as `wasmd keys add --output json`).
#[derive(Debug, Serialize)]
struct AddedKey<'a> {
    #[serde(flatten)]
    key: &'a KeyInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    mnemonic: Option<String>,
}

/// What `consign keys export --output json` prints.
#[derive(Debug, Serialize)]
struct ExportedKey<'a> {
    name: &'a str,
    address: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    armored: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_key_hex: Option<&'a str>,
}

/// Carries out a `consign keys` command, writing to `out`.
///
/// # Errors
///
/// The keyring's errors (name taken, no such key, an unreadable or damaged key file, a wrong or
/// missing passphrase), an invalid mnemonic or file to import, a declined deletion, or a
/// failure to write `out`.
pub fn run(args: &KeysArgs, session: &Session, out: &mut impl Write) -> anyhow::Result<u8> {
    let output = session.output;
    let keyring = args.home.keyring()?;
    match &args.command {
        KeysCommand::Add {
            name,
            recover,
            hd_path,
            no_backup,
        } => add(&keyring, name, *recover, hd_path, *no_backup, output, out)?,
        KeysCommand::List => {
            let keys = keyring.list()?;
            match output {
                OutputFormat::Json => writeln!(out, "{}", serde_json::to_string(&keys)?)?,
                // An empty list is no lines on stdout; the hint is for the person (stderr).
                OutputFormat::Text if keys.is_empty() => eprintln!(
                    "no keys in the {} keyring at {}; add one with `consign keys add NAME`",
                    keyring.backend(),
                    keyring.dir().display()
                ),
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
                .info(name)
                .with_context(|| format!("cannot show key `{name}`"))?;
            if *address {
                match output {
                    OutputFormat::Json => {
                        writeln!(out, "{}", serde_json::json!({ "address": key.address }))?;
                    }
                    OutputFormat::Text => writeln!(out, "{}", key.address)?,
                }
            } else {
                print_key(&key, output, out)?;
            }
        }
        KeysCommand::Delete { name, yes } => delete(&keyring, name, *yes, output, out)?,
        KeysCommand::Export {
            name,
            unarmored_hex,
            unsafe_,
        } => export(&keyring, name, *unarmored_hex, *unsafe_, output, out)?,
        KeysCommand::Import { name, file } => {
            let secret_key = read_key_file(file)?;
            let key = keyring
                .import(name, secret_key)
                .with_context(|| format!("cannot import the key in {}", file.display()))?;
            tracing::info!(target: "cli::keys", name, backend = %keyring.backend(), "key imported");
            print_key(&key.info(), output, out)?;
        }
        KeysCommand::Age { name, show } => age_key(&args.home, name, *show, output, out)?,
    }
    Ok(EXIT_OK)
}

/// `consign keys add NAME [--recover] [--hd-path PATH] [--no-backup]`.
fn add(
    keyring: &Keyring,
    name: &str,
    recover: bool,
    hd_path: &str,
    no_backup: bool,
    output: OutputFormat,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    // Before asking for anything: a taken or invalid name must not cost a mnemonic.
    let path = keyring.path_of(name)?;
    if path.exists() {
        anyhow::bail!(
            "a key named `{name}` already exists in the {} keyring ({}); choose another name, or \
             `consign keys delete {name}` first if you mean to replace it",
            keyring.backend(),
            path.display()
        );
    }
    let mnemonic = if recover {
        let phrase = prompt::secret("Enter your BIP-39 mnemonic")
            .context("cannot read the mnemonic to recover")?;
        Mnemonic::parse(phrase.expose_secret())?
    } else {
        Mnemonic::generate()
    };
    let secret_key = mnemonic.derive(hd_path)?;
    let key = keyring.import(name, secret_key)?;
    tracing::info!(target: "cli::keys", name, backend = %keyring.backend(), recovered = recover, "key added");
    let shown = (!recover && !no_backup).then(|| mnemonic.phrase());
    match output {
        OutputFormat::Json => writeln!(
            out,
            "{}",
            serde_json::to_string(&AddedKey {
                key: &key.info(),
                mnemonic: shown,
            })?
        )?,
        OutputFormat::Text => {
            print_key(&key.info(), OutputFormat::Text, out)?;
            if let Some(phrase) = shown {
                eprintln!(
                    "\n**Important** write this mnemonic phrase in a safe place.\nIt is the only \
                     way to recover your account if the key file is lost (`consign keys add \
                     {name} --recover`, or in wasmd or Keplr).\n\n{phrase}\n"
                );
            }
        }
    }
    Ok(())
}

/// `consign keys delete NAME [-y]`.
fn delete(
    keyring: &Keyring,
    name: &str,
    yes: bool,
    output: OutputFormat,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let key = keyring
        .info(name)
        .with_context(|| format!("cannot delete key `{name}`"))?;
    if !yes {
        let question = format!(
            "Delete key `{}` ({}) from the {} keyring at {}? Only its mnemonic or an export can \
             bring it back.",
            key.name,
            key.address,
            keyring.backend(),
            keyring.dir().display()
        );
        if !prompt::confirm(&question)? {
            anyhow::bail!(
                "key `{}` was not deleted: answer `y` to confirm, or pass --yes (-y)",
                key.name
            );
        }
    }
    let deleted = keyring.delete(&key.name)?;
    tracing::info!(target: "cli::keys", name = deleted.name, backend = %keyring.backend(), "key deleted");
    match output {
        OutputFormat::Json => writeln!(
            out,
            "{}",
            serde_json::json!({ "deleted": deleted.name, "address": deleted.address })
        )?,
        OutputFormat::Text => writeln!(out, "deleted key {} ({})", deleted.name, deleted.address)?,
    }
    Ok(())
}

/// `consign keys export NAME [--unarmored-hex --unsafe]`.
fn export(
    keyring: &Keyring,
    name: &str,
    unarmored_hex: bool,
    unsafe_: bool,
    output: OutputFormat,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if unarmored_hex && !unsafe_ {
        anyhow::bail!(
            "--unarmored-hex prints the secret key unencrypted, and anyone who sees it controls \
             the account: add --unsafe to confirm, or leave both out for an encrypted export"
        );
    }
    if unsafe_ && !unarmored_hex {
        anyhow::bail!("--unsafe only goes with --unarmored-hex; an encrypted export needs neither");
    }
    let key = keyring
        .get(name)
        .with_context(|| format!("cannot export key `{name}`"))?;
    let address = key.address();
    let (armored, hex) = if unarmored_hex {
        (None, Some(key.secret_key().to_hex()))
    } else {
        let passphrase = prompt::passphrase(
            &format!(
                "Choose a passphrase to encrypt the export of `{}`",
                key.name()
            ),
            EXPORT_PASSPHRASE_ENV,
            true,
        )
        .map_err(|reason| anyhow::anyhow!("no passphrase for the export: {reason}"))?;
        anyhow::ensure!(
            !passphrase.expose_secret().is_empty(),
            "the export's passphrase is empty; choose one (it is needed to import the key)"
        );
        (
            Some(encrypt_secret_key(key.secret_key(), &passphrase)?),
            None,
        )
    };
    tracing::info!(target: "cli::keys", name = key.name(), unarmored = unarmored_hex, "key exported");
    match output {
        OutputFormat::Json => writeln!(
            out,
            "{}",
            serde_json::to_string(&ExportedKey {
                name: key.name(),
                address: &address,
                armored: armored.as_deref(),
                secret_key_hex: hex.as_deref(),
            })?
        )?,
        OutputFormat::Text => match (&armored, &hex) {
            (Some(armored), _) => write!(out, "{}", armored.trim_end())?,
            (_, Some(hex)) => write!(out, "{hex}")?,
            (None, None) => {}
        },
    }
    if output == OutputFormat::Text {
        writeln!(out)?;
    }
    if hex.is_some() {
        eprintln!(
            "warning: the line above is the unencrypted secret key of `{}` ({address}): anyone \
             who sees it controls the account; do not paste it anywhere you would not paste the \
             funds",
            key.name()
        );
    }
    Ok(())
}

/// The secret key in a file to import: an armoured export, a test keyring's key file, or hex.
fn read_key_file(file: &Path) -> anyhow::Result<SecretKey> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the key to import from {}", file.display()))?;
    let trimmed = text.trim();
    if trimmed.starts_with(ARMOR_BEGIN) {
        let passphrase = prompt::passphrase(
            &format!("Passphrase of the exported key {}", file.display()),
            EXPORT_PASSPHRASE_ENV,
            false,
        )
        .map_err(|reason| anyhow::anyhow!("no passphrase for {}: {reason}", file.display()))?;
        return Ok(decrypt_secret_key(trimmed, &passphrase)?);
    }
    if trimmed.starts_with('{') {
        return Ok(KeyFile::load(file)?.secret_key().clone());
    }
    SecretKey::from_hex(trimmed).map_err(|_| {
        anyhow::anyhow!(
            "{} holds no key: expected what `consign keys export` prints (armoured age), a key \
             file of a test keyring (JSON), or a secret key as 64 hex characters",
            file.display()
        )
    })
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

//! The errors of the keyring (the wire formats' errors are `consign-types`').

use std::path::PathBuf;

use crate::{KeyError, KeyringBackend};

/// A key file or keyring operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyringError {
    /// The key in a key file, or one being imported, is not a valid key.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A key file or the keyring directory could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done: `read key file`, `write key file`, …
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A key file is not the JSON this crate writes.
    #[error("malformed key file {}: {reason}; expected JSON with `name`, `address`, `public_key` (base64) and `secret_key` (hex)", path.display())]
    MalformedKeyFile {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },
    /// A key file's address or public key does not belong to its secret key.
    #[error("key file {} is inconsistent: its {field} does not match its secret key; restore the file from a backup or re-import the secret key", path.display())]
    KeyFileMismatch {
        /// The file.
        path: PathBuf,
        /// `address` or `public_key`.
        field: &'static str,
    },
    /// `Keyring::add` or `Keyring::import` was given a name already in use.
    #[error("a key named `{name}` already exists ({}); choose another name, or delete that file first if you mean to replace the key", path.display())]
    KeyExists {
        /// The name asked for.
        name: String,
        /// The existing key file.
        path: PathBuf,
    },
    /// No key in the keyring has this name or address.
    #[error("no key named or with address `{name_or_address}` in the {backend} keyring at {}; see its keys with `consign keys list --keyring-backend {backend}` (each backend keeps its own keys; `consign dev`'s are in `test`)", dir.display())]
    KeyNotFound {
        /// The name or address looked up.
        name_or_address: String,
        /// The keyring's backend.
        backend: KeyringBackend,
        /// The keyring directory.
        dir: PathBuf,
    },
    /// A key name that cannot be used as a file name safely.
    #[error("invalid key name `{name}`: use 1 to 64 ASCII letters, digits, `-`, `_` or `.`, not starting with `.`")]
    InvalidKeyName {
        /// The name given.
        name: String,
    },
    /// A mnemonic is not a valid BIP-39 English mnemonic.
    #[error("invalid mnemonic: {reason}")]
    InvalidMnemonic {
        /// What is wrong with it (never the words themselves).
        reason: String,
    },
    /// An HD derivation path that is not a BIP-32 path.
    #[error("invalid HD path `{path}`: expected a BIP-32 path such as `m/44'/118'/0'/0/0` (the Cosmos SDK's, used by wasmd and Keplr)")]
    InvalidHdPath {
        /// The path given.
        path: String,
    },
    /// BIP-32 derivation along a path gave no valid key (probability about 2^-127).
    #[error("no valid key at HD path `{path}` for this mnemonic; use the next address index")]
    DerivationFailed {
        /// The path.
        path: String,
    },
    /// The passphrase does not open an encrypted key (a `file` keyring's, or an exported one).
    #[error("wrong passphrase: it does not decrypt {what}; try again (the passphrase is the one chosen when {when})")]
    WrongPassphrase {
        /// What could not be decrypted: `the key file …`, `the exported key`.
        what: String,
        /// When that passphrase was chosen.
        when: &'static str,
    },
    /// No passphrase could be had for a `file` keyring.
    #[error("the file keyring at {} needs its passphrase: {reason}", dir.display())]
    NoPassphrase {
        /// The keyring directory.
        dir: PathBuf,
        /// Why none could be had, and how to give one.
        reason: String,
    },
    /// An encrypted key could not be written or read for a reason other than its passphrase.
    #[error("cannot {action}: {reason}")]
    Encryption {
        /// `encrypt the key`, `decrypt …`.
        action: String,
        /// age's explanation.
        reason: String,
    },
}

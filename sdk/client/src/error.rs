//! The errors of the keyring (the wire formats' errors are `consign-types`').

use std::path::PathBuf;

use crate::KeyError;

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
    #[error("no key named or with address `{name_or_address}` in the keyring at {}; list the keys there, or add one", dir.display())]
    KeyNotFound {
        /// The name or address looked up.
        name_or_address: String,
        /// The keyring directory.
        dir: PathBuf,
    },
    /// A key name that cannot be used as a file name safely.
    #[error("invalid key name `{name}`: use 1 to 64 ASCII letters, digits, `-`, `_` or `.`, not starting with `.`")]
    InvalidKeyName {
        /// The name given.
        name: String,
    },
}

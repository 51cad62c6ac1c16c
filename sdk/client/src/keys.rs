//! The key file formats on disk, and a directory of named keys (the keyring) in one of two
//! backends, as wasmd has them: `test` (secret keys in plaintext files, for development chains)
//! and `file` (secret keys encrypted with the keyring's passphrase, for real keys). The keys
//! themselves are `consign-types`' [`SecretKey`] and [`PublicKey`].
//!
//! Encryption is age's passphrase mode (scrypt, then ChaCha20-Poly1305), armoured: an encrypted
//! key opens with `age -d` as well, and an exported key is the same format.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use age::secrecy::{ExposeSecret, SecretString};
use consign_util::fs::AtomicWrite;
use serde::{Deserialize, Serialize};

use crate::{KeyringError, PublicKey, SecretKey, ADDRESS_PREFIX};

/// The first line of an armoured age file: how an encrypted key (exported, or in a `file`
/// keyring) begins.
pub const ARMOR_BEGIN: &str = "-----BEGIN AGE ENCRYPTED FILE-----";

/// A key as stored on disk: JSON
/// `{ "name", "address", "public_key" (base64), "secret_key" (hex) }`, readable by its owner only.
///
/// This is the `test` backend's format: the secret key is stored unencrypted, for development
/// chains, like `wasmd`'s `test` backend. A `file` keyring encrypts it instead ([`Keyring`]).
#[derive(Clone, Debug)]
pub struct KeyFile {
    name: String,
    secret_key: SecretKey,
}

/// The on-disk JSON of a [`KeyFile`]; `address` and `public_key` are derived, and checked on load.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFileJson {
    name: String,
    address: String,
    public_key: PublicKey,
    secret_key: String,
}

/// The public part of a key, for listing and showing keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    /// The key's name in its keyring.
    pub name: String,
    /// Its account address, `consign1…`.
    pub address: String,
    /// Its public key (base64 in JSON).
    pub public_key: PublicKey,
}

impl KeyFile {
    /// A key file for this key under this name.
    pub fn new(name: impl Into<String>, secret_key: SecretKey) -> Self {
        Self {
            name: name.into(),
            secret_key,
        }
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The account address, `consign1…`.
    pub fn address(&self) -> String {
        self.secret_key.address()
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        self.secret_key.public_key()
    }

    /// The secret key.
    pub fn secret_key(&self) -> &SecretKey {
        &self.secret_key
    }

    /// The name, address and public key, without the secret.
    pub fn info(&self) -> KeyInfo {
        KeyInfo {
            name: self.name.clone(),
            address: self.address(),
            public_key: self.public_key(),
        }
    }

    /// The file's JSON text.
    pub fn to_json(&self) -> String {
        let json = KeyFileJson {
            name: self.name.clone(),
            address: self.address(),
            public_key: self.public_key(),
            secret_key: self.secret_key.to_hex(),
        };
        serde_json::to_string_pretty(&json).expect("a key file always serialises")
    }

    /// Writes the file atomically (a temporary file in the same directory, synced, then renamed
    /// over `path`), readable and writable by its owner only (mode 0600 on Unix). Replaces an
    /// existing file.
    ///
    /// # Errors
    ///
    /// [`KeyringError::Io`] if the file cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), KeyringError> {
        self.write(path, true)
    }

    /// Like [`KeyFile::save`], but refuses to replace an existing file.
    ///
    /// # Errors
    ///
    /// [`KeyringError::KeyExists`] if `path` exists, and [`KeyringError::Io`] if it cannot be written.
    pub fn save_new(&self, path: &Path) -> Result<(), KeyringError> {
        self.write(path, false)
    }

    fn write(&self, path: &Path, overwrite: bool) -> Result<(), KeyringError> {
        let mut contents = self.to_json().into_bytes();
        contents.push(b'\n');
        write_private_file(path, &contents, overwrite).map_err(|source| {
            if !overwrite && source.kind() == std::io::ErrorKind::AlreadyExists {
                KeyringError::KeyExists {
                    name: self.name.clone(),
                    path: path.to_owned(),
                }
            } else {
                KeyringError::Io {
                    action: "write key file",
                    path: path.to_owned(),
                    source,
                }
            }
        })
    }

    /// Reads and checks a key file: its `address` and `public_key` must be those of its
    /// `secret_key`.
    ///
    /// # Errors
    ///
    /// [`KeyringError::Io`] if it cannot be read, [`KeyringError::MalformedKeyFile`] if it is not a key
    /// file, and [`KeyringError::KeyFileMismatch`] if its parts do not belong together.
    pub fn load(path: &Path) -> Result<Self, KeyringError> {
        let text = fs::read_to_string(path).map_err(|source| KeyringError::Io {
            action: "read key file",
            path: path.to_owned(),
            source,
        })?;
        let malformed = |reason: String| KeyringError::MalformedKeyFile {
            path: path.to_owned(),
            reason,
        };
        let json: KeyFileJson =
            serde_json::from_str(&text).map_err(|e| malformed(e.to_string()))?;
        let secret_key =
            SecretKey::from_hex(&json.secret_key).map_err(|e| malformed(e.to_string()))?;
        if secret_key.public_key() != json.public_key {
            return Err(KeyringError::KeyFileMismatch {
                path: path.to_owned(),
                field: "public_key",
            });
        }
        if secret_key.address() != json.address {
            return Err(KeyringError::KeyFileMismatch {
                path: path.to_owned(),
                field: "address",
            });
        }
        Ok(Self {
            name: json.name,
            secret_key,
        })
    }
}

/// Writes `contents` to `path` atomically and durably (`consign_util::fs::AtomicWrite`: a
/// temporary file in the same directory, synced, renamed, the directory synced), so a crash
/// leaves the old file or the new one, never half of one. The file is readable by its owner
/// only (mode 0600 on Unix from the moment it exists). Without `overwrite`, fails with
/// [`std::io::ErrorKind::AlreadyExists`] if `path` exists.
pub(crate) fn write_private_file(
    path: &Path,
    contents: &[u8],
    overwrite: bool,
) -> std::io::Result<()> {
    let write = AtomicWrite::new().private();
    let write = if overwrite { write } else { write.create_new() };
    write
        .write(path, contents)
        .map_err(consign_util::fs::FsError::into_io_error)
}

/// Which kind of keyring, as wasmd's `--keyring-backend`: each keeps its own keys in its own
/// directory of the home.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyringBackend {
    /// Secret keys in plaintext files readable by their owner only, in `<home>/keys`: for
    /// development chains (`consign dev` puts its dev keys here).
    Test,
    /// Secret keys encrypted with the keyring's passphrase, in `<home>/keyring-file`: for keys
    /// that hold real value.
    File,
}

impl KeyringBackend {
    /// Its name on the command line: `test` or `file`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Test => "test",
            Self::File => "file",
        }
    }

    /// The directory in the home that holds its keys: `keys` or `keyring-file`.
    pub const fn dir_name(self) -> &'static str {
        match self {
            Self::Test => "keys",
            Self::File => "keyring-file",
        }
    }
}

impl fmt::Display for KeyringBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a `file` keyring asks for its passphrase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PassphraseRequest<'a> {
    /// The keyring holds no key yet: its passphrase is being chosen (a terminal should ask
    /// twice).
    New {
        /// The keyring directory.
        dir: &'a Path,
    },
    /// The passphrase the keyring's keys are encrypted with.
    Existing {
        /// The keyring directory.
        dir: &'a Path,
    },
}

/// Gives a `file` keyring its passphrase the first time it needs one (a prompt, an environment
/// variable); `Err` says why there is none and how to give one.
pub type PassphraseSource =
    dyn Fn(PassphraseRequest<'_>) -> Result<SecretString, String> + Send + Sync;

/// A directory of key files, one `<name>.json` per key, like `wasmd`'s keyring: with the
/// [`KeyringBackend::Test`] backend a [`KeyFile`] with the secret key in hex; with
/// [`KeyringBackend::File`] the same name, address and public key in plaintext (so keys can be
/// listed and found without the passphrase) and the secret key encrypted with the keyring's
/// passphrase.
///
/// A `file` keyring asks its [`PassphraseSource`] only when a secret key is read or written,
/// at most once while the passphrase is right, and checks a new key's passphrase against the
/// keys already there, so one keyring never holds keys under two passphrases.
#[derive(Clone)]
pub struct Keyring {
    dir: PathBuf,
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Test,
    File(Arc<FileBackend>),
}

struct FileBackend {
    source: Box<PassphraseSource>,
    /// The passphrase once it has opened (or chosen) a key of this keyring.
    known: Mutex<Option<SecretString>>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("dir", &self.dir)
            .field("backend", &self.backend())
            .finish()
    }
}

/// The on-disk JSON of a key in a `file` keyring.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EncryptedKeyFileJson {
    name: String,
    address: String,
    public_key: PublicKey,
    /// The secret key's hex, encrypted to the keyring's passphrase ([`encrypt_secret_key`]).
    encrypted_secret_key: String,
}

/// A key as read from its file, before any decryption.
enum Stored {
    Plain(KeyFile),
    Encrypted {
        info: KeyInfo,
        encrypted_secret_key: String,
    },
}

impl Stored {
    fn info(&self) -> KeyInfo {
        match self {
            Self::Plain(key) => key.info(),
            Self::Encrypted { info, .. } => info.clone(),
        }
    }
}

impl Keyring {
    /// The `test` keyring in `dir`: plaintext key files. The directory is created (mode 0700 on
    /// Unix) when a key is first added.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            backend: Backend::Test,
        }
    }

    /// The `file` keyring in `dir`: secret keys encrypted with the passphrase that `source`
    /// gives when it is first needed.
    pub fn file(
        dir: impl Into<PathBuf>,
        source: impl Fn(PassphraseRequest<'_>) -> Result<SecretString, String> + Send + Sync + 'static,
    ) -> Self {
        Self {
            dir: dir.into(),
            backend: Backend::File(Arc::new(FileBackend {
                source: Box::new(source),
                known: Mutex::new(None),
            })),
        }
    }

    /// The keyring's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The keyring's backend.
    pub fn backend(&self) -> KeyringBackend {
        match self.backend {
            Backend::Test => KeyringBackend::Test,
            Backend::File(_) => KeyringBackend::File,
        }
    }

    /// The file a key of this name is kept in.
    ///
    /// # Errors
    ///
    /// [`KeyringError::InvalidKeyName`] if the name cannot be a key name.
    pub fn path_of(&self, name: &str) -> Result<PathBuf, KeyringError> {
        validate_name(name)?;
        Ok(self.dir.join(format!("{name}.json")))
    }

    /// Generates a new random key and stores it under `name`.
    ///
    /// # Errors
    ///
    /// As [`Keyring::import`].
    pub fn add(&self, name: &str) -> Result<KeyFile, KeyringError> {
        self.import(name, SecretKey::generate())
    }

    /// Stores an existing key under `name`; in a `file` keyring, encrypted with its passphrase.
    ///
    /// # Errors
    ///
    /// [`KeyringError::KeyExists`] if the name is taken, [`KeyringError::InvalidKeyName`] for a
    /// bad name, [`KeyringError::Io`] if the file cannot be written; for a `file` keyring,
    /// [`KeyringError::NoPassphrase`] and [`KeyringError::WrongPassphrase`] (the passphrase
    /// does not open the keys already there).
    pub fn import(&self, name: &str, secret_key: SecretKey) -> Result<KeyFile, KeyringError> {
        let path = self.path_of(name)?;
        if path.exists() {
            return Err(KeyringError::KeyExists {
                name: name.to_owned(),
                path,
            });
        }
        let key = KeyFile::new(name, secret_key);
        match &self.backend {
            Backend::Test => {
                self.create_dir()?;
                key.save_new(&path)?;
            }
            Backend::File(file) => {
                let passphrase = self.passphrase_for_new_key(file)?;
                let json = EncryptedKeyFileJson {
                    name: name.to_owned(),
                    address: key.address(),
                    public_key: key.public_key(),
                    encrypted_secret_key: encrypt_secret_key(key.secret_key(), &passphrase)?,
                };
                let mut contents = serde_json::to_string_pretty(&json)
                    .expect("an encrypted key file always serialises")
                    .into_bytes();
                contents.push(b'\n');
                self.create_dir()?;
                write_private_file(&path, &contents, false).map_err(|source| {
                    if source.kind() == std::io::ErrorKind::AlreadyExists {
                        KeyringError::KeyExists {
                            name: name.to_owned(),
                            path: path.clone(),
                        }
                    } else {
                        KeyringError::Io {
                            action: "write key file",
                            path: path.clone(),
                            source,
                        }
                    }
                })?;
            }
        }
        Ok(key)
    }

    /// The key with this name or, failing that, this address, with its secret key: in a `file`
    /// keyring, decrypted with the keyring's passphrase.
    ///
    /// # Errors
    ///
    /// [`KeyringError::KeyNotFound`] if there is none, any error reading the keyring, and for a
    /// `file` keyring [`KeyringError::NoPassphrase`] or [`KeyringError::WrongPassphrase`].
    pub fn get(&self, name_or_address: &str) -> Result<KeyFile, KeyringError> {
        let (path, stored) = self.find(name_or_address)?;
        match (stored, &self.backend) {
            (Stored::Plain(key), _) => Ok(key),
            (
                Stored::Encrypted {
                    info,
                    encrypted_secret_key,
                },
                Backend::File(file),
            ) => self.unlock(file, &path, &info, &encrypted_secret_key),
            // `read` gives the test backend plaintext keys only.
            (Stored::Encrypted { .. }, Backend::Test) => Err(KeyringError::MalformedKeyFile {
                path,
                reason: "an encrypted key in a test keyring".into(),
            }),
        }
    }

    /// The name, address and public key of the key with this name or, failing that, this
    /// address. Never reads a secret key, so a `file` keyring needs no passphrase.
    ///
    /// # Errors
    ///
    /// [`KeyringError::KeyNotFound`] if there is none, or any error reading the keyring.
    pub fn info(&self, name_or_address: &str) -> Result<KeyInfo, KeyringError> {
        Ok(self.find(name_or_address)?.1.info())
    }

    /// Every key's name, address and public key, sorted by name; empty if the directory does
    /// not exist yet. Never reads a secret key.
    ///
    /// # Errors
    ///
    /// [`KeyringError::Io`] if the directory or a key file cannot be read, and
    /// [`KeyringError::MalformedKeyFile`] or [`KeyringError::KeyFileMismatch`] for a damaged key
    /// file.
    pub fn list(&self) -> Result<Vec<KeyInfo>, KeyringError> {
        Ok(self
            .entries()?
            .into_iter()
            .map(|(_, stored)| stored.info())
            .collect())
    }

    /// Deletes the key with this name or address and returns what it was. The file is removed
    /// and the removal made durable; nothing else of the key is kept.
    ///
    /// # Errors
    ///
    /// [`KeyringError::KeyNotFound`] if there is none, and [`KeyringError::Io`] if its file
    /// cannot be removed.
    pub fn delete(&self, name_or_address: &str) -> Result<KeyInfo, KeyringError> {
        let (path, stored) = self.find(name_or_address)?;
        fs::remove_file(&path).map_err(|source| KeyringError::Io {
            action: "remove key file",
            path: path.clone(),
            source,
        })?;
        consign_util::fs::sync_dir(&self.dir).map_err(|e| KeyringError::Io {
            action: "sync keyring directory",
            path: self.dir.clone(),
            source: e.into_io_error(),
        })?;
        Ok(stored.info())
    }

    /// The file and the stored key with this name or, failing that, this address.
    fn find(&self, name_or_address: &str) -> Result<(PathBuf, Stored), KeyringError> {
        if validate_name(name_or_address).is_ok() {
            let path = self.dir.join(format!("{name_or_address}.json"));
            if path.exists() {
                let stored = self.read(&path)?;
                return Ok((path, stored));
            }
        }
        if name_or_address.starts_with(ADDRESS_PREFIX) {
            if let Some(found) = self
                .entries()?
                .into_iter()
                .find(|(_, stored)| stored.info().address == name_or_address)
            {
                return Ok(found);
            }
        }
        Err(KeyringError::KeyNotFound {
            name_or_address: name_or_address.to_owned(),
            backend: self.backend(),
            dir: self.dir.clone(),
        })
    }

    /// Every key file and its key, sorted by name.
    fn entries(&self) -> Result<Vec<(PathBuf, Stored)>, KeyringError> {
        let io = |source| KeyringError::Io {
            action: "read keyring directory",
            path: self.dir.clone(),
            source,
        };
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(e)),
        };
        let mut keys = Vec::new();
        for entry in entries {
            let path = entry.map_err(io)?.path();
            let Some(stem) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".json"))
            else {
                continue;
            };
            if validate_name(stem).is_ok() && path.is_file() {
                let stored = self.read(&path)?;
                keys.push((path, stored));
            }
        }
        keys.sort_by(|a, b| a.1.info().name.cmp(&b.1.info().name));
        Ok(keys)
    }

    /// Reads one key file in this backend's format, checking what can be checked without the
    /// passphrase.
    fn read(&self, path: &Path) -> Result<Stored, KeyringError> {
        if matches!(self.backend, Backend::Test) {
            return KeyFile::load(path).map(Stored::Plain);
        }
        let text = fs::read_to_string(path).map_err(|source| KeyringError::Io {
            action: "read key file",
            path: path.to_owned(),
            source,
        })?;
        let json: EncryptedKeyFileJson =
            serde_json::from_str(&text).map_err(|e| KeyringError::MalformedKeyFile {
                path: path.to_owned(),
                reason: format!(
                    "{e} (a file keyring's key has `name`, `address`, `public_key` and `encrypted_secret_key`)"
                ),
            })?;
        if json.public_key.address(ADDRESS_PREFIX) != json.address {
            return Err(KeyringError::KeyFileMismatch {
                path: path.to_owned(),
                field: "address",
            });
        }
        Ok(Stored::Encrypted {
            info: KeyInfo {
                name: json.name,
                address: json.address,
                public_key: json.public_key,
            },
            encrypted_secret_key: json.encrypted_secret_key,
        })
    }

    /// Decrypts a stored key with the keyring's passphrase (asking for it the first time), and
    /// checks it is the key its file says.
    fn unlock(
        &self,
        file: &FileBackend,
        path: &Path,
        info: &KeyInfo,
        encrypted_secret_key: &str,
    ) -> Result<KeyFile, KeyringError> {
        let mut known = file.known.lock().unwrap_or_else(PoisonError::into_inner);
        let passphrase = match &*known {
            Some(passphrase) => passphrase.clone(),
            None => self.ask(file, PassphraseRequest::Existing { dir: &self.dir })?,
        };
        let secret_key =
            decrypt_secret_key(encrypted_secret_key, &passphrase).map_err(|e| match e {
                KeyringError::WrongPassphrase { .. } => KeyringError::WrongPassphrase {
                    what: format!("the key file {}", path.display()),
                    when: "the keyring's first key was added",
                },
                other => other,
            })?;
        if secret_key.public_key() != info.public_key {
            return Err(KeyringError::KeyFileMismatch {
                path: path.to_owned(),
                field: "public_key",
            });
        }
        *known = Some(passphrase);
        Ok(KeyFile::new(info.name.clone(), secret_key))
    }

    /// The passphrase to encrypt a new key with: the known one; else, in an empty keyring, a
    /// new one; else the one that opens the keys already there (checked on one of them).
    fn passphrase_for_new_key(&self, file: &FileBackend) -> Result<SecretString, KeyringError> {
        if let Some(passphrase) = &*file.known.lock().unwrap_or_else(PoisonError::into_inner) {
            return Ok(passphrase.clone());
        }
        let existing = self
            .entries()?
            .into_iter()
            .find_map(|(path, stored)| match stored {
                Stored::Encrypted {
                    info,
                    encrypted_secret_key,
                } => Some((path, info, encrypted_secret_key)),
                Stored::Plain(_) => None,
            });
        match existing {
            None => {
                let passphrase = self.ask(file, PassphraseRequest::New { dir: &self.dir })?;
                *file.known.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some(passphrase.clone());
                Ok(passphrase)
            }
            Some((path, info, encrypted)) => {
                self.unlock(file, &path, &info, &encrypted)?;
                self.passphrase_for_new_key(file)
            }
        }
    }

    fn ask(
        &self,
        file: &FileBackend,
        request: PassphraseRequest<'_>,
    ) -> Result<SecretString, KeyringError> {
        let passphrase = (file.source)(request).map_err(|reason| KeyringError::NoPassphrase {
            dir: self.dir.clone(),
            reason,
        })?;
        if passphrase.expose_secret().is_empty() {
            return Err(KeyringError::NoPassphrase {
                dir: self.dir.clone(),
                reason: "the passphrase is empty".into(),
            });
        }
        Ok(passphrase)
    }

    fn create_dir(&self) -> Result<(), KeyringError> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&self.dir)
            .map_err(|source| KeyringError::Io {
                action: "create keyring directory",
                path: self.dir.clone(),
                source,
            })
    }
}

/// Encrypts a secret key with a passphrase: its hex, in age's passphrase mode (scrypt with a
/// work factor of about a second on this machine), armoured, beginning with [`ARMOR_BEGIN`].
/// `consign keys export` prints this; `age -d` opens it too.
///
/// # Errors
///
/// [`KeyringError::Encryption`] if age fails to encrypt.
pub fn encrypt_secret_key(
    secret_key: &SecretKey,
    passphrase: &SecretString,
) -> Result<String, KeyringError> {
    let recipient = age::scrypt::Recipient::new(passphrase.clone());
    let mut hex = secret_key.to_hex();
    hex.push('\n');
    age::encrypt_and_armor(&recipient, hex.as_bytes()).map_err(|e| KeyringError::Encryption {
        action: "encrypt the secret key".into(),
        reason: e.to_string(),
    })
}

/// Decrypts what [`encrypt_secret_key`] wrote (armoured or binary age).
///
/// # Errors
///
/// [`KeyringError::WrongPassphrase`] if the passphrase does not open it,
/// [`KeyringError::Encryption`] if it is not age encrypted with a passphrase, and
/// [`KeyringError::Key`] if what it holds is not a secret key.
pub fn decrypt_secret_key(
    encrypted: &str,
    passphrase: &SecretString,
) -> Result<SecretKey, KeyringError> {
    let identity = age::scrypt::Identity::new(passphrase.clone());
    let plain = age::decrypt(&identity, encrypted.trim().as_bytes()).map_err(|e| match e {
        age::DecryptError::DecryptionFailed => KeyringError::WrongPassphrase {
            what: "the exported key".into(),
            when: "it was exported",
        },
        age::DecryptError::NoMatchingKeys => KeyringError::Encryption {
            action: "decrypt the key".into(),
            reason: "it is age encrypted to a recipient, not with a passphrase".into(),
        },
        other => KeyringError::Encryption {
            action: "decrypt the key".into(),
            reason: other.to_string(),
        },
    })?;
    let text = String::from_utf8(plain).map_err(|_| {
        KeyringError::Key(crate::KeyError::InvalidSecretKey {
            reason: "the decrypted text is not UTF-8".into(),
        })
    })?;
    Ok(SecretKey::from_hex(text.trim())?)
}

fn validate_name(name: &str) -> Result<(), KeyringError> {
    let ok = (1..=64).contains(&name.len())
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(KeyringError::InvalidKeyName {
            name: name.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_round_trip_with_owner_only_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alice.json");
        let key = KeyFile::new("alice", SecretKey::from_seed("alice"));
        key.save(&path).unwrap();
        let loaded = KeyFile::load(&path).unwrap();
        assert_eq!(loaded.name(), "alice");
        assert_eq!(loaded.address(), key.address());
        assert_eq!(loaded.secret_key().to_hex(), key.secret_key().to_hex());

        let json: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(json["address"], key.address());
        assert_eq!(json["public_key"], key.public_key().to_base64());
        assert_eq!(json["secret_key"], key.secret_key().to_hex());

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary files are left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(matches!(
            key.save_new(&path),
            Err(KeyringError::KeyExists { .. })
        ));
    }

    #[test]
    fn key_file_with_wrong_address_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        let key = KeyFile::new("k", SecretKey::from_seed("k"));
        let other = SecretKey::from_seed("other").address();
        let text = key.to_json().replace(&key.address(), &other);
        fs::write(&path, text).unwrap();
        let err = KeyFile::load(&path).unwrap_err();
        assert!(
            matches!(
                err,
                KeyringError::KeyFileMismatch {
                    field: "address",
                    ..
                }
            ),
            "{err}"
        );
        fs::write(&path, "{\"name\": 1}").unwrap();
        let err = KeyFile::load(&path).unwrap_err();
        assert!(err.to_string().starts_with("malformed key file"), "{err}");
    }

    #[test]
    fn keyring_add_get_list() {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::new(dir.path().join("keys"));
        assert!(ring.list().unwrap().is_empty());

        let bob = ring.add("bob").unwrap();
        let alice = ring.import("alice", SecretKey::from_seed("alice")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(ring.dir()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }

        let err = ring.add("bob").unwrap_err();
        assert!(matches!(err, KeyringError::KeyExists { .. }), "{err}");
        assert!(err.to_string().contains("already exists"), "{err}");

        assert_eq!(ring.get("bob").unwrap().address(), bob.address());
        assert_eq!(ring.get(&alice.address()).unwrap().name(), "alice");
        let err = ring.get("carol").unwrap_err();
        assert!(matches!(err, KeyringError::KeyNotFound { .. }), "{err}");
        assert!(err.to_string().contains("in the test keyring"), "{err}");

        let names: Vec<_> = ring.list().unwrap().into_iter().map(|k| k.name).collect();
        assert_eq!(names, ["alice", "bob"]);
        assert_eq!(ring.info(&bob.address()).unwrap(), bob.info());

        for bad in ["", "../evil", ".hidden", "a/b", &"x".repeat(65)] {
            assert!(
                matches!(ring.add(bad), Err(KeyringError::InvalidKeyName { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn delete_removes_the_key_by_name_or_address() {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::new(dir.path());
        let alice = ring.import("alice", SecretKey::from_seed("alice")).unwrap();
        let bob = ring.import("bob", SecretKey::from_seed("bob")).unwrap();
        assert_eq!(ring.delete("alice").unwrap(), alice.info());
        assert!(!dir.path().join("alice.json").exists());
        assert_eq!(ring.delete(&bob.address()).unwrap().name, "bob");
        assert!(ring.list().unwrap().is_empty());
        let err = ring.delete("alice").unwrap_err();
        assert!(matches!(err, KeyringError::KeyNotFound { .. }), "{err}");
    }

    /// What a [`counting`] keyring's passphrase source was asked, in order.
    type Asked = Arc<Mutex<Vec<&'static str>>>;

    /// A `file` keyring in `dir` whose passphrase source always gives `passphrase` and records
    /// what it was asked.
    fn counting(dir: &Path, passphrase: &'static str) -> (Keyring, Asked) {
        let asked = Asked::default();
        let log = Arc::clone(&asked);
        let source = move |request: PassphraseRequest<'_>| {
            log.lock().unwrap().push(match request {
                PassphraseRequest::New { .. } => "new",
                PassphraseRequest::Existing { .. } => "existing",
            });
            Ok(SecretString::from(passphrase))
        };
        (Keyring::file(dir, source), asked)
    }

    #[test]
    fn file_keyring_encrypts_secrets_and_asks_only_when_it_needs_them() {
        let dir = tempfile::tempdir().unwrap();
        let (ring, asked) = counting(dir.path(), "correct horse");
        assert_eq!(ring.backend(), KeyringBackend::File);
        let alice = ring.import("alice", SecretKey::from_seed("alice")).unwrap();
        let bob = ring.import("bob", SecretKey::from_seed("bob")).unwrap();
        assert_eq!(*asked.lock().unwrap(), ["new"]);

        for key in [&alice, &bob] {
            let path = ring.path_of(key.name()).unwrap();
            let bytes = fs::read(&path).unwrap();
            let text = String::from_utf8(bytes.clone()).unwrap();
            let secret = key.secret_key().to_hex();
            assert!(!text.contains(&secret), "{text}");
            assert!(!text.to_uppercase().contains(&secret.to_uppercase()));
            let raw = key.secret_key().to_bytes();
            assert!(!bytes.windows(raw.len()).any(|w| w == raw));
            assert!(text.contains(ARMOR_BEGIN) && text.contains(&key.address()));
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = fs::metadata(&path).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600);
            }
        }

        // Public parts need no passphrase.
        let (again, asked) = counting(dir.path(), "correct horse");
        assert_eq!(again.list().unwrap(), [alice.info(), bob.info()]);
        assert_eq!(again.info(&bob.address()).unwrap(), bob.info());
        assert!(asked.lock().unwrap().is_empty());
        // Secrets ask once.
        assert_eq!(
            again.get("alice").unwrap().secret_key().to_hex(),
            alice.secret_key().to_hex()
        );
        assert_eq!(again.get(&bob.address()).unwrap().name(), "bob");
        assert_eq!(*asked.lock().unwrap(), ["existing"]);
        // The test backend does not see the file keyring's keys.
        let err = Keyring::new(dir.path().join("keys"))
            .get("alice")
            .unwrap_err();
        assert!(matches!(err, KeyringError::KeyNotFound { .. }), "{err}");
    }

    #[test]
    fn file_keyring_refuses_a_wrong_passphrase_and_never_mixes_two() {
        let dir = tempfile::tempdir().unwrap();
        counting(dir.path(), "right")
            .0
            .import("alice", SecretKey::from_seed("alice"))
            .unwrap();

        let (wrong, _) = counting(dir.path(), "wrong");
        let err = wrong.get("alice").unwrap_err();
        assert!(matches!(err, KeyringError::WrongPassphrase { .. }), "{err}");
        assert!(err.to_string().starts_with("wrong passphrase"), "{err}");
        // A new key is checked against the keys already there, and not written.
        let err = wrong
            .import("bob", SecretKey::from_seed("bob"))
            .unwrap_err();
        assert!(matches!(err, KeyringError::WrongPassphrase { .. }), "{err}");
        assert!(!dir.path().join("bob.json").exists());

        let refusing = Keyring::file(dir.path(), |_: PassphraseRequest<'_>| {
            Err("set CONSIGN_KEYRING_PASSPHRASE".to_owned())
        });
        let err = refusing.get("alice").unwrap_err();
        assert!(matches!(err, KeyringError::NoPassphrase { .. }), "{err}");
        assert!(
            err.to_string().contains("CONSIGN_KEYRING_PASSPHRASE"),
            "{err}"
        );
        let err = counting(dir.path(), "").0.get("alice").unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
    }

    #[test]
    fn exported_keys_decrypt_with_their_passphrase_only() {
        let key = SecretKey::from_seed("exported");
        let passphrase = SecretString::from("export me");
        let armored = encrypt_secret_key(&key, &passphrase).unwrap();
        assert!(armored.starts_with(ARMOR_BEGIN), "{armored}");
        assert!(!armored.contains(&key.to_hex()));
        let back = decrypt_secret_key(&armored, &passphrase).unwrap();
        assert_eq!(back.address(), key.address());

        let err = decrypt_secret_key(&armored, &SecretString::from("nope")).unwrap_err();
        assert!(matches!(err, KeyringError::WrongPassphrase { .. }), "{err}");
        let err = decrypt_secret_key("not age", &passphrase).unwrap_err();
        assert!(matches!(err, KeyringError::Encryption { .. }), "{err}");
    }
}

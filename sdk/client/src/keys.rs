//! The key file format on disk, and a directory of named keys (the keyring). The keys
//! themselves are `consign-types`' [`SecretKey`] and [`PublicKey`].

use std::fs;
use std::path::{Path, PathBuf};

use consign_util::fs::AtomicWrite;
use serde::{Deserialize, Serialize};

use crate::{KeyringError, PublicKey, SecretKey, ADDRESS_PREFIX};

/// A key as stored on disk: JSON
/// `{ "name", "address", "public_key" (base64), "secret_key" (hex) }`, readable by its owner only.
///
/// The secret key is stored unencrypted: this is a development keyring, like `wasmd`'s `test`
/// backend.
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

/// A directory of key files, one `<name>.json` per key, like `wasmd`'s `test` keyring backend.
#[derive(Clone, Debug)]
pub struct Keyring {
    dir: PathBuf,
}

impl Keyring {
    /// The keyring in `dir`; the directory is created (mode 0700 on Unix) when a key is first
    /// added.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The keyring's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
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

    /// Generates a new key and stores it under `name`.
    ///
    /// # Errors
    ///
    /// [`KeyringError::KeyExists`] if the name is taken, [`KeyringError::InvalidKeyName`] for a bad
    /// name, and [`KeyringError::Io`] if the file cannot be written.
    pub fn add(&self, name: &str) -> Result<KeyFile, KeyringError> {
        self.import(name, SecretKey::generate())
    }

    /// Stores an existing key under `name`.
    ///
    /// # Errors
    ///
    /// As [`Keyring::add`].
    pub fn import(&self, name: &str, secret_key: SecretKey) -> Result<KeyFile, KeyringError> {
        let path = self.path_of(name)?;
        if path.exists() {
            return Err(KeyringError::KeyExists {
                name: name.to_owned(),
                path,
            });
        }
        self.create_dir()?;
        let key = KeyFile::new(name, secret_key);
        key.save_new(&path)?;
        Ok(key)
    }

    /// The key with this name or, failing that, this address.
    ///
    /// # Errors
    ///
    /// [`KeyringError::KeyNotFound`] if there is none, or any error reading the keyring.
    pub fn get(&self, name_or_address: &str) -> Result<KeyFile, KeyringError> {
        if validate_name(name_or_address).is_ok() {
            let path = self.dir.join(format!("{name_or_address}.json"));
            if path.exists() {
                return KeyFile::load(&path);
            }
        }
        if name_or_address.starts_with(ADDRESS_PREFIX) {
            for key in self.list()? {
                if key.address() == name_or_address {
                    return Ok(key);
                }
            }
        }
        Err(KeyringError::KeyNotFound {
            name_or_address: name_or_address.to_owned(),
            dir: self.dir.clone(),
        })
    }

    /// Every key, sorted by name; empty if the directory does not exist yet.
    ///
    /// # Errors
    ///
    /// [`KeyringError::Io`] if the directory or a key file cannot be read, and the errors of
    /// [`KeyFile::load`] for a damaged key file.
    pub fn list(&self) -> Result<Vec<KeyFile>, KeyringError> {
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
                keys.push(KeyFile::load(&path)?);
            }
        }
        keys.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(keys)
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

        let names: Vec<_> = ring
            .list()
            .unwrap()
            .iter()
            .map(|k| k.name().to_owned())
            .collect();
        assert_eq!(names, ["alice", "bob"]);

        for bad in ["", "../evil", ".hidden", "a/b", &"x".repeat(65)] {
            assert!(
                matches!(ring.add(bad), Err(KeyringError::InvalidKeyName { .. })),
                "{bad:?}"
            );
        }
    }
}

//! secp256k1 account keys, the key file format on disk, and a directory of named keys.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use cosmwasm_std::Binary;
use k256::ecdsa::signature::{Signer, Verifier};
use k256::ecdsa::{Signature, SigningKey, VerifyingKey};
use rand_core::OsRng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::address::{account_address_bytes, humanize_with_prefix, ADDRESS_PREFIX};
use crate::{KeyError, Tx, TxBody, TxError};

/// The domain separator of [`SecretKey::from_seed`].
const DEV_KEY_DOMAIN: &[u8] = b"consign dev key\n";

/// A secp256k1 secret key that signs transactions.
///
/// Its `Debug` output never shows the key; the memory is wiped when it is dropped.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Self {
        Self(SigningKey::random(&mut OsRng))
    }

    /// The key whose scalar is these 32 big-endian bytes.
    ///
    /// # Errors
    ///
    /// [`KeyError::InvalidSecretKey`] for zero or a value not below the group order.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        SigningKey::from_bytes(bytes.into())
            .map(Self)
            .map_err(|_| KeyError::InvalidSecretKey {
                reason: "the value is zero or not below the secp256k1 group order".into(),
            })
    }

    /// The key written as 64 hex characters (either case).
    ///
    /// # Errors
    ///
    /// [`KeyError::InvalidSecretKey`] if it is not 32 bytes of hex or not a valid scalar.
    pub fn from_hex(hex_str: &str) -> Result<Self, KeyError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_str.trim(), &mut bytes).map_err(|e| {
            KeyError::InvalidSecretKey {
                reason: e.to_string(),
            }
        })?;
        Self::from_bytes(&bytes)
    }

    /// A deterministic development key: the scalar is
    /// `SHA-256("consign dev key\n" ‖ label)`, or, in the vanishingly rare case that is not a
    /// valid scalar, `SHA-256("consign dev key\n" ‖ label ‖ "\n" ‖ n)` for `n = 1, 2, …` (decimal)
    /// until one is. `consign dev` funds such keys in genesis, so their addresses are the same on
    /// every machine. Anyone can derive them: never hold real value with them.
    pub fn from_seed(label: &str) -> Self {
        let mut counter: u64 = 0;
        loop {
            let mut hasher = Sha256::new();
            hasher.update(DEV_KEY_DOMAIN);
            hasher.update(label.as_bytes());
            if counter > 0 {
                hasher.update(format!("\n{counter}").as_bytes());
            }
            let digest: [u8; 32] = hasher.finalize().into();
            if let Ok(key) = Self::from_bytes(&digest) {
                return key;
            }
            counter += 1;
        }
    }

    /// The scalar as 32 big-endian bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes().into()
    }

    /// The scalar as 64 lowercase hex characters, the key file's `secret_key`.
    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(*self.0.verifying_key())
    }

    /// The account address of this key on Consign (`consign1…`).
    pub fn address(&self) -> String {
        self.public_key().address(ADDRESS_PREFIX)
    }

    /// Signs `SHA-256(message)` with deterministic ECDSA (RFC 6979), returning `r ‖ s` with `s`
    /// normalised to low-S, the form [`PublicKey::verify`] and the Cosmos SDK accept.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let signature: Signature = self.0.sign(message);
        let signature = signature.normalize_s().unwrap_or(signature);
        signature.to_bytes().into()
    }

    /// Signs a transaction body: shorthand for [`Tx::sign`].
    pub fn sign_tx(&self, body: TxBody) -> Tx {
        Tx::sign(body, self)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

/// A secp256k1 public key: in JSON, base64 of its 33-byte compressed SEC1 encoding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// The length of the compressed SEC1 encoding.
    pub const LEN: usize = 33;

    /// Parses a 33-byte compressed SEC1 point.
    ///
    /// # Errors
    ///
    /// [`KeyError::InvalidPublicKey`] for another length or a point not on the curve.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != Self::LEN {
            return Err(KeyError::InvalidPublicKey {
                reason: format!("got {} bytes", bytes.len()),
            });
        }
        VerifyingKey::from_sec1_bytes(bytes)
            .map(Self)
            .map_err(|_| KeyError::InvalidPublicKey {
                reason: "not a point on the secp256k1 curve".into(),
            })
    }

    /// Parses the base64 form used in JSON.
    ///
    /// # Errors
    ///
    /// [`KeyError::InvalidPublicKey`] if it is not base64 of a valid key.
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let bytes = Binary::from_base64(text).map_err(|e| KeyError::InvalidPublicKey {
            reason: e.to_string(),
        })?;
        Self::from_bytes(&bytes)
    }

    /// The 33-byte compressed SEC1 encoding.
    pub fn to_bytes(&self) -> [u8; 33] {
        let point = self.0.to_encoded_point(true);
        let mut bytes = [0u8; 33];
        bytes.copy_from_slice(point.as_bytes());
        bytes
    }

    /// The base64 form used in JSON.
    pub fn to_base64(&self) -> String {
        Binary::from(self.to_bytes()).to_base64()
    }

    /// The Cosmos-style account address with this bech32 prefix:
    /// `bech32(prefix, RIPEMD-160(SHA-256(compressed key)))`. Use
    /// [`ADDRESS_PREFIX`](crate::ADDRESS_PREFIX) for Consign.
    ///
    /// # Panics
    ///
    /// If `prefix` is not a valid bech32 human-readable part (a caller bug, not an input error).
    pub fn address(&self, prefix: &str) -> String {
        humanize_with_prefix(prefix, &self.address_bytes())
            .expect("the address prefix must be a valid bech32 human-readable part")
    }

    /// The 20 canonical bytes of the account address.
    pub fn address_bytes(&self) -> [u8; 20] {
        account_address_bytes(&self.to_bytes())
    }

    /// Checks a 64-byte `r ‖ s` signature over `SHA-256(message)`.
    ///
    /// # Errors
    ///
    /// [`TxError::InvalidSignature`] for a signature that is not 64 bytes of two scalars,
    /// [`TxError::HighS`] for a high-S signature, and [`TxError::BadSignature`] if it does not
    /// verify.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), TxError> {
        let signature =
            Signature::from_slice(signature).map_err(|_| TxError::InvalidSignature {
                reason: if signature.len() == 64 {
                    "r or s is zero or not below the group order".into()
                } else {
                    format!("got {} bytes", signature.len())
                },
            })?;
        if signature.normalize_s().is_some() {
            return Err(TxError::HighS);
        }
        self.0
            .verify(message, &signature)
            .map_err(|_| TxError::BadSignature)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_base64())
    }
}

impl fmt::Display for PublicKey {
    /// The base64 form used in JSON.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_base64(s)
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Binary::from(self.to_bytes()).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes = Binary::deserialize(deserializer)?;
        Self::from_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}

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
    /// [`KeyError::Io`] if the file cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), KeyError> {
        self.write(path, true)
    }

    /// Like [`KeyFile::save`], but refuses to replace an existing file.
    ///
    /// # Errors
    ///
    /// [`KeyError::KeyExists`] if `path` exists, and [`KeyError::Io`] if it cannot be written.
    pub fn save_new(&self, path: &Path) -> Result<(), KeyError> {
        self.write(path, false)
    }

    fn write(&self, path: &Path, overwrite: bool) -> Result<(), KeyError> {
        let mut contents = self.to_json().into_bytes();
        contents.push(b'\n');
        write_private_file(path, &contents, overwrite).map_err(|source| {
            if !overwrite && source.kind() == std::io::ErrorKind::AlreadyExists {
                KeyError::KeyExists {
                    name: self.name.clone(),
                    path: path.to_owned(),
                }
            } else {
                KeyError::Io {
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
    /// [`KeyError::Io`] if it cannot be read, [`KeyError::MalformedKeyFile`] if it is not a key
    /// file, and [`KeyError::KeyFileMismatch`] if its parts do not belong together.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = fs::read_to_string(path).map_err(|source| KeyError::Io {
            action: "read key file",
            path: path.to_owned(),
            source,
        })?;
        let malformed = |reason: String| KeyError::MalformedKeyFile {
            path: path.to_owned(),
            reason,
        };
        let json: KeyFileJson =
            serde_json::from_str(&text).map_err(|e| malformed(e.to_string()))?;
        let secret_key =
            SecretKey::from_hex(&json.secret_key).map_err(|e| malformed(e.to_string()))?;
        if secret_key.public_key() != json.public_key {
            return Err(KeyError::KeyFileMismatch {
                path: path.to_owned(),
                field: "public_key",
            });
        }
        if secret_key.address() != json.address {
            return Err(KeyError::KeyFileMismatch {
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

/// Writes `contents` to `path` atomically: a temporary file in the same directory, synced, then
/// renamed, so a crash leaves the old file or the new one, never half of one. The file is
/// readable by its owner only (`tempfile` creates it with mode 0600 on Unix; the rename keeps
/// it). Without `overwrite`, fails with [`std::io::ErrorKind::AlreadyExists`] if `path` exists.
pub(crate) fn write_private_file(
    path: &Path,
    contents: &[u8],
    overwrite: bool,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".consign-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    if overwrite {
        tmp.persist(path).map_err(|e| e.error)?;
    } else {
        tmp.persist_noclobber(path).map_err(|e| e.error)?;
    }
    sync_dir(dir)
}

/// Makes a rename in `dir` durable. Directories cannot be opened for syncing on Windows, where
/// the rename is durable enough for a development keyring.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
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
    /// [`KeyError::InvalidKeyName`] if the name cannot be a key name.
    pub fn path_of(&self, name: &str) -> Result<PathBuf, KeyError> {
        validate_name(name)?;
        Ok(self.dir.join(format!("{name}.json")))
    }

    /// Generates a new key and stores it under `name`.
    ///
    /// # Errors
    ///
    /// [`KeyError::KeyExists`] if the name is taken, [`KeyError::InvalidKeyName`] for a bad
    /// name, and [`KeyError::Io`] if the file cannot be written.
    pub fn add(&self, name: &str) -> Result<KeyFile, KeyError> {
        self.import(name, SecretKey::generate())
    }

    /// Stores an existing key under `name`.
    ///
    /// # Errors
    ///
    /// As [`Keyring::add`].
    pub fn import(&self, name: &str, secret_key: SecretKey) -> Result<KeyFile, KeyError> {
        let path = self.path_of(name)?;
        if path.exists() {
            return Err(KeyError::KeyExists {
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
    /// [`KeyError::KeyNotFound`] if there is none, or any error reading the keyring.
    pub fn get(&self, name_or_address: &str) -> Result<KeyFile, KeyError> {
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
        Err(KeyError::KeyNotFound {
            name_or_address: name_or_address.to_owned(),
            dir: self.dir.clone(),
        })
    }

    /// Every key, sorted by name; empty if the directory does not exist yet.
    ///
    /// # Errors
    ///
    /// [`KeyError::Io`] if the directory or a key file cannot be read, and the errors of
    /// [`KeyFile::load`] for a damaged key file.
    pub fn list(&self) -> Result<Vec<KeyFile>, KeyError> {
        let io = |source| KeyError::Io {
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

    fn create_dir(&self) -> Result<(), KeyError> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&self.dir).map_err(|source| KeyError::Io {
            action: "create keyring directory",
            path: self.dir.clone(),
            source,
        })
    }
}

fn validate_name(name: &str) -> Result<(), KeyError> {
    let ok = (1..=64).contains(&name.len())
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(KeyError::InvalidKeyName {
            name: name.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_to_public_matches_tendermint_vector() {
        let key =
            SecretKey::from_hex("a96e62ed3955e65be32703f12d87b6b5cf26039ecfa948dc5107a495418e5330")
                .unwrap();
        assert_eq!(
            hex::encode(key.public_key().to_bytes()),
            "02950e1cdfcb133d6024109fd489f734eeb4502418e538c28481f22bce276f248c"
        );
        assert_eq!(
            hex::encode(key.public_key().address_bytes()),
            "7c2bb42a8be69791ec763e51f5a49bcd41e82237"
        );
    }

    #[test]
    fn hex_round_trip_and_invalid_secrets() {
        let key = SecretKey::generate();
        let again = SecretKey::from_hex(&key.to_hex()).unwrap();
        assert_eq!(key.public_key(), again.public_key());
        assert!(SecretKey::from_hex(&"00".repeat(32)).is_err());
        assert!(SecretKey::from_hex(&"ff".repeat(32)).is_err());
        let err = SecretKey::from_hex("abc").unwrap_err();
        assert!(err.to_string().starts_with("invalid secret key"), "{err}");
        assert!(!format!("{key:?}").contains(&key.to_hex()));
    }

    #[test]
    fn dev_keys_are_deterministic() {
        let alice = SecretKey::from_seed("alice");
        assert_eq!(alice.to_hex(), SecretKey::from_seed("alice").to_hex());
        assert_ne!(alice.to_hex(), SecretKey::from_seed("bob").to_hex());
        // Golden: genesis accounts depend on this derivation.
        let digest = Sha256::digest(b"consign dev key\nalice");
        assert_eq!(alice.to_hex(), hex::encode(digest));
    }

    #[test]
    fn public_key_serde_is_base64_and_checked() {
        let public = SecretKey::from_seed("alice").public_key();
        let json = serde_json::to_string(&public).unwrap();
        assert_eq!(json, format!("\"{}\"", public.to_base64()));
        let back: PublicKey = serde_json::from_str(&json).unwrap();
        assert_eq!(back, public);
        assert_eq!(public.to_string().parse::<PublicKey>().unwrap(), public);
        let short = serde_json::to_string(&Binary::from(&public.to_bytes()[..32])).unwrap();
        let err = serde_json::from_str::<PublicKey>(&short).unwrap_err();
        assert!(err.to_string().contains("33-byte"), "{err}");
        let mut off_curve = [0xffu8; 33];
        off_curve[0] = 2;
        assert!(PublicKey::from_bytes(&off_curve).is_err());
    }

    #[test]
    fn sign_and_verify_raw_messages() {
        let key = SecretKey::from_seed("alice");
        let sig = key.sign(b"hello");
        key.public_key().verify(b"hello", &sig).unwrap();
        assert_eq!(
            key.public_key().verify(b"hellp", &sig),
            Err(TxError::BadSignature)
        );
        assert!(matches!(
            key.public_key().verify(b"hello", &sig[..63]),
            Err(TxError::InvalidSignature { .. })
        ));
    }

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
            Err(KeyError::KeyExists { .. })
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
                KeyError::KeyFileMismatch {
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
        assert!(matches!(err, KeyError::KeyExists { .. }), "{err}");
        assert!(err.to_string().contains("already exists"), "{err}");

        assert_eq!(ring.get("bob").unwrap().address(), bob.address());
        assert_eq!(ring.get(&alice.address()).unwrap().name(), "alice");
        let err = ring.get("carol").unwrap_err();
        assert!(matches!(err, KeyError::KeyNotFound { .. }), "{err}");

        let names: Vec<_> = ring
            .list()
            .unwrap()
            .iter()
            .map(|k| k.name().to_owned())
            .collect();
        assert_eq!(names, ["alice", "bob"]);

        for bad in ["", "../evil", ".hidden", "a/b", &"x".repeat(65)] {
            assert!(
                matches!(ring.add(bad), Err(KeyError::InvalidKeyName { .. })),
                "{bad:?}"
            );
        }
    }
}

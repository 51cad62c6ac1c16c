//! [`BlobStore`]: the sellers' data on disk, encrypted at rest and content-addressed.
//!
//! A blob is the age encryption, to the node's own at-rest key (`<data_dir>/at-rest.key`, see
//! [`key`]), of a plaintext whose SHA-256 names it: `<data_dir>/blobs/ab/cd/<sha256>.age`. It
//! is written to `<data_dir>/blobs/tmp/` while it arrives (hashed and encrypted on the way,
//! never whole in memory), synced, and renamed into place only once its digest and size are
//! the expected ones ([`BlobWriter`], [`BlobStore::receive`]); so a crash or a dropped upload
//! never leaves half a blob where a reader would find it, and `tmp/` is emptied at start.
//!
//! Who uploaded what, and each account's usage, are kept in the database ([`index`]).

pub mod index;
pub mod key;
pub mod sweep;
pub mod uploads;
mod writer;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;

pub use consign_util::pace::BodyPace;
pub use writer::{BlobWriter, ReceiveError, WrittenBlob};

/// The blobs of one data directory. Cheap to clone.
#[derive(Clone)]
pub struct BlobStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// `<data_dir>/blobs`.
    root: PathBuf,
    /// `<data_dir>/blobs/tmp`.
    tmp: PathBuf,
    identity: age::x25519::Identity,
    recipient: age::x25519::Recipient,
    /// The upload workers: how many batches are hashed, encrypted and written at once, on
    /// blocking threads, whatever the number of uploads (the database's tasks do not wait
    /// behind them).
    upload_workers: Arc<tokio::sync::Semaphore>,
}

/// How many upload batches are written at once: the cores, from 2 to 8.
fn upload_worker_count() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8))
}

/// A blob [`BlobStore::put`] stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredBlob {
    /// SHA-256 of the plaintext, lowercase hex.
    pub sha256: String,
    /// The plaintext's size in bytes.
    pub size: u64,
}

/// Whether `text` is a SHA-256 as this node names blobs: 64 lowercase hex characters.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl BlobStore {
    /// Opens the blobs of `data_dir`: creates `blobs/` and `blobs/tmp/` if needed, loads the
    /// at-rest key (generating it at the first start) and removes what a previous run left in
    /// `blobs/tmp/` (uploads it was receiving when it stopped).
    ///
    /// Call it only while holding the database (which one process at a time can open), so
    /// that no other process is writing to `tmp/`.
    ///
    /// # Errors
    ///
    /// If the directories cannot be created or the key cannot be read or written.
    pub fn open(data_dir: &Path) -> anyhow::Result<Self> {
        let root = data_dir.join("blobs");
        let tmp = root.join("tmp");
        std::fs::create_dir_all(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        let identity = key::load_or_generate(&key::path(data_dir))?;
        let removed = clean_dir(&tmp)?;
        if removed > 0 {
            tracing::info!(
                target: "storage::blobs",
                removed,
                "removed unfinished uploads left by the previous run"
            );
        }
        Ok(Self {
            inner: Arc::new(Inner {
                root,
                tmp,
                recipient: identity.to_public(),
                identity,
                upload_workers: Arc::new(tokio::sync::Semaphore::new(upload_worker_count())),
            }),
        })
    }

    /// The age recipient blobs are encrypted to at rest; sellers seal this node's custody key
    /// shares to it too (`custody_recipient` in `GET /v1/info`).
    pub fn recipient(&self) -> &age::x25519::Recipient {
        &self.inner.recipient
    }

    /// Opens a custody key share sealed to [`recipient`](Self::recipient) with the at-rest key,
    /// which never leaves the store. The share is not checked here.
    ///
    /// # Errors
    ///
    /// If it is not sealed to this node, altered, or not a key share.
    pub fn open_share(
        &self,
        sealed: &str,
    ) -> Result<consign_custody::KeyShare, consign_custody::SealedShareError> {
        consign_custody::KeyShare::open(sealed, &self.inner.identity)
    }

    /// Where the blob named `sha256` is (or would be): `blobs/ab/cd/<sha256>.age`.
    ///
    /// # Errors
    ///
    /// If `sha256` is not 64 lowercase hex characters.
    pub fn path(&self, sha256: &str) -> anyhow::Result<PathBuf> {
        if !is_sha256_hex(sha256) {
            anyhow::bail!("`{sha256}` is not a SHA-256 (64 lowercase hex characters)");
        }
        Ok(self
            .inner
            .root
            .join(&sha256[0..2])
            .join(&sha256[2..4])
            .join(format!("{sha256}.age")))
    }

    /// Whether the blob is stored.
    ///
    /// # Errors
    ///
    /// If `sha256` is malformed or the file system cannot be read.
    pub fn contains(&self, sha256: &str) -> anyhow::Result<bool> {
        let path = self.path(sha256)?;
        path.try_exists()
            .with_context(|| format!("cannot look for {}", path.display()))
    }

    /// A reader of the plaintext, decrypting from disk as it is read (blocking `Read`: use it
    /// inside `spawn_blocking`). It fails with an error if the file was altered (age
    /// authenticates every 64 KiB chunk).
    ///
    /// # Errors
    ///
    /// If the blob is not stored or its header cannot be decrypted with the at-rest key.
    pub fn open_plaintext(&self, sha256: &str) -> anyhow::Result<Box<dyn Read + Send>> {
        let path = self.path(sha256)?;
        let file = File::open(&path).with_context(|| {
            format!(
                "blob {sha256} is not stored here (cannot open {})",
                path.display()
            )
        })?;
        let decryptor = age::Decryptor::new_buffered(BufReader::with_capacity(256 * 1024, file))
            .with_context(|| format!("{} is not an age file", path.display()))?;
        let identity: &dyn age::Identity = &self.inner.identity;
        let reader = decryptor
            .decrypt(std::iter::once(identity))
            .with_context(|| {
                format!(
                    "cannot decrypt {} with the at-rest key: was at-rest.key replaced?",
                    path.display()
                )
            })?;
        Ok(Box::new(reader))
    }

    /// Starts writing a blob to `blobs/tmp/` (blocking).
    ///
    /// # Errors
    ///
    /// If the temporary file cannot be created.
    pub fn writer(&self) -> std::io::Result<BlobWriter> {
        BlobWriter::new(self.clone())
    }

    /// Stores everything `reader` yields as a blob (blocking) and returns its digest and size.
    /// For tools and tests; uploads go through [`BlobStore::receive`] and the upload checks.
    ///
    /// # Errors
    ///
    /// On any I/O error; nothing is left behind.
    pub fn put(&self, mut reader: impl Read) -> anyhow::Result<StoredBlob> {
        let mut writer = self.writer()?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = reader.read(&mut buf).context("reading the data to store")?;
            if n == 0 {
                break;
            }
            writer.write(&buf[..n])?;
        }
        let written = writer.finish()?;
        let stored = StoredBlob {
            sha256: written.sha256.clone(),
            size: written.size,
        };
        written.install()?;
        Ok(stored)
    }

    fn upload_workers(&self) -> Arc<tokio::sync::Semaphore> {
        self.inner.upload_workers.clone()
    }

    pub(crate) fn tmp_dir(&self) -> &Path {
        &self.inner.tmp
    }
}

/// Removes every entry of `dir`; returns how many there were.
fn clean_dir(dir: &Path) -> anyhow::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        let result = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        result.with_context(|| format!("cannot remove {}", path.display()))?;
        removed += 1;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_encrypts_at_rest_and_open_plaintext_gives_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let written = store.put(&data[..]).unwrap();
        assert_eq!(written.sha256, consign_client::storage::sha256_hex(&data));
        assert_eq!(written.size, data.len() as u64);
        assert!(store.contains(&written.sha256).unwrap());

        let on_disk = std::fs::read(store.path(&written.sha256).unwrap()).unwrap();
        assert!(on_disk.starts_with(b"age-encryption.org/v1\n"));
        assert!(!on_disk.windows(64).any(|w| w == &data[1000..1064]));

        let mut back = Vec::new();
        store
            .open_plaintext(&written.sha256)
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
        assert_eq!(std::fs::read_dir(store.tmp_dir()).unwrap().count(), 0);
    }

    #[test]
    fn reopening_keeps_the_key_and_empties_tmp() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let written = store.put(&b"hello"[..]).unwrap();
        std::fs::write(store.tmp_dir().join("left-over"), b"half an upload").unwrap();
        drop(store);

        let store = BlobStore::open(dir.path()).unwrap();
        assert_eq!(std::fs::read_dir(store.tmp_dir()).unwrap().count(), 0);
        let mut back = String::new();
        store
            .open_plaintext(&written.sha256)
            .unwrap()
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, "hello");
    }

    #[test]
    fn missing_and_malformed_names_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let absent = consign_client::storage::sha256_hex(b"absent");
        assert!(!store.contains(&absent).unwrap());
        let err = store.open_plaintext(&absent).err().unwrap().to_string();
        assert!(err.contains("not stored here"), "{err}");
        assert!(store.contains("../../etc/passwd").is_err());
        assert!(store.path(&absent.to_uppercase()).is_err());
    }
}

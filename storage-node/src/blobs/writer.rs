//! Writing a blob: [`BlobWriter`] (blocking: hash, encrypt, write to `blobs/tmp/`), and
//! [`BlobStore::receive`], which feeds one from an async body through a bounded channel so a
//! multi-gigabyte upload never sits in memory and the async workers never do the hashing.

use std::fs::File;
use std::io::{self, BufWriter, Write as _};

use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use sha2::{Digest as _, Sha256};
use tempfile::TempPath;
use tokio::sync::mpsc;

use super::BlobStore;

/// How many body chunks may wait for the writer thread (each at most a few hundred KiB).
const CHANNEL_DEPTH: usize = 16;
/// The file buffer in front of the encryption.
const FILE_BUFFER: usize = 256 * 1024;

/// A blob being written to `blobs/tmp/`: the plaintext is hashed and encrypted to the at-rest
/// key as it is written. Dropping it before [`finish`](Self::finish) removes the file.
pub struct BlobWriter {
    store: BlobStore,
    temp: TempPath,
    out: age::stream::StreamWriter<BufWriter<File>>,
    hasher: Sha256,
    size: u64,
}

/// A complete blob in `blobs/tmp/`, synced to disk, not yet in place. Dropping it removes it;
/// [`install`](Self::install) moves it to its name.
pub struct WrittenBlob {
    /// SHA-256 of the plaintext, lowercase hex.
    pub sha256: String,
    /// The plaintext's size in bytes.
    pub size: u64,
    store: BlobStore,
    temp: TempPath,
}

impl BlobWriter {
    pub(super) fn new(store: BlobStore) -> io::Result<Self> {
        let (file, temp) = tempfile::Builder::new()
            .prefix("upload-")
            .suffix(".age")
            .tempfile_in(store.tmp_dir())?
            .into_parts();
        let recipient: &dyn age::Recipient = store.recipient();
        let encryptor = age::Encryptor::with_recipients(std::iter::once(recipient))
            .map_err(io::Error::other)?;
        let out = encryptor.wrap_output(BufWriter::with_capacity(FILE_BUFFER, file))?;
        Ok(Self {
            store,
            temp,
            out,
            hasher: Sha256::new(),
            size: 0,
        })
    }

    /// Appends plaintext.
    ///
    /// # Errors
    ///
    /// If the disk write fails (full, read-only, …).
    pub fn write(&mut self, plaintext: &[u8]) -> io::Result<()> {
        self.hasher.update(plaintext);
        self.size += plaintext.len() as u64;
        self.out.write_all(plaintext)
    }

    /// Ends the encryption and syncs the file to disk.
    ///
    /// # Errors
    ///
    /// If the last writes or the sync fail; the file is removed.
    pub fn finish(self) -> io::Result<WrittenBlob> {
        let Self {
            store,
            temp,
            out,
            hasher,
            size,
        } = self;
        let file = out
            .finish()?
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        Ok(WrittenBlob {
            sha256: hex::encode(hasher.finalize()),
            size,
            store,
            temp,
        })
    }
}

impl WrittenBlob {
    /// Moves the blob to `blobs/ab/cd/<sha256>.age` (an atomic rename, then the directory is
    /// synced). If a blob of that name is already there (the same plaintext), this copy is
    /// removed instead. Returns whether the file was put in place.
    ///
    /// # Errors
    ///
    /// If the directories cannot be created or the rename fails.
    pub fn install(self) -> io::Result<bool> {
        let target = self.store.path(&self.sha256).map_err(io::Error::other)?;
        if target.try_exists()? {
            return Ok(false);
        }
        let dir = target.parent().expect("a blob path has a parent directory");
        std::fs::create_dir_all(dir)?;
        self.temp.persist(&target).map_err(|e| e.error)?;
        // Best effort, as before: not every file system can sync a directory.
        let _ = consign_util::fs::sync_dir(dir);
        Ok(true)
    }
}

/// Why [`BlobStore::receive`] kept nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiveError {
    /// More bytes arrived than expected; the rest was not read.
    #[error("the body is longer than the {expected} bytes announced; nothing was stored")]
    TooLong {
        /// The size expected.
        expected: u64,
    },
    /// The body ended at another size than expected.
    #[error("the body has {actual} bytes, not the {expected} announced; nothing was stored")]
    Size {
        /// The size expected.
        expected: u64,
        /// The size received.
        actual: u64,
    },
    /// The body's SHA-256 is not the one expected.
    #[error("the body's SHA-256 is {actual}, not the {expected} announced; nothing was stored")]
    Digest {
        /// The digest expected.
        expected: String,
        /// The digest of what arrived.
        actual: String,
    },
    /// The body stream failed (the client went away mid-upload).
    #[error("the upload was interrupted after {received} bytes: {reason}; nothing was stored, send it again")]
    Interrupted {
        /// Bytes received before it broke.
        received: u64,
        /// The transport's error.
        reason: String,
    },
    /// The node could not write the blob.
    #[error("the storage node could not write the blob: {0}")]
    Io(#[from] io::Error),
}

impl BlobStore {
    /// Receives a blob from an async body: each chunk goes through a bounded channel to a
    /// blocking thread that hashes, encrypts and writes it, so memory stays bounded whatever the
    /// size. Reading stops as soon as more than `size` bytes arrive. The blob is returned synced
    /// in `blobs/tmp/` only if its digest and size are `sha256` and `size`; in every other
    /// case (including this future being dropped) the temporary file is removed.
    ///
    /// # Errors
    ///
    /// [`ReceiveError`] says why nothing was kept.
    pub async fn receive<S, E>(
        &self,
        body: S,
        sha256: &str,
        size: u64,
    ) -> Result<WrittenBlob, ReceiveError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        // `None` marks the end of the body; a channel closed without it is an abort.
        let (tx, mut rx) = mpsc::channel::<Option<Bytes>>(CHANNEL_DEPTH);
        let store = self.clone();
        let writer = tokio::task::spawn_blocking(move || -> io::Result<Option<WrittenBlob>> {
            let mut writer = store.writer()?;
            while let Some(message) = rx.blocking_recv() {
                match message {
                    Some(chunk) => writer.write(&chunk)?,
                    None => return writer.finish().map(Some),
                }
            }
            Ok(None)
        });

        let mut received: u64 = 0;
        let mut body = std::pin::pin!(body);
        let mut failure = None;
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    failure = Some(ReceiveError::Interrupted {
                        received,
                        reason: e.to_string(),
                    });
                    break;
                }
            };
            received += chunk.len() as u64;
            if received > size {
                failure = Some(ReceiveError::TooLong { expected: size });
                break;
            }
            if tx.send(Some(chunk)).await.is_err() {
                break; // The writer failed: its error is reported below.
            }
        }
        if failure.is_none() {
            let _ = tx.send(None).await;
        }
        drop(tx);
        let written = writer
            .await
            .map_err(|e| io::Error::other(format!("the blob writer panicked: {e}")))?;
        if let Some(failure) = failure {
            return Err(failure); // `written` is `Ok(None)` or an error; nothing is left.
        }
        let Some(written) = written? else {
            return Err(io::Error::other("the blob writer stopped early").into());
        };
        if written.size != size {
            return Err(ReceiveError::Size {
                expected: size,
                actual: written.size,
            });
        }
        if written.sha256 != sha256 {
            return Err(ReceiveError::Digest {
                expected: sha256.to_owned(),
                actual: written.sha256,
            });
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use consign_client::storage::sha256_hex;
    use futures_util::stream;

    use super::*;

    fn chunks(data: &[u8]) -> Vec<Result<Bytes, String>> {
        data.chunks(7)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect()
    }

    fn tmp_is_empty(store: &BlobStore) -> bool {
        std::fs::read_dir(store.tmp_dir()).unwrap().count() == 0
    }

    #[tokio::test]
    async fn a_matching_body_is_kept_and_installed() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let data = b"the data for sale".repeat(100);
        let sha = sha256_hex(&data);
        let written = store
            .receive(stream::iter(chunks(&data)), &sha, data.len() as u64)
            .await
            .unwrap();
        assert!(written.install().unwrap());
        let mut back = Vec::new();
        store
            .open_plaintext(&sha)
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
        assert!(tmp_is_empty(&store));
    }

    #[tokio::test]
    async fn mismatches_and_interruptions_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let data = b"0123456789".repeat(10);
        let sha = sha256_hex(&data);
        let len = data.len() as u64;

        let other = sha256_hex(b"other");
        let err = store
            .receive(stream::iter(chunks(&data)), &other, len)
            .await
            .err()
            .unwrap();
        assert!(matches!(err, ReceiveError::Digest { .. }), "{err}");

        let err = store
            .receive(stream::iter(chunks(&data)), &sha, len - 1)
            .await
            .err()
            .unwrap();
        assert!(matches!(err, ReceiveError::TooLong { .. }), "{err}");

        let err = store
            .receive(stream::iter(chunks(&data)), &sha, len + 1)
            .await
            .err()
            .unwrap();
        assert!(matches!(err, ReceiveError::Size { .. }), "{err}");

        let mut broken = chunks(&data[..50]);
        broken.push(Err("connection reset".to_owned()));
        let err = store
            .receive(stream::iter(broken), &sha, len)
            .await
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("interrupted after 50 bytes"),
            "{err}"
        );

        assert!(!store.contains(&sha).unwrap());
        assert!(tmp_is_empty(&store));
    }
}

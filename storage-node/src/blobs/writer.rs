//! Writing a blob: [`BlobWriter`] (blocking: hash, encrypt, write to `blobs/tmp/`), and
//! [`BlobStore::receive`], which reads an async body at a minimum pace and feeds the writer in
//! batches on the node's bounded upload workers, so a multi-gigabyte upload never sits in
//! memory, the async workers never do the hashing, and a slow body holds no thread.

use std::fs::File;
use std::io::{self, BufWriter, Write as _};

use std::time::Duration;

use bytes::Bytes;
use consign_util::pace::{BodyPace, Paced};
use futures_util::Stream;
use sha2::{Digest as _, Sha256};
use tempfile::TempPath;

use super::BlobStore;

/// How much plaintext is gathered before it is handed to an upload worker: at most two
/// batches per upload are in memory (one being written, one arriving).
const BATCH: usize = 256 * 1024;
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
    /// The body arrived slower than the node's minimum rate (or stopped).
    #[error(
        "the upload was cut after {received} bytes: it sent less than {min_rate} bytes per \
         second over {}; nothing was stored, send it again on a faster connection",
        humantime::format_duration(*period)
    )]
    TooSlow {
        /// Bytes received before it was cut.
        received: u64,
        /// The minimum rate (bytes per second).
        min_rate: u64,
        /// The period it is measured over.
        period: Duration,
    },
    /// The node could not write the blob.
    #[error("the storage node could not write the blob: {0}")]
    Io(#[from] io::Error),
}

impl BlobStore {
    /// Receives a blob from an async body. The body is read on the async workers, with
    /// `pace`'s limits, and never holds a thread while it waits; the plaintext is gathered in
    /// batches of 256 KiB, each hashed, encrypted and written by the node's bounded
    /// upload workers (separate from the database's blocking tasks) while the next batch
    /// arrives. Memory stays bounded whatever the size. Reading stops as soon as more than
    /// `size` bytes arrive. The blob is returned synced in `blobs/tmp/` only if its digest and
    /// size are `sha256` and `size`; in every other case (including this future being dropped)
    /// the temporary file is removed.
    ///
    /// # Errors
    ///
    /// [`ReceiveError`] says why nothing was kept.
    pub async fn receive<S, E>(
        &self,
        body: S,
        sha256: &str,
        size: u64,
        pace: BodyPace,
    ) -> Result<WrittenBlob, ReceiveError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        let mut body = std::pin::pin!(body);
        let mut paced = Paced::new(pace);
        let mut received: u64 = 0;
        let mut batch: Vec<Bytes> = Vec::new();
        let mut batch_len = 0usize;
        // The worker writing the previous batch, which hands the writer back.
        let mut pending: Option<Job> = None;
        let mut writer: Option<BlobWriter> = None;
        loop {
            let chunk = match paced.next(&mut body).await {
                Err(_) => {
                    return Err(ReceiveError::TooSlow {
                        received,
                        min_rate: pace.min_rate,
                        period: pace.period,
                    })
                }
                Ok(None) => break,
                Ok(Some(Err(e))) => {
                    return Err(ReceiveError::Interrupted {
                        received,
                        reason: e.to_string(),
                    })
                }
                Ok(Some(Ok(chunk))) => chunk,
            };
            received += chunk.len() as u64;
            if received > size {
                return Err(ReceiveError::TooLong { expected: size });
            }
            batch_len += chunk.len();
            batch.push(chunk);
            if batch_len >= BATCH {
                if let Some(job) = pending.take() {
                    writer = Some(job.wait().await?);
                }
                pending = Some(self.write_batch(writer.take(), std::mem::take(&mut batch)));
                batch_len = 0;
            }
        }
        if let Some(job) = pending.take() {
            writer = Some(job.wait().await?);
        }
        let writer = self.write_batch(writer, batch).wait().await?;
        let written = self.finish_blob(writer).await?;
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

    /// Hands a batch to an upload worker (creating the writer with the first one).
    fn write_batch(&self, writer: Option<BlobWriter>, batch: Vec<Bytes>) -> Job {
        let store = self.clone();
        let workers = self.upload_workers();
        Job(tokio::spawn(async move {
            let _permit = workers
                .acquire_owned()
                .await
                .map_err(|_| io::Error::other("the upload workers are closed"))?;
            tokio::task::spawn_blocking(move || {
                let mut writer = match writer {
                    Some(writer) => writer,
                    None => store.writer()?,
                };
                for chunk in &batch {
                    writer.write(chunk)?;
                }
                Ok(writer)
            })
            .await
            .map_err(|e| io::Error::other(format!("an upload worker panicked: {e}")))?
        }))
    }

    /// Ends the encryption and syncs the file, on an upload worker.
    async fn finish_blob(&self, writer: BlobWriter) -> io::Result<WrittenBlob> {
        let _permit = self
            .upload_workers()
            .acquire_owned()
            .await
            .map_err(|_| io::Error::other("the upload workers are closed"))?;
        tokio::task::spawn_blocking(move || writer.finish())
            .await
            .map_err(|e| io::Error::other(format!("an upload worker panicked: {e}")))?
    }
}

/// A batch being written by an upload worker.
struct Job(tokio::task::JoinHandle<io::Result<BlobWriter>>);

impl Job {
    async fn wait(self) -> io::Result<BlobWriter> {
        self.0
            .await
            .map_err(|e| io::Error::other(format!("an upload worker failed: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;
    use std::time::Instant;

    use consign_client::storage::sha256_hex;
    use futures_util::{stream, StreamExt as _};

    use super::*;

    const PACE: BodyPace = BodyPace {
        period: Duration::from_secs(5),
        min_rate: 1,
    };

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
            .receive(stream::iter(chunks(&data)), &sha, data.len() as u64, PACE)
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
            .receive(stream::iter(chunks(&data)), &other, len, PACE)
            .await
            .err()
            .unwrap();
        assert!(matches!(err, ReceiveError::Digest { .. }), "{err}");

        let err = store
            .receive(stream::iter(chunks(&data)), &sha, len - 1, PACE)
            .await
            .err()
            .unwrap();
        assert!(matches!(err, ReceiveError::TooLong { .. }), "{err}");

        let err = store
            .receive(stream::iter(chunks(&data)), &sha, len + 1, PACE)
            .await
            .err()
            .unwrap();
        assert!(matches!(err, ReceiveError::Size { .. }), "{err}");

        let mut broken = chunks(&data[..50]);
        broken.push(Err("connection reset".to_owned()));
        let err = store
            .receive(stream::iter(broken), &sha, len, PACE)
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

    #[tokio::test]
    async fn a_body_slower_than_the_pace_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let pace = BodyPace {
            period: Duration::from_millis(200),
            min_rate: 100,
        };
        // One byte, then nothing: 20 bytes were due in each 200 ms.
        let trickle =
            stream::iter([Ok::<_, String>(Bytes::from_static(b"x"))]).chain(stream::pending());
        let started = Instant::now();
        let err = store
            .receive(trickle, &sha256_hex(b"xy"), 2, pace)
            .await
            .err()
            .unwrap();
        assert!(
            matches!(err, ReceiveError::TooSlow { received: 1, .. }),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(tmp_is_empty(&store));
    }
}

//! The streamed body of a delivery: a blocking task reads the blob (decrypting the at-rest
//! layer), hashes it and age-encrypts it to the buyer, in chunks, through a bounded channel into
//! the `POST` body, so memory stays at a few chunks whatever the blob's size. The last age
//! chunk is written only once the plaintext's size and SHA-256 match what was registered (the
//! instruction's data, or a custody piece's fragment), so a corrupt blob is never delivered as
//! a complete, decryptable stream.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use consign_client::seal::{self, SealError};
use sha2::{Digest as _, Sha256};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::blobs::BlobStore;

/// Bytes of ciphertext per chunk handed to the HTTP body.
pub(super) const BODY_CHUNK: usize = 512 * 1024;
/// Chunks queued between the encrypting thread and the connection.
const BODY_DEPTH: usize = 4;
/// Bytes of plaintext read from the blob store at a time.
const READ_BUFFER: usize = 256 * 1024;
/// Plaintext buffers read ahead of the encryption.
const READ_AHEAD: usize = 4;
/// How long to wait for the encrypting thread once the endpoint has answered.
const PRODUCER_GRACE: Duration = Duration::from_secs(10);

/// How much of a body the connection has taken: counted once per chunk (not per byte), so the
/// fulfiller can cut an endpoint that takes it too slowly.
#[derive(Debug, Default)]
pub(super) struct Progress {
    taken: AtomicU64,
    finished: AtomicBool,
}

impl Progress {
    /// Ciphertext bytes the connection has taken so far.
    pub(super) fn taken(&self) -> u64 {
        self.taken.load(Ordering::Relaxed)
    }

    /// Whether the connection has taken the whole body.
    pub(super) fn finished(&self) -> bool {
        self.finished.load(Ordering::Relaxed)
    }
}

/// Starts the encrypting thread for the blob `sha256` (`size` bytes, sealed to the age
/// `recipient`) and returns it with the request body it feeds and that body's progress.
pub(super) fn start(
    blobs: BlobStore,
    sha256: String,
    size: u64,
    recipient: String,
) -> (Producer, reqwest::Body, Arc<Progress>) {
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(BODY_DEPTH);
    let cancel = CancellationToken::new();
    let body = BodySender {
        tx,
        cancel: cancel.clone(),
        runtime: tokio::runtime::Handle::current(),
    };
    let producer = Producer {
        handle: tokio::task::spawn_blocking(move || {
            produce(&blobs, &sha256, size, &recipient, body)
        }),
        cancel,
    };
    let progress = Arc::new(Progress::default());
    let counted = Arc::clone(&progress);
    let stream = futures_util::stream::unfold((rx, counted), |(mut rx, counted)| async move {
        match rx.recv().await {
            Some(chunk) => {
                if let Ok(bytes) = &chunk {
                    counted
                        .taken
                        .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                }
                Some((chunk, (rx, counted)))
            }
            None => {
                counted.finished.store(true, Ordering::Relaxed);
                None
            }
        }
    });
    (producer, reqwest::Body::wrap_stream(stream), progress)
}

/// Why the encrypting thread stopped early.
#[derive(Debug, thiserror::Error)]
pub(super) enum ProduceError {
    /// The blob cannot be read (missing, or altered at rest).
    #[error("cannot read blob {sha256}: {reason}")]
    Blob { sha256: String, reason: String },
    /// The blob is not what was registered.
    #[error("blob {sha256} is not what was registered: {reason}; nothing decryptable was sent")]
    Mismatch { sha256: String, reason: String },
    /// Sealing failed (a bad recipient).
    #[error("{0}")]
    Seal(#[from] SealError),
    /// The connection dropped the body before the end.
    #[error("the connection closed after {sent} bytes, before the whole body was sent")]
    Closed { sent: u64 },
}

/// The encrypting thread of one request. Dropping it cancels the thread (it stops at its next
/// chunk, even if the connection stalls).
pub(super) struct Producer {
    handle: JoinHandle<Result<u64, ProduceError>>,
    cancel: CancellationToken,
}

impl Producer {
    /// Stops the thread at its next chunk.
    pub(super) fn cancel(&self) {
        self.cancel.cancel();
    }

    /// The thread's result, waiting at most [`PRODUCER_GRACE`]; `None` if it did not finish in
    /// time (it is cancelled then) or panicked.
    pub(super) async fn result(mut self) -> Option<Result<u64, ProduceError>> {
        match tokio::time::timeout(PRODUCER_GRACE, &mut self.handle).await {
            Ok(Ok(result)) => Some(result),
            Ok(Err(_)) | Err(_) => None,
        }
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// The encrypting thread's end of the body channel.
struct BodySender {
    tx: mpsc::Sender<io::Result<Bytes>>,
    cancel: CancellationToken,
    runtime: tokio::runtime::Handle,
}

impl BodySender {
    /// Queues `item` for the body, waiting while the queue is full; `false` once the body was
    /// dropped or the request is over.
    fn send(&self, item: io::Result<Bytes>) -> bool {
        self.runtime.block_on(async {
            tokio::select! {
                biased;
                () = self.cancel.cancelled() => false,
                sent = self.tx.send(item) => sent.is_ok(),
            }
        })
    }
}

/// The HTTP body's end of the encrypting thread: collects ciphertext into chunks of
/// [`BODY_CHUNK`] bytes and hands them over, waiting while [`BODY_DEPTH`] are queued.
struct BodyWriter {
    body: Arc<BodySender>,
    buf: BytesMut,
    sent: Arc<AtomicU64>,
}

impl BodyWriter {
    fn push(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = self.buf.split().freeze();
        let len = chunk.len() as u64;
        if !self.body.send(Ok(chunk)) {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the request body was dropped",
            ));
        }
        self.sent.fetch_add(len, Ordering::Relaxed);
        self.buf.reserve(BODY_CHUNK);
        Ok(())
    }
}

impl Write for BodyWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(buf);
        if self.buf.len() >= BODY_CHUNK {
            self.push()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The encrypting thread: plaintext from the blob store → SHA-256 and size checks → age to
/// `recipient` → the body channel. Returns the ciphertext bytes sent. On an error the body gets
/// an error too, so the request is aborted and the final age chunk is never sent.
fn produce(
    blobs: &BlobStore,
    sha256: &str,
    expected_size: u64,
    recipient: &str,
    body: BodySender,
) -> Result<u64, ProduceError> {
    let body = Arc::new(body);
    let sent = Arc::new(AtomicU64::new(0));
    let result = produce_into(
        blobs,
        sha256,
        expected_size,
        recipient,
        BodyWriter {
            body: Arc::clone(&body),
            buf: BytesMut::with_capacity(BODY_CHUNK),
            sent: Arc::clone(&sent),
        },
    );
    let result = result.map_err(|error| match error {
        // Writing to the body only fails when the connection dropped it.
        ProduceError::Seal(SealError::Io { source, .. })
            if source.kind() == io::ErrorKind::BrokenPipe =>
        {
            ProduceError::Closed {
                sent: sent.load(Ordering::Relaxed),
            }
        }
        other => other,
    });
    match result {
        Ok(()) => Ok(sent.load(Ordering::Relaxed)),
        Err(ProduceError::Closed { sent }) => Err(ProduceError::Closed { sent }),
        Err(error) => {
            body.send(Err(io::Error::other(error.to_string())));
            Err(error)
        }
    }
}

fn produce_into(
    blobs: &BlobStore,
    sha256: &str,
    expected_size: u64,
    recipient: &str,
    body: BodyWriter,
) -> Result<(), ProduceError> {
    let blob_error = |reason: String| ProduceError::Blob {
        sha256: sha256.to_owned(),
        reason,
    };
    let plaintext = blobs
        .open_plaintext(sha256)
        .map_err(|e| blob_error(format!("{e:#}")))?;
    let mut sealer = seal::seal(recipient, body)?;
    let send_error = |source| {
        ProduceError::Seal(SealError::Io {
            action: "sending the delivery",
            source,
        })
    };
    // Two threads: one reads (decrypting at rest), this one hashes and encrypts, so the two
    // ciphers run in parallel; buffers go back to the reader to be reused.
    std::thread::scope(|scope| {
        let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<io::Result<Vec<u8>>>(READ_AHEAD);
        let (empty_tx, empty_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(READ_AHEAD + 2);
        std::thread::Builder::new()
            .name("blob-reader".into())
            .spawn_scoped(scope, move || read_ahead(plaintext, &full_tx, &empty_rx))
            .map_err(|e| blob_error(format!("cannot start a reader thread: {e}")))?;
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        for chunk in full_rx {
            let chunk = chunk.map_err(|e| blob_error(e.to_string()))?;
            size += chunk.len() as u64;
            if size > expected_size {
                return Err(ProduceError::Mismatch {
                    sha256: sha256.to_owned(),
                    reason: format!("it is longer than the {expected_size} bytes expected"),
                });
            }
            hasher.update(&chunk);
            sealer.write_all(&chunk).map_err(send_error)?;
            let _ = empty_tx.try_send(chunk);
        }
        if size != expected_size {
            return Err(ProduceError::Mismatch {
                sha256: sha256.to_owned(),
                reason: format!("it is {size} bytes, {expected_size} were expected"),
            });
        }
        let digest = hex::encode(hasher.finalize());
        if digest != sha256 {
            return Err(ProduceError::Mismatch {
                sha256: sha256.to_owned(),
                reason: format!("its plaintext's SHA-256 is {digest}"),
            });
        }
        // Only now, with the plaintext checked, the final age chunk.
        let mut body = sealer.finish()?;
        body.push().map_err(send_error)
    })
}

/// The reader thread: fills buffers of [`READ_BUFFER`] bytes from `plaintext` and sends them,
/// until the end, an error (sent too), or the receiver hanging up.
fn read_ahead(
    mut plaintext: Box<dyn std::io::Read + Send>,
    full: &std::sync::mpsc::SyncSender<io::Result<Vec<u8>>>,
    empty: &std::sync::mpsc::Receiver<Vec<u8>>,
) {
    loop {
        let mut buf = empty.try_recv().unwrap_or_default();
        buf.resize(READ_BUFFER, 0);
        let mut filled = 0;
        while filled < buf.len() {
            match plaintext.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = full.send(Err(e));
                    return;
                }
            }
        }
        if filled == 0 {
            return;
        }
        buf.truncate(filled);
        if full.send(Ok(buf)).is_err() {
            return;
        }
    }
}

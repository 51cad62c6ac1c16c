//! Decrypting a request body as it arrives: the async side forwards body chunks through a
//! bounded channel to a blocking task that reads them as a [`Read`], decrypts, hashes and
//! writes the plaintext to a `.part` file. Memory stays at a few chunks whatever the size.

use std::fmt::Display;
use std::io::{self, BufWriter, Read, Write};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use consign_util::pace::{BodyPace, Paced};
use futures_util::Stream;
use tempfile::NamedTempFile;
use tokio::sync::mpsc;

use super::{Delivery, InboxError};
use crate::seal::{open_verified, AgeIdentity, OpenReport, SealError};

/// Body chunks in flight between the network and the decrypting task.
const CHANNEL_CHUNKS: usize = 16;
/// The plaintext's write buffer.
const WRITE_BUFFER: usize = 1 << 20;
/// The least time between two progress reports.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);
/// Room for the age header (recipient stanzas, MAC) on top of the payload.
const HEADER_ALLOWANCE: u64 = 64 * 1024;
/// age's payload chunk and its authentication tag, and the stream nonce before the first chunk.
const AGE_CHUNK: u64 = 64 * 1024;
const AGE_TAG: u64 = 16;
const AGE_NONCE: u64 = 16;

/// The most ciphertext an age encryption of `size` plaintext bytes to one X25519 recipient can
/// take (with generous room for the header).
pub(super) fn ciphertext_limit(size: u64) -> u64 {
    let chunks = size.div_ceil(AGE_CHUNK).max(1);
    size.saturating_add(chunks.saturating_mul(AGE_TAG))
        .saturating_add(AGE_NONCE)
        .saturating_add(HEADER_ALLOWANCE)
}

/// What a body decrypted into `part`: the plaintext's report, or why it failed.
pub(super) struct Decrypted {
    pub(super) part: NamedTempFile,
    pub(super) report: OpenReport,
}

/// A [`Read`] over body chunks sent through a channel by the async side ([`pump`]).
pub(super) struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl ChannelReader {
    /// A body's channel and the reader of what comes through it, for a blocking task.
    pub(super) fn channel() -> (mpsc::Sender<io::Result<Bytes>>, Self) {
        let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
        (
            tx,
            Self {
                rx,
                current: Bytes::new(),
            },
        )
    }
}

/// How a body's transfer to its reader ended, besides its end: broken off, too slow, or longer
/// than its limit. The reader got an I/O error in each of these cases.
#[derive(Default)]
pub(super) struct Pumped {
    pub(super) broken: Option<String>,
    pub(super) too_slow: Option<String>,
    pub(super) too_long: bool,
}

/// Forwards `body` to a [`ChannelReader`] through `tx`, at `pace`, up to `limit` bytes; stops
/// early when the reader is dropped (it failed: its error says why).
pub(super) async fn pump<S, B, E>(
    body: &mut S,
    tx: mpsc::Sender<io::Result<Bytes>>,
    limit: u64,
    pace: BodyPace,
) -> Pumped
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: Buf,
    E: Display,
{
    let mut pumped = Pumped::default();
    let mut received: u64 = 0;
    let mut paced = Paced::new(pace);
    loop {
        let item = match paced.next(body).await {
            Ok(Some(item)) => item,
            Ok(None) => break,
            Err(reason) => {
                pumped.too_slow = Some(reason.to_string());
                let _ = tx
                    .send(Err(io::Error::other("the body came too slowly")))
                    .await;
                break;
            }
        };
        let chunk = match item {
            Ok(mut buf) => buf.copy_to_bytes(buf.remaining()),
            Err(e) => {
                let reason = e.to_string();
                pumped.broken = Some(reason.clone());
                let _ = tx.send(Err(io::Error::other(reason))).await;
                break;
            }
        };
        if chunk.is_empty() {
            continue;
        }
        received = received.saturating_add(chunk.len() as u64);
        if received > limit {
            pumped.too_long = true;
            let _ = tx
                .send(Err(io::Error::other("the body is longer than allowed")))
                .await;
            break;
        }
        if tx.send(Ok(chunk)).await.is_err() {
            break;
        }
    }
    pumped
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(bytes)) => self.current = bytes,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        self.current.copy_to_slice(&mut buf[..n]);
        Ok(n)
    }
}

/// Counts the plaintext written and reports it at most every [`PROGRESS_EVERY`]; remembers a
/// failed write, so a full disk is told apart from a broken body.
struct Progress<W, F> {
    inner: W,
    written: u64,
    last: Instant,
    report: F,
    failed: bool,
}

impl<W: Write, F: FnMut(u64)> Write for Progress<W, F> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf).inspect_err(|_| self.failed = true)?;
        self.written += n as u64;
        if self.last.elapsed() >= PROGRESS_EVERY {
            self.last = Instant::now();
            (self.report)(self.written);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().inspect_err(|_| self.failed = true)
    }
}

/// Decrypts `body` with `identity` into `part`, checking the plaintext is exactly the
/// delivery's size with its SHA-256, reading `body` at `pace`; `progress` is told the plaintext
/// bytes written so far (and once more at the end). On success the file is flushed and synced.
pub(super) async fn decrypt_body<S, B, E>(
    delivery: &Delivery,
    identity: AgeIdentity,
    body: &mut S,
    pace: BodyPace,
    part: NamedTempFile,
    mut progress: impl FnMut(u64) + Send + 'static,
) -> Result<Decrypted, InboxError>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: Buf,
    E: Display,
{
    let (purchase_id, size) = (delivery.purchase_id, delivery.size);
    let sha256 = delivery.sha256.clone();
    let (tx, reader) = ChannelReader::channel();
    let task = tokio::task::spawn_blocking(move || {
        let mut writer = BufWriter::with_capacity(
            WRITE_BUFFER,
            Progress {
                inner: part.as_file(),
                written: 0,
                last: Instant::now(),
                report: &mut progress,
                failed: false,
            },
        );
        let result = open_verified(&identity, reader, &mut writer, &sha256, size)
            .and_then(|report| {
                writer.flush().map_err(|source| SealError::Io {
                    action: "writing the plaintext",
                    source,
                })?;
                Ok(report)
            })
            .and_then(|report| {
                part.as_file().sync_all().map_err(|source| {
                    writer.get_mut().failed = true;
                    SealError::Io {
                        action: "syncing the plaintext",
                        source,
                    }
                })?;
                Ok(report)
            });
        let write_failed = writer.get_ref().failed;
        drop(writer);
        if let Ok(report) = &result {
            progress(report.size);
        }
        (result, write_failed, part)
    });

    let limit = ciphertext_limit(size);
    let Pumped {
        broken,
        too_slow,
        too_long,
    } = pump(body, tx, limit, pace).await;

    let (result, write_failed, part) = task.await.map_err(|e| InboxError::Internal {
        purchase_id,
        reason: format!("the decrypting task failed: {e}"),
    })?;
    if let Some(reason) = too_slow {
        return Err(InboxError::BodyTooSlow {
            purchase_id,
            reason,
        });
    }
    match result {
        Ok(report) => Ok(Decrypted { part, report }),
        Err(_) if too_long => Err(InboxError::BodyTooLong {
            purchase_id,
            size,
            limit,
        }),
        Err(SealError::Io { action, source }) if write_failed => Err(InboxError::Storage {
            action,
            path: part.path().to_owned(),
            source,
        }),
        Err(SealError::Io { source, .. }) => Err(InboxError::BodyBroken {
            purchase_id,
            reason: broken.unwrap_or_else(|| source.to_string()),
        }),
        Err(_) if broken.is_some() => Err(InboxError::BodyBroken {
            purchase_id,
            reason: broken.unwrap_or_default(),
        }),
        Err(source) => Err(InboxError::Verification {
            purchase_id,
            source,
        }),
    }
}

/// Reads and discards what is left of `body`, up to `limit` bytes, or until it ends, fails or
/// comes slower than `pace`.
pub(super) async fn drain<S, B, E>(body: &mut S, limit: u64, pace: BodyPace)
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: Buf,
{
    let mut drained: u64 = 0;
    let mut paced = Paced::new(pace);
    while drained <= limit {
        match paced.next(body).await {
            Ok(Some(Ok(buf))) => drained = drained.saturating_add(buf.remaining() as u64),
            Ok(Some(Err(_)) | None) | Err(_) => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_covers_every_chunk_and_the_header() {
        assert_eq!(ciphertext_limit(0), 16 + 16 + HEADER_ALLOWANCE);
        assert_eq!(
            ciphertext_limit(AGE_CHUNK + 1),
            AGE_CHUNK + 1 + 2 * 16 + 16 + HEADER_ALLOWANCE
        );
        assert!(ciphertext_limit(u64::MAX) == u64::MAX);
    }
}

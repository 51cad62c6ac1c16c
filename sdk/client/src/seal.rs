//! Sealing and opening deliveries: the [age](https://age-encryption.org/v1) format with an
//! X25519 recipient, streamed in both directions so a multi-gigabyte delivery never sits whole in
//! memory.
//!
//! The storage node **seals** a blob to the buyer's recipient (`age1…`, the instruction's
//! `recipient.key`) with [`seal`] (a [`Write`] adapter) or [`SealReader`] (a [`Read`] adapter,
//! handy as an HTTP request body). The buyer **opens** it with its [`AgeIdentity`] through
//! [`open_verified`], which decrypts as it reads, hashes the plaintext on the way, and fails
//! unless the plaintext has exactly the offer's SHA-256 and size. Any age implementation can
//! open what [`seal`] writes (`age -d -i key.txt`), and [`AgeIdentity`] reads and writes the
//! identity files `age-keygen` writes.
//!
//! ```
//! use consign_client::seal::{open_verified, seal, AgeIdentity};
//! use std::io::Write as _;
//!
//! let buyer = AgeIdentity::generate();
//! let data = b"the data that was sold";
//!
//! let mut sealer = seal(&buyer.recipient(), Vec::new())?;
//! sealer.write_all(data)?;
//! let ciphertext = sealer.finish()?;
//!
//! let mut plaintext = Vec::new();
//! let digest = consign_client::storage::sha256_hex(data);
//! let report = open_verified(&buyer, &ciphertext[..], &mut plaintext, &digest, data.len() as u64)?;
//! assert_eq!(plaintext, data);
//! assert_eq!(report.sha256, digest);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};

use age::secrecy::ExposeSecret as _;
use sha2::{Digest, Sha256};

/// How a secret key line of an age identity file starts.
const SECRET_KEY_PREFIX: &str = "AGE-SECRET-KEY-1";
/// The comment line of an `age-keygen` file that names the public key.
const PUBLIC_KEY_COMMENT: &str = "# public key: ";
/// The size of the buffers the streaming adapters read with: age's own chunk size.
const BUFFER_SIZE: usize = 64 * 1024;

/// Sealing or opening a delivery failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The recipient is not an age X25519 recipient.
    #[error("invalid age recipient `{recipient}`: {reason}; expected an X25519 recipient `age1…`, like the `# public key:` line of an age-keygen file")]
    InvalidRecipient {
        /// The recipient given.
        recipient: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The identity is not an age X25519 identity (the secret itself is never in the message).
    #[error("invalid age identity: {reason}; expected an identity file written by age-keygen (one line `AGE-SECRET-KEY-1…`)")]
    InvalidIdentity {
        /// What is wrong with it.
        reason: String,
    },
    /// An identity file could not be read or written.
    #[error("cannot {action} the age identity file {}: {source}", path.display())]
    IdentityFile {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The input does not start with an age header.
    #[error("not an age file: {reason}")]
    NotAge {
        /// What is wrong with it.
        reason: String,
    },
    /// The data is encrypted, but not to this identity.
    #[error("the data is not encrypted to this identity (public key {recipient}); open it with the identity whose public key was given as the recipient")]
    WrongIdentity {
        /// The identity's own recipient.
        recipient: String,
    },
    /// The stream ends cleanly between two chunks but before its last chunk.
    #[error("the age stream is truncated: it ends before its final chunk; the transfer was cut short, ask for it again")]
    Truncated,
    /// A chunk or the header does not authenticate.
    #[error("the age stream does not decrypt: it is truncated, corrupted or was tampered with ({reason})")]
    Corrupted {
        /// age's error.
        reason: String,
    },
    /// The plaintext is shorter than expected.
    #[error(
        "the plaintext is {actual} bytes, expected {expected}: this is not the data that was sold"
    )]
    SizeMismatch {
        /// The size expected.
        expected: u64,
        /// The size found.
        actual: u64,
    },
    /// The plaintext is longer than expected; reading stopped there.
    #[error("the plaintext is longer than the expected {expected} bytes: this is not the data that was sold")]
    TooLong {
        /// The size expected.
        expected: u64,
    },
    /// The plaintext has the expected size but not the expected digest.
    #[error("the plaintext's SHA-256 is {actual}, expected {expected}: this is not the data that was sold")]
    DigestMismatch {
        /// The digest expected, lowercase hex.
        expected: String,
        /// The digest of what was decrypted, lowercase hex.
        actual: String,
    },
    /// Reading the input or writing the output failed.
    #[error("i/o error while {action}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
}

impl SealError {
    fn io(action: &'static str) -> impl FnOnce(io::Error) -> Self {
        move |source| Self::Io { action, source }
    }
}

/// Parses an age X25519 recipient (`age1…`).
fn parse_recipient(recipient: &str) -> Result<age::x25519::Recipient, SealError> {
    let prefix = recipient.trim_start().get(..SECRET_KEY_PREFIX.len());
    if prefix.is_some_and(|p| p.eq_ignore_ascii_case(SECRET_KEY_PREFIX)) {
        // A secret key given by mistake is never repeated: errors end up in logs.
        return Err(SealError::InvalidRecipient {
            recipient: format!("{SECRET_KEY_PREFIX}…"),
            reason: "this is a secret key, which must stay private; pass its public recipient \
                     age1… instead (`age-keygen -y KEYFILE` prints it)"
                .to_owned(),
        });
    }
    age::x25519::Recipient::from_str(recipient.trim()).map_err(|reason| {
        SealError::InvalidRecipient {
            recipient: recipient.to_owned(),
            reason: reason.to_owned(),
        }
    })
}

/// Checks that `recipient` is an age X25519 recipient (`age1…`).
///
/// # Errors
///
/// [`SealError::InvalidRecipient`] saying what is wrong.
pub fn validate_recipient(recipient: &str) -> Result<(), SealError> {
    parse_recipient(recipient).map(|_| ())
}

/// An age encryption in progress: plaintext written to it comes out of the inner writer
/// encrypted. Call [`finish`](Self::finish) at the end: without it the output is truncated and
/// will not decrypt.
pub struct Sealer<W: Write> {
    inner: age::stream::StreamWriter<W>,
}

impl<W: Write> fmt::Debug for Sealer<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer").finish_non_exhaustive()
    }
}

/// Starts sealing to `recipient` (`age1…`): writes the age header to `out` and returns the
/// writer to put the plaintext into. Output is written in age's 64 KiB chunks as the plaintext
/// comes; nothing else is buffered.
///
/// # Errors
///
/// [`SealError::InvalidRecipient`] for a bad recipient, [`SealError::Io`] if the header cannot
/// be written.
pub fn seal<W: Write>(recipient: &str, out: W) -> Result<Sealer<W>, SealError> {
    let recipient = parse_recipient(recipient)?;
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
            .map_err(|e| SealError::InvalidRecipient {
                recipient: recipient.to_string(),
                reason: e.to_string(),
            })?;
    let inner = encryptor
        .wrap_output(out)
        .map_err(SealError::io("writing the age header"))?;
    Ok(Sealer { inner })
}

impl<W: Write> Sealer<W> {
    /// Writes the final chunk and returns the inner writer (not flushed).
    ///
    /// # Errors
    ///
    /// [`SealError::Io`] if the inner writer fails.
    pub fn finish(self) -> Result<W, SealError> {
        self.inner
            .finish()
            .map_err(SealError::io("writing the last age chunk"))
    }
}

impl<W: Write> Write for Sealer<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The ciphertext a [`Sealer`] has produced and a [`SealReader`] has not yet handed out.
#[derive(Clone, Default)]
struct Pending(Arc<Mutex<Vec<u8>>>);

impl Write for Pending {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Seals a plaintext reader: reading from it yields the age file, encrypted to the recipient as
/// it is read (at most about two age chunks are held at a time). Useful as a streaming HTTP
/// request body.
pub struct SealReader<R> {
    plaintext: R,
    sealer: Option<Sealer<Pending>>,
    pending: Pending,
    /// How much of `pending` has been handed out.
    position: usize,
    scratch: Vec<u8>,
}

impl<R> fmt::Debug for SealReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealReader")
            .field("finished", &self.sealer.is_none())
            .finish_non_exhaustive()
    }
}

/// A reader of the age file of `plaintext` sealed to `recipient`. The header is produced at
/// once; the rest as it is read.
///
/// # Errors
///
/// [`SealError::InvalidRecipient`] for a bad recipient.
pub fn seal_reader<R: Read>(recipient: &str, plaintext: R) -> Result<SealReader<R>, SealError> {
    let pending = Pending::default();
    let sealer = seal(recipient, pending.clone())?;
    Ok(SealReader {
        plaintext,
        sealer: Some(sealer),
        pending,
        position: 0,
        scratch: vec![0; BUFFER_SIZE],
    })
}

impl<R: Read> Read for SealReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            {
                let mut pending = self
                    .pending
                    .0
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if self.position < pending.len() {
                    let n = buf.len().min(pending.len() - self.position);
                    buf[..n].copy_from_slice(&pending[self.position..self.position + n]);
                    self.position += n;
                    return Ok(n);
                }
                pending.clear();
                self.position = 0;
            }
            let Some(sealer) = self.sealer.as_mut() else {
                return Ok(0);
            };
            let n = match self.plaintext.read(&mut self.scratch) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                if let Some(sealer) = self.sealer.take() {
                    sealer.finish().map_err(io::Error::other)?;
                }
            } else {
                sealer.write_all(&self.scratch[..n])?;
            }
        }
    }
}

/// What was opened: the plaintext's digest and size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenReport {
    /// SHA-256 of the plaintext, lowercase hex.
    pub sha256: String,
    /// The plaintext's size in bytes.
    pub size: u64,
}

/// Decrypts the age file read from `ciphertext` with `identity`, writing the plaintext to `out`
/// as it goes and hashing it, and checks it is exactly `expected_size` bytes with the SHA-256
/// `expected_sha256` (hex, either case).
///
/// On any error, what was already written to `out` must be thrown away: write to a temporary
/// file and keep it only on success.
///
/// # Errors
///
/// [`SealError::WrongIdentity`], [`SealError::NotAge`], [`SealError::Truncated`],
/// [`SealError::Corrupted`], [`SealError::TooLong`], [`SealError::SizeMismatch`],
/// [`SealError::DigestMismatch`], or [`SealError::Io`] if reading or writing fails.
pub fn open_verified<R: Read, W: Write>(
    identity: &AgeIdentity,
    ciphertext: R,
    out: W,
    expected_sha256: &str,
    expected_size: u64,
) -> Result<OpenReport, SealError> {
    let report = open_inner(identity, ciphertext, out, Some(expected_size))?;
    if report.size != expected_size {
        return Err(SealError::SizeMismatch {
            expected: expected_size,
            actual: report.size,
        });
    }
    let expected = expected_sha256.trim().to_ascii_lowercase();
    if report.sha256 != expected {
        return Err(SealError::DigestMismatch {
            expected,
            actual: report.sha256,
        });
    }
    Ok(report)
}

/// Decrypts the age file read from `ciphertext` with `identity`, writing the plaintext to `out`,
/// and reports its digest and size without checking them against anything.
///
/// # Errors
///
/// As [`open_verified`], without the size and digest checks.
pub fn open<R: Read, W: Write>(
    identity: &AgeIdentity,
    ciphertext: R,
    out: W,
) -> Result<OpenReport, SealError> {
    open_inner(identity, ciphertext, out, None)
}

fn open_inner<R: Read, W: Write>(
    identity: &AgeIdentity,
    ciphertext: R,
    mut out: W,
    limit: Option<u64>,
) -> Result<OpenReport, SealError> {
    let decryptor = age::Decryptor::new(ciphertext).map_err(|e| decrypt_error(e, identity))?;
    let mut plaintext = decryptor
        .decrypt(std::iter::once(&identity.inner as &dyn age::Identity))
        .map_err(|e| decrypt_error(e, identity))?;
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let mut buf = vec![0; BUFFER_SIZE];
    loop {
        let n = match plaintext.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(stream_error(e)),
        };
        size += n as u64;
        if let Some(limit) = limit {
            if size > limit {
                return Err(SealError::TooLong { expected: limit });
            }
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(SealError::io("writing the plaintext"))?;
    }
    out.flush()
        .map_err(SealError::io("writing the plaintext"))?;
    Ok(OpenReport {
        sha256: hex::encode(hasher.finalize()),
        size,
    })
}

/// A reader of the plaintext of the age file read from `ciphertext`, decrypted with `identity`
/// as it is read (a custody fragment streams through it into its check). Errors of the payload
/// stream come out of its `read` as I/O errors: map them with [`stream_error`].
///
/// # Errors
///
/// [`SealError::WrongIdentity`], [`SealError::NotAge`] or [`SealError::Io`] if the header cannot
/// be read or opened with `identity`.
pub(crate) fn decrypting_reader<R: Read>(
    identity: &AgeIdentity,
    ciphertext: R,
) -> Result<impl Read, SealError> {
    let decryptor = age::Decryptor::new(ciphertext).map_err(|e| decrypt_error(e, identity))?;
    decryptor
        .decrypt(std::iter::once(&identity.inner as &dyn age::Identity))
        .map_err(|e| decrypt_error(e, identity))
}

/// Maps an error of age's header parsing or key unwrapping.
fn decrypt_error(error: age::DecryptError, identity: &AgeIdentity) -> SealError {
    use age::DecryptError as E;
    match error {
        E::NoMatchingKeys => SealError::WrongIdentity {
            recipient: identity.recipient(),
        },
        E::InvalidHeader | E::UnknownFormat => SealError::NotAge {
            reason: error.to_string(),
        },
        E::Io(e) => match e.kind() {
            io::ErrorKind::UnexpectedEof => SealError::NotAge {
                reason: "the input ends inside the age header".into(),
            },
            io::ErrorKind::InvalidData => SealError::NotAge {
                reason: e.to_string(),
            },
            _ => SealError::Io {
                action: "reading the age header",
                source: e,
            },
        },
        other => SealError::Corrupted {
            reason: other.to_string(),
        },
    }
}

/// Maps an error of age's payload stream.
pub(crate) fn stream_error(error: io::Error) -> SealError {
    match error.kind() {
        io::ErrorKind::UnexpectedEof => SealError::Truncated,
        io::ErrorKind::InvalidData => SealError::Corrupted {
            reason: error.to_string(),
        },
        _ => SealError::Io {
            action: "reading the age stream",
            source: error,
        },
    }
}

/// An age X25519 identity: the secret key a buyer decrypts deliveries with. Its
/// [`recipient`](Self::recipient) (`age1…`) is what goes in a purchase.
///
/// Reads and writes the file format of `age-keygen`:
///
/// ```text
/// # created: 2025-01-01T00:00:00Z
/// # public key: age1…
/// AGE-SECRET-KEY-1…
/// ```
///
/// `Debug` shows the public key only.
#[derive(Clone)]
pub struct AgeIdentity {
    inner: age::x25519::Identity,
}

impl fmt::Debug for AgeIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgeIdentity")
            .field("recipient", &self.recipient())
            .finish_non_exhaustive()
    }
}

impl AgeIdentity {
    /// A new identity from the operating system's random source.
    pub fn generate() -> Self {
        Self {
            inner: age::x25519::Identity::generate(),
        }
    }

    /// The age identity itself: `consign_custody`'s key shares are sealed to its public half
    /// and opened with it.
    pub fn as_age(&self) -> &age::x25519::Identity {
        &self.inner
    }

    /// The public recipient, `age1…`: what a sender encrypts to.
    pub fn recipient(&self) -> String {
        self.inner.to_public().to_string()
    }

    /// Parses a bare secret key (`AGE-SECRET-KEY-1…`) or the contents of an identity file as
    /// `age-keygen` writes it: `#` comment lines, blank lines and exactly one secret key line. If
    /// a `# public key:` comment is present it must match the key.
    ///
    /// # Errors
    ///
    /// [`SealError::InvalidIdentity`]; the message never contains the secret.
    pub fn parse(text: &str) -> Result<Self, SealError> {
        let invalid = |reason: String| SealError::InvalidIdentity { reason };
        let mut found: Option<Self> = None;
        let mut claimed_public: Option<String> = None;
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            let number = index + 1;
            if line.is_empty() {
                continue;
            }
            if let Some(public) = line.strip_prefix(PUBLIC_KEY_COMMENT.trim_end()) {
                claimed_public = Some(public.trim().to_owned());
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            if !line
                .get(..SECRET_KEY_PREFIX.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(SECRET_KEY_PREFIX))
            {
                return Err(invalid(format!(
                    "line {number} is not an X25519 secret key `{SECRET_KEY_PREFIX}…` (plugin, passphrase and SSH identities are not supported)"
                )));
            }
            if found.is_some() {
                return Err(invalid(format!(
                    "line {number} is a second secret key; keep one identity per file"
                )));
            }
            let inner = age::x25519::Identity::from_str(&line.to_ascii_uppercase())
                .map_err(|reason| invalid(format!("the secret key on line {number}: {reason}")))?;
            found = Some(Self { inner });
        }
        let identity = found.ok_or_else(|| invalid("no secret key line found".into()))?;
        if let Some(claimed) = claimed_public {
            let actual = identity.recipient();
            if claimed != actual {
                return Err(invalid(format!(
                    "its `# public key:` comment says {claimed}, but the secret key's public key is {actual}"
                )));
            }
        }
        Ok(identity)
    }

    /// The identity in the `age-keygen` file format (creation time, public key, secret key).
    /// It holds the secret: keep it private.
    pub fn to_keygen_file(&self) -> String {
        format!(
            "# created: {}\n{PUBLIC_KEY_COMMENT}{}\n{}\n",
            rfc3339_utc(std::time::SystemTime::now()),
            self.recipient(),
            self.inner.to_string().expose_secret()
        )
    }

    /// Reads an identity file (see [`parse`](Self::parse)).
    ///
    /// # Errors
    ///
    /// [`SealError::IdentityFile`] if it cannot be read, [`SealError::InvalidIdentity`] if it is
    /// not an identity file.
    pub fn load(path: &Path) -> Result<Self, SealError> {
        let text = std::fs::read_to_string(path).map_err(|source| SealError::IdentityFile {
            action: "read",
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Writes the identity to a new file in the `age-keygen` format, atomically and readable by
    /// its owner only (mode 0600 on Unix). Refuses to replace an existing file.
    ///
    /// # Errors
    ///
    /// [`SealError::IdentityFile`] if the file exists or cannot be written.
    pub fn save_new(&self, path: &Path) -> Result<(), SealError> {
        let io = |source| SealError::IdentityFile {
            action: "write",
            path: path.to_owned(),
            source,
        };
        crate::keys::write_private_file(path, self.to_keygen_file().as_bytes(), false).map_err(io)
    }
}

impl From<age::x25519::Identity> for AgeIdentity {
    fn from(inner: age::x25519::Identity) -> Self {
        Self { inner }
    }
}

impl FromStr for AgeIdentity {
    type Err = SealError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// `time` as `YYYY-MM-DDTHH:MM:SSZ`.
fn rfc3339_utc(time: std::time::SystemTime) -> String {
    let secs = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::sha256_hex;

    fn sealed(recipient: &str, data: &[u8]) -> Vec<u8> {
        let mut sealer = seal(recipient, Vec::new()).unwrap();
        sealer.write_all(data).unwrap();
        sealer.finish().unwrap()
    }

    /// Deterministic pseudo-random bytes, generated as they are read.
    struct Generated {
        remaining: u64,
        state: u64,
    }

    impl Read for Generated {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf
                .len()
                .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
            for byte in &mut buf[..n] {
                self.state = self
                    .state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                *byte = (self.state >> 56) as u8;
            }
            self.remaining -= n as u64;
            Ok(n)
        }
    }

    /// A reader that hands out at most `step` bytes per call.
    struct Trickle<R>(R, usize);

    impl<R: Read> Read for Trickle<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.1);
            self.0.read(&mut buf[..n])
        }
    }

    #[test]
    fn round_trips_small_empty_and_chunk_sized_plaintexts() {
        let id = AgeIdentity::generate();
        for size in [0usize, 1, 1000, 64 * 1024, 64 * 1024 + 1, 3 * 64 * 1024] {
            let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let ciphertext = sealed(&id.recipient(), &data);
            assert!(ciphertext.starts_with(b"age-encryption.org/v1\n"));
            let mut out = Vec::new();
            let report = open_verified(
                &id,
                &ciphertext[..],
                &mut out,
                &sha256_hex(&data),
                size as u64,
            )
            .unwrap();
            assert_eq!(out, data, "size {size}");
            assert_eq!(report.size, size as u64);
            assert_eq!(report.sha256, sha256_hex(&data));
        }
    }

    #[test]
    fn the_seal_reader_produces_the_same_format() {
        let id = AgeIdentity::generate();
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 7) as u8).collect();
        let mut ciphertext = Vec::new();
        seal_reader(&id.recipient(), Trickle(&data[..], 999))
            .unwrap()
            .read_to_end(&mut ciphertext)
            .unwrap();
        let mut out = Vec::new();
        open(&id, Trickle(&ciphertext[..], 7777), &mut out).unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn a_wrong_identity_is_named() {
        let buyer = AgeIdentity::generate();
        let other = AgeIdentity::generate();
        let ciphertext = sealed(&buyer.recipient(), b"secret");
        let err = open(&other, &ciphertext[..], io::sink()).unwrap_err();
        assert!(matches!(err, SealError::WrongIdentity { .. }), "{err}");
        assert!(err.to_string().contains(&other.recipient()), "{err}");
    }

    #[test]
    fn a_tampered_byte_is_detected_anywhere() {
        let id = AgeIdentity::generate();
        let data = vec![42u8; 100_000];
        let ciphertext = sealed(&id.recipient(), &data);
        // The last payload byte, a payload byte in the first chunk, and the header MAC.
        let header_end = ciphertext.windows(4).position(|w| w == b"\n---").unwrap();
        for index in [ciphertext.len() - 1, ciphertext.len() / 2, header_end + 10] {
            let mut tampered = ciphertext.clone();
            // Another base64 character, so the header still parses.
            tampered[index] = if tampered[index] == b'A' { b'B' } else { b'A' };
            let err = open(&id, &tampered[..], io::sink()).unwrap_err();
            assert!(
                matches!(err, SealError::Corrupted { .. }),
                "byte {index}: {err}"
            );
        }
    }

    #[test]
    fn a_truncated_stream_is_refused() {
        let id = AgeIdentity::generate();
        let data = vec![7u8; 3 * 64 * 1024];
        let ciphertext = sealed(&id.recipient(), &data);
        // Cut inside a chunk, and exactly after the first full chunk.
        let header_len = ciphertext.len() - 16 - 3 * (64 * 1024 + 16);
        let first_chunk_end = header_len + 16 + 64 * 1024 + 16;
        for cut in [ciphertext.len() - 100, first_chunk_end] {
            let err = open(&id, &ciphertext[..cut], io::sink()).unwrap_err();
            assert!(err.to_string().contains("truncated"), "cut {cut}: {err}");
        }
        let err = open(&id, &ciphertext[..first_chunk_end], io::sink()).unwrap_err();
        assert!(matches!(err, SealError::Truncated), "{err}");
        let err = open(&id, &ciphertext[..20], io::sink()).unwrap_err();
        assert!(matches!(err, SealError::NotAge { .. }), "{err}");
        let err = open(&id, &b"hello, not age"[..], io::sink()).unwrap_err();
        assert!(matches!(err, SealError::NotAge { .. }), "{err}");
    }

    #[test]
    fn digest_and_size_mismatches_are_refused() {
        let id = AgeIdentity::generate();
        let data = b"the real data";
        let ciphertext = sealed(&id.recipient(), data);
        let digest = sha256_hex(data);
        let len = data.len() as u64;

        let err =
            open_verified(&id, &ciphertext[..], io::sink(), &sha256_hex(b"x"), len).unwrap_err();
        assert!(matches!(err, SealError::DigestMismatch { .. }), "{err}");
        assert!(err.to_string().contains(&digest), "{err}");

        let err = open_verified(&id, &ciphertext[..], io::sink(), &digest, len + 1).unwrap_err();
        assert!(
            matches!(err, SealError::SizeMismatch { expected, actual } if expected == len + 1 && actual == len),
            "{err}"
        );
        let err = open_verified(&id, &ciphertext[..], io::sink(), &digest, len - 1).unwrap_err();
        assert!(matches!(err, SealError::TooLong { .. }), "{err}");

        // Upper-case hex is accepted.
        open_verified(
            &id,
            &ciphertext[..],
            io::sink(),
            &digest.to_uppercase(),
            len,
        )
        .unwrap();
    }

    #[test]
    fn a_large_stream_goes_through_small_buffers() {
        const SIZE: u64 = 20 * 1024 * 1024 + 12_345;
        let id = AgeIdentity::generate();
        let mut digest = Sha256::new();
        io::copy(
            &mut Generated {
                remaining: SIZE,
                state: 1,
            },
            &mut digest,
        )
        .unwrap();
        let digest = hex::encode(digest.finalize());

        // Plaintext generated → sealed as read → opened as read → discarded: never whole.
        let reader = seal_reader(
            &id.recipient(),
            Generated {
                remaining: SIZE,
                state: 1,
            },
        )
        .unwrap();
        let report = open_verified(&id, Trickle(reader, 4096), io::sink(), &digest, SIZE).unwrap();
        assert_eq!(report.size, SIZE);

        // The writer side, through a counting sink.
        struct Count(u64);
        impl Write for Count {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0 += buf.len() as u64;
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut sealer = seal(&id.recipient(), Count(0)).unwrap();
        io::copy(
            &mut Generated {
                remaining: SIZE,
                state: 1,
            },
            &mut sealer,
        )
        .unwrap();
        let count = sealer.finish().unwrap().0;
        let chunks = SIZE.div_ceil(64 * 1024);
        assert!(count > SIZE + 16 * chunks, "{count}");
    }

    #[test]
    fn bad_recipients_are_refused() {
        for bad in ["", "age1", "age1qqqq", "npub1abc", "AGE-SECRET-KEY-1QQQ"] {
            let err = seal(bad, Vec::new()).unwrap_err();
            assert!(
                matches!(err, SealError::InvalidRecipient { .. }),
                "{bad}: {err}"
            );
            assert!(validate_recipient(bad).is_err());
        }
        validate_recipient(&AgeIdentity::generate().recipient()).unwrap();
        let file = AgeIdentity::generate().to_keygen_file();
        let secret = file
            .lines()
            .find(|line| line.starts_with(SECRET_KEY_PREFIX))
            .unwrap();
        let err = validate_recipient(secret).unwrap_err().to_string();
        assert!(err.contains("secret key"), "{err}");
        assert!(!err.contains(&secret[SECRET_KEY_PREFIX.len()..]), "{err}");
    }

    #[test]
    fn identity_files_round_trip_in_the_age_keygen_format() {
        let id = AgeIdentity::generate();
        let file = id.to_keygen_file();
        let lines: Vec<&str> = file.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("# created: 20"), "{}", lines[0]);
        assert!(lines[0].ends_with('Z'));
        assert_eq!(lines[1], format!("# public key: {}", id.recipient()));
        assert!(lines[2].starts_with("AGE-SECRET-KEY-1"));

        let back = AgeIdentity::parse(&file).unwrap();
        assert_eq!(back.recipient(), id.recipient());
        let bare: AgeIdentity = lines[2].parse().unwrap();
        assert_eq!(bare.recipient(), id.recipient());
        // Lower case and surrounding blank lines are fine.
        let lower = format!("\n\n{}\n\n", lines[2].to_lowercase());
        assert_eq!(
            AgeIdentity::parse(&lower).unwrap().recipient(),
            id.recipient()
        );

        assert!(!format!("{id:?}").contains("SECRET"));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.txt");
        id.save_new(&path).unwrap();
        assert_eq!(
            AgeIdentity::load(&path).unwrap().recipient(),
            id.recipient()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let err = AgeIdentity::generate().save_new(&path).unwrap_err();
        assert!(matches!(err, SealError::IdentityFile { .. }), "{err}");
        let err = AgeIdentity::load(&dir.path().join("missing")).unwrap_err();
        assert!(err.to_string().contains("cannot read"), "{err}");
    }

    #[test]
    fn bad_identity_files_are_refused_without_echoing_secrets() {
        let id = AgeIdentity::generate();
        let secret = id.to_keygen_file().lines().nth(2).unwrap().to_owned();

        let err = AgeIdentity::parse("# just a comment\n").unwrap_err();
        assert!(err.to_string().contains("no secret key"), "{err}");

        let two = format!("{secret}\n{}\n", AgeIdentity::generate().to_keygen_file());
        let err = AgeIdentity::parse(&two).unwrap_err();
        assert!(err.to_string().contains("second secret key"), "{err}");

        let mismatch = format!(
            "# public key: {}\n{secret}\n",
            AgeIdentity::generate().recipient()
        );
        let err = AgeIdentity::parse(&mismatch).unwrap_err();
        assert!(err.to_string().contains("public key"), "{err}");

        let mut broken = secret.clone();
        broken.pop();
        broken.push(if secret.ends_with('Q') { 'P' } else { 'Q' });
        let err = AgeIdentity::parse(&broken).unwrap_err();
        assert!(!err.to_string().contains(&broken), "{err}");

        let err = AgeIdentity::parse("AGE-PLUGIN-YUBIKEY-1ABC\n").unwrap_err();
        assert!(err.to_string().contains("not supported"), "{err}");
    }

    #[test]
    fn timestamps_are_rfc3339() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_709_251_199);
        assert_eq!(rfc3339_utc(t), "2024-02-29T23:59:59Z");
        assert_eq!(rfc3339_utc(std::time::UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }
}

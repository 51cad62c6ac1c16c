//! The buyer's side, piece by piece: check a fragment as it streams in (header against the
//! commitments, then its size and SHA-256), check a share against its Feldman commitment,
//! rebuild the key from `k` shares, rebuild the ciphertext from any `k` fragments stripe by
//! stripe ([`CiphertextReader`]), and decrypt it with age as it is rebuilt ([`rebuild`]).

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

use reed_solomon_simd::ReedSolomonDecoder;
use sha2::{Digest as _, Sha256};

use crate::commitments::Commitments;
use crate::error::{PieceError, RebuildError};
use crate::header::{FragmentHeader, HEADER_LEN};
use crate::key::{self, DataKey, KeyShare};

/// The size of the copies between readers and writers.
const COPY_BUFFER: usize = 64 * 1024;

/// Reads up to `buf.len()` bytes, stopping early only at the end of the input.
fn read_full<R: Read>(input: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Reads and checks a fragment header.
pub(crate) fn read_header<R: Read>(
    commitments: &Commitments,
    input: &mut R,
) -> Result<([u8; HEADER_LEN], FragmentHeader), PieceError> {
    let mut bytes = [0u8; HEADER_LEN];
    let got = read_full(input, &mut bytes).map_err(|source| PieceError::FragmentRead {
        index: None,
        source,
    })?;
    if got < HEADER_LEN {
        return Err(PieceError::FragmentRead {
            index: None,
            source: io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("it ends after {got} bytes, inside its {HEADER_LEN}-byte header"),
            ),
        });
    }
    let header = FragmentHeader::decode(&bytes).map_err(PieceError::Header)?;
    commitments.check_header(&header)?;
    Ok((bytes, header))
}

/// Checks a whole fragment as it streams from `input`, copying it (header and body) to `keep`:
/// its header against the commitments, its size against its header, its SHA-256 against the
/// commitments. Returns its index. On an error, what went to `keep` must be discarded.
///
/// # Errors
///
/// A [`PieceError`] naming the fragment's index (once its header is read) and what is wrong.
pub fn check_fragment<R: Read, W: Write>(
    commitments: &Commitments,
    mut input: R,
    mut keep: W,
) -> Result<u16, PieceError> {
    let (header_bytes, header) = read_header(commitments, &mut input)?;
    let index = header.index;
    let spool = |source| PieceError::FragmentSpool { index, source };
    let mut hash = Sha256::new();
    hash.update(header_bytes);
    keep.write_all(&header_bytes).map_err(spool)?;

    let expected = commitments.fragment_size();
    let mut left = expected - HEADER_LEN as u64;
    let mut buffer = vec![0u8; COPY_BUFFER];
    while left > 0 {
        let want = usize::try_from(left).map_or(buffer.len(), |l| l.min(buffer.len()));
        let got = read_full(&mut input, &mut buffer[..want]).map_err(|source| {
            PieceError::FragmentRead {
                index: Some(index),
                source,
            }
        })?;
        hash.update(&buffer[..got]);
        keep.write_all(&buffer[..got]).map_err(spool)?;
        left -= got as u64;
        if got < want {
            return Err(PieceError::FragmentShort {
                index,
                expected,
                actual: expected - left,
            });
        }
    }
    let extra =
        read_full(&mut input, &mut buffer[..1]).map_err(|source| PieceError::FragmentRead {
            index: Some(index),
            source,
        })?;
    if extra != 0 {
        return Err(PieceError::FragmentLong { index, expected });
    }
    let actual: [u8; 32] = hash.finalize().into();
    let committed = commitments.fragment_sha256(index).unwrap_or_default();
    if actual != committed {
        return Err(PieceError::FragmentDigest {
            index,
            expected: hex::encode(committed),
            actual: hex::encode(actual),
        });
    }
    keep.flush().map_err(spool)?;
    Ok(index)
}

/// Rebuilds the data key from the shares given: each is checked against the commitments, and
/// `k` of distinct indices must be valid.
///
/// # Errors
///
/// [`RebuildError::Piece`] for the first share that fails its check,
/// [`RebuildError::NotEnoughShares`] with fewer than `k` distinct shares.
pub fn rebuild_key(
    commitments: &Commitments,
    shares: &[KeyShare],
) -> Result<DataKey, RebuildError> {
    let mut distinct = BTreeMap::new();
    for share in shares {
        commitments.verify_share(share)?;
        distinct.insert(share.index(), share);
    }
    let k = commitments.params().k();
    if distinct.len() < usize::from(k) {
        return Err(RebuildError::NotEnoughShares {
            k,
            shares: distinct.len(),
        });
    }
    let chosen: Vec<&KeyShare> = distinct.into_values().collect();
    key::combine(&chosen, commitments.share_commitments())
}

/// The ciphertext, rebuilt stripe by stripe from `k` fragments (already checked, e.g. by
/// [`check_fragment`]) as it is read. Holds one stripe and the recovery shards at a time.
///
/// Its read errors wrap a [`RebuildError`] (`io::Error::other`); [`rebuild`] unwraps them.
pub struct CiphertextReader<R> {
    commitments: Commitments,
    /// The `k` fragments in use, by index, positioned after their header.
    sources: Vec<(u16, R)>,
    decoder: Option<ReedSolomonDecoder>,
    stripe: Vec<u8>,
    /// One buffer per recovery fragment in use.
    recovery: Vec<Vec<u8>>,
    position: usize,
    filled: usize,
    remaining: u64,
}

impl<R: Read> CiphertextReader<R> {
    /// Reads the fragments' headers and keeps the first `k` of distinct indices.
    ///
    /// # Errors
    ///
    /// [`RebuildError::Piece`] if a header does not match the commitments,
    /// [`RebuildError::NotEnoughFragments`] with fewer than `k` distinct fragments.
    pub fn new(commitments: &Commitments, fragments: Vec<R>) -> Result<Self, RebuildError> {
        let params = commitments.params();
        let (k, n) = (usize::from(params.k()), usize::from(params.n()));
        let shard = params.shard_size() as usize;
        let mut by_index = BTreeMap::new();
        for mut fragment in fragments {
            let (_, header) = read_header(commitments, &mut fragment)?;
            by_index.entry(header.index).or_insert(fragment);
        }
        if by_index.len() < k {
            return Err(RebuildError::NotEnoughFragments {
                k: params.k(),
                fragments: by_index.len(),
            });
        }
        let sources: Vec<(u16, R)> = by_index.into_iter().take(k).collect();
        let recovery_count = sources.iter().filter(|(i, _)| usize::from(*i) >= k).count();
        let decoder = if recovery_count > 0 {
            Some(ReedSolomonDecoder::new(k, n - k, shard).map_err(RebuildError::Erasure)?)
        } else {
            None
        };
        Ok(Self {
            commitments: commitments.clone(),
            sources,
            decoder,
            stripe: vec![0; k * shard],
            recovery: vec![vec![0; shard]; recovery_count],
            position: 0,
            filled: 0,
            remaining: commitments.ciphertext_size(),
        })
    }

    /// The bytes of the buffers it holds: one stripe and the recovery shards (the decoder's
    /// work space comes on top, about [`Params::buffer_bound`](crate::Params::buffer_bound)
    /// in all).
    pub fn buffer_size(&self) -> usize {
        self.stripe.capacity() + self.recovery.iter().map(Vec::capacity).sum::<usize>()
    }

    /// Reads the next stripe from the fragments and decodes the missing originals.
    fn next_stripe(&mut self) -> Result<(), RebuildError> {
        let params = self.commitments.params();
        let k = params.k();
        let shard = params.shard_size() as usize;
        let mut recovery = self.recovery.iter_mut();
        let mut present = Vec::with_capacity(usize::from(k));
        for (index, source) in &mut self.sources {
            let index = *index;
            let target: &mut [u8] = if index < k {
                present.push(index);
                let at = usize::from(index) * shard;
                &mut self.stripe[at..at + shard]
            } else {
                recovery.next().map(Vec::as_mut_slice).unwrap_or_default()
            };
            let got = read_full(source, target)
                .map_err(|source| RebuildError::Fragment { index, source })?;
            if got < shard {
                return Err(RebuildError::Fragment {
                    index,
                    source: io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the kept fragment is shorter than its header says",
                    ),
                });
            }
        }
        if let Some(decoder) = self.decoder.as_mut() {
            for &index in &present {
                let at = usize::from(index) * shard;
                decoder
                    .add_original_shard(usize::from(index), &self.stripe[at..at + shard])
                    .map_err(RebuildError::Erasure)?;
            }
            let recovered = self.sources.iter().filter(|(i, _)| *i >= k);
            for ((index, _), buffer) in recovered.zip(&self.recovery) {
                decoder
                    .add_recovery_shard(usize::from(index - k), buffer)
                    .map_err(RebuildError::Erasure)?;
            }
            let result = decoder.decode().map_err(RebuildError::Erasure)?;
            for (index, restored) in result.restored_original_iter() {
                let at = index * shard;
                self.stripe[at..at + shard].copy_from_slice(restored);
            }
        }
        self.position = 0;
        self.filled =
            usize::try_from(self.remaining).map_or(self.stripe.len(), |r| r.min(self.stripe.len()));
        Ok(())
    }
}

impl<R: Read> Read for CiphertextReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.position == self.filled {
            if self.remaining == 0 {
                return Ok(0);
            }
            self.next_stripe().map_err(io::Error::other)?;
        }
        let n = buf.len().min(self.filled - self.position);
        buf[..n].copy_from_slice(&self.stripe[self.position..self.position + n]);
        self.position += n;
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// What a rebuild produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuildReport {
    /// The plaintext's size in bytes.
    pub plaintext_size: u64,
    /// The plaintext's SHA-256, lowercase hex: compare it with the offer's digest.
    pub plaintext_sha256: String,
}

/// The `RebuildError` inside an `io::Error` from [`CiphertextReader`], or `otherwise`.
fn unwrap_io(error: io::Error, otherwise: fn(io::Error) -> RebuildError) -> RebuildError {
    if error
        .get_ref()
        .is_some_and(|inner| inner.is::<RebuildError>())
    {
        if let Some(inner) = error.into_inner() {
            if let Ok(rebuild) = inner.downcast::<RebuildError>() {
                return *rebuild;
            }
        }
        return RebuildError::Corrupted(io::Error::other("unreadable fragment error"));
    }
    otherwise(error)
}

/// Rebuilds the data: the key from `k` of `shares`, the ciphertext from `k` of `fragments`
/// (whole fragments, header first, already checked), decrypted with age into `out` as it is
/// rebuilt. Memory stays at about [`Params::buffer_bound`](crate::Params::buffer_bound) plus
/// age's chunk, whatever the size.
///
/// Nothing it writes to `out` may be trusted until it returns `Ok`: write to a temporary file
/// and keep it only then (age authenticates every 64 KiB chunk, but a stream cut short or a
/// wrong last chunk is only known at the end).
///
/// # Errors
///
/// A [`RebuildError`] saying which piece or which step failed.
pub fn rebuild<R: Read, W: Write>(
    commitments: &Commitments,
    shares: &[KeyShare],
    fragments: Vec<R>,
    mut out: W,
) -> Result<RebuildReport, RebuildError> {
    let key = rebuild_key(commitments, shares)?;
    let mut ciphertext = CiphertextReader::new(commitments, fragments)?;
    let age_error = |e| match e {
        age::DecryptError::Io(io) => unwrap_io(io, RebuildError::Corrupted),
        other => RebuildError::Decrypt(other),
    };
    let identity = key.identity();
    let mut hash = Sha256::new();
    let mut size = 0u64;
    {
        let mut plaintext = age::Decryptor::new(&mut ciphertext)
            .map_err(age_error)?
            .decrypt(std::iter::once(&identity as &dyn age::Identity))
            .map_err(age_error)?;
        let mut buffer = vec![0u8; COPY_BUFFER];
        loop {
            let got = match plaintext.read(&mut buffer) {
                Ok(0) => break,
                Ok(got) => got,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(unwrap_io(e, RebuildError::Corrupted)),
            };
            hash.update(&buffer[..got]);
            out.write_all(&buffer[..got]).map_err(RebuildError::Write)?;
            size += got as u64;
        }
    }
    // age stops at its final chunk: the whole ciphertext must have been read.
    if ciphertext.remaining != 0 {
        return Err(RebuildError::Corrupted(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the age stream ended {} bytes before the committed ciphertext size",
                ciphertext.remaining
            ),
        )));
    }
    out.flush().map_err(RebuildError::Write)?;
    Ok(RebuildReport {
        plaintext_size: size,
        plaintext_sha256: hex::encode(hash.finalize()),
    })
}

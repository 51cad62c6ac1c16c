//! The seller's side: the input encrypted with age to a fresh key, streamed; the ciphertext cut
//! into stripes, each Reed–Solomon coded into one shard per fragment and written out at once;
//! the key split into shares. At most one stripe and its recovery shards are in memory,
//! whatever the input's size.

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::rc::Rc;

use rand_core::{OsRng, RngCore as _};
use reed_solomon_simd::ReedSolomonEncoder;
use sha2::{Digest as _, Sha256};

use crate::commitments::Commitments;
use crate::error::PrepareError;
use crate::header::FragmentHeader;
use crate::key::{self, DataKey, KeyShare};
use crate::params::Params;
use crate::SetId;

/// age's plaintext chunk size and tag size (the STREAM construction of age v1).
const AGE_CHUNK: u64 = 64 * 1024;
const AGE_TAG: u64 = 16;
/// The size of the reads from the input.
const READ_BUFFER: usize = 64 * 1024;

/// A prepared custody set: send fragment `i` and share `i` to storage node `i`, put the
/// commitments in (or beside) the offer. The data key itself is not kept.
#[derive(Debug)]
pub struct Prepared<W> {
    /// What the offer may carry: public, naming no storage node.
    pub commitments: Commitments,
    /// Share `i` for storage node `i`. Secret: send each only to its node, encrypted.
    pub shares: Vec<KeyShare>,
    /// The outputs given, in index order, each holding one whole fragment, flushed.
    pub fragments: Vec<W>,
    /// SHA-256 of the plaintext read (what an offer's `content_sha256` states), computed on
    /// the way so the seller reads the file once.
    pub plaintext_sha256: [u8; 32],
}

/// The size of an age file with one X25519 recipient, from the size of its header and nonce
/// (written before any plaintext) and of its plaintext.
fn age_size(header_and_nonce: u64, plaintext_size: u64) -> Option<u64> {
    let chunks = plaintext_size.div_ceil(AGE_CHUNK).max(1);
    header_and_nonce
        .checked_add(plaintext_size)?
        .checked_add(chunks.checked_mul(AGE_TAG)?)
}

/// Encrypts `input` (exactly `plaintext_size` bytes) to a fresh data key, writes fragment `i`
/// to `outputs[i]` as it goes, and splits the key.
///
/// Memory: one stripe (`k × shard_size`), the recovery shards and the codec's work space,
/// about [`Params::buffer_bound`] bytes, whatever `plaintext_size` is.
///
/// # Errors
///
/// [`PrepareError::Outputs`] unless there are `n` outputs; [`PrepareError::InputShort`] or
/// [`PrepareError::InputLong`] if the input is not `plaintext_size` bytes;
/// [`PrepareError::Read`] or [`PrepareError::Write`] (naming the fragment) on I/O errors. The
/// outputs then hold partial fragments: discard them.
pub fn prepare<R: Read, W: Write>(
    params: Params,
    mut input: R,
    plaintext_size: u64,
    outputs: Vec<W>,
) -> Result<Prepared<W>, PrepareError> {
    if outputs.len() != usize::from(params.n()) {
        return Err(PrepareError::Outputs {
            n: params.n(),
            given: outputs.len(),
        });
    }
    let mut set_id = [0u8; 16];
    OsRng.fill_bytes(&mut set_id);
    let set_id = SetId(set_id);
    let key = DataKey::generate();
    let (shares, share_commitments) = key::split(&key, params, set_id)?;

    let striper = Shared(Rc::new(RefCell::new(Striper::new(
        params, set_id, outputs,
    )?)));
    let recipient = key.recipient();
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
            .map_err(|e| PrepareError::Encrypt(io::Error::other(e)))?;
    let mut writer = encryptor
        .wrap_output(striper.clone())
        .map_err(|e| striper.error(e))?;
    // The header and the nonce are written; the rest of the size follows from the plaintext's.
    let header_and_nonce = striper.0.borrow().written;
    let ciphertext_size = age_size(header_and_nonce, plaintext_size)
        .filter(|size| params.fragment_size(*size).is_some())
        .ok_or(PrepareError::TooLarge { plaintext_size })?;
    let started = striper.0.borrow_mut().start(ciphertext_size);
    started.map_err(|e| striper.error(e))?;

    let mut buffer = vec![0u8; READ_BUFFER];
    let mut read = 0u64;
    let mut plaintext_hash = Sha256::new();
    loop {
        let want = usize::try_from(plaintext_size - read)
            .map_or(buffer.len(), |left| left.min(buffer.len()));
        if want == 0 {
            break;
        }
        let got = match input.read(&mut buffer[..want]) {
            Ok(0) => {
                return Err(PrepareError::InputShort {
                    expected: plaintext_size,
                    actual: read,
                })
            }
            Ok(got) => got,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(PrepareError::Read(e)),
        };
        plaintext_hash.update(&buffer[..got]);
        writer
            .write_all(&buffer[..got])
            .map_err(|e| striper.error(e))?;
        read += got as u64;
    }
    let extra = loop {
        match input.read(&mut buffer[..1]) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => break other.map_err(PrepareError::Read)?,
        }
    };
    if extra != 0 {
        return Err(PrepareError::InputLong {
            expected: plaintext_size,
        });
    }
    let output = writer.finish().map_err(|e| striper.error(e))?;
    drop(output);

    let striper = Rc::try_unwrap(striper.0)
        .map_err(|_| PrepareError::Encrypt(io::Error::other("the age writer kept its output")))?
        .into_inner();
    let (fragments, fragment_sha256) = striper.finish()?;
    Ok(Prepared {
        commitments: Commitments::new(
            set_id,
            params,
            ciphertext_size,
            fragment_sha256,
            share_commitments,
        ),
        shares,
        fragments,
        plaintext_sha256: plaintext_hash.finalize().into(),
    })
}

/// One fragment being written: the output and the running SHA-256 of what went to it.
struct Output<W> {
    inner: W,
    hash: Sha256,
}

/// Cuts the ciphertext into stripes and writes each stripe's shards to the outputs.
struct Striper<W> {
    params: Params,
    set_id: SetId,
    outputs: Vec<Output<W>>,
    /// The ciphertext's size once known: fragment headers are written then.
    ciphertext_size: Option<u64>,
    /// Ciphertext bytes not yet written out: less than one stripe once started.
    stripe: Vec<u8>,
    encoder: Option<ReedSolomonEncoder>,
    written: u64,
    /// The typed error behind the last `io::Error` returned to age.
    error: Option<PrepareError>,
}

impl<W: Write> Striper<W> {
    fn new(params: Params, set_id: SetId, outputs: Vec<W>) -> Result<Self, PrepareError> {
        let (k, n) = (usize::from(params.k()), usize::from(params.n()));
        let shard = params.shard_size() as usize;
        let encoder = if n > k {
            Some(ReedSolomonEncoder::new(k, n - k, shard).map_err(PrepareError::Erasure)?)
        } else {
            None
        };
        Ok(Self {
            params,
            set_id,
            outputs: outputs
                .into_iter()
                .map(|inner| Output {
                    inner,
                    hash: Sha256::new(),
                })
                .collect(),
            ciphertext_size: None,
            stripe: Vec::with_capacity(k * shard),
            encoder,
            written: 0,
            error: None,
        })
    }

    fn stripe_len(&self) -> usize {
        usize::from(self.params.k()) * self.params.shard_size() as usize
    }

    /// Writes the fragment headers, then the stripes already complete.
    fn start(&mut self, ciphertext_size: u64) -> io::Result<()> {
        self.ciphertext_size = Some(ciphertext_size);
        for index in 0..self.params.n() {
            let header = FragmentHeader {
                set_id: self.set_id,
                params: self.params,
                index,
                ciphertext_size,
            };
            self.emit(index, &header.encode())?;
        }
        let stripe_len = self.stripe_len();
        let pending = std::mem::replace(&mut self.stripe, Vec::with_capacity(stripe_len));
        self.push(&pending)
    }

    /// Takes ciphertext from age.
    fn absorb(&mut self, buf: &[u8]) -> io::Result<()> {
        self.written += buf.len() as u64;
        if self.ciphertext_size.is_none() {
            // Only age's header and nonce come before the start: a few hundred bytes.
            self.stripe.extend_from_slice(buf);
            return Ok(());
        }
        self.push(buf)
    }

    fn push(&mut self, mut buf: &[u8]) -> io::Result<()> {
        let stripe_len = self.stripe_len();
        while !buf.is_empty() {
            let take = buf.len().min(stripe_len - self.stripe.len());
            self.stripe.extend_from_slice(&buf[..take]);
            buf = &buf[take..];
            if self.stripe.len() == stripe_len {
                self.flush_stripe()?;
            }
        }
        Ok(())
    }

    /// Writes the (full) stripe buffer out as one shard per fragment.
    fn flush_stripe(&mut self) -> io::Result<()> {
        let shard = self.params.shard_size() as usize;
        let stripe = std::mem::take(&mut self.stripe);
        for (index, chunk) in (0..).zip(stripe.chunks_exact(shard)) {
            self.emit(index, chunk)?;
        }
        if let Some(encoder) = self.encoder.as_mut() {
            for chunk in stripe.chunks_exact(shard) {
                encoder
                    .add_original_shard(chunk)
                    .map_err(|e| record(&mut self.error, PrepareError::Erasure(e)))?;
            }
            let result = encoder
                .encode()
                .map_err(|e| record(&mut self.error, PrepareError::Erasure(e)))?;
            for (index, recovery) in (self.params.k()..).zip(result.recovery_iter()) {
                let output = &mut self.outputs[usize::from(index)];
                if let Err(source) = output.inner.write_all(recovery) {
                    return Err(record(
                        &mut self.error,
                        PrepareError::Write { index, source },
                    ));
                }
                output.hash.update(recovery);
            }
        }
        self.stripe = stripe;
        self.stripe.clear();
        Ok(())
    }

    fn emit(&mut self, index: u16, bytes: &[u8]) -> io::Result<()> {
        let output = &mut self.outputs[usize::from(index)];
        if let Err(source) = output.inner.write_all(bytes) {
            return Err(record(
                &mut self.error,
                PrepareError::Write { index, source },
            ));
        }
        output.hash.update(bytes);
        Ok(())
    }

    /// Pads and writes the last stripe, checks the size, flushes the outputs.
    fn finish(mut self) -> Result<(Vec<W>, Vec<[u8; 32]>), PrepareError> {
        let expected = self.ciphertext_size.unwrap_or(0);
        if self.written != expected {
            return Err(PrepareError::CiphertextSize {
                expected,
                actual: self.written,
            });
        }
        if !self.stripe.is_empty() {
            let stripe_len = self.stripe_len();
            self.stripe.resize(stripe_len, 0);
            if self.flush_stripe().is_err() {
                return Err(self.take_error());
            }
        }
        let mut fragments = Vec::with_capacity(self.outputs.len());
        let mut digests = Vec::with_capacity(self.outputs.len());
        for (index, mut output) in (0..).zip(self.outputs) {
            output
                .inner
                .flush()
                .map_err(|source| PrepareError::Write { index, source })?;
            digests.push(output.hash.finalize().into());
            fragments.push(output.inner);
        }
        Ok((fragments, digests))
    }

    fn take_error(&mut self) -> PrepareError {
        self.error
            .take()
            .unwrap_or_else(|| PrepareError::Encrypt(io::Error::other("unknown write error")))
    }
}

/// Keeps `error` for the caller and gives age an `io::Error` that says the same.
fn record(slot: &mut Option<PrepareError>, error: PrepareError) -> io::Error {
    let io = io::Error::other(error.to_string());
    *slot = Some(error);
    io
}

/// The striper as age's output, shared so that [`prepare`] can start it once age has written
/// its header.
struct Shared<W>(Rc<RefCell<Striper<W>>>);

impl<W> Clone for Shared<W> {
    fn clone(&self) -> Self {
        Self(Rc::clone(&self.0))
    }
}

impl<W: Write> Shared<W> {
    /// The typed error behind an `io::Error` from age, or the `io::Error` itself.
    fn error(&self, error: io::Error) -> PrepareError {
        self.0
            .borrow_mut()
            .error
            .take()
            .unwrap_or(PrepareError::Encrypt(error))
    }
}

impl<W: Write> Write for Shared<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().absorb(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_predicted_age_size_is_the_written_size() {
        // `prepare` checks the prediction against what age writes; sizes around its chunks.
        for size in [
            0u64,
            1,
            AGE_CHUNK - 1,
            AGE_CHUNK,
            AGE_CHUNK + 1,
            3 * AGE_CHUNK,
        ] {
            let data = vec![5u8; size as usize];
            let params = Params::new(1, 1).unwrap().with_shard_size(1024).unwrap();
            let prepared = prepare(params, &data[..], size, vec![Vec::new()]).unwrap();
            let fragment = &prepared.fragments[0];
            assert_eq!(fragment.len() as u64, prepared.commitments.fragment_size());
            let digest: [u8; 32] = Sha256::digest(&data).into();
            assert_eq!(prepared.plaintext_sha256, digest, "size {size}");
        }
    }

    #[test]
    fn inputs_of_another_size_than_announced_are_refused() {
        let params = Params::new(2, 3).unwrap();
        let outputs = || vec![Vec::new(), Vec::new(), Vec::new()];
        let err = prepare(params, &[1u8; 10][..], 11, outputs()).unwrap_err();
        assert!(
            matches!(
                err,
                PrepareError::InputShort {
                    expected: 11,
                    actual: 10
                }
            ),
            "{err}"
        );
        let err = prepare(params, &[1u8; 10][..], 9, outputs()).unwrap_err();
        assert!(
            matches!(err, PrepareError::InputLong { expected: 9 }),
            "{err}"
        );
        let err = prepare(params, &[1u8; 10][..], 10, vec![Vec::new()]).unwrap_err();
        assert!(
            matches!(err, PrepareError::Outputs { n: 3, given: 1 }),
            "{err}"
        );
    }

    #[test]
    fn a_failing_output_is_named() {
        #[derive(Debug)]
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        #[derive(Debug)]
        enum Out {
            Ok(Vec<u8>),
            Full(Full),
        }
        impl Write for Out {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                match self {
                    Out::Ok(v) => v.write(buf),
                    Out::Full(f) => f.write(buf),
                }
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let params = Params::new(2, 3).unwrap().with_shard_size(1024).unwrap();
        let outputs = vec![Out::Ok(Vec::new()), Out::Ok(Vec::new()), Out::Full(Full)];
        let err = prepare(params, &[0u8; 100_000][..], 100_000, outputs).unwrap_err();
        assert!(matches!(err, PrepareError::Write { index: 2, .. }), "{err}");
        assert!(err.to_string().contains("disk full"), "{err}");
    }
}

//! The shape of a custody set: `k` of `n` fragments rebuild the ciphertext, coded in stripes of
//! `k × shard_size` bytes.

use serde::{Deserialize, Serialize};

use crate::error::ParamsError;
use crate::header::HEADER_LEN;

/// The most fragments (storage nodes) one custody set may have.
pub const MAX_FRAGMENTS: u16 = 255;
/// The smallest shard (a fragment's part of one stripe), in bytes.
pub const MIN_SHARD_SIZE: u32 = 64;
/// The largest shard, in bytes: the seller and the buyer each hold about `n` of them at once.
pub const MAX_SHARD_SIZE: u32 = 4 * 1024 * 1024;
/// The most memory a custody set may ask either side to hold at once
/// ([`Params::buffer_bound`]): 64 MiB, so commitments from a hostile offer cannot make a buyer
/// allocate gigabytes.
pub const MAX_BUFFER: u64 = 64 * 1024 * 1024;
/// The largest ciphertext a custody set may hold: 1 PiB.
pub const MAX_CIPHERTEXT_SIZE: u64 = 1 << 50;
/// The shard size [`Params::new`] chooses when its buffers stay within
/// [`DEFAULT_BUFFER`]: 256 KiB. Smaller shards cost more per stripe to decode (the benchmark's
/// (2, 3) rebuild with decoding: 241 MB/s of CPU at 64 KiB, 362 MB/s at 256 KiB).
pub const DEFAULT_SHARD_SIZE: u32 = 256 * 1024;
/// The buffers [`Params::new`] aims at: with many fragments it halves the shard size (down to
/// 4 KiB) until [`Params::buffer_bound`] is within 16 MiB.
pub const DEFAULT_BUFFER: u64 = 16 * 1024 * 1024;

/// `k`-of-`n` with a shard size: what the seller chooses and the fragments and the commitments
/// repeat.
///
/// The ciphertext is cut into stripes of `k × shard_size` bytes (the last one padded with zeros);
/// each stripe gives one shard of `shard_size` bytes to each of the `n` fragments: fragments
/// `0..k` carry the ciphertext itself, fragments `k..n` Reed–Solomon recovery shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ParamsWire", into = "ParamsWire")]
pub struct Params {
    k: u16,
    n: u16,
    shard_size: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamsWire {
    k: u16,
    n: u16,
    shard_size: u32,
}

impl TryFrom<ParamsWire> for Params {
    type Error = ParamsError;

    fn try_from(wire: ParamsWire) -> Result<Self, ParamsError> {
        Self::new(wire.k, wire.n)?.with_shard_size(wire.shard_size)
    }
}

impl From<Params> for ParamsWire {
    fn from(params: Params) -> Self {
        Self {
            k: params.k,
            n: params.n,
            shard_size: params.shard_size,
        }
    }
}

impl Params {
    /// `k` of `n`, with the [default shard size](DEFAULT_SHARD_SIZE), or a smaller power of two
    /// if many fragments would make the buffers exceed [`DEFAULT_BUFFER`].
    ///
    /// # Errors
    ///
    /// [`ParamsError::Threshold`] unless `1 ≤ k ≤ n`, [`ParamsError::TooManyFragments`] if `n`
    /// is above [`MAX_FRAGMENTS`].
    pub fn new(k: u16, n: u16) -> Result<Self, ParamsError> {
        if k == 0 || k > n {
            return Err(ParamsError::Threshold { k, n });
        }
        if n > MAX_FRAGMENTS {
            return Err(ParamsError::TooManyFragments { n });
        }
        let mut params = Self {
            k,
            n,
            shard_size: DEFAULT_SHARD_SIZE,
        };
        while params.buffer_bound() > DEFAULT_BUFFER && params.shard_size > 4 * 1024 {
            params.shard_size /= 2;
        }
        if n > k
            && !reed_solomon_simd::ReedSolomonEncoder::supports(usize::from(k), usize::from(n - k))
        {
            return Err(ParamsError::Unsupported { k, n });
        }
        params.within_buffer()
    }

    /// The same `k` of `n` with another shard size.
    ///
    /// # Errors
    ///
    /// [`ParamsError::ShardSize`] unless the size is even and between [`MIN_SHARD_SIZE`] and
    /// [`MAX_SHARD_SIZE`].
    pub fn with_shard_size(self, shard_size: u32) -> Result<Self, ParamsError> {
        if !(MIN_SHARD_SIZE..=MAX_SHARD_SIZE).contains(&shard_size) || !shard_size.is_multiple_of(2)
        {
            return Err(ParamsError::ShardSize { shard_size });
        }
        Self { shard_size, ..self }.within_buffer()
    }

    fn within_buffer(self) -> Result<Self, ParamsError> {
        let bound = self.buffer_bound();
        if bound > MAX_BUFFER {
            return Err(ParamsError::Buffer {
                k: self.k,
                n: self.n,
                shard_size: self.shard_size,
                bound,
            });
        }
        Ok(self)
    }

    /// How many fragments rebuild the data (and how many shares the key).
    pub fn k(&self) -> u16 {
        self.k
    }

    /// How many fragments (and key shares) there are: one per storage node.
    pub fn n(&self) -> u16 {
        self.n
    }

    /// Bytes of one fragment per stripe.
    pub fn shard_size(&self) -> u32 {
        self.shard_size
    }

    /// Bytes of ciphertext per stripe: `k × shard_size`.
    pub fn stripe_size(&self) -> u64 {
        u64::from(self.k) * u64::from(self.shard_size)
    }

    /// How many stripes a ciphertext of `ciphertext_size` bytes takes.
    pub fn stripes(&self, ciphertext_size: u64) -> u64 {
        ciphertext_size.div_ceil(self.stripe_size())
    }

    /// The size in bytes of every fragment (header included) of a ciphertext of
    /// `ciphertext_size` bytes, or `None` above [`MAX_CIPHERTEXT_SIZE`].
    pub fn fragment_size(&self, ciphertext_size: u64) -> Option<u64> {
        if ciphertext_size > MAX_CIPHERTEXT_SIZE {
            return None;
        }
        self.stripes(ciphertext_size)
            .checked_mul(u64::from(self.shard_size))?
            .checked_add(HEADER_LEN as u64)
    }

    /// The size of the buffers a preparation or a rebuild holds at once, in bytes: one stripe,
    /// plus the recovery shards and the Reed–Solomon work space (about `n` shards, rounded up
    /// to powers of two by the codec). Independent of the data's size.
    pub fn buffer_bound(&self) -> u64 {
        let shard = u64::from(self.shard_size);
        let k = u64::from(self.k);
        let n = u64::from(self.n);
        // The stripe (k shards), the recovery shards read or written (n - k), and the codec's
        // work: reed-solomon-simd keeps 2 × next_power_of_two(max(k, n - k)) shards at most.
        let work = 2 * k.max(n - k).next_power_of_two();
        (k + (n - k) + work) * shard
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_thresholds_and_shard_sizes_are_refused() {
        for (k, n) in [(0, 0), (0, 3), (4, 3), (1, 0)] {
            let err = Params::new(k, n).unwrap_err();
            assert!(
                matches!(err, ParamsError::Threshold { .. }),
                "{k}/{n}: {err}"
            );
            assert!(err.to_string().contains("1 ≤ k ≤ n"), "{err}");
        }
        let err = Params::new(2, 256).unwrap_err();
        assert!(
            matches!(err, ParamsError::TooManyFragments { n: 256 }),
            "{err}"
        );
        for size in [0, 2, 63, 65, MAX_SHARD_SIZE + 2] {
            let err = Params::new(2, 3)
                .unwrap()
                .with_shard_size(size)
                .unwrap_err();
            assert!(
                matches!(err, ParamsError::ShardSize { .. }),
                "{size}: {err}"
            );
        }
        let params = Params::new(3, 5).unwrap().with_shard_size(1024).unwrap();
        assert_eq!(params.stripe_size(), 3072);
        assert_eq!(params.stripes(0), 0);
        assert_eq!(params.stripes(3072), 1);
        assert_eq!(params.stripes(3073), 2);
        assert_eq!(params.fragment_size(3073), Some(HEADER_LEN as u64 + 2048));
        Params::new(1, 1).unwrap();
        // Every k of n fits the memory cap with the default shard size.
        for n in 1..=MAX_FRAGMENTS {
            for k in 1..=n {
                let params = Params::new(k, n).unwrap();
                assert!(params.buffer_bound() <= DEFAULT_BUFFER, "{k}/{n}");
                assert!(params.shard_size() >= 4 * 1024, "{k}/{n}");
            }
        }
        assert_eq!(Params::new(2, 3).unwrap().shard_size(), DEFAULT_SHARD_SIZE);
        assert_eq!(Params::new(1, 255).unwrap().shard_size(), 16 * 1024);
        // Large shards with many fragments (a hostile offer's commitments) do not.
        let err = Params::new(2, 255)
            .unwrap()
            .with_shard_size(MAX_SHARD_SIZE)
            .unwrap_err();
        assert!(matches!(err, ParamsError::Buffer { .. }), "{err}");
        assert!(err.to_string().contains("smaller shard"), "{err}");
        Params::new(2, 3)
            .unwrap()
            .with_shard_size(MAX_SHARD_SIZE)
            .unwrap();
        Params::new(1, 1)
            .unwrap()
            .with_shard_size(MAX_SHARD_SIZE)
            .unwrap();
    }

    #[test]
    fn params_deserialise_only_when_valid() {
        let params: Params = serde_json::from_str(r#"{"k":2,"n":3,"shard_size":1024}"#).unwrap();
        assert_eq!((params.k(), params.n(), params.shard_size()), (2, 3, 1024));
        for bad in [
            r#"{"k":3,"n":2,"shard_size":1024}"#,
            r#"{"k":2,"n":3,"shard_size":1023}"#,
            r#"{"k":2,"n":3,"shard_size":1024,"extra":1}"#,
        ] {
            assert!(serde_json::from_str::<Params>(bad).is_err(), "{bad}");
        }
    }
}

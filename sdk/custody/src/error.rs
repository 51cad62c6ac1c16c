//! The errors of custody: bad parameters, a bad header or commitments, a failed preparation, a
//! refused piece, a failed rebuild. Each says what happened and what to do.

use std::io;

use crate::SetId;

/// `k`, `n` or the shard size cannot make a custody set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamsError {
    /// `k` is 0 or above `n`.
    #[error("invalid threshold {k} of {n}: it must be 1 ≤ k ≤ n (k fragments rebuild the data, n storage nodes hold one each)")]
    Threshold {
        /// The threshold given.
        k: u16,
        /// The number of fragments given.
        n: u16,
    },
    /// `n` is above [`MAX_FRAGMENTS`](crate::MAX_FRAGMENTS).
    #[error(
        "{n} fragments are too many: a custody set has at most {} storage nodes",
        crate::MAX_FRAGMENTS
    )]
    TooManyFragments {
        /// The number of fragments given.
        n: u16,
    },
    /// The erasure code does not support this `k` and `n`.
    #[error("the erasure code cannot make {n} fragments of which {k} rebuild the data; choose other k and n")]
    Unsupported {
        /// The threshold given.
        k: u16,
        /// The number of fragments given.
        n: u16,
    },
    /// The buffers this shape needs exceed [`MAX_BUFFER`](crate::MAX_BUFFER).
    #[error("{k} of {n} with {shard_size}-byte shards needs {bound} bytes of buffers, above the {} allowed; choose a smaller shard size", crate::MAX_BUFFER)]
    Buffer {
        /// The threshold.
        k: u16,
        /// The number of fragments.
        n: u16,
        /// The shard size.
        shard_size: u32,
        /// The buffers it needs, in bytes.
        bound: u64,
    },
    /// The shard size is odd or out of range.
    #[error(
        "invalid shard size {shard_size} bytes: it must be even and between {} and {} bytes",
        crate::MIN_SHARD_SIZE,
        crate::MAX_SHARD_SIZE
    )]
    ShardSize {
        /// The size given.
        shard_size: u32,
    },
}

/// A fragment header that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The magic bytes are missing.
    #[error("not a custody fragment: it does not start with `CSGNFRAG`")]
    NotAFragment,
    /// A format version this crate does not know.
    #[error("fragment format version {version} is not supported (this build reads version {}); update consign", crate::FORMAT_VERSION)]
    Version {
        /// The version found.
        version: u8,
    },
    /// Reserved bytes are not zero.
    #[error(
        "the fragment header's reserved bytes are not zero: it is corrupted or of a newer format"
    )]
    Reserved,
    /// `k`, `n` or the shard size are invalid.
    #[error("the fragment header's parameters are invalid: {0}")]
    Params(#[source] ParamsError),
    /// The index is not below `n`.
    #[error("the fragment header says index {index}, but there are only {n} fragments (0..{n})")]
    Index {
        /// The index found.
        index: u16,
        /// The number of fragments.
        n: u16,
    },
    /// The ciphertext size makes a fragment larger than any file.
    #[error("the fragment header's ciphertext size {ciphertext_size} is above the largest a custody set holds (1 PiB)")]
    Size {
        /// The size found.
        ciphertext_size: u64,
    },
}

/// Commitments that cannot be used (from a hostile or broken offer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommitmentsError {
    /// A version this crate does not know.
    #[error("custody commitments of version {version} are not supported (this build reads version {}); update consign", crate::FORMAT_VERSION)]
    Version {
        /// The version found.
        version: u8,
    },
    /// `k`, `n` or the shard size are invalid.
    #[error("the custody commitments' parameters are invalid: {0}")]
    Params(#[source] ParamsError),
    /// Not one fragment digest per fragment.
    #[error("the custody commitments list {found} fragment digests for {n} fragments")]
    FragmentDigests {
        /// `n`.
        n: u16,
        /// How many were listed.
        found: usize,
    },
    /// Not one share commitment per coefficient (`k` of them).
    #[error("the custody commitments list {found} share commitments where k = {k} needs {k}")]
    ShareCommitments {
        /// `k`.
        k: u16,
        /// How many were listed.
        found: usize,
    },
    /// A share commitment is not a point of secp256k1 (or is the identity).
    #[error("share commitment {index} is not a valid compressed secp256k1 point")]
    Point {
        /// Its position in the list.
        index: usize,
    },
    /// The ciphertext size makes a fragment larger than any file.
    #[error("the custody commitments' ciphertext size {ciphertext_size} is above the largest a custody set holds (1 PiB)")]
    Size {
        /// The size found.
        ciphertext_size: u64,
    },
}

/// Preparing a custody set failed; nothing of it should be uploaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrepareError {
    /// Not one output per fragment.
    #[error("{given} fragment outputs given for n = {n} fragments; give one per storage node")]
    Outputs {
        /// `n`.
        n: u16,
        /// How many were given.
        given: usize,
    },
    /// The input ended before its announced size.
    #[error("the input ended after {actual} bytes, but its size was given as {expected}: did the file change while it was read? Prepare it again")]
    InputShort {
        /// The size announced.
        expected: u64,
        /// The bytes read.
        actual: u64,
    },
    /// The input went on past its announced size.
    #[error("the input is longer than its announced size of {expected} bytes: did the file change while it was read? Prepare it again")]
    InputLong {
        /// The size announced.
        expected: u64,
    },
    /// The input is too large for a custody set.
    #[error("an input of {plaintext_size} bytes is too large for a custody set")]
    TooLarge {
        /// The size announced.
        plaintext_size: u64,
    },
    /// Reading the input failed.
    #[error("cannot read the input: {0}")]
    Read(#[source] io::Error),
    /// Writing a fragment failed.
    #[error("cannot write fragment {index}: {source}")]
    Write {
        /// The fragment's index.
        index: u16,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The age encryption failed.
    #[error("encrypting the input failed: {0}")]
    Encrypt(#[source] io::Error),
    /// age wrote another number of bytes than its format predicts (a bug, not an input error).
    #[error("the age encryption wrote {actual} bytes where its format predicts {expected}; please report this")]
    CiphertextSize {
        /// The size predicted.
        expected: u64,
        /// The size written.
        actual: u64,
    },
    /// The erasure code failed (a bug, not an input error).
    #[error("erasure coding failed: {0}; please report this")]
    Erasure(#[source] reed_solomon_simd::Error),
    /// Splitting the key failed (a bug, not an input error).
    #[error("splitting the data key failed: {reason}; please report this")]
    Sharing {
        /// The secret-sharing library's error.
        reason: String,
    },
}

/// A fragment or a key share was refused. The piece is not kept; the pieces already accepted
/// are untouched, and the rebuild can still complete from `k` good ones.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PieceError {
    /// The fragment's header cannot be read.
    #[error("fragment refused: {0}")]
    Header(#[source] HeaderError),
    /// The fragment belongs to another custody set (another offer, or an earlier upload).
    #[error("fragment {index} refused: it belongs to custody set {found}, not {expected} (a fragment of another offer)")]
    FragmentOtherSet {
        /// The fragment's index.
        index: u16,
        /// The set of the commitments.
        expected: SetId,
        /// The set in the fragment.
        found: SetId,
    },
    /// The fragment's header disagrees with the commitments.
    #[error("fragment {index} refused: its header says {field} {found}, the offer's commitments say {expected}")]
    FragmentMismatch {
        /// The fragment's index.
        index: u16,
        /// Which field (`k`, `n`, `shard size`, `ciphertext size`).
        field: &'static str,
        /// The commitments' value.
        expected: u64,
        /// The header's value.
        found: u64,
    },
    /// The fragment ended early.
    #[error("fragment {index} refused: it ends after {actual} bytes, expected {expected}; the transfer was cut short, ask its storage node again")]
    FragmentShort {
        /// The fragment's index.
        index: u16,
        /// The size expected (header included).
        expected: u64,
        /// The bytes received.
        actual: u64,
    },
    /// The fragment went on past its size.
    #[error(
        "fragment {index} refused: it is longer than the {expected} bytes its header announces"
    )]
    FragmentLong {
        /// The fragment's index.
        index: u16,
        /// The size expected (header included).
        expected: u64,
    },
    /// The fragment's bytes are not the ones the seller committed to.
    #[error("fragment {index} refused: its SHA-256 is {actual}, the offer's commitments say {expected}; it is corrupted or forged, and the storage node that sent it is faulty")]
    FragmentDigest {
        /// The fragment's index.
        index: u16,
        /// The committed digest, hex.
        expected: String,
        /// The received digest, hex.
        actual: String,
    },
    /// Reading the fragment failed.
    #[error("fragment {} refused: cannot read it: {source}", index.map_or_else(|| "(header unread)".to_owned(), |i| i.to_string()))]
    FragmentRead {
        /// The fragment's index, once its header was read.
        index: Option<u16>,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Writing the fragment where it is kept failed.
    #[error("fragment {index} could not be kept: {source}")]
    FragmentSpool {
        /// The fragment's index.
        index: u16,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The share belongs to another custody set.
    #[error("key share {index} refused: it belongs to custody set {found}, not {expected} (a share of another offer)")]
    ShareOtherSet {
        /// The share's index.
        index: u16,
        /// The set of the commitments.
        expected: SetId,
        /// The set in the share.
        found: SetId,
    },
    /// The share's index is not below `n`.
    #[error("key share {index} refused: there are only {n} shares (0..{n})")]
    ShareIndex {
        /// The share's index.
        index: u16,
        /// `n`.
        n: u16,
    },
    /// The share fails its Feldman commitment.
    #[error("key share {index} refused: it does not match the offer's share commitments; it is corrupted or forged, and the storage node that sent it is faulty")]
    ShareInvalid {
        /// The share's index.
        index: u16,
    },
    /// The same index arrived again with different contents.
    #[error("{kind} {index} refused: a different, valid {kind} {index} was already accepted")]
    Conflict {
        /// `fragment` or `key share`.
        kind: &'static str,
        /// The index.
        index: u16,
    },
}

/// Rebuilding the data failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RebuildError {
    /// Fewer than `k` valid fragments or shares.
    #[error("cannot rebuild yet: {fragments} of the {k} fragments and {shares} of the {k} key shares needed are here; wait for more storage nodes to deliver")]
    NotEnough {
        /// `k`.
        k: u16,
        /// Valid fragments at hand.
        fragments: usize,
        /// Valid shares at hand.
        shares: usize,
    },
    /// Fewer than `k` valid key shares of distinct indices were given.
    #[error("cannot rebuild the key: {shares} of the {k} key shares needed were given; wait for more storage nodes to deliver")]
    NotEnoughShares {
        /// `k`.
        k: u16,
        /// Distinct valid shares given.
        shares: usize,
    },
    /// Fewer than `k` fragments of distinct indices were given.
    #[error("cannot rebuild the ciphertext: {fragments} of the {k} fragments needed were given; wait for more storage nodes to deliver")]
    NotEnoughFragments {
        /// `k`.
        k: u16,
        /// Distinct fragments given.
        fragments: usize,
    },
    /// The shares given do not verify (see [`PieceError`]).
    #[error(transparent)]
    Piece(#[from] PieceError),
    /// The key rebuilt from the shares is not the committed one.
    #[error("the key rebuilt from the shares does not match the offer's commitment; one of the shares is forged")]
    Key,
    /// A fragment kept for the rebuild cannot be read.
    #[error("cannot read fragment {index} for the rebuild: {source}")]
    Fragment {
        /// The fragment's index.
        index: u16,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The erasure decoder failed.
    #[error("erasure decoding failed: {0}")]
    Erasure(#[source] reed_solomon_simd::Error),
    /// age refused the ciphertext or the key.
    #[error("the rebuilt ciphertext does not decrypt with the rebuilt key: {0}")]
    Decrypt(#[source] age::DecryptError),
    /// A chunk of the ciphertext does not authenticate.
    #[error("the rebuilt ciphertext does not decrypt: {0}")]
    Corrupted(#[source] io::Error),
    /// Writing the output failed.
    #[error("cannot write the rebuilt data: {0}")]
    Write(#[source] io::Error),
}

/// A sealed key share (see [`KeyShare::open`](crate::KeyShare::open)) that cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum SealedShareError {
    /// Longer than any sealed share.
    #[error("the sealed key share is {len} characters long, at most {max} are accepted")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not standard base64.
    #[error("the sealed key share is not base64: {0}")]
    Base64(String),
    /// Not an age file sealed to this identity.
    #[error("the sealed key share cannot be opened with this key (sealed to another recipient, or altered): {0}")]
    Decrypt(#[source] age::DecryptError),
    /// The age payload does not authenticate.
    #[error("the sealed key share was altered: {0}")]
    Corrupted(String),
    /// It opens, but what is inside is not a key share.
    #[error("the sealed data is not a key share: {0}")]
    NotAShare(String),
}

//! k-of-n deliveries (issue 14): an offer held in custody by `n` storage nodes arrives as `n`
//! pieces, one per node, each a POST of its own: the body is the node's fragment age-encrypted
//! to the buyer, the [`KEY_SHARE`](crate::storage::delivery_headers::KEY_SHARE) header its key
//! share sealed to the buyer. Any `k` of each rebuild the data.
//!
//! For each piece, after the checks every delivery gets (headers, contract, the purchase
//! on-chain, the offer's digest and size):
//!
//! 1. **The offer's custody**: the offer on-chain must carry custody commitments, and the
//!    piece's `k` and `n` must be theirs; a piece for a plain offer, or a whole delivery for a
//!    custody offer, is refused by name (`422`).
//! 2. **Share and fragment, judged apart**: the share is opened with the buyer's identity and
//!    checked against the commitments; the fragment is decrypted as it streams in, straight
//!    into its check (its header, its size, its SHA-256 against the commitments), never held in
//!    memory. Each good half is kept in the purchase's [`Assembly`] folder
//!    (`<out>/.consign-inbox/custody/<contract>-<purchase>/`, which survives a restart) even
//!    when the other half is refused; a refused half answers `4xx` with the reason, which names
//!    the index and what failed, and what the inbox holds and waits for.
//! 3. **Rebuild, once**: when `k` fragments and `k` shares are held, the data is rebuilt
//!    (key from the shares, ciphertext from the fragments, decrypted) into a `.part` file,
//!    checked against the offer's SHA-256 and size, and saved as a whole delivery is; the
//!    folder is then removed. A lock per purchase makes pieces arriving together rebuild once;
//!    pieces after the save are answered as the purchase saved.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, BufWriter, Read, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError};

use bytes::Buf;
use consign_custody::{
    Accepted as Kept, Assembly, Commitments, FragmentHeader, KeyShare, PieceError, Status,
    HEADER_LEN,
};
use consign_market::Custody;
use futures_util::Stream;
use serde::Serialize;

use super::headers::CustodyHeaders;
use super::stream::{self, ChannelReader, Pumped};
use super::{Accepted, Delivery, DeliveryHeaders, Inbox, InboxError, InboxEvent};
use crate::seal::{self, AgeIdentity, SealError};

/// The rebuilt plaintext's write buffer.
const WRITE_BUFFER: usize = 1 << 20;

/// Which pieces of a k-of-n delivery the inbox holds, and what it still needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PiecesHeld {
    /// Pieces needed: `k` fragments and `k` key shares rebuild the data.
    pub k: u16,
    /// Pieces made, one per storage node.
    pub n: u16,
    /// The indices of the checked fragments held.
    pub fragments: Vec<u16>,
    /// The indices of the checked key shares held.
    pub shares: Vec<u16>,
    /// How many more fragments are needed (0 when enough).
    pub fragments_needed: usize,
    /// How many more key shares are needed (0 when enough).
    pub shares_needed: usize,
    /// The storage nodes (by index) whose fragment or share has not arrived.
    pub waiting_for: Vec<u16>,
}

impl From<Status> for PiecesHeld {
    fn from(status: Status) -> Self {
        Self {
            k: status.k,
            n: status.n,
            fragments_needed: status.fragments_needed(),
            shares_needed: status.shares_needed(),
            waiting_for: status.waiting_for(),
            fragments: status.fragments,
            shares: status.shares,
        }
    }
}

impl PiecesHeld {
    /// Whether the data can be rebuilt.
    pub fn is_ready(&self) -> bool {
        self.fragments_needed == 0 && self.shares_needed == 0
    }

    /// The pieces whose fragment and key share are both held, in index order.
    pub fn whole(&self) -> Vec<u16> {
        self.fragments
            .iter()
            .copied()
            .filter(|index| self.shares.contains(index))
            .collect()
    }
}

impl fmt::Display for PiecesHeld {
    /// `holding fragments [0, 2] and key shares [0] (k = 2 of n = 3), waiting for 1 more key
    /// share`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "holding fragments {:?} and key shares {:?} (k = {} of n = {})",
            self.fragments, self.shares, self.k, self.n
        )?;
        let more = |n: usize, what: &str| match n {
            0 => None,
            1 => Some(format!("1 more {what}")),
            n => Some(format!("{n} more {what}s")),
        };
        let wanted: Vec<String> = [
            more(self.fragments_needed, "fragment"),
            more(self.shares_needed, "key share"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if wanted.is_empty() {
            f.write_str(": enough to rebuild")
        } else {
            write!(f, ", waiting for {}", wanted.join(" and "))
        }
    }
}

/// What became of one half of a piece.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Checked and kept.
    Accepted,
    /// Checked, and held already (a retried or replayed delivery): nothing changed.
    AlreadyHeld,
    /// Refused, with the reason; the other half and the other pieces are untouched.
    Refused(String),
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Accepted => f.write_str("accepted"),
            Self::AlreadyHeld => f.write_str("already held"),
            Self::Refused(reason) => write!(f, "refused ({reason})"),
        }
    }
}

impl From<Kept> for Verdict {
    fn from(kept: Kept) -> Self {
        match kept {
            Kept::New(_) => Self::Accepted,
            Kept::AlreadyHere(_) => Self::AlreadyHeld,
        }
    }
}

/// One piece of a k-of-n delivery taken: what became of its fragment and its key share, and
/// what the inbox holds now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PieceReport {
    /// The contract.
    pub contract: String,
    /// The purchase.
    pub purchase_id: u64,
    /// The offer bought.
    pub offer_id: u64,
    /// The piece's index (the storage node's).
    pub index: u16,
    /// Its fragment.
    pub fragment: Verdict,
    /// Its key share.
    pub share: Verdict,
    /// The pieces of the purchase held now.
    pub held: PiecesHeld,
}

/// A delivery's custody headers against its offer's custody: `None` for a plain delivery of a
/// plain offer, the piece and the commitments to check it against for a piece of a custody
/// offer.
///
/// # Errors
///
/// [`InboxError::Mismatch`] for a piece of a plain offer, a whole delivery of a custody offer,
/// a `k` or `n` other than the offer's, or commitments that cannot be used.
pub(super) fn match_offer(
    headers: &DeliveryHeaders,
    custody: Option<Custody>,
) -> Result<Option<(CustodyHeaders, Commitments)>, InboxError> {
    let id = headers.purchase_id;
    let offer = headers.offer_id;
    let (piece, custody) = match (&headers.custody, custody) {
        (None, None) => return Ok(None),
        (Some(piece), Some(custody)) => (piece.clone(), custody),
        (Some(piece), None) => {
            return Err(InboxError::mismatch(
                id,
                format!(
                    "the delivery is piece {} of a {}-of-{} custody set (x-consign-custody-* headers), but offer {offer} on-chain has no custody: it is delivered whole by one storage node, never in pieces",
                    piece.index, piece.k, piece.n
                ),
            ))
        }
        (None, Some(custody)) => {
            return Err(InboxError::mismatch(
                id,
                format!(
                    "offer {offer} on-chain is held {}-of-{} by several storage nodes: each delivers one piece with the x-consign-custody-* headers; a delivery without them is refused",
                    custody.k, custody.n
                ),
            ))
        }
    };
    let commitments: Commitments = serde_json::to_value(&custody)
        .and_then(serde_json::from_value)
        .map_err(|e| {
            InboxError::mismatch(
                id,
                format!("offer {offer}'s custody commitments on-chain cannot be used: {e}"),
            )
        })?;
    let params = commitments.params();
    if (piece.k, piece.n) != (params.k(), params.n()) {
        return Err(InboxError::mismatch(
            id,
            format!(
                "piece {} says k = {} of n = {}, but offer {offer}'s custody on-chain is k = {} of n = {}",
                piece.index,
                piece.k,
                piece.n,
                params.k(),
                params.n()
            ),
        ));
    }
    Ok(Some((piece, commitments)))
}

/// Why a fragment was not kept.
enum FragmentFailure {
    /// The body is not age-encrypted to the buyer.
    Seal(SealError),
    /// The fragment's check (or keeping it) failed.
    Piece(PieceError),
    /// A fragment of another index than the delivery's.
    OtherIndex(u16),
}

/// What the blocking side made of a piece.
struct Taken {
    share: Result<Kept, String>,
    fragment: Result<Kept, FragmentFailure>,
    status: Status,
}

/// Opens the purchase's assembly and offers it the piece: the share, then the fragment read
/// from `body` as it is decrypted.
fn take_piece(
    identity: &AgeIdentity,
    commitments: Commitments,
    dir: &Path,
    index: u16,
    sealed_share: &str,
    body: ChannelReader,
) -> Result<Taken, InboxError> {
    let mut assembly = Assembly::open(commitments, dir)
        .map_err(InboxError::storage("open the pieces folder", dir))?;
    let share = open_share(identity, sealed_share, index)
        .and_then(|share| assembly.add_share(share).map_err(|e| e.to_string()));
    let fragment = take_fragment(&mut assembly, identity, index, body);
    // The other pieces of the purchase stream at the same time, each into an assembly of its
    // own: the status is read again from the folder (every piece lands there by an atomic
    // rename), so whichever piece lands last sees every piece before it and starts the rebuild.
    let status = Assembly::open(assembly.commitments().clone(), dir)
        .map_err(InboxError::storage("read the pieces folder", dir))?
        .status();
    Ok(Taken {
        share,
        fragment,
        status,
    })
}

fn open_share(identity: &AgeIdentity, sealed: &str, index: u16) -> Result<KeyShare, String> {
    let share = KeyShare::open(sealed, identity.as_age())
        .map_err(|e| format!("key share {index} refused: {e}"))?;
    if share.index() != index {
        return Err(format!(
            "key share refused: it is share {}, but the delivery is piece {index} (each storage node sends its own)",
            share.index()
        ));
    }
    Ok(share)
}

fn take_fragment(
    assembly: &mut Assembly,
    identity: &AgeIdentity,
    index: u16,
    body: ChannelReader,
) -> Result<Kept, FragmentFailure> {
    let mut plaintext = seal::decrypting_reader(identity, body).map_err(FragmentFailure::Seal)?;
    let mut header = [0u8; HEADER_LEN];
    plaintext.read_exact(&mut header).map_err(|source| {
        FragmentFailure::Piece(PieceError::FragmentRead {
            index: None,
            source,
        })
    })?;
    // An unreadable header is refused by the check itself, with its reason.
    if let Ok(decoded) = FragmentHeader::decode(&header) {
        if decoded.index != index {
            return Err(FragmentFailure::OtherIndex(decoded.index));
        }
    }
    assembly
        .add_fragment(Read::chain(&header[..], plaintext))
        .map_err(FragmentFailure::Piece)
}

/// The status and reason to answer a fragment that was not kept.
fn fragment_refusal(
    failure: FragmentFailure,
    pumped: &Pumped,
    index: u16,
    fragment_size: u64,
) -> (u16, String) {
    if let Some(reason) = &pumped.too_slow {
        return (
            408,
            format!("fragment {index} refused: the request body came too slowly: {reason}"),
        );
    }
    if pumped.too_long {
        return (
            413,
            format!("fragment {index} refused: the body is longer than an age encryption of a {fragment_size}-byte fragment can be"),
        );
    }
    if let Some(reason) = &pumped.broken {
        return (
            400,
            format!("fragment {index} refused: the request body broke off: {reason}"),
        );
    }
    match failure {
        FragmentFailure::Seal(e @ SealError::Io { .. }) => (
            400,
            format!("fragment {index} refused: reading the body failed: {e}"),
        ),
        FragmentFailure::Seal(e) => (422, format!("fragment {index} refused: {e}")),
        FragmentFailure::Piece(e @ PieceError::FragmentSpool { .. }) => (500, e.to_string()),
        FragmentFailure::Piece(PieceError::FragmentRead { source, .. }) => (
            422,
            format!(
                "fragment {index} refused: {}",
                seal::stream_error(source)
            ),
        ),
        FragmentFailure::Piece(e) => (422, e.to_string()),
        FragmentFailure::OtherIndex(found) => (
            422,
            format!("fragment refused: it is fragment {found}, but the delivery is piece {index} (each storage node sends its own)"),
        ),
    }
}

/// The pieces of a k-of-n purchase kept so far, by index, as [`Inbox::pieces`] finds them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PiecesKept {
    /// The fragments kept (each checked when it came).
    pub fragments: Vec<u16>,
    /// The key shares kept (each checked when it came).
    pub shares: Vec<u16>,
}

impl fmt::Display for PiecesKept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "fragments {:?} and key shares {:?}",
            self.fragments, self.shares
        )
    }
}

/// One lock per purchase being rebuilt.
pub(super) type PieceLocks = std::sync::Mutex<HashMap<(String, u64), Arc<tokio::sync::Mutex<()>>>>;

impl Inbox {
    /// The pieces of a k-of-n purchase not saved yet that are kept in its folder, or `None` if
    /// none came (or the purchase is saved, or not k-of-n). Read from the folder's names alone:
    /// each piece was checked before it was kept there.
    ///
    /// # Errors
    ///
    /// [`InboxError::Config`] if `contract` is not an address; [`InboxError::Storage`] if the
    /// folder cannot be read.
    pub fn pieces(
        &self,
        contract: &str,
        purchase_id: u64,
    ) -> Result<Option<PiecesKept>, InboxError> {
        crate::validate_address(contract).map_err(|e| InboxError::Config {
            field: "contract",
            reason: e.to_string(),
        })?;
        let dir = self.store.custody_dir(contract, purchase_id);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(InboxError::storage("list", dir)(e)),
        };
        let mut kept = PiecesKept::default();
        for entry in entries {
            let name = entry
                .map_err(InboxError::storage("list", &dir))?
                .file_name();
            let name = name.to_string_lossy();
            if let Some(index) = name.strip_prefix("fragment-").and_then(|i| i.parse().ok()) {
                kept.fragments.push(index);
            } else if let Some(index) = name
                .strip_prefix("share-")
                .and_then(|rest| rest.strip_suffix(".json"))
                .and_then(|i| i.parse().ok())
            {
                kept.shares.push(index);
            }
        }
        kept.fragments.sort_unstable();
        kept.shares.sort_unstable();
        Ok(Some(kept))
    }

    /// The folder collecting a purchase's pieces.
    fn pieces_dir(&self, delivery: &Delivery) -> PathBuf {
        self.store
            .custody_dir(&delivery.contract, delivery.purchase_id)
    }

    /// The pieces of the purchase held, `None` if none came: the preflight answers that nothing
    /// needs sending for a piece whose both halves are held. Nothing is written.
    pub(super) async fn pieces_held(
        &self,
        delivery: &Delivery,
        commitments: Commitments,
    ) -> Result<Option<PiecesHeld>, InboxError> {
        let dir = self.pieces_dir(delivery);
        if !dir.is_dir() {
            return Ok(None);
        }
        let status = tokio::task::spawn_blocking(move || {
            Assembly::open(commitments, &dir)
                .map(|assembly| assembly.status())
                .map_err(InboxError::storage("open the pieces folder", dir))
        })
        .await
        .map_err(|e| internal(delivery.purchase_id, &e))??;
        Ok(Some(PiecesHeld::from(status)))
    }

    /// Takes one piece of a k-of-n delivery (see the [module documentation](self)), and
    /// rebuilds and saves the data if it completes the set.
    pub(super) async fn receive_piece<S, B, E>(
        &self,
        delivery: Delivery,
        piece: CustodyHeaders,
        commitments: Commitments,
        body: &mut S,
    ) -> Result<Accepted, InboxError>
    where
        S: Stream<Item = Result<B, E>> + Unpin,
        B: Buf,
        E: fmt::Display,
    {
        let index = piece.index;
        let purchase_id = delivery.purchase_id;
        // Counted as on its way until this request ends, however it ends.
        let _streaming = self
            .underway
            .streaming((delivery.contract.clone(), purchase_id), index);
        let dir = self.pieces_dir(&delivery);
        let fragment_size = commitments.fragment_size();
        let (tx, reader) = ChannelReader::channel();
        let task = {
            let identity = self.identity.clone();
            let commitments = commitments.clone();
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || {
                take_piece(
                    &identity,
                    commitments,
                    &dir,
                    index,
                    &piece.sealed_share,
                    reader,
                )
            })
        };
        let limit = stream::ciphertext_limit(fragment_size);
        let pumped = stream::pump(body, tx, limit, self.config.pace()).await;
        let taken = task.await.map_err(|e| internal(purchase_id, &e));
        // Saved by another piece while this one streamed: whatever became of it (its folder
        // may have gone under it), the purchase wants nothing more.
        if let Some(record) = self.store.record(&delivery.contract, purchase_id)? {
            self.forget_pieces(&(delivery.contract.clone(), purchase_id), &dir);
            return Ok(Accepted::Duplicate(record));
        }
        let taken = taken??;

        let held = PiecesHeld::from(taken.status);
        let share = match taken.share {
            Ok(kept) => Verdict::from(kept),
            Err(reason) => Verdict::Refused(reason),
        };
        let (fragment, refused_fragment) = match taken.fragment {
            Ok(kept) => (Verdict::from(kept), None),
            Err(failure) => {
                let (status, reason) = fragment_refusal(failure, &pumped, index, fragment_size);
                (Verdict::Refused(reason.clone()), Some((status, reason)))
            }
        };
        tracing::info!(
            target: "client::inbox",
            purchase_id,
            index,
            fragment = %fragment,
            share = %share,
            "piece {index} of purchase {purchase_id}: {held}"
        );
        let refusal = match (refused_fragment, &share) {
            (Some((status, reason)), share) => {
                Some((status, format!("{reason}; its key share: {share}")))
            }
            (None, Verdict::Refused(reason)) => {
                Some((422, format!("{reason}; its fragment: {fragment}")))
            }
            (None, _) => None,
        };
        let report = PieceReport {
            contract: delivery.contract.clone(),
            purchase_id,
            offer_id: delivery.offer_id,
            index,
            fragment,
            share,
            held: held.clone(),
        };
        if held.is_ready() {
            // A half refused does not matter now: the good pieces complete the set.
            self.emit(&InboxEvent::Piece(report));
            return self
                .rebuild_and_save(&delivery, commitments, dir, held)
                .await;
        }
        if let Some((status, reason)) = refusal {
            return Err(InboxError::PieceRefused {
                purchase_id,
                index,
                status,
                reason: format!("{reason}; {held}"),
            });
        }
        self.emit(&InboxEvent::Piece(report.clone()));
        Ok(Accepted::Held(report))
    }

    /// Rebuilds the data from the pieces held, checks it against the offer and saves it: once,
    /// whatever arrives meanwhile (a lock per purchase, and the record checked under it).
    async fn rebuild_and_save(
        &self,
        delivery: &Delivery,
        commitments: Commitments,
        dir: PathBuf,
        held: PiecesHeld,
    ) -> Result<Accepted, InboxError> {
        let lock_key = (delivery.contract.clone(), delivery.purchase_id);
        let lock = self
            .piece_locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(lock_key.clone())
            .or_default()
            .clone();
        let _rebuilding = lock.lock().await;
        let purchase_id = delivery.purchase_id;
        if let Some(record) = self.store.record(&delivery.contract, purchase_id)? {
            self.forget_pieces(&lock_key, &dir);
            return Ok(Accepted::Duplicate(record));
        }
        let name = self.config.names.render(delivery);
        // A save whose record was lost (a crash between the rename and the record).
        if self
            .store
            .holds(&name, &delivery.sha256, delivery.size)
            .await?
        {
            let record = self.record(delivery, name);
            self.store.write_record(&record)?;
            self.forget_pieces(&lock_key, &dir);
            return Ok(Accepted::Duplicate(record));
        }

        self.emit(&InboxEvent::Rebuilding {
            contract: delivery.contract.clone(),
            purchase_id,
            held,
        });
        let part = self.store.part_file()?;
        let keep_key = self.config.keep_keys.is_some();
        let task = tokio::task::spawn_blocking(move || {
            let assembly = Assembly::open(commitments, &dir)
                .map_err(InboxError::storage("open the pieces folder", &dir))?;
            // Only when asked: the key is the whole secret of the ciphertext.
            let key = keep_key
                .then(|| assembly.data_key())
                .transpose()
                .map_err(|source| InboxError::Rebuild {
                    purchase_id,
                    source,
                })?;
            let path = part.path().to_owned();
            let mut writer = BufWriter::with_capacity(WRITE_BUFFER, part.as_file());
            let report = assembly
                .rebuild(&mut writer)
                .map_err(|source| InboxError::Rebuild {
                    purchase_id,
                    source,
                })?;
            writer
                .flush()
                .map_err(InboxError::storage("write", &path))?;
            drop(writer);
            part.as_file()
                .sync_all()
                .map_err(InboxError::storage("sync", &path))?;
            Ok::<_, InboxError>((part, report, dir, key))
        });
        let (part, report, dir, key) = task.await.map_err(|e| internal(purchase_id, &e))??;
        if report.plaintext_sha256 != delivery.sha256 || report.plaintext_size != delivery.size {
            return Err(InboxError::RebuiltMismatch {
                purchase_id,
                expected_sha256: delivery.sha256.clone(),
                expected_size: delivery.size,
                actual_sha256: report.plaintext_sha256,
                actual_size: report.plaintext_size,
            });
        }
        self.emit(&InboxEvent::Verified(delivery.clone()));
        let record = {
            let _commit = self.commit.lock().await;
            let file = self.store.persist(part, &name)?;
            let record = self.record(delivery, file);
            self.store.write_record(&record)?;
            record
        };
        if let (Some(keys), Some(data_key)) = (&self.config.keep_keys, key) {
            keep_data_key(keys, &record.file, data_key);
        }
        self.emit(&InboxEvent::Saved {
            path: self.store.out.join(&record.file),
            record: record.clone(),
        });
        self.forget_pieces(&lock_key, &dir);
        Ok(Accepted::Saved(record))
    }

    /// Removes a saved purchase's pieces folder and its lock. A folder that cannot be removed
    /// is only logged: the purchase is saved, and its record answers every later piece.
    fn forget_pieces(&self, key: &(String, u64), dir: &Path) {
        self.piece_locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
        match std::fs::remove_dir_all(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(
                target: "client::inbox",
                dir = %dir.display(),
                "cannot remove the pieces of a saved purchase: {e}; remove the folder by hand"
            ),
        }
    }
}

/// Writes `key` as `<dir>/<file>.agekey`. A key that cannot be written is only logged: the
/// purchase is saved, which is what the buyer paid for.
fn keep_data_key(dir: &Path, file: &str, key: consign_custody::DataKey) {
    let path = dir.join(format!("{file}.agekey"));
    let written = std::fs::create_dir_all(dir)
        .map_err(|e| e.to_string())
        .and_then(|()| {
            AgeIdentity::from(key.identity())
                .save_new(&path)
                .map_err(|e| e.to_string())
        });
    match written {
        Ok(()) => tracing::info!(
            target: "client::inbox",
            path = %path.display(),
            "kept the rebuilt data key"
        ),
        Err(e) => tracing::warn!(
            target: "client::inbox",
            path = %path.display(),
            "cannot keep the rebuilt data key: {e}"
        ),
    }
}

fn internal(purchase_id: u64, error: &tokio::task::JoinError) -> InboxError {
    InboxError::Internal {
        purchase_id,
        reason: format!("the piece's task failed: {error}"),
    }
}

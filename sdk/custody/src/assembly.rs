//! The buyer's collection of one custody set's pieces in a folder: fragments and key shares
//! accepted in any order, from any subset of storage nodes, each checked on arrival and kept
//! only if good; a [`Status`] that says what is here and what is still needed; and the rebuild
//! once `k` of each are in.
//!
//! The folder holds `fragment-<index>` (the checked fragment, written atomically) and
//! `share-<index>.json`; [`Assembly::open`] picks them up again after a restart.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use consign_util::fs::AtomicWrite;

use crate::commitments::Commitments;
use crate::error::{PieceError, RebuildError};
use crate::key::{DataKey, KeyShare};
use crate::rebuild::{self, RebuildReport};

/// What happened to an offered piece that was not refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// A new piece, checked and kept.
    New(u16),
    /// The same piece was already here (a retried or replayed delivery); nothing changed.
    AlreadyHere(u16),
}

/// Which pieces are here and how many more are needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// `k`.
    pub k: u16,
    /// `n`.
    pub n: u16,
    /// The indices of the checked fragments here.
    pub fragments: Vec<u16>,
    /// The indices of the checked key shares here.
    pub shares: Vec<u16>,
}

impl Status {
    /// How many more fragments are needed (0 when ready).
    pub fn fragments_needed(&self) -> usize {
        usize::from(self.k).saturating_sub(self.fragments.len())
    }

    /// How many more key shares are needed (0 when ready).
    pub fn shares_needed(&self) -> usize {
        usize::from(self.k).saturating_sub(self.shares.len())
    }

    /// Whether the data can be rebuilt now.
    pub fn is_ready(&self) -> bool {
        self.fragments_needed() == 0 && self.shares_needed() == 0
    }

    /// The indices (storage node `i` holds fragment `i` and share `i`) whose fragment or
    /// share has not arrived yet.
    pub fn waiting_for(&self) -> Vec<u16> {
        (0..self.n)
            .filter(|i| !self.fragments.contains(i) || !self.shares.contains(i))
            .collect()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |items: &[u16]| {
            if items.is_empty() {
                "none".to_owned()
            } else {
                items
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let need = |n: usize| {
            if n == 0 {
                "enough".to_owned()
            } else {
                format!("{n} more needed")
            }
        };
        write!(
            f,
            "fragments {} of {} ({}), key shares {} ({}); {} of {} of each rebuild the data",
            list(&self.fragments),
            self.n,
            need(self.fragments_needed()),
            list(&self.shares),
            need(self.shares_needed()),
            self.k,
            self.n,
        )
    }
}

/// One custody set's pieces, collected in a folder.
#[derive(Debug)]
pub struct Assembly {
    commitments: Commitments,
    dir: PathBuf,
    fragments: BTreeSet<u16>,
    shares: BTreeMap<u16, KeyShare>,
}

impl Assembly {
    /// Opens (creating it if needed) the folder that collects the pieces of the custody set
    /// `commitments` describes, and picks up the pieces already kept there.
    ///
    /// # Errors
    ///
    /// The I/O error if the folder cannot be created or read.
    pub fn open(commitments: Commitments, dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut assembly = Self {
            commitments,
            dir: dir.to_owned(),
            fragments: BTreeSet::new(),
            shares: BTreeMap::new(),
        };
        let size = assembly.commitments.fragment_size();
        for index in 0..assembly.commitments.params().n() {
            // Only this code writes these names, after checking, with an atomic rename.
            let fragment = assembly.fragment_path(index);
            if std::fs::metadata(&fragment).is_ok_and(|m| m.len() == size) {
                assembly.fragments.insert(index);
            }
            let share = assembly.share_path(index);
            if let Ok(text) = std::fs::read_to_string(&share) {
                if let Ok(share) = serde_json::from_str::<KeyShare>(&text) {
                    if assembly.commitments.verify_share(&share).is_ok() && share.index() == index {
                        assembly.shares.insert(index, share);
                    }
                }
            }
        }
        Ok(assembly)
    }

    /// The commitments the pieces are checked against.
    pub fn commitments(&self) -> &Commitments {
        &self.commitments
    }

    fn fragment_path(&self, index: u16) -> PathBuf {
        self.dir.join(format!("fragment-{index}"))
    }

    fn share_path(&self, index: u16) -> PathBuf {
        self.dir.join(format!("share-{index}.json"))
    }

    /// Takes a fragment as it streams in, checks it and keeps it if good. A fragment whose
    /// index is already here is checked again and, if good, dropped as a duplicate.
    ///
    /// # Errors
    ///
    /// The [`PieceError`] that says why it was refused; nothing of it is kept, and the pieces
    /// already here are untouched.
    pub fn add_fragment<R: Read>(&mut self, mut input: R) -> Result<Accepted, PieceError> {
        let (header_bytes, header) = rebuild::read_header(&self.commitments, &mut input)?;
        let index = header.index;
        let whole = io::Cursor::new(header_bytes).chain(input);
        if self.fragments.contains(&index) {
            rebuild::check_fragment(&self.commitments, whole, io::sink())?;
            return Ok(Accepted::AlreadyHere(index));
        }
        let mut refused = None;
        let path = self.fragment_path(index);
        let written = AtomicWrite::new()
            .private()
            .write_with(&path, |file: &mut File| {
                let mut writer = io::BufWriter::with_capacity(64 * 1024, file);
                match rebuild::check_fragment(&self.commitments, whole, &mut writer) {
                    Ok(_) => writer.flush(),
                    Err(e) => {
                        refused = Some(e);
                        Err(io::Error::other("fragment refused"))
                    }
                }
            });
        if let Some(refused) = refused {
            return Err(refused);
        }
        written.map_err(|e| PieceError::FragmentSpool {
            index,
            source: e.into_io_error(),
        })?;
        self.fragments.insert(index);
        Ok(Accepted::New(index))
    }

    /// Takes a key share, checks it against its Feldman commitment and keeps it if good.
    ///
    /// # Errors
    ///
    /// The [`PieceError`] that says why it was refused, or [`PieceError::Conflict`] if another
    /// valid share of the same index is already here (which would mean a broken sharing).
    pub fn add_share(&mut self, share: KeyShare) -> Result<Accepted, PieceError> {
        self.commitments.verify_share(&share)?;
        let index = share.index();
        if let Some(existing) = self.shares.get(&index) {
            if *existing == share {
                return Ok(Accepted::AlreadyHere(index));
            }
            return Err(PieceError::Conflict {
                kind: "key share",
                index,
            });
        }
        let json = serde_json::to_vec(&share).map_err(|e| PieceError::FragmentSpool {
            index,
            source: io::Error::other(e),
        })?;
        AtomicWrite::new()
            .private()
            .write(&self.share_path(index), &json)
            .map_err(|e| PieceError::FragmentSpool {
                index,
                source: e.into_io_error(),
            })?;
        self.shares.insert(index, share);
        Ok(Accepted::New(index))
    }

    /// Which pieces are here and how many more are needed.
    pub fn status(&self) -> Status {
        let params = self.commitments.params();
        Status {
            k: params.k(),
            n: params.n(),
            fragments: self.fragments.iter().copied().collect(),
            shares: self.shares.keys().copied().collect(),
        }
    }

    /// Rebuilds the data into `out` from the pieces here (see [`rebuild::rebuild`]).
    ///
    /// # Errors
    ///
    /// [`RebuildError::NotEnough`] (with the counts) before `k` fragments and `k` shares are
    /// here; otherwise what [`rebuild::rebuild`] returns.
    pub fn rebuild<W: Write>(&self, out: W) -> Result<RebuildReport, RebuildError> {
        let status = self.status();
        if !status.is_ready() {
            return Err(RebuildError::NotEnough {
                k: status.k,
                fragments: status.fragments.len(),
                shares: status.shares.len(),
            });
        }
        let k = usize::from(status.k);
        let mut files = Vec::with_capacity(k);
        for &index in self.fragments.iter().take(k) {
            let file = File::open(self.fragment_path(index))
                .map_err(|source| RebuildError::Fragment { index, source })?;
            files.push(io::BufReader::with_capacity(64 * 1024, file));
        }
        let shares: Vec<KeyShare> = self.shares.values().take(k).cloned().collect();
        rebuild::rebuild(&self.commitments, &shares, files, out)
    }

    /// The data key rebuilt from the shares here (checked against the commitments): the age
    /// identity the ciphertext the storage nodes hold was encrypted to.
    ///
    /// # Errors
    ///
    /// [`RebuildError::NotEnoughShares`] before `k` shares are here.
    pub fn data_key(&self) -> Result<DataKey, RebuildError> {
        let shares: Vec<KeyShare> = self.shares.values().cloned().collect();
        rebuild::rebuild_key(&self.commitments, &shares)
    }
}

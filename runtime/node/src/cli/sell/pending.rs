//! The pieces of a k-of-n offer that no storage node has taken yet, kept on the seller's machine
//! until each is registered: `<home>/custody-pending/<set id>.json`.
//!
//! Once `consign sell` returns, a piece's key share exists nowhere but at its node. A
//! registration that did not get through — the node down longer than `--register-timeout`, or
//! the seller's own process killed after the offer went on-chain — would lose that share for
//! good, and the offer would survive one node fewer being down. So before the offer goes
//! on-chain, each piece is written here *sealed to its node* (age, to the node's custody
//! recipient), with the node's URL and id and the fragment's digest. Only that node can open a
//! sealed share, so the file tells nothing of the data to whoever reads it; it is still written
//! owner-only and atomically. It is rewritten with what is left after each round of
//! registrations and removed when nothing is. `consign offer register OFFER --from KEY` finds it
//! by the offer's custody set id (on-chain) and registers what is left.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use consign_client::{CustodyPiece, SecretKey, StorageClient};
use consign_util::fs::AtomicWrite;
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};

use super::register::{register_retrying, ToRegister};

/// The directory under the home that keeps them.
const DIR: &str = "custody-pending";

/// The pieces of one custody set not registered yet.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct PendingPieces {
    /// The market contract.
    pub(crate) contract: String,
    /// The chain the registrations are signed for.
    pub(crate) chain_id: String,
    /// The set's id, as in the offer's custody commitments.
    pub(crate) set_id: String,
    /// Pieces needed to rebuild.
    pub(crate) k: u16,
    /// Pieces made.
    pub(crate) n: u16,
    /// The pieces left, in index order.
    pub(crate) pieces: Vec<PendingPiece>,
}

/// One piece waiting for its node.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct PendingPiece {
    /// The piece's index.
    pub(crate) index: u16,
    /// The storage node's URL.
    pub(crate) url: String,
    /// The storage node's id (the registration is signed for it).
    pub(crate) node_id: String,
    /// The fragment's SHA-256, hex.
    pub(crate) fragment_sha256: String,
    /// Key share `index`, sealed to the node.
    pub(crate) sealed_share: String,
}

/// How the registration of one piece went, for the report and `--output json`.
#[derive(Debug, Serialize)]
pub(crate) struct PieceReport {
    pub(crate) index: u16,
    pub(crate) url: String,
    pub(crate) node_id: String,
    pub(crate) registered: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

impl PendingPieces {
    /// Where the pieces of set `set_id` are kept under `home`.
    ///
    /// # Errors
    ///
    /// If `set_id` is not 32 hex characters (it comes from the chain: it must not name a path).
    pub(crate) fn path(home: &Path, set_id: &str) -> anyhow::Result<PathBuf> {
        anyhow::ensure!(
            set_id.len() == 32 && set_id.bytes().all(|b| b.is_ascii_hexdigit()),
            "custody set id `{set_id}` is not 32 hex characters"
        );
        Ok(home.join(DIR).join(format!("{set_id}.json")))
    }

    /// Writes them to their file under `home` (owner-only, atomically, synced), or removes the
    /// file when no piece is left. Returns the file's path.
    ///
    /// # Errors
    ///
    /// If the directory or the file cannot be written or removed.
    pub(crate) fn save(&self, home: &Path) -> anyhow::Result<PathBuf> {
        let path = Self::path(home, &self.set_id)?;
        if self.pieces.is_empty() {
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(e).with_context(|| format!("cannot remove {}", path.display()))
                }
                _ => return Ok(path),
            }
        }
        let dir = home.join(DIR);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        AtomicWrite::new()
            .private()
            .write(&path, &serde_json::to_vec_pretty(self)?)?;
        Ok(path)
    }

    /// The pieces of set `set_id` kept under `home`, if any.
    ///
    /// # Errors
    ///
    /// If the file exists but cannot be read or parsed.
    pub(crate) fn load(home: &Path, set_id: &str) -> anyhow::Result<Option<Self>> {
        let path = Self::path(home, set_id)?;
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let pending: Self = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a list of pending pieces", path.display()))?;
        Ok(Some(pending))
    }

    /// Registers every piece left with its node for offer `offer_id`, all at once, each with
    /// retries for `patience` ([`register_retrying`]). Keeps only the pieces still not taken,
    /// and reports on every piece tried, in index order.
    pub(crate) async fn register(
        &mut self,
        offer_id: u64,
        key: &SecretKey,
        patience: Duration,
    ) -> Vec<PieceReport> {
        let (contract, chain_id) = (self.contract.as_str(), self.chain_id.as_str());
        let attempts = self.pieces.iter().map(|piece| async move {
            let result = match StorageClient::new(&piece.url) {
                Ok(client) => {
                    let registration = ToRegister {
                        contract,
                        offer_id,
                        sha256: &piece.fragment_sha256,
                        chain_id,
                        key,
                        piece: Some(CustodyPiece {
                            index: piece.index,
                            sealed_share: piece.sealed_share.clone(),
                        }),
                    };
                    let label = format!("piece {} at {}", piece.index, piece.url);
                    register_retrying(&client, &label, &registration, patience).await
                }
                Err(error) => Err(error),
            };
            PieceReport {
                index: piece.index,
                url: piece.url.clone(),
                node_id: piece.node_id.clone(),
                registered: result.is_ok(),
                error: result.err().map(|e| e.to_string()),
            }
        });
        let reports = join_all(attempts).await;
        self.pieces.retain(|piece| {
            reports
                .iter()
                .any(|report| report.index == piece.index && !report.registered)
        });
        reports
    }

    /// Says on stderr how each piece in `reports` went and where offer `offer_id` stands: every
    /// piece registered, deliverable with fewer spares, or not deliverable; and, if pieces are
    /// left, how to register them later (`from` is the seller's key). Returns whether none is
    /// left.
    pub(crate) fn report(&self, offer_id: u64, from: &str, reports: &[PieceReport]) -> bool {
        for piece in reports {
            match &piece.error {
                None => eprintln!("piece {} registered with {}", piece.index, piece.url),
                Some(error) => eprintln!(
                    "error: piece {} was not registered with {}: {error}",
                    piece.index, piece.url
                ),
            }
        }
        let (k, n) = (self.k, self.n);
        let registered = n - u16::try_from(self.pieces.len()).unwrap_or(n);
        let retry = format!(
            "the unregistered pieces are kept, sealed to their nodes, until they are: once the \
             nodes are back, run `consign offer register {offer_id} --from {from}` (before each \
             node's sweep of unregistered uploads, 24 hours by default)"
        );
        if registered == n {
            eprintln!(
                "offer {offer_id} registered with {n} storage nodes: any {k} of them deliver it; \
                 you may go offline"
            );
        } else if registered >= k {
            eprintln!(
                "offer {offer_id} is deliverable, but with {registered} of {n} nodes registered \
                 it survives {} of them being down instead of {}; {retry}",
                registered - k,
                n - k,
            );
        } else {
            eprintln!(
                "error: offer {offer_id} cannot be delivered yet: {registered} of the {k} pieces \
                 needed are registered; {retry}"
            );
        }
        self.pieces.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(pieces: Vec<PendingPiece>) -> PendingPieces {
        PendingPieces {
            contract: "consign1contract".into(),
            chain_id: "consign-dev".into(),
            set_id: "0123456789abcdef0123456789abcdef".into(),
            k: 2,
            n: 3,
            pieces,
        }
    }

    fn piece(index: u16) -> PendingPiece {
        PendingPiece {
            index,
            url: format!("http://127.0.0.1:{}", 7000 + index),
            node_id: format!("node-{index}"),
            fragment_sha256: "ab".repeat(32),
            sealed_share: format!("sealed {index}"),
        }
    }

    #[test]
    fn pieces_are_kept_owner_only_until_none_is_left() {
        let home = tempfile::tempdir().unwrap();
        let mut kept = pending(vec![piece(0), piece(2)]);
        let path = kept.save(home.path()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "only the seller reads them");
        }
        let loaded = PendingPieces::load(home.path(), &kept.set_id)
            .unwrap()
            .unwrap();
        assert_eq!(loaded.pieces.len(), 2);
        assert_eq!(loaded.pieces[1].sealed_share, "sealed 2");

        kept.pieces.clear();
        kept.save(home.path()).unwrap();
        assert!(!path.exists(), "nothing left, no file");
        assert!(PendingPieces::load(home.path(), &kept.set_id)
            .unwrap()
            .is_none());
        kept.save(home.path()).unwrap();
    }

    #[test]
    fn a_set_id_from_the_chain_cannot_name_another_path() {
        let home = Path::new("/home/seller/.consign");
        for hostile in [
            "../../../etc/passwd",
            "",
            "0123456789abcdef0123456789abcde/",
        ] {
            assert!(PendingPieces::path(home, hostile).is_err(), "{hostile:?}");
        }
    }

    #[tokio::test]
    async fn a_piece_whose_node_cannot_be_reached_stays_pending() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed = listener.local_addr().unwrap();
        drop(listener);
        let mut kept = pending(vec![PendingPiece {
            url: format!("http://{closed}"),
            ..piece(1)
        }]);
        let key = SecretKey::from_seed("seller");
        let reports = kept.register(4, &key, Duration::from_millis(10)).await;
        assert_eq!(reports.len(), 1);
        assert!(!reports[0].registered);
        assert!(reports[0]
            .error
            .as_deref()
            .unwrap()
            .contains("cannot reach"));
        assert_eq!(kept.pieces.len(), 1, "kept for later");
        assert!(!kept.report(4, "seller", &reports));
    }
}

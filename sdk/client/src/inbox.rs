//! The buyer's receiving side: an [`Inbox`] takes delivery requests (the headers and the body
//! stream of an HTTP `POST` from a storage node), checks them against the chain, decrypts them
//! with the buyer's age identity as they stream in, verifies the plaintext against the offer's
//! SHA-256 and size, and saves it, exactly once per purchase. `consign inbox` serves it over
//! HTTP; any HTTP server can, since [`Inbox::receive`] takes a [`HeaderMap`] and a body
//! [`Stream`] and says what to answer.
//!
//! For each delivery, in order:
//!
//! 1. **Headers** ([`DeliveryHeaders`]): contract, purchase id, offer id, content SHA-256 and
//!    size must be present and well formed, else `400`. A contract other than the configured one
//!    is refused (`422`).
//! 2. **Exactly once**: if the purchase was already saved (its [`SavedRecord`] exists under
//!    `<out>/.consign-inbox/`), the answer is `200` again and nothing is written.
//! 3. **On-chain** (smart queries through a [`NodePool`], one node or several of the chain, failing
//!    over between them): the purchase exists in that contract,
//!    is of the header's offer, was made by the configured buyer, names this identity's
//!    recipient as its key, and was not refunded; the expected SHA-256 and size come from the
//!    **offer on-chain**, and headers that claim others are refused (`422`). A node that cannot
//!    be reached gives `503`, so the sender retries.
//! 4. **Decrypt and verify** as the body streams in, into a `.part` file of this request's own
//!    (never the whole body in memory): a wrong identity, a corrupt, truncated or oversized
//!    stream, or a plaintext whose size or SHA-256 is not the offer's gives `422` with the
//!    reason, and nothing is saved. A body that sends nothing for
//!    [`idle_timeout`](InboxConfig::idle_timeout), or less than
//!    [`min_rate`](InboxConfig::min_rate) over such a window, is cut (`408`).
//! 5. **Save**: the file is synced and renamed to its name ([`NameTemplate`]) in the output
//!    directory, never replacing another file; then its record is written. `200`.
//!
//! An offer held k-of-n by several storage nodes (its offer carries custody commitments)
//! arrives as one piece per node instead, each a request with the custody headers: its
//! fragment and key share are checked against the offer's commitments and kept until `k` of
//! each rebuild the data, which is then verified and saved as above, once (`inbox/custody.rs`
//! says how); a piece taken is [`Accepted::Held`] and an [`InboxEvent::Piece`].
//!
//! Requests are not trusted to be the storage node: anyone who reads a purchase on-chain can
//! send its headers. So receptions of one purchase run side by side, each into its own `.part`
//! file, and the first that verifies is saved; the others are answered as duplicates and their
//! files dropped. A stranger trickling a body cannot hold the purchase: the real delivery goes
//! through beside it. And nothing a request does makes the inbox act on-chain: only
//! [`Accepted::Saved`], a delivery this inbox has just verified, is meant to be confirmed (a
//! [`Accepted::Duplicate`] never).
//!
//! Each step is reported as an [`InboxEvent`] to the callback given to
//! [`Inbox::on_event`], with progress as the plaintext is written.
//!
//! # Example
//!
//! ```no_run
//! use consign_client::inbox::{Inbox, InboxConfig, InboxEvent};
//! use consign_client::{AgeIdentity, NodeClient};
//!
//! # async fn example(headers: reqwest::header::HeaderMap, body: futures_util::stream::Empty<Result<bytes::Bytes, std::io::Error>>) -> Result<(), Box<dyn std::error::Error>> {
//! let identity = AgeIdentity::load("buyer.agekey".as_ref())?;
//! let node = NodeClient::new("http://127.0.0.1:26657")?;
//! let config = InboxConfig::new(
//!     "downloads",
//!     "consign14hj2tavq8fpesdwxxcu44rty3hh90vhujrvcmstl4zr3txmfvw9s4hmalr",
//!     "consign1…", // the buyer's own address: only its purchases are accepted
//! );
//! let inbox = Inbox::new(config, identity, node)?
//!     .on_event(|event| {
//!         if let InboxEvent::Saved { path, .. } = event {
//!             println!("saved {}", path.display());
//!         }
//!     });
//! // In an HTTP handler, for each POST:
//! let result = inbox.receive(&headers, body).await;
//! let (status, json) = consign_client::inbox::response(&result);
//! # let _ = (status, json);
//! # Ok(()) }
//! ```

mod chain;
mod custody;
mod error;
mod headers;
mod preflight;
mod store;
mod stream;
#[cfg(test)]
mod tests;
mod underway;

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Buf;
use futures_util::{Stream, StreamExt as _};
use reqwest::header::HeaderMap;
use serde::Serialize;

pub use chain::Delivery;
pub use custody::{PieceReport, PiecesHeld, PiecesKept, Verdict};
pub use error::InboxError;
pub use headers::{CustodyHeaders, DeliveryHeaders};
pub use preflight::{preflight_response, Preflight};
pub use store::{NameTemplate, SavedRecord, STATE_DIR};

use crate::{validate_address, AgeIdentity, NodePool};
use consign_util::pace::BodyPace;
use store::Store;

/// What an [`Inbox`] accepts and where it saves.
#[derive(Clone, Debug)]
pub struct InboxConfig {
    /// The directory saved files go to (created if needed), with the records in
    /// `<out>/.consign-inbox/`.
    pub out_dir: PathBuf,
    /// Accept deliveries from this data-sale contract only. Required: a contract written to
    /// answer `purchase` with this buyer and recipient could otherwise have files saved.
    pub contract: String,
    /// Accept purchases made by this account only: the buyer's own address. Required: a
    /// stranger can buy with this inbox's (public) recipient and URL.
    pub buyer: String,
    /// How saved files are named.
    pub names: NameTemplate,
    /// The longest a delivery's body may send nothing, and the window its rate is averaged over
    /// (default 30 s). A body cut for slowness is answered `408` and nothing is saved.
    pub idle_timeout: Duration,
    /// The least rate a delivery's body must average over each `idle_timeout` window, in bytes
    /// per second (default 4096): a sender trickling a body loses its reception.
    pub min_rate: u64,
    /// Where to keep the data key rebuilt for each k-of-n purchase, as
    /// `<dir>/<saved file name>.agekey` (age-keygen format, 0600): the identity the ciphertext
    /// the storage nodes hold was encrypted to, which no storage node has. `None` (the
    /// default): the key is dropped once the file is saved.
    pub keep_keys: Option<PathBuf>,
}

impl InboxConfig {
    /// The default [`idle_timeout`](Self::idle_timeout).
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
    /// The default [`min_rate`](Self::min_rate).
    pub const DEFAULT_MIN_RATE: u64 = 4096;

    /// Saves to `out_dir` with the default names and timeouts the purchases `buyer` made in
    /// `contract`.
    pub fn new(
        out_dir: impl Into<PathBuf>,
        contract: impl Into<String>,
        buyer: impl Into<String>,
    ) -> Self {
        Self {
            out_dir: out_dir.into(),
            contract: contract.into(),
            buyer: buyer.into(),
            names: NameTemplate::default(),
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            min_rate: Self::DEFAULT_MIN_RATE,
            keep_keys: None,
        }
    }

    fn pace(&self) -> BodyPace {
        BodyPace {
            period: self.idle_timeout,
            min_rate: self.min_rate,
        }
    }
}

/// What happened to a delivery, as it happens. Serialised for scripts with an `event` tag
/// (`{"event":"saved",…}`).
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum InboxEvent {
    /// A delivery matches the chain; its body is being decrypted.
    Received(Delivery),
    /// Plaintext bytes written so far, of `total`.
    Progress {
        /// The contract.
        contract: String,
        /// The purchase.
        purchase_id: u64,
        /// Bytes decrypted and written.
        received: u64,
        /// The offer's size.
        total: u64,
    },
    /// The plaintext decrypted completely and has the offer's SHA-256 and size.
    Verified(Delivery),
    /// The plaintext was saved.
    Saved {
        /// The record written.
        #[serde(flatten)]
        record: SavedRecord,
        /// The saved file.
        path: PathBuf,
    },
    /// The purchase was saved before (or by another request at the same time); the delivery was
    /// answered `200` and nothing written.
    Duplicate {
        /// The earlier save's record.
        #[serde(flatten)]
        record: SavedRecord,
        /// The saved file.
        path: PathBuf,
    },
    /// A piece of a k-of-n delivery was taken (each half accepted, held already, or refused
    /// while the pieces held complete the set): what the inbox holds and waits for.
    Piece(PieceReport),
    /// `k` fragments and `k` key shares of a k-of-n delivery are held: the data is being
    /// rebuilt; [`Verified`](Self::Verified) and [`Saved`](Self::Saved) follow.
    Rebuilding {
        /// The contract.
        contract: String,
        /// The purchase.
        purchase_id: u64,
        /// The pieces it is rebuilt from.
        held: PiecesHeld,
    },
    /// The delivery was refused.
    Rejected {
        /// The contract, if the headers named one.
        #[serde(skip_serializing_if = "Option::is_none")]
        contract: Option<String>,
        /// The purchase, if the headers named one.
        #[serde(skip_serializing_if = "Option::is_none")]
        purchase_id: Option<u64>,
        /// The HTTP status answered.
        status: u16,
        /// Why.
        reason: String,
    },
}

/// How a delivery request was accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Accepted {
    /// Decrypted, verified and saved now.
    Saved(SavedRecord),
    /// Saved before, or by another request at the same time: nothing written. Never a reason
    /// to act on-chain: anyone can send a purchase's headers.
    Duplicate(SavedRecord),
    /// A piece of a k-of-n delivery, checked and held; more are needed before the data is
    /// rebuilt.
    Held(PieceReport),
}

impl Accepted {
    /// The record of the save, unless a piece was only held.
    pub fn record(&self) -> Option<&SavedRecord> {
        match self {
            Self::Saved(record) | Self::Duplicate(record) => Some(record),
            Self::Held(_) => None,
        }
    }
}

/// The HTTP status and JSON body to answer a delivery with: `200`
/// `{"status":"saved"|"duplicate", …record}` or `{"status":"held", …piece}`, or the error's
/// status with `{"error": "…"}` (and the piece's `"index"` for a refused piece).
pub fn response(result: &Result<Accepted, InboxError>) -> (u16, serde_json::Value) {
    match result {
        Ok(accepted) => {
            let (status, body) = match accepted {
                Accepted::Saved(record) => ("saved", serde_json::to_value(record)),
                Accepted::Duplicate(record) => ("duplicate", serde_json::to_value(record)),
                Accepted::Held(piece) => ("held", serde_json::to_value(piece)),
            };
            let mut body = body.unwrap_or_default();
            body["status"] = status.into();
            (200, body)
        }
        Err(error) => {
            let mut body = serde_json::json!({ "error": error.to_string() });
            if let InboxError::PieceRefused { index, .. } = error {
                body["index"] = (*index).into();
            }
            (error.status(), body)
        }
    }
}

type EventSink = Arc<dyn Fn(&InboxEvent) + Send + Sync>;

/// How much of a refused delivery's body is read (and thrown away) before answering.
const DRAIN_ON_REFUSAL: u64 = 16 << 20;

/// The buyer's receiver of deliveries. Share it between requests behind an [`Arc`]; see the
/// [module documentation](self) for what each delivery goes through.
pub struct Inbox {
    config: InboxConfig,
    identity: AgeIdentity,
    recipient: String,
    node: NodePool,
    store: Store,
    events: Option<EventSink>,
    /// Held while a verified reception checks it is the first and saves: one at a time, so of
    /// receptions of one purchase running side by side exactly one is saved.
    commit: tokio::sync::Mutex<()>,
    /// Held while a k-of-n purchase is rebuilt: pieces completing it together rebuild it once.
    piece_locks: custody::PieceLocks,
    /// The pieces of each k-of-n purchase promised or streaming: with `k` of them, spare nodes
    /// are asked to wait.
    underway: underway::Underway,
}

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox")
            .field("config", &self.config)
            .field("recipient", &self.recipient)
            .finish_non_exhaustive()
    }
}

impl Inbox {
    /// An inbox saving to `config.out_dir` (created if needed), decrypting with `identity`, and
    /// checking deliveries on the chain `node` serves: a [`NodeClient`](crate::NodeClient), or a
    /// [`NodePool`] of several nodes of the chain, asked in turn when one fails. `.part` files
    /// left in the output directory by an inbox that crashed are removed.
    ///
    /// # Errors
    ///
    /// [`InboxError::Config`] if the contract is not an address or a timeout is zero;
    /// [`InboxError::Storage`] if the output directory cannot be created or cleaned.
    pub fn new(
        config: InboxConfig,
        identity: AgeIdentity,
        node: impl Into<NodePool>,
    ) -> Result<Self, InboxError> {
        validate_address(&config.contract).map_err(|e| InboxError::Config {
            field: "contract",
            reason: e.to_string(),
        })?;
        if config.buyer.trim().is_empty() {
            return Err(InboxError::Config {
                field: "buyer",
                reason: "it is empty; give the buyer's own address".into(),
            });
        }
        if config.idle_timeout.is_zero() {
            return Err(InboxError::Config {
                field: "idle_timeout",
                reason: "it is zero".into(),
            });
        }
        let store = Store::open(&config.out_dir)?;
        Ok(Self {
            recipient: identity.recipient(),
            config,
            identity,
            node: node.into(),
            store,
            events: None,
            commit: tokio::sync::Mutex::new(()),
            piece_locks: custody::PieceLocks::default(),
            underway: underway::Underway::default(),
        })
    }

    /// Calls `sink` with every [`InboxEvent`]. It is called from async tasks and from the
    /// decrypting thread, so it should be quick (print a line, move a progress bar, send on a
    /// channel).
    #[must_use]
    pub fn on_event(mut self, sink: impl Fn(&InboxEvent) + Send + Sync + 'static) -> Self {
        self.events = Some(Arc::new(sink));
        self
    }

    /// The recipient (`age1…`) deliveries must be encrypted to: give it to
    /// `consign buy --recipient`.
    pub fn recipient(&self) -> &str {
        &self.recipient
    }

    /// What this inbox accepts.
    pub fn config(&self) -> &InboxConfig {
        &self.config
    }

    /// The output directory.
    pub fn out_dir(&self) -> &Path {
        &self.store.out
    }

    /// The record of a purchase already saved, if any.
    ///
    /// # Errors
    ///
    /// [`InboxError::Storage`] if the record exists but cannot be read.
    pub fn saved(
        &self,
        contract: &str,
        purchase_id: u64,
    ) -> Result<Option<SavedRecord>, InboxError> {
        self.store.record(contract, purchase_id)
    }

    fn emit(&self, event: &InboxEvent) {
        if let Some(sink) = &self.events {
            sink(event);
        }
    }

    /// Receives one delivery request: its headers and its body as a stream of chunks (warp's
    /// `body::stream()`, hyper's body, or any other). Answer the sender with [`response`] of
    /// the result. Every outcome is also reported as an [`InboxEvent`].
    ///
    /// # Errors
    ///
    /// An [`InboxError`] whose [`status`](InboxError::status) is the HTTP status to answer.
    pub async fn receive<S, B, E>(
        &self,
        headers: &HeaderMap,
        body: S,
    ) -> Result<Accepted, InboxError>
    where
        S: Stream<Item = Result<B, E>> + Unpin,
        B: Buf,
        E: Display,
    {
        // Fused: drained after decrypting, a body must not be polled past its end.
        let mut body = body.fuse();
        let parsed = DeliveryHeaders::parse(headers);
        let (contract, purchase_id) = match &parsed {
            Ok(h) => (Some(h.contract.clone()), Some(h.purchase_id)),
            Err(_) => (None, None),
        };
        let result = match parsed {
            Ok(headers) => self.receive_parsed(&headers, &mut body).await,
            Err(error) => Err(error),
        };
        // Read what is left of the body before answering: a sender still writing it would see
        // its connection broken instead of the answer. A duplicate is read to its end (its
        // sender must learn it was delivered); a refusal up to a bound (its sender retries
        // anyway).
        let limit = match result.as_ref().map(Accepted::record) {
            Ok(Some(record)) => stream::ciphertext_limit(record.size),
            Ok(None) | Err(_) => DRAIN_ON_REFUSAL,
        };
        stream::drain(&mut body, limit, self.config.pace()).await;
        match &result {
            Ok(Accepted::Duplicate(record)) => self.emit(&InboxEvent::Duplicate {
                path: self.store.out.join(&record.file),
                record: record.clone(),
            }),
            Ok(Accepted::Saved(_) | Accepted::Held(_)) => {}
            Err(error) => self.emit(&InboxEvent::Rejected {
                contract,
                purchase_id,
                status: error.status(),
                reason: error.to_string(),
            }),
        }
        result
    }

    async fn receive_parsed<S, B, E>(
        &self,
        headers: &DeliveryHeaders,
        body: &mut S,
    ) -> Result<Accepted, InboxError>
    where
        S: Stream<Item = Result<B, E>> + Unpin,
        B: Buf,
        E: Display,
    {
        if self.config.contract != headers.contract {
            return Err(InboxError::OtherContract {
                expected: self.config.contract.clone(),
                actual: headers.contract.clone(),
            });
        }
        if let Some(record) = self.store.record(&headers.contract, headers.purchase_id)? {
            return Ok(Accepted::Duplicate(record));
        }

        let (delivery, custody) =
            chain::verify(&self.node, headers, &self.config.buyer, &self.recipient).await?;
        if let Some((piece, commitments)) = custody::match_offer(headers, custody)? {
            return self.receive_piece(delivery, piece, commitments, body).await;
        }
        let name = self.config.names.render(&delivery);

        // A save whose record was lost (a crash between the rename and the record): the file
        // is there under its name with the offer's content.
        {
            let _commit = self.commit.lock().await;
            if let Some(record) = self.store.record(&headers.contract, headers.purchase_id)? {
                return Ok(Accepted::Duplicate(record));
            }
            if self
                .store
                .holds(&name, &delivery.sha256, delivery.size)
                .await?
            {
                let record = self.record(&delivery, name);
                self.store.write_record(&record)?;
                return Ok(Accepted::Duplicate(record));
            }
        }

        self.emit(&InboxEvent::Received(delivery.clone()));
        let part = self.store.part_file()?;
        let progress = {
            let events = self.events.clone();
            let contract = delivery.contract.clone();
            let (purchase_id, total) = (delivery.purchase_id, delivery.size);
            move |received| {
                if let Some(sink) = &events {
                    sink(&InboxEvent::Progress {
                        contract: contract.clone(),
                        purchase_id,
                        received,
                        total,
                    });
                }
            }
        };
        let decrypted = stream::decrypt_body(
            &delivery,
            self.identity.clone(),
            body,
            self.config.pace(),
            part,
            progress,
        )
        .await?;
        debug_assert_eq!(decrypted.report.sha256, delivery.sha256);

        // The first reception of this purchase to get here is saved; any other, finishing
        // later, finds its record and is a duplicate (its `.part` file is dropped).
        let _commit = self.commit.lock().await;
        if let Some(record) = self.store.record(&headers.contract, headers.purchase_id)? {
            return Ok(Accepted::Duplicate(record));
        }
        self.emit(&InboxEvent::Verified(delivery.clone()));
        let file = self.store.persist(decrypted.part, &name)?;
        let record = self.record(&delivery, file);
        self.store.write_record(&record)?;
        self.emit(&InboxEvent::Saved {
            path: self.store.out.join(&record.file),
            record: record.clone(),
        });
        Ok(Accepted::Saved(record))
    }

    fn record(&self, delivery: &Delivery, file: String) -> SavedRecord {
        SavedRecord {
            contract: delivery.contract.clone(),
            purchase_id: delivery.purchase_id,
            offer_id: delivery.offer_id,
            file,
            sha256: delivery.sha256.clone(),
            size: delivery.size,
            saved_at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }
}

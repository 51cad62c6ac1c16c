//! Sending a signed transaction until its sequence is the one the node expects: what a signer
//! does when another signer of the same account (another process, another node's mempool) used
//! the sequence it read first.
//!
//! A node reads an account's next sequence from its committed state plus the transactions it
//! has accepted since (its CheckTx state), so two nodes of a network may, for a moment, answer
//! differently: a transaction accepted by node A reaches node C a few milliseconds later, and
//! a commit clears a node's counts until CometBFT's recheck has counted its mempool again. A
//! buyer who buys through one node while the inbox confirms through another can therefore sign
//! a sequence that is already taken. As Cosmos SDK relayers do (Hermes reads the expected
//! sequence out of the refusal), the signer here:
//!
//! - **signs again with the node's expected sequence** when its sequence is already used
//!   ([`SequenceMismatch::is_used`]), after checking that the version it sent before is not the
//!   one that used it (committed: that is the answer);
//! - **sends again the same transaction**, a few times after a short wait, when its sequence is
//!   ahead of the node's (an earlier transaction of the account has not reached that node yet),
//!   then gives up with an error that says so and what to do;
//! - **waits for the commit** of a transaction the node already has (a duplicate: sent once
//!   through a node that then failed, and sent again through the next);
//! - on a node pool's next node, **sends again the version it signed last** rather than a new
//!   one, so a transaction the failed node passed on is not doubled with another sequence.
//!
//! A refusal for anything else is returned as it is.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use consign_client::{
    Broadcast, BroadcastMode, CheckResult, ClientError, NodeClient, SecretKey, SequenceMismatch,
    Tx, TxBody,
};

/// Log target.
const TARGET: &str = "cli::send";

/// The most broadcasts of one transaction (each version signed, or each resend of one ahead).
const MAX_SENDS: u32 = 6;

/// The first wait before a transaction whose sequence is ahead of the node's is sent again;
/// each next wait is one more of these (gossip between nodes takes milliseconds, a block and
/// its recheck a block time).
const AHEAD_WAIT: Duration = Duration::from_millis(250);

/// How often a transaction the node already has is looked up until it is committed.
const COMMIT_POLL: Duration = Duration::from_millis(200);

/// The refusal code of a transaction the node already has in its mempool.
const DUPLICATE: u32 = 19;

/// One transaction being sent: its key, how to wait, and every version signed so far (one per
/// sequence tried, newest last). Shared by the tries on several nodes of a pool.
#[derive(Debug)]
pub(super) struct Sending {
    key: SecretKey,
    mode: BroadcastMode,
    /// Whether the sequence may be changed: not when the user fixed it (`--sequence`).
    resign: bool,
    signed: Mutex<Vec<Tx>>,
}

impl Sending {
    /// A transaction signed with `key`, broadcast in `mode`; with `resign` false its sequence is
    /// never changed (a refusal is returned as it is).
    pub(super) fn new(key: SecretKey, mode: BroadcastMode, resign: bool) -> Self {
        Self {
            key,
            mode,
            resign,
            signed: Mutex::new(Vec::new()),
        }
    }

    fn versions(&self) -> Vec<Tx> {
        self.signed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn record(&self, tx: &Tx) {
        let mut signed = self.signed.lock().unwrap_or_else(PoisonError::into_inner);
        if signed.last() != Some(tx) {
            signed.push(tx.clone());
        }
    }

    /// Whether a version was signed already: a later try (on another node) sends it again
    /// instead of preparing a new body.
    pub(super) fn started(&self) -> bool {
        !self.versions().is_empty()
    }

    /// Signs `body` (or, when `None` and a version was signed already, takes the last version)
    /// and broadcasts it to `node`, handling sequence mismatches and duplicates as the
    /// [module](self) says.
    ///
    /// # Errors
    ///
    /// The node's refusal or failure; for a sequence still ahead after the last try, a
    /// refusal that says which transaction is missing and what to do.
    pub(super) async fn send(
        &self,
        node: &NodeClient,
        body: Option<TxBody>,
    ) -> Result<Broadcast, ClientError> {
        let mut tx = match (body, self.versions().pop()) {
            (Some(body), _) => Tx::sign(body, &self.key),
            (None, Some(last)) => last,
            (None, None) => {
                return Err(ClientError::Refused {
                    message: "nothing to send: no transaction was prepared".into(),
                    code: 1,
                    txhash: None,
                })
            }
        };
        let mut sends = 0;
        loop {
            sends += 1;
            self.record(&tx);
            let error = match node.broadcast(&tx, self.mode).await {
                Err(error) => error,
                answered => return answered,
            };
            if matches!(
                error,
                ClientError::Refused {
                    code: DUPLICATE,
                    ..
                }
            ) {
                return self.committed(node, &tx).await;
            }
            let Some(mismatch) = error.sequence_mismatch().filter(|_| self.resign) else {
                return Err(error);
            };
            if sends >= MAX_SENDS {
                return Err(self.gave_up(node, &tx, mismatch, error));
            }
            if mismatch.is_used() {
                if let Some(found) = self.found_committed(node).await? {
                    return Ok(found);
                }
                tracing::info!(
                    target: TARGET,
                    node = %node.base_url(),
                    sender = %tx.body.sender,
                    used = tx.body.sequence,
                    next = mismatch.expected,
                    "the sequence was used by another transaction of the account; signing again"
                );
                let body = TxBody {
                    sequence: mismatch.expected,
                    ..tx.body
                };
                tx = Tx::sign(body, &self.key);
            } else {
                tracing::info!(
                    target: TARGET,
                    node = %node.base_url(),
                    sender = %tx.body.sender,
                    sequence = tx.body.sequence,
                    expected = mismatch.expected,
                    "the sequence is ahead of the node's; sending again shortly"
                );
                tokio::time::sleep(AHEAD_WAIT * sends).await;
            }
        }
    }

    /// A version signed before that the node has committed, if there is one.
    async fn found_committed(&self, node: &NodeClient) -> Result<Option<Broadcast>, ClientError> {
        for version in self.versions() {
            match node.tx(&Tx::hash(&version.to_bytes())).await {
                Ok(result) => return Ok(Some(Broadcast::Committed(result))),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// The answer for `tx`, which the node already has: with `--broadcast-mode sync` that it is
    /// accepted; otherwise its result once committed, looked up until the mode's timeout.
    async fn committed(&self, node: &NodeClient, tx: &Tx) -> Result<Broadcast, ClientError> {
        let txhash = Tx::hash(&tx.to_bytes());
        let BroadcastMode::Commit { timeout } = self.mode else {
            return Ok(Broadcast::Checked(CheckResult {
                txhash,
                code: 0,
                log: String::new(),
            }));
        };
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match node.tx(&txhash).await {
                Ok(result) => return Ok(Broadcast::Committed(result)),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ClientError::CommitTimeout {
                    txhash,
                    message: format!(
                        "the node at {} already had it, and it was not committed within {} s",
                        node.base_url(),
                        timeout.as_secs()
                    ),
                });
            }
            tokio::time::sleep(COMMIT_POLL).await;
        }
    }

    /// The error once the tries are spent: for a sequence still ahead, which transaction the
    /// node is missing and what to do; otherwise the node's last refusal.
    fn gave_up(
        &self,
        node: &NodeClient,
        tx: &Tx,
        mismatch: SequenceMismatch,
        error: ClientError,
    ) -> ClientError {
        if mismatch.is_used() {
            return error;
        }
        ClientError::Refused {
            message: format!(
                "{}: the node at {} has not seen {}'s transaction with sequence {} (it may still be on its way from another node, or it was dropped); wait for it to be committed and send again, or sign with --sequence {} to take its place",
                mismatch.message(&tx.body.sender),
                node.base_url(),
                tx.body.sender,
                mismatch.expected,
                mismatch.expected
            ),
            code: SequenceMismatch::CODE,
            txhash: Some(Tx::hash(&tx.to_bytes())),
        }
    }
}

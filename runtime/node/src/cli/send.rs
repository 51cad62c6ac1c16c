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
    /// [`AHEAD_WAIT`], shorter in tests.
    ahead_wait: Duration,
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
            ahead_wait: AHEAD_WAIT,
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
                tokio::time::sleep(self.ahead_wait * sends).await;
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use consign_chain::{App, AppConfig, Genesis, GenesisAccount};
    use consign_client::{coins, Msg, Timestamp};

    use super::*;
    use crate::server::{self, Node, NodeConfig};

    const CHAIN: &str = "send-test";

    /// A dev node on 127.0.0.1:0 that makes a block as soon as a transaction waits.
    async fn node(dir: &std::path::Path) -> NodeClient {
        let genesis = Genesis {
            chain_id: CHAIN.into(),
            genesis_time: Timestamp::from_seconds(1_700_000_000),
            accounts: vec![GenesisAccount {
                address: SecretKey::from_seed("alice").address(),
                coins: coins(1_000_000, "ucsn"),
            }],
            max_block_gas: None,
            staking: Default::default(),
        };
        let app = App::open(AppConfig::new(dir), Some(&genesis)).unwrap();
        let config = NodeConfig {
            block_time: Duration::ZERO,
            ..NodeConfig::default()
        };
        let node: Arc<Node> = Node::new(app, config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(server::run(listener, node, std::future::pending()));
        NodeClient::new(&url).unwrap()
    }

    /// A bank send from alice; `memo` tells apart two signers' transactions of one sequence.
    fn send_body(sequence: u64, memo: &str) -> TxBody {
        TxBody {
            chain_id: CHAIN.into(),
            sender: SecretKey::from_seed("alice").address(),
            sequence,
            gas_limit: 200_000,
            fee: Vec::new(),
            memo: memo.into(),
            messages: vec![Msg::BankSend {
                to: SecretKey::from_seed("bob").address(),
                amount: coins(1, "ucsn"),
            }],
        }
    }

    fn sending(resign: bool) -> Sending {
        let mut sending =
            Sending::new(SecretKey::from_seed("alice"), BroadcastMode::COMMIT, resign);
        sending.ahead_wait = Duration::from_millis(5);
        sending
    }

    async fn sequence(node: &NodeClient) -> u64 {
        let alice = SecretKey::from_seed("alice").address();
        node.account(&alice).await.unwrap().sequence
    }

    #[tokio::test]
    async fn a_used_sequence_is_signed_again_and_a_resend_is_not_doubled() {
        let dir = tempfile::tempdir().unwrap();
        let node = node(dir.path()).await;
        // Another signer of the account takes sequence 0 first.
        let other = sending(true);
        let first = other
            .send(&node, Some(send_body(0, "other")))
            .await
            .unwrap();
        assert_eq!(first.code(), 0, "{}", first.log());

        // Signed with 0 too: refused as used, signed again with 1, committed.
        let late = sending(true);
        let sent = late.send(&node, Some(send_body(0, "late"))).await.unwrap();
        assert_eq!(sent.code(), 0, "{}", sent.log());
        assert_eq!(late.versions().len(), 2, "signed twice: 0, then 1");
        assert_eq!(late.versions()[1].body.sequence, 1);
        assert_eq!(sequence(&node).await, 2);

        // Sent again (a pool's next node after a failure): the version already committed is
        // the answer, and nothing new is signed.
        let again = late.send(&node, None).await.unwrap();
        assert_eq!(again.txhash(), sent.txhash());
        assert_eq!(late.versions().len(), 2);
        assert_eq!(sequence(&node).await, 2, "committed once");
    }

    #[tokio::test]
    async fn a_fixed_sequence_stays_and_one_ahead_is_explained() {
        let dir = tempfile::tempdir().unwrap();
        let node = node(dir.path()).await;
        sending(true)
            .send(&node, Some(send_body(0, "first")))
            .await
            .unwrap();

        // --sequence 0, already used: refused as it is, never signed again.
        let fixed = sending(false);
        let error = fixed
            .send(&node, Some(send_body(0, "fixed")))
            .await
            .unwrap_err();
        assert_eq!(
            error.sequence_mismatch(),
            Some(SequenceMismatch {
                expected: 1,
                got: 0
            })
        );
        assert_eq!(fixed.versions().len(), 1);

        // Ahead of the node: sent again a few times, then a refusal that says what is missing.
        let ahead = sending(true);
        let error = ahead
            .send(&node, Some(send_body(5, "ahead")))
            .await
            .unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("has not seen") && text.contains("--sequence 1"),
            "{text}"
        );
        assert_eq!(
            error.sequence_mismatch(),
            Some(SequenceMismatch {
                expected: 1,
                got: 5
            })
        );
        assert_eq!(
            ahead.versions().len(),
            1,
            "the same transaction, never re-signed"
        );
        assert_eq!(sequence(&node).await, 1);
    }
}

//! The mempool: transactions accepted by the checks and waiting for a block, in arrival order,
//! with what the checks of the next ones need (how many of each sender's transactions are
//! pending) and who waits for each one's commit.

use std::collections::{HashMap, HashSet, VecDeque};

use consign_chain::{CheckedTx, Pending};
use consign_client::{Coin, TxHash};
use tokio::sync::oneshot;

use super::node::TxOutcome;

/// Waiting transactions. A transaction counts as pending (its hash is known, its sender's
/// count includes it) from the moment it is accepted until the block that includes or drops it
/// is committed, so a sender may send consecutive sequences without waiting for commits.
#[derive(Default)]
pub(super) struct Mempool {
    /// Accepted and not yet taken into a block, oldest first.
    queue: VecDeque<CheckedTx>,
    /// The bytes of the transactions in `queue`.
    queue_bytes: u64,
    /// Hashes of every pending transaction (queued or in the block being made).
    hashes: HashSet<TxHash>,
    /// Pending transactions per sender, and the fees they pay.
    pending: HashMap<String, Pending>,
    /// Requests waiting for a transaction's outcome (broadcast with `mode=commit`).
    waiters: HashMap<TxHash, Vec<oneshot::Sender<TxOutcome>>>,
}

impl Mempool {
    /// Transactions waiting for a block (not counting those in the block being made).
    pub(super) fn waiting(&self) -> usize {
        self.queue.len()
    }

    /// The bytes of the transactions waiting for a block.
    pub(super) fn waiting_bytes(&self) -> u64 {
        self.queue_bytes
    }

    /// Transactions accepted and not yet committed.
    pub(super) fn pending_total(&self) -> usize {
        self.hashes.len()
    }

    /// Whether this transaction is pending.
    pub(super) fn contains(&self, hash: &TxHash) -> bool {
        self.hashes.contains(hash)
    }

    /// How many of `sender`'s transactions are pending.
    pub(super) fn pending(&self, sender: &str) -> u64 {
        self.pending.get(sender).map_or(0, |p| p.count)
    }

    /// `sender`'s pending transactions and the fees they promise (what admission counts).
    pub(super) fn pending_of(&self, sender: &str) -> Pending {
        self.pending.get(sender).cloned().unwrap_or_default()
    }

    /// Adds a checked transaction at the back of the queue.
    pub(super) fn push(&mut self, checked: CheckedTx) {
        self.hashes.insert(checked.hash);
        self.pending
            .entry(checked.tx.body.sender.clone())
            .or_default()
            .add(&checked.tx.body.fee);
        self.queue_bytes += checked.bytes.len() as u64;
        self.queue.push_back(checked);
    }

    /// Network mode: counts a transaction CometBFT's CheckTx admitted (CometBFT holds the
    /// transaction itself).
    pub(super) fn count_pending(&mut self, sender: &str, fee: &[Coin]) {
        self.pending.entry(sender.to_owned()).or_default().add(fee);
    }

    /// Network mode, at each commit: forgets the counts; CometBFT's recheck of its mempool
    /// counts the transactions still waiting again.
    pub(super) fn clear_counts(&mut self) {
        self.pending.clear();
    }

    /// Tells whoever waits for this transaction (network mode, at its commit).
    pub(super) fn notify(&mut self, hash: &TxHash, outcome: impl Fn() -> TxOutcome) {
        if let Some(waiters) = self.waiters.remove(hash) {
            for waiter in waiters {
                // The request may have timed out and gone: nothing to tell then.
                let _ = waiter.send(outcome());
            }
        }
    }

    /// Drops the waiters of a transaction that was refused.
    pub(super) fn forget_waiters(&mut self, hash: &TxHash) {
        self.waiters.remove(hash);
    }

    /// Registers a request waiting for this transaction's outcome.
    pub(super) fn wait_for(&mut self, hash: TxHash) -> oneshot::Receiver<TxOutcome> {
        let (tx, rx) = oneshot::channel();
        self.waiters.entry(hash).or_default().push(tx);
        rx
    }

    /// Takes the oldest transactions for a block: at most `max`, and no more than `max_gas` of
    /// gas limits in all (at least one, which admission made sure fits). They stay pending
    /// until [`Mempool::finish`].
    pub(super) fn take(&mut self, max: usize, max_gas: u64) -> Vec<CheckedTx> {
        let mut gas = 0u64;
        let mut n = 0;
        for checked in self.queue.iter().take(max) {
            gas = gas.saturating_add(checked.tx.body.gas_limit);
            if n > 0 && gas > max_gas {
                break;
            }
            n += 1;
        }
        let taken: Vec<CheckedTx> = self.queue.drain(..n).collect();
        let bytes: u64 = taken.iter().map(|c| c.bytes.len() as u64).sum();
        self.queue_bytes -= bytes;
        taken
    }

    /// Forgets a transaction taken for a block that is now committed (or failed), and tells
    /// whoever waits for it.
    pub(super) fn finish(
        &mut self,
        hash: &TxHash,
        sender: &str,
        fee: &[Coin],
        outcome: impl Fn() -> TxOutcome,
    ) {
        self.hashes.remove(hash);
        if let Some(pending) = self.pending.get_mut(sender) {
            pending.remove(fee);
            if pending.count == 0 {
                self.pending.remove(sender);
            }
        }
        if let Some(waiters) = self.waiters.remove(hash) {
            for waiter in waiters {
                // The request may have timed out and gone: nothing to tell then.
                let _ = waiter.send(outcome());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use consign_client::{coins, Msg, SecretKey, Tx, TxBody};

    use super::*;

    fn checked(key: &SecretKey, sequence: u64) -> CheckedTx {
        let tx = Tx::sign(
            TxBody {
                chain_id: "test".into(),
                sender: key.address(),
                sequence,
                gas_limit: 200_000,
                fee: coins(10, "ucsn"),
                memo: String::new(),
                messages: vec![Msg::BankSend {
                    to: key.address(),
                    amount: coins(1, "ucsn"),
                }],
            },
            key,
        );
        let bytes = tx.to_bytes();
        CheckedTx {
            hash: Tx::hash(&bytes),
            tx,
            bytes,
        }
    }

    #[test]
    fn pending_counts_last_until_finished() {
        let alice = SecretKey::from_seed("alice");
        let mut pool = Mempool::default();
        let first = checked(&alice, 0);
        let second = checked(&alice, 1);
        let (h1, h2) = (first.hash, second.hash);
        let size = first.bytes.len() as u64;
        pool.push(first);
        pool.push(second);
        assert_eq!(pool.waiting_bytes(), 2 * size);
        let mut waiter = pool.wait_for(h1);
        assert_eq!(pool.pending(&alice.address()), 2);
        assert_eq!(pool.pending_of(&alice.address()).fees["ucsn"], 20);
        let taken = pool.take(5, 200_000);
        assert_eq!(taken.len(), 1, "the block's gas is full after one");
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].hash, h1);
        assert_eq!(pool.waiting(), 1);
        assert_eq!(
            pool.waiting_bytes(),
            size,
            "what a block took no longer waits"
        );
        assert!(
            pool.contains(&h1),
            "taken but not committed is still pending"
        );
        assert_eq!(pool.pending(&alice.address()), 2);
        pool.finish(&h1, &alice.address(), &coins(10, "ucsn"), || {
            TxOutcome::Dropped {
                code: 32,
                log: "x".into(),
            }
        });
        assert!(!pool.contains(&h1));
        assert!(pool.contains(&h2));
        assert_eq!(pool.pending(&alice.address()), 1);
        assert_eq!(pool.pending_of(&alice.address()).fees["ucsn"], 10);
        assert!(matches!(
            waiter.try_recv(),
            Ok(TxOutcome::Dropped { code: 32, .. })
        ));
        assert_eq!(pool.pending_total(), 1);
    }
}

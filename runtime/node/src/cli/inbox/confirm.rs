//! After a delivery is answered: confirming receipt on-chain (`--confirm`), which releases the
//! escrow to the seller, and counting saves for `--exit-after`.
//!
//! Confirmations go one at a time, in the order the saves happened, so the inbox's own
//! transactions never race for a sequence; one the buyer sends meanwhile from elsewhere (a
//! purchase through another node) may, and the loser is signed again ([`crate::cli::send`]).
//!
//! The rule: only a delivery this inbox verified and saved in this run
//! ([`Accepted::Saved`]) is confirmed, once. A request for a purchase saved before
//! ([`Accepted::Duplicate`]) never is: anyone can send a purchase's (public) headers with an
//! empty body, so a duplicate says nothing about what the buyer received, and the buyer may have
//! left a saved purchase unconfirmed on purpose (an inbox run without `--confirm`). Nor are
//! saved purchases confirmed at start-up: an inbox that stopped between saving and confirming
//! leaves the purchase held, to be confirmed by hand with `consign purchase confirm`.

use std::sync::Arc;

use consign_client::inbox::{Accepted, SavedRecord};
use consign_client::{Broadcast, ClientError, NodePool, SecretKey};
use consign_market::ExecuteMsg;
use tokio::sync::{mpsc, oneshot, watch, Mutex};

use super::report::{CliEvent, Note};
use crate::cli::args::TxOptions;
use crate::cli::broadcast::{self, prepare, would_fail};
use crate::cli::send::Sending;

/// Signs and sends the inbox's own transactions (confirmations, and the guard's disputes and
/// refund claims) with the buyer's key, one at a time: the two tasks share it, so their account
/// sequence numbers never race. Gas and fees follow the command's options as for every other
/// transaction ([`prepare`]): `--gas N|auto`, `--fees`, `--gas-prices`, else the node's minimum
/// gas price.
#[derive(Clone)]
pub(super) struct Signer {
    /// The chain's nodes: a transaction that a failing node could not take is prepared and sent
    /// again through the next (the same sequence, so it is committed at most once).
    pub(super) nodes: NodePool,
    pub(super) key: SecretKey,
    /// The command's transaction options; never a fixed `--sequence` (refused at start).
    pub(super) options: TxOptions,
    /// Held while one transaction is prepared, signed and sent.
    pub(super) turn: Arc<Mutex<()>>,
}

/// A transaction the inbox sent.
pub(super) struct Sent {
    pub(super) txhash: String,
    /// Its block; absent with `--broadcast-mode sync`.
    pub(super) height: Option<u64>,
}

impl Signer {
    /// Signs `msg` to `contract` and broadcasts it.
    ///
    /// # Errors
    ///
    /// Why it was not sent or failed, in words.
    pub(super) async fn send(&self, contract: &str, msg: ExecuteMsg) -> Result<Sent, String> {
        let _turn = self.turn.lock().await;
        let signer = broadcast::Signer::Key(self.key.clone());
        let messages = vec![msg.to_msg(contract, vec![])];
        let sending = Sending::new(self.key.clone(), self.options.mode(), true);
        let (signer, messages, sending) = (&signer, &messages, &sending);
        let outcome = self
            .nodes
            .call(|node| async move {
                // On the next node after a failure, the version already signed is sent again:
                // the failed node may have passed it on.
                if sending.started() {
                    return sending.send(&node, None).await;
                }
                let prepared =
                    prepare(&node, &self.options, signer, messages.clone(), false).await?;
                if let Some(simulation) = prepared.simulation.as_ref().filter(|s| s.code != 0) {
                    return Err(would_fail(simulation));
                }
                sending.send(&node, Some(prepared.body)).await
            })
            .await;
        match outcome {
            Ok(Broadcast::Committed(result)) if result.code == 0 => Ok(Sent {
                txhash: result.txhash.to_string(),
                height: Some(result.height),
            }),
            Ok(Broadcast::Committed(result)) => Err(format!(
                "transaction {} failed in block {} (code {}): {}",
                result.txhash, result.height, result.code, result.log
            )),
            Ok(Broadcast::Checked(check)) => Ok(Sent {
                txhash: check.txhash.to_string(),
                height: None,
            }),
            Err(ClientError::Refused { message, code, .. }) => Err(format!(
                "the node refused the transaction (code {code}): {message}"
            )),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Sends `confirm_receipt` for the purchase of a save this inbox just made.
    async fn confirm(&self, record: &SavedRecord) -> CliEvent {
        let msg = ExecuteMsg::confirm_receipt(record.purchase_id);
        match self.send(&record.contract, msg).await {
            Ok(sent) => CliEvent::Confirmed {
                contract: record.contract.clone(),
                purchase_id: record.purchase_id,
                txhash: sent.txhash,
                height: sent.height,
            },
            Err(reason) => CliEvent::ConfirmFailed {
                contract: record.contract.clone(),
                purchase_id: record.purchase_id,
                reason,
            },
        }
    }
}

/// Takes accepted deliveries in order: confirms them (with a [`Signer`]) and, once
/// `exit_after` new saves are done, fires `exit`. When `stop` turns true it finishes what is
/// queued and returns the number of saves.
pub(super) async fn run(
    mut accepted: mpsc::UnboundedReceiver<Accepted>,
    mut stop: watch::Receiver<bool>,
    confirmer: Option<Signer>,
    exit_after: Option<u64>,
    exit: oneshot::Sender<()>,
    notes: mpsc::UnboundedSender<Note>,
) -> u64 {
    let mut saved = 0u64;
    let mut exit = Some(exit);
    loop {
        let next = tokio::select! {
            next = accepted.recv() => next,
            _ = stop.wait_for(|stopped| *stopped) => None,
        };
        let Some(next) = next else { break };
        handle(&next, confirmer.as_ref(), &notes, &mut saved).await;
        if exit_after.is_some_and(|n| saved >= n) {
            if let Some(exit) = exit.take() {
                let _ = exit.send(());
            }
        }
    }
    // Stopping: what was accepted before the server closed is still confirmed.
    while let Ok(next) = accepted.try_recv() {
        handle(&next, confirmer.as_ref(), &notes, &mut saved).await;
    }
    saved
}

async fn handle(
    accepted: &Accepted,
    confirmer: Option<&Signer>,
    notes: &mpsc::UnboundedSender<Note>,
    saved: &mut u64,
) {
    // A duplicate is never confirmed, whoever sent it: see the module's rule.
    let Accepted::Saved(record) = accepted else {
        return;
    };
    *saved += 1;
    if let Some(confirmer) = confirmer {
        let event = confirmer.confirm(record).await;
        let _ = notes.send(Note::Cli(event));
    }
}

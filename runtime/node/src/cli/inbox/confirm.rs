//! After a delivery is answered: confirming receipt on-chain (`--confirm`), which releases the
//! escrow to the seller, and counting saves for `--exit-after`.
//!
//! Confirmations go one at a time, in the order the saves happened, so the buyer's account
//! sequence numbers never race.
//!
//! The rule: only a delivery this inbox verified and saved in this run
//! ([`Accepted::Saved`]) is confirmed, once. A request for a purchase saved before
//! ([`Accepted::Duplicate`]) never is: anyone can send a purchase's (public) headers with an
//! empty body, so a duplicate says nothing about what the buyer received, and the buyer may have
//! left a saved purchase unconfirmed on purpose (an inbox run without `--confirm`). Nor are
//! saved purchases confirmed at start-up: an inbox that stopped between saving and confirming
//! leaves the purchase held, to be confirmed by hand with `consign purchase confirm`.

use consign_client::inbox::{Accepted, SavedRecord};
use consign_client::{Broadcast, BroadcastMode, ClientError, NodeClient, SecretKey};
use consign_market::ExecuteMsg;
use tokio::sync::{mpsc, oneshot, watch};

use super::report::{CliEvent, Note};
use crate::cli::broadcast::DEFAULT_GAS;

/// How to confirm receipts.
pub(super) struct Confirmer {
    pub(super) client: NodeClient,
    pub(super) key: SecretKey,
    pub(super) chain_id: Option<String>,
    pub(super) gas: Option<u64>,
    pub(super) mode: BroadcastMode,
}

impl Confirmer {
    /// Sends `confirm_receipt` for the purchase of a save this inbox just made.
    async fn confirm(&self, record: &SavedRecord) -> CliEvent {
        let failed = |reason: String| CliEvent::ConfirmFailed {
            contract: record.contract.clone(),
            purchase_id: record.purchase_id,
            reason,
        };
        let chain_id = match &self.chain_id {
            Some(id) => id.clone(),
            None => match self.client.status().await {
                Ok(status) => status.chain_id,
                Err(e) => return failed(e.to_string()),
            },
        };
        let msg = ExecuteMsg::confirm_receipt(record.purchase_id).to_msg(&record.contract, vec![]);
        let outcome = self
            .client
            .sign_and_broadcast(
                &self.key,
                &chain_id,
                vec![msg],
                self.gas.unwrap_or(DEFAULT_GAS),
                self.mode,
            )
            .await;
        match outcome {
            Ok(Broadcast::Committed(result)) if result.code == 0 => CliEvent::Confirmed {
                contract: record.contract.clone(),
                purchase_id: record.purchase_id,
                txhash: result.txhash.to_string(),
                height: Some(result.height),
            },
            Ok(Broadcast::Committed(result)) => failed(format!(
                "transaction {} failed in block {} (code {}): {}",
                result.txhash, result.height, result.code, result.log
            )),
            Ok(Broadcast::Checked(check)) => CliEvent::Confirmed {
                contract: record.contract.clone(),
                purchase_id: record.purchase_id,
                txhash: check.txhash.to_string(),
                height: None,
            },
            Err(ClientError::Refused { message, code, .. }) => failed(format!(
                "the node refused the transaction (code {code}): {message}"
            )),
            Err(e) => failed(e.to_string()),
        }
    }
}

/// Takes accepted deliveries in order: confirms them (with a [`Confirmer`]) and, once
/// `exit_after` new saves are done, fires `exit`. When `stop` turns true it finishes what is
/// queued and returns the number of saves.
pub(super) async fn run(
    mut accepted: mpsc::UnboundedReceiver<Accepted>,
    mut stop: watch::Receiver<bool>,
    confirmer: Option<Confirmer>,
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
    confirmer: Option<&Confirmer>,
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

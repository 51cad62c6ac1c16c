//! After a delivery is answered: confirming receipt on-chain (`--confirm`), which releases the
//! escrow to the seller, and counting saves for `--exit-after`.
//!
//! Confirmations go one at a time, in the order the saves happened, so the buyer's account
//! sequence numbers never race. A delivery of a purchase saved before (a duplicate) is
//! confirmed too if the purchase is still held: the inbox may have stopped between saving and
//! confirming.

use consign_client::inbox::{Accepted, SavedRecord};
use consign_client::{Broadcast, BroadcastMode, ClientError, NodeClient, SecretKey};
use consign_market::{Escrow, ExecuteMsg, PurchaseResponse, QueryMsg};
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
    /// Sends `confirm_receipt` for the record's purchase; `None` when there was nothing to do
    /// (a duplicate whose purchase is no longer held).
    async fn confirm(&self, record: &SavedRecord, duplicate: bool) -> Option<CliEvent> {
        let failed = |reason: String| CliEvent::ConfirmFailed {
            contract: record.contract.clone(),
            purchase_id: record.purchase_id,
            reason,
        };
        if duplicate {
            let query = QueryMsg::purchase(record.purchase_id);
            match self
                .client
                .smart_query::<PurchaseResponse>(&record.contract, &query)
                .await
            {
                Ok(p) if p.state == Escrow::Held => {}
                Ok(_) => return None,
                Err(e) => return Some(failed(format!("cannot read the purchase: {e}"))),
            }
        }
        let chain_id = match &self.chain_id {
            Some(id) => id.clone(),
            None => match self.client.status().await {
                Ok(status) => status.chain_id,
                Err(e) => return Some(failed(e.to_string())),
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
        Some(match outcome {
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
        })
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
    let duplicate = matches!(accepted, Accepted::Duplicate(_));
    if !duplicate {
        *saved += 1;
    }
    if let Some(confirmer) = confirmer {
        if let Some(event) = confirmer.confirm(accepted.record(), duplicate).await {
            let _ = notes.send(Note::Cli(event));
        }
    }
}

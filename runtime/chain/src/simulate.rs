//! [`View::simulate`]: what a transaction would do, run against the last committed state in
//! layers of its own and thrown away — the gas it uses (for `--gas auto`) and its result (for
//! `--dry-run`), as the Cosmos SDK's simulate answers them.
//!
//! A simulation changes nothing: its layers sit over the committed map, which it shares but
//! never writes; an upload is checked but not compiled or saved in the VM's code store; the
//! view's own layers, which queries read, are not touched, so concurrent queries never see a
//! simulation's writes. Its cost is bounded like a query's: the caller gives the gas limit it
//! runs with.

use std::sync::{Arc, Mutex};

use consign_types::{Simulation, Tx, ADDRESS_PREFIX};
use cosmwasm_std::{BlockInfo, Timestamp};

use crate::app::{deliver_tx, CheckedTx};
use crate::core::{Core, TxContext};
use crate::error::CheckError;
use crate::fees::Pending;
use crate::gas;
use crate::store::{lock, Layers};
use crate::view::{check_body, View};

impl View {
    /// Runs the transaction `bytes` as the first of the next block (at `time`) against this
    /// committed state, with a gas limit of `gas_cap` (at most the largest a transaction may
    /// ask for) whatever the transaction's own limit, and throws every change away.
    ///
    /// The checks are those of a block, with `pending` counted as at admission: the chain id,
    /// the sequence (the sender's next one, after its `pending` transactions), that the
    /// sender exists and can pay the transaction's fee. The node's minimum gas price is not
    /// checked: the fee usually depends on the gas this answers. The public key must be the
    /// sender's; the signature is verified when there is one and may be left empty (as the
    /// Cosmos SDK's simulate allows), since nothing is committed.
    ///
    /// # Errors
    ///
    /// The check that refused it (a malformed transaction, a wrong signature or sender, the
    /// chain id, the sequence, an unknown or unable-to-pay sender). A transaction that passes
    /// them but fails while it runs is an `Ok` [`Simulation`] with a non-zero code.
    pub fn simulate(
        &self,
        bytes: &[u8],
        pending: &Pending,
        gas_cap: u64,
        time: Timestamp,
    ) -> Result<Simulation, CheckError> {
        let mut tx = Tx::from_bytes(bytes).map_err(|e| CheckError::Tx(e.to_string()))?;
        if tx.signature.is_empty() {
            let signer = tx.public_key.address(ADDRESS_PREFIX);
            if signer != tx.body.sender {
                return Err(CheckError::Tx(format!(
                    "the public key is {signer}'s, not the sender {}'s: a simulation needs the sender's public key even without a signature",
                    tx.body.sender
                )));
            }
        } else {
            tx.verify().map_err(|e| CheckError::Tx(e.to_string()))?;
        }
        let gas_limit = gas_cap.min(gas::MAX_TX_GAS);
        tx.body.gas_limit = gas_limit;
        let block = BlockInfo {
            height: self.head.height + 1,
            time: if time <= self.head.last_time {
                self.head.last_time.plus_nanos(1)
            } else {
                time
            },
            chain_id: self.head.chain_id.clone(),
        };
        let layers = Arc::new(Mutex::new(Layers::default()));
        {
            let mut layers = lock(&layers);
            layers.reset(self.state.clone());
            layers.push();
            check_body(
                &layers,
                &self.head.chain_id,
                &tx,
                bytes.len(),
                pending,
                None,
            )?;
        }
        let checked = CheckedTx {
            hash: Tx::hash(bytes),
            tx,
            bytes: bytes.to_vec(),
        };
        let core = Core::new(
            self.core.vm.clone(),
            layers,
            self.core.api.clone(),
            block.clone(),
        );
        core.set_context(TxContext {
            block: block.clone(),
            tx: Some((0, checked.hash.as_bytes().to_vec())),
        });
        let (result, deliveries) = deliver_tx(&core, &checked, block.height, 0, true);
        tracing::debug!(target: "runtime::chain", tx = %checked.hash, code = result.code, gas_used = result.gas_used, "simulated");
        Ok(Simulation {
            gas_limit,
            outcome: result.outcome,
            deliveries: deliveries.len() as u64,
        })
    }
}

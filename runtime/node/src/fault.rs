//! Faults a debug build of the node can inject into its ABCI application, so the network tests
//! (`tests/tests/testnet.rs`) show that the other validators catch them. The environment
//! variable `CONSIGN_TEST_FAULT` names one, read once when `consign start` serves ABCI and
//! logged at warn. This module is compiled only with debug assertions: a release build has no
//! faults, and ignores the variable (saying so at warn).
//!
//! | `CONSIGN_TEST_FAULT` | what the node does | what catches it |
//! |---|---|---|
//! | `bad-proposal` | PrepareProposal appends a transaction whose signature does not verify | the others' ProcessProposal rejects the block; the next round's proposer makes one |
//! | `nondeterministic-hash` | FinalizeBlock's app hash mixes in the wall clock | CometBFT: `CONSENSUS FAILURE!!!` … `wrong Block.Header.AppHash`; the node's consensus halts and it falls behind |

use bytes::Bytes;
use consign_client::{coins, Msg, SecretKey, Tx, TxBody, NATIVE_DENOM};

/// The environment variable that names a fault.
pub const FAULT_ENV: &str = "CONSIGN_TEST_FAULT";

/// A fault a test asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// PrepareProposal appends a transaction whose signature does not verify.
    BadProposal,
    /// FinalizeBlock's app hash mixes in the wall clock, as a non-deterministic app would.
    NondeterministicHash,
}

impl Fault {
    /// The fault `CONSIGN_TEST_FAULT` names, if it is set; logged at warn.
    ///
    /// # Errors
    ///
    /// When it names no fault.
    pub fn from_env() -> Result<Option<Self>, String> {
        let Some(value) = std::env::var_os(FAULT_ENV) else {
            return Ok(None);
        };
        let fault = match value.to_str() {
            Some("bad-proposal") => Self::BadProposal,
            Some("nondeterministic-hash") => Self::NondeterministicHash,
            _ => {
                return Err(format!(
                    "{FAULT_ENV}={value:?} names no fault: use bad-proposal or \
                     nondeterministic-hash, or unset it"
                ))
            }
        };
        tracing::warn!(
            target: "runtime::abci",
            ?fault,
            "{FAULT_ENV} is set: this node is DELIBERATELY FAULTY, for a test; never run it in a network that matters"
        );
        Ok(Some(fault))
    }
}

/// A bank send whose signature does not verify (its memo changed after signing), for chain
/// `chain_id`: what a [`Fault::BadProposal`] node puts in its proposals.
pub fn bad_tx(chain_id: &str) -> Bytes {
    let key = SecretKey::from_seed("consign-test-fault");
    let mut tx = Tx::sign(
        TxBody {
            chain_id: chain_id.to_owned(),
            sender: key.address(),
            sequence: 0,
            gas_limit: 100_000,
            fee: coins(0, NATIVE_DENOM),
            memo: String::new(),
            messages: vec![Msg::BankSend {
                to: key.address(),
                amount: coins(1, NATIVE_DENOM),
            }],
        },
        &key,
    );
    tx.body.memo = "changed after signing".into();
    Bytes::from(tx.to_bytes())
}

/// `hash` with the wall clock mixed in: what a [`Fault::NondeterministicHash`] node reports.
pub fn clock_mixed(hash: &[u8]) -> Vec<u8> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
        .to_le_bytes();
    hash.iter()
        .zip(nanos.iter().cycle())
        .map(|(h, n)| h ^ n)
        .collect()
}

#[cfg(test)]
mod tests {
    use consign_chain::CheckedTx;

    use super::*;

    #[test]
    fn the_bad_transaction_is_refused_for_its_signature() {
        let refused = CheckedTx::decode_for_block(&bad_tx("c")).unwrap_err();
        assert!(
            refused.error.to_string().contains("signature"),
            "{}",
            refused.error
        );
    }

    #[test]
    fn the_clock_changes_the_hash() {
        let hash = [7u8; 32];
        let mixed = clock_mixed(&hash);
        assert_eq!(mixed.len(), 32);
        assert_ne!(mixed, hash);
    }
}

//! The chain's gas: what a transaction costs besides its contract calls (which the VM meters in
//! the same unit, one per wasm instruction).

use crate::error::ExecError;

/// Charged for every transaction.
pub const TX_BASE: u64 = 10_000;
/// Charged per byte of the transaction.
pub const TX_PER_BYTE: u64 = 10;
/// Charged for verifying the signature (≈ its cost in wasm instructions).
pub const SIGNATURE: u64 = 60_000;
/// Charged for a bank transfer.
pub const BANK_SEND: u64 = 5_000;
/// Charged per byte of uploaded wasm (compilation is the expensive part of an upload).
pub const STORE_CODE_PER_BYTE: u64 = 5;
/// Charged for creating a contract instance.
pub const INSTANTIATE: u64 = 20_000;
/// Charged for every contract call (execute, migrate, reply, a submessage).
pub const CONTRACT_CALL: u64 = 5_000;
/// Charged for a staking or distribution message (delegate, undelegate, redelegate, withdraw
/// rewards, set the withdraw address, fund the community pool).
pub const STAKING: u64 = 20_000;
/// The largest gas limit a transaction may ask for.
pub const MAX_TX_GAS: u64 = 1_000_000_000;

/// What a transaction needs before any message runs.
pub fn intrinsic(tx_bytes: usize) -> u64 {
    TX_BASE
        .saturating_add(SIGNATURE)
        .saturating_add(TX_PER_BYTE.saturating_mul(tx_bytes as u64))
}

/// Counts a transaction's gas against its limit.
#[derive(Debug, Clone)]
pub(crate) struct GasMeter {
    limit: u64,
    used: u64,
}

impl GasMeter {
    pub(crate) fn new(limit: u64) -> Self {
        Self { limit, used: 0 }
    }

    pub(crate) fn consume(&mut self, amount: u64) -> Result<(), ExecError> {
        self.used = self.used.saturating_add(amount);
        if self.used > self.limit {
            let used = self.used;
            self.used = self.limit;
            return Err(ExecError::OutOfGas {
                limit: self.limit,
                used,
            });
        }
        Ok(())
    }

    pub(crate) fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }

    pub(crate) fn used(&self) -> u64 {
        self.used
    }

    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }
}

//! Unit-test support (native builds only): everything in `cosmwasm_std::testing`, plus the
//! instructions [`deliver`](crate::deliver) recorded.

use std::cell::RefCell;

pub use cosmwasm_std::testing::*;

use crate::DeliveryInstruction;

thread_local! {
    /// The JSON of each delivered instruction, in order. Per thread, so tests running in
    /// parallel do not see each other's deliveries.
    static DELIVERED: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

pub(crate) fn record(json: Vec<u8>) {
    DELIVERED.with(|d| d.borrow_mut().push(json));
}

/// Returns, and forgets, the instructions [`deliver`](crate::deliver) was called with on this
/// thread, oldest first. Each one went through the same JSON encoding as in a contract.
///
/// # Panics
///
/// If a recorded instruction does not decode, which would be a bug in this crate.
pub fn take_delivered() -> Vec<DeliveryInstruction> {
    DELIVERED
        .with(|d| std::mem::take(&mut *d.borrow_mut()))
        .iter()
        .map(|json| cosmwasm_std::from_json(json).expect("a recorded delivery instruction decodes"))
        .collect()
}

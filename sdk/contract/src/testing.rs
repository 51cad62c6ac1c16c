//! Unit-test support (native builds only): everything in `cosmwasm_std::testing`, plus the
//! instructions [`deliver`](crate::deliver) recorded.
//!
//! Write tests as with plain CosmWasm: [`mock_dependencies`] (which also starts a fresh delivery
//! record), `mock_env`, `message_info`; call the entry point; then assert on
//! [`take_delivered`] beside the response. Natively, [`deliver`](crate::deliver) validates the
//! instruction exactly as in a contract and records its JSON per thread, so tests running in
//! parallel do not see each other's deliveries.

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

/// [`cosmwasm_std::testing::mock_dependencies`], and a fresh delivery record for this thread: the
/// instructions [`take_delivered`] returns are those emitted since.
pub fn mock_dependencies() -> cosmwasm_std::OwnedDeps<
    cosmwasm_std::testing::MockStorage,
    cosmwasm_std::testing::MockApi,
    cosmwasm_std::testing::MockQuerier,
    cosmwasm_std::Empty,
> {
    DELIVERED.with(|d| d.borrow_mut().clear());
    cosmwasm_std::testing::mock_dependencies()
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

//! Unit-test support (native builds only): everything in `cosmwasm_std::testing`, plus the
//! instructions [`deliver`](crate::deliver) recorded, kept or dropped as the chain would.
//!
//! Write tests as with plain CosmWasm — [`mock_dependencies`] (which also starts a fresh delivery
//! record), `mock_env`, `message_info` — but run each entry point through [`call`], then assert
//! on [`take_delivered`] beside the response:
//!
//! ```
//! # use consign_sdk::cosmwasm_std::{DepsMut, StdError, StdResult};
//! # use consign_sdk::{deliver, DeliveryAddress, DeliveryInstruction};
//! use consign_sdk::testing::{call, mock_dependencies, take_delivered};
//!
//! // An entry point that delivers, then fails: the chain drops the delivery with its writes.
//! fn execute(deps: DepsMut, instruction: &DeliveryInstruction, fail: bool) -> StdResult<()> {
//!     deps.storage.set(b"sold", b"1");
//!     deliver(instruction)?;
//!     if fail {
//!         return Err(StdError::msg("out of stock"));
//!     }
//!     Ok(())
//! }
//!
//! let mut deps = mock_dependencies();
//! let instruction = DeliveryInstruction {
//!     offer_id: 1,
//!     purchase_id: 1,
//!     buyer: deps.api.addr_make("buyer").into_string(),
//!     recipient: DeliveryAddress {
//!         endpoint: "https://buyer.example/inbox".into(),
//!         key: "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p".into(),
//!     },
//!     content_sha256: "ab".repeat(32),
//!     size: 5,
//!     deadline: None,
//! };
//! assert!(call(|| execute(deps.as_mut(), &instruction, true)).is_err());
//! assert!(take_delivered().is_empty());
//!
//! call(|| execute(deps.as_mut(), &instruction, false))?;
//! assert_eq!(take_delivered(), [instruction]);
//! # Ok::<(), StdError>(())
//! ```
//!
//! # Why [`call`]
//!
//! On the chain a call's delivery instructions share the fate of its writes: kept when the entry
//! point returns `Ok`, dropped when it returns `Err` (or traps, or runs out of gas), and dropped
//! with a submessage that fails or a transaction that fails later. Natively, [`deliver`]
//! cannot see how the entry point that called it ends, so [`call`] settles each call the way the
//! chain does. [`take_delivered`] refuses to guess: if [`deliver`] was called outside any
//! [`call`], it panics and says to wrap the entry point, rather than report a delivery the chain
//! might have dropped.
//!
//! Calls nest like submessages: an inner [`call`] that fails drops only its own deliveries, one
//! that succeeds hands them to the enclosing [`call`], which keeps or drops them all. Records are
//! per thread, so tests running in parallel do not see each other's deliveries.
//!
//! [`deliver`]: crate::deliver

use std::cell::RefCell;

pub use cosmwasm_std::testing::*;

use crate::DeliveryInstruction;

/// The JSON of each delivered instruction, in the order [`deliver`](crate::deliver) was called.
type Recorded = Vec<Vec<u8>>;

/// One thread's record.
#[derive(Default)]
struct Record {
    /// What calls that returned `Ok` delivered, for [`take_delivered`].
    kept: Recorded,
    /// One entry per [`call`] or [`capture`] in progress, innermost last.
    open: Vec<Recorded>,
    /// What was delivered outside any call: its fate is unknown.
    unsettled: Recorded,
}

thread_local! {
    static RECORD: RefCell<Record> = RefCell::new(Record::default());
}

/// Records one instruction for the innermost call in progress (the native side of `deliver`).
pub(crate) fn record(json: Vec<u8>) {
    RECORD.with(|r| {
        let mut r = r.borrow_mut();
        match r.open.last_mut() {
            Some(call) => call.push(json),
            None => r.unsettled.push(json),
        }
    });
}

/// A call in progress: its deliveries are collected apart until it ends. Dropped without
/// [`Frame::finish`] (the call panicked), it discards them.
struct Frame {
    depth: usize,
}

impl Frame {
    fn open() -> Self {
        let depth = RECORD.with(|r| {
            let mut r = r.borrow_mut();
            r.open.push(Vec::new());
            r.open.len()
        });
        Self { depth }
    }

    /// Ends the call and returns what it delivered.
    fn finish(self) -> Recorded {
        let recorded = RECORD.with(|r| {
            let mut r = r.borrow_mut();
            // Frames end in the reverse order of their opening (each lives on one call's stack),
            // so this frame is the innermost open one.
            debug_assert_eq!(
                r.open.len(),
                self.depth,
                "delivery frames ended out of order"
            );
            r.open.pop().unwrap_or_default()
        });
        std::mem::forget(self);
        recorded
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        // Only reached when the call unwound: forget what it delivered, like a trap.
        RECORD.with(|r| {
            if let Ok(mut r) = r.try_borrow_mut() {
                r.open.truncate(self.depth.saturating_sub(1));
            }
        });
    }
}

/// Runs one call — an entry point, or a handler that delivers — the way the chain settles it:
/// if it returns `Ok`, what it delivered is kept (for [`take_delivered`], or for the enclosing
/// [`call`]); if it returns `Err` or panics, what it delivered is dropped, as the chain drops
/// the instructions of a failed call. The result is returned unchanged.
///
/// ```
/// # use consign_sdk::testing::{call, mock_dependencies, mock_env, message_info};
/// # use consign_sdk::cosmwasm_std::{DepsMut, Env, MessageInfo, Response, StdResult};
/// # fn execute(_: DepsMut, _: Env, _: MessageInfo, _: ()) -> StdResult<Response> { Ok(Response::new()) }
/// # let mut deps = mock_dependencies();
/// # let buyer = deps.api.addr_make("buyer");
/// let res = call(|| execute(deps.as_mut(), mock_env(), message_info(&buyer, &[]), ()))?;
/// # Ok::<(), consign_sdk::cosmwasm_std::StdError>(())
/// ```
///
/// # Errors
///
/// The call's own error, unchanged.
pub fn call<T, E>(f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    let frame = Frame::open();
    let result = f();
    let recorded = frame.finish();
    if result.is_ok() {
        RECORD.with(|r| {
            let mut r = r.borrow_mut();
            match r.open.last_mut() {
                Some(outer) => outer.extend(recorded),
                None => r.kept.extend(recorded),
            }
        });
    }
    result
}

/// Runs one call like [`call`], but returns what it delivered with its result instead of keeping
/// it for [`take_delivered`]: on `Ok`, the value and the instructions, oldest first; on `Err`,
/// the error alone (its deliveries are dropped, as on the chain). For harnesses that route
/// deliveries themselves, such as `consign-multitest`.
///
/// # Errors
///
/// The call's own error, unchanged.
///
/// # Panics
///
/// If a recorded instruction does not decode, which would be a bug in this crate.
pub fn capture<T, E>(f: impl FnOnce() -> Result<T, E>) -> Result<(T, Vec<DeliveryInstruction>), E> {
    let frame = Frame::open();
    let result = f();
    let recorded = frame.finish();
    result.map(|value| (value, decode(recorded)))
}

/// [`cosmwasm_std::testing::mock_dependencies`], and a fresh delivery record for this thread: the
/// instructions [`take_delivered`] returns are those kept since.
pub fn mock_dependencies() -> cosmwasm_std::OwnedDeps<
    cosmwasm_std::testing::MockStorage,
    cosmwasm_std::testing::MockApi,
    cosmwasm_std::testing::MockQuerier,
    cosmwasm_std::Empty,
> {
    RECORD.with(|r| {
        let mut r = r.borrow_mut();
        r.kept.clear();
        r.unsettled.clear();
    });
    cosmwasm_std::testing::mock_dependencies()
}

/// Returns, and forgets, the instructions delivered on this thread by calls run through [`call`]
/// that returned `Ok` (since [`mock_dependencies`] or the last `take_delivered`), oldest first.
/// Each one went through the same JSON encoding as in a contract. Instructions of calls that
/// returned `Err` are never here, as they never reach the chain's delivery log.
///
/// # Panics
///
/// If [`deliver`](crate::deliver) was called outside any [`call`] since: whether those
/// instructions would reach the chain depends on how their entry point ended, which only
/// [`call`] sees. The message says which wrapper to add. Also if a recorded instruction does not
/// decode, which would be a bug in this crate.
pub fn take_delivered() -> Vec<DeliveryInstruction> {
    let (kept, unsettled) = RECORD.with(|r| {
        let mut r = r.borrow_mut();
        (
            std::mem::take(&mut r.kept),
            std::mem::take(&mut r.unsettled).len(),
        )
    });
    assert!(
        unsettled == 0,
        "deliver() was called {unsettled} time(s) outside consign_sdk::testing::call, so whether \
         the chain would keep those deliveries is unknown (it drops them when the entry point \
         returns Err): run the entry point as `call(|| execute(deps.as_mut(), env, info, msg))`"
    );
    decode(kept)
}

fn decode(recorded: Recorded) -> Vec<DeliveryInstruction> {
    recorded
        .iter()
        .map(|json| cosmwasm_std::from_json(json).expect("a recorded delivery instruction decodes"))
        .collect()
}

#[cfg(test)]
mod tests {
    use cosmwasm_std::{StdError, StdResult};

    use super::*;
    use crate::{deliver, DeliveryAddress};

    fn instruction(purchase_id: u64) -> DeliveryInstruction {
        DeliveryInstruction {
            offer_id: 1,
            purchase_id,
            buyer: MockApi::default().addr_make("buyer").into_string(),
            recipient: DeliveryAddress {
                endpoint: "https://buyer.example/inbox".into(),
                key: "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p".into(),
            },
            content_sha256: "ab".repeat(32),
            size: 5,
            deadline: None,
        }
    }

    /// Delivers each of `ids`, then fails if asked to.
    fn entry(ids: &[u64], fail: bool) -> StdResult<&'static str> {
        for id in ids {
            deliver(&instruction(*id))?;
        }
        if fail {
            return Err(StdError::msg("refused after delivering"));
        }
        Ok("done")
    }

    fn ids(delivered: &[DeliveryInstruction]) -> Vec<u64> {
        delivered.iter().map(|i| i.purchase_id).collect()
    }

    #[test]
    fn a_call_that_fails_delivers_nothing() {
        mock_dependencies();
        let err = call(|| entry(&[1, 2], true)).unwrap_err();
        assert!(
            err.to_string().contains("refused after delivering"),
            "{err}"
        );
        assert!(take_delivered().is_empty());
    }

    #[test]
    fn a_call_that_succeeds_keeps_its_deliveries_in_order() {
        mock_dependencies();
        assert_eq!(call(|| entry(&[1, 2], false)).unwrap(), "done");
        assert!(call(|| entry(&[3], true)).is_err());
        assert_eq!(call(|| entry(&[4], false)).unwrap(), "done");
        assert_eq!(ids(&take_delivered()), [1, 2, 4]);
        // Taken means forgotten.
        assert!(take_delivered().is_empty());
    }

    #[test]
    fn nested_calls_settle_like_submessages() {
        mock_dependencies();
        // The inner failure is caught (a submessage with reply_on_error): only it is dropped.
        let outer = call(|| {
            entry(&[1], false)?;
            assert!(call(|| entry(&[2], true)).is_err());
            call(|| entry(&[3], false))
        });
        assert_eq!(outer.unwrap(), "done");
        assert_eq!(ids(&take_delivered()), [1, 3]);

        // The outer call fails after an inner one succeeded: both are dropped.
        let outer = call(|| {
            call(|| entry(&[4], false))?;
            entry(&[5], true)
        });
        assert!(outer.is_err());
        assert!(take_delivered().is_empty());
    }

    #[test]
    fn a_call_that_panics_delivers_nothing() {
        mock_dependencies();
        let unwound = std::panic::catch_unwind(|| {
            call(|| -> StdResult<()> {
                entry(&[1], false)?;
                panic!("the contract aborted");
            })
        });
        assert!(unwound.is_err());
        assert_eq!(call(|| entry(&[2], false)).unwrap(), "done");
        assert_eq!(ids(&take_delivered()), [2]);
    }

    #[test]
    fn capture_returns_the_deliveries_of_a_successful_call_only() {
        mock_dependencies();
        let (value, delivered) = capture(|| entry(&[7, 8], false)).unwrap();
        assert_eq!(value, "done");
        assert_eq!(ids(&delivered), [7, 8]);
        assert!(capture(|| entry(&[9], true)).is_err());
        // Captured deliveries are the caller's, not take_delivered's.
        assert!(take_delivered().is_empty());
    }

    #[test]
    fn a_delivery_outside_call_makes_take_delivered_say_what_to_do() {
        mock_dependencies();
        entry(&[1], true).unwrap_err();
        let panic = std::panic::catch_unwind(take_delivered).unwrap_err();
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            message.contains("outside consign_sdk::testing::call"),
            "{message}"
        );
        assert!(message.contains("call(|| execute("), "{message}");
        // Said once: the record is settled afterwards.
        assert!(take_delivered().is_empty());
    }

    #[test]
    fn mock_dependencies_starts_a_fresh_record() {
        mock_dependencies();
        call(|| entry(&[1], false)).unwrap();
        entry(&[2], false).unwrap();
        mock_dependencies();
        assert!(take_delivered().is_empty());
    }

    #[test]
    fn an_invalid_instruction_is_an_error_and_records_nothing() {
        mock_dependencies();
        let mut bad = instruction(1);
        bad.size = 0;
        let err = call(|| deliver(&bad)).unwrap_err();
        assert!(
            err.to_string().contains("size must be greater than zero"),
            "{err}"
        );
        deliver(&bad).unwrap_err();
        assert!(take_delivered().is_empty());
    }
}

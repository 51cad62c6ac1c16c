//! [`Environment`]: what a running contract instance carries in its wasmtime `Store`.

use std::sync::Arc;

use consign_sdk::DeliveryInstruction;
use wasmtime::{AsContextMut, Caller, Memory, TypedFunc};

use crate::backend::{BackendApi, BackendError, Querier, Storage};
use crate::errors::{VmError, VmResult};
use crate::gas::GasCosts;
use crate::limits::Limiter;
use crate::overlay::Overlay;

/// The state of one instance: its backend, gas accounting, limits and what the call produced.
pub(crate) struct Environment<A, S, Q> {
    pub(crate) api: A,
    pub(crate) storage: Overlay<S>,
    pub(crate) querier: Q,
    pub(crate) costs: Arc<GasCosts>,
    pub(crate) limiter: Limiter,
    pub(crate) gas_limit: u64,
    /// Set for queries: storage writes and deliveries are refused.
    pub(crate) read_only: bool,
    pub(crate) memory: Option<Memory>,
    pub(crate) allocate: Option<TypedFunc<u32, u32>>,
    pub(crate) max_deliveries: usize,
    /// Delivery instructions the current call emitted.
    pub(crate) deliveries: Vec<DeliveryInstruction>,
    /// Messages of the `debug` import, when the caller asked to keep them.
    pub(crate) debug_messages: Option<Vec<String>>,
    /// A label for logs (the contract address, when the caller knows it).
    pub(crate) label: Arc<str>,
}

impl<A: BackendApi, S: Storage, Q: Querier> Environment<A, S, Q> {
    pub(crate) fn memory(&self) -> VmResult<Memory> {
        self.memory
            .ok_or_else(|| VmError::communication("the instance has no memory"))
    }
}

/// The caller of a host function.
pub(crate) type Ctx<'a, A, S, Q> = Caller<'a, Environment<A, S, Q>>;

/// Charges `gas`, failing the call when it runs out.
pub(crate) fn charge<T: 'static>(
    store: &mut impl AsContextMut<Data = T>,
    gas: u64,
    limit: u64,
) -> VmResult<()> {
    let mut ctx = store.as_context_mut();
    let left = ctx
        .get_fuel()
        .map_err(|e| VmError::communication(format!("fuel is not enabled: {e}")))?;
    match left.checked_sub(gas) {
        Some(rest) => ctx.set_fuel(rest),
        None => {
            let _ = ctx.set_fuel(0);
            return Err(VmError::OutOfGas { limit });
        }
    }
    .map_err(|e| VmError::communication(format!("cannot set fuel: {e}")))
}

/// Converts a backend error into the VM error a contract call fails with.
pub(crate) fn backend_error(err: BackendError, gas_limit: u64) -> VmError {
    match err {
        BackendError::OutOfGas => VmError::OutOfGas { limit: gas_limit },
        BackendError::IteratorDoesNotExist { id } => {
            VmError::communication(format!("iterator {id} does not exist"))
        }
        other => VmError::from(other),
    }
}

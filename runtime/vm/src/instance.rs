//! [`Instance`]: one contract instance, ready for calls.

use std::sync::Arc;

use consign_sdk::DeliveryInstruction;
use wasmtime::{Engine, InstancePre, Store, Val};

use crate::backend::{Backend, BackendApi, Querier, Storage};
use crate::environment::Environment;
use crate::errors::{VmError, VmResult};
use crate::gas::GasCosts;
use crate::limits::{InstanceLimits, Limiter};
use crate::memory::{self, to_u32};
use crate::overlay::Overlay;

/// Per-instance settings chosen by the caller.
#[derive(Debug, Clone)]
pub struct InstanceOptions {
    /// Gas the instance may use across its calls.
    pub gas_limit: u64,
    /// Keep the messages of the contract's `debug` calls (they are always logged at `debug`
    /// level under the `runtime::contract` target).
    pub collect_debug: bool,
    /// A label for logs, such as the contract's address.
    pub label: String,
}

impl Default for InstanceOptions {
    fn default() -> Self {
        Self {
            gas_limit: 1_000_000_000,
            collect_debug: false,
            label: String::new(),
        }
    }
}

/// What an instance leaves behind: its backend (with every successful call's writes applied)
/// and what its successful calls produced.
#[derive(Debug)]
pub struct Finished<A, S, Q> {
    /// The backend, returned to the caller.
    pub backend: Backend<A, S, Q>,
    /// Gas used by all calls.
    pub gas_used: u64,
    /// Delivery instructions of the successful calls, in order.
    pub deliveries: Vec<DeliveryInstruction>,
    /// Messages of `debug` calls, when collected.
    pub debug_messages: Vec<String>,
}

/// A running contract instance.
///
/// Each call is atomic: its storage writes and delivery instructions take effect only when it
/// succeeds (returns `Ok` in its `ContractResult`). A trap, running out of gas or an error result
/// leaves the storage exactly as before the call.
pub struct Instance<A: BackendApi, S: Storage, Q: Querier> {
    store: Store<Environment<A, S, Q>>,
    instance: wasmtime::Instance,
    limits: Arc<InstanceLimits>,
    deliveries: Vec<DeliveryInstruction>,
}

impl<A: BackendApi, S: Storage, Q: Querier> Instance<A, S, Q> {
    pub(crate) fn new(
        engine: &Engine,
        pre: &InstancePre<Environment<A, S, Q>>,
        backend: Backend<A, S, Q>,
        options: &InstanceOptions,
        costs: Arc<GasCosts>,
        limits: Arc<InstanceLimits>,
    ) -> VmResult<Self> {
        let env = Environment {
            api: backend.api,
            storage: Overlay::new(backend.storage),
            querier: backend.querier,
            costs,
            limiter: Limiter {
                memory_bytes: limits.memory_bytes,
                table_elements: limits.table_elements,
            },
            gas_limit: options.gas_limit,
            read_only: false,
            memory: None,
            allocate: None,
            max_deliveries: limits.max_deliveries,
            deliveries: Vec::new(),
            debug_messages: options.collect_debug.then(Vec::new),
            label: Arc::from(options.label.as_str()),
        };
        let mut store = Store::new(engine, env);
        store.limiter(|env| &mut env.limiter);
        store
            .set_fuel(options.gas_limit)
            .map_err(|e| VmError::communication(format!("cannot set fuel: {e}")))?;
        let instance = pre
            .instantiate(&mut store)
            .map_err(|e| match e.downcast::<VmError>() {
                Ok(vm) => vm,
                Err(e) => VmError::Instantiate {
                    msg: format!("{e:#}"),
                },
            })?;
        let memory =
            instance
                .get_memory(&mut store, "memory")
                .ok_or_else(|| VmError::Instantiate {
                    msg: "the contract exports no memory".into(),
                })?;
        let allocate = instance
            .get_typed_func::<u32, u32>(&mut store, "allocate")
            .map_err(|e| VmError::Instantiate {
                msg: format!("the contract's allocate export is unusable: {e}"),
            })?;
        let env = store.data_mut();
        env.memory = Some(memory);
        env.allocate = Some(allocate);
        Ok(Self {
            store,
            instance,
            limits,
            deliveries: Vec::new(),
        })
    }

    /// Gas used so far.
    pub fn gas_used(&self) -> u64 {
        self.gas_limit().saturating_sub(self.gas_left())
    }

    /// Gas left.
    pub fn gas_left(&self) -> u64 {
        self.store.get_fuel().unwrap_or(0)
    }

    /// The gas limit the instance was created with.
    pub fn gas_limit(&self) -> u64 {
        self.store.data().gas_limit
    }

    /// The storage as the successful calls so far left it.
    pub fn storage(&self) -> &S {
        self.store.data().storage.inner()
    }

    /// Whether the contract exports a function with this name.
    pub fn has_export(&mut self, name: &str) -> bool {
        self.instance.get_func(&mut self.store, name).is_some()
    }

    /// Number of parameters of an exported function.
    pub(crate) fn export_arity(&mut self, name: &str) -> Option<usize> {
        let func = self.instance.get_func(&mut self.store, name)?;
        Some(func.ty(&self.store).params().len())
    }

    pub(crate) fn limits(&self) -> &InstanceLimits {
        &self.limits
    }

    /// Calls an export with the given arguments (each passed as a Region) and returns the bytes
    /// of the Region it returns, at most `max_result` long. The call's writes stay pending
    /// until [`Instance::settle`].
    pub(crate) fn call_raw(
        &mut self,
        name: &str,
        args: &[&[u8]],
        read_only: bool,
        max_result: usize,
    ) -> VmResult<Vec<u8>> {
        let gas_limit = self.gas_limit();
        let func = self
            .instance
            .get_func(&mut self.store, name)
            .ok_or_else(|| VmError::MissingEntryPoint { name: name.into() })?;
        self.store.data_mut().read_only = read_only;
        let mut params = Vec::with_capacity(args.len());
        for arg in args {
            let ptr = self.pass(arg)?;
            params.push(Val::I32(i32::from_ne_bytes(ptr.to_ne_bytes())));
        }
        let mut results = [Val::I32(0)];
        func.call(&mut self.store, &params, &mut results)
            .map_err(|e| VmError::from_wasm(e, gas_limit))?;
        let ptr = match results[0] {
            Val::I32(p) => u32::from_ne_bytes(p.to_ne_bytes()),
            _ => return Err(VmError::invalid_result("entry point did not return an i32")),
        };
        let mem = self.store.data().memory()?;
        let data = memory::read_region(
            mem.data(&self.store),
            ptr,
            self.limits.max_result_region,
            "result",
        )?;
        let deallocate = self
            .instance
            .get_typed_func::<u32, ()>(&mut self.store, "deallocate")
            .map_err(|e| {
                VmError::communication(format!("the contract's deallocate export is unusable: {e}"))
            })?;
        deallocate
            .call(&mut self.store, ptr)
            .map_err(|e| VmError::from_wasm(e, gas_limit))?;
        if data.len() > max_result {
            return Err(VmError::TooLarge {
                what: "the contract's result",
                len: data.len(),
                limit: max_result,
            });
        }
        Ok(data)
    }

    /// Allocates a Region in the contract and copies `data` into it.
    fn pass(&mut self, data: &[u8]) -> VmResult<u32> {
        let gas_limit = self.gas_limit();
        let len = to_u32(data.len(), "argument")?;
        let allocate = self
            .store
            .data()
            .allocate
            .clone()
            .ok_or_else(|| VmError::communication("the contract has no allocate export"))?;
        let ptr = allocate
            .call(&mut self.store, len)
            .map_err(|e| VmError::from_wasm(e, gas_limit))?;
        let mem = self.store.data().memory()?;
        memory::write_region(mem.data_mut(&mut self.store), ptr, data)?;
        Ok(ptr)
    }

    /// Ends a call: applies its writes and keeps its deliveries when it succeeded, drops both
    /// when it failed.
    pub(crate) fn settle(&mut self, success: bool) -> VmResult<()> {
        let env = self.store.data_mut();
        env.read_only = false;
        let pending = std::mem::take(&mut env.deliveries);
        if success {
            env.storage.commit()?;
            self.deliveries.extend(pending);
        } else {
            env.storage.discard();
        }
        Ok(())
    }

    /// Takes the instance apart, returning its backend and what its calls produced.
    pub fn finish(self) -> Finished<A, S, Q> {
        let gas_used = self.gas_used();
        let deliveries = self.deliveries;
        let env = self.store.into_data();
        // Writes of a call that was never settled are dropped.
        let storage = env.storage.into_inner();
        Finished {
            backend: Backend {
                api: env.api,
                storage,
                querier: env.querier,
            },
            gas_used,
            deliveries,
            debug_messages: env.debug_messages.unwrap_or_default(),
        }
    }
}

//! The wasmtime engine, configured for determinism and the VM's limits.

use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig,
    WasmFeatures,
};

use crate::checks;

use crate::errors::{VmError, VmResult};
use crate::limits::InstanceLimits;

/// How instances get their memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allocation {
    /// wasmtime's pooling allocator: slots reserved up front, instantiation in microseconds.
    /// The number is how many instances may be alive at once (nested contract calls count).
    Pooling {
        /// Concurrent instances.
        max_instances: u32,
    },
    /// Memory mapped per instance: slower to instantiate, reserves nothing up front.
    OnDemand,
}

impl Default for Allocation {
    fn default() -> Self {
        Self::Pooling { max_instances: 128 }
    }
}

/// Bytes of each pooled memory and table kept resident between instances.
const KEEP_RESIDENT_BYTES: usize = 4 * 1024 * 1024;

/// Builds the engine. Every setting that could make two nodes disagree is fixed here:
/// no threads, no SIMD (relaxed SIMD is nondeterministic by design), NaNs canonicalised, fuel
/// metering on; and the wasm features match exactly what the upload checks accept.
pub(crate) fn build(limits: &InstanceLimits, allocation: &Allocation) -> VmResult<Engine> {
    let mut config = Config::new();
    config
        .consume_fuel(true)
        .cranelift_nan_canonicalization(true)
        .cranelift_opt_level(OptLevel::Speed)
        .max_wasm_stack(limits.stack_bytes)
        .wasm_simd(false)
        .wasm_relaxed_simd(false)
        // Reference types stay on (wasmtime default; GC types are compiled out). The upload
        // checks reject every other proposal before wasmtime sees a module.
        .wasm_bulk_memory(true)
        .wasm_multi_value(true)
        .wasm_multi_memory(false)
        .wasm_memory64(false)
        .wasm_tail_call(false)
        .wasm_extended_const(false)
        .wasm_wide_arithmetic(false)
        .parallel_compilation(true);
    // Then pin the feature set to exactly what the upload checks accept.
    config
        .wasm_features(WasmFeatures::all(), false)
        .wasm_features(checks::wasm_features(), true);
    if let Allocation::Pooling { max_instances } = allocation {
        let memory_bytes = usize::try_from(limits.memory_bytes).map_err(|_| VmError::Config {
            msg: "memory limit does not fit this platform".into(),
        })?;
        let table_elements =
            usize::try_from(limits.table_elements).map_err(|_| VmError::Config {
                msg: "table limit does not fit this platform".into(),
            })?;
        let mut pool = PoolingAllocationConfig::default();
        pool.total_core_instances(*max_instances)
            .total_memories(*max_instances)
            .total_tables(*max_instances)
            .max_memories_per_module(1)
            .max_tables_per_module(1)
            .max_memory_size(memory_bytes)
            .table_elements(table_elements)
            // Reset the pages the last instance touched with memset (found with the
            // PAGEMAP_SCAN ioctl, Linux 6.7+) instead of dropping them with madvise: a fresh
            // instance then takes no page faults and no TLB flush. Half the cost of a small
            // call was madvise and the page faults after it.
            .pagemap_scan(Enabled::Auto)
            .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
            .table_keep_resident(KEEP_RESIDENT_BYTES);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    Engine::new(&config).map_err(|e| VmError::Config {
        msg: format!("cannot create the wasmtime engine: {e:#}"),
    })
}

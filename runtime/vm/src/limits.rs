//! Limits on what one contract instance may use, enforced while it runs.

use wasmtime::ResourceLimiter;

use crate::errors::VmError;

/// Runtime limits of a contract call. The upload checks ([`crate::checks::CheckLimits`]) bound
/// the module; these bound the running instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceLimits {
    /// Linear memory an instance may grow to, in bytes (default 32 MiB).
    pub memory_bytes: u64,
    /// Elements a table may grow to (default 2,500, as the upload check).
    pub table_elements: u64,
    /// Native stack the wasm code may use, in bytes (default 512 KiB); deep recursion past it
    /// ends the call with a stack overflow.
    pub stack_bytes: usize,
    /// Largest result Region the host reads back from a call (default 64 MiB).
    pub max_result_region: usize,
    /// Largest JSON result of `instantiate`, `execute`, `migrate`, `sudo` and `reply`
    /// (default 256 KiB, as the reference).
    pub max_response_json: usize,
    /// Largest JSON result of `query` (default 256 KiB).
    pub max_query_json: usize,
    /// Most delivery instructions one call may emit (default 64).
    pub max_deliveries: usize,
}

impl Default for InstanceLimits {
    fn default() -> Self {
        Self {
            memory_bytes: 32 * 1024 * 1024,
            table_elements: 2_500,
            stack_bytes: 512 * 1024,
            max_result_region: 64 * 1024 * 1024,
            max_response_json: 256 * 1024,
            max_query_json: 256 * 1024,
            max_deliveries: 64,
        }
    }
}

/// Enforces [`InstanceLimits`] on memory and table growth, turning a refusal into a trap that
/// says what was exceeded.
#[derive(Debug, Clone)]
pub(crate) struct Limiter {
    pub(crate) memory_bytes: u64,
    pub(crate) table_elements: u64,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let desired = u64::try_from(desired).unwrap_or(u64::MAX);
        if desired > self.memory_bytes {
            return Err(VmError::MemoryLimit {
                requested: desired,
                limit: self.memory_bytes,
            }
            .into());
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let desired = u64::try_from(desired).unwrap_or(u64::MAX);
        if desired > self.table_elements {
            return Err(VmError::TableLimit {
                requested: desired,
                limit: self.table_elements,
            }
            .into());
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        1
    }

    fn memories(&self) -> usize {
        1
    }
}

//! [`Vm`]: the engine, the code store and the module caches, handing out instances.

use std::collections::HashMap;
use std::fs;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use cosmwasm_std::Checksum;
use lru::LruCache;
use wasmtime::{Engine, InstancePre, Linker, Module};

use crate::backend::{Backend, BackendApi, Querier, Storage};
use crate::cache;
use crate::checks::{check_wasm, CheckConfig, CheckReport};
use crate::engine::{self, Allocation};
use crate::environment::Environment;
use crate::errors::{VmError, VmResult};
use crate::gas::GasCosts;
use crate::imports;
use crate::instance::{Instance, InstanceOptions};
use crate::limits::InstanceLimits;

/// How the VM is set up.
#[derive(Debug, Clone)]
pub struct VmConfig {
    /// Where code and compiled modules are kept (`wasm/` and `modules/` inside). `None` keeps
    /// everything in memory.
    pub cache_dir: Option<PathBuf>,
    /// The upload checks.
    pub check: CheckConfig,
    /// Limits of a running instance.
    pub limits: InstanceLimits,
    /// The host side of the gas schedule.
    pub gas: GasCosts,
    /// Compiled modules kept ready in memory (entries).
    pub memory_cache_entries: usize,
    /// How instance memory is allocated.
    pub allocation: Allocation,
}

impl Default for VmConfig {
    fn default() -> Self {
        Self {
            cache_dir: None,
            check: CheckConfig::default(),
            limits: InstanceLimits::default(),
            gas: GasCosts::default(),
            memory_cache_entries: 256,
            allocation: Allocation::default(),
        }
    }
}

/// Where a module came from when it was made ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleSource {
    /// Already in the memory cache.
    Memory,
    /// Loaded from the disk cache.
    Disk,
    /// Compiled from the wasm.
    Compiled,
}

/// Counters of the caches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Instances served from the memory cache.
    pub memory_hits: u64,
    /// Modules loaded from disk.
    pub disk_hits: u64,
    /// Modules compiled.
    pub compiles: u64,
}

#[derive(Default)]
struct Counters {
    memory_hits: AtomicU64,
    disk_hits: AtomicU64,
    compiles: AtomicU64,
}

type Pre<A, S, Q> = InstancePre<Environment<A, S, Q>>;

/// The contract VM: stores code, compiles and caches it, and creates instances that run
/// against a [`Backend`].
///
/// ```no_run
/// use consign_vm::{Backend, Bech32Api, MemoryStorage, NoChainQuerier, Vm, VmConfig};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let vm: Vm<Bech32Api, MemoryStorage, NoChainQuerier> = Vm::new(VmConfig::default())?;
/// let wasm = std::fs::read("target/contracts/cw20_base.wasm")?;
/// let checksum = vm.save_wasm(&wasm)?;
/// let backend = Backend {
///     api: Bech32Api::new("consign")?,
///     storage: MemoryStorage::new(),
///     querier: NoChainQuerier,
/// };
/// let mut instance = vm.instance(&checksum, backend, &Default::default())?;
/// # let _ = &mut instance;
/// # Ok(()) }
/// ```
pub struct Vm<A: BackendApi, S: Storage, Q: Querier> {
    engine: Engine,
    linker: Linker<Environment<A, S, Q>>,
    config: VmConfig,
    costs: Arc<GasCosts>,
    limits: Arc<InstanceLimits>,
    ready: Mutex<LruCache<Checksum, Pre<A, S, Q>>>,
    /// Code when there is no cache directory.
    code: Mutex<HashMap<Checksum, Arc<[u8]>>>,
    counters: Counters,
}

impl<A: BackendApi, S: Storage, Q: Querier> Vm<A, S, Q> {
    /// Starts a VM.
    ///
    /// # Errors
    /// If the engine cannot be created (for example the pooling allocator cannot reserve its
    /// memory) or the cache directory cannot be created.
    pub fn new(config: VmConfig) -> VmResult<Self> {
        let engine = engine::build(&config.limits, &config.allocation)?;
        let linker = imports::linker(&engine)?;
        if let Some(dir) = &config.cache_dir {
            for sub in [dir.join("wasm"), cache::modules_dir(dir)] {
                fs::create_dir_all(&sub)
                    .map_err(|e| VmError::cache(format!("creating {}: {e}", sub.display())))?;
            }
        }
        let entries = NonZeroUsize::new(config.memory_cache_entries).unwrap_or(NonZeroUsize::MIN);
        Ok(Self {
            engine,
            linker,
            costs: Arc::new(config.gas.clone()),
            limits: Arc::new(config.limits.clone()),
            config,
            ready: Mutex::new(LruCache::new(entries)),
            code: Mutex::new(HashMap::new()),
            counters: Counters::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &VmConfig {
        &self.config
    }

    /// Runs the upload checks without storing anything.
    pub fn check(&self, wasm: &[u8]) -> CheckReport {
        check_wasm(wasm, &self.config.check)
    }

    /// Checks, compiles and stores a contract; returns its checksum (SHA-256 of the wasm).
    /// Storing the same code again is cheap and returns the same checksum.
    ///
    /// # Errors
    /// [`VmError::Rejected`] with every broken rule; [`VmError::Compile`]; cache I/O errors.
    pub fn save_wasm(&self, wasm: &[u8]) -> VmResult<Checksum> {
        let report = self.check(wasm);
        if !report.is_ok() {
            return Err(VmError::Rejected {
                problems: report.problems,
            });
        }
        let checksum = Checksum::generate(wasm);
        if self.has_code(&checksum) && self.lock_ready().contains(&checksum) {
            return Ok(checksum);
        }
        match &self.config.cache_dir {
            Some(dir) => cache::write_atomic(&wasm_path(dir, &checksum), &[wasm])?,
            None => {
                self.code
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(checksum, Arc::from(wasm));
            }
        }
        let module = self.compile(wasm)?;
        if let Some(dir) = &self.config.cache_dir {
            cache::store(&self.engine, dir, &checksum, &module)?;
        }
        self.make_ready(checksum, &module)?;
        Ok(checksum)
    }

    /// Whether code with this checksum is stored.
    pub fn has_code(&self, checksum: &Checksum) -> bool {
        match &self.config.cache_dir {
            Some(dir) => wasm_path(dir, checksum).exists(),
            None => self
                .code
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .contains_key(checksum),
        }
    }

    /// The stored wasm of a contract.
    ///
    /// # Errors
    /// [`VmError::CodeNotFound`], or an I/O error.
    pub fn load_wasm(&self, checksum: &Checksum) -> VmResult<Arc<[u8]>> {
        let not_found = || VmError::CodeNotFound {
            checksum: checksum.to_hex(),
        };
        match &self.config.cache_dir {
            Some(dir) => match fs::read(wasm_path(dir, checksum)) {
                Ok(wasm) if Checksum::generate(&wasm) == *checksum => Ok(Arc::from(wasm)),
                Ok(_) => Err(VmError::cache(format!(
                    "stored wasm for {checksum} does not match its checksum"
                ))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(not_found()),
                Err(e) => Err(VmError::cache(e)),
            },
            None => self
                .code
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(checksum)
                .cloned()
                .ok_or_else(not_found),
        }
    }

    /// Makes a module ready to instantiate (memory cache, else disk cache, else compile) and
    /// says where it came from.
    ///
    /// # Errors
    /// [`VmError::CodeNotFound`], [`VmError::Compile`], cache I/O errors.
    pub fn prepare(&self, checksum: &Checksum) -> VmResult<ModuleSource> {
        self.ready_instance_pre(checksum).map(|(_, source)| source)
    }

    /// Drops every module from the memory cache (the disk cache is kept).
    pub fn clear_memory_cache(&self) {
        self.lock_ready().clear();
    }

    /// Cache counters since start.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            memory_hits: self.counters.memory_hits.load(Ordering::Relaxed),
            disk_hits: self.counters.disk_hits.load(Ordering::Relaxed),
            compiles: self.counters.compiles.load(Ordering::Relaxed),
        }
    }

    /// A fresh instance of a stored contract, running against `backend`.
    ///
    /// # Errors
    /// [`VmError::CodeNotFound`], compile or instantiation errors.
    pub fn instance(
        &self,
        checksum: &Checksum,
        backend: Backend<A, S, Q>,
        options: &InstanceOptions,
    ) -> VmResult<Instance<A, S, Q>> {
        let (pre, _) = self.ready_instance_pre(checksum)?;
        Instance::new(
            &self.engine,
            &pre,
            backend,
            options,
            Arc::clone(&self.costs),
            Arc::clone(&self.limits),
        )
    }

    fn lock_ready(&self) -> std::sync::MutexGuard<'_, LruCache<Checksum, Pre<A, S, Q>>> {
        self.ready.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn ready_instance_pre(&self, checksum: &Checksum) -> VmResult<(Pre<A, S, Q>, ModuleSource)> {
        if let Some(pre) = self.lock_ready().get(checksum) {
            self.counters.memory_hits.fetch_add(1, Ordering::Relaxed);
            return Ok((pre.clone(), ModuleSource::Memory));
        }
        if let Some(dir) = &self.config.cache_dir {
            if let Some(module) = cache::load(&self.engine, dir, checksum)? {
                self.counters.disk_hits.fetch_add(1, Ordering::Relaxed);
                let pre = self.make_ready(*checksum, &module)?;
                return Ok((pre, ModuleSource::Disk));
            }
        }
        let wasm = self.load_wasm(checksum)?;
        let module = self.compile(&wasm)?;
        if let Some(dir) = &self.config.cache_dir {
            cache::store(&self.engine, dir, checksum, &module)?;
        }
        let pre = self.make_ready(*checksum, &module)?;
        Ok((pre, ModuleSource::Compiled))
    }

    fn compile(&self, wasm: &[u8]) -> VmResult<Module> {
        self.counters.compiles.fetch_add(1, Ordering::Relaxed);
        Module::new(&self.engine, wasm).map_err(|e| VmError::Compile {
            msg: format!("{e:#}"),
        })
    }

    fn make_ready(&self, checksum: Checksum, module: &Module) -> VmResult<Pre<A, S, Q>> {
        let pre = self
            .linker
            .instantiate_pre(module)
            .map_err(|e| VmError::Instantiate {
                msg: format!("{e:#}"),
            })?;
        self.lock_ready().put(checksum, pre.clone());
        Ok(pre)
    }
}

fn wasm_path(dir: &Path, checksum: &Checksum) -> PathBuf {
    dir.join("wasm").join(format!("{}.wasm", checksum.to_hex()))
}

//! Static checks run on a contract at upload, before it is stored or compiled: the same kind of
//! rules as CosmWasm's `cosmwasm-check` / `cosmwasm-vm`'s `check_wasm`, held to the one
//! interface list in [`crate::interface`].
//!
//! [`check_wasm`] never stops at the first problem: its [`CheckReport`] lists every rule the
//! module breaks (except when the bytes are not a valid module at all, in which case there is
//! nothing more to look at).
//!
//! ```
//! use consign_vm::checks::{check_wasm, CheckConfig};
//!
//! let report = check_wasm(b"not wasm", &CheckConfig::default());
//! assert!(!report.is_ok());
//! assert_eq!(report.problems[0].rule(), "invalid-wasm");
//! ```
//!
//! Differences from `cosmwasm-vm` 3.0, on purpose: bulk memory is accepted (rustc 1.95 emits
//! `memory.copy`/`memory.fill` even for `target-cpu=mvp`; cosmwasm-vm 3.1 accepts it too);
//! import signatures are checked here, at upload, rather than failing at instantiation; and a
//! code-size limit is applied before parsing.

mod error;
mod migrate_version;
mod module;

use std::collections::BTreeSet;

use cosmwasm_std::Checksum;
use serde::{Deserialize, Serialize};
use wasmtime::wasmparser::{ExternalKind, TypeRef, ValType, WasmFeatures};

pub use self::error::CheckError;
pub use self::migrate_version::migrate_version;
use self::module::{kind_name, FuncSig, ModuleInfo};
use crate::interface::{
    self, WasmType, ENTRY_POINTS, IMPORT_MODULE, INTERFACE_VERSION_EXPORT,
    INTERFACE_VERSION_PREFIX, REQUIRED_EXPORTS, REQUIRES_PREFIX,
};

/// The wasm features a contract may use: mutable globals, saturating float-to-int, sign
/// extension, multi-value, floats, reference types (funcref only) and bulk memory. SIMD,
/// threads, exceptions, tail calls, memory64, multi-memory, GC (including `externref`),
/// typed function references, extended-const and the component model are refused.
///
/// The engine's `wasmtime::Config` must enable no more than this, so that what passes the checks
/// is exactly what compiles.
pub fn wasm_features() -> WasmFeatures {
    module::ALLOWED_FEATURES
}

/// What [`check_wasm`] checks against: the capabilities offered and the size limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckConfig {
    /// Capabilities the host offers; every `requires_<capability>` export must name one.
    /// Defaults to [`interface::DEFAULT_CAPABILITIES`].
    pub capabilities: BTreeSet<String>,
    /// Size limits.
    pub limits: CheckLimits,
}

impl Default for CheckConfig {
    fn default() -> Self {
        Self {
            capabilities: interface::DEFAULT_CAPABILITIES
                .iter()
                .map(|c| (*c).to_owned())
                .collect(),
            limits: CheckLimits::default(),
        }
    }
}

impl CheckConfig {
    /// Adds capabilities to those offered.
    pub fn with_capabilities<I, S>(mut self, capabilities: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.capabilities
            .extend(capabilities.into_iter().map(Into::into));
        self
    }
}

/// Size limits a contract must stay within. The defaults are `cosmwasm-vm`'s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckLimits {
    /// Largest wasm file accepted, in bytes (default 3 MiB). Checked before parsing: a larger
    /// file is not looked at further.
    pub max_code_size: usize,
    /// Largest initial memory, in 64 KiB pages (default 512, i.e. 32 MiB).
    pub max_initial_memory_pages: u64,
    /// Most tables a contract may define (default 1).
    pub max_tables: usize,
    /// Largest table maximum, in entries (default 2,500; the largest on Juno mainnet in 2023
    /// was 485).
    pub max_table_elements: u64,
    /// Most imports (default 100).
    pub max_imports: usize,
    /// Most functions a contract may define (default 20,000).
    pub max_functions: usize,
    /// Most parameters of one function (default 100).
    pub max_function_params: usize,
    /// Most parameters of all functions together (default 10,000).
    pub max_total_function_params: usize,
    /// Most results of one function (default 1).
    pub max_function_results: usize,
    /// Most declared locals (parameters not counted) in one function. `None` (the default,
    /// as in `cosmwasm-vm`) for no limit: optimised rustc output often has functions with
    /// several hundred locals.
    pub max_function_locals: Option<u64>,
    /// Most declared locals of all functions together. `None` (the default, as in
    /// `cosmwasm-vm`) for no limit.
    pub max_total_function_locals: Option<u64>,
}

impl Default for CheckLimits {
    fn default() -> Self {
        Self {
            max_code_size: 3 * 1024 * 1024,
            max_initial_memory_pages: 512,
            max_tables: 1,
            max_table_elements: 2_500,
            max_imports: 100,
            max_functions: 20_000,
            max_function_params: 100,
            max_total_function_params: 10_000,
            max_function_results: 1,
            max_function_locals: None,
            max_total_function_locals: None,
        }
    }
}

/// What [`check_wasm`] found: facts about the contract, and every rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// SHA-256 of the wasm bytes (the code's checksum on chain); serialized as hex.
    pub checksum: Checksum,
    /// Size of the wasm in bytes.
    pub size: usize,
    /// The entry points of [`ENTRY_POINTS`] the contract exports as functions, in that order.
    pub entry_points: Vec<String>,
    /// The capabilities the contract requires (its `requires_*` exports).
    pub required_capabilities: BTreeSet<String>,
    /// Every import, as `module.name`.
    pub imports: Vec<String>,
    /// Every rule broken; empty if the contract is accepted.
    pub problems: Vec<CheckError>,
}

impl CheckReport {
    /// Whether the contract passed every check.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks a contract's wasm against the upload rules, collecting every problem.
///
/// If the file is larger than [`CheckLimits::max_code_size`] only that is reported (the limit
/// bounds the work an upload can cause). If it does not validate, the report has one
/// `invalid-wasm` problem, or one `wasm-feature` problem per refused feature it uses.
pub fn check_wasm(wasm: &[u8], config: &CheckConfig) -> CheckReport {
    let mut report = CheckReport {
        checksum: Checksum::generate(wasm),
        size: wasm.len(),
        entry_points: Vec::new(),
        required_capabilities: BTreeSet::new(),
        imports: Vec::new(),
        problems: Vec::new(),
    };
    let limits = &config.limits;
    if wasm.len() > limits.max_code_size {
        report.problems.push(CheckError::CodeSize {
            size: wasm.len(),
            limit: limits.max_code_size,
        });
        return report;
    }
    if let Err(problems) = module::validate_features(wasm) {
        report.problems = problems;
        return report;
    }
    let info = match ModuleInfo::parse(wasm) {
        Ok(info) => info,
        Err(error) => {
            report.problems.push(CheckError::InvalidWasm {
                message: error.to_string(),
            });
            return report;
        }
    };
    report.imports = info
        .imports
        .iter()
        .map(|i| format!("{}.{}", i.module, i.name))
        .collect();
    report.entry_points = ENTRY_POINTS
        .iter()
        .filter(|name| {
            info.export(name)
                .is_some_and(|e| e.kind == ExternalKind::Func)
        })
        .map(|name| (*name).to_owned())
        .collect();
    report.required_capabilities = info
        .exports
        .iter()
        .filter_map(|e| e.name.strip_prefix(REQUIRES_PREFIX))
        .map(str::to_owned)
        .collect();

    let problems = &mut report.problems;
    check_exports(&info, problems);
    check_interface_version(&info, problems);
    check_capabilities(&report.required_capabilities, config, problems);
    if let Some(Err(problem)) = info.migrate_version.map(migrate_version::parse) {
        problems.push(problem);
    }
    check_imports(&info, limits, problems);
    check_memories(&info, limits, problems);
    check_tables(&info, limits, problems);
    check_functions(&info, limits, problems);
    report
}

fn to_val_type(ty: WasmType) -> ValType {
    match ty {
        WasmType::I32 => ValType::I32,
        WasmType::I64 => ValType::I64,
    }
}

fn sig(params: &[ValType], results: &[ValType]) -> FuncSig {
    FuncSig {
        params: params.to_vec(),
        results: results.to_vec(),
    }
}

/// The signature the host calls a required export with, where it calls it.
fn required_export_signature(name: &str) -> Option<FuncSig> {
    match name {
        "allocate" => Some(sig(&[ValType::I32], &[ValType::I32])),
        "deallocate" => Some(sig(&[ValType::I32], &[])),
        _ => None,
    }
}

fn check_exports(info: &ModuleInfo<'_>, problems: &mut Vec<CheckError>) {
    match info.export("memory") {
        None => problems.push(CheckError::MissingExport {
            name: "memory".to_owned(),
            hint: "the host reads and writes arguments in the contract's memory; rustc exports \
                   it unless told not to"
                .to_owned(),
        }),
        Some(export) if export.kind != ExternalKind::Memory => {
            problems.push(CheckError::ExportKind {
                name: "memory".to_owned(),
                expected: "memory".to_owned(),
                found: kind_name(export.kind).to_owned(),
            });
        }
        Some(_) => {}
    }
    for name in REQUIRED_EXPORTS {
        let Some(export) = info.export(name) else {
            problems.push(CheckError::MissingExport {
                name: (*name).to_owned(),
                hint: "contracts built with cosmwasm-std export it automatically; is this a \
                       CosmWasm contract?"
                    .to_owned(),
            });
            continue;
        };
        if export.kind != ExternalKind::Func {
            problems.push(CheckError::ExportKind {
                name: (*name).to_owned(),
                expected: "function".to_owned(),
                found: kind_name(export.kind).to_owned(),
            });
            continue;
        }
        if let (Some(expected), Some(found)) = (
            required_export_signature(name),
            info.function_sig(export.index),
        ) {
            if &expected != found {
                problems.push(CheckError::ExportSignature {
                    name: (*name).to_owned(),
                    expected: expected.to_string(),
                    found: found.to_string(),
                });
            }
        }
    }
}

fn check_interface_version(info: &ModuleInfo<'_>, problems: &mut Vec<CheckError>) {
    let found: Vec<String> = info
        .exports
        .iter()
        .filter(|e| e.name.starts_with(INTERFACE_VERSION_PREFIX))
        .map(|e| e.name.to_owned())
        .collect();
    match found.as_slice() {
        [] => problems.push(CheckError::MissingInterfaceVersion),
        [one] if one == INTERFACE_VERSION_EXPORT => {}
        [one] => problems.push(CheckError::UnsupportedInterfaceVersion {
            found: one.clone(),
            expected: INTERFACE_VERSION_EXPORT.to_owned(),
            hint: interface_version_hint(one),
        }),
        _ => problems.push(CheckError::MultipleInterfaceVersions { found }),
    }
}

fn interface_version_hint(export: &str) -> String {
    let version = export
        .strip_prefix(INTERFACE_VERSION_PREFIX)
        .and_then(|v| v.parse::<u32>().ok());
    match version {
        Some(7) => "interface_version_7 comes from cosmwasm-std 1.x, which is too old; \
                    upgrade the contract to cosmwasm-std 2 or 3"
            .to_owned(),
        Some(v) if v < 7 => format!(
            "interface_version_{v} comes from a cosmwasm-std before 1.0, which is far too old; \
             upgrade the contract to cosmwasm-std 2 or 3"
        ),
        Some(v) => format!(
            "interface_version_{v} comes from a newer cosmwasm-std than this runtime supports"
        ),
        None => "that is not a known interface version".to_owned(),
    }
}

fn check_capabilities(
    required: &BTreeSet<String>,
    config: &CheckConfig,
    problems: &mut Vec<CheckError>,
) {
    let offered: Vec<String> = config.capabilities.iter().cloned().collect();
    for capability in required.difference(&config.capabilities) {
        problems.push(CheckError::UnavailableCapability {
            capability: capability.clone(),
            offered: offered.clone(),
        });
    }
}

/// Help for imports from toolchains that are not CosmWasm's.
fn foreign_import_hint(module: &str, name: &str) -> String {
    if module.starts_with("wasi") {
        " (a WASI import: build for wasm32-unknown-unknown, not wasm32-wasip1)".to_owned()
    } else if module.contains("wbindgen") || name.starts_with("__wbindgen") {
        " (a wasm-bindgen import: some dependency pulls in wasm-bindgen or js-sys, for \
         example getrandom with the \"js\" feature; contracts cannot use it)"
            .to_owned()
    } else if module != IMPORT_MODULE {
        format!(" (contracts may import only from module \"{IMPORT_MODULE}\")")
    } else {
        String::new()
    }
}

fn check_imports(info: &ModuleInfo<'_>, limits: &CheckLimits, problems: &mut Vec<CheckError>) {
    if info.imports.len() > limits.max_imports {
        problems.push(CheckError::ImportCount {
            count: info.imports.len(),
            limit: limits.max_imports,
        });
    }
    let provided: Vec<String> = interface::HOST_IMPORTS
        .iter()
        .map(|s| s.name.to_owned())
        .collect();
    for import in &info.imports {
        let TypeRef::Func(ty) = import.ty else {
            // A wildcard rather than `Func`: wasmparser 0.254 adds `FuncExact`.
            let kind = match import.ty {
                TypeRef::Table(_) => "table",
                TypeRef::Memory(_) => "memory",
                TypeRef::Global(_) => "global",
                TypeRef::Tag(_) => "tag",
                _ => "exact function",
            };
            problems.push(CheckError::NonFunctionImport {
                module: import.module.to_owned(),
                name: import.name.to_owned(),
                kind: kind.to_owned(),
            });
            continue;
        };
        let host = (import.module == IMPORT_MODULE)
            .then(|| interface::host_import(import.name))
            .flatten();
        let Some(host) = host else {
            problems.push(CheckError::UnknownImport {
                module: import.module.to_owned(),
                name: import.name.to_owned(),
                hint: foreign_import_hint(import.module, import.name),
                provided: provided.clone(),
            });
            continue;
        };
        let params: Vec<ValType> = host.params.iter().copied().map(to_val_type).collect();
        let results: Vec<ValType> = host.results.iter().copied().map(to_val_type).collect();
        let expected = sig(&params, &results);
        match info.func_type(ty) {
            Some(found) if *found == expected => {}
            found => problems.push(CheckError::ImportSignature {
                name: import.name.to_owned(),
                expected: expected.to_string(),
                found: found.map_or_else(|| "a non-function type".to_owned(), |f| f.to_string()),
            }),
        }
    }
}

fn check_memories(info: &ModuleInfo<'_>, limits: &CheckLimits, problems: &mut Vec<CheckError>) {
    let [memory] = info.memories.as_slice() else {
        problems.push(CheckError::MemoryCount {
            count: info.memories.len(),
        });
        return;
    };
    if memory.initial > limits.max_initial_memory_pages {
        problems.push(CheckError::MemoryInitial {
            initial: memory.initial,
            limit: limits.max_initial_memory_pages,
        });
    }
    if let Some(maximum) = memory.maximum {
        problems.push(CheckError::MemoryMaximum { maximum });
    }
}

fn check_tables(info: &ModuleInfo<'_>, limits: &CheckLimits, problems: &mut Vec<CheckError>) {
    if info.tables.len() > limits.max_tables {
        problems.push(CheckError::TableCount {
            count: info.tables.len(),
            limit: limits.max_tables,
        });
    }
    for table in &info.tables {
        match table.maximum {
            None => problems.push(CheckError::TableUnbounded),
            Some(maximum) => {
                let size = maximum.max(table.initial);
                if size > limits.max_table_elements {
                    problems.push(CheckError::TableSize {
                        size,
                        limit: limits.max_table_elements,
                    });
                }
            }
        }
    }
}

/// The worst offender among `(function index, value)` pairs above `limit`, and how many others
/// there are.
fn worst<T: Ord + Copy>(
    values: impl Iterator<Item = (u32, T)>,
    limit: T,
) -> Option<(u32, T, usize)> {
    let mut offenders: Vec<(u32, T)> = values.filter(|(_, v)| *v > limit).collect();
    offenders.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let (index, value) = *offenders.first()?;
    Some((index, value, offenders.len() - 1))
}

fn check_functions(info: &ModuleInfo<'_>, limits: &CheckLimits, problems: &mut Vec<CheckError>) {
    let defined = info.defined_functions();
    if defined > limits.max_functions {
        problems.push(CheckError::FunctionCount {
            count: defined,
            limit: limits.max_functions,
        });
    }

    let params = info.function_sigs().map(|(i, s)| (i, s.params.len()));
    if let Some((index, count, others)) = worst(params, limits.max_function_params) {
        problems.push(CheckError::FunctionParams {
            function: info.function_label(index),
            count,
            limit: limits.max_function_params,
            others,
        });
    }
    let total: usize = info.function_sigs().map(|(_, s)| s.params.len()).sum();
    if total > limits.max_total_function_params {
        problems.push(CheckError::TotalFunctionParams {
            total,
            limit: limits.max_total_function_params,
        });
    }

    let results = info.function_sigs().map(|(i, s)| (i, s.results.len()));
    if let Some((index, count, others)) = worst(results, limits.max_function_results) {
        problems.push(CheckError::FunctionResults {
            function: info.function_label(index),
            count,
            limit: limits.max_function_results,
            others,
        });
    }

    // Code entries are the defined functions, which follow the imported ones.
    let first_defined = u32::try_from(info.imported_functions).unwrap_or(u32::MAX);
    let locals = || (first_defined..).zip(info.locals.iter().copied());
    if let Some(limit) = limits.max_function_locals {
        if let Some((index, count, others)) = worst(locals(), limit) {
            problems.push(CheckError::FunctionLocals {
                function: info.function_label(index),
                count,
                limit,
                others,
            });
        }
    }
    if let Some(limit) = limits.max_total_function_locals {
        let total: u64 = locals().map(|(_, n)| n).sum();
        if total > limit {
            problems.push(CheckError::TotalFunctionLocals { total, limit });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMORY: &str = r#"(memory (export "memory") 17)"#;
    const ALLOCATE: &str = r#"(func (export "allocate") (param i32) (result i32) local.get 0)"#;
    const DEALLOCATE: &str = r#"(func (export "deallocate") (param i32))"#;
    const VERSION: &str = r#"(func (export "interface_version_8"))"#;
    const INSTANTIATE: &str = r#"(func (export "instantiate") (param i32 i32 i32) (result i32)
        i32.const 0)"#;

    /// `extra` (first, so it may hold imports), then the required parts of a contract.
    fn contract(extra: &[&str]) -> Vec<u8> {
        module(&[extra, &[MEMORY, ALLOCATE, DEALLOCATE, VERSION]].concat())
    }

    fn module(parts: &[&str]) -> Vec<u8> {
        let text = format!("(module {})", parts.join("\n"));
        wat::parse_str(&text).unwrap_or_else(|e| panic!("bad test module {text}: {e}"))
    }

    fn check(wasm: &[u8]) -> CheckReport {
        check_wasm(wasm, &CheckConfig::default())
    }

    fn rules(report: &CheckReport) -> Vec<&'static str> {
        report.problems.iter().map(CheckError::rule).collect()
    }

    /// Asserts the report has exactly the given rules and returns the messages.
    fn assert_rules(report: &CheckReport, expected: &[&str]) -> Vec<String> {
        assert_eq!(rules(report), expected, "problems: {:#?}", report.problems);
        report.problems.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn minimal_contract_passes() {
        let wasm = contract(&[
            r#"(import "env" "db_read" (func (param i32) (result i32)))"#,
            r#"(import "env" "debug" (func (param i32)))"#,
            r#"(table 1 1 funcref)"#,
            INSTANTIATE,
            r#"(func (export "query") (param i32 i32) (result i32) i32.const 0)"#,
            r#"(func (export "requires_iterator"))"#,
        ]);
        let report = check(&wasm);
        assert!(report.is_ok(), "{:#?}", report.problems);
        assert_eq!(report.entry_points, ["instantiate", "query"]);
        assert_eq!(
            report.required_capabilities,
            BTreeSet::from(["iterator".to_owned()])
        );
        assert_eq!(report.imports, ["env.db_read", "env.debug"]);
        assert_eq!(report.size, wasm.len());
        assert_eq!(report.checksum, Checksum::generate(&wasm));
    }

    #[test]
    fn every_host_import_with_its_signature_passes() {
        let imports: Vec<String> = interface::HOST_IMPORTS
            .iter()
            .map(|s| {
                let types = |ts: &[WasmType]| {
                    ts.iter()
                        .map(|t| match t {
                            WasmType::I32 => " i32",
                            WasmType::I64 => " i64",
                        })
                        .collect::<String>()
                };
                format!(
                    r#"(import "env" "{}" (func (param{}) (result{})))"#,
                    s.name,
                    types(s.params),
                    types(s.results)
                )
            })
            .collect();
        let imports: Vec<&str> = imports.iter().map(String::as_str).collect();
        let report = check(&contract(&imports));
        assert!(report.is_ok(), "{:#?}", report.problems);
        assert_eq!(report.imports.len(), interface::HOST_IMPORTS.len());
    }

    #[test]
    fn bulk_memory_passes() {
        let report = check(&contract(&[
            r#"(func (export "execute") (param i32 i32 i32) (result i32)
            (memory.copy (i32.const 0) (i32.const 16) (i32.const 8))
            (memory.fill (i32.const 0) (i32.const 0) (i32.const 8))
            i32.const 0)"#,
        ]));
        assert!(report.is_ok(), "{:#?}", report.problems);
        assert_eq!(report.entry_points, ["execute"]);
    }

    #[test]
    fn code_size() {
        let wasm = contract(&[]);
        let mut config = CheckConfig::default();
        config.limits.max_code_size = wasm.len() - 1;
        let report = check_wasm(&wasm, &config);
        let messages = assert_rules(&report, &["code-size"]);
        assert!(messages[0].contains(&format!("{} bytes", wasm.len())));
    }

    #[test]
    fn invalid_wasm() {
        let messages = assert_rules(&check(b"hello"), &["invalid-wasm"]);
        assert!(messages[0].contains("\\0asm"), "{}", messages[0]);
        assert!(
            messages[0].contains("but with 68 65 6c 6c"),
            "{}",
            messages[0]
        );
        assert!(!messages[0].contains('\n'), "{}", messages[0]);
        let messages = assert_rules(&check(b""), &["invalid-wasm"]);
        assert!(messages[0].contains("it is empty"), "{}", messages[0]);

        let messages = assert_rules(&check(&[0x1f, 0x8b, 8, 0]), &["invalid-wasm"]);
        assert!(messages[0].contains("gzip"), "{}", messages[0]);

        // Well-formed but ill-typed.
        let wasm = contract(&[r#"(func (result i32) i64.const 1)"#]);
        let messages = assert_rules(&check(&wasm), &["invalid-wasm"]);
        assert!(messages[0].contains("type mismatch"), "{}", messages[0]);

        let truncated = &wasm[..wasm.len() - 3];
        assert_rules(&check(truncated), &["invalid-wasm"]);
    }

    #[test]
    fn simd_is_a_refused_feature() {
        let wasm = contract(&[r#"(func (drop (v128.const i64x2 0 0)))"#]);
        let messages = assert_rules(&check(&wasm), &["wasm-feature"]);
        assert!(messages[0].starts_with("SIMD is not allowed: contracts must be deterministic"));
    }

    #[test]
    fn every_refused_feature_is_named() {
        let wasm = contract(&[
            r#"(global i32 (i32.add (i32.const 1) (i32.const 2)))"#,
            r#"(func $f return_call $f)"#,
        ]);
        let messages = assert_rules(&check(&wasm), &["wasm-feature", "wasm-feature"]);
        assert!(messages[0].starts_with("tail calls"), "{messages:?}");
        assert!(messages[1].starts_with("extended constant"), "{messages:?}");
    }

    #[test]
    fn threads_and_externref_are_refused() {
        let wasm = module(&[
            r#"(memory (export "memory") 1 1 shared)"#,
            ALLOCATE,
            DEALLOCATE,
            VERSION,
        ]);
        let messages = assert_rules(&check(&wasm), &["wasm-feature"]);
        assert!(messages[0].starts_with("threads"), "{messages:?}");

        let wasm = contract(&[r#"(table 1 1 externref)"#]);
        let messages = assert_rules(&check(&wasm), &["wasm-feature"]);
        assert!(messages[0].starts_with("externref"), "{messages:?}");
    }

    #[test]
    fn missing_exports() {
        let report = check(&module(&["(memory 1)"]));
        let messages = assert_rules(
            &report,
            &[
                "missing-export",
                "missing-export",
                "missing-export",
                "interface-version",
            ],
        );
        assert!(messages[0].starts_with(r#"missing required export "memory""#));
        assert_eq!(
            messages[1],
            "missing required export \"allocate\": contracts built with cosmwasm-std export it \
             automatically; is this a CosmWasm contract?"
        );
        assert!(messages[2].starts_with(r#"missing required export "deallocate""#));
        assert!(messages[3].contains("no interface_version_* marker"));
    }

    #[test]
    fn export_kind_and_signature() {
        let wasm = module(&[
            r#"(memory 1)"#,
            r#"(global (export "memory") i32 (i32.const 0))"#,
            r#"(func (export "allocate") (param i64) (result i32) i32.const 0)"#,
            r#"(global (export "deallocate") i32 (i32.const 0))"#,
            VERSION,
        ]);
        let messages = assert_rules(
            &check(&wasm),
            &["export-kind", "export-signature", "export-kind"],
        );
        assert_eq!(
            messages[0],
            r#"export "memory" is a global, but it must be a memory"#
        );
        assert_eq!(
            messages[1],
            r#"export "allocate" has signature (i64) -> i32, but the host calls it as (i32) -> i32"#
        );
        assert_eq!(
            messages[2],
            r#"export "deallocate" is a global, but it must be a function"#
        );
    }

    #[test]
    fn interface_version() {
        let old = module(&[
            MEMORY,
            ALLOCATE,
            DEALLOCATE,
            r#"(func (export "interface_version_7"))"#,
        ]);
        let messages = assert_rules(&check(&old), &["interface-version"]);
        assert!(
            messages[0].contains("cosmwasm-std 1.x, which is too old"),
            "{messages:?}"
        );

        let newer = module(&[
            MEMORY,
            ALLOCATE,
            DEALLOCATE,
            r#"(func (export "interface_version_9"))"#,
        ]);
        let messages = assert_rules(&check(&newer), &["interface-version"]);
        assert!(messages[0].contains("newer cosmwasm-std"), "{messages:?}");

        let two = contract(&[r#"(func (export "interface_version_7"))"#]);
        let report = check(&two);
        assert_rules(&report, &["interface-version"]);
        assert_eq!(
            report.problems[0],
            CheckError::MultipleInterfaceVersions {
                found: vec![
                    "interface_version_7".to_owned(),
                    "interface_version_8".to_owned()
                ]
            }
        );
    }

    #[test]
    fn unavailable_capabilities_are_all_reported() {
        let wasm = contract(&[
            r#"(func (export "requires_stargate"))"#,
            r#"(func (export "requires_ibc2"))"#,
            r#"(func (export "requires_staking"))"#,
            r#"(func (export "requires_iterator"))"#,
        ]);
        let report = check(&wasm);
        // `stargate` and `staking` are offered (the chain routes their messages and queries);
        // IBC is not.
        let messages = assert_rules(&report, &["unavailable-capability"]);
        assert!(messages[0].starts_with(
            r#"the contract needs capability "ibc2", which this runtime does not offer (offered: consign, cosmwasm_1_1"#
        ), "{messages:?}");
        assert!(messages[0].contains("staking, stargate"), "{messages:?}");
        assert_eq!(report.required_capabilities.len(), 4);

        let config = CheckConfig::default().with_capabilities(["ibc2"]);
        let report = check_wasm(&wasm, &config);
        assert_rules(&report, &[]);
    }

    #[test]
    fn unknown_imports_are_all_reported() {
        let wasm = contract(&[
            r#"(import "env" "consign_teleport" (func (param i32)))"#,
            r#"(import "env" "db_read" (func (param i32) (result i32)))"#,
            r#"(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))"#,
            r#"(import "__wbindgen_placeholder__" "__wbindgen_describe" (func (param i32)))"#,
        ]);
        let messages = assert_rules(
            &check(&wasm),
            &["unknown-import", "unknown-import", "unknown-import"],
        );
        assert!(
            messages[0].starts_with(
                "the contract imports env.consign_teleport, which this runtime does not provide \
             (it provides: db_read, db_write,"
            ),
            "{messages:?}"
        );
        assert!(messages[1].contains("wasm32-wasip1"), "{messages:?}");
        assert!(messages[2].contains("wasm-bindgen"), "{messages:?}");
    }

    #[test]
    fn import_signature() {
        let wasm = contract(&[
            r#"(import "env" "db_read" (func (param i32 i32) (result i32)))"#,
            r#"(import "env" "secp256k1_recover_pubkey" (func (param i32 i32 i32) (result i32)))"#,
        ]);
        let messages = assert_rules(&check(&wasm), &["import-signature", "import-signature"]);
        assert_eq!(
            messages[0],
            "the contract imports env.db_read with signature (i32, i32) -> i32, but this \
             runtime provides it as (i32) -> i32"
        );
        assert!(
            messages[1].ends_with("(i32, i32, i32) -> i64"),
            "{messages:?}"
        );
    }

    #[test]
    fn non_function_imports() {
        let wasm = module(&[
            r#"(import "env" "memory" (memory 1))"#,
            r#"(import "env" "g" (global i32))"#,
            r#"(export "memory" (memory 0))"#,
            ALLOCATE,
            DEALLOCATE,
            VERSION,
        ]);
        let messages = assert_rules(&check(&wasm), &["import-kind", "import-kind", "memory"]);
        assert!(messages[0].starts_with("the contract imports a memory (env.memory)"));
        assert!(messages[1].starts_with("the contract imports a global (env.g)"));
        assert_eq!(
            messages[2],
            "the contract defines 0 memories, but it must define exactly one"
        );
    }

    #[test]
    fn import_count() {
        let wasm = contract(&[
            r#"(import "env" "db_read" (func (param i32) (result i32)))"#,
            r#"(import "env" "debug" (func (param i32)))"#,
        ]);
        let mut config = CheckConfig::default();
        config.limits.max_imports = 1;
        let messages = assert_rules(&check_wasm(&wasm, &config), &["import-count"]);
        assert_eq!(
            messages[0],
            "the contract has 2 imports, more than the limit of 1"
        );
    }

    #[test]
    fn memory() {
        let exports = [ALLOCATE, DEALLOCATE, VERSION];
        let too_big = module(&[&[r#"(memory (export "memory") 513)"#][..], &exports].concat());
        let messages = assert_rules(&check(&too_big), &["memory"]);
        assert!(messages[0].contains("513 pages"), "{messages:?}");

        let bounded = module(&[&[r#"(memory (export "memory") 17 100)"#][..], &exports].concat());
        let messages = assert_rules(&check(&bounded), &["memory"]);
        assert!(messages[0].contains("maximum of 100 pages"), "{messages:?}");

        let two = module(&[&[MEMORY, "(memory 1)"][..], &exports].concat());
        let messages = assert_rules(&check(&two), &["wasm-feature"]);
        assert!(messages[0].starts_with("multiple memories"), "{messages:?}");
    }

    #[test]
    fn table() {
        let report = check(&contract(&["(table 1 funcref)"]));
        let messages = assert_rules(&report, &["table"]);
        assert!(messages[0].contains("no maximum"), "{messages:?}");

        let report = check(&contract(&["(table 10 3000 funcref)"]));
        let messages = assert_rules(&report, &["table"]);
        assert!(messages[0].contains("3000 entries"), "{messages:?}");

        let report = check(&contract(&["(table 1 1 funcref)", "(table 1 1 funcref)"]));
        let messages = assert_rules(&report, &["table"]);
        assert_eq!(
            messages[0],
            "the contract has 2 tables, more than the limit of 1"
        );
    }

    #[test]
    fn function_count() {
        let mut config = CheckConfig::default();
        config.limits.max_functions = 3;
        let report = check_wasm(&contract(&["(func)"]), &config);
        let messages = assert_rules(&report, &["function-count"]);
        assert_eq!(
            messages[0],
            "the contract defines 4 functions, more than the limit of 3"
        );
    }

    #[test]
    fn function_params() {
        let params = " i32".repeat(101);
        let wide = format!(r#"(func (export "wide") (param{params}))"#);
        let wide2 = format!("(func (param{params} i32))");
        let report = check(&contract(&[&wide, &wide2]));
        let messages = assert_rules(&report, &["function-params"]);
        assert_eq!(
            messages[0],
            "function #1 takes 102 parameters, more than the limit of 100 \
             (and 1 more function breaks it)"
        );

        let mut config = CheckConfig::default();
        config.limits.max_total_function_params = 3;
        let report = check_wasm(&contract(&[INSTANTIATE]), &config);
        let messages = assert_rules(&report, &["function-params"]);
        assert_eq!(
            messages[0],
            "the contract's functions take 5 parameters in all, more than the limit of 3"
        );
    }

    #[test]
    fn function_results() {
        let report = check(&contract(&[
            r#"(func (export "pair") (result i32 i32) i32.const 1 i32.const 2)"#,
        ]));
        let messages = assert_rules(&report, &["function-results"]);
        assert_eq!(
            messages[0],
            r#"function "pair" returns 2 values, more than the limit of 1"#
        );
    }

    #[test]
    fn function_locals() {
        let wasm = contract(&[
            "(func $many (local i32 i32 i32) (local i64))",
            "(func (local i32))",
        ]);
        assert!(check(&wasm).is_ok(), "no locals limit by default");

        let mut config = CheckConfig::default();
        config.limits.max_function_locals = Some(2);
        config.limits.max_total_function_locals = Some(4);
        let messages = assert_rules(
            &check_wasm(&wasm, &config),
            &["function-locals", "function-locals"],
        );
        assert_eq!(
            messages[0],
            "function #0 (many) declares 4 locals, more than the limit of 2"
        );
        assert_eq!(
            messages[1],
            "the contract's functions declare 5 locals in all, more than the limit of 4"
        );
    }

    #[test]
    fn every_problem_is_collected() {
        let wasm = module(&[
            r#"(import "env" "consign_teleport" (func (param i32)))"#,
            r#"(import "env" "db_write" (func (param i32)))"#,
            r#"(memory (export "memory") 600 700)"#,
            r#"(table 1 funcref)"#,
            r#"(func (export "interface_version_7"))"#,
            r#"(func (export "requires_ibc2"))"#,
        ]);
        let report = check(&wasm);
        assert_rules(
            &report,
            &[
                "missing-export",
                "missing-export",
                "interface-version",
                "unavailable-capability",
                "unknown-import",
                "import-signature",
                "memory",
                "memory",
                "table",
            ],
        );
    }

    #[test]
    fn problems_serialize_as_rule_and_message() {
        let report = check(&module(&["(memory 1)"]));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["problems"][0]["rule"], "missing-export");
        assert!(json["problems"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("missing required export"));
        assert_eq!(json["checksum"], report.checksum.to_hex());
    }

    #[test]
    fn allowed_features() {
        let features = wasm_features();
        assert!(features.bulk_memory());
        assert!(features.reference_types());
        assert!(features.floats());
        assert!(!features.simd());
        assert!(!features.threads());
        assert!(!features.gc_types());
        assert!(!features.exceptions());
    }
}

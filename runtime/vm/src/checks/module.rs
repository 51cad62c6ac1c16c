//! Validation with the allowed feature set, and a summary of the parts of a module the rules
//! look at.

use std::collections::HashMap;
use std::fmt;

use wasmtime::wasmparser::{
    BinaryReader, BinaryReaderError, CompositeInnerType, Export, ExternalKind, KnownCustom,
    MemoryType, Name, Parser, Payload, TableType, TypeRef, ValType, Validator, WasmFeatures,
};

use super::CheckError;

/// The wasm features a contract may use; see [`super::wasm_features`].
pub(super) const ALLOWED_FEATURES: WasmFeatures = WasmFeatures::MUTABLE_GLOBAL
    .union(WasmFeatures::SATURATING_FLOAT_TO_INT)
    .union(WasmFeatures::SIGN_EXTENSION)
    .union(WasmFeatures::MULTI_VALUE)
    .union(WasmFeatures::FLOATS)
    .union(WasmFeatures::REFERENCE_TYPES)
    .union(WasmFeatures::BULK_MEMORY);

/// Features that are refused, with the words used to explain it. Validation is retried with
/// these turned on to tell "uses a refused feature" apart from "is broken".
const REFUSED_FEATURES: &[(WasmFeatures, &str, &str)] = &[
    (
        WasmFeatures::SIMD,
        "SIMD",
        "contracts must be deterministic and portable; build without `-C target-feature=+simd128`",
    ),
    (
        WasmFeatures::RELAXED_SIMD,
        "relaxed SIMD",
        "its results differ between machines, and contracts must be deterministic",
    ),
    (
        WasmFeatures::THREADS,
        "threads (shared memory and atomics)",
        "contracts run single-threaded; build without `-C target-feature=+atomics`",
    ),
    (
        WasmFeatures::SHARED_EVERYTHING_THREADS,
        "shared-everything threads",
        "contracts run single-threaded",
    ),
    (
        WasmFeatures::EXCEPTIONS,
        "exception handling",
        "a contract must abort on panic; build with `panic = \"abort\"`",
    ),
    (
        WasmFeatures::LEGACY_EXCEPTIONS,
        "legacy exception handling",
        "a contract must abort on panic; build with `panic = \"abort\"`",
    ),
    (
        WasmFeatures::TAIL_CALL,
        "tail calls",
        "the runtime does not enable them; build without `-C target-feature=+tail-call`",
    ),
    (
        WasmFeatures::MEMORY64,
        "64-bit memory (memory64)",
        "contracts use 32-bit memory; build for wasm32-unknown-unknown",
    ),
    (
        WasmFeatures::MULTI_MEMORY,
        "multiple memories",
        "a contract has exactly one memory",
    ),
    (
        WasmFeatures::EXTENDED_CONST,
        "extended constant expressions",
        "the runtime does not enable them; build without `-C target-feature=+extended-const`",
    ),
    (
        WasmFeatures::GC_TYPES,
        "externref and other garbage-collected reference types",
        "contracts may use only funcref tables",
    ),
    (
        WasmFeatures::GC,
        "garbage collection (wasm GC)",
        "the runtime has no garbage collector",
    ),
    (
        WasmFeatures::FUNCTION_REFERENCES,
        "typed function references",
        "the runtime does not enable them",
    ),
    (
        WasmFeatures::COMPONENT_MODEL,
        "the component model",
        "a contract is a core wasm module, not a component; build for wasm32-unknown-unknown",
    ),
    (
        WasmFeatures::CUSTOM_PAGE_SIZES,
        "custom page sizes",
        "memory pages are 64 KiB",
    ),
    (
        WasmFeatures::MEMORY_CONTROL,
        "memory control",
        "the runtime does not enable it",
    ),
    (
        WasmFeatures::WIDE_ARITHMETIC,
        "wide arithmetic",
        "the runtime does not enable it",
    ),
    (
        WasmFeatures::STACK_SWITCHING,
        "stack switching",
        "the runtime does not enable it",
    ),
];

/// Index of SIMD in [`REFUSED_FEATURES`].
const SIMD_INDEX: usize = 0;

fn refused(index: usize) -> CheckError {
    let (_, feature, reason) = REFUSED_FEATURES[index];
    CheckError::WasmFeature {
        feature: feature.to_owned(),
        reason: reason.to_owned(),
    }
}

fn validate(wasm: &[u8], features: WasmFeatures) -> Result<(), BinaryReaderError> {
    Validator::new_with_features(features)
        .validate_all(wasm)
        .map(drop)
}

/// Validates `wasm` with [`ALLOWED_FEATURES`]. On failure, returns one
/// [`CheckError::WasmFeature`] per refused feature the module needs if turning those on makes
/// it valid, and a single [`CheckError::InvalidWasm`] otherwise.
pub(super) fn validate_features(wasm: &[u8]) -> Result<(), Vec<CheckError>> {
    let Err(error) = validate(wasm, ALLOWED_FEATURES) else {
        return Ok(());
    };
    if error.message().contains("SIMD opcode") {
        // Without wasmparser's `simd` cargo feature SIMD opcodes do not even parse.
        return Err(vec![refused(SIMD_INDEX)]);
    }
    let all_refused = REFUSED_FEATURES
        .iter()
        .fold(WasmFeatures::empty(), |acc, (flag, ..)| acc | *flag);
    let everything = ALLOWED_FEATURES | all_refused;
    if validate(wasm, everything).is_err() {
        return Err(vec![invalid_wasm(wasm, &error)]);
    }
    // Valid with every feature on: blame each refused feature without which it is not.
    let needed: Vec<CheckError> = REFUSED_FEATURES
        .iter()
        .enumerate()
        .filter(|(_, (flag, ..))| validate(wasm, everything.difference(*flag)).is_err())
        .map(|(index, _)| refused(index))
        .collect();
    if needed.is_empty() {
        // Needs one of several refused features, none of them alone: report the validator.
        return Err(vec![CheckError::WasmFeature {
            feature: "a WebAssembly proposal outside the allowed set".to_owned(),
            reason: format!("the validator says: {error}"),
        }]);
    }
    Err(needed)
}

fn invalid_wasm(wasm: &[u8], error: &BinaryReaderError) -> CheckError {
    let message = if wasm.starts_with(&[0x1f, 0x8b]) {
        "the file is gzip-compressed; decompress it first".to_owned()
    } else if !wasm.starts_with(b"\0asm") {
        // wasmparser's own message lists both headers as multi-line Debug arrays.
        let start: Vec<String> = wasm.iter().take(4).map(|b| format!("{b:02x}")).collect();
        format!(
            "the file does not start with the wasm magic bytes 00 61 73 6d (\\0asm) but with {}; \
             is it a compiled contract (target/wasm32-unknown-unknown/…/*.wasm)?",
            if start.is_empty() {
                "nothing (it is empty)".to_owned()
            } else {
                start.join(" ")
            }
        )
    } else {
        one_line(&error.to_string())
    };
    CheckError::InvalidWasm { message }
}

/// A validator message on one line: any Debug-formatted value in it spread over lines is
/// joined, each run of whitespace becoming one space.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One import.
#[derive(Debug, Clone, Copy)]
pub(super) struct Import<'a> {
    pub(super) module: &'a str,
    pub(super) name: &'a str,
    pub(super) ty: TypeRef,
}

/// Reads the import section in its one-import-per-entry encoding, the only one the allowed
/// features permit. (Read by hand rather than through `ImportSectionReader`, whose item type
/// changed in wasmparser 0.240 with the compact-imports proposal: this works with 0.239 and
/// with the 0.254 wasmtime 48 uses.)
fn read_imports(
    wasm: &[u8],
    range: std::ops::Range<usize>,
) -> Result<Vec<Import<'_>>, BinaryReaderError> {
    let bytes = wasm.get(range.clone()).unwrap_or_default();
    let mut reader = BinaryReader::new(bytes, range.start);
    let count = reader.read_var_u32()?;
    let mut imports = Vec::new();
    for _ in 0..count {
        imports.push(Import {
            module: reader.read_string()?,
            name: reader.read_string()?,
            ty: reader.read()?,
        });
    }
    Ok(imports)
}

/// A function signature, displayed as `(i32, i32) -> i32`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FuncSig {
    pub(super) params: Vec<ValType>,
    pub(super) results: Vec<ValType>,
}

impl fmt::Display for FuncSig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list(f: &mut fmt::Formatter<'_>, types: &[ValType]) -> fmt::Result {
            f.write_str("(")?;
            for (i, ty) in types.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{ty}")?;
            }
            f.write_str(")")
        }
        list(f, &self.params)?;
        match self.results.as_slice() {
            [] => Ok(()),
            [one] => write!(f, " -> {one}"),
            many => {
                f.write_str(" -> ")?;
                list(f, many)
            }
        }
    }
}

/// What the rules need to know about a (valid) module.
#[derive(Debug, Default)]
pub(super) struct ModuleInfo<'a> {
    /// Every type in the type section; `None` for non-function types.
    types: Vec<Option<FuncSig>>,
    /// Every import, in order.
    pub(super) imports: Vec<Import<'a>>,
    /// The type index of every function: imported ones first, then defined ones.
    functions: Vec<u32>,
    /// How many of `functions` are imported.
    pub(super) imported_functions: usize,
    /// Defined tables.
    pub(super) tables: Vec<TableType>,
    /// Defined memories.
    pub(super) memories: Vec<MemoryType>,
    /// Every export, in order.
    pub(super) exports: Vec<Export<'a>>,
    /// Declared locals of every defined function, in order.
    pub(super) locals: Vec<u64>,
    /// Function names from the `name` custom section, if present.
    names: HashMap<u32, &'a str>,
    /// The `cw_migrate_version` custom section's bytes, if present.
    pub(super) migrate_version: Option<&'a [u8]>,
}

impl<'a> ModuleInfo<'a> {
    /// Reads the summary from a module that has already been validated.
    pub(super) fn parse(wasm: &'a [u8]) -> Result<Self, BinaryReaderError> {
        let mut info = ModuleInfo::default();
        for payload in Parser::new(0).parse_all(wasm) {
            match payload? {
                Payload::TypeSection(reader) => {
                    for group in reader {
                        for sub_type in group?.into_types() {
                            info.types.push(match &sub_type.composite_type.inner {
                                CompositeInnerType::Func(ty) => Some(FuncSig {
                                    params: ty.params().to_vec(),
                                    results: ty.results().to_vec(),
                                }),
                                _ => None,
                            });
                        }
                    }
                }
                Payload::ImportSection(reader) => {
                    for import in read_imports(wasm, reader.range())? {
                        if let TypeRef::Func(ty) = import.ty {
                            info.functions.push(ty);
                            info.imported_functions += 1;
                        }
                        info.imports.push(import);
                    }
                }
                Payload::FunctionSection(reader) => {
                    for ty in reader {
                        info.functions.push(ty?);
                    }
                }
                Payload::TableSection(reader) => {
                    for table in reader {
                        info.tables.push(table?.ty);
                    }
                }
                Payload::MemorySection(reader) => {
                    for memory in reader {
                        info.memories.push(memory?);
                    }
                }
                Payload::ExportSection(reader) => {
                    for export in reader {
                        info.exports.push(export?);
                    }
                }
                Payload::CodeSectionEntry(body) => {
                    let mut locals = 0u64;
                    for declaration in body.get_locals_reader()? {
                        locals += u64::from(declaration?.0);
                    }
                    info.locals.push(locals);
                }
                Payload::CustomSection(section) => {
                    if section.name() == super::migrate_version::SECTION {
                        info.migrate_version = Some(section.data());
                    } else if let KnownCustom::Name(reader) = section.as_known() {
                        info.read_names(reader);
                    }
                }
                _ => {}
            }
        }
        Ok(info)
    }

    /// Debug names only improve messages: a malformed name section is ignored.
    fn read_names(&mut self, reader: wasmtime::wasmparser::NameSectionReader<'a>) {
        for name in reader.into_iter().flatten() {
            if let Name::Function(map) = name {
                for naming in map.into_iter().flatten() {
                    self.names.insert(naming.index, naming.name);
                }
            }
        }
    }

    /// The signature of type `index`, if it is a function type.
    pub(super) fn func_type(&self, index: u32) -> Option<&FuncSig> {
        self.types
            .get(usize::try_from(index).ok()?)
            .and_then(Option::as_ref)
    }

    /// The signature of function `index` (in the function index space).
    pub(super) fn function_sig(&self, index: u32) -> Option<&FuncSig> {
        let ty = *self.functions.get(usize::try_from(index).ok()?)?;
        self.func_type(ty)
    }

    /// Every function's signature with its function index, imported ones first.
    pub(super) fn function_sigs(&self) -> impl Iterator<Item = (u32, &FuncSig)> + '_ {
        (0u32..)
            .zip(&self.functions)
            .filter_map(|(index, ty)| Some((index, self.func_type(*ty)?)))
    }

    /// Number of functions the module defines (not imports).
    pub(super) fn defined_functions(&self) -> usize {
        self.functions.len() - self.imported_functions
    }

    /// A name for function `index` that a person can find: its export name, its debug name,
    /// or `#index`.
    pub(super) fn function_label(&self, index: u32) -> String {
        if let Some(export) = self
            .exports
            .iter()
            .find(|e| e.kind == ExternalKind::Func && e.index == index)
        {
            return format!("\"{}\"", export.name);
        }
        match self.names.get(&index) {
            Some(name) => format!("#{index} ({name})"),
            None => format!("#{index}"),
        }
    }

    /// The export called `name`.
    pub(super) fn export(&self, name: &str) -> Option<&Export<'a>> {
        self.exports.iter().find(|e| e.name == name)
    }
}

/// A wasm item kind, for messages.
pub(super) fn kind_name(kind: ExternalKind) -> &'static str {
    // A wildcard rather than `Func`: wasmparser 0.254 adds `FuncExact`.
    match kind {
        ExternalKind::Table => "table",
        ExternalKind::Memory => "memory",
        ExternalKind::Global => "global",
        ExternalKind::Tag => "tag",
        _ => "function",
    }
}

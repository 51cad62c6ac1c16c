//! The on-disk cache of compiled modules.
//!
//! Compiling a contract takes tens of milliseconds; loading its compiled form takes a fraction
//! of that. Compiled modules are kept under `<dir>/modules/wasmtime-<version>/<checksum>.module`,
//! each behind a header that names the format, the wasmtime version, the engine's settings and
//! the SHA-256 of the payload. An entry from another wasmtime version, another engine
//! configuration, or damaged on disk fails that header check and is recompiled from the wasm —
//! never handed to wasmtime's (unsafe) deserializer.

use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use consign_util::fs::AtomicWrite;
use cosmwasm_std::Checksum;
use sha2::{Digest, Sha256};
use wasmtime::{Engine, Module};

use crate::errors::{VmError, VmResult};

const MAGIC: &[u8; 16] = b"consign-module\n\0";
const FORMAT_VERSION: u32 = 1;
/// The wasmtime version this crate pins; entries are written into a folder named for it.
pub(crate) const WASMTIME_VERSION: &str = "48.0.8";

/// A fingerprint of every engine setting that affects compiled code.
fn engine_fingerprint(engine: &Engine) -> u64 {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.finish()
}

fn header(engine: &Engine, checksum: &Checksum, payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(128);
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    let version = WASMTIME_VERSION.as_bytes();
    h.push(u8::try_from(version.len()).unwrap_or(u8::MAX));
    h.extend_from_slice(version);
    h.extend_from_slice(&engine_fingerprint(engine).to_le_bytes());
    h.extend_from_slice(checksum.as_slice());
    h.extend_from_slice(&Sha256::digest(payload));
    h.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    h
}

/// The folder holding this wasmtime version's modules.
pub(crate) fn modules_dir(base: &Path) -> PathBuf {
    base.join("modules")
        .join(format!("wasmtime-{WASMTIME_VERSION}"))
}

fn module_path(base: &Path, checksum: &Checksum) -> PathBuf {
    modules_dir(base).join(format!("{}.module", checksum.to_hex()))
}

/// Writes `bytes` to `path` atomically and durably: a reader, or a restart after a crash, sees
/// the old file or the whole new one (`consign_util::fs`: a uniquely named temporary file,
/// synced, renamed, the folder synced).
pub(crate) fn write_atomic(path: &Path, bytes: &[&[u8]]) -> VmResult<()> {
    let dir = path
        .parent()
        .ok_or_else(|| VmError::cache(format!("{} has no parent folder", path.display())))?;
    fs::create_dir_all(dir)
        .map_err(|e| VmError::cache(format!("creating {}: {e}", dir.display())))?;
    AtomicWrite::new()
        .write_with(path, |file| {
            bytes.iter().try_for_each(|part| file.write_all(part))
        })
        .map_err(|e| VmError::cache(format!("writing {}: {}", path.display(), e.io_error())))
}

/// Serializes a compiled module into the cache.
pub(crate) fn store(
    engine: &Engine,
    base: &Path,
    checksum: &Checksum,
    module: &Module,
) -> VmResult<()> {
    let payload = module
        .serialize()
        .map_err(|e| VmError::cache(format!("serializing module: {e}")))?;
    let head = header(engine, checksum, &payload);
    write_atomic(&module_path(base, checksum), &[&head, &payload])
}

/// Loads a compiled module from the cache. `Ok(None)` when it is absent or unusable (another
/// wasmtime version, other engine settings, damaged): the caller recompiles, and the bad entry
/// is removed.
pub(crate) fn load(engine: &Engine, base: &Path, checksum: &Checksum) -> VmResult<Option<Module>> {
    let path = module_path(base, checksum);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(VmError::cache(format!("reading {}: {e}", path.display()))),
    };
    match verify(engine, checksum, &bytes) {
        Ok(payload) => {
            // SAFETY: the payload is byte-for-byte what `Module::serialize` wrote with an engine
            // of the same wasmtime version and settings: the header's SHA-256 of it matched.
            match unsafe { Module::deserialize(engine, payload) } {
                Ok(module) => Ok(Some(module)),
                Err(e) => {
                    discard(&path, &format!("wasmtime refused it: {e}"));
                    Ok(None)
                }
            }
        }
        Err(reason) => {
            discard(&path, &reason);
            Ok(None)
        }
    }
}

fn discard(path: &Path, reason: &str) {
    tracing::warn!(target: "runtime::vm", path = %path.display(), "discarding cached module: {reason}; it will be recompiled");
    let _ = fs::remove_file(path);
}

/// Checks the header and returns the payload.
fn verify<'a>(engine: &Engine, checksum: &Checksum, bytes: &'a [u8]) -> Result<&'a [u8], String> {
    // The header has a fixed length for a given version string.
    let expected_len = header(engine, checksum, &[]).len();
    if bytes.len() < expected_len {
        return Err("file is shorter than its header".into());
    }
    let (head, payload) = bytes.split_at(expected_len);
    if &head[..MAGIC.len()] != MAGIC {
        return Err("not a consign module file".into());
    }
    let expected = header(engine, checksum, payload);
    if head[..head.len() - 40] != expected[..expected.len() - 40] {
        return Err("written by another format, wasmtime version or engine configuration".into());
    }
    if head[head.len() - 40..] != expected[expected.len() - 40..] {
        return Err("payload does not match its digest (damaged or truncated)".into());
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        let mut config = wasmtime::Config::new();
        config.consume_fuel(true);
        Engine::new(&config).unwrap()
    }

    #[test]
    fn round_trip_and_rejects_damage() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine();
        let wasm = wat::parse_str("(module (func (export \"f\")))").unwrap();
        let checksum = Checksum::generate(&wasm);
        let module = Module::new(&engine, &wasm).unwrap();
        store(&engine, dir.path(), &checksum, &module).unwrap();
        assert!(load(&engine, dir.path(), &checksum).unwrap().is_some());

        // Flip one byte of the payload: detected, removed, reported as absent.
        let path = module_path(dir.path(), &checksum);
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs::write(&path, &bytes).unwrap();
        assert!(load(&engine, dir.path(), &checksum).unwrap().is_none());
        assert!(!path.exists());

        // An entry written by an engine with other settings is not loaded.
        let mut other = wasmtime::Config::new();
        other.consume_fuel(false);
        let other = Engine::new(&other).unwrap();
        store(
            &other,
            dir.path(),
            &checksum,
            &Module::new(&other, &wasm).unwrap(),
        )
        .unwrap();
        assert!(load(&engine, dir.path(), &checksum).unwrap().is_none());

        // Truncated.
        store(&engine, dir.path(), &checksum, &module).unwrap();
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        assert!(load(&engine, dir.path(), &checksum).unwrap().is_none());
    }
}

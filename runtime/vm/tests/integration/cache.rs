//! The module cache: on disk across VM restarts, in memory across calls; damaged or foreign
//! entries are recompiled, never loaded.

use consign_vm::{ModuleSource, Vm, VmConfig, VmError};

use crate::common::{wasm, BankQuerier, TestVm};

fn vm_at(dir: &std::path::Path) -> TestVm {
    Vm::new(VmConfig {
        cache_dir: Some(dir.to_path_buf()),
        ..VmConfig::default()
    })
    .unwrap()
}

fn module_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let modules = dir
        .join("modules")
        .join(format!("wasmtime-{}", consign_vm::WASMTIME_VERSION));
    std::fs::read_dir(modules)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "module"))
        .collect()
}

#[test]
fn modules_come_from_memory_then_disk_then_compile() {
    let dir = tempfile::tempdir().unwrap();
    let code = wasm("cw20_base");
    let checksum = {
        let vm = vm_at(dir.path());
        let checksum = vm.save_wasm(&code).unwrap();
        assert_eq!(vm.prepare(&checksum).unwrap(), ModuleSource::Memory);
        checksum
    };
    // A restarted VM loads the compiled module from disk.
    let vm = vm_at(dir.path());
    assert!(vm.has_code(&checksum));
    assert_eq!(vm.prepare(&checksum).unwrap(), ModuleSource::Disk);
    assert_eq!(vm.prepare(&checksum).unwrap(), ModuleSource::Memory);

    // A damaged entry is detected and recompiled from the stored wasm.
    let files = module_files(dir.path());
    assert_eq!(files.len(), 1);
    let mut bytes = std::fs::read(&files[0]).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5a;
    std::fs::write(&files[0], &bytes).unwrap();
    let vm = vm_at(dir.path());
    assert_eq!(vm.prepare(&checksum).unwrap(), ModuleSource::Compiled);
    assert_eq!(vm.stats().compiles, 1);
    // …and written back, good this time.
    let vm = vm_at(dir.path());
    assert_eq!(vm.prepare(&checksum).unwrap(), ModuleSource::Disk);

    // An entry with another wasmtime's header is not loaded either.
    let mut bytes = std::fs::read(&files[0]).unwrap();
    let at = bytes.windows(6).position(|w| w == b"48.0.8").unwrap();
    bytes[at..at + 6].copy_from_slice(b"49.0.0");
    std::fs::write(&files[0], &bytes).unwrap();
    let vm = vm_at(dir.path());
    assert_eq!(vm.prepare(&checksum).unwrap(), ModuleSource::Compiled);
}

#[test]
fn unknown_code_is_a_clear_error() {
    let vm: TestVm = Vm::new(VmConfig::default()).unwrap();
    let checksum = cosmwasm_std::Checksum::generate(b"nothing");
    let backend = consign_vm::Backend {
        api: crate::common::api(),
        storage: consign_vm::MemoryStorage::new(),
        querier: BankQuerier::default(),
    };
    let err = vm
        .instance(&checksum, backend, &Default::default())
        .err()
        .unwrap();
    assert!(matches!(err, VmError::CodeNotFound { .. }), "{err}");
    assert!(err
        .to_string()
        .starts_with("no contract code with checksum"));
}

//! The linker provides every import the upload checks accept, with the same signature, so an
//! accepted contract always instantiates.

use consign_vm::interface::{WasmType, HOST_IMPORTS};
use consign_vm::{Backend, InstanceOptions, MemoryStorage, NoChainQuerier, Vm, VmConfig};

#[test]
fn every_host_import_is_linked() {
    let ty = |t: &WasmType| match t {
        WasmType::I32 => "i32",
        WasmType::I64 => "i64",
    };
    let imports: String = HOST_IMPORTS
        .iter()
        .map(|s| {
            let params: Vec<_> = s.params.iter().map(ty).collect();
            let results: Vec<_> = s.results.iter().map(ty).collect();
            format!(
                "(import \"env\" \"{}\" (func (param {}) (result {})))\n",
                s.name,
                params.join(" "),
                results.join(" ")
            )
        })
        .collect();
    let wat = format!(
        r#"(module {imports}
            (memory (export "memory") 1)
            (func (export "allocate") (param i32) (result i32) i32.const 0)
            (func (export "deallocate") (param i32))
            (func (export "interface_version_8")))"#
    );
    let wasm = wat::parse_str(&wat).unwrap();
    let vm: Vm<consign_vm::Bech32Api, MemoryStorage, NoChainQuerier> =
        Vm::new(VmConfig::default()).unwrap();
    let checksum = vm.save_wasm(&wasm).expect("accepted");
    let backend = Backend {
        api: consign_vm::Bech32Api::new("consign").unwrap(),
        storage: MemoryStorage::new(),
        querier: NoChainQuerier,
    };
    vm.instance(&checksum, backend, &InstanceOptions::default())
        .expect("every import is linked");
}

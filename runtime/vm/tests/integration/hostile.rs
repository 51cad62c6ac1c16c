//! Hostile contracts: each ends its own call with an error that says what happened, the host
//! keeps running, and the contract's storage is as it was before the call.

use consign_vm::{VmError, VmResult};
use cosmwasm_std::{ContractResult, Response};
use serde_json::json;

use crate::common::{addr, Harness};

fn hostile() -> Harness {
    let mut h = Harness::new("hostile");
    h.gas_limit = 50_000_000;
    let res = h.instantiate(&addr(1), json!({})).unwrap();
    assert!(matches!(res, ContractResult::Ok(_)), "{res:?}");
    assert_eq!(h.get(b"state").as_deref(), Some(&b"original"[..]));
    h
}

/// Runs a hostile message, checks the storage is untouched and the VM still serves calls,
/// and returns the error.
fn attack(msg: serde_json::Value) -> VmError {
    let mut h = hostile();
    let before = h.snapshot();
    let result: VmResult<ContractResult<Response>> = h.execute(&addr(1), msg.clone());
    let err = match result {
        Err(err) => err,
        Ok(other) => panic!("{msg} should fail, got {other:?}"),
    };
    assert_eq!(h.snapshot(), before, "{msg} changed storage");
    assert!(h.last.as_ref().unwrap().deliveries.is_empty());
    // The host is fine: the same VM runs the next call.
    let state: serde_json::Value = h.query(json!({"state": {}}));
    assert_eq!(state, json!({"state": "original"}));
    err
}

#[test]
fn endless_loop_runs_out_of_gas() {
    let err = attack(json!({"loop": {}}));
    assert!(
        matches!(err, VmError::OutOfGas { limit: 50_000_000 }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "out of gas: the call used its whole gas limit of 50000000"
    );
}

#[test]
fn memory_grow_bomb_hits_the_memory_limit() {
    let err = attack(json!({"memory_bomb": {}}));
    assert!(matches!(err, VmError::MemoryLimit { .. }), "{err}");
    assert!(
        err.to_string().starts_with("memory limit exceeded"),
        "{err}"
    );
}

#[test]
fn unbounded_recursion_ends_the_call() {
    // A Rust contract keeps its locals on a shadow stack in linear memory (1 MiB below its
    // data); unbounded recursion runs off its bottom before the wasm stack overflows.
    let err = attack(json!({"recurse": {"depth": u32::MAX}}));
    let text = err.to_string();
    assert!(
        matches!(err, VmError::StackOverflow) || text.contains("out of bounds memory access"),
        "{text}"
    );
}

#[test]
fn recursion_past_the_wasm_stack_limit_is_a_stack_overflow() {
    let wasm = wat::parse_str(
        r#"(module
            (memory (export "memory") 1)
            ;; Every allocation gets the same Region: offset 64, capacity 1024.
            (data (i32.const 16) "\40\00\00\00\00\04\00\00\00\00\00\00")
            (func (export "allocate") (param i32) (result i32) i32.const 16)
            (func (export "deallocate") (param i32))
            (func (export "interface_version_8"))
            (func $down (param i32) (result i32)
                (i32.add (call $down (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
            (func (export "query") (param i32 i32) (result i32)
                (call $down (i32.const 0))))"#,
    )
    .unwrap();
    let vm = crate::common::new_vm();
    let checksum = vm.save_wasm(&wasm).unwrap();
    let backend = consign_vm::Backend {
        api: crate::common::api(),
        storage: consign_vm::MemoryStorage::new(),
        querier: crate::common::BankQuerier::default(),
    };
    let mut instance = vm
        .instance(&checksum, backend, &Default::default())
        .unwrap();
    let err = instance
        .call_query(&crate::common::env(), b"{}")
        .unwrap_err();
    assert!(matches!(err, VmError::StackOverflow), "{err}");
    assert_eq!(
        err.to_string(),
        "stack overflow: the contract exceeded the wasm stack limit (unbounded recursion?)"
    );
}

#[test]
fn huge_allocation_hits_the_memory_limit() {
    let err = attack(json!({"huge_allocation": {}}));
    assert!(matches!(err, VmError::MemoryLimit { .. }), "{err}");
}

#[test]
fn region_with_out_of_bounds_data_is_refused() {
    let err = attack(json!({"bad_region": {}}));
    assert!(matches!(err, VmError::Region { .. }), "{err}");
    assert!(
        err.to_string().contains("outside the contract's memory"),
        "{err}"
    );
}

#[test]
fn region_pointer_out_of_bounds_is_refused() {
    let err = attack(json!({"bad_region_pointer": {}}));
    assert!(matches!(err, VmError::Region { .. }), "{err}");
}

#[test]
fn result_over_the_limit_is_refused() {
    let err = attack(json!({"huge_result": {"size": 400 * 1024}}));
    assert!(matches!(err, VmError::TooLarge { .. }), "{err}");
    assert!(
        err.to_string().contains("over the limit of 262144 bytes"),
        "{err}"
    );
}

#[test]
fn unreachable_is_a_trap() {
    let err = attack(json!({"unreachable": {}}));
    assert!(matches!(err, VmError::Trap { .. }), "{err}");
}

#[test]
fn malformed_delivery_instruction_fails_the_call() {
    let err = attack(json!({"deliver_unchecked": {"json": "{\"offer_id\": 1}"}}));
    assert!(matches!(err, VmError::InvalidDelivery { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("invalid delivery instruction: not a DeliveryInstruction"),
        "{err}"
    );
}

#[test]
fn writes_in_a_query_are_refused() {
    let mut h = hostile();
    let before = h.snapshot();
    let err = h.query_raw(json!({"write_in_query": {}})).unwrap_err();
    assert!(
        matches!(err, VmError::WriteAccessDenied { op: "db_write" }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "db_write is not allowed in a query: queries are read-only"
    );
    assert_eq!(h.snapshot(), before);
}

#[test]
fn uploads_that_break_the_interface_are_rejected_by_name() {
    let vm = crate::common::new_vm();
    let err = vm
        .save_wasm(&crate::common::wasm("bad_import"))
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, VmError::Rejected { .. }), "{text}");
    assert!(text.contains("consign_teleport"), "{text}");

    let err = vm
        .save_wasm(&crate::common::wasm("no_interface"))
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("allocate"), "{text}");
    assert!(text.contains("interface_version_8"), "{text}");

    let err = vm.save_wasm(&crate::common::wasm("simd")).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("SIMD is not allowed"), "{text}");

    let err = vm.save_wasm(b"\0asm garbage").unwrap_err();
    assert!(matches!(err, VmError::Rejected { .. }), "{err}");
}

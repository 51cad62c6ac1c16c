//! [`ChainQuerier`]: answers contracts' queries of the chain (`query_chain`): bank balances,
//! supply and denomination metadata, and other contracts' smart, raw and raw-range queries,
//! contract and code info, staking and distribution (answered by [`crate::staking`]), and gRPC
//! and Stargate queries by path (answered by [`crate::stargate`]).

mod denom_metadata;
mod raw_range;

use std::sync::Weak;

use consign_vm::{BackendApi, GasInfo, Querier, QuerierResult};
use cosmwasm_std::{Binary, ContractResult, SystemError, SystemResult};
use serde_json::{json, Value};

use crate::core::Core;
use crate::staking;
use crate::stargate;
use crate::state::{self, CodeRecord, ContractRecord};
use crate::store::lock;

/// Gas charged for a bank or info query (a smart query is charged what the contract used).
const QUERY_COST: u64 = 1_000;

/// Answers `QueryRequest`s against the chain's current state.
#[derive(Debug, Clone)]
pub struct ChainQuerier {
    core: Weak<Core>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core").finish_non_exhaustive()
    }
}

impl ChainQuerier {
    pub(crate) fn new(core: Weak<Core>) -> Self {
        Self { core }
    }
}

fn ok(value: &Value) -> SystemResult<ContractResult<Binary>> {
    SystemResult::Ok(ContractResult::Ok(Binary::new(
        serde_json::to_vec(value).unwrap_or_default(),
    )))
}

fn invalid(error: impl Into<String>, request: &[u8]) -> SystemResult<ContractResult<Binary>> {
    SystemResult::Err(SystemError::InvalidRequest {
        error: error.into(),
        request: Binary::new(request.to_vec()),
    })
}

fn no_such_contract(addr: &str) -> SystemResult<ContractResult<Binary>> {
    SystemResult::Err(SystemError::NoSuchContract {
        addr: addr.to_owned(),
    })
}

impl Querier for ChainQuerier {
    fn query_raw(&self, request: &[u8], gas_limit: u64) -> QuerierResult {
        let cost = GasInfo {
            cost: QUERY_COST,
            externally_used: 0,
        };
        let Some(core) = self.core.upgrade() else {
            return (
                Err(consign_vm::BackendError::unknown("the chain has shut down")),
                cost,
            );
        };
        let parsed: Value = match serde_json::from_slice(request) {
            Ok(v) => v,
            Err(e) => return (Ok(invalid(format!("not JSON: {e}"), request)), cost),
        };
        let (module, inner) = match single_key(&parsed) {
            Some(pair) => pair,
            None => return (Ok(invalid("expected one query kind", request)), cost),
        };
        if matches!(module, "grpc" | "stargate") {
            // `{"grpc": {"path", "data"}}`: a gRPC path and its protobuf request.
            let path = inner
                .get("path")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let data: Binary =
                match serde_json::from_value(inner.get("data").cloned().unwrap_or(Value::Null)) {
                    Ok(d) => d,
                    Err(e) => return (Ok(invalid(format!("bad data: {e}"), request)), cost),
                };
            let encoding = if module == "grpc" {
                stargate::Encoding::Proto
            } else {
                stargate::Encoding::Json
            };
            let block = core.context().block;
            let layers = lock(&core.layers);
            return (
                Ok(stargate::answer(&layers, &block, path, &data, encoding)),
                cost,
            );
        }
        let (kind, args) = match single_key(inner) {
            Some(pair) => pair,
            None => return (Ok(invalid("expected one query", request)), cost),
        };
        let text = |key: &str| {
            args.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        match (module, kind) {
            ("bank", "balance") => {
                let layers = lock(&core.layers);
                let amount = state::read_u128(
                    &layers,
                    &state::balance_key(&text("address"), &text("denom")),
                )
                .unwrap_or_default();
                (
                    Ok(ok(
                        &json!({"amount": {"denom": text("denom"), "amount": amount.to_string()}}),
                    )),
                    cost,
                )
            }
            ("bank", "all_balances") => {
                let layers = lock(&core.layers);
                let coins = state::balances(&layers, &text("address")).unwrap_or_default();
                (Ok(ok(&json!({ "amount": coins }))), cost)
            }
            ("bank", "supply") => {
                let layers = lock(&core.layers);
                let amount = state::read_u128(&layers, &state::supply_key(&text("denom")))
                    .unwrap_or_default();
                (
                    Ok(ok(
                        &json!({"amount": {"denom": text("denom"), "amount": amount.to_string()}}),
                    )),
                    cost,
                )
            }
            ("wasm", "smart") => {
                let contract = text("contract_addr");
                let msg: Binary =
                    match serde_json::from_value(args.get("msg").cloned().unwrap_or(Value::Null)) {
                        Ok(m) => m,
                        Err(e) => return (Ok(invalid(format!("bad msg: {e}"), request)), cost),
                    };
                smart_query(&core, &contract, &msg, gas_limit)
            }
            ("wasm", "raw") => {
                let contract = text("contract_addr");
                let key: Binary =
                    match serde_json::from_value(args.get("key").cloned().unwrap_or(Value::Null)) {
                        Ok(k) => k,
                        Err(e) => return (Ok(invalid(format!("bad key: {e}"), request)), cost),
                    };
                let Ok(canonical) = core.api.addr_canonicalize(&contract) else {
                    return (Ok(no_such_contract(&contract)), cost);
                };
                let layers = lock(&core.layers);
                if layers.get(&state::contract_key(&contract)).is_none() {
                    return (Ok(no_such_contract(&contract)), cost);
                }
                let full = [state::contract_state_prefix(&canonical), key.to_vec()].concat();
                let value = layers.get(&full).map(Binary::new);
                // A raw query answers the value's bytes themselves (empty when absent).
                let bytes = value.map(|v| v.to_vec()).unwrap_or_default();
                (
                    Ok(SystemResult::Ok(ContractResult::Ok(Binary::new(bytes)))),
                    cost,
                )
            }
            ("wasm", "raw_range") => {
                let contract = text("contract_addr");
                let range: raw_range::RawRange = match serde_json::from_value(args.clone()) {
                    Ok(r) => r,
                    Err(e) => return (Ok(invalid(format!("bad raw_range: {e}"), request)), cost),
                };
                let Ok(canonical) = core.api.addr_canonicalize(&contract) else {
                    return (Ok(no_such_contract(&contract)), cost);
                };
                let layers = lock(&core.layers);
                if layers.get(&state::contract_key(&contract)).is_none() {
                    return (Ok(no_such_contract(&contract)), cost);
                }
                let (page, bytes) = raw_range::answer(&layers, &canonical, &range);
                let entries = page["data"].as_array().map_or(0, Vec::len) as u64;
                let cost = GasInfo {
                    cost: QUERY_COST
                        .saturating_add(entries.saturating_mul(raw_range::ENTRY_COST))
                        .saturating_add(bytes),
                    externally_used: 0,
                };
                (Ok(ok(&page)), cost)
            }
            ("bank", "denom_metadata") => match denom_metadata::one(&text("denom")) {
                Ok(answer) => (Ok(ok(&answer)), cost),
                Err(e) => (Ok(SystemResult::Ok(ContractResult::Err(e))), cost),
            },
            ("bank", "all_denom_metadata") => (Ok(ok(&denom_metadata::all())), cost),
            ("staking" | "distribution", _) => {
                let block = core.context().block;
                let layers = lock(&core.layers);
                let answer = if module == "staking" {
                    staking::query::staking(&layers, &block, kind, args)
                } else {
                    staking::query::distribution(&layers, &block, kind, args)
                };
                match answer {
                    Some(Ok(value)) => (Ok(ok(&value)), cost),
                    Some(Err(e)) => (Ok(SystemResult::Ok(ContractResult::Err(e))), cost),
                    None => (
                        Ok(SystemResult::Err(SystemError::UnsupportedRequest {
                            kind: unsupported(module, kind),
                        })),
                        cost,
                    ),
                }
            }
            ("wasm", "contract_info") => {
                let contract = text("contract_addr");
                let layers = lock(&core.layers);
                match state::read_json::<ContractRecord>(&layers, &state::contract_key(&contract)) {
                    Ok(Some(c)) => (
                        Ok(ok(
                            &json!({"code_id": c.code_id, "creator": c.creator, "admin": c.admin, "pinned": false, "ibc_port": null}),
                        )),
                        cost,
                    ),
                    _ => (Ok(no_such_contract(&contract)), cost),
                }
            }
            ("wasm", "code_info") => {
                let code_id = args
                    .get("code_id")
                    .and_then(Value::as_u64)
                    .unwrap_or_default();
                let layers = lock(&core.layers);
                match state::read_json::<CodeRecord>(&layers, &state::code_key(code_id)) {
                    Ok(Some(c)) => (
                        Ok(ok(
                            &json!({"code_id": code_id, "creator": c.creator, "checksum": c.checksum}),
                        )),
                        cost,
                    ),
                    _ => (
                        Ok(SystemResult::Err(SystemError::NoSuchCode { code_id })),
                        cost,
                    ),
                }
            }
            _ => (
                Ok(SystemResult::Err(SystemError::UnsupportedRequest {
                    kind: unsupported(module, kind),
                })),
                cost,
            ),
        }
    }
}

/// What a contract is told about a query this chain does not answer (cosmwasm-std shows it as
/// "Unsupported query type: …").
fn unsupported(module: &str, kind: &str) -> String {
    match module {
        "staking" | "distribution" => format!("{module}.{kind}"),
        "ibc" => format!("IBC queries (ibc.{kind}) are not supported: this chain has no IBC"),
        _ => format!("{module}.{kind}"),
    }
}

fn single_key(value: &Value) -> Option<(&str, &Value)> {
    let map = value.as_object()?;
    if map.len() != 1 {
        return None;
    }
    map.iter().next().map(|(k, v)| (k.as_str(), v))
}

/// Runs another contract's `query` on a fresh, read-only instance.
pub(crate) fn smart_query(
    core: &Core,
    contract: &str,
    msg: &[u8],
    gas_limit: u64,
) -> QuerierResult {
    let cost = GasInfo {
        cost: QUERY_COST,
        externally_used: 0,
    };
    let record = {
        let layers = lock(&core.layers);
        state::read_json::<ContractRecord>(&layers, &state::contract_key(contract))
    };
    let Ok(Some(record)) = record else {
        return (Ok(no_such_contract(contract)), cost);
    };
    let checksum = match crate::wasm::code_checksum(core, record.code_id) {
        Ok(c) => c,
        Err(e) => return (Ok(invalid(e.to_string(), msg)), cost),
    };
    let backend = match core.backend(contract, true) {
        Ok(b) => b,
        Err(e) => return (Ok(invalid(e, msg)), cost),
    };
    let env = core.env(contract);
    let gas_limit = gas_limit.saturating_sub(QUERY_COST);
    let mut instance =
        match core
            .vm
            .instance(&checksum, backend, &Core::options(contract, gas_limit))
        {
            Ok(i) => i,
            Err(e) => return (Err(consign_vm::BackendError::unknown(e.to_string())), cost),
        };
    let result = instance.call_query(&env, msg);
    let used = instance.gas_used();
    let gas = GasInfo {
        cost: QUERY_COST,
        externally_used: used,
    };
    match result {
        Ok(r) => (Ok(SystemResult::Ok(r)), gas),
        Err(consign_vm::VmError::OutOfGas { .. }) => (Err(consign_vm::BackendError::OutOfGas), gas),
        Err(e) => (
            Ok(SystemResult::Ok(ContractResult::Err(e.to_string()))),
            gas,
        ),
    }
}

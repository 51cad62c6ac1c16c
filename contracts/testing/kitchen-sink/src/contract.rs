//! Entry points: each matches the message and hands off to a small function.

use consign_sdk::cosmwasm_std::{
    entry_point, from_json, to_json_binary, to_json_vec, Binary, CanonicalAddr, ContractResult,
    Deps, DepsMut, Env, HashFunction, MessageInfo, MigrateInfo, Order, Reply, Response, StdError,
    StdResult, SubMsg, SubMsgResult, WasmMsg,
};
use consign_sdk::{deliver, DeliveryInstruction};

use crate::msg::{
    CounterResponse, CreatorResponse, Entry, ExecuteMsg, GetResponse, InstantiateMsg, KeysResponse,
    ListResponse, MigrateMsg, QueryMsg, SudoMsg, ValuesResponse,
};

const COUNTER: &[u8] = b"counter";
const CREATOR: &[u8] = b"creator";
/// Prefix of the keys `Set` writes.
const KV: &[u8] = b"kv:";
/// The first key after every `kv:` key (`;` follows `:`).
const KV_END: &[u8] = b"kv;";
const DEFAULT_LIMIT: u32 = 30;
const MAX_LIMIT: u32 = 100;
/// The submessage id `SelfCall` uses.
pub const SELF_CALL_ID: u64 = 1;

/// Stores the counter and the sender.
#[entry_point]
pub fn instantiate(
    deps: DepsMut<'_>,
    _env: Env,
    info: MessageInfo,
    msg: InstantiateMsg,
) -> StdResult<Response> {
    deps.storage.set(COUNTER, &to_json_vec(&msg.count)?);
    deps.storage.set(CREATOR, info.sender.as_bytes());
    Ok(Response::new()
        .add_attribute("action", "instantiate")
        .add_attribute("creator", info.sender))
}

/// See [`ExecuteMsg`].
#[entry_point]
pub fn execute(
    deps: DepsMut<'_>,
    env: Env,
    info: MessageInfo,
    msg: ExecuteMsg,
) -> StdResult<Response> {
    match msg {
        ExecuteMsg::Increment {} => increment(deps),
        ExecuteMsg::Set { key, value } => {
            deps.storage.set(&kv_key(&key), value.as_bytes());
            Ok(Response::new().add_attribute("action", "set"))
        }
        ExecuteMsg::Remove { key } => {
            deps.storage.remove(&kv_key(&key));
            Ok(Response::new().add_attribute("action", "remove"))
        }
        ExecuteMsg::SetThenFail {
            key,
            value,
            message,
        } => {
            deps.storage.set(&kv_key(&key), value.as_bytes());
            Err(StdError::msg(message))
        }
        ExecuteMsg::Deliver { instruction } => deliver_all(&[instruction]),
        ExecuteMsg::DeliverMany { instructions } => deliver_all(&instructions),
        ExecuteMsg::DeliverThenFail { instruction } => {
            deliver(&instruction)?;
            Err(StdError::msg("failing after deliver, on purpose"))
        }
        ExecuteMsg::Debug { message } => {
            deps.api.debug(&message);
            Ok(Response::new().add_attribute("action", "debug"))
        }
        ExecuteMsg::Panic {} => panic!("kitchen-sink panicked on purpose"),
        ExecuteMsg::Echo {} => Ok(Response::new().set_data(to_json_binary(&info)?)),
        ExecuteMsg::SelfCall {} => {
            let call = WasmMsg::Execute {
                contract_addr: env.contract.address.into_string(),
                msg: to_json_binary(&ExecuteMsg::Increment {})?,
                funds: vec![],
            };
            Ok(Response::new().add_submessage(SubMsg::reply_always(call, SELF_CALL_ID)))
        }
    }
}

fn increment(deps: DepsMut<'_>) -> StdResult<Response> {
    let count = load_counter(deps.as_ref())?
        .checked_add(1)
        .ok_or_else(|| StdError::msg("counter overflow"))?;
    deps.storage.set(COUNTER, &to_json_vec(&count)?);
    Ok(Response::new()
        .add_attribute("action", "increment")
        .add_attribute("count", count.to_string()))
}

fn deliver_all(instructions: &[DeliveryInstruction]) -> StdResult<Response> {
    let mut response = Response::new().add_attribute("action", "deliver");
    for instruction in instructions {
        deliver(instruction)?;
        response = response.add_attribute("delivered", instruction.purchase_id.to_string());
    }
    Ok(response)
}

/// See [`QueryMsg`].
#[entry_point]
pub fn query(deps: Deps<'_>, env: Env, msg: QueryMsg) -> StdResult<Binary> {
    let api = deps.api;
    match msg {
        QueryMsg::Counter {} => to_json_binary(&CounterResponse {
            count: load_counter(deps)?,
        }),
        QueryMsg::Creator {} => {
            let creator = deps.storage.get(CREATOR).unwrap_or_default();
            to_json_binary(&CreatorResponse {
                creator: String::from_utf8(creator)?,
            })
        }
        QueryMsg::Env {} => to_json_binary(&env),
        QueryMsg::Get { key } => {
            let value = deps.storage.get(&kv_key(&key)).map(String::from_utf8);
            to_json_binary(&GetResponse {
                value: value.transpose()?,
            })
        }
        QueryMsg::List {
            start_after,
            limit,
            descending,
        } => {
            let (start, end, order, limit) = range_args(start_after, limit, descending);
            let entries = deps
                .storage
                .range(Some(&start), Some(&end), order)
                .take(limit)
                .map(|(k, v)| {
                    Ok(Entry {
                        key: strip_kv(k)?,
                        value: String::from_utf8(v)?,
                    })
                })
                .collect::<StdResult<_>>()?;
            to_json_binary(&ListResponse { entries })
        }
        QueryMsg::Keys {
            start_after,
            limit,
            descending,
        } => {
            let (start, end, order, limit) = range_args(start_after, limit, descending);
            let keys = deps
                .storage
                .range_keys(Some(&start), Some(&end), order)
                .take(limit)
                .map(strip_kv)
                .collect::<StdResult<_>>()?;
            to_json_binary(&KeysResponse { keys })
        }
        QueryMsg::Values {
            start_after,
            limit,
            descending,
        } => {
            let (start, end, order, limit) = range_args(start_after, limit, descending);
            let values = deps
                .storage
                .range_values(Some(&start), Some(&end), order)
                .take(limit)
                .map(|v| Ok(String::from_utf8(v)?))
                .collect::<StdResult<_>>()?;
            to_json_binary(&ValuesResponse { values })
        }
        QueryMsg::AddrValidate { addr } => {
            to_json_binary(&outcome(api.addr_validate(&addr).map(|a| a.into_string())))
        }
        QueryMsg::AddrCanonicalize { addr } => to_json_binary(&outcome(
            api.addr_canonicalize(&addr)
                .map(|c| Binary::new(c.to_vec())),
        )),
        QueryMsg::AddrHumanize { canonical } => to_json_binary(&outcome(
            api.addr_humanize(&CanonicalAddr::from(canonical))
                .map(|a| a.into_string()),
        )),
        QueryMsg::Secp256k1Verify {
            hash,
            signature,
            pubkey,
        } => to_json_binary(&outcome(api.secp256k1_verify(&hash, &signature, &pubkey))),
        QueryMsg::Secp256k1Recover {
            hash,
            signature,
            recovery_param,
        } => to_json_binary(&outcome(
            api.secp256k1_recover_pubkey(&hash, &signature, recovery_param)
                .map(Binary::new),
        )),
        QueryMsg::Secp256r1Verify {
            hash,
            signature,
            pubkey,
        } => to_json_binary(&outcome(api.secp256r1_verify(&hash, &signature, &pubkey))),
        QueryMsg::Secp256r1Recover {
            hash,
            signature,
            recovery_param,
        } => to_json_binary(&outcome(
            api.secp256r1_recover_pubkey(&hash, &signature, recovery_param)
                .map(Binary::new),
        )),
        QueryMsg::Ed25519Verify {
            message,
            signature,
            pubkey,
        } => to_json_binary(&outcome(api.ed25519_verify(&message, &signature, &pubkey))),
        QueryMsg::Ed25519BatchVerify {
            messages,
            signatures,
            pubkeys,
        } => to_json_binary(&outcome(api.ed25519_batch_verify(
            &slices(&messages),
            &slices(&signatures),
            &slices(&pubkeys),
        ))),
        QueryMsg::Bls12381AggregateG1 { points } => to_json_binary(&outcome(
            api.bls12_381_aggregate_g1(&points)
                .map(|p| Binary::new(p.to_vec())),
        )),
        QueryMsg::Bls12381AggregateG2 { points } => to_json_binary(&outcome(
            api.bls12_381_aggregate_g2(&points)
                .map(|p| Binary::new(p.to_vec())),
        )),
        QueryMsg::Bls12381PairingEquality { ps, qs, r, s } => {
            to_json_binary(&outcome(api.bls12_381_pairing_equality(&ps, &qs, &r, &s)))
        }
        QueryMsg::Bls12381HashToG1 { msg, dst } => to_json_binary(&outcome(
            api.bls12_381_hash_to_g1(HashFunction::Sha256, &msg, &dst)
                .map(|p| Binary::new(p.to_vec())),
        )),
        QueryMsg::Bls12381HashToG2 { msg, dst } => to_json_binary(&outcome(
            api.bls12_381_hash_to_g2(HashFunction::Sha256, &msg, &dst)
                .map(|p| Binary::new(p.to_vec())),
        )),
        QueryMsg::Balance { address, denom } => {
            to_json_binary(&outcome(deps.querier.query_balance(address, denom)))
        }
        QueryMsg::Chain { request } => {
            to_json_binary(&deps.querier.raw_query(&to_json_vec(&request)?))
        }
    }
}

/// Records the note under `sudo`.
#[entry_point]
pub fn sudo(deps: DepsMut<'_>, _env: Env, msg: SudoMsg) -> StdResult<Response> {
    let SudoMsg::Record { note } = msg;
    deps.storage.set(&kv_key("sudo"), note.as_bytes());
    Ok(Response::new().add_attribute("action", "sudo"))
}

/// Records `id=<id> ok` or `id=<id> error=<message>` under `reply`.
#[entry_point]
pub fn reply(deps: DepsMut<'_>, _env: Env, msg: Reply) -> StdResult<Response> {
    let record = match msg.result {
        SubMsgResult::Ok(_) => format!("id={} ok", msg.id),
        SubMsgResult::Err(e) => format!("id={} error={e}", msg.id),
    };
    deps.storage.set(&kv_key("reply"), record.as_bytes());
    Ok(Response::new().add_attribute("action", "reply"))
}

/// Records `sender=<addr> old_version=<version or none>` under `migrate`. Takes the third
/// `MigrateInfo` argument; the contract declares migrate version 2.
#[entry_point]
#[migrate_version(2)]
pub fn migrate(
    deps: DepsMut<'_>,
    _env: Env,
    _msg: MigrateMsg,
    info: MigrateInfo,
) -> StdResult<Response> {
    let old = info
        .old_migrate_version
        .map_or_else(|| "none".to_owned(), |v| v.to_string());
    let record = format!("sender={} old_version={old}", info.sender);
    deps.storage.set(&kv_key("migrate"), record.as_bytes());
    Ok(Response::new().add_attribute("action", "migrate"))
}

fn load_counter(deps: Deps<'_>) -> StdResult<u64> {
    match deps.storage.get(COUNTER) {
        Some(bytes) => from_json(bytes),
        None => Ok(0),
    }
}

fn kv_key(key: &str) -> Vec<u8> {
    [KV, key.as_bytes()].concat()
}

fn strip_kv(key: Vec<u8>) -> StdResult<String> {
    let key = key.get(KV.len()..).unwrap_or_default();
    Ok(String::from_utf8(key.to_vec())?)
}

/// The `[start, end)` bounds, order and limit for a listing of the `kv:` space.
fn range_args(
    start_after: Option<String>,
    limit: Option<u32>,
    descending: bool,
) -> (Vec<u8>, Vec<u8>, Order, usize) {
    let limit = limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT) as usize;
    match (start_after, descending) {
        (None, false) => (KV.to_vec(), KV_END.to_vec(), Order::Ascending, limit),
        // The smallest key after `start_after` is `start_after` followed by a zero byte.
        (Some(after), false) => (
            [KV, after.as_bytes(), b"\0"].concat(),
            KV_END.to_vec(),
            Order::Ascending,
            limit,
        ),
        (None, true) => (KV.to_vec(), KV_END.to_vec(), Order::Descending, limit),
        (Some(after), true) => (KV.to_vec(), kv_key(&after), Order::Descending, limit),
    }
}

fn slices(items: &[Binary]) -> Vec<&[u8]> {
    items.iter().map(Binary::as_slice).collect()
}

/// A host result as `{"ok": …}` or `{"error": "…"}`.
fn outcome<T, E: ToString>(result: Result<T, E>) -> ContractResult<T> {
    result.map_err(|e| e.to_string()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use consign_sdk::testing::{
        call, message_info, mock_dependencies, mock_env, take_delivered, MockApi,
    };
    use consign_sdk::DeliveryAddress;

    fn instruction(api: &MockApi, purchase_id: u64) -> DeliveryInstruction {
        DeliveryInstruction {
            offer_id: 3,
            purchase_id,
            buyer: api.addr_make("buyer").into_string(),
            recipient: DeliveryAddress {
                endpoint: "http://127.0.0.1:9000/inbox".to_owned(),
                key: "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p".to_owned(),
            },
            content_sha256: "ab".repeat(32),
            size: 5,
            deadline: None,
        }
    }

    fn setup() -> consign_sdk::cosmwasm_std::OwnedDeps<
        consign_sdk::testing::MockStorage,
        MockApi,
        consign_sdk::testing::MockQuerier,
    > {
        let mut deps = mock_dependencies();
        let creator = deps.api.addr_make("creator");
        instantiate(
            deps.as_mut(),
            mock_env(),
            message_info(&creator, &[]),
            InstantiateMsg { count: 41 },
        )
        .unwrap();
        deps
    }

    fn exec(deps: DepsMut<'_>, msg: ExecuteMsg) -> StdResult<Response> {
        let sender = MockApi::default().addr_make("anyone");
        call(|| execute(deps, mock_env(), message_info(&sender, &[]), msg))
    }

    #[test]
    fn counter_increments() {
        let mut deps = setup();
        let res = exec(deps.as_mut(), ExecuteMsg::Increment {}).unwrap();
        assert_eq!(res.attributes[1].value, "42");
        let count: CounterResponse =
            from_json(query(deps.as_ref(), mock_env(), QueryMsg::Counter {}).unwrap()).unwrap();
        assert_eq!(count.count, 42);
        let creator: CreatorResponse =
            from_json(query(deps.as_ref(), mock_env(), QueryMsg::Creator {}).unwrap()).unwrap();
        assert_eq!(creator.creator, deps.api.addr_make("creator").as_str());
    }

    #[test]
    fn set_list_and_remove() {
        let mut deps = setup();
        for key in ["a", "b", "c", "d"] {
            let msg = ExecuteMsg::Set {
                key: key.to_owned(),
                value: key.to_uppercase(),
            };
            exec(deps.as_mut(), msg).unwrap();
        }
        exec(deps.as_mut(), ExecuteMsg::Remove { key: "c".into() }).unwrap();
        let list = |start_after: Option<&str>, limit, descending| -> Vec<String> {
            let msg = QueryMsg::Keys {
                start_after: start_after.map(str::to_owned),
                limit,
                descending,
            };
            from_json::<KeysResponse>(query(deps.as_ref(), mock_env(), msg).unwrap())
                .unwrap()
                .keys
        };
        assert_eq!(list(None, None, false), ["a", "b", "d"]);
        assert_eq!(list(Some("a"), Some(1), false), ["b"]);
        assert_eq!(list(None, None, true), ["d", "b", "a"]);
        assert_eq!(list(Some("d"), None, true), ["b", "a"]);

        let msg = QueryMsg::List {
            start_after: Some("a".into()),
            limit: None,
            descending: false,
        };
        let entries: ListResponse =
            from_json(query(deps.as_ref(), mock_env(), msg).unwrap()).unwrap();
        assert_eq!(
            entries.entries[0],
            Entry {
                key: "b".into(),
                value: "B".into()
            }
        );
        let get: GetResponse =
            from_json(query(deps.as_ref(), mock_env(), QueryMsg::Get { key: "c".into() }).unwrap())
                .unwrap();
        assert_eq!(get.value, None);
    }

    #[test]
    fn deliver_is_recorded() {
        let mut deps = setup();
        let i = instruction(&deps.api, 9);
        let res = exec(
            deps.as_mut(),
            ExecuteMsg::Deliver {
                instruction: i.clone(),
            },
        )
        .unwrap();
        assert_eq!(res.attributes[1].key, "delivered");
        assert_eq!(res.attributes[1].value, "9");
        assert_eq!(take_delivered(), [i]);
    }

    #[test]
    fn a_delivery_followed_by_an_error_is_dropped_as_on_the_chain() {
        let mut deps = setup();
        let i = instruction(&deps.api, 9);
        let err = exec(
            deps.as_mut(),
            ExecuteMsg::DeliverThenFail { instruction: i },
        )
        .unwrap_err();
        assert!(err.to_string().contains("failing after deliver"), "{err}");
        assert!(take_delivered().is_empty());
    }

    #[test]
    fn invalid_delivery_fails() {
        let mut deps = setup();
        let mut i = instruction(&deps.api, 9);
        i.size = 0;
        let err = exec(deps.as_mut(), ExecuteMsg::Deliver { instruction: i }).unwrap_err();
        assert!(
            err.to_string().contains("size must be greater than zero"),
            "{err}"
        );
        assert!(take_delivered().is_empty());
    }

    #[test]
    fn addresses_and_errors_are_returned_as_outcomes() {
        let deps = setup();
        let addr = deps.api.addr_make("x").into_string();
        let ok: ContractResult<String> = from_json(
            query(
                deps.as_ref(),
                mock_env(),
                QueryMsg::AddrValidate { addr: addr.clone() },
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(ok, ContractResult::Ok(addr));
        let err: ContractResult<String> = from_json(
            query(
                deps.as_ref(),
                mock_env(),
                QueryMsg::AddrValidate {
                    addr: "nope".into(),
                },
            )
            .unwrap(),
        )
        .unwrap();
        assert!(err.is_err());
    }
}

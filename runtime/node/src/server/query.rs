//! Read-only routes: `/status`, `/blocks`, `/accounts`, `/codes`, `/contracts` and `/staking`,
//! with the paginated lists of codes, of a code's contracts and of a contract's storage.

use std::sync::Arc;

use consign_chain::gas::MAX_TX_GAS;
use consign_client::{
    validate_address, BalancesResponse, Binary, CodeInfo, CodeList, ContractInfo, ContractList,
    ContractState, Pagination, RawQueryResponse, SmartQueryResponse, StateEntry,
};
use serde::Deserialize;
use warp::http::header::CONTENT_TYPE;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use super::api::{chain_failure, json, query, reply, with_node, ApiFailure};
use super::node::Node;
use consign_chain::View;

/// The most bytes a smart query message may have.
const MAX_QUERY_BODY: u64 = 1024 * 1024;

/// A page's size when the request gives no `limit` (wasmd's default).
const DEFAULT_PAGE: u32 = 100;
/// The largest `limit` a page may ask for.
const MAX_PAGE: u32 = 1_000;
/// The most bytes of keys and values one page of a contract's storage carries (a page always
/// carries at least one entry).
const MAX_STATE_PAGE_BYTES: usize = 4 * 1024 * 1024;

/// `?limit=N&page_key=K` of the paginated lists.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageParams {
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    page_key: Option<String>,
}

impl PageParams {
    fn limit(&self) -> Result<usize, ApiFailure> {
        match self.limit.unwrap_or(DEFAULT_PAGE) {
            0 => Err(ApiFailure::bad_request(
                "limit 0 would return nothing; ask for 1 to 1000 entries",
            )),
            n if n > MAX_PAGE => Err(ApiFailure::bad_request(format!(
                "limit {n} is above the maximum of {MAX_PAGE}; read on with the page's next_key as page_key"
            ))),
            n => Ok(n as usize),
        }
    }
}

fn address(text: &str) -> Result<String, ApiFailure> {
    validate_address(text).map_err(|e| ApiFailure::bad_request(e.to_string()))?;
    Ok(text.to_owned())
}

fn parse_u64(text: &str, what: &str) -> Result<u64, ApiFailure> {
    text.parse().map_err(|_| {
        ApiFailure::bad_request(format!(
            "invalid {what} `{text}`: expected a non-negative integer"
        ))
    })
}

pub(super) fn routes(
    node: Arc<Node>,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone + Send + Sync + 'static {
    let status = warp::path!("status")
        .and(warp::get())
        .and(with_node(node.clone()))
        .map(|node: Arc<Node>| json(&node.status()));
    let block = warp::path!("blocks" / String)
        .and(warp::get())
        .and(with_node(node.clone()))
        .and_then(|which, node| async move { reply(block(which, node).await) });
    let account = warp::path!("accounts" / String)
        .and(warp::get())
        .and(with_node(node.clone()))
        .and_then(|addr, node| async move { reply(account(addr, node).await) });
    let balances = warp::path!("accounts" / String / "balances")
        .and(warp::get())
        .and(with_node(node.clone()))
        .and_then(|addr, node| async move { reply(balances(addr, node).await) });
    let code = warp::path!("codes" / String)
        .and(warp::get())
        .and(with_node(node.clone()))
        .and_then(|id, node| async move { reply(code(id, node).await) });
    let code_wasm = warp::path!("codes" / String / "wasm")
        .and(warp::get())
        .and(with_node(node.clone()))
        .and_then(|id, node| async move { reply(code_wasm(id, node).await) });
    let contract = warp::path!("contracts" / String)
        .and(warp::get())
        .and(with_node(node.clone()))
        .and_then(|addr, node| async move { reply(contract(addr, node).await) });
    let smart = warp::path!("contracts" / String / "smart")
        .and(warp::post())
        .and(warp::body::content_length_limit(MAX_QUERY_BODY))
        .and(warp::body::bytes())
        .and(with_node(node.clone()))
        .and_then(|addr, body, node| async move { reply(smart(addr, body, node).await) });
    let raw = warp::path!("contracts" / String / "raw" / String)
        .and(warp::get())
        .and(with_node(node.clone()))
        .and_then(|addr, key, node| async move { reply(raw(addr, key, node).await) });
    let validators = warp::path!("staking" / "validators")
        .and(warp::get())
        .and(with_node(node.clone()))
        .and_then(|node| async move { reply(validators(node).await) });
    let delegations = warp::path!("staking" / "delegations" / String)
        .and(warp::get())
        .and(with_node(node.clone()))
        .and_then(|addr, node| async move { reply(delegations(addr, node).await) });
    let unbondings = warp::path!("staking" / "unbonding" / String)
        .and(warp::get())
        .and(with_node(node.clone()))
        .and_then(|addr, node| async move { reply(unbondings(addr, node).await) });
    let codes = warp::path!("codes")
        .and(warp::get())
        .and(query::<PageParams>())
        .and(with_node(node.clone()))
        .and_then(|page, node| async move { reply(codes(page, node).await) });
    let code_contracts = warp::path!("codes" / String / "contracts")
        .and(warp::get())
        .and(query::<PageParams>())
        .and(with_node(node.clone()))
        .and_then(|id, page, node| async move { reply(code_contracts(id, page, node).await) });
    let state = warp::path!("contracts" / String / "state")
        .and(warp::get())
        .and(query::<PageParams>())
        .and(with_node(node))
        .and_then(|addr, page, node| async move { reply(contract_state(addr, page, node).await) });

    status
        .or(block)
        .unify()
        .or(balances)
        .unify()
        .or(account)
        .unify()
        .or(code_wasm)
        .unify()
        .or(code)
        .unify()
        .or(smart)
        .unify()
        .or(raw)
        .unify()
        .or(contract)
        .unify()
        .or(codes)
        .unify()
        .or(code_contracts)
        .unify()
        .or(state)
        .unify()
        // Boxed in two groups: one chain of `or`s over every route nests warp's types so deep
        // that a release build overflows the compiler's recursion limit.
        .boxed()
        .or(validators
            .or(delegations)
            .unify()
            .or(unbondings)
            .unify()
            .boxed())
        .unify()
}

/// `GET /staking/validators`.
async fn validators(node: Arc<Node>) -> Result<Response, ApiFailure> {
    let answer = node.query(View::validators).await?.map_err(chain_failure)?;
    Ok(json(&answer))
}

/// `GET /staking/delegations/{address}`.
async fn delegations(addr: String, node: Arc<Node>) -> Result<Response, ApiFailure> {
    let addr = address(&addr)?;
    let answer = node
        .query(move |view| view.delegations(&addr))
        .await?
        .map_err(chain_failure)?;
    Ok(json(&answer))
}

/// `GET /staking/unbonding/{address}`.
async fn unbondings(addr: String, node: Arc<Node>) -> Result<Response, ApiFailure> {
    let addr = address(&addr)?;
    let answer = node
        .query(move |view| view.unbondings(&addr))
        .await?
        .map_err(chain_failure)?;
    Ok(json(&answer))
}

/// `GET /blocks/latest`, `GET /blocks/{height}`.
async fn block(which: String, node: Arc<Node>) -> Result<Response, ApiFailure> {
    let height = if which == "latest" {
        None
    } else {
        Some(parse_u64(&which, "height")?)
    };
    let block = node
        .query(move |app| app.block(height.unwrap_or_else(|| app.height())))
        .await?
        .map_err(chain_failure)?;
    match block {
        Some(block) => Ok(json(&block)),
        None => Err(ApiFailure::not_found(format!(
            "no block at height {which}; the latest is {}",
            node.status().height
        ))),
    }
}

/// `GET /accounts/{address}`: the sequence counts the sender's pending transactions, so it is
/// the one the next transaction must carry.
async fn account(addr: String, node: Arc<Node>) -> Result<Response, ApiFailure> {
    let addr = address(&addr)?;
    Ok(json(&node.next_account(&addr)))
}

/// `GET /accounts/{address}/balances`.
async fn balances(addr: String, node: Arc<Node>) -> Result<Response, ApiFailure> {
    let addr = address(&addr)?;
    let balances = node
        .query(move |app| app.balances(&addr))
        .await?
        .map_err(chain_failure)?;
    Ok(json(&BalancesResponse { balances }))
}

/// `GET /codes/{id}`.
async fn code(id: String, node: Arc<Node>) -> Result<Response, ApiFailure> {
    let code_id = parse_u64(&id, "code id")?;
    let record = node
        .query(move |app| app.code(code_id))
        .await?
        .ok_or_else(|| ApiFailure::not_found(format!("no code with id {code_id}")))?;
    Ok(json(&CodeInfo {
        code_id,
        checksum: record.checksum,
        creator: record.creator,
        size: record.size,
        height: record.height,
    }))
}

/// `GET /codes/{id}/wasm`.
async fn code_wasm(id: String, node: Arc<Node>) -> Result<Response, ApiFailure> {
    let code_id = parse_u64(&id, "code id")?;
    let wasm = node
        .query(move |app| app.code_wasm(code_id))
        .await?
        .ok_or_else(|| ApiFailure::not_found(format!("no code with id {code_id}")))?;
    Ok(warp::reply::with_header(wasm, CONTENT_TYPE, "application/wasm").into_response())
}

/// `GET /contracts/{address}`.
async fn contract(addr: String, node: Arc<Node>) -> Result<Response, ApiFailure> {
    let addr = address(&addr)?;
    let query_addr = addr.clone();
    let record = node
        .query(move |app| app.contract(&query_addr))
        .await?
        .ok_or_else(|| ApiFailure::not_found(format!("no contract at {addr}")))?;
    Ok(json(&ContractInfo {
        address: addr,
        code_id: record.code_id,
        creator: record.creator,
        admin: record.admin,
        label: record.label,
        created: record.created,
    }))
}

/// `POST /contracts/{address}/smart`: the body is the query message.
async fn smart(
    addr: String,
    body: warp::hyper::body::Bytes,
    node: Arc<Node>,
) -> Result<Response, ApiFailure> {
    let addr = address(&addr)?;
    serde_json::from_slice::<serde_json::Value>(&body).map_err(|e| {
        ApiFailure::bad_request(format!(
            "the query message is not JSON: {e}; send the contract's query message as the body, \
             e.g. {{\"balance\":{{\"address\":\"consign1…\"}}}}"
        ))
    })?;
    let msg = body.to_vec();
    let answer = node
        .query(move |app| app.smart_query(&addr, &msg, MAX_TX_GAS))
        .await?
        .map_err(chain_failure)?;
    let data = serde_json::from_slice(answer.as_slice()).map_err(|e| {
        ApiFailure::internal(format!(
            "the contract answered with bytes that are not JSON: {e}"
        ))
    })?;
    Ok(json(&SmartQueryResponse { data }))
}

/// `GET /contracts/{address}/raw/{hex key}`.
async fn raw(addr: String, key: String, node: Arc<Node>) -> Result<Response, ApiFailure> {
    let addr = address(&addr)?;
    let key = hex::decode(&key).map_err(|e| {
        ApiFailure::bad_request(format!(
            "invalid key `{key}`: {e}; give the storage key as hex"
        ))
    })?;
    let value = node
        .query(move |app| app.raw_query(&addr, &key))
        .await?
        .map_err(chain_failure)?;
    Ok(json(&RawQueryResponse {
        data: value.map(Binary::from),
    }))
}

fn pagination(next: Option<Vec<u8>>, encode: impl Fn(Vec<u8>) -> String) -> Pagination {
    Pagination {
        next_key: next.map(encode),
    }
}

/// `GET /codes?limit=&page_key=`: stored codes in id order; `page_key` is the last code id of
/// the previous page.
async fn codes(page: PageParams, node: Arc<Node>) -> Result<Response, ApiFailure> {
    let limit = page.limit()?;
    let after = page
        .page_key
        .as_deref()
        .map(|key| parse_u64(key, "page_key (a code id)"))
        .transpose()?;
    let page = node
        .query(move |view| view.codes(after, limit))
        .await?
        .map_err(chain_failure)?;
    Ok(json(&CodeList {
        code_infos: page
            .items
            .into_iter()
            .map(|(code_id, record)| CodeInfo {
                code_id,
                checksum: record.checksum,
                creator: record.creator,
                size: record.size,
                height: record.height,
            })
            .collect(),
        pagination: pagination(page.next, |key| {
            let id: [u8; 8] = key.try_into().unwrap_or_default();
            u64::from_be_bytes(id).to_string()
        }),
    }))
}

/// `GET /codes/{id}/contracts?limit=&page_key=`: the contracts running this code, in address
/// order; `page_key` is an address.
async fn code_contracts(
    id: String,
    page: PageParams,
    node: Arc<Node>,
) -> Result<Response, ApiFailure> {
    let code_id = parse_u64(&id, "code id")?;
    let limit = page.limit()?;
    let after = page.page_key.map(|key| address(&key)).transpose()?;
    let answer = node
        .query(move |view| {
            view.code(code_id)
                .map(|_| view.contracts_by_code(code_id, after.as_deref(), limit))
        })
        .await?
        .ok_or_else(|| ApiFailure::not_found(format!("no code with id {code_id}")))?
        .map_err(chain_failure)?;
    Ok(json(&ContractList {
        contracts: answer.items,
        pagination: pagination(answer.next, |key| {
            String::from_utf8_lossy(&key).into_owned()
        }),
    }))
}

/// `GET /contracts/{address}/state?limit=&page_key=`: the contract's storage in key order,
/// keys as hex and values as base64; `page_key` is the hex key the previous page ended with.
async fn contract_state(
    addr: String,
    page: PageParams,
    node: Arc<Node>,
) -> Result<Response, ApiFailure> {
    let addr = address(&addr)?;
    let limit = page.limit()?;
    let after = page
        .page_key
        .map(|key| {
            hex::decode(&key).map_err(|e| {
                ApiFailure::bad_request(format!(
                    "invalid page_key `{key}`: {e}; pass the next_key of the previous page as it was"
                ))
            })
        })
        .transpose()?;
    let answer = node
        .query(move |view| {
            view.contract_state(&addr, after.as_deref(), limit, MAX_STATE_PAGE_BYTES)
        })
        .await?
        .map_err(chain_failure)?;
    Ok(json(&ContractState {
        models: answer
            .items
            .into_iter()
            .map(|(key, value)| StateEntry {
                key: hex::encode(key),
                value: Binary::from(value),
            })
            .collect(),
        pagination: pagination(answer.next, hex::encode),
    }))
}

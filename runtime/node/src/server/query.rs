//! Read-only routes: `/status`, `/blocks`, `/accounts`, `/codes` and `/contracts`.

use std::sync::Arc;

use consign_chain::gas::MAX_TX_GAS;
use consign_client::{
    validate_address, BalancesResponse, Binary, CodeInfo, ContractInfo, RawQueryResponse,
    SmartQueryResponse,
};
use warp::http::header::CONTENT_TYPE;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use super::api::{chain_failure, json, reply, with_node, ApiFailure};
use super::node::Node;

/// The most bytes a smart query message may have.
const MAX_QUERY_BODY: u64 = 1024 * 1024;

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
        .and(with_node(node))
        .and_then(|addr, key, node| async move { reply(raw(addr, key, node).await) });

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

//! A contract that dispatches the submessages it is given and records every reply, so tests can
//! drive bank sends, calls to other contracts, and each `reply_on` mode through a real chain.

use cosmwasm_std::{
    entry_point, to_json_binary, Binary, Deps, DepsMut, Env, MessageInfo, Order, Reply, Response,
    StdError, StdResult, SubMsg, SubMsgResult,
};
use serde::{Deserialize, Serialize};

const REPLY_PREFIX: &[u8] = b"reply:";

/// `instantiate` takes any object.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct InstantiateMsg {}

/// What `execute` does.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum ExecuteMsg {
    /// Returns these submessages (and sets `data` to `data`, if given).
    Dispatch {
        /// The submessages, in order.
        messages: Vec<SubMsg>,
        /// Data to return.
        #[serde(default)]
        data: Option<Binary>,
    },
    /// Writes a key, then fails with `message`.
    Fail {
        /// The error.
        message: String,
    },
}

/// What `query` answers.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum QueryMsg {
    /// Every reply received: `{"replies": [{"id", "result"}]}`.
    Replies {},
}

/// A recorded reply.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ReplyRecord {
    /// The submessage id.
    pub id: u64,
    /// `ok` or `error: …`.
    pub result: String,
    /// The data the submessage returned, if any.
    pub data: Option<Binary>,
    /// Number of events the submessage emitted.
    pub events: usize,
}

/// All replies.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RepliesResponse {
    /// In id order.
    pub replies: Vec<ReplyRecord>,
}

/// Stores nothing.
#[entry_point]
pub fn instantiate(
    _deps: DepsMut<'_>,
    _env: Env,
    _info: MessageInfo,
    _msg: InstantiateMsg,
) -> StdResult<Response> {
    Ok(Response::new().add_attribute("action", "instantiate"))
}

/// See [`ExecuteMsg`].
#[entry_point]
pub fn execute(
    deps: DepsMut<'_>,
    _env: Env,
    _info: MessageInfo,
    msg: ExecuteMsg,
) -> StdResult<Response> {
    match msg {
        ExecuteMsg::Dispatch { messages, data } => {
            let mut response = Response::new()
                .add_attribute("action", "dispatch")
                .add_submessages(messages);
            if let Some(data) = data {
                response = response.set_data(data);
            }
            Ok(response)
        }
        ExecuteMsg::Fail { message } => {
            deps.storage.set(b"failed", b"yes");
            Err(StdError::msg(message))
        }
    }
}

/// Records the reply; a payload of `fail` makes the reply itself fail.
#[entry_point]
pub fn reply(deps: DepsMut<'_>, _env: Env, msg: Reply) -> StdResult<Response> {
    if msg.payload.as_slice() == b"fail" {
        return Err(StdError::msg("reply asked to fail"));
    }
    #[allow(deprecated)]
    let record = match &msg.result {
        SubMsgResult::Ok(ok) => ReplyRecord {
            id: msg.id,
            result: "ok".into(),
            data: ok.data.clone(),
            events: ok.events.len(),
        },
        SubMsgResult::Err(e) => ReplyRecord {
            id: msg.id,
            result: format!("error: {e}"),
            data: None,
            events: 0,
        },
    };
    let key = [REPLY_PREFIX, &msg.id.to_be_bytes()].concat();
    deps.storage.set(&key, &cosmwasm_std::to_json_vec(&record)?);
    Ok(Response::new().add_attribute("replied", msg.id.to_string()))
}

/// See [`QueryMsg`].
#[entry_point]
pub fn query(deps: Deps<'_>, _env: Env, msg: QueryMsg) -> StdResult<Binary> {
    match msg {
        QueryMsg::Replies {} => {
            let mut end = REPLY_PREFIX.to_vec();
            if let Some(last) = end.last_mut() {
                *last += 1;
            }
            let replies = deps
                .storage
                .range(Some(REPLY_PREFIX), Some(&end), Order::Ascending)
                .map(|(_, v)| cosmwasm_std::from_json(&v))
                .collect::<StdResult<_>>()?;
            to_json_binary(&RepliesResponse { replies })
        }
    }
}

//! A contract built with cosmwasm-std's `stargate` feature (so it exports `requires_stargate`)
//! that talks to the chain in protobuf, as contracts written for wasmd do: it sends a bank
//! `MsgSend` as `CosmosMsg::Any` and a staking `MsgDelegate` as `CosmosMsg::Stargate`, both
//! encoded with cosmos-sdk-proto, sends any other protobuf message it is given (to check the
//! chain's refusals), and reads its balance, delegations and rewards through `GrpcQuery`
//! (decoding the protobuf answers) and its balance through `QueryRequest::Stargate` (a JSON
//! answer, as wasmd gives).

use cosmos_sdk_proto::cosmos::bank::v1beta1::{MsgSend, QueryBalanceRequest, QueryBalanceResponse};
use cosmos_sdk_proto::cosmos::base::v1beta1::Coin as ProtoCoin;
use cosmos_sdk_proto::cosmos::distribution::v1beta1::{
    QueryDelegationRewardsRequest, QueryDelegationRewardsResponse,
};
use cosmos_sdk_proto::cosmos::staking::v1beta1::{
    MsgDelegate, QueryDelegationRequest, QueryDelegationResponse,
};
use cosmos_sdk_proto::prost::{Message, Name};
use cosmwasm_std::{
    entry_point, to_json_binary, AnyMsg, Binary, CosmosMsg, Deps, DepsMut, Env, MessageInfo,
    QueryRequest, Response, StdError, StdResult, Uint128,
};
use serde::{Deserialize, Serialize};

/// `instantiate` takes any object.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct InstantiateMsg {}

/// What `execute` does, each message signed by the contract itself.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum ExecuteMsg {
    /// Sends `amount` of `denom` to `to` with a `/cosmos.bank.v1beta1.MsgSend` in
    /// `CosmosMsg::Any`.
    Send {
        /// The recipient.
        to: String,
        /// The denomination.
        denom: String,
        /// How much.
        amount: Uint128,
    },
    /// Bonds `amount` of `denom` to `validator` with a `/cosmos.staking.v1beta1.MsgDelegate` in
    /// the older `CosmosMsg::Stargate`.
    Delegate {
        /// The validator's operator address.
        validator: String,
        /// The denomination.
        denom: String,
        /// How much.
        amount: Uint128,
    },
    /// Sends this protobuf message as `CosmosMsg::Any`, as given.
    Any {
        /// Its type URL.
        type_url: String,
        /// Its protobuf encoding.
        value: Binary,
    },
}

/// What `query` answers.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum QueryMsg {
    /// The contract's balance of `denom`, asked with `GrpcQuery` for
    /// `/cosmos.bank.v1beta1.Query/Balance` and decoded from protobuf: a [`Coin`].
    Balance {
        /// The denomination.
        denom: String,
    },
    /// The same, asked with `QueryRequest::Stargate`, whose answer is JSON: a [`Coin`].
    StargateBalance {
        /// The denomination.
        denom: String,
    },
    /// The contract's delegation to `validator` (`/cosmos.staking.v1beta1.Query/Delegation`):
    /// a [`Coin`].
    Delegation {
        /// The validator's operator address.
        validator: String,
    },
    /// The rewards the contract's delegation to `validator` has earned
    /// (`/cosmos.distribution.v1beta1.Query/DelegationRewards`), as the SDK's decimal coins.
    Rewards {
        /// The validator's operator address.
        validator: String,
    },
    /// Any gRPC query: its answer's bytes, as the chain gave them.
    Grpc {
        /// The path.
        path: String,
        /// The protobuf request.
        data: Binary,
    },
}

/// A coin as the queries answer it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Coin {
    /// The denomination.
    pub denom: String,
    /// The amount, in base units (decimal text for rewards).
    pub amount: String,
}

impl From<ProtoCoin> for Coin {
    fn from(c: ProtoCoin) -> Self {
        Self {
            denom: c.denom,
            amount: c.amount,
        }
    }
}

/// The JSON answer of a Stargate balance query.
#[derive(Deserialize)]
struct StargateBalance {
    balance: Coin,
}

/// Sets nothing up.
#[entry_point]
pub fn instantiate(
    _deps: DepsMut<'_>,
    _env: Env,
    _info: MessageInfo,
    _msg: InstantiateMsg,
) -> StdResult<Response> {
    Ok(Response::new())
}

/// Sends the protobuf message asked for.
#[entry_point]
pub fn execute(
    _deps: DepsMut<'_>,
    env: Env,
    _info: MessageInfo,
    msg: ExecuteMsg,
) -> StdResult<Response> {
    let me = env.contract.address.to_string();
    let coin = |denom: String, amount: Uint128| ProtoCoin {
        denom,
        amount: amount.to_string(),
    };
    let (action, msg) = match msg {
        ExecuteMsg::Send { to, denom, amount } => {
            let send = MsgSend {
                from_address: me,
                to_address: to,
                amount: vec![coin(denom, amount)],
            };
            let any = AnyMsg {
                type_url: MsgSend::type_url(),
                value: Binary::new(send.encode_to_vec()),
            };
            ("send", CosmosMsg::Any(any))
        }
        ExecuteMsg::Delegate {
            validator,
            denom,
            amount,
        } => {
            let delegate = MsgDelegate {
                delegator_address: me,
                validator_address: validator,
                amount: Some(coin(denom, amount)),
            };
            #[allow(deprecated)] // The older form, still what many contracts send.
            let msg = CosmosMsg::Stargate {
                type_url: MsgDelegate::type_url(),
                value: Binary::new(delegate.encode_to_vec()),
            };
            ("delegate", msg)
        }
        ExecuteMsg::Any { type_url, value } => ("any", CosmosMsg::Any(AnyMsg { type_url, value })),
    };
    Ok(Response::new()
        .add_attribute("action", action)
        .add_message(msg))
}

fn grpc<Req: Message, Res: Message + Default>(
    deps: Deps<'_>,
    path: &str,
    request: &Req,
) -> StdResult<Res> {
    let bytes = deps
        .querier
        .query_grpc(path.to_owned(), Binary::new(request.encode_to_vec()))?;
    Res::decode(bytes.as_slice())
        .map_err(|e| StdError::msg(format!("cannot decode the answer of {path}: {e}")))
}

/// Answers through gRPC and Stargate queries of the chain.
#[entry_point]
pub fn query(deps: Deps<'_>, env: Env, msg: QueryMsg) -> StdResult<Binary> {
    let me = env.contract.address.to_string();
    match msg {
        QueryMsg::Balance { denom } => {
            let request = QueryBalanceRequest { address: me, denom };
            let response: QueryBalanceResponse =
                grpc(deps, "/cosmos.bank.v1beta1.Query/Balance", &request)?;
            let balance = response
                .balance
                .ok_or_else(|| StdError::msg("the balance answer has no coin"))?;
            to_json_binary(&Coin::from(balance))
        }
        QueryMsg::StargateBalance { denom } => {
            let request = QueryBalanceRequest { address: me, denom };
            #[allow(deprecated)] // The older form, still what many contracts ask.
            let query = QueryRequest::Stargate {
                path: "/cosmos.bank.v1beta1.Query/Balance".to_owned(),
                data: Binary::new(request.encode_to_vec()),
            };
            // The answer is JSON, so cosmwasm-std's typed `query` reads it.
            let answer: StargateBalance = deps.querier.query(&query)?;
            to_json_binary(&answer.balance)
        }
        QueryMsg::Delegation { validator } => {
            let request = QueryDelegationRequest {
                delegator_addr: me,
                validator_addr: validator,
            };
            let response: QueryDelegationResponse =
                grpc(deps, "/cosmos.staking.v1beta1.Query/Delegation", &request)?;
            let balance = response
                .delegation_response
                .and_then(|r| r.balance)
                .ok_or_else(|| StdError::msg("the delegation answer has no balance"))?;
            to_json_binary(&Coin::from(balance))
        }
        QueryMsg::Rewards { validator } => {
            let request = QueryDelegationRewardsRequest {
                delegator_address: me,
                validator_address: validator,
            };
            let response: QueryDelegationRewardsResponse = grpc(
                deps,
                "/cosmos.distribution.v1beta1.Query/DelegationRewards",
                &request,
            )?;
            let rewards: Vec<Coin> = response
                .rewards
                .into_iter()
                .map(|c| Coin {
                    denom: c.denom,
                    amount: c.amount,
                })
                .collect();
            to_json_binary(&rewards)
        }
        QueryMsg::Grpc { path, data } => deps.querier.query_grpc(path, data),
    }
}

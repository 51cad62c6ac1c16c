//! A contract that stakes its own balance, built with cosmwasm-std's `staking` feature (so it
//! exports `requires_staking`): it delegates, undelegates, redelegates, withdraws its rewards and
//! sets its withdraw address with `CosmosMsg::Staking`/`Distribution`, and answers every staking
//! and distribution query through cosmwasm-std's typed querier, so the chain's answers are
//! checked against cosmwasm-std's own response types.

use cosmwasm_std::{
    entry_point, to_json_binary, Binary, Coin, Deps, DepsMut, DistributionMsg, Env, MessageInfo,
    Reply, Response, StakingMsg, StdResult, SubMsg, Uint128,
};
use serde::{Deserialize, Serialize};

/// `instantiate` takes any object.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct InstantiateMsg {}

/// What `execute` does, each with the contract as the delegator.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum ExecuteMsg {
    /// Bonds `amount` of the bonded denomination (asked of the chain) to `validator`.
    Delegate {
        /// The validator's operator address.
        validator: String,
        /// How much.
        amount: Uint128,
    },
    /// Unbonds `amount` from `validator`.
    Undelegate {
        /// The validator's operator address.
        validator: String,
        /// How much.
        amount: Uint128,
    },
    /// Moves `amount` from `src` to `dst`.
    Redelegate {
        /// From.
        src: String,
        /// To.
        dst: String,
        /// How much.
        amount: Uint128,
    },
    /// Withdraws the rewards of the delegation to `validator`.
    Withdraw {
        /// The validator's operator address.
        validator: String,
    },
    /// Sets where rewards are paid.
    SetWithdrawAddress {
        /// The address.
        address: String,
    },
    /// Sends any staking or distribution message as given (to check the chain's refusals).
    Raw {
        /// The message.
        msg: cosmwasm_std::CosmosMsg,
    },
    /// Sends the message as a submessage whose reply (always) records what it got.
    WithReply {
        /// The message.
        msg: cosmwasm_std::CosmosMsg,
    },
}

/// What `query` answers: each is the chain's answer, parsed into cosmwasm-std's response type
/// and returned as it is.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum QueryMsg {
    /// `BondedDenomResponse`'s denomination.
    BondedDenom {},
    /// `Vec<Validator>`.
    AllValidators {},
    /// `Option<Validator>`.
    Validator {
        /// The operator address.
        address: String,
    },
    /// The contract's `Vec<Delegation>`.
    AllDelegations {},
    /// The contract's `Option<FullDelegation>` with `validator`.
    Delegation {
        /// The operator address.
        validator: String,
    },
    /// The contract's withdraw address.
    WithdrawAddress {},
    /// `DelegationRewardsResponse` of the contract's delegation to `validator`.
    Rewards {
        /// The operator address.
        validator: String,
    },
    /// `DelegationTotalRewardsResponse` of the contract.
    TotalRewards {},
    /// `DelegatorValidatorsResponse` of the contract.
    DelegatorValidators {},
    /// The last reply's `SubMsgResult`, as received.
    LastReply {},
}

const LAST_REPLY: &[u8] = b"last_reply";

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

/// Sends the staking or distribution message asked for.
#[entry_point]
pub fn execute(
    deps: DepsMut<'_>,
    _env: Env,
    _info: MessageInfo,
    msg: ExecuteMsg,
) -> StdResult<Response> {
    let denom = deps.querier.query_bonded_denom()?;
    let coin = |amount: Uint128| Coin {
        denom: denom.clone(),
        amount: amount.into(),
    };
    let (action, msg): (&str, cosmwasm_std::CosmosMsg) = match msg {
        ExecuteMsg::Delegate { validator, amount } => (
            "delegate",
            StakingMsg::Delegate {
                validator,
                amount: coin(amount),
            }
            .into(),
        ),
        ExecuteMsg::Undelegate { validator, amount } => (
            "undelegate",
            StakingMsg::Undelegate {
                validator,
                amount: coin(amount),
            }
            .into(),
        ),
        ExecuteMsg::Redelegate { src, dst, amount } => (
            "redelegate",
            StakingMsg::Redelegate {
                src_validator: src,
                dst_validator: dst,
                amount: coin(amount),
            }
            .into(),
        ),
        ExecuteMsg::Withdraw { validator } => (
            "withdraw",
            DistributionMsg::WithdrawDelegatorReward { validator }.into(),
        ),
        ExecuteMsg::SetWithdrawAddress { address } => (
            "set_withdraw_address",
            DistributionMsg::SetWithdrawAddress { address }.into(),
        ),
        ExecuteMsg::Raw { msg } => ("raw", msg),
        ExecuteMsg::WithReply { msg } => {
            return Ok(Response::new()
                .add_attribute("action", "with_reply")
                .add_submessage(SubMsg::reply_always(msg, 1)))
        }
    };
    Ok(Response::new()
        .add_attribute("action", action)
        .add_message(msg))
}

/// Records the reply's result.
#[entry_point]
pub fn reply(deps: DepsMut<'_>, _env: Env, reply: Reply) -> StdResult<Response> {
    deps.storage
        .set(LAST_REPLY, &cosmwasm_std::to_json_vec(&reply.result)?);
    Ok(Response::new())
}

/// Answers through cosmwasm-std's typed querier.
#[entry_point]
pub fn query(deps: Deps<'_>, env: Env, msg: QueryMsg) -> StdResult<Binary> {
    let me = env.contract.address;
    let q = &deps.querier;
    match msg {
        QueryMsg::BondedDenom {} => to_json_binary(&q.query_bonded_denom()?),
        QueryMsg::AllValidators {} => to_json_binary(&q.query_all_validators()?),
        QueryMsg::Validator { address } => to_json_binary(&q.query_validator(address)?),
        QueryMsg::AllDelegations {} => to_json_binary(&q.query_all_delegations(&me)?),
        QueryMsg::Delegation { validator } => to_json_binary(&q.query_delegation(&me, validator)?),
        QueryMsg::WithdrawAddress {} => to_json_binary(&q.query_delegator_withdraw_address(&me)?),
        QueryMsg::Rewards { validator } => {
            to_json_binary(&q.query_delegation_rewards(&me, validator)?)
        }
        QueryMsg::TotalRewards {} => to_json_binary(&q.query_delegation_total_rewards(&me)?),
        QueryMsg::DelegatorValidators {} => to_json_binary(&q.query_delegator_validators(&me)?),
        QueryMsg::LastReply {} => Ok(Binary::new(
            deps.storage.get(LAST_REPLY).unwrap_or_default(),
        )),
    }
}

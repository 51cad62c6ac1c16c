//! `QueryRequest::Grpc` and `QueryRequest::Stargate`: a query path of the Cosmos SDK's gRPC
//! services, with its request protobuf-encoded, answered from the chain's state.
//!
//! The answer is encoded as wasmd encodes it: a gRPC query gets the response's protobuf bytes;
//! a Stargate query gets the same response in the SDK's JSON (`codec.ProtoMarshalJSON`: field
//! names as in the `.proto`, every field present, 64-bit integers and decimals as strings, enums
//! by name), which is what wasmd's accept-listed Stargate querier returns and what contracts
//! written for it decode. (cosmwasm-std's documentation of `Stargate` says protobuf; wasmd's
//! `AcceptListStargateQuerier`, CosmWasm/wasmd#1069, converts to JSON, and contracts follow
//! wasmd.)

use consign_types::canonicalize_address;
use cosmos_sdk_proto::cosmos::bank::v1beta1 as bank;
use cosmos_sdk_proto::cosmos::base::query::v1beta1::{PageRequest, PageResponse};
use cosmos_sdk_proto::cosmos::base::v1beta1::{Coin as ProtoCoin, DecCoin};
use cosmos_sdk_proto::cosmos::distribution::v1beta1 as distribution;
use cosmos_sdk_proto::cosmos::staking::v1beta1 as staking;
use cosmos_sdk_proto::prost::Message;
use cosmos_sdk_proto::tendermint::google::protobuf::Duration;
use cosmos_sdk_proto::Timestamp;
use cosmwasm_std::{Binary, BlockInfo, ContractResult, SystemError, SystemResult, Uint256};
use serde_json::{json, Value};

use crate::error::ChainError;
use crate::staking::{self as module, rewards, BOND_DENOM};
use crate::state;
use crate::store::Layers;

/// The query paths answered.
pub(crate) const PATHS: &[&str] = &[
    "/cosmos.bank.v1beta1.Query/Balance",
    "/cosmos.bank.v1beta1.Query/AllBalances",
    "/cosmos.bank.v1beta1.Query/SupplyOf",
    "/cosmos.staking.v1beta1.Query/Params",
    "/cosmos.staking.v1beta1.Query/Validator",
    "/cosmos.staking.v1beta1.Query/Delegation",
    "/cosmos.distribution.v1beta1.Query/DelegationRewards",
];

/// How the answer is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// The response's protobuf bytes (`QueryRequest::Grpc`).
    Proto,
    /// The response in the SDK's JSON (`QueryRequest::Stargate`).
    Json,
}

/// A response, in both of its encodings.
trait Response: Message {
    fn json(&self) -> Value;
}

/// What a query got: its response's bytes, or why it was refused (the contract sees the SDK's
/// reason as its query's error).
type Answered = Result<Result<Vec<u8>, String>, ChainError>;

/// Answers the query at `path` with the protobuf-encoded request `data`, as of `block`.
pub(crate) fn answer(
    layers: &Layers,
    block: &BlockInfo,
    path: &str,
    data: &[u8],
    encoding: Encoding,
) -> SystemResult<ContractResult<Binary>> {
    let answered = match path {
        "/cosmos.bank.v1beta1.Query/Balance" => balance(layers, data, encoding),
        "/cosmos.bank.v1beta1.Query/AllBalances" => all_balances(layers, data, encoding),
        "/cosmos.bank.v1beta1.Query/SupplyOf" => supply_of(layers, data, encoding),
        "/cosmos.staking.v1beta1.Query/Params" => staking_params(layers, data, encoding),
        "/cosmos.staking.v1beta1.Query/Validator" => validator(layers, data, encoding),
        "/cosmos.staking.v1beta1.Query/Delegation" => delegation(layers, data, encoding),
        "/cosmos.distribution.v1beta1.Query/DelegationRewards" => {
            rewards_of(layers, block, data, encoding)
        }
        _ => {
            return SystemResult::Err(SystemError::UnsupportedRequest {
                kind: format!(
                    "'{path}' path is not allowed from the contract (this chain answers {})",
                    PATHS.join(", ")
                ),
            })
        }
    };
    match answered {
        Ok(Ok(bytes)) => SystemResult::Ok(ContractResult::Ok(Binary::new(bytes))),
        Ok(Err(refused)) => SystemResult::Ok(ContractResult::Err(format!("{path}: {refused}"))),
        Err(e) => SystemResult::Ok(ContractResult::Err(format!("{path}: {e}"))),
    }
}

fn request<M: Message + Default>(data: &[u8]) -> Result<M, String> {
    M::decode(data).map_err(|e| format!("the request does not decode: {e}"))
}

fn encode(response: &impl Response, encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Proto => response.encode_to_vec(),
        Encoding::Json => serde_json::to_vec(&response.json()).unwrap_or_default(),
    }
}

fn account(address: &str) -> Result<(), String> {
    if address.is_empty() {
        return Err("empty address string is not allowed".to_owned());
    }
    canonicalize_address(address)
        .map(drop)
        .map_err(|e| format!("invalid address {address:?}: {e}"))
}

fn denom(denom: &str) -> Result<(), String> {
    if denom.is_empty() {
        return Err("invalid denom: it is empty".to_owned());
    }
    Ok(())
}

fn coin(denom: &str, amount: impl ToString) -> ProtoCoin {
    ProtoCoin {
        denom: denom.to_owned(),
        amount: amount.to_string(),
    }
}

/// Refuses a query whose request is wrong, with the SDK's reason.
macro_rules! check {
    ($e:expr) => {
        if let Err(refused) = $e {
            return Ok(Err(refused));
        }
    };
}

/// The request, or the query's refusal.
macro_rules! decoded {
    ($data:expr) => {
        match request($data) {
            Ok(r) => r,
            Err(refused) => return Ok(Err(refused)),
        }
    };
}

fn balance(layers: &Layers, data: &[u8], encoding: Encoding) -> Answered {
    let req: bank::QueryBalanceRequest = decoded!(data);
    check!(account(&req.address));
    check!(denom(&req.denom));
    let amount = state::read_u128(layers, &state::balance_key(&req.address, &req.denom))?;
    let response = bank::QueryBalanceResponse {
        balance: Some(coin(&req.denom, amount)),
    };
    Ok(Ok(encode(&response, encoding)))
}

fn all_balances(layers: &Layers, data: &[u8], encoding: Encoding) -> Answered {
    let req: bank::QueryAllBalancesRequest = decoded!(data);
    check!(account(&req.address));
    let balances: Vec<ProtoCoin> = state::balances(layers, &req.address)?
        .iter()
        .map(|c| coin(&c.denom, c.amount))
        .collect();
    let (balances, pagination) = match page(balances, |c| c.denom.as_bytes(), req.pagination) {
        Ok(paged) => paged,
        Err(refused) => return Ok(Err(refused)),
    };
    let response = bank::QueryAllBalancesResponse {
        balances,
        pagination: Some(pagination),
    };
    Ok(Ok(encode(&response, encoding)))
}

/// The page the SDK's `query.Paginate` gives of `items` (in their store order, by `key_of`):
/// from `key` (inclusive) or after `offset` items, `limit` of them (100 when not given, which
/// also counts the total), backwards when `reverse`; `next_key` is the key of the first item
/// left out.
fn page<T>(
    mut items: Vec<T>,
    key_of: impl Fn(&T) -> &[u8],
    request: Option<PageRequest>,
) -> Result<(Vec<T>, PageResponse), String> {
    const DEFAULT_LIMIT: u64 = 100;
    let request = request.unwrap_or_default();
    if request.offset > 0 && !request.key.is_empty() {
        return Err("paginate: invalid request, either offset or key is expected, got both".into());
    }
    let (limit, count_total) = match request.limit {
        0 => (DEFAULT_LIMIT, true),
        limit => (limit, request.count_total),
    };
    if request.reverse {
        items.reverse();
    }
    let total = items.len() as u64;
    let skip = if request.key.is_empty() {
        usize::try_from(request.offset).unwrap_or(usize::MAX)
    } else {
        let key = request.key.as_slice();
        items
            .iter()
            .position(|item| {
                if request.reverse {
                    key_of(item) <= key
                } else {
                    key_of(item) >= key
                }
            })
            .unwrap_or(items.len())
    };
    let mut rest = items.into_iter().skip(skip);
    let taken: Vec<T> = rest
        .by_ref()
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .collect();
    let next_key = rest
        .next()
        .map(|item| key_of(&item).to_vec())
        .unwrap_or_default();
    // As the SDK: a page asked for by key is not counted.
    let counted = count_total && request.key.is_empty();
    Ok((
        taken,
        PageResponse {
            next_key,
            total: if counted { total } else { 0 },
        },
    ))
}

fn supply_of(layers: &Layers, data: &[u8], encoding: Encoding) -> Answered {
    let req: bank::QuerySupplyOfRequest = decoded!(data);
    check!(denom(&req.denom));
    let amount = state::read_u128(layers, &state::supply_key(&req.denom))?;
    let response = bank::QuerySupplyOfResponse {
        amount: Some(coin(&req.denom, amount)),
    };
    Ok(Ok(encode(&response, encoding)))
}

/// A decimal (the SDK's `LegacyDec`) on the wire: the integer of its value × 10^18.
fn dec_wire(whole: u128) -> String {
    Uint256::from(whole)
        .saturating_mul(Uint256::from(10u128.pow(18)))
        .to_string()
}

/// A decimal in JSON: with its 18 decimals.
fn dec_json(wire: &str) -> String {
    let scaled = wire.parse::<Uint256>().unwrap_or_default();
    rewards::decimal_text(scaled)
}

/// The staking module's parameters; what contracts ask it for is mostly the unbonding time,
/// which no typed `StakingQuery` answers.
fn staking_params(layers: &Layers, data: &[u8], encoding: Encoding) -> Answered {
    let _: staking::QueryParamsRequest = decoded!(data);
    let params = module::params(layers)?;
    // The validator set is the genesis's and cannot grow (there is no MsgCreateValidator), so
    // its size is the most validators there can be. No commission: its minimum is zero. No
    // historical info is kept.
    let validators = module::validators(layers)?.len();
    let response = staking::QueryParamsResponse {
        params: Some(staking::Params {
            unbonding_time: Some(Duration {
                seconds: i64::try_from(params.unbonding_seconds).unwrap_or(i64::MAX),
                nanos: 0,
            }),
            max_validators: u32::try_from(validators).unwrap_or(u32::MAX),
            max_entries: u32::try_from(module::MAX_ENTRIES).unwrap_or(u32::MAX),
            historical_entries: 0,
            bond_denom: BOND_DENOM.to_owned(),
            min_commission_rate: dec_wire(0),
        }),
    };
    Ok(Ok(encode(&response, encoding)))
}

fn validator(layers: &Layers, data: &[u8], encoding: Encoding) -> Answered {
    let req: staking::QueryValidatorRequest = decoded!(data);
    if req.validator_addr.is_empty() {
        return Ok(Err("validator address cannot be empty".to_owned()));
    }
    let Some(record) = module::validator(layers, &req.validator_addr)? else {
        return Ok(Err(format!("validator {} not found", req.validator_addr)));
    };
    // Validators here are bonded from genesis and take no commission: the rates are zero and
    // were never changed (the Unix epoch, as the SDK's `NewValidator` sets unbonding_time).
    let epoch = Timestamp {
        seconds: 0,
        nanos: 0,
    };
    let response = staking::QueryValidatorResponse {
        validator: Some(staking::Validator {
            operator_address: req.validator_addr,
            consensus_pubkey: None,
            jailed: false,
            status: staking::BondStatus::Bonded as i32,
            tokens: record.tokens.to_string(),
            delegator_shares: dec_wire(record.tokens),
            description: Some(staking::Description {
                moniker: record.moniker,
                ..Default::default()
            }),
            unbonding_height: 0,
            unbonding_time: Some(epoch),
            commission: Some(staking::Commission {
                commission_rates: Some(staking::CommissionRates {
                    rate: dec_wire(0),
                    max_rate: dec_wire(0),
                    max_change_rate: dec_wire(0),
                }),
                update_time: Some(epoch),
            }),
            min_self_delegation: "1".to_owned(),
            unbonding_on_hold_ref_count: 0,
            unbonding_ids: Vec::new(),
        }),
    };
    Ok(Ok(encode(&response, encoding)))
}

fn delegation(layers: &Layers, data: &[u8], encoding: Encoding) -> Answered {
    let req: staking::QueryDelegationRequest = decoded!(data);
    if req.delegator_addr.is_empty() {
        return Ok(Err("delegator address cannot be empty".to_owned()));
    }
    if req.validator_addr.is_empty() {
        return Ok(Err("validator address cannot be empty".to_owned()));
    }
    check!(account(&req.delegator_addr));
    let Some(record) = module::delegation(layers, &req.delegator_addr, &req.validator_addr)? else {
        return Ok(Err(format!(
            "delegation with delegator {} not found for validator {}",
            req.delegator_addr, req.validator_addr
        )));
    };
    // One share per coin: nothing is ever slashed here.
    let response = staking::QueryDelegationResponse {
        delegation_response: Some(staking::DelegationResponse {
            delegation: Some(staking::Delegation {
                delegator_address: req.delegator_addr,
                validator_address: req.validator_addr,
                shares: dec_wire(record.amount),
            }),
            balance: Some(coin(BOND_DENOM, record.amount)),
        }),
    };
    Ok(Ok(encode(&response, encoding)))
}

fn rewards_of(layers: &Layers, block: &BlockInfo, data: &[u8], encoding: Encoding) -> Answered {
    let req: distribution::QueryDelegationRewardsRequest = decoded!(data);
    check!(account(&req.delegator_address));
    if module::validator(layers, &req.validator_address)?.is_none() {
        return Ok(Err("validator does not exist".to_owned()));
    }
    let Some(record) = module::delegation(layers, &req.delegator_address, &req.validator_address)?
    else {
        return Ok(Err("delegation does not exist".to_owned()));
    };
    let scaled = module::query::earned(layers, &record, block.height)?;
    let response = distribution::QueryDelegationRewardsResponse {
        // The SDK drops zero coins.
        rewards: if scaled.is_zero() {
            Vec::new()
        } else {
            vec![DecCoin {
                denom: BOND_DENOM.to_owned(),
                amount: scaled.to_string(),
            }]
        },
    };
    Ok(Ok(encode(&response, encoding)))
}

fn coin_json(coin: Option<&ProtoCoin>) -> Value {
    coin.map_or(
        Value::Null,
        |c| json!({"denom": c.denom, "amount": c.amount}),
    )
}

fn time_json(time: Option<&Timestamp>) -> Value {
    time.and_then(|t| {
        let seconds = u64::try_from(t.seconds).ok()?;
        let nanos = u64::try_from(t.nanos).ok()?;
        let time = cosmwasm_std::Timestamp::from_seconds(seconds).plus_nanos(nanos);
        Some(Value::String(module::time::rfc3339(time)))
    })
    .unwrap_or(Value::Null)
}

impl Response for bank::QueryBalanceResponse {
    fn json(&self) -> Value {
        json!({ "balance": coin_json(self.balance.as_ref()) })
    }
}

impl Response for bank::QueryAllBalancesResponse {
    fn json(&self) -> Value {
        let balances: Vec<Value> = self.balances.iter().map(|c| coin_json(Some(c))).collect();
        json!({
            "balances": balances,
            "pagination": self.pagination.as_ref().map(|p| json!({
                "next_key": (!p.next_key.is_empty()).then(|| Binary::from(p.next_key.clone())),
                "total": p.total.to_string(),
            })),
        })
    }
}

impl Response for bank::QuerySupplyOfResponse {
    fn json(&self) -> Value {
        json!({ "amount": coin_json(self.amount.as_ref()) })
    }
}

impl Response for staking::QueryParamsResponse {
    fn json(&self) -> Value {
        let p = self.params.clone().unwrap_or_default();
        json!({ "params": {
            // The SDK's JSON of a protobuf Duration: seconds with an `s`.
            "unbonding_time": p.unbonding_time.map(|d| format!("{}s", d.seconds)),
            "max_validators": p.max_validators,
            "max_entries": p.max_entries,
            "historical_entries": p.historical_entries,
            "bond_denom": p.bond_denom,
            "min_commission_rate": dec_json(&p.min_commission_rate),
        }})
    }
}

impl Response for staking::QueryValidatorResponse {
    fn json(&self) -> Value {
        let Some(v) = &self.validator else {
            return json!({ "validator": null });
        };
        let description = v.description.clone().unwrap_or_default();
        let commission = v.commission.clone().unwrap_or_default();
        let rates = commission.commission_rates.unwrap_or_default();
        json!({ "validator": {
            "operator_address": v.operator_address,
            "consensus_pubkey": null,
            "jailed": v.jailed,
            "status": v.status().as_str_name(),
            "tokens": v.tokens,
            "delegator_shares": dec_json(&v.delegator_shares),
            "description": {
                "moniker": description.moniker,
                "identity": description.identity,
                "website": description.website,
                "security_contact": description.security_contact,
                "details": description.details,
            },
            "unbonding_height": v.unbonding_height.to_string(),
            "unbonding_time": time_json(v.unbonding_time.as_ref()),
            "commission": {
                "commission_rates": {
                    "rate": dec_json(&rates.rate),
                    "max_rate": dec_json(&rates.max_rate),
                    "max_change_rate": dec_json(&rates.max_change_rate),
                },
                "update_time": time_json(commission.update_time.as_ref()),
            },
            "min_self_delegation": v.min_self_delegation,
            "unbonding_on_hold_ref_count": v.unbonding_on_hold_ref_count.to_string(),
            "unbonding_ids": v.unbonding_ids.iter().map(u64::to_string).collect::<Vec<_>>(),
        }})
    }
}

impl Response for staking::QueryDelegationResponse {
    fn json(&self) -> Value {
        let Some(r) = &self.delegation_response else {
            return json!({ "delegation_response": null });
        };
        json!({ "delegation_response": {
            "delegation": r.delegation.as_ref().map(|d| json!({
                "delegator_address": d.delegator_address,
                "validator_address": d.validator_address,
                "shares": dec_json(&d.shares),
            })),
            "balance": coin_json(r.balance.as_ref()),
        }})
    }
}

impl Response for distribution::QueryDelegationRewardsResponse {
    fn json(&self) -> Value {
        let rewards: Vec<Value> = self
            .rewards
            .iter()
            .map(|c| json!({"denom": c.denom, "amount": dec_json(&c.amount)}))
            .collect();
        json!({ "rewards": rewards })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paged(request: PageRequest) -> Result<(Vec<&'static str>, Vec<u8>, u64), String> {
        let denoms = vec!["a", "b", "c", "d", "e"];
        page(denoms, |d| d.as_bytes(), Some(request)).map(|(d, p)| (d, p.next_key, p.total))
    }

    #[test]
    fn the_staking_parameters_in_the_sdks_json() {
        let block = BlockInfo {
            height: 1,
            time: cosmwasm_std::Timestamp::from_seconds(1),
            chain_id: "c".into(),
        };
        let answered = answer(
            &Layers::default(),
            &block,
            "/cosmos.staking.v1beta1.Query/Params",
            &[],
            Encoding::Json,
        );
        let SystemResult::Ok(ContractResult::Ok(bytes)) = answered else {
            panic!("{answered:?}");
        };
        let unbonding = crate::genesis::StakingGenesis::default().unbonding_seconds;
        assert_eq!(
            serde_json::from_slice::<Value>(&bytes).unwrap(),
            json!({"params": {
                "unbonding_time": format!("{unbonding}s"),
                "max_validators": 0,
                "max_entries": 7,
                "historical_entries": 0,
                "bond_denom": "ucsn",
                "min_commission_rate": "0.000000000000000000",
            }})
        );
    }

    #[test]
    fn pages_follow_the_sdks_paginate() {
        // Nothing asked: everything (up to 100), counted.
        let all = page(vec!["a", "b"], |d| d.as_bytes(), None).unwrap();
        assert_eq!(
            (all.0, all.1.next_key, all.1.total),
            (vec!["a", "b"], vec![], 2)
        );
        // A limit: that many, the next one's key, counted only when asked.
        let first = || PageRequest {
            limit: 2,
            ..Default::default()
        };
        assert_eq!(paged(first()), Ok((vec!["a", "b"], b"c".to_vec(), 0)));
        let counted = PageRequest {
            count_total: true,
            ..first()
        };
        assert_eq!(paged(counted), Ok((vec!["a", "b"], b"c".to_vec(), 5)));
        // Following the next key to the end, which has none.
        let next = PageRequest {
            key: b"c".to_vec(),
            ..first()
        };
        assert_eq!(paged(next), Ok((vec!["c", "d"], b"e".to_vec(), 0)));
        let last = PageRequest {
            key: b"e".to_vec(),
            ..first()
        };
        assert_eq!(paged(last), Ok((vec!["e"], vec![], 0)));
        // By offset, and backwards.
        let offset = PageRequest {
            offset: 4,
            ..first()
        };
        assert_eq!(paged(offset), Ok((vec!["e"], vec![], 0)));
        let backwards = PageRequest {
            reverse: true,
            key: b"c".to_vec(),
            ..first()
        };
        assert_eq!(paged(backwards), Ok((vec!["c", "b"], b"a".to_vec(), 0)));
        // Key and offset together are refused, as the SDK refuses them.
        let both = PageRequest {
            key: b"b".to_vec(),
            offset: 1,
            ..first()
        };
        assert!(paged(both).unwrap_err().contains("either offset or key"));
    }
}

//! `CosmosMsg::Any` and `CosmosMsg::Stargate`: the protobuf message is decoded by its type URL
//! and becomes the typed `CosmosMsg` the chain already carries out (bank send, staking,
//! distribution). As wasmd, the message's signer must be the contract that sends it, and a type
//! URL without a handler fails the call.

use std::borrow::Cow;
use std::str::FromStr;

use cosmos_sdk_proto::cosmos::bank::v1beta1 as bank;
use cosmos_sdk_proto::cosmos::base::v1beta1::Coin as ProtoCoin;
use cosmos_sdk_proto::cosmos::distribution::v1beta1 as distribution;
use cosmos_sdk_proto::cosmos::staking::v1beta1 as staking;
use cosmos_sdk_proto::prost::{Message, Name};
use cosmwasm_std::{AnyMsg, BankMsg, Coin, CosmosMsg, DistributionMsg, Empty, StakingMsg, Uint256};

use crate::error::ExecError;

/// The type URLs routed, in the order of the error that lists them.
pub(crate) const MESSAGES: &[&str] = &[
    "/cosmos.bank.v1beta1.MsgSend",
    "/cosmos.staking.v1beta1.MsgDelegate",
    "/cosmos.staking.v1beta1.MsgUndelegate",
    "/cosmos.staking.v1beta1.MsgBeginRedelegate",
    "/cosmos.distribution.v1beta1.MsgWithdrawDelegatorReward",
    "/cosmos.distribution.v1beta1.MsgSetWithdrawAddress",
    "/cosmos.distribution.v1beta1.MsgFundCommunityPool",
];

/// A decoded message: who signs it (the field and its value), and its typed twin.
struct Decoded {
    signer_field: &'static str,
    signer: String,
    msg: CosmosMsg<Empty>,
}

/// The typed message a protobuf message from `sender` stands for.
///
/// # Errors
/// [`ExecError::Unsupported`] for a type URL this chain has no handler for;
/// [`ExecError::Invalid`] for bytes that do not decode as that type, a coin amount that is not
/// a number, a missing amount, or a signer other than `sender`.
pub(crate) fn route(
    sender: &str,
    type_url: &str,
    value: &[u8],
) -> Result<CosmosMsg<Empty>, ExecError> {
    let decoded = decode(type_url, value)?;
    if decoded.signer != sender {
        return Err(ExecError::Invalid(format!(
            "{type_url} has {} {:?}, but a contract may only send messages it signs itself \
             ({sender}): contract doesn't have permission",
            decoded.signer_field, decoded.signer
        )));
    }
    Ok(decoded.msg)
}

/// The typed twin of a protobuf message that decodes, else the message itself: what a reply's
/// `msg_responses` are shaped by.
pub(crate) fn typed(msg: &CosmosMsg<Empty>) -> Cow<'_, CosmosMsg<Empty>> {
    #[allow(deprecated)] // `Stargate` is deprecated for `Any`; contracts still send it.
    let (type_url, value) = match msg {
        CosmosMsg::Any(AnyMsg { type_url, value }) | CosmosMsg::Stargate { type_url, value } => {
            (type_url, value)
        }
        _ => return Cow::Borrowed(msg),
    };
    decode(type_url, value).map_or(Cow::Borrowed(msg), |decoded| Cow::Owned(decoded.msg))
}

fn decode(type_url: &str, value: &[u8]) -> Result<Decoded, ExecError> {
    let decoded = match type_url {
        "/cosmos.bank.v1beta1.MsgSend" => {
            let m: bank::MsgSend = parse(value)?;
            Decoded {
                signer_field: "from_address",
                signer: m.from_address,
                msg: CosmosMsg::Bank(BankMsg::Send {
                    to_address: m.to_address,
                    amount: coins::<bank::MsgSend>(&m.amount)?,
                }),
            }
        }
        "/cosmos.staking.v1beta1.MsgDelegate" => {
            let m: staking::MsgDelegate = parse(value)?;
            Decoded {
                signer_field: "delegator_address",
                signer: m.delegator_address,
                msg: CosmosMsg::Staking(StakingMsg::Delegate {
                    validator: m.validator_address,
                    amount: amount::<staking::MsgDelegate>(m.amount.as_ref())?,
                }),
            }
        }
        "/cosmos.staking.v1beta1.MsgUndelegate" => {
            let m: staking::MsgUndelegate = parse(value)?;
            Decoded {
                signer_field: "delegator_address",
                signer: m.delegator_address,
                msg: CosmosMsg::Staking(StakingMsg::Undelegate {
                    validator: m.validator_address,
                    amount: amount::<staking::MsgUndelegate>(m.amount.as_ref())?,
                }),
            }
        }
        "/cosmos.staking.v1beta1.MsgBeginRedelegate" => {
            let m: staking::MsgBeginRedelegate = parse(value)?;
            Decoded {
                signer_field: "delegator_address",
                signer: m.delegator_address,
                msg: CosmosMsg::Staking(StakingMsg::Redelegate {
                    src_validator: m.validator_src_address,
                    dst_validator: m.validator_dst_address,
                    amount: amount::<staking::MsgBeginRedelegate>(m.amount.as_ref())?,
                }),
            }
        }
        "/cosmos.distribution.v1beta1.MsgWithdrawDelegatorReward" => {
            let m: distribution::MsgWithdrawDelegatorReward = parse(value)?;
            Decoded {
                signer_field: "delegator_address",
                signer: m.delegator_address,
                msg: CosmosMsg::Distribution(DistributionMsg::WithdrawDelegatorReward {
                    validator: m.validator_address,
                }),
            }
        }
        "/cosmos.distribution.v1beta1.MsgSetWithdrawAddress" => {
            let m: distribution::MsgSetWithdrawAddress = parse(value)?;
            Decoded {
                signer_field: "delegator_address",
                signer: m.delegator_address,
                msg: CosmosMsg::Distribution(DistributionMsg::SetWithdrawAddress {
                    address: m.withdraw_address,
                }),
            }
        }
        "/cosmos.distribution.v1beta1.MsgFundCommunityPool" => {
            let m: distribution::MsgFundCommunityPool = parse(value)?;
            Decoded {
                signer_field: "depositor",
                signer: m.depositor,
                msg: CosmosMsg::Distribution(DistributionMsg::FundCommunityPool {
                    amount: coins::<distribution::MsgFundCommunityPool>(&m.amount)?,
                }),
            }
        }
        other => {
            return Err(ExecError::Unsupported(format!(
                "no message type is registered for type URL {other:?} (unable to resolve type \
                 URL {other}); this chain routes {}",
                MESSAGES.join(", ")
            )))
        }
    };
    Ok(decoded)
}

fn parse<M: Message + Name + Default>(value: &[u8]) -> Result<M, ExecError> {
    M::decode(value).map_err(|e| {
        ExecError::Invalid(format!(
            "the value of a {} message does not decode: {e}",
            M::type_url()
        ))
    })
}

fn coin<M: Name>(coin: &ProtoCoin) -> Result<Coin, ExecError> {
    let amount = Uint256::from_str(&coin.amount).map_err(|_| {
        ExecError::Invalid(format!(
            "{}: invalid coin amount {:?} of {:?} (a whole number of base units)",
            M::type_url(),
            coin.amount,
            coin.denom
        ))
    })?;
    Ok(Coin::new(amount, coin.denom.clone()))
}

fn coins<M: Name>(list: &[ProtoCoin]) -> Result<Vec<Coin>, ExecError> {
    list.iter().map(coin::<M>).collect()
}

/// The one coin a staking message moves; the SDK refuses a message without it.
fn amount<M: Name>(amount: Option<&ProtoCoin>) -> Result<Coin, ExecError> {
    let amount = amount.ok_or_else(|| {
        ExecError::Invalid(format!(
            "{}: invalid delegation amount: the message has no amount",
            M::type_url()
        ))
    })?;
    coin::<M>(amount)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_routed_type_urls_are_the_published_types_names() {
        assert_eq!(
            MESSAGES,
            [
                bank::MsgSend::type_url(),
                staking::MsgDelegate::type_url(),
                staking::MsgUndelegate::type_url(),
                staking::MsgBeginRedelegate::type_url(),
                distribution::MsgWithdrawDelegatorReward::type_url(),
                distribution::MsgSetWithdrawAddress::type_url(),
                distribution::MsgFundCommunityPool::type_url(),
            ]
        );
    }

    #[test]
    fn a_send_becomes_the_bank_message_of_its_signer_only() {
        let send = bank::MsgSend {
            from_address: "contract".into(),
            to_address: "bob".into(),
            amount: vec![ProtoCoin {
                denom: "ucsn".into(),
                amount: "25".into(),
            }],
        }
        .encode_to_vec();
        let url = "/cosmos.bank.v1beta1.MsgSend";
        assert_eq!(
            route("contract", url, &send).unwrap(),
            CosmosMsg::Bank(BankMsg::Send {
                to_address: "bob".into(),
                amount: vec![Coin::new(25u128, "ucsn")],
            })
        );
        let stolen = route("thief", url, &send).unwrap_err().to_string();
        assert!(
            stolen.contains(r#"has from_address "contract""#)
                && stolen.contains("contract doesn't have permission"),
            "{stolen}"
        );
    }

    #[test]
    fn bad_input_is_refused_with_the_reason() {
        let unknown = route("c", "/cosmos.gov.v1.MsgVote", b"").unwrap_err();
        assert_eq!(unknown.code(), 4);
        assert!(
            unknown
                .to_string()
                .contains(r#"no message type is registered for type URL "/cosmos.gov.v1.MsgVote""#),
            "{unknown}"
        );
        let garbage = route("c", "/cosmos.staking.v1beta1.MsgDelegate", b"\xff\xff").unwrap_err();
        assert!(
            garbage.to_string().contains(
                "the value of a /cosmos.staking.v1beta1.MsgDelegate message does not decode"
            ),
            "{garbage}"
        );
        let no_amount = staking::MsgDelegate {
            delegator_address: "c".into(),
            validator_address: "v".into(),
            amount: None,
        }
        .encode_to_vec();
        let refused = route("c", "/cosmos.staking.v1beta1.MsgDelegate", &no_amount).unwrap_err();
        assert!(refused.to_string().contains("has no amount"), "{refused}");
        let negative = bank::MsgSend {
            from_address: "c".into(),
            to_address: "b".into(),
            amount: vec![ProtoCoin {
                denom: "ucsn".into(),
                amount: "-5".into(),
            }],
        }
        .encode_to_vec();
        let refused = route("c", "/cosmos.bank.v1beta1.MsgSend", &negative).unwrap_err();
        assert!(
            refused.to_string().contains(r#"invalid coin amount "-5""#),
            "{refused}"
        );
    }
}

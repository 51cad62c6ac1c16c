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

/// A protobuf message this chain carries out: who signs it, and the typed `CosmosMsg` it
/// stands for.
trait Routed: Message + Name + Default {
    /// The signer's field name (for the refusal) and its value.
    fn signer(&self) -> (&'static str, &str);
    /// The typed message; an amount that is not a number or is missing is refused.
    fn typed(self) -> Result<CosmosMsg<Empty>, ExecError>;
}

/// One routed type: its URL (the published type's own) and how its bytes are decoded.
struct Route {
    type_url: fn() -> String,
    decode: fn(&[u8]) -> Result<Decoded, ExecError>,
}

const fn route_of<M: Routed>() -> Route {
    Route {
        type_url: M::type_url,
        decode: decode_as::<M>,
    }
}

/// The types routed, in the order of the error that lists them.
const ROUTES: &[Route] = &[
    route_of::<bank::MsgSend>(),
    route_of::<staking::MsgDelegate>(),
    route_of::<staking::MsgUndelegate>(),
    route_of::<staking::MsgBeginRedelegate>(),
    route_of::<distribution::MsgWithdrawDelegatorReward>(),
    route_of::<distribution::MsgSetWithdrawAddress>(),
    route_of::<distribution::MsgFundCommunityPool>(),
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
    if !same_account(&decoded.signer, sender) {
        return Err(ExecError::Invalid(format!(
            "{type_url} has {} {:?}, but a contract may only send messages it signs itself \
             ({sender}): contract doesn't have permission",
            decoded.signer_field, decoded.signer
        )));
    }
    Ok(decoded.msg)
}

/// Whether `signer` names the account `sender` (a normalised, lower-case address): bech32 is
/// read without regard to case but not in mixed case, so the SDK, which compares the decoded
/// bytes, takes the all-upper-case spelling of the sender as the sender too.
fn same_account(signer: &str, sender: &str) -> bool {
    signer == sender
        || (signer == signer.to_ascii_uppercase() && signer.eq_ignore_ascii_case(sender))
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
    let Some(route) = ROUTES.iter().find(|r| (r.type_url)() == type_url) else {
        let routed: Vec<String> = ROUTES.iter().map(|r| (r.type_url)()).collect();
        return Err(ExecError::Unsupported(format!(
            "no message type is registered for type URL {type_url:?} (unable to resolve type \
             URL {type_url}); this chain routes {}",
            routed.join(", ")
        )));
    };
    (route.decode)(value)
}

fn decode_as<M: Routed>(value: &[u8]) -> Result<Decoded, ExecError> {
    let m: M = parse(value)?;
    let (signer_field, signer) = m.signer();
    let signer = signer.to_owned();
    Ok(Decoded {
        signer_field,
        signer,
        msg: m.typed()?,
    })
}

impl Routed for bank::MsgSend {
    fn signer(&self) -> (&'static str, &str) {
        ("from_address", &self.from_address)
    }
    fn typed(self) -> Result<CosmosMsg<Empty>, ExecError> {
        Ok(CosmosMsg::Bank(BankMsg::Send {
            amount: coins::<Self>(&self.amount)?,
            to_address: self.to_address,
        }))
    }
}

impl Routed for staking::MsgDelegate {
    fn signer(&self) -> (&'static str, &str) {
        ("delegator_address", &self.delegator_address)
    }
    fn typed(self) -> Result<CosmosMsg<Empty>, ExecError> {
        Ok(CosmosMsg::Staking(StakingMsg::Delegate {
            amount: amount::<Self>(self.amount.as_ref())?,
            validator: self.validator_address,
        }))
    }
}

impl Routed for staking::MsgUndelegate {
    fn signer(&self) -> (&'static str, &str) {
        ("delegator_address", &self.delegator_address)
    }
    fn typed(self) -> Result<CosmosMsg<Empty>, ExecError> {
        Ok(CosmosMsg::Staking(StakingMsg::Undelegate {
            amount: amount::<Self>(self.amount.as_ref())?,
            validator: self.validator_address,
        }))
    }
}

impl Routed for staking::MsgBeginRedelegate {
    fn signer(&self) -> (&'static str, &str) {
        ("delegator_address", &self.delegator_address)
    }
    fn typed(self) -> Result<CosmosMsg<Empty>, ExecError> {
        Ok(CosmosMsg::Staking(StakingMsg::Redelegate {
            amount: amount::<Self>(self.amount.as_ref())?,
            src_validator: self.validator_src_address,
            dst_validator: self.validator_dst_address,
        }))
    }
}

impl Routed for distribution::MsgWithdrawDelegatorReward {
    fn signer(&self) -> (&'static str, &str) {
        ("delegator_address", &self.delegator_address)
    }
    fn typed(self) -> Result<CosmosMsg<Empty>, ExecError> {
        Ok(CosmosMsg::Distribution(
            DistributionMsg::WithdrawDelegatorReward {
                validator: self.validator_address,
            },
        ))
    }
}

impl Routed for distribution::MsgSetWithdrawAddress {
    fn signer(&self) -> (&'static str, &str) {
        ("delegator_address", &self.delegator_address)
    }
    fn typed(self) -> Result<CosmosMsg<Empty>, ExecError> {
        Ok(CosmosMsg::Distribution(
            DistributionMsg::SetWithdrawAddress {
                address: self.withdraw_address,
            },
        ))
    }
}

impl Routed for distribution::MsgFundCommunityPool {
    fn signer(&self) -> (&'static str, &str) {
        ("depositor", &self.depositor)
    }
    fn typed(self) -> Result<CosmosMsg<Empty>, ExecError> {
        Ok(CosmosMsg::Distribution(
            DistributionMsg::FundCommunityPool {
                amount: coins::<Self>(&self.amount)?,
            },
        ))
    }
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
    fn an_unknown_type_url_is_refused_naming_every_routed_one() {
        let refused = route("c", "/cosmos.gov.v1.MsgVote", b"")
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains(
                "this chain routes /cosmos.bank.v1beta1.MsgSend, \
                 /cosmos.staking.v1beta1.MsgDelegate, /cosmos.staking.v1beta1.MsgUndelegate, \
                 /cosmos.staking.v1beta1.MsgBeginRedelegate, \
                 /cosmos.distribution.v1beta1.MsgWithdrawDelegatorReward, \
                 /cosmos.distribution.v1beta1.MsgSetWithdrawAddress, \
                 /cosmos.distribution.v1beta1.MsgFundCommunityPool"
            ),
            "{refused}"
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
    fn the_signer_is_compared_as_an_account_not_as_text() {
        let contract = consign_types::humanize_address(&consign_types::contract_address(1, 1));
        let upper = bank::MsgSend {
            from_address: contract.to_uppercase(),
            to_address: "bob".into(),
            amount: Vec::new(),
        }
        .encode_to_vec();
        assert!(route(&contract, "/cosmos.bank.v1beta1.MsgSend", &upper).is_ok());
        let other = consign_types::humanize_address(&consign_types::contract_address(1, 2));
        assert!(route(&other, "/cosmos.bank.v1beta1.MsgSend", &upper).is_err());
        // Mixed case is no bech32 spelling at all.
        let mut mixed = contract.to_uppercase();
        mixed.replace_range(..1, "c");
        let mixed = bank::MsgSend {
            from_address: mixed,
            to_address: "bob".into(),
            amount: Vec::new(),
        }
        .encode_to_vec();
        assert!(route(&contract, "/cosmos.bank.v1beta1.MsgSend", &mixed).is_err());
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

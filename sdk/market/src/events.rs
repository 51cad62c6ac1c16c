//! What the contract says in its events: the attribute keys tools read, and readers for them.
//!
//! The runtime puts a contract's attributes in a `wasm` event together with
//! `_contract_address`, as wasmd does; the readers look only at the events of the contract named,
//! so a transaction that also calls other contracts cannot mislead them.

use consign_sdk::cosmwasm_std::Event;
use thiserror::Error;

/// The attribute with the offer's id: on `create_offer` (the new offer's), `update_offer`,
/// `withdraw_offer` and `purchase`.
pub const OFFER_ID: &str = "offer_id";
/// The attribute with the purchase's id: on `purchase` (the new purchase's), `confirm_receipt`,
/// `claim_payment`, `dispute` and `resolve`.
pub const PURCHASE_ID: &str = "purchase_id";

/// The type of the events that carry contracts' attributes.
const WASM_EVENT: &str = "wasm";
/// The attribute that names the contract in a `wasm` event.
const CONTRACT_ADDRESS: &str = "_contract_address";

/// Why an id could not be read from a transaction's events.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AttributeError {
    /// No `wasm` event of the contract has the attribute.
    #[error(
        "the contract's response has no `{key}` attribute: is {contract} a data-sale contract?"
    )]
    Missing {
        /// The attribute's key.
        key: String,
        /// The contract's address.
        contract: String,
    },
    /// The attribute is there but is not a number.
    #[error("the `{key}` attribute is not a number: {value:?}")]
    NotANumber {
        /// The attribute's key.
        key: String,
        /// Its value.
        value: String,
    },
}

/// The value of attribute `key` in the first `wasm` event of `contract` that has it.
pub fn contract_attribute<'a>(events: &'a [Event], contract: &str, key: &str) -> Option<&'a str> {
    events
        .iter()
        .filter(|event| event.ty == WASM_EVENT)
        .filter(|event| {
            event
                .attributes
                .iter()
                .any(|a| a.key == CONTRACT_ADDRESS && a.value == contract)
        })
        .flat_map(|event| &event.attributes)
        .find(|a| a.key == key)
        .map(|a| a.value.as_str())
}

/// The number in attribute `key` of `contract`'s events.
///
/// # Errors
///
/// If no event of the contract has the attribute, or its value is not a `u64`.
pub fn contract_attribute_u64(
    events: &[Event],
    contract: &str,
    key: &str,
) -> Result<u64, AttributeError> {
    let value =
        contract_attribute(events, contract, key).ok_or_else(|| AttributeError::Missing {
            key: key.to_owned(),
            contract: contract.to_owned(),
        })?;
    value.parse().map_err(|_| AttributeError::NotANumber {
        key: key.to_owned(),
        value: value.to_owned(),
    })
}

/// The id of the offer a committed `create_offer` made.
///
/// # Errors
///
/// As [`contract_attribute_u64`].
pub fn created_offer_id(events: &[Event], contract: &str) -> Result<u64, AttributeError> {
    contract_attribute_u64(events, contract, OFFER_ID)
}

/// The id of the purchase a committed `purchase` made.
///
/// # Errors
///
/// As [`contract_attribute_u64`].
pub fn created_purchase_id(events: &[Event], contract: &str) -> Result<u64, AttributeError> {
    contract_attribute_u64(events, contract, PURCHASE_ID)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wasm(contract: &str, attributes: &[(&str, &str)]) -> Event {
        Event::new(WASM_EVENT)
            .add_attribute(CONTRACT_ADDRESS, contract)
            .add_attributes(attributes.iter().copied())
    }

    #[test]
    fn reads_only_the_named_contracts_attributes() {
        let events = [
            Event::new("transfer").add_attribute(OFFER_ID, "9"),
            wasm("consign1other", &[(OFFER_ID, "8")]),
            wasm(
                "consign1market",
                &[("action", "create_offer"), (OFFER_ID, "3")],
            ),
        ];
        assert_eq!(created_offer_id(&events, "consign1market"), Ok(3));
        assert_eq!(
            created_purchase_id(&events, "consign1market"),
            Err(AttributeError::Missing {
                key: PURCHASE_ID.to_owned(),
                contract: "consign1market".to_owned()
            })
        );
        let bad = [wasm("consign1market", &[(PURCHASE_ID, "x")])];
        let err = created_purchase_id(&bad, "consign1market").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the `purchase_id` attribute is not a number: \"x\""
        );
    }
}

//! Events in CosmWasm's format, built without `cosmwasm-std`'s constructors (which refuse the
//! `_contract_address` key that only the chain may write).

use cosmwasm_std::{Attribute, Event};

/// An attribute, reserved keys allowed.
pub(crate) fn attr(key: impl Into<String>, value: impl Into<String>) -> Attribute {
    Attribute {
        key: key.into(),
        value: value.into(),
    }
}

/// An event with these attributes.
pub(crate) fn event(
    ty: impl Into<String>,
    attributes: impl IntoIterator<Item = Attribute>,
) -> Event {
    let mut event = Event::new(ty);
    event.attributes.extend(attributes);
    event
}

/// Refuses attributes a contract may not set: empty keys and the reserved `_` prefix.
pub(crate) fn check_contract_attributes<'a>(
    attributes: impl IntoIterator<Item = &'a Attribute>,
) -> Result<(), String> {
    for a in attributes {
        if a.key.trim().is_empty() {
            return Err("an attribute key is empty".into());
        }
        if a.key.starts_with('_') {
            return Err(format!(
                "attribute key {:?} starts with the reserved prefix \"_\"",
                a.key
            ));
        }
    }
    Ok(())
}

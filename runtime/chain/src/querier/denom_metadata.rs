//! `BankQuery::DenomMetadata` and `AllDenomMetadata` (capability `cosmwasm_1_3`). The chain has
//! one denomination with metadata, its native `ucsn`, described here as the Cosmos SDK's bank
//! module would hold it; other denominations (only genesis can create them) have none, and
//! asking for theirs fails as it does on a Cosmos SDK chain.

use consign_types::NATIVE_DENOM;
use serde_json::{json, Value};

/// The native denomination's metadata, in cosmwasm-std's `DenomMetadata` JSON.
fn native() -> Value {
    json!({
        "description": "The native token of a Consign chain: it pays fees and purchases.",
        "denom_units": [
            {"denom": NATIVE_DENOM, "exponent": 0, "aliases": ["microcsn"]},
            {"denom": "csn", "exponent": 6, "aliases": []}
        ],
        "base": NATIVE_DENOM,
        "display": "csn",
        "name": "Consign",
        "symbol": "CSN",
        "uri": "",
        "uri_hash": ""
    })
}

/// `DenomMetadataResponse`, or why there is none.
pub(super) fn one(denom: &str) -> Result<Value, String> {
    if denom == NATIVE_DENOM {
        Ok(json!({ "metadata": native() }))
    } else {
        Err(format!(
            "no metadata for denomination {denom:?}: this chain has metadata for {NATIVE_DENOM} only"
        ))
    }
}

/// `AllDenomMetadataResponse`: one entry, so every page request is answered whole.
pub(super) fn all() -> Value {
    json!({ "metadata": [native()], "next_key": null })
}

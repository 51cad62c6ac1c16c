//! The two state machines a reader of the market follows: an offer's [`OfferStatus`] and a
//! purchase's [`Escrow`]. The contract stores them as they are answered.

use std::fmt;

use cosmwasm_schema::cw_serde;

/// Whether an offer can still be purchased.
#[cw_serde]
#[derive(Copy, Eq)]
pub enum OfferStatus {
    /// Open for purchase (unless past its expiry).
    Active,
    /// Withdrawn by the seller; it cannot be purchased or updated again.
    Withdrawn,
}

impl OfferStatus {
    /// The status as it appears in JSON: `active` or `withdrawn`.
    pub fn as_str(self) -> &'static str {
        match self {
            OfferStatus::Active => "active",
            OfferStatus::Withdrawn => "withdrawn",
        }
    }
}

impl fmt::Display for OfferStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a purchase's payment is.
#[cw_serde]
#[derive(Copy, Eq)]
pub enum Escrow {
    /// Held by the contract; the buyer may confirm or (within the window) dispute, the seller may
    /// claim after the window.
    Held,
    /// The buyer disputed; the arbiter decides.
    Disputed,
    /// Paid to the seller (final).
    Released,
    /// Refunded to the buyer (final).
    Refunded,
}

impl Escrow {
    /// The state as it appears in JSON and in the contract's `outcome` attribute: `held`,
    /// `disputed`, `released` or `refunded`.
    pub fn as_str(self) -> &'static str {
        match self {
            Escrow::Held => "held",
            Escrow::Disputed => "disputed",
            Escrow::Released => "released",
            Escrow::Refunded => "refunded",
        }
    }
}

impl fmt::Display for Escrow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_the_json_name() {
        for status in [OfferStatus::Active, OfferStatus::Withdrawn] {
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{status}\""));
        }
        for state in [
            Escrow::Held,
            Escrow::Disputed,
            Escrow::Released,
            Escrow::Refunded,
        ] {
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{state}\""));
        }
    }
}

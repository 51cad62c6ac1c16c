//! [`Bech32Api`]: Cosmos-style bech32 addresses, the address API of the Consign chain.

use bech32::{Bech32, Hrp};

use super::{BackendApi, BackendError, BackendResult};

/// Shortest canonical address accepted (bytes).
const MIN_CANONICAL_LENGTH: usize = 1;
/// Longest canonical address accepted (bytes): 32 covers contract addresses.
const MAX_CANONICAL_LENGTH: usize = 64;

/// Converts between bech32 addresses with a fixed prefix and their canonical bytes.
#[derive(Debug, Clone)]
pub struct Bech32Api {
    hrp: Hrp,
}

impl Bech32Api {
    /// An API for addresses with this human-readable prefix (`consign` on the Consign chain).
    ///
    /// # Errors
    /// If the prefix is not a valid bech32 human-readable part.
    pub fn new(prefix: &str) -> BackendResult<Self> {
        let hrp = Hrp::parse(prefix)
            .map_err(|e| BackendError::unknown(format!("invalid bech32 prefix {prefix:?}: {e}")))?;
        Ok(Self { hrp })
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        self.hrp.as_str()
    }
}

impl BackendApi for Bech32Api {
    fn addr_canonicalize(&self, human: &str) -> BackendResult<Vec<u8>> {
        let (hrp, data) = bech32::decode(human)
            .map_err(|e| BackendError::user_err(format!("Error decoding bech32: {e}")))?;
        if hrp != self.hrp {
            return Err(BackendError::user_err(format!(
                "Wrong bech32 prefix: expected {}, got {}",
                self.hrp, hrp
            )));
        }
        if !(MIN_CANONICAL_LENGTH..=MAX_CANONICAL_LENGTH).contains(&data.len()) {
            return Err(BackendError::user_err("Invalid canonical address length"));
        }
        Ok(data)
    }

    fn addr_humanize(&self, canonical: &[u8]) -> BackendResult<String> {
        if !(MIN_CANONICAL_LENGTH..=MAX_CANONICAL_LENGTH).contains(&canonical.len()) {
            return Err(BackendError::user_err("Invalid canonical address length"));
        }
        bech32::encode::<Bech32>(self.hrp, canonical)
            .map_err(|e| BackendError::user_err(format!("Error encoding bech32: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_other_prefixes() {
        let api = Bech32Api::new("consign").unwrap();
        let human = api.addr_humanize(&[7u8; 20]).unwrap();
        assert!(human.starts_with("consign1"));
        assert_eq!(api.addr_canonicalize(&human).unwrap(), vec![7u8; 20]);
        let other = Bech32Api::new("cosmos").unwrap();
        let err = other.addr_canonicalize(&human).unwrap_err();
        assert!(err.to_string().contains("Wrong bech32 prefix"), "{err}");
        assert!(api.addr_canonicalize("not an address").is_err());
        assert!(api.addr_humanize(&[]).is_err());
    }

    #[test]
    fn uppercase_is_canonicalized_but_not_normal() {
        let api = Bech32Api::new("consign").unwrap();
        let human = api.addr_humanize(&[1u8; 20]).unwrap();
        let canonical = api.addr_canonicalize(&human.to_uppercase()).unwrap();
        assert_eq!(api.addr_humanize(&canonical).unwrap(), human);
    }
}

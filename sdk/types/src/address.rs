//! Account and contract addresses: bech32 text over canonical bytes, derived as Cosmos SDK and
//! wasmd derive them, so tools and contracts written for wasmd chains compute the same addresses.

use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32, Hrp};
use cosmwasm_std::CanonicalAddr;
use ripemd::Ripemd160;
use sha2::{Digest, Sha256};

use crate::AddressError;

/// The bech32 prefix (human-readable part) of every Consign address: `consign1…`.
pub const ADDRESS_PREFIX: &str = "consign";

/// The bech32 prefix of a validator's operator address: `consignvaloper1…`, as the Cosmos SDK
/// writes `<prefix>valoper1…` over the operator account's bytes.
pub const VALIDATOR_PREFIX: &str = "consignvaloper";

/// A validator's operator address (`consignvaloper1…`) over canonical address bytes.
///
/// # Panics
///
/// Never for addresses of at most [`MAX_ADDRESS_LEN`] bytes; longer input is a caller bug.
pub fn validator_address(canonical: &[u8]) -> String {
    humanize_with_prefix(VALIDATOR_PREFIX, canonical)
        .expect("the valoper prefix is valid and addresses of up to 255 bytes fit in bech32")
}

/// The most bytes an address may hold, as in the Cosmos SDK (`address.MaxAddrLen`).
pub const MAX_ADDRESS_LEN: usize = 255;

/// The bytes of an account address: `RIPEMD-160(SHA-256(compressed public key))`, as the Cosmos
/// SDK derives secp256k1 account addresses.
pub fn account_address_bytes(compressed_public_key: &[u8]) -> [u8; 20] {
    Ripemd160::digest(Sha256::digest(compressed_public_key)).into()
}

/// Encodes canonical address bytes as bech32 with [`ADDRESS_PREFIX`].
///
/// # Panics
///
/// Never for addresses of at most [`MAX_ADDRESS_LEN`] bytes; longer input is a caller bug.
pub fn humanize_address(canonical: &[u8]) -> String {
    humanize_with_prefix(ADDRESS_PREFIX, canonical)
        .expect("the consign prefix is valid and addresses of up to 255 bytes fit in bech32")
}

/// Encodes canonical address bytes as bech32 with any prefix (`cosmos`, `osmo`, …).
///
/// # Errors
///
/// [`AddressError::InvalidBech32`] if the prefix is not a valid bech32 human-readable part, and
/// [`AddressError::InvalidLength`] for empty data or more than [`MAX_ADDRESS_LEN`] bytes.
pub fn humanize_with_prefix(prefix: &str, canonical: &[u8]) -> Result<String, AddressError> {
    if canonical.is_empty() || canonical.len() > MAX_ADDRESS_LEN {
        return Err(AddressError::InvalidLength {
            address: hex::encode(canonical),
            len: canonical.len(),
            max: MAX_ADDRESS_LEN,
        });
    }
    let invalid = |reason: String| AddressError::InvalidBech32 {
        address: format!("{prefix}1…"),
        reason,
    };
    let hrp = Hrp::parse(prefix).map_err(|e| invalid(e.to_string()))?;
    bech32::encode::<Bech32>(hrp, canonical).map_err(|e| invalid(e.to_string()))
}

/// Decodes a `consign1…` address to its canonical bytes, accepting only the normalised form
/// (lowercase bech32, not bech32m), as wasmd's `addr_validate` does.
///
/// # Errors
///
/// An [`AddressError`] naming what is wrong: checksum, prefix, case or length.
pub fn canonicalize_address(address: &str) -> Result<Vec<u8>, AddressError> {
    canonicalize_with_prefix(ADDRESS_PREFIX, address)
}

/// Like [`canonicalize_address`], with the prefix given.
///
/// # Errors
///
/// As [`canonicalize_address`].
pub fn canonicalize_with_prefix(prefix: &str, address: &str) -> Result<Vec<u8>, AddressError> {
    let checked =
        CheckedHrpstring::new::<Bech32>(address).map_err(|e| AddressError::InvalidBech32 {
            address: address.to_owned(),
            reason: e.to_string(),
        })?;
    let hrp = checked.hrp();
    if hrp.to_lowercase() != prefix {
        return Err(AddressError::WrongPrefix {
            address: address.to_owned(),
            expected: prefix.to_owned(),
            found: hrp.to_lowercase(),
        });
    }
    let bytes: Vec<u8> = checked.byte_iter().collect();
    if bytes.is_empty() || bytes.len() > MAX_ADDRESS_LEN {
        return Err(AddressError::InvalidLength {
            address: address.to_owned(),
            len: bytes.len(),
            max: MAX_ADDRESS_LEN,
        });
    }
    let normalized = humanize_with_prefix(prefix, &bytes)?;
    if normalized != address {
        return Err(AddressError::NotNormalized {
            address: address.to_owned(),
            normalized,
        });
    }
    Ok(bytes)
}

/// Checks that `address` is a normalised `consign1…` address.
///
/// # Errors
///
/// As [`canonicalize_address`].
pub fn validate_address(address: &str) -> Result<(), AddressError> {
    canonicalize_address(address).map(drop)
}

/// The canonical address of the `instance_id`-th contract instantiated on the chain, from code
/// `code_id`: wasmd's `BuildContractAddressClassic`, i.e. the Cosmos SDK's
/// `address.Module("wasm", code_id.to_be_bytes() ‖ instance_id.to_be_bytes())`, where
/// `Module(name, key) = SHA-256(SHA-256("module") ‖ name ‖ 0x00 ‖ key)`.
pub fn contract_address(code_id: u64, instance_id: u64) -> [u8; 32] {
    let mut key = Vec::with_capacity(5 + 16);
    key.extend_from_slice(b"wasm\0");
    key.extend_from_slice(&code_id.to_be_bytes());
    key.extend_from_slice(&instance_id.to_be_bytes());
    Sha256::new()
        .chain_update(Sha256::digest(b"module"))
        .chain_update(&key)
        .finalize()
        .into()
}

/// The canonical address of a contract instantiated with `Instantiate2`: wasmd's
/// `BuildContractAddressPredictable` with an empty message (the only form CosmWasm contracts can
/// predict, and the one `cosmwasm_std::instantiate2_address` computes; this calls it).
///
/// # Errors
///
/// [`AddressError::Instantiate2`] if `checksum` is not 32 bytes or `salt` is not 1 to 64 bytes.
pub fn instantiate2_address(
    checksum: &[u8],
    creator_canonical: &[u8],
    salt: &[u8],
) -> Result<[u8; 32], AddressError> {
    let creator = CanonicalAddr::from(creator_canonical);
    let addr = cosmwasm_std::instantiate2_address(checksum, &creator, salt).map_err(|e| {
        AddressError::Instantiate2 {
            reason: format!("{e} (checksum must be 32 bytes, salt 1 to 64 bytes)"),
        }
    })?;
    addr.as_slice()
        .try_into()
        .map_err(|_| AddressError::Instantiate2 {
            reason: format!("derived {} bytes instead of 32", addr.len()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn account_address_matches_known_cosmos_vectors() {
        // A Keplr / ICNS test key: hash160 and its `osmo` address, computed independently.
        let pubkey = unhex("02394bc53633366a2ab9b5d697a94c8c0121cc5e3f0d554a63167edb318ceae8bc");
        let bytes = account_address_bytes(&pubkey);
        assert_eq!(
            hex::encode(bytes),
            "6aad751bb99fb0f13237f027b45eeebc37bec200"
        );
        assert_eq!(
            humanize_with_prefix("osmo", &bytes).unwrap(),
            "osmo1d2kh2xaen7c0zv3h7qnmghhwhsmmassqhqs697"
        );
        // Tendermint's secp256k1 test vector (address given there as Bitcoin base58 of the same
        // hash160).
        let pubkey = unhex("02950e1cdfcb133d6024109fd489f734eeb4502418e538c28481f22bce276f248c");
        assert_eq!(
            hex::encode(account_address_bytes(&pubkey)),
            "7c2bb42a8be69791ec763e51f5a49bcd41e82237"
        );
    }

    #[test]
    fn classic_contract_addresses_match_wasmd() {
        // The first two contracts on any wasmd chain (code 1 / instance 1, code 2 / instance 2),
        // as asserted by ibc-hooks' tests against a real wasmd keeper.
        let first = humanize_with_prefix("cosmos", &contract_address(1, 1)).unwrap();
        assert_eq!(
            first,
            "cosmos14hj2tavq8fpesdwxxcu44rty3hh90vhujrvcmstl4zr3txmfvw9s4hmalr"
        );
        let second = humanize_with_prefix("cosmos", &contract_address(2, 2)).unwrap();
        assert_eq!(
            second,
            "cosmos1nc5tatafv6eyq7llkr2gv50ff9e22mnf70qgjlv737ktmt4eswrqez7la9"
        );
        assert_ne!(contract_address(1, 2), contract_address(2, 1));
    }

    #[test]
    fn instantiate2_matches_cosmjs_vector() {
        // From cosmwasm-std's tests (originally CosmJS): no msg, salt "a".
        let checksum = unhex("13a1fc994cc6d1c81b746ee0c0ff6f90043875e0bf1d9be6b7d779fc978dc2a5");
        let creator = unhex("9999999999aaaaaaaaaabbbbbbbbbbcccccccccc");
        let addr = instantiate2_address(&checksum, &creator, b"a").unwrap();
        assert_eq!(
            hex::encode(addr),
            "5e865d3e45ad3e961f77fd77d46543417ced44d924dc3e079b5415ff6775f847"
        );
        assert_eq!(
            humanize_with_prefix("purple", &addr).unwrap(),
            "purple1t6r960j945lfv8mhl4mage2rg97w63xeynwrupum2s2l7em4lprs9ce5hk"
        );
        let err = instantiate2_address(&checksum, &creator, b"").unwrap_err();
        assert!(err.to_string().contains("salt"), "{err}");
        let err = instantiate2_address(&checksum[..31], &creator, b"a").unwrap_err();
        assert!(matches!(err, AddressError::Instantiate2 { .. }), "{err}");
    }

    #[test]
    fn canonicalize_round_trips_and_rejects_bad_input() {
        let bytes = [7u8; 20];
        let addr = humanize_address(&bytes);
        assert!(addr.starts_with("consign1"));
        assert_eq!(canonicalize_address(&addr).unwrap(), bytes);
        validate_address(&addr).unwrap();

        let upper = addr.to_uppercase();
        assert!(matches!(
            canonicalize_address(&upper),
            Err(AddressError::NotNormalized { .. })
        ));
        let cosmos = humanize_with_prefix("cosmos", &bytes).unwrap();
        let err = canonicalize_address(&cosmos).unwrap_err();
        assert!(matches!(err, AddressError::WrongPrefix { .. }));
        assert!(err.to_string().contains("consign1"), "{err}");

        let mut typo = addr.clone();
        typo.pop();
        typo.push(if addr.ends_with('q') { 'p' } else { 'q' });
        assert!(matches!(
            canonicalize_address(&typo),
            Err(AddressError::InvalidBech32 { .. })
        ));
        let bech32m =
            bech32::encode::<bech32::Bech32m>(Hrp::parse("consign").unwrap(), &bytes).unwrap();
        assert!(canonicalize_address(&bech32m).is_err());
        assert!(humanize_with_prefix("consign", &[]).is_err());
    }
}

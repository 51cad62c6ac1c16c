//! Fees: who may send a transaction and what it pays. A transaction's fee is taken from its
//! sender before its messages run and goes to the fee collector, where it stays even when the
//! messages fail. Admission refuses a sender that does not exist on-chain or cannot pay, and
//! (at a node with a minimum gas price) a fee below `gas_limit × price`.

use std::collections::BTreeMap;

use consign_types::GasPrice;
use cosmwasm_std::Coin;
use sha2::{Digest, Sha256};

use crate::bank::coin_amount;
use crate::error::CheckError;
use crate::state;
use crate::store::Layers;

/// The name the fee collector's address is derived from, as the Cosmos SDK derives module
/// accounts' addresses: the first 20 bytes of `SHA-256("fee_collector")`.
pub const FEE_COLLECTOR_NAME: &str = "fee_collector";

/// The fee collector's address: the account every fee is paid to. No key controls it.
pub fn fee_collector() -> String {
    module_address(FEE_COLLECTOR_NAME)
}

/// A module account's address, as the Cosmos SDK derives it: the first 20 bytes of
/// `SHA-256(name)`. No key controls it.
pub(crate) fn module_address(name: &str) -> String {
    let hash = Sha256::digest(name.as_bytes());
    consign_types::humanize_address(&hash[..20])
}

/// A coin's amount, saturating at `u128::MAX` (fee checks refuse larger ones first).
fn amount(coin: &Coin) -> u128 {
    coin_amount(coin).unwrap_or(u128::MAX)
}

/// What a sender already has waiting in a mempool: admission counts it so that a sender's
/// pending transactions cannot promise the same funds twice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pending {
    /// How many of its transactions are pending (the next sequence is the committed one plus
    /// this).
    pub count: u64,
    /// The fees of those transactions, per denomination.
    pub fees: BTreeMap<String, u128>,
}

impl Pending {
    /// `count` pending transactions with no fees.
    pub fn count(count: u64) -> Self {
        Self {
            count,
            fees: BTreeMap::new(),
        }
    }

    /// Adds one pending transaction paying `fee`.
    pub fn add(&mut self, fee: &[Coin]) {
        self.count += 1;
        for coin in fee {
            let amount = amount(coin);
            let entry = self.fees.entry(coin.denom.clone()).or_default();
            *entry = entry.saturating_add(amount);
        }
    }

    /// Removes one pending transaction that paid `fee`.
    pub fn remove(&mut self, fee: &[Coin]) {
        self.count = self.count.saturating_sub(1);
        for coin in fee {
            if let Some(entry) = self.fees.get_mut(&coin.denom) {
                *entry = entry.saturating_sub(amount(coin));
                if *entry == 0 {
                    self.fees.remove(&coin.denom);
                }
            }
        }
    }
}

/// Whether `address` exists on-chain: it has sent a transaction or holds funds (an account
/// exists once it has received funds).
pub(crate) fn account_exists(layers: &Layers, address: &str) -> bool {
    if layers.get(&state::account_key(address)).is_some() {
        return true;
    }
    state::balances(layers, address).is_ok_and(|coins| !coins.is_empty())
}

/// Coins as the Cosmos SDK writes them (`5000ucsn,3foo`), zero amounts left out; `nothing`
/// when nothing is left.
pub(crate) fn coins_text(coins: &[Coin]) -> String {
    if coins.iter().all(|c| c.amount.is_zero()) {
        return "nothing".into();
    }
    coins
        .iter()
        .filter(|c| !c.amount.is_zero())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The fee checks of admission (with `min_gas_price`) and of block execution (without: the
/// price is the node's own policy, not the chain's): the fee is well-formed, high enough, and
/// the sender exists and can pay it on top of what its pending transactions already promise.
pub(crate) fn check_fee(
    layers: &Layers,
    sender: &str,
    gas_limit: u64,
    fee: &[Coin],
    pending: &Pending,
    min_gas_price: Option<&GasPrice>,
) -> Result<(), CheckError> {
    let mut seen = std::collections::BTreeSet::new();
    for coin in fee {
        if !seen.insert(coin.denom.as_str()) {
            return Err(CheckError::InvalidFee(format!(
                "the denomination {} appears twice; give each denomination once",
                coin.denom
            )));
        }
        coin_amount(coin).map_err(|e| CheckError::InvalidFee(e.to_string()))?;
    }
    if let Some(price) = min_gas_price.filter(|p| !p.is_zero()) {
        let required = price.fee(gas_limit);
        let paid = fee
            .iter()
            .find(|c| c.denom == price.denom)
            .map_or(0, amount);
        if paid < amount(&required) {
            return Err(CheckError::InsufficientFee {
                fee: coins_text(fee),
                required: required.to_string(),
                gas_limit,
                min_gas_price: price.to_string(),
            });
        }
    }
    if !account_exists(layers, sender) {
        return Err(CheckError::UnknownAccount {
            address: sender.to_owned(),
        });
    }
    for coin in fee.iter().filter(|c| !c.amount.is_zero()) {
        let have = state::read_u128(layers, &state::balance_key(sender, &coin.denom))
            .map_err(|e| CheckError::Tx(e.to_string()))?;
        let promised = pending.fees.get(&coin.denom).copied().unwrap_or(0);
        let needed = promised.saturating_add(amount(coin));
        if have < needed {
            return Err(CheckError::CannotPayFee {
                address: sender.to_owned(),
                fee: coin.to_string(),
                available: format!("{have}{}", coin.denom),
                pending: format!("{promised}{}", coin.denom),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cosmwasm_std::coins;

    use super::*;

    fn funded(address: &str, amount: u128) -> Layers {
        let mut layers = Layers::new(Arc::default());
        layers.push();
        crate::bank::mint(&mut layers, address, &Coin::new(amount, "ucsn")).unwrap();
        layers
    }

    #[test]
    fn fee_collector_is_the_cosmos_module_address() {
        let address = fee_collector();
        assert!(address.starts_with("consign1"), "{address}");
        assert_eq!(address, fee_collector(), "fixed");
    }

    #[test]
    fn unknown_accounts_are_refused_even_at_price_zero() {
        let layers = Layers::new(Arc::default());
        let zero = GasPrice::zero("ucsn");
        let err = check_fee(
            &layers,
            "consign1nobody",
            200_000,
            &[],
            &Pending::default(),
            Some(&zero),
        )
        .unwrap_err();
        assert!(matches!(err, CheckError::UnknownAccount { .. }), "{err}");
        assert!(err.to_string().contains("receive funds first"), "{err}");
    }

    #[test]
    fn fee_must_cover_the_price_and_the_pending_fees() {
        let layers = funded("consign1alice", 10_000);
        let price: GasPrice = "0.025ucsn".parse().unwrap();
        let none = Pending::default();
        let err = check_fee(
            &layers,
            "consign1alice",
            200_000,
            &coins(4_999, "ucsn"),
            &none,
            Some(&price),
        )
        .unwrap_err();
        assert!(matches!(err, CheckError::InsufficientFee { .. }), "{err}");
        assert!(err.to_string().contains("at least 5000ucsn"), "{err}");
        check_fee(
            &layers,
            "consign1alice",
            200_000,
            &coins(5_000, "ucsn"),
            &none,
            Some(&price),
        )
        .unwrap();
        let mut pending = Pending::default();
        pending.add(&coins(6_000, "ucsn"));
        let err = check_fee(
            &layers,
            "consign1alice",
            200_000,
            &coins(5_000, "ucsn"),
            &pending,
            Some(&price),
        )
        .unwrap_err();
        assert!(matches!(err, CheckError::CannotPayFee { .. }), "{err}");
        pending.remove(&coins(6_000, "ucsn"));
        assert_eq!(pending, Pending::default());
        let err = check_fee(
            &layers,
            "consign1alice",
            1,
            &[Coin::new(1u128, "ucsn"), Coin::new(2u128, "ucsn")],
            &none,
            None,
        )
        .unwrap_err();
        assert!(matches!(err, CheckError::InvalidFee(_)), "{err}");
    }
}

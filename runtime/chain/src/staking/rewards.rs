//! The reward index: what one bonded coin has earned since genesis, scaled by 10^18, brought up
//! to date lazily (see the module's rule in [`super`]), and what a delegation has earned.

use cosmwasm_std::{Coin, Uint128, Uint256};
use serde::{Deserialize, Serialize};

use super::{DelegationRecord, Params, BOND_DENOM};
use crate::error::ChainError;
use crate::state::{read_json, write_json};
use crate::store::Layers;

const ACCUMULATOR_KEY: &[u8] = b"distribution/rewards";

/// The index's scale: 10^18, the precision of the SDK's decimal coins.
const SCALE: u128 = 1_000_000_000_000_000_000;

/// The index as of `height`, and the coins bonded since.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Accumulator {
    /// Rewards per bonded coin since genesis, × 10^18.
    pub(crate) index: Uint256,
    /// The height the index was last brought up to.
    pub(crate) height: u64,
    /// All coins bonded, to every validator.
    pub(crate) bonded: u128,
}

impl Accumulator {
    pub(crate) fn read(layers: &Layers) -> Result<Self, ChainError> {
        Ok(read_json(layers, ACCUMULATOR_KEY)?.unwrap_or_default())
    }

    /// The index at `height`: each block after the last update with coins bonded adds
    /// `floor(reward_per_block × 10^18 / bonded)`.
    pub(crate) fn index_at(&self, params: &Params, height: u64) -> Uint256 {
        if self.bonded == 0 || height <= self.height {
            return self.index;
        }
        let per_block = Uint256::from(params.reward_per_block)
            .saturating_mul(Uint256::from(SCALE))
            .checked_div(Uint256::from(self.bonded))
            .unwrap_or_default();
        self.index
            .saturating_add(per_block.saturating_mul(Uint256::from(height - self.height)))
    }

    /// Brings the index up to `height` and writes it: before the bonded total changes.
    pub(crate) fn advance(
        layers: &mut Layers,
        params: &Params,
        height: u64,
    ) -> Result<Self, ChainError> {
        let mut acc = Self::read(layers)?;
        acc.index = acc.index_at(params, height);
        acc.height = acc.height.max(height);
        write_json(layers, ACCUMULATOR_KEY, &acc);
        Ok(acc)
    }

    /// Adds to the bonded total (after [`Accumulator::advance`] in the same block).
    pub(crate) fn bond(layers: &mut Layers, amount: u128) -> Result<(), ChainError> {
        let mut acc = Self::read(layers)?;
        acc.bonded = acc.bonded.saturating_add(amount);
        write_json(layers, ACCUMULATOR_KEY, &acc);
        Ok(())
    }

    /// Takes from the bonded total (after [`Accumulator::advance`] in the same block).
    pub(crate) fn unbond(layers: &mut Layers, amount: u128) -> Result<(), ChainError> {
        let mut acc = Self::read(layers)?;
        acc.bonded = acc.bonded.saturating_sub(amount);
        write_json(layers, ACCUMULATOR_KEY, &acc);
        Ok(())
    }
}

/// What a delegation has earned at `index`, × 10^18.
pub(crate) fn earned_scaled(delegation: &DelegationRecord, index: Uint256) -> Uint256 {
    Uint256::from(delegation.amount).saturating_mul(index.saturating_sub(delegation.start_index))
}

/// The whole coins of an amount × 10^18 (what a withdrawal pays).
pub(crate) fn truncated(scaled: Uint256) -> u128 {
    let whole = scaled / Uint256::from(SCALE);
    Uint128::try_from(whole).map_or(u128::MAX, |w| w.u128())
}

/// An amount × 10^18 as the SDK writes a decimal coin's amount: 18 decimals.
pub(crate) fn decimal_text(scaled: Uint256) -> String {
    let scale = Uint256::from(SCALE);
    let fraction = (scaled % scale).to_string();
    format!("{}.{fraction:0>18}", scaled / scale)
}

/// Whole reward coins, empty when there are none (as the SDK's truncated `DecCoins`).
pub(crate) fn reward_coins(amount: u128) -> Vec<Coin> {
    if amount == 0 {
        Vec::new()
    } else {
        vec![Coin::new(amount, BOND_DENOM)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(reward_per_block: u128) -> Params {
        Params {
            unbonding_seconds: 10,
            reward_per_block,
        }
    }

    #[test]
    fn blocks_with_nothing_bonded_pay_nobody() {
        let acc = Accumulator {
            index: Uint256::zero(),
            height: 5,
            bonded: 0,
        };
        assert_eq!(acc.index_at(&params(100), 50), Uint256::zero());
    }

    #[test]
    fn rewards_are_pro_rata_in_integers() {
        // 3 coins bonded, 100 a block: each coin earns 33.333… a block.
        let acc = Accumulator {
            index: Uint256::zero(),
            height: 10,
            bonded: 3,
        };
        let index = acc.index_at(&params(100), 13);
        let one = DelegationRecord {
            amount: 1,
            start_index: Uint256::zero(),
        };
        let two = DelegationRecord {
            amount: 2,
            start_index: Uint256::zero(),
        };
        assert_eq!(
            decimal_text(earned_scaled(&one, index)),
            "99.999999999999999999"
        );
        assert_eq!(truncated(earned_scaled(&one, index)), 99);
        assert_eq!(truncated(earned_scaled(&two, index)), 199);
        assert_eq!(decimal_text(Uint256::from(SCALE)), "1.000000000000000000");
        assert_eq!(decimal_text(Uint256::zero()), "0.000000000000000000");
    }

    #[test]
    fn huge_figures_saturate_instead_of_panicking() {
        let acc = Accumulator {
            index: Uint256::MAX,
            height: 0,
            bonded: 1,
        };
        let index = acc.index_at(&params(u128::MAX), u64::MAX);
        assert_eq!(index, Uint256::MAX);
        let d = DelegationRecord {
            amount: u128::MAX,
            start_index: Uint256::zero(),
        };
        assert_eq!(truncated(earned_scaled(&d, index)), u128::MAX);
    }
}

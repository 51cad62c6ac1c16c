//! What `consign init` and `consign testnet` share to make a node home: the dev accounts (their
//! keys, derived from their names, and the genesis `app_state` that funds them), and Consign's
//! part of a home once CometBFT has written its own.

use std::path::Path;

use anyhow::Context;
use clap::Args;
use consign_chain::{GenesisAccount, GenesisValidator, StakingGenesis};
use consign_client::{coins, Keyring, SecretKey, NATIVE_DENOM};

use super::dev::{dev_names, DEV_FUNDS};
use crate::cometbft::{self, AppState, AppToml, NodeSettings};

/// The dev accounts' names and keys (alice, bob, carol, dave, dev5, …), derived from the names.
pub(super) fn dev_keys(count: u32) -> Vec<(String, SecretKey)> {
    dev_names(count)
        .into_iter()
        .map(|name| {
            let key = SecretKey::from_seed(&name);
            (name, key)
        })
        .collect()
}

/// The genesis `app_state` that funds the dev accounts with [`DEV_FUNDS`] each and makes
/// CometBFT's genesis validators (`validators`) the staking module's.
pub(super) fn dev_app_state(
    keys: &[(String, SecretKey)],
    validators: Vec<GenesisValidator>,
) -> AppState {
    AppState {
        staking: StakingGenesis {
            validators,
            ..StakingGenesis::default()
        },
        accounts: keys
            .iter()
            .map(|(_, key)| GenesisAccount {
                address: key.address(),
                coins: coins(DEV_FUNDS, NATIVE_DENOM),
            })
            .collect(),
    }
}

/// The chain's settings, shared by `consign init` and `consign testnet` (flattened into both).
#[derive(Debug, Clone, Args)]
pub struct GenesisArgs {
    /// The chain id.
    #[arg(long, value_name = "ID", default_value = "consign-testnet")]
    pub chain_id: String,

    /// How many funded dev accounts the genesis gets (alice, bob, carol, dave, dev5, …).
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub accounts: u32,

    /// How long a validator waits after each block before the next (CometBFT's
    /// `timeout_commit`), e.g. `1s` (CometBFT's default) or `200ms`.
    #[arg(long, value_name = "DURATION")]
    pub block_time: Option<String>,

    /// The most gas one block may hold (the genesis' `consensus_params.block.max_gas`).
    #[arg(long, value_name = "GAS", default_value_t = 10_000_000_000, value_parser = clap::value_parser!(u64).range(1..=i64::MAX as u64))]
    pub max_block_gas: u64,

    /// The lowest gas price a node accepts, e.g. `0.025ucsn` (written to each app.toml).
    #[arg(long, value_name = "PRICE", default_value = "0ucsn")]
    pub min_gas_price: consign_client::GasPrice,
}

impl GenesisArgs {
    /// Checks what can be checked before anything is written: a chain id, and a block time
    /// that is a duration.
    ///
    /// # Errors
    ///
    /// Naming the flag and what to write instead.
    pub(super) fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            !self.chain_id.trim().is_empty(),
            "--chain-id is empty: give the chain an id"
        );
        if let Some(block_time) = &self.block_time {
            humantime::parse_duration(block_time).map_err(|e| {
                anyhow::anyhow!(
                    "--block-time {block_time:?}: {e}; write a duration such as 1s or 200ms"
                )
            })?;
        }
        Ok(())
    }
}

/// Adds the dev keys to the keyring in `dir` (those it lacks).
///
/// # Errors
///
/// When a key cannot be written.
pub(super) fn import_dev_keys(dir: &Path, keys: &[(String, SecretKey)]) -> anyhow::Result<()> {
    let keyring = Keyring::new(dir);
    for (name, key) in keys {
        if !keyring.path_of(name)?.exists() {
            keyring
                .import(name, key.clone())
                .with_context(|| format!("adding the dev key {name} to the keyring"))?;
        }
    }
    Ok(())
}

/// Consign's part of a node home where CometBFT has written its own (`cometbft init` or
/// `cometbft testnet`) and the genesis is written: CometBFT's config.toml rewritten
/// ([`cometbft::configure`]), `config/app.toml`, and the dev keys in `<home>/keys`.
///
/// # Errors
///
/// When a file cannot be read or written.
pub(super) fn finish_home(
    home: &Path,
    settings: &NodeSettings,
    app_toml: &AppToml,
    keys: &[(String, SecretKey)],
) -> anyhow::Result<()> {
    cometbft::configure(home, settings)?;
    cometbft::write_app_toml(home, app_toml)?;
    import_dev_keys(&home.join("keys"), keys)
}

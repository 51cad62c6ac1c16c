//! What `consign init` and `consign testnet` share to make a node home: the dev accounts (their
//! keys, derived from their names, and the genesis `app_state` that funds them), and Consign's
//! part of a home once CometBFT has written its own.

use std::path::Path;

use anyhow::Context;
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

/// Checks `--block-time` before anything is written.
///
/// # Errors
///
/// When it is not a duration.
pub(super) fn check_block_time(block_time: Option<&str>) -> anyhow::Result<()> {
    if let Some(block_time) = block_time {
        humantime::parse_duration(block_time).map_err(|e| {
            anyhow::anyhow!(
                "--block-time {block_time:?}: {e}; write a duration such as 1s or 200ms"
            )
        })?;
    }
    Ok(())
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

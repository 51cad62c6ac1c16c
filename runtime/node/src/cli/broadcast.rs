//! Signing and broadcasting a transaction, for every command that sends one.

use consign_client::{min_fee, Broadcast, ClientError, Coin, Msg, NodeClient};

use super::args::{NodeArgs, TxOptions};
use super::Session;

/// The gas limit of a transaction when `--gas` is not given.
pub const DEFAULT_GAS: u64 = 2_000_000;

/// Gas per byte of uploaded wasm: the transaction's bytes (base64, so 4/3 of the wasm, at 10
/// gas a byte) plus storing the code (5 a byte), with room to spare.
const STORE_GAS_PER_BYTE: u64 = 25;

/// The gas limit used when `--gas` is not given.
fn default_gas(messages: &[Msg]) -> u64 {
    let wasm_bytes: u64 = messages
        .iter()
        .map(|m| match m {
            Msg::StoreCode { wasm } => wasm.len() as u64,
            _ => 0,
        })
        .sum();
    DEFAULT_GAS.saturating_add(STORE_GAS_PER_BYTE.saturating_mul(wasm_bytes))
}

/// The fee `options` ask for: `--fees`, or `--gas-prices` times the gas limit, or else the
/// least the node accepts (its minimum gas price from its status times the gas limit).
async fn fee(client: &NodeClient, options: &TxOptions, gas: u64) -> Result<Vec<Coin>, ClientError> {
    if let Some(fees) = &options.fees {
        return Ok(fees.0.clone());
    }
    let price = match &options.gas_prices {
        Some(price) => price.clone(),
        None => client.status().await?.min_gas_price,
    };
    Ok(min_fee(&price, gas))
}

/// Signs `messages` with the keyring's `from` key and broadcasts them as `options` say: the
/// chain id from the node unless given, the gas limit from `--gas` or [`default_gas`], the fee
/// from `--fees` or `--gas-prices` or the node's minimum gas price.
///
/// # Errors
///
/// If the key cannot be read, or the node cannot be reached.
pub fn sign_and_broadcast(
    session: &Session,
    node: &NodeArgs,
    options: &TxOptions,
    from: &str,
    messages: Vec<Msg>,
) -> anyhow::Result<Result<Broadcast, ClientError>> {
    let key = node.home.signing_key(from)?;
    let client = node.client()?;
    let mode = options.mode();
    Ok(session.block_on(async {
        let chain_id = match &options.chain_id {
            Some(id) => id.clone(),
            None => client.status().await?.chain_id,
        };
        let gas = options.gas.unwrap_or_else(|| default_gas(&messages));
        let fee = fee(&client, options, gas).await?;
        client
            .sign_and_broadcast_with_fee(&key, &chain_id, messages, gas, fee, mode)
            .await
    }))
}

/// The chain id of the node `node` names, from its status.
///
/// # Errors
///
/// If the node cannot be reached.
pub fn chain_id(session: &Session, node: &NodeArgs) -> anyhow::Result<String> {
    let client = node.client()?;
    Ok(session.block_on(client.status())?.chain_id)
}

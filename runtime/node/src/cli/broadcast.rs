//! Signing and broadcasting a transaction, for every command that sends one: the chain id,
//! the sequence, the gas limit (fixed, default, or `--gas auto` through the node's simulation)
//! and the fee, then the signature.

use consign_client::{
    min_fee, Broadcast, ClientError, Coin, Msg, NodeClient, PublicKey, SecretKey, Simulation, Tx,
    TxBody,
};

use super::args::{NodeArgs, TxOptions};
use super::send::Sending;
use super::Session;

/// The gas limit of a transaction when `--gas` is not given and none of its messages runs a
/// contract: a bank send or a staking message uses a small fraction of it.
pub const DEFAULT_GAS: u64 = 2_000_000;

/// The gas limit when `--gas` is not given and a message runs a contract (instantiate, execute,
/// migrate). Gas here is about one unit per wasm instruction plus storage, so ordinary contracts
/// need more than a bank send: a cw4-group of 150 members uses about 6.4 million to instantiate.
/// A default that let such a contract through only with `--gas` would make its users guess.
pub const CONTRACT_DEFAULT_GAS: u64 = 10_000_000;

/// `--gas-adjustment`'s default. The Cosmos SDK's is 1.0 (`DefaultGasAdjustment` in
/// `client/flags/flags.go`), which leaves no room when the state moves between the simulation
/// and the block; wasmd's guides pass `--gas-adjustment 1.3`, and so `--gas auto` alone does
/// here.
pub const DEFAULT_GAS_ADJUSTMENT: f64 = 1.3;

/// Gas per byte of uploaded wasm: the transaction's bytes (base64, so 4/3 of the wasm, at 10
/// gas a byte) plus storing the code (5 a byte), with room to spare.
const STORE_GAS_PER_BYTE: u64 = 25;

/// `--gas`: a fixed limit, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gas {
    /// Simulate the transaction and use the gas it used times `--gas-adjustment`.
    Auto,
    /// This limit.
    Limit(u64),
}

/// Parses `--gas`: `auto` or a positive integer.
///
/// # Errors
///
/// For anything else.
pub fn parse_gas(text: &str) -> Result<Gas, String> {
    if text.eq_ignore_ascii_case("auto") {
        return Ok(Gas::Auto);
    }
    match text.parse::<u64>() {
        Ok(0) => Err("a gas limit of 0 cannot run anything; give a positive number or `auto`".into()),
        Ok(n) => Ok(Gas::Limit(n)),
        Err(_) => Err(format!(
            "`{text}` is not a gas limit: give a number such as 300000, or `auto` to simulate the transaction first"
        )),
    }
}

/// Parses `--gas-adjustment`: a finite factor of at least 1.
///
/// # Errors
///
/// For anything else.
pub fn parse_gas_adjustment(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() && (1.0..=100.0).contains(&f) => Ok(f),
        _ => Err(format!(
            "`{text}` is not a gas adjustment: give a factor from 1 to 100, such as 1.3"
        )),
    }
}

/// The gas limit used when `--gas` is not given.
pub fn default_gas(messages: &[Msg]) -> u64 {
    let wasm_bytes: u64 = messages
        .iter()
        .map(|m| match m {
            Msg::StoreCode { wasm } => wasm.len() as u64,
            _ => 0,
        })
        .sum();
    let runs_a_contract = messages.iter().any(|m| {
        matches!(
            m,
            Msg::Instantiate { .. }
                | Msg::Instantiate2 { .. }
                | Msg::Execute { .. }
                | Msg::Migrate { .. }
        )
    });
    let base = if runs_a_contract {
        CONTRACT_DEFAULT_GAS
    } else {
        DEFAULT_GAS
    };
    base.saturating_add(STORE_GAS_PER_BYTE.saturating_mul(wasm_bytes))
}

/// `gas_used` times `adjustment`, rounded up. Counted in millionths, so that 1.3 is exactly
/// 13/10 (a float product would make 100,000 × 1.3 into 130,001).
pub fn adjusted(gas_used: u64, adjustment: f64) -> u64 {
    let millionths = (adjustment * 1e6).round() as u128;
    let gas = (u128::from(gas_used) * millionths).div_ceil(1_000_000);
    u64::try_from(gas).unwrap_or(u64::MAX)
}

/// The fee `options` ask for: `--fees`, or `--gas-prices` times the gas limit, or else the
/// least the node accepts (its minimum gas price from its status times the gas limit).
pub(super) async fn fee(
    client: &NodeClient,
    options: &TxOptions,
    gas: u64,
) -> Result<Vec<Coin>, ClientError> {
    if let Some(fees) = &options.fees {
        return Ok(fees.0.clone());
    }
    let price = match &options.gas_prices {
        Some(price) => price.clone(),
        None => client.status().await?.min_gas_price,
    };
    Ok(min_fee(&price, gas))
}

/// Who a transaction is from: a key that signs it, or only an address (for `--generate-only`,
/// which someone else signs later).
#[derive(Debug, Clone)]
pub enum Signer {
    /// A key in the keyring.
    Key(SecretKey),
    /// An address only.
    Address(String),
}

impl Signer {
    /// The sender's address.
    pub fn address(&self) -> String {
        match self {
            Self::Key(key) => key.address(),
            Self::Address(address) => address.clone(),
        }
    }

    /// The transaction to simulate: signed with the key, else with the account's public key
    /// from the chain and no signature (the node's simulation allows it).
    async fn simulation_tx(&self, client: &NodeClient, body: TxBody) -> Result<Tx, ClientError> {
        match self {
            Self::Key(key) => Ok(Tx::sign(body, key)),
            Self::Address(address) => {
                let public_key: Option<PublicKey> = client.account(address).await?.public_key;
                let public_key = public_key.ok_or_else(|| ClientError::Refused {
                    message: format!(
                        "cannot simulate a transaction from {address} without its key: the chain learns an account's public key with its first transaction; add the key to the keyring, or give --gas N"
                    ),
                    code: 2,
                    txhash: None,
                })?;
                Ok(Tx {
                    body,
                    public_key,
                    signature: consign_client::Binary::default(),
                })
            }
        }
    }
}

/// A transaction body ready to sign, and the simulation that chose its gas, if any.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The body: chain id, sender, sequence, gas limit, fee, messages.
    pub body: TxBody,
    /// The simulation `--gas auto` ran, with the gas it chose.
    pub simulation: Option<Simulation>,
}

/// Builds the body of a transaction of `messages` from `signer` as `options` say: the chain id
/// from `--chain-id` or the node, the sequence from `--sequence` or the node, the gas from
/// `--gas` (simulated for `auto`, or with `simulate` set: then the simulation is returned
/// whatever the gas), the fee from `--fees`, `--gas-prices` or the node's minimum gas price.
/// The node is asked only for what the options leave out.
///
/// # Errors
///
/// If the node cannot be reached or refuses the simulation; a simulation that says the
/// transaction would fail is not an error here (see [`Prepared::simulation`]).
pub async fn prepare(
    client: &NodeClient,
    options: &TxOptions,
    signer: &Signer,
    messages: Vec<Msg>,
    simulate: bool,
) -> Result<Prepared, ClientError> {
    let chain_id = match &options.chain_id {
        Some(id) => id.clone(),
        None => client.status().await?.chain_id,
    };
    let sender = signer.address();
    let sequence = match options.sequence {
        Some(sequence) => sequence,
        None => client.account(&sender).await?.sequence,
    };
    let mut body = TxBody {
        chain_id,
        sender,
        sequence,
        gas_limit: match options.gas {
            Some(Gas::Limit(n)) => n,
            _ => default_gas(&messages),
        },
        fee: Vec::new(),
        memo: String::new(),
        messages,
    };
    let mut simulation = None;
    if simulate || options.gas == Some(Gas::Auto) {
        // The node runs it with its own limit; the largest one keeps the simulated bytes at
        // least as long as the final ones. The fee is what will be paid if it is fixed, else
        // none (a price's fee depends on the gas this finds).
        let mut probe = body.clone();
        probe.gas_limit = consign_chain::gas::MAX_TX_GAS;
        probe.fee = options
            .fees
            .as_ref()
            .map(|f| f.0.clone())
            .unwrap_or_default();
        let found = client
            .simulate(&signer.simulation_tx(client, probe).await?)
            .await?;
        if options.gas == Some(Gas::Auto) {
            body.gas_limit = adjusted(found.gas_used, options.gas_adjustment);
        }
        simulation = Some(found);
    }
    body.fee = fee(client, options, body.gas_limit).await?;
    Ok(Prepared { body, simulation })
}

/// The refusal a `--gas auto` simulation that predicts a failure becomes: nothing is broadcast.
pub(super) fn would_fail(simulation: &Simulation) -> ClientError {
    ClientError::Refused {
        message: format!(
            "not broadcast: simulated for --gas auto, it would fail: {}",
            simulation.log
        ),
        code: simulation.code,
        txhash: None,
    }
}

/// Signs `messages` with the keyring's `from` key and broadcasts them as `options` say (see
/// [`prepare`]). With `--gas auto`, a transaction the simulation says would fail is not
/// broadcast: the answer is a refusal with the simulation's reason. A sequence already used by
/// another transaction of the account is signed again with the node's ([`super::send`]).
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
        let signer = Signer::Key(key.clone());
        let prepared = prepare(&client, options, &signer, messages, false).await?;
        if let Some(simulation) = prepared.simulation.as_ref().filter(|s| s.code != 0) {
            return Err(would_fail(simulation));
        }
        // A sequence the node read is signed again if another transaction took it first; one
        // given with --sequence is the user's and stays.
        let sending = Sending::new(key, mode, options.sequence.is_none());
        sending.send(&client, Some(prepared.body)).await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gas_is_a_number_or_auto() {
        assert_eq!(parse_gas("auto"), Ok(Gas::Auto));
        assert_eq!(parse_gas("AUTO"), Ok(Gas::Auto));
        assert_eq!(parse_gas("300000"), Ok(Gas::Limit(300_000)));
        assert!(parse_gas("0").unwrap_err().contains("positive"));
        assert!(parse_gas("lots").unwrap_err().contains("`auto`"));
    }

    #[test]
    fn the_default_gas_is_larger_when_a_message_runs_a_contract() {
        let send = Msg::BankSend {
            to: "consign1anyone".into(),
            amount: vec![],
        };
        let call = Msg::Execute {
            contract: "consign1contract".into(),
            msg: consign_client::Binary::from(b"{}".to_vec()),
            funds: vec![],
        };
        let store = Msg::StoreCode {
            wasm: consign_client::Binary::from(vec![0; 1000]),
        };
        assert_eq!(default_gas(std::slice::from_ref(&send)), DEFAULT_GAS);
        assert_eq!(default_gas(&[send, call.clone()]), CONTRACT_DEFAULT_GAS);
        assert_eq!(
            default_gas(std::slice::from_ref(&store)),
            DEFAULT_GAS + 25_000
        );
        assert_eq!(default_gas(&[store, call]), CONTRACT_DEFAULT_GAS + 25_000);
    }

    #[test]
    fn adjustments_round_up_and_stay_sensible() {
        assert_eq!(adjusted(100_000, 1.3), 130_000);
        assert_eq!(adjusted(123_457, 1.3), 160_495);
        assert_eq!(adjusted(3, 1.5), 5);
        assert_eq!(adjusted(u64::MAX, 2.0), u64::MAX);
        assert_eq!(parse_gas_adjustment("1.3"), Ok(1.3));
        for bad in ["0.5", "nan", "inf", "x", "1000"] {
            assert!(parse_gas_adjustment(bad).is_err(), "{bad}");
        }
    }
}

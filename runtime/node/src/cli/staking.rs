//! What `consign tx staking|distribution` and `consign query staking` share: their subcommands,
//! the messages the transactions carry, and the node's answers to the queries.

use std::io::Write;

use clap::Subcommand;
use consign_client::{canonicalize_with_prefix, Coin, Msg, NodeClient, VALIDATOR_PREFIX};

use super::args::{parse_address, parse_coins, FromArg};
use super::output::{print_json, OutputFormat};

/// Parses a validator's operator address, `consignvaloper1…`.
///
/// # Errors
///
/// If it is not one.
pub fn parse_validator(text: &str) -> Result<String, String> {
    canonicalize_with_prefix(VALIDATOR_PREFIX, text).map_err(|e| {
        format!(
            "{e}; a validator is named by its operator address, {VALIDATOR_PREFIX}1… \
             (`consign query staking validators` lists them)"
        )
    })?;
    Ok(text.to_owned())
}

/// Parses one coin, `100ucsn`.
///
/// # Errors
///
/// If it is not exactly one positive coin.
pub fn parse_coin(text: &str) -> Result<Coin, String> {
    let mut coins = parse_coins(text)?.0;
    match (coins.pop(), coins.is_empty()) {
        (Some(coin), true) => Ok(coin),
        _ => Err(format!(
            "`{text}` is several coins; give one amount of the bonded denomination, e.g. 100ucsn"
        )),
    }
}

/// `consign tx staking …`.
#[derive(Debug, Clone, Subcommand)]
pub enum StakingTx {
    /// Bond coins to a validator.
    #[command(
        long_about = "Bond AMOUNT (of the bonded denomination, ucsn) from --from to VALIDATOR. \
                      The delegation's rewards so far are paid out first, to the withdraw \
                      address.",
        after_help = "Examples:\n  consign tx staking delegate consignvaloper1... 1000000ucsn --from alice\n  consign tx staking delegate $(consign --output json query staking validators | jq -r '.validators[0].address') 5000ucsn --from bob"
    )]
    Delegate {
        /// The validator's operator address, `consignvaloper1…`.
        #[arg(value_parser = parse_validator)]
        validator: String,
        /// The coins to bond, e.g. `1000000ucsn`.
        #[arg(value_parser = parse_coin)]
        amount: Coin,
        /// The delegator.
        #[command(flatten)]
        from: FromArg,
    },
    /// Start unbonding coins from a validator; they come back after the unbonding period.
    #[command(
        visible_alias = "undelegate",
        long_about = "Unbond AMOUNT from VALIDATOR: the coins leave the delegation at once and \
                      return to --from at the first block after the chain's unbonding period \
                      (21 days unless the genesis says otherwise; `consign query staking \
                      validators` shows it). `consign query staking unbonding ADDR` lists what \
                      is on its way back. At most 7 unbondings per validator may be under way.",
        after_help = "Examples:\n  consign tx staking unbond consignvaloper1... 500ucsn --from alice"
    )]
    Unbond {
        /// The validator's operator address.
        #[arg(value_parser = parse_validator)]
        validator: String,
        /// The coins to unbond.
        #[arg(value_parser = parse_coin)]
        amount: Coin,
        /// The delegator.
        #[command(flatten)]
        from: FromArg,
    },
    /// Move bonded coins from one validator to another at once.
    #[command(
        long_about = "Move AMOUNT of --from's delegation from SRC_VALIDATOR to DST_VALIDATOR at \
                      once, without unbonding. Coins that arrived at a validator this way may not \
                      move on until the unbonding period has passed.",
        after_help = "Examples:\n  consign tx staking redelegate consignvaloper1src... consignvaloper1dst... 100ucsn --from alice"
    )]
    Redelegate {
        /// The validator the coins leave.
        #[arg(value_parser = parse_validator)]
        src_validator: String,
        /// The validator they go to.
        #[arg(value_parser = parse_validator)]
        dst_validator: String,
        /// The coins to move.
        #[arg(value_parser = parse_coin)]
        amount: Coin,
        /// The delegator.
        #[command(flatten)]
        from: FromArg,
    },
}

/// `consign tx distribution …`.
#[derive(Debug, Clone, Subcommand)]
pub enum DistributionTx {
    /// Withdraw the rewards of a delegation.
    #[command(
        long_about = "Pay the rewards --from's delegation to VALIDATOR has earned to its withdraw \
                      address (itself, unless set with set-withdraw-addr). Every block pays a \
                      fixed reward, split among all bonded coins pro rata.",
        after_help = "Examples:\n  consign tx distribution withdraw-rewards consignvaloper1... --from alice"
    )]
    WithdrawRewards {
        /// The validator's operator address.
        #[arg(value_parser = parse_validator)]
        validator: String,
        /// The delegator.
        #[command(flatten)]
        from: FromArg,
    },
    /// Set where --from's rewards are paid.
    #[command(
        long_about = "Have every later withdrawal of --from's rewards paid to ADDRESS.",
        after_help = "Examples:\n  consign tx distribution set-withdraw-addr $(consign keys show bob -a) --from alice"
    )]
    SetWithdrawAddr {
        /// The address rewards go to.
        #[arg(value_parser = parse_address)]
        address: String,
        /// The delegator.
        #[command(flatten)]
        from: FromArg,
    },
}

/// Who signs a staking transaction, and its message.
pub fn staking_msg(command: &StakingTx) -> (String, Msg) {
    match command {
        StakingTx::Delegate {
            validator,
            amount,
            from,
        } => (
            from.from.clone(),
            Msg::Delegate {
                validator: validator.clone(),
                amount: amount.clone(),
            },
        ),
        StakingTx::Unbond {
            validator,
            amount,
            from,
        } => (
            from.from.clone(),
            Msg::Undelegate {
                validator: validator.clone(),
                amount: amount.clone(),
            },
        ),
        StakingTx::Redelegate {
            src_validator,
            dst_validator,
            amount,
            from,
        } => (
            from.from.clone(),
            Msg::Redelegate {
                src_validator: src_validator.clone(),
                dst_validator: dst_validator.clone(),
                amount: amount.clone(),
            },
        ),
    }
}

/// Who signs a distribution transaction, and its message.
pub fn distribution_msg(command: &DistributionTx) -> (String, Msg) {
    match command {
        DistributionTx::WithdrawRewards { validator, from } => (
            from.from.clone(),
            Msg::WithdrawRewards {
                validator: validator.clone(),
            },
        ),
        DistributionTx::SetWithdrawAddr { address, from } => (
            from.from.clone(),
            Msg::SetWithdrawAddress {
                address: address.clone(),
            },
        ),
    }
}

/// `consign query staking …`.
#[derive(Debug, Clone, Subcommand)]
pub enum StakingQuery {
    /// List the validators, with the bonded denomination, unbonding period and reward.
    #[command(
        long_about = "List the validators (operator address, moniker, coins bonded), with the \
                      bonded denomination, the unbonding period in seconds and the reward every \
                      block pays to all delegations pro rata.",
        after_help = "Examples:\n  consign query staking validators\n  consign --output json query staking validators | jq -r '.validators[].address'"
    )]
    Validators,
    /// Show an account's delegations, their rewards, and its withdraw address.
    #[command(
        long_about = "Show ADDRESS's delegations: each validator, the coins bonded and the whole \
                      coins of rewards earned and not yet withdrawn; and where rewards are paid.",
        after_help = "Examples:\n  consign query staking delegations $(consign keys show alice -a)"
    )]
    Delegations {
        /// The delegator's address.
        #[arg(value_parser = parse_address)]
        address: String,
    },
    /// Show an account's unbondings under way.
    #[command(
        long_about = "Show ADDRESS's unbondings under way: the validator, the coins and when they \
                      come back (at the first block at or after completion_time).",
        after_help = "Examples:\n  consign query staking unbonding $(consign keys show alice -a)"
    )]
    Unbonding {
        /// The delegator's address.
        #[arg(value_parser = parse_address)]
        address: String,
    },
}

/// Asks the node and prints its answer.
///
/// # Errors
///
/// If the node cannot be reached or refuses, or `out` cannot be written.
pub async fn query(
    node: &NodeClient,
    command: &StakingQuery,
    output: OutputFormat,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match command {
        StakingQuery::Validators => print_json(&node.validators().await?, output, out),
        StakingQuery::Delegations { address } => {
            print_json(&node.delegations(address).await?, output, out)
        }
        StakingQuery::Unbonding { address } => {
            print_json(&node.unbondings(address).await?, output, out)
        }
    }
}

//! `consign tx bank send`, `consign tx wasm store|instantiate|instantiate2|execute|migrate|…`,
//! `consign tx staking delegate|unbond|redelegate` and `consign tx distribution …`:
//! build a transaction, sign it with a key from the keyring, broadcast it and report the result
//! — or, with `--dry-run` and `--generate-only`, and for `consign tx sign|broadcast`, hand it to
//! [`super::offline`].

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use consign_client::{validate_address, Binary, Keyring, Msg};
use consign_vm::checks::{check_wasm, CheckConfig};

use super::args::{
    parse_address, parse_coins, parse_salt, Coins, FromArg, JsonArg, NodeArgs, TxOptions,
};
use super::broadcast::sign_and_broadcast;
use super::offline::{self, BroadcastArgs, OfflineFlags, SignArgs};
use super::output::{print_result, report};
use super::staking::{distribution_msg, staking_msg, DistributionTx, StakingTx};
use super::Session;

/// Long help of `consign tx`.
pub(super) const LONG_ABOUT: &str = "\
Sign a transaction with a key from the keyring (<home>/keys) and broadcast it to a node.

By default the command waits until the transaction is committed in a block and prints its result:
the hash, height, code (0 on success), gas and what it created (code id, contract address,
delivery sequences); `--output json` prints the whole result as one JSON object. The exit status
is 1 if the node refused the transaction or it failed in the block, with the reason on stderr.

The account sequence is read from the node (counting transactions still in its mempool) unless
--sequence is given, and the chain id from its status unless --chain-id is given. `--gas auto`
simulates the transaction on the node first and signs it with the gas it used times
--gas-adjustment (default 1.3); a transaction the simulation says would fail is not broadcast.

As wasmd: --dry-run simulates and prints the gas estimate and the result without broadcasting;
--generate-only prints the unsigned transaction, which `consign tx sign FILE --from KEY` signs
without the node and `consign tx broadcast FILE` sends; -y/--yes is accepted and changes nothing
(Consign never asks for confirmation). wasmd's aliases work: `upload` for `store`, `inst` for
`instantiate`, `exec` for `execute`, and the others listed with each command.";

/// Examples for `consign tx --help`.
pub(super) const EXAMPLES: &str = "\
Examples:
  consign tx bank send alice $(consign keys show bob -a) 1000ucsn
  consign tx wasm store cw20_base.wasm --from alice
  consign tx wasm instantiate 1 '{\"name\":\"Token\",\"symbol\":\"TOK\",\"decimals\":6,\"initial_balances\":[]}' --label tok --from alice --no-admin
  consign tx wasm execute $CONTRACT '{\"transfer\":{\"recipient\":\"consign1...\",\"amount\":\"5\"}}' --from alice
  consign --output json tx wasm store contract.wasm --from alice | jq -r .code_id
  consign tx wasm exec $CONTRACT '{\"increment\":{}}' --from alice --gas auto --gas-adjustment 1.5 -y
  consign tx wasm execute $CONTRACT '{\"increment\":{}}' --from alice --dry-run
  consign tx staking delegate consignvaloper1... 1000000ucsn --from alice
  consign tx distribution withdraw-rewards consignvaloper1... --from alice
  consign tx bank send alice consign1... 5ucsn --generate-only > unsigned.json
  consign tx sign unsigned.json --from alice > signed.json && consign tx broadcast signed.json";

/// `consign tx …`.
#[derive(Debug, Clone, Args)]
pub struct TxArgs {
    /// Which node, and where the keyring is.
    #[command(flatten)]
    pub node: NodeArgs,

    /// What to do.
    #[command(subcommand)]
    pub command: TxCommand,
}

/// What the commands that build a transaction take, and `tx sign`/`tx broadcast` do not: how
/// to sign and broadcast it, or to simulate or generate it instead.
#[derive(Debug, Clone, Args)]
pub struct BuildOptions {
    /// How to sign and broadcast.
    #[command(flatten)]
    pub options: TxOptions,

    /// Simulate or generate instead of broadcasting.
    #[command(flatten)]
    pub offline: OfflineFlags,
}

/// The `consign tx` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum TxCommand {
    /// Bank transactions: send coins.
    Bank {
        /// How to sign and broadcast.
        #[command(flatten)]
        build: BuildOptions,
        /// Which.
        #[command(subcommand)]
        command: BankTx,
    },
    /// Contract transactions: store code, instantiate, execute, migrate, change admins.
    Wasm {
        /// How to sign and broadcast.
        #[command(flatten)]
        build: BuildOptions,
        /// Which.
        #[command(subcommand)]
        command: WasmTx,
    },
    /// Staking transactions: delegate, unbond, redelegate.
    Staking {
        /// How to sign and broadcast.
        #[command(flatten)]
        build: BuildOptions,
        /// Which.
        #[command(subcommand)]
        command: StakingTx,
    },
    /// Distribution transactions: withdraw rewards, set the withdraw address.
    Distribution {
        /// How to sign and broadcast.
        #[command(flatten)]
        build: BuildOptions,
        /// Which.
        #[command(subcommand)]
        command: DistributionTx,
    },
    /// Sign a transaction made with --generate-only, without the node; prints it signed.
    #[command(
        long_about = "Sign the unsigned transaction in FILE (as --generate-only prints it; `-` \
                      reads standard input) with --from, which must be its sender, and print it \
                      signed as one line of JSON, for `consign tx broadcast`. The node is never \
                      asked: --chain-id and --sequence, if given, replace the file's. Consign has \
                      no account numbers, so there is no --account-number.",
        after_help = "Examples:\n  consign tx bank send alice consign1... 5ucsn --generate-only --chain-id consign-dev --sequence 3 --fees 5000ucsn > unsigned.json\n  consign tx sign unsigned.json --from alice > signed.json\n  consign tx sign unsigned.json --from alice --sequence 4 --output-document signed.json"
    )]
    Sign(SignArgs),
    /// Broadcast a transaction signed with `consign tx sign`.
    #[command(
        long_about = "Check the signed transaction in FILE locally (it decodes and carries its \
                      sender's signature), broadcast its bytes as they are and report the result \
                      as every transaction command does (`-` reads standard input).",
        after_help = "Examples:\n  consign tx broadcast signed.json\n  consign tx sign unsigned.json --from alice | consign tx broadcast -"
    )]
    Broadcast(BroadcastArgs),
}

/// `consign tx bank …`.
#[derive(Debug, Clone, Subcommand)]
pub enum BankTx {
    /// Send coins from a key in the keyring to an address.
    #[command(
        long_about = "Send coins from FROM_KEY (a key name in the keyring, or its address) to \
                      TO_ADDRESS. AMOUNT is one or more coins separated by commas, each an integer \
                      followed by its denomination: `100ucsn` or `100ucsn,5foo`.",
        after_help = "Examples:\n  consign tx bank send alice consign1... 1000ucsn\n  consign tx bank send alice $(consign keys show bob -a) 100ucsn,5foo --broadcast-mode sync"
    )]
    Send {
        /// The sender: a key name in the keyring, or its address.
        #[arg(value_name = "FROM_KEY")]
        from: String,
        /// The recipient's address.
        #[arg(value_name = "TO_ADDRESS", value_parser = parse_address)]
        to: String,
        /// The coins: `100ucsn`, or several separated by commas.
        #[arg(value_name = "AMOUNT", value_parser = parse_coins)]
        amount: Coins,
    },
}

/// `consign tx wasm …`.
#[derive(Debug, Clone, Subcommand)]
pub enum WasmTx {
    /// Upload contract code; prints its new code id.
    #[command(
        visible_aliases = ["upload", "st", "s"],
        long_about = "Upload a contract's wasm. The node runs the same checks as `consign check`; \
                      on success the result carries the new code id (`code_id` in JSON).",
        after_help = "Examples:\n  consign tx wasm store target/contracts/cw20_base.wasm --from alice\n  CODE_ID=$(consign --output json tx wasm store cw20_base.wasm --from alice | jq -r .code_id)"
    )]
    Store {
        /// The contract's wasm file.
        #[arg(value_name = "FILE.wasm")]
        file: PathBuf,
        /// The signer.
        #[command(flatten)]
        from: FromArg,
    },
    /// Create a contract from stored code; prints its address.
    #[command(
        visible_aliases = ["start", "init", "inst", "i"],
        long_about = "Create a contract instance from CODE_ID, calling its `instantiate` with \
                      MSG_JSON (checked locally first). --label is required. --admin sets who \
                      may migrate it (an address or a key name); without it, or with --no-admin, \
                      it has no admin and can never be migrated. The new address is \
                      `contract_address` in the result.",
        after_help = "Examples:\n  consign tx wasm instantiate 1 '{\"count\":0}' --label counter --from alice --no-admin\n  consign tx wasm instantiate 1 '{}' --label c --admin alice --amount 100ucsn --from alice"
    )]
    Instantiate {
        /// The code id.
        code_id: u64,
        /// The `InstantiateMsg`, JSON.
        #[arg(value_name = "MSG_JSON")]
        msg: JsonArg,
        /// How to create it.
        #[command(flatten)]
        options: InstantiateOptions,
    },
    /// Create a contract at a predictable address (from the code, the sender and a salt).
    #[command(
        long_about = "Like `instantiate`, but the address depends only on the code's checksum, \
                      the sender and --salt (hex, 1 to 64 bytes), as in wasmd's instantiate2, so \
                      it is known in advance.",
        after_help = "Examples:\n  consign tx wasm instantiate2 1 '{\"count\":0}' --salt 01 --label counter --from alice --no-admin"
    )]
    Instantiate2 {
        /// The code id.
        code_id: u64,
        /// The `InstantiateMsg`, JSON.
        #[arg(value_name = "MSG_JSON")]
        msg: JsonArg,
        /// The salt: 1 to 64 bytes, hex.
        #[arg(long, value_name = "HEX", value_parser = parse_salt)]
        salt: Binary,
        /// How to create it.
        #[command(flatten)]
        options: InstantiateOptions,
    },
    /// Call a contract's `execute` with a JSON message.
    #[command(
        visible_aliases = ["run", "call", "exec", "ex", "e"],
        long_about = "Call the contract's `execute` entry point with MSG_JSON (checked locally \
                      first), optionally sending it coins with --amount.",
        after_help = "Examples:\n  consign tx wasm execute $CONTRACT '{\"increment\":{}}' --from alice\n  consign tx wasm execute $CONTRACT '{\"buy\":{}}' --amount 100ucsn --from bob"
    )]
    Execute {
        /// The contract's address.
        #[arg(value_parser = parse_address)]
        contract: String,
        /// The `ExecuteMsg`, JSON.
        #[arg(value_name = "MSG_JSON")]
        msg: JsonArg,
        /// Coins to send to the contract with the call.
        #[arg(long, value_name = "COINS", value_parser = parse_coins)]
        amount: Option<Coins>,
        /// The signer.
        #[command(flatten)]
        from: FromArg,
    },
    /// Move a contract to new code and call its `migrate`; only its admin may.
    #[command(
        visible_aliases = ["update", "mig", "m"],
        long_about = "Move the contract to NEW_CODE_ID and call its `migrate` entry point with \
                      MSG_JSON (checked locally first). Only the contract's admin may.",
        after_help = "Examples:\n  consign tx wasm migrate $CONTRACT 2 '{}' --from alice"
    )]
    Migrate {
        /// The contract's address.
        #[arg(value_parser = parse_address)]
        contract: String,
        /// The new code id.
        new_code_id: u64,
        /// The `MigrateMsg`, JSON.
        #[arg(value_name = "MSG_JSON")]
        msg: JsonArg,
        /// The signer: the contract's admin.
        #[command(flatten)]
        from: FromArg,
    },
    /// Give a contract a new admin; only its current admin may.
    #[command(
        visible_aliases = ["new-admin", "admin", "set-adm", "sa"],
        long_about = "Make NEW_ADMIN (an address or a key name) the contract's admin, the one \
                      who may migrate it. Only its current admin may.",
        after_help = "Examples:\n  consign tx wasm set-contract-admin $CONTRACT bob --from alice"
    )]
    SetContractAdmin {
        /// The contract's address.
        #[arg(value_parser = parse_address)]
        contract: String,
        /// The new admin: an address, or a key name in the keyring.
        new_admin: String,
        /// The signer: the contract's current admin.
        #[command(flatten)]
        from: FromArg,
    },
    /// Remove a contract's admin, so it can never be migrated; only its admin may.
    #[command(
        visible_aliases = ["clear-admin", "clr-adm"],
        long_about = "Remove the contract's admin, making it immutable: nobody can migrate it or \
                      set an admin afterwards. Only its current admin may.",
        after_help = "Examples:\n  consign tx wasm clear-contract-admin $CONTRACT --from alice"
    )]
    ClearContractAdmin {
        /// The contract's address.
        #[arg(value_parser = parse_address)]
        contract: String,
        /// The signer: the contract's current admin.
        #[command(flatten)]
        from: FromArg,
    },
}

/// The options of `instantiate` and `instantiate2`.
#[derive(Debug, Clone, Args)]
pub struct InstantiateOptions {
    /// A human-readable label for the contract.
    #[arg(long)]
    pub label: String,
    /// Who may migrate the contract: an address, or a key name in the keyring.
    #[arg(long, value_name = "ADDRESS", conflicts_with = "no_admin")]
    pub admin: Option<String>,
    /// No admin: the contract can never be migrated (the default without --admin).
    #[arg(long)]
    pub no_admin: bool,
    /// Coins to send to the new contract.
    #[arg(long, value_name = "COINS", value_parser = parse_coins)]
    pub amount: Option<Coins>,
    /// The signer.
    #[command(flatten)]
    pub from: FromArg,
}

/// An address given directly, or the address of a key in the keyring. Only the key's public
/// part is read ([`Keyring::info`]): a `file` keyring asks for no passphrase to learn it.
fn resolve_address(keyring: &Keyring, name_or_address: &str) -> anyhow::Result<String> {
    if validate_address(name_or_address).is_ok() {
        return Ok(name_or_address.to_owned());
    }
    let key = keyring.info(name_or_address).with_context(|| {
        format!("`{name_or_address}` is neither a valid address nor a key in the keyring")
    })?;
    Ok(key.address)
}

/// The messages of a bank, wasm, staking or distribution command, and who signs them.
fn build(command: &MsgCommand<'_>, keyring: &Keyring) -> anyhow::Result<(String, Vec<Msg>)> {
    let json = |msg: &JsonArg| Binary::from(msg.as_bytes());
    let funds = |amount: &Option<Coins>| amount.as_ref().map(|c| c.0.clone()).unwrap_or_default();
    let admin = |options: &InstantiateOptions| {
        options
            .admin
            .as_deref()
            .map(|a| resolve_address(keyring, a))
            .transpose()
    };
    Ok(match command {
        MsgCommand::Bank(BankTx::Send { from, to, amount }) => (
            from.clone(),
            vec![Msg::BankSend {
                to: to.clone(),
                amount: amount.0.clone(),
            }],
        ),
        MsgCommand::Wasm(WasmTx::Store { file, from }) => {
            let wasm = std::fs::read(file)
                .with_context(|| format!("cannot read the contract {}", file.display()))?;
            refuse_what_the_node_refuses(file, &wasm)?;
            (
                from.from.clone(),
                vec![Msg::StoreCode { wasm: wasm.into() }],
            )
        }
        MsgCommand::Wasm(WasmTx::Instantiate {
            code_id,
            msg,
            options,
        }) => (
            options.from.from.clone(),
            vec![Msg::Instantiate {
                code_id: *code_id,
                msg: json(msg),
                funds: funds(&options.amount),
                label: options.label.clone(),
                admin: admin(options)?,
            }],
        ),
        MsgCommand::Wasm(WasmTx::Instantiate2 {
            code_id,
            msg,
            salt,
            options,
        }) => (
            options.from.from.clone(),
            vec![Msg::Instantiate2 {
                code_id: *code_id,
                msg: json(msg),
                funds: funds(&options.amount),
                label: options.label.clone(),
                admin: admin(options)?,
                salt: salt.clone(),
            }],
        ),
        MsgCommand::Wasm(WasmTx::Execute {
            contract,
            msg,
            amount,
            from,
        }) => (
            from.from.clone(),
            vec![Msg::Execute {
                contract: contract.clone(),
                msg: json(msg),
                funds: funds(amount),
            }],
        ),
        MsgCommand::Wasm(WasmTx::Migrate {
            contract,
            new_code_id,
            msg,
            from,
        }) => (
            from.from.clone(),
            vec![Msg::Migrate {
                contract: contract.clone(),
                code_id: *new_code_id,
                msg: json(msg),
            }],
        ),
        MsgCommand::Wasm(WasmTx::SetContractAdmin {
            contract,
            new_admin,
            from,
        }) => (
            from.from.clone(),
            vec![Msg::UpdateAdmin {
                contract: contract.clone(),
                new_admin: resolve_address(keyring, new_admin)?,
            }],
        ),
        MsgCommand::Wasm(WasmTx::ClearContractAdmin { contract, from }) => (
            from.from.clone(),
            vec![Msg::ClearAdmin {
                contract: contract.clone(),
            }],
        ),
        MsgCommand::Staking(command) => {
            let (from, msg) = staking_msg(command);
            (from, vec![msg])
        }
        MsgCommand::Distribution(command) => {
            let (from, msg) = distribution_msg(command);
            (from, vec![msg])
        }
    })
}

/// Carries out a `consign tx` command: returns [`EXIT_OK`](super::EXIT_OK), or
/// [`EXIT_REJECTED`](super::EXIT_REJECTED) (with the
/// reason on stderr) if the node refused the transaction or it failed in its block.
///
/// # Errors
///
/// If the signing key or a file cannot be read, the node cannot be reached or answers with an
/// error other than a refusal, or `out` cannot be written.
pub fn run(args: &TxArgs, session: &Session, out: &mut impl Write) -> anyhow::Result<u8> {
    let (built, command) = match &args.command {
        TxCommand::Sign(sign) => return offline::sign(sign, &args.node, out),
        TxCommand::Broadcast(file) => return offline::broadcast(file, &args.node, session, out),
        TxCommand::Bank { build, command } => (build, MsgCommand::Bank(command)),
        TxCommand::Wasm { build, command } => (build, MsgCommand::Wasm(command)),
        TxCommand::Staking { build, command } => (build, MsgCommand::Staking(command)),
        TxCommand::Distribution { build, command } => (build, MsgCommand::Distribution(command)),
    };
    let keyring = args.node.home.keyring()?;
    let (from, messages) = build(&command, &keyring)?;
    if built.offline.dry_run || built.offline.generate_only {
        return offline::run(
            &built.offline,
            &args.node,
            &built.options,
            &from,
            messages,
            session,
            out,
        );
    }
    let outcome = sign_and_broadcast(session, &args.node, &built.options, &from, messages)?;
    report(outcome, session.output, out, print_result)
}

impl TxCommand {
    /// A command that builds a transaction: its options and what it builds; `None` for
    /// `tx sign` and `tx broadcast`, which take a prepared file.
    pub fn built(&self) -> Option<(&BuildOptions, MsgCommand<'_>)> {
        match self {
            TxCommand::Bank { build, command } => Some((build, MsgCommand::Bank(command))),
            TxCommand::Wasm { build, command } => Some((build, MsgCommand::Wasm(command))),
            TxCommand::Staking { build, command } => Some((build, MsgCommand::Staking(command))),
            TxCommand::Distribution { build, command } => {
                Some((build, MsgCommand::Distribution(command)))
            }
            TxCommand::Sign(_) | TxCommand::Broadcast(_) => None,
        }
    }
}

/// The subcommands that build messages.
#[derive(Debug, Clone, Copy)]
pub enum MsgCommand<'a> {
    /// `tx bank …`.
    Bank(&'a BankTx),
    /// `tx wasm …`.
    Wasm(&'a WasmTx),
    /// `tx staking …`.
    Staking(&'a StakingTx),
    /// `tx distribution …`.
    Distribution(&'a DistributionTx),
}

/// Runs the node's upload checks on a contract before it is signed (the node runs the same
/// `check_wasm` with the same default configuration), so a file the block would refuse costs
/// no fee and is reported at once, with every problem.
///
/// # Errors
///
/// If the contract breaks a rule: each problem on its own line.
fn refuse_what_the_node_refuses(file: &std::path::Path, wasm: &[u8]) -> anyhow::Result<()> {
    let report = check_wasm(wasm, &CheckConfig::default());
    if report.is_ok() {
        return Ok(());
    }
    let problems: Vec<String> = report
        .problems
        .iter()
        .map(|problem| format!("  - [{}] {problem}", problem.rule()))
        .collect();
    anyhow::bail!(
        "{} breaks the node's upload checks, so nothing was signed or sent:\n{}",
        file.display(),
        problems.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use consign_client::{Keyring, SecretKey, SecretString};

    use super::resolve_address;

    #[test]
    fn a_file_keyring_key_s_address_resolves_without_its_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let key = SecretKey::from_seed("vault");
        Keyring::file(dir.path(), |_| Ok(SecretString::from("the passphrase")))
            .import("vault", key.clone())
            .unwrap();
        // The keyring a command opens: it would ask for the passphrase, and must not.
        let asked = Arc::new(AtomicUsize::new(0));
        let keyring = {
            let asked = asked.clone();
            Keyring::file(dir.path(), move |_| {
                asked.fetch_add(1, Ordering::SeqCst);
                Err("no passphrase here".into())
            })
        };
        assert_eq!(resolve_address(&keyring, "vault").unwrap(), key.address());
        let other = SecretKey::from_seed("other").address();
        assert_eq!(resolve_address(&keyring, &other).unwrap(), other);
        let error = resolve_address(&keyring, "nobody").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("neither a valid address nor a key"),
            "{error:#}"
        );
        assert_eq!(asked.load(Ordering::SeqCst), 0, "the passphrase was asked");
    }
}

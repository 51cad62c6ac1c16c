//! The chain commands of `consign` that need no node: parsing of every `tx` and `query` command's
//! arguments, and `keys add|list|show` through the real binary with a temporary `--home`.

use std::path::Path;
use std::process::{Command, Output};

use anyhow::{Context, Result};
use clap::Parser;
use consign::cli::args::BroadcastModeArg;
use consign::cli::broadcast::{Gas, DEFAULT_GAS, DEFAULT_GAS_ADJUSTMENT};
use consign::cli::query::{BankQuery, ContractStateQuery, QueryCommand, WasmQuery};
use consign::cli::staking::{DistributionTx, StakingTx};
use consign::cli::tx::{BankTx, BuildOptions, MsgCommand, WasmTx};
use consign::cli::{Cli, Command as Sub, OutputFormat};
use consign_client::{Coin, SecretKey};

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("consign").chain(args.iter().copied()))
}

fn addr(seed: &str) -> String {
    SecretKey::from_seed(seed).address()
}

/// `tx wasm COMMAND 1 {} --label l EXTRA… --from a`: `instantiate` (or `instantiate2`) of code 1
/// with the arguments every such command needs, and `extra`, the ones a test is about.
fn instantiate<'a>(command: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["tx", "wasm", command, "1", "{}", "--label", "l"];
    args.extend_from_slice(extra);
    args.extend(["--from", "a"]);
    args
}

/// A node URL where nothing listens.
const NO_NODE: &str = "http://127.0.0.1:9";

/// What a command line that builds a transaction (`tx bank …`, `tx wasm …`) parsed to.
#[derive(Debug)]
enum Built {
    Bank(BankTx),
    Wasm(WasmTx),
    Staking(StakingTx),
    Distribution(DistributionTx),
}

/// A `tx bank|wasm …` command line's node, options and what it builds.
fn tx_command(cli: Cli) -> (consign::cli::tx::TxArgs, BuildOptions, Built) {
    let Sub::Tx(args) = cli.command else {
        panic!("not a tx command: {:?}", cli.command)
    };
    let (build, built) = match args.command.built() {
        Some((build, MsgCommand::Bank(bank))) => (build.clone(), Built::Bank(bank.clone())),
        Some((build, MsgCommand::Wasm(wasm))) => (build.clone(), Built::Wasm(wasm.clone())),
        Some((build, MsgCommand::Staking(staking))) => {
            (build.clone(), Built::Staking(staking.clone()))
        }
        Some((build, MsgCommand::Distribution(distribution))) => {
            (build.clone(), Built::Distribution(distribution.clone()))
        }
        None => panic!(
            "not a command that builds a transaction: {:?}",
            args.command
        ),
    };
    (args, build, built)
}

fn query_command(cli: Cli) -> QueryCommand {
    match cli.command {
        Sub::Query(args) => args.command,
        other => panic!("not a query command: {other:?}"),
    }
}

// ---- tx argument parsing ----

#[test]
fn staking_commands_take_a_validator_operator_address_and_one_coin() {
    let key = SecretKey::from_seed("validator").address();
    let bytes = consign_client::canonicalize_address(&key).unwrap();
    let valoper = consign_client::validator_address(&bytes);
    let cli = parse(&[
        "tx", "staking", "delegate", &valoper, "5ucsn", "--from", "alice",
    ])
    .unwrap();
    let (_, _, built) = tx_command(cli);
    let Built::Staking(StakingTx::Delegate {
        validator,
        amount,
        from,
    }) = built
    else {
        panic!("{built:?}")
    };
    assert_eq!(validator, valoper);
    assert_eq!(amount, Coin::new(5u128, "ucsn"));
    assert_eq!(from.from, "alice");
    let cli = parse(&[
        "tx",
        "distribution",
        "withdraw-rewards",
        &valoper,
        "--from",
        "bob",
    ])
    .unwrap();
    assert!(matches!(
        tx_command(cli).2,
        Built::Distribution(DistributionTx::WithdrawRewards { .. })
    ));
    // An account address where a validator belongs, or several coins, is refused with what to
    // give instead.
    let error = parse(&["tx", "staking", "unbond", &key, "5ucsn", "--from", "alice"]).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("consign query staking validators"),
        "{error}"
    );
    let error = parse(&[
        "tx",
        "staking",
        "delegate",
        &valoper,
        "5ucsn,1foo",
        "--from",
        "alice",
    ])
    .unwrap_err();
    assert!(error.to_string().contains("several coins"), "{error}");
}

#[test]
fn bank_send_takes_from_positionally_and_the_common_options() {
    let bob = addr("bob");
    let cli = parse(&[
        "--output",
        "json",
        "tx",
        "bank",
        "send",
        "alice",
        &bob,
        "5ucsn,1foo",
        "--gas",
        "300000",
        "--broadcast-mode",
        "sync",
        "--node",
        NO_NODE,
        "--home",
        "/tmp/h",
    ])
    .unwrap();
    assert_eq!(cli.output, OutputFormat::Json);
    let (args, build, command) = tx_command(cli);
    assert_eq!(build.options.gas, Some(Gas::Limit(300_000)));
    assert_eq!(
        build.options.broadcast.broadcast_mode,
        BroadcastModeArg::Sync
    );
    assert_eq!(args.node.node, [NO_NODE]);
    assert_eq!(args.node.home.home.as_deref(), Some(Path::new("/tmp/h")));
    let Built::Bank(BankTx::Send { from, to, amount }) = command else {
        panic!("{command:?}")
    };
    assert_eq!(from, "alice");
    assert_eq!(to, bob);
    assert_eq!(
        amount.0,
        vec![Coin::new(1u128, "foo"), Coin::new(5u128, "ucsn")]
    );
}

#[test]
fn tx_defaults_are_commit_and_two_million_gas() {
    let cli = parse(&["tx", "bank", "send", "alice", &addr("bob"), "5ucsn"]).unwrap();
    let (_, build, _) = tx_command(cli);
    assert_eq!(build.options.gas, None);
    assert_eq!(DEFAULT_GAS, 2_000_000);
    assert_eq!(
        build.options.broadcast.broadcast_mode,
        BroadcastModeArg::Commit
    );
    assert_eq!(
        build.options.broadcast.timeout,
        std::time::Duration::from_secs(30)
    );
    assert_eq!(build.options.chain_id, None);
}

#[test]
fn wasmd_flags_and_aliases_parse() {
    let contract = addr("contract");
    let cli = parse(&[
        "tx",
        "wasm",
        "exec",
        &contract,
        "{}",
        "--from",
        "alice",
        "--gas",
        "auto",
        "--gas-adjustment",
        "1.5",
        "-y",
        "--sequence",
        "4",
    ])
    .unwrap();
    let (_, build, command) = tx_command(cli);
    assert!(matches!(command, Built::Wasm(WasmTx::Execute { .. })));
    assert_eq!(build.options.gas, Some(Gas::Auto));
    assert_eq!(build.options.gas_adjustment, 1.5);
    assert_eq!(build.options.sequence, Some(4));
    assert!(build.options.yes);
    let (_, build, _) =
        tx_command(parse(&["tx", "wasm", "execute", &contract, "{}", "--from", "a"]).unwrap());
    assert_eq!(build.options.gas_adjustment, DEFAULT_GAS_ADJUSTMENT);
    assert!(!build.options.yes && !build.offline.dry_run && !build.offline.generate_only);
    for (alias, expected) in [
        ("upload", "store"),
        ("st", "store"),
        ("inst", "instantiate"),
        ("init", "instantiate"),
        ("e", "execute"),
    ] {
        let args: Vec<&str> = match expected {
            "store" => vec!["tx", "wasm", alias, "c.wasm", "--from", "a"],
            "instantiate" => instantiate(alias, &["--no-admin"]),
            _ => vec![
                "tx",
                "wasm",
                alias,
                &contract,
                "{}",
                "--from",
                "a",
                "--dry-run",
            ],
        };
        let (_, build, command) = tx_command(parse(&args).unwrap());
        let name = match command {
            Built::Wasm(WasmTx::Store { .. }) => "store",
            Built::Wasm(WasmTx::Instantiate { .. }) => "instantiate",
            Built::Wasm(WasmTx::Execute { .. }) => "execute",
            other => panic!("{other:?}"),
        };
        assert_eq!(name, expected, "{alias}");
        assert_eq!(build.offline.dry_run, expected == "execute");
    }
    let error = parse(&[
        "tx", "wasm", "execute", &contract, "{}", "--from", "a", "--gas", "lots",
    ])
    .unwrap_err();
    assert!(error.to_string().contains("`auto`"), "{error}");
    let error = parse(&[
        "tx",
        "bank",
        "send",
        "a",
        &contract,
        "1ucsn",
        "--dry-run",
        "--generate-only",
    ])
    .unwrap_err();
    assert!(error.to_string().contains("cannot be used with"), "{error}");
    assert!(matches!(
        query_command(parse(&["q", "wasm", "lco", "--limit", "5"]).unwrap()),
        QueryCommand::Wasm(WasmQuery::ListCode { .. })
    ));
    assert!(matches!(
        query_command(parse(&["q", "wasm", "list-contracts", "1"]).unwrap()),
        QueryCommand::Wasm(WasmQuery::ListContractByCode { code_id: 1, .. })
    ));
    assert!(matches!(
        query_command(
            parse(&["query", "wasm", "cs", "all", &contract, "--page-key", "00"]).unwrap()
        ),
        QueryCommand::Wasm(WasmQuery::ContractState(ContractStateQuery::All { .. }))
    ));
}

#[test]
fn bank_send_refuses_bad_amounts_and_addresses_with_reasons() {
    let error = parse(&["tx", "bank", "send", "alice", &addr("bob"), "5"]).unwrap_err();
    assert_eq!(error.kind(), clap::error::ErrorKind::ValueValidation);
    assert!(error.to_string().contains("has no denomination"), "{error}");
    let error = parse(&["tx", "bank", "send", "alice", "cosmos1xyz", "5ucsn"]).unwrap_err();
    assert!(error.to_string().contains("invalid address"), "{error}");
}

#[test]
fn wasm_store_needs_from() {
    let cli = parse(&["tx", "wasm", "store", "c.wasm", "--from", "alice"]).unwrap();
    let (_, _, command) = tx_command(cli);
    let Built::Wasm(WasmTx::Store { file, from }) = command else {
        panic!("{command:?}")
    };
    assert_eq!(file, Path::new("c.wasm"));
    assert_eq!(from.from, "alice");
    let error = parse(&["tx", "wasm", "store", "c.wasm"]).unwrap_err();
    assert_eq!(
        error.kind(),
        clap::error::ErrorKind::MissingRequiredArgument
    );
    assert!(error.to_string().contains("--from"), "{error}");
}

#[test]
fn wasm_instantiate_parses_label_admin_and_amount() {
    let cli = parse(&[
        "tx",
        "wasm",
        "instantiate",
        "7",
        r#"{"count": 1}"#,
        "--label",
        "counter",
        "--admin",
        "alice",
        "--amount",
        "10ucsn",
        "--from",
        "bob",
    ])
    .unwrap();
    let (_, _, command) = tx_command(cli);
    let Built::Wasm(WasmTx::Instantiate {
        code_id,
        msg,
        options,
    }) = command
    else {
        panic!("{command:?}")
    };
    assert_eq!(code_id, 7);
    assert_eq!(msg.as_str(), r#"{"count": 1}"#);
    assert_eq!(options.label, "counter");
    assert_eq!(options.admin.as_deref(), Some("alice"));
    assert!(!options.no_admin);
    assert_eq!(options.amount.unwrap().0, vec![Coin::new(10u128, "ucsn")]);
    assert_eq!(options.from.from, "bob");
}

#[test]
fn wasm_instantiate_requires_a_label_and_one_admin_choice() {
    let error = parse(&["tx", "wasm", "instantiate", "1", "{}", "--from", "a"]).unwrap_err();
    assert!(error.to_string().contains("--label"), "{error}");
    let error = parse(&instantiate("instantiate", &["--admin", "x", "--no-admin"])).unwrap_err();
    assert_eq!(error.kind(), clap::error::ErrorKind::ArgumentConflict);
    let cli = parse(&instantiate("instantiate", &["--no-admin"])).unwrap();
    let (_, _, Built::Wasm(WasmTx::Instantiate { options, .. })) = tx_command(cli) else {
        panic!()
    };
    assert!(options.no_admin);
    assert_eq!(options.admin, None);
}

#[test]
fn wasm_instantiate_points_at_bad_json() {
    let error = parse(&[
        "tx",
        "wasm",
        "instantiate",
        "1",
        "{'count': 1}",
        "--label",
        "l",
        "--from",
        "a",
    ])
    .unwrap_err();
    let text = error.to_string();
    assert_eq!(error.kind(), clap::error::ErrorKind::ValueValidation);
    assert!(text.contains("not valid JSON"), "{text}");
    assert!(text.contains("line 1 column 2"), "{text}");
    assert!(text.contains("\n  {'count': 1}\n   ^"), "{text}");
}

#[test]
fn wasm_instantiate2_takes_a_hex_salt() {
    let cli = parse(&instantiate("instantiate2", &["--salt", "c0ffee"])).unwrap();
    let (_, _, command) = tx_command(cli);
    let Built::Wasm(WasmTx::Instantiate2 { salt, .. }) = command else {
        panic!("{command:?}")
    };
    assert_eq!(salt.as_slice(), &[0xc0, 0xff, 0xee]);
    let error = parse(&instantiate("instantiate2", &["--salt", "xyz"])).unwrap_err();
    assert!(error.to_string().contains("not hex"), "{error}");
    let error = parse(&instantiate("instantiate2", &[])).unwrap_err();
    assert!(error.to_string().contains("--salt"), "{error}");
}

#[test]
fn wasm_execute_and_migrate() {
    let contract = consign_client::humanize_address(&consign_client::contract_address(1, 1));
    let cli = parse(&[
        "tx",
        "wasm",
        "execute",
        &contract,
        r#"{"increment":{}}"#,
        "--amount",
        "3ucsn",
        "--from",
        "alice",
    ])
    .unwrap();
    let (_, _, command) = tx_command(cli);
    let Built::Wasm(WasmTx::Execute {
        contract: c,
        msg,
        amount,
        from,
    }) = command
    else {
        panic!("{command:?}")
    };
    assert_eq!(c, contract);
    assert_eq!(msg.as_str(), r#"{"increment":{}}"#);
    assert_eq!(amount.unwrap().0, vec![Coin::new(3u128, "ucsn")]);
    assert_eq!(from.from, "alice");

    let cli = parse(&[
        "tx", "wasm", "migrate", &contract, "2", "{}", "--from", "alice",
    ])
    .unwrap();
    let (_, _, command) = tx_command(cli);
    let Built::Wasm(WasmTx::Migrate {
        new_code_id, msg, ..
    }) = command
    else {
        panic!("{command:?}")
    };
    assert_eq!(new_code_id, 2);
    assert_eq!(msg.as_str(), "{}");

    let cli = parse(&[
        "tx",
        "wasm",
        "set-contract-admin",
        &contract,
        "bob",
        "--from",
        "alice",
    ])
    .unwrap();
    assert!(matches!(
        tx_command(cli).2,
        Built::Wasm(WasmTx::SetContractAdmin { .. })
    ));
    let cli = parse(&[
        "tx",
        "wasm",
        "clear-contract-admin",
        &contract,
        "--from",
        "alice",
    ])
    .unwrap();
    assert!(matches!(
        tx_command(cli).2,
        Built::Wasm(WasmTx::ClearContractAdmin { .. })
    ));
}

// ---- query argument parsing ----

#[test]
fn query_commands_parse() {
    let alice = addr("alice");
    let contract = consign_client::humanize_address(&consign_client::contract_address(1, 1));

    let q = query_command(parse(&["query", "bank", "balances", &alice]).unwrap());
    assert!(matches!(q, QueryCommand::Bank(BankQuery::Balances { address }) if address == alice));

    let q = query_command(parse(&["q", "wasm", "code", "3", "--download", "out.wasm"]).unwrap());
    assert!(matches!(
        q,
        QueryCommand::Wasm(WasmQuery::Code { code_id: 3, download: Some(ref f) }) if f == Path::new("out.wasm")
    ));

    let q = query_command(parse(&["query", "wasm", "contract", &contract]).unwrap());
    assert!(matches!(q, QueryCommand::Wasm(WasmQuery::Contract { .. })));

    let q = query_command(
        parse(&[
            "query",
            "wasm",
            "contract-state",
            "smart",
            &contract,
            r#"{"token_info":{}}"#,
        ])
        .unwrap(),
    );
    assert!(matches!(
        q,
        QueryCommand::Wasm(WasmQuery::ContractState(ContractStateQuery::Smart { ref query, .. }))
            if query.as_str() == r#"{"token_info":{}}"#
    ));

    let q = query_command(
        parse(&[
            "query",
            "wasm",
            "contract-state",
            "raw",
            &contract,
            "config",
            "--ascii",
        ])
        .unwrap(),
    );
    assert!(matches!(
        q,
        QueryCommand::Wasm(WasmQuery::ContractState(ContractStateQuery::Raw { ascii: true, ref key, .. }))
            if key == "config"
    ));

    let hash = consign_client::Tx::hash(b"x");
    let q = query_command(parse(&["query", "tx", &hash.to_string().to_lowercase()]).unwrap());
    assert!(matches!(q, QueryCommand::Tx { hash: h } if h == hash));

    let q = query_command(parse(&["query", "block"]).unwrap());
    assert!(matches!(q, QueryCommand::Block { height: None }));
    let q = query_command(parse(&["query", "block", "12"]).unwrap());
    assert!(matches!(q, QueryCommand::Block { height: Some(12) }));

    let q = query_command(
        parse(&[
            "query",
            "deliveries",
            "--after",
            "10",
            "--limit",
            "5",
            "--wait",
            "30",
        ])
        .unwrap(),
    );
    assert!(matches!(
        q,
        QueryCommand::Deliveries { after: 10, limit: Some(5), wait: Some(w) } if w.as_secs() == 30
    ));
    let q = query_command(parse(&["query", "deliveries"]).unwrap());
    assert!(matches!(
        q,
        QueryCommand::Deliveries {
            after: 0,
            limit: None,
            wait: None
        }
    ));

    let q = query_command(parse(&["query", "account", &alice]).unwrap());
    assert!(matches!(q, QueryCommand::Account { .. }));

    let cli = parse(&["--output", "json", "status", "--node", NO_NODE]).unwrap();
    assert!(matches!(cli.command, Sub::Status(ref s) if s.node.node == [NO_NODE]));
}

#[test]
fn query_arguments_are_checked() {
    let contract = consign_client::humanize_address(&consign_client::contract_address(1, 1));
    let error = parse(&["query", "tx", "abc"]).unwrap_err();
    assert!(error.to_string().contains("64 hex characters"), "{error}");
    let error = parse(&[
        "query",
        "wasm",
        "contract-state",
        "smart",
        &contract,
        "{token_info}",
    ])
    .unwrap_err();
    assert!(error.to_string().contains("not valid JSON"), "{error}");
    let error = parse(&["query", "bank", "balances", "consign1notanaddress"]).unwrap_err();
    assert!(error.to_string().contains("invalid address"), "{error}");
}

// ---- keys, through the binary ----

fn consign(home: &Path, args: &[&str]) -> Result<Output> {
    Command::new(env!("CARGO_BIN_EXE_consign"))
        .args(args)
        .arg("--home")
        .arg(home)
        .env_remove("CONSIGN_OUTPUT")
        .env_remove("CONSIGN_NODE")
        .env_remove("CONSIGN_HOME")
        .env_remove("RUST_LOG")
        .output()
        .context("running consign")
}

fn consign_ok(home: &Path, args: &[&str]) -> Result<String> {
    let output = consign(home, args)?;
    anyhow::ensure!(
        output.status.success(),
        "consign {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8(output.stdout)?)
}

#[test]
fn keys_add_list_show_through_the_binary() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let home = dir.path();

    let empty = consign(home, &["keys", "list"])?;
    assert!(empty.status.success());
    assert_eq!(
        String::from_utf8(empty.stdout)?,
        "",
        "an empty list prints nothing"
    );
    let hint = String::from_utf8(empty.stderr)?;
    assert!(hint.starts_with("no keys in "), "{hint}");
    assert_eq!(consign_ok(home, &["keys", "list", "-o", "json"])?, "[]\n");

    let added = consign_ok(home, &["keys", "add", "mykey"])?;
    assert!(
        added.starts_with("name: mykey\naddress: consign1"),
        "{added}"
    );
    let added_json: serde_json::Value = serde_json::from_str(&consign_ok(
        home,
        &["--output", "json", "keys", "add", "other"],
    )?)?;
    assert_eq!(added_json["name"], "other");
    let other = added_json["address"]
        .as_str()
        .context("address")?
        .to_owned();
    assert!(other.starts_with("consign1"));
    assert!(added_json["public_key"].is_string());
    assert!(added_json.get("secret_key").is_none());
    assert!(home.join("keys").join("mykey.json").is_file());

    // An existing name is refused, and the key is not replaced.
    let before = std::fs::read(home.join("keys").join("mykey.json"))?;
    let again = consign(home, &["keys", "add", "mykey"])?;
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("a key named `mykey` already exists"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(home.join("keys").join("mykey.json"))?, before);

    let list = consign_ok(home, &["keys", "list"])?;
    let names: Vec<&str> = list
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or(""))
        .collect();
    assert_eq!(names, ["mykey", "other"]);
    let list: serde_json::Value =
        serde_json::from_str(&consign_ok(home, &["-o", "json", "keys", "list"])?)?;
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    assert_eq!(list[1]["address"], other.as_str());

    assert_eq!(
        consign_ok(home, &["keys", "show", "other", "--address"])?,
        format!("{other}\n")
    );
    assert_eq!(
        consign_ok(home, &["keys", "show", "other", "-a"])?,
        format!("{other}\n")
    );
    // By address, too.
    let shown = consign_ok(home, &["keys", "show", &other])?;
    assert!(shown.starts_with("name: other\n"), "{shown}");
    let shown: serde_json::Value =
        serde_json::from_str(&consign_ok(home, &["keys", "show", "other", "-o", "json"])?)?;
    assert_eq!(shown["address"], other.as_str());

    let missing = consign(home, &["keys", "show", "nobody"])?;
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("no key named or with address `nobody`"),
        "{stderr}"
    );

    let bad = consign(home, &["keys", "add", "../escape"])?;
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid key name"));
    Ok(())
}

#[test]
fn tx_with_an_unknown_key_fails_before_contacting_the_node() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let output = consign(
        dir.path(),
        &[
            "tx",
            "bank",
            "send",
            "nobody",
            &addr("bob"),
            "5ucsn",
            "--node",
            NO_NODE,
        ],
    )?;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot sign with `nobody`"), "{stderr}");
    Ok(())
}

#[test]
fn an_unreachable_node_is_reported_with_a_hint() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}", listener.local_addr()?);
    drop(listener);
    std::fs::write(dir.path().join("api.url"), format!("{url}\n"))?;
    let output = consign(dir.path(), &["status"])?;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot reach the node at {url}/status")),
        "{stderr}"
    );
    assert!(stderr.contains("is `consign dev` running?"), "{stderr}");
    Ok(())
}

#[test]
fn every_chain_command_has_help_with_an_example() {
    use clap::CommandFactory;
    let mut root = Cli::command();
    root.build();
    let mut stack: Vec<(String, clap::Command)> = ["keys", "tx", "query", "status"]
        .iter()
        .map(|name| {
            let sub = root.find_subcommand(name).expect(name).clone();
            ((*name).to_owned(), sub)
        })
        .collect();
    let mut seen = 0;
    while let Some((path, command)) = stack.pop() {
        seen += 1;
        assert!(command.get_about().is_some(), "{path}: no about");
        if command.get_subcommands().next().is_none() {
            let long = command
                .get_long_about()
                .map(|s| s.to_string())
                .unwrap_or_default();
            assert!(!long.is_empty(), "{path}: no long description");
            let after = command
                .get_after_help()
                .map(|s| s.to_string())
                .unwrap_or_default();
            assert!(after.contains("consign "), "{path}: no example");
        }
        for sub in command.get_subcommands() {
            if sub.get_name() != "help" {
                stack.push((format!("{path} {}", sub.get_name()), sub.clone()));
            }
        }
    }
    assert!(seen >= 20, "only {seen} commands");
}

#[test]
fn tx_sign_and_broadcast_take_only_what_they_use() {
    use clap::CommandFactory;
    // A prepared file's gas, fee and mode of building are its own: those flags are unknown here.
    for extra in [
        &["--gas", "5"][..],
        &["--fees", "1ucsn"],
        &["--dry-run"],
        &["--generate-only"],
    ] {
        let mut sign = vec!["tx", "sign", "f.json", "--from", "a"];
        sign.extend_from_slice(extra);
        assert!(parse(&sign).is_err(), "tx sign took {extra:?}");
        let mut broadcast = vec!["tx", "broadcast", "f.json"];
        broadcast.extend_from_slice(extra);
        assert!(parse(&broadcast).is_err(), "tx broadcast took {extra:?}");
    }
    assert!(parse(&[
        "tx",
        "sign",
        "f",
        "--from",
        "a",
        "--chain-id",
        "c",
        "--sequence",
        "3"
    ])
    .is_ok());
    assert!(parse(&[
        "tx",
        "broadcast",
        "f",
        "--broadcast-mode",
        "sync",
        "--timeout",
        "5s"
    ])
    .is_ok());

    // The flags each help lists: the command's visible arguments once clap has built it (which
    // hands the global ones down), not words its prose mentions.
    let mut built = Cli::command();
    built.build();
    let flags = |path: &[&str]| -> Vec<String> {
        let mut sub = &built;
        for name in path {
            sub = sub.find_subcommand(name).unwrap();
        }
        sub.get_arguments()
            .filter(|a| !a.is_hide_set())
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .collect()
    };
    let lists = |flags: &[String], flag: &str| flags.iter().any(|f| f == flag);
    let sign = flags(&["tx", "sign"]);
    for absent in [
        "--gas",
        "--fees",
        "--dry-run",
        "--generate-only",
        "--broadcast-mode",
    ] {
        assert!(
            !lists(&sign, absent),
            "tx sign --help lists {absent}: {sign:?}"
        );
    }
    let broadcast = flags(&["tx", "broadcast"]);
    assert!(lists(&broadcast, "--broadcast-mode"), "{broadcast:?}");
    assert!(!lists(&broadcast, "--gas"), "{broadcast:?}");
    let send = flags(&["tx", "bank", "send"]);
    for present in [
        "--gas",
        "--fees",
        "--dry-run",
        "--generate-only",
        "--broadcast-mode",
    ] {
        assert!(
            lists(&send, present),
            "tx bank send --help lacks {present}: {send:?}"
        );
    }
}

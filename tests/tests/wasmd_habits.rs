//! wasmd habits against a real `consign dev`: `--gas auto` with `--gas-adjustment`,
//! `--dry-run`, `--generate-only` → `tx sign` → `tx broadcast`, `-y`, the wasmd aliases, the
//! `list-code` / `list-contract-by-code` / `contract-state all` queries, and the simulate route
//! refusing what it cannot run while committing nothing.

use consign_client::{coins, BroadcastMode, ClientError, Msg, NodeClient, SecretKey, Tx, TxBody};
use std::process::{Command, Output, Stdio};

use consign_tests::{consign_bin, contract, dev_address, runtime, ChainNode, DevNode};
use serde_json::{json, Value};

/// `consign ARGS` in the node's home but pointed at a closed port: it succeeds only if it never
/// needs the node.
fn without_node(node: &DevNode, args: &[&str]) -> Output {
    Command::new(consign_bin())
        .args(args)
        .args(["--node", "http://127.0.0.1:9", "--home"])
        .arg(node.home())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn sequence(node: &DevNode, who: &str) -> u64 {
    node.json(&["query", "account", &dev_address(who)])["sequence"]
        .as_u64()
        .unwrap()
}

/// Stores cw20-base with the `upload` alias and `--gas auto`, instantiates it with `inst`.
fn cw20(node: &DevNode) -> (u64, String) {
    let cw20 = contract("cw20_base");
    let stored = node.json(&[
        "tx",
        "wasm",
        "upload",
        cw20.to_str().unwrap(),
        "--from",
        "alice",
        "--gas",
        "auto",
        "-y",
    ]);
    assert_eq!(stored["code"], 0, "{stored}");
    let code_id = stored["code_id"].as_u64().unwrap();
    let init = json!({"name": "Consign Token", "symbol": "CSN", "decimals": 6,
                      "initial_balances": [{"address": dev_address("alice"), "amount": "1000"}]});
    let made = node.json(&[
        "tx",
        "wasm",
        "inst",
        &code_id.to_string(),
        &init.to_string(),
        "--label",
        "token",
        "--no-admin",
        "--from",
        "alice",
        "--yes",
    ]);
    assert_eq!(made["code"], 0, "{made}");
    (
        code_id,
        made["contract_address"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn gas_auto_commits_within_the_adjustment_and_dry_run_changes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let node = DevNode::start(home.path()).unwrap();
    let (_, token) = cw20(&node);
    let transfer =
        json!({"transfer": {"recipient": dev_address("bob"), "amount": "400"}}).to_string();

    // --dry-run: the estimate and the result, and nothing moves.
    let (alice_before, seq_before) = (
        node.balance(&dev_address("alice")),
        sequence(&node, "alice"),
    );
    let dry = node.json(&[
        "tx",
        "wasm",
        "exec",
        &token,
        &transfer,
        "--from",
        "alice",
        "--dry-run",
    ]);
    assert_eq!(dry["code"], 0, "{dry}");
    let used = dry["gas_used"].as_u64().unwrap();
    assert_eq!(
        dry["gas_estimate"].as_u64().unwrap(),
        (used * 13).div_ceil(10)
    );
    let text = node
        .consign(&[
            "tx",
            "wasm",
            "execute",
            &token,
            &transfer,
            "--from",
            "alice",
            "--dry-run",
        ])
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(text.contains("gas estimate:"), "{text}");
    assert!(text.contains("nothing was broadcast"), "{text}");
    assert_eq!(node.balance(&dev_address("alice")), alice_before);
    assert_eq!(sequence(&node, "alice"), seq_before);
    let bob = json!({"balance": {"address": dev_address("bob")}}).to_string();
    let before = node.json(&["q", "wasm", "contract-state", "smart", &token, &bob]);
    assert_eq!(before["data"]["balance"], "0");

    // A dry run of a transaction that would fail says so, exits 1, and moves nothing either.
    let overdraw =
        json!({"transfer": {"recipient": dev_address("alice"), "amount": "1"}}).to_string();
    let failing = node
        .consign(&[
            "tx",
            "wasm",
            "e",
            &token,
            &overdraw,
            "--from",
            "bob",
            "--dry-run",
        ])
        .unwrap();
    assert_eq!(failing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&failing.stderr);
    assert!(stderr.contains("would fail"), "{stderr}");
    assert!(stderr.contains("Cannot Sub"), "{stderr}");
    // So does --gas auto, which does not broadcast it.
    let refused = node
        .consign(&[
            "tx", "wasm", "execute", &token, &overdraw, "--from", "bob", "--gas", "auto",
        ])
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not broadcast"));
    assert_eq!(sequence(&node, "bob"), 0);

    // --gas auto with --gas-adjustment: committed, with a limit within the adjustment of what
    // it used.
    let done = node.json(&[
        "tx",
        "wasm",
        "execute",
        &token,
        &transfer,
        "--from",
        "alice",
        "--gas",
        "auto",
        "--gas-adjustment",
        "1.5",
        "-y",
    ]);
    assert_eq!(done["code"], 0, "{done}");
    let (wanted, used_now) = (
        done["gas_wanted"].as_u64().unwrap(),
        done["gas_used"].as_u64().unwrap(),
    );
    assert!(used_now <= wanted, "{done}");
    assert!(
        wanted <= (used_now as f64 * 1.5).ceil() as u64 + 100,
        "{done}"
    );
    assert!(wanted >= used_now + used_now / 3, "{done}");
    let after = node.json(&["q", "wasm", "contract-state", "smart", &token, &bob]);
    assert_eq!(after["data"]["balance"], "400");
}

#[test]
fn generate_only_sign_offline_and_broadcast() {
    let home = tempfile::tempdir().unwrap();
    let node = DevNode::start(home.path()).unwrap();
    let chain_id = node.json(&["status"])["chain_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob_before = node.balance(&dev_address("bob"));
    let seq = sequence(&node, "alice");

    // Everything given: no node is asked (an unreachable --node proves it).
    let unsigned_path = home.path().join("unsigned.json");
    let unsigned = without_node(
        &node,
        &[
            "tx",
            "bank",
            "send",
            "alice",
            &dev_address("bob"),
            "7ucsn",
            "--generate-only",
            "--chain-id",
            &chain_id,
            "--sequence",
            &seq.to_string(),
            "--fees",
            "1ucsn",
        ],
    );
    assert!(
        unsigned.status.success(),
        "{}",
        String::from_utf8_lossy(&unsigned.stderr)
    );
    std::fs::write(&unsigned_path, &unsigned.stdout).unwrap();
    let body: Value = serde_json::from_slice(&unsigned.stdout).unwrap();
    assert_eq!(body["body"]["sender"], dev_address("alice"));
    assert!(body.get("signature").is_none(), "{body}");

    // Signed without the node; only the sender's key may sign it.
    let wrong = without_node(
        &node,
        &[
            "tx",
            "sign",
            unsigned_path.to_str().unwrap(),
            "--from",
            "bob",
        ],
    );
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("sign it with the sender's key"));
    let signed_path = home.path().join("signed.json");
    let signed = without_node(
        &node,
        &[
            "tx",
            "sign",
            unsigned_path.to_str().unwrap(),
            "--from",
            "alice",
            "--output-document",
            signed_path.to_str().unwrap(),
        ],
    );
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    let tx = Tx::from_bytes(std::fs::read(&signed_path).unwrap().trim_ascii_end()).unwrap();
    tx.verify().unwrap();

    let sent = node.json(&["tx", "broadcast", signed_path.to_str().unwrap()]);
    assert_eq!(sent["code"], 0, "{sent}");
    assert_eq!(node.balance(&dev_address("bob")), bob_before + 7);
    assert_eq!(sequence(&node, "alice"), seq + 1);

    // Broadcasting it again is refused as a replay; a tampered file never leaves the machine.
    let again = node
        .consign(&["tx", "broadcast", signed_path.to_str().unwrap()])
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    let text = std::fs::read_to_string(&signed_path)
        .unwrap()
        .replace("\"7\"", "\"70\"");
    std::fs::write(&signed_path, text).unwrap();
    let tampered = node
        .consign(&["tx", "broadcast", signed_path.to_str().unwrap()])
        .unwrap();
    assert!(!tampered.status.success());
    assert!(String::from_utf8_lossy(&tampered.stderr).contains("not validly signed"));

    // --generate-only asking the node for what is left out, then sign | broadcast -.
    let generated = node
        .consign(&[
            "tx",
            "bank",
            "send",
            "alice",
            &dev_address("bob"),
            "3ucsn",
            "--generate-only",
        ])
        .unwrap();
    assert!(generated.status.success());
    std::fs::write(&unsigned_path, &generated.stdout).unwrap();
    let signed = node
        .consign(&[
            "tx",
            "sign",
            unsigned_path.to_str().unwrap(),
            "--from",
            "alice",
        ])
        .unwrap();
    assert!(signed.status.success());
    std::fs::write(&signed_path, &signed.stdout).unwrap();
    let sent = node.json(&["tx", "broadcast", signed_path.to_str().unwrap()]);
    assert_eq!(sent["code"], 0, "{sent}");
    assert_eq!(node.balance(&dev_address("bob")), bob_before + 10);
}

#[test]
fn list_queries_return_what_was_stored() {
    let home = tempfile::tempdir().unwrap();
    let node = DevNode::start(home.path()).unwrap();
    let (code_id, token) = cw20(&node);

    let codes = node.json(&["query", "wasm", "list-code"]);
    let infos = codes["code_infos"].as_array().unwrap();
    assert_eq!(infos.len(), 1, "{codes}");
    assert_eq!(infos[0]["code_id"], code_id);
    assert_eq!(infos[0]["creator"], dev_address("alice"));
    assert!(codes["pagination"].get("next_key").is_none(), "{codes}");

    let contracts = node.json(&["q", "wasm", "list-contract-by-code", &code_id.to_string()]);
    assert_eq!(contracts["contracts"], json!([token]));
    let missing = node
        .consign(&["q", "wasm", "list-contract-by-code", "99"])
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no code with id 99"));

    let state = node.json(&["q", "wasm", "contract-state", "all", &token]);
    let models = state["models"].as_array().unwrap();
    assert!(
        models.iter().any(|m| m["key"] == hex::encode("token_info")),
        "{state}"
    );
    // Page by page, the same entries.
    let mut paged = Vec::new();
    let mut page_key: Option<String> = None;
    loop {
        let mut args = vec!["q", "wasm", "state", "all", &token, "--limit", "1"];
        if let Some(key) = &page_key {
            args.extend(["--page-key", key.as_str()]);
        }
        let page = node.json(&args);
        paged.extend(page["models"].as_array().unwrap().clone());
        match page["pagination"]["next_key"].as_str() {
            Some(key) => page_key = Some(key.to_owned()),
            None => break,
        }
    }
    assert_eq!(&paged, models);
    let too_many = node
        .consign(&[
            "q",
            "wasm",
            "contract-state",
            "all",
            &token,
            "--limit",
            "5000",
        ])
        .unwrap();
    assert!(String::from_utf8_lossy(&too_many.stderr).contains("maximum of 1000"));
}

#[test]
fn the_simulate_route_refuses_malformed_transactions_and_commits_nothing() {
    let home = tempfile::tempdir().unwrap();
    let node = DevNode::start(home.path()).unwrap();
    let client = NodeClient::new(&node.url).unwrap();
    let rt = runtime();
    let alice = SecretKey::from_seed("alice");
    let status = rt.block_on(client.status()).unwrap();

    for bytes in [&b"not json"[..], b"{\"body\":{}}", b"{}", b"[]"].map(<[u8]>::to_vec) {
        match rt.block_on(client.simulate_bytes(bytes)) {
            Err(ClientError::Refused { message, code, .. }) => {
                assert_eq!(code, 2);
                assert!(message.contains("malformed transaction"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    let body = TxBody {
        chain_id: status.chain_id.clone(),
        sender: alice.address(),
        sequence: 0,
        gas_limit: 200_000,
        fee: vec![],
        memo: String::new(),
        messages: vec![Msg::BankSend {
            to: dev_address("bob"),
            amount: coins(5, "ucsn"),
        }],
    };
    let signed = Tx::sign(body.clone(), &alice);
    let simulated = rt.block_on(client.simulate(&signed)).unwrap();
    assert_eq!(simulated.code, 0, "{}", simulated.log);
    assert!(simulated.gas_used > 0);
    // Simulated as often as you like: the node's height and the balances do not move, and the
    // very same transaction still commits afterwards.
    let bob = rt.block_on(client.balances(&dev_address("bob"))).unwrap();
    for _ in 0..3 {
        rt.block_on(client.simulate(&signed)).unwrap();
    }
    let again = rt.block_on(client.status()).unwrap();
    assert_eq!(again.height, status.height);
    assert_eq!(
        rt.block_on(client.balances(&dev_address("bob"))).unwrap(),
        bob
    );
    let committed = rt
        .block_on(client.broadcast(&signed, BroadcastMode::COMMIT))
        .unwrap();
    assert_eq!(committed.code(), 0, "{}", committed.log());
    assert_eq!(committed.committed().unwrap().gas_used, simulated.gas_used);

    // Replays and forgeries are refused like broadcasts.
    match rt.block_on(client.simulate(&signed)) {
        Err(ClientError::Refused { code, message, .. }) => {
            assert_eq!(code, 32, "{message}");
        }
        other => panic!("{other:?}"),
    }
    let mut forged = Tx::sign(
        TxBody {
            sequence: 1,
            ..body
        },
        &SecretKey::from_seed("mallory"),
    );
    match rt.block_on(client.simulate(&forged)) {
        Err(ClientError::Refused { message, .. }) => {
            assert!(message.contains("signer mismatch"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    forged.public_key = alice.public_key();
    match rt.block_on(client.simulate(&forged)) {
        Err(ClientError::Refused { message, .. }) => {
            assert!(message.contains("bad signature"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

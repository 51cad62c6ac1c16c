//! Staking through the command line against a real `consign dev`: the dev validator listed,
//! `tx staking delegate|unbond|redelegate` and `tx distribution withdraw-rewards` moving the
//! balances, `query staking delegations|unbonding` showing them, an unbonding that comes back
//! after `--unbonding-time` and not before, and bad input refused before anything is signed.

use std::time::{Duration, Instant};

use consign_client::SecretKey;
use consign_tests::{ok_json, DevNode};
use serde_json::Value;

fn addr(name: &str) -> String {
    SecretKey::from_seed(name).address()
}

/// `consign ARGS --output json` that must succeed.
fn json_of(node: &DevNode, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--output", "json"]);
    ok_json(&node.consign(&all).unwrap())
}

fn balance(node: &DevNode, who: &str) -> u128 {
    let answer = json_of(node, &["query", "bank", "balances", &addr(who)]);
    answer["balances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["denom"] == "ucsn")
        .map_or(0, |c| c["amount"].as_str().unwrap().parse().unwrap())
}

/// A committed transaction's result, which must have succeeded.
fn tx_ok(node: &DevNode, args: &[&str]) -> Value {
    let mut all = vec!["tx"];
    all.extend(args);
    let result = json_of(node, &all);
    assert_eq!(result["code"], 0, "{result}");
    result
}

#[test]
fn delegate_withdraw_and_unbond_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start_with(dir.path(), &["--unbonding-time", "3s"]).unwrap();

    let validators = json_of(&node, &["query", "staking", "validators"]);
    assert_eq!(validators["bonded_denom"], "ucsn");
    assert_eq!(validators["unbonding_seconds"], 3);
    let validator = validators["validators"][0]["address"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(validator.starts_with("consignvaloper1"), "{validators}");
    assert_eq!(validators["validators"][0]["moniker"], "dev");

    let before = balance(&node, "alice");
    let delegated = tx_ok(
        &node,
        &[
            "staking",
            "delegate",
            &validator,
            "1000000ucsn",
            "--from",
            "alice",
        ],
    );
    let types: Vec<&str> = delegated["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"delegate"), "{types:?}");
    assert_eq!(balance(&node, "alice"), before - 1_000_000);

    // Alone in the bonded pool, alice earns every block's reward; bob's send makes a block.
    tx_ok(&node, &["bank", "send", "bob", &addr("carol"), "1ucsn"]);
    let delegations = json_of(&node, &["query", "staking", "delegations", &addr("alice")]);
    assert_eq!(delegations["withdraw_address"], addr("alice"));
    assert_eq!(delegations["delegations"][0]["amount"]["amount"], "1000000");
    assert_eq!(
        delegations["delegations"][0]["rewards"][0]["amount"],
        "1000000"
    );
    let withdrawn = tx_ok(
        &node,
        &[
            "distribution",
            "withdraw-rewards",
            &validator,
            "--from",
            "alice",
        ],
    );
    assert!(
        withdrawn.to_string().contains("withdraw_rewards"),
        "{withdrawn}"
    );
    assert_eq!(balance(&node, "alice"), before - 1_000_000 + 2_000_000);

    // Unbond: listed as under way, back only after 3 s (each bob send makes a block).
    let unbonded = tx_ok(
        &node,
        &[
            "staking",
            "unbond",
            &validator,
            "400000ucsn",
            "--from",
            "alice",
        ],
    );
    let height = unbonded["height"].as_u64().unwrap();
    let waiting = json_of(&node, &["query", "staking", "unbonding", &addr("alice")]);
    assert_eq!(waiting["unbondings"][0]["amount"]["amount"], "400000");
    assert_eq!(waiting["unbondings"][0]["creation_height"], height);
    let after_unbond = balance(&node, "alice");
    let started = Instant::now();
    loop {
        tx_ok(&node, &["bank", "send", "bob", &addr("carol"), "1ucsn"]);
        let under_way = json_of(&node, &["query", "staking", "unbonding", &addr("alice")]);
        if under_way["unbondings"].as_array().unwrap().is_empty() {
            break;
        }
        assert_eq!(balance(&node, "alice"), after_unbond, "paid back early");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the unbonding never completed: {under_way}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "completed too soon"
    );
    assert_eq!(balance(&node, "alice"), after_unbond + 400_000);

    // Bad input is refused by the command before anything is signed, with what to do.
    let refused = node
        .consign(&[
            "tx",
            "staking",
            "delegate",
            &addr("bob"),
            "5ucsn",
            "--from",
            "alice",
        ])
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("consign query staking validators"),
        "{stderr}"
    );
    // And what only the chain knows, by the chain, with the SDK's reason.
    let too_much = node
        .consign(&[
            "tx",
            "staking",
            "unbond",
            &validator,
            "999999999ucsn",
            "--from",
            "alice",
        ])
        .unwrap();
    assert!(!too_much.status.success());
    let stderr = String::from_utf8_lossy(&too_much.stderr);
    assert!(stderr.contains("invalid shares amount"), "{stderr}");
}

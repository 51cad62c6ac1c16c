//! Staking through the command line against a real `consign dev`: the dev validator listed,
//! `tx staking delegate|unbond|redelegate` and `tx distribution withdraw-rewards` moving the
//! balances, `query staking delegations|unbonding` showing them, an unbonding that comes back
//! after `--unbonding-time` and not before, and bad input refused before anything is signed.

use std::time::{Duration, Instant};

use consign_tests::{dev_address, ChainNode, DevNode};

#[test]
fn delegate_withdraw_and_unbond_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start_with(dir.path(), &["--unbonding-time", "3s"]).unwrap();

    let validators = node.json(&["query", "staking", "validators"]);
    assert_eq!(validators["bonded_denom"], "ucsn");
    assert_eq!(validators["unbonding_seconds"], 3);
    let validator = validators["validators"][0]["address"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(validator.starts_with("consignvaloper1"), "{validators}");
    assert_eq!(validators["validators"][0]["moniker"], "dev");

    let before = node.balance(&dev_address("alice"));
    let delegated = node.tx_ok(&[
        "staking",
        "delegate",
        &validator,
        "1000000ucsn",
        "--from",
        "alice",
    ]);
    let types: Vec<&str> = delegated["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"delegate"), "{types:?}");
    assert_eq!(node.balance(&dev_address("alice")), before - 1_000_000);

    // Alone in the bonded pool, alice earns every block's reward; bob's send makes a block.
    node.tx_ok(&["bank", "send", "bob", &dev_address("carol"), "1ucsn"]);
    let delegations = node.json(&["query", "staking", "delegations", &dev_address("alice")]);
    assert_eq!(delegations["withdraw_address"], dev_address("alice"));
    assert_eq!(delegations["delegations"][0]["amount"]["amount"], "1000000");
    assert_eq!(
        delegations["delegations"][0]["rewards"][0]["amount"],
        "1000000"
    );
    let withdrawn = node.tx_ok(&[
        "distribution",
        "withdraw-rewards",
        &validator,
        "--from",
        "alice",
    ]);
    assert!(
        withdrawn.to_string().contains("withdraw_rewards"),
        "{withdrawn}"
    );
    assert_eq!(
        node.balance(&dev_address("alice")),
        before - 1_000_000 + 2_000_000
    );

    // Unbond: listed as under way, back only after 3 s (each bob send makes a block).
    let unbonded = node.tx_ok(&[
        "staking",
        "unbond",
        &validator,
        "400000ucsn",
        "--from",
        "alice",
    ]);
    let height = unbonded["height"].as_u64().unwrap();
    let waiting = node.json(&["query", "staking", "unbonding", &dev_address("alice")]);
    assert_eq!(waiting["unbondings"][0]["amount"]["amount"], "400000");
    assert_eq!(waiting["unbondings"][0]["creation_height"], height);
    let after_unbond = node.balance(&dev_address("alice"));
    let started = Instant::now();
    loop {
        node.tx_ok(&["bank", "send", "bob", &dev_address("carol"), "1ucsn"]);
        let under_way = node.json(&["query", "staking", "unbonding", &dev_address("alice")]);
        if under_way["unbondings"].as_array().unwrap().is_empty() {
            break;
        }
        assert_eq!(
            node.balance(&dev_address("alice")),
            after_unbond,
            "paid back early"
        );
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
    assert_eq!(node.balance(&dev_address("alice")), after_unbond + 400_000);

    // Bad input is refused by the command before anything is signed, with what to do.
    let refused = node
        .consign(&[
            "tx",
            "staking",
            "delegate",
            &dev_address("bob"),
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

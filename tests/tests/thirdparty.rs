//! Third-party contracts from crates.io, built unmodified by `scripts/build-contracts.sh` (lock
//! files pinned in `scripts/thirdparty/`), driven through the command line against a real
//! `consign dev` as their users drive them on wasmd, the expected failures included:
//!
//! - cw3-flex-multisig over a cw4-group of 150 members, stored and instantiated with the default
//!   gas (no guessing), the group's admin handed to the multisig and the multisig hooked to the
//!   group; a proposal that pays out and adds a member, voted, passed and executed.
//! - cw1-subkeys, built with cosmwasm-std's `staking` feature: a subkey's bank allowance, and its
//!   staking permissions as the contract delegates, withdraws rewards and undelegates.
//! - cw721-base 0.22 (815 KiB, the largest): minting by the minter only, and tokens that move
//!   only by their owner, a spender approved for the token, or an operator approved for all of
//!   the owner's tokens, until the approval is used up or revoked.
//! - cw721-fixed-price 0.22 over cw20-base and cw721-base: at instantiation the sale creates
//!   its collection and learns its address from the reply; buyers pay in cw20 tokens through
//!   `send`, whose hook mints them the next token, until the edition is sold out.

use consign_tests::{contract, dev_address, ok_json, ChainNode, DevNode};
use serde_json::{json, Value};

/// `consign tx wasm execute CONTRACT MSG --from FROM --output json`.
fn run_execute(node: &DevNode, contract: &str, msg: &Value, from: &str) -> std::process::Output {
    let msg = msg.to_string();
    node.consign(&[
        "tx", "wasm", "execute", contract, &msg, "--from", from, "--output", "json",
    ])
    .unwrap()
}

/// An execution that must commit with code 0; its result.
fn execute(node: &DevNode, contract: &str, msg: &Value, from: &str) -> Value {
    let result = ok_json(&run_execute(node, contract, msg, from));
    assert_eq!(result["code"], 0, "{msg} from {from}: {result}");
    result
}

/// An execution the contract must refuse: the command fails, and its output (the reason the
/// contract gave) is returned.
fn refused(node: &DevNode, contract: &str, msg: &Value, from: &str) -> String {
    let out = run_execute(node, contract, msg, from);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out.status.success(),
        "{msg} from {from} went through: {text}"
    );
    text
}

#[test]
fn a_flex_multisig_over_a_150_member_group_pays_out_and_grows_the_group() {
    let home = tempfile::tempdir().unwrap();
    let node = DevNode::start(home.path()).unwrap();
    let (alice, bob, carol) = (
        dev_address("alice"),
        dev_address("bob"),
        dev_address("carol"),
    );

    // A group of 150 (alice, bob and 148 others; carol not among them), instantiated with the
    // default gas limit: an ordinary contract of this size needs no --gas.
    let mut members = vec![
        json!({"addr": alice, "weight": 1}),
        json!({"addr": bob, "weight": 1}),
    ];
    members.extend(
        (0..148).map(|i| json!({"addr": dev_address(&format!("member-{i}")), "weight": 1})),
    );
    let group_code = node.store_contract("cw4_group");
    let group_msg = json!({"admin": alice, "members": members}).to_string();
    // With a bank send's limit it runs out, and the command says what to do.
    let starved = node
        .consign(&[
            "tx",
            "wasm",
            "instantiate",
            &group_code,
            &group_msg,
            "--label",
            "group",
            "--no-admin",
            "--from",
            "alice",
            "--gas",
            "2000000",
        ])
        .unwrap();
    let said = String::from_utf8_lossy(&starved.stderr);
    assert!(!starved.status.success());
    assert!(
        said.contains("out of gas") && said.contains("--gas auto"),
        "{said}"
    );
    let group = node.instantiate(
        &group_code,
        &serde_json::from_str(&group_msg).unwrap(),
        "group",
    );
    assert_eq!(
        node.smart(&group, &json!({"total_weight": {}})),
        json!({"weight": 150})
    );

    let multisig_code = node.store_contract("cw3_flex_multisig");
    let multisig = node.instantiate(
        &multisig_code,
        &json!({
            "group_addr": group,
            "threshold": {"absolute_count": {"weight": 2}},
            "max_voting_period": {"time": 3600},
            "executor": null,
            "proposal_deposit": null,
        }),
        "multisig",
    );
    // The group reports membership changes to the multisig and is then governed by it.
    execute(
        &node,
        &group,
        &json!({"add_hook": {"addr": multisig}}),
        "alice",
    );
    execute(
        &node,
        &group,
        &json!({"update_admin": {"admin": multisig}}),
        "alice",
    );
    assert!(refused(
        &node,
        &group,
        &json!({"update_members": {"remove": [], "add": [{"addr": carol, "weight": 5}]}}),
        "alice",
    )
    .contains("Caller is not admin"));
    node.tx_ok(&["bank", "send", "alice", &multisig, "5000ucsn"]);

    // Carol is no member: she cannot propose.
    let pay_carol = json!({"bank": {"send": {"to_address": carol, "amount": [{"denom": "ucsn", "amount": "1000"}]}}});
    let add_carol = json!({"wasm": {"execute": {
        "contract_addr": group,
        "msg": consign_client::Binary::from(
            json!({"update_members": {"remove": [], "add": [{"addr": carol, "weight": 1}]}})
                .to_string()
                .into_bytes()
        ),
        "funds": [],
    }}});
    let propose = json!({"propose": {"title": "pay carol and let her in", "description": "",
                                     "msgs": [pay_carol, add_carol], "latest": null}});
    assert!(refused(&node, &multisig, &propose, "carol").contains("Unauthorized"));

    // Alice proposes (her weight is her vote), and cannot vote twice or execute it yet.
    let proposed = execute(&node, &multisig, &propose, "alice");
    let id: u64 = attribute(&proposed, "proposal_id").parse().unwrap();
    let status = |node: &DevNode| {
        node.smart(&multisig, &json!({"proposal": {"proposal_id": id}}))["status"].clone()
    };
    assert_eq!(status(&node), "open");
    let vote = |vote: &str| json!({"vote": {"proposal_id": id, "vote": vote}});
    assert!(refused(&node, &multisig, &vote("yes"), "alice").contains("Already voted"));
    let run = json!({"execute": {"proposal_id": id}});
    assert!(refused(&node, &multisig, &run, "alice").contains("must have passed"));
    assert!(refused(&node, &multisig, &vote("yes"), "carol").contains("Unauthorized"));

    // Bob's vote passes it; then anyone may execute it (the multisig has no executor set).
    execute(&node, &multisig, &vote("yes"), "bob");
    assert_eq!(status(&node), "passed");
    let carol_before = node.balance(&carol);
    let executed = execute(&node, &multisig, &run, "bob");
    assert_eq!(status(&node), "executed");
    assert_eq!(node.balance(&carol), carol_before + 1000);
    assert_eq!(node.balance(&multisig), 4000);
    assert_eq!(
        node.smart(
            &group,
            &json!({"member": {"addr": carol, "at_height": null}})
        ),
        json!({"weight": 1})
    );
    assert_eq!(
        node.smart(&group, &json!({"total_weight": {}})),
        json!({"weight": 151})
    );
    // The group called the multisig's hook as it changed: after the group's own `execute`
    // event comes a second one for the multisig (the first is the proposal's execution). The
    // hook answers with no attributes, so wasmd's per-call `execute` event is its only trace.
    let called: Vec<&str> = executed["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "execute")
        .flat_map(|e| e["attributes"].as_array().unwrap())
        .filter(|a| a["key"] == "_contract_address")
        .map(|a| a["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        called,
        [multisig.as_str(), group.as_str(), multisig.as_str()],
        "{executed}"
    );
    // Executed once: a second run is refused.
    assert!(refused(&node, &multisig, &run, "bob").contains("must have passed"));
}

#[test]
fn cw1_subkeys_lets_a_subkey_spend_its_allowance_and_stake_only_as_permitted() {
    let home = tempfile::tempdir().unwrap();
    let node = DevNode::start_with(home.path(), &["--unbonding-time", "1h"]).unwrap();
    let (bob, carol) = (dev_address("bob"), dev_address("carol"));
    let validator = node.json(&["query", "staking", "validators"])["validators"][0]["address"]
        .as_str()
        .unwrap()
        .to_owned();

    // `consign check` accepts it, built with the staking feature as it is.
    let wasm = contract("cw1_subkeys");
    let checked = std::process::Command::new(consign_tests::consign_bin())
        .args(["check", "--output", "json"])
        .arg(&wasm)
        .output()
        .unwrap();
    let checked = &consign_tests::ok_json(&checked)[0];
    assert_eq!(checked["accepted"], true, "{checked}");
    assert!(
        checked["required_capabilities"]
            .as_array()
            .unwrap()
            .contains(&json!("staking")),
        "{checked}"
    );

    let code = node.store_contract("cw1_subkeys");
    let proxy = node.instantiate(
        &code,
        &json!({"admins": [dev_address("alice")], "mutable": true}),
        "subkeys",
    );
    node.tx_ok(&["bank", "send", "alice", &proxy, "5000000ucsn"]);
    let send = |amount: u64| {
        json!({"execute": {"msgs": [{"bank": {"send": {"to_address": carol,
                  "amount": [{"denom": "ucsn", "amount": amount.to_string()}]}}}]}})
    };

    // Bob's allowance: 1000; 600 spent, then 600 more refused, nothing moved by the refusal.
    execute(
        &node,
        &proxy,
        &json!({"increase_allowance": {"spender": bob,
                 "amount": {"denom": "ucsn", "amount": "1000"}, "expires": null}}),
        "alice",
    );
    execute(&node, &proxy, &send(600), "bob");
    let proxy_balance = node.balance(&proxy);
    assert_eq!(proxy_balance, 5_000_000 - 600);
    assert!(refused(&node, &proxy, &send(600), "bob").contains("Cannot Sub"));
    assert_eq!(node.balance(&proxy), proxy_balance);

    // Staking needs permissions: none yet.
    let stake = |msg: Value| json!({"execute": {"msgs": [{"staking": msg}]}});
    let delegate = stake(json!({"delegate": {"validator": validator,
                                              "amount": {"denom": "ucsn", "amount": "1000000"}}}));
    assert!(refused(&node, &proxy, &delegate, "bob").contains("No permissions"));
    execute(
        &node,
        &proxy,
        &json!({"set_permissions": {"spender": bob, "permissions":
                 {"delegate": true, "redelegate": false, "undelegate": false, "withdraw": true}}}),
        "alice",
    );

    // Bob delegates the proxy's coins: the chain's staking module holds them for the proxy.
    execute(&node, &proxy, &delegate, "bob");
    let delegations = node.json(&["query", "staking", "delegations", &proxy]);
    assert_eq!(
        delegations["delegations"][0]["amount"]["amount"], "1000000",
        "{delegations}"
    );
    assert_eq!(node.balance(&proxy), proxy_balance - 1_000_000);

    // Withdrawing the rewards is permitted; undelegating is not, for bob.
    let withdraw = json!({"execute": {"msgs": [{"distribution":
                           {"withdraw_delegator_reward": {"validator": validator}}}]}});
    let withdrawn = execute(&node, &proxy, &withdraw, "bob");
    assert!(
        withdrawn["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "withdraw_rewards"),
        "{withdrawn}"
    );
    let undelegate = stake(json!({"undelegate": {"validator": validator,
                                                  "amount": {"denom": "ucsn", "amount": "400000"}}}));
    assert!(refused(&node, &proxy, &undelegate, "bob").contains("Un-delegate is not allowed"));
    let can = node.smart(
        &proxy,
        &json!({"can_execute": {"sender": bob, "msg": {"staking": undelegate["execute"]["msgs"][0]["staking"]}}}),
    );
    assert_eq!(can, json!({"can_execute": false}));

    // The admin may: the proxy's unbonding starts, to complete after the unbonding period.
    execute(&node, &proxy, &undelegate, "alice");
    let delegations = node.json(&["query", "staking", "delegations", &proxy]);
    assert_eq!(
        delegations["delegations"][0]["amount"]["amount"], "600000",
        "{delegations}"
    );
    let unbonding = node.json(&["query", "staking", "unbonding", &proxy]);
    assert!(
        unbonding.to_string().contains("400000"),
        "the proxy's unbonding should hold 400000: {unbonding}"
    );
}

#[test]
fn cw721_tokens_move_only_by_their_owner_an_approved_spender_or_an_operator() {
    let home = tempfile::tempdir().unwrap();
    let node = DevNode::start(home.path()).unwrap();
    let (alice, bob, carol, dave) = (
        dev_address("alice"),
        dev_address("bob"),
        dev_address("carol"),
        dev_address("dave"),
    );
    let code = node.store_contract("cw721_base");
    let nft = node.instantiate(
        &code,
        &json!({"name": "Consign Prints", "symbol": "PRINT", "collection_info_extension": null,
                "minter": alice, "creator": null, "withdraw_address": null}),
        "prints",
    );
    let mint = |id: &str, owner: &str| {
        json!({"mint": {"token_id": id, "owner": owner,
                        "token_uri": format!("ipfs://prints/{id}"), "extension": null}})
    };
    let transfer = |id: &str, to: &str| json!({"transfer_nft": {"recipient": to, "token_id": id}});
    let owner = |id: &str| nft_owner(&node, &nft, id);
    const NOT_OWNER: &str = "Caller is not the contract's current owner";

    // Only the minter mints, and each token id once.
    assert!(refused(&node, &nft, &mint("1", &bob), "bob").contains("Caller is not minter"));
    execute(&node, &nft, &mint("1", &bob), "alice");
    execute(&node, &nft, &mint("2", &bob), "alice");
    assert!(refused(&node, &nft, &mint("1", &carol), "alice").contains("token_id already claimed"));
    assert_eq!(
        node.smart(&nft, &json!({"num_tokens": {}})),
        json!({"count": 2})
    );
    assert_eq!(
        node.smart(&nft, &json!({"nft_info": {"token_id": "1"}}))["token_uri"],
        "ipfs://prints/1"
    );

    // Carol may not move bob's tokens; an approval that has already expired is refused.
    assert!(refused(&node, &nft, &transfer("1", &carol), "carol").contains(NOT_OWNER));
    let expired =
        json!({"approve": {"spender": carol, "token_id": "1", "expires": {"at_height": 1}}});
    assert!(refused(&node, &nft, &expired, "bob")
        .contains("Cannot set approval that is already expired"));

    // Approved for token 1, carol moves it (to dave), and only it; the approval goes with it.
    execute(
        &node,
        &nft,
        &json!({"approve": {"spender": carol, "token_id": "1", "expires": null}}),
        "bob",
    );
    let approvals = |id: &str| {
        node.smart(
            &nft,
            &json!({"approvals": {"token_id": id, "include_expired": null}}),
        )["approvals"]
            .clone()
    };
    assert_eq!(approvals("1")[0]["spender"], carol.as_str());
    assert!(refused(&node, &nft, &transfer("2", &carol), "carol").contains(NOT_OWNER));
    execute(&node, &nft, &transfer("1", &dave), "carol");
    assert_eq!(owner("1"), dave.as_str());
    assert_eq!(approvals("1"), json!([]));
    assert!(refused(&node, &nft, &transfer("1", &carol), "carol").contains(NOT_OWNER));

    // An operator moves any of the owner's tokens, and none of anyone else's, until revoked.
    execute(
        &node,
        &nft,
        &json!({"approve_all": {"operator": carol, "expires": null}}),
        "bob",
    );
    execute(&node, &nft, &transfer("2", &carol), "carol");
    assert_eq!(owner("2"), carol.as_str());
    assert!(refused(&node, &nft, &transfer("1", &carol), "carol").contains(NOT_OWNER));
    execute(&node, &nft, &mint("3", &bob), "alice");
    execute(
        &node,
        &nft,
        &json!({"revoke_all": {"operator": carol}}),
        "bob",
    );
    assert!(refused(&node, &nft, &transfer("3", &carol), "carol").contains(NOT_OWNER));

    // Only its owner burns a token.
    let burn = json!({"burn": {"token_id": "3"}});
    assert!(refused(&node, &nft, &burn, "carol").contains(NOT_OWNER));
    execute(&node, &nft, &burn, "bob");
    let tokens_of = |who: &str| {
        node.smart(
            &nft,
            &json!({"tokens": {"owner": who, "start_after": null, "limit": null}}),
        )["tokens"]
            .clone()
    };
    assert_eq!(tokens_of(&bob), json!([]));
    assert_eq!(tokens_of(&carol), json!(["2"]));
    assert_eq!(tokens_of(&dave), json!(["1"]));
    assert_eq!(
        node.smart(
            &nft,
            &json!({"all_tokens": {"start_after": null, "limit": null}})
        ),
        json!({"tokens": ["1", "2"]})
    );
}

#[test]
fn a_fixed_price_sale_creates_its_collection_and_mints_to_whoever_pays_in_cw20() {
    let home = tempfile::tempdir().unwrap();
    let node = DevNode::start(home.path()).unwrap();
    let (alice, bob) = (dev_address("alice"), dev_address("bob"));
    let cw20 = node.store_contract("cw20_base");
    let token = node.instantiate(
        &cw20,
        &json!({"name": "Consign Dollar", "symbol": "CUSD", "decimals": 6, "mint": null,
                "marketing": null,
                "initial_balances": [{"address": alice, "amount": "1000"},
                                     {"address": bob, "amount": "150"}]}),
        "cusd",
    );
    let cw721 = node.store_contract("cw721_base");
    let sale_code = node.store_contract("cw721_fixed_price");
    let sale_msg = |price: &str| {
        json!({"owner": alice, "max_tokens": 2, "unit_price": price, "name": "Edition",
               "symbol": "ED", "collection_info_extension": null,
               "token_code_id": cw721.parse::<u64>().unwrap(), "cw20_address": token,
               "token_uri": "ipfs://edition", "extension": null, "withdraw_address": null})
    };

    // A free edition is refused at instantiation, and nothing is created.
    let free = node
        .consign(&[
            "tx",
            "wasm",
            "instantiate",
            &sale_code,
            &sale_msg("0").to_string(),
            "--label",
            "free",
            "--no-admin",
            "--from",
            "alice",
            "--output",
            "json",
        ])
        .unwrap();
    assert!(!free.status.success());
    assert!(String::from_utf8_lossy(&free.stderr).contains("InvalidUnitPrice"));

    // The sale instantiates its collection with a reply on success, and reads the new
    // contract's address from the reply's msg_responses (a MsgInstantiateContractResponse).
    let sale = node.instantiate(&sale_code, &sale_msg("100"), "edition");
    let config = node.smart(&sale, &json!({"get_config": {}}));
    let collection = config["cw721_address"]
        .as_str()
        .unwrap_or_else(|| panic!("the reply did not link the collection: {config}"))
        .to_owned();
    let info = node.json(&["query", "wasm", "contract", &collection]);
    assert_eq!(info["code_id"].to_string(), cw721, "{info}");
    assert_eq!(info["creator"], sale.as_str(), "{info}");
    assert_eq!(
        node.smart(&collection, &json!({"minter": {}}))["minter"],
        sale.as_str()
    );

    let pay = |amount: &str| {
        json!({"send": {"contract": sale, "amount": amount,
                        "msg": consign_client::Binary::from(b"{}".as_slice())}})
    };
    let cusd = |who: &str| {
        node.smart(&token, &json!({"balance": {"address": who}}))["balance"]
            .as_str()
            .unwrap()
            .parse::<u128>()
            .unwrap()
    };
    let owner = |id: &str| nft_owner(&node, &collection, id);

    // Paying the wrong amount fails the whole send: no token, no tokens moved.
    assert!(refused(&node, &token, &pay("50"), "alice").contains("WrongPaymentAmount"));
    assert_eq!(cusd(&alice), 1000);
    // The sale takes payment only from its token contract, not from anyone calling its hook.
    let forged = json!({"receive": {"sender": alice, "amount": "100",
                                    "msg": consign_client::Binary::from(b"{}".as_slice())}});
    assert!(refused(&node, &sale, &forged, "alice").contains("UnauthorizedTokenContract"));

    // Each payment mints the next token to its payer.
    execute(&node, &token, &pay("100"), "alice");
    execute(&node, &token, &pay("100"), "bob");
    assert_eq!(owner("0"), alice.as_str());
    assert_eq!(owner("1"), bob.as_str());
    assert_eq!(
        node.smart(&collection, &json!({"nft_info": {"token_id": "1"}}))["token_uri"],
        "ipfs://edition"
    );
    assert_eq!((cusd(&alice), cusd(&bob), cusd(&sale)), (900, 50, 200));

    // Sold out: the third payment is refused and keeps its tokens.
    assert!(refused(&node, &token, &pay("100"), "alice").contains("SoldOut"));
    assert_eq!(cusd(&alice), 900);
    assert_eq!(
        node.smart(&collection, &json!({"num_tokens": {}})),
        json!({"count": 2})
    );
}

/// The owner of token `id` of the cw721 contract `nft`, as its `owner_of` query answers.
fn nft_owner(node: &DevNode, nft: &str, id: &str) -> Value {
    node.smart(
        nft,
        &json!({"owner_of": {"token_id": id, "include_expired": null}}),
    )["owner"]
        .clone()
}

/// The value of the first attribute `key` among a transaction result's events.
fn attribute(result: &Value, key: &str) -> String {
    result["events"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["attributes"].as_array().unwrap())
        .find(|a| a["key"] == key)
        .unwrap_or_else(|| panic!("no attribute {key} in {result}"))["value"]
        .as_str()
        .unwrap()
        .to_owned()
}

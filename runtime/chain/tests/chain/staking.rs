//! The staking module: delegations move coins into the bonded pool, unbondings come back at the
//! first block at or after their completion time (not before), redelegations lock the coins
//! they move until then, rewards follow the documented rule to the micro-unit, and bad input is
//! refused with the Cosmos SDK's reasons — from transactions and from a contract built with
//! cosmwasm-std's `staking` feature.

use consign_chain::{Genesis, GenesisValidator, StakingGenesis};
use consign_types::{canonicalize_address, coin, validator_address, Msg, TxResult};
use cosmwasm_std::Event;
use serde_json::{json, Value};

use crate::common::{addr, genesis, TestChain};

/// Seconds an unbonding lasts in these tests (blocks are one second apart).
pub(crate) const UNBONDING: u64 = 10;
/// Chosen so that the shares below divide it exactly: 1,200 a block over 300,000 bonded is
/// 0.004 a coin, over 400,000 it is 0.003.
const REWARD: u128 = 1_200;

pub(crate) fn valoper(name: &str) -> String {
    validator_address(&canonicalize_address(&addr(name)).unwrap())
}

pub(crate) fn staking_chain() -> TestChain {
    let genesis = Genesis {
        staking: StakingGenesis {
            validators: ["val1", "val2"]
                .into_iter()
                .map(|n| GenesisValidator {
                    address: valoper(n),
                    moniker: n.into(),
                })
                .collect(),
            unbonding_seconds: UNBONDING,
            reward_per_block: REWARD,
        },
        ..genesis()
    };
    TestChain::with_genesis(&genesis)
}

/// The module account address, as the Cosmos SDK derives it.
pub(crate) fn module(name: &str) -> String {
    use sha2::Digest;
    consign_types::humanize_address(&sha2::Sha256::digest(name.as_bytes())[..20])
}

pub(crate) fn attrs<'a>(events: &'a [Event], ty: &str) -> Vec<Vec<(&'a str, &'a str)>> {
    events
        .iter()
        .filter(|e| e.ty == ty)
        .map(|e| {
            e.attributes
                .iter()
                .map(|a| (a.key.as_str(), a.value.as_str()))
                .collect()
        })
        .collect()
}

pub(crate) fn failed(result: &TxResult, reason: &str) {
    assert_ne!(result.code, 0, "expected a failure naming {reason:?}");
    assert!(result.log.contains(reason), "{}", result.log);
}

#[test]
fn delegations_unbond_after_the_period_and_earn_rewards_pro_rata() {
    let mut chain = staking_chain();
    let (v1, v2) = (valoper("val1"), valoper("val2"));
    let bonded_pool = module("bonded_tokens_pool");
    let not_bonded = module("not_bonded_tokens_pool");

    // Block 1: alice bonds 300,000 to val1: coin_spent/coin_received into the bonded pool (no
    // transfer, as the SDK's DelegateCoins), then delegate.
    let result = chain.run_ok(
        "alice",
        vec![Msg::Delegate {
            validator: v1.clone(),
            amount: coin(300_000, "ucsn"),
        }],
    );
    let events = &result.outcome.events;
    assert_eq!(
        attrs(events, "coin_received"),
        vec![vec![
            ("receiver", bonded_pool.as_str()),
            ("amount", "300000ucsn")
        ]]
    );
    assert!(attrs(events, "transfer").is_empty());
    assert_eq!(
        attrs(events, "delegate"),
        vec![vec![
            ("validator", v1.as_str()),
            ("delegator", addr("alice").as_str()),
            ("amount", "300000ucsn"),
            ("new_shares", "300000.000000000000000000"),
        ]]
    );
    assert_eq!(chain.balance(&addr("alice")), 700_000);
    assert_eq!(chain.balance(&bonded_pool), 300_000);

    // Block 2: bob bonds 100,000 to val2. Block 1's reward went to alice alone.
    chain.run_ok(
        "bob",
        vec![Msg::Delegate {
            validator: v2,
            amount: coin(100_000, "ucsn"),
        }],
    );
    chain.block(vec![]);
    // Block 4: alice has earned 1,200 (block 2) + 900 × 2 (blocks 3 and 4, at 3/4); she sends
    // her rewards to carol from now on, then withdraws.
    let result = chain.run_ok(
        "alice",
        vec![
            Msg::SetWithdrawAddress {
                address: addr("carol"),
            },
            Msg::WithdrawRewards {
                validator: v1.clone(),
            },
        ],
    );
    let events = &result.outcome.events;
    assert_eq!(
        attrs(events, "set_withdraw_address"),
        vec![vec![("withdraw_address", addr("carol").as_str())]]
    );
    assert_eq!(
        attrs(events, "transfer"),
        vec![vec![
            ("recipient", addr("carol").as_str()),
            ("sender", module("distribution").as_str()),
            ("amount", "3000ucsn"),
        ]]
    );
    assert_eq!(
        attrs(events, "withdraw_rewards"),
        vec![vec![
            ("amount", "3000ucsn"),
            ("validator", v1.as_str()),
            ("delegator", addr("alice").as_str()),
        ]]
    );
    assert_eq!(chain.balance(&addr("carol")), 1_003_000);
    assert_eq!(chain.balance(&addr("alice")), 700_000);
    // Withdrawing again in the next block pays that block's 900.
    let again = chain.run_ok(
        "alice",
        vec![Msg::WithdrawRewards {
            validator: v1.clone(),
        }],
    );
    assert_eq!(
        attrs(&again.outcome.events, "withdraw_rewards")[0][0].1,
        "900ucsn"
    );
    assert_eq!(chain.balance(&addr("carol")), 1_003_900);

    // Block 6: alice unbonds 100,000 (its rewards, 900, go to carol first). The coins move to
    // the not-bonded pool and come back at the first block at or after time + 10 s.
    let result = chain.run_ok(
        "alice",
        vec![Msg::Undelegate {
            validator: v1.clone(),
            amount: coin(100_000, "ucsn"),
        }],
    );
    let unbond = &attrs(&result.outcome.events, "unbond")[0];
    assert_eq!(unbond[2], ("amount", "100000ucsn"));
    let started = chain.clock;
    assert_eq!(unbond[3].0, "completion_time");
    assert_eq!(
        unbond[3].1, "2023-11-14T22:13:36Z",
        "block time {started} + {UNBONDING} s"
    );
    assert_eq!(chain.balance(&addr("carol")), 1_004_800);
    assert_eq!(chain.balance(&not_bonded), 100_000);
    // What the node API shows: the unbonding under way, the delegations with their rewards
    // (bob's: blocks 3 to 6 at 1/4), the validators' tokens.
    let view = chain.app.view();
    let unbondings = view.unbondings(&addr("alice")).unwrap().unbondings;
    assert_eq!(unbondings.len(), 1);
    assert_eq!(unbondings[0].amount, coin(100_000, "ucsn"));
    assert_eq!(unbondings[0].completion_time.seconds(), started + UNBONDING);
    let bobs = view.delegations(&addr("bob")).unwrap();
    assert_eq!(bobs.withdraw_address, addr("bob"));
    assert_eq!(bobs.delegations[0].rewards, vec![coin(1_200, "ucsn")]);
    let validators = view.validators().unwrap();
    assert_eq!(validators.unbonding_seconds, UNBONDING);
    let tokens: Vec<u128> = validators
        .validators
        .iter()
        .map(|v| v.tokens.u128())
        .collect();
    let mut expected = vec![200_000, 100_000];
    if validators.validators[0].address != v1 {
        expected.reverse();
    }
    assert_eq!(tokens, expected);
    assert_eq!(chain.balance(&bonded_pool), 300_000);
    while chain.clock < started + UNBONDING - 1 {
        let outcome = chain.block(vec![]);
        assert!(outcome.block.events.is_empty(), "completed early");
        assert_eq!(chain.balance(&addr("alice")), 700_000);
    }
    let outcome = chain.block(vec![]);
    assert_eq!(chain.clock, started + UNBONDING);
    assert_eq!(
        attrs(&outcome.block.events, "complete_unbonding"),
        vec![vec![
            ("amount", "100000ucsn"),
            ("validator", v1.as_str()),
            ("delegator", addr("alice").as_str()),
        ]]
    );
    assert_eq!(
        attrs(&outcome.block.events, "coin_spent")[0],
        vec![("spender", not_bonded.as_str()), ("amount", "100000ucsn")]
    );
    assert_eq!(chain.balance(&addr("alice")), 800_000);
    assert_eq!(chain.balance(&not_bonded), 0);
    // The committed block records its events.
    let stored = chain
        .app
        .block(outcome.block.header.height)
        .unwrap()
        .unwrap();
    assert_eq!(stored.events, outcome.block.events);

    // Coins are neither created nor lost: the supply grew by exactly the rewards paid.
    let total: u128 = ["alice", "bob", "carol"]
        .iter()
        .map(|n| chain.balance(&addr(n)))
        .sum::<u128>()
        + chain.balance(&bonded_pool)
        + chain.balance(&not_bonded);
    assert_eq!(total, 3_000_000 + 4_800);
}

#[test]
fn bad_staking_input_is_refused_with_the_sdks_reasons() {
    let mut chain = staking_chain();
    let (v1, v2) = (valoper("val1"), valoper("val2"));
    let delegate = |validator: &str, amount: cosmwasm_std::Coin| Msg::Delegate {
        validator: validator.into(),
        amount,
    };
    let nobody = valoper("nobody");
    failed(
        &chain.run("alice", vec![delegate(&nobody, coin(5, "ucsn"))]),
        "does not exist",
    );
    failed(
        &chain.run("alice", vec![delegate(&v1, coin(0, "ucsn"))]),
        "invalid delegation amount",
    );
    failed(
        &chain.run("alice", vec![delegate(&v1, coin(5, "uatom"))]),
        "invalid coin denomination: got uatom, expected ucsn",
    );
    failed(
        &chain.run("alice", vec![delegate(&v1, coin(2_000_000, "ucsn"))]),
        "insufficient funds",
    );
    chain.run_ok("bob", vec![delegate(&v1, coin(1_000, "ucsn"))]);
    let undelegate = |amount: u128| Msg::Undelegate {
        validator: v1.clone(),
        amount: coin(amount, "ucsn"),
    };
    failed(
        &chain.run("bob", vec![undelegate(1_001)]),
        "invalid shares amount",
    );
    failed(
        &chain.run("bob", vec![undelegate(0)]),
        "invalid shares amount",
    );
    failed(
        &chain.run("carol", vec![undelegate(1)]),
        "no delegation for (address, validator) tuple",
    );
    failed(
        &chain.run(
            "carol",
            vec![Msg::WithdrawRewards {
                validator: v1.clone(),
            }],
        ),
        "no delegation distribution info",
    );
    failed(
        &chain.run(
            "bob",
            vec![Msg::SetWithdrawAddress {
                address: "cosmos1notours".into(),
            }],
        ),
        "invalid withdraw address",
    );
    // At most seven unbondings per validator at once; an eighth waits.
    chain.run_ok("bob", (0..7).map(|_| undelegate(1)).collect());
    failed(
        &chain.run("bob", vec![undelegate(1)]),
        "too many unbonding delegation entries",
    );

    // Redelegation: to the same validator, to an unknown one, and onward before the first
    // completes are refused; once it completes the coins may move again.
    let redelegate = |src: &str, dst: &str, amount: u128| Msg::Redelegate {
        src_validator: src.into(),
        dst_validator: dst.into(),
        amount: coin(amount, "ucsn"),
    };
    failed(
        &chain.run("bob", vec![redelegate(&v1, &v1, 1)]),
        "cannot redelegate to the same validator",
    );
    failed(
        &chain.run("bob", vec![redelegate(&v1, &nobody, 1)]),
        "redelegation destination validator not found",
    );
    let result = chain.run_ok("bob", vec![redelegate(&v1, &v2, 100)]);
    assert_eq!(
        attrs(&result.outcome.events, "redelegate")[0][3],
        ("amount", "100ucsn")
    );
    let moved_at = chain.clock;
    failed(
        &chain.run("bob", vec![redelegate(&v2, &v1, 1)]),
        "redelegation to this validator already in progress",
    );
    let mut completed = Vec::new();
    while chain.clock < moved_at + UNBONDING {
        completed.extend(chain.block(vec![]).block.events);
    }
    assert_eq!(attrs(&completed, "complete_redelegation").len(), 1);
    assert_eq!(attrs(&completed, "complete_unbonding").len(), 7);
    chain.run_ok("bob", vec![redelegate(&v2, &v1, 1)]);
}

#[test]
fn a_contract_built_with_the_staking_feature_stakes_as_on_wasmd() {
    let mut chain = staking_chain();
    let (v1, v2) = (valoper("val1"), valoper("val2"));
    let wasm = crate::common::wasm("staker");
    assert!(
        wasm.windows(16).any(|w| w == b"requires_staking"),
        "the contract is built with cosmwasm-std's staking feature"
    );
    let code = chain.store("staker");
    let staker = chain.instantiate(code, json!({}), "staker");
    chain.run_ok(
        "alice",
        vec![Msg::BankSend {
            to: staker.clone(),
            amount: vec![coin(500_000, "ucsn")],
        }],
    );

    // The queries, parsed by cosmwasm-std into its own types and returned as they are.
    assert_eq!(
        chain.query(&staker, json!({"bonded_denom": {}})),
        json!("ucsn")
    );
    let no_commission = |address: &str| json!({"address": address, "commission": "0", "max_commission": "0", "max_change_rate": "0"});
    let mut both = [no_commission(&v1), no_commission(&v2)];
    both.sort_by_key(|v| v["address"].as_str().unwrap().to_owned());
    assert_eq!(
        chain.query(&staker, json!({"all_validators": {}})),
        json!(both)
    );
    assert_eq!(
        chain.query(&staker, json!({"validator": {"address": v1}})),
        no_commission(&v1)
    );
    assert_eq!(
        chain.query(
            &staker,
            json!({"validator": {"address": valoper("nobody")}})
        ),
        Value::Null
    );

    let execute = |chain: &mut TestChain, msg: Value| chain.execute("bob", &staker, msg, vec![]);
    let ok = |result: TxResult| {
        assert_eq!(result.code, 0, "{}", result.log);
        result
    };
    let result = ok(execute(
        &mut chain,
        json!({"delegate": {"validator": v1, "amount": "200000"}}),
    ));
    assert_eq!(
        attrs(&result.outcome.events, "delegate")[0][1],
        ("delegator", staker.as_str())
    );
    assert_eq!(chain.balance(&staker), 300_000);
    let delegation = chain.query(&staker, json!({"delegation": {"validator": v1}}));
    assert_eq!(
        delegation,
        json!({
            "delegator": staker, "validator": v1,
            "amount": {"denom": "ucsn", "amount": "200000"},
            "can_redelegate": {"denom": "ucsn", "amount": "200000"},
            "accumulated_rewards": [],
        })
    );

    // Alone in the bonded pool, the contract earns the whole reward of every block after its
    // delegation's: as of the next block (the view the query reads), one block's.
    chain.block(vec![]);
    let rewards = chain.query(&staker, json!({"rewards": {"validator": v1}}));
    assert_eq!(rewards, json!([{"denom": "ucsn", "amount": "1200"}]));
    let delegation = chain.query(&staker, json!({"delegation": {"validator": v1}}));
    assert_eq!(
        delegation["accumulated_rewards"],
        json!([{"denom": "ucsn", "amount": "1200"}])
    );
    // Withdrawing in the next block pays two blocks' worth.
    let result = ok(execute(&mut chain, json!({"withdraw": {"validator": v1}})));
    assert_eq!(
        attrs(&result.outcome.events, "withdraw_rewards")[0][0],
        ("amount", "2400ucsn")
    );
    assert_eq!(chain.balance(&staker), 302_400);

    // Redelegate 50,000 to val2: what arrived there may not move on until the period is over.
    ok(execute(
        &mut chain,
        json!({"redelegate": {"src": v1, "dst": v2, "amount": "50000"}}),
    ));
    let at_v2 = chain.query(&staker, json!({"delegation": {"validator": v2}}));
    assert_eq!(at_v2["amount"]["amount"], "50000");
    assert_eq!(at_v2["can_redelegate"]["amount"], "0");
    let mut validators = vec![v1.clone(), v2];
    validators.sort();
    assert_eq!(
        chain.query(&staker, json!({"delegator_validators": {}})),
        json!(validators)
    );
    let all = chain.query(&staker, json!({"all_delegations": {}}));
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
    let total = chain.query(&staker, json!({"total_rewards": {}}));
    assert_eq!(total["rewards"].as_array().unwrap().len(), 2, "{total}");

    // Rewards go to bob once the contract says so.
    ok(execute(
        &mut chain,
        json!({"set_withdraw_address": {"address": addr("bob")}}),
    ));
    assert_eq!(
        chain.query(&staker, json!({"withdraw_address": {}})),
        json!(addr("bob"))
    );

    // Undelegate 100,000 from val1: back in the contract's balance after the period, not before.
    let before = chain.balance(&staker);
    ok(execute(
        &mut chain,
        json!({"undelegate": {"validator": v1, "amount": "100000"}}),
    ));
    let started = chain.clock;
    while chain.clock < started + UNBONDING - 1 {
        chain.block(vec![]);
        assert_eq!(chain.balance(&staker), before, "unbonded early");
    }
    let outcome = chain.block(vec![]);
    assert_eq!(
        attrs(&outcome.block.events, "complete_unbonding")[0][2],
        ("delegator", staker.as_str())
    );
    assert_eq!(chain.balance(&staker), before + 100_000);
    let delegation = chain.query(&staker, json!({"delegation": {"validator": v1}}));
    assert_eq!(delegation["amount"]["amount"], "50000");

    // A reply to an undelegation gets wasmd's msg_responses: MsgUndelegateResponse with the
    // completion time and the amount, protobuf-encoded.
    ok(execute(
        &mut chain,
        json!({"with_reply": {"msg": {"staking": {"undelegate":
            {"validator": v1, "amount": {"denom": "ucsn", "amount": "1"}}}}}}),
    ));
    let reply = chain.query(&staker, json!({"last_reply": {}}));
    let response = &reply["ok"]["msg_responses"][0];
    assert_eq!(
        response["type_url"], "/cosmos.staking.v1beta1.MsgUndelegateResponse",
        "{reply}"
    );
    let mut timestamp = vec![0x08];
    let mut seconds = chain.clock + UNBONDING;
    while seconds >= 0x80 {
        timestamp.push((seconds & 0x7f) as u8 | 0x80);
        seconds >>= 7;
    }
    timestamp.push(seconds as u8);
    let mut expected = vec![0x0a, timestamp.len() as u8];
    expected.extend(timestamp);
    expected.extend(b"\x12\x09\x0a\x04ucsn\x12\x011");
    assert_eq!(
        response["value"],
        json!(consign_types::Binary::new(expected)),
        "{reply}"
    );
    assert_eq!(reply["ok"]["data"], response["value"]);

    // wasmd's refusals reach the contract's transaction.
    let raw = |msg: Value| json!({"raw": {"msg": msg}});
    let cases = [
        (
            json!({"staking": {"delegate": {"validator": valoper("nobody"), "amount": {"denom": "ucsn", "amount": "1"}}}}),
            "does not exist",
        ),
        (
            json!({"staking": {"undelegate": {"validator": v1, "amount": {"denom": "ucsn", "amount": "50001"}}}}),
            "invalid shares amount",
        ),
        (
            json!({"staking": {"delegate": {"validator": v1, "amount": {"denom": "ucsn", "amount": "0"}}}}),
            "invalid delegation amount",
        ),
        (
            json!({"staking": {"delegate": {"validator": v1, "amount": {"denom": "uatom", "amount": "1"}}}}),
            "invalid coin denomination: got uatom, expected ucsn",
        ),
    ];
    for (msg, reason) in cases {
        failed(&execute(&mut chain, raw(msg)), reason);
    }

    // FundCommunityPool gives coins to the distribution account (where rewards are minted and
    // paid from at once, so it holds only what was given).
    let funded = json!({"distribution": {"fund_community_pool": {"amount": [{"denom": "ucsn", "amount": "1000"}]}}});
    ok(execute(&mut chain, raw(funded)));
    assert_eq!(chain.balance(&module("distribution")), 1_000);
}

//! Issue 11, finding 6, written as the attack: the chain had no fees. Keys that never held a
//! coin sent transactions at the 1e9 gas maximum and stored code; nothing was paid; one sender
//! could fill the mempool; and queries waited for the block in progress, so during a flood a
//! query took 22.8 s. Each test runs a real `consign dev` and attacks it over HTTP.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use consign_client::{
    amount_of, coins, Binary, BroadcastMode, ClientError, Coin, Msg, NodeClient, SecretKey, Tx,
    TxBody,
};
use consign_tests::{contract, deploy, ok_json, runtime, DevNode};

/// The most gas a transaction may ask for.
const MAX_GAS: u64 = 1_000_000_000;

fn balance(rt: &tokio::runtime::Runtime, client: &NodeClient, address: &str) -> Result<u128> {
    let coins = rt.block_on(client.balances(address))?;
    Ok(amount_of(&coins, "ucsn"))
}

/// A signed transaction's bytes.
fn signed(
    key: &SecretKey,
    chain_id: &str,
    sequence: u64,
    gas_limit: u64,
    fee: Vec<Coin>,
    messages: Vec<Msg>,
) -> Vec<u8> {
    let body = TxBody {
        chain_id: chain_id.to_owned(),
        sender: key.address(),
        sequence,
        gas_limit,
        fee,
        memo: String::new(),
        messages,
    };
    Tx::sign(body, key).to_bytes()
}

/// Stores and instantiates the `hostile` contract from alice; returns its address. Its
/// `{"loop":{}}` burns whatever gas it is given.
fn spinner(node: &DevNode) -> Result<String> {
    deploy(node, "hostile", "{}", "spin")
}

/// A call of the spinner's endless loop.
fn spin(spinner: &str) -> Msg {
    Msg::Execute {
        contract: spinner.to_owned(),
        msg: Binary::from(br#"{"loop":{}}"#.as_slice()),
        funds: vec![],
    }
}

/// The refusal's code and message, failing the test if the node accepted.
fn refusal(result: Result<consign_client::Broadcast, ClientError>) -> (u32, String) {
    match result {
        Err(ClientError::Refused { code, message, .. }) => (code, message),
        Ok(accepted) => panic!("the node accepted what it must refuse: {accepted:?}"),
        Err(other) => panic!("expected a refusal, got {other}"),
    }
}

#[test]
fn keys_that_never_held_funds_are_refused_at_admission() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let node = DevNode::start(&dir.path().join("chain"))?;
    let client = NodeClient::new(&node.url)?;
    let rt = runtime();
    let chain_id = rt.block_on(client.status())?.chain_id;
    let stranger = SecretKey::generate();
    let bob = SecretKey::from_seed("bob").address();

    // A bank send at the maximum gas, and a code upload: both free before the fix.
    let send = signed(
        &stranger,
        &chain_id,
        0,
        MAX_GAS,
        vec![],
        vec![Msg::BankSend {
            to: bob.clone(),
            amount: coins(1, "ucsn"),
        }],
    );
    let wasm = std::fs::read(contract("hostile"))?;
    let store = signed(
        &stranger,
        &chain_id,
        0,
        MAX_GAS,
        vec![],
        vec![Msg::StoreCode {
            wasm: Binary::from(wasm),
        }],
    );
    for bytes in [send, store] {
        let (code, message) =
            refusal(rt.block_on(client.broadcast_bytes(bytes, BroadcastMode::Sync)));
        assert_eq!(code, 9, "{message}");
        assert!(
            message.contains(&format!("unknown account {}", stranger.address()))
                && message.contains("receive funds first"),
            "{message}"
        );
    }
    // Nothing of it reached a block.
    assert_eq!(rt.block_on(client.status())?.height, 0);

    // Once funded, the same key may send (so the refusal was about existence, not the key).
    let funded = node.consign(&[
        "tx",
        "bank",
        "send",
        "alice",
        &stranger.address(),
        "10ucsn",
        "--output",
        "json",
    ])?;
    ok_json(&funded);
    let send = signed(
        &stranger,
        &chain_id,
        0,
        200_000,
        vec![],
        vec![Msg::BankSend {
            to: bob,
            amount: coins(1, "ucsn"),
        }],
    );
    let result = rt.block_on(client.broadcast_bytes(send, BroadcastMode::COMMIT))?;
    assert!(
        matches!(result, consign_client::Broadcast::Committed(ref r) if r.code == 0),
        "{result:?}"
    );
    Ok(())
}

#[test]
fn with_a_minimum_gas_price_small_fees_are_refused_and_fees_are_kept_on_failure() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let node = DevNode::start_with(&dir.path().join("chain"), &["--min-gas-price", "0.025ucsn"])?;
    let client = NodeClient::new(&node.url)?;
    let rt = runtime();
    let status = rt.block_on(client.status())?;
    assert_eq!(status.min_gas_price.to_string(), "0.025ucsn");
    let alice = SecretKey::from_seed("alice").address();
    let bob = SecretKey::from_seed("bob").address();

    // 200,000 gas at 0.025 is 5,000ucsn: 4,999 is refused, with what to pay.
    let low = node.consign(&[
        "tx", "bank", "send", "alice", &bob, "1ucsn", "--gas", "200000", "--fees", "4999ucsn",
    ])?;
    assert!(!low.status.success(), "a too-small fee was accepted");
    let stderr = String::from_utf8_lossy(&low.stderr);
    assert!(
        stderr.contains("insufficient fee") && stderr.contains("at least 5000ucsn"),
        "{stderr}"
    );
    let before = balance(&rt, &client, &alice)?;

    // Enough fee (--gas-prices), and a send of more than alice holds: the send fails in the
    // block, the fee is paid all the same.
    let failing = node.consign(&[
        "tx",
        "bank",
        "send",
        "alice",
        &bob,
        "999999999999999ucsn",
        "--gas",
        "200000",
        "--gas-prices",
        "0.025ucsn",
        "--output",
        "json",
    ])?;
    let stdout = String::from_utf8_lossy(&failing.stdout);
    assert!(
        stdout.contains("insufficient funds")
            || String::from_utf8_lossy(&failing.stderr).contains("insufficient funds"),
        "the send must fail in the block: {stdout} {}",
        String::from_utf8_lossy(&failing.stderr)
    );
    assert_eq!(balance(&rt, &client, &alice)?, before - 5_000);

    // The default fee is the node's minimum: a good send costs amount + fee.
    let good = node.consign(&[
        "tx", "bank", "send", "alice", &bob, "7ucsn", "--gas", "200000", "--output", "json",
    ])?;
    ok_json(&good);
    assert_eq!(balance(&rt, &client, &alice)?, before - 5_000 - 7 - 5_000);
    Ok(())
}

#[test]
fn during_a_flood_queries_answer_and_no_sender_fills_the_mempool() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let node = DevNode::start_with(
        &dir.path().join("chain"),
        &["--accounts", "20", "--max-pending-per-sender", "5"],
    )?;
    let client = NodeClient::new(&node.url)?;
    let rt = runtime();
    let chain_id = rt.block_on(client.status())?.chain_id;
    let spinner = spinner(&node)?;

    // Every dev account sends gas-burning calls at high gas, all at once.
    let names: Vec<String> = ["alice", "bob", "carol", "dave"]
        .into_iter()
        .map(str::to_owned)
        .chain((5..=20).map(|i| format!("dev{i}")))
        .collect();
    let mut flood = Vec::new();
    for name in &names {
        let key = SecretKey::from_seed(name);
        let first = rt.block_on(client.account(&key.address()))?.sequence;
        for n in 0..FLOOD_PER_SENDER {
            flood.push(signed(
                &key,
                &chain_id,
                first + n,
                FLOOD_GAS,
                vec![],
                vec![spin(&spinner)],
            ));
        }
    }
    let started = Instant::now();
    let mut accepted = Vec::new();
    for bytes in flood {
        match rt.block_on(client.broadcast_bytes(bytes, BroadcastMode::Sync))? {
            consign_client::Broadcast::Checked(check) => accepted.push(check.txhash),
            other => panic!("{other:?}"),
        }
    }
    let admitted_in = started.elapsed();

    // One sender cannot queue more than its share while the node is busy: alice has
    // FLOOD_PER_SENDER (4) pending; the cap is 5.
    let alice_key = SecretKey::from_seed("alice");
    let bob = SecretKey::from_seed("bob").address();
    let mut sequence = rt.block_on(client.account(&alice_key.address()))?.sequence;
    let mut refused = None;
    for _ in 0..20 {
        let send = signed(
            &alice_key,
            &chain_id,
            sequence,
            200_000,
            vec![],
            vec![Msg::BankSend {
                to: bob.clone(),
                amount: coins(1, "ucsn"),
            }],
        );
        match rt.block_on(client.broadcast_bytes(send, BroadcastMode::Sync)) {
            Ok(_) => sequence += 1,
            Err(ClientError::Refused {
                code: 20, message, ..
            }) => {
                refused = Some(message);
                break;
            }
            Err(e) => return Err(e).context("broadcast"),
        }
    }
    let message = refused.context("alice was never refused: there is no per-sender cap")?;
    assert!(
        message.contains("already has 5 transactions pending, the most this node keeps per sender")
            && message.contains("send more once they are committed"),
        "{message}"
    );

    // While the flood executes, queries answer from the last committed state.
    let alice = SecretKey::from_seed("alice").address();
    let mut slowest = Duration::ZERO;
    let mut queries = 0;
    let last = *accepted.last().context("flood")?;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let asked = Instant::now();
        rt.block_on(client.balances(&alice))?;
        rt.block_on(client.status())?;
        slowest = slowest.max(asked.elapsed());
        queries += 1;
        match rt.block_on(client.tx(&last)) {
            Ok(_) => break,
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
        assert!(Instant::now() < deadline, "the flood did not end");
    }
    let flood_took = started.elapsed();
    eprintln!(
        "flood of {} txs at {FLOOD_GAS} gas: admitted in {admitted_in:?}, committed in {flood_took:?}; {queries} queries, slowest {slowest:?}",
        accepted.len()
    );
    assert!(
        flood_took > Duration::from_secs(2),
        "the flood was too small to keep the node busy ({flood_took:?}); the test proves nothing"
    );
    assert!(
        slowest < Duration::from_secs(1),
        "a query took {slowest:?} during the flood"
    );
    Ok(())
}

/// The mempool's count cap alone did not bound its memory: one upload may be megabytes, so
/// 100,000 pending transactions could hold gigabytes. The attack: while the node is busy with a
/// block of gas-burning calls, one sender queues megabyte uploads. The node keeps at most
/// `--max-mempool-bytes` of them waiting and turns the next away as "full" (code 20, HTTP 503:
/// try again later); a small
/// transaction from someone else still fits; everything admitted is committed; and once blocks
/// have made room, the refused upload is taken.
#[test]
fn megabyte_uploads_fill_the_mempool_only_up_to_its_byte_cap() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let node = DevNode::start_with(&dir.path().join("chain"), &["--max-mempool-bytes", "3MiB"])?;
    let client = NodeClient::new(&node.url)?;
    let rt = runtime();
    let chain_id = rt.block_on(client.status())?.chain_id;
    let spinner = spinner(&node)?;
    let broadcast =
        |bytes: Vec<u8>| rt.block_on(client.broadcast_bytes(bytes, BroadcastMode::Sync));

    // Keep the node busy: dave's gas-burning calls, one block after another.
    let dave = SecretKey::from_seed("dave");
    let first = rt.block_on(client.account(&dave.address()))?.sequence;
    for n in 0..BUSY_CALLS {
        broadcast(signed(
            &dave,
            &chain_id,
            first + n,
            MAX_GAS,
            vec![],
            vec![spin(&spinner)],
        ))?;
    }

    // Uploads of a mebibyte (not a valid module: the block will refuse each, and charge it).
    let alice = SecretKey::from_seed("alice");
    let mut sequence = rt.block_on(client.account(&alice.address()))?.sequence;
    let upload = |sequence: u64| {
        let wasm = vec![0x5a; 1 << 20];
        signed(
            &alice,
            &chain_id,
            sequence,
            100_000_000,
            vec![],
            vec![Msg::StoreCode {
                wasm: Binary::from(wasm),
            }],
        )
    };
    let mut admitted = Vec::new();
    let message = loop {
        match broadcast(upload(sequence)) {
            Ok(consign_client::Broadcast::Checked(check)) => {
                admitted.push(check.txhash);
                sequence += 1;
            }
            Ok(other) => panic!("{other:?}"),
            // Not refused for good: "full" is a 503, send it again later.
            Err(ClientError::Api {
                status: 503,
                code: Some(20),
                message,
            }) => break message,
            Err(e) => return Err(e).context("an upload"),
        }
        assert!(
            admitted.len() < 10,
            "10 MiB of uploads admitted past a 3 MiB cap"
        );
    };
    assert!(
        message.contains("the mempool is full")
            && message.contains("the node keeps at most 3 MiB")
            && message.contains("send it again after the next block"),
        "{message}"
    );
    assert!(
        (1..=2).contains(&admitted.len()),
        "{} uploads of over 1 MiB fit in 3 MiB",
        admitted.len()
    );

    // Someone else's small transaction still fits.
    let bob = SecretKey::from_seed("bob");
    let bob_sequence = rt.block_on(client.account(&bob.address()))?.sequence;
    let send = signed(
        &bob,
        &chain_id,
        bob_sequence,
        200_000,
        vec![],
        vec![Msg::BankSend {
            to: alice.address(),
            amount: coins(1, "ucsn"),
        }],
    );
    let Ok(consign_client::Broadcast::Checked(small)) = broadcast(send) else {
        panic!("a small transaction was refused beside the uploads");
    };

    // Everything admitted is committed; then the refused upload gets in.
    for hash in admitted.iter().chain([&small.txhash]) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            match rt.block_on(client.tx(hash)) {
                Ok(_) => break,
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
            assert!(
                Instant::now() < deadline,
                "{hash} was admitted and never committed"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    assert!(matches!(
        broadcast(upload(sequence))?,
        consign_client::Broadcast::Checked(_)
    ));
    Ok(())
}

/// Gas-burning calls that keep the node busy while the mempool fills.
const BUSY_CALLS: u64 = 30;

/// Gas-burning calls per dev account in the flood.
const FLOOD_PER_SENDER: u64 = 4;
/// Each call burns all of it.
const FLOOD_GAS: u64 = MAX_GAS;

/// Issue 12: `POST /txs/simulate` runs a transaction on the node's CPUs as a block does, with the
/// most gas one transaction may use, and commits nothing, so it costs the client nothing. One
/// client floods it with endless loops from many connections at once; meanwhile everyone else
/// is served as usual: queries answer, and a transfer is committed.
#[test]
fn a_flood_of_simulations_from_one_client_does_not_stall_the_node_for_others() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let node = DevNode::start(&dir.path().join("chain"))?;
    let client = NodeClient::new(&node.url)?;
    let rt = runtime();
    let chain_id = rt.block_on(client.status())?.chain_id;
    let spinner = spinner(&node)?;
    let mallory = SecretKey::from_seed("dave");
    let sequence = rt.block_on(client.account(&mallory.address()))?.sequence;
    // Signed once, simulated over and over: a simulation uses no sequence.
    let loop_tx = signed(
        &mallory,
        &chain_id,
        sequence,
        MAX_GAS,
        vec![],
        vec![spin(&spinner)],
    );

    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let flood = {
        let (client, stop, sent) = (NodeClient::new(&node.url)?, stop.clone(), sent.clone());
        let answered = Arc::new(AtomicU64::new(0));
        std::thread::spawn(move || -> Result<(u64, BTreeMap<String, u64>)> {
            runtime().block_on(async move {
                let tasks: Vec<_> = (0..FLOOD_CONNECTIONS)
                    .map(|_| {
                        let (client, stop, sent, answered) =
                            (client.clone(), stop.clone(), sent.clone(), answered.clone());
                        let bytes = loop_tx.clone();
                        tokio::spawn(async move {
                            let mut refusals = BTreeMap::<String, u64>::new();
                            while !stop.load(Ordering::Relaxed) {
                                sent.fetch_add(1, Ordering::Relaxed);
                                match client.simulate_bytes(bytes.clone()).await {
                                    Ok(simulation) => {
                                        assert_ne!(simulation.code, 0, "an endless loop ended");
                                        answered.fetch_add(1, Ordering::Relaxed);
                                    }
                                    Err(e) => *refusals.entry(e.to_string()).or_default() += 1,
                                }
                            }
                            refusals
                        })
                    })
                    .collect();
                let mut refusals = BTreeMap::new();
                for task in tasks {
                    for (why, n) in task.await? {
                        *refusals.entry(why).or_default() += n;
                    }
                }
                Ok((answered.load(Ordering::Relaxed), refusals))
            })
        })
    };

    // Once every connection of the flood has a simulation out, for a few seconds: queries
    // answer, and a transfer from another account is committed.
    let deadline = Instant::now() + Duration::from_secs(60);
    while sent.load(Ordering::Relaxed) < FLOOD_CONNECTIONS as u64 {
        assert!(Instant::now() < deadline, "the flood did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    let alice = SecretKey::from_seed("alice");
    let bob = SecretKey::from_seed("bob").address();
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut queries = 0;
    while started.elapsed() < Duration::from_secs(3) {
        let asked = Instant::now();
        rt.block_on(client.balances(&alice.address()))?;
        rt.block_on(client.status())?;
        slowest = slowest.max(asked.elapsed());
        queries += 1;
    }
    let sequence = rt.block_on(client.account(&alice.address()))?.sequence;
    let send = signed(
        &alice,
        &chain_id,
        sequence,
        200_000,
        vec![],
        vec![Msg::BankSend {
            to: bob,
            amount: coins(1, "ucsn"),
        }],
    );
    let sent = Instant::now();
    let committed = rt.block_on(client.broadcast_bytes(
        send,
        BroadcastMode::Commit {
            timeout: Duration::from_secs(60),
        },
    ))?;
    let commit_took = sent.elapsed();
    stop.store(true, Ordering::Relaxed);
    let (simulated, refusals) = flood.join().expect("the flood thread")?;
    eprintln!(
        "{simulated} simulations answered to the flood ({FLOOD_CONNECTIONS} connections), \
         refusals {refusals:?}; {queries} queries meanwhile, slowest {slowest:?}; a transfer \
         committed in {commit_took:?}"
    );
    assert!(
        matches!(committed, consign_client::Broadcast::Committed(ref r) if r.code == 0),
        "{committed:?}"
    );
    assert!(
        slowest < Duration::from_secs(1),
        "a query took {slowest:?} during the flood"
    );
    assert!(
        commit_took < Duration::from_secs(2),
        "a transfer took {commit_took:?} to commit during the flood"
    );
    // The flood is not simply dropped: its simulations are answered in turn, and the rest
    // told to come back.
    assert!(simulated > 0, "no simulation was answered");
    for why in refusals.keys() {
        assert!(
            why.contains("503") && why.contains("try again in a moment"),
            "{why}"
        );
    }
    Ok(())
}

/// The flood's connections, each sending one simulation after another.
const FLOOD_CONNECTIONS: usize = 600;

//! The storage node and the buyer's inbox on a network of four validators written by `consign
//! testnet` (real `consign start` and CometBFT processes on 127.0.0.1), each following several
//! nodes:
//!
//! - the whole story: a seller who sells (through the storage node's node B, so its
//!   registration is checked where its offer just committed) and goes offline, purchases sent
//!   through node A, a storage node following node B, the inbox checking node C and confirming
//!   each receipt there; each file arrives once, verified, and is confirmed once on-chain. The
//!   buyer's purchases (through A) and the inbox's confirmations (through C) are two signers of
//!   one account on two nodes, so they race for its sequence: the loser is signed again with
//!   the node's expected sequence, and no purchase and no confirmation is lost or doubled;
//! - node B goes away (`kill -9`) while the storage node long-polls it, with a purchase just
//!   committed: the storage node switches to another node and every delivery is made exactly
//!   once (each purchase saved once, none delivered twice, the storage node's deliveries the
//!   feed's sequences with no gap), and its operator status says which node it follows now and
//!   why not B (failing, since when, its error), which its public status does not.
//!
//! One network serves both checks, to keep the test lean.

use std::time::Duration;

use anyhow::{Context, Result};
use consign_client::storage::DeliveryState;
use consign_client::{PoolNodeState, SecretKey};
use consign_tests::inbox::TIMEOUT;
use consign_tests::network::{get_json, our_height, wait_for, Testnet};
use consign_tests::{
    buy, deploy_data_sale, ok_json, runtime, sample_data, ChainNode, Inbox, Seller, StorageNode,
    ADMIN_TOKEN,
};

/// Between blocks (CometBFT's `timeout_commit`).
const BLOCK_TIME: &str = "150ms";

/// How long the test waits for the network to get somewhere.
const PATIENCE: Duration = Duration::from_secs(60);

#[test]
fn deliveries_cross_the_network_once_and_survive_the_followed_node_going_away() -> Result<()> {
    let mut net = Testnet::write(4, BLOCK_TIME)?;
    net.start_all()?;
    let dir = tempfile::tempdir()?;
    let nodes = net.nodes.clone();
    let (a, b, c, d) = (&nodes[0], &nodes[1], &nodes[2], &nodes[3]);

    let market = deploy_data_sale(a)?;
    // The storage node follows B first, C and D next; the inbox checks C, then D.
    let storage = StorageNode::start_following(
        &dir.path().join("storage"),
        &[b.api_url(), c.api_url(), d.api_url()],
        &["--allow-private-egress"],
    )?;
    let recipient = c.age_key("bob")?;
    let inbox = Inbox::start(
        c,
        &dir.path().join("inbox"),
        "127.0.0.1:0",
        &[
            "--node",
            d.api_url(),
            "--age-key",
            "bob",
            "--from",
            "bob",
            "--contract",
            &market,
            "--confirm",
        ],
    );

    // The seller sells and goes away for good.
    let seller = Seller::new(b, &dir.path().join("seller"))?;
    let files: Vec<_> = (0..3u8)
        .map(|i| {
            let path = dir.path().join(format!("data-{i}.bin"));
            std::fs::write(&path, sample_data(20_000 + usize::from(i) * 1000, i))?;
            Ok(path)
        })
        .collect::<Result<_>>()?;
    let sold = files
        .iter()
        .map(|file| seller.sell(b, &storage, &market, file))
        .collect::<Result<Vec<_>>>()?;
    seller.vanish()?;

    // A purchase through A, delivered while the storage node follows B.
    let endpoint = format!("{}/", inbox.url);
    let first = buy(a, &market, sold[0].offer_id, &endpoint, &recipient)?;
    inbox.wait_for("saved", first.purchase_id);
    assert!(
        !storage.log().contains("switched to another node"),
        "B answers, so the storage node stays with it: {}",
        storage.log()
    );

    // A purchase commits, and B goes away while the storage node long-polls it.
    let second = buy(a, &market, sold[1].offer_id, &endpoint, &recipient)?;
    net.kill9(1);
    // The chain goes on with three of four validators.
    let height = our_height(a.api_url());
    wait_for("the chain to go on without B", PATIENCE, || {
        (our_height(a.api_url()) >= height + 2).then_some(())
    });
    let third = buy(a, &market, sold[2].offer_id, &endpoint, &recipient)?;
    let deadline = std::time::Instant::now() + PATIENCE;
    while inbox.saved_files().len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "not every purchase arrived; storage log: {}\ninbox log: {}",
            storage.log(),
            inbox.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    for bought in [&second, &third] {
        inbox.wait_for("saved", bought.purchase_id);
    }
    let log = storage.log();
    assert!(
        log.contains("switched to another node"),
        "the storage node says it switched: {log}"
    );
    // The operator's status says which node it follows now, and why not B.
    let status = runtime().block_on(storage.client().operator_status(ADMIN_TOKEN))?;
    let link = &status.chain;
    let following = link.following.as_deref().context("a node followed")?;
    assert!(
        [c.api_url(), d.api_url()].contains(&following.trim_end_matches('/')),
        "follows C or D now: {link:?}"
    );
    let urls: Vec<&str> = link
        .nodes
        .iter()
        .map(|n| n.url.trim_end_matches('/'))
        .collect();
    assert_eq!(urls, [b.api_url(), c.api_url(), d.api_url()], "{link:?}");
    let gone = &link.nodes[0];
    assert_eq!(gone.state, PoolNodeState::Failing, "B: {gone:?}");
    assert!(
        gone.failing_since.is_some() && gone.failures > 0,
        "{gone:?}"
    );
    assert!(gone.last_error.is_some(), "why B is not followed: {gone:?}");
    let current: Vec<_> = link
        .nodes
        .iter()
        .filter(|n| n.state == PoolNodeState::Current)
        .collect();
    assert_eq!(current.len(), 1, "{link:?}");
    assert_eq!(current[0].url, following);
    // Not on the public API: nothing there names the chain nodes.
    let public = get_json(&format!("{}/status", storage.url))?.to_string();
    assert!(
        !public.contains(c.api_url()) && !public.contains("following"),
        "{public}"
    );

    // Exactly once: each purchase saved once, with the right bytes, never as a duplicate.
    let events = inbox.events();
    for (bought, file) in [&first, &second, &third].into_iter().zip(&files) {
        let saved: Vec<_> = events
            .iter()
            .filter(|e| e["event"] == "saved" && e["purchase_id"] == bought.purchase_id)
            .collect();
        assert_eq!(
            saved.len(),
            1,
            "purchase {}: {events:?}",
            bought.purchase_id
        );
        let name = saved[0]["file"].as_str().context("a file name")?;
        assert_eq!(std::fs::read(inbox.out.join(name))?, std::fs::read(file)?);
    }
    assert!(
        !events.iter().any(|e| e["event"] == "duplicate"),
        "nothing was delivered twice: {events:?}"
    );
    // Each receipt is confirmed once, through C or D, and the escrow released: bob's account
    // committed exactly his three purchases and three confirmations (a confirmation sent twice
    // would use a seventh sequence, even failing).
    for bought in [&first, &second, &third] {
        inbox.wait_for("confirmed", bought.purchase_id);
    }
    let events = inbox.events();
    let confirmed: Vec<_> = events
        .iter()
        .filter(|e| e["event"] == "confirmed" || e["event"] == "confirm_failed")
        .collect();
    assert_eq!(
        confirmed.len(),
        3,
        "one confirmation per purchase: {confirmed:?}"
    );
    assert!(
        confirmed.iter().all(|e| e["event"] == "confirmed"),
        "{confirmed:?}\n{}",
        inbox.log()
    );
    for bought in [&first, &second, &third] {
        let shown = ok_json(&d.consign(&[
            "purchase",
            "show",
            &bought.purchase_id.to_string(),
            "--contract",
            &market,
            "--output",
            "json",
        ])?);
        assert_eq!(shown["state"], "released", "{shown}");
    }
    let bob = SecretKey::from_seed("bob").address();
    let account = get_json(&format!("{}/accounts/{bob}", d.api_url()))?;
    assert_eq!(
        account["sequence"], 6,
        "3 purchases and 3 confirmations: {account}"
    );

    // The storage node recorded each instruction once, by its sequence, and delivered each.
    let client = storage.client();
    let listed = wait_for("the storage node to record the deliveries", TIMEOUT, || {
        let listed = runtime()
            .block_on(client.deliveries(ADMIN_TOKEN, None, Some(100), None))
            .ok()?;
        let done = listed.deliveries.len() >= 3
            && listed
                .deliveries
                .iter()
                .all(|d| d.state == DeliveryState::Delivered);
        done.then_some(listed)
    });
    let sequences: Vec<u64> = listed.deliveries.iter().map(|d| d.sequence).collect();
    assert_eq!(
        sequences,
        [first.sequence, second.sequence, third.sequence],
        "one delivery per instruction"
    );
    Ok(())
}

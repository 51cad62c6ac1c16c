//! Faults around a delivery, with real processes: the buyer's endpoint failing for a while, the
//! storage node killed with `kill -9` in the middle of a large delivery, and the chain node's API
//! out of the storage node's reach for a while. In each, every purchase is delivered completely
//! and exactly once.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use consign_client::seal::{open_verified, AgeIdentity};
use consign_client::storage::{delivery_headers as h, DeliveryState};
use consign_tests::{
    buy, deploy_data_sale, runtime, sample_data, DevNode, Receiver, ReceiverBehaviour, Seller,
    Sold, StorageNode, TcpProxy, ADMIN_TOKEN,
};

const DELIVERY_TIMEOUT: Duration = Duration::from_secs(120);

/// A chain with the market, a seller who sold `plaintext` through `storage` and vanished.
fn sold(node: &DevNode, storage: &StorageNode, dir: &Path, plaintext: &[u8]) -> (String, Sold) {
    let market = deploy_data_sale(node).unwrap();
    let file = dir.join("data.bin");
    std::fs::write(&file, plaintext).unwrap();
    let seller = Seller::new(node, &dir.join("seller")).unwrap();
    let sold = seller.sell(node, storage, &market, &file).unwrap();
    seller.vanish().unwrap();
    (market, sold)
}

/// The storage node's deliveries, as its operator sees them.
fn deliveries(storage: &StorageNode) -> Vec<consign_client::storage::DeliveryView> {
    runtime()
        .block_on(storage.client().deliveries(ADMIN_TOKEN, None, None, None))
        .unwrap()
        .deliveries
}

fn open(identity: &AgeIdentity, body: &[u8], sold: &Sold) -> Vec<u8> {
    let mut out = Vec::new();
    open_verified(identity, body, &mut out, &sold.sha256, sold.size).unwrap();
    out
}

fn tmp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    (dir, path)
}

#[test]
fn an_endpoint_that_fails_for_a_while_gets_the_delivery_once() {
    let (_guard, dir) = tmp();
    let node = DevNode::start(&dir.join("chain")).unwrap();
    let storage =
        StorageNode::start(&dir.join("storage"), &node.url, &["--allow-private-egress"]).unwrap();
    let plaintext = sample_data(200_000, 1);
    let (market, sold) = sold(&node, &storage, &dir, &plaintext);

    let receiver = Receiver::start(ReceiverBehaviour {
        fail_first: 3,
        ..ReceiverBehaviour::default()
    })
    .unwrap();
    let identity = AgeIdentity::generate();
    let bought = buy(
        &node,
        &market,
        sold.offer_id,
        &receiver.url(),
        &identity.recipient(),
    )
    .unwrap();
    let received = receiver.wait_for(1, DELIVERY_TIMEOUT).unwrap();
    assert_eq!(
        open(&identity, received[0].body.as_ref().unwrap(), &sold),
        plaintext
    );
    assert_eq!(receiver.attempts(), 4, "three refusals, then the delivery");

    // Every attempt carried the same idempotency key; nothing more comes once accepted.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(receiver.attempts(), 4);
    let views = deliveries(&storage);
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].state, DeliveryState::Delivered);
    assert_eq!(views[0].attempts, 4);
    assert_eq!(views[0].purchase_id, bought.purchase_id);

    // The retries are counted in the metrics.
    let metrics = runtime()
        .block_on(storage.operator_client().metrics_text())
        .unwrap();
    let retries = metrics
        .lines()
        .find(|l| l.starts_with("consign_storage_delivery_retries_total"))
        .unwrap_or_else(|| panic!("no retries counter in:\n{metrics}"));
    assert!(retries.ends_with(" 3"), "{retries}");
}

#[test]
fn a_storage_node_killed_mid_delivery_resumes_and_delivers_once_completely() {
    let (_guard, dir) = tmp();
    let node = DevNode::start(&dir.join("chain")).unwrap();
    let mut storage =
        StorageNode::start(&dir.join("storage"), &node.url, &["--allow-private-egress"]).unwrap();
    // 40 MiB, read slowly by the buyer: the delivery takes seconds, so it can be cut.
    let plaintext = sample_data(40 << 20, 2);
    let (market, sold) = sold(&node, &storage, &dir, &plaintext);
    let receiver = Receiver::start(ReceiverBehaviour {
        delay_per_chunk: Some(Duration::from_millis(2)),
        ..ReceiverBehaviour::default()
    })
    .unwrap();
    let identity = AgeIdentity::generate();
    let bought = buy(
        &node,
        &market,
        sold.offer_id,
        &receiver.url(),
        &identity.recipient(),
    )
    .unwrap();

    // Wait until some, not all, of it has arrived; then kill -9.
    let deadline = Instant::now() + DELIVERY_TIMEOUT;
    while receiver.bytes_read() < 4 << 20 {
        assert!(
            Instant::now() < deadline,
            "the delivery never started: {}",
            storage.log()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    storage.kill9();
    let cut_at = receiver.bytes_read();
    assert!(cut_at < sold.size, "the delivery finished before the kill");
    assert!(receiver.received().is_empty());

    // Restarted, it resumes the delivery from its database and sends it again, whole.
    storage.restart().unwrap();
    let received = receiver.wait_for(1, DELIVERY_TIMEOUT).unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].headers[h::PURCHASE_ID],
        bought.purchase_id.to_string()
    );
    assert_eq!(
        open(&identity, received[0].body.as_ref().unwrap(), &sold),
        plaintext
    );
    assert!(receiver.aborted() >= 1, "the cut attempt broke off");

    // Restarting again does not send it a second time.
    storage.stop().unwrap();
    storage.restart().unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(receiver.received().len(), 1);
    let views = deliveries(&storage);
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].state, DeliveryState::Delivered);
}

#[test]
fn the_follower_catches_up_after_the_chain_api_was_out_of_reach() {
    let (_guard, dir) = tmp();
    let node = DevNode::start(&dir.join("chain")).unwrap();
    let upstream = node.url.trim_start_matches("http://").parse().unwrap();
    let mut proxy = TcpProxy::start(upstream).unwrap();
    // The storage node reaches the chain only through the proxy.
    let storage = StorageNode::start(
        &dir.join("storage"),
        &proxy.url(),
        &["--allow-private-egress"],
    )
    .unwrap();
    let plaintext = sample_data(100_000, 3);
    let (market, sold) = sold(&node, &storage, &dir, &plaintext);
    let receiver = Receiver::start(ReceiverBehaviour::default()).unwrap();
    let identity = AgeIdentity::generate();

    let first = buy(
        &node,
        &market,
        sold.offer_id,
        &receiver.url(),
        &identity.recipient(),
    )
    .unwrap();
    receiver.wait_for(1, DELIVERY_TIMEOUT).unwrap();

    // The API goes out of reach; purchases go on being committed meanwhile.
    proxy.pause();
    let during: Vec<_> = (0..3)
        .map(|_| {
            buy(
                &node,
                &market,
                sold.offer_id,
                &receiver.url(),
                &identity.recipient(),
            )
            .unwrap()
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        receiver.received().len(),
        1,
        "nothing can be delivered while out of reach"
    );

    // Back in reach: every instruction committed meanwhile is delivered, once each.
    proxy.resume().unwrap();
    let received = receiver.wait_for(4, DELIVERY_TIMEOUT).unwrap();
    let mut purchases: Vec<u64> = received
        .iter()
        .map(|r| r.headers[h::PURCHASE_ID].parse().unwrap())
        .collect();
    purchases.sort_unstable();
    let mut expected: Vec<u64> = std::iter::once(&first)
        .chain(&during)
        .map(|b| b.purchase_id)
        .collect();
    expected.sort_unstable();
    assert_eq!(purchases, expected);
    for r in &received {
        assert_eq!(open(&identity, r.body.as_ref().unwrap(), &sold), plaintext);
    }
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(receiver.received().len(), 4);
    assert!(storage.log().contains("WARN"), "the outage was logged");
    let status = runtime()
        .block_on(storage.client().operator_status(ADMIN_TOKEN))
        .unwrap();
    let status = serde_json::to_value(status).unwrap();
    assert_eq!(
        status["follower_cursor"],
        during.last().unwrap().sequence,
        "{status}"
    );
}

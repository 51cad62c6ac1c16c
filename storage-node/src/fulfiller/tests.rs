//! The delivery pipeline in-process: the follower and the fulfiller of a real [`Services`]
//! (database, blob store, metrics), a stand-in for the chain node's API (the three routes the
//! storage node reads: `/status`, `/deliveries`, the data-sale contract's `purchase` query) and
//! a buyer's inbox, all on `127.0.0.1:0`. Cross-process tests with a real `consign dev` live in
//! the workspace's `tests/` crate.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use consign_client::seal::{open_verified, AgeIdentity};
use consign_client::storage::DeliveryState;
use consign_client::{DeliveryAddress, DeliveryInstruction, DeliveryRecord, Timestamp, TxHash};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use warp::http::{HeaderMap, StatusCode};
use warp::{Filter as _, Reply as _};

use super::*;
use crate::config::Config;
use crate::market::Chain;
use crate::registrations::RegistrationRecord;

const CONTRACT: &str = "consign1datasale";
const CHAIN_ID: &str = "consign-test";
const OFFER: u64 = 7;
const BUYER: &str = "consign1buyer";

/// What the stand-in chain node serves.
#[derive(Default)]
struct ChainState {
    /// purchase id → the contract's JSON for it.
    purchases: HashMap<u64, serde_json::Value>,
    /// The delivery log, from sequence 1.
    feed: Vec<DeliveryRecord>,
    /// While set, every route answers 503.
    down: bool,
    /// `/deliveries` requests seen.
    feed_requests: usize,
}

type Shared<T> = Arc<Mutex<T>>;

async fn serve_on_loopback<F>(routes: F) -> SocketAddr
where
    F: warp::Filter + Clone + Send + Sync + 'static,
    F::Extract: warp::Reply,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(warp::serve(routes).incoming(listener).run());
    addr
}

fn unavailable() -> warp::reply::Response {
    warp::reply::with_status(
        warp::reply::json(&json!({"error": "down for the test"})),
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .into_response()
}

async fn fake_chain(state: Shared<ChainState>) -> SocketAddr {
    let smart = {
        let state = state.clone();
        warp::post()
            .and(warp::path!("contracts" / String / "smart"))
            .and(warp::body::json::<serde_json::Value>())
            .map(move |contract: String, msg: serde_json::Value| {
                let state = state.lock().unwrap();
                if state.down {
                    return unavailable();
                }
                let id = msg["purchase"]["id"].as_u64();
                match id.and_then(|id| state.purchases.get(&id)) {
                    Some(purchase) if contract == CONTRACT => {
                        warp::reply::json(&json!({ "data": purchase })).into_response()
                    }
                    _ => warp::reply::with_status(
                        warp::reply::json(&json!({
                            "error": "query failed: type: data_sale::state::Purchase; key: [00] not found"
                        })),
                        StatusCode::BAD_REQUEST,
                    )
                    .into_response(),
                }
            })
    };
    let status = {
        let state = state.clone();
        warp::get().and(warp::path!("status")).map(move || {
            let state = state.lock().unwrap();
            if state.down {
                return unavailable();
            }
            warp::reply::json(&json!({
                "chain_id": CHAIN_ID,
                "height": 1,
                "latest_block_hash": "00",
                "latest_block_time": "1700000000000000000",
                "next_delivery_sequence": state.feed.len() + 1,
            }))
            .into_response()
        })
    };
    let feed = {
        let state = state.clone();
        warp::get()
            .and(warp::path!("deliveries"))
            .and(warp::query::<HashMap<String, String>>())
            .then(move |query: HashMap<String, String>| {
                let state = state.clone();
                async move {
                    let after: u64 = query["after"].parse().unwrap();
                    let limit: usize = query["limit"].parse().unwrap();
                    // A short long-poll: enough to keep the follower from spinning.
                    let empty = state.lock().unwrap().feed.len() as u64 <= after;
                    if empty {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    let mut state = state.lock().unwrap();
                    state.feed_requests += 1;
                    if state.down {
                        return unavailable();
                    }
                    let deliveries: Vec<_> = state
                        .feed
                        .iter()
                        .filter(|r| r.sequence > after)
                        .take(limit)
                        .cloned()
                        .collect();
                    let next_after = deliveries.last().map_or(after, |r| r.sequence);
                    warp::reply::json(
                        &json!({ "deliveries": deliveries, "next_after": next_after }),
                    )
                    .into_response()
                }
            })
    };
    serve_on_loopback(smart.or(status).or(feed)).await
}

/// What the buyer's inbox saw.
#[derive(Default)]
struct InboxState {
    /// Answer 503 to this many more requests.
    fail: usize,
    /// Every request: its headers and body.
    requests: Vec<(HeaderMap, bytes::Bytes)>,
}

/// A buyer's inbox at `/inbox`, starting in `state`; `/moved` answers 307 to `/inbox`.
async fn fake_inbox(state: InboxState) -> (SocketAddr, Shared<InboxState>) {
    let state = Arc::new(Mutex::new(state));
    let seen = Arc::clone(&state);
    let inbox = warp::post()
        .and(warp::path!("inbox"))
        .and(warp::header::headers_cloned())
        .and(warp::body::bytes())
        .map(move |headers: HeaderMap, body: bytes::Bytes| {
            let mut state = state.lock().unwrap();
            state.requests.push((headers, body));
            if state.fail > 0 {
                state.fail -= 1;
                return warp::reply::with_status(
                    "busy, try later".to_owned(),
                    StatusCode::SERVICE_UNAVAILABLE,
                );
            }
            warp::reply::with_status("stored".to_owned(), StatusCode::OK)
        });
    let moved = warp::post().and(warp::path!("moved")).map(|| {
        warp::http::Response::builder()
            .status(StatusCode::TEMPORARY_REDIRECT)
            .header("location", "/inbox")
            .body(String::new())
            .unwrap()
    });
    (serve_on_loopback(ready().or(inbox).or(moved)).await, seen)
}

/// A Consign inbox's answer to every preflight: `204`, `x-consign-inbox: ready`.
fn ready(
) -> impl warp::Filter<Extract = (warp::http::Response<String>,), Error = warp::Rejection> + Clone {
    warp::options().map(|| {
        warp::http::Response::builder()
            .status(StatusCode::NO_CONTENT)
            .header(h::INBOX, h::INBOX_READY)
            .body(String::new())
            .unwrap()
    })
}

/// A node's services on a fresh data directory, beside a stand-in chain node serving `state`:
/// the services, the chain's state, and the directory (removed when it is dropped).
async fn node(
    state: ChainState,
    allow_private_egress: bool,
) -> (Services, Shared<ChainState>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let chain_state = Arc::new(Mutex::new(state));
    let chain = fake_chain(Arc::clone(&chain_state)).await;
    let svc = services(dir.path(), chain, allow_private_egress);
    (svc, chain_state, dir)
}

/// A node's services on a fresh data directory, with fast retries.
fn services(dir: &std::path::Path, chain: SocketAddr, allow_private_egress: bool) -> Services {
    let config = Config {
        data_dir: dir.to_owned(),
        node_url: vec![format!("http://{chain}")],
        allow_private_egress,
        retry_initial: Duration::from_millis(20),
        retry_max: Duration::from_millis(100),
        follower_wait: Duration::from_millis(200),
        ..Config::default()
    };
    let chain = Chain::new(&config.node_url, CHAIN_ID).unwrap();
    Services::open(config, chain).unwrap()
}

fn purchase_json(id: u64, endpoint: &str, key: &str) -> serde_json::Value {
    json!({
        "id": id, "offer_id": OFFER, "buyer": BUYER, "seller": "consign1seller",
        "price": [{"denom": "ucsn", "amount": "5"}],
        "recipient": {"endpoint": endpoint, "key": key},
        "state": "held", "created": "1700000000000000000"
    })
}

fn record(
    sequence: u64,
    purchase_id: u64,
    endpoint: &str,
    key: &str,
    sha: &str,
    size: u64,
) -> DeliveryRecord {
    DeliveryRecord {
        sequence,
        contract: CONTRACT.into(),
        height: sequence,
        tx_hash: TxHash([9; 32]),
        time: Timestamp::from_nanos(
            u64::try_from(
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_nanos(),
            )
            .unwrap(),
        ),
        instruction: DeliveryInstruction {
            offer_id: OFFER,
            purchase_id,
            buyer: BUYER.into(),
            recipient: DeliveryAddress {
                endpoint: endpoint.into(),
                key: key.into(),
            },
            content_sha256: sha.into(),
            size,
            deadline: None,
        },
    }
}

/// Stores `data` as a blob registered for [`OFFER`]; returns its digest.
fn store_and_register(svc: &Services, data: &[u8]) -> String {
    let stored = svc.blobs.put(data).unwrap();
    registrations::put(
        &svc.db,
        CONTRACT,
        OFFER,
        &RegistrationRecord {
            sha256: stored.sha256.clone(),
            seller: "consign1seller".into(),
            registered_at: 1,
            custody: None,
        },
    )
    .unwrap();
    stored.sha256
}

/// Waits (at most 20 s) until delivery `sequence` satisfies `done`; returns it.
async fn wait_for(
    svc: &Services,
    sequence: u64,
    done: impl Fn(&DeliveryEntry) -> bool,
) -> DeliveryEntry {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(entry) = deliveries::get(&svc.db, sequence).unwrap() {
            if done(&entry) {
                return entry;
            }
            assert!(
                Instant::now() < deadline,
                "timed out; the delivery is {entry:?}"
            );
        }
        assert!(
            Instant::now() < deadline,
            "timed out; no delivery {sequence}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn start(svc: &Services, policy: Option<EgressPolicy>) -> (watch::Sender<bool>, JoinHandle<()>) {
    let (stop, stopped) = watch::channel(false);
    let task = match policy {
        Some(policy) => tokio::spawn(run_with_policy(svc.clone(), policy, stopped)),
        None => tokio::spawn(run(svc.clone(), stopped)),
    };
    (stop, task)
}

/// Each node has its own wake-up: waking one node's fulfiller (as its follower does when it
/// records deliveries) leaves another node in the same process asleep.
#[tokio::test]
async fn two_nodes_in_one_process_do_not_wake_each_other() {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let nowhere: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let a = services(dir_a.path(), nowhere, false);
    let b = services(dir_b.path(), nowhere, false);
    a.wake_fulfiller();
    assert!(
        tokio::time::timeout(Duration::from_millis(100), b.wake.notified())
            .await
            .is_err(),
        "waking node a woke node b"
    );
    tokio::time::timeout(Duration::from_secs(5), a.wake.notified())
        .await
        .expect("node a's fulfiller is woken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_endpoint_gets_the_delivery_once_it_accepts() {
    let (inbox, inbox_state) = fake_inbox(InboxState {
        fail: 3,
        ..InboxState::default()
    })
    .await;
    let (svc, chain_state, _dir) = node(ChainState::default(), true).await;

    let buyer = AgeIdentity::generate();
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let sha = store_and_register(&svc, &data);
    let endpoint = format!("http://{inbox}/inbox");
    chain_state
        .lock()
        .unwrap()
        .purchases
        .insert(11, purchase_json(11, &endpoint, &buyer.recipient()));
    let rec = record(
        5,
        11,
        &endpoint,
        &buyer.recipient(),
        &sha,
        data.len() as u64,
    );
    deliveries::insert_if_new(&svc.db, &rec, &sha, now_ms()).unwrap();

    let (stop, task) = start(&svc, None);
    let entry = wait_for(&svc, 5, |e| e.state == DeliveryState::Delivered).await;
    assert_eq!(entry.attempts, 4, "three 503s, then accepted");
    assert!(entry.delivered_at.is_some());
    assert_eq!(entry.last_error, None);

    // Let it run a little longer: nothing is sent again.
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.send(true).unwrap();
    task.await.unwrap();

    let inbox = inbox_state.lock().unwrap();
    assert_eq!(inbox.requests.len(), 4);
    let (headers, body) = inbox.requests.last().unwrap();
    let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "application/octet-stream");
    assert_eq!(header(h::CONTRACT), CONTRACT);
    assert_eq!(header(h::PURCHASE_ID), "11");
    assert_eq!(header(h::OFFER_ID), "7");
    assert_eq!(header(h::CONTENT_SHA256), sha);
    assert_eq!(header(h::CONTENT_SIZE), data.len().to_string());
    assert_eq!(header(h::SEQUENCE), "5");
    assert_eq!(
        header(h::IDEMPOTENCY_KEY),
        format!("{CHAIN_ID}/{CONTRACT}/11")
    );
    // Every attempt carries the same idempotency key, and a complete age file.
    for (headers, body) in &inbox.requests {
        assert_eq!(headers[h::IDEMPOTENCY_KEY], header(h::IDEMPOTENCY_KEY));
        let mut plaintext = Vec::new();
        open_verified(&buyer, &body[..], &mut plaintext, &sha, data.len() as u64).unwrap();
        assert_eq!(plaintext, data);
    }
    assert!(body.starts_with(b"age-encryption.org/v1\n"));

    let metrics = svc.metrics.encode();
    assert!(
        metrics.contains("consign_storage_delivery_retries_total 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("consign_storage_deliveries_finished_total{outcome=\"delivered\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("consign_storage_delivery_latency_seconds_count 1"),
        "{metrics}"
    );
    let view = deliveries::list(&svc.db, None, 10, None).unwrap();
    assert_eq!(view.deliveries[0].state, DeliveryState::Delivered);
    assert_eq!(view.deliveries[0].attempts, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn private_endpoints_are_refused_with_the_reason() {
    let (inbox, inbox_state) = fake_inbox(InboxState::default()).await;
    // Private egress off; the stand-in chain node is reached by the node client, which the
    // policy does not govern.
    let (svc, chain_state, _dir) = node(ChainState::default(), false).await;
    let buyer = AgeIdentity::generate();
    let sha = store_and_register(&svc, b"confidential");

    // An IP literal: refused for good.
    let literal = format!("http://{inbox}/inbox");
    // A name that resolves to loopback: retried (DNS may change), with the reason.
    let name = format!("http://localhost:{}/inbox", inbox.port());
    for (sequence, endpoint) in [(1, &literal), (2, &name)] {
        chain_state.lock().unwrap().purchases.insert(
            sequence,
            purchase_json(sequence, endpoint, &buyer.recipient()),
        );
        let rec = record(sequence, sequence, endpoint, &buyer.recipient(), &sha, 12);
        deliveries::insert_if_new(&svc.db, &rec, &sha, now_ms()).unwrap();
    }

    let (stop, task) = start(&svc, None);
    let failed = wait_for(&svc, 1, |e| e.state == DeliveryState::Failed).await;
    let retried = wait_for(&svc, 2, |e| {
        e.attempts >= 2 && e.state == DeliveryState::Pending
    })
    .await;
    stop.send(true).unwrap();
    task.await.unwrap();

    assert_eq!(
        failed.last_error.as_deref(),
        Some("127.0.0.1 is a loopback address; private egress is off (start with --allow-private-egress for local use)")
    );
    let reason = retried.last_error.unwrap();
    assert!(reason.starts_with("localhost resolves to"), "{reason}");
    assert!(
        reason.contains("a loopback address; private egress is off"),
        "{reason}"
    );
    assert!(
        inbox_state.lock().unwrap().requests.is_empty(),
        "nothing reached the inbox"
    );

    // The operator sees both reasons in the list.
    let page = deliveries::list(&svc.db, None, 10, None).unwrap();
    assert_eq!(page.deliveries[0].state, DeliveryState::Failed);
    assert!(page.deliveries[0]
        .last_error
        .as_ref()
        .unwrap()
        .contains("--allow-private-egress"));
    assert!(page.deliveries[1]
        .last_error
        .as_ref()
        .unwrap()
        .contains("--allow-private-egress"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn purchases_are_rechecked_on_chain() {
    let (inbox, inbox_state) = fake_inbox(InboxState::default()).await;
    let (svc, chain_state, _dir) = node(ChainState::default(), true).await;
    let buyer = AgeIdentity::generate();
    let sha = store_and_register(&svc, b"confidential");
    let endpoint = format!("http://{inbox}/inbox");
    let key = buyer.recipient();
    let other_key = AgeIdentity::generate().recipient();
    {
        let mut chain = chain_state.lock().unwrap();
        // 1: no such purchase. 2: another recipient on chain. 3: refunded. 4: another buyer.
        chain
            .purchases
            .insert(2, purchase_json(2, &endpoint, &other_key));
        let mut refunded = purchase_json(3, &endpoint, &key);
        refunded["state"] = json!("refunded");
        chain.purchases.insert(3, refunded);
        let mut other_buyer = purchase_json(4, &endpoint, &key);
        other_buyer["buyer"] = json!("consign1someoneelse");
        chain.purchases.insert(4, other_buyer);
    }
    for sequence in 1..=4 {
        let rec = record(sequence, sequence, &endpoint, &key, &sha, 12);
        deliveries::insert_if_new(&svc.db, &rec, &sha, now_ms()).unwrap();
    }
    // 5: the instruction's deadline has passed.
    let mut late = record(5, 5, &endpoint, &key, &sha, 12);
    late.instruction.deadline = Some(Timestamp::from_seconds(1_600_000_000));
    deliveries::insert_if_new(&svc.db, &late, &sha, now_ms()).unwrap();

    let (stop, task) = start(&svc, None);
    let mut reasons = Vec::new();
    for sequence in 1..=5 {
        let entry = wait_for(&svc, sequence, |e| e.state == DeliveryState::Failed).await;
        reasons.push(entry.last_error.unwrap());
    }
    stop.send(true).unwrap();
    task.await.unwrap();
    assert_eq!(reasons[0], "purchase 1 not found on chain");
    assert_eq!(
        reasons[1],
        "purchase 2 on chain names another recipient than the instruction"
    );
    assert_eq!(reasons[2], "purchase 3 on chain was refunded");
    assert!(
        reasons[3].starts_with("purchase 4 on chain was made by consign1someoneelse"),
        "{}",
        reasons[3]
    );
    assert!(
        reasons[4].starts_with("the deadline 2020-09-13T12:26:40Z passed"),
        "{}",
        reasons[4]
    );
    assert!(inbox_state.lock().unwrap().requests.is_empty());
    assert!(svc
        .metrics
        .encode()
        .contains("consign_storage_deliveries_finished_total{outcome=\"failed\"} 5"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unreachable_chain_is_retried_and_redirects_are_followed() {
    let (inbox, inbox_state) = fake_inbox(InboxState::default()).await;
    let (svc, chain_state, _dir) = node(
        ChainState {
            down: true,
            ..ChainState::default()
        },
        true,
    )
    .await;
    let buyer = AgeIdentity::generate();
    let data = b"moved data".to_vec();
    let sha = store_and_register(&svc, &data);
    let endpoint = format!("http://{inbox}/moved");
    chain_state
        .lock()
        .unwrap()
        .purchases
        .insert(1, purchase_json(1, &endpoint, &buyer.recipient()));
    let rec = record(1, 1, &endpoint, &buyer.recipient(), &sha, data.len() as u64);
    deliveries::insert_if_new(&svc.db, &rec, &sha, now_ms()).unwrap();

    let (stop, task) = start(&svc, None);
    let entry = wait_for(&svc, 1, |e| e.attempts >= 2).await;
    let reason = entry.last_error.unwrap();
    assert!(
        reason.starts_with("cannot check the purchase on chain"),
        "{reason}"
    );
    chain_state.lock().unwrap().down = false;
    wait_for(&svc, 1, |e| e.state == DeliveryState::Delivered).await;
    stop.send(true).unwrap();
    task.await.unwrap();

    let inbox = inbox_state.lock().unwrap();
    assert_eq!(inbox.requests.len(), 1, "the 307 target got it once");
    let mut plaintext = Vec::new();
    open_verified(
        &buyer,
        &inbox.requests[0].1[..],
        &mut plaintext,
        &sha,
        data.len() as u64,
    )
    .unwrap();
    assert_eq!(plaintext, data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_blob_that_does_not_match_the_instruction_is_never_sent_whole() {
    let (inbox, inbox_state) = fake_inbox(InboxState::default()).await;
    let (svc, chain_state, _dir) = node(ChainState::default(), true).await;
    let buyer = AgeIdentity::generate();
    let data = vec![1u8; 200_000];
    let sha = store_and_register(&svc, &data);
    let endpoint = format!("http://{inbox}/inbox");
    chain_state
        .lock()
        .unwrap()
        .purchases
        .insert(1, purchase_json(1, &endpoint, &buyer.recipient()));
    // The instruction claims one byte more than the blob holds.
    let rec = record(
        1,
        1,
        &endpoint,
        &buyer.recipient(),
        &sha,
        data.len() as u64 + 1,
    );
    deliveries::insert_if_new(&svc.db, &rec, &sha, now_ms()).unwrap();

    let (stop, task) = start(&svc, None);
    let entry = wait_for(&svc, 1, |e| {
        e.attempts >= 2 && e.state == DeliveryState::Pending
    })
    .await;
    stop.send(true).unwrap();
    task.await.unwrap();
    let reason = entry.last_error.unwrap();
    assert!(reason.contains("is not what was registered"), "{reason}");
    // Whatever reached the inbox (if the server saw the aborted body at all) does not open.
    for (_, body) in &inbox_state.lock().unwrap().requests {
        assert!(
            open_verified(&buyer, &body[..], std::io::sink(), &sha, data.len() as u64).is_err()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deliveries_in_flight_at_a_crash_are_resumed() {
    let (inbox, inbox_state) = fake_inbox(InboxState::default()).await;
    let (svc, chain_state, _dir) = node(ChainState::default(), true).await;
    let buyer = AgeIdentity::generate();
    let sha = store_and_register(&svc, b"resumed");
    let endpoint = format!("http://{inbox}/inbox");
    chain_state
        .lock()
        .unwrap()
        .purchases
        .insert(1, purchase_json(1, &endpoint, &buyer.recipient()));
    let rec = record(1, 1, &endpoint, &buyer.recipient(), &sha, 7);
    deliveries::insert_if_new(&svc.db, &rec, &sha, now_ms()).unwrap();
    // A previous process claimed it and died.
    assert_eq!(
        deliveries::claim_due(&svc.db, now_ms(), 10).unwrap().len(),
        1
    );

    let (stop, task) = start(&svc, None);
    let entry = wait_for(&svc, 1, |e| e.state == DeliveryState::Delivered).await;
    stop.send(true).unwrap();
    task.await.unwrap();
    assert_eq!(entry.attempts, 2);
    assert_eq!(inbox_state.lock().unwrap().requests.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_follower_catches_up_after_an_outage_without_skipping() {
    let (inbox, inbox_state) = fake_inbox(InboxState::default()).await;
    let (svc, chain_state, _dir) = node(ChainState::default(), true).await;
    let buyer = AgeIdentity::generate();
    let sha = store_and_register(&svc, b"followed");
    let endpoint = format!("http://{inbox}/inbox");

    let publish = |range: std::ops::RangeInclusive<u64>| {
        let mut chain = chain_state.lock().unwrap();
        for sequence in range {
            // Odd sequences are for our offer; even ones for an offer registered elsewhere.
            let mut rec = record(sequence, sequence, &endpoint, &buyer.recipient(), &sha, 8);
            if sequence % 2 == 0 {
                rec.instruction.offer_id = 99;
            }
            chain.purchases.insert(
                sequence,
                purchase_json(sequence, &endpoint, &buyer.recipient()),
            );
            chain.feed.push(rec);
        }
    };
    publish(1..=150);
    let (stop, stopped) = watch::channel(false);
    let follower = tokio::spawn(crate::follower::run(svc.clone(), stopped.clone()));
    let fulfiller = tokio::spawn(run(svc.clone(), stopped));

    let deadline = Instant::now() + Duration::from_secs(20);
    while crate::follower::cursor(&svc.db).unwrap() < 150 {
        assert!(Instant::now() < deadline, "the follower did not catch up");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The node goes down; instructions keep being committed meanwhile.
    chain_state.lock().unwrap().down = true;
    let seen = chain_state.lock().unwrap().feed_requests;
    publish(151..=260);
    while chain_state.lock().unwrap().feed_requests < seen + 3 {
        assert!(Instant::now() < deadline, "the follower did not retry");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(crate::follower::cursor(&svc.db).unwrap(), 150);
    chain_state.lock().unwrap().down = false;
    while crate::follower::cursor(&svc.db).unwrap() < 260 {
        assert!(
            Instant::now() < deadline,
            "the follower did not catch up after the outage"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for sequence in (1..=260).filter(|s| s % 2 == 1) {
        wait_for(&svc, sequence, |e| e.state == DeliveryState::Delivered).await;
    }
    stop.send(true).unwrap();
    follower.await.unwrap();
    fulfiller.await.unwrap();

    // Every instruction for our offer, once; none of the others.
    let page = deliveries::list(&svc.db, None, 1000, None).unwrap();
    let sequences: Vec<u64> = page.deliveries.iter().map(|d| d.sequence).collect();
    assert_eq!(
        sequences,
        (1..=260).filter(|s| s % 2 == 1).collect::<Vec<_>>()
    );
    let mut purchases: Vec<u64> = inbox_state
        .lock()
        .unwrap()
        .requests
        .iter()
        .map(|(headers, _)| headers[h::PURCHASE_ID].to_str().unwrap().parse().unwrap())
        .collect();
    purchases.sort_unstable();
    assert_eq!(purchases, sequences, "each delivered exactly once");
    let metrics = svc.metrics.encode();
    assert!(
        metrics.contains("consign_storage_follower_cursor 260"),
        "{metrics}"
    );
    assert!(
        metrics.contains("consign_storage_follower_lag 0"),
        "{metrics}"
    );
}

#[test]
fn retry_delays_grow_exponentially_with_full_jitter_and_a_cap() {
    let initial = Duration::from_millis(100);
    let max = Duration::from_secs(10);
    for attempts in 0..100u32 {
        let cap = initial
            .saturating_mul(1 << attempts.saturating_sub(1).min(30))
            .min(max);
        for _ in 0..20 {
            assert!(retry_delay(attempts, initial, max) <= cap);
        }
    }
    // With full jitter, the average of many draws is about half the cap.
    let total: Duration = (0..2000).map(|_| retry_delay(20, initial, max)).sum();
    let mean = total / 2000;
    assert!(
        mean > Duration::from_secs(4) && mean < Duration::from_secs(6),
        "{mean:?}"
    );
    assert_eq!(retry_delay(3, Duration::ZERO, max), Duration::ZERO);
}

/// A reader of the chunks a streaming HTTP body receives (for decrypting as it arrives).
struct ChannelReader {
    rx: std::sync::mpsc::Receiver<bytes::Bytes>,
    current: bytes::Bytes,
}

impl std::io::Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.recv() {
                Ok(chunk) => self.current = chunk,
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        bytes::Buf::advance(&mut self.current, n);
        Ok(n)
    }
}

/// Deterministic pseudo-random bytes, generated as they are read.
struct Generated {
    remaining: u64,
    state: u64,
}

impl std::io::Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        for word in buf[..n].chunks_mut(8) {
            self.state = self
                .state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let bytes = self.state.to_le_bytes();
            word.copy_from_slice(&bytes[..word.len()]);
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// The fulfiller's throughput on loopback for a large blob (`CONSIGN_BENCH_MIB`, default 1024),
/// decrypted and checked by the receiver as it arrives (or only counted, with
/// `CONSIGN_BENCH_DISCARD=1`, to leave the CPU to the sender). Run it optimised:
/// `cargo test --release -p consign-storage --lib -- --ignored --nocapture large_delivery`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "a benchmark: run it with --release"]
async fn large_delivery_throughput() {
    let mib: u64 = std::env::var("CONSIGN_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let size = mib * 1024 * 1024;
    let (svc, chain_state, _dir) = node(ChainState::default(), true).await;
    let buyer = AgeIdentity::generate();

    let started = Instant::now();
    let blobs = svc.blobs.clone();
    let stored = tokio::task::spawn_blocking(move || {
        blobs.put(Generated {
            remaining: size,
            state: 3,
        })
    })
    .await
    .unwrap()
    .unwrap();
    println!("stored {mib} MiB at rest in {:?}", started.elapsed());
    registrations::put(
        &svc.db,
        CONTRACT,
        OFFER,
        &RegistrationRecord {
            sha256: stored.sha256.clone(),
            seller: "consign1seller".into(),
            registered_at: 1,
            custody: None,
        },
    )
    .unwrap();

    // The inbox: decrypts and checks as the body arrives, answers once it is verified.
    let context = (buyer.clone(), stored.sha256.clone(), size);
    let inbox = warp::post()
        .and(warp::path!("inbox"))
        .and(warp::body::stream())
        .and(warp::any().map(move || context.clone()))
        .then(receive_verified);
    let inbox = serve_on_loopback(ready().or(inbox)).await;
    let endpoint = format!("http://{inbox}/inbox");
    chain_state
        .lock()
        .unwrap()
        .purchases
        .insert(1, purchase_json(1, &endpoint, &buyer.recipient()));
    let rec = record(1, 1, &endpoint, &buyer.recipient(), &stored.sha256, size);

    let rss_before = peak_rss_kib();
    let (stop, task) = start(&svc, None);
    let started = Instant::now();
    deliveries::insert_if_new(&svc.db, &rec, &stored.sha256, now_ms()).unwrap();
    svc.wake_fulfiller();
    let entry = wait_for_long(&svc, 1).await;
    let elapsed = started.elapsed();
    stop.send(true).unwrap();
    task.await.unwrap();
    assert_eq!(entry.state, DeliveryState::Delivered, "{entry:?}");
    assert_eq!(entry.attempts, 1, "{entry:?}");
    println!(
        "delivered {mib} MiB in {elapsed:?}: {:.0} MB/s; peak RSS {} MiB before, {} MiB after",
        size as f64 / elapsed.as_secs_f64() / 1e6,
        rss_before / 1024,
        peak_rss_kib() / 1024
    );
}

/// Waits (at most 10 min) until delivery `sequence` is delivered or failed.
async fn wait_for_long(svc: &Services, sequence: u64) -> DeliveryEntry {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if let Some(entry) = deliveries::get(&svc.db, sequence).unwrap() {
            if matches!(
                entry.state,
                DeliveryState::Delivered | DeliveryState::Failed
            ) || entry.attempts > 1
            {
                return entry;
            }
        }
        assert!(Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// An inbox handler that decrypts and checks the body as it arrives, and answers 200 only
/// once the plaintext is verified.
async fn receive_verified<S, B>(
    body: S,
    (identity, sha, size): (AgeIdentity, String, u64),
) -> warp::reply::WithStatus<String>
where
    S: futures_util::Stream<Item = Result<B, warp::Error>>,
    B: bytes::Buf,
{
    use futures_util::StreamExt as _;
    if std::env::var_os("CONSIGN_BENCH_DISCARD").is_some() {
        let mut body = std::pin::pin!(body);
        let mut received = 0;
        while let Some(chunk) = body.next().await {
            received += chunk.unwrap().remaining() as u64;
        }
        assert!(received > size);
        return warp::reply::with_status("ok".to_owned(), StatusCode::OK);
    }
    let (tx, rx) = std::sync::mpsc::sync_channel(8);
    let check = tokio::task::spawn_blocking(move || {
        let reader = ChannelReader {
            rx,
            current: bytes::Bytes::new(),
        };
        open_verified(&identity, reader, std::io::sink(), &sha, size)
    });
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let mut chunk = chunk.unwrap();
        let remaining = chunk.remaining();
        if tx.send(chunk.copy_to_bytes(remaining)).is_err() {
            break;
        }
    }
    drop(tx);
    match check.await.unwrap() {
        Ok(_) => warp::reply::with_status("ok".to_owned(), StatusCode::OK),
        Err(e) => warp::reply::with_status(e.to_string(), StatusCode::BAD_REQUEST),
    }
}

/// An inbox that saved the purchase before says so in the preflight: the delivery is recorded
/// as delivered and no body is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_purchase_the_inbox_saved_before_is_not_sent_again() {
    let posts = Arc::new(Mutex::new(0usize));
    let saved = warp::options().map(|| {
        warp::http::Response::builder()
            .header(h::INBOX, h::INBOX_SAVED)
            .body(String::new())
            .unwrap()
    });
    let counted = Arc::clone(&posts);
    let post = warp::post().map(move || {
        *counted.lock().unwrap() += 1;
        "stored"
    });
    let inbox = serve_on_loopback(saved.or(post)).await;
    let (svc, chain_state, _dir) = node(ChainState::default(), true).await;
    let buyer = AgeIdentity::generate();
    let sha = store_and_register(&svc, b"saved before");
    let endpoint = format!("http://{inbox}/inbox");
    chain_state
        .lock()
        .unwrap()
        .purchases
        .insert(1, purchase_json(1, &endpoint, &buyer.recipient()));
    let rec = record(1, 1, &endpoint, &buyer.recipient(), &sha, 12);
    deliveries::insert_if_new(&svc.db, &rec, &sha, now_ms()).unwrap();

    let (stop, task) = start(&svc, None);
    let entry = wait_for(&svc, 1, |e| e.state == DeliveryState::Delivered).await;
    stop.send(true).unwrap();
    task.await.unwrap();
    assert_eq!(entry.attempts, 1);
    assert_eq!(*posts.lock().unwrap(), 0, "no body was sent");
}

mod custody;

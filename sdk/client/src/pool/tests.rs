//! The pool against real HTTP servers on loopback: healthy nodes, failing ones, a node on
//! another chain, one that trickles its answers, one behind the chain.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;

use tokio::net::TcpListener;
use warp::http::StatusCode;
use warp::Filter;

use super::*;
use crate::{
    DeliveryAddress, DeliveryInstruction, DeliveryRecord, GasPrice, Timestamp, TxHash, NATIVE_DENOM,
};

/// A fake node: its chain, the last sequence of its feed, whether it answers 503 to
/// everything, and how many requests it had.
#[derive(Clone)]
struct Fake {
    chain: &'static str,
    head: u64,
    failing: bool,
    hits: Arc<AtomicUsize>,
}

impl Fake {
    fn new(chain: &'static str, head: u64) -> Self {
        Self {
            chain,
            head,
            failing: false,
            hits: Arc::default(),
        }
    }

    fn failing(mut self) -> Self {
        self.failing = true;
        self
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn status(&self) -> NodeStatus {
        NodeStatus {
            chain_id: self.chain.to_owned(),
            height: self.head,
            latest_block_hash: "00".repeat(32),
            latest_block_time: Timestamp::from_seconds(1_700_000_000),
            next_delivery_sequence: self.head + 1,
            min_gas_price: GasPrice::zero(NATIVE_DENOM),
        }
    }

    /// Serves it on a free loopback port; returns its URL.
    async fn serve(&self) -> String {
        let fake = self.clone();
        let routes = warp::any()
            .and(warp::method())
            .and(warp::path::full())
            .and(warp::query::<HashMap<String, String>>())
            .map(move |method, path: warp::path::FullPath, query| {
                fake.hits.fetch_add(1, Ordering::SeqCst);
                fake.answer(&method, path.as_str(), &query)
            });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(warp::serve(routes).incoming(listener).run());
        format!("http://{addr}")
    }

    fn answer(
        &self,
        method: &warp::http::Method,
        path: &str,
        query: &HashMap<String, String>,
    ) -> warp::reply::Response {
        use warp::Reply as _;
        let json = |status, value: serde_json::Value| {
            warp::reply::with_status(warp::reply::json(&value), status).into_response()
        };
        if self.failing {
            return json(
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({"error": "cannot reach CometBFT"}),
            );
        }
        match (method.as_str(), path) {
            ("GET", "/status") => warp::reply::json(&self.status()).into_response(),
            ("GET", "/deliveries") => {
                let after: u64 = query["after"].parse().unwrap();
                let deliveries: Vec<_> = (after + 1..=self.head).map(record).collect();
                let next_after = deliveries.last().map_or(after, |r| r.sequence);
                warp::reply::json(&DeliveryPage {
                    deliveries,
                    next_after,
                })
                .into_response()
            }
            _ => json(
                StatusCode::NOT_FOUND,
                serde_json::json!({"error": "no contract at consign1nothing"}),
            ),
        }
    }
}

fn record(sequence: u64) -> DeliveryRecord {
    DeliveryRecord {
        sequence,
        contract: "consign1contract".into(),
        height: sequence,
        tx_hash: TxHash([1; 32]),
        time: Timestamp::from_seconds(1_700_000_000),
        instruction: DeliveryInstruction {
            offer_id: 1,
            purchase_id: sequence,
            buyer: "consign1buyer".into(),
            recipient: DeliveryAddress {
                endpoint: "https://buyer.example/inbox".into(),
                key: "age1recipient".into(),
            },
            content_sha256: "aa".repeat(32),
            size: 10,
            deadline: None,
        },
    }
}

/// A loopback address where nothing listens.
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// A server that accepts every request and answers `200` with a body that never ends, one
/// byte every 50 ms (a thread per connection; they end with the test process).
fn trickler() -> String {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for socket in listener.incoming() {
            let Ok(mut socket) = socket else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf);
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{";
                if socket.write_all(head.as_bytes()).is_err() {
                    return;
                }
                while socket.write_all(b" ").is_ok() {
                    std::thread::sleep(Duration::from_millis(50));
                }
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_failing_node_is_left_for_the_next_and_the_pool_stays_there() {
    let sick = Fake::new("chain-a", 3).failing();
    let well = Fake::new("chain-a", 3);
    let pool = NodePool::new([closed_port(), sick.serve().await, well.serve().await]).unwrap();

    let status = pool.status().await.unwrap();
    assert_eq!(status.chain_id, "chain-a");
    assert_eq!(pool.chain_id(), Some("chain-a"));
    assert_eq!(pool.current().base_url(), pool.urls().nth(2).unwrap());
    let (sick_hits, well_hits) = (sick.hits(), well.hits());
    assert_eq!(sick_hits, 1, "the 503 node was asked once");

    // Sticky: the next requests go straight to the node that answered.
    for _ in 0..3 {
        pool.status().await.unwrap();
    }
    assert_eq!(sick.hits(), sick_hits);
    assert_eq!(well.hits(), well_hits + 3);

    // The report says which node is followed, and why not the others.
    let report = pool.report();
    let states: Vec<_> = report.iter().map(|n| n.state).collect();
    assert_eq!(
        states,
        [
            PoolNodeState::Failing,
            PoolNodeState::Failing,
            PoolNodeState::Current
        ]
    );
    assert_eq!(report[2].url, pool.current().base_url().to_string());
    for failing in &report[..2] {
        assert_eq!(failing.failures, 1, "{failing:?}");
        assert!(failing.failing_since.is_some(), "{failing:?}");
        assert!(failing.last_error.is_some(), "{failing:?}");
    }
    assert!(report[2].failing_since.is_none() && report[2].last_error.is_none());
}

#[tokio::test]
async fn the_chains_own_answer_is_not_failed_over() {
    let first = Fake::new("chain-a", 3);
    let second = Fake::new("chain-a", 3);
    let pool = NodePool::new([first.serve().await, second.serve().await]).unwrap();
    let error = pool
        .smart_query::<serde_json::Value>(
            "consign1nothing",
            &serde_json::json!({"offer": {"id": 1}}),
        )
        .await
        .unwrap_err();
    assert!(error.is_not_found(), "{error:?}");
    assert_eq!(
        second.hits(),
        0,
        "a 404 is the chain's answer: no other node is asked"
    );
}

#[tokio::test]
async fn a_node_on_another_chain_is_refused_for_good() {
    let impostor = Fake::new("chain-evil", 9);
    let honest = Fake::new("chain-a", 3);
    let pool = NodePool::new([impostor.serve().await, honest.serve().await])
        .unwrap()
        .expect_chain_id("chain-a");
    let status = pool.status().await.unwrap();
    assert_eq!(status.chain_id, "chain-a");
    assert_eq!(
        impostor.hits(),
        1,
        "asked for its status once, then refused"
    );
    for _ in 0..3 {
        pool.status().await.unwrap();
    }
    assert_eq!(impostor.hits(), 1, "a refused node is never asked again");
    let report = pool.report();
    assert_eq!(report[0].state, PoolNodeState::Refused);
    assert_eq!(report[0].chain_id.as_deref(), Some("chain-evil"));
    assert_eq!(report[1].state, PoolNodeState::Current);

    // A pool whose every node is on another chain says so, naming the chain.
    let alone = NodePool::new([impostor.serve().await])
        .unwrap()
        .expect_chain_id("chain-a");
    let error = alone.status().await.unwrap_err();
    assert!(
        matches!(&error, ClientError::WrongChain { found, .. } if found == "chain-evil"),
        "{error:?}"
    );
    let error = alone.status().await.unwrap_err().to_string();
    assert!(
        error.contains("is on chain chain-evil, not chain-a"),
        "{error}"
    );
}

#[tokio::test]
async fn without_a_chain_id_the_first_answer_sets_it_and_the_others_must_agree() {
    let first = Fake::new("chain-a", 3);
    let other = Fake::new("chain-b", 3);
    let pool = NodePool::new([first.serve().await, other.serve().await]).unwrap();
    pool.status().await.unwrap();
    assert_eq!(pool.chain_id(), Some("chain-a"));
    // Only the other chain's node is left: the pool refuses it rather than switch chains.
    let pool = NodePool::new([closed_port(), other.serve().await])
        .unwrap()
        .expect_chain_id("chain-a");
    let error = pool.status().await.unwrap_err();
    assert!(
        matches!(&error, ClientError::NoNodeAnswered { tried: 2, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_trickling_node_is_timed_out_and_the_next_one_answers() {
    let well = Fake::new("chain-a", 3);
    let clients = vec![
        NodeClient::new(&trickler())
            .unwrap()
            .with_timeout(Duration::from_millis(300)),
        NodeClient::new(&well.serve().await)
            .unwrap()
            .with_timeout(Duration::from_millis(300)),
    ];
    let pool = NodePool::from_clients(clients)
        .unwrap()
        .expect_chain_id("chain-a");
    let started = Instant::now();
    let status = pool.status().await.unwrap();
    assert_eq!(status.chain_id, "chain-a");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(pool.current().base_url(), pool.urls().nth(1).unwrap());
}

#[tokio::test]
async fn a_node_behind_the_cursor_is_left_for_one_that_has_it() {
    let behind = Fake::new("chain-a", 2);
    let ahead = Fake::new("chain-a", 7);
    let pool = NodePool::new([behind.serve().await, ahead.serve().await]).unwrap();
    // Sequence 5 was read (from another node): the first node's feed ends at 2.
    let page = pool
        .deliveries(5, Some(100), Some(Duration::from_millis(10)))
        .await
        .unwrap();
    let sequences: Vec<u64> = page.deliveries.iter().map(|r| r.sequence).collect();
    assert_eq!(sequences, [6, 7], "neither skipped nor repeated");
    assert_eq!(pool.current().base_url(), pool.urls().nth(1).unwrap());

    // Alone, a node behind is an error the caller retries later.
    let alone = NodePool::new([behind.serve().await]).unwrap();
    let error = alone.deliveries(5, None, None).await.unwrap_err();
    assert!(
        matches!(
            error,
            ClientError::Behind {
                head: 2,
                after: 5,
                ..
            }
        ),
        "{error:?}"
    );
    // At its head, it is not behind: the long poll simply found nothing new.
    assert!(alone
        .deliveries(2, None, None)
        .await
        .unwrap()
        .deliveries
        .is_empty());
}

#[tokio::test]
async fn every_node_failing_is_one_error_naming_the_last() {
    let pool = NodePool::new([closed_port(), closed_port()]).unwrap();
    let error = pool.status().await.unwrap_err();
    let ClientError::NoNodeAnswered { tried: 2, last } = &error else {
        panic!("{error:?}")
    };
    assert!(
        matches!(**last, ClientError::Unreachable { .. }),
        "{last:?}"
    );
    // A pool of one node fails as its node does.
    let error = NodePool::new([closed_port()])
        .unwrap()
        .status()
        .await
        .unwrap_err();
    assert!(
        matches!(error, ClientError::Unreachable { .. }),
        "{error:?}"
    );
    assert!(matches!(
        NodePool::new(Vec::<String>::new()),
        Err(ClientError::InvalidUrl { .. })
    ));
}

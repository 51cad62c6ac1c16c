//! The storage node's deliveries under attack, with real processes on loopback: `consign dev`,
//! `consign-storage serve` and `consign inbox` (issue 11, findings 4 and 5).
//!
//! - Tarpits — an endpoint that accepts the connection and never answers, one that reads the
//!   body at a trickle — lose their delivery slots within seconds, each endpoint holds at most
//!   one slot, and a legitimate purchase made after them is delivered at once.
//! - A server that refuses (a third party's, answering `404` to everything) never receives a
//!   delivery's body: the storage node asks first, and gives up after a bounded number of
//!   refusals, each recorded; a server that answers `503` for a while still gets the delivery,
//!   its body sent once.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use consign_client::seal::AgeIdentity;
use consign_client::storage::{delivery_headers as h, DeliveryState, DeliveryView};
use consign_tests::{
    buy, deploy_data_sale, runtime, sample_data, DevNode, Receiver, ReceiverBehaviour, Seller,
    Sold, StorageNode, ADMIN_TOKEN,
};

/// How long a tarpit may hold a slot before the test calls it stuck: the node under test
/// allows 2s to answer and a 2s rate window, so every cut comes well within this.
const CUT_WITHIN: Duration = Duration::from_secs(20);

/// A chain with the market and a storage node started with `extra` flags; `plaintext` sold
/// through it by a seller who then vanished.
struct World {
    _tmp: tempfile::TempDir,
    node: DevNode,
    market: String,
    storage: StorageNode,
    sold: Sold,
}

impl World {
    fn new(plaintext: &[u8], extra: &[&str]) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let node = DevNode::start(&dir.join("chain")).unwrap();
        let market = deploy_data_sale(&node).unwrap();
        let mut flags = vec!["--allow-private-egress"];
        flags.extend_from_slice(extra);
        let storage = StorageNode::start(&dir.join("storage"), &node.url, &flags).unwrap();
        let file = dir.join("data.bin");
        std::fs::write(&file, plaintext).unwrap();
        let seller = Seller::new(&node, &dir.join("seller")).unwrap();
        let sold = seller.sell(&node, &storage, &market, &file).unwrap();
        seller.vanish().unwrap();
        World {
            _tmp: tmp,
            node,
            market,
            storage,
            sold,
        }
    }

    fn dir(&self) -> PathBuf {
        self.node.home().parent().unwrap().to_path_buf()
    }

    /// `bob` buys the offer for delivery to `endpoint`; returns the purchase id.
    fn buy(&self, endpoint: &str, recipient: &str) -> u64 {
        buy(
            &self.node,
            &self.market,
            self.sold.offer_id,
            endpoint,
            recipient,
        )
        .unwrap()
        .purchase_id
    }

    /// The storage node's deliveries, as its operator sees them (admin API).
    fn deliveries(&self) -> Vec<DeliveryView> {
        runtime()
            .block_on(
                self.storage
                    .client()
                    .deliveries(ADMIN_TOKEN, None, Some(100), None),
            )
            .unwrap()
            .deliveries
    }

    fn delivery(&self, purchase_id: u64) -> Option<DeliveryView> {
        self.deliveries()
            .into_iter()
            .find(|d| d.purchase_id == purchase_id)
    }
}

/// Fails if two deliveries to one endpoint are in flight at once.
fn assert_one_slot_per_endpoint(views: &[DeliveryView]) {
    let mut sending: HashMap<&str, usize> = HashMap::new();
    for view in views.iter().filter(|v| v.state == DeliveryState::Sending) {
        *sending.entry(view.endpoint.as_str()).or_default() += 1;
    }
    assert!(
        sending.values().all(|&n| n <= 1),
        "an endpoint holds more than one delivery slot: {views:#?}"
    );
}

/// Serves each connection of a fresh loopback listener with `serve` on its own thread.
fn tcp_server(serve: fn(TcpStream)) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            std::thread::spawn(move || serve(stream));
        }
    });
    addr
}

/// A tarpit that accepts the connection, reads whatever comes, and never answers.
fn silent(mut stream: TcpStream) {
    let _ = std::io::copy(&mut stream, &mut std::io::sink());
}

/// A tarpit that passes for a Consign inbox (it answers the preflight `ready`), then reads the
/// body at a trickle: 256 bytes every 200 ms.
fn trickle(mut stream: TcpStream) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::with_capacity(256, read_half);
    loop {
        let mut method = None;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            method.get_or_insert_with(|| line.split(' ').next().unwrap_or("").to_owned());
            if line == "\r\n" {
                break;
            }
        }
        if method.as_deref() == Some("OPTIONS") {
            let ready = format!(
                "HTTP/1.1 204 No Content\r\n{}: {}\r\n\r\n",
                h::INBOX,
                h::INBOX_READY
            );
            if stream.write_all(ready.as_bytes()).is_err() {
                return;
            }
            continue;
        }
        let mut buf = [0u8; 256];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => return,
                // The attack: keep the connection barely alive.
                Ok(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }
}

/// Finding 4: two tarpit endpoints, each named by two purchases, then a legitimate purchase to a
/// real `consign inbox`. With the default 4 delivery slots, the tarpits once held all of them
/// for up to the 1 h attempt timeout; now each endpoint holds one slot, each stuck attempt is
/// cut within seconds with its reason recorded, and the legitimate delivery goes through at once.
#[test]
fn tarpits_lose_their_slots_in_seconds_and_a_real_delivery_goes_through() {
    // 24 MiB: more than the socket buffers on loopback take in without the tarpit reading.
    let plaintext = sample_data(24 << 20, 4);
    let world = World::new(
        &plaintext,
        &[
            "--delivery-response-timeout",
            "2s",
            "--delivery-min-rate",
            "1MiB",
            "--delivery-rate-window",
            "2s",
        ],
    );
    let silent = format!("http://{}/inbox", tcp_server(silent));
    let trickle = format!("http://{}/inbox", tcp_server(trickle));
    let stranger = AgeIdentity::generate().recipient();
    let mut tarpitted = Vec::new();
    for endpoint in [&silent, &silent, &trickle, &trickle] {
        tarpitted.push((world.buy(endpoint, &stranger), endpoint.clone()));
    }

    // The buyer's real inbox, and a purchase made while the tarpits are busy.
    let dir = world.dir().join("buyer");
    std::fs::create_dir_all(&dir).unwrap();
    let identity = AgeIdentity::generate();
    let identity_file = dir.join("buyer.agekey");
    identity.save_new(&identity_file).unwrap();
    let inbox = consign_tests::Inbox::start(
        &world.node,
        &dir,
        "127.0.0.1:0",
        &[
            "--identity",
            identity_file.to_str().unwrap(),
            "--contract",
            &world.market,
            "--from",
            "bob",
        ],
    );
    let started = Instant::now();
    let legitimate = world.buy(&format!("{}/", inbox.url), &identity.recipient());
    let bought_in = started.elapsed();
    loop {
        let views = world.deliveries();
        assert_one_slot_per_endpoint(&views);
        if views
            .iter()
            .any(|v| v.purchase_id == legitimate && v.state == DeliveryState::Delivered)
        {
            break;
        }
        assert!(
            started.elapsed() < bought_in + Duration::from_secs(20),
            "the legitimate delivery waited behind the tarpits: {views:#?}\ninbox: {}",
            inbox.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let saved = inbox.wait_for("saved", legitimate);
    let file = inbox.out.join(saved["file"].as_str().unwrap());
    assert!(
        std::fs::read(file).unwrap() == plaintext,
        "the saved file differs"
    );

    // Every tarpit attempt was cut, in seconds, with its reason.
    let deadline = Instant::now() + CUT_WITHIN;
    let reasons: Vec<(String, String)> = loop {
        let views = world.deliveries();
        assert_one_slot_per_endpoint(&views);
        let reasons: Vec<(String, String)> = tarpitted
            .iter()
            .filter_map(|(purchase, endpoint)| {
                let view = views.iter().find(|v| v.purchase_id == *purchase)?;
                Some((endpoint.clone(), view.last_error.clone()?))
            })
            .collect();
        if reasons.len() == tarpitted.len() {
            break reasons;
        }
        assert!(
            Instant::now() < deadline,
            "tarpit attempts not cut within {CUT_WITHIN:?}: {views:#?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    for (endpoint, reason) in reasons {
        if endpoint == silent {
            assert!(
                reason.contains("did not answer the delivery's preflight within 2s"),
                "{reason}"
            );
        } else {
            assert!(reason.contains("slower than the minimum"), "{reason}");
        }
    }
    let failed: Vec<DeliveryView> = world
        .deliveries()
        .into_iter()
        .filter(|v| v.state == DeliveryState::Failed)
        .collect();
    assert!(
        failed.is_empty(),
        "stuck endpoints are retried: {failed:#?}"
    );
}

/// Finding 5: a third party's server answering `404` to everything, named as the endpoint,
/// once received every attempt's whole body for 7 days. Now it receives only the preflights,
/// never a byte of a body, and the delivery fails after three refusals, each recorded. A server
/// that answers `503` for a while still gets the delivery, its body sent exactly once.
#[test]
fn a_server_that_refuses_never_receives_a_body() {
    let plaintext = sample_data(300_000, 5);
    let world = World::new(&plaintext, &[]);
    let identity = AgeIdentity::generate();

    let third_party = Receiver::start(ReceiverBehaviour {
        answer_everything: Some(404),
        ..ReceiverBehaviour::default()
    })
    .unwrap();
    let refused = world.buy(&third_party.url(), &identity.recipient());
    let deadline = Instant::now() + CUT_WITHIN;
    let view = loop {
        if let Some(view) = world
            .delivery(refused)
            .filter(|v| v.state == DeliveryState::Failed)
        {
            break view;
        }
        assert!(
            Instant::now() < deadline,
            "not given up: {:?}; {} body bytes received",
            world.delivery(refused),
            third_party.bytes_read()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let reason = view.last_error.unwrap();
    assert!(reason.contains("after 3 refusal(s)"), "{reason}");
    assert!(reason.contains("404"), "{reason}");
    assert_eq!(view.attempts, 3, "three tries, each refused");
    assert_eq!(
        third_party.bytes_read(),
        0,
        "no body reached the third party"
    );
    assert_eq!(third_party.attempts(), 0, "no POST reached the third party");
    assert_eq!(third_party.preflights(), 3);
    let log = world.storage.log();
    assert!(
        log.matches("delivery refused").count() == 2 && log.contains("delivery given up"),
        "each refusal is recorded with its reason: {log}"
    );

    // An endpoint that is unavailable for a while is not refused: it gets the body, once.
    let flaky = Receiver::start(ReceiverBehaviour {
        preflight_fail_first: 2,
        ..ReceiverBehaviour::default()
    })
    .unwrap();
    let delivered = world.buy(&flaky.url(), &identity.recipient());
    let received = flaky.wait_for(1, CUT_WITHIN).unwrap();
    assert_eq!(flaky.preflights(), 3, "two 503s, then ready");
    assert_eq!(flaky.attempts(), 1, "one POST");
    assert_eq!(
        flaky.bytes_read(),
        received[0].len,
        "the body was sent once"
    );
    let deadline = Instant::now() + CUT_WITHIN;
    while world.delivery(delivered).map(|v| v.state) != Some(DeliveryState::Delivered) {
        assert!(Instant::now() < deadline, "{:?}", world.delivery(delivered));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(world.delivery(delivered).unwrap().attempts, 3);
}

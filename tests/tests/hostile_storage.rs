//! The storage node against strangers (issue 11, findings 1 to 3), as the attacks were run:
//! real processes on loopback (`consign dev`, `consign-storage serve`).
//!
//! 1. Polling the public API of every storage node must not tell which one holds an offer.
//! 2. Uploads cost something and end: unfunded keys are refused, fresh funded keys cannot fill
//!    the node past its capacity, concurrent uploads of one key cannot pass its quota, and a
//!    blob nobody registers is deleted after the time limit, its quota given back.
//! 3. Hundreds of uploads trickling a byte now and then freeze nothing: `/status` answers, a
//!    real delivery goes through, and the trickles are cut once they fall below the pace.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use consign_client::seal::{open_verified, AgeIdentity};
use consign_client::storage::{sha256_hex, UPLOAD_HEADER};
use consign_client::{SecretKey, StorageClient, StorageClientError};
use consign_tests::{
    buy, deploy_data_sale, ok_json, runtime, sample_data, DevNode, Receiver, ReceiverBehaviour,
    Seller, Sold, StorageNode, ADMIN_TOKEN,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const DELIVERY_TIMEOUT: Duration = Duration::from_secs(120);

fn tmp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    (dir, path)
}

/// Waits until `condition` holds, for at most `limit`.
fn eventually(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A fresh key, funded by `alice` with `amount`.
fn funded_key(node: &DevNode, amount: &str) -> SecretKey {
    let key = SecretKey::generate();
    ok_json(
        &node
            .consign(&[
                "tx",
                "bank",
                "send",
                "alice",
                &key.address(),
                amount,
                "--output",
                "json",
            ])
            .unwrap(),
    );
    key
}

/// The status and message of a refusal.
fn refusal<T: std::fmt::Debug>(result: Result<T, StorageClientError>) -> (u16, String) {
    match result {
        Err(StorageClientError::Api { status, message }) => (status, message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Uploads `data` to `storage` as `key`.
async fn upload(
    client: &StorageClient,
    key: &SecretKey,
    data: &[u8],
) -> Result<consign_client::UploadReceipt, StorageClientError> {
    client.upload_bytes(data.to_vec(), key).await
}

/// A fresh seller sells `size` bytes through `storage`; a buyer buys them `purchases` times and
/// every delivery arrives and decrypts to them.
fn sell_and_deliver(
    node: &DevNode,
    storage: &StorageNode,
    market: &str,
    dir: &Path,
    size: usize,
    purchases: usize,
) -> Sold {
    let plaintext = sample_data(size, 3);
    let file = dir.join("data.bin");
    std::fs::write(&file, &plaintext).unwrap();
    let seller = Seller::new(node, &dir.join("seller")).unwrap();
    let sold = seller.sell(node, storage, market, &file).unwrap();
    let receiver = Receiver::start(ReceiverBehaviour::default()).unwrap();
    let identity = AgeIdentity::generate();
    for _ in 0..purchases {
        buy(
            node,
            market,
            sold.offer_id,
            &receiver.url(),
            &identity.recipient(),
        )
        .unwrap();
    }
    for received in receiver.wait_for(purchases, DELIVERY_TIMEOUT).unwrap() {
        let mut out = Vec::new();
        let body = received.body.expect("a small body is kept");
        open_verified(&identity, &body[..], &mut out, &sold.sha256, sold.size).unwrap();
        assert_eq!(out, plaintext);
    }
    sold
}

// --- Finding 1 ---------------------------------------------------------------------------

/// Every public request a stranger can make without a key: the routes, their error answers,
/// unknown routes, the operator's routes without the token.
const PUBLIC_REQUESTS: &[(&str, &str)] = &[
    ("GET", "/v1/info"),
    ("GET", "/status"),
    ("GET", "/metrics"),
    ("GET", "/"),
    ("GET", "/no/such/route"),
    ("POST", "/status"),
    (
        "GET",
        "/v1/blobs/0000000000000000000000000000000000000000000000000000000000000000/admission",
    ),
    (
        "PUT",
        "/v1/blobs/0000000000000000000000000000000000000000000000000000000000000000",
    ),
    ("POST", "/v1/registrations"),
    ("GET", "/v1/admin/status"),
    ("GET", "/v1/admin/deliveries"),
    ("GET", "/v1/admin/registrations"),
];

/// Each public answer of `storage`: status, content type and body, its node id replaced by
/// `NODE` when `mask` (to compare two nodes).
fn public_answers(storage: &StorageNode, mask: bool) -> Vec<String> {
    runtime().block_on(async {
        // Who the node is (its id, and the recipient key shares are sealed to) differs by node
        // and never moves with what it holds: masked, so the rest is compared.
        let info = storage.client().info().await.unwrap();
        let (node_id, recipient) = (info.node_id, info.custody_recipient);
        let http = reqwest::Client::new();
        let mut answers = Vec::new();
        for (method, path) in PUBLIC_REQUESTS {
            let url = format!("{}{path}", storage.url);
            let request = match *method {
                "GET" => http.get(&url),
                "PUT" => http.put(&url).body(Vec::new()),
                _ => http.post(&url).body(Vec::new()),
            };
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap_or("").to_owned())
                .unwrap_or_default();
            let body = response.text().await.unwrap();
            let body = if mask {
                body.replace(&node_id, "NODE")
                    .replace(&recipient, "RECIPIENT")
            } else {
                body
            };
            answers.push(format!("{method} {path} -> {status} {content_type} {body}"));
        }
        answers
    })
}

#[test]
fn no_public_answer_tells_which_node_holds_an_offer() {
    let (_guard, dir) = tmp();
    let node = DevNode::start(&dir.join("chain")).unwrap();
    let holder =
        StorageNode::start(&dir.join("holder"), &node.url, &["--allow-private-egress"]).unwrap();
    let other =
        StorageNode::start(&dir.join("other"), &node.url, &["--allow-private-egress"]).unwrap();
    let market = deploy_data_sale(&node).unwrap();

    let before = (
        public_answers(&holder, false),
        public_answers(&other, false),
    );
    let masked = (public_answers(&holder, true), public_answers(&other, true));
    assert_eq!(masked.0, masked.1, "the two nodes answer alike");

    // An offer uploaded and registered on one node, bought twice and delivered.
    let sold = sell_and_deliver(&node, &holder, &market, &dir, 50_000, 2);

    let after = (
        public_answers(&holder, false),
        public_answers(&other, false),
    );
    assert_eq!(before.0, after.0, "the holder's public answers moved");
    assert_eq!(before.1, after.1, "the other node's public answers moved");
    assert_eq!(
        (public_answers(&holder, true), public_answers(&other, true)),
        masked,
        "the answers differ between the holder and the other node"
    );

    // The operator still sees the figures: behind the token, and on the operator's listener.
    let figures = runtime()
        .block_on(holder.client().operator_status(ADMIN_TOKEN))
        .unwrap();
    assert_eq!(figures.blobs, 1);
    assert_eq!(figures.bytes_stored, sold.size);
    assert_eq!(figures.registrations, 1);
    assert_eq!(figures.deliveries.delivered, 2);
    let operator = holder.operator_client();
    assert_eq!(operator.base_url().host_str(), Some("127.0.0.1"));
    let metrics = runtime().block_on(operator.metrics_text()).unwrap();
    assert!(
        metrics.contains(&format!("consign_storage_bytes_stored {}", sold.size)),
        "{metrics}"
    );
}

// --- Finding 2 ---------------------------------------------------------------------------

#[test]
fn unfunded_keys_are_refused_and_funded_ones_cannot_pass_the_capacity() {
    let (_guard, dir) = tmp();
    let node = DevNode::start(&dir.join("chain")).unwrap();
    let storage = StorageNode::start(
        &dir.join("storage"),
        &node.url,
        &["--capacity", "3000", "--quota-per-account", "2000"],
    )
    .unwrap();
    let client = storage.client();
    let rt = runtime();
    let node_id = rt.block_on(client.info()).unwrap().node_id;

    let stranger = SecretKey::generate();
    let (status, message) = refusal(rt.block_on(upload(&client, &stranger, &sample_data(100, 1))));
    assert_eq!(status, 403, "{message}");
    assert!(
        message.contains("less than the 1ucsn") && message.contains("fund the account"),
        "{message}"
    );

    // Five fresh funded keys, 1000 bytes each: the first three fit the 3000 bytes.
    let mut stored = 0;
    let mut full = 0;
    for seed in 0..5u8 {
        let key = funded_key(&node, "1000ucsn");
        let data = sample_data(1000, 10 + seed);
        // The admission route refuses before any body is sent, as the PUT does.
        let grant = StorageClient::grant(&node_id, &sha256_hex(&data), 1000, &key);
        match rt.block_on(client.admission(&grant)) {
            Ok(_) => {
                rt.block_on(upload(&client, &key, &data)).unwrap();
                stored += 1;
            }
            Err(error) => {
                let (status, message) = refusal::<()>(Err(error));
                assert_eq!(status, 507, "{message}");
                assert!(message.contains("is full"), "{message}");
                let (status, _) = refusal(rt.block_on(upload(&client, &key, &data)));
                assert_eq!(status, 507);
                full += 1;
            }
        }
    }
    assert_eq!((stored, full), (3, 2));
    let figures = rt.block_on(client.operator_status(ADMIN_TOKEN)).unwrap();
    assert_eq!(figures.bytes_stored, 3000);
}

/// Sends the head of a `PUT` of `length` bytes and the first bytes of its body, and keeps the
/// connection.
async fn start_put(
    url: &str,
    grant_header: &str,
    sha256: &str,
    length: usize,
    first: &[u8],
) -> TcpStream {
    let address = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "PUT /v1/blobs/{sha256} HTTP/1.1\r\nhost: {address}\r\n{UPLOAD_HEADER}: {grant_header}\r\n\
         content-length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first).await.unwrap();
    stream
}

#[test]
fn uploads_in_progress_count_against_the_quota() {
    let (_guard, dir) = tmp();
    let node = DevNode::start(&dir.join("chain")).unwrap();
    let storage = StorageNode::start(
        &dir.join("storage"),
        &node.url,
        &["--quota-per-account", "1000"],
    )
    .unwrap();
    let client = storage.client();
    let rt = runtime();
    let node_id = rt.block_on(client.info()).unwrap().node_id;
    let key = funded_key(&node, "1000ucsn");

    // A first upload of 600 bytes, half sent: it holds 600 bytes of the account's 1000.
    let first = sample_data(600, 1);
    let sha = sha256_hex(&first);
    let grant = StorageClient::grant(&node_id, &sha, 600, &key).to_header_value();
    let mut open = rt.block_on(start_put(&storage.url, &grant, &sha, 600, &first[..300]));
    let admitted = || {
        rt.block_on(client.operator_status(ADMIN_TOKEN))
            .unwrap()
            .uploads_in_progress
            == 1
    };
    eventually(
        "the first upload is admitted",
        Duration::from_secs(10),
        admitted,
    );

    // Concurrent uploads of the same key: refused at admission and at PUT.
    for seed in 2..5u8 {
        let data = sample_data(600, seed);
        let grant = StorageClient::grant(&node_id, &sha256_hex(&data), 600, &key);
        let (status, message) = refusal(rt.block_on(client.admission(&grant)));
        assert_eq!(status, 403, "{message}");
        assert!(message.contains("quota exceeded"), "{message}");
        let (status, _) = refusal(rt.block_on(upload(&client, &key, &data)));
        assert_eq!(status, 403);
    }

    // The first completes; the account holds 600 bytes, and 400 more still fit.
    let answer = rt.block_on(async {
        open.write_all(&first[300..]).await.unwrap();
        let mut answer = vec![0; 4096];
        let n = open.read(&mut answer).await.unwrap();
        String::from_utf8_lossy(&answer[..n]).into_owned()
    });
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let account = rt
        .block_on(client.account(ADMIN_TOKEN, &key.address()))
        .unwrap();
    assert_eq!(account.bytes, 600);
    rt.block_on(upload(&client, &key, &sample_data(400, 9)))
        .unwrap();
}

#[test]
fn an_unregistered_blob_is_deleted_after_the_time_limit_and_its_quota_returned() {
    let (_guard, dir) = tmp();
    let node = DevNode::start(&dir.join("chain")).unwrap();
    let storage = StorageNode::start(
        &dir.join("storage"),
        &node.url,
        &["--quota-per-account", "1000", "--unregistered-ttl", "2s"],
    )
    .unwrap();
    let client = storage.client();
    let rt = runtime();
    let key = funded_key(&node, "1000ucsn");

    let first = sample_data(800, 1);
    let receipt = rt.block_on(upload(&client, &key, &first)).unwrap();
    let path = blob_path(storage.dir(), &receipt.sha256);
    assert!(path.exists());
    // The quota is taken: another 800 bytes do not fit.
    let second = sample_data(800, 2);
    let (status, _) = refusal(rt.block_on(upload(&client, &key, &second)));
    assert_eq!(status, 403);

    eventually(
        "the unregistered blob is deleted",
        Duration::from_secs(15),
        || !path.exists(),
    );
    let account = rt
        .block_on(client.account(ADMIN_TOKEN, &key.address()))
        .unwrap();
    assert_eq!((account.bytes, account.blobs), (0, 0));
    rt.block_on(upload(&client, &key, &second)).unwrap();
    assert!(storage
        .log()
        .contains("deleted blobs nobody registered in time"));
}

fn blob_path(data_dir: &Path, sha256: &str) -> PathBuf {
    data_dir
        .join("blobs")
        .join(&sha256[0..2])
        .join(&sha256[2..4])
        .join(format!("{sha256}.age"))
}

// --- Finding 3 ---------------------------------------------------------------------------

/// How many trickling uploads (more than tokio's 512 blocking threads, which the old node held
/// one per upload).
const TRICKLES: usize = 530;

#[test]
fn hundreds_of_trickling_uploads_freeze_nothing_and_are_cut() {
    let (_guard, dir) = tmp();
    let node = DevNode::start(&dir.join("chain")).unwrap();
    let storage = StorageNode::start(
        &dir.join("storage"),
        &node.url,
        &[
            "--allow-private-egress",
            "--max-uploads",
            "1000",
            "--max-uploads-per-account",
            "1000",
            "--upload-idle-timeout",
            "2s",
            "--upload-min-rate",
            "1",
        ],
    )
    .unwrap();
    let market = deploy_data_sale(&node).unwrap();
    let client = storage.client();
    let rt = runtime();
    let node_id = rt.block_on(client.info()).unwrap().node_id;
    let key = funded_key(&node, "1000ucsn");

    // Each trickle: a PUT of 100 kB that sends a byte every 300 ms (fast enough for the
    // 1 byte/s minimum) until told to stop, then waits to be cut.
    // They run on threads of their own, so they keep the pace while the test waits.
    let attack = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut trickles = Vec::new();
    for i in 0..TRICKLES {
        let data = sample_data(100_000, (i % 251) as u8)
            .into_iter()
            .chain((i as u32).to_be_bytes())
            .collect::<Vec<u8>>();
        let sha = sha256_hex(&data);
        let grant = StorageClient::grant(&node_id, &sha, data.len() as u64, &key).to_header_value();
        let url = storage.url.clone();
        let mut stop = stop_rx.clone();
        trickles.push(attack.spawn(async move {
            let mut stream = start_put(&url, &grant, &sha, data.len(), &data[..1]).await;
            let mut sent = 1;
            let mut answer = [0u8; 256];
            loop {
                let silent = *stop.borrow();
                if silent {
                    break;
                }
                tokio::select! {
                    read = stream.read(&mut answer) => {
                        // Answered or closed while it kept the pace.
                        let n = read.unwrap_or(0);
                        let text = String::from_utf8_lossy(&answer[..n]).into_owned();
                        return (false, text, Instant::now());
                    }
                    _ = stop.changed() => {}
                    () = tokio::time::sleep(Duration::from_millis(300)) => {
                        if stream.write_all(&data[sent..sent + 1]).await.is_err() {
                            return (false, String::new(), Instant::now());
                        }
                        sent += 1;
                    }
                }
            }
            // Silent from now on: wait to be cut.
            match tokio::time::timeout(Duration::from_secs(20), stream.read(&mut answer)).await {
                Ok(read) => {
                    let n = read.unwrap_or(0);
                    let text = String::from_utf8_lossy(&answer[..n]).into_owned();
                    (true, text, Instant::now())
                }
                Err(_) => (true, "never cut".to_owned(), Instant::now()),
            }
        }));
    }
    eventually(
        "every trickling upload is admitted",
        Duration::from_secs(60),
        || {
            if let Some(ended) = trickles.iter_mut().find(|t| t.is_finished()) {
                let (_, answer, _) = attack.block_on(ended).unwrap();
                panic!(
                    "a trickling upload ended early: {answer}\n{}",
                    storage.log()
                );
            }
            rt.block_on(client.operator_status(ADMIN_TOKEN))
                .map(|s| s.uploads_in_progress as usize == TRICKLES)
                .unwrap_or(false)
        },
    );

    // While they trickle: `/status` answers within a second, and a real sale is delivered.
    for _ in 0..5 {
        let started = Instant::now();
        rt.block_on(client.status()).unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "/status took {:?}",
            started.elapsed()
        );
    }
    sell_and_deliver(&node, &storage, &market, &dir, 300_000, 1);
    let started = Instant::now();
    rt.block_on(client.status()).unwrap();
    assert!(started.elapsed() < Duration::from_secs(1));

    // Gone silent, every trickle is cut within the 2 s period (and a margin).
    let silent = Instant::now();
    stop_tx.send(true).unwrap();
    for trickle in trickles {
        let (waited, answer, at) = attack.block_on(trickle).unwrap();
        assert!(waited, "a trickle was cut while it kept the pace: {answer}");
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "{answer}"
        );
        assert!(
            at.duration_since(silent) < Duration::from_secs(10),
            "cut {:?} after going silent",
            at.duration_since(silent)
        );
    }
    let figures = rt.block_on(client.operator_status(ADMIN_TOKEN)).unwrap();
    assert_eq!(figures.uploads_in_progress, 0);
    assert_eq!(figures.blobs, 1, "only the real sale's blob is kept");
}

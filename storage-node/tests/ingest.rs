//! The ingest and operator side of the storage node, in process: uploads, their refusals and
//! faults, the checks a registration passes before the chain is asked, the operator's figures
//! (`/v1/admin/status`, the operator's listener) and the admin routes. The node serves on `127.0.0.1:0` through [`server::serve`], with a chain
//! node URL nobody listens on (nothing here needs the chain; the registrations against a real
//! chain are in `tests/tests/storage_ingest.rs`).

use std::io::Read as _;
use std::time::{Duration, Instant};

use consign_client::storage::{sha256_hex, UploadAdmission, UPLOAD_HEADER};
use consign_client::{
    Registration, SecretKey, Signed, StorageClient, StorageClientError, UploadGrant,
    REGISTRATION_DOMAIN, UPLOAD_DOMAIN,
};
use consign_storage::market::Chain;
use consign_storage::node::{unix_now, Services};
use consign_storage::server;
use consign_storage::Config;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

const TOKEN: &str = "ingest-test-admin-token";
const CHAIN_ID: &str = "ingest-test";

/// A storage node served in this process.
struct TestNode {
    svc: Services,
    client: StorageClient,
    /// A client of the operator's listener (`/metrics`, `/status`).
    metrics: StorageClient,
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    /// Stops the operator's listener, and its task.
    operator: Option<(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    )>,
    _dir: tempfile::TempDir,
}

impl TestNode {
    async fn start(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        // A port nobody listens on: the follower retries in the background, harmlessly.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let node_url = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let mut config = Config {
            data_dir: dir.path().join("data"),
            node_url: vec![node_url.clone()],
            admin_token: Some(TOKEN.to_owned()),
            // No chain to ask for balances here.
            min_seller_balance: consign_client::Coin::new(0u128, "ucsn"),
            ..Config::default()
        };
        adjust(&mut config);
        config.validate().unwrap();
        let chain = Chain::new([&node_url], CHAIN_ID).unwrap();
        let svc = Services::open(config, chain).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server::serve(listener, svc.clone(), async {
            let _ = stopped.await;
        }));
        let operator = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let metrics =
            StorageClient::new(&format!("http://{}", operator.local_addr().unwrap())).unwrap();
        let (operator_stop, operator_stopped) = tokio::sync::oneshot::channel::<()>();
        let operator = tokio::spawn(server::serve_operator(operator, svc.clone(), async {
            let _ = operator_stopped.await;
        }));
        Self {
            client: StorageClient::new(&url).unwrap(),
            metrics,
            svc,
            url,
            stop: Some(stop),
            task: Some(task),
            operator: Some((operator_stop, operator)),
            _dir: dir,
        }
    }

    fn grant(&self, data: &[u8], key: &SecretKey) -> Signed<UploadGrant> {
        StorageClient::grant(&self.svc.node_id, &sha256_hex(data), data.len() as u64, key)
    }

    fn tmp_is_empty(&self) -> bool {
        let tmp = self.svc.config.data_dir.join("blobs/tmp");
        std::fs::read_dir(tmp).unwrap().count() == 0
    }

    fn plaintext(&self, sha256: &str) -> Vec<u8> {
        let mut out = Vec::new();
        self.svc
            .blobs
            .open_plaintext(sha256)
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    async fn shutdown(mut self) {
        if let Some((stop, task)) = self.operator.take() {
            let _ = stop.send(());
            task.await.unwrap();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .expect("the node stops within 30 s")
                .unwrap()
                .unwrap();
        }
    }
}

fn refusal(error: StorageClientError) -> (u16, String) {
    match error {
        StorageClientError::Api { status, message } => (status, message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Waits for `condition` for at most ten seconds.
async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn upload_round_trip_encrypted_at_rest_and_idempotent() {
    let node = TestNode::start(|_| {}).await;
    let alice = SecretKey::from_seed("alice");
    let info = node.client.info().await.unwrap();
    assert_eq!(info.node_id, node.svc.node_id);
    assert_eq!(info.chain_id, CHAIN_ID);

    // From a file, streamed, with progress.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.bin");
    let bytes = data(3 * 1024 * 1024 + 17, 1);
    std::fs::write(&path, &bytes).unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let receipt = node
        .client
        .upload_file(&path, &alice, move |sent, total| {
            record.lock().unwrap().push((sent, total));
        })
        .await
        .unwrap();
    assert!(receipt.created);
    assert_eq!(receipt.sha256, sha256_hex(&bytes));
    assert_eq!(receipt.size, bytes.len() as u64);
    assert_eq!(receipt.account_usage, bytes.len() as u64);
    let progress = seen.lock().unwrap().clone();
    assert!(progress.len() > 1, "{progress:?}");
    assert!(progress.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(
        progress.last(),
        Some(&(bytes.len() as u64, bytes.len() as u64))
    );

    // On disk: an age file, not the plaintext; read back: exactly the plaintext.
    let on_disk = std::fs::read(node.svc.blobs.path(&receipt.sha256).unwrap()).unwrap();
    assert!(on_disk.starts_with(b"age-encryption.org/v1\n"));
    assert!(!on_disk.windows(64).any(|w| w == &bytes[4096..4160]));
    assert_eq!(node.plaintext(&receipt.sha256), bytes);
    assert!(node.tmp_is_empty());

    // Again: nothing sent (the node says it has it), nothing charged.
    let again = node
        .client
        .upload_file(&path, &alice, |_, _| {})
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.account_usage, bytes.len() as u64);
    // A PUT of the same bytes anyway: accepted, 200, `created: false`.
    let put = node
        .client
        .upload_bytes(bytes.clone(), &alice)
        .await
        .unwrap();
    assert!(!put.created);

    // Small uploads from memory; another account uploading the same bytes owns them too.
    let small = node
        .client
        .upload_bytes(b"a small blob".to_vec(), &alice)
        .await
        .unwrap();
    assert!(small.created);
    let bob = node
        .client
        .upload_bytes(b"a small blob".to_vec(), &SecretKey::from_seed("bob"))
        .await
        .unwrap();
    assert!(bob.created);
    assert_eq!(bob.account_usage, 12);

    let status = node.client.operator_status(TOKEN).await.unwrap();
    assert_eq!(status.blobs, 2);
    assert_eq!(status.bytes_stored, bytes.len() as u64 + 12);
    assert_eq!(status.chain_id.as_deref(), Some(CHAIN_ID));
    assert_eq!(status.registrations, 0);
    let metrics = node.metrics.metrics_text().await.unwrap();
    for line in [
        "consign_storage_uploads_total{result=\"stored\"} 3",
        "consign_storage_uploads_total{result=\"duplicate\"} 1",
        "consign_storage_blobs 2",
    ] {
        assert!(metrics.contains(line), "missing `{line}` in\n{metrics}");
    }
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_grants_are_refused_with_their_reason() {
    let node = TestNode::start(|config| config.max_blob_size = 1000).await;
    let alice = SecretKey::from_seed("alice");
    let bytes = data(100, 2);

    // Forged: the payload changed after signing.
    let mut forged = node.grant(&bytes, &alice);
    forged.payload.expires += 1;
    let (status, message) = refusal(
        node.client
            .upload_body(&forged, bytes.clone().into())
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 401, "{message}");
    assert!(message.contains("signature does not verify"), "{message}");

    // Signed by someone else's key in alice's name: the key is in the message, so the signer
    // is whoever holds it — but a swapped public key does not verify.
    let mut swapped = node.grant(&bytes, &alice);
    swapped.public_key = SecretKey::from_seed("mallory").public_key();
    let (status, _) = refusal(
        node.client
            .upload_body(&swapped, bytes.clone().into())
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 401);

    // No grant at all.
    let response = reqwest::Client::new()
        .put(format!("{}/v1/blobs/{}", node.url, sha256_hex(&bytes)))
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains(UPLOAD_HEADER),
        "{body}"
    );

    // For another node; expired; too far ahead.
    let other_node = Signed::sign(
        UPLOAD_DOMAIN,
        UploadGrant {
            node_id: "0000".into(),
            ..node.grant(&bytes, &alice).payload
        },
        &alice,
    );
    let (status, message) = refusal(
        node.client
            .upload_body(&other_node, bytes.clone().into())
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 403, "{message}");
    assert!(message.contains("storage node 0000"), "{message}");
    for (expires, reason) in [
        (unix_now() - 5, "expired"),
        (unix_now() + 7200, "more than an hour"),
    ] {
        let grant = Signed::sign(
            UPLOAD_DOMAIN,
            UploadGrant {
                expires,
                ..node.grant(&bytes, &alice).payload
            },
            &alice,
        );
        let (status, message) = refusal(
            node.client
                .upload_body(&grant, bytes.clone().into())
                .await
                .unwrap_err(),
        );
        assert_eq!(status, 401, "{message}");
        assert!(message.contains(reason), "{message}");
    }

    // Larger than the node takes: 413, from the admission check and from the PUT.
    let big = data(1001, 3);
    let (status, message) = refusal(
        node.client
            .admission(&node.grant(&big, &alice))
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 413, "{message}");
    let (status, _) = refusal(
        node.client
            .upload_bytes(big.clone(), &alice)
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 413);

    assert_eq!(node.client.operator_status(TOKEN).await.unwrap().blobs, 0);
    let metrics = node.metrics.metrics_text().await.unwrap();
    assert!(
        metrics.contains("consign_storage_uploads_total{result=\"refused\"} 7"),
        "{metrics}"
    );
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_is_not_the_granted_blob_leaves_nothing() {
    let node = TestNode::start(|_| {}).await;
    let alice = SecretKey::from_seed("alice");
    let granted = data(4096, 4);
    let other = data(4096, 5);
    let grant = node.grant(&granted, &alice);

    // Same size, other bytes: the digest differs.
    let (status, message) = refusal(
        node.client
            .upload_body(&grant, other.clone().into())
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 400, "{message}");
    assert!(message.contains("SHA-256"), "{message}");
    assert!(message.contains("nothing was stored"), "{message}");
    assert!(!node.svc.blobs.contains(&sha256_hex(&granted)).unwrap());
    assert!(!node.svc.blobs.contains(&sha256_hex(&other)).unwrap());

    // The path names another blob than the grant.
    let response = reqwest::Client::new()
        .put(format!("{}/v1/blobs/{}", node.url, sha256_hex(&other)))
        .header(UPLOAD_HEADER, grant.to_header_value())
        .body(granted.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    // A Content-Length other than the grant's size.
    let response = reqwest::Client::new()
        .put(format!("{}/v1/blobs/{}", node.url, sha256_hex(&granted)))
        .header(UPLOAD_HEADER, grant.to_header_value())
        .body(granted[..100].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("Content-Length"),
        "{body}"
    );

    assert_eq!(node.client.operator_status(TOKEN).await.unwrap().blobs, 0);
    assert!(node.tmp_is_empty());
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_upload_leaves_nothing_and_can_be_retried() {
    let node = TestNode::start(|_| {}).await;
    let alice = SecretKey::from_seed("alice");
    let bytes = data(2 * 1024 * 1024, 6);
    let sha = sha256_hex(&bytes);
    let grant = node.grant(&bytes, &alice);

    // Half the body, then the connection drops.
    let addr = node.url.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "PUT /v1/blobs/{sha} HTTP/1.1\r\nhost: {addr}\r\n{UPLOAD_HEADER}: {}\r\n\
         content-length: {}\r\ncontent-type: application/octet-stream\r\n\r\n",
        grant.to_header_value(),
        bytes.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&bytes[..bytes.len() / 2]).await.unwrap();
    stream.flush().await.unwrap();
    // The node has started writing the blob to its temporary directory…
    eventually("the upload is being written", || !node.tmp_is_empty()).await;
    drop(stream);
    // …and removes it once the connection is gone.
    eventually("the half upload is removed", || node.tmp_is_empty()).await;
    assert!(!node.svc.blobs.contains(&sha).unwrap());
    assert_eq!(node.client.operator_status(TOKEN).await.unwrap().blobs, 0);

    // The retry goes through.
    let receipt = node
        .client
        .upload_bytes(bytes.clone(), &alice)
        .await
        .unwrap();
    assert!(receipt.created);
    assert_eq!(node.plaintext(&sha), bytes);
    let metrics = node.metrics.metrics_text().await.unwrap();
    assert!(
        metrics.contains("consign_storage_uploads_total{result=\"stored\"} 1"),
        "{metrics}"
    );
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_quota_is_per_account_and_counts_each_blob_once() {
    let node = TestNode::start(|config| config.quota_per_account = 1000).await;
    let alice = SecretKey::from_seed("alice");
    let first = data(600, 7);
    let second = data(600, 8);
    node.client
        .upload_bytes(first.clone(), &alice)
        .await
        .unwrap();

    let admission: UploadAdmission = node
        .client
        .admission(&node.grant(&first, &alice))
        .await
        .unwrap();
    assert!(admission.already_stored);
    assert_eq!((admission.account_usage, admission.quota), (600, 1000));

    let (status, message) = refusal(
        node.client
            .upload_bytes(second.clone(), &alice)
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 403, "{message}");
    assert!(message.contains("quota exceeded"), "{message}");
    assert!(
        message.contains("stores 600 bytes of its 1000"),
        "{message}"
    );
    // The admission check says so before any byte is sent.
    let (status, _) = refusal(
        node.client
            .admission(&node.grant(&second, &alice))
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 403);
    // Re-uploading what it has costs nothing; another account has its own quota.
    assert!(
        !node
            .client
            .upload_bytes(first, &alice)
            .await
            .unwrap()
            .created
    );
    let bob = SecretKey::from_seed("bob");
    assert!(
        node.client
            .upload_bytes(second.clone(), &bob)
            .await
            .unwrap()
            .created
    );

    let account = node.client.account(TOKEN, &alice.address()).await.unwrap();
    assert_eq!(
        (account.bytes, account.blobs, account.quota),
        (600, 1, 1000)
    );
    assert!(!node.svc.blobs.contains(&sha256_hex(b"never")).unwrap());
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn registrations_are_refused_before_the_chain_is_asked_and_when_it_cannot_be() {
    let node = TestNode::start(|_| {}).await;
    let alice = SecretKey::from_seed("alice");
    let bytes = b"registered data".to_vec();
    let sha = sha256_hex(&bytes);
    let contract = consign_client::humanize_address(&consign_client::contract_address(1, 1));
    let registration = |nonce: &str| Registration {
        node_id: node.svc.node_id.clone(),
        chain_id: CHAIN_ID.into(),
        contract: contract.clone(),
        offer_id: 1,
        sha256: sha.clone(),
        nonce: nonce.into(),
        issued_at: unix_now(),
        custody: None,
    };
    let refused = |signed: Signed<Registration>| {
        let client = node.client.clone();
        async move { refusal(client.register_signed(&signed).await.unwrap_err()) }
    };

    let mut forged = Signed::sign(REGISTRATION_DOMAIN, registration("n1"), &alice);
    forged.payload.offer_id = 2;
    let (status, message) = refused(forged).await;
    assert_eq!(status, 401, "{message}");
    assert!(message.contains("signature does not verify"), "{message}");

    let other_node = Registration {
        node_id: "elsewhere".into(),
        ..registration("n2")
    };
    let (status, message) = refused(Signed::sign(REGISTRATION_DOMAIN, other_node, &alice)).await;
    assert_eq!(status, 403, "{message}");

    let other_chain = Registration {
        chain_id: "another-chain".into(),
        ..registration("n3")
    };
    let (status, message) = refused(Signed::sign(REGISTRATION_DOMAIN, other_chain, &alice)).await;
    assert_eq!(status, 403, "{message}");
    assert!(message.contains("another-chain"), "{message}");

    let stale = Registration {
        issued_at: unix_now() - 3600,
        custody: None,
        ..registration("n4")
    };
    let (status, message) = refused(Signed::sign(REGISTRATION_DOMAIN, stale, &alice)).await;
    assert_eq!(status, 401, "{message}");
    assert!(message.contains("ten minutes"), "{message}");

    let (status, message) = refused(Signed::sign(
        REGISTRATION_DOMAIN,
        registration("n5"),
        &alice,
    ))
    .await;
    assert_eq!(status, 404, "{message}");
    assert!(
        message.contains("was not uploaded to this node"),
        "{message}"
    );

    // With the blob uploaded, the chain must be asked — and it cannot be: 502, not a refusal,
    // and the nonce is not spent.
    node.client.upload_bytes(bytes, &alice).await.unwrap();
    let signed = Signed::sign(REGISTRATION_DOMAIN, registration("n6"), &alice);
    let (status, message) = refused(signed.clone()).await;
    assert_eq!(status, 502, "{message}");
    assert!(message.contains("try again later"), "{message}");
    let (status, _) = refused(signed).await;
    assert_eq!(status, 502);

    let response = reqwest::Client::new()
        .post(format!("{}/v1/registrations", node.url))
        .body("{\"not\": \"a registration\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    let metrics = node.metrics.metrics_text().await.unwrap();
    assert!(
        metrics.contains("consign_storage_registrations_total{result=\"refused\"} 5"),
        "{metrics}"
    );
    assert!(
        metrics.contains("consign_storage_registrations_total{result=\"failed\"} 2"),
        "{metrics}"
    );
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_routes_need_the_token_and_are_off_without_one() {
    let node = TestNode::start(|_| {}).await;
    let http = reqwest::Client::new();
    let get = |path: &str, auth: Option<&str>| {
        let mut request = http.get(format!("{}{path}", node.url));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        request.send()
    };
    for path in [
        "/v1/admin/deliveries",
        "/v1/admin/registrations",
        "/v1/admin/accounts/consign1xyz",
    ] {
        let response = get(path, None).await.unwrap();
        assert_eq!(response.status(), 401, "{path}");
        let response = get(path, Some("Bearer not-the-token-at-all"))
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["error"]
            .as_str()
            .unwrap()
            .contains("wrong admin token"));
    }
    let page = node
        .client
        .deliveries(TOKEN, None, Some(10), None)
        .await
        .unwrap();
    assert!(page.deliveries.is_empty());
    let page = node.client.registrations(TOKEN, None, None).await.unwrap();
    assert!(page.registrations.is_empty());
    let response = get(
        "/v1/admin/deliveries?limt=5",
        Some(&format!("Bearer {TOKEN}")),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 400, "a misspelt parameter is refused");
    // `/status` is public (liveness only); `/metrics` is on the operator's listener alone.
    assert_eq!(get("/status", None).await.unwrap().status(), 200);
    assert_eq!(get("/metrics", None).await.unwrap().status(), 404);
    assert_eq!(get("/v1/admin/status", None).await.unwrap().status(), 401);
    node.shutdown().await;

    let open = TestNode::start(|config| config.admin_token = None).await;
    let (status, message) = refusal(
        open.client
            .deliveries("anything-at-all-here", None, None, None)
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 403);
    assert!(
        message.contains("admin API disabled: set --admin-token"),
        "{message}"
    );
    open.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_node_id_and_blobs_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_path_buf();
    let first = TestNode::start(|config| config.data_dir = data_dir.clone()).await;
    let node_id = first.svc.node_id.clone();
    let receipt = first
        .client
        .upload_bytes(b"kept".to_vec(), &SecretKey::from_seed("alice"))
        .await
        .unwrap();
    first.shutdown().await;

    let second = TestNode::start(|config| config.data_dir = data_dir.clone()).await;
    assert_eq!(second.svc.node_id, node_id);
    assert_eq!(second.plaintext(&receipt.sha256), b"kept");
    assert_eq!(second.client.operator_status(TOKEN).await.unwrap().blobs, 1);
    second.shutdown().await;

    // The data directory belongs to its chain.
    let chain = Chain::new(["http://127.0.0.1:1"], "another-chain").unwrap();
    let config = Config {
        data_dir,
        ..Config::default()
    };
    let err = Services::open(config, chain).err().unwrap().to_string();
    assert!(err.contains("belongs to chain ingest-test"), "{err}");
}

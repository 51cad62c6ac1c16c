//! The storage node with a real chain: `consign dev`, `consign-storage serve` and a buyer's
//! receiving server as separate processes or servers over loopback. The seller uploads, offers,
//! registers and disappears; the buyer purchases; the storage node delivers, encrypted to the
//! buyer, and the plaintext comes back exactly (with our code and with the `age` tool).
//! Refusals carry their reasons.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use consign_client::seal::{open_verified, AgeIdentity};
use consign_client::storage::{delivery_headers as h, DeliveryState};
use consign_client::{Registration, SecretKey, Signed, StorageClientError, REGISTRATION_DOMAIN};
use consign_tests::{
    buy, deploy_data_sale, runtime, sample_data, DevNode, Receiver, ReceiverBehaviour, Seller,
    StorageNode, ADMIN_TOKEN,
};
use sha2::{Digest, Sha256};

/// Deliveries on loopback in tests should take well under a second; this is the generous bound.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(60);

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A chain with the data-sale contract, and a storage node allowed to deliver to loopback.
struct World {
    _dir: tempfile::TempDir,
    dir: std::path::PathBuf,
    node: DevNode,
    market: String,
    storage: StorageNode,
}

impl World {
    fn new(storage_flags: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let node = DevNode::start(&dir.path().join("chain")).unwrap();
        let market = deploy_data_sale(&node).unwrap();
        let storage =
            StorageNode::start(&dir.path().join("storage"), &node.url, storage_flags).unwrap();
        World {
            dir: dir.path().to_path_buf(),
            _dir: dir,
            node,
            market,
            storage,
        }
    }
}

#[test]
fn a_buyer_receives_the_data_while_the_seller_is_gone() {
    let w = World::new(&["--allow-private-egress"]);
    let plaintext = sample_data(3 << 20, 7);
    let file = write(&w.dir, "survey.bin", &plaintext);

    // The seller uploads, offers and registers, then its keys and files are deleted.
    let seller = Seller::new(&w.node, &w.dir.join("seller")).unwrap();
    let seller_address = seller.key.address();
    let sold = seller.sell(&w.node, &w.storage, &w.market, &file).unwrap();
    assert_eq!(sold.sha256, hex::encode(Sha256::digest(&plaintext)));
    seller.vanish().unwrap();
    std::fs::remove_file(&file).unwrap();

    // The buyer's age identity and receiving server.
    let identity = AgeIdentity::generate();
    let identity_file = w.dir.join("buyer.agekey");
    identity.save_new(&identity_file).unwrap();
    let receiver = Receiver::start(ReceiverBehaviour::default()).unwrap();

    let bought = buy(
        &w.node,
        &w.market,
        sold.offer_id,
        &receiver.url(),
        &identity.recipient(),
    )
    .unwrap();
    let received = receiver.wait_for(1, DELIVERY_TIMEOUT).unwrap();
    let delivery = &received[0];

    // The headers name the contract, the purchase and the content; the body is not plaintext.
    assert_eq!(delivery.headers[h::CONTRACT], w.market);
    assert_eq!(
        delivery.headers[h::PURCHASE_ID],
        bought.purchase_id.to_string()
    );
    assert_eq!(delivery.headers[h::OFFER_ID], sold.offer_id.to_string());
    assert_eq!(delivery.headers[h::CONTENT_SHA256], sold.sha256);
    assert_eq!(delivery.headers[h::SEQUENCE], bought.sequence.to_string());
    assert!(delivery.headers[h::IDEMPOTENCY_KEY].ends_with(&format!("/{}", bought.purchase_id)));
    let ciphertext = delivery.body.clone().unwrap();
    assert!(ciphertext.starts_with(b"age-encryption.org/v1\n"));
    assert!(!ciphertext
        .windows(4096)
        .any(|w| w == &plaintext[1 << 20..(1 << 20) + 4096]));

    // Our code decrypts it and checks the digest and size.
    let mut opened = Vec::new();
    let report = open_verified(
        &identity,
        ciphertext.as_slice(),
        &mut opened,
        &sold.sha256,
        sold.size,
    )
    .unwrap();
    assert_eq!(report.size, plaintext.len() as u64);
    assert_eq!(opened, plaintext);

    // So does the reference `age` tool.
    let encrypted = write(&w.dir, "delivery.age", &ciphertext);
    let out = Command::new("age")
        .args(["--decrypt", "--identity"])
        .arg(&identity_file)
        .arg(&encrypted)
        .output()
        .expect("the age command line tool (Debian package `age`; scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, plaintext);

    // The operator sees it delivered, once, on the first attempt.
    let page = runtime()
        .block_on(w.storage.client().deliveries(ADMIN_TOKEN, None, None, None))
        .unwrap();
    assert_eq!(page.deliveries.len(), 1);
    let view = &page.deliveries[0];
    assert_eq!(view.state, DeliveryState::Delivered);
    assert_eq!(view.attempts, 1);
    assert_eq!(view.purchase_id, bought.purchase_id);
    assert_eq!(receiver.attempts(), 1);

    // Nothing on-chain ties the offer to this storage node: neither its URL nor its id.
    let info = runtime().block_on(w.storage.client().info()).unwrap();
    let port = w.storage.url.rsplit(':').next().unwrap().to_owned();
    let chain_text = chain_dump(&w.node);
    assert!(!chain_text.contains(&info.node_id));
    assert!(!chain_text.contains(&w.storage.url));
    assert!(!chain_text.contains(&format!(":{port}")));
    assert!(
        chain_text.contains(&seller_address),
        "the dump covers the offer"
    );

    // The seller is paid when the buyer confirms.
    let confirmed = w
        .node
        .consign(&[
            "purchase",
            "confirm",
            &bought.purchase_id.to_string(),
            "--from",
            "bob",
            "--contract",
            &w.market,
        ])
        .unwrap();
    assert!(confirmed.status.success());
}

/// Every block and transaction, and the data-sale contract's offers, as one text.
fn chain_dump(node: &DevNode) -> String {
    let status = consign_tests::ok_json(&node.consign(&["status", "--output", "json"]).unwrap());
    let mut text = String::new();
    for h in 1..=status["height"].as_u64().unwrap() {
        let block = consign_tests::ok_json(
            &node
                .consign(&["query", "block", &h.to_string(), "--output", "json"])
                .unwrap(),
        );
        text.push_str(&block.to_string());
        for hash in block["txs"].as_array().unwrap() {
            let tx = node
                .consign(&["query", "tx", hash.as_str().unwrap(), "--output", "json"])
                .unwrap();
            text.push_str(&String::from_utf8_lossy(&tx.stdout));
        }
    }
    let deliveries = node
        .consign(&["query", "deliveries", "--output", "json"])
        .unwrap();
    text.push_str(&String::from_utf8_lossy(&deliveries.stdout));
    text
}

#[test]
fn forged_and_mismatched_requests_are_refused_with_their_reasons() {
    let w = World::new(&[]);
    let rt = runtime();
    let client = w.storage.client();
    let info = rt.block_on(client.info()).unwrap();
    let seller = Seller::new(&w.node, &w.dir.join("seller")).unwrap();

    // An upload whose grant is signed by one key but claims another's public key.
    let payload = b"the real data".to_vec();
    let sha = hex::encode(Sha256::digest(&payload));
    let mut grant = consign_client::StorageClient::grant(
        &info.node_id,
        &sha,
        payload.len() as u64,
        &seller.key,
    );
    grant.public_key = SecretKey::from_seed("mallory").public_key();
    let err = rt
        .block_on(client.upload_body(&grant, payload.clone().into()))
        .unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
    assert!(err.to_string().contains("signature"), "{err}");
    assert!(!client_has_blob(&w.storage, &sha));

    // An upload whose body is not what the grant says: refused, nothing kept.
    let grant = consign_client::StorageClient::grant(
        &info.node_id,
        &sha,
        payload.len() as u64,
        &seller.key,
    );
    let err = rt
        .block_on(client.upload_body(&grant, b"other data!!!".to_vec().into()))
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    assert!(
        err.to_string().contains("SHA-256") || err.to_string().contains("digest"),
        "{err}"
    );
    assert!(!client_has_blob(&w.storage, &sha));

    // The real upload, and an offer for it.
    let file = write(&w.dir, "data.bin", &payload);
    let uploaded = rt
        .block_on(client.upload_file(&file, &seller.key, |_, _| {}))
        .unwrap();
    assert!(uploaded.created);
    let chain_id = rt
        .block_on(
            consign_client::NodeClient::new(&w.node.url)
                .unwrap()
                .status(),
        )
        .unwrap()
        .chain_id;
    let offer = consign_tests::ok_json(&seller.create_offer(&w.node, &w.market, &file).unwrap());
    let offer_id = offer["offer_id"].as_u64().unwrap();

    // A registration signed by someone who is not the offer's seller (who uploaded the same
    // bytes, so only the on-chain check can catch it).
    let mallory = SecretKey::from_seed("dave");
    rt.block_on(client.upload_bytes(payload, &mallory)).unwrap();
    let err = rt
        .block_on(client.register(&w.market, offer_id, &sha, &chain_id, &mallory, None))
        .unwrap_err();
    assert!(err.to_string().contains("not the offer's seller"), "{err}");
    assert_eq!(err.status(), Some(403), "{err}");

    // A registration binding the offer to a different blob than its digest.
    let other = rt
        .block_on(client.upload_bytes(b"different bytes".to_vec(), &seller.key))
        .unwrap();
    let err = rt
        .block_on(client.register(
            &w.market,
            offer_id,
            &other.sha256,
            &chain_id,
            &seller.key,
            None,
        ))
        .unwrap_err();
    assert!(err.to_string().contains("digest"), "{err}");

    // The right registration, then the same signed message replayed.
    let registration = Registration {
        node_id: info.node_id,
        chain_id,
        contract: w.market.clone(),
        offer_id,
        sha256: sha,
        nonce: "a-once-only-nonce".into(),
        issued_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
        custody: None,
    };
    let signed = Signed::sign(REGISTRATION_DOMAIN, registration, &seller.key);
    let receipt = rt.block_on(client.register_signed(&signed)).unwrap();
    assert_eq!(receipt.seller, seller.key.address());
    let err = rt.block_on(client.register_signed(&signed)).unwrap_err();
    assert!(
        err.to_string().contains("nonce") || err.to_string().contains("replay"),
        "{err}"
    );

    // A registration meant for another storage node.
    let mut elsewhere = signed.payload;
    elsewhere.node_id = "another-node".into();
    elsewhere.nonce = "fresh".into();
    let err = rt
        .block_on(client.register_signed(&Signed::sign(
            REGISTRATION_DOMAIN,
            elsewhere,
            &seller.key,
        )))
        .unwrap_err();
    assert!(
        err.to_string().contains("another-node") || err.to_string().contains("node"),
        "{err}"
    );

    // The admin API without the token.
    let err = rt
        .block_on(client.deliveries("wrong-token", None, None, None))
        .unwrap_err();
    assert!(matches!(err, StorageClientError::Api { .. }), "{err}");
    assert_eq!(err.status(), Some(401), "{err}");

    // Private egress is off on this node: a purchase to a loopback endpoint is not delivered,
    // and the operator sees why.
    let receiver = Receiver::start(ReceiverBehaviour::default()).unwrap();
    let identity = AgeIdentity::generate();
    buy(
        &w.node,
        &w.market,
        offer_id,
        &receiver.url(),
        &identity.recipient(),
    )
    .unwrap();
    let view = wait_for_delivery(&w.storage, |v| v.last_error.is_some());
    let reason = view.last_error.unwrap();
    assert!(
        reason.contains("127.0.0.1") && reason.contains("loopback"),
        "{reason}"
    );
    assert!(reason.contains("--allow-private-egress"), "{reason}");
    assert_ne!(view.state, DeliveryState::Delivered);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(receiver.attempts(), 0, "nothing was sent to loopback");
}

fn client_has_blob(storage: &StorageNode, sha: &str) -> bool {
    let blob = storage
        .dir()
        .join("blobs")
        .join(&sha[0..2])
        .join(&sha[2..4])
        .join(format!("{sha}.age"));
    let tmp_empty = std::fs::read_dir(storage.dir().join("blobs/tmp"))
        .map(|d| d.count() == 0)
        .unwrap_or(true);
    assert!(tmp_empty, "a half-written upload was left in blobs/tmp");
    blob.exists()
}

/// Polls the admin list until its first delivery satisfies `done`.
fn wait_for_delivery(
    storage: &StorageNode,
    done: impl Fn(&consign_client::storage::DeliveryView) -> bool,
) -> consign_client::storage::DeliveryView {
    let rt = runtime();
    let deadline = std::time::Instant::now() + DELIVERY_TIMEOUT;
    loop {
        let page = rt
            .block_on(storage.client().deliveries(ADMIN_TOKEN, None, None, None))
            .unwrap();
        if let Some(view) = page.deliveries.into_iter().next() {
            if done(&view) {
                return view;
            }
        }
        assert!(std::time::Instant::now() < deadline, "{}", storage.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn of_two_storage_nodes_only_the_one_holding_the_data_delivers() {
    let w = World::new(&["--allow-private-egress"]);
    let other = StorageNode::start(
        &w.dir.join("storage-b"),
        &w.node.url,
        &["--allow-private-egress"],
    )
    .unwrap();
    let plaintext = sample_data(500_000, 9);
    let file = write(&w.dir, "data.bin", &plaintext);
    let seller = Seller::new(&w.node, &w.dir.join("seller")).unwrap();
    let sold = seller.sell(&w.node, &w.storage, &w.market, &file).unwrap();
    seller.vanish().unwrap();

    let receiver = Receiver::start(ReceiverBehaviour::default()).unwrap();
    let identity = AgeIdentity::generate();
    let bought = buy(
        &w.node,
        &w.market,
        sold.offer_id,
        &receiver.url(),
        &identity.recipient(),
    )
    .unwrap();
    let received = receiver.wait_for(1, DELIVERY_TIMEOUT).unwrap();
    let mut opened = Vec::new();
    open_verified(
        &identity,
        received[0].body.as_deref().unwrap(),
        &mut opened,
        &sold.sha256,
        sold.size,
    )
    .unwrap();
    assert_eq!(opened, plaintext);

    // The other node read the same public feed past the instruction, and learned nothing it
    // could act on: no registration, no blob, no delivery.
    let rt = runtime();
    let deadline = std::time::Instant::now() + DELIVERY_TIMEOUT;
    let status = loop {
        let status = rt
            .block_on(other.client().operator_status(ADMIN_TOKEN))
            .unwrap();
        if status.follower_cursor >= bought.sequence {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "{}", other.log());
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.registrations, 0);
    assert_eq!(status.blobs, 0);
    let page = rt
        .block_on(other.client().deliveries(ADMIN_TOKEN, None, None, None))
        .unwrap();
    assert!(page.deliveries.is_empty());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(receiver.attempts(), 1, "only the holder sent anything");
    assert!(!other.log().contains(&sold.sha256));
}

//! The storage node's ingest side across real processes: `consign dev` with the data-sale
//! contract, and `consign-storage serve`. Registrations are checked against the chain with
//! smart queries: the seller's is accepted, a non-seller's, a different digest, a replay and a
//! missing offer are refused, each with its reason. A custody piece (issue 14) is checked against
//! the offer's commitments: each wrong piece is refused by name. Also: the binary's configuration layers,
//! its `--help`, `api.url`, and a clean stop on SIGTERM.

use std::process::Command;

use consign_client::CustodyPiece;
use consign_client::{
    coins, BroadcastMode, NodeClient, Registration, SecretKey, Signed, StorageClientError,
    REGISTRATION_DOMAIN,
};
use consign_custody::{prepare, Commitments, KeyShare, Params, Prepared};
use consign_market::{created_offer_id, Custody, ExecuteMsg, NewOffer};
use consign_tests::{deploy_data_sale, runtime, workspace_bin, DevNode, StorageNode, ADMIN_TOKEN};
use sha2::{Digest, Sha256};

fn sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Creates an offer from `seller` with this digest and size, and custody commitments if given;
/// returns its id.
async fn create_offer(
    node: &NodeClient,
    chain_id: &str,
    market: &str,
    seller: &SecretKey,
    content_sha256: &str,
    size: u64,
    custody: Option<Custody>,
) -> u64 {
    let offer = NewOffer {
        description: "Hourly readings".to_owned(),
        terms: "personal use".to_owned(),
        custody,
        ..NewOffer::new(coins(100, "ucsn"), content_sha256, size, "Weather 2026")
    };
    let execute = ExecuteMsg::create_offer(offer).to_msg(market, vec![]);
    let result = node
        .sign_and_broadcast(
            seller,
            chain_id,
            vec![execute],
            5_000_000,
            BroadcastMode::COMMIT,
        )
        .await
        .unwrap();
    let committed = result.committed().expect("committed").clone();
    assert_eq!(committed.code, 0, "{}", committed.log);
    created_offer_id(&committed.events, market).expect("an offer_id attribute")
}

fn refusal(error: StorageClientError) -> (u16, String) {
    match error {
        StorageClientError::Api { status, message } => (status, message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn registrations_are_checked_against_the_chain() {
    let home = tempfile::tempdir().unwrap();
    let dev = DevNode::start(&home.path().join("chain")).unwrap();
    let market = deploy_data_sale(&dev).unwrap();
    let storage = StorageNode::start(&home.path().join("storage"), &dev.url, &[]).unwrap();
    let client = storage.client();
    let chain = NodeClient::new(&dev.url).unwrap();
    let (alice, bob) = (SecretKey::from_seed("alice"), SecretKey::from_seed("bob"));
    let data = b"time,temp\n00:00,3.1\n01:00,2.9\n".repeat(100);
    let other = b"other data".to_vec();
    let sha = sha256(&data);
    let size = data.len() as u64;

    runtime().block_on(async {
        let chain_id = chain.status().await.unwrap().chain_id;
        let info = client.info().await.unwrap();
        assert_eq!(info.chain_id, chain_id);
        // Both upload the same bytes: bob holds them too, but does not sell them.
        assert!(
            client
                .upload_bytes(data.clone(), &alice)
                .await
                .unwrap()
                .created
        );
        assert!(
            client
                .upload_bytes(data.clone(), &bob)
                .await
                .unwrap()
                .created
        );

        let offer = create_offer(&chain, &chain_id, &market, &alice, &sha, size, None).await;
        let other_offer = create_offer(
            &chain,
            &chain_id,
            &market,
            &alice,
            &sha256(&other),
            other.len() as u64,
            None,
        )
        .await;
        let wrong_size =
            create_offer(&chain, &chain_id, &market, &alice, &sha, size + 1, None).await;

        // The seller: accepted.
        let receipt = client
            .register(&market, offer, &sha, &chain_id, &alice, None)
            .await
            .unwrap();
        assert_eq!(
            (
                receipt.offer_id,
                receipt.sha256.as_str(),
                receipt.seller.as_str()
            ),
            (offer, sha.as_str(), alice.address().as_str())
        );
        // Again with a fresh nonce: the same binding, accepted again.
        client
            .register(&market, offer, &sha, &chain_id, &alice, None)
            .await
            .unwrap();

        // Not the seller.
        let (status, message) = refusal(
            client
                .register(&market, offer, &sha, &chain_id, &bob, None)
                .await
                .unwrap_err(),
        );
        assert_eq!(status, 403, "{message}");
        assert_eq!(
            message,
            format!(
                "signer {} is not the offer's seller {}",
                bob.address(),
                alice.address()
            )
        );

        // The offer's digest is another blob's.
        let (status, message) = refusal(
            client
                .register(&market, other_offer, &sha, &chain_id, &alice, None)
                .await
                .unwrap_err(),
        );
        assert_eq!(status, 422, "{message}");
        assert!(message.starts_with("digest differs"), "{message}");
        assert!(message.contains(&sha256(&other)), "{message}");

        // The offer's size is not the blob's.
        let (status, message) = refusal(
            client
                .register(&market, wrong_size, &sha, &chain_id, &alice, None)
                .await
                .unwrap_err(),
        );
        assert_eq!(status, 422, "{message}");
        assert!(message.starts_with("size differs"), "{message}");

        // No such offer; no contract at that address.
        let (status, message) = refusal(
            client
                .register(&market, 99, &sha, &chain_id, &alice, None)
                .await
                .unwrap_err(),
        );
        assert_eq!(status, 404, "{message}");
        assert_eq!(message, format!("no offer 99 in contract {market}"));
        let nowhere = consign_client::humanize_address(&consign_client::contract_address(77, 1));
        let (status, message) = refusal(
            client
                .register(&nowhere, offer, &sha, &chain_id, &alice, None)
                .await
                .unwrap_err(),
        );
        assert_eq!(status, 404, "{message}");

        // A replayed registration: the same signed message twice.
        let signed = Signed::sign(
            REGISTRATION_DOMAIN,
            Registration {
                node_id: info.node_id.clone(),
                chain_id: chain_id.clone(),
                contract: market.clone(),
                offer_id: offer,
                sha256: sha.clone(),
                nonce: "replayed-nonce-1".into(),
                issued_at: now(),
                custody: None,
            },
            &alice,
        );
        client.register_signed(&signed).await.unwrap();
        let (status, message) = refusal(client.register_signed(&signed).await.unwrap_err());
        assert_eq!(status, 409, "{message}");
        assert!(message.starts_with("replayed registration"), "{message}");

        // The operator sees one registration, by the seller.
        let page = client.registrations(ADMIN_TOKEN, None, None).await.unwrap();
        assert_eq!(page.registrations.len(), 1);
        let registered = &page.registrations[0];
        assert_eq!(
            (registered.contract.as_str(), registered.offer_id),
            (market.as_str(), offer)
        );
        assert_eq!(registered.seller, alice.address());
        let status = client.operator_status(ADMIN_TOKEN).await.unwrap();
        assert_eq!((status.registrations, status.blobs), (1, 1));
        let metrics = storage.operator_client().metrics_text().await.unwrap();
        for line in [
            "consign_storage_registrations_total{result=\"accepted\"} 3",
            "consign_storage_registrations_total{result=\"refused\"} 6",
        ] {
            assert!(metrics.contains(line), "missing `{line}` in\n{metrics}");
        }
    });
    assert!(
        !storage.log().contains("ERROR"),
        "the storage node logged errors:\n{}",
        storage.log()
    );
}

/// A 2-of-3 custody set of `data`, prepared as the seller does, fragments in memory.
fn custody_set(data: &[u8]) -> Prepared<Vec<u8>> {
    let params = Params::new(2, 3).unwrap();
    prepare(params, data, data.len() as u64, vec![Vec::new(); 3]).unwrap()
}

/// The commitments as the offer carries them (the same JSON).
fn offer_custody(commitments: &Commitments) -> Custody {
    serde_json::from_value(serde_json::to_value(commitments).unwrap()).unwrap()
}

/// A seller registers one piece of a custody set with a storage node; every wrong piece is
/// refused with what is wrong, the right one is kept with its share still sealed, and the node
/// keeps no second piece of the offer.
#[test]
fn custody_pieces_are_checked_against_the_offers_commitments() {
    let home = tempfile::tempdir().unwrap();
    let dev = DevNode::start(&home.path().join("chain")).unwrap();
    let market = deploy_data_sale(&dev).unwrap();
    let storage = StorageNode::start(&home.path().join("storage"), &dev.url, &[]).unwrap();
    let client = storage.client();
    let chain = NodeClient::new(&dev.url).unwrap();
    let alice = SecretKey::from_seed("alice");
    let data = b"station,temp\nnorth,3.1\nsouth,7.4\n".repeat(300);
    let set = custody_set(&data);
    // Another set of the same data: another offer's pieces.
    let other = custody_set(&data);
    let fragment = |i: usize| sha256(&set.fragments[i]);
    let odd = b"not a fragment".to_vec();
    let elsewhere = age::x25519::Identity::generate().to_public();

    let sealed = runtime().block_on(async {
        let chain_id = chain.status().await.unwrap().chain_id;
        let info = client.info().await.unwrap();
        let node: age::x25519::Recipient = info.custody_recipient.parse().unwrap();
        for blob in [
            &set.fragments[0],
            &set.fragments[1],
            &other.fragments[0],
            &odd,
        ] {
            client.upload_bytes(blob.clone(), &alice).await.unwrap();
        }
        let (sha, size) = (sha256(&data), data.len() as u64);
        let custody = offer_custody(&set.commitments);
        let offer = create_offer(
            &chain,
            &chain_id,
            &market,
            &alice,
            &sha,
            size,
            Some(custody.clone()),
        )
        .await;
        let plain = create_offer(&chain, &chain_id, &market, &alice, &sha, size, None).await;
        // Commitments that name, as fragment 2, a blob that is not of the fragments' size.
        let mut odd_custody = custody;
        odd_custody.fragment_sha256[2] = sha256(&odd);
        let odd_offer =
            create_offer(&chain, &chain_id, &market, &alice, &sha, size, Some(odd_custody)).await;

        let piece = |index: u16, share: &KeyShare, to: &age::x25519::Recipient| {
            Some(CustodyPiece {
                index,
                sealed_share: share.seal(to),
            })
        };
        let register = |offer: u64, sha: String, piece: Option<CustodyPiece>| {
            let (client, market, chain_id, alice) =
                (client.clone(), market.clone(), chain_id.clone(), alice.clone());
            async move {
                client
                    .register(&market, offer, &sha, &chain_id, &alice, piece)
                    .await
            }
        };

        // Fragment 1 with share 1, sealed to this node: kept.
        let kept = piece(1, &set.shares[1], &node);
        let receipt = register(offer, fragment(1), kept.clone()).await.unwrap();
        assert_eq!(receipt.custody_index, Some(1));
        assert_eq!(receipt.sha256, fragment(1));
        // The same piece again (a fresh nonce, sealed afresh): accepted, the first one kept.
        let again = register(offer, fragment(1), piece(1, &set.shares[1], &node));
        assert_eq!(again.await.unwrap().custody_index, Some(1));

        let refused = |result: Result<_, StorageClientError>| refusal(result.unwrap_err());
        let refusals = [
            (
                "the wrong index",
                register(offer, fragment(1), piece(0, &set.shares[0], &node)).await,
                format!(
                    "fragment 0's digest in the offer is {}, the registration names {}, \
                     fragment 1's: register it as piece 1",
                    fragment(0),
                    fragment(1)
                ),
            ),
            (
                "an index past n",
                register(offer, fragment(1), piece(3, &set.shares[1], &node)).await,
                format!("piece 3 does not exist: offer {offer}'s custody set has 3 pieces (0..3)"),
            ),
            (
                "another offer's fragment",
                register(offer, sha256(&other.fragments[0]), piece(0, &set.shares[0], &node)).await,
                format!(
                    "fragment 0's digest in the offer is {}, the registration names {}, \
                     which is no fragment of offer {offer}",
                    fragment(0),
                    sha256(&other.fragments[0])
                ),
            ),
            (
                "a blob of the wrong size",
                register(odd_offer, sha256(&odd), piece(2, &set.shares[2], &node)).await,
                format!(
                    "fragment 2 is {} bytes here (blob {}), but offer {odd_offer}'s fragments \
                     are {} bytes each",
                    odd.len(),
                    sha256(&odd),
                    set.commitments.fragment_size()
                ),
            ),
            (
                "a share sealed to another node",
                register(offer, fragment(1), piece(1, &set.shares[1], &elsewhere)).await,
                format!(
                    "the key share is not sealed to this node (its custody recipient is {})",
                    info.custody_recipient
                ),
            ),
            (
                "another set's share",
                register(offer, fragment(1), piece(1, &other.shares[1], &node)).await,
                format!(
                    "share 1 fails its commitment: it belongs to custody set {}, but offer \
                     {offer}'s set is {}",
                    other.commitments.set_id(),
                    set.commitments.set_id()
                ),
            ),
            (
                "a share relabelled",
                register(offer, fragment(1), piece(1, &relabelled(&set.shares[0], 1), &node)).await,
                format!("share 1 fails its commitment: it does not match offer {offer}'s share commitments"),
            ),
            (
                "another index's share",
                register(offer, fragment(1), piece(1, &set.shares[0], &node)).await,
                "share 1 fails its commitment: the sealed share is share 0, not share 1".to_owned(),
            ),
            (
                "a piece of a plain offer",
                register(plain, fragment(1), piece(1, &set.shares[1], &node)).await,
                format!(
                    "offer {plain} has no custody commitments: register the whole file without \
                     `custody`"
                ),
            ),
            (
                "the whole file for a custody offer",
                register(offer, fragment(1), None).await,
                format!("offer {offer} is held under 2-of-3 custody: register the piece"),
            ),
        ];
        for (what, result, expected) in refusals {
            let (status, message) = refused(result);
            assert_eq!(status, 422, "{what}: {message}");
            assert!(message.starts_with(&expected), "{what}: {message}");
        }
        // A second piece of the same offer: a node holding k of them could rebuild the data.
        let (status, message) =
            refused(register(offer, fragment(0), piece(0, &set.shares[0], &node)).await);
        assert_eq!(status, 409, "{message}");
        assert!(
            message.starts_with(&format!(
                "this node already keeps piece 1 of offer {offer}"
            )),
            "{message}"
        );

        // The operator sees the piece kept.
        let page = client.registrations(ADMIN_TOKEN, None, None).await.unwrap();
        let views: Vec<_> = page
            .registrations
            .iter()
            .map(|r| (r.offer_id, r.sha256.clone(), r.custody_index))
            .collect();
        assert_eq!(views, [(offer, fragment(1), Some(1))]);
        kept.map(|piece| piece.sealed_share).unwrap()
    });

    // At rest, the share is kept as it came, sealed: its value is nowhere in the database.
    let db = std::fs::read(home.path().join("storage/storage.redb")).unwrap();
    let contains = |needle: &[u8]| db.windows(needle.len()).any(|w| w == needle);
    assert!(contains(sealed.as_bytes()), "the sealed share is kept");
    let value = serde_json::to_value(&set.shares[1]).unwrap()["value"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !contains(value.as_bytes()),
        "the share is never stored open"
    );
    assert!(
        !storage.log().contains("ERROR"),
        "the storage node logged errors:\n{}",
        storage.log()
    );
}

/// `share` claiming to be share `index`: what a seller who forges a share would send.
fn relabelled(share: &KeyShare, index: u16) -> KeyShare {
    let mut json = serde_json::to_value(share).unwrap();
    json["index"] = index.into();
    serde_json::from_value(json).unwrap()
}

#[test]
fn the_binary_writes_api_url_answers_and_stops_on_sigterm() {
    let home = tempfile::tempdir().unwrap();
    let dev = DevNode::start(&home.path().join("chain")).unwrap();
    let dir = home.path().join("storage");
    let mut storage = StorageNode::start(&dir, &dev.url, &[]).unwrap();
    let url = std::fs::read_to_string(dir.join("api.url")).unwrap();
    assert_eq!(url.trim(), storage.url);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(dir.join("at-rest.key").exists());
    assert!(dir.join("storage.redb").exists());
    let log = storage.log();
    assert!(log.contains("consign-storage listening"), "{log}");
    assert!(
        !log.contains(ADMIN_TOKEN),
        "the admin token must never be logged"
    );
    storage.stop().unwrap();
    assert!(
        !dir.join("api.url").exists(),
        "api.url is removed on a clean stop"
    );
}

fn storage_command() -> Command {
    let mut command = Command::new(workspace_bin("consign-storage", "CONSIGN_STORAGE_BIN"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CONSIGN_STORAGE_") {
            command.env_remove(key);
        }
    }
    command
}

/// `consign-storage config`'s output: `key = value` lines, values as written.
fn printed_config(command: &mut Command) -> std::collections::HashMap<String, String> {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| line.split_once(" = "))
        .map(|(key, value)| (key.to_owned(), value.trim_matches('"').to_owned()))
        .collect()
}

#[test]
fn settings_layer_defaults_file_environment_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("storage.toml");
    std::fs::write(
        &file,
        "quota_per_account = \"1KiB\"\nmax_blob_size = \"1MiB\"\nretry_max = \"10m\"\n\
         admin_token = \"from-the-file-0123456789\"\n",
    )
    .unwrap();

    let config = printed_config(
        storage_command()
            .args(["config", "--config"])
            .arg(&file)
            .env("CONSIGN_STORAGE_MAX_BLOB_SIZE", "2MiB")
            .env("CONSIGN_STORAGE_RETRY_MAX", "20m")
            .args(["--retry-max", "30m", "--allow-private-egress"]),
    );
    assert_eq!(config["quota_per_account"], "1024"); // file
    assert_eq!(config["max_blob_size"], (2 << 20).to_string()); // env over file
    assert_eq!(config["retry_max"], "30m"); // flag over env
    assert_eq!(config["allow_private_egress"], "true"); // flag
    assert_eq!(config["delivery_concurrency"], "4"); // default
    assert_eq!(config["admin_token"], "<redacted>");

    // A bad setting is refused with its name, before anything starts.
    let output = storage_command()
        .args(["serve", "--admin-token", "short"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("admin_token"), "{stderr}");

    // The help teaches the data layout, the egress policy and the admin token.
    let output = storage_command()
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for needle in [
        "at-rest.key",
        "blobs/ab/cd/<sha256>.age",
        "--allow-private-egress",
        "169.254",
        "Authorization: Bearer",
        "CONSIGN_STORAGE_",
    ] {
        assert!(
            help.contains(needle),
            "`{needle}` missing from --help:\n{help}"
        );
    }
}

//! The storage node's ingest side across real processes: `consign dev` with the data-sale
//! contract, and `consign-storage serve`. Registrations are checked against the chain with
//! smart queries: the seller's is accepted, a non-seller's, a different digest, a replay and a
//! missing offer are refused, each with its reason. Also: the binary's configuration layers,
//! its `--help`, `api.url`, and a clean stop on SIGTERM.

use std::process::Command;

use consign_client::{
    coins, BroadcastMode, NodeClient, Registration, SecretKey, Signed, StorageClientError,
    REGISTRATION_DOMAIN,
};
use consign_market::{created_offer_id, ExecuteMsg, NewOffer};
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

/// Creates an offer from `seller` with this digest and size; returns its id.
async fn create_offer(
    node: &NodeClient,
    chain_id: &str,
    market: &str,
    seller: &SecretKey,
    content_sha256: &str,
    size: u64,
) -> u64 {
    let offer = NewOffer {
        description: "Hourly readings".to_owned(),
        terms: "personal use".to_owned(),
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

        let offer = create_offer(&chain, &chain_id, &market, &alice, &sha, size).await;
        let other_offer = create_offer(
            &chain,
            &chain_id,
            &market,
            &alice,
            &sha256(&other),
            other.len() as u64,
        )
        .await;
        let wrong_size = create_offer(&chain, &chain_id, &market, &alice, &sha, size + 1).await;

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

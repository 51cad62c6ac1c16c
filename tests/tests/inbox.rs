//! The buyer's inbox with everything real: `consign dev`, `consign-storage serve` and
//! `consign inbox` as separate processes over loopback. The seller sells and vanishes; the buyer
//! buys naming the inbox; the inbox decrypts, verifies against the offer on-chain, saves the
//! exact bytes once, and confirms receipt, which pays the seller. Deliveries sent again are
//! answered 200 and not saved twice; tampered ones are refused with 422 and nothing is saved; an
//! inbox that is down during the purchase still receives the data when it comes up. A k-of-n
//! delivery (inbox/custody.rs) is rebuilt from its good pieces, saved and confirmed once.

use std::process::Command;
use std::time::{Duration, Instant};

use consign_client::seal::AgeIdentity;
use consign_client::storage::DeliveryState;
use consign_tests::inbox::{Inbox, TIMEOUT};
use consign_tests::{buy, consign_bin, ok_json, ok_stdout, sample_data, ADMIN_TOKEN};
use sha2::{Digest, Sha256};

// Not a test target of its own: cargo only builds `tests/*.rs` and `tests/*/main.rs`.
#[path = "inbox/world.rs"]
mod world;

#[path = "inbox/custody.rs"]
mod custody;

use world::{free_port, post, sealed, World};

#[test]
fn the_inbox_saves_verifies_confirms_and_deduplicates() {
    let w = World::new(sample_data(3 << 20, 5));
    let recipient = w.age_key("buyer");
    assert!(recipient.starts_with("age1"), "{recipient}");
    let seller_before = w.balance(&w.seller);

    let mut inbox = Inbox::start(
        &w.node,
        &w.dir.join("inbox"),
        "127.0.0.1:0",
        &[
            "--age-key",
            "buyer",
            "--contract",
            &w.market,
            "--confirm",
            "--from",
            "bob",
        ],
    );
    let listening = &inbox.events()[0];
    assert_eq!(listening["event"], "listening");
    assert_eq!(listening["recipient"], recipient.as_str());

    // The purchase; the storage node delivers; the inbox saves, then confirms.
    let bought = buy(
        &w.node,
        &w.market,
        w.sold.offer_id,
        &format!("{}/", inbox.url),
        &recipient,
    )
    .unwrap();
    let id = bought.purchase_id;
    let verified = inbox.wait_for("verified", id);
    assert_eq!(verified["sha256"], w.sold.sha256.as_str());
    let saved = inbox.wait_for("saved", id);
    let name = format!("test_data-{id}");
    assert_eq!(saved["file"], name.as_str());
    assert_eq!(std::fs::read(inbox.out.join(&name)).unwrap(), w.plaintext);
    let confirmed = inbox.wait_for("confirmed", id);
    assert!(confirmed["txhash"].as_str().unwrap().len() == 64);
    assert_eq!(w.purchase(id)["state"], "released");
    assert_eq!(w.balance(&w.seller), seller_before + 100);

    // The same delivery again: 200, nothing written twice.
    let ciphertext = sealed(&recipient, &w.plaintext);
    let (status, answer) = post(
        &inbox.url,
        &w.market,
        id,
        &w.sold,
        &w.sold.sha256,
        ciphertext,
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "duplicate");
    inbox.wait_for("duplicate", id);
    assert_eq!(inbox.saved_files(), [name.as_str()]);

    // A second purchase whose delivery goes elsewhere; tampered copies are posted here by hand.
    let elsewhere = free_port();
    let second = buy(
        &w.node,
        &w.market,
        w.sold.offer_id,
        &format!("http://127.0.0.1:{elsewhere}/"),
        &recipient,
    )
    .unwrap()
    .purchase_id;
    let good = sealed(&recipient, &w.plaintext);

    // Headers claiming another digest than the offer's on-chain.
    let other_sha = hex::encode(Sha256::digest(b"something else"));
    let (status, answer) = post(
        &inbox.url,
        &w.market,
        second,
        &w.sold,
        &other_sha,
        good.clone(),
    );
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("offer on-chain"),
        "{answer}"
    );

    // A corrupted body.
    let mut corrupted = good.clone();
    let middle = corrupted.len() / 2;
    corrupted[middle] ^= 0x01;
    let (status, answer) = post(
        &inbox.url,
        &w.market,
        second,
        &w.sold,
        &w.sold.sha256,
        corrupted,
    );
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("nothing was saved"),
        "{answer}"
    );

    // Encrypted to someone else's key.
    let other = sealed(&AgeIdentity::generate().recipient(), &w.plaintext);
    let (status, answer) = post(
        &inbox.url,
        &w.market,
        second,
        &w.sold,
        &w.sold.sha256,
        other,
    );
    assert_eq!(status, 422, "{answer}");

    inbox.wait_for_count("rejected", second, 3);
    assert_eq!(inbox.saved_files(), [name.as_str()]);
    assert!(!inbox
        .out
        .join(".consign-inbox")
        .join(format!("{}-{second}.json", w.market))
        .exists());
    assert_eq!(
        w.purchase(second)["state"],
        "held",
        "a mismatch is never confirmed"
    );

    // The genuine delivery still goes through, and is confirmed.
    let (status, answer) = post(&inbox.url, &w.market, second, &w.sold, &w.sold.sha256, good);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "saved");
    inbox.wait_for("confirmed", second);
    assert_eq!(
        std::fs::read(inbox.out.join(format!("test_data-{second}"))).unwrap(),
        w.plaintext
    );

    inbox.stop();
    assert!(inbox
        .events()
        .iter()
        .any(|e| e["event"] == "stopped" && e["saved"] == 2));
    let log = inbox.log();
    assert!(!log.contains("AGE-SECRET-KEY"), "{log}");
}

#[test]
fn an_inbox_down_during_the_purchase_still_receives_the_data() {
    let w = World::new(sample_data(200_000, 9));

    // An identity made by age-keygen, not by consign.
    let key_file = w.dir.join("key.txt");
    let made = Command::new("age-keygen")
        .arg("-o")
        .arg(&key_file)
        .output()
        .expect("age-keygen (Debian package `age`; scripts/test.sh installs it)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let recipient = AgeIdentity::load(&key_file).unwrap().recipient();

    // Nobody listens on the port named in the purchase.
    let port = free_port();
    let bought = buy(
        &w.node,
        &w.market,
        w.sold.offer_id,
        &format!("http://127.0.0.1:{port}/inbox"),
        &recipient,
    )
    .unwrap();

    // Wait until the storage node has tried and failed at least once.
    let client = w.storage.client();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let page = runtime
            .block_on(client.deliveries(ADMIN_TOKEN, None, None, None))
            .unwrap();
        if let Some(d) = page.deliveries.first() {
            assert_ne!(d.state, DeliveryState::Delivered);
            if d.attempts >= 1 && d.last_error.is_some() {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no failed attempt: {}",
            w.storage.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // The inbox comes up on that port; the retry delivers; it confirms and exits by itself.
    let seller_before = w.balance(&w.seller);
    let mut inbox = Inbox::start(
        &w.node,
        &w.dir.join("inbox"),
        &format!("127.0.0.1:{port}"),
        &[
            "--identity",
            key_file.to_str().unwrap(),
            "--contract",
            &w.market,
            "--confirm",
            "--from",
            "bob",
            "--exit-after",
            "1",
            "--name",
            "{offer}-{purchase}.bin",
        ],
    );
    if let Some(status) = inbox.wait_exit() {
        assert!(status.success(), "{status}: {}", inbox.log());
    }
    let name = format!("{}-{}.bin", w.sold.offer_id, bought.purchase_id);
    assert_eq!(inbox.saved_files(), [name.as_str()]);
    assert_eq!(std::fs::read(inbox.out.join(&name)).unwrap(), w.plaintext);
    inbox.wait_for("confirmed", bought.purchase_id);
    assert_eq!(w.purchase(bought.purchase_id)["state"], "released");
    assert_eq!(w.balance(&w.seller), seller_before + 100);
    let page = runtime
        .block_on(client.deliveries(ADMIN_TOKEN, None, None, None))
        .unwrap();
    assert_eq!(page.deliveries[0].state, DeliveryState::Delivered);
    assert!(page.deliveries[0].attempts >= 2);
}

#[test]
fn age_identities_are_made_and_shown_by_consign_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = |args: &[&str]| {
        Command::new(consign_bin())
            .args(["keys", "age"])
            .args(args)
            .arg("--home")
            .arg(tmp.path())
            .output()
            .unwrap()
    };
    let recipient = ok_stdout(&keys(&["bob"])).trim().to_owned();
    assert!(recipient.starts_with("age1"), "{recipient}");
    let file = tmp.path().join("age").join("bob.agekey");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains(&format!("# public key: {recipient}")),
        "{text}"
    );
    assert_eq!(AgeIdentity::load(&file).unwrap().recipient(), recipient);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    assert_eq!(ok_stdout(&keys(&["bob", "--show"])).trim(), recipient);
    let json = ok_json(&keys(&["bob", "--show", "--output", "json"]));
    assert_eq!(json["recipient"], recipient.as_str());

    let again = keys(&["bob"]);
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(AgeIdentity::load(&file).unwrap().recipient(), recipient);

    let missing = keys(&["carol", "--show"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("consign keys age carol"));
    assert!(!keys(&["../evil"]).status.success());

    // The reference tool reads what `consign keys age` wrote.
    let plaintext = b"for bob only";
    let encrypted = tmp.path().join("msg.age");
    std::fs::write(&encrypted, sealed(&recipient, plaintext)).unwrap();
    let out = Command::new("age")
        .args(["--decrypt", "--identity"])
        .arg(&file)
        .arg(&encrypted)
        .output()
        .expect("the age command line tool (Debian package `age`)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, plaintext);
}

//! The buyer's inbox attacked by strangers (issue 11, findings 7, 8, 9, 11 and 12), with
//! everything real: `consign dev`, `consign-storage serve` and `consign inbox` as separate
//! processes over loopback. A delivery's headers are public (anyone can read a purchase
//! on-chain), so each attack is a request anyone could send, or a purchase anyone could make:
//!
//! - a stranger trickling a body for a purchase does not hold up its real delivery (7);
//! - the inbox does not start without its market contract and its buyer, and refuses a
//!   purchase a stranger made with its recipient and URL (8);
//! - a stranger's empty request for a purchase saved earlier and left unconfirmed on purpose
//!   does not make the inbox confirm it (9);
//! - the temporary file of a reception cut by `kill -9` is gone after a restart (11);
//! - an offer is not created without a title, so a file's name never goes on-chain (12).

use std::io::Write as _;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use consign_client::storage::delivery_headers as h;
use consign_tests::inbox::{Inbox, TIMEOUT};
use consign_tests::{buy, consign_bin, ok_json, sample_data, TcpProxy, ADMIN_TOKEN};
use serde_json::Value;

// Not a test target of its own: cargo only builds `tests/*.rs` and `tests/*/main.rs`.
#[allow(dead_code)]
#[path = "inbox/world.rs"]
mod world;

use world::{free_port, post, World};

/// A stranger's delivery request: the purchase's (public) headers, then a body that comes a
/// byte at a time, for as long as the test holds it. The body is the start of an age header
/// whose stanza never ends (64-column lines, again and again): the inbox can only wait for more.
struct Trickle {
    stream: TcpStream,
    sent: usize,
}

/// One line of the never-ending stanza body.
const STANZA_LINE: &[u8; 65] =
    b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n";

impl Trickle {
    fn start(inbox_url: &str, w: &World, purchase_id: u64) -> Self {
        let addr = inbox_url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr).unwrap();
        let request = format!(
            "POST /deliveries HTTP/1.1\r\nhost: {addr}\r\n{}: {}\r\n{}: {purchase_id}\r\n{}: {}\r\n\
             {}: {}\r\n{}: {}\r\ncontent-length: {}\r\n\r\n",
            h::CONTRACT,
            w.market,
            h::PURCHASE_ID,
            h::OFFER_ID,
            w.sold.offer_id,
            h::CONTENT_SHA256,
            w.sold.sha256,
            h::CONTENT_SIZE,
            w.sold.size,
            w.sold.size * 2,
        );
        stream.write_all(request.as_bytes()).unwrap();
        stream
            .write_all(b"age-encryption.org/v1\n-> X25519 AAAA\n")
            .unwrap();
        Self { stream, sent: 0 }
    }

    /// One more byte of the body.
    fn drip(&mut self) {
        let byte = STANZA_LINE[self.sent % STANZA_LINE.len()];
        self.sent += 1;
        // The inbox may have cut it (that is allowed); the attack only needs it open meanwhile.
        let _ = self.stream.write_all(&[byte]);
    }
}

/// Waits until `found` says yes, dripping `trickle` meanwhile; fails after `limit`.
fn wait_until(
    limit: Duration,
    mut trickle: Option<&mut Trickle>,
    what: &str,
    mut found: impl FnMut() -> bool,
) {
    let deadline = Instant::now() + limit;
    loop {
        if found() {
            return;
        }
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        if let Some(t) = trickle.as_deref_mut() {
            t.drip();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn has_event(inbox: &Inbox, kind: &str, purchase_id: u64) -> bool {
    inbox
        .events()
        .iter()
        .any(|e| e["event"] == kind && e["purchase_id"] == purchase_id)
}

/// The storage node's last error delivering `purchase_id`, once it tried.
fn last_delivery_error(w: &World, purchase_id: u64) -> Option<String> {
    let page = consign_tests::runtime()
        .block_on(w.storage.client().deliveries(ADMIN_TOKEN, None, None, None))
        .ok()?;
    page.deliveries
        .into_iter()
        .find(|d| d.purchase_id == purchase_id)?
        .last_error
}

/// The `.part` files in an inbox's state directory.
fn part_files(out: &Path) -> Vec<String> {
    std::fs::read_dir(out.join(".consign-inbox"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".part"))
                .collect()
        })
        .unwrap_or_default()
}

/// The buyer's usual flags: its identity `buyer`, the market, its key `bob`, and `extra`.
fn inbox_flags<'a>(w: &'a World, extra: &[&'a str]) -> Vec<&'a str> {
    let mut flags = vec![
        "--age-key",
        "buyer",
        "--contract",
        &w.market,
        "--from",
        "bob",
    ];
    flags.extend_from_slice(extra);
    flags
}

#[test]
fn a_stranger_trickling_a_body_does_not_hold_up_the_real_delivery() {
    let w = World::new(sample_data(300_000, 7));
    let recipient = w.age_key("buyer");
    let inbox = Inbox::start(
        &w.node,
        &w.dir.join("inbox"),
        "127.0.0.1:0",
        &inbox_flags(&w, &[]),
    );

    // The purchase names a proxy to the inbox, closed for now: the storage node cannot deliver
    // yet, so the stranger is first.
    let upstream = inbox.url.trim_start_matches("http://").parse().unwrap();
    let mut proxy = TcpProxy::start(upstream).unwrap();
    proxy.pause();
    let id = buy(
        &w.node,
        &w.market,
        w.sold.offer_id,
        &format!("{}/", proxy.url()),
        &recipient,
    )
    .unwrap()
    .purchase_id;

    // A stranger sends the purchase's headers and trickles a body; the inbox takes it in.
    let mut stranger = Trickle::start(&inbox.url, &w, id);
    wait_until(
        TIMEOUT,
        Some(&mut stranger),
        "the stranger's reception starts",
        || has_event(&inbox, "received", id),
    );

    // The storage node gets through; its delivery is saved while the stranger still trickles.
    proxy.resume().unwrap();
    wait_until(
        Duration::from_secs(15),
        Some(&mut stranger),
        "the real delivery is saved beside the stranger's",
        || has_event(&inbox, "saved", id),
    );
    let saved = inbox.wait_for("saved", id);
    let file = inbox.out.join(saved["file"].as_str().unwrap());
    assert_eq!(std::fs::read(file).unwrap(), w.plaintext);
    stranger.drip();
    drop(stranger);
}

/// Runs `consign inbox ARGS` expecting it to refuse to start; returns its stderr.
fn refused_to_start(w: &World, dir: &Path, args: &[&str]) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let url_file = dir.join("inbox.url");
    let stderr = dir.join("stderr");
    let mut child = Command::new(consign_bin())
        .args(["inbox", "--node", &w.node.url, "--home"])
        .arg(w.node.home())
        .args(["--listen", "127.0.0.1:0", "--out"])
        .arg(dir.join("out"))
        .arg("--url-file")
        .arg(&url_file)
        .args(args)
        .env_remove("CONSIGN_CONTRACT")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(!status.success(), "consign inbox {args:?} exited 0");
            return std::fs::read_to_string(&stderr).unwrap();
        }
        if url_file.exists() || Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("consign inbox {args:?} started; it must refuse to");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_inbox_needs_its_contract_and_buyer_and_refuses_a_strangers_purchase() {
    let w = World::new(sample_data(5_000, 8));
    let recipient = w.age_key("buyer");

    // Without a buyer, or without the market contract, the inbox does not start, and says what
    // to pass.
    let err = refused_to_start(
        &w,
        &w.dir.join("no-buyer"),
        &["--age-key", "buyer", "--contract", &w.market],
    );
    assert!(
        err.contains("--from KEY") && err.contains("--buyer ADDRESS"),
        "{err}"
    );
    let err = refused_to_start(
        &w,
        &w.dir.join("no-contract"),
        &["--age-key", "buyer", "--from", "bob"],
    );
    assert!(err.contains("--contract ADDRESS"), "{err}");

    // A stranger (alice) buys the offer for the buyer's recipient and inbox: refused, nothing
    // saved.
    let inbox = Inbox::start(
        &w.node,
        &w.dir.join("inbox"),
        "127.0.0.1:0",
        &inbox_flags(&w, &[]),
    );
    let bought = ok_json(&w.consign(&[
        "buy",
        &w.sold.offer_id.to_string(),
        "--deliver-to",
        &format!("{}/", inbox.url),
        "--recipient",
        &recipient,
        "--from",
        "alice",
        "--contract",
        &w.market,
        "--output",
        "json",
    ]));
    let id = bought["purchase_id"].as_u64().unwrap();
    // Refused when the body came (an event), or already when the storage node asked first (its
    // preflight: no body, no event; the storage node records the answer).
    let mut reason = String::new();
    wait_until(TIMEOUT, None, "the stranger's purchase is refused", || {
        let rejected = inbox
            .events()
            .into_iter()
            .find(|e| e["event"] == "rejected" && e["purchase_id"] == id);
        reason = match rejected {
            Some(event) => event.to_string(),
            None => last_delivery_error(&w, id).unwrap_or_default(),
        };
        !reason.is_empty()
    });
    assert!(reason.contains("not by this inbox's buyer"), "{reason}");
    assert!(inbox.saved_files().is_empty(), "{:?}", inbox.saved_files());
    assert!(part_files(&inbox.out).is_empty());
}

#[test]
fn an_offer_without_a_title_is_refused_so_no_file_name_goes_on_chain() {
    let w = World::new(sample_data(1_000, 11));

    // The title is public: an offer without one is refused, and the file's name goes nowhere.
    let file = w.dir.join("secret-name.csv");
    std::fs::write(&file, b"a,b\n1,2\n").unwrap();
    let path = file.to_str().unwrap();
    for args in [
        vec!["offer", "create", path],
        vec!["sell", path, "--storage", &w.storage.url],
    ] {
        let mut args = args;
        args.extend([
            "--price",
            "100ucsn",
            "--from",
            "alice",
            "--contract",
            &w.market,
        ]);
        let out = w.consign(&args);
        assert!(!out.status.success(), "{args:?} succeeded without --title");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--title") && err.contains("public"), "{err}");
    }
    let offers = w.consign(&["offer", "list", "--contract", &w.market, "--output", "json"]);
    let offers = ok_json(&offers).to_string();
    assert!(!offers.contains("secret-name"), "{offers}");
}

#[test]
fn a_strangers_empty_request_never_makes_the_inbox_confirm() {
    let w = World::new(sample_data(50_000, 9));
    let recipient = w.age_key("buyer");
    let dir = w.dir.join("inbox");

    // The buyer's inbox runs without --confirm: it saves, and deliberately does not confirm.
    let mut inbox = Inbox::start(&w.node, &dir, "127.0.0.1:0", &inbox_flags(&w, &[]));
    let id = buy(
        &w.node,
        &w.market,
        w.sold.offer_id,
        &format!("{}/", inbox.url),
        &recipient,
    )
    .unwrap()
    .purchase_id;
    inbox.wait_for("saved", id);
    inbox.stop();
    assert_eq!(w.purchase(id)["state"], "held");

    // Later it runs with --confirm. A stranger posts the purchase's headers with an empty body:
    // answered as a duplicate, and nothing is sent on-chain (stopping finishes every queued
    // confirmation first, so one would show).
    let mut inbox = Inbox::start(
        &w.node,
        &dir,
        "127.0.0.1:0",
        &inbox_flags(&w, &["--confirm"]),
    );
    let (status, answer) = post(
        &inbox.url,
        &w.market,
        id,
        &w.sold,
        &w.sold.sha256,
        Vec::new(),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "duplicate", "{answer}");
    inbox.wait_for("duplicate", id);
    inbox.stop();
    let confirmations: Vec<Value> = inbox
        .events()
        .into_iter()
        .filter(|e| e["event"] == "confirmed" || e["event"] == "confirm_failed")
        .collect();
    assert!(confirmations.is_empty(), "{confirmations:?}");
    assert_eq!(
        w.purchase(id)["state"],
        "held",
        "a stranger released the escrow"
    );
}

#[test]
fn a_reception_cut_by_kill_9_leaves_no_part_file_after_a_restart() {
    let w = World::new(sample_data(100_000, 10));
    let recipient = w.age_key("buyer");
    let dir = w.dir.join("inbox");
    let inbox = Inbox::start(&w.node, &dir, "127.0.0.1:0", &inbox_flags(&w, &[]));

    // A purchase whose real delivery goes nowhere; a trickling sender is mid-reception.
    let nowhere = format!("http://127.0.0.1:{}/", free_port());
    let id = buy(&w.node, &w.market, w.sold.offer_id, &nowhere, &recipient)
        .unwrap()
        .purchase_id;
    let mut sender = Trickle::start(&inbox.url, &w, id);
    let out = inbox.out.clone();
    wait_until(
        TIMEOUT,
        Some(&mut sender),
        "a .part file is being written",
        || !part_files(&out).is_empty(),
    );

    // kill -9 (dropping the process handle kills it with SIGKILL): the .part file stays.
    drop(inbox);
    drop(sender);
    assert_eq!(part_files(&out).len(), 1, "{:?}", part_files(&out));

    // Restarted, it removes it before it listens.
    std::fs::remove_file(dir.join("inbox.url")).unwrap();
    let inbox = Inbox::start(&w.node, &dir, "127.0.0.1:0", &inbox_flags(&w, &[]));
    assert!(
        part_files(&inbox.out).is_empty(),
        "{:?}",
        part_files(&inbox.out)
    );
}

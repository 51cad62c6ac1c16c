//! k-of-n custody end to end (issue 14), every part a real process: `consign sell --threshold`
//! spreads a file over real storage nodes, `consign buy` commits, the nodes that are up each
//! push their piece to a real `consign inbox`, which rebuilds, verifies, saves and confirms.
//! With `n − k` nodes stopped the data still arrives; with `n − k + 1` it does not and the buyer
//! disputes. No single node's data directory decrypts to anything of the plaintext. A node
//! killed with `kill -9` mid-fragment delivers that fragment once after its restart.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use consign_client::storage::delivery_headers as h;
use consign_custody::{rebuild_key, Assembly, Commitments, KeyShare};
use consign_tests::inbox::{Inbox, TIMEOUT};
use consign_tests::{
    buy, consign_bin, deploy_data_sale, ok_json, sample_data, show_purchase, DevNode, Receiver,
    ReceiverBehaviour, Seller, StorageNode, TcpProxy,
};
use serde_json::Value;

/// A chain with the market, `n` storage nodes allowed to deliver to loopback, and a funded
/// seller.
struct World {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    node: DevNode,
    market: String,
    storage: Vec<StorageNode>,
    seller: Seller,
}

impl World {
    fn new(n: usize) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let node = DevNode::start(&dir.join("chain")).unwrap();
        let market = deploy_data_sale(&node).unwrap();
        let storage = (0..n)
            .map(|i| {
                StorageNode::start(
                    &dir.join(format!("storage-{i}")),
                    &node.url,
                    &["--allow-private-egress"],
                )
                .unwrap()
            })
            .collect();
        let seller = Seller::new(&node, &dir.join("seller")).unwrap();
        World {
            _tmp: tmp,
            dir,
            node,
            market,
            storage,
            seller,
        }
    }

    /// `consign sell FILE --storage … --threshold K` as the seller over the nodes `nodes`.
    fn sell(&self, name: &str, data: &[u8], k: u16, nodes: &[usize]) -> std::process::Output {
        let urls: Vec<String> = nodes.iter().map(|&i| self.storage[i].url.clone()).collect();
        let args = self.sell_args(name, data, k, &urls);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.seller.consign(&self.node, &args).unwrap()
    }

    /// The arguments of `consign sell FILE --threshold K --storage URL…` as the seller over
    /// `urls`, FILE written with `data`, the answer as JSON.
    fn sell_args(&self, name: &str, data: &[u8], k: u16, urls: &[String]) -> Vec<String> {
        let file = self.dir.join(name);
        std::fs::write(&file, data).unwrap();
        let mut args = vec![
            "sell".to_owned(),
            file.to_str().unwrap().to_owned(),
            "--threshold".into(),
            k.to_string(),
            "--price".into(),
            "100ucsn".into(),
            "--title".into(),
            name.into(),
            "--from".into(),
            "seller".into(),
            "--contract".into(),
            self.market.clone(),
            "--output".into(),
            "json".into(),
        ];
        for url in urls {
            args.push("--storage".into());
            args.push(url.clone());
        }
        args
    }

    /// As [`World::sell`], expecting success: the offer id.
    fn sold(&self, name: &str, data: &[u8], k: u16, nodes: &[usize]) -> u64 {
        let sold = ok_json(&self.sell(name, data, k, nodes));
        assert_eq!(sold["registered"], true, "{sold}");
        sold["offer_id"].as_u64().unwrap()
    }

    /// The buyer's `consign inbox` (bob, age key `buyer`) on a free port with `extra` flags,
    /// and the recipient to buy to.
    fn inbox(&self, extra: &[&str]) -> (Inbox, String) {
        let recipient = self.node.age_key("buyer").unwrap();
        let mut args = vec![
            "--age-key",
            "buyer",
            "--contract",
            &self.market,
            "--from",
            "bob",
        ];
        args.extend_from_slice(extra);
        let inbox = Inbox::start(&self.node, &self.dir.join("inbox"), "127.0.0.1:0", &args);
        (inbox, recipient)
    }

    fn offers(&self) -> Value {
        ok_json(
            &self
                .node
                .consign(&[
                    "offer",
                    "list",
                    "--contract",
                    &self.market,
                    "--output",
                    "json",
                ])
                .unwrap(),
        )
    }

    fn purchase(&self, id: u64) -> Value {
        show_purchase(&self.node, &self.market, id).unwrap()
    }

    /// The offer's custody commitments, as the contract returns them.
    fn commitments(&self, offer_id: u64) -> Commitments {
        let offer = ok_json(
            &self
                .node
                .consign(&[
                    "offer",
                    "show",
                    &offer_id.to_string(),
                    "--contract",
                    &self.market,
                    "--output",
                    "json",
                ])
                .unwrap(),
        );
        serde_json::from_value(offer["custody"].clone()).unwrap()
    }
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The saved file for `purchase_id` in the inbox's output directory, once.
fn saved(inbox: &Inbox, purchase_id: u64) -> Vec<u8> {
    let event = inbox.wait_for("saved", purchase_id);
    let path = event["path"].as_str().unwrap_or_else(|| panic!("{event}"));
    std::fs::read(path).unwrap()
}

#[test]
fn a_seller_is_refused_before_anything_goes_on_chain() {
    let w = World::new(2);
    let data = sample_data(10_000, 1);
    let (a, b) = (w.storage[0].url.clone(), w.storage[1].url.clone());
    let file = w.dir.join("data.bin");
    std::fs::write(&file, &data).unwrap();
    let sell = |extra: &[&str]| {
        let mut args = vec![
            "sell",
            file.to_str().unwrap(),
            "--price",
            "100ucsn",
            "--title",
            "data",
            "--from",
            "seller",
            "--contract",
            &w.market,
        ];
        args.extend_from_slice(extra);
        let out = w.seller.consign(&w.node, &args).unwrap();
        assert!(!out.status.success(), "{extra:?} was accepted");
        stderr(&out)
    };

    let err = sell(&["--storage", &a, "--storage", &b, "--threshold", "3"]);
    assert!(
        err.contains("threshold 3 of 2") && err.contains("from 1 to 2"),
        "{err}"
    );
    let err = sell(&["--storage", &a, "--storage", &b, "--threshold", "0"]);
    assert!(err.contains("threshold 0 of 2"), "{err}");
    let err = sell(&["--storage", &a, "--storage", &b]);
    assert!(err.contains("--threshold"), "{err}");
    // One node twice, once by another name: it would hold two pieces.
    let same = a.replace("127.0.0.1", "localhost");
    let err = sell(&["--storage", &a, "--storage", &same, "--threshold", "2"]);
    assert!(err.contains("same storage node"), "{err}");
    // A node that takes nothing: no fragment goes anywhere else for nothing, and no offer.
    let gone = format!("http://127.0.0.1:{}", free_port());
    let err = sell(&["--storage", &a, "--storage", &gone, "--threshold", "1"]);
    assert!(err.contains(&gone), "{err}");
    assert_eq!(w.offers()["offers"], serde_json::json!([]));
}

#[test]
fn any_k_of_n_nodes_deliver_and_fewer_cannot() {
    let mut w = World::new(5);
    // Random bytes, not `sample_data`'s period-256 pattern: any window of it would be found
    // in any other file of the same pattern, and the scan below looks for windows.
    let one = random_data(150_000, 2);
    let two_of_three = random_data(700_000, 3);
    let three_of_five = random_data(1_300_000, 4);
    let whole = w.sold("whole.bin", &one, 1, &[0]);
    let a = w.sold("two-of-three.bin", &two_of_three, 2, &[0, 1, 2]);
    let b = w.sold("three-of-five.bin", &three_of_five, 3, &[0, 1, 2, 3, 4]);
    std::fs::remove_dir_all(&w.seller.home).unwrap();

    // The offers say k, n and the commitments; nothing names a storage node.
    let offers = w.offers().to_string();
    for node in &w.storage {
        assert!(!offers.contains(&node.url), "{offers}");
    }
    assert_eq!(w.commitments(a).params().k(), 2);
    assert_eq!(w.commitments(b).params().n(), 5);

    let (inbox, recipient) = w.inbox(&["--confirm"]);
    let buy = |offer: u64| {
        buy(&w.node, &w.market, offer, &inbox.url, &recipient)
            .unwrap()
            .purchase_id
    };

    // n − k nodes down before the purchase: (1, 1) none, (2, 3) one, (3, 5) two.
    let p = buy(whole);
    assert_eq!(saved(&inbox, p), one);
    w.storage[1].stop().unwrap();
    let p = buy(a);
    assert_eq!(saved(&inbox, p), two_of_three);
    inbox.wait_for("confirmed", p);
    w.storage[3].stop().unwrap();
    let p = buy(b);
    assert_eq!(saved(&inbox, p), three_of_five);
    inbox.wait_for("confirmed", p);
    assert_eq!(w.purchase(p)["state"], "released");
    assert_eq!(inbox.saved_files().len(), 3, "{:?}", inbox.saved_files());

    // n − k + 1 down: the two left deliver, the inbox holds two of three and says so; the
    // buyer disputes within the release window.
    w.storage[4].stop().unwrap();
    let p = buy(b);
    let deadline = Instant::now() + TIMEOUT;
    let held = loop {
        let events = inbox.events();
        let held = events
            .iter()
            .filter(|e| e["event"] == "piece" && e["purchase_id"] == p)
            .map(|e| e["held"].clone())
            .find(|held| held["fragments"].as_array().map_or(0, Vec::len) == 2);
        if let Some(held) = held {
            break held;
        }
        assert!(Instant::now() < deadline, "no 2-of-3 report: {events:?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(held["fragments_needed"], 1, "{held}");
    assert_eq!(held["shares_needed"], 1, "{held}");
    assert_eq!(held["waiting_for"], serde_json::json!([1, 3, 4]), "{held}");
    assert_eq!(inbox.saved_files().len(), 3);
    let disputed = w
        .node
        .consign(&[
            "purchase",
            "dispute",
            &p.to_string(),
            "--reason",
            "2 of the 3 pieces needed arrived",
            "--from",
            "bob",
            "--contract",
            &w.market,
        ])
        .unwrap();
    assert!(disputed.status.success(), "{}", stderr(&disputed));
    assert_eq!(w.purchase(p)["state"], "disputed");

    // No single node's data directory decrypts to anything of the k-of-n data (node 0 also
    // holds the whole-file offer, which it can read: that is what k = n = 1 means), and the
    // one share of an offer each keeps rebuilds no key.
    let custody = [
        (a, w.commitments(a), vec![0, 1, 2]),
        (b, w.commitments(b), vec![0, 1, 2, 3, 4]),
    ];
    for (i, node) in w.storage.iter().enumerate() {
        let shares = assert_holds_nothing_readable(node.dir(), &[&two_of_three, &three_of_five], i);
        for (offer, commitments, nodes) in &custody {
            let own: Vec<KeyShare> = shares
                .iter()
                .filter(|s| s.set_id() == commitments.set_id())
                .cloned()
                .collect();
            let expected = usize::from(nodes.contains(&i));
            assert_eq!(own.len(), expected, "node {i}'s shares of offer {offer}");
            if let Some(share) = own.first() {
                let err = rebuild_key(commitments, std::slice::from_ref(share)).unwrap_err();
                assert!(err.to_string().contains("share"), "{err}");
            }
        }
    }
}

/// Every key in a storage node's directory (its at-rest identity) tried against everything it
/// stores: the fragments it opens are age ciphertext to a key it does not hold, and no 64-byte
/// window of any plaintext appears in any file, decrypted or not. Returns the key shares sealed
/// to it that its files hold.
fn assert_holds_nothing_readable(dir: &Path, plaintexts: &[&[u8]], node: usize) -> Vec<KeyShare> {
    let key_text = std::fs::read_to_string(dir.join("at-rest.key")).unwrap();
    let at_rest: age::x25519::Identity = key_text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap()
        .parse()
        .unwrap();
    let mut files = Vec::new();
    collect_files(dir, &mut files);
    let mut opened = Vec::new();
    let mut shares: Vec<KeyShare> = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        if let Some(plain) = open_with(&bytes, &at_rest) {
            opened.push(plain);
        }
        shares.extend(sealed_shares(&bytes, &at_rest));
        opened.push(bytes);
    }
    let fragments: Vec<&Vec<u8>> = opened
        .iter()
        .filter(|b| b.starts_with(&consign_custody::MAGIC))
        .collect();
    assert!(!fragments.is_empty(), "node {node} holds no fragment");
    for bytes in &opened {
        for plaintext in plaintexts {
            for window in plaintext.chunks(64).step_by(97) {
                assert!(
                    window.len() < 64 || !contains(bytes, window),
                    "node {node} holds plaintext"
                );
            }
        }
    }
    // A fragment's shards (the first of a data fragment starts with the ciphertext's age
    // header): the node's own key does not open them.
    for fragment in &fragments {
        let body = &fragment[consign_custody::HEADER_LEN..];
        assert!(open_with(body, &at_rest).is_none(), "node {node}");
    }
    shares
}

fn collect_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_files(&path, into);
        } else {
            into.push(path);
        }
    }
}

fn open_with(bytes: &[u8], identity: &age::x25519::Identity) -> Option<Vec<u8>> {
    use std::io::Read as _;
    let decryptor = age::Decryptor::new_buffered(bytes).ok()?;
    let mut reader = decryptor
        .decrypt(std::iter::once(identity as &dyn age::Identity))
        .ok()?;
    let mut plain = Vec::new();
    reader.read_to_end(&mut plain).ok()?;
    Some(plain)
}

/// Every base64 run in `bytes` long enough to be a sealed share that opens with `identity`.
fn sealed_shares(bytes: &[u8], identity: &age::x25519::Identity) -> Vec<KeyShare> {
    let is_b64 = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=');
    bytes
        .split(|b| !is_b64(b))
        .filter(|run| run.len() >= 200)
        .filter_map(|run| KeyShare::open(std::str::from_utf8(run).ok()?, identity).ok())
        .collect()
}

fn random_data(len: usize, seed: u64) -> Vec<u8> {
    use rand::{RngCore as _, SeedableRng as _};
    let mut data = vec![0; len];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut data);
    data
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_node_killed_mid_fragment_delivers_it_once_after_its_restart() {
    let mut w = World::new(3);
    // 24 MiB read slowly by the buyer: each 12 MiB fragment takes seconds, so it can be cut.
    let plaintext = sample_data(24 << 20, 5);
    let offer = w.sold("big.bin", &plaintext, 2, &[0, 1, 2]);
    let commitments = w.commitments(offer);
    let receiver = Receiver::start(ReceiverBehaviour {
        delay_per_chunk: Some(Duration::from_millis(2)),
        ..ReceiverBehaviour::default()
    })
    .unwrap();
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    buy(&w.node, &w.market, offer, &receiver.url(), &recipient).unwrap();

    let deadline = Instant::now() + TIMEOUT;
    while receiver.bytes_read() < 4 << 20 {
        assert!(Instant::now() < deadline, "{}", w.storage[0].log());
        std::thread::sleep(Duration::from_millis(5));
    }
    w.storage[0].kill9();
    w.storage[0].restart().unwrap();
    let received = receiver.wait_for(3, Duration::from_secs(120)).unwrap();
    let mut indexes: Vec<&str> = received
        .iter()
        .map(|r| r.headers[h::CUSTODY_INDEX].as_str())
        .collect();
    indexes.sort_unstable();
    assert_eq!(indexes, ["0", "1", "2"], "each piece once");

    // The pieces rebuild the exact bytes; and a restart sends nothing again.
    let spool = tempfile::tempdir().unwrap();
    let mut assembly = Assembly::open(commitments, spool.path()).unwrap();
    for piece in &received {
        let body = open_with(piece.body.as_ref().unwrap(), &identity).unwrap();
        assembly.add_fragment(&body[..]).unwrap();
        let share = KeyShare::open(&piece.headers[h::KEY_SHARE], &identity).unwrap();
        assembly.add_share(share).unwrap();
    }
    let mut rebuilt = Vec::new();
    assembly.rebuild(&mut rebuilt).unwrap();
    assert!(rebuilt == plaintext, "the rebuilt data differs");
    w.storage[0].stop().unwrap();
    w.storage[0].restart().unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(receiver.received().len(), 3);
}

/// `consign sell` over `urls` with `--register-timeout timeout`, the `proxy` in front of one of
/// them taken down as soon as the uploads are done (before the offer and the registrations),
/// and brought back `back_after` later if given. The command's output, its stderr included.
fn sell_cut_off(
    w: &World,
    proxy: &mut TcpProxy,
    (name, data): (&str, &[u8]),
    urls: &[String],
    timeout: &str,
    back_after: Option<Duration>,
) -> std::process::Output {
    let mut args = w.sell_args(name, data, 2, urls);
    args.extend(["--register-timeout".to_owned(), timeout.to_owned()]);
    let mut child = Command::new(consign_bin())
        .args(&args)
        .args(["--node", w.node.url.as_str(), "--home"])
        .arg(&w.seller.home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = String::new();
    for line in std::io::BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.starts_with("uploaded ") {
            proxy.pause();
            if let Some(after) = back_after {
                std::thread::sleep(after);
                proxy.resume().unwrap();
            }
        }
        stderr.push_str(&line);
        stderr.push('\n');
    }
    let mut out = child.wait_with_output().unwrap();
    out.stderr = stderr.into_bytes();
    out
}

/// A storage node that goes away between the upload and its registration (a restart, a cut
/// link): `consign sell` retries it with backoff. Back in time, it is registered like the
/// others. Away for longer than `--register-timeout`, its piece — the share sealed to that node —
/// is kept on the seller's machine (owner-only, nothing else there), the command says so and
/// fails, and `consign offer register OFFER` registers it once the node is back: the piece
/// then delivers, with another node down, and the kept file is gone.
#[test]
fn a_piece_whose_node_went_away_is_kept_sealed_and_registered_once_it_is_back() {
    let mut w = World::new(3);
    let addr = w.storage[2]
        .url
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let mut proxy = TcpProxy::start(addr).unwrap();
    let urls = [
        w.storage[0].url.clone(),
        w.storage[1].url.clone(),
        proxy.url(),
    ];
    let pending_dir = w.seller.home.join("custody-pending");

    // Back within the timeout: retried, registered, nothing kept.
    let brief = random_data(200_000, 7);
    let back = Some(Duration::from_millis(1500));
    let out = sell_cut_off(&w, &mut proxy, ("brief.bin", &brief), &urls, "30s", back);
    let sold = ok_json(&out);
    assert_eq!(sold["registered"], true, "{}", stderr(&out));
    assert!(stderr(&out).contains("trying again"), "{}", stderr(&out));
    assert_eq!(std::fs::read_dir(&pending_dir).unwrap().count(), 0);

    // Away for longer: two pieces registered, the third kept for later.
    let late = random_data(300_000, 8);
    let out = sell_cut_off(&w, &mut proxy, ("late.bin", &late), &urls, "1s", None);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    let sold: Value = serde_json::from_slice(&out.stdout).unwrap();
    let offer = sold["offer_id"].as_u64().unwrap();
    let registered: Vec<bool> = (0..3)
        .map(|i| sold["storage"][i]["registered"].as_bool().unwrap())
        .collect();
    assert_eq!(registered, [true, true, false], "{sold}");
    assert!(
        err.contains(&format!("consign offer register {offer} --from seller")),
        "{err}"
    );
    let set_id = w.commitments(offer).set_id().to_string();
    let kept = pending_dir.join(format!("{set_id}.json"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&kept).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let pieces: Value = serde_json::from_slice(&std::fs::read(&kept).unwrap()).unwrap();
    assert_eq!(pieces["pieces"].as_array().unwrap().len(), 1, "{pieces}");
    assert_eq!(pieces["pieces"][0]["index"], 2);
    assert!(
        pieces["pieces"][0]["sealed_share"]
            .as_str()
            .unwrap()
            .starts_with("YWdlLWVuY3J5cHRpb24ub3JnL3Yx"),
        "age, in base64: {pieces}"
    );

    // Still away: the retry fails and keeps the piece; a k-of-n offer takes no FILE.
    let register = |extra: &[&str]| {
        let offer = offer.to_string();
        let mut args = vec![
            "offer",
            "register",
            &offer,
            "--from",
            "seller",
            "--contract",
            &w.market,
            "--register-timeout",
            "1s",
            "--output",
            "json",
        ];
        args.extend_from_slice(extra);
        w.seller.consign(&w.node, &args).unwrap()
    };
    let out = register(&[]);
    assert!(!out.status.success(), "{}", stderr(&out));
    assert!(kept.exists());
    let out = register(&["--storage", &urls[2]]);
    assert!(
        stderr(&out).contains("give neither FILE nor --storage"),
        "{}",
        stderr(&out)
    );

    // Back: registered, nothing kept; and that piece delivers with node 0 down.
    proxy.resume().unwrap();
    let out = register(&[]);
    assert_eq!(ok_json(&out)["registered"], true, "{}", stderr(&out));
    assert!(!kept.exists());
    let out = register(&[]);
    assert!(
        stderr(&out).contains("no piece of offer"),
        "{}",
        stderr(&out)
    );

    w.storage[0].stop().unwrap();
    let (inbox, recipient) = w.inbox(&[]);
    let p = buy(&w.node, &w.market, offer, &inbox.url, &recipient)
        .unwrap()
        .purchase_id;
    assert_eq!(saved(&inbox, p), late);
}

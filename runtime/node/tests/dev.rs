//! `consign dev` as a real process: started on a free port in a temporary home, driven over
//! its HTTP API, stopped with SIGTERM and restarted on the same home.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use consign_client::{coins, CheckResult, Msg, NodeStatus, SecretKey, Tx, TxBody, TxResult};
use serde_json::Value;

const CHAIN_ID: &str = "consign-dev";
const DEV_FUNDS: u128 = 1_000_000_000_000;
const STARTUP: Duration = Duration::from_secs(60);

/// A running `consign dev`; killed when dropped (a test that failed must not leave it behind).
struct DevNode {
    child: Option<Child>,
    url: String,
    /// The JSON object it printed on start.
    started: Value,
}

impl DevNode {
    /// Starts `consign dev` in `home` on a free port and waits until it serves.
    fn start(home: &Path, block_time: &str) -> Self {
        let url_file = home.join("api.url");
        let _ = std::fs::remove_file(&url_file);
        let mut child = Command::new(env!("CARGO_BIN_EXE_consign"))
            .args([
                "--output",
                "json",
                "dev",
                "--api",
                "127.0.0.1:0",
                "--block-time",
            ])
            .arg(block_time)
            .arg("--home")
            .arg(home)
            .env_remove("CONSIGN_HOME")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawning consign dev");
        let deadline = Instant::now() + STARTUP;
        let url = loop {
            if let Ok(text) = std::fs::read_to_string(&url_file) {
                if text.ends_with('\n') {
                    break text.trim().to_owned();
                }
            }
            if let Some(status) = child.try_wait().expect("polling consign dev") {
                panic!("consign dev exited before serving: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "consign dev did not write {} within {STARTUP:?}",
                url_file.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        // The summary is printed right after api.url is written.
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("reading the start summary");
        let started: Value = serde_json::from_str(&line).expect("the start summary is JSON");
        Self {
            child: Some(child),
            url,
            started,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Stops it with SIGTERM and checks that it exits 0.
    fn stop(mut self) {
        let mut child = self.child.take().expect("running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().expect("polling consign dev") {
                assert!(
                    status.success(),
                    "consign dev exited with {status} on SIGTERM"
                );
                return;
            }
            assert!(
                Instant::now() < deadline,
                "consign dev did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for DevNode {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn bank_send(from: &SecretKey, to: &str, amount: u128, sequence: u64, gas_limit: u64) -> Tx {
    Tx::sign(
        TxBody {
            chain_id: CHAIN_ID.into(),
            sender: from.address(),
            sequence,
            gas_limit,
            fee: vec![],
            memo: String::new(),
            messages: vec![Msg::BankSend {
                to: to.into(),
                amount: coins(amount, "ucsn"),
            }],
        },
        from,
    )
}

/// POSTs the transaction's bytes to `/txs`; returns the status and the JSON body.
async fn broadcast(
    http: &reqwest::Client,
    node: &DevNode,
    bytes: Vec<u8>,
    mode: &str,
) -> (u16, Value) {
    let response = http
        .post(node.url(&format!("/txs?mode={mode}")))
        .header("content-type", "application/json")
        .body(bytes)
        .send()
        .await
        .expect("POST /txs");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
}

async fn get(http: &reqwest::Client, node: &DevNode, path: &str) -> (u16, Value) {
    let response = http.get(node.url(path)).send().await.expect("GET");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
}

async fn balance(http: &reqwest::Client, node: &DevNode, address: &str) -> u128 {
    let (status, body) = get(http, node, &format!("/accounts/{address}/balances")).await;
    assert_eq!(status, 200, "{body}");
    let balances: consign_client::BalancesResponse =
        serde_json::from_value(body).expect("balances");
    balances.amount_of("ucsn")
}

/// `POST path` with `headers` (each ending in CRLF) and no body, written by hand, so that no
/// client adds a Content-Length; the status and the JSON body of the answer.
fn post_raw(node: &DevNode, path: &str, headers: &str) -> (u16, Value) {
    use std::io::{Read, Write};
    let authority = node.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(authority).expect("connecting to the node");
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n{headers}\r\n"
    )
    .expect("sending the request");
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .expect("reading the answer");
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer}"));
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    let body = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"));
    (status, body)
}

fn error_of(body: &Value) -> &str {
    body["error"].as_str().expect("an error message")
}

fn temp_home() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path().join("home");
    (dir, home)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bank_send_commits_and_every_refusal_says_why() {
    let (_dir, home) = temp_home();
    let node = DevNode::start(&home, "0");
    let http = reqwest::Client::new();
    let alice = SecretKey::from_seed("alice");
    let bob = SecretKey::from_seed("bob");
    assert_eq!(node.started["chain_id"], CHAIN_ID);
    assert_eq!(node.started["accounts"][0]["name"], "alice");
    assert_eq!(node.started["accounts"][0]["address"], alice.address());
    assert!(home.join("keys/alice.json").exists());

    let (status, body) = get(&http, &node, "/status").await;
    assert_eq!(status, 200);
    let status_body: NodeStatus = serde_json::from_value(body).expect("NodeStatus");
    assert_eq!(status_body.chain_id, CHAIN_ID);
    assert_eq!(status_body.height, 0);
    assert_eq!(status_body.next_delivery_sequence, 1);

    // A bank send, waiting for its commit.
    let tx = bank_send(&alice, &bob.address(), 1_000, 0, 200_000);
    let bytes = tx.to_bytes();
    let (status, body) = broadcast(&http, &node, bytes.clone(), "commit").await;
    assert_eq!(status, 200, "{body}");
    let result: TxResult = serde_json::from_value(body).expect("TxResult");
    assert_eq!(result.code, 0, "{}", result.log);
    assert_eq!(result.txhash, Tx::hash(&bytes));
    assert_eq!(result.height, 1);
    assert!(result.gas_used > 0 && result.gas_used <= 200_000);
    assert_eq!(
        balance(&http, &node, &bob.address()).await,
        DEV_FUNDS + 1_000
    );
    assert_eq!(
        balance(&http, &node, &alice.address()).await,
        DEV_FUNDS - 1_000
    );
    let (status, body) = get(&http, &node, &format!("/txs/{}", result.txhash)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["code"], 0);
    let (status, body) = get(&http, &node, "/blocks/latest").await;
    assert_eq!(status, 200);
    assert_eq!(body["header"]["height"], 1);
    assert_eq!(body["txs"][0], result.txhash.to_string());

    // The same transaction again: a replay.
    let (status, body) = broadcast(&http, &node, bytes, "commit").await;
    assert_eq!(status, 400, "{body}");
    assert!(error_of(&body).contains("sequence mismatch"), "{body}");
    assert_eq!(body["code"], 32);
    assert_eq!(body["txhash"], result.txhash.to_string());

    // A signature over another body.
    let mut forged = bank_send(&alice, &bob.address(), 1, 1, 200_000);
    forged.body.messages = vec![Msg::BankSend {
        to: bob.address(),
        amount: coins(1_000_000, "ucsn"),
    }];
    let (status, body) = broadcast(&http, &node, forged.to_bytes(), "sync").await;
    assert_eq!(status, 400, "{body}");
    assert!(error_of(&body).contains("bad signature"), "{body}");

    // Too little gas to even start.
    let starved = bank_send(&alice, &bob.address(), 1, 1, 1);
    let (status, body) = broadcast(&http, &node, starved.to_bytes(), "sync").await;
    assert_eq!(status, 400, "{body}");
    assert!(error_of(&body).contains("gas limit"), "{body}");

    // More than alice has: committed, failed, and the sequence used up.
    let greedy = bank_send(&alice, &bob.address(), 2 * DEV_FUNDS, 1, 200_000);
    let (status, body) = broadcast(&http, &node, greedy.to_bytes(), "commit").await;
    assert_eq!(status, 200, "{body}");
    let failed: TxResult = serde_json::from_value(body).expect("TxResult");
    assert_ne!(failed.code, 0);
    assert!(failed.log.contains("insufficient funds"), "{}", failed.log);
    assert_eq!(
        balance(&http, &node, &alice.address()).await,
        DEV_FUNDS - 1_000
    );
    let (_, account) = get(&http, &node, &format!("/accounts/{}", alice.address())).await;
    assert_eq!(account["sequence"], 2);

    // Consecutive sequences from one sender before any commit; the account's sequence counts
    // the pending ones.
    let first = bank_send(&alice, &bob.address(), 1, 2, 200_000).to_bytes();
    let second = bank_send(&alice, &bob.address(), 1, 3, 200_000).to_bytes();
    let (s1, b1) = broadcast(&http, &node, first, "sync").await;
    let (s2, b2) = broadcast(&http, &node, second.clone(), "sync").await;
    assert_eq!((s1, s2), (200, 200), "{b1} {b2}");
    let checked: CheckResult = serde_json::from_value(b2).expect("CheckResult");
    assert_eq!(checked.code, 0);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = get(&http, &node, &format!("/txs/{}", checked.txhash)).await;
        if status == 200 {
            assert_eq!(body["code"], 0, "{body}");
            break;
        }
        assert_eq!(status, 404, "{body}");
        assert!(
            Instant::now() < deadline,
            "the second transaction was never committed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        balance(&http, &node, &alice.address()).await,
        DEV_FUNDS - 1_002
    );

    // Errors are JSON and say what to fix.
    let (status, body) = get(&http, &node, "/no/such/route").await;
    assert_eq!(status, 404);
    assert!(error_of(&body).contains("no such route"), "{body}");
    let (status, body) = broadcast(&http, &node, b"not a transaction".to_vec(), "sync").await;
    assert_eq!(status, 400);
    assert!(error_of(&body).contains("malformed transaction"), "{body}");
    let (status, body) = broadcast(&http, &node, b"{}".to_vec(), "fast").await;
    assert_eq!(status, 400);
    assert!(error_of(&body).contains("invalid query string"), "{body}");
    let (status, body) = get(&http, &node, "/accounts/nonsense/balances").await;
    assert_eq!(status, 400);
    assert!(error_of(&body).contains("invalid address"), "{body}");
    let (status, body) = get(&http, &node, &format!("/txs/{}", "AB".repeat(32))).await;
    assert_eq!(status, 404);
    assert!(
        error_of(&body).contains("no committed transaction"),
        "{body}"
    );
    let (status, body) = get(&http, &node, "/blocks/999").await;
    assert_eq!(status, 404, "{body}");
    // A transaction route without a body: a 400 that says what to send (the simulation's was a
    // 405, as if it took no POST), with no Content-Length as with `Content-Length: 0`.
    for (path, expected) in [
        (
            "/txs/simulate",
            "POST /txs/simulate takes a transaction as its body",
        ),
        ("/txs", "POST /txs takes a signed transaction as its body"),
    ] {
        for length in ["", "Content-Length: 0\r\n"] {
            let (status, body) = post_raw(&node, path, length);
            assert_eq!(status, 400, "{path} {length:?}: {body}");
            let error = error_of(&body);
            assert!(error.contains("this request had no body"), "{body}");
            assert!(error.contains(expected), "{body}");
        }
    }

    // The delivery feed is empty: a long-poll waits, then answers with nothing new.
    let started = Instant::now();
    let (status, body) = get(&http, &node, "/deliveries?after=0&wait_ms=300").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["deliveries"], serde_json::json!([]));
    assert_eq!(body["next_after"], 0);
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "the long-poll did not wait"
    );
    let (status, body) = get(&http, &node, "/deliveries?after=7").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["next_after"], 7);
    let (status, body) = get(&http, &node, "/deliveries?limit=0").await;
    assert_eq!(status, 400, "{body}");

    node.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_every_committed_block() {
    let (_dir, home) = temp_home();
    let alice = SecretKey::from_seed("alice");
    let carol = SecretKey::from_seed("carol");
    let http = reqwest::Client::new();

    let node = DevNode::start(&home, "0");
    assert_eq!(node.started["new_chain"], true);
    let tx = bank_send(&alice, &carol.address(), 5_000, 0, 200_000);
    let (status, body) = broadcast(&http, &node, tx.to_bytes(), "commit").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["code"], 0, "{body}");
    // Accepted but not yet committed when the stop comes: committed before the node exits.
    let pending = bank_send(&alice, &carol.address(), 7, 1, 200_000).to_bytes();
    let pending_hash = Tx::hash(&pending);
    let (status, body) = broadcast(&http, &node, pending, "sync").await;
    assert_eq!(status, 200, "{body}");
    node.stop();

    let node = DevNode::start(&home, "0");
    assert_eq!(node.started["new_chain"], false);
    let (_, status) = get(&http, &node, "/status").await;
    let status: NodeStatus = serde_json::from_value(status).expect("NodeStatus");
    assert!(status.height >= 1, "{status:?}");
    let (code, body) = get(&http, &node, &format!("/txs/{pending_hash}")).await;
    assert_eq!(
        code, 200,
        "the transaction accepted before the stop was lost: {body}"
    );
    assert_eq!(
        balance(&http, &node, &carol.address()).await,
        DEV_FUNDS + 5_007
    );
    let (_, account) = get(&http, &node, &format!("/accounts/{}", alice.address())).await;
    assert_eq!(account["sequence"], 2);
    for height in 0..=status.height {
        let (code, body) = get(&http, &node, &format!("/blocks/{height}")).await;
        assert_eq!(code, 200, "block {height} is missing: {body}");
    }
    let (_, latest) = get(&http, &node, "/blocks/latest").await;
    assert_eq!(latest["hash"], status.latest_block_hash);

    // The chain goes on from there.
    let tx = bank_send(&alice, &carol.address(), 1, 2, 200_000);
    let (code, body) = broadcast(&http, &node, tx.to_bytes(), "commit").await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["height"], status.height + 1);
    let (_, block) = get(&http, &node, &format!("/blocks/{}", status.height + 1)).await;
    assert_eq!(block["header"]["prev_hash"], status.latest_block_hash);
    node.stop();
}

/// Reads the SSE response until `done` says the text so far is enough.
async fn read_sse_until(response: &mut reqwest::Response, done: impl Fn(&str) -> bool) -> String {
    let mut text = String::new();
    let deadline = Duration::from_secs(30);
    tokio::time::timeout(deadline, async {
        while !done(&text) {
            let chunk = response
                .chunk()
                .await
                .expect("reading the stream")
                .expect("the stream ended");
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the stream did not deliver in time; got:\n{text}"));
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_follow_blocks_and_empty_blocks_keep_coming() {
    let (_dir, home) = temp_home();
    let node = DevNode::start(&home, "100ms");
    let http = reqwest::Client::new();
    let alice = SecretKey::from_seed("alice");

    // Empty blocks every 100 ms.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, status) = get(&http, &node, "/status").await;
        if status["height"].as_u64().expect("height") >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "no empty blocks were made");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let mut events = http
        .get(node.url("/events"))
        .send()
        .await
        .expect("GET /events");
    assert_eq!(events.status(), 200);
    assert_eq!(
        events.headers()["content-type"].to_str().expect("ascii"),
        "text/event-stream"
    );
    let tx = bank_send(&alice, &alice.address(), 1, 0, 200_000);
    let hash = Tx::hash(&tx.to_bytes()).to_string();
    let (status, body) = broadcast(&http, &node, tx.to_bytes(), "commit").await;
    assert_eq!(status, 200, "{body}");
    let tx_event = format!("event:tx\ndata:{{\"txhash\":\"{hash}\"");
    let text = read_sse_until(&mut events, |text| text.contains(&tx_event)).await;
    assert!(text.contains("event:block"), "{text}");
    drop(events);

    // The delivery stream answers with an event stream (this chain has no deliveries yet).
    let stream = http
        .get(node.url("/deliveries/stream?after=0"))
        .send()
        .await
        .expect("GET /deliveries/stream");
    assert_eq!(stream.status(), 200);
    assert_eq!(
        stream.headers()["content-type"].to_str().expect("ascii"),
        "text/event-stream"
    );
    drop(stream);
    let (status, body) = {
        let response = http
            .get(node.url("/deliveries/stream"))
            .header("last-event-id", "soon")
            .send()
            .await
            .expect("GET /deliveries/stream");
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.expect("JSON"))
    };
    assert_eq!(status, 400);
    assert!(error_of(&body).contains("Last-Event-ID"), "{body}");

    node.stop();
}

/// Where `scripts/build-contracts.sh` puts the contracts: `$CONSIGN_CONTRACTS_DIR`, or
/// `target/contracts` in the workspace root.
fn contract_wasm(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("CONSIGN_CONTRACTS_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/contracts"),
        PathBuf::from,
    );
    let path = dir.join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; run scripts/build-contracts.sh first",
            path.display()
        )
    })
}

/// Signs `messages` from `from` with its next sequence and waits for the commit.
async fn commit(
    http: &reqwest::Client,
    node: &DevNode,
    from: &SecretKey,
    messages: Vec<Msg>,
) -> TxResult {
    let (_, account) = get(http, node, &format!("/accounts/{}", from.address())).await;
    let tx = Tx::sign(
        TxBody {
            chain_id: CHAIN_ID.into(),
            sender: from.address(),
            sequence: account["sequence"].as_u64().expect("sequence"),
            gas_limit: 100_000_000,
            fee: vec![],
            memo: String::new(),
            messages,
        },
        from,
    );
    let (status, body) = broadcast(http, node, tx.to_bytes(), "commit").await;
    assert_eq!(status, 200, "{body}");
    let result: TxResult = serde_json::from_value(body).expect("TxResult");
    assert_eq!(result.code, 0, "{}", result.log);
    result
}

fn deliver_msg(contract: &str, purchase_id: u64) -> Msg {
    let msg = serde_json::json!({"deliver": {"instruction": {
        "offer_id": 1,
        "purchase_id": purchase_id,
        "buyer": SecretKey::from_seed("bob").address(),
        "recipient": {
            "endpoint": "https://buyer.example/inbox",
            "key": "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
        },
        "content_sha256": "ab".repeat(32),
        "size": 42
    }}});
    Msg::Execute {
        contract: contract.into(),
        msg: serde_json::to_vec(&msg).expect("json").into(),
        funds: vec![],
    }
}

/// The `id:` lines of an SSE text, in order.
fn event_ids(text: &str) -> Vec<u64> {
    text.lines()
        .filter_map(|line| line.strip_prefix("id:"))
        .map(|id| id.trim().parse().expect("numeric id"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delivery_feed_long_polls_and_streams_in_order() {
    let (_dir, home) = temp_home();
    let node = DevNode::start(&home, "0");
    let http = reqwest::Client::new();
    let alice = SecretKey::from_seed("alice");

    let stored = commit(
        &http,
        &node,
        &alice,
        vec![Msg::StoreCode {
            wasm: contract_wasm("kitchen_sink").into(),
        }],
    )
    .await;
    let code_id = stored.code_id.expect("a code id");
    let (status, code) = get(&http, &node, &format!("/codes/{code_id}")).await;
    assert_eq!(status, 200, "{code}");
    assert_eq!(code["creator"], alice.address());
    let instantiated = commit(
        &http,
        &node,
        &alice,
        vec![Msg::Instantiate {
            code_id,
            msg: b"{}".to_vec().into(),
            funds: vec![],
            label: "sink".into(),
            admin: None,
        }],
    )
    .await;
    let sink = instantiated
        .outcome
        .contract_address
        .expect("a contract address");
    let (status, info) = get(&http, &node, &format!("/contracts/{sink}")).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["label"], "sink");
    assert_eq!(info["admin"], Value::Null);

    // Two deliveries, then the long-poll returns both.
    let first = commit(
        &http,
        &node,
        &alice,
        vec![deliver_msg(&sink, 1), deliver_msg(&sink, 2)],
    )
    .await;
    assert_eq!(first.deliveries.len(), 2);
    let (status, page) = get(&http, &node, "/deliveries?after=0").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["next_after"], 2);
    assert_eq!(page["deliveries"][0]["sequence"], 1);
    assert_eq!(page["deliveries"][1]["purchase_id"], 2);
    assert_eq!(page["deliveries"][1]["contract"], sink);
    let (_, page) = get(&http, &node, "/deliveries?after=0&limit=1").await;
    assert_eq!(page["next_after"], 1);

    // A long-poll waiting past the end wakes up for the next delivery.
    let poll = {
        let http = http.clone();
        let url = node.url("/deliveries?after=2&wait_ms=30000");
        tokio::spawn(async move {
            let started = Instant::now();
            let page: Value = http
                .get(url)
                .send()
                .await
                .expect("GET")
                .json()
                .await
                .expect("JSON");
            (page, started.elapsed())
        })
    };
    // A stream resuming after 1 sees 2, then what comes next.
    let mut stream = http
        .get(node.url("/deliveries/stream?after=1"))
        .send()
        .await
        .expect("GET /deliveries/stream");
    let text = read_sse_until(&mut stream, |text| !event_ids(text).is_empty()).await;
    assert_eq!(event_ids(&text), [2]);
    assert!(text.contains("event:delivery"), "{text}");

    commit(&http, &node, &alice, vec![deliver_msg(&sink, 3)]).await;
    let (page, waited) = poll.await.expect("the long-poll task");
    assert_eq!(page["deliveries"][0]["sequence"], 3, "{page}");
    assert_eq!(page["next_after"], 3);
    assert!(
        waited < Duration::from_secs(25),
        "the long-poll was not woken"
    );
    commit(&http, &node, &alice, vec![deliver_msg(&sink, 4)]).await;
    let text = read_sse_until(&mut stream, |text| event_ids(text).len() >= 2).await;
    assert_eq!(event_ids(&text), [3, 4], "after 2, in order, none skipped");
    drop(stream);

    // Last-Event-ID wins over `after`, as a reconnecting EventSource sends it.
    let mut resumed = http
        .get(node.url("/deliveries/stream?after=0"))
        .header("last-event-id", "3")
        .send()
        .await
        .expect("GET /deliveries/stream");
    let text = read_sse_until(&mut resumed, |text| !event_ids(text).is_empty()).await;
    assert_eq!(event_ids(&text), [4]);
    drop(resumed);

    // Smart and raw queries of the contract answer JSON.
    let response = http
        .post(node.url(&format!("/contracts/{sink}/smart")))
        .body("not json")
        .send()
        .await
        .expect("POST smart");
    assert_eq!(response.status(), 400);
    // A smart query of an address where no contract lives is a 404 that says so.
    let nobody = consign_client::SecretKey::from_seed("nobody").address();
    let response = http
        .post(node.url(&format!("/contracts/{nobody}/smart")))
        .body("{}")
        .send()
        .await
        .expect("POST smart");
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.expect("JSON error");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("no contract at"),
        "{body}"
    );
    let (status, raw) = get(&http, &node, &format!("/contracts/{sink}/raw/00ff")).await;
    assert_eq!(status, 200, "{raw}");
    assert_eq!(raw["data"], Value::Null);
    node.stop();
}

//! Errors a person can act on, from the command line against a real `consign dev`: ids that do
//! not exist named as such (not as a storage key), each cause printed once, a failed
//! transaction's reason once on stderr (its JSON on stdout with `--output json`), and a secret
//! key given as a recipient never echoed back.

use std::path::Path;
use std::process::{Command, Output};

use consign_client::{AgeIdentity, SecretKey};
use consign_tests::{consign_at, consign_bin, deploy_data_sale, DevNode};

/// Where no node listens: commands that fail before they need one are run against it.
const NO_NODE: &str = "http://127.0.0.1:9";

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `consign ARGS` from `home` with no node listening at its `--node`.
fn without_node(home: &Path, args: &[&str]) -> Output {
    consign_at(NO_NODE, home, args).expect("consign runs")
}

#[test]
fn ids_that_do_not_exist_are_named_and_a_failed_transaction_says_why_once() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&dir.path().join("node")).unwrap();
    let market = deploy_data_sale(&node).unwrap();

    let shown = node
        .consign(&["offer", "show", "99", "--contract", &market])
        .unwrap();
    assert!(!shown.status.success());
    assert_eq!(stderr(&shown), "error: offer 99 does not exist\n");
    assert_eq!(stdout(&shown), "");

    let shown = node
        .consign(&["purchase", "show", "99", "--contract", &market])
        .unwrap();
    assert!(!shown.status.success());
    let text = stderr(&shown);
    assert!(text.contains("purchase 99 does not exist"), "{text}");
    for old in ["key: [", "not found", "the node answered 400", "kind: "] {
        assert!(!text.contains(old), "{old:?} in {text}");
    }

    // A transaction the contract refuses: the reason once, on stderr; nothing on stdout.
    let confirm = |output: &[&str]| {
        let args = ["purchase", "confirm", "99", "--from", "bob", "--contract"];
        let args: Vec<&str> = args
            .into_iter()
            .chain([market.as_str()])
            .chain(output.iter().copied())
            .collect();
        node.consign(&args).unwrap()
    };
    let confirmed = confirm(&[]);
    assert_eq!(confirmed.status.code(), Some(1), "{}", stderr(&confirmed));
    let text = stderr(&confirmed);
    assert_eq!(
        text.matches("purchase 99 does not exist").count(),
        1,
        "{text}"
    );
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with("error: transaction "), "{text}");
    assert_eq!(stdout(&confirmed), "");

    // With --output json the result is on stdout for scripts, and the reason still once on
    // stderr.
    let confirmed = confirm(&["--output", "json"]);
    assert_eq!(confirmed.status.code(), Some(1));
    let result: serde_json::Value = serde_json::from_str(stdout(&confirmed).trim()).unwrap();
    assert_ne!(result["code"], 0);
    assert!(
        result["log"]
            .as_str()
            .unwrap()
            .contains("purchase 99 does not exist"),
        "{result}"
    );
    let text = stderr(&confirmed);
    assert_eq!(
        text.matches("purchase 99 does not exist").count(),
        1,
        "{text}"
    );
}

#[test]
fn an_io_error_s_cause_is_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.key");
    let address = SecretKey::from_seed("errors").address();
    // The identity is read before the node is needed: nothing listens on port 9.
    let out = dir.path().join("out");
    let output = without_node(
        dir.path(),
        &[
            "inbox",
            "--identity",
            missing.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--contract",
            &address,
            "--buyer",
            &address,
        ],
    );
    assert!(!output.status.success());
    let text = stderr(&output);
    let cause = std::io::Error::from_raw_os_error(2).to_string();
    assert_eq!(
        text,
        format!(
            "error: cannot use --identity: cannot read the age identity file {}: {cause}\n",
            missing.display()
        )
    );
}

#[test]
fn a_secret_key_given_as_recipient_is_not_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&dir.path().join("node")).unwrap();
    let market = deploy_data_sale(&node).unwrap();
    let file = AgeIdentity::generate().to_keygen_file();
    let secret = file
        .lines()
        .find(|line| line.starts_with("AGE-SECRET-KEY-1"))
        .unwrap();
    let bought = node
        .consign(&[
            "buy",
            "1",
            "--deliver-to",
            "http://127.0.0.1:9/",
            "--recipient",
            secret,
            "--amount",
            "100ucsn",
            "--from",
            "bob",
            "--contract",
            &market,
        ])
        .unwrap();
    assert!(!bought.status.success());
    let text = format!("{}{}", stderr(&bought), stdout(&bought));
    let body = &secret["AGE-SECRET-KEY-1".len()..];
    assert!(!text.contains(body), "the secret key was echoed: {text}");
    assert!(!text.contains(&body.to_lowercase()), "{text}");
    assert!(text.contains("secret key"), "{text}");
    assert!(text.contains("age1"), "{text}");
}

#[test]
fn a_file_the_node_would_refuse_is_not_broadcast_and_its_problem_reads_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&dir.path().join("node")).unwrap();
    let not_wasm = dir.path().join("notes.wasm");
    std::fs::write(&not_wasm, "hello").unwrap();
    let alice = SecretKey::from_seed("alice").address();
    let sequence = || {
        let out = node
            .consign(&["query", "account", &alice, "--output", "json"])
            .unwrap();
        let account: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        account["sequence"].as_u64().unwrap()
    };
    let before = sequence();
    let problem = "[invalid-wasm] not a valid wasm module: the file does not start with the wasm \
                   magic bytes 00 61 73 6d (\\0asm) but with 68 65 6c 6c";

    let stored = node
        .consign(&[
            "tx",
            "wasm",
            "store",
            not_wasm.to_str().unwrap(),
            "--from",
            "alice",
        ])
        .unwrap();
    assert_eq!(stored.status.code(), Some(2));
    let text = stderr(&stored);
    assert!(
        text.starts_with(&format!(
            "error: {} breaks the node's upload checks, so nothing was signed or sent:\n  - {problem}",
            not_wasm.display()
        )),
        "{text}"
    );
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(!text.contains("expected=["), "{text}");
    assert_eq!(sequence(), before, "a transaction was sent");

    let checked = Command::new(consign_bin())
        .arg("check")
        .arg(&not_wasm)
        .output()
        .unwrap();
    let text = stdout(&checked);
    assert!(text.contains(problem), "{text}");
    assert_eq!(text.lines().count(), 2, "{text}");
}

#[test]
fn one_of_two_flags_errors_name_both() {
    let dir = tempfile::tempdir().unwrap();
    let address = SecretKey::from_seed("errors").address();
    let run = |args: &[&str]| {
        let args: Vec<&str> = args
            .iter()
            .copied()
            .chain(["--contract", &address])
            .collect();
        let output = without_node(dir.path(), &args);
        assert_eq!(output.status.code(), Some(2));
        stderr(&output)
    };
    let text = run(&["purchase", "resolve", "1", "--from", "carol"]);
    assert!(text.contains("<--release|--refund>"), "{text}");
    let text = run(&[
        "purchase",
        "resolve",
        "1",
        "--from",
        "carol",
        "--release",
        "--refund",
    ]);
    assert!(
        text.contains("--release") && text.contains("--refund"),
        "{text}"
    );
    let text = run(&["purchase", "list"]);
    assert!(
        text.contains("<--buyer <ADDRESS>|--seller <ADDRESS>>"),
        "{text}"
    );
    let out = dir.path().join("out");
    let text = run(&["inbox", "--out", out.to_str().unwrap(), "--buyer", &address]);
    assert!(
        text.contains("<--identity <FILE>|--age-key <NAME>>"),
        "{text}"
    );
}

#[test]
fn https_against_the_plain_http_node_and_a_wrong_service_url_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&dir.path().join("node")).unwrap();
    let https = node.url.replacen("http://", "https://", 1);
    let output = consign_at(&https, node.home(), &["status"]).unwrap();
    assert!(!output.status.success());
    let text = stderr(&output);
    assert!(
        text.contains(
            "the server answered in plain HTTP, not TLS: use an http:// URL instead of https://"
        ),
        "{text}"
    );
    assert!(!text.contains("InvalidContentType"), "{text}");
    assert!(!text.contains("is `consign dev` running?"), "{text}");

    // The chain node's address given as a storage node's: the answer says which server it is,
    // not where its routes are described in this repository.
    let data = dir.path().join("data.txt");
    std::fs::write(&data, "some data").unwrap();
    let market = deploy_data_sale(&node).unwrap();
    let sold = node
        .consign(&[
            "sell",
            data.to_str().unwrap(),
            "--title",
            "t",
            "--price",
            "1ucsn",
            "--from",
            "alice",
            "--contract",
            &market,
            "--storage",
            &node.url,
        ])
        .unwrap();
    assert!(!sold.status.success());
    let text = stderr(&sold);
    assert!(
        text.contains("no such route on this Consign chain node (`consign dev`)"),
        "{text}"
    );
    assert!(text.contains("check its URL"), "{text}");
    assert!(!text.contains("openapi.yaml"), "{text}");
    assert!(!text.contains("runtime/node"), "{text}");
}

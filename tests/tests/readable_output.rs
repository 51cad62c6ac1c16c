//! Readable output (issue 12) against a real `consign dev`: `offer list` and `purchase list` as
//! aligned tables, `offer show`, `purchase show`, `status` and `buy` as `key: value` lines with
//! prices as `100ucsn` and times in local time (`UTC+01` here, from `TZ`), `--output json`
//! unchanged; the result on stdout and the narration on stderr; `purchase claim-refund` with its
//! checks before signing on a market whose arbitration window is a few seconds; and help that
//! lists only the flags a command uses.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use consign_tests::{
    consign_bin, deploy_data_sale, deploy_data_sale_with, dev_address, ok_json, ok_stdout,
    ChainNode, DevNode,
};
use serde_json::Value;

/// A valid age recipient (the example in age's README).
const AGE_RECIPIENT: &str = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
/// A public address that is never contacted (no storage node runs in these tests).
const PUBLIC_ENDPOINT: &str = "https://203.0.114.1:8443/inbox";
/// A fixed zone one hour east of UTC, as a POSIX TZ string, so local times are checkable.
const TZ: &str = "<+01>-1";

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `consign ARGS --node URL --home HOME` in the zone [`TZ`].
fn run(node: &DevNode, args: &[&str]) -> Output {
    Command::new(consign_bin())
        .args(args)
        .args(["--node", &node.url, "--home"])
        .arg(node.home())
        .env("TZ", TZ)
        .stdin(Stdio::null())
        .output()
        .expect("consign runs")
}

/// `consign ARGS --output json` that must succeed.
fn json_of(node: &DevNode, args: &[&str]) -> Value {
    ok_json(&run(node, &[args, &["--output", "json"]].concat()))
}

/// The value of the `key: value` line `key` in `text`.
fn value<'a>(text: &'a str, key: &str) -> &'a str {
    let prefix = format!("{key}: ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no `{key}:` line in:\n{text}"))
}

/// Whether `text` is a local time in [`TZ`]: `2026-12-02 16:04 UTC+01`, or with seconds.
fn is_local_time(text: &str, seconds: bool) -> bool {
    let Some(time) = text.strip_suffix(" UTC+01") else {
        return false;
    };
    let shape = if seconds {
        "dddd-dd-dd dd:dd:dd"
    } else {
        "dddd-dd-dd dd:dd"
    };
    time.len() == shape.len()
        && time.bytes().zip(shape.bytes()).all(|(c, s)| {
            if s == b'd' {
                c.is_ascii_digit()
            } else {
                c == s
            }
        })
}

fn sequence(node: &DevNode, who: &str) -> u64 {
    json_of(node, &["query", "account", &dev_address(who)])["sequence"]
        .as_u64()
        .unwrap()
}

/// alice offers `file` in `market`; returns the offer's id.
fn create_offer(node: &DevNode, market: &str, file: &Path, extra: &[&str]) -> u64 {
    let args = [
        &[
            "offer",
            "create",
            file.to_str().unwrap(),
            "--from",
            "alice",
            "--contract",
            market,
        ],
        extra,
    ]
    .concat();
    json_of(node, &args)["offer_id"].as_u64().unwrap()
}

/// bob buys `offer` in `market`, delivered to a public address that is never contacted.
fn buy(node: &DevNode, market: &str, offer: u64, extra: &[&str]) -> Output {
    let offer = offer.to_string();
    let args = [
        &[
            "buy",
            &offer,
            "--deliver-to",
            PUBLIC_ENDPOINT,
            "--recipient",
            AGE_RECIPIENT,
            "--from",
            "bob",
            "--contract",
            market,
        ],
        extra,
    ]
    .concat();
    run(node, &args)
}

#[test]
fn lists_are_tables_and_shows_are_key_value_lines_in_local_time() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&dir.path().join("node")).unwrap();
    let market = deploy_data_sale(&node).unwrap();
    let file = dir.path().join("prices.csv");
    std::fs::write(&file, b"day,price\n1,10\n").unwrap();
    let first = create_offer(
        &node,
        &market,
        &file,
        &[
            "--price",
            "100ucsn",
            "--title",
            "Daily prices",
            "--extension",
            "csv",
        ],
    );
    let second = create_offer(
        &node,
        &market,
        &file,
        &[
            "--price",
            "5000ucsn,7ustake",
            "--title",
            "Weather\ttwice",
            "--description",
            "line one\nline two",
        ],
    );

    // offer list: a header, one aligned row per offer, local times to the minute.
    let listed = run(&node, &["offer", "list", "--contract", &market]);
    let text = ok_stdout(&listed);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let header = lines[0];
    assert!(
        header.starts_with("ID  TITLE") && header.ends_with("CREATED"),
        "{text}"
    );
    let row = lines[1];
    assert!(
        row.trim_start()
            .starts_with(&format!("{first}  Daily prices")),
        "{text}"
    );
    for (column, cell) in [("PRICE", "100ucsn"), ("SIZE", "15 B"), ("STATUS", "active")] {
        let at = header.find(column).unwrap();
        let cell_at = row.find(cell).unwrap();
        // Text starts under its header; numbers end under its end.
        assert!(
            cell_at == at || cell_at + cell.len() == at + column.len(),
            "{column}: {text}"
        );
    }
    let created = &row[header.find("CREATED").unwrap()..];
    assert!(is_local_time(created, false), "{created:?} in {text}");
    // The tab in the second title is a space; several coins are written as one cell.
    assert!(
        lines[2].contains("Weather twice  5000ucsn,7ustake"),
        "{text}"
    );
    assert!(!text.contains('{') && !text.contains('\t'), "{text}");
    assert_eq!(stderr(&listed), "");

    // --output json is the contract's answer, as before.
    let json = json_of(&node, &["offer", "list", "--contract", &market]);
    assert_eq!(json["offers"][0]["price"][0]["amount"], "100");
    assert_eq!(json["offers"][0]["extension"], "csv");
    assert!(json["offers"][0]["created"].as_str().unwrap().len() > 15);

    // offer show: key: value lines; a description of several lines continues indented.
    let shown = ok_stdout(&run(&node, &["offer", "show", "1", "--contract", &market]));
    assert_eq!(value(&shown, "offer"), first.to_string());
    assert_eq!(value(&shown, "title"), "Daily prices");
    assert_eq!(value(&shown, "price"), "100ucsn");
    assert_eq!(value(&shown, "size"), "15 B (15 bytes)");
    assert_eq!(value(&shown, "extension"), "csv");
    assert_eq!(value(&shown, "seller"), dev_address("alice"));
    assert_eq!(value(&shown, "status"), "active");
    assert_eq!(value(&shown, "expires"), "never");
    assert!(is_local_time(value(&shown, "created"), true), "{shown}");
    let shown = ok_stdout(&run(
        &node,
        &["offer", "show", &second.to_string(), "--contract", &market],
    ));
    assert_eq!(value(&shown, "price"), "5000ucsn,7ustake");
    assert!(
        shown.contains("description: line one\n  line two\n"),
        "{shown}"
    );
    assert!(value(&shown, "extension").starts_with("none"), "{shown}");

    // buy: the result on stdout as key: value lines, what happened on stderr.
    let bought = buy(&node, &market, first, &[]);
    let out = ok_stdout(&bought);
    assert!(
        out.lines().all(|line| line.contains(": ")),
        "only key: value lines on stdout: {out}"
    );
    assert_eq!(value(&out, "purchase"), "1");
    assert_eq!(value(&out, "paid"), "100ucsn");
    let deadline = value(&out, "dispute deadline");
    assert!(is_local_time(&deadline[..26], true), "{out}");
    assert!(!out.contains("committed"), "{out}");
    let told = stderr(&bought);
    assert!(
        told.contains("purchase 1 of offer 1 committed in block"),
        "{told}"
    );

    // purchase list: a table with the offer's title and the next deadline.
    let listed = run(
        &node,
        &[
            "purchase",
            "list",
            "--buyer",
            &dev_address("bob"),
            "--contract",
            &market,
        ],
    );
    let text = ok_stdout(&listed);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with("ID  OFFER  TITLE") && lines[0].ends_with("DEADLINE"),
        "{text}"
    );
    let row = lines[1];
    for cell in ["Daily prices", "100ucsn", "held", "dispute by "] {
        assert!(row.contains(cell), "{cell}: {text}");
    }
    let bought_at = lines[0].find("BOUGHT").unwrap();
    assert!(
        is_local_time(&row[bought_at..bought_at + 23], false),
        "{text}"
    );

    // purchase show and status: key: value lines, local times to the second.
    let shown = ok_stdout(&run(
        &node,
        &["purchase", "show", "1", "--contract", &market],
    ));
    assert_eq!(value(&shown, "escrow"), "held");
    assert_eq!(value(&shown, "price"), "100ucsn");
    assert!(is_local_time(value(&shown, "bought"), true), "{shown}");
    let status = ok_stdout(&run(&node, &["status"]));
    assert_eq!(value(&status, "chain id"), "consign-dev");
    assert!(
        is_local_time(value(&status, "latest block time"), true),
        "{status}"
    );
    assert_eq!(json_of(&node, &["status"])["chain_id"], "consign-dev");

    // A purchase that does not exist: one line saying so, and one hint.
    let missing = run(&node, &["purchase", "show", "99", "--contract", &market]);
    assert_eq!(missing.status.code(), Some(2));
    let text = stderr(&missing);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0], "error: purchase 99 does not exist");
    assert!(
        lines[1].starts_with("hint: `consign purchase list"),
        "{text}"
    );
    assert_eq!(String::from_utf8_lossy(&missing.stdout), "");

    // A transaction only accepted into the mempool: its hash on stdout, the hint on stderr.
    let withdrawn = run(
        &node,
        &[
            "offer",
            "withdraw",
            &second.to_string(),
            "--from",
            "alice",
            "--broadcast-mode",
            "sync",
            "--contract",
            &market,
        ],
    );
    let out = ok_stdout(&withdrawn);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert_eq!(value(&out, "txhash").len(), 64, "{out}");
    assert!(stderr(&withdrawn).contains("accepted into the mempool"));
}

#[test]
fn a_dispute_left_unresolved_is_refunded_with_claim_refund_checked_before_signing() {
    const WINDOW: u64 = 6;
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&dir.path().join("node")).unwrap();
    let market = deploy_data_sale_with(&node, 3600, Some(WINDOW)).unwrap();
    let file = dir.path().join("data.bin");
    std::fs::write(&file, b"some data").unwrap();
    let offer = create_offer(
        &node,
        &market,
        &file,
        &["--price", "100ucsn", "--title", "Data"],
    );
    let bought = ok_json(&buy(&node, &market, offer, &["--output", "json"]));
    let id = bought["purchase_id"].as_u64().unwrap().to_string();
    let claim = |from: &str| {
        run(
            &node,
            &[
                "purchase",
                "claim-refund",
                &id,
                "--from",
                from,
                "--contract",
                &market,
            ],
        )
    };

    // Not disputed: refused before signing, saying what to do instead.
    let before = sequence(&node, "bob");
    let refused = claim("bob");
    assert_eq!(refused.status.code(), Some(2));
    let text = stderr(&refused);
    assert!(
        text.contains(&format!("purchase {id} is not disputed")),
        "{text}"
    );
    assert!(
        text.contains(&format!("consign purchase dispute {id}")),
        "{text}"
    );
    assert!(text.contains("nothing was signed"), "{text}");

    ok_stdout(&run(
        &node,
        &[
            "purchase",
            "dispute",
            &id,
            "--reason",
            "nothing arrived",
            "--from",
            "bob",
            "--contract",
            &market,
        ],
    ));
    let disputed_at = Instant::now();
    // The window is open: refused before signing, naming the deadline.
    let refused = claim("bob");
    assert_eq!(refused.status.code(), Some(2));
    let text = stderr(&refused);
    assert!(text.contains("the arbiter has until "), "{text}");
    assert!(text.contains(" UTC+01 "), "{text}");
    assert!(
        disputed_at.elapsed() < Duration::from_secs(WINDOW),
        "the test was too slow"
    );
    // Not the buyer: refused too.
    let refused = claim("alice");
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains(&format!("only purchase {id}'s buyer")));
    assert_eq!(sequence(&node, "bob"), before + 1, "the dispute only");

    // purchase show: when it was disputed, why, and until when the arbiter may resolve it.
    let shown = ok_stdout(&run(
        &node,
        &["purchase", "show", &id, "--contract", &market],
    ));
    assert_eq!(value(&shown, "escrow"), "disputed");
    assert!(is_local_time(value(&shown, "disputed"), true), "{shown}");
    assert_eq!(value(&shown, "dispute reason"), "nothing arrived");
    let arbitration = value(&shown, "arbitration deadline");
    assert!(is_local_time(&arbitration[..26], true), "{shown}");
    assert!(
        arbitration.contains("until then the arbiter may resolve it"),
        "{shown}"
    );
    assert!(
        arbitration.contains(&format!("`consign purchase claim-refund {id}`")),
        "{shown}"
    );
    let json = json_of(&node, &["purchase", "show", &id, "--contract", &market]);
    assert_eq!(json["arbitration_window_seconds"], WINDOW);
    assert_eq!(json["state"], "disputed");
    let deadline = json["arbitration_deadline"].as_str().unwrap();
    assert!(deadline.ends_with('Z'), "{json}");

    // Once the window has passed (by this machine's clock, which the node's blocks follow):
    // show says so, and the buyer takes the payment back.
    let wait_until = Instant::now() + Duration::from_secs(WINDOW + 30);
    let shown = loop {
        let shown = ok_stdout(&run(
            &node,
            &["purchase", "show", &id, "--contract", &market],
        ));
        if value(&shown, "arbitration deadline").contains("passed:") {
            break shown;
        }
        assert!(
            Instant::now() < wait_until,
            "the window never passed: {shown}"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert!(
        shown.contains(&format!(
            "the buyer can take the payment back with `consign purchase claim-refund {id}`"
        )),
        "{shown}"
    );
    let bob_before = node.balance(&dev_address("bob"));
    let refunded = run(
        &node,
        &[
            "purchase",
            "refund",
            &id,
            "--from",
            "bob",
            "--contract",
            &market,
            "--output",
            "json",
        ],
    );
    assert_eq!(ok_json(&refunded)["code"], 0);
    assert_eq!(node.balance(&dev_address("bob")), bob_before + 100);
    let json = json_of(&node, &["purchase", "show", &id, "--contract", &market]);
    assert_eq!(json["state"], "refunded");
    assert!(json.get("arbitration_deadline").is_none(), "{json}");

    // Twice: refused before signing.
    let again = claim("bob");
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("already refunded to the buyer at "));
}

/// `consign ARGS --help`, which needs no node.
fn help(args: &[&str]) -> String {
    let out = Command::new(consign_bin())
        .args(args)
        .arg("--help")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    ok_stdout(&out)
}

/// The long flags a help text lists in its options.
fn flags(help: &str) -> Vec<String> {
    help.lines()
        .filter_map(|line| {
            // An option line starts with its flag: `-o, --output <OUTPUT>`, `--gas <N|auto>`.
            let line = line.trim_start();
            let start = line.find("--")?;
            (start <= 4 && line.starts_with('-')).then(|| {
                let flag = line[start..].split([' ', '=', ',']).next().unwrap_or("");
                flag.to_owned()
            })
        })
        .collect()
}

#[test]
fn help_lists_only_the_flags_a_command_uses() {
    const TRANSACTION: [&str; 10] = [
        "--gas",
        "--gas-adjustment",
        "--gas-prices",
        "--fees",
        "--broadcast-mode",
        "--chain-id",
        "--sequence",
        "--yes",
        "--dry-run",
        "--generate-only",
    ];
    for read_only in [
        &["offer", "show"][..],
        &["offer", "list"],
        &["purchase", "show"],
        &["purchase", "list"],
        &["status"],
        &["query", "bank", "balances"],
    ] {
        let listed = flags(&help(read_only));
        assert!(
            listed.contains(&"--node".to_owned()),
            "{read_only:?}: {listed:?}"
        );
        for flag in TRANSACTION {
            assert!(
                !listed.iter().any(|f| f == flag),
                "{read_only:?} lists {flag}: {listed:?}"
            );
        }
    }
    // Reading the chain signs nothing: no keyring either.
    for reader in [&["status"][..], &["query", "bank", "balances"]] {
        let listed = flags(&help(reader));
        assert!(
            !listed.iter().any(|f| f == "--keyring-backend"),
            "{reader:?}: {listed:?}"
        );
    }
    for signing in [
        &["offer", "withdraw"][..],
        &["offer", "create"],
        &["purchase", "confirm"],
        &["purchase", "claim-refund"],
        &["purchase", "refund"],
        &["buy"],
    ] {
        let listed = flags(&help(signing));
        for flag in [
            "--gas",
            "--fees",
            "--broadcast-mode",
            "--chain-id",
            "--from",
        ] {
            assert!(
                listed.iter().any(|f| f == flag),
                "{signing:?} does not list {flag}: {listed:?}"
            );
        }
    }
    // The transaction flags come after the subcommand that signs.
    let out = Command::new(consign_bin())
        .args(["purchase", "--gas", "5", "show", "1"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unexpected argument '--gas'"),
        "{}",
        stderr(&out)
    );
}

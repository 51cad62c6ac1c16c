//! Buyers are protected by default (issue 12), on a real `consign dev`: `consign buy` refuses
//! before signing what the contract would refuse (a withdrawn offer, funds that do not cover the
//! price and the fee), so the buyer's sequence does not move; it warns of a delivery address a
//! storage node on its default egress policy refuses; `buy` and `purchase show` print the dispute
//! deadline; and `offer create` alone warns that the offer cannot be delivered until it is
//! registered with a storage node. An offer that expired while the chain made no block is
//! refused before signing too; a file extension is published only with `--extension`, and only
//! one that cannot leave the buyer's directory.

use std::path::Path;
use std::process::Output;

use consign_client::{Keyring, NodeClient, SecretKey};
use consign_tests::{
    consign_bin, deploy_data_sale, ok_json, ok_stdout, runtime, DevNode, Seller,
    RELEASE_WINDOW_SECONDS,
};

/// A valid age recipient (the example in age's README).
const AGE_RECIPIENT: &str = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
/// A public address that is never contacted (no storage node runs in these tests).
const PUBLIC_ENDPOINT: &str = "https://203.0.114.1:8443/inbox";

fn run(node: &DevNode, args: &[&str]) -> Output {
    node.consign(args).expect("consign runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn sequence(node: &DevNode, address: &str) -> u64 {
    let client = NodeClient::new(&node.url).expect("a node URL");
    runtime()
        .block_on(client.account(address))
        .expect("the account")
        .sequence
}

/// A seller (its own key, funded by alice) for `node`'s market.
fn seller(node: &DevNode, dir: &Path) -> Seller {
    Seller::new(node, &dir.join("seller")).expect("a funded seller")
}

/// The seller's `offer create` of a small file at 100ucsn, registered nowhere; returns the
/// command's output (the offer id is in it, any warning on stderr).
fn create_offer(node: &DevNode, seller: &Seller, market: &str) -> Output {
    let file = seller.home.join("prices.csv");
    std::fs::write(&file, b"day,price\n1,10\n").unwrap();
    seller
        .create_offer(node, market, &file)
        .expect("consign runs")
}

fn buy(node: &DevNode, market: &str, offer: u64, endpoint: &str, from: &str, json: bool) -> Output {
    let offer = offer.to_string();
    let mut args = vec![
        "buy",
        &offer,
        "--deliver-to",
        endpoint,
        "--recipient",
        AGE_RECIPIENT,
        "--from",
        from,
        "--contract",
        market,
    ];
    if json {
        args.extend(["--output", "json"]);
    }
    run(node, &args)
}

#[test]
fn buy_refuses_before_signing_what_the_contract_would_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&dir.path().join("node")).unwrap();
    let market = deploy_data_sale(&node).unwrap();
    let seller = seller(&node, dir.path());

    // offer create without a registration warns, on stderr, and says what to do.
    let created = create_offer(&node, &seller, &market);
    let offer = ok_json(&created)["offer_id"].as_u64().unwrap();
    let warning = stderr(&created);
    assert!(
        warning.contains(&format!(
            "warning: offer {offer} is not registered with a storage node"
        )),
        "{warning}"
    );
    assert!(warning.contains("cannot be delivered"), "{warning}");
    assert!(warning.contains("consign sell"), "{warning}");
    assert!(warning.contains("consign offer register"), "{warning}");

    // A withdrawn offer: refused, nothing signed.
    ok_json(
        &seller
            .consign(
                &node,
                &[
                    "offer",
                    "withdraw",
                    &offer.to_string(),
                    "--from",
                    "seller",
                    "--contract",
                    &market,
                    "--output",
                    "json",
                ],
            )
            .unwrap(),
    );
    let bob = SecretKey::from_seed("bob").address();
    let bob_before = sequence(&node, &bob);
    let refused = buy(&node, &market, offer, PUBLIC_ENDPOINT, "bob", false);
    assert!(!refused.status.success(), "bought a withdrawn offer");
    let text = stderr(&refused);
    assert!(
        text.contains(&format!("offer {offer} was withdrawn by its seller")),
        "{text}"
    );
    assert!(text.contains("nothing was signed"), "{text}");
    assert_eq!(
        sequence(&node, &bob),
        bob_before,
        "a transaction was signed"
    );

    // Insufficient funds: a buyer holding 50ucsn for a 100ucsn offer; refused, nothing signed.
    let created = create_offer(&node, &seller, &market);
    let offer = ok_json(&created)["offer_id"].as_u64().unwrap();
    let poor = SecretKey::generate();
    Keyring::new(node.home().join("keys"))
        .import("poor", poor.clone())
        .unwrap();
    ok_json(&run(
        &node,
        &[
            "tx",
            "bank",
            "send",
            "alice",
            &poor.address(),
            "50ucsn",
            "--output",
            "json",
        ],
    ));
    let before = sequence(&node, &poor.address());
    let refused = buy(&node, &market, offer, PUBLIC_ENDPOINT, "poor", false);
    assert!(!refused.status.success(), "bought without the funds");
    let text = stderr(&refused);
    assert!(text.contains("insufficient funds"), "{text}");
    assert!(text.contains("costs 100ucsn"), "{text}");
    assert!(text.contains("holds 50ucsn"), "{text}");
    assert!(text.contains("nothing was signed"), "{text}");
    assert_eq!(
        sequence(&node, &poor.address()),
        before,
        "a transaction was signed"
    );

    // An offer that does not exist: refused.
    let refused = buy(&node, &market, 999, PUBLIC_ENDPOINT, "bob", false);
    assert!(
        !refused.status.success(),
        "bought an offer that does not exist"
    );
    let text = stderr(&refused);
    assert!(text.contains("cannot read offer 999"), "{text}");
    assert_eq!(
        sequence(&node, &bob),
        bob_before,
        "a transaction was signed"
    );
}

#[test]
fn buy_warns_of_private_endpoints_and_prints_the_dispute_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&dir.path().join("node")).unwrap();
    let market = deploy_data_sale(&node).unwrap();
    let seller = seller(&node, dir.path());
    let offer = ok_json(&create_offer(&node, &seller, &market))["offer_id"]
        .as_u64()
        .unwrap();

    // A loopback --deliver-to: warned of (with the reason and the storage node's flag), bought
    // anyway; the deadline is printed in local time.
    let bought = buy(
        &node,
        &market,
        offer,
        "http://127.0.0.1:9/inbox",
        "bob",
        false,
    );
    let stdout = ok_stdout(&bought);
    let warning = stderr(&bought);
    assert!(
        warning.contains("127.0.0.1 is a loopback address"),
        "{warning}"
    );
    assert!(warning.contains("default egress policy"), "{warning}");
    assert!(warning.contains("--allow-private-egress"), "{warning}");
    assert!(warning.contains("will fail"), "{warning}");
    assert!(stdout.contains("dispute deadline: "), "{stdout}");
    assert!(stdout.contains("consign purchase dispute 1"), "{stdout}");

    // A public address: no warning; JSON carries the deadline in RFC 3339.
    let bought = buy(&node, &market, offer, PUBLIC_ENDPOINT, "bob", true);
    assert!(!stderr(&bought).contains("warning"), "{}", stderr(&bought));
    let json = ok_json(&bought);
    let id = json["purchase_id"].as_u64().unwrap();
    assert_eq!(json["release_window_seconds"], RELEASE_WINDOW_SECONDS);
    let deadline = json["dispute_deadline"].as_str().unwrap().to_owned();
    assert!(
        deadline.ends_with('Z') && deadline.contains('T'),
        "{deadline}"
    );

    // purchase show: the same deadline, the purchase's time plus the release window.
    let shown = ok_json(&run(
        &node,
        &[
            "purchase",
            "show",
            &id.to_string(),
            "--contract",
            &market,
            "--output",
            "json",
        ],
    ));
    assert_eq!(shown["dispute_deadline"], deadline.as_str());
    assert_eq!(shown["state"], "held");
    // In text, in local time: TZ=UTC makes it checkable.
    let text = std::process::Command::new(consign_bin())
        .args(["purchase", "show", &id.to_string(), "--contract", &market])
        .args(["--node", &node.url, "--home"])
        .arg(node.home())
        .env("TZ", "UTC")
        .output()
        .unwrap();
    let text = ok_stdout(&text);
    let expected = deadline.trim_end_matches('Z').replace('T', " ");
    let expected = expected.split('.').next().unwrap();
    assert!(
        text.contains(&format!("dispute deadline: {expected} UTC")),
        "{text}"
    );
    assert!(text.contains("until then the buyer may dispute"), "{text}");
}

#[test]
fn an_expired_offer_is_refused_before_signing_even_on_an_idle_chain() {
    let dir = tempfile::tempdir().unwrap();
    // `--block-time 0`: no block is made while nothing happens, so the latest block's time stays
    // behind the clock; the check must judge by the time the purchase's block would have.
    let node = DevNode::start(&dir.path().join("node")).unwrap();
    let market = deploy_data_sale(&node).unwrap();
    let seller = seller(&node, dir.path());
    let file = seller.home.join("prices.csv");
    std::fs::write(&file, b"day,price\n1,10\n").unwrap();
    let created = seller
        .create_offer_with(&node, &market, &file, &["--expires-in", "2s"])
        .unwrap();
    let offer = ok_json(&created)["offer_id"].as_u64().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2500));

    let bob = SecretKey::from_seed("bob").address();
    let before = sequence(&node, &bob);
    let refused = buy(&node, &market, offer, PUBLIC_ENDPOINT, "bob", false);
    assert!(!refused.status.success(), "an expired offer was bought");
    let reason = stderr(&refused);
    assert!(
        reason.contains(&format!("offer {offer} expired at ")),
        "{reason}"
    );
    assert!(reason.contains("nothing was signed"), "{reason}");
    assert_eq!(sequence(&node, &bob), before, "a transaction was sent");
}

#[test]
fn an_offer_publishes_its_extension_only_when_asked_and_only_a_valid_one() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&dir.path().join("node")).unwrap();
    let market = deploy_data_sale(&node).unwrap();
    let seller = seller(&node, dir.path());
    let file = seller.home.join("prices.csv");
    std::fs::write(&file, b"day,price\n1,10\n").unwrap();
    let show = |id: u64| {
        ok_json(&run(
            &node,
            &[
                "offer",
                "show",
                &id.to_string(),
                "--contract",
                &market,
                "--output",
                "json",
            ],
        ))
    };

    // Not asked: the file's .csv stays private.
    let plain = ok_json(&seller.create_offer(&node, &market, &file).unwrap());
    assert!(
        show(plain["offer_id"].as_u64().unwrap())
            .get("extension")
            .is_none(),
        "an extension was published without --extension"
    );
    // Asked: public in the offer (a leading dot is dropped).
    let with = ok_json(
        &seller
            .create_offer_with(&node, &market, &file, &["--extension", ".csv"])
            .unwrap(),
    );
    assert_eq!(show(with["offer_id"].as_u64().unwrap())["extension"], "csv");
    // Something that could leave the inbox's directory: refused before anything is signed.
    let seller_address = seller.key.address();
    let before = sequence(&node, &seller_address);
    let bad = seller
        .create_offer_with(&node, &market, &file, &["--extension", "../../x"])
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("not an extension"),
        "{}",
        stderr(&bad)
    );
    assert_eq!(sequence(&node, &seller_address), before);
}

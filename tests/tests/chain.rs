//! `consign dev` and the `consign` command line as separate processes over loopback.

use std::time::Duration;

use consign_client::{coins, Msg, SecretKey, Tx, TxBody, TxResult};
use consign_tests::{contract, dev_address, ok_json, ChainNode, DevNode};
use serde_json::{json, Value};

#[test]
fn cw20_and_submessages_through_the_command_line() {
    let home = tempfile::tempdir().unwrap();
    let node = DevNode::start(home.path()).unwrap();

    // cw20-base: store, instantiate, transfer, query.
    let cw20 = contract("cw20_base");
    let stored = ok_json(
        &node
            .consign(&[
                "tx",
                "wasm",
                "store",
                cw20.to_str().unwrap(),
                "--from",
                "alice",
                "--gas",
                "50000000",
                "--output",
                "json",
            ])
            .unwrap(),
    );
    assert_eq!(stored["code"], 0, "{stored}");
    let code_id = stored["code_id"].as_u64().expect("code_id");
    let init = json!({"name": "Consign Token", "symbol": "CSN", "decimals": 6,
                      "initial_balances": [{"address": dev_address("alice"), "amount": "1000"}]});
    let made = ok_json(
        &node
            .consign(&[
                "tx",
                "wasm",
                "instantiate",
                &code_id.to_string(),
                &init.to_string(),
                "--label",
                "token",
                "--no-admin",
                "--from",
                "alice",
                "--output",
                "json",
            ])
            .unwrap(),
    );
    let token = made["contract_address"]
        .as_str()
        .expect("contract_address")
        .to_owned();
    let sent = ok_json(
        &node
            .consign(&[
                "tx",
                "wasm",
                "execute",
                &token,
                &json!({"transfer": {"recipient": dev_address("bob"), "amount": "300"}})
                    .to_string(),
                "--from",
                "alice",
                "--output",
                "json",
            ])
            .unwrap(),
    );
    assert_eq!(sent["code"], 0, "{sent}");
    assert!(sent["gas_used"].as_u64().unwrap() > 0);
    assert!(sent["txhash"].as_str().unwrap().len() == 64);
    let balance = ok_json(
        &node
            .consign(&[
                "query",
                "wasm",
                "contract-state",
                "smart",
                &token,
                &json!({"balance": {"address": dev_address("bob")}}).to_string(),
                "--output",
                "json",
            ])
            .unwrap(),
    );
    // As wasmd prints it: the contract's answer under "data".
    assert_eq!(balance, json!({"data": {"balance": "300"}}));

    // A failing transfer is reported with its reason and a non-zero exit.
    let failed = node
        .consign(&[
            "tx",
            "wasm",
            "execute",
            &token,
            &json!({"transfer": {"recipient": dev_address("alice"), "amount": "301"}}).to_string(),
            "--from",
            "bob",
            "--output",
            "json",
        ])
        .unwrap();
    assert!(!failed.status.success());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&failed.stdout),
        String::from_utf8_lossy(&failed.stderr)
    );
    assert!(text.contains("Cannot Sub"), "{text}");

    // A proxy contract sends funds and calls the kitchen sink through submessages with replies.
    let proxy_code = node.store_contract("proxy");
    let sink_code = node.store_contract("kitchen_sink");
    let proxy = node.instantiate(&proxy_code, &json!({}), "proxy");
    let sink = node.instantiate(&sink_code, &json!({"count": 1}), "sink");
    let b64 = |v: Value| consign_client::Binary::new(serde_json::to_vec(&v).unwrap()).to_base64();
    let dispatch = json!({"dispatch": {"messages": [
        {"id": 1, "msg": {"bank": {"send": {"to_address": dev_address("dave"), "amount": [{"denom": "ucsn", "amount": "40"}]}}}, "reply_on": "success", "payload": ""},
        {"id": 2, "msg": {"wasm": {"execute": {"contract_addr": sink, "msg": b64(json!({"increment": {}})), "funds": []}}}, "reply_on": "always", "payload": ""}
    ]}});
    let dave_before = node.balance(&dev_address("dave"));
    let out = ok_json(
        &node
            .consign(&[
                "tx",
                "wasm",
                "execute",
                &proxy,
                &dispatch.to_string(),
                "--amount",
                "100ucsn",
                "--from",
                "alice",
                "--output",
                "json",
            ])
            .unwrap(),
    );
    assert_eq!(out["code"], 0, "{out}");
    assert_eq!(node.balance(&dev_address("dave")), dave_before + 40);
    let counter = ok_json(
        &node
            .consign(&[
                "query",
                "wasm",
                "contract-state",
                "smart",
                &sink,
                r#"{"counter":{}}"#,
                "--output",
                "json",
            ])
            .unwrap(),
    );
    assert_eq!(counter, json!({"data": {"count": 2}}));

    // A failing submessage without a reply reverts the whole transaction, the send included.
    let dispatch = json!({"dispatch": {"messages": [
        {"id": 1, "msg": {"bank": {"send": {"to_address": dev_address("dave"), "amount": [{"denom": "ucsn", "amount": "40"}]}}}, "reply_on": "never", "payload": ""},
        {"id": 2, "msg": {"wasm": {"execute": {"contract_addr": proxy, "msg": b64(json!({"fail": {"message": "boom"}})), "funds": []}}}, "reply_on": "never", "payload": ""}
    ]}});
    let failed = node
        .consign(&[
            "tx",
            "wasm",
            "execute",
            &proxy,
            &dispatch.to_string(),
            "--from",
            "alice",
            "--output",
            "json",
        ])
        .unwrap();
    assert!(!failed.status.success());
    assert_eq!(node.balance(&dev_address("dave")), dave_before + 40);
}

async fn broadcast_commit(
    client: &reqwest::Client,
    url: &str,
    bytes: Vec<u8>,
) -> anyhow::Result<TxResult> {
    let response = client
        .post(format!("{url}/txs?mode=commit&timeout_ms=20000"))
        .body(bytes)
        .send()
        .await?;
    let status = response.status();
    let text = response.text().await?;
    anyhow::ensure!(status.is_success(), "{status}: {text}");
    Ok(serde_json::from_str(&text)?)
}

fn send_tx(from: &str, sequence: u64, chain_id: &str) -> Vec<u8> {
    let body = TxBody {
        chain_id: chain_id.into(),
        sender: dev_address(from),
        sequence,
        gas_limit: 1_000_000,
        fee: vec![],
        memo: String::new(),
        messages: vec![Msg::BankSend {
            to: dev_address("dave"),
            amount: coins(1, "ucsn"),
        }],
    };
    Tx::sign(body, &SecretKey::from_seed(from)).to_bytes()
}

#[test]
fn kill_9_mid_stream_loses_no_committed_transaction_and_replays_to_the_same_state() {
    let home = tempfile::tempdir().unwrap();
    let mut node = DevNode::start(home.path()).unwrap();
    let url = node.url.clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let status: Value = runtime.block_on(async {
        reqwest::get(format!("{url}/status"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let chain_id = status["chain_id"].as_str().unwrap().to_owned();

    // Three senders stream transactions; the node is killed while they do.
    let committed = runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut tasks = Vec::new();
        for sender in ["alice", "bob", "carol"] {
            let (client, url, chain_id) = (client.clone(), url.clone(), chain_id.clone());
            tasks.push(tokio::spawn(async move {
                let mut done = Vec::new();
                for sequence in 0..10_000u64 {
                    match broadcast_commit(&client, &url, send_tx(sender, sequence, &chain_id))
                        .await
                    {
                        Ok(result) => done.push(result),
                        Err(_) => break,
                    }
                }
                done
            }));
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        tasks
    });
    node.kill9();
    let committed: Vec<TxResult> = runtime.block_on(async {
        let mut all = Vec::new();
        for task in committed {
            all.extend(task.await.unwrap());
        }
        all
    });
    assert!(
        committed.len() > 10,
        "only {} transactions were committed",
        committed.len()
    );

    // Restarted, the node has every transaction it reported committed, at the same height.
    let mut node = DevNode::start(home.path()).unwrap();
    let url = node.url.clone();
    runtime.block_on(async {
        for result in &committed {
            let stored: TxResult = reqwest::get(format!("{url}/txs/{}", result.txhash))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(stored.height, result.height);
            assert_eq!(stored.code, 0);
        }
    });
    node.stop().unwrap();

    // Replaying the stored blocks from the genesis reproduces the state hash.
    let app = consign_chain::App::open(consign_chain::AppConfig::new(home.path()), None).unwrap();
    let replay_dir = tempfile::tempdir().unwrap();
    let mut replay = consign_chain::App::open(
        consign_chain::AppConfig::new(replay_dir.path()),
        Some(&app.genesis().unwrap()),
    )
    .unwrap();
    for height in 1..=app.height() {
        let block = app.block(height).unwrap().unwrap();
        let txs = block
            .txs
            .iter()
            .map(|h| consign_chain::CheckedTx::decode(&app.tx_bytes(h).unwrap().unwrap()).unwrap())
            .collect();
        let outcome = replay.execute_block(txs, block.header.time).unwrap();
        assert_eq!(outcome.block, block, "block {height} differs on replay");
    }
    assert_eq!(replay.state_hash(), app.state_hash());
}

//! A k-of-n delivery to a real `consign inbox` on a real chain: an offer made on-chain with the
//! commitments of a 2-of-3 custody set and bought; its pieces POSTed by hand as its storage
//! nodes would (the fragment age-encrypted to the buyer, the key share sealed to the buyer), one
//! of them corrupted. The bad piece is refused by reason, the good ones rebuild the exact bytes,
//! saved once and confirmed once; a piece after the save answers as saved.

use consign_client::seal::{seal, AgeIdentity};
use consign_client::storage::delivery_headers as h;
use consign_custody::{prepare, Params, Prepared};
use consign_tests::inbox::{Inbox, TIMEOUT};
use consign_tests::{buy, deploy_data_sale, ok_json, sample_data, DevNode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::io::Write as _;

/// POSTs piece `index` (its fragment `fragment`, its share sealed as `share`), or with `None`
/// for the body sends its preflight: the status, the `x-consign-inbox` answer and the JSON.
#[allow(clippy::too_many_arguments)]
fn piece(
    inbox: &Inbox,
    market: &str,
    purchase_id: u64,
    offer_id: u64,
    plaintext: &[u8],
    index: u16,
    share: &str,
    body: Option<Vec<u8>>,
) -> (u16, String, Value) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let url = format!("{}/deliveries", inbox.url);
        let request = match &body {
            Some(_) => client.post(&url),
            None => client.request(reqwest::Method::OPTIONS, &url),
        };
        let response = request
            .header(h::CONTRACT, market)
            .header(h::PURCHASE_ID, purchase_id.to_string())
            .header(h::OFFER_ID, offer_id.to_string())
            .header(h::CONTENT_SHA256, hex::encode(Sha256::digest(plaintext)))
            .header(h::CONTENT_SIZE, plaintext.len().to_string())
            .header(h::CUSTODY_INDEX, index.to_string())
            .header(h::CUSTODY_K, "2")
            .header(h::CUSTODY_N, "3")
            .header(h::KEY_SHARE, share)
            .body(body.unwrap_or_default())
            .timeout(TIMEOUT)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let marker = response
            .headers()
            .get(h::INBOX)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, marker, response.json().await.unwrap_or(Value::Null))
    })
}

fn encrypted(identity: &AgeIdentity, fragment: &[u8]) -> Vec<u8> {
    let mut sealer = seal(&identity.recipient(), Vec::new()).unwrap();
    sealer.write_all(fragment).unwrap();
    sealer.finish().unwrap()
}

#[test]
fn a_custody_delivery_is_rebuilt_from_its_good_pieces_saved_and_confirmed_once() {
    let tmp = tempfile::tempdir().unwrap();
    let node = DevNode::start(&tmp.path().join("chain")).unwrap();
    let market = deploy_data_sale(&node).unwrap();
    let data = sample_data(1 << 20, 14);
    let set: Prepared<Vec<u8>> = prepare(
        Params::new(2, 3).unwrap(),
        &data[..],
        data.len() as u64,
        vec![Vec::new(); 3],
    )
    .unwrap();

    // The seller (the dev account alice) offers the data with the set's commitments.
    let offer = json!({"create_offer": {
        "price": [{"denom": "ucsn", "amount": "100"}],
        "content_sha256": hex::encode(Sha256::digest(&data)),
        "size": data.len(),
        "title": "custody.bin",
        "description": "",
        "terms": "",
        "custody": set.commitments,
    }});
    let created = ok_json(
        &node
            .consign(&[
                "tx",
                "wasm",
                "execute",
                &market,
                &offer.to_string(),
                "--from",
                "alice",
                "--output",
                "json",
            ])
            .unwrap(),
    );
    assert_eq!(created["code"], 0, "{created}");
    let offer_id = 1;

    let identity = AgeIdentity::generate();
    let identity_file = tmp.path().join("buyer.agekey");
    identity.save_new(&identity_file).unwrap();
    let inbox = Inbox::start(
        &node,
        &tmp.path().join("inbox"),
        "127.0.0.1:0",
        &[
            "--identity",
            identity_file.to_str().unwrap(),
            "--contract",
            &market,
            "--confirm",
            "--from",
            "bob",
            "--no-auto-dispute",
        ],
    );
    let purchase_id = buy(
        &node,
        &market,
        offer_id,
        &format!("{}/", inbox.url),
        &identity.recipient(),
    )
    .unwrap()
    .purchase_id;
    let to_buyer = identity.as_age().to_public();
    let share = |i: usize| set.shares[i].seal(&to_buyer);
    let send = |index: u16, share: &str, body: Option<Vec<u8>>| {
        piece(
            &inbox,
            &market,
            purchase_id,
            offer_id,
            &data,
            index,
            share,
            body,
        )
    };

    // Node 2's fragment arrives corrupted: refused with its reason; its share is kept.
    let mut corrupted = set.fragments[2].clone();
    corrupted[4000] ^= 0x80;
    let (status, _, answer) = send(2, &share(2), Some(encrypted(&identity, &corrupted)));
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["index"], 2, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(error.contains("fragment 2 refused"), "{error}");
    assert!(error.contains("its key share: accepted"), "{error}");

    // Node 0: held, and the inbox says what it waits for.
    let (status, marker, answer) = send(0, &share(0), None);
    assert_eq!((status, marker.as_str()), (204, h::INBOX_READY), "{answer}");
    let (status, _, answer) = send(0, &share(0), Some(encrypted(&identity, &set.fragments[0])));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "held");
    assert_eq!(answer["held"]["fragments"], json!([0]));
    assert_eq!(answer["held"]["shares"], json!([0, 2]));
    let held = inbox.wait_for("piece", purchase_id);
    assert_eq!(held["index"], 0);
    assert_eq!(held["held"]["fragments_needed"], 1);

    // Node 1 asks first and is wanted; node 2 asking now is not needed: piece 0 is held and
    // piece 1 is on its way, so it is asked to keep its piece and come back later.
    let (status, marker, answer) = send(1, &share(1), None);
    assert_eq!((status, marker.as_str()), (204, h::INBOX_READY), "{answer}");
    let (status, marker, answer) = send(2, &share(2), None);
    assert_eq!((status, marker.as_str()), (503, h::INBOX_LATER), "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(
        error.contains("pieces [0, 1] are held or on their way"),
        "{error}"
    );

    // Node 1 completes the set: rebuilt, saved, confirmed.
    let (status, marker, answer) =
        send(1, &share(1), Some(encrypted(&identity, &set.fragments[1])));
    assert_eq!((status, marker.as_str()), (200, h::INBOX_SAVED), "{answer}");
    assert_eq!(answer["status"], "saved");
    let saved = inbox.wait_for("saved", purchase_id);
    let file = saved["file"].as_str().unwrap();
    assert_eq!(std::fs::read(inbox.out.join(file)).unwrap(), data);
    inbox.wait_for("confirmed", purchase_id);

    // Node 2, honest this time, after the save: answered saved, nothing written again.
    let (status, marker, _) = send(2, &share(2), None);
    assert_eq!((status, marker.as_str()), (200, h::INBOX_SAVED));
    let (status, marker, answer) =
        send(2, &share(2), Some(encrypted(&identity, &set.fragments[2])));
    assert_eq!((status, marker.as_str()), (200, h::INBOX_SAVED), "{answer}");
    assert_eq!(answer["status"], "duplicate");
    assert_eq!(inbox.saved_files(), [file]);
    inbox.wait_for_count("saved", purchase_id, 1);
    inbox.wait_for_count("confirmed", purchase_id, 1);
    assert_eq!(
        inbox.wait_for("rebuilding", purchase_id)["held"]["fragments"],
        json!([0, 1])
    );
}

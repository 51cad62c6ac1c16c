//! A custody piece's delivery (issue 14): the node sends the fragment it keeps, sealed to the
//! buyer, and its key share, opened with the at-rest key and sealed again to the buyer; the
//! content headers are the offer's plaintext's; the preflight carries the same headers.

use age::secrecy::ExposeSecret as _;
use consign_client::seal::open;
use consign_custody::{prepare, KeyShare, Params};
use warp::http::Method;

use super::*;
use crate::registrations::CustodyRecord;

/// Everything the buyer's endpoint saw: each request's method, headers and body.
type Seen = Shared<Vec<(Method, HeaderMap, bytes::Bytes)>>;

/// An inbox that records the preflight as well as the body.
async fn recording_inbox(seen: Seen) -> SocketAddr {
    let record = warp::method()
        .and(warp::header::headers_cloned())
        .and(warp::body::bytes())
        .map(
            move |method: Method, headers: HeaderMap, body: bytes::Bytes| {
                let preflight = method == Method::OPTIONS;
                seen.lock().unwrap().push((method, headers, body));
                let mut reply = warp::http::Response::builder().status(StatusCode::OK);
                if preflight {
                    reply = reply.header(h::INBOX, h::INBOX_READY);
                }
                reply.body(String::new()).unwrap()
            },
        );
    serve_on_loopback(record).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_custody_piece_is_delivered_as_its_fragment_and_its_share_sealed_to_the_buyer() {
    let (svc, chain_state, _dir) = node(ChainState::default(), true).await;
    let seen = Seen::default();
    let inbox = recording_inbox(Arc::clone(&seen)).await;

    // The seller's side: a 2-of-3 set; this node keeps piece 1, its share sealed to the node.
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 13 % 251) as u8).collect();
    let prepared = prepare(
        Params::new(2, 3).unwrap(),
        &data[..],
        data.len() as u64,
        vec![Vec::new(); 3],
    )
    .unwrap();
    let fragment = &prepared.fragments[1];
    let stored = svc.blobs.put(&fragment[..]).unwrap();
    let plaintext_sha = consign_client::storage::sha256_hex(&data);
    registrations::put(
        &svc.db,
        CONTRACT,
        OFFER,
        &RegistrationRecord {
            sha256: stored.sha256.clone(),
            seller: "consign1seller".into(),
            registered_at: 1,
            custody: Some(CustodyRecord {
                index: 1,
                k: 2,
                n: 3,
                fragment_size: prepared.commitments.fragment_size(),
                content_sha256: plaintext_sha.clone(),
                sealed_share: prepared.shares[1].seal(svc.blobs.recipient()),
            }),
        },
    )
    .unwrap();

    let buyer = age::x25519::Identity::generate();
    let buyer_recipient = buyer.to_public().to_string();
    let endpoint = format!("http://{inbox}/inbox");
    chain_state
        .lock()
        .unwrap()
        .purchases
        .insert(4, purchase_json(4, &endpoint, &buyer_recipient));
    // The instruction names the offer's plaintext; the node's blob is the fragment.
    let rec = record(
        1,
        4,
        &endpoint,
        &buyer_recipient,
        &plaintext_sha,
        data.len() as u64,
    );
    deliveries::insert_if_new(&svc.db, &rec, &stored.sha256, now_ms()).unwrap();

    let (stop, task) = start(&svc, None);
    let entry = wait_for(&svc, 1, |e| e.state == DeliveryState::Delivered).await;
    stop.send(true).unwrap();
    task.await.unwrap();
    assert_eq!(entry.attempts, 1, "{:?}", entry.last_error);

    let seen = seen.lock().unwrap();
    let methods: Vec<_> = seen.iter().map(|(m, _, _)| m.clone()).collect();
    assert_eq!(methods, [Method::OPTIONS, Method::POST]);
    let (_, preflight, _) = &seen[0];
    let (_, headers, body) = &seen[1];
    let header = |name: &str| headers[name].to_str().unwrap().to_owned();
    assert_eq!(header(h::CUSTODY_INDEX), "1");
    assert_eq!(header(h::CUSTODY_K), "2");
    assert_eq!(header(h::CUSTODY_N), "3");
    assert_eq!(
        header(h::CONTENT_SHA256),
        plaintext_sha,
        "the offer's digest"
    );
    assert_eq!(header(h::CONTENT_SIZE), data.len().to_string());
    assert_eq!(header(h::OFFER_ID), OFFER.to_string());
    assert_eq!(
        header(h::IDEMPOTENCY_KEY),
        format!("{CHAIN_ID}/{CONTRACT}/4/1")
    );
    // The preflight asks with the very same headers, the share included.
    for name in [
        h::CONTRACT,
        h::PURCHASE_ID,
        h::OFFER_ID,
        h::CONTENT_SHA256,
        h::CONTENT_SIZE,
        h::SEQUENCE,
        h::IDEMPOTENCY_KEY,
        h::CUSTODY_INDEX,
        h::CUSTODY_K,
        h::CUSTODY_N,
        h::KEY_SHARE,
    ] {
        assert_eq!(preflight.get(name), headers.get(name), "{name}");
    }

    // The share opens with the buyer's identity only, and passes the offer's commitments.
    let sealed = header(h::KEY_SHARE);
    let share = KeyShare::open(&sealed, &buyer).unwrap();
    assert_eq!(share.index(), 1);
    prepared.commitments.verify_share(&share).unwrap();
    assert!(share == prepared.shares[1]);
    assert!(
        KeyShare::open(&sealed, &age::x25519::Identity::generate()).is_err(),
        "sealed to the buyer alone"
    );
    assert_ne!(
        sealed,
        match registrations::lookup(&svc.db, CONTRACT, OFFER).unwrap() {
            Some(RegistrationRecord {
                custody: Some(piece),
                ..
            }) => piece.sealed_share,
            other => panic!("the registration is {other:?}"),
        },
        "sealed again, not the node's copy"
    );

    // The body is exactly the fragment, sealed to the buyer.
    let identity = consign_client::AgeIdentity::parse(buyer.to_string().expose_secret()).unwrap();
    let mut fragment_back = Vec::new();
    open(&identity, &body[..], &mut fragment_back).unwrap();
    assert!(fragment_back == *fragment, "the body is fragment 1");
}

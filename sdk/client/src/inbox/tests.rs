//! The inbox against a small fake node (a thread answering the data-sale contract's `purchase`
//! and `offer` smart queries over real HTTP), with real age encryption and a real directory.

mod custody;
mod world;

use std::io::{self, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::stream;
use reqwest::header::HeaderValue;

use self::world::{body, data, World, BUYER};
use super::*;
use crate::seal::seal;
use crate::storage::delivery_headers as h;
use crate::{contract_address, humanize_address, NodeClient};

#[tokio::test]
async fn a_delivery_is_saved_exactly_once() {
    let w = World::new(data(300_000));
    let (inbox, events) = w.inbox(|c| c.buyer = BUYER.into());
    let ciphertext = w.ciphertext();

    let accepted = inbox
        .receive(&w.headers(1), body(&ciphertext, 10_000))
        .await
        .unwrap();
    let Accepted::Saved(record) = accepted.clone() else {
        panic!("{accepted:?}")
    };
    assert_eq!(record.file, "Survey_2026-1.csv");
    assert_eq!(
        std::fs::read(w.dir.path().join(&record.file)).unwrap(),
        w.data
    );
    assert_eq!(response(&Ok(accepted)).0, 200);
    assert_eq!(w.state(), [format!("{}-1.json", w.contract)]);

    // Again: answered 200, nothing written; the body is read to its end all the same, so the
    // sender gets the answer rather than a broken connection.
    let read = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = {
        let read = read.clone();
        futures_util::StreamExt::inspect(body(&ciphertext, 1 << 16), move |chunk| {
            if let Ok(chunk) = chunk {
                read.fetch_add(chunk.len(), std::sync::atomic::Ordering::Relaxed);
            }
        })
    };
    let again = inbox.receive(&w.headers(1), counted).await.unwrap();
    assert_eq!(
        read.load(std::sync::atomic::Ordering::Relaxed),
        ciphertext.len()
    );
    assert_eq!(again, Accepted::Duplicate(record.clone()));
    let (status, json) = response(&Ok(again));
    assert_eq!((status, json["status"].as_str()), (200, Some("duplicate")));
    assert_eq!(w.files(), ["Survey_2026-1.csv"]);

    let events = events.lock().unwrap();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            InboxEvent::Received(_) => "received",
            InboxEvent::Progress { .. } => "progress",
            InboxEvent::Verified(_) => "verified",
            InboxEvent::Saved { .. } => "saved",
            InboxEvent::Duplicate { .. } => "duplicate",
            InboxEvent::Rejected { .. } => "rejected",
            InboxEvent::Piece(_) | InboxEvent::Rebuilding { .. } => "piece",
        })
        .filter(|k| *k != "progress")
        .collect();
    assert_eq!(kinds, ["received", "verified", "saved", "duplicate"]);
    let last_progress = events.iter().rev().find_map(|e| match e {
        InboxEvent::Progress {
            received, total, ..
        } => Some((*received, *total)),
        _ => None,
    });
    assert_eq!(last_progress, Some((300_000, 300_000)));
    let saved = serde_json::to_value(&events[events.len() - 2]).unwrap();
    assert_eq!(saved["event"], "saved");
    assert_eq!(saved["purchase_id"], 1);
}

#[tokio::test]
async fn a_header_digest_other_than_the_offer_is_refused_before_reading() {
    let w = World::new(data(1000));
    let (inbox, events) = w.inbox(|_| {});
    let mut headers = w.headers(1);
    headers.insert(
        h::CONTENT_SHA256,
        HeaderValue::from_str(&"00".repeat(32)).unwrap(),
    );
    let err = inbox
        .receive(&headers, body(&w.ciphertext(), 100))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 422, "{err}");
    assert!(
        err.to_string().contains("offer on-chain commits to"),
        "{err}"
    );
    assert!(w.files().is_empty());
    assert!(w.state().is_empty());
    let events = events.lock().unwrap();
    assert!(matches!(
        &events[..],
        [InboxEvent::Rejected {
            status: 422,
            purchase_id: Some(1),
            ..
        }]
    ));
}

#[tokio::test]
async fn a_corrupted_or_truncated_body_saves_nothing() {
    let w = World::new(data(200_000));
    let (inbox, _) = w.inbox(|_| {});
    let mut corrupted = w.ciphertext();
    let middle = corrupted.len() / 2;
    corrupted[middle] ^= 0x55;
    let err = inbox
        .receive(&w.headers(1), body(&corrupted, 4096))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 422, "{err}");
    assert!(err.to_string().contains("nothing was saved"), "{err}");

    let ciphertext = w.ciphertext();
    let err = inbox
        .receive(
            &w.headers(1),
            body(&ciphertext[..ciphertext.len() - 1000], 4096),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 422, "{err}");
    assert!(err.to_string().contains("truncated"), "{err}");

    // Encrypted to someone else.
    let mut sealer = seal(&AgeIdentity::generate().recipient(), Vec::new()).unwrap();
    sealer.write_all(&w.data).unwrap();
    let other = sealer.finish().unwrap();
    let err = inbox
        .receive(&w.headers(1), body(&other, 4096))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 422, "{err}");
    assert!(
        err.to_string().contains("not encrypted to this identity"),
        "{err}"
    );

    assert!(w.files().is_empty());
    assert!(w.state().is_empty(), "{:?}", w.state());

    // The real delivery still goes through afterwards.
    inbox
        .receive(&w.headers(1), body(&ciphertext, 4096))
        .await
        .unwrap();
    assert_eq!(w.files(), ["Survey_2026-1.csv"]);
}

#[tokio::test]
async fn a_body_that_breaks_off_is_a_400_and_saves_nothing() {
    let w = World::new(data(200_000));
    let (inbox, _) = w.inbox(|_| {});
    let ciphertext = w.ciphertext();
    let mut chunks: Vec<Result<Bytes, io::Error>> = ciphertext[..100_000]
        .chunks(8192)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    chunks.push(Err(io::Error::other("connection reset")));
    let err = inbox
        .receive(&w.headers(1), stream::iter(chunks))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400, "{err}");
    assert!(err.to_string().contains("connection reset"), "{err}");
    assert!(w.files().is_empty());
    assert!(w.state().is_empty());
}

#[tokio::test]
async fn a_body_longer_than_the_offer_allows_is_cut_off() {
    let w = World::new(data(10));
    let (inbox, _) = w.inbox(|_| {});
    let garbage = vec![b'a'; 1 << 20];
    let err = inbox
        .receive(&w.headers(1), body(&garbage, 8192))
        .await
        .unwrap_err();
    assert!(matches!(err.status(), 413 | 422), "{err}");
    assert!(w.files().is_empty());
}

#[tokio::test]
async fn purchases_that_are_not_ours_are_refused() {
    let w = World::new(data(100));
    let ciphertext = w.ciphertext();

    // Bought by someone else.
    let (inbox, _) = w.inbox(|c| c.buyer = "consign1someoneelse".into());
    let err = inbox
        .receive(&w.headers(1), body(&ciphertext, 64))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 422, "{err}");
    assert!(err.to_string().contains("bought by consign1buyer"), "{err}");

    // Another contract than the one served.
    let (inbox, _) = w.inbox(|c| c.contract = humanize_address(&contract_address(1, 2)));
    let err = inbox
        .receive(&w.headers(1), body(&ciphertext, 64))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 422, "{err}");
    assert!(
        err.to_string().contains("only accepts deliveries from"),
        "{err}"
    );

    let (inbox, _) = w.inbox(|_| {});
    // The purchase names another recipient.
    w.put_purchase(
        2,
        1,
        "consign1buyer",
        &AgeIdentity::generate().recipient(),
        "held",
    );
    let err = inbox
        .receive(&w.headers(2), body(&ciphertext, 64))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 422, "{err}");
    assert!(
        err.to_string().contains("not to this inbox's identity"),
        "{err}"
    );

    // Refunded.
    w.put_purchase(3, 1, "consign1buyer", &w.identity.recipient(), "refunded");
    let err = inbox
        .receive(&w.headers(3), body(&ciphertext, 64))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("refunded"), "{err}");

    // The header's offer is not the purchase's.
    let mut headers = w.headers(1);
    headers.insert(h::OFFER_ID, HeaderValue::from_static("2"));
    let err = inbox
        .receive(&headers, body(&ciphertext, 64))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("purchase on-chain is of offer 1"),
        "{err}"
    );

    // Unknown purchase: 503 (not yet: the inbox's node may be behind).
    let err = inbox
        .receive(&w.headers(9), body(&ciphertext, 64))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 503, "{err}");

    // Missing header: 400.
    let mut headers = w.headers(1);
    headers.remove(h::CONTRACT);
    let err = inbox
        .receive(&headers, body(&ciphertext, 64))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400, "{err}");

    assert!(w.files().is_empty());
}

#[tokio::test]
async fn an_unreachable_node_is_a_503() {
    let w = World::new(data(100));
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let inbox = Inbox::new(
        InboxConfig::new(w.dir.path(), w.contract.clone(), BUYER),
        w.identity.clone(),
        NodeClient::new(&format!("http://127.0.0.1:{port}")).unwrap(),
    )
    .unwrap();
    let err = inbox
        .receive(&w.headers(1), body(&w.ciphertext(), 64))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 503, "{err}");
}

#[tokio::test]
async fn a_save_whose_record_was_lost_is_recognised() {
    let w = World::new(data(5000));
    let (inbox, _) = w.inbox(|_| {});
    // As if the inbox crashed after the rename, before writing the record.
    std::fs::write(w.dir.path().join("Survey_2026-1.csv"), &w.data).unwrap();
    let accepted = inbox
        .receive(&w.headers(1), body(&w.ciphertext(), 64))
        .await
        .unwrap();
    assert!(matches!(accepted, Accepted::Duplicate(ref r) if r.file == "Survey_2026-1.csv"));
    assert!(inbox.saved(&w.contract, 1).unwrap().is_some());
    assert_eq!(w.files(), ["Survey_2026-1.csv"]);
}

/// A body whose chunks arrive only when the test sends them.
fn held_body(
    rx: tokio::sync::mpsc::Receiver<Result<Bytes, io::Error>>,
) -> impl futures_util::Stream<Item = Result<Bytes, io::Error>> + Unpin {
    Box::pin(stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

/// Waits until the inbox reported `n` `received` events.
async fn wait_received(events: &Mutex<Vec<InboxEvent>>, n: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let received = events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| matches!(e, InboxEvent::Received(_)))
            .count();
        if received >= n {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "no reception started");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_stalled_reception_does_not_hold_the_purchase() {
    let w = World::new(data(200_000));
    let (inbox, events) = w.inbox(|_| {});
    let inbox = Arc::new(inbox);
    let ciphertext = w.ciphertext();

    // A first request (anyone can send a purchase's headers) starts and stalls.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, io::Error>>(4);
    let first = tokio::spawn({
        let inbox = inbox.clone();
        let headers = w.headers(1);
        async move { inbox.receive(&headers, held_body(rx)).await }
    });
    tx.send(Ok(Bytes::copy_from_slice(&ciphertext[..1000])))
        .await
        .unwrap();
    wait_received(&events, 1).await;

    // The real delivery goes through beside it, at once.
    let accepted = inbox
        .receive(&w.headers(1), body(&ciphertext, 4096))
        .await
        .unwrap();
    let Accepted::Saved(record) = accepted else {
        panic!("{accepted:?}")
    };
    assert_eq!(
        std::fs::read(w.dir.path().join(&record.file)).unwrap(),
        w.data
    );

    // The stalled one, completing later, is a duplicate: nothing is saved twice, and its
    // `.part` file is gone.
    tx.send(Ok(Bytes::copy_from_slice(&ciphertext[1000..])))
        .await
        .unwrap();
    drop(tx);
    assert_eq!(first.await.unwrap().unwrap(), Accepted::Duplicate(record));
    assert_eq!(w.files(), ["Survey_2026-1.csv"]);
    assert_eq!(w.state(), [format!("{}-1.json", w.contract)]);
}

#[tokio::test]
async fn a_trickled_body_is_cut() {
    let w = World::new(data(200_000));
    let ciphertext = w.ciphertext();

    // Nothing more after the first bytes: cut after the idle timeout.
    let (inbox, _) = w.inbox(|c| c.idle_timeout = std::time::Duration::from_millis(200));
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, io::Error>>(4);
    tx.send(Ok(Bytes::copy_from_slice(&ciphertext[..1000])))
        .await
        .unwrap();
    let err = inbox
        .receive(&w.headers(1), held_body(rx))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 408, "{err}");
    assert!(err.to_string().contains("too slowly"), "{err}");
    drop(tx);

    // A byte at a time, each well within the idle timeout: cut for its rate.
    let (inbox, _) = w.inbox(|c| {
        c.idle_timeout = std::time::Duration::from_millis(300);
        c.min_rate = 1 << 20;
    });
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, io::Error>>(4);
    let trickle = tokio::spawn({
        let ciphertext = ciphertext.clone();
        async move {
            for byte in ciphertext.iter().take(200) {
                if tx.send(Ok(Bytes::copy_from_slice(&[*byte]))).await.is_err() {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    });
    let err = inbox
        .receive(&w.headers(1), held_body(rx))
        .await
        .unwrap_err();
    assert_eq!(err.status(), 408, "{err}");
    assert!(err.to_string().contains("bytes/s"), "{err}");
    trickle.abort();
    assert!(w.files().is_empty());
    assert!(w.state().is_empty(), "{:?}", w.state());
}

#[tokio::test]
async fn part_files_left_by_a_crash_are_removed_at_start() {
    let w = World::new(data(10));
    let state = w.dir.path().join(STATE_DIR);
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("receiving-abc.part"), b"half").unwrap();
    std::fs::write(state.join("keep.json"), b"{}").unwrap();
    let _inbox = w.inbox(|_| {});
    assert_eq!(w.state(), ["keep.json"]);
}

#[tokio::test]
async fn a_large_delivery_streams_through_without_being_held() {
    const SIZE: usize = 24 << 20;
    // The plaintext is generated, sealed and cut into body chunks as the inbox reads them.
    let generate = || (0..SIZE).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8);
    let mut digest = sha2::Sha256::default();
    let mut block = Vec::with_capacity(1 << 16);
    for byte in generate() {
        block.push(byte);
        if block.len() == block.capacity() {
            sha2::Digest::update(&mut digest, &block);
            block.clear();
        }
    }
    sha2::Digest::update(&mut digest, &block);
    let sha = hex::encode(sha2::Digest::finalize(digest));

    let w = World::new(Vec::new());
    w.put_offer(1, &sha, SIZE as u64);
    let (inbox, events) = w.inbox(|_| {});
    let mut headers = w.headers(1);
    headers.insert(h::CONTENT_SHA256, HeaderValue::from_str(&sha).unwrap());
    headers.insert(h::CONTENT_SIZE, HeaderValue::from(SIZE as u64));

    struct Iter<I>(I);
    impl<I: Iterator<Item = u8>> Read for Iter<I> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let mut n = 0;
            for slot in buf.iter_mut() {
                match self.0.next() {
                    Some(b) => *slot = b,
                    None => break,
                }
                n += 1;
            }
            Ok(n)
        }
    }
    let mut sealed = crate::seal::seal_reader(&w.identity.recipient(), Iter(generate())).unwrap();
    let chunks = std::iter::from_fn(move || {
        let mut chunk = vec![0u8; 50_000];
        match sealed.read(&mut chunk) {
            Ok(0) => None,
            Ok(n) => {
                chunk.truncate(n);
                Some(Ok::<_, io::Error>(Bytes::from(chunk)))
            }
            Err(e) => Some(Err(e)),
        }
    });
    let accepted = inbox.receive(&headers, stream::iter(chunks)).await.unwrap();
    let record = accepted.record().unwrap();
    assert_eq!(record.size, SIZE as u64);
    let saved = std::fs::metadata(w.dir.path().join(&record.file)).unwrap();
    assert_eq!(saved.len(), SIZE as u64);
    let progress = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, InboxEvent::Progress { .. }))
        .count();
    assert!(progress >= 1);
}

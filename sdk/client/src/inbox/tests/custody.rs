//! k-of-n deliveries, as attacks: pieces POSTed as storage nodes would (the fragment
//! age-encrypted to the buyer, the key share sealed to the buyer), in any order, some of them
//! corrupted, of another set, sealed to someone else, replayed after the save, or racing.

use std::io::Write as _;

use consign_custody::{prepare, Params, Prepared};
use reqwest::header::{HeaderMap, HeaderValue};

use super::world::{body, data, World, BUYER};
use crate::inbox::{
    response, Accepted, Inbox, InboxError, InboxEvent, Preflight, Verdict, STATE_DIR,
};
use crate::seal::seal;
use crate::storage::delivery_headers as h;
use crate::AgeIdentity;

/// A world whose offer 1 is held 2-of-3 by the set prepared here.
struct Custody {
    w: World,
    set: Prepared<Vec<u8>>,
}

fn custody_world(len: usize) -> Custody {
    let w = World::new(data(len));
    let set = prepare(
        Params::new(2, 3).unwrap(),
        &w.data[..],
        w.data.len() as u64,
        vec![Vec::new(); 3],
    )
    .unwrap();
    w.put_custody_offer(1, serde_json::to_value(&set.commitments).unwrap());
    Custody { w, set }
}

impl Custody {
    /// The headers storage node `index` sends, its share sealed as given.
    fn headers(&self, index: u16, sealed_share: &str) -> HeaderMap {
        let mut map = self.w.headers(1);
        let mut set = |name: &'static str, value: String| {
            map.insert(name, HeaderValue::from_str(&value).unwrap());
        };
        set(h::CUSTODY_INDEX, index.to_string());
        set(h::CUSTODY_K, "2".into());
        set(h::CUSTODY_N, "3".into());
        set(h::KEY_SHARE, sealed_share.to_owned());
        map
    }

    /// Node `index`'s honest share, sealed to the buyer.
    fn share(&self, index: u16) -> String {
        self.set.shares[usize::from(index)].seal(&self.w.identity.as_age().to_public())
    }

    /// Node `index`'s honest headers.
    fn honest(&self, index: u16) -> HeaderMap {
        self.headers(index, &self.share(index))
    }

    /// `fragment` age-encrypted to the buyer: a piece's body.
    fn body(&self, fragment: &[u8]) -> Vec<u8> {
        let mut sealer = seal(&self.w.identity.recipient(), Vec::new()).unwrap();
        sealer.write_all(fragment).unwrap();
        sealer.finish().unwrap()
    }

    /// Node `index`'s honest body.
    fn fragment(&self, index: u16) -> Vec<u8> {
        self.body(&self.set.fragments[usize::from(index)])
    }

    async fn post(
        &self,
        inbox: &Inbox,
        headers: &HeaderMap,
        body_bytes: &[u8],
    ) -> Result<Accepted, InboxError> {
        inbox.receive(headers, body(body_bytes, 16 * 1024)).await
    }

    fn pieces_dirs(&self) -> Vec<String> {
        let dir = self.w.dir.path().join(STATE_DIR).join("custody");
        match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

fn refusal(result: Result<Accepted, InboxError>) -> (u16, String) {
    let err = result.unwrap_err();
    let index = match &err {
        InboxError::PieceRefused { index, .. } => Some(*index),
        _ => None,
    };
    let (status, json) = response(&Err(err));
    assert_eq!(json["index"].as_u64(), index.map(u64::from), "{json}");
    (status, json["error"].as_str().unwrap().to_owned())
}

fn held(result: Result<Accepted, InboxError>) -> crate::inbox::PieceReport {
    match result.unwrap() {
        Accepted::Held(piece) => piece,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn bad_halves_are_refused_by_reason_and_the_good_ones_complete_the_file_once() {
    let c = custody_world(300_000);
    let (inbox, events) = c.w.inbox(|config| config.buyer = BUYER.into());

    // Node 2 sends a corrupted fragment with its good share: the share is kept.
    let mut corrupted = c.set.fragments[2].clone();
    let middle = corrupted.len() / 2;
    corrupted[middle] ^= 0x01;
    let (status, error) = refusal(c.post(&inbox, &c.honest(2), &c.body(&corrupted)).await);
    assert_eq!(status, 422, "{error}");
    assert!(
        error.contains("piece 2 refused: fragment 2 refused"),
        "{error}"
    );
    assert!(error.contains("SHA-256"), "{error}");
    let kept = inbox.pieces(&c.w.contract, 1).unwrap().unwrap();
    assert_eq!((kept.fragments, kept.shares), (vec![], vec![2]));
    assert!(error.contains("its key share: accepted"), "{error}");
    assert!(
        error.contains("holding fragments [] and key shares [2]"),
        "{error}"
    );

    // Node 0 sends its good fragment with a share of another set: the fragment is kept.
    let other = prepare(
        Params::new(2, 3).unwrap(),
        &b"another offer"[..],
        13,
        vec![Vec::new(); 3],
    )
    .unwrap();
    let foreign = other.shares[0].seal(&c.w.identity.as_age().to_public());
    let (status, error) = refusal(
        c.post(&inbox, &c.headers(0, &foreign), &c.fragment(0))
            .await,
    );
    assert_eq!(status, 422, "{error}");
    assert!(error.contains("key share 0 refused"), "{error}");
    assert!(error.contains("another offer"), "{error}");
    assert!(error.contains("its fragment: accepted"), "{error}");

    // Node 1 seals its share to someone else: its fragment still counts.
    let stranger = AgeIdentity::generate();
    let misdirected = c.set.shares[1].seal(&stranger.as_age().to_public());
    let (status, error) = refusal(
        c.post(&inbox, &c.headers(1, &misdirected), &c.fragment(1))
            .await,
    );
    assert_eq!(status, 422, "{error}");
    assert!(error.contains("cannot be opened with this key"), "{error}");
    assert!(
        error.contains(
            "holding fragments [0, 1] and key shares [2] (k = 2 of n = 3), waiting for 1 more key share"
        ),
        "{error}"
    );
    assert!(c.w.files().is_empty());

    // Piece 0's share is missing: its preflight asks for the piece again.
    assert_eq!(
        inbox.preflight(&c.honest(0)).await.unwrap(),
        Preflight::Ready
    );

    // Node 0 again, honest: its fragment was held, its share completes the set.
    let Accepted::Saved(record) = c.post(&inbox, &c.honest(0), &c.fragment(0)).await.unwrap()
    else {
        panic!("not saved")
    };
    assert_eq!(
        std::fs::read(c.w.dir.path().join(&record.file)).unwrap(),
        c.w.data
    );
    assert_eq!(c.w.files(), std::slice::from_ref(&record.file));
    assert!(c.pieces_dirs().is_empty(), "{:?}", c.pieces_dirs());

    // A piece after the save (node 2, honest this time; or a replay): saved, nothing written.
    assert!(matches!(
        inbox.preflight(&c.honest(2)).await.unwrap(),
        Preflight::Saved(ref r) if *r == record
    ));
    let again = c.post(&inbox, &c.honest(2), &c.fragment(2)).await;
    assert_eq!(
        again.as_ref().unwrap(),
        &Accepted::Duplicate(record.clone())
    );
    let again = c.post(&inbox, &c.honest(1), &c.fragment(1)).await;
    assert_eq!(again.unwrap(), Accepted::Duplicate(record.clone()));
    assert_eq!(c.w.files(), std::slice::from_ref(&record.file));
    assert!(c.pieces_dirs().is_empty());

    let events = events.lock().unwrap();
    let kinds: Vec<String> = events
        .iter()
        .map(|e| match e {
            InboxEvent::Piece(p) => format!("piece {} {:?} {:?}", p.index, p.fragment, p.share),
            InboxEvent::Rebuilding { held, .. } => format!("rebuilding {:?}", held.shares),
            InboxEvent::Verified(_) => "verified".into(),
            InboxEvent::Saved { .. } => "saved".into(),
            InboxEvent::Duplicate { .. } => "duplicate".into(),
            InboxEvent::Rejected { status, .. } => format!("rejected {status}"),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "rejected 422",
            "rejected 422",
            "rejected 422",
            "piece 0 AlreadyHeld Accepted",
            "rebuilding [0, 2]",
            "verified",
            "saved",
            "duplicate",
            "duplicate",
        ]
    );
}

#[tokio::test]
async fn pieces_survive_a_restart_and_racing_pieces_save_once() {
    let c = custody_world(200_000);
    {
        let (inbox, _) = c.w.inbox(|_| {});
        let piece = held(c.post(&inbox, &c.honest(2), &c.fragment(2)).await);
        assert_eq!(
            (piece.fragment, piece.share),
            (Verdict::Accepted, Verdict::Accepted)
        );
        assert_eq!(piece.held.fragments, [2]);
        assert_eq!(piece.held.waiting_for, [0, 1]);
        // The same piece again (a retry): held already, nothing changes.
        let piece = held(c.post(&inbox, &c.honest(2), &c.fragment(2)).await);
        assert_eq!(
            (piece.fragment, piece.share),
            (Verdict::AlreadyHeld, Verdict::AlreadyHeld)
        );
    }

    // A new inbox on the same directory (a restart) still holds piece 2, and says so.
    let (inbox, events) = c.w.inbox(|_| {});
    let kept = inbox.pieces(&c.w.contract, 1).unwrap().unwrap();
    assert_eq!((kept.fragments, kept.shares), (vec![2], vec![2]));
    assert_eq!(inbox.pieces(&c.w.contract, 9).unwrap(), None);
    let preflight = inbox.preflight(&c.honest(2)).await.unwrap();
    assert!(
        matches!(&preflight, Preflight::Held { index: 2, held } if held.fragments == [2]),
        "{preflight:?}"
    );
    let (status, marker, _) = crate::inbox::preflight_response(&Ok(preflight));
    assert_eq!((status, marker), (200, h::INBOX_SAVED));
    assert_eq!(
        inbox.preflight(&c.honest(0)).await.unwrap(),
        Preflight::Ready
    );

    // Nodes 0 and 1 deliver at the same time: each completes the set; one rebuild saves.
    let (h0, h1) = (c.honest(0), c.honest(1));
    let (b0, b1) = (c.fragment(0), c.fragment(1));
    let (r0, r1) = tokio::join!(c.post(&inbox, &h0, &b0), c.post(&inbox, &h1, &b1));
    let results = [r0.unwrap(), r1.unwrap()];
    let saved = results
        .iter()
        .filter(|r| matches!(r, Accepted::Saved(_)))
        .count();
    assert_eq!(saved, 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Accepted::Saved(_) | Accepted::Duplicate(_))),
        "{results:?}"
    );
    let record = results[0].record().unwrap();
    assert_eq!(
        std::fs::read(c.w.dir.path().join(&record.file)).unwrap(),
        c.w.data
    );
    assert_eq!(c.w.files().len(), 1);
    assert_eq!(inbox.pieces(&c.w.contract, 1).unwrap(), None);
    let events = events.lock().unwrap();
    let rebuilds = events
        .iter()
        .filter(|e| matches!(e, InboxEvent::Rebuilding { .. }))
        .count();
    assert_eq!(rebuilds, 1);
}

#[tokio::test]
async fn two_pieces_arriving_together_into_an_empty_folder_complete_the_set() {
    // The k pieces of a purchase stream side by side from the start, each into an assembly
    // opened before the other's fragment landed: the last to land must still see both and
    // rebuild (a purchase once stayed "waiting for 1 more fragment" with both on disk).
    // With --keep-keys, the rebuilt data key is kept, and it is the key of the ciphertext the
    // storage nodes hold.
    let c = custody_world(300_000);
    let keys = tempfile::tempdir().unwrap();
    let (inbox, _) =
        c.w.inbox(|config| config.keep_keys = Some(keys.path().to_owned()));
    let (h0, h2) = (c.honest(0), c.honest(2));
    let (b0, b2) = (c.fragment(0), c.fragment(2));
    let (r0, r2) = tokio::join!(c.post(&inbox, &h0, &b0), c.post(&inbox, &h2, &b2));
    let results = [r0.unwrap(), r2.unwrap()];
    let saved = results
        .iter()
        .filter(|r| matches!(r, Accepted::Saved(_)))
        .count();
    assert_eq!(saved, 1, "{results:?}");
    assert_eq!(c.w.files().len(), 1);

    let record = results.iter().find_map(Accepted::record).unwrap();
    let key = AgeIdentity::load(&keys.path().join(format!("{}.agekey", record.file))).unwrap();
    let fragments: Vec<&[u8]> = c.set.fragments.iter().map(Vec::as_slice).collect();
    let ciphertext = consign_custody::CiphertextReader::new(&c.set.commitments, fragments).unwrap();
    let mut plaintext = Vec::new();
    crate::seal::open(&key, ciphertext, &mut plaintext).unwrap();
    assert!(
        plaintext == c.w.data,
        "the kept key opens the nodes' ciphertext"
    );
}

#[tokio::test]
async fn pieces_that_do_not_fit_the_offer_are_refused_by_name() {
    let c = custody_world(50_000);
    let (inbox, _) = c.w.inbox(|_| {});

    // Custody headers for a plain offer.
    c.w.put_offer(
        2,
        &crate::storage::sha256_hex(&c.w.data),
        c.w.data.len() as u64,
    );
    c.w.put_purchase(2, 2, BUYER, &c.w.identity.recipient(), "held");
    let mut plain = c.honest(0);
    plain.insert(h::PURCHASE_ID, HeaderValue::from_static("2"));
    plain.insert(h::OFFER_ID, HeaderValue::from_static("2"));
    let err = inbox.preflight(&plain).await.unwrap_err();
    assert_eq!(err.status(), 422, "{err}");
    assert!(err.to_string().contains("has no custody"), "{err}");
    let (status, error) = refusal(c.post(&inbox, &plain, &c.fragment(0)).await);
    assert_eq!(status, 422);
    assert!(error.contains("has no custody"), "{error}");

    // A whole delivery for the custody offer.
    let whole = c.w.headers(1);
    let (status, error) = refusal(c.post(&inbox, &whole, &c.w.ciphertext()).await);
    assert_eq!(status, 422);
    assert!(error.contains("held 2-of-3"), "{error}");

    // k (or n) other than the offer's.
    let mut wrong_k = c.honest(0);
    wrong_k.insert(h::CUSTODY_K, HeaderValue::from_static("3"));
    let err = inbox.preflight(&wrong_k).await.unwrap_err();
    assert!(err.to_string().contains("k = 3 of n = 3"), "{err}");
    let (status, error) = refusal(c.post(&inbox, &wrong_k, &c.fragment(0)).await);
    assert_eq!(status, 422);
    assert!(
        error.contains("custody on-chain is k = 2 of n = 3"),
        "{error}"
    );

    // Node 1's fragment sent as piece 0, and a fragment encrypted to someone else.
    let (status, error) = refusal(c.post(&inbox, &c.honest(0), &c.fragment(1)).await);
    assert_eq!(status, 422);
    assert!(
        error.contains("it is fragment 1, but the delivery is piece 0"),
        "{error}"
    );
    let mut sealer = seal(&AgeIdentity::generate().recipient(), Vec::new()).unwrap();
    sealer.write_all(&c.set.fragments[1]).unwrap();
    let (status, error) = refusal(
        c.post(&inbox, &c.honest(1), &sealer.finish().unwrap())
            .await,
    );
    assert_eq!(status, 422);
    assert!(error.contains("fragment 1 refused"), "{error}");
    assert!(error.contains("its key share: accepted"), "{error}");

    assert!(c.w.files().is_empty());
}

#[tokio::test]
async fn a_piece_still_streaming_when_the_purchase_is_saved_answers_saved_and_leaves_nothing() {
    let c = custody_world(200_000);
    let (inbox, _) = c.w.inbox(|_| {});
    let inbox = std::sync::Arc::new(inbox);
    held(c.post(&inbox, &c.honest(0), &c.fragment(0)).await);

    // Node 2's piece starts and stalls mid-fragment.
    let slow = c.fragment(2);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
    let stalled = tokio::spawn({
        let inbox = inbox.clone();
        let headers = c.honest(2);
        async move { inbox.receive(&headers, super::held_body(rx)).await }
    });
    tx.send(Ok(bytes::Bytes::copy_from_slice(&slow[..1000])))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;

    // Node 1 completes the set meanwhile.
    let Accepted::Saved(record) = c.post(&inbox, &c.honest(1), &c.fragment(1)).await.unwrap()
    else {
        panic!("not saved")
    };

    // The stalled piece ends after the save: answered as saved, its folder not left behind.
    tx.send(Ok(bytes::Bytes::copy_from_slice(&slow[1000..])))
        .await
        .unwrap();
    drop(tx);
    assert_eq!(stalled.await.unwrap().unwrap(), Accepted::Duplicate(record));
    assert_eq!(c.w.files().len(), 1);
    assert!(c.pieces_dirs().is_empty(), "{:?}", c.pieces_dirs());
}

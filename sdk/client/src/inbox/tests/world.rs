//! The tests' world: a fake node (a thread answering the data-sale contract's `purchase` and
//! `offer` smart queries over real HTTP), an identity, an output directory, and deliveries.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::stream;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{json, Value};

use crate::inbox::{Inbox, InboxConfig, InboxEvent, STATE_DIR};
use crate::seal::seal;
use crate::storage::{delivery_headers as h, sha256_hex};
use crate::{contract_address, humanize_address, AgeIdentity, NodeClient};

/// The buyer of the world's purchases, and of the inboxes' configuration.
pub(super) const BUYER: &str = "consign1buyer";

/// Smart-query answers by (kind, id): `("purchase", 1)` → the purchase's JSON.
pub(super) type Answers = Arc<Mutex<HashMap<(String, u64), Value>>>;

/// A fake node on a loopback port; its thread ends with the test process.
pub(super) fn fake_node(answers: Answers) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let answers = answers.clone();
            std::thread::spawn(move || {
                let _ = answer(stream, &answers);
            });
        }
    });
    url
}

fn answer(stream: std::net::TcpStream, answers: &Answers) -> io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    let query: Value = serde_json::from_slice(&body).unwrap_or_default();
    let (kind, id) = query
        .as_object()
        .and_then(|o| o.iter().next())
        .map(|(k, v)| (k.clone(), v["id"].as_u64().unwrap_or(0)))
        .unwrap_or_default();
    let found = answers.lock().unwrap().get(&(kind.clone(), id)).cloned();
    let (status, reply) = match found {
        Some(data) => ("200 OK", json!({ "data": data })),
        None => (
            "400 Bad Request",
            json!({ "error": format!("query failed: {kind} {id} not found") }),
        ),
    };
    let reply = reply.to_string();
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
        reply.len()
    )?;
    stream.flush()
}

pub(super) struct World {
    pub(super) dir: tempfile::TempDir,
    pub(super) contract: String,
    pub(super) identity: AgeIdentity,
    pub(super) answers: Answers,
    pub(super) node_url: String,
    pub(super) data: Vec<u8>,
}

impl World {
    pub(super) fn new(data: Vec<u8>) -> Self {
        let identity = AgeIdentity::generate();
        let answers: Answers = Arc::default();
        let world = Self {
            dir: tempfile::tempdir().unwrap(),
            contract: humanize_address(&contract_address(1, 1)),
            node_url: fake_node(answers.clone()),
            answers,
            data,
            identity,
        };
        world.put_purchase(1, 1, BUYER, &world.identity.recipient(), "held");
        world.put_offer(1, &sha256_hex(&world.data), world.data.len() as u64);
        world
    }

    pub(super) fn put_purchase(&self, id: u64, offer: u64, buyer: &str, key: &str, state: &str) {
        self.answers.lock().unwrap().insert(
            ("purchase".into(), id),
            json!({
                "id": id, "offer_id": offer, "buyer": buyer, "seller": "consign1seller",
                "price": [], "created": "0", "state": state,
                "recipient": { "endpoint": "http://127.0.0.1:1/", "key": key },
            }),
        );
    }

    pub(super) fn put_offer(&self, id: u64, sha: &str, size: u64) {
        self.answers.lock().unwrap().insert(
            ("offer".into(), id),
            json!({
                "id": id, "seller": "consign1seller", "price": [], "content_sha256": sha,
                "size": size, "title": "Survey 2026.csv", "description": "", "terms": "",
                "expires": null, "status": "active", "created": "0",
            }),
        );
    }

    /// Offer `id` of the world's data, held k-of-n under `custody` (the offer's JSON field).
    pub(super) fn put_custody_offer(&self, id: u64, custody: Value) {
        self.put_offer(id, &sha256_hex(&self.data), self.data.len() as u64);
        let mut answers = self.answers.lock().unwrap();
        if let Some(offer) = answers.get_mut(&("offer".into(), id)) {
            offer["custody"] = custody;
        }
    }

    pub(super) fn inbox(
        &self,
        configure: impl FnOnce(&mut InboxConfig),
    ) -> (Inbox, Arc<Mutex<Vec<InboxEvent>>>) {
        let mut config = InboxConfig::new(self.dir.path(), self.contract.clone(), BUYER);
        configure(&mut config);
        let events: Arc<Mutex<Vec<InboxEvent>>> = Arc::default();
        let sink = events.clone();
        let inbox = Inbox::new(
            config,
            self.identity.clone(),
            NodeClient::new(&self.node_url).unwrap(),
        )
        .unwrap()
        .on_event(move |e| sink.lock().unwrap().push(e.clone()));
        (inbox, events)
    }

    pub(super) fn headers(&self, purchase: u64) -> HeaderMap {
        let mut map = HeaderMap::new();
        let mut set = |name: &'static str, value: String| {
            map.insert(name, HeaderValue::from_str(&value).unwrap());
        };
        set(h::CONTRACT, self.contract.clone());
        set(h::PURCHASE_ID, purchase.to_string());
        set(h::OFFER_ID, "1".into());
        set(h::CONTENT_SHA256, sha256_hex(&self.data));
        set(h::CONTENT_SIZE, self.data.len().to_string());
        map
    }

    pub(super) fn ciphertext(&self) -> Vec<u8> {
        let mut sealer = seal(&self.identity.recipient(), Vec::new()).unwrap();
        sealer.write_all(&self.data).unwrap();
        sealer.finish().unwrap()
    }

    /// The files in the output directory, the state directory left out.
    pub(super) fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != STATE_DIR)
            .collect();
        names.sort();
        names
    }

    /// The state directory's entries (records and leftover `.part` files).
    pub(super) fn state(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path().join(STATE_DIR))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

/// `bytes` as a body stream of `piece`-sized chunks.
pub(super) fn body(
    bytes: &[u8],
    piece: usize,
) -> stream::Iter<std::vec::IntoIter<Result<Bytes, io::Error>>> {
    let chunks: Vec<Result<Bytes, io::Error>> = bytes
        .chunks(piece.max(1))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(chunks)
}

pub(super) fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 253) as u8).collect()
}

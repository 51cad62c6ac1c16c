//! A buyer's receiving HTTP server for tests: it accepts `POST`s of deliveries on a free
//! loopback port and records each one, and answers their preflights (`OPTIONS`) `ready` as a
//! Consign inbox does. It can refuse the first attempts or preflights, read slowly, play a third
//! party's server that answers every request with one status, and tell how many attempts,
//! preflights and body bytes it saw, so fault tests can count deliveries exactly.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use bytes::Buf;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::runtime::Runtime;
use warp::http::StatusCode;
use warp::Filter;

/// Bodies up to this size are kept in memory for the test to decrypt; larger ones are only
/// hashed and counted.
const KEEP_BODY_UP_TO: u64 = 64 << 20;

/// How the receiver behaves.
#[derive(Clone, Debug, Default)]
pub struct ReceiverBehaviour {
    /// Answer `503 Service Unavailable` to this many attempts first.
    pub fail_first: u32,
    /// Sleep this long after each chunk of body read (a slow reader, to catch a delivery in the
    /// middle).
    pub delay_per_chunk: Option<Duration>,
    /// Only count the body's bytes: no hash, nothing kept (for throughput benchmarks, so the
    /// receiver does not compete with the sender for the CPU).
    pub count_only: bool,
    /// Answer `503 Service Unavailable` to this many delivery preflights (`OPTIONS`) first;
    /// the others are answered `204` with `x-consign-inbox: ready`, as a Consign inbox does.
    pub preflight_fail_first: u32,
    /// Be a server that is no Consign inbox (a third party's): answer every request, `OPTIONS`
    /// and `POST` alike, with this status, after reading its whole body (counted in
    /// [`Receiver::bytes_read`]).
    pub answer_everything: Option<u16>,
}

/// One delivery the receiver accepted (answered 200).
#[derive(Clone, Debug)]
pub struct Received {
    /// The request's headers, names lowercase.
    pub headers: BTreeMap<String, String>,
    /// The body, if at most 64 MiB.
    pub body: Option<Vec<u8>>,
    /// The body's length.
    pub len: u64,
    /// SHA-256 of the body (the ciphertext), hex.
    pub body_sha256: String,
    /// When its last byte was read.
    pub completed: Instant,
}

#[derive(Default)]
struct State {
    attempts: u32,
    preflights: u32,
    aborted: u32,
    bytes_read: u64,
    received: Vec<Received>,
}

/// A running receiver.
pub struct Receiver {
    _runtime: Runtime,
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl Receiver {
    /// Starts it on a free loopback port.
    ///
    /// # Errors
    /// When no port can be bound.
    pub fn start(behaviour: ReceiverBehaviour) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let preflight = {
            let (shared, behaviour) = (shared.clone(), behaviour.clone());
            warp::options()
                .and(warp::body::stream())
                .then(move |body| preflight(shared.clone(), behaviour.clone(), body))
        };
        let route = preflight.or(warp::post()
            .and(warp::header::headers_cloned())
            .and(warp::body::stream())
            .then(move |headers: warp::http::HeaderMap, body| {
                handle(shared.clone(), behaviour.clone(), headers, body)
            }));
        runtime.spawn(warp::serve(route).incoming(listener).run());
        Ok(Self {
            _runtime: runtime,
            addr,
            state,
        })
    }

    /// The URL to give as `--deliver-to`.
    pub fn url(&self) -> String {
        format!("http://{}/inbox", self.addr)
    }

    /// Requests received so far, accepted or not.
    pub fn attempts(&self) -> u32 {
        self.lock().attempts
    }

    /// Delivery preflights (`OPTIONS`) received so far.
    pub fn preflights(&self) -> u32 {
        self.lock().preflights
    }

    /// Requests whose body broke off before its end.
    pub fn aborted(&self) -> u32 {
        self.lock().aborted
    }

    /// Body bytes read so far, over all requests.
    pub fn bytes_read(&self) -> u64 {
        self.lock().bytes_read
    }

    /// The deliveries accepted so far.
    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    /// Waits until `n` deliveries have been accepted, or `timeout` passes.
    ///
    /// # Errors
    /// On timeout.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Result<Vec<Received>> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.len() >= n {
                return Ok(received);
            }
            if Instant::now() > deadline {
                anyhow::bail!(
                    "{} of {n} deliveries after {timeout:?} ({} attempts, {} aborted)",
                    received.len(),
                    self.attempts(),
                    self.aborted()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Reads `body` to its end, counting its bytes in `bytes_read`.
async fn count_body<S, B>(state: &Mutex<State>, mut body: S)
where
    S: futures_util::Stream<Item = Result<B, warp::Error>> + Unpin,
    B: Buf,
{
    while let Some(Ok(chunk)) = body.next().await {
        state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .bytes_read += chunk.remaining() as u64;
    }
}

/// A delivery's preflight: `ready`, unless told to refuse or to be no Consign inbox.
async fn preflight<S, B>(
    state: Arc<Mutex<State>>,
    behaviour: ReceiverBehaviour,
    body: S,
) -> warp::http::Response<String>
where
    S: futures_util::Stream<Item = Result<B, warp::Error>> + Unpin,
    B: Buf,
{
    let preflights = {
        let mut state = state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.preflights += 1;
        state.preflights
    };
    count_body(&state, body).await;
    let response = warp::http::Response::builder();
    let response = if let Some(status) = behaviour.answer_everything {
        response.status(status)
    } else if preflights <= behaviour.preflight_fail_first {
        response.status(StatusCode::SERVICE_UNAVAILABLE)
    } else {
        response.status(StatusCode::NO_CONTENT).header(
            consign_client::storage::delivery_headers::INBOX,
            consign_client::storage::delivery_headers::INBOX_READY,
        )
    };
    response
        .body(String::new())
        .unwrap_or_else(|_| warp::http::Response::new(String::new()))
}

async fn handle<S, B>(
    state: Arc<Mutex<State>>,
    behaviour: ReceiverBehaviour,
    headers: warp::http::HeaderMap,
    mut body: S,
) -> warp::reply::WithStatus<&'static str>
where
    S: futures_util::Stream<Item = Result<B, warp::Error>> + Unpin,
    B: Buf,
{
    let attempt = {
        let mut state = state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.attempts += 1;
        state.attempts
    };
    if let Some(status) = behaviour.answer_everything {
        count_body(&state, body).await;
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::NOT_FOUND);
        return warp::reply::with_status("not here", status);
    }
    if attempt <= behaviour.fail_first {
        return warp::reply::with_status("try again later", StatusCode::SERVICE_UNAVAILABLE);
    }
    let mut hasher = Sha256::new();
    let mut kept = Vec::new();
    let mut len = 0u64;
    while let Some(chunk) = body.next().await {
        let Ok(mut chunk) = chunk else {
            state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .aborted += 1;
            return warp::reply::with_status("broken body", StatusCode::BAD_REQUEST);
        };
        while chunk.has_remaining() {
            let piece = chunk.chunk();
            if !behaviour.count_only {
                hasher.update(piece);
                if len + (piece.len() as u64) <= KEEP_BODY_UP_TO {
                    kept.extend_from_slice(piece);
                }
            }
            len += piece.len() as u64;
            let n = piece.len();
            chunk.advance(n);
            state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .bytes_read += n as u64;
        }
        if let Some(delay) = behaviour.delay_per_chunk {
            tokio::time::sleep(delay).await;
        }
    }
    let received = Received {
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect(),
        body: (len <= KEEP_BODY_UP_TO && !behaviour.count_only).then_some(kept),
        len,
        body_sha256: hex::encode(hasher.finalize()),
        completed: Instant::now(),
    };
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .received
        .push(received);
    warp::reply::with_status("delivered", StatusCode::OK)
}

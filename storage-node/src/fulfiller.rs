//! The fulfiller: sends each `pending` [delivery](crate::deliveries) to the buyer, encrypted to
//! the buyer's age recipient as it streams, and records how it went.
//!
//! At start, deliveries left `sending` by a stopped process go back to `pending`
//! ([`deliveries::resume_sending`]). Then up to `delivery_concurrency` deliveries run at once;
//! each attempt:
//!
//! 1. gives up if the deadline passed (the instruction's `deadline`, or the commit time plus
//!    `default_deadline`);
//! 2. checks the offer is still registered here with the same blob, and re-checks the purchase
//!    with a smart query: it must exist, not be refunded, and name the instruction's offer,
//!    buyer and recipient;
//! 3. checks the endpoint against the [egress policy](crate::egress);
//! 4. **asks before sending**: a preflight, `OPTIONS` to the endpoint with the delivery's
//!    headers and no body (hyper's client, under reqwest, cannot hold a streamed body back until
//!    a `100 Continue`, so `Expect: 100-continue` would not spare anyone the body). Only a `2xx`
//!    carrying `x-consign-inbox: ready` (what a Consign inbox answers when it will take the
//!    delivery) gets the body; `x-consign-inbox: saved` means the inbox saved this purchase
//!    before, and the delivery is recorded as delivered with nothing sent. So an endpoint that
//!    refuses, or a third party's server named as an endpoint, never receives the body;
//! 5. streams: a blocking task reads the plaintext from the blob store, hashes it and age-encrypts
//!    it into chunks that go through a bounded channel into the `POST` body, so memory stays at
//!    a few chunks whatever the blob's size. The last age chunk is written only once the
//!    plaintext's size and SHA-256 are checked against the instruction, so a corrupt blob can
//!    never be delivered as a complete, decryptable stream;
//! 6. a `2xx` is recorded as `delivered` before anything else; a `307`/`308` is followed (the
//!    body is streamed again to the checked target, at most [`MAX_REDIRECTS`] times).
//!
//! **A custody piece** (an offer under k-of-n custody, issue 14) is delivered the same way: the
//! body is the fragment this node keeps, checked against its registered digest and size and
//! sealed to the buyer; the headers add the piece's index, `k` and `n`, and its key share, opened
//! with the at-rest key and sealed again to the buyer ([`parcel`]). The node never holds more
//! than its own piece.
//!
//! **No endpoint holds a slot for long.** The connection must be made within
//! `delivery_connect_timeout`; the preflight answered within `delivery_response_timeout`; the
//! body taken at `delivery_min_rate` or faster over each `delivery_rate_window`; and the answer
//! given within `delivery_response_timeout` (plus 1s per 100 MiB, to sync) once the whole body
//! is taken. An endpoint that misses one is cut and retried later. One endpoint (its URL's host
//! and port) has at most one delivery in flight: its other deliveries wait while other
//! endpoints' proceed, so a buyer's tarpit cannot take more than one slot.
//!
//! **What is retried and what fails.** What may still succeed is retried with exponential
//! backoff and full jitter until the deadline: transport errors, timeouts, `5xx`, `429` and the
//! other `4xx` answers (a `422` from an inbox started with the wrong identity), names that resolve to refused addresses (DNS can change),
//! refused redirects, and the node or the chain being unreachable; with the preflight none of
//! these costs the body. A refusal that cannot become an acceptance — `404`, `405` or `410` (and
//! `501` to the preflight), or a `2xx` preflight answer without the Consign inbox's header — is
//! retried too (a server being set up, an inbox whose chain node lags), but at most
//! `delivery_max_refusals` times: then the delivery fails, each refusal recorded with its reason.
//! What can never succeed fails at once, with the reason in `last_error`: the deadline passed,
//! the purchase is not on chain or does not match the instruction or was refused, the offer is
//! no longer registered here, and an endpoint that is an IP literal the policy refuses or not an
//! http(s) URL.

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use consign_client::seal;
use consign_client::storage::{delivery_headers as h, DeliveryState};
use consign_market::Escrow;
use consign_util::retry::{Backoff, Jitter};
use futures_util::FutureExt as _;
use reqwest::header::{HeaderValue, CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode, Url};
use tokio::sync::watch;
use tokio::task::JoinSet;

use self::body::{ProduceError, Producer, Progress, BODY_CHUNK};
use self::parcel::Parcel;
use crate::config::Config;
use crate::deliveries::{self, now_ms, DeliveryEntry};
use crate::egress::{self, EgressError, EgressPolicy, MAX_REDIRECTS};
use crate::metrics::DeliveryOutcome;
use crate::node::Services;
use crate::registrations;

/// Log target.
const TARGET: &str = "storage::fulfiller";
/// The longest the loop sleeps without looking at the queue.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// Bytes of an error response's body kept in `last_error`.
const ERROR_BODY_EXCERPT: usize = 200;
/// How long an error response's body is read for its excerpt.
const ERROR_BODY_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a body's pace is looked at (not per chunk: the streaming path stays as it was).
const PACE_TICK: Duration = Duration::from_millis(250);
/// Once it has the whole body, an endpoint gets 1s more per this many bytes to answer (a Consign
/// inbox syncs the file to disk before it answers).
const SYNC_ALLOWANCE_BYTES_PER_SECOND: u64 = 100 * 1024 * 1024;

/// How long to wait before the next attempt after `attempts` attempts: full jitter, uniform in
/// `[0, min(max, initial · 2^(attempts-1))]`.
pub fn retry_delay(attempts: u32, initial: Duration, max: Duration) -> Duration {
    Backoff::new(initial, max)
        .with_jitter(Jitter::Full)
        .delay(attempts)
}

/// The Unix ms after which `entry` is given up.
fn deadline_ms(entry: &DeliveryEntry, default_deadline: Duration) -> u64 {
    let record = &entry.record;
    match record.instruction.deadline {
        Some(deadline) => deadline.nanos() / 1_000_000,
        None => (record.time.nanos() / 1_000_000)
            .saturating_add(u64::try_from(default_deadline.as_millis()).unwrap_or(u64::MAX)),
    }
}

fn format_ms(ms: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

/// Runs the fulfiller with the policy of the configuration until `shutdown` becomes `true`.
pub async fn run(svc: Services, shutdown: watch::Receiver<bool>) {
    let policy = EgressPolicy::new(svc.config.allow_private_egress);
    run_with_policy(svc, policy, shutdown).await;
}

/// [`run`] with an explicit egress policy (for instance one with
/// [`EgressPolicy::allow_address`] exceptions).
pub async fn run_with_policy(
    svc: Services,
    policy: EgressPolicy,
    mut shutdown: watch::Receiver<bool>,
) {
    // Nothing is sent before the chain node is known to be on this node's chain: every attempt
    // re-checks its purchase there.
    tokio::select! {
        () = svc.chain.wait_verified() => {}
        _ = shutdown.wait_for(|stop| *stop) => return,
    }
    let chain_id = match svc.chain.verified_chain_id() {
        Ok(id) => id.to_owned(),
        Err(error) => {
            tracing::error!(target: TARGET, error = %format!("{error:#}"), "no chain id; no deliveries will be made");
            return;
        }
    };
    match deliveries::resume_sending(&svc.db, now_ms()) {
        Ok(0) => {}
        Ok(resumed) => tracing::info!(
            target: TARGET,
            resumed,
            "resuming the deliveries in flight when the node stopped"
        ),
        Err(error) => tracing::error!(
            target: TARGET,
            error = %format!("{error:#}"),
            "cannot resume the deliveries in flight"
        ),
    }
    let client = match policy.client_with(
        svc.config.delivery_connect_timeout,
        svc.config.delivery_timeout,
    ) {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(target: TARGET, error = %format!("{error:#}"), "cannot build the HTTP client; no deliveries will be made");
            return;
        }
    };
    let concurrency = svc.config.delivery_concurrency.max(1);
    let fulfiller = Arc::new(Fulfiller {
        svc,
        policy,
        client,
        chain_id,
    });
    let mut tasks = JoinSet::new();
    // The endpoints with a delivery in flight, and which task holds each.
    let mut busy: HashSet<String> = HashSet::new();
    let mut holders: HashMap<tokio::task::Id, String> = HashMap::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let mut wait = IDLE_POLL;
        let free = concurrency.saturating_sub(tasks.len());
        if free > 0 {
            // One delivery per endpoint at a time: the others to a busy endpoint stay due.
            let claimed =
                deliveries::claim_due_except(&fulfiller.svc.db, now_ms(), free, |entry| {
                    !busy.insert(endpoint_key(&entry.record.instruction.recipient.endpoint))
                });
            let mut deferred = false;
            match claimed {
                Ok(claimed) => {
                    deferred = claimed.deferred;
                    for entry in claimed.claimed {
                        let key = endpoint_key(&entry.record.instruction.recipient.endpoint);
                        let task = tasks.spawn(Arc::clone(&fulfiller).attempt(entry));
                        holders.insert(task.id(), key);
                    }
                }
                Err(error) => {
                    // The filter let keys in for a claim that did not happen.
                    busy = holders.values().cloned().collect();
                    tracing::error!(
                        target: TARGET,
                        error = %format!("{error:#}"),
                        "cannot read the delivery queue"
                    );
                }
            }
            // Deferred deliveries are due already: look again when a task ends (or at the
            // next poll), not in a busy loop.
            if tasks.len() < concurrency && !deferred {
                if let Ok(Some(at)) = deliveries::next_due_at(&fulfiller.svc.db) {
                    wait = wait.min(Duration::from_millis(at.saturating_sub(now_ms())));
                }
            }
        }
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            () = fulfiller.svc.wake.notified() => {}
            Some(joined) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                let id = match joined {
                    Ok((id, ())) => id,
                    Err(error) => {
                        tracing::error!(target: TARGET, %error, "a delivery task failed");
                        error.id()
                    }
                };
                if let Some(key) = holders.remove(&id) {
                    busy.remove(&key);
                }
            }
            () = tokio::time::sleep(wait) => {}
        }
    }
    let abandoned = tasks.len();
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    tracing::info!(
        target: TARGET,
        abandoned,
        "stopped; deliveries in flight resume at the next start"
    );
}

/// How one attempt ended.
#[derive(Debug)]
enum Outcome {
    /// The endpoint answered 2xx.
    Delivered {
        /// Ciphertext bytes sent.
        bytes: u64,
        /// The status.
        status: u16,
    },
    /// Try again later.
    Retry(String),
    /// A refusal that cannot become an acceptance: try again later, but only up to
    /// `delivery_max_refusals` times in all.
    Refused(String),
    /// Give up.
    Fail(String),
}

/// What the preflight learned.
enum Preflight {
    /// Send the body to this URL (the endpoint, or where its 307/308 redirects led).
    Ready(Url),
    /// The inbox saved this purchase before: nothing to send.
    Saved(StatusCode),
}

/// The pace a body must keep while it streams.
#[derive(Clone, Copy, Debug)]
struct Pace {
    /// The least the connection must take in each `window`.
    required: u64,
    /// The period the rate is measured over.
    window: Duration,
    /// The configured rate (for messages).
    min_rate: u64,
    /// How long the endpoint has to answer once it has the whole body (before the allowance
    /// for syncing).
    answer: Duration,
}

impl Pace {
    fn new(config: &Config) -> Self {
        let min_rate = config.delivery_min_rate.max(1);
        // The body is counted in chunks: a window at the minimum rate must cover two of them,
        // or a reader exactly at the minimum would look stalled between two chunks.
        let two_chunks_ms = (2 * BODY_CHUNK as u64).saturating_mul(1000) / min_rate;
        let window = config
            .delivery_rate_window
            .max(Duration::from_millis(two_chunks_ms));
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        // Less one chunk, which may be on its way into the connection at the window's edge.
        let required =
            (min_rate.saturating_mul(window_ms) / 1000).saturating_sub(BODY_CHUNK as u64);
        Self {
            required,
            window,
            min_rate,
            answer: config.delivery_response_timeout,
        }
    }

    /// Resolves, with the reason, once the connection takes the body slower than the pace, or
    /// the endpoint has the whole body and has not answered in time. Looks every
    /// [`PACE_TICK`].
    async fn broken(self, progress: &Progress) -> String {
        let mut window_started = Instant::now();
        let mut at_window_start = progress.taken();
        let mut finished_at: Option<Instant> = None;
        loop {
            tokio::time::sleep(PACE_TICK).await;
            let taken = progress.taken();
            if progress.finished() {
                let since = *finished_at.get_or_insert_with(Instant::now);
                let allowed =
                    self.answer + Duration::from_secs(taken / SYNC_ALLOWANCE_BYTES_PER_SECOND);
                if since.elapsed() >= allowed {
                    return format!(
                        "the endpoint took the whole body ({taken} bytes) but did not answer within {}; cut",
                        humantime::format_duration(allowed)
                    );
                }
                continue;
            }
            if window_started.elapsed() >= self.window {
                let moved = taken.saturating_sub(at_window_start);
                if moved < self.required {
                    return format!(
                        "the endpoint took {moved} bytes of the body in {}, slower than the minimum of {}/s (delivery_min_rate); cut after {taken} bytes",
                        humantime::format_duration(self.window),
                        consign_util::size::format_size(self.min_rate)
                    );
                }
                window_started = Instant::now();
                at_window_start = taken;
            }
        }
    }
}

/// A `POST` that did not get an answer.
enum PostError {
    /// The request failed.
    Transport(reqwest::Error),
    /// The endpoint took the body too slowly or did not answer in time.
    Cut(String),
}

/// The endpoint's host and port as its URL names them (`buyer.example:443`): the unit that holds
/// at most one delivery slot.
fn endpoint_key(endpoint: &str) -> String {
    match Url::parse(endpoint) {
        Ok(url) => format!(
            "{}:{}",
            url.host_str().unwrap_or_default(),
            url.port_or_known_default().unwrap_or_default()
        ),
        Err(_) => endpoint.to_owned(),
    }
}

/// `404`, `405` and `410`: an answer that will not turn into an acceptance by retrying.
fn is_refusal(status: StatusCode) -> bool {
    matches!(status.as_u16(), 404 | 405 | 410)
}

/// `the endpoint answered 404 Not Found: <excerpt>` for an error response.
async fn answered(what: &str, response: reqwest::Response) -> String {
    let status = response.status();
    let excerpt = body_excerpt(response).await;
    if excerpt.is_empty() {
        format!("the endpoint answered {status} to {what}")
    } else {
        format!("the endpoint answered {status} to {what}: {excerpt}")
    }
}

/// What every attempt shares.
struct Fulfiller {
    svc: Services,
    policy: EgressPolicy,
    client: reqwest::Client,
    /// The chain followed (verified before the fulfiller starts), for idempotency keys.
    chain_id: String,
}

impl Fulfiller {
    /// One attempt at `entry` (claimed: `sending`), recorded.
    async fn attempt(self: Arc<Self>, entry: DeliveryEntry) {
        let started = Instant::now();
        let outcome = AssertUnwindSafe(self.try_deliver(&entry))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| {
                Outcome::Retry(format!("internal error: {}", panic_message(&*panic)))
            });
        self.settle(&entry, outcome, started.elapsed());
    }

    async fn try_deliver(&self, entry: &DeliveryEntry) -> Outcome {
        let record = &entry.record;
        let instruction = &record.instruction;
        let config = &self.svc.config;

        let deadline = deadline_ms(entry, config.default_deadline);
        if now_ms() > deadline {
            return Outcome::Fail(format!(
                "the deadline {} passed after {} attempt(s); last error: {}",
                format_ms(deadline),
                entry.attempts.saturating_sub(1),
                entry.last_error.as_deref().unwrap_or("none")
            ));
        }

        let registration =
            match registrations::lookup(&self.svc.db, &record.contract, instruction.offer_id) {
                Err(error) => {
                    return Outcome::Retry(format!("cannot read the registration: {error:#}"))
                }
                Ok(None) => {
                    return Outcome::Fail(format!(
                        "offer {} of {} is no longer registered here",
                        instruction.offer_id, record.contract
                    ))
                }
                Ok(Some(registration)) if registration.sha256 != entry.sha256 => {
                    return Outcome::Fail(format!(
                        "offer {} of {} is now registered with another blob",
                        instruction.offer_id, record.contract
                    ))
                }
                Ok(Some(registration)) => registration,
            };

        match self
            .svc
            .chain
            .purchase(&record.contract, instruction.purchase_id)
            .await
        {
            Err(error) => {
                return Outcome::Retry(format!("cannot check the purchase on chain: {error:#}"))
            }
            // Following several nodes, the one asked now may lag the one the instruction was
            // read from: "not found" is the chain's word only from a node at its block or later.
            Ok(None) => match self.svc.chain.nodes().status().await {
                Ok(status) if status.height >= record.height => {
                    return Outcome::Fail(format!(
                        "purchase {} not found on chain",
                        instruction.purchase_id
                    ))
                }
                Ok(status) => {
                    return Outcome::Retry(format!(
                        "purchase {} not found yet: the chain node is at height {}, behind the \
                         instruction's block {}",
                        instruction.purchase_id, status.height, record.height
                    ))
                }
                Err(error) => {
                    return Outcome::Retry(format!("cannot check the purchase on chain: {error}"))
                }
            },
            Ok(Some(purchase)) => {
                let mismatch = if purchase.offer_id != instruction.offer_id {
                    Some(format!(
                        "is for offer {}, not {}",
                        purchase.offer_id, instruction.offer_id
                    ))
                } else if purchase.buyer.as_str() != instruction.buyer {
                    Some(format!(
                        "was made by {}, not {}",
                        purchase.buyer, instruction.buyer
                    ))
                } else if purchase.recipient != instruction.recipient {
                    Some("names another recipient than the instruction".to_owned())
                } else if purchase.state == Escrow::Refunded {
                    Some("was refunded".to_owned())
                } else {
                    None
                };
                if let Some(mismatch) = mismatch {
                    return Outcome::Fail(format!(
                        "purchase {} on chain {mismatch}",
                        instruction.purchase_id
                    ));
                }
            }
        }

        let url = match self.policy.parse_endpoint(&instruction.recipient.endpoint) {
            Ok(url) => url,
            Err(error) => return Outcome::Fail(error.to_string()),
        };
        if let Err(error) = seal::validate_recipient(&instruction.recipient.key) {
            return Outcome::Fail(error.to_string());
        }
        let parcel = match Parcel::new(entry, &registration, &self.svc.blobs, &self.chain_id) {
            Ok(parcel) => parcel,
            Err(reason) => return Outcome::Fail(reason),
        };
        self.send(entry, &parcel, url).await
    }

    /// Asks the endpoint whether it will take the delivery (`OPTIONS`, the delivery's headers,
    /// no body), within `delivery_response_timeout`.
    async fn preflight(&self, parcel: &Parcel, url: &Url) -> Result<Preflight, Outcome> {
        const WHAT: &str = "the delivery's preflight";
        let timeout = self.svc.config.delivery_response_timeout;
        let request = self
            .client
            .request(Method::OPTIONS, url.clone())
            .headers(parcel.headers.clone())
            .send();
        let response = match tokio::time::timeout(timeout, request).await {
            Err(_) => {
                return Err(Outcome::Retry(format!(
                    "the endpoint did not answer {WHAT} within {} (delivery_response_timeout); cut",
                    humantime::format_duration(timeout)
                )))
            }
            // As a POST's would be: the policy's refusal as it is, or the transport's error.
            Ok(Err(error)) => return Err(Outcome::Retry(egress::describe(&error))),
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        if status.is_success() {
            let marker = response.headers().get(h::INBOX).map(HeaderValue::as_bytes);
            return match marker {
                Some(m) if m == h::INBOX_READY.as_bytes() => {
                    Ok(Preflight::Ready(response.url().clone()))
                }
                Some(m) if m == h::INBOX_SAVED.as_bytes() => Ok(Preflight::Saved(status)),
                _ => Err(Outcome::Refused(format!(
                    "the endpoint answered {status} to {WHAT} without `{}: {}`: it is not a Consign inbox, so the body was not sent",
                    h::INBOX,
                    h::INBOX_READY
                ))),
            };
        }
        // A server that does not know OPTIONS at all is no Consign inbox either.
        let refused = is_refusal(status) || status == StatusCode::NOT_IMPLEMENTED;
        let reason = answered(WHAT, response).await;
        Err(if refused {
            Outcome::Refused(reason)
        } else {
            Outcome::Retry(reason)
        })
    }

    /// Asks the endpoint first ([`preflight`](Self::preflight)), then POSTs the sealed blob,
    /// following 307/308 redirects.
    async fn send(&self, entry: &DeliveryEntry, parcel: &Parcel, url: Url) -> Outcome {
        let mut url = match self.preflight(parcel, &url).await {
            Ok(Preflight::Ready(url)) => url,
            Ok(Preflight::Saved(status)) => {
                tracing::info!(
                    target: TARGET,
                    sequence = entry.sequence(),
                    "the inbox saved this purchase before; nothing sent"
                );
                return Outcome::Delivered {
                    bytes: 0,
                    status: status.as_u16(),
                };
            }
            Err(outcome) => return outcome,
        };
        for _ in 0..=MAX_REDIRECTS {
            let (result, producer) = self.post(entry, parcel, &url).await;
            let response = match result {
                Ok(response) => response,
                Err(PostError::Cut(reason)) => {
                    producer.cancel();
                    return Outcome::Retry(reason);
                }
                Err(PostError::Transport(error)) => {
                    // A failure of the encrypting side explains a broken request best.
                    producer.cancel();
                    return match producer.result().await {
                        Some(Err(produce)) if !matches!(produce, ProduceError::Closed { .. }) => {
                            Outcome::Retry(produce.to_string())
                        }
                        _ => Outcome::Retry(egress::describe(&error)),
                    };
                }
            };
            let status = response.status();
            if status.is_success() {
                drop(response);
                return match producer.result().await {
                    Some(Ok(bytes)) => Outcome::Delivered {
                        bytes,
                        status: status.as_u16(),
                    },
                    Some(Err(ProduceError::Closed { sent })) => {
                        tracing::warn!(
                            target: TARGET,
                            sequence = entry.sequence(),
                            sent,
                            "the endpoint accepted the delivery before reading all of it"
                        );
                        Outcome::Delivered {
                            bytes: sent,
                            status: status.as_u16(),
                        }
                    }
                    // The body was broken off on purpose: the endpoint cannot have checked it.
                    Some(Err(error)) => Outcome::Retry(error.to_string()),
                    None => Outcome::Retry(format!(
                        "the endpoint answered {status} before the body was complete, and the encryption did not finish"
                    )),
                };
            }
            if matches!(status.as_u16(), 307 | 308) {
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                drop(response);
                drop(producer);
                match self
                    .policy
                    .redirect_target(status.as_u16(), &url, location.as_deref())
                {
                    Ok(next) => {
                        tracing::debug!(target: TARGET, sequence = entry.sequence(), %status, to = %next, "following a redirect");
                        url = next;
                        continue;
                    }
                    Err(error) => return Outcome::Retry(error.to_string()),
                }
            }
            drop(producer);
            let reason = answered("the delivery", response).await;
            return if is_refusal(status) {
                Outcome::Refused(reason)
            } else {
                Outcome::Retry(reason)
            };
        }
        Outcome::Retry(EgressError::TooManyRedirects { max: MAX_REDIRECTS }.to_string())
    }

    /// Starts the encrypting thread and sends its output as the body of a `POST` to `url`,
    /// cut if the endpoint does not keep the [`Pace`].
    async fn post(
        &self,
        entry: &DeliveryEntry,
        parcel: &Parcel,
        url: &Url,
    ) -> (Result<reqwest::Response, PostError>, Producer) {
        let instruction = &entry.record.instruction;
        let (producer, body, progress) = body::start(
            self.svc.blobs.clone(),
            entry.sha256.clone(),
            parcel.blob_size,
            instruction.recipient.key.clone(),
        );
        let request = self
            .client
            .post(url.clone())
            .headers(parcel.headers.clone())
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(body)
            .send();
        let pace = Pace::new(&self.svc.config);
        let result = tokio::select! {
            sent = request => sent.map_err(PostError::Transport),
            reason = pace.broken(&progress) => Err(PostError::Cut(reason)),
        };
        (result, producer)
    }

    /// Records the outcome of an attempt (the state first), its metrics and its log line.
    fn settle(&self, entry: &DeliveryEntry, outcome: Outcome, elapsed: Duration) {
        let db = &self.svc.db;
        let metrics = &self.svc.metrics;
        let config = &self.svc.config;
        let sequence = entry.sequence();
        let purchase = entry.record.instruction.purchase_id;
        let attempt = entry.attempts;
        let duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        match outcome {
            Outcome::Delivered { bytes, status } => {
                let now = SystemTime::now();
                let now_ms = now
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
                if let Err(error) = deliveries::mark_delivered(db, sequence, now_ms) {
                    tracing::error!(
                        target: TARGET,
                        sequence,
                        error = %format!("{error:#}"),
                        "delivered, but the state cannot be saved: it will be sent again after a restart"
                    );
                }
                let committed = UNIX_EPOCH + Duration::from_nanos(entry.record.time.nanos());
                let latency = now.duration_since(committed).unwrap_or_default();
                metrics
                    .delivery_latency_seconds
                    .observe(latency.as_secs_f64());
                metrics.bytes_delivered_total.inc_by(bytes);
                metrics.delivery_finished(DeliveryOutcome::Delivered);
                tracing::info!(
                    target: TARGET,
                    sequence,
                    purchase,
                    attempt,
                    outcome = "delivered",
                    status,
                    bytes,
                    duration_ms,
                    latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
                    "delivery accepted"
                );
            }
            Outcome::Retry(error) => {
                let (now, next) = next_attempt(entry, config);
                if let Err(e) = deliveries::mark_retry(db, sequence, error.clone(), next) {
                    tracing::error!(target: TARGET, sequence, error = %format!("{e:#}"), "cannot save the delivery's state");
                }
                metrics.delivery_retries_total.inc();
                tracing::warn!(
                    target: TARGET,
                    sequence,
                    purchase,
                    attempt,
                    outcome = "retry",
                    duration_ms,
                    retry_in_ms = next - now,
                    %error,
                    "delivery attempt failed"
                );
            }
            Outcome::Refused(reason) => {
                let (now, next) = next_attempt(entry, config);
                let max = config.delivery_max_refusals;
                match deliveries::mark_refused(db, sequence, &reason, next, max) {
                    Ok(Some(DeliveryState::Failed)) => self.given_up(entry, &reason, duration_ms),
                    Ok(_) => {
                        metrics.delivery_retries_total.inc();
                        tracing::warn!(
                            target: TARGET,
                            sequence,
                            purchase,
                            attempt,
                            outcome = "refused",
                            duration_ms,
                            retry_in_ms = next - now,
                            error = %reason,
                            "delivery refused"
                        );
                    }
                    Err(e) => {
                        tracing::error!(target: TARGET, sequence, error = %format!("{e:#}"), "cannot save the delivery's state");
                    }
                }
            }
            Outcome::Fail(reason) => {
                if let Err(e) = deliveries::mark_failed(db, sequence, reason.clone()) {
                    tracing::error!(target: TARGET, sequence, error = %format!("{e:#}"), "cannot save the delivery's state");
                }
                self.given_up(entry, &reason, duration_ms);
            }
        }
    }

    /// The metrics and the log line of a delivery given up (its state is saved already).
    fn given_up(&self, entry: &DeliveryEntry, reason: &str, duration_ms: u64) {
        self.svc.metrics.delivery_finished(DeliveryOutcome::Failed);
        tracing::warn!(
            target: TARGET,
            sequence = entry.sequence(),
            purchase = entry.record.instruction.purchase_id,
            attempt = entry.attempts,
            outcome = "failed",
            duration_ms,
            error = %reason,
            "delivery given up"
        );
    }
}

/// Now and when the next attempt of `entry` is due (Unix ms): after the backoff, but not later
/// than the deadline, so it is given up on time.
fn next_attempt(entry: &DeliveryEntry, config: &Config) -> (u64, u64) {
    let now = now_ms();
    let deadline = deadline_ms(entry, config.default_deadline);
    let delay = retry_delay(entry.attempts, config.retry_initial, config.retry_max);
    let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
    (now, now.saturating_add(delay_ms).min(deadline.max(now)))
}

/// Up to [`ERROR_BODY_EXCERPT`] bytes of an error response's body, as one line of text.
async fn body_excerpt(mut response: reqwest::Response) -> String {
    let deadline = tokio::time::Instant::now() + ERROR_BODY_TIMEOUT;
    let mut bytes = Vec::new();
    while bytes.len() < ERROR_BODY_EXCERPT {
        match tokio::time::timeout_at(deadline, response.chunk()).await {
            Ok(Ok(Some(chunk))) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(ERROR_BODY_EXCERPT);
    String::from_utf8_lossy(&bytes)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned())
}

mod body;
mod parcel;
#[cfg(test)]
mod tests;

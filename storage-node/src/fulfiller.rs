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
//! 4. streams: a blocking task reads the plaintext from the blob store, hashes it and age-encrypts
//!    it into chunks that go through a bounded channel into the `POST` body, so memory stays at
//!    a few chunks whatever the blob's size. The last age chunk is written only once the
//!    plaintext's size and SHA-256 are checked against the instruction, so a corrupt blob can
//!    never be delivered as a complete, decryptable stream;
//! 5. a `2xx` is recorded as `delivered` before anything else; a `307`/`308` is followed (the
//!    body is streamed again to the checked target, at most [`MAX_REDIRECTS`] times).
//!
//! **What is retried and what fails.** What the buyer can fix is retried with exponential
//! backoff and full jitter until the deadline: transport errors, timeouts, every non-2xx status
//! (4xx too: a `404` or `413` usually means a server not set up yet, and the buyer may fix it
//! within the deadline), names that resolve to refused addresses (DNS can change), refused
//! redirects, and the node or the chain being unreachable. What can never succeed fails at
//! once, with the reason in `last_error`: the deadline passed, the purchase is not on chain or
//! does not match the instruction or was refused, the offer is no longer registered here, and an
//! endpoint that is an IP literal the policy refuses or not an http(s) URL.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use consign_client::seal;
use consign_client::storage::{delivery_headers as h, idempotency_key};
use consign_market::Escrow;
use consign_util::retry::{Backoff, Jitter};
use futures_util::FutureExt as _;
use reqwest::header::{CONTENT_TYPE, LOCATION};
use reqwest::Url;
use tokio::sync::watch;
use tokio::task::JoinSet;

use self::body::{ProduceError, Producer};
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
    let client = match policy.client(svc.config.delivery_timeout) {
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
    });
    let mut tasks = JoinSet::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let mut wait = IDLE_POLL;
        let free = concurrency.saturating_sub(tasks.len());
        if free > 0 {
            match deliveries::claim_due(&fulfiller.svc.db, now_ms(), free) {
                Ok(claimed) => {
                    for entry in claimed {
                        tasks.spawn(Arc::clone(&fulfiller).attempt(entry));
                    }
                }
                Err(error) => tracing::error!(
                    target: TARGET,
                    error = %format!("{error:#}"),
                    "cannot read the delivery queue"
                ),
            }
            if tasks.len() < concurrency {
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
            Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                if let Err(error) = joined {
                    tracing::error!(target: TARGET, %error, "a delivery task failed");
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
    /// Give up.
    Fail(String),
}

/// What every attempt shares.
struct Fulfiller {
    svc: Services,
    policy: EgressPolicy,
    client: reqwest::Client,
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
            Ok(Some(_)) => {}
        }

        match self
            .svc
            .chain
            .purchase(&record.contract, instruction.purchase_id)
            .await
        {
            Err(error) => {
                return Outcome::Retry(format!("cannot check the purchase on chain: {error:#}"))
            }
            Ok(None) => {
                return Outcome::Fail(format!(
                    "purchase {} not found on chain",
                    instruction.purchase_id
                ))
            }
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
        self.send(entry, url).await
    }

    /// POSTs the sealed blob to `url`, following 307/308 redirects.
    async fn send(&self, entry: &DeliveryEntry, mut url: Url) -> Outcome {
        for _ in 0..=MAX_REDIRECTS {
            let (result, producer) = self.post(entry, &url).await;
            let response = match result {
                Ok(response) => response,
                Err(error) => {
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
            let excerpt = body_excerpt(response).await;
            return Outcome::Retry(if excerpt.is_empty() {
                format!("the endpoint answered {status}")
            } else {
                format!("the endpoint answered {status}: {excerpt}")
            });
        }
        Outcome::Retry(EgressError::TooManyRedirects { max: MAX_REDIRECTS }.to_string())
    }

    /// Starts the encrypting thread and sends its output as the body of a `POST` to `url`.
    async fn post(
        &self,
        entry: &DeliveryEntry,
        url: &Url,
    ) -> (Result<reqwest::Response, reqwest::Error>, Producer) {
        let record = &entry.record;
        let instruction = &record.instruction;
        let (producer, body) = body::start(
            self.svc.blobs.clone(),
            entry.sha256.clone(),
            instruction.size,
            instruction.recipient.key.clone(),
        );
        let request = self
            .client
            .post(url.clone())
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(h::CONTRACT, &record.contract)
            .header(h::PURCHASE_ID, instruction.purchase_id.to_string())
            .header(h::OFFER_ID, instruction.offer_id.to_string())
            .header(h::CONTENT_SHA256, &entry.sha256)
            .header(h::CONTENT_SIZE, instruction.size.to_string())
            .header(h::SEQUENCE, record.sequence.to_string())
            .header(
                h::IDEMPOTENCY_KEY,
                idempotency_key(
                    self.svc.chain.chain_id(),
                    &record.contract,
                    instruction.purchase_id,
                ),
            )
            .body(body);
        (request.send().await, producer)
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
                let now = now_ms();
                let deadline = deadline_ms(entry, config.default_deadline);
                let delay = retry_delay(attempt, config.retry_initial, config.retry_max);
                let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
                // Not later than the deadline, so it is given up on time.
                let next = now.saturating_add(delay_ms).min(deadline.max(now));
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
            Outcome::Fail(reason) => {
                if let Err(e) = deliveries::mark_failed(db, sequence, reason.clone()) {
                    tracing::error!(target: TARGET, sequence, error = %format!("{e:#}"), "cannot save the delivery's state");
                }
                metrics.delivery_finished(DeliveryOutcome::Failed);
                tracing::warn!(
                    target: TARGET,
                    sequence,
                    purchase,
                    attempt,
                    outcome = "failed",
                    duration_ms,
                    error = %reason,
                    "delivery given up"
                );
            }
        }
    }
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
#[cfg(test)]
mod tests;

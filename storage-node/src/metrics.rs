//! [`Metrics`]: the Prometheus metrics (OpenMetrics text), all named `consign_storage_…`, served
//! at `GET /metrics` on the operator's listener only (`--metrics-listen`, loopback by default).
//!
//! They are never on the public API: even node-wide figures move with what the node holds
//! (`bytes_stored` rises by an offer's size when it is uploaded, the delivery counters move only
//! on the node serving a purchase), so anyone polling every node's figures could tell which
//! node holds which offer. Scrapers reach the operator's listener without a token; keep it on
//! loopback or an operator-only network.
//!
//! The gauges of what is stored (`bytes_stored`, `blobs`) and of deliveries by state are set
//! from the database at each scrape ([`Metrics::encode`]'s caller does it), so they are right
//! after a restart; the counters count since the process started.

use std::sync::Arc;

use consign_client::storage::DeliveryState;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The metrics; cheap to clone (every clone updates the same values).
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    /// Uploads by result.
    pub uploads_total: Family<UploadLabel, Counter>,
    /// Plaintext bytes of the uploads stored.
    pub upload_bytes_total: Counter,
    /// The sum of the plaintext sizes of the distinct blobs held (set at scrape).
    pub bytes_stored: Gauge,
    /// Distinct blobs held (set at scrape).
    pub blobs: Gauge,
    /// Registrations by result.
    pub registrations_total: Family<RegistrationLabel, Counter>,
    /// Deliveries in each state (set at scrape from the database).
    pub deliveries: Family<StateLabel, Gauge>,
    /// Seconds from an instruction's commit (block time) to the buyer's endpoint accepting it.
    pub delivery_latency_seconds: Histogram,
    /// Delivery attempts after the first.
    pub delivery_retries_total: Counter,
    /// Deliveries finished, by outcome.
    pub deliveries_total: Family<OutcomeLabel, Counter>,
    /// How many committed delivery instructions the follower has not handled yet.
    pub follower_lag: Gauge,
    /// The last delivery sequence the follower handled.
    pub follower_cursor: Gauge,
    /// Bytes (age ciphertext) sent to buyers in accepted deliveries.
    pub bytes_delivered_total: Counter,
}

/// How an upload ended.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum UploadResult {
    /// Stored for its account (new blob or new owner).
    Stored,
    /// The account already had it.
    Duplicate,
    /// Refused by a check (signature, grant, quota, digest, size).
    Refused,
    /// The upload broke off or the node failed.
    Failed,
}

/// How a registration ended.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum RegistrationResult {
    /// Recorded.
    Accepted,
    /// Refused by a check.
    Refused,
    /// The node could not check it (the chain unreachable, storage failure).
    Failed,
}

/// How a delivery ended.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The buyer's endpoint accepted it.
    Delivered,
    /// The node gave up.
    Failed,
}

/// The `result` label of `uploads_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UploadLabel {
    /// The result.
    pub result: UploadResult,
}

/// The `result` label of `registrations_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RegistrationLabel {
    /// The result.
    pub result: RegistrationResult,
}

/// The `outcome` label of `deliveries_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// The outcome.
    pub outcome: DeliveryOutcome,
}

/// The `state` label of `deliveries`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabel {
    /// The state, as in the API (`pending`, `sending`, `delivered`, `failed`).
    pub state: &'static str,
}

macro_rules! label_values {
    ($($ty:ty { $($variant:ident => $text:literal),* })*) => {$(
        impl EncodeLabelValue for $ty {
            fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
                use std::fmt::Write as _;
                encoder.write_str(match self { $(Self::$variant => $text),* })
            }
        }
    )*};
}

label_values! {
    UploadResult { Stored => "stored", Duplicate => "duplicate", Refused => "refused", Failed => "failed" }
    RegistrationResult { Accepted => "accepted", Refused => "refused", Failed => "failed" }
    DeliveryOutcome { Delivered => "delivered", Failed => "failed" }
}

/// Every delivery state, with its label.
pub const DELIVERY_STATES: [(DeliveryState, &str); 4] = [
    (DeliveryState::Pending, "pending"),
    (DeliveryState::Sending, "sending"),
    (DeliveryState::Delivered, "delivered"),
    (DeliveryState::Failed, "failed"),
];

/// The Prometheus content type of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every metric at zero, registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("consign_storage");
        let uploads_total = Family::<UploadLabel, Counter>::default();
        let upload_bytes_total = Counter::default();
        let bytes_stored = Gauge::default();
        let blobs = Gauge::default();
        let registrations_total = Family::<RegistrationLabel, Counter>::default();
        let deliveries = Family::<StateLabel, Gauge>::default();
        // From 5 ms (a small delivery on a LAN) to a day (a big one retried for hours).
        let delivery_latency_seconds = Histogram::new([
            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
            1800.0, 3600.0, 21600.0, 86400.0,
        ]);
        let delivery_retries_total = Counter::default();
        let deliveries_total = Family::<OutcomeLabel, Counter>::default();
        let follower_lag = Gauge::default();
        let follower_cursor = Gauge::default();
        let bytes_delivered_total = Counter::default();

        // Counters get their `_total` suffix from the registry.
        registry.register("uploads", "Uploads by result", uploads_total.clone());
        registry.register(
            "upload_bytes",
            "Plaintext bytes of the uploads stored",
            upload_bytes_total.clone(),
        );
        registry.register(
            "bytes_stored",
            "Plaintext bytes of the distinct blobs held",
            bytes_stored.clone(),
        );
        registry.register("blobs", "Distinct blobs held", blobs.clone());
        registry.register(
            "registrations",
            "Registrations by result",
            registrations_total.clone(),
        );
        registry.register("deliveries", "Deliveries by state", deliveries.clone());
        registry.register(
            "delivery_latency_seconds",
            "Seconds from a purchase's commit to the buyer's endpoint accepting the data",
            delivery_latency_seconds.clone(),
        );
        registry.register(
            "delivery_retries",
            "Delivery attempts after the first",
            delivery_retries_total.clone(),
        );
        registry.register(
            "deliveries_finished",
            "Deliveries finished, by outcome",
            deliveries_total.clone(),
        );
        registry.register(
            "follower_lag",
            "Committed delivery instructions the follower has not handled yet",
            follower_lag.clone(),
        );
        registry.register(
            "follower_cursor",
            "The last delivery sequence the follower handled",
            follower_cursor.clone(),
        );
        registry.register(
            "bytes_delivered",
            "Bytes sent to buyers in accepted deliveries",
            bytes_delivered_total.clone(),
        );
        for (_, state) in DELIVERY_STATES {
            let _ = deliveries.get_or_create(&StateLabel { state });
        }

        Self {
            registry: Arc::new(registry),
            uploads_total,
            upload_bytes_total,
            bytes_stored,
            blobs,
            registrations_total,
            deliveries,
            delivery_latency_seconds,
            delivery_retries_total,
            deliveries_total,
            follower_lag,
            follower_cursor,
            bytes_delivered_total,
        }
    }

    /// Counts an upload.
    pub fn upload(&self, result: UploadResult) {
        self.uploads_total
            .get_or_create(&UploadLabel { result })
            .inc();
    }

    /// Counts a registration.
    pub fn registration(&self, result: RegistrationResult) {
        self.registrations_total
            .get_or_create(&RegistrationLabel { result })
            .inc();
    }

    /// Counts a finished delivery.
    pub fn delivery_finished(&self, outcome: DeliveryOutcome) {
        self.deliveries_total
            .get_or_create(&OutcomeLabel { outcome })
            .inc();
    }

    /// Sets the deliveries-by-state gauge (states absent from `counts` go to 0).
    pub fn set_deliveries(&self, counts: &[(DeliveryState, u64)]) {
        for (state, label) in DELIVERY_STATES {
            let count = counts
                .iter()
                .filter(|(s, _)| *s == state)
                .map(|(_, n)| *n)
                .sum::<u64>();
            self.deliveries
                .get_or_create(&StateLabel { state: label })
                .set(gauge_value(count));
        }
    }

    /// Every metric in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

/// A count as a gauge value (saturating).
pub fn gauge_value(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_has_every_metric_with_lowercase_labels() {
        let metrics = Metrics::new();
        metrics.upload(UploadResult::Stored);
        metrics.registration(RegistrationResult::Refused);
        metrics.delivery_finished(DeliveryOutcome::Delivered);
        metrics.set_deliveries(&[(DeliveryState::Pending, 2)]);
        metrics.delivery_latency_seconds.observe(0.02);
        let text = metrics.encode();
        for line in [
            "consign_storage_uploads_total{result=\"stored\"} 1",
            "consign_storage_registrations_total{result=\"refused\"} 1",
            "consign_storage_deliveries_finished_total{outcome=\"delivered\"} 1",
            "consign_storage_deliveries{state=\"pending\"} 2",
            "consign_storage_deliveries{state=\"failed\"} 0",
            "consign_storage_upload_bytes_total 0",
            "consign_storage_bytes_stored 0",
            "consign_storage_blobs 0",
            "consign_storage_delivery_retries_total 0",
            "consign_storage_follower_lag 0",
            "consign_storage_follower_cursor 0",
            "consign_storage_bytes_delivered_total 0",
            "consign_storage_delivery_latency_seconds_count 1",
        ] {
            assert!(text.contains(line), "missing `{line}` in:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }
}

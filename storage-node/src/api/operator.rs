//! The operator's figures: what the node holds, its uploads in progress, its registrations and
//! its deliveries by state, as JSON ([`OperatorStatus`]) and as Prometheus metrics. They move
//! with what the node holds, so they are never on the public API (anyone polling every node's
//! figures could link an offer to the node that serves it): they are served at
//! `GET /v1/admin/status` (admin token) and on the operator's listener ([`routes`],
//! `--metrics-listen`, loopback by default): `GET /metrics` and `GET /status`.

use std::convert::Infallible;

use consign_client::storage::{DeliveryCounts, DeliveryState, OperatorStatus};
use redb::ReadableDatabase as _;
use warp::http::header::CONTENT_TYPE;
use warp::reply::Response;
use warp::{Filter, Reply};

use super::public::VERSION;
use super::{blocking, json, reply, with_svc, ApiFailure};
use crate::db::{self, meta, META};
use crate::metrics::{gauge_value, CONTENT_TYPE as METRICS_CONTENT_TYPE};
use crate::node::Services;
use crate::{blobs, deliveries, registrations};

/// The operator's listener: `GET /metrics` and `GET /status`, nothing else (JSON errors for
/// the rest).
pub fn routes(
    svc: Services,
) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone + Send + Sync + 'static {
    let status = warp::path!("status")
        .and(warp::get())
        .and(with_svc(svc.clone()))
        .and_then(|svc| async move { reply(status(svc).await) });
    let metrics = warp::path!("metrics")
        .and(warp::get())
        .and(with_svc(svc))
        .and_then(|svc| async move { reply(metrics(svc).await) });
    status
        .or(metrics)
        .unify()
        .recover(super::error::recover_operator)
        .unify()
        .with(consign_util::request_log!(super::API_TARGET))
}

/// What the figures read from the database.
struct Figures {
    stats: blobs::index::StoreStats,
    registrations: u64,
    follower_cursor: u64,
    deliveries: Vec<(DeliveryState, u64)>,
}

async fn figures(svc: &Services) -> Result<Figures, ApiFailure> {
    let db = svc.db.clone();
    blocking(move || {
        let follower_cursor = {
            let tx = db.redb().begin_read()?;
            db::meta_u64(&tx.open_table(META)?, meta::FOLLOWER_CURSOR)?
        };
        Ok(Figures {
            stats: blobs::index::stats(&db)?,
            registrations: registrations::count(&db)?,
            follower_cursor,
            deliveries: deliveries::count_by_state(&db)?,
        })
    })
    .await
}

/// The node's figures (`GET /v1/admin/status`, and `GET /status` on the operator's listener).
pub(super) async fn status(svc: Services) -> Result<Response, ApiFailure> {
    let figures = figures(&svc).await?;
    let mut counts = DeliveryCounts::default();
    for (state, n) in &figures.deliveries {
        let slot = match state {
            DeliveryState::Pending => &mut counts.pending,
            DeliveryState::Sending => &mut counts.sending,
            DeliveryState::Delivered => &mut counts.delivered,
            DeliveryState::Failed => &mut counts.failed,
        };
        *slot += n;
    }
    let (uploads, reserved) = svc.uploads.totals();
    Ok(json(&OperatorStatus {
        node_id: svc.node_id.clone(),
        chain_id: svc.chain.chain_id().map(str::to_owned),
        chain: svc.chain.health(),
        version: VERSION.to_owned(),
        uptime_seconds: svc.started.elapsed().as_secs(),
        blobs: figures.stats.blobs,
        bytes_stored: figures.stats.bytes,
        uploads_in_progress: uploads as u64,
        bytes_reserved: reserved,
        registrations: figures.registrations,
        follower_cursor: figures.follower_cursor,
        deliveries: counts,
    }))
}

/// `GET /metrics`: the gauges read from the database are set first.
async fn metrics(svc: Services) -> Result<Response, ApiFailure> {
    let figures = figures(&svc).await?;
    let metrics = &svc.metrics;
    metrics.blobs.set(gauge_value(figures.stats.blobs));
    metrics.bytes_stored.set(gauge_value(figures.stats.bytes));
    metrics.set_deliveries(&figures.deliveries);
    Ok(
        warp::reply::with_header(metrics.encode(), CONTENT_TYPE, METRICS_CONTENT_TYPE)
            .into_response(),
    )
}

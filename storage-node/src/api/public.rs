//! The public, read-only routes: `GET /v1/info`, `GET /status`, `GET /metrics`. None of them
//! says anything about an account, an offer or a buyer.

use consign_client::storage::{DeliveryCounts, DeliveryState, StorageStatus};
use consign_client::StorageInfo;
use redb::ReadableDatabase as _;
use warp::http::header::CONTENT_TYPE;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use super::{blocking, json, reply, with_svc, ApiFailure};
use crate::db::{self, meta, META};
use crate::metrics::{gauge_value, CONTENT_TYPE as METRICS_CONTENT_TYPE};
use crate::node::Services;
use crate::{blobs, deliveries, registrations};

/// The software version.
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

pub(super) fn routes(
    svc: Services,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone + Send + Sync + 'static {
    let info = warp::path!("v1" / "info")
        .and(warp::get())
        .and(with_svc(svc.clone()))
        .map(|svc: Services| json(&info(&svc)));
    let status = warp::path!("status")
        .and(warp::get())
        .and(with_svc(svc.clone()))
        .and_then(|svc| async move { reply(status(svc).await) });
    let metrics = warp::path!("metrics")
        .and(warp::get())
        .and(with_svc(svc))
        .and_then(|svc| async move { reply(metrics(svc).await) });
    info.or(status).unify().or(metrics).unify()
}

fn info(svc: &Services) -> StorageInfo {
    StorageInfo {
        node_id: svc.node_id.clone(),
        chain_id: svc.chain.chain_id().to_owned(),
        version: VERSION.to_owned(),
        max_blob_size: svc.config.max_blob_size,
        quota_per_account: svc.config.quota_per_account,
    }
}

/// What `/status` and `/metrics` read from the database.
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

/// `GET /status`.
async fn status(svc: Services) -> Result<Response, ApiFailure> {
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
    Ok(json(&StorageStatus {
        node_id: svc.node_id.clone(),
        chain_id: svc.chain.chain_id().to_owned(),
        version: VERSION.to_owned(),
        uptime_seconds: svc.started.elapsed().as_secs(),
        blobs: figures.stats.blobs,
        bytes_stored: figures.stats.bytes,
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

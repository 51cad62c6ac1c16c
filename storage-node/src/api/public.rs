//! The public, read-only routes: `GET /v1/info` and `GET /status`. Both say only what is
//! constant for the node (its id, chain, version and limits): nothing that moves with uploads,
//! registrations or deliveries, so polling every storage node cannot tell which one holds an
//! offer. The figures are the operator's ([`operator`](super::operator)).

use consign_client::storage::StorageStatus;
use consign_client::StorageInfo;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::{json, with_svc, ApiFailure};
use crate::node::Services;

/// The software version.
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The service name `GET /status` gives.
const SERVICE: &str = "consign-storage";

pub(super) fn routes(
    svc: Services,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone + Send + Sync + 'static {
    let info = warp::path!("v1" / "info")
        .and(warp::get())
        .and(with_svc(svc.clone()))
        .map(|svc: Services| match info(&svc) {
            Ok(info) => json(&info),
            Err(failure) => failure.to_response(),
        });
    let status = warp::path!("status")
        .and(warp::get())
        .and(with_svc(svc))
        .map(|svc: Services| json(&status(&svc)));
    info.or(status).unify()
}

/// `GET /v1/info`; 503 while a new node has not learnt its chain (a seller signs for it).
fn info(svc: &Services) -> Result<StorageInfo, ApiFailure> {
    let chain_id = svc.chain.chain_id().ok_or_else(|| {
        ApiFailure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "this storage node has not reached its chain node yet, so it cannot say which chain \
             it serves; try again shortly",
        )
    })?;
    Ok(StorageInfo {
        node_id: svc.node_id.clone(),
        chain_id: chain_id.to_owned(),
        version: VERSION.to_owned(),
        max_blob_size: svc.config.max_blob_size,
        quota_per_account: svc.config.quota_per_account,
        custody_recipient: svc.blobs.recipient().to_string(),
    })
}

/// `GET /status`: liveness and version.
fn status(svc: &Services) -> StorageStatus {
    StorageStatus {
        service: SERVICE.to_owned(),
        version: VERSION.to_owned(),
        node_id: svc.node_id.clone(),
        chain_id: svc.chain.chain_id().map(str::to_owned),
    }
}

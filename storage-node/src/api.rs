//! The storage node's HTTP API (warp), as one filter: [`routes`].
//!
//! | route | who | what |
//! |---|---|---|
//! | `GET /v1/info` | anyone | [`StorageInfo`](consign_client::StorageInfo): node id, chain id, limits, the custody recipient key shares are sealed to |
//! | `GET /v1/blobs/{sha256}/admission` | a seller (signed grant) | whether the upload would be accepted, and whether the seller already stored it |
//! | `PUT /v1/blobs/{sha256}` | a seller (signed grant) | uploads a blob (streamed) |
//! | `POST /v1/registrations` | a seller (signed) | binds an offer to a blob; for an offer under k-of-n custody, to the piece this node keeps (fragment and sealed key share), checked against the offer's commitments |
//! | `GET /status` | anyone | [`StorageStatus`](consign_client::storage::StorageStatus): liveness and version only |
//! | `GET /v1/admin/status` | operator token | [`OperatorStatus`](consign_client::storage::OperatorStatus): the node's figures |
//! | `GET /v1/admin/deliveries?after=&limit=&state=` | operator token | deliveries with state and last error |
//! | `GET /v1/admin/registrations?after=&limit=` | operator token | the offers registered (with the custody piece kept, if any) |
//! | `GET /v1/admin/accounts/{address}` | operator token | an account's usage and quota |
//!
//! The public routes say nothing that moves with what the node holds (see [`operator`]): the
//! figures and the Prometheus metrics are on the operator's listener ([`operator::routes`],
//! `--metrics-listen`, loopback by default) and behind the admin token.
//!
//! Sellers authenticate with signatures by their chain account key, never passwords; the
//! operator with the admin token (`Authorization: Bearer …`). Every error is JSON
//! `{"error": "…"}` with a status that says what kind of refusal it is, built in one place
//! ([`ApiFailure`], shared with the chain node's API, and the filter's `recover`).

mod admin;
mod error;
pub mod operator;
mod public;
mod registration;
mod upload;

use std::convert::Infallible;

// `with_svc` hands each request the services.
use consign_util::api::{json, query, reply, with_state as with_svc};
use warp::{Filter, Reply};

pub use consign_util::api::ApiFailure;

use crate::node::Services;

/// Log target of the API.
pub(crate) const API_TARGET: &str = "storage::api";

/// Every route, traced, with rejections turned into JSON errors.
pub fn routes(
    svc: Services,
) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone + Send + Sync + 'static {
    public::routes(svc.clone())
        .or(upload::routes(svc.clone()))
        .unify()
        .or(registration::routes(svc.clone()))
        .unify()
        .or(admin::routes(svc))
        .unify()
        .recover(error::recover)
        .unify()
        .with(consign_util::request_log!(API_TARGET))
}

/// Runs blocking database work off the async workers.
async fn blocking<T, F>(work: F) -> Result<T, ApiFailure>
where
    F: FnOnce() -> anyhow::Result<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiFailure::internal(format!("a database task failed: {e}")))?
        .map_err(|e| ApiFailure::internal(format!("{e:#}")))
}

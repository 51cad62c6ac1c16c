//! The storage node's HTTP API (warp), as one filter: [`routes`].
//!
//! | route | who | what |
//! |---|---|---|
//! | `GET /v1/info` | anyone | [`StorageInfo`](consign_client::StorageInfo): node id, chain id, limits |
//! | `GET /v1/blobs/{sha256}/admission` | a seller (signed grant) | whether the upload would be accepted, and whether the seller already stored it |
//! | `PUT /v1/blobs/{sha256}` | a seller (signed grant) | uploads a blob (streamed) |
//! | `POST /v1/registrations` | a seller (signed) | binds an offer to a blob |
//! | `GET /status` | anyone | [`StorageStatus`](consign_client::storage::StorageStatus): node-wide figures |
//! | `GET /metrics` | anyone (scrapers) | Prometheus metrics, node-wide only (see [`metrics`](crate::metrics)) |
//! | `GET /v1/admin/deliveries?after=&limit=&state=` | operator token | deliveries with state and last error |
//! | `GET /v1/admin/registrations?after=&limit=` | operator token | the offers registered |
//! | `GET /v1/admin/accounts/{address}` | operator token | an account's usage and quota |
//!
//! Sellers authenticate with signatures by their chain account key, never passwords; the
//! operator with the admin token (`Authorization: Bearer …`). Every error is JSON
//! `{"error": "…"}` with a status that says what kind of refusal it is, built in one place
//! ([`ApiFailure`] and the filter's `recover`).

mod admin;
mod error;
mod public;
mod registration;
mod upload;

use std::convert::Infallible;

use serde::de::DeserializeOwned;
use serde::Serialize;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

pub use error::ApiFailure;

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
        .with(warp::log::custom(|info| {
            let status = info.status().as_u16();
            if info.status().is_server_error() {
                tracing::warn!(
                    target: API_TARGET,
                    method = %info.method(),
                    path = info.path(),
                    status,
                    elapsed = ?info.elapsed(),
                    "request failed"
                );
            } else {
                tracing::debug!(
                    target: API_TARGET,
                    method = %info.method(),
                    path = info.path(),
                    status,
                    elapsed = ?info.elapsed(),
                    "request"
                );
            }
        }))
}

/// Hands each request the services.
fn with_svc(
    svc: Services,
) -> impl Filter<Extract = (Services,), Error = Infallible> + Clone + Send + Sync {
    warp::any().map(move || svc.clone())
}

/// A JSON response with status 200.
fn json<T: Serialize>(value: &T) -> Response {
    warp::reply::json(value).into_response()
}

/// The query string decoded into `T` (absent parameters take their defaults; unknown ones are
/// refused, so a typo does not silently fall back to a default).
fn query<T>() -> impl Filter<Extract = (T,), Error = Rejection> + Clone + Send + Sync
where
    T: DeserializeOwned + Send + 'static,
{
    warp::query::raw()
        .or(warp::any().map(String::new))
        .unify()
        .and_then(|raw: String| async move {
            serde_urlencoded::from_str::<T>(&raw).map_err(|e| {
                Rejection::from(ApiFailure::bad_request(format!(
                    "invalid query string: {e}"
                )))
            })
        })
}

/// Turns a handler's result into warp's.
fn reply(result: Result<Response, ApiFailure>) -> Result<Response, Rejection> {
    result.map_err(Rejection::from)
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

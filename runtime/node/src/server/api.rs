//! The API as one warp filter: the route groups, request tracing, and [`recover`], the one place
//! where rejections become JSON errors.

use std::convert::Infallible;
use std::sync::Arc;

use consign_client::TxHash;
use serde::de::DeserializeOwned;
use serde::Serialize;
use warp::http::StatusCode;
use warp::reject::Reject;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use super::node::{Node, NodeError};
use super::API_TARGET;

/// Every route of the API, traced, with rejections recovered as JSON errors.
pub(super) fn routes(
    node: Arc<Node>,
) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone + Send + Sync + 'static {
    super::query::routes(node.clone())
        .or(super::txs::routes(node.clone()))
        .unify()
        .or(super::events::routes(node.clone()))
        .unify()
        .or(super::deliveries::routes(node))
        .unify()
        .recover(recover)
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

/// An error answer: an HTTP status and the JSON body `{"error": …}`, plus `code` and `txhash`
/// for a refused transaction. Handlers reject with it; [`recover`] turns it into the response.
#[derive(Debug)]
pub(super) struct ApiFailure {
    status: StatusCode,
    body: ErrorBody,
}

/// The JSON of every error (a superset of `consign_client::ApiError`).
#[derive(Debug, Serialize)]
struct ErrorBody {
    error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    txhash: Option<TxHash>,
}

impl Reject for ApiFailure {}

impl ApiFailure {
    pub(super) fn new(status: StatusCode, error: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                error: error.into(),
                code: None,
                txhash: None,
            },
        }
    }

    /// 400: the request is wrong; the message says how.
    pub(super) fn bad_request(error: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error)
    }

    /// 404: no such thing.
    pub(super) fn not_found(error: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, error)
    }

    /// 500: the node failed.
    pub(super) fn internal(error: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
    }

    /// Adds the transaction's hash (and result code) to the body.
    pub(super) fn for_tx(mut self, txhash: TxHash, code: Option<u32>) -> Self {
        self.body.txhash = Some(txhash);
        self.body.code = code;
        self
    }

    fn into_response(self) -> Response {
        warp::reply::with_status(warp::reply::json(&self.body), self.status).into_response()
    }
}

impl From<NodeError> for ApiFailure {
    fn from(error: NodeError) -> Self {
        Self::internal(error)
    }
}

impl From<consign_chain::ChainError> for ApiFailure {
    fn from(error: consign_chain::ChainError) -> Self {
        match error {
            consign_chain::ChainError::Query(msg) => Self::bad_request(msg),
            consign_chain::ChainError::NotFound(msg) => Self::not_found(msg),
            other => Self::internal(other),
        }
    }
}

/// Hands each request the node.
pub(super) fn with_node(
    node: Arc<Node>,
) -> impl Filter<Extract = (Arc<Node>,), Error = Infallible> + Clone + Send + Sync {
    warp::any().map(move || node.clone())
}

/// A JSON response with status 200.
pub(super) fn json<T: Serialize>(value: &T) -> Response {
    warp::reply::json(value).into_response()
}

/// The query string decoded into `T`, rejecting with a message that names the wrong parameter.
/// Absent parameters take their defaults; unknown ones are refused (a typo must not silently
/// fall back to a default).
pub(super) fn query<T>() -> impl Filter<Extract = (T,), Error = Rejection> + Clone + Send + Sync
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

/// Turns every rejection into a JSON error: the handlers' own [`ApiFailure`]s as they are,
/// and warp's (unknown route, wrong method, bad body, …) with a message saying what to fix.
pub(super) async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
    if let Some(failure) = rejection.find::<ApiFailure>() {
        let failure = ApiFailure {
            status: failure.status,
            body: ErrorBody {
                error: failure.body.error.clone(),
                code: failure.body.code,
                txhash: failure.body.txhash,
            },
        };
        if failure.status.is_server_error() {
            tracing::error!(target: API_TARGET, status = failure.status.as_u16(), error = %failure.body.error, "request failed");
        }
        return Ok(failure.into_response());
    }
    let failure = if rejection.is_not_found() {
        ApiFailure::not_found(
            "no such route; the routes are listed in runtime/node/openapi.yaml (for example GET /status)",
        )
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        ApiFailure::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "this route does not take that HTTP method; see runtime/node/openapi.yaml",
        )
    } else if let Some(e) = rejection.find::<warp::filters::body::BodyDeserializeError>() {
        ApiFailure::bad_request(format!("invalid request body: {e}"))
    } else if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        ApiFailure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body is larger than the limit of {} bytes",
                super::txs::MAX_BODY
            ),
        )
    } else if rejection.find::<warp::reject::LengthRequired>().is_some() {
        ApiFailure::new(
            StatusCode::LENGTH_REQUIRED,
            "send the body with a Content-Length header",
        )
    } else if let Some(e) = rejection.find::<warp::reject::InvalidHeader>() {
        ApiFailure::bad_request(format!("invalid header {}", e.name()))
    } else if let Some(e) = rejection.find::<warp::reject::InvalidQuery>() {
        ApiFailure::bad_request(format!("invalid query string: {e}"))
    } else {
        tracing::error!(target: API_TARGET, ?rejection, "unhandled rejection");
        ApiFailure::internal(format!("unhandled rejection: {rejection:?}"))
    };
    Ok(failure.into_response())
}

/// Turns a handler's result into warp's.
pub(super) fn reply(result: Result<Response, ApiFailure>) -> Result<Response, Rejection> {
    result.map_err(Rejection::from)
}

//! [`ApiFailure`] and [`recover`]: the one place where refusals become JSON errors.

use std::convert::Infallible;

use serde::Serialize;
use warp::http::StatusCode;
use warp::reject::Reject;
use warp::reply::Response;
use warp::{Rejection, Reply};

use super::API_TARGET;

/// An error answer: a status and the body `{"error": "…"}`. Handlers reject with it.
#[derive(Debug)]
pub struct ApiFailure {
    status: StatusCode,
    error: String,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

impl Reject for ApiFailure {}

impl ApiFailure {
    /// An answer with this status and message.
    pub fn new(status: StatusCode, error: impl Into<String>) -> Self {
        Self {
            status,
            error: error.into(),
        }
    }

    /// 400: the request is malformed; the message says how.
    pub fn bad_request(error: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error)
    }

    /// 401: the signature or token is missing, wrong or stale.
    pub fn unauthorized(error: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, error)
    }

    /// 403: authenticated, but not allowed.
    pub fn forbidden(error: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, error)
    }

    /// 404: no such thing.
    pub fn not_found(error: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, error)
    }

    /// 500: the node failed.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.error
    }

    fn to_response(&self) -> Response {
        warp::reply::with_status(
            warp::reply::json(&ErrorBody { error: &self.error }),
            self.status,
        )
        .into_response()
    }
}

/// Turns every rejection into a JSON error: the handlers' [`ApiFailure`]s as they are, warp's
/// own (unknown route, wrong method, …) with a message saying what to fix.
pub(super) async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
    if let Some(failure) = rejection.find::<ApiFailure>() {
        if failure.status.is_server_error() {
            tracing::error!(
                target: API_TARGET,
                status = failure.status.as_u16(),
                error = %failure.error,
                "request failed"
            );
        }
        return Ok(failure.to_response());
    }
    let failure = if rejection.is_not_found() {
        ApiFailure::not_found(
            "no such route; the API has GET /v1/info, GET /v1/blobs/{sha256}/admission, \
             PUT /v1/blobs/{sha256}, POST /v1/registrations, GET /status, GET /metrics and \
             GET /v1/admin/{deliveries,registrations,accounts/{address}}",
        )
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        ApiFailure::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "this route does not take that HTTP method; see GET /v1/info and the crate docs",
        )
    } else if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        ApiFailure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is larger than this route accepts",
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
    Ok(failure.to_response())
}

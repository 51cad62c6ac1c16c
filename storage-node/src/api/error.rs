//! [`recover`]: the one place where this API's refusals become JSON errors, through the shared
//! [`Recovery`] (the error shape and the mapping of warp's rejections live in `consign-util`).

use std::convert::Infallible;

use consign_util::api::Recovery;
use warp::reply::Response;
use warp::{Rejection, Reply as _};

use super::API_TARGET;

/// What this API says for warp's own rejections: where its routes are described.
fn recovery() -> Recovery {
    Recovery {
        not_found: "no such route; the API has GET /v1/info, GET /v1/blobs/{sha256}/admission, \
                    PUT /v1/blobs/{sha256}, POST /v1/registrations, GET /status and \
                    GET /v1/admin/{status,deliveries,registrations,accounts/{address}}"
            .into(),
        method_not_allowed:
            "this route does not take that HTTP method; see GET /v1/info and the crate docs".into(),
        payload_too_large: "the request body is larger than this route accepts".into(),
    }
}

/// The operator's listener's version of [`recover`]: it has two routes.
pub(super) async fn recover_operator(rejection: Rejection) -> Result<Response, Infallible> {
    let recovery = Recovery {
        not_found: "no such route; the operator's listener has GET /metrics and GET /status".into(),
        ..recovery()
    };
    Ok(recovery.failure(&rejection).into_response())
}

/// Turns every rejection into a JSON error: the handlers' [`ApiFailure`](super::ApiFailure)s as
/// they are, warp's own (unknown route, wrong method, …) with a message saying what to fix;
/// server errors are logged.
pub(super) async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
    let failure = recovery().failure(&rejection);
    if failure.status().is_server_error() {
        tracing::error!(
            target: API_TARGET,
            status = failure.status().as_u16(),
            error = %failure.message(),
            "request failed"
        );
    }
    Ok(failure.into_response())
}

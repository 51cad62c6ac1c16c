//! The JSON error shape of Consign's HTTP APIs (the node's and the storage node's) and the one
//! mapping of warp's rejections to it.
//!
//! Every error answer is a status and the body [`ApiError`] `{"error": "…"}`, plus, for some
//! answers, more fields (the node adds `code` and `txhash` to a refused transaction). Handlers
//! return [`ApiFailure`]; [`reply`] turns their result into warp's; each server's `recover`
//! asks [`Recovery::failure`] for the answer to any rejection, logs server errors under its
//! own target, and replies with it:
//!
//! ```
//! use std::convert::Infallible;
//! use consign_util::api::{ApiFailure, Recovery};
//! use warp::{reply::Response, Rejection, Reply as _};
//!
//! async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
//!     let failure = Recovery {
//!         not_found: "no such route; see GET /status".into(),
//!         method_not_allowed: "this route does not take that HTTP method".into(),
//!         payload_too_large: "the request body is too large".into(),
//!     }
//!     .failure(&rejection);
//!     if failure.status().is_server_error() {
//!         // The server logs it under its own target, e.g. with
//!         // `tracing::error!(target: "my::api", error = %failure.message(), "request failed")`.
//!     }
//!     Ok(failure.into_response())
//! }
//! ```

use std::borrow::Cow;
use std::convert::Infallible;

use consign_types::ApiError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use warp::http::StatusCode;
use warp::reject::Reject;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

/// An error answer: an HTTP status and the JSON body `{"error": …}` with any extra fields.
/// Handlers return it (or reject with it); it is its own [`Reply`].
#[derive(Clone, Debug)]
pub struct ApiFailure {
    status: StatusCode,
    body: ApiError,
    extra: Map<String, Value>,
}

impl Reject for ApiFailure {}

impl ApiFailure {
    /// An answer with this status and message.
    pub fn new(status: StatusCode, error: impl Into<String>) -> Self {
        Self {
            status,
            body: ApiError {
                error: error.into(),
            },
            extra: Map::new(),
        }
    }

    /// 400: the request is wrong; the message says how.
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

    /// 500: the server failed.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
    }

    /// Adds the field `name` to the body (after `error`, in the order added). A value that
    /// cannot be JSON is written as `null`.
    #[must_use]
    pub fn with_field(mut self, name: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.extra.insert(name.to_owned(), value);
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.body.error
    }

    /// The response: the status and the JSON body.
    pub fn to_response(&self) -> Response {
        #[derive(Serialize)]
        struct Body<'a> {
            #[serde(flatten)]
            error: &'a ApiError,
            #[serde(flatten)]
            extra: &'a Map<String, Value>,
        }
        let body = Body {
            error: &self.body,
            extra: &self.extra,
        };
        warp::reply::with_status(warp::reply::json(&body), self.status).into_response()
    }
}

impl Reply for ApiFailure {
    fn into_response(self) -> Response {
        self.to_response()
    }
}

/// What [`request_log!`](crate::request_log) expands to; not an API.
#[doc(hidden)]
pub mod __private {
    pub use {tracing, warp};
}

/// The request log of a server's routes, as a warp filter to add with `.with(…)`: each request
/// at debug level, those answered with a server error at warn, with method, path, status and
/// time taken, under the server's own log target (a macro because a `tracing` target must be
/// a constant where the event is written).
///
/// ```ignore
/// routes.recover(recover).unify().with(consign_util::request_log!("runtime::api"))
/// ```
#[macro_export]
macro_rules! request_log {
    ($target:expr) => {
        $crate::api::__private::warp::log::custom(|info| {
            let status = info.status().as_u16();
            if info.status().is_server_error() {
                $crate::api::__private::tracing::warn!(
                    target: $target,
                    method = %info.method(),
                    path = info.path(),
                    status,
                    elapsed = ?info.elapsed(),
                    "request failed"
                );
            } else {
                $crate::api::__private::tracing::debug!(
                    target: $target,
                    method = %info.method(),
                    path = info.path(),
                    status,
                    elapsed = ?info.elapsed(),
                    "request"
                );
            }
        })
    };
}

/// The messages that differ between servers for warp's own rejections: each says where the
/// routes are described.
#[derive(Clone, Debug)]
pub struct Recovery {
    /// 404 for a path no route matches.
    pub not_found: Cow<'static, str>,
    /// 405 for a route that exists with another method.
    pub method_not_allowed: Cow<'static, str>,
    /// 413 for a body over a route's limit.
    pub payload_too_large: Cow<'static, str>,
}

impl Recovery {
    /// The answer to any rejection: the handlers' own [`ApiFailure`] as it is, and warp's
    /// (unknown route, wrong method, bad body, missing length, bad header or query) with a
    /// message saying what to fix. Anything else is a 500 `unhandled rejection: …`.
    pub fn failure(&self, rejection: &Rejection) -> ApiFailure {
        if let Some(failure) = rejection.find::<ApiFailure>() {
            return failure.clone();
        }
        if rejection.is_not_found() {
            ApiFailure::not_found(self.not_found.clone())
        } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
            ApiFailure::new(
                StatusCode::METHOD_NOT_ALLOWED,
                self.method_not_allowed.clone(),
            )
        } else if let Some(e) = rejection.find::<warp::filters::body::BodyDeserializeError>() {
            ApiFailure::bad_request(format!("invalid request body: {e}"))
        } else if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
            ApiFailure::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                self.payload_too_large.clone(),
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
            ApiFailure::internal(format!("unhandled rejection: {rejection:?}"))
        }
    }
}

/// Turns a handler's result into warp's.
///
/// # Errors
///
/// The handler's [`ApiFailure`], as a rejection for the server's `recover`.
pub fn reply(result: Result<Response, ApiFailure>) -> Result<Response, Rejection> {
    result.map_err(Rejection::from)
}

/// A JSON response with status 200.
pub fn json<T: Serialize>(value: &T) -> Response {
    warp::reply::json(value).into_response()
}

/// The query string decoded into `T`, rejecting with a 400 that names the wrong parameter.
/// Absent parameters take their defaults; unknown ones are refused if `T` says
/// `deny_unknown_fields` (a typo must not silently fall back to a default).
pub fn query<T>() -> impl Filter<Extract = (T,), Error = Rejection> + Clone + Send + Sync
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

/// Hands each request a clone of `value` (the server's shared state).
pub fn with_state<S>(
    value: S,
) -> impl Filter<Extract = (S,), Error = Infallible> + Clone + Send + Sync
where
    S: Clone + Send + Sync + 'static,
{
    warp::any().map(move || value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recovery() -> Recovery {
        Recovery {
            not_found: "no such route".into(),
            method_not_allowed: "wrong method".into(),
            payload_too_large: "too large".into(),
        }
    }

    async fn answer(
        filter: impl Filter<Extract = (Response,), Error = Rejection> + Clone + Send + Sync + 'static,
        request: warp::test::RequestBuilder,
    ) -> (u16, Value) {
        let recover = |rejection: Rejection| async move {
            Ok::<_, Infallible>(recovery().failure(&rejection).into_response())
        };
        let routes = filter
            .recover(recover)
            .with(crate::request_log!("consign_util::tests"));
        let response = request.reply(&routes).await;
        let body: Value = serde_json::from_slice(response.body()).unwrap();
        (response.status().as_u16(), body)
    }

    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Params {
        limit: Option<u32>,
    }

    fn routes() -> impl Filter<Extract = (Response,), Error = Rejection> + Clone + Send + Sync {
        let get = warp::path!("thing")
            .and(warp::get())
            .and(query::<Params>())
            .map(|_| json(&serde_json::json!({"ok": true})));
        let post = warp::path!("upload")
            .and(warp::post())
            .and(warp::body::content_length_limit(8))
            .and(warp::body::json::<Value>())
            .map(|_| json(&serde_json::json!({"ok": true})));
        let fail = warp::path!("fail").and_then(|| async {
            reply(Err(ApiFailure::bad_request("refused")
                .with_field("code", 5u32)
                .with_field("txhash", "AB")))
        });
        get.or(post).unify().or(fail).unify()
    }

    #[tokio::test]
    async fn every_rejection_is_a_json_error() {
        let req = warp::test::request;
        let (status, body) = answer(routes(), req().path("/nowhere")).await;
        assert_eq!(
            (status, body),
            (404, serde_json::json!({"error": "no such route"}))
        );
        let (status, body) = answer(routes(), req().method("PUT").path("/thing")).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (405, Some("wrong method"))
        );
        let (status, body) = answer(routes(), req().path("/thing?limit=x")).await;
        assert_eq!(status, 400);
        assert!(body["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid query string"));
        let (status, _) = answer(routes(), req().path("/thing?limits=1")).await;
        assert_eq!(status, 400);
        let (status, body) = answer(
            routes(),
            req().method("POST").path("/upload").body("{\"a\": 12345}"),
        )
        .await;
        assert_eq!((status, body["error"].as_str()), (413, Some("too large")));
        let (status, body) = answer(routes(), req().method("POST").path("/upload").body("{")).await;
        assert_eq!(status, 400);
        assert!(body["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid request body"));
        let (status, body) = answer(routes(), req().path("/fail")).await;
        assert_eq!(
            (status, body),
            (
                400,
                serde_json::json!({"error": "refused", "code": 5, "txhash": "AB"})
            )
        );
        let (status, body) = answer(routes(), req().path("/thing?limit=3")).await;
        assert_eq!((status, body), (200, serde_json::json!({"ok": true})));
    }

    #[test]
    fn the_body_is_the_wire_type() {
        let failure = ApiFailure::internal("broken");
        assert_eq!(failure.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(failure.message(), "broken");
        let response = failure.into_response();
        assert_eq!(response.status(), 500);
    }
}

//! `POST /v1/registrations`: the body is a [`Signed<Registration>`] as JSON; the checks are
//! [`registrations::register`]'s, and each refusal gets its own status.

use consign_client::{Registration, Signed};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::{json, reply, with_svc, ApiFailure, API_TARGET};
use crate::metrics::RegistrationResult;
use crate::node::Services;
use crate::registrations::{self, RegistrationError};

/// The largest registration body accepted.
const MAX_BODY: u64 = 64 * 1024;

pub(super) fn routes(
    svc: Services,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone + Send + Sync + 'static {
    warp::path!("v1" / "registrations")
        .and(warp::post())
        .and(warp::body::content_length_limit(MAX_BODY))
        .and(warp::body::bytes())
        .and(with_svc(svc))
        .and_then(|body, svc| async move { reply(register(body, svc).await) })
}

async fn register(body: bytes::Bytes, svc: Services) -> Result<Response, ApiFailure> {
    let signed: Signed<Registration> = serde_json::from_slice(&body).map_err(|e| {
        ApiFailure::bad_request(format!(
            "the body is not a signed registration: {e}; send {{\"public_key\", \"payload\": \
             {{node_id, chain_id, contract, offer_id, sha256, nonce, issued_at[, custody: \
             {{index, sealed_share}}]}}, \"signature\"}}"
        ))
    })?;
    match registrations::register(&svc, signed).await {
        Ok(receipt) => {
            svc.metrics.registration(RegistrationResult::Accepted);
            Ok(json(&receipt))
        }
        Err(error) => {
            let status = status(&error);
            if status.is_server_error() {
                svc.metrics.registration(RegistrationResult::Failed);
                tracing::warn!(target: API_TARGET, %error, "registration not checked");
            } else {
                svc.metrics.registration(RegistrationResult::Refused);
                tracing::info!(target: API_TARGET, %error, "registration refused");
            }
            Err(ApiFailure::new(status, error.to_string()))
        }
    }
}

/// The status of each refusal.
fn status(error: &RegistrationError) -> StatusCode {
    match error {
        RegistrationError::Invalid(_) => StatusCode::BAD_REQUEST,
        RegistrationError::Signature(_) | RegistrationError::Stale { .. } => {
            StatusCode::UNAUTHORIZED
        }
        RegistrationError::WrongNode { .. }
        | RegistrationError::WrongChain { .. }
        | RegistrationError::NotSeller { .. } => StatusCode::FORBIDDEN,
        RegistrationError::NoBlob { .. } | RegistrationError::NoOffer { .. } => {
            StatusCode::NOT_FOUND
        }
        RegistrationError::Replayed { .. } | RegistrationError::OtherPiece { .. } => {
            StatusCode::CONFLICT
        }
        RegistrationError::DigestDiffers { .. }
        | RegistrationError::SizeDiffers { .. }
        | RegistrationError::NotCustody { .. }
        | RegistrationError::CustodyExpected { .. }
        | RegistrationError::CustodyCommitments { .. }
        | RegistrationError::PieceIndex { .. }
        | RegistrationError::FragmentDigest { .. }
        | RegistrationError::FragmentSize { .. }
        | RegistrationError::ShareNotOurs { .. }
        | RegistrationError::ShareFails { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        RegistrationError::Chain(_) => StatusCode::BAD_GATEWAY,
        RegistrationError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

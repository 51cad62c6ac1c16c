//! The operator's routes under `/v1/admin/`, behind `Authorization: Bearer <admin token>`:
//! 401 without it or with a wrong one, 403 when the node has no token configured (the admin
//! API is then off).

use consign_client::storage::{AccountView, DeliveryState};
use consign_client::validate_address;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use warp::http::header::AUTHORIZATION;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::{blocking, json, query, reply, with_svc, ApiFailure};
use crate::blobs::index;
use crate::node::Services;
use crate::{deliveries, registrations};

/// The default and the largest page.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 500;

/// `GET /v1/admin/deliveries?…`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveryParams {
    /// The last sequence of the previous page.
    #[serde(default)]
    after: Option<u64>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    state: Option<DeliveryState>,
}

/// `GET /v1/admin/registrations?…`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistrationParams {
    /// `{contract}/{offer_id}` of the last entry of the previous page.
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
}

pub(super) fn routes(
    svc: Services,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone + Send + Sync + 'static {
    let admin = warp::path("v1")
        .and(warp::path("admin"))
        .and(authorized(svc.clone()))
        .untuple_one();
    let list_deliveries = admin
        .clone()
        .and(warp::path!("deliveries"))
        .and(warp::get())
        .and(query::<DeliveryParams>())
        .and(with_svc(svc.clone()))
        .and_then(|params, svc| async move { reply(list_deliveries(params, svc).await) });
    let list_registrations = admin
        .clone()
        .and(warp::path!("registrations"))
        .and(warp::get())
        .and(query::<RegistrationParams>())
        .and(with_svc(svc.clone()))
        .and_then(|params, svc| async move { reply(list_registrations(params, svc).await) });
    let status = admin
        .clone()
        .and(warp::path!("status"))
        .and(warp::get())
        .and(with_svc(svc.clone()))
        .and_then(|svc| async move { reply(super::operator::status(svc).await) });
    let account = admin
        .and(warp::path!("accounts" / String))
        .and(warp::get())
        .and(with_svc(svc))
        .and_then(|address, svc| async move { reply(account(address, svc).await) });
    list_deliveries
        .or(list_registrations)
        .unify()
        .or(status)
        .unify()
        .or(account)
        .unify()
}

/// Passes only requests that carry the admin token.
fn authorized(
    svc: Services,
) -> impl Filter<Extract = ((),), Error = Rejection> + Clone + Send + Sync + 'static {
    warp::header::optional::<String>(AUTHORIZATION.as_str())
        .and(with_svc(svc))
        .and_then(|header: Option<String>, svc: Services| async move {
            check_token(svc.config.admin_token.as_deref(), header.as_deref())
                .map_err(Rejection::from)
        })
}

fn check_token(configured: Option<&str>, header: Option<&str>) -> Result<(), ApiFailure> {
    let Some(expected) = configured else {
        return Err(ApiFailure::forbidden(
            "admin API disabled: set --admin-token (or CONSIGN_STORAGE_ADMIN_TOKEN) to enable it",
        ));
    };
    let Some(header) = header else {
        return Err(ApiFailure::unauthorized(
            "the admin API needs the operator's token: send `Authorization: Bearer <token>`",
        ));
    };
    let given = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .unwrap_or("")
        .trim();
    if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        return Err(ApiFailure::unauthorized(
            "wrong admin token: send `Authorization: Bearer <token>` with the node's token",
        ));
    }
    Ok(())
}

/// Compares two secrets in time independent of where they differ: the SHA-256 digests (equal
/// length whatever the inputs) are compared with every byte visited.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

fn limit(requested: Option<usize>) -> Result<usize, ApiFailure> {
    match requested {
        None => Ok(DEFAULT_LIMIT),
        Some(n @ 1..=MAX_LIMIT) => Ok(n),
        Some(n) => Err(ApiFailure::bad_request(format!(
            "limit {n} is out of range: give 1 to {MAX_LIMIT}"
        ))),
    }
}

/// `GET /v1/admin/deliveries?after=&limit=&state=`.
async fn list_deliveries(params: DeliveryParams, svc: Services) -> Result<Response, ApiFailure> {
    let limit = limit(params.limit)?;
    let db = svc.db.clone();
    let page = blocking(move || deliveries::list(&db, params.after, limit, params.state)).await?;
    Ok(json(&page))
}

/// `GET /v1/admin/registrations?after=&limit=`.
async fn list_registrations(
    params: RegistrationParams,
    svc: Services,
) -> Result<Response, ApiFailure> {
    let limit = limit(params.limit)?;
    let after = match params.after {
        None => None,
        Some(after) => {
            let parsed = after
                .rsplit_once('/')
                .and_then(|(contract, id)| Some((contract.to_owned(), id.parse::<u64>().ok()?)));
            Some(parsed.ok_or_else(|| {
                ApiFailure::bad_request(format!(
                    "invalid `after` `{after}`: give the `next_after` of the previous page \
                     ({{contract}}/{{offer_id}})"
                ))
            })?)
        }
    };
    let db = svc.db.clone();
    let page = blocking(move || {
        registrations::list(&db, after.as_ref().map(|(c, id)| (c.as_str(), *id)), limit)
    })
    .await?;
    Ok(json(&page))
}

/// `GET /v1/admin/accounts/{address}`.
async fn account(address: String, svc: Services) -> Result<Response, ApiFailure> {
    validate_address(&address).map_err(|e| {
        ApiFailure::bad_request(format!("`{address}` is not an account address: {e}"))
    })?;
    let db = svc.db.clone();
    let who = address.clone();
    let usage = blocking(move || index::usage(&db, &who)).await?;
    Ok(json(&AccountView {
        account: address,
        bytes: usage.bytes,
        blobs: usage.blobs,
        quota: svc.config.quota_per_account,
    }))
}

#[cfg(test)]
mod tests {
    use warp::http::StatusCode;

    use super::*;

    #[test]
    fn tokens_are_checked() {
        let token = "0123456789abcdef0123";
        let disabled = check_token(None, Some("Bearer x")).unwrap_err();
        assert_eq!(disabled.status(), StatusCode::FORBIDDEN);
        assert!(disabled.message().contains("admin API disabled"));
        let missing = check_token(Some(token), None).unwrap_err();
        assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
        let wrong = check_token(Some(token), Some("Bearer 0123456789abcdef0124")).unwrap_err();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        let basic = check_token(Some(token), Some(&format!("Basic {token}"))).unwrap_err();
        assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
        check_token(Some(token), Some(&format!("Bearer {token}"))).unwrap();
    }
}

//! Uploads: `GET /v1/blobs/{sha256}/admission` and `PUT /v1/blobs/{sha256}`, both with a
//! [`Signed<UploadGrant>`] in the `x-consign-upload` header.
//!
//! The grant is checked before a byte of the body is read: the signature (401 with the
//! reason), the node id (403), the expiry (401: past, or more than an hour ahead), the digest
//! in the path (400), the size against `Content-Length` (400) and the node's largest blob
//! (413); then the seller: on the operator's allow-list if there is one (403), and holding at
//! least `min_seller_balance` on-chain (403; 502 if the chain cannot be asked); then the limits,
//! counting the uploads in progress ([`Uploads`](crate::blobs::uploads::Uploads)): the
//! account's quota (403), the node's capacity (507), the uploads open per account and in all
//! (429). `PUT` reserves the room until it ends. The body is then read at a minimum pace (408
//! if slower) and streamed to disk, hashed and encrypted on the way by the upload workers
//! ([`BlobStore::receive`](crate::blobs::BlobStore::receive)); it is kept only if its digest
//! and size are the grant's (400 otherwise), and recorded in one write transaction. Uploading
//! a blob the account already stored is harmless: `created: false`. A blob not registered
//! within `unregistered_ttl` is deleted ([`sweep`](crate::blobs::sweep)).

use bytes::Bytes;
use consign_client::storage::{UploadAdmission, UPLOAD_HEADER};
use consign_client::{Signed, UploadGrant, UploadReceipt, UPLOAD_DOMAIN};
use futures_util::{Stream, StreamExt as _};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use super::{blocking, json, reply, with_svc, ApiFailure, API_TARGET};
use crate::blobs::index::{self, RecordError};
use crate::blobs::uploads::{Limits, Refusal, Reservation};
use crate::blobs::{is_sha256_hex, BodyPace, ReceiveError};
use crate::metrics::UploadResult;
use crate::node::{unix_now, Services};

/// How far ahead of the node's clock a grant may expire (seconds).
pub(crate) const MAX_GRANT_LIFETIME: u64 = 60 * 60;
/// Tolerance for the seller's clock being ahead of the node's (seconds).
const CLOCK_SKEW: u64 = 60;

pub(super) fn routes(
    svc: Services,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone + Send + Sync + 'static {
    let admission = warp::path!("v1" / "blobs" / String / "admission")
        .and(warp::get())
        .and(warp::header::optional::<String>(UPLOAD_HEADER))
        .and(with_svc(svc.clone()))
        .and_then(|sha, grant, svc| async move { reply(admission(sha, grant, svc).await) });
    let put = warp::path!("v1" / "blobs" / String)
        .and(warp::put())
        .and(warp::header::optional::<String>(UPLOAD_HEADER))
        .and(warp::header::optional::<u64>("content-length"))
        .and(warp::body::stream())
        .and(with_svc(svc))
        .and_then(|sha, grant, length, body, svc: Services| async move {
            let body = body_bytes(body);
            let metrics = svc.metrics.clone();
            let result = upload(sha, grant, length, body, svc).await;
            match &result {
                Ok((receipt, _)) if receipt.created => {
                    metrics.upload(UploadResult::Stored);
                    metrics.upload_bytes_total.inc_by(receipt.size);
                }
                Ok(_) => metrics.upload(UploadResult::Duplicate),
                Err(failure) if failure.status().is_server_error() => {
                    metrics.upload(UploadResult::Failed);
                }
                Err(_) => metrics.upload(UploadResult::Refused),
            }
            reply(result.map(|(receipt, status)| {
                warp::reply::with_status(warp::reply::json(&receipt), status).into_response()
            }))
        });
    admission.or(put).unify()
}

/// warp's body chunks as `Bytes` (a no-copy conversion for hyper's frames).
fn body_bytes<B: bytes::Buf>(
    body: impl Stream<Item = Result<B, warp::Error>>,
) -> impl Stream<Item = Result<Bytes, warp::Error>> {
    body.map(|chunk| chunk.map(|mut buf| buf.copy_to_bytes(buf.remaining())))
}

/// A grant that passed the checks, and who signed it.
struct Admitted {
    account: String,
    grant: UploadGrant,
    already_stored: bool,
    /// The upload's hold on the limits (for `PUT`; the admission route reserves nothing).
    reservation: Option<Reservation>,
}

/// Whether the admission reserves room for the upload (`PUT`) or only checks (the admission
/// route).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Check,
    Reserve,
}

/// The checks made before the body is read.
async fn admit(
    svc: &Services,
    sha256: &str,
    header: Option<String>,
    content_length: Option<u64>,
    mode: Mode,
) -> Result<Admitted, ApiFailure> {
    let header = header.ok_or_else(|| {
        ApiFailure::unauthorized(format!(
            "missing the {UPLOAD_HEADER} header: send an UploadGrant {{node_id, sha256, size, \
             expires}} signed with the seller's account key (consign_client::StorageClient does)"
        ))
    })?;
    let signed: Signed<UploadGrant> = Signed::from_header_value(&header)
        .map_err(|e| ApiFailure::bad_request(format!("invalid {UPLOAD_HEADER} header: {e}")))?;
    let account = signed.verify(UPLOAD_DOMAIN).map_err(|e| {
        ApiFailure::unauthorized(format!(
            "the upload grant's signature does not verify: {e}; sign it with the seller's \
             account key"
        ))
    })?;
    let grant = signed.payload;
    if grant.node_id != svc.node_id {
        return Err(ApiFailure::forbidden(format!(
            "the upload grant is for storage node {}, but this is node {}; get the node id from \
             GET /v1/info",
            grant.node_id, svc.node_id
        )));
    }
    let now = unix_now();
    if grant.expires < now {
        return Err(ApiFailure::unauthorized(format!(
            "the upload grant expired at {} (Unix seconds; the node's clock says {now}); sign a \
             new one",
            grant.expires
        )));
    }
    if grant.expires > now + MAX_GRANT_LIFETIME + CLOCK_SKEW {
        return Err(ApiFailure::unauthorized(format!(
            "the upload grant expires at {}, more than an hour after the node's clock ({now}); \
             sign one that expires sooner",
            grant.expires
        )));
    }
    if !is_sha256_hex(sha256) {
        return Err(ApiFailure::bad_request(format!(
            "`{sha256}` in the path is not a SHA-256 (64 lowercase hex characters)"
        )));
    }
    if grant.sha256 != sha256 {
        return Err(ApiFailure::bad_request(format!(
            "the path names blob {sha256} but the upload grant is for {}",
            grant.sha256
        )));
    }
    if grant.size > svc.config.max_blob_size {
        return Err(ApiFailure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the blob has {} bytes, more than this node's limit of {} bytes",
                grant.size, svc.config.max_blob_size
            ),
        ));
    }
    if let Some(length) = content_length.filter(|&length| length != grant.size) {
        return Err(ApiFailure::bad_request(format!(
            "Content-Length is {length} but the upload grant says {} bytes",
            grant.size
        )));
    }
    check_seller(svc, &account).await?;
    let (db, who, sha, size) = (
        svc.db.clone(),
        account.clone(),
        sha256.to_owned(),
        grant.size,
    );
    let (uploads, limits) = (svc.uploads.clone(), limits(svc));
    let (already_stored, reservation) = blocking(move || {
        let owned = index::owned_size(&db, &who, &sha)?.is_some();
        // A blob the account already owns costs it nothing more, but its upload still takes
        // a slot while it runs.
        let charge = if owned { 0 } else { size };
        Ok((
            owned,
            match mode {
                Mode::Check => uploads.check(&db, &who, charge, limits).map(|()| None),
                Mode::Reserve => uploads.reserve(&db, &who, charge, limits).map(Some),
            },
        ))
    })
    .await?;
    let reservation = reservation.map_err(refusal)?;
    Ok(Admitted {
        account,
        grant,
        already_stored,
        reservation,
    })
}

/// The node's upload limits.
fn limits(svc: &Services) -> Limits {
    let config = &svc.config;
    Limits {
        quota: config.quota_per_account,
        capacity: config.capacity,
        max_uploads: config.max_uploads,
        max_uploads_per_account: config.max_uploads_per_account,
    }
}

/// Whether `account` may upload here at all: on the allow-list if there is one, and holding
/// at least `min_seller_balance` on-chain (which an account that does not exist does not).
async fn check_seller(svc: &Services, account: &str) -> Result<(), ApiFailure> {
    let allowed = &svc.config.allow_seller;
    if !allowed.is_empty() && !allowed.iter().any(|seller| seller == account) {
        return Err(ApiFailure::forbidden(format!(
            "account {account} may not upload to this storage node: its operator accepts \
             uploads only from the sellers it allowed; ask the operator to add it"
        )));
    }
    let min = &svc.config.min_seller_balance;
    if min.amount.is_zero() {
        return Ok(());
    }
    let chain = svc.chain.verified_chain_id().map_err(|e| {
        ApiFailure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("cannot check account {account}'s balance: {e:#}; try again shortly"),
        )
    })?;
    let nodes = svc.chain.nodes();
    let balances = nodes.call(|node| async move { node.balances(account).await });
    let balances = balances.await.map_err(|e| {
        tracing::warn!(target: API_TARGET, %account, error = %e, "cannot check a seller's balance");
        ApiFailure::new(
            StatusCode::BAD_GATEWAY,
            format!(
                "the storage node cannot check account {account}'s balance on the chain ({e}); \
                 try again later"
            ),
        )
    })?;
    let held = balances
        .iter()
        .find(|coin| coin.denom == min.denom)
        .map_or_else(Default::default, |coin| coin.amount);
    if held < min.amount {
        return Err(ApiFailure::forbidden(format!(
            "account {account} holds {held}{denom} on chain {chain}, less than the {min} this \
             storage node requires of sellers; fund the account (it must exist on-chain) and \
             upload again",
            denom = min.denom,
        )));
    }
    Ok(())
}

fn refusal(refusal: Refusal) -> ApiFailure {
    let status = match &refusal {
        Refusal::Quota(_) => StatusCode::FORBIDDEN,
        Refusal::Capacity { .. } => StatusCode::INSUFFICIENT_STORAGE,
        Refusal::AccountBusy { .. } | Refusal::NodeBusy { .. } => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    ApiFailure::new(status, refusal.to_string())
}

fn record_failure(error: RecordError) -> ApiFailure {
    match error {
        RecordError::Quota(quota) => ApiFailure::forbidden(quota.to_string()),
        other => ApiFailure::internal(other),
    }
}

/// `GET /v1/blobs/{sha256}/admission`.
async fn admission(
    sha256: String,
    header: Option<String>,
    svc: Services,
) -> Result<Response, ApiFailure> {
    let admitted = admit(&svc, &sha256, header, None, Mode::Check).await?;
    let db = svc.db.clone();
    let account = admitted.account.clone();
    let usage = blocking(move || index::usage(&db, &account)).await?;
    drop(admitted.reservation);
    Ok(json(&UploadAdmission {
        sha256,
        size: admitted.grant.size,
        already_stored: admitted.already_stored,
        account_usage: usage.bytes,
        quota: svc.config.quota_per_account,
    }))
}

/// `PUT /v1/blobs/{sha256}`: 201 with the receipt when stored for the account, 200 when it
/// already had it.
async fn upload(
    sha256: String,
    header: Option<String>,
    content_length: Option<u64>,
    body: impl Stream<Item = Result<Bytes, warp::Error>>,
    svc: Services,
) -> Result<(UploadReceipt, StatusCode), ApiFailure> {
    let Admitted {
        account,
        grant,
        reservation,
        ..
    } = admit(&svc, &sha256, header, content_length, Mode::Reserve).await?;
    let pace = BodyPace {
        period: svc.config.upload_idle_timeout,
        min_rate: svc.config.upload_min_rate,
    };
    let written = svc
        .blobs
        .receive(body, &grant.sha256, grant.size, pace)
        .await
        .map_err(|error| {
            tracing::info!(
                target: API_TARGET,
                %account,
                sha256 = %grant.sha256,
                %error,
                "upload not kept"
            );
            match error {
                ReceiveError::Io(_) => ApiFailure::internal(error),
                ReceiveError::TooSlow { .. } => {
                    ApiFailure::new(StatusCode::REQUEST_TIMEOUT, error.to_string())
                }
                other => ApiFailure::bad_request(other.to_string()),
            }
        })?;
    let db = svc.db.clone();
    let quota = svc.config.quota_per_account;
    let who = account.clone();
    let receipt = blocking(move || Ok(index::record_upload(&db, written, &who, quota, unix_now())))
        .await?
        .map_err(record_failure)?;
    // Stored: its bytes are in the committed figures now.
    drop(reservation);
    tracing::info!(
        target: API_TARGET,
        %account,
        sha256 = %receipt.sha256,
        size = receipt.size,
        created = receipt.created,
        "blob stored"
    );
    let status = if receipt.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((receipt, status))
}

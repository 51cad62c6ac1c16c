//! [`StorageClient`]: an async client of a storage node's HTTP API: its info and status,
//! uploads (streamed from disk, with progress), registrations, and the operator's routes.
//!
//! ```no_run
//! use consign_client::{SecretKey, StorageClient};
//!
//! # async fn demo() -> Result<(), consign_client::StorageClientError> {
//! let storage = StorageClient::new("http://127.0.0.1:7070")?;
//! let seller = SecretKey::from_seed("alice");
//! let receipt = storage
//!     .upload_file("data.csv".as_ref(), &seller, |sent, total| eprintln!("{sent}/{total}"))
//!     .await?;
//! let info = storage.info().await?;
//! let contract = "consign1…";
//! // The whole file on this node (`None`); a k-of-n piece names its index and sealed share.
//! storage
//!     .register(contract, 1, &receipt.sha256, &info.chain_id, &seller, None)
//!     .await?;
//! # Ok(()) }
//! ```

mod admin;
mod error;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use rand_core::{OsRng, RngCore as _};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::{StatusCode, Url};
use serde::de::DeserializeOwned;
use sha2::{Digest as _, Sha256};

use error::ErrorBody;
pub use error::StorageClientError;

use crate::storage::{StorageStatus, UploadAdmission, UPLOAD_HEADER};
use crate::{
    CustodyPiece, Registration, RegistrationReceipt, SecretKey, Signed, StorageInfo, UploadGrant,
    UploadReceipt, REGISTRATION_DOMAIN, UPLOAD_DOMAIN,
};

/// How long to wait to open a connection.
/// How long an ordinary request (not an upload) may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an upload grant is valid (the node accepts at most an hour).
const GRANT_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// The chunks a file is read and sent in.
const CHUNK: usize = 256 * 1024;

/// An async client of one storage node. Cheap to clone; needs a tokio runtime.
#[derive(Clone, Debug)]
pub struct StorageClient {
    base: Url,
    http: reqwest::Client,
}

impl StorageClient {
    /// A client of the storage node at `base_url`, e.g. `http://127.0.0.1:7070` (a path
    /// prefix is kept).
    ///
    /// # Errors
    ///
    /// [`StorageClientError::InvalidUrl`] if it is not an absolute `http(s)://` URL.
    pub fn new(base_url: &str) -> Result<Self, StorageClientError> {
        let invalid = |reason: String| StorageClientError::InvalidUrl {
            url: base_url.to_owned(),
            reason,
        };
        let (base, http) = crate::http::base_client(base_url).map_err(invalid)?;
        Ok(Self { base, http })
    }

    /// The node's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// `GET /v1/info`: the node id, chain id and limits.
    ///
    /// # Errors
    ///
    /// The transport errors and [`StorageClientError::Api`].
    pub async fn info(&self) -> Result<StorageInfo, StorageClientError> {
        self.get_json(&["v1", "info"], None, &[]).await
    }

    /// `GET /status`: liveness and version only (the node's figures are the operator's:
    /// [`StorageClient::operator_status`]).
    ///
    /// # Errors
    ///
    /// As [`StorageClient::info`].
    pub async fn status(&self) -> Result<StorageStatus, StorageClientError> {
        self.get_json(&["status"], None, &[]).await
    }

    /// `GET /metrics`: the Prometheus text. Served only by the operator's listener (the URL in
    /// `<data_dir>/metrics.url`), so make this client with that URL.
    ///
    /// # Errors
    ///
    /// As [`StorageClient::info`].
    pub async fn metrics_text(&self) -> Result<String, StorageClientError> {
        let url = self.url(&["metrics"], &[]);
        let request = self.http.get(url.clone()).timeout(REQUEST_TIMEOUT);
        let (_, body) = self.send_ok(&url, request).await?;
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    /// An upload grant for `sha256` and `size`, signed by `key`, valid for half an hour.
    pub fn grant(node_id: &str, sha256: &str, size: u64, key: &SecretKey) -> Signed<UploadGrant> {
        let expires = unix_now() + GRANT_LIFETIME.as_secs();
        Signed::sign(
            UPLOAD_DOMAIN,
            UploadGrant {
                node_id: node_id.to_owned(),
                sha256: sha256.to_owned(),
                size,
                expires,
            },
            key,
        )
    }

    /// `GET /v1/blobs/{sha256}/admission`: whether the node would take this upload, and whether
    /// the signer already stored the blob.
    ///
    /// # Errors
    ///
    /// [`StorageClientError::Api`] with the reason the upload would be refused, and the
    /// transport errors.
    pub async fn admission(
        &self,
        grant: &Signed<UploadGrant>,
    ) -> Result<UploadAdmission, StorageClientError> {
        let header = grant.to_header_value();
        self.get_json(
            &["v1", "blobs", &grant.payload.sha256, "admission"],
            Some((UPLOAD_HEADER, &header)),
            &[],
        )
        .await
    }

    /// Uploads the file at `path`, signed by `key`: hashes it first (streaming), asks the
    /// node whether it would take it (and skips sending if the signer already stored it), then
    /// sends it streaming from disk, calling `progress(sent, total)` as bytes go out. Memory
    /// use does not grow with the file.
    ///
    /// # Errors
    ///
    /// [`StorageClientError::Io`] if the file cannot be read, [`StorageClientError::Api`]
    /// with the node's reason if it refuses, and the transport errors.
    pub async fn upload_file(
        &self,
        path: &Path,
        key: &SecretKey,
        progress: impl Fn(u64, u64) + Send + Sync + 'static,
    ) -> Result<UploadReceipt, StorageClientError> {
        let (sha256, size) = hash_file(path).await?;
        self.upload_file_hashed(path, &sha256, size, key, progress)
            .await
    }

    /// As [`StorageClient::upload_file`] for a file whose SHA-256 (lowercase hex) and size the
    /// caller already knows, as a seller that just wrote custody fragments does: no hashing
    /// pass. The node still checks both as the body streams in.
    ///
    /// # Errors
    ///
    /// As [`StorageClient::upload_file`].
    pub async fn upload_file_hashed(
        &self,
        path: &Path,
        sha256: &str,
        size: u64,
        key: &SecretKey,
        progress: impl Fn(u64, u64) + Send + Sync + 'static,
    ) -> Result<UploadReceipt, StorageClientError> {
        let sha256 = sha256.to_owned();
        let info = self.info().await?;
        let grant = Self::grant(&info.node_id, &sha256, size, key);
        let admission = self.admission(&grant).await?;
        if admission.already_stored {
            progress(size, size);
            return Ok(UploadReceipt {
                sha256,
                size,
                created: false,
                account_usage: admission.account_usage,
            });
        }
        let io_error = |source| StorageClientError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = tokio::fs::File::open(path).await.map_err(io_error)?;
        let progress = Arc::new(progress);
        let mut sent = 0u64;
        let stream = tokio_util::io::ReaderStream::with_capacity(file, CHUNK).map(move |chunk| {
            if let Ok(bytes) = &chunk {
                sent += bytes.len() as u64;
                progress(sent, size);
            }
            chunk
        });
        self.upload_body(&grant, reqwest::Body::wrap_stream(stream))
            .await
    }

    /// Uploads `data`, signed by `key`.
    ///
    /// # Errors
    ///
    /// As [`StorageClient::upload_file`].
    pub async fn upload_bytes(
        &self,
        data: impl Into<bytes::Bytes>,
        key: &SecretKey,
    ) -> Result<UploadReceipt, StorageClientError> {
        let data: bytes::Bytes = data.into();
        let info = self.info().await?;
        let sha256 = hex::encode(Sha256::digest(&data));
        let grant = Self::grant(&info.node_id, &sha256, data.len() as u64, key);
        self.upload_body(&grant, reqwest::Body::from(data)).await
    }

    /// `PUT /v1/blobs/{sha256}` with `grant` and `body` as given (no check here: tests use it
    /// to send what a correct client never would). The body must have `grant.payload.size`
    /// bytes.
    ///
    /// # Errors
    ///
    /// [`StorageClientError::Api`] with the node's reason, and the transport errors.
    pub async fn upload_body(
        &self,
        grant: &Signed<UploadGrant>,
        body: reqwest::Body,
    ) -> Result<UploadReceipt, StorageClientError> {
        let url = self.url(&["v1", "blobs", &grant.payload.sha256], &[]);
        let request = self
            .http
            .put(url.clone())
            .header(UPLOAD_HEADER, grant.to_header_value())
            .header(CONTENT_LENGTH, grant.payload.size)
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(body);
        let (_, body) = self.send_ok(&url, request).await?;
        decode(&url, &body)
    }

    /// Registers blob `sha256` for offer `offer_id` of the data-sale contract at `contract` on
    /// chain `chain_id`, signed by `key` (the offer's seller), with a fresh random nonce.
    ///
    /// # Errors
    ///
    /// [`StorageClientError::Api`] with the node's reason (not the seller, digest differs, …),
    /// and the transport errors.
    pub async fn register(
        &self,
        contract: &str,
        offer_id: u64,
        sha256: &str,
        chain_id: &str,
        key: &SecretKey,
        custody: Option<CustodyPiece>,
    ) -> Result<RegistrationReceipt, StorageClientError> {
        let info = self.info().await?;
        let mut nonce = [0u8; 16];
        OsRng.fill_bytes(&mut nonce);
        let registration = Registration {
            node_id: info.node_id,
            chain_id: chain_id.to_owned(),
            contract: contract.to_owned(),
            offer_id,
            sha256: sha256.to_owned(),
            nonce: hex::encode(nonce),
            issued_at: unix_now(),
            custody,
        };
        self.register_signed(&Signed::sign(REGISTRATION_DOMAIN, registration, key))
            .await
    }

    /// `POST /v1/registrations` with a registration signed elsewhere.
    ///
    /// # Errors
    ///
    /// As [`StorageClient::register`].
    pub async fn register_signed(
        &self,
        signed: &Signed<Registration>,
    ) -> Result<RegistrationReceipt, StorageClientError> {
        let url = self.url(&["v1", "registrations"], &[]);
        let request = self
            .http
            .post(url.clone())
            .json(signed)
            .timeout(REQUEST_TIMEOUT);
        let (_, body) = self.send_ok(&url, request).await?;
        decode(&url, &body)
    }

    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        url.set_query(None);
        url.set_fragment(None);
        url.path_segments_mut()
            .expect("checked in `new`: the base URL can be a base")
            .pop_if_empty()
            .extend(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        header: Option<(&str, &str)>,
        query: &[(&str, &str)],
    ) -> Result<T, StorageClientError> {
        let url = self.url(segments, query);
        let mut request = self.http.get(url.clone()).timeout(REQUEST_TIMEOUT);
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        let (_, body) = self.send_ok(&url, request).await?;
        decode(&url, &body)
    }

    /// Sends; a non-success status becomes [`StorageClientError::Api`] with the node's message.
    async fn send_ok(
        &self,
        url: &Url,
        request: reqwest::RequestBuilder,
    ) -> Result<(StatusCode, Vec<u8>), StorageClientError> {
        tracing::debug!(target: "client::storage", %url, "request");
        let response = request
            .send()
            .await
            .map_err(|e| StorageClientError::transport(url, e))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| StorageClientError::transport(url, e))?;
        tracing::debug!(target: "client::storage", %url, %status, bytes = body.len(), "response");
        if !status.is_success() {
            let message = match serde_json::from_slice::<ErrorBody>(&body) {
                Ok(parsed) => parsed.error,
                Err(_) => {
                    let text = String::from_utf8_lossy(&body).trim().to_owned();
                    if text.is_empty() {
                        status.canonical_reason().unwrap_or("no message").to_owned()
                    } else {
                        text
                    }
                }
            };
            return Err(StorageClientError::Api {
                status: status.as_u16(),
                message,
            });
        }
        Ok((status, body.to_vec()))
    }
}

fn decode<T: DeserializeOwned>(url: &Url, body: &[u8]) -> Result<T, StorageClientError> {
    serde_json::from_slice(body).map_err(|error| StorageClientError::Decode {
        url: url.to_string(),
        error,
    })
}

/// SHA-256 (hex) and size of a file (`consign_util::fs::hash_file`), on the blocking pool.
async fn hash_file(path: &Path) -> Result<(String, u64), StorageClientError> {
    let owned = path.to_path_buf();
    tokio::task::spawn_blocking(move || consign_util::fs::hash_file(&owned))
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))
        .and_then(|hashed| hashed.map_err(consign_util::fs::FsError::into_io_error))
        .map_err(|source| StorageClientError::Io {
            path: path.to_path_buf(),
            source,
        })
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_the_base_path_encode_segments_and_add_queries() {
        let client = StorageClient::new("http://127.0.0.1:1/storage/").unwrap();
        assert_eq!(
            client
                .url(
                    &["v1", "admin", "deliveries"],
                    &[("after", "3"), ("state", "failed")]
                )
                .as_str(),
            "http://127.0.0.1:1/storage/v1/admin/deliveries?after=3&state=failed"
        );
        assert_eq!(
            client
                .url(&["v1", "admin", "accounts", "a/b"], &[])
                .as_str(),
            "http://127.0.0.1:1/storage/v1/admin/accounts/a%2Fb"
        );
    }

    #[test]
    fn new_refuses_urls_it_cannot_use() {
        for url in ["127.0.0.1:7070", "ftp://x", ""] {
            let error = StorageClient::new(url).unwrap_err();
            assert!(
                error.to_string().contains("http://127.0.0.1:7070"),
                "{error}"
            );
        }
        StorageClient::new("https://storage.example").unwrap();
    }

    #[test]
    fn grants_verify_and_expire_within_the_hour() {
        let key = SecretKey::from_seed("alice");
        let grant = StorageClient::grant("node", "ab", 3, &key);
        assert_eq!(grant.verify(UPLOAD_DOMAIN).unwrap(), key.address());
        let ahead = grant.payload.expires - unix_now();
        assert!((60..=3600).contains(&ahead), "{ahead}");
    }

    #[tokio::test]
    async fn files_are_hashed_by_streaming() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data = vec![7u8; 3 * 1024 * 1024 + 5];
        std::fs::write(&path, &data).unwrap();
        let (sha, size) = hash_file(&path).await.unwrap();
        assert_eq!(sha, crate::storage::sha256_hex(&data));
        assert_eq!(size, data.len() as u64);
        let err = hash_file(&dir.path().join("missing")).await.unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }
}

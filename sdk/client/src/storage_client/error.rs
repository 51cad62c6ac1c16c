//! [`StorageClientError`]: what can go wrong talking to a storage node.

use crate::http::{answered_in_plain_http, root_cause};
use std::path::PathBuf;

use reqwest::Url;
use serde::Deserialize;

/// A request to the storage node failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageClientError {
    /// The URL given is not an `http://` or `https://` URL.
    #[error(
        "invalid storage node URL `{url}`: {reason}; expected something like http://127.0.0.1:7070"
    )]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No connection could be made.
    #[error(
        "cannot reach the storage node at {url}: {reason}; is `consign-storage serve` running?"
    )]
    Unreachable {
        /// The URL requested.
        url: String,
        /// The innermost cause.
        reason: String,
        /// The HTTP client's error.
        error: reqwest::Error,
    },
    /// The request failed after connecting (timed out, connection broken).
    #[error("request to the storage node at {url} failed: {reason}")]
    Transport {
        /// The URL requested.
        url: String,
        /// The innermost cause.
        reason: String,
        /// The HTTP client's error.
        error: reqwest::Error,
    },
    /// The storage node refused the request; `message` is its reason.
    #[error("the storage node answered {status}: {message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The node's `error` field, or the body as text.
        message: String,
    },
    /// The node answered successfully, but not with what this route returns.
    #[error("unexpected answer from the storage node at {url}: {error}; are the node and this client the same version?")]
    Decode {
        /// The URL requested.
        url: String,
        /// How decoding failed.
        error: serde_json::Error,
    },
    /// A local file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

impl StorageClientError {
    /// The HTTP status of a refusal ([`StorageClientError::Api`]).
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the same request may succeed if tried again later: no connection, a broken or
    /// timed-out one, or the node busy (429) or failing (5xx, which includes its chain node
    /// being unreachable). A refusal for what the request says (any other 4xx) is final, and so
    /// is an answer this client cannot read.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } | Self::Transport { .. } => true,
            Self::Api { status, .. } => *status == 429 || *status >= 500,
            Self::InvalidUrl { .. } | Self::Decode { .. } | Self::Io { .. } => false,
        }
    }

    pub(super) fn transport(url: &Url, error: reqwest::Error) -> Self {
        let url = url.to_string();
        let reason = root_cause(&error);
        if error.is_connect() && !answered_in_plain_http(&error) {
            Self::Unreachable { url, reason, error }
        } else {
            Self::Transport { url, reason, error }
        }
    }
}

/// The body of the node's error answers.
#[derive(Deserialize)]
pub(super) struct ErrorBody {
    pub(super) error: String,
}

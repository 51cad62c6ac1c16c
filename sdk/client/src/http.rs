//! What the node's and the storage node's HTTP clients share: checking a base URL and building
//! the reqwest client, and reading the cause out of a reqwest error.

use std::time::Duration;

use reqwest::Url;

/// How long to wait for a TCP (and TLS) connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Parses `base_url` as an absolute `http://` or `https://` URL with a host (a path prefix is
/// kept) and builds the client that talks to it.
///
/// # Errors
///
/// Why the URL cannot be used, as a sentence fragment for the caller's error.
pub(crate) fn base_client(base_url: &str) -> Result<(Url, reqwest::Client), String> {
    let base = Url::parse(base_url.trim()).map_err(|e| e.to_string())?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(format!(
            "the scheme is `{}`, not `http` or `https`",
            base.scheme()
        ));
    }
    if base.cannot_be_a_base() || base.host().is_none() {
        return Err("it has no host".into());
    }
    let http = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
        .map_err(|e| root_cause(&e))?;
    Ok((base, http))
}

/// The innermost error's message: reqwest's outer messages ("error sending request for url")
/// say less than the OS error at the bottom ("Connection refused (os error 111)"). rustls's
/// "received corrupt message of type InvalidContentType" (an `https://` URL for a plain-http
/// server) is given in plain words.
pub(crate) fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    if answered_in_plain_http(error) {
        return PLAIN_HTTP_ANSWER.to_owned();
    }
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// The reason given when a TLS handshake is answered in plain HTTP.
const PLAIN_HTTP_ANSWER: &str =
    "the server answered in plain HTTP, not TLS: use an http:// URL instead of https://";

/// Whether `error` is a TLS handshake answered in plain HTTP: the server was reached, so the
/// error is not "unreachable", and retrying will not help.
pub(crate) fn answered_in_plain_http(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        // rustls's `InvalidMessage::InvalidContentType`: the first byte is not a TLS record
        // type (it is the `H` of `HTTP/1.1 400 …`).
        if error.to_string().contains("InvalidContentType") {
            return true;
        }
        cause = error.source();
    }
    false
}

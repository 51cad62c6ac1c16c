//! [`CometRpc`]: a reader of a CometBFT node's JSON-RPC (`http://127.0.0.1:26657`), for the
//! address wasmd's users habitually give as `--node`. It reads what a status and blocks need:
//! CometBFT's own `/status`, and the Consign application's answers through `/abci_query`
//! (`/consign/status`, `/consign/block/<height|latest>`, served by `consign start`), so that
//! a status read there shows the same fields as the node API's.
//!
//! [`is_comet_rpc`] tells CometBFT's answers apart from the node API's: a JSON-RPC 2.0
//! envelope (`{"jsonrpc":"2.0","result":{…}}`). [`NodeClient`](crate::NodeClient) uses it to
//! turn a request sent to CometBFT's RPC by mistake into [`ClientError::CometRpc`], which says
//! which address to give instead.

use base64::Engine as _;
use reqwest::Url;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::http::root_cause;
use crate::{ClientError, REQUEST_TIMEOUT};

/// Whether `body` is a CometBFT JSON-RPC answer (a JSON object with `"jsonrpc": "2.0"`).
pub fn is_comet_rpc(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .is_some_and(|value| value.get("jsonrpc").and_then(Value::as_str) == Some("2.0"))
}

/// CometBFT's view of its node, from its `/status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CometStatus {
    /// The node's id (its p2p key's), as `persistent_peers` names it.
    pub node_id: String,
    /// Its moniker.
    pub moniker: String,
    /// The chain id (CometBFT's `network`).
    pub network: String,
    /// CometBFT's version.
    pub version: String,
    /// The latest block in CometBFT's store: its height, …
    pub latest_block_height: u64,
    /// … its hash (CometBFT's, uppercase hex), …
    pub latest_block_hash: String,
    /// … the app hash its header records (the state after the block before it), …
    pub latest_app_hash: String,
    /// … and its time (RFC 3339).
    pub latest_block_time: String,
    /// Whether the node is still catching up with the network (block sync).
    pub catching_up: bool,
}

/// A client of one CometBFT node's JSON-RPC.
#[derive(Clone, Debug)]
pub struct CometRpc {
    base: Url,
    http: reqwest::Client,
}

impl CometRpc {
    /// A client of the RPC at `base_url` (`http://127.0.0.1:26657`; `tcp://` is read as
    /// `http://`, as CometBFT's own `--node` does).
    ///
    /// # Errors
    ///
    /// [`ClientError::InvalidUrl`] if it is not such a URL.
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        let url = match base_url.trim().strip_prefix("tcp://") {
            Some(rest) => format!("http://{rest}"),
            None => base_url.trim().to_owned(),
        };
        let (base, http) =
            crate::http::base_client(&url).map_err(|reason| ClientError::InvalidUrl {
                url: base_url.to_owned(),
                reason,
            })?;
        Ok(Self { base, http })
    }

    /// The RPC's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// `GET /status`.
    ///
    /// # Errors
    ///
    /// The transport errors, [`ClientError::Api`] for a JSON-RPC error, [`ClientError::Decode`]
    /// for an answer that is not CometBFT's status.
    pub async fn status(&self) -> Result<CometStatus, ClientError> {
        let result = self.call("status", &[]).await?;
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let (node, sync) = (&result["node_info"], &result["sync_info"]);
        let height = sync["latest_block_height"]
            .as_str()
            .and_then(|h| h.parse().ok());
        let (Some(latest_block_height), Some(catching_up)) =
            (height, sync["catching_up"].as_bool())
        else {
            return Err(self.not_comet("status", "no sync_info.latest_block_height"));
        };
        Ok(CometStatus {
            node_id: text(&node["id"]),
            moniker: text(&node["moniker"]),
            network: text(&node["network"]),
            version: text(&node["version"]),
            latest_block_height,
            latest_block_hash: text(&sync["latest_block_hash"]),
            latest_app_hash: text(&sync["latest_app_hash"]),
            latest_block_time: text(&sync["latest_block_time"]),
            catching_up,
        })
    }

    /// `GET /abci_query?path="PATH"`: the application's answer, as JSON of `T`.
    ///
    /// # Errors
    ///
    /// The transport errors; [`ClientError::Api`] (status 404 for "no such …", else 400)
    /// when the application refuses the query, with its reason; [`ClientError::Decode`] for
    /// an answer that is not `T`.
    pub async fn abci_query<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let quoted = format!("\"{path}\"");
        let result = self.call("abci_query", &[("path", &quoted)]).await?;
        let response = &result["response"];
        let code = response["code"].as_u64().unwrap_or(0);
        if code != 0 {
            let log = response["log"].as_str().unwrap_or_default().to_owned();
            let status = if log.starts_with("no ") { 404 } else { 400 };
            return Err(ClientError::Api {
                status,
                message: log,
                code: u32::try_from(code).ok(),
            });
        }
        let value = base64::engine::general_purpose::STANDARD
            .decode(response["value"].as_str().unwrap_or_default())
            .map_err(|e| self.not_comet("abci_query", &e.to_string()))?;
        serde_json::from_slice(&value).map_err(|error| ClientError::Decode {
            url: self.method_url("abci_query").to_string(),
            error,
        })
    }

    fn method_url(&self, method: &str) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(method);
        }
        url
    }

    /// A JSON-RPC call over GET (CometBFT's URI form); its `result`.
    async fn call(&self, method: &str, params: &[(&str, &str)]) -> Result<Value, ClientError> {
        let mut url = self.method_url(method);
        if !params.is_empty() {
            url.query_pairs_mut().extend_pairs(params);
        }
        let transport = |error: reqwest::Error| ClientError::Transport {
            url: url.to_string(),
            reason: root_cause(&error),
            error,
        };
        let response = self
            .http
            .get(url.clone())
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(|error| {
                if error.is_connect() {
                    ClientError::Unreachable {
                        url: url.to_string(),
                        reason: root_cause(&error),
                        error,
                    }
                } else {
                    transport(error)
                }
            })?;
        let body = response.bytes().await.map_err(transport)?;
        let mut reply: Value =
            serde_json::from_slice(&body).map_err(|error| ClientError::Decode {
                url: url.to_string(),
                error,
            })?;
        if let Some(error) = reply.get("error") {
            let message = error["data"]
                .as_str()
                .or_else(|| error["message"].as_str())
                .unwrap_or("CometBFT's RPC answered an error")
                .to_owned();
            return Err(ClientError::Api {
                status: 400,
                message,
                code: None,
            });
        }
        match reply.get_mut("result") {
            Some(result) => Ok(result.take()),
            None => Err(self.not_comet(method, "no result")),
        }
    }

    fn not_comet(&self, method: &str, what: &str) -> ClientError {
        ClientError::Api {
            status: 502,
            message: format!(
                "{} did not answer {method} as CometBFT's RPC does ({what}); is it a CometBFT RPC address?",
                self.base
            ),
            code: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_rpc_answers_are_told_apart() {
        assert!(is_comet_rpc(
            br#"{"jsonrpc":"2.0","id":-1,"result":{"sync_info":{}}}"#
        ));
        assert!(!is_comet_rpc(br#"{"chain_id":"x","height":3}"#));
        assert!(!is_comet_rpc(b"404 page not found"));
        assert!(!is_comet_rpc(br#"{"jsonrpc":"1.0"}"#));
    }

    #[test]
    fn tcp_addresses_are_http() {
        let rpc = CometRpc::new("tcp://127.0.0.1:26657").unwrap();
        assert_eq!(rpc.base_url().as_str(), "http://127.0.0.1:26657/");
        assert_eq!(
            rpc.method_url("status").as_str(),
            "http://127.0.0.1:26657/status"
        );
        assert!(CometRpc::new("ftp://x").is_err());
    }
}

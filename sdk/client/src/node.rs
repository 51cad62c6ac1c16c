//! [`NodeClient`]: an async HTTP client for the node's API (`docs/node-api-routes.md`), one
//! method per route, plus [`NodeClient::sign_and_broadcast`].
//!
//! `consign dev` serves plain `http://`; `https://` works too (reqwest with rustls and the
//! webpki roots), for a node behind a TLS proxy.

use std::time::Duration;

use crate::http::{answered_in_plain_http, root_cause};

use cosmwasm_std::Coin;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{
    Account, BalancesResponse, Block, CheckResult, CodeInfo, CodeList, ContractInfo, ContractList,
    ContractState, DelegationsResponse, DeliveryPage, GasPrice, Msg, NodeStatus, RawQueryResponse,
    SecretKey, SequenceMismatch, Simulation, SmartQueryResponse, Tx, TxBody, TxHash, TxResult,
    UnbondingsResponse, ValidatorsResponse,
};

/// How long an ordinary request (not a commit broadcast or a long poll) may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Extra time allowed on top of a server-side wait (commit timeout, long poll) before the client
/// gives up on the request itself.
const WAIT_MARGIN: Duration = Duration::from_secs(10);

/// A request to the node failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The node URL given is not an `http(s)://` URL this client can use.
    #[error("invalid node URL `{url}`: {reason}; expected something like http://127.0.0.1:26657")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No connection could be made to the node.
    #[error("cannot reach the node at {url}: {reason}; is `consign dev` running?")]
    Unreachable {
        /// The URL requested.
        url: String,
        /// The innermost cause, e.g. `Connection refused (os error 111)`.
        reason: String,
        /// The HTTP client's error (kept out of the message: `reason` says it).
        error: reqwest::Error,
    },
    /// The connection was made but the request failed: it timed out or the connection broke.
    #[error("request to the node at {url} failed: {reason}")]
    Transport {
        /// The URL requested.
        url: String,
        /// The innermost cause.
        reason: String,
        /// The HTTP client's error.
        error: reqwest::Error,
    },
    /// The node refused a broadcast transaction in its checks (bad signature, wrong sequence,
    /// insufficient fee funds, …); it will never be committed.
    #[error("transaction {} refused (code {code}): {message}", display_hash(.txhash))]
    Refused {
        /// The node's reason.
        message: String,
        /// The refusal code; never 0.
        code: u32,
        /// The transaction's hash, if the node could compute it.
        txhash: Option<TxHash>,
    },
    /// A broadcast in commit mode was accepted but not committed within the timeout. It may
    /// still be committed: look it up by hash.
    #[error("transaction {txhash} was accepted but not committed in time: {message}; look it up later with its hash")]
    CommitTimeout {
        /// The transaction's hash.
        txhash: TxHash,
        /// The node's message.
        message: String,
    },
    /// The node answered with an error status (404 for something that does not exist, 400 for
    /// a bad request or a failing contract query, …).
    #[error("the node answered {status}: {message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The node's message (its `error` field), or the body as text.
        message: String,
        /// The `code` field of the error, if it had one.
        code: Option<u32>,
    },
    /// The contract's `query` failed: its reason in its own words (`offer 42 does not exist`),
    /// without the node's `query failed:` and cosmwasm-std's `kind: …, error:` wrappers.
    #[error("{reason}")]
    QueryFailed {
        /// The contract's error message.
        reason: String,
    },
    /// The node answered successfully, but not with what this route returns.
    #[error("unexpected answer from the node at {url}: {error}; are the node and this client the same version?")]
    Decode {
        /// The URL requested.
        url: String,
        /// Where and how decoding failed (in the message, so not also a `source`).
        error: serde_json::Error,
    },
    /// A node of a [`NodePool`](crate::NodePool) serves another chain than the pool's: it is
    /// refused and never asked again.
    #[error("the node at {url} is on chain {found}, not {expected}: it is not used; give only nodes of chain {expected}")]
    WrongChain {
        /// The node's URL.
        url: String,
        /// The pool's chain id.
        expected: String,
        /// The chain id the node reported.
        found: String,
    },
    /// The node's delivery feed ends before the sequence already read (from another node): it
    /// is behind the chain.
    #[error("the node at {url} is behind: its delivery feed ends at sequence {head}, and {after} was read already")]
    Behind {
        /// The node's URL.
        url: String,
        /// The last sequence it has.
        head: u64,
        /// The sequence asked after.
        after: u64,
    },
    /// The address answers as CometBFT's RPC (JSON-RPC), not as a Consign node's API: the
    /// two listen on different ports of the same node.
    #[error("{url} is CometBFT's RPC, not a Consign node's API; give the node's API address instead: the `api` that `consign testnet` prints for each node (and writes to <home>/api.url while `consign start` runs). `consign status` and `consign query block` also read CometBFT's RPC")]
    CometRpc {
        /// The address given.
        url: String,
    },
    /// Every node of a [`NodePool`](crate::NodePool) failed the request (or was refused).
    #[error("none of the {tried} nodes could answer; the last one tried: {last}")]
    NoNodeAnswered {
        /// How many nodes were tried.
        tried: usize,
        /// The last node's error.
        last: Box<ClientError>,
    },
}

impl ClientError {
    /// Whether this is the node saying the thing asked for does not exist (HTTP 404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Api { status: 404, .. })
    }

    /// Whether a smart query's error says the thing asked for does not exist: a 404 (no
    /// contract at the address), or the contract's query failing with a "not found" error (a
    /// 400: contracts load entries with cw-storage-plus, whose error for a missing key is
    /// `type: …; key: … not found`; data-sale names the id instead, `offer 42 does not exist`).
    /// Transport errors, server errors and other query errors are not "absent", so callers
    /// retry them rather than conclude.
    pub fn is_absent(&self) -> bool {
        match self {
            Self::Api { status: 404, .. } => true,
            Self::Api {
                status: 400,
                message,
                ..
            }
            | Self::QueryFailed { reason: message } => {
                let message = message.trim_end();
                message.ends_with("not found") || message.ends_with("does not exist")
            }
            _ => false,
        }
    }

    /// The sequence mismatch a refusal states (the transaction's sequence is not the one the
    /// node expects next), so that its signer can sign it again with the expected one.
    pub fn sequence_mismatch(&self) -> Option<SequenceMismatch> {
        match self {
            Self::Refused { message, code, .. } if *code == SequenceMismatch::CODE => {
                SequenceMismatch::find(message)
            }
            _ => None,
        }
    }

    /// Whether another node of the same chain might answer where this one did not: the node
    /// could not be reached, timed out, broke the connection, answered with a server error
    /// (5xx), answered something that is not the route's JSON, or is behind. A refusal, a
    /// client error (4xx) and a failed contract query are the chain's answer, the same from
    /// every node.
    pub fn is_node_failure(&self) -> bool {
        match self {
            Self::Unreachable { .. }
            | Self::Transport { .. }
            | Self::Decode { .. }
            | Self::Behind { .. }
            | Self::WrongChain { .. }
            | Self::CometRpc { .. } => true,
            Self::Api { status, .. } => *status >= 500,
            Self::InvalidUrl { .. }
            | Self::Refused { .. }
            | Self::CommitTimeout { .. }
            | Self::QueryFailed { .. }
            | Self::NoNodeAnswered { .. } => false,
        }
    }

    fn transport(url: &Url, error: reqwest::Error) -> Self {
        let url = url.to_string();
        let reason = root_cause(&error);
        if error.is_connect() && !answered_in_plain_http(&error) {
            Self::Unreachable { url, reason, error }
        } else {
            Self::Transport { url, reason, error }
        }
    }
}

/// A 400 `query failed: …` from the smart query route as [`ClientError::QueryFailed`]; any
/// other error as it is.
fn query_failed(error: ClientError) -> ClientError {
    if let ClientError::Api {
        status: 400,
        message,
        ..
    } = &error
    {
        if let Some(reason) = message.strip_prefix("query failed: ") {
            // cosmwasm-std 3's `StdError` displays as `kind: Other, error: …`.
            let reason = match reason.split_once(", error: ") {
                Some((kind, rest)) if kind.starts_with("kind: ") => rest,
                _ => reason,
            };
            return ClientError::QueryFailed {
                reason: reason.to_owned(),
            };
        }
    }
    error
}

fn display_hash(hash: &Option<TxHash>) -> String {
    hash.map_or_else(|| "(hash unknown)".to_owned(), |h| h.to_string())
}

/// How [`NodeClient::broadcast`] waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BroadcastMode {
    /// Return once the node has checked the transaction and put it in its mempool.
    Sync,
    /// Return once the transaction is committed in a block, or fail with
    /// [`ClientError::CommitTimeout`] after `timeout`.
    Commit {
        /// How long the node should wait for the commit.
        timeout: Duration,
    },
}

impl BroadcastMode {
    /// [`BroadcastMode::Commit`] with a 30 second timeout.
    pub const COMMIT: Self = Self::Commit {
        timeout: Duration::from_secs(30),
    };
}

impl Default for BroadcastMode {
    /// [`BroadcastMode::COMMIT`].
    fn default() -> Self {
        Self::COMMIT
    }
}

/// The node's answer to an accepted broadcast.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Broadcast {
    /// [`BroadcastMode::Sync`]: the transaction is in the mempool (code 0).
    Checked(CheckResult),
    /// [`BroadcastMode::Commit`]: the transaction is committed; its `code` is non-zero if it
    /// failed in the block (and changed nothing but the sender's sequence).
    Committed(TxResult),
}

impl Broadcast {
    /// The transaction's hash.
    pub fn txhash(&self) -> TxHash {
        match self {
            Self::Checked(check) => check.txhash,
            Self::Committed(result) => result.txhash,
        }
    }

    /// 0 on success.
    pub fn code(&self) -> u32 {
        match self {
            Self::Checked(check) => check.code,
            Self::Committed(result) => result.code,
        }
    }

    /// Why it failed, or empty.
    pub fn log(&self) -> &str {
        match self {
            Self::Checked(check) => &check.log,
            Self::Committed(result) => &result.log,
        }
    }

    /// The committed result, if the broadcast waited for one.
    pub fn committed(&self) -> Option<&TxResult> {
        match self {
            Self::Checked(_) => None,
            Self::Committed(result) => Some(result),
        }
    }
}

/// Which block [`NodeClient::block`] fetches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockId {
    /// The latest committed block.
    Latest,
    /// The block at this height (from 1).
    Height(u64),
}

impl From<u64> for BlockId {
    fn from(height: u64) -> Self {
        Self::Height(height)
    }
}

/// The error body: `{"error", "code"?, "txhash"?}`.
#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    code: Option<u32>,
    #[serde(default)]
    txhash: Option<TxHash>,
}

/// An async client of one node's HTTP API. Cheap to clone (clones share a connection pool);
/// needs a tokio runtime.
///
/// ```no_run
/// use consign_client::{coins, BroadcastMode, Msg, NodeClient, SecretKey};
///
/// # async fn demo() -> Result<(), consign_client::ClientError> {
/// let node = NodeClient::new("http://127.0.0.1:26657")?;
/// let status = node.status().await?;
/// let alice = SecretKey::from_seed("alice");
/// let send = Msg::BankSend { to: SecretKey::from_seed("bob").address(), amount: coins(5, "ucsn") };
/// let result = node
///     .sign_and_broadcast(&alice, &status.chain_id, vec![send], 200_000, BroadcastMode::COMMIT)
///     .await?;
/// assert_eq!(result.code(), 0, "{}", result.log());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct NodeClient {
    base: Url,
    http: reqwest::Client,
    /// The time limit of an ordinary request, from connecting to the end of the answer's body.
    timeout: Duration,
}

impl NodeClient {
    /// A client of the node at `base_url`, such as `http://127.0.0.1:26657` (a path prefix is
    /// kept: routes are appended to it).
    ///
    /// # Errors
    ///
    /// [`ClientError::InvalidUrl`] if it is not an absolute `http(s)://` URL.
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        let invalid = |reason: String| ClientError::InvalidUrl {
            url: base_url.to_owned(),
            reason,
        };
        let (base, http) = crate::http::base_client(base_url).map_err(invalid)?;
        Ok(Self {
            base,
            http,
            timeout: REQUEST_TIMEOUT,
        })
    }

    /// The same client with another time limit for ordinary requests ([`REQUEST_TIMEOUT`]
    /// unless set): from connecting to the last byte of the answer, so a node that accepts the
    /// connection and then trickles its answer is cut off after it. A commit broadcast and a
    /// long poll get their own wait plus a margin on top of it instead.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The node's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// `GET /status`: the chain id, the latest height and block hash, the next delivery sequence.
    ///
    /// # Errors
    ///
    /// Any [`ClientError`] but `Refused` and `CommitTimeout`.
    pub async fn status(&self) -> Result<NodeStatus, ClientError> {
        self.get_json(&["status"]).await
    }

    /// `POST /txs`: broadcasts a signed transaction.
    ///
    /// # Errors
    ///
    /// [`ClientError::Refused`] if the node's checks refuse it, [`ClientError::CommitTimeout`]
    /// if it is not committed in time, and the transport errors.
    pub async fn broadcast(&self, tx: &Tx, mode: BroadcastMode) -> Result<Broadcast, ClientError> {
        self.broadcast_bytes(tx.to_bytes(), mode).await
    }

    /// Like [`NodeClient::broadcast`], for a transaction already encoded (or deliberately
    /// malformed, to test the node's checks).
    ///
    /// # Errors
    ///
    /// As [`NodeClient::broadcast`].
    pub async fn broadcast_bytes(
        &self,
        bytes: Vec<u8>,
        mode: BroadcastMode,
    ) -> Result<Broadcast, ClientError> {
        let mut url = self.url(&["txs"]);
        let timeout = match mode {
            BroadcastMode::Sync => {
                url.query_pairs_mut().append_pair("mode", "sync");
                self.timeout
            }
            BroadcastMode::Commit { timeout } => {
                url.query_pairs_mut()
                    .append_pair("mode", "commit")
                    .append_pair("timeout_ms", &timeout.as_millis().to_string());
                timeout + WAIT_MARGIN
            }
        };
        let request = self
            .http
            .post(url.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(bytes)
            .timeout(timeout);
        let (status, body) = self.send(&url, request).await?;
        if !status.is_success() {
            return Err(error_from_response(status, &body, true));
        }
        match mode {
            BroadcastMode::Sync => decode(&url, &body).map(Broadcast::Checked),
            BroadcastMode::Commit { .. } => decode(&url, &body).map(Broadcast::Committed),
        }
    }

    /// Signs `messages` as one transaction from `key`'s account and broadcasts it, paying the
    /// least fee the node accepts: `gas_limit` × its minimum gas price (from `GET /status`),
    /// nothing when that is zero. The sequence comes from `GET /accounts/{address}`, which
    /// counts the account's transactions still in the mempool, so several can be sent in a row
    /// without waiting for each to commit.
    ///
    /// # Errors
    ///
    /// As [`NodeClient::status`], [`NodeClient::account`] and [`NodeClient::broadcast`].
    pub async fn sign_and_broadcast(
        &self,
        key: &SecretKey,
        chain_id: &str,
        messages: Vec<Msg>,
        gas_limit: u64,
        mode: BroadcastMode,
    ) -> Result<Broadcast, ClientError> {
        let fee = min_fee(&self.status().await?.min_gas_price, gas_limit);
        self.sign_and_broadcast_with_fee(key, chain_id, messages, gas_limit, fee, mode)
            .await
    }

    /// As [`NodeClient::sign_and_broadcast`], paying `fee` (the node refuses it if it is below
    /// `gas_limit` × its minimum gas price, or more than the account holds).
    ///
    /// # Errors
    ///
    /// As [`NodeClient::account`] and [`NodeClient::broadcast`].
    pub async fn sign_and_broadcast_with_fee(
        &self,
        key: &SecretKey,
        chain_id: &str,
        messages: Vec<Msg>,
        gas_limit: u64,
        fee: Vec<Coin>,
        mode: BroadcastMode,
    ) -> Result<Broadcast, ClientError> {
        let sender = key.address();
        let account = self.account(&sender).await?;
        let body = TxBody {
            chain_id: chain_id.to_owned(),
            sender,
            sequence: account.sequence,
            gas_limit,
            fee,
            memo: String::new(),
            messages,
        };
        self.broadcast(&Tx::sign(body, key), mode).await
    }

    /// `POST /txs/simulate`: runs a transaction against the last committed state and commits
    /// nothing; returns the gas it used and what it would do (a non-zero `code` if it would
    /// fail while running). The signature may be empty (its public key must still be the
    /// sender's); its gas limit is ignored: the node runs it with its own largest.
    ///
    /// # Errors
    ///
    /// [`ClientError::Refused`] if the node's checks refuse it (malformed, wrong signature,
    /// chain id, sequence, an unknown sender or one unable to pay the fee), and the transport
    /// errors.
    pub async fn simulate(&self, tx: &Tx) -> Result<Simulation, ClientError> {
        self.simulate_bytes(tx.to_bytes()).await
    }

    /// Like [`NodeClient::simulate`], for a transaction already encoded (or deliberately
    /// malformed, to test the node's checks).
    ///
    /// # Errors
    ///
    /// As [`NodeClient::simulate`].
    pub async fn simulate_bytes(&self, bytes: Vec<u8>) -> Result<Simulation, ClientError> {
        let url = self.url(&["txs", "simulate"]);
        let request = self
            .http
            .post(url.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(bytes)
            .timeout(self.timeout);
        let (status, body) = self.send(&url, request).await?;
        if !status.is_success() {
            return Err(error_from_response(status, &body, true));
        }
        decode(&url, &body)
    }

    /// `GET /txs/{hash}`: a committed transaction's result.
    ///
    /// # Errors
    ///
    /// [`ClientError::Api`] with status 404 ([`ClientError::is_not_found`]) if no committed
    /// transaction has this hash, and the transport errors.
    pub async fn tx(&self, hash: &TxHash) -> Result<TxResult, ClientError> {
        self.get_json(&["txs", &hash.to_string()]).await
    }

    /// `GET /blocks/latest` or `GET /blocks/{height}`.
    ///
    /// # Errors
    ///
    /// [`ClientError::Api`] with status 404 if there is no such block yet, and the transport
    /// errors.
    pub async fn block(&self, block: impl Into<BlockId>) -> Result<Block, ClientError> {
        match block.into() {
            BlockId::Latest => self.get_json(&["blocks", "latest"]).await,
            BlockId::Height(height) => self.get_json(&["blocks", &height.to_string()]).await,
        }
    }

    /// `GET /accounts/{address}`: the account's next sequence (counting its transactions in the
    /// mempool) and public key.
    ///
    /// # Errors
    ///
    /// [`ClientError::Api`] for an invalid address, and the transport errors.
    pub async fn account(&self, address: &str) -> Result<Account, ClientError> {
        self.get_json(&["accounts", address]).await
    }

    /// `GET /accounts/{address}/balances`: every non-zero balance, by denomination.
    ///
    /// # Errors
    ///
    /// As [`NodeClient::account`].
    pub async fn balances(&self, address: &str) -> Result<Vec<Coin>, ClientError> {
        let answer: BalancesResponse = self.get_json(&["accounts", address, "balances"]).await?;
        Ok(answer.balances)
    }

    /// `GET /staking/validators`: the validators, the bonded denomination, the unbonding
    /// period and the reward per block.
    ///
    /// # Errors
    ///
    /// The transport errors.
    pub async fn validators(&self) -> Result<ValidatorsResponse, ClientError> {
        self.get_json(&["staking", "validators"]).await
    }

    /// `GET /staking/delegations/{address}`: an account's delegations with their rewards, and
    /// its withdraw address.
    ///
    /// # Errors
    ///
    /// [`ClientError::Api`] with status 400 for an invalid address, and the transport errors.
    pub async fn delegations(&self, address: &str) -> Result<DelegationsResponse, ClientError> {
        self.get_json(&["staking", "delegations", address]).await
    }

    /// `GET /staking/unbonding/{address}`: an account's unbondings under way.
    ///
    /// # Errors
    ///
    /// As [`NodeClient::delegations`].
    pub async fn unbondings(&self, address: &str) -> Result<UnbondingsResponse, ClientError> {
        self.get_json(&["staking", "unbonding", address]).await
    }

    /// `GET /codes/{id}`: a stored code's checksum, creator, size and height.
    ///
    /// # Errors
    ///
    /// [`ClientError::Api`] with status 404 if there is no such code, and the transport errors.
    pub async fn code(&self, code_id: u64) -> Result<CodeInfo, ClientError> {
        self.get_json(&["codes", &code_id.to_string()]).await
    }

    /// `GET /codes/{id}/wasm`: a stored code's wasm bytes.
    ///
    /// # Errors
    ///
    /// As [`NodeClient::code`].
    pub async fn code_wasm(&self, code_id: u64) -> Result<Vec<u8>, ClientError> {
        let url = self.url(&["codes", &code_id.to_string(), "wasm"]);
        let request = self.http.get(url.clone()).timeout(self.timeout);
        let (status, body) = self.send(&url, request).await?;
        if !status.is_success() {
            return Err(error_from_response(status, &body, false));
        }
        Ok(body)
    }

    /// `GET /codes?limit=&page_key=`: stored codes in code id order, at most `limit` (the
    /// node's default, 100, if `None`; at most 1,000), after the page that ended with
    /// `page_key` (the previous page's `pagination.next_key`).
    ///
    /// # Errors
    ///
    /// [`ClientError::Api`] for a bad limit or key, and the transport errors.
    pub async fn codes(
        &self,
        limit: Option<u32>,
        page_key: Option<&str>,
    ) -> Result<CodeList, ClientError> {
        self.get_page(&["codes"], limit, page_key).await
    }

    /// `GET /codes/{id}/contracts?limit=&page_key=`: the addresses of the contracts running
    /// this code, in address order, paginated as [`NodeClient::codes`].
    ///
    /// # Errors
    ///
    /// [`ClientError::Api`] with status 404 if there is no such code, and as
    /// [`NodeClient::codes`].
    pub async fn contracts_by_code(
        &self,
        code_id: u64,
        limit: Option<u32>,
        page_key: Option<&str>,
    ) -> Result<ContractList, ClientError> {
        self.get_page(
            &["codes", &code_id.to_string(), "contracts"],
            limit,
            page_key,
        )
        .await
    }

    /// `GET /contracts/{address}/state?limit=&page_key=`: the contract's storage in key order
    /// (keys hex, values base64), paginated as [`NodeClient::codes`]; a page also stops at
    /// 4 MiB.
    ///
    /// # Errors
    ///
    /// [`ClientError::Api`] with status 404 if there is no contract at this address, and as
    /// [`NodeClient::codes`].
    pub async fn contract_state(
        &self,
        address: &str,
        limit: Option<u32>,
        page_key: Option<&str>,
    ) -> Result<ContractState, ClientError> {
        self.get_page(&["contracts", address, "state"], limit, page_key)
            .await
    }

    async fn get_page<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        limit: Option<u32>,
        page_key: Option<&str>,
    ) -> Result<T, ClientError> {
        let mut url = self.url(segments);
        {
            let mut query = url.query_pairs_mut();
            if let Some(limit) = limit {
                query.append_pair("limit", &limit.to_string());
            }
            if let Some(key) = page_key {
                query.append_pair("page_key", key);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        let request = self.http.get(url.clone()).timeout(self.timeout);
        self.json_response(&url, request).await
    }

    /// `GET /contracts/{address}`: a contract's code id, creator, admin, label and height.
    ///
    /// # Errors
    ///
    /// [`ClientError::Api`] with status 404 if there is no contract at this address, and the
    /// transport errors.
    pub async fn contract(&self, address: &str) -> Result<ContractInfo, ClientError> {
        self.get_json(&["contracts", address]).await
    }

    /// `POST /contracts/{address}/smart`: runs the contract's `query` with `msg` (serialised to
    /// JSON) and decodes its answer as `T`.
    ///
    /// # Errors
    ///
    /// [`ClientError::QueryFailed`] with the contract's error if the query fails,
    /// [`ClientError::Api`] if the node refuses the request (404: no contract at `address`),
    /// [`ClientError::Decode`] if the answer is not a `T`, and the transport errors.
    pub async fn smart_query<T: DeserializeOwned>(
        &self,
        address: &str,
        msg: &impl Serialize,
    ) -> Result<T, ClientError> {
        let url = self.url(&["contracts", address, "smart"]);
        let bytes = serde_json::to_vec(msg).map_err(|error| ClientError::Decode {
            url: url.to_string(),
            error,
        })?;
        let data = self.smart_query_raw(address, bytes).await?;
        serde_json::from_value(data).map_err(|error| ClientError::Decode {
            url: url.to_string(),
            error,
        })
    }

    /// `POST /contracts/{address}/smart` with the query message's JSON bytes as given; returns
    /// the contract's answer as JSON.
    ///
    /// # Errors
    ///
    /// As [`NodeClient::smart_query`].
    pub async fn smart_query_raw(
        &self,
        address: &str,
        msg: Vec<u8>,
    ) -> Result<serde_json::Value, ClientError> {
        let url = self.url(&["contracts", address, "smart"]);
        let request = self
            .http
            .post(url.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(msg)
            .timeout(self.timeout);
        let answer: SmartQueryResponse = self
            .json_response(&url, request)
            .await
            .map_err(query_failed)?;
        Ok(answer.data)
    }

    /// `GET /contracts/{address}/raw/{hex key}`: the value under `key` in the contract's
    /// storage, or `None`.
    ///
    /// # Errors
    ///
    /// [`ClientError::Api`] with status 404 if there is no contract at this address, and the
    /// transport errors.
    pub async fn raw_query(
        &self,
        address: &str,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, ClientError> {
        let answer: RawQueryResponse = self
            .get_json(&["contracts", address, "raw", &hex::encode(key)])
            .await?;
        Ok(answer.data.map(Vec::from))
    }

    /// `GET /deliveries?after=N&limit=M&wait_ms=W`: the committed delivery instructions with a
    /// sequence above `after`, at most `limit` of them (the node's default if `None`). With
    /// `wait`, the node holds the request up to that long (at most 60 s) until there is one.
    ///
    /// # Errors
    ///
    /// The transport errors, and [`ClientError::Api`] for an out-of-range argument.
    pub async fn deliveries(
        &self,
        after: u64,
        limit: Option<u32>,
        wait: Option<Duration>,
    ) -> Result<DeliveryPage, ClientError> {
        let mut url = self.url(&["deliveries"]);
        let mut timeout = self.timeout;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("after", &after.to_string());
            if let Some(limit) = limit {
                query.append_pair("limit", &limit.to_string());
            }
            if let Some(wait) = wait {
                query.append_pair("wait_ms", &wait.as_millis().to_string());
                timeout = wait + WAIT_MARGIN;
            }
        }
        let request = self.http.get(url.clone()).timeout(timeout);
        self.json_response(&url, request).await
    }

    /// The URL of a route: the base URL's path followed by `segments`, each percent-encoded.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.set_query(None);
        url.set_fragment(None);
        url.path_segments_mut()
            .expect("checked in `new`: the base URL can be a base")
            .pop_if_empty()
            .extend(segments);
        url
    }

    async fn get_json<T: DeserializeOwned>(&self, segments: &[&str]) -> Result<T, ClientError> {
        let url = self.url(segments);
        let request = self
            .http
            .request(Method::GET, url.clone())
            .timeout(self.timeout);
        self.json_response(&url, request).await
    }

    async fn json_response<T: DeserializeOwned>(
        &self,
        url: &Url,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let (status, body) = self.send(url, request).await?;
        if !status.is_success() {
            return Err(error_from_response(status, &body, false));
        }
        decode(url, &body)
    }

    async fn send(
        &self,
        url: &Url,
        request: reqwest::RequestBuilder,
    ) -> Result<(StatusCode, Vec<u8>), ClientError> {
        tracing::debug!(target: "client::node", %url, "request");
        let response = request
            .send()
            .await
            .map_err(|e| ClientError::transport(url, e))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| ClientError::transport(url, e))?;
        tracing::debug!(target: "client::node", %url, %status, bytes = body.len(), "response");
        if crate::comet::is_comet_rpc(&body) || self.is_comet_not_found(status, &body).await {
            return Err(ClientError::CometRpc {
                url: self.base.to_string(),
            });
        }
        Ok((status, body.to_vec()))
    }

    /// Whether a 404 that is not the node API's JSON error came from CometBFT's RPC (which
    /// answers unknown paths with a plain `404 page not found`): its `/status` says so.
    async fn is_comet_not_found(&self, status: StatusCode, body: &[u8]) -> bool {
        if status != StatusCode::NOT_FOUND || serde_json::from_slice::<ErrorBody>(body).is_ok() {
            return false;
        }
        let url = self.url(&["status"]);
        let probe = self.http.get(url).timeout(self.timeout).send().await;
        match probe {
            Ok(response) => response
                .bytes()
                .await
                .is_ok_and(|body| crate::comet::is_comet_rpc(&body)),
            Err(_) => false,
        }
    }
}

fn decode<T: DeserializeOwned>(url: &Url, body: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|error| ClientError::Decode {
        url: url.to_string(),
        error,
    })
}

/// The error for a non-success response. A broadcast's 4xx carrying a non-zero `code` is a
/// refusal, and its 504 carrying a `txhash` a commit timeout; anything else is
/// [`ClientError::Api`].
fn error_from_response(status: StatusCode, body: &[u8], broadcast: bool) -> ClientError {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let (message, code, txhash) = match parsed {
        Some(ErrorBody {
            error,
            code,
            txhash,
        }) => (error, code, txhash),
        None => {
            let text = String::from_utf8_lossy(body).trim().to_owned();
            let text = if text.is_empty() {
                status.canonical_reason().unwrap_or("no message").to_owned()
            } else {
                text
            };
            (text, None, None)
        }
    };
    if broadcast {
        if let (Some(txhash), StatusCode::GATEWAY_TIMEOUT) = (txhash, status) {
            return ClientError::CommitTimeout { txhash, message };
        }
        if let Some(code @ 1..) = code.filter(|_| status.is_client_error()) {
            return ClientError::Refused {
                message,
                code,
                txhash,
            };
        }
    }
    ClientError::Api {
        status: status.as_u16(),
        message,
        code,
    }
}

/// The least fee a node with minimum gas price `price` accepts for `gas_limit`: `ceil(gas ×
/// price)`, or no coins at all when the price is zero.
pub fn min_fee(price: &GasPrice, gas_limit: u64) -> Vec<Coin> {
    if price.is_zero() {
        Vec::new()
    } else {
        vec![price.fee(gas_limit)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_the_base_path_and_encode_segments() {
        let node = NodeClient::new("http://127.0.0.1:1/api/").unwrap();
        assert_eq!(
            node.url(&["contracts", "a/b?c", "raw", "00ff"]).as_str(),
            "http://127.0.0.1:1/api/contracts/a%2Fb%3Fc/raw/00ff"
        );
        NodeClient::new("https://node.example/consign").expect("https is supported");
        let node = NodeClient::new("http://localhost:26657").unwrap();
        assert_eq!(
            node.url(&["status"]).as_str(),
            "http://localhost:26657/status"
        );
    }

    #[test]
    fn new_refuses_urls_it_cannot_use() {
        for url in [
            "localhost:26657",
            "127.0.0.1:26657",
            "ftp://node.example",
            "https://",
            "",
        ] {
            let error = NodeClient::new(url).unwrap_err();
            assert!(
                matches!(error, ClientError::InvalidUrl { .. }),
                "{url}: {error}"
            );
            assert!(error.to_string().contains("http://127.0.0.1:26657"));
        }
    }

    #[test]
    fn refusals_become_typed_errors() {
        let hash = Tx::hash(b"tx");
        let body = format!(
            r#"{{"error":"account sequence mismatch: expected 3, got 2","code":4,"txhash":"{hash}"}}"#
        );
        let error = error_from_response(StatusCode::BAD_REQUEST, body.as_bytes(), true);
        match &error {
            ClientError::Refused {
                message,
                code,
                txhash,
            } => {
                assert_eq!(message, "account sequence mismatch: expected 3, got 2");
                assert_eq!(*code, 4);
                assert_eq!(*txhash, Some(hash));
            }
            other => panic!("{other:?}"),
        }
        assert!(error.to_string().contains("(code 4)"));

        let body = format!(r#"{{"error":"not committed within 30000 ms","txhash":"{hash}"}}"#);
        let error = error_from_response(StatusCode::GATEWAY_TIMEOUT, body.as_bytes(), true);
        assert!(
            matches!(error, ClientError::CommitTimeout { txhash, .. } if txhash == hash),
            "{error:?}"
        );
    }

    #[test]
    fn other_errors_carry_the_node_message() {
        let error = error_from_response(
            StatusCode::NOT_FOUND,
            br#"{"error":"no contract at consign1xyz"}"#,
            false,
        );
        assert!(error.is_not_found());
        assert_eq!(
            error.to_string(),
            "the node answered 404: no contract at consign1xyz"
        );
        let error = error_from_response(StatusCode::BAD_GATEWAY, b"", false);
        assert_eq!(error.to_string(), "the node answered 502: Bad Gateway");
        let error = error_from_response(StatusCode::BAD_REQUEST, b"not json", true);
        assert!(
            matches!(&error, ClientError::Api { status: 400, message, code: None } if message == "not json")
        );
    }

    #[test]
    fn a_query_naming_a_missing_id_is_absent() {
        let api = |status, message: &str| ClientError::Api {
            status,
            message: message.to_owned(),
            code: None,
        };
        assert!(api(400, "query failed: offer 99 does not exist").is_absent());
        let failed = query_failed(api(400, "query failed: offer 99 does not exist"));
        assert_eq!(failed.to_string(), "offer 99 does not exist");
        assert!(failed.is_absent());
        let failed = query_failed(api(
            400,
            "query failed: kind: Other, error: invalid address",
        ));
        assert_eq!(failed.to_string(), "invalid address");
        assert!(!failed.is_absent());
        let other = query_failed(api(404, "no contract at consign1xyz"));
        assert_eq!(
            other.to_string(),
            "the node answered 404: no contract at consign1xyz"
        );
        assert!(api(400, "query failed: type: Offer; key: [00] not found").is_absent());
        assert!(!api(400, "query failed: unknown variant `offr`").is_absent());
        assert!(!api(502, "offer 99 does not exist").is_absent());
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable_with_a_hint() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let node = NodeClient::new(&format!("http://{addr}")).unwrap();
        let error = node.status().await.unwrap_err();
        assert!(
            matches!(error, ClientError::Unreachable { .. }),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(message.contains(&addr.to_string()), "{message}");
        assert!(message.ends_with("is `consign dev` running?"), "{message}");
    }
}

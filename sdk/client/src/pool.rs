//! [`NodePool`]: one client over several full nodes of the same chain, failing over between
//! them. The storage node and the buyer's inbox talk to the chain through it, so either can
//! follow any node of a network and carry on when that node goes away.
//!
//! - **One chain.** Before a node is used (and again after it could not be reached, since the
//!   address may now be another process), it is asked for its status and must report the pool's chain id:
//!   the one given ([`NodePool::expect_chain_id`]), else the first one a node reports. A node on
//!   another chain is refused ([`ClientError::WrongChain`]), logged, and never asked again.
//!   A pool of one node with no chain id given asks nothing extra: there is nothing to compare.
//! - **Sticky.** Requests go to the current node for as long as it answers; reads stay
//!   consistent with each other.
//! - **Failing over.** A request that fails for a reason another node might not have
//!   ([`ClientError::is_node_failure`]: unreachable, timed out, a broken connection, a 5xx,
//!   an answer that is not the route's JSON, a node behind the chain) is made again on the next
//!   node, and the first that answers becomes the current node; the switch is logged with the
//!   reason. An answer that is the chain's own (a 4xx, a refused transaction, a failed contract
//!   query) is returned as it is: every node would give it. A node that failed is passed over
//!   for a while (from 1 s, doubling with jitter, at most a minute: [`consign_util::retry`]),
//!   unless every node has failed, when the soonest is tried anyway: [`NodePool::call`] never
//!   waits, its caller decides when to try again.
//! - **Timed out.** Each node's [`NodeClient`] cuts a request that is not answered whole within
//!   its time limit ([`NodeClient::with_timeout`]), so a node that accepts connections and then
//!   trickles its answers costs one time limit, then the pool moves on.
//! - **Behind.** The delivery feed ([`NodePool::deliveries`]) is read after a sequence that
//!   another node may have returned: a node whose feed has not reached it yet answers an empty
//!   long poll, and if its feed ends before the sequence asked after it is behind
//!   ([`ClientError::Behind`]) and the next node is asked. The feed's sequence numbers are the
//!   same on every node, so a cursor kept by the caller neither skips nor repeats an instruction
//!   when the pool switches.
//!
//! ```no_run
//! use consign_client::NodePool;
//!
//! # async fn demo() -> Result<(), consign_client::ClientError> {
//! let nodes = NodePool::new(["http://127.0.0.1:26602", "http://127.0.0.1:26612"])?;
//! let status = nodes.status().await?;
//! let page = nodes.deliveries(0, Some(100), None).await?;
//! let balances = nodes.call(|node| async move { node.balances("consign1…").await }).await?;
//! # let _ = (status, page, balances);
//! # Ok(()) }
//! ```

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use consign_util::retry::{Backoff, Jitter};
use reqwest::Url;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{ClientError, DeliveryPage, NodeClient, NodeStatus, PoolNode, PoolNodeState};

/// Log target.
const TARGET: &str = "client::pool";

/// How long a node that failed is passed over: from 1 s, doubling with each failure in a row,
/// at most a minute, each wait drawn in [half, whole] so that clients do not come back together.
const PASS_OVER: Backoff =
    Backoff::new(Duration::from_secs(1), Duration::from_secs(60)).with_jitter(Jitter::Equal);

/// Clients of several nodes of one chain, used as one; see the [module](self) documentation.
/// Cheap to clone: clones share the nodes and what is known of them.
#[derive(Clone, Debug)]
pub struct NodePool {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    members: Vec<Member>,
    /// The index of the node asked first.
    current: AtomicUsize,
    /// The pool's chain: given, or the first a node reported.
    chain_id: OnceLock<String>,
}

#[derive(Debug)]
struct Member {
    client: NodeClient,
    health: Mutex<Health>,
}

#[derive(Debug, Default)]
struct Health {
    /// It reported the pool's chain id since it was last unreachable.
    verified: bool,
    /// The other chain it reported: refused for good.
    refused: Option<String>,
    /// Failures in a row.
    failures: u32,
    /// Passed over until then.
    retry_at: Option<Instant>,
    /// Why it last failed.
    last_error: Option<String>,
    /// The first failure of the current run of failures.
    failing_since: Option<SystemTime>,
    /// It answered a request once.
    answered: bool,
}

impl Member {
    fn health(&self) -> MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn url(&self) -> &Url {
        self.client.base_url()
    }
}

impl NodePool {
    /// A pool of the nodes at `urls` (in order: the first is asked first), with the default
    /// request time limit ([`REQUEST_TIMEOUT`](crate::REQUEST_TIMEOUT)).
    ///
    /// # Errors
    ///
    /// [`ClientError::InvalidUrl`] for a URL that is not `http(s)://`, or when there is none.
    pub fn new<S: AsRef<str>>(urls: impl IntoIterator<Item = S>) -> Result<Self, ClientError> {
        let clients = urls
            .into_iter()
            .map(|url| NodeClient::new(url.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_clients(clients)
    }

    /// A pool of these clients (in order: the first is asked first).
    ///
    /// # Errors
    ///
    /// [`ClientError::InvalidUrl`] when there is none.
    pub fn from_clients(clients: Vec<NodeClient>) -> Result<Self, ClientError> {
        if clients.is_empty() {
            return Err(no_node());
        }
        let members = clients
            .into_iter()
            .map(|client| Member {
                client,
                health: Mutex::default(),
            })
            .collect();
        Ok(Self {
            inner: Arc::new(Inner {
                members,
                current: AtomicUsize::new(0),
                chain_id: OnceLock::new(),
            }),
        })
    }

    /// The same pool, on chain `chain_id`: every node must report it (unless the pool already
    /// knows its chain, from an earlier node or call).
    #[must_use]
    pub fn expect_chain_id(self, chain_id: impl Into<String>) -> Self {
        let _ = self.inner.chain_id.set(chain_id.into());
        self
    }

    /// The pool's chain id: given, or the first one a node reported; `None` before that.
    pub fn chain_id(&self) -> Option<&str> {
        self.inner.chain_id.get().map(String::as_str)
    }

    /// How many nodes the pool has.
    pub fn len(&self) -> usize {
        self.inner.members.len()
    }

    /// Whether the pool is empty: never (a pool has at least one node).
    pub fn is_empty(&self) -> bool {
        self.inner.members.is_empty()
    }

    /// The nodes' URLs, in the order given.
    pub fn urls(&self) -> impl Iterator<Item = &Url> {
        self.inner.members.iter().map(Member::url)
    }

    /// The node asked first: the last one that answered.
    pub fn current(&self) -> &NodeClient {
        &self.inner.members[self.current_index()].client
    }

    fn current_index(&self) -> usize {
        self.inner.current.load(Ordering::Relaxed) % self.len()
    }

    /// Every node, in the order given, and how it stands: the current one (the node asked
    /// first), those that answered last time, those not asked yet, those failing (since when,
    /// how many times in a row, why) and those refused for another chain. For an operator's
    /// status: which node is followed now, and why not the others.
    pub fn report(&self) -> Vec<PoolNode> {
        let current = self.current_index();
        let unix = |t: SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        self.inner
            .members
            .iter()
            .enumerate()
            .map(|(index, member)| {
                let health = member.health();
                let state = if health.refused.is_some() {
                    PoolNodeState::Refused
                } else if health.failures > 0 {
                    PoolNodeState::Failing
                } else if index == current {
                    PoolNodeState::Current
                } else if health.answered {
                    PoolNodeState::Ok
                } else {
                    PoolNodeState::Unused
                };
                PoolNode {
                    url: member.url().to_string(),
                    state,
                    failing_since: health.failing_since.map(unix),
                    failures: health.failures,
                    last_error: health.last_error.clone(),
                    chain_id: health.refused.clone(),
                }
            })
            .collect()
    }

    /// Runs `op` against the current node and, while it fails for a reason another node might
    /// not have ([`ClientError::is_node_failure`]), against the next ones, each once (nodes
    /// refused for another chain never; nodes that failed lately last). The node that answers
    /// becomes the current one. `op` may run several times: give it what can be sent twice
    /// (a query, or a signed transaction, which a chain commits at most once).
    ///
    /// # Errors
    ///
    /// The first error that is the chain's answer, not a node's failure, as it is. When every
    /// node is refused, [`ClientError::WrongChain`]. When every node asked fails: the error of
    /// the only one asked, or [`ClientError::NoNodeAnswered`] with the last one's.
    pub async fn call<T, F, Fut>(&self, mut op: F) -> Result<T, ClientError>
    where
        F: FnMut(NodeClient) -> Fut,
        Fut: Future<Output = Result<T, ClientError>>,
    {
        let order = self.order();
        if order.is_empty() {
            // Every node is refused: say why, with the first one's chain.
            return Err(self.refusal().unwrap_or_else(no_node));
        }
        let mut last = None;
        let mut tried = 0;
        for index in order {
            tried += 1;
            let client = self.inner.members[index].client.clone();
            let result = match self.verify(index).await {
                Ok(()) => op(client).await,
                Err(error) => Err(error),
            };
            match result {
                Err(error) if error.is_node_failure() => {
                    self.failed(index, &error);
                    last = Some(error);
                }
                answered => {
                    self.answered(index);
                    return answered;
                }
            }
        }
        let last = last.unwrap_or_else(no_node);
        if tried == 1 {
            Err(last)
        } else {
            Err(ClientError::NoNodeAnswered {
                tried,
                last: Box::new(last),
            })
        }
    }

    /// `GET /status` of the first node that answers (see [`NodePool::call`]); the pool learns
    /// its chain id from it if it knew none.
    ///
    /// # Errors
    ///
    /// As [`NodePool::call`].
    pub async fn status(&self) -> Result<NodeStatus, ClientError> {
        let status = self.call(|node| async move { node.status().await }).await?;
        self.learn(&status.chain_id, self.current().base_url());
        Ok(status)
    }

    /// A contract's smart query ([`NodeClient::smart_query`]) on the first node that answers.
    ///
    /// # Errors
    ///
    /// As [`NodeClient::smart_query`] and [`NodePool::call`].
    pub async fn smart_query<T: DeserializeOwned>(
        &self,
        address: &str,
        msg: &(impl Serialize + Sync),
    ) -> Result<T, ClientError> {
        self.call(|node| async move { node.smart_query(address, msg).await })
            .await
    }

    /// The delivery feed after `after` ([`NodeClient::deliveries`]) from the first node that
    /// answers. When a node answers with no instruction, its status is read: if its feed ends
    /// before `after` (which another node returned), it is behind, and the next node is asked.
    ///
    /// # Errors
    ///
    /// As [`NodeClient::deliveries`] and [`NodePool::call`]; [`ClientError::Behind`] when the
    /// only node is behind.
    pub async fn deliveries(
        &self,
        after: u64,
        limit: Option<u32>,
        wait: Option<Duration>,
    ) -> Result<DeliveryPage, ClientError> {
        self.call(|node| async move {
            let page = node.deliveries(after, limit, wait).await?;
            if page.deliveries.is_empty() {
                let head = node
                    .status()
                    .await?
                    .next_delivery_sequence
                    .saturating_sub(1);
                if head < after {
                    return Err(ClientError::Behind {
                        url: node.base_url().to_string(),
                        head,
                        after,
                    });
                }
            }
            Ok(page)
        })
        .await
    }

    /// The order in which to ask: the current node, then the others in the order given, those
    /// passed over after a failure last (soonest back first), refused ones never.
    fn order(&self) -> Vec<usize> {
        let now = Instant::now();
        let len = self.len();
        let start = self.current_index();
        let mut ready = Vec::with_capacity(len);
        let mut resting = Vec::new();
        for index in (0..len).map(|k| (start + k) % len) {
            let health = self.inner.members[index].health();
            if health.refused.is_some() {
                continue;
            }
            match health.retry_at {
                Some(at) if at > now => resting.push((at, index)),
                _ => ready.push(index),
            }
        }
        resting.sort();
        ready.extend(resting.into_iter().map(|(_, index)| index));
        ready
    }

    /// Checks that node `index` is on the pool's chain: before its first use, and again after
    /// it could not be reached.
    async fn verify(&self, index: usize) -> Result<(), ClientError> {
        let member = &self.inner.members[index];
        if member.health().verified || (self.len() == 1 && self.chain_id().is_none()) {
            return Ok(());
        }
        let status = member.client.status().await?;
        let expected = self.learn(&status.chain_id, member.url());
        if *expected != status.chain_id {
            return Err(ClientError::WrongChain {
                url: member.url().to_string(),
                expected: expected.clone(),
                found: status.chain_id,
            });
        }
        member.health().verified = true;
        Ok(())
    }

    /// The pool's chain id, set to `found` (which `node` reported) if there was none.
    fn learn(&self, found: &str, node: &Url) -> &String {
        self.inner.chain_id.get_or_init(|| {
            if self.len() > 1 {
                tracing::info!(target: TARGET, chain_id = found, %node, "the nodes' chain");
            }
            found.to_owned()
        })
    }

    /// Records that node `index` failed: refused for good when it is on another chain, else
    /// passed over for a while (and, if it could not be reached, checked again before its next
    /// use).
    fn failed(&self, index: usize, error: &ClientError) {
        let member = &self.inner.members[index];
        let mut health = member.health();
        // A node that could not be reached may come back as another process: check its chain
        // again then. One that answered (a 5xx, a slow or malformed answer) is the same node.
        if matches!(error, ClientError::Unreachable { .. }) {
            health.verified = false;
        }
        health.last_error = Some(error.to_string());
        if let ClientError::WrongChain { found, .. } = error {
            tracing::error!(target: TARGET, node = %member.url(), %error, "node refused");
            health.refused = Some(found.clone());
            return;
        }
        health.failures = health.failures.saturating_add(1);
        health.failing_since.get_or_insert_with(SystemTime::now);
        let rest = PASS_OVER.delay(health.failures);
        health.retry_at = Some(Instant::now() + rest);
        if self.len() > 1 {
            tracing::warn!(
                target: TARGET,
                node = %member.url(),
                %error,
                passed_over_ms = u64::try_from(rest.as_millis()).unwrap_or(u64::MAX),
                "node failed; asking the next one"
            );
        }
    }

    /// Records that node `index` answered, and makes it the current node.
    fn answered(&self, index: usize) {
        let member = &self.inner.members[index];
        {
            let mut health = member.health();
            health.failures = 0;
            health.retry_at = None;
            health.failing_since = None;
            health.answered = true;
        }
        let previous = self.inner.current.swap(index, Ordering::Relaxed) % self.len();
        if previous != index {
            let from = &self.inner.members[previous];
            let reason = from
                .health()
                .last_error
                .clone()
                .unwrap_or_else(|| "it did not answer".to_owned());
            tracing::warn!(
                target: TARGET,
                node = %member.url(),
                from = %from.url(),
                %reason,
                "switched to another node"
            );
        }
    }

    /// The first refused node's refusal.
    fn refusal(&self) -> Option<ClientError> {
        self.inner.members.iter().find_map(|member| {
            let found = member.health().refused.clone()?;
            Some(ClientError::WrongChain {
                url: member.url().to_string(),
                expected: self.chain_id().unwrap_or_default().to_owned(),
                found,
            })
        })
    }
}

/// The error of a pool without nodes (which [`NodePool::new`] refuses to make).
fn no_node() -> ClientError {
    ClientError::InvalidUrl {
        url: String::new(),
        reason: "no node URL was given".to_owned(),
    }
}

/// A pool of this one node.
impl From<NodeClient> for NodePool {
    fn from(client: NodeClient) -> Self {
        Self {
            inner: Arc::new(Inner {
                members: vec![Member {
                    client,
                    health: Mutex::default(),
                }],
                current: AtomicUsize::new(0),
                chain_id: OnceLock::new(),
            }),
        }
    }
}

#[cfg(test)]
mod tests;

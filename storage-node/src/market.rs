//! [`Chain`]: what the storage node asks the chain, through the chain nodes' HTTP API: the
//! data-sale contract's offers and purchases (smart queries), and the delivery feed (through
//! [`Chain::nodes`]). With several `--node-url`s the requests go through one
//! [`NodePool`], which uses one node at a time and fails over to the next.
//!
//! "Not found" and "could not ask" are kept apart: [`Chain::offer`] and [`Chain::purchase`]
//! return `Ok(None)` only when the node answered that the contract or the entry does not exist,
//! and `Err` when the node could not be reached or failed, so callers retry instead of refusing
//! a seller or failing a delivery because of an outage.
//!
//! Queries and answers are the contract's interface types ([`consign_market`]), so this crate
//! links neither the contract nor the chain.

use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context as _;
use consign_client::storage::{ChainLink, ChainState};
use consign_client::{ClientError, NodePool};
use consign_market::{OfferResponse, PurchaseResponse, QueryMsg};
use tokio::sync::watch;

/// Log target of the link to the chain node.
pub(crate) const CHAIN_TARGET: &str = "storage::chain";

/// A handle on the chain the node follows. Cheap to clone; clones share what is known of the
/// chain node (its chain id, whether it answers).
///
/// The storage node serves before its chain node answers: a handle made by
/// [`Chain::unverified`] knows at most the chain id its data directory recorded, and becomes
/// verified when [`Chain::verify`] finds a node at the URLs on that chain (or, for a new data
/// directory, learns the chain from the first that answers). Until then nothing that acts on
/// the chain's word runs: the follower and the fulfiller wait ([`Chain::wait_verified`]), and
/// registrations and balance checks are answered "unavailable".
#[derive(Clone, Debug)]
pub struct Chain {
    /// The chain nodes; they hold the chain id (given, recorded in the data directory, or
    /// learnt from the first answer).
    nodes: NodePool,
    link: Arc<Link>,
}

#[derive(Debug)]
struct Link {
    /// Whether a node at the URLs answered with the chain id (or the caller vouched for it).
    verified: watch::Sender<bool>,
    health: Mutex<ChainLink>,
}

/// Why [`Chain::verify`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No chain node answered (or each answered with an error); try again later.
    #[error("the chain node at {url} does not answer: {error}")]
    Unreachable {
        /// The node's URL.
        url: String,
        /// Why (in the message, so not also a source: printed once).
        error: ClientError,
    },
    /// The chain node serves another chain than the one this data directory belongs to: a
    /// configuration error that waiting does not mend.
    #[error(
        "the chain node at {url} is on chain {found}, but this storage node's data belongs to \
         chain {expected}; use the --node-url of chain {expected}, or another --data-dir"
    )]
    WrongChain {
        /// The node's URL.
        url: String,
        /// The chain id this node follows.
        expected: String,
        /// The chain id the node at the URL reported.
        found: String,
    },
}

impl Chain {
    /// A handle on the nodes at `node_urls`, serving chain `chain_id`, taken as verified (the
    /// caller vouches for the chain id; each node is still checked before it is used);
    /// makes no request.
    ///
    /// # Errors
    ///
    /// If a URL is not an `http://` URL, or there is none.
    pub fn new<S: AsRef<str>>(
        node_urls: impl IntoIterator<Item = S>,
        chain_id: impl Into<String>,
    ) -> anyhow::Result<Self> {
        let chain = Self::unverified(node_urls, Some(chain_id.into()))?;
        chain.link.verified.send_replace(true);
        Ok(chain)
    }

    /// A handle on the nodes at `node_urls` that have not answered yet; `chain_id` is the chain
    /// the data directory recorded, if any. Makes no request; see [`Chain::verify`].
    ///
    /// # Errors
    ///
    /// If a URL is not an `http://` URL, or there is none.
    pub fn unverified<S: AsRef<str>>(
        node_urls: impl IntoIterator<Item = S>,
        chain_id: Option<String>,
    ) -> anyhow::Result<Self> {
        let mut nodes = NodePool::new(node_urls)?;
        if let Some(id) = chain_id {
            nodes = nodes.expect_chain_id(id);
        }
        let link = Link {
            verified: watch::Sender::new(false),
            health: Mutex::new(ChainLink {
                state: ChainState::Connecting,
                since: crate::node::unix_now(),
                last_error: None,
                following: None,
                nodes: Vec::new(),
            }),
        };
        Ok(Self {
            nodes,
            link: Arc::new(link),
        })
    }

    /// Asks the nodes for their status (the first that answers, see [`NodePool`]): records the
    /// chain as reachable (or not), checks the chain id against the one known (or adopts the
    /// first answer's when none is) and marks the handle verified.
    ///
    /// # Errors
    ///
    /// [`VerifyError::Unreachable`] when no node answers (retry later);
    /// [`VerifyError::WrongChain`] when every node serves another chain (do not retry).
    pub async fn verify(&self) -> Result<(), VerifyError> {
        match self.nodes.status().await {
            Ok(_) => {}
            Err(ClientError::WrongChain {
                url,
                expected,
                found,
            }) => {
                return Err(VerifyError::WrongChain {
                    url,
                    expected,
                    found,
                });
            }
            Err(error) => {
                self.mark_unreachable(&error.to_string());
                return Err(VerifyError::Unreachable {
                    url: self.urls(),
                    error,
                });
            }
        }
        self.mark_reachable();
        self.link.verified.send_replace(true);
        Ok(())
    }

    /// The nodes' URLs, for messages: `http://a, http://b`.
    pub fn urls(&self) -> String {
        let urls: Vec<String> = self.nodes.urls().map(ToString::to_string).collect();
        urls.join(", ")
    }

    /// Whether a node at the URLs is known to serve [`Chain::chain_id`].
    pub fn is_verified(&self) -> bool {
        *self.link.verified.borrow()
    }

    /// Waits until the handle is verified (at once if it is).
    pub async fn wait_verified(&self) {
        let mut verified = self.link.verified.subscribe();
        let _ = verified.wait_for(|verified| *verified).await;
    }

    /// The chain id once verified, else an error that says the chain node has not answered
    /// yet and why (for what must not act on an unverified chain; callers add what to do).
    ///
    /// # Errors
    ///
    /// While the handle is not verified.
    pub fn verified_chain_id(&self) -> anyhow::Result<&str> {
        match self.nodes.chain_id() {
            Some(id) if self.is_verified() => Ok(id),
            _ => {
                let health = self.health();
                let why = health
                    .last_error
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default();
                anyhow::bail!(
                    "the storage node has not reached its chain node at {} yet{why}",
                    self.urls()
                )
            }
        }
    }

    /// Records that the chain node answered; logs the recovery if it did not before.
    pub fn mark_reachable(&self) {
        let mut health = self
            .link
            .health
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if health.state != ChainState::Reachable {
            if health.state == ChainState::Unreachable {
                tracing::info!(target: CHAIN_TARGET, node = %self.nodes.current().base_url(), "the chain node answers again");
            } else {
                tracing::info!(target: CHAIN_TARGET, node = %self.nodes.current().base_url(), "the chain node answers");
            }
            *health = ChainLink {
                state: ChainState::Reachable,
                since: crate::node::unix_now(),
                last_error: None,
                following: None,
                nodes: Vec::new(),
            };
        }
    }

    /// Records that the chain node did not answer, and why; logs it when it answered before
    /// (or had not been asked).
    pub fn mark_unreachable(&self, error: &str) {
        let mut health = self
            .link
            .health
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if health.state != ChainState::Unreachable {
            tracing::warn!(
                target: CHAIN_TARGET,
                node = %self.nodes.current().base_url(),
                %error,
                "the chain node is unreachable: registrations, balance checks, the delivery feed \
                 and deliveries wait until it answers"
            );
            health.state = ChainState::Unreachable;
            health.since = crate::node::unix_now();
        }
        health.last_error = Some(error.to_owned());
    }

    /// Whether the chain node answers, since when, and why not; which node is followed now,
    /// and how each configured node stands.
    pub fn health(&self) -> ChainLink {
        let mut link = self
            .link
            .health
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        link.following = Some(self.nodes.current().base_url().to_string());
        link.nodes = self.nodes.report();
        link
    }

    /// The chain nodes, for the delivery feed, status and balances.
    pub fn nodes(&self) -> &NodePool {
        &self.nodes
    }

    /// The chain id, if known: given, recorded in the data directory, or learnt from the node.
    /// Known is not verified: see [`Chain::verified_chain_id`].
    pub fn chain_id(&self) -> Option<&str> {
        self.nodes.chain_id()
    }

    /// Offer `offer_id` of the data-sale contract at `contract`; `None` if there is no
    /// contract at that address or it has no such offer.
    ///
    /// # Errors
    ///
    /// When the node cannot be reached or fails, or the contract's answer is not an offer
    /// (it is not a data-sale contract): try again later rather than concluding anything.
    pub async fn offer(
        &self,
        contract: &str,
        offer_id: u64,
    ) -> anyhow::Result<Option<OfferResponse>> {
        self.query(contract, &QueryMsg::offer(offer_id))
            .await
            .with_context(|| format!("cannot query offer {offer_id} of {contract}"))
    }

    /// Purchase `purchase_id` of the data-sale contract at `contract`; `None` if there is no
    /// contract at that address or it has no such purchase.
    ///
    /// # Errors
    ///
    /// As [`Chain::offer`].
    pub async fn purchase(
        &self,
        contract: &str,
        purchase_id: u64,
    ) -> anyhow::Result<Option<PurchaseResponse>> {
        self.query(contract, &QueryMsg::purchase(purchase_id))
            .await
            .with_context(|| format!("cannot query purchase {purchase_id} of {contract}"))
    }

    async fn query<T: serde::de::DeserializeOwned>(
        &self,
        contract: &str,
        msg: &QueryMsg,
    ) -> Result<Option<T>, ClientError> {
        match self.nodes.smart_query::<T>(contract, msg).await {
            Ok(answer) => Ok(Some(answer)),
            Err(error) if error.is_absent() => Ok(None),
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use consign_market::{Escrow, OfferStatus};

    use super::*;

    fn api(status: u16, message: &str) -> ClientError {
        ClientError::Api {
            status,
            message: message.to_owned(),
            code: None,
        }
    }

    #[test]
    fn only_the_node_saying_not_found_is_absent() {
        assert!(api(404, "no contract at consign1xyz").is_absent());
        assert!(api(
            400,
            "query failed: kind: Other, error: type: data_sale::state::Offer; key: [00, 06] not found"
        )
        .is_absent());
        assert!(!api(400, "query failed: unknown variant `offer`").is_absent());
        assert!(!api(500, "not found").is_absent());
        assert!(!api(502, "Bad Gateway").is_absent());
    }

    #[test]
    fn the_contract_json_reads_into_the_responses() {
        let offer: OfferResponse = serde_json::from_value(serde_json::json!({
            "id": 3, "seller": "consign1seller", "price": [{"denom": "ucsn", "amount": "5"}],
            "content_sha256": "ab", "size": 10, "title": "t", "description": "", "terms": "",
            "expires": null, "status": "active", "created": "1700000000000000000"
        }))
        .unwrap();
        assert_eq!(offer.status, OfferStatus::Active);
        let purchase: PurchaseResponse = serde_json::from_value(serde_json::json!({
            "id": 1, "offer_id": 3, "buyer": "consign1buyer", "seller": "consign1seller",
            "price": [], "recipient": {"endpoint": "https://inbox.example/x", "key": "age1xyz"},
            "created": "1700000000000000000", "state": "held", "dispute_reason": null,
            "settled": null
        }))
        .unwrap();
        assert_eq!(purchase.recipient.endpoint, "https://inbox.example/x");
        assert_eq!(purchase.state, Escrow::Held);
    }
}

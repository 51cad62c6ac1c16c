//! [`Chain`]: what the storage node asks the chain, through the node's HTTP API: the data-sale
//! contract's offers and purchases (smart queries), and the delivery feed (through
//! [`Chain::client`]).
//!
//! "Not found" and "could not ask" are kept apart: [`Chain::offer`] and [`Chain::purchase`]
//! return `Ok(None)` only when the node answered that the contract or the entry does not exist,
//! and `Err` when the node could not be reached or failed, so callers retry instead of refusing
//! a seller or failing a delivery because of an outage.
//!
//! Queries and answers are the contract's interface types ([`consign_market`]), so this crate
//! links neither the contract nor the chain.

use std::sync::Arc;

use anyhow::Context as _;
use consign_client::{ClientError, NodeClient};
use consign_market::{OfferResponse, PurchaseResponse, QueryMsg};

/// A handle on the chain the node follows. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Chain {
    client: NodeClient,
    chain_id: Arc<str>,
}

impl Chain {
    /// A handle on the node at `node_url`, serving chain `chain_id`; makes no request.
    ///
    /// # Errors
    ///
    /// If `node_url` is not an `http://` URL.
    pub fn new(node_url: &str, chain_id: impl Into<String>) -> anyhow::Result<Self> {
        Ok(Self {
            client: NodeClient::new(node_url)?,
            chain_id: Arc::from(chain_id.into()),
        })
    }

    /// A handle on the node at `node_url`, asking it (once) for its chain id.
    ///
    /// # Errors
    ///
    /// If the URL is invalid or the node does not answer.
    pub async fn connect(node_url: &str) -> anyhow::Result<Self> {
        let client = NodeClient::new(node_url)?;
        let status = client
            .status()
            .await
            .with_context(|| format!("cannot ask the chain node at {node_url} for its status"))?;
        Ok(Self {
            client,
            chain_id: Arc::from(status.chain_id),
        })
    }

    /// The node's client, for the delivery feed and status.
    pub fn client(&self) -> &NodeClient {
        &self.client
    }

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
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
        match self.client.smart_query::<T>(contract, msg).await {
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

//! The operator's routes (`/v1/admin/…`), which need the node's admin token.

use reqwest::header::AUTHORIZATION;

use super::{StorageClient, StorageClientError};
use crate::storage::{
    AccountView, DeliveryState, DeliveryViewPage, OperatorStatus, RegistrationViewPage,
};

impl StorageClient {
    /// `GET /v1/admin/status`: the node's figures (blobs, bytes, uploads in progress,
    /// registrations, deliveries by state).
    ///
    /// # Errors
    ///
    /// As [`StorageClient::deliveries`].
    pub async fn operator_status(&self, token: &str) -> Result<OperatorStatus, StorageClientError> {
        let bearer = format!("Bearer {token}");
        self.get_json(
            &["v1", "admin", "status"],
            Some((AUTHORIZATION.as_str(), &bearer)),
            &[],
        )
        .await
    }

    /// `GET /v1/admin/deliveries`: deliveries after sequence `after`, at most `limit`
    /// (the node's default if `None`), only in `state` if given.
    ///
    /// # Errors
    ///
    /// [`StorageClientError::Api`] with status 401 for a wrong token, 403 if the node has no
    /// admin token; the transport errors.
    pub async fn deliveries(
        &self,
        token: &str,
        after: Option<u64>,
        limit: Option<usize>,
        state: Option<DeliveryState>,
    ) -> Result<DeliveryViewPage, StorageClientError> {
        let state = state.map(|s| match s {
            DeliveryState::Pending => "pending",
            DeliveryState::Sending => "sending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        });
        let after = after.map(|a| a.to_string());
        let limit = limit.map(|l| l.to_string());
        let query: Vec<(&str, &str)> = [
            ("after", after.as_deref()),
            ("limit", limit.as_deref()),
            ("state", state),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect();
        let bearer = format!("Bearer {token}");
        self.get_json(
            &["v1", "admin", "deliveries"],
            Some((AUTHORIZATION.as_str(), &bearer)),
            &query,
        )
        .await
    }

    /// `GET /v1/admin/registrations`: the offers registered, after `after` (a page's
    /// `next_after`).
    ///
    /// # Errors
    ///
    /// As [`StorageClient::deliveries`].
    pub async fn registrations(
        &self,
        token: &str,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<RegistrationViewPage, StorageClientError> {
        let limit = limit.map(|l| l.to_string());
        let query: Vec<(&str, &str)> = [("after", after), ("limit", limit.as_deref())]
            .into_iter()
            .filter_map(|(k, v)| Some((k, v?)))
            .collect();
        let bearer = format!("Bearer {token}");
        self.get_json(
            &["v1", "admin", "registrations"],
            Some((AUTHORIZATION.as_str(), &bearer)),
            &query,
        )
        .await
    }

    /// `GET /v1/admin/accounts/{address}`: an account's usage and quota.
    ///
    /// # Errors
    ///
    /// As [`StorageClient::deliveries`].
    pub async fn account(
        &self,
        token: &str,
        address: &str,
    ) -> Result<AccountView, StorageClientError> {
        let bearer = format!("Bearer {token}");
        self.get_json(
            &["v1", "admin", "accounts", address],
            Some((AUTHORIZATION.as_str(), &bearer)),
            &[],
        )
        .await
    }
}

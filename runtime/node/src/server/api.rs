//! The API as one warp filter: the route groups, request tracing, and [`recover`], the one place
//! where rejections become JSON errors.

use std::convert::Infallible;
use std::sync::Arc;

use consign_client::TxHash;
use consign_util::api::Recovery;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use super::node::{Node, NodeError};
use super::API_TARGET;

/// Every route of the API, traced, with rejections recovered as JSON errors.
pub(super) fn routes(
    node: Arc<Node>,
) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone + Send + Sync + 'static {
    super::query::routes(node.clone())
        .or(super::txs::routes(node.clone()))
        .unify()
        .or(super::events::routes(node.clone()))
        .unify()
        .or(super::deliveries::routes(node))
        .unify()
        .recover(recover)
        .unify()
        .with(consign_util::request_log!(API_TARGET))
}

/// The JSON error of every route (`{"error": …}`, shared with the storage node), plus `code`
/// and `txhash` for a refused transaction ([`ForTx::for_tx`]). Handlers reject with it;
/// [`recover`] turns it into the response.
pub(super) use consign_util::api::ApiFailure;
pub(super) use consign_util::api::{json, query, reply, with_state as with_node};

/// The node's addition to the error shape.
pub(super) trait ForTx {
    /// Adds the transaction's result code (if any) and hash to the body.
    fn for_tx(self, txhash: TxHash, code: Option<u32>) -> Self;
}

impl ForTx for ApiFailure {
    fn for_tx(self, txhash: TxHash, code: Option<u32>) -> Self {
        let failure = match code {
            Some(code) => self.with_field("code", code),
            None => self,
        };
        failure.with_field("txhash", txhash)
    }
}

impl From<NodeError> for ApiFailure {
    fn from(error: NodeError) -> Self {
        Self::internal(error)
    }
}

/// The answer to a chain error: a bad query is the client's fault (400), a missing thing a
/// 404, anything else the node's (500).
pub(super) fn chain_failure(error: consign_chain::ChainError) -> ApiFailure {
    match error {
        consign_chain::ChainError::Query(msg) => ApiFailure::bad_request(msg),
        consign_chain::ChainError::NotFound(msg) => ApiFailure::not_found(msg),
        other => ApiFailure::internal(other),
    }
}

/// What this API says for warp's own rejections: which server this is and where its routes
/// start, so a client pointed at the wrong service (a storage node's URL given the chain node's
/// address) can tell. (Not a path in the source tree: users have no checkout.)
fn recovery() -> Recovery {
    Recovery {
        not_found: "no such route on this Consign chain node (`consign dev`): its API has \
                    /status, /accounts, /blocks, /txs, /codes, /contracts, /deliveries and \
                    /events; if you meant a storage node (`consign-storage`), check its URL"
            .into(),
        method_not_allowed: "this route of the Consign chain node (`consign dev`) does not take \
                             that HTTP method"
            .into(),
        payload_too_large: format!(
            "the request body is larger than the limit of {} bytes",
            super::txs::MAX_BODY
        )
        .into(),
    }
}

/// Turns every rejection into a JSON error: the handlers' own [`ApiFailure`]s as they are,
/// and warp's (unknown route, wrong method, bad body, …) with a message saying what to fix;
/// server errors are logged.
pub(super) async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
    let failure = recovery().failure(&rejection);
    if failure.status().is_server_error() {
        tracing::error!(target: API_TARGET, status = failure.status().as_u16(), error = %failure.message(), "request failed");
    }
    Ok(failure.into_response())
}

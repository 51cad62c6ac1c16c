//! `--node` given CometBFT's RPC address (wasmd's habit: `--node tcp://127.0.0.1:26657`):
//! `consign status` and `consign query block` read it, through CometBFT's `/status` and the
//! application's answers to `/abci_query`; every other command needs the node's API and says
//! which address to give ([`ClientError::CometRpc`]).
//!
//! A `tcp://` address is CometBFT's by definition and is not tried as the API; an `http://`
//! one is tried as the API first, and an answer in JSON-RPC (or CometBFT's plain 404) marks
//! it as CometBFT's.

use consign_client::{BlockId, ClientError, CometRpc, CometStatus, NodeClient, NodeStatus};
use serde::Serialize;

use super::args::NodeArgs;

/// Where a status or a block is read.
pub(super) enum Endpoint {
    /// The node's API.
    Api(NodeClient),
    /// CometBFT's RPC.
    Comet(CometRpc),
}

/// A status read through CometBFT's RPC: the application's (the node API's fields) and
/// CometBFT's own view beside it.
#[derive(Debug, Serialize)]
pub(super) struct RpcStatus {
    /// What the node API's `GET /status` answers, from the application.
    #[serde(flatten)]
    pub(super) node: NodeStatus,
    /// CometBFT's view: its node id, moniker, latest block and app hash, whether it catches up.
    pub(super) cometbft: CometStatus,
}

/// Whether `url` is written as CometBFT's RPC address (`tcp://`).
pub(super) fn is_rpc_address(url: &str) -> bool {
    url.trim().starts_with("tcp://")
}

/// The endpoint `--node` (or the home's `api.url`) names.
///
/// # Errors
///
/// As [`NodeArgs::node_url`], and for a URL neither client can use.
pub(super) fn endpoint(node: &NodeArgs) -> anyhow::Result<Endpoint> {
    let (url, _) = node.node_url()?;
    if is_rpc_address(&url) {
        return Ok(Endpoint::Comet(CometRpc::new(&url)?));
    }
    Ok(Endpoint::Api(node.client()?))
}

/// The CometBFT RPC to ask instead, when the API's answer says the address is CometBFT's.
pub(super) fn comet_instead(error: &ClientError) -> Option<CometRpc> {
    match error {
        ClientError::CometRpc { url } => CometRpc::new(url).ok(),
        _ => None,
    }
}

/// The status through CometBFT's RPC.
///
/// # Errors
///
/// When the RPC cannot be read or the application does not answer `/consign/status`.
pub(super) async fn status(rpc: &CometRpc) -> Result<RpcStatus, ClientError> {
    let cometbft = rpc.status().await?;
    let node = rpc.abci_query("/consign/status").await?;
    Ok(RpcStatus { node, cometbft })
}

/// A block through CometBFT's RPC: the application's block, as the node API's
/// `GET /blocks/{height}` gives it.
///
/// # Errors
///
/// When the RPC cannot be read, or there is no such block (404).
pub(super) async fn block(
    rpc: &CometRpc,
    id: BlockId,
) -> Result<consign_client::Block, ClientError> {
    let which = match id {
        BlockId::Latest => "latest".to_owned(),
        BlockId::Height(height) => height.to_string(),
    };
    rpc.abci_query(&format!("/consign/block/{which}")).await
}

//! Protobuf messages and queries from contracts, routed by type URL as wasmd routes them:
//! `CosmosMsg::Any`/`Stargate` ([`msgs`]) and `QueryRequest::Grpc`/`Stargate` ([`query`]).
//!
//! Only what this chain has is routed: bank sends and balances, the staking module's messages
//! and its parameter, validator and delegation queries, and distribution's rewards. Each
//! message is decoded with the Cosmos SDK's published protobuf types (`cosmos-sdk-proto`) and
//! carried out as its typed `CosmosMsg` twin, so it passes the same checks and emits the same
//! events. Anything else fails the call with an error naming the type URL or path, as wasmd
//! refuses a message type it has no handler for and a query path not on its accept list.

mod msgs;
mod query;

pub(crate) use msgs::{route, typed};
pub(crate) use query::{answer, Encoding};

//! Messages and responses (snake_case JSON): defined in [`consign_market`], the contract's
//! interface crate, which tools use too; re-exported here so the contract reads as the cw-plus
//! layout does.

pub use consign_market::{
    ConfigResponse, ExecuteMsg, InstantiateMsg, OfferResponse, OffersResponse, PurchaseResponse,
    PurchasesResponse, QueryMsg, DEFAULT_LIMIT, MAX_LIMIT,
};

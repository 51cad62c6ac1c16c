//! [`NoChainQuerier`]: the querier of a VM running without a chain.

use cosmwasm_std::{SystemError, SystemResult};

use super::{GasInfo, Querier, QuerierResult};

/// Answers every query with `SystemError::UnsupportedRequest` (or `InvalidRequest` for JSON it
/// cannot read): a VM used alone has no chain to ask.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoChainQuerier;

impl Querier for NoChainQuerier {
    fn query_raw(&self, request: &[u8], _gas_limit: u64) -> QuerierResult {
        let kind = match serde_json::from_slice::<serde_json::Value>(request) {
            Ok(serde_json::Value::Object(map)) => map.keys().next().cloned().unwrap_or_default(),
            Ok(_) | Err(_) => {
                return (
                    Ok(SystemResult::Err(SystemError::InvalidRequest {
                        error: "query request is not a JSON object".into(),
                        request: request.to_vec().into(),
                    })),
                    GasInfo::default(),
                )
            }
        };
        (
            Ok(SystemResult::Err(SystemError::UnsupportedRequest { kind })),
            GasInfo::default(),
        )
    }
}

//! Paginated lists of the committed state: stored codes, the contracts of a code, a contract's
//! storage — what wasmd's `list-code`, `list-contract-by-code` and `contract-state all` read.
//!
//! Each page reads the committed map in key order from just after the caller's key. Its cost is
//! bounded whatever the state holds: at most `limit` entries, at most `max_bytes` of a
//! contract's storage, and at most [`MAX_SCAN`] records looked at to find a code's contracts
//! (then the page may hold fewer and still say there is more).

use std::ops::Bound;

use consign_vm::BackendApi;

use crate::error::ChainError;
use crate::state::{self, CodeRecord, ContractRecord};
use crate::view::View;

/// The most contract records one page of [`View::contracts_by_code`] looks at: contracts are
/// not indexed by code, so a page of a code with few contracts among many stops here.
pub const MAX_SCAN: usize = 10_000;

/// A contract's storage entry: its key (without the contract's prefix) and value.
pub type StateEntry = (Vec<u8>, Vec<u8>);

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The entries, in key order.
    pub items: Vec<T>,
    /// Where the next page starts (exclusive), or `None` on the last page.
    pub next: Option<Vec<u8>>,
}

/// The map's entries with keys starting with `prefix`, strictly after `prefix ‖ after`.
fn entries<'a>(
    map: &'a std::collections::BTreeMap<Vec<u8>, Vec<u8>>,
    prefix: &'a [u8],
    after: Option<&[u8]>,
) -> impl Iterator<Item = (&'a Vec<u8>, &'a Vec<u8>)> + 'a {
    let start = match after {
        Some(after) => Bound::Excluded([prefix, after].concat()),
        None => Bound::Included(prefix.to_vec()),
    };
    map.range::<Vec<u8>, _>((start, Bound::Unbounded))
        .take_while(move |(key, _)| key.starts_with(prefix))
}

impl View {
    /// Stored codes in code id order, after code `after`, at most `limit`.
    ///
    /// # Errors
    ///
    /// On a corrupted record.
    pub fn codes(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Page<(u64, CodeRecord)>, ChainError> {
        let limit = limit.max(1);
        let prefix = state::CODE_PREFIX;
        let after = after.map(u64::to_be_bytes);
        let mut items = Vec::new();
        let mut next = None;
        for (key, value) in entries(&self.state, prefix, after.as_ref().map(|a| &a[..])) {
            let id_bytes: [u8; 8] = key[prefix.len()..]
                .try_into()
                .map_err(|_| ChainError::Corrupt("code key".into()))?;
            if items.len() == limit {
                next = Some(items_key(&items, |(id, _): &(u64, CodeRecord)| {
                    id.to_be_bytes().to_vec()
                }));
                break;
            }
            let record: CodeRecord = serde_json::from_slice(value)
                .map_err(|e| ChainError::Corrupt(format!("code record: {e}")))?;
            items.push((u64::from_be_bytes(id_bytes), record));
        }
        Ok(Page { items, next })
    }

    /// The addresses of the contracts whose current code is `code_id`, in address order,
    /// after `after`, at most `limit`, looking at no more than [`MAX_SCAN`] contracts.
    ///
    /// # Errors
    ///
    /// On a corrupted record.
    pub fn contracts_by_code(
        &self,
        code_id: u64,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<String>, ChainError> {
        let limit = limit.max(1);
        let prefix = state::CONTRACT_PREFIX;
        let mut items = Vec::new();
        let mut last: Option<&[u8]> = None;
        let mut more = false;
        for (scanned, (key, value)) in
            entries(&self.state, prefix, after.map(str::as_bytes)).enumerate()
        {
            if items.len() == limit || scanned == MAX_SCAN {
                more = true;
                break;
            }
            last = Some(&key[prefix.len()..]);
            let record: ContractRecord = serde_json::from_slice(value)
                .map_err(|e| ChainError::Corrupt(format!("contract record: {e}")))?;
            if record.code_id == code_id {
                items.push(String::from_utf8_lossy(&key[prefix.len()..]).into_owned());
            }
        }
        Ok(Page {
            next: last.filter(|_| more).map(<[u8]>::to_vec),
            items,
        })
    }

    /// A contract's storage in key order, after the key `after`, at most `limit` entries and
    /// (after the first) at most `max_bytes` of keys and values.
    ///
    /// # Errors
    ///
    /// [`ChainError::Query`] for an invalid address, [`ChainError::NotFound`] when there is no
    /// contract there.
    pub fn contract_state(
        &self,
        address: &str,
        after: Option<&[u8]>,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Page<StateEntry>, ChainError> {
        let canonical = self
            .core
            .api
            .addr_canonicalize(address)
            .map_err(|e| ChainError::Query(format!("invalid address {address}: {e}")))?;
        if self.contract(address).is_none() {
            return Err(ChainError::NotFound(format!("no contract at {address}")));
        }
        let limit = limit.max(1);
        let prefix = state::contract_state_prefix(&canonical);
        let mut items: Vec<StateEntry> = Vec::new();
        let mut bytes = 0usize;
        let mut next = None;
        for (key, value) in entries(&self.state, &prefix, after) {
            let size = key.len() - prefix.len() + value.len();
            if items.len() == limit || (!items.is_empty() && bytes + size > max_bytes) {
                next = Some(items_key(&items, |(key, _): &(Vec<u8>, Vec<u8>)| {
                    key.clone()
                }));
                break;
            }
            bytes += size;
            items.push((key[prefix.len()..].to_vec(), value.clone()));
        }
        Ok(Page { items, next })
    }
}

/// The key of a page's last item (a full page is never empty: limits are at least 1).
fn items_key<T>(items: &[T], key: impl Fn(&T) -> Vec<u8>) -> Vec<u8> {
    items.last().map(key).unwrap_or_default()
}

//! [`ContractStore`]: one contract's view of the chain state, as the VM's `Storage`.

use consign_vm::{BackendError, BackendResult, Record, Storage};
use cosmwasm_std::Order;

use super::{lock, SharedLayers};

/// An open iterator: its range (in full keys) and the last key it returned.
#[derive(Debug, Clone)]
struct Cursor {
    start: Vec<u8>,
    end: Vec<u8>,
    order: Order,
    last: Option<Vec<u8>>,
    done: bool,
}

/// A contract's storage: the chain's layers under the contract's key prefix.
#[derive(Debug)]
pub struct ContractStore {
    layers: SharedLayers,
    prefix: Vec<u8>,
    iterators: Vec<Cursor>,
    read_only: bool,
}

impl ContractStore {
    /// The storage under `prefix`.
    pub(crate) fn new(layers: SharedLayers, prefix: Vec<u8>, read_only: bool) -> Self {
        Self {
            layers,
            prefix,
            iterators: Vec::new(),
            read_only,
        }
    }

    fn full_key(&self, key: &[u8]) -> Vec<u8> {
        let mut full = Vec::with_capacity(self.prefix.len() + key.len());
        full.extend_from_slice(&self.prefix);
        full.extend_from_slice(key);
        full
    }

    fn refuse_write(&self) -> BackendResult<()> {
        if self.read_only {
            return Err(BackendError::unknown("storage is read-only in a query"));
        }
        Ok(())
    }
}

impl Storage for ContractStore {
    fn get(&self, key: &[u8]) -> BackendResult<Option<Vec<u8>>> {
        Ok(lock(&self.layers).get(&self.full_key(key)))
    }

    fn scan(
        &mut self,
        start: Option<&[u8]>,
        end: Option<&[u8]>,
        order: Order,
    ) -> BackendResult<u32> {
        let id = u32::try_from(self.iterators.len())
            .map_err(|_| BackendError::unknown("too many iterators"))?;
        let start = start.map_or_else(|| self.prefix.clone(), |s| self.full_key(s));
        let end = end.map_or_else(|| super::prefix_end(&self.prefix), |e| self.full_key(e));
        self.iterators.push(Cursor {
            done: start >= end,
            start,
            end,
            order,
            last: None,
        });
        Ok(id)
    }

    fn next(&mut self, iterator_id: u32) -> BackendResult<Option<Record>> {
        let prefix_len = self.prefix.len();
        let cursor = usize::try_from(iterator_id)
            .ok()
            .and_then(|i| self.iterators.get_mut(i))
            .ok_or(BackendError::IteratorDoesNotExist { id: iterator_id })?;
        if cursor.done {
            return Ok(None);
        }
        let found = lock(&self.layers).next_record(
            Some(&cursor.start),
            Some(&cursor.end),
            cursor.order,
            cursor.last.as_deref(),
        );
        match found {
            Some((key, value)) => {
                cursor.last = Some(key.clone());
                Ok(Some((key[prefix_len..].to_vec(), value)))
            }
            None => {
                cursor.done = true;
                Ok(None)
            }
        }
    }

    fn set(&mut self, key: &[u8], value: &[u8]) -> BackendResult<()> {
        self.refuse_write()?;
        lock(&self.layers).set(&self.full_key(key), value);
        Ok(())
    }

    fn remove(&mut self, key: &[u8]) -> BackendResult<()> {
        self.refuse_write()?;
        lock(&self.layers).remove(&self.full_key(key));
        Ok(())
    }

    fn clear_iterators(&mut self) {
        self.iterators.clear();
    }
}

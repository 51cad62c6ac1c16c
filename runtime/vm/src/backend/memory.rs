//! [`MemoryStorage`]: a complete in-memory storage, for standalone use, tests and benchmarks.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use cosmwasm_std::Order;

use super::{BackendError, BackendResult, Record, Storage};

/// An iterator's position: it resumes after the last key it returned, so it sees the storage
/// as it is at each step and costs nothing to keep open.
#[derive(Debug, Clone)]
struct Cursor {
    start: Option<Vec<u8>>,
    end: Option<Vec<u8>>,
    order: Order,
    last: Option<Vec<u8>>,
    done: bool,
}

/// Key-value storage held in a `BTreeMap`.
#[derive(Debug, Default, Clone)]
pub struct MemoryStorage {
    data: BTreeMap<Vec<u8>, Vec<u8>>,
    iterators: HashMap<u32, Cursor>,
    next_iterator: u32,
}

impl MemoryStorage {
    /// An empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every record, in key order.
    pub fn records(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.data.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))
    }

    /// Number of keys stored.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

impl Storage for MemoryStorage {
    fn get(&self, key: &[u8]) -> BackendResult<Option<Vec<u8>>> {
        Ok(self.data.get(key).cloned())
    }

    fn scan(
        &mut self,
        start: Option<&[u8]>,
        end: Option<&[u8]>,
        order: Order,
    ) -> BackendResult<u32> {
        let id = self.next_iterator;
        self.next_iterator = self
            .next_iterator
            .checked_add(1)
            .ok_or_else(|| BackendError::unknown("too many iterators"))?;
        let done = matches!((start, end), (Some(s), Some(e)) if s >= e);
        self.iterators.insert(
            id,
            Cursor {
                start: start.map(<[u8]>::to_vec),
                end: end.map(<[u8]>::to_vec),
                order,
                last: None,
                done,
            },
        );
        Ok(id)
    }

    fn next(&mut self, iterator_id: u32) -> BackendResult<Option<Record>> {
        let cursor = self
            .iterators
            .get_mut(&iterator_id)
            .ok_or(BackendError::IteratorDoesNotExist { id: iterator_id })?;
        if cursor.done {
            return Ok(None);
        }
        let found = match cursor.order {
            Order::Ascending => {
                let lower = match (&cursor.last, &cursor.start) {
                    (Some(last), _) => Bound::Excluded(last.as_slice()),
                    (None, Some(start)) => Bound::Included(start.as_slice()),
                    (None, None) => Bound::Unbounded,
                };
                let upper = bound_excluded(&cursor.end);
                self.data.range::<[u8], _>((lower, upper)).next()
            }
            Order::Descending => {
                let upper = match (&cursor.last, &cursor.end) {
                    (Some(last), _) => Bound::Excluded(last.as_slice()),
                    (None, Some(end)) => Bound::Excluded(end.as_slice()),
                    (None, None) => Bound::Unbounded,
                };
                let lower = match &cursor.start {
                    Some(start) => Bound::Included(start.as_slice()),
                    None => Bound::Unbounded,
                };
                self.data.range::<[u8], _>((lower, upper)).next_back()
            }
        };
        match found {
            Some((k, v)) => {
                cursor.last = Some(k.clone());
                Ok(Some((k.clone(), v.clone())))
            }
            None => {
                cursor.done = true;
                Ok(None)
            }
        }
    }

    fn set(&mut self, key: &[u8], value: &[u8]) -> BackendResult<()> {
        self.data.insert(key.to_vec(), value.to_vec());
        Ok(())
    }

    fn remove(&mut self, key: &[u8]) -> BackendResult<()> {
        self.data.remove(key);
        Ok(())
    }

    fn clear_iterators(&mut self) {
        self.iterators.clear();
    }
}

fn bound_excluded(end: &Option<Vec<u8>>) -> Bound<&[u8]> {
    match end {
        Some(end) => Bound::Excluded(end.as_slice()),
        None => Bound::Unbounded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled() -> MemoryStorage {
        let mut s = MemoryStorage::new();
        for k in [b"a", b"b", b"c", b"d"] {
            s.set(k, k).unwrap();
        }
        s
    }

    fn drain(s: &mut MemoryStorage, id: u32) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| s.next(id).unwrap().map(|(k, _)| k)).collect()
    }

    #[test]
    fn ranges_are_half_open_in_both_orders() {
        let mut s = filled();
        let asc = s.scan(Some(b"b"), Some(b"d"), Order::Ascending).unwrap();
        assert_eq!(drain(&mut s, asc), vec![b"b".to_vec(), b"c".to_vec()]);
        let desc = s.scan(Some(b"b"), Some(b"d"), Order::Descending).unwrap();
        assert_eq!(drain(&mut s, desc), vec![b"c".to_vec(), b"b".to_vec()]);
        let all = s.scan(None, None, Order::Descending).unwrap();
        assert_eq!(drain(&mut s, all).len(), 4);
        let empty = s.scan(Some(b"d"), Some(b"b"), Order::Ascending).unwrap();
        assert!(drain(&mut s, empty).is_empty());
    }

    #[test]
    fn unknown_iterator_is_an_error() {
        let mut s = filled();
        assert_eq!(
            s.next(42),
            Err(BackendError::IteratorDoesNotExist { id: 42 })
        );
    }
}

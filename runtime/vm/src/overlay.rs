//! [`Overlay`]: the write buffer that makes every contract call atomic.
//!
//! During a call, writes and removals land in the overlay; reads and iterators see the overlay
//! over the backend's storage. When the call succeeds the overlay is applied to the storage;
//! when it fails (a trap, running out of gas, an error result) it is dropped, so the contract's
//! storage is exactly as it was before the call.

use std::collections::BTreeMap;
use std::ops::Bound;

use cosmwasm_std::Order;

use crate::backend::{BackendError, BackendResult, Record, Storage};

/// A pending change: `Some(value)` to write, `None` to remove.
type Change = Option<Vec<u8>>;

/// An iterator merging the backend's iterator with the overlay's changes in its range.
#[derive(Debug)]
struct MergedIter {
    order: Order,
    /// The backend iterator's id.
    inner: u32,
    /// The backend's next record, read ahead.
    peeked: Option<Record>,
    inner_done: bool,
    /// The overlay's changes in the range at the time of the scan, in iteration order.
    changes: std::vec::IntoIter<(Vec<u8>, Change)>,
    next_change: Option<(Vec<u8>, Change)>,
}

/// Buffers a call's storage changes over a backend storage `S`.
#[derive(Debug)]
pub(crate) struct Overlay<S> {
    inner: S,
    changes: BTreeMap<Vec<u8>, Change>,
    iterators: Vec<MergedIter>,
}

impl<S: Storage> Overlay<S> {
    pub(crate) fn new(inner: S) -> Self {
        Self {
            inner,
            changes: BTreeMap::new(),
            iterators: Vec::new(),
        }
    }

    /// The storage underneath.
    pub(crate) fn inner(&self) -> &S {
        &self.inner
    }

    pub(crate) fn get(&self, key: &[u8]) -> BackendResult<Option<Vec<u8>>> {
        match self.changes.get(key) {
            Some(change) => Ok(change.clone()),
            None => self.inner.get(key),
        }
    }

    pub(crate) fn set(&mut self, key: &[u8], value: &[u8]) {
        self.changes.insert(key.to_vec(), Some(value.to_vec()));
    }

    pub(crate) fn remove(&mut self, key: &[u8]) {
        self.changes.insert(key.to_vec(), None);
    }

    pub(crate) fn scan(
        &mut self,
        start: Option<&[u8]>,
        end: Option<&[u8]>,
        order: Order,
    ) -> BackendResult<u32> {
        let id = u32::try_from(self.iterators.len())
            .map_err(|_| BackendError::unknown("too many iterators"))?;
        let inner = self.inner.scan(start, end, order)?;
        let empty = matches!((start, end), (Some(s), Some(e)) if s >= e);
        let mut changes: Vec<(Vec<u8>, Change)> = if empty {
            Vec::new()
        } else {
            let lower = start.map_or(Bound::Unbounded, Bound::Included);
            let upper = end.map_or(Bound::Unbounded, Bound::Excluded);
            self.changes
                .range::<[u8], _>((lower, upper))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        if order == Order::Descending {
            changes.reverse();
        }
        let mut changes = changes.into_iter();
        let next_change = changes.next();
        self.iterators.push(MergedIter {
            order,
            inner,
            peeked: None,
            inner_done: false,
            changes,
            next_change,
        });
        Ok(id)
    }

    pub(crate) fn next(&mut self, iterator_id: u32) -> BackendResult<Option<Record>> {
        let iter = usize::try_from(iterator_id)
            .ok()
            .and_then(|i| self.iterators.get_mut(i))
            .ok_or(BackendError::IteratorDoesNotExist { id: iterator_id })?;
        loop {
            if iter.peeked.is_none() && !iter.inner_done {
                iter.peeked = self.inner.next(iter.inner)?;
                iter.inner_done = iter.peeked.is_none();
            }
            // Which comes first in iteration order: the backend's record or the overlay's change?
            let take_change = match (&iter.peeked, &iter.next_change) {
                (None, None) => return Ok(None),
                (Some(_), None) => false,
                (None, Some(_)) => true,
                (Some((inner_key, _)), Some((change_key, _))) => {
                    let change_first = match iter.order {
                        Order::Ascending => change_key <= inner_key,
                        Order::Descending => change_key >= inner_key,
                    };
                    if change_key == inner_key {
                        // The overlay shadows the backend's record for the same key.
                        iter.peeked = None;
                    }
                    change_first
                }
            };
            if take_change {
                let (key, change) = iter
                    .next_change
                    .take()
                    .ok_or_else(|| BackendError::unknown("overlay iterator invariant broken"))?;
                iter.next_change = iter.changes.next();
                if let Some(value) = change {
                    return Ok(Some((key, value)));
                }
                // A removal: skip it.
            } else if let Some(record) = iter.peeked.take() {
                return Ok(Some(record));
            }
        }
    }

    /// Applies the buffered changes to the backend storage.
    pub(crate) fn commit(&mut self) -> BackendResult<()> {
        self.end_iteration();
        for (key, change) in std::mem::take(&mut self.changes) {
            match change {
                Some(value) => self.inner.set(&key, &value)?,
                None => self.inner.remove(&key)?,
            }
        }
        Ok(())
    }

    /// Drops the buffered changes, leaving the backend storage untouched.
    pub(crate) fn discard(&mut self) {
        self.end_iteration();
        self.changes.clear();
    }

    fn end_iteration(&mut self) {
        self.iterators.clear();
        self.inner.clear_iterators();
    }

    /// The backend storage, without the pending changes.
    pub(crate) fn into_inner(mut self) -> S {
        self.discard();
        self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::MemoryStorage;

    fn keys(o: &mut Overlay<MemoryStorage>, id: u32) -> Vec<String> {
        std::iter::from_fn(|| o.next(id).unwrap())
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    String::from_utf8(k).unwrap(),
                    String::from_utf8(v).unwrap()
                )
            })
            .collect()
    }

    fn base() -> MemoryStorage {
        let mut s = MemoryStorage::new();
        for k in ["a", "c", "e"] {
            s.set(k.as_bytes(), b"old").unwrap();
        }
        s
    }

    #[test]
    fn iteration_merges_writes_and_removals_in_both_orders() {
        let mut o = Overlay::new(base());
        o.set(b"b", b"new");
        o.set(b"c", b"new");
        o.remove(b"e");
        o.set(b"f", b"new");
        let asc = o.scan(None, None, Order::Ascending).unwrap();
        assert_eq!(keys(&mut o, asc), ["a=old", "b=new", "c=new", "f=new"]);
        let desc = o.scan(Some(b"b"), Some(b"f"), Order::Descending).unwrap();
        assert_eq!(keys(&mut o, desc), ["c=new", "b=new"]);
    }

    #[test]
    fn discard_leaves_storage_untouched_and_commit_applies() {
        let mut o = Overlay::new(base());
        o.set(b"a", b"new");
        o.remove(b"c");
        assert_eq!(o.get(b"c").unwrap(), None);
        o.discard();
        assert_eq!(o.get(b"a").unwrap().unwrap(), b"old");
        o.set(b"a", b"new");
        o.remove(b"c");
        o.commit().unwrap();
        let s = o.into_inner();
        assert_eq!(s.get(b"a").unwrap().unwrap(), b"new");
        assert_eq!(s.get(b"c").unwrap(), None);
    }
}

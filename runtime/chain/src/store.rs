//! The chain's key-value state: the committed map and the stack of pending layers above it.
//!
//! The committed state lives in memory (loaded from redb at start) and in redb; execution works
//! on [`Layers`]: a block layer, a transaction layer above it, and one more per message and
//! submessage. A layer is merged into the one below when its work succeeds and dropped when it
//! fails, so a failing submessage, message or transaction leaves no trace. Delivery
//! instructions live in the layers too, so they share the fate of the writes of their call.

mod contract;

pub use self::contract::ContractStore;

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use consign_sdk::DeliveryInstruction;
use cosmwasm_std::Order;

/// A pending change: `Some(value)` to write, `None` to remove.
pub(crate) type Change = Option<Vec<u8>>;

/// One layer of pending changes.
#[derive(Debug, Default, Clone)]
pub(crate) struct Layer {
    pub(crate) changes: BTreeMap<Vec<u8>, Change>,
    /// Delivery instructions emitted under this layer, with the emitting contract.
    pub(crate) deliveries: Vec<(String, DeliveryInstruction)>,
}

/// The committed state and the pending layers.
#[derive(Debug, Default)]
pub struct Layers {
    base: Arc<BTreeMap<Vec<u8>, Vec<u8>>>,
    stack: Vec<Layer>,
}

impl Layers {
    /// Layers over a committed state.
    #[cfg(test)]
    pub(crate) fn new(base: Arc<BTreeMap<Vec<u8>, Vec<u8>>>) -> Self {
        Self {
            base,
            stack: Vec::new(),
        }
    }

    /// Replaces the committed state and drops every pending layer.
    pub(crate) fn reset(&mut self, base: Arc<BTreeMap<Vec<u8>, Vec<u8>>>) {
        self.base = base;
        self.stack.clear();
    }

    /// Opens a new layer.
    pub(crate) fn push(&mut self) {
        self.stack.push(Layer::default());
    }

    /// Merges the top layer into the one below.
    pub(crate) fn commit_top(&mut self) {
        if let Some(top) = self.stack.pop() {
            match self.stack.last_mut() {
                Some(below) => {
                    below.changes.extend(top.changes);
                    below.deliveries.extend(top.deliveries);
                }
                None => self.stack.push(top),
            }
        }
    }

    /// Drops the top layer.
    pub(crate) fn discard_top(&mut self) {
        self.stack.pop();
    }

    /// The delivery instructions recorded in the top layer.
    pub(crate) fn top_deliveries(&self) -> Vec<(String, DeliveryInstruction)> {
        self.stack
            .last()
            .map(|l| l.deliveries.clone())
            .unwrap_or_default()
    }

    /// Removes and returns the bottom layer (the block's changes).
    pub(crate) fn take_all(&mut self) -> Layer {
        while self.stack.len() > 1 {
            self.commit_top();
        }
        self.stack.pop().unwrap_or_default()
    }

    /// Reads a key through the layers.
    pub fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        for layer in self.stack.iter().rev() {
            if let Some(change) = layer.changes.get(key) {
                return change.clone();
            }
        }
        self.base.get(key).cloned()
    }

    /// Writes a key in the top layer.
    pub(crate) fn set(&mut self, key: &[u8], value: &[u8]) {
        self.top()
            .changes
            .insert(key.to_vec(), Some(value.to_vec()));
    }

    /// Removes a key in the top layer.
    pub(crate) fn remove(&mut self, key: &[u8]) {
        self.top().changes.insert(key.to_vec(), None);
    }

    /// Records a delivery instruction in the top layer.
    pub(crate) fn add_delivery(&mut self, contract: String, instruction: DeliveryInstruction) {
        self.top().deliveries.push((contract, instruction));
    }

    fn top(&mut self) -> &mut Layer {
        if self.stack.is_empty() {
            self.stack.push(Layer::default());
        }
        let last = self.stack.len() - 1;
        &mut self.stack[last]
    }

    /// The next live record in `[start, end)` strictly after `after` (before it, descending).
    pub fn next_record(
        &self,
        start: Option<&[u8]>,
        end: Option<&[u8]>,
        order: Order,
        after: Option<&[u8]>,
    ) -> Option<(Vec<u8>, Vec<u8>)> {
        let mut cursor: Option<Vec<u8>> = after.map(<[u8]>::to_vec);
        loop {
            let key = self.next_key_any(start, end, order, cursor.as_deref())?;
            match self.get(&key) {
                Some(value) => return Some((key, value)),
                None => cursor = Some(key),
            }
        }
    }

    /// The next key present in any layer or the base (live or removed).
    fn next_key_any(
        &self,
        start: Option<&[u8]>,
        end: Option<&[u8]>,
        order: Order,
        after: Option<&[u8]>,
    ) -> Option<Vec<u8>> {
        let (lower, upper) = match order {
            Order::Ascending => (
                after.map_or(
                    start.map_or(Bound::Unbounded, Bound::Included),
                    Bound::Excluded,
                ),
                end.map_or(Bound::Unbounded, Bound::Excluded),
            ),
            Order::Descending => (
                start.map_or(Bound::Unbounded, Bound::Included),
                after.map_or(
                    end.map_or(Bound::Unbounded, Bound::Excluded),
                    Bound::Excluded,
                ),
            ),
        };
        if let (Bound::Included(l) | Bound::Excluded(l), Bound::Included(u) | Bound::Excluded(u)) =
            (lower, upper)
        {
            if l > u
                || (l == u
                    && !(matches!(lower, Bound::Included(_))
                        && matches!(upper, Bound::Included(_))))
            {
                return None;
            }
        }
        let pick = |candidate: Option<&Vec<u8>>, best: Option<Vec<u8>>| -> Option<Vec<u8>> {
            match (candidate, best) {
                (None, best) => best,
                (Some(c), None) => Some(c.clone()),
                (Some(c), Some(b)) => Some(match order {
                    Order::Ascending if *c < b => c.clone(),
                    Order::Descending if *c > b => c.clone(),
                    _ => b,
                }),
            }
        };
        let range = (lower, upper);
        let mut best = None;
        let from_base = match order {
            Order::Ascending => self.base.range::<[u8], _>(range).next(),
            Order::Descending => self.base.range::<[u8], _>(range).next_back(),
        };
        best = pick(from_base.map(|(k, _)| k), best);
        for layer in &self.stack {
            let found = match order {
                Order::Ascending => layer.changes.range::<[u8], _>(range).next(),
                Order::Descending => layer.changes.range::<[u8], _>(range).next_back(),
            };
            best = pick(found.map(|(k, _)| k), best);
        }
        best
    }
}

/// The first key after every key that starts with `prefix`.
pub(crate) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return end;
        }
    }
    vec![u8::MAX; prefix.len() + 1]
}

/// Layers shared between the chain and the contract instances it runs.
pub(crate) type SharedLayers = Arc<Mutex<Layers>>;

/// Locks shared layers; a poisoned lock (a panic elsewhere) still yields the data.
pub(crate) fn lock(layers: &SharedLayers) -> MutexGuard<'_, Layers> {
    layers.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layers() -> Layers {
        let base: BTreeMap<Vec<u8>, Vec<u8>> = [("a", "1"), ("c", "3"), ("e", "5")]
            .into_iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect();
        Layers::new(Arc::new(base))
    }

    fn collect(l: &Layers, start: Option<&[u8]>, end: Option<&[u8]>, order: Order) -> Vec<String> {
        let mut out = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        while let Some((k, v)) = l.next_record(start, end, order, after.as_deref()) {
            out.push(format!(
                "{}={}",
                String::from_utf8_lossy(&k),
                String::from_utf8_lossy(&v)
            ));
            after = Some(k);
        }
        out
    }

    #[test]
    fn layers_shadow_and_merge() {
        let mut l = layers();
        l.push();
        l.set(b"b", b"2");
        l.remove(b"c");
        l.push();
        l.set(b"c", b"33");
        l.set(b"f", b"6");
        assert_eq!(
            collect(&l, None, None, Order::Ascending),
            ["a=1", "b=2", "c=33", "e=5", "f=6"]
        );
        l.discard_top();
        assert_eq!(
            collect(&l, None, None, Order::Descending),
            ["e=5", "b=2", "a=1"]
        );
        assert_eq!(
            collect(&l, Some(b"b"), Some(b"e"), Order::Ascending),
            ["b=2"]
        );
        l.push();
        l.set(b"d", b"4");
        l.commit_top();
        let block = l.take_all();
        assert_eq!(block.changes.len(), 3);
        assert_eq!(block.changes.get(&b"c"[..]), Some(&None));
    }

    #[test]
    fn empty_and_inverted_ranges() {
        let l = layers();
        assert!(collect(&l, Some(b"c"), Some(b"c"), Order::Ascending).is_empty());
        assert!(collect(&l, Some(b"d"), Some(b"b"), Order::Descending).is_empty());
        assert_eq!(
            collect(&l, Some(b"c"), Some(b"d"), Order::Descending),
            ["c=3"]
        );
    }
}

//! The pieces of each k-of-n purchase on their way: promised by a preflight answered "ready",
//! or streaming now. With `k` pieces held or underway, the preflight of another one is answered
//! "later" (`503`, `x-consign-inbox: later`): its node keeps its piece and asks again after its
//! backoff, by which time the purchase is saved (and the answer is "saved", nothing to send) or
//! a piece underway has failed (and the answer is "ready"). The `n − k` spare nodes then spend
//! neither their disk, their CPU, their egress nor the buyer's link on pieces nobody needs —
//! with every node up, that was a third of everything sent for a 2-of-3 offer.
//!
//! Nothing here is trusted for more than that scheduling: a promise lapses after [`PROMISE`]
//! if no body follows (a node that asked and died), a stream stops counting when its request
//! ends however it ends, and pieces held but not underway never defer anyone (after a crash
//! between the last piece and the rebuild, the next piece to come starts the rebuild).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a preflight's "ready" keeps a place among the pieces underway, waiting for its body.
pub(super) const PROMISE: Duration = Duration::from_secs(20);

/// A purchase: its contract and id.
type Key = (String, u64);

/// One piece underway.
#[derive(Debug, Default)]
struct Piece {
    /// Requests streaming its body now.
    streams: u32,
    /// Promised by a preflight until then.
    promised_until: Option<Instant>,
}

impl Piece {
    fn is_underway(&self, now: Instant) -> bool {
        self.streams > 0 || self.promised_until.is_some_and(|until| until > now)
    }
}

/// The pieces underway, by purchase.
#[derive(Debug, Default)]
pub(super) struct Underway(Mutex<HashMap<Key, HashMap<u16, Piece>>>);

impl Underway {
    /// Promises piece `index` of `purchase` a place, unless `k` others are held (`held`: the
    /// indices whose fragment and share are both kept) or underway and at least one of them is
    /// underway: then the indices of those others, in order.
    pub(super) fn promise(
        &self,
        purchase: &Key,
        index: u16,
        held: &[u16],
        k: u16,
    ) -> Result<(), Vec<u16>> {
        let now = Instant::now();
        let mut all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        // Lapsed promises of every purchase go, so a purchase no node asks about again leaves
        // nothing behind.
        all.retain(|_, pieces| {
            pieces.retain(|_, piece| piece.is_underway(now));
            !pieces.is_empty()
        });
        let pieces = all.entry(purchase.clone()).or_default();
        let underway: BTreeSet<u16> = pieces
            .keys()
            .copied()
            .filter(|&other| other != index)
            .collect();
        let others: BTreeSet<u16> = underway
            .iter()
            .chain(held)
            .copied()
            .filter(|&other| other != index)
            .collect();
        if !underway.is_empty() && others.len() >= usize::from(k) {
            return Err(others.into_iter().collect());
        }
        pieces.entry(index).or_default().promised_until = Some(now + PROMISE);
        Ok(())
    }

    /// Counts piece `index` of `purchase` as streaming until the guard is dropped (its promise,
    /// if any, is then spent).
    pub(super) fn streaming(&self, purchase: Key, index: u16) -> Streaming<'_> {
        let mut all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let piece = all
            .entry(purchase.clone())
            .or_default()
            .entry(index)
            .or_default();
        piece.streams += 1;
        piece.promised_until = None;
        Streaming {
            underway: self,
            purchase,
            index,
        }
    }
}

/// A piece's body streaming: see [`Underway::streaming`].
#[derive(Debug)]
#[must_use = "the piece counts as streaming only while the guard lives"]
pub(super) struct Streaming<'a> {
    underway: &'a Underway,
    purchase: Key,
    index: u16,
}

impl Drop for Streaming<'_> {
    fn drop(&mut self) {
        let mut all = self
            .underway
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(pieces) = all.get_mut(&self.purchase) else {
            return;
        };
        if let Some(piece) = pieces.get_mut(&self.index) {
            piece.streams = piece.streams.saturating_sub(1);
            if !piece.is_underway(Instant::now()) {
                pieces.remove(&self.index);
            }
        }
        if pieces.is_empty() {
            all.remove(&self.purchase);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn purchase() -> Key {
        ("consign1market".to_owned(), 7)
    }

    #[test]
    fn a_spare_piece_waits_while_k_are_underway_and_not_after() {
        let u = Underway::default();
        let p = purchase();
        assert_eq!(u.promise(&p, 0, &[], 2), Ok(()));
        assert_eq!(u.promise(&p, 1, &[], 2), Ok(()));
        assert_eq!(u.promise(&p, 2, &[], 2), Err(vec![0, 1]));
        // The same node asking again keeps its place.
        assert_eq!(u.promise(&p, 1, &[], 2), Ok(()));
        // Another purchase is not affected.
        assert_eq!(u.promise(&(p.0.clone(), 8), 2, &[], 2), Ok(()));

        // Piece 0 streams and fails: piece 2 is wanted again.
        let streaming = u.streaming(p.clone(), 0);
        assert_eq!(u.promise(&p, 2, &[], 2), Err(vec![0, 1]));
        drop(streaming);
        assert_eq!(u.promise(&p, 2, &[], 2), Ok(()));
    }

    #[test]
    fn pieces_held_defer_only_while_another_is_underway() {
        let u = Underway::default();
        let p = purchase();
        // Two held, nothing underway (a crash before the rebuild): the next piece is wanted,
        // as it starts the rebuild.
        assert_eq!(u.promise(&p, 2, &[0, 1], 2), Ok(()));
        let streaming = u.streaming(p.clone(), 2);
        // One held, one streaming: a third waits.
        assert_eq!(u.promise(&p, 1, &[0], 2), Err(vec![0, 2]));
        drop(streaming);
        assert!(u.0.lock().unwrap().is_empty(), "nothing left behind");
    }

    #[test]
    fn two_requests_of_one_piece_count_until_both_end() {
        let u = Underway::default();
        let p = purchase();
        let (a, b) = (u.streaming(p.clone(), 0), u.streaming(p.clone(), 0));
        drop(u.streaming(p.clone(), 1));
        drop(a);
        assert_eq!(u.promise(&p, 2, &[1], 2), Err(vec![0, 1]));
        drop(b);
        assert_eq!(u.promise(&p, 2, &[1], 2), Ok(()));
    }
}

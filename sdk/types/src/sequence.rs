//! [`SequenceMismatch`]: a transaction refused because its sequence is not the one its account
//! expects next, as the chain words it and as a client reads it back to sign again.
//!
//! The refusal travels as text (a CheckTx log through CometBFT, an API error's message), so the
//! wording is made and parsed here, in one place: the chain's refusal
//! ([`SequenceMismatch::message`]) is what [`SequenceMismatch::find`] reads.

use std::fmt;

/// A transaction's sequence is not the one its account expects next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SequenceMismatch {
    /// The sequence the node expects next: the committed one plus the account's transactions
    /// the node has accepted since.
    pub expected: u64,
    /// The transaction's.
    pub got: u64,
}

impl SequenceMismatch {
    /// The refusal code of a sequence mismatch (the Cosmos SDK's `ErrWrongSequence` is 32 too).
    pub const CODE: u32 = 32;

    /// Whether the transaction's sequence is already used (committed, or taken by another
    /// transaction the node accepted): signed again with [`SequenceMismatch::expected`], it can
    /// go through. Otherwise it is ahead: a transaction of the account before it has not
    /// reached the node.
    pub fn is_used(&self) -> bool {
        self.got < self.expected
    }

    /// The chain's words for it, for `address`'s transaction.
    pub fn message(&self, address: &str) -> String {
        format!("sequence mismatch for {address}: {self}")
    }

    /// The mismatch a refusal's message states (as [`SequenceMismatch::message`] words it,
    /// possibly inside a longer message), if it states one.
    pub fn find(message: &str) -> Option<Self> {
        let (_, rest) = message.split_once("sequence mismatch for ")?;
        let (_, rest) = rest.split_once(": expected ")?;
        let (expected, rest) = rest.split_once(", got ")?;
        let got: String = rest.chars().take_while(char::is_ascii_digit).collect();
        Some(Self {
            expected: expected.parse().ok()?,
            got: got.parse().ok()?,
        })
    }
}

impl fmt::Display for SequenceMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "expected {}, got {} ({})",
            self.expected,
            self.got,
            if self.is_used() {
                "a replayed or already used transaction"
            } else {
                "a transaction is missing before this one"
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_reads_back() {
        for (expected, got) in [(2, 1), (0, 7), (u64::MAX, 0)] {
            let mismatch = SequenceMismatch { expected, got };
            let text = mismatch.message("consign1xyz");
            assert_eq!(SequenceMismatch::find(&text), Some(mismatch), "{text}");
            // Wrapped, as the node's API and the clients pass it on.
            let wrapped =
                format!("transaction ABC refused (code 32): dropped from block 9: {text}");
            assert_eq!(SequenceMismatch::find(&wrapped), Some(mismatch));
        }
        assert!(SequenceMismatch {
            expected: 2,
            got: 1
        }
        .is_used());
        assert!(!SequenceMismatch {
            expected: 1,
            got: 2
        }
        .is_used());
    }

    #[test]
    fn other_messages_are_not_mismatches() {
        for text in [
            "",
            "insufficient fee",
            "sequence mismatch for consign1: expected x, got 1",
            "sequence mismatch for consign1: expected 1, got ",
            "sequence mismatch for consign1 expected 1, got 2",
        ] {
            assert_eq!(SequenceMismatch::find(text), None, "{text}");
        }
    }
}

//! Test input: pseudo-random bytes made as they are read, so a large input never sits in memory.

use std::io::{self, Read};

/// Deterministic pseudo-random bytes, generated as they are read.
pub(crate) struct Generated {
    remaining: u64,
    state: u64,
}

impl Generated {
    /// `size` bytes from `seed`.
    pub(crate) fn new(size: u64, seed: u64) -> Self {
        Self {
            remaining: size,
            state: seed | 1,
        }
    }
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        for chunk in buf[..n].chunks_mut(8) {
            // xorshift64
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            chunk.copy_from_slice(&self.state.to_le_bytes()[..chunk.len()]);
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

//! Helpers of the custody tests and benchmark.

pub(crate) mod heap;
pub(crate) mod input;

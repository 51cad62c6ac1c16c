//! Integration tests of the VM with real contracts built from this repository and cw20-base
//! from crates.io (`scripts/build-contracts.sh` builds them).

mod cache;
mod common;
mod cw20;
mod hostile;
mod interface;
mod kitchen_sink;

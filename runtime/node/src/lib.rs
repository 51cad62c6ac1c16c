//! The Consign node and command line.
//!
//! The `consign` binary is a thin shell over this library: [`cli::Cli`] is its command line and
//! [`cli::run`] carries out a parsed command. Each subcommand lives in its own module under
//! [`cli`]; the work itself is done by the crates it drives (the contract VM, `consign-vm`, for
//! `consign check`).

pub mod abci;
pub mod cli;
pub mod cometbft;
#[cfg(debug_assertions)]
pub mod fault;
pub mod server;

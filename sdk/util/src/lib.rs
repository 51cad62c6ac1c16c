//! `consign-util`: the plumbing every Consign program shares, one definition each.
//!
//! | module | owns |
//! |---|---|
//! | [`fs`] | [`atomic_write`](fs::atomic_write) (a unique temporary file, fsynced, renamed over the target, the directory fsynced), [`sync_dir`](fs::sync_dir), [`hash_file`](fs::hash_file) |
//! | [`retry`] | [`Backoff`](retry::Backoff): the one retry policy (exponential, capped, with no, full or equal jitter) |
//! | [`size`] | [`parse_size`](size::parse_size) and [`format_size`](size::format_size): byte sizes as people write them |
//! | [`daemon`] | [`Daemon`](daemon::Daemon): a child process started with its log in a file, ready once it writes its URL, stopped or killed |
//! | `pace` (feature `tokio`) | `Paced`: a request body read at a minimum rate, cut when a period ends without its bytes |
//! | `shutdown` (feature `tokio`) | `shutdown_signal()`: a future that completes on SIGINT or SIGTERM |
//! | `telemetry` (feature `telemetry`) | `init_tracing` and `LogArgs`: the binaries' log set-up (`-v` count, `RUST_LOG` overrides, `--log-format text\|json`, colour only on a terminal without `NO_COLOR`) |
//! | `clidocs` (feature `clidocs`) | `write_completions`, `write_man_pages`: shell completions and man pages from a clap command |
//! | `api` (feature `warp`) | `ApiFailure` and `Recovery`: the API's JSON error shape and the one mapping of warp's rejections to it |
//! | `serve` (feature `warp`) | `serve`: a warp API served until a shutdown, its open requests then given a limited time |
//!
//! It depends on no other Consign crate but the wire types, so the node, the storage node, the
//! client and the VM can all depend on it. Heavy dependencies sit behind features; the default
//! build is std, `tempfile`, `sha2` and `rand`.
//!
//! ```
//! # fn main() -> Result<(), consign_util::fs::FsError> {
//! let dir = tempfile::tempdir().expect("a temporary directory");
//! let path = dir.path().join("api.url");
//! consign_util::fs::atomic_write(&path, b"http://127.0.0.1:26657\n")?;
//! let (sha256, size) = consign_util::fs::hash_file(&path)?;
//! assert_eq!(size, 23);
//! assert_eq!(sha256.len(), 64);
//! # Ok(())
//! # }
//! ```

pub mod daemon;
pub mod fs;
pub mod retry;
pub mod size;

#[cfg(feature = "warp")]
pub mod api;
#[cfg(feature = "clidocs")]
pub mod clidocs;
#[cfg(feature = "tokio")]
pub mod pace;
#[cfg(feature = "warp")]
pub mod serve;
#[cfg(feature = "tokio")]
pub mod shutdown;
#[cfg(feature = "telemetry")]
pub mod telemetry;

#[cfg(feature = "tokio")]
pub use shutdown::shutdown_signal;

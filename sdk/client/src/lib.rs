//! The native client library of Consign, for tools: the keyring, the node's HTTP client, the
//! storage node's client, sealing deliveries, and the buyer's inbox. The formats themselves
//! (addresses, keys, the signed transaction, the wire types) are `consign-types`, re-exported
//! here whole so a tool depends on one crate.
//!
//! - [`KeyFile`] and [`Keyring`]: keys on disk, in a `test` (plaintext) or `file`
//!   (passphrase-encrypted) keyring; [`Mnemonic`]: BIP-39 mnemonics derived as wasmd and Keplr do.
//! - [`NodeClient`]: an async client of the node's HTTP API, one method per route, and
//!   [`NodeClient::sign_and_broadcast`]; [`NodePool`]: several nodes of one chain used as one,
//!   failing over between them; [`CometRpc`]: CometBFT's RPC, read for a status and blocks when
//!   it is the address given.
//! - [`StorageClient`]: an async client of a storage node: uploads streamed from disk with
//!   progress, registrations, status and the operator's routes; the wire types are in
//!   [`storage`].
//! - [`Inbox`]: the buyer's receiver of deliveries: checks each against the chain, decrypts it
//!   as it streams in, verifies it against the offer's digest and saves it exactly once
//!   ([`inbox`]).
//!
//! # Example
//!
//! ```
//! use consign_client::{Keyring, SecretKey};
//!
//! let dir = tempfile::tempdir()?;
//! let ring = Keyring::new(dir.path());
//! let alice = ring.import("alice", SecretKey::from_seed("alice"))?;
//! assert_eq!(ring.get("alice")?.address(), alice.address());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod comet;
mod error;
mod http;
pub mod inbox;
mod keys;
mod mnemonic;
mod node;
mod pool;
pub mod seal;
mod storage_client;

// Every format, re-exported so tools depend on one crate.
pub use consign_types::*;

/// Passphrases (the `file` keyring's, an exported key's) are held as age's `SecretString`.
pub use age::secrecy::{ExposeSecret, SecretString};
pub use comet::{is_comet_rpc, CometRpc, CometStatus};
pub use error::KeyringError;
pub use inbox::{Inbox, InboxConfig, InboxError, InboxEvent};
pub use keys::{
    decrypt_secret_key, encrypt_secret_key, KeyFile, KeyInfo, Keyring, KeyringBackend,
    PassphraseRequest, PassphraseSource, ARMOR_BEGIN,
};
pub use mnemonic::{Mnemonic, COSMOS_HD_PATH};
pub use node::{
    min_fee, BlockId, Broadcast, BroadcastMode, ClientError, NodeClient, REQUEST_TIMEOUT,
};
pub use pool::NodePool;
pub use seal::{AgeIdentity, OpenReport, SealError};
pub use storage_client::{StorageClient, StorageClientError};

//! `consign-storage`: the daemon a storage operator runs.
//!
//! It takes sellers' data in advance and delivers it, encrypted to the buyer, when a purchase
//! commits, while the seller is offline:
//!
//! 1. **Uploads** ([`api`], [`blobs`]): `PUT /v1/blobs/{sha256}` with a signed
//!    [`UploadGrant`](consign_client::UploadGrant); streamed to disk, hashed on the way,
//!    encrypted at rest with the node's own age key, content-addressed, per-account quota.
//! 2. **Registrations** ([`registrations`]): a seller's signed, private binding of
//!    (contract, offer id) to a blob, accepted only after a smart query shows the signer is the
//!    offer's seller and the digests match. Nothing about it goes on-chain.
//! 3. **The follower** ([`follower`]): reads the chain's public delivery feed from a durable
//!    cursor and records the instructions for offers registered here.
//! 4. **The fulfiller** ([`fulfiller`]): re-checks each purchase on-chain, encrypts the blob to
//!    the buyer's age recipient as it streams, and `POST`s it to the buyer's endpoint, retrying
//!    with backoff; outbound requests obey the [`egress`] policy.
//! 5. **The operator's view** ([`api`], [`metrics`]): `/status`, the deliveries, Prometheus
//!    metrics; admin routes need the operator's token.
//!
//! [`node::Services`] is what the parts share; [`server::run`] starts it all and shuts it down
//! gracefully.

pub mod api;
pub mod blobs;
pub mod config;
pub mod db;
pub mod deliveries;
pub mod egress;
pub mod follower;
pub mod fulfiller;
pub mod market;
pub mod metrics;
pub mod node;
pub mod registrations;
pub mod server;

pub use config::Config;

//! The mission's story as steps tests and benchmarks share: a seller with its own keyring, who
//! uploads a file to a storage node, offers it on-chain and registers the offer, then goes away;
//! a buyer who purchases with a delivery address.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Instant;

use anyhow::{Context, Result};
use consign_client::{Keyring, SecretKey};
use serde_json::Value;

use crate::{consign_at, ok_json, ChainNode, StorageNode};

/// A seller: a fresh key in its own home directory (so deleting the directory deletes the key),
/// funded by the dev account `alice`.
pub struct Seller {
    /// Its home directory (keyring in `keys/`).
    pub home: PathBuf,
    /// Its key.
    pub key: SecretKey,
}

/// An offer the seller made and registered.
#[derive(Clone, Debug)]
pub struct Sold {
    /// The offer's id.
    pub offer_id: u64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// The file's size.
    pub size: u64,
}

/// A committed purchase.
#[derive(Clone, Debug)]
pub struct Bought {
    /// The purchase's id.
    pub purchase_id: u64,
    /// The delivery instruction's sequence number.
    pub sequence: u64,
    /// The transaction's hash.
    pub txhash: String,
    /// When `consign buy` returned, i.e. just after the commit.
    pub committed: Instant,
}

impl Seller {
    /// Creates the seller's key in `home` and funds it with 1,000,000ucsn from `alice`.
    ///
    /// # Errors
    /// When the key cannot be written or the transfer fails.
    pub fn new(node: &impl ChainNode, home: &Path) -> Result<Self> {
        let key = SecretKey::generate();
        Keyring::new(home.join("keys")).import("seller", key.clone())?;
        ok_json(&node.consign(&[
            "tx",
            "bank",
            "send",
            "alice",
            &key.address(),
            "1000000ucsn",
            "--output",
            "json",
        ])?);
        Ok(Self {
            home: home.to_path_buf(),
            key,
        })
    }

    /// Runs `consign ARGS` as the seller: its home, the node's URL.
    ///
    /// # Errors
    /// When the binary cannot be run.
    pub fn consign(&self, node: &impl ChainNode, args: &[&str]) -> Result<Output> {
        consign_at(node.api_url(), &self.home, args)
    }

    /// Runs `consign offer create FILE` as the seller, at 100ucsn in `market`, and registers it
    /// nowhere; returns the command's output: its JSON (`offer_id`, `content_sha256`, …) on
    /// stdout, any warning on stderr.
    ///
    /// # Errors
    /// When the binary cannot be run (a failed command is in the output).
    pub fn create_offer(&self, node: &impl ChainNode, market: &str, file: &Path) -> Result<Output> {
        self.create_offer_with(node, market, file, &[])
    }

    /// [`Seller::create_offer`] with more flags (`--expires-in 2s`, `--extension csv`, …).
    ///
    /// # Errors
    /// When the binary cannot be run (a failed command is in the output).
    pub fn create_offer_with(
        &self,
        node: &impl ChainNode,
        market: &str,
        file: &Path,
        extra: &[&str],
    ) -> Result<Output> {
        let mut args = vec![
            "offer",
            "create",
            file.to_str().context("a UTF-8 path")?,
            "--price",
            "100ucsn",
            "--title",
            "test data",
            "--from",
            "seller",
            "--contract",
            market,
            "--output",
            "json",
        ];
        args.extend_from_slice(extra);
        self.consign(node, &args)
    }

    /// Uploads `file` to `storage`, creates the offer at 100ucsn in `market`, and registers it
    /// with `storage`: everything a seller does before going offline.
    ///
    /// # Errors
    /// When a step fails.
    pub fn sell(
        &self,
        node: &impl ChainNode,
        storage: &StorageNode,
        market: &str,
        file: &Path,
    ) -> Result<Sold> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let client = storage.client();
        let receipt = runtime
            .block_on(client.upload_file(file, &self.key, |_, _| {}))
            .context("upload")?;
        let created = ok_json(&self.create_offer(node, market, file)?);
        let offer_id = created["offer_id"].as_u64().context("offer_id")?;
        anyhow::ensure!(created["content_sha256"] == receipt.sha256.as_str());
        let chain_id = runtime
            .block_on(consign_client::NodeClient::new(node.api_url())?.status())?
            .chain_id;
        runtime
            .block_on(client.register(
                market,
                offer_id,
                &receipt.sha256,
                &chain_id,
                &self.key,
                None,
            ))
            .context("registration")?;
        Ok(Sold {
            offer_id,
            sha256: receipt.sha256,
            size: receipt.size,
        })
    }

    /// The seller goes away for good: its home directory, keys included, is deleted.
    ///
    /// # Errors
    /// When the directory cannot be removed.
    pub fn vanish(self) -> Result<()> {
        std::fs::remove_dir_all(&self.home)?;
        Ok(())
    }
}

/// `consign purchase show ID` in `market`, as JSON (its `state`: held, released, disputed, …).
///
/// # Errors
/// When the command cannot be run.
///
/// # Panics
/// When the command fails (the message shows its output).
pub fn show_purchase(node: &impl ChainNode, market: &str, id: u64) -> Result<Value> {
    let out = node.consign(&[
        "purchase",
        "show",
        &id.to_string(),
        "--contract",
        market,
        "--output",
        "json",
    ])?;
    Ok(ok_json(&out))
}

/// The dev account `bob` buys `offer_id`, to be delivered to `endpoint` encrypted to
/// `recipient`.
///
/// # Errors
/// When the purchase fails.
pub fn buy(
    node: &impl ChainNode,
    market: &str,
    offer_id: u64,
    endpoint: &str,
    recipient: &str,
) -> Result<Bought> {
    let out = node.consign(&[
        "buy",
        &offer_id.to_string(),
        "--deliver-to",
        endpoint,
        "--recipient",
        recipient,
        "--from",
        "bob",
        "--contract",
        market,
        "--output",
        "json",
    ])?;
    let committed = Instant::now();
    let out = ok_json(&out);
    Ok(Bought {
        purchase_id: out["purchase_id"].as_u64().context("purchase_id")?,
        sequence: out["delivery_sequence"]
            .as_u64()
            .context("delivery_sequence")?,
        txhash: out["txhash"].as_str().context("txhash")?.to_owned(),
        committed,
    })
}

//! Talking to a data-sale contract, for the commands of its two parties (`offer`, `buy`,
//! `purchase`, `sell`, `inbox`): an offer's fields from the command line, the smart queries they
//! print, and what a committed `create_offer` made. Messages are `consign-market`'s types, never
//! JSON written by hand.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::Args;
use consign_client::{NodeClient, Timestamp, TxResult};
use consign_market::{created_offer_id, ConfigResponse, Custody, ExecuteMsg, NewOffer, QueryMsg};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::args::{parse_coins, Coins, NodeArgs};
use super::output::{field, next_block_time, print_json};
use super::{OutputFormat, Session};

/// What an offer says besides its content's digest and size; shared by `consign offer create`
/// and `consign sell`. All of it is public on-chain, which is why the title is never taken from
/// the local file's name: the seller writes it.
#[derive(Debug, Clone, Args)]
pub struct OfferFields {
    /// The price, paid exactly by each buyer: `5000ucsn`, or several coins separated by commas.
    #[arg(long, value_name = "COINS", value_parser = parse_coins)]
    pub price: Coins,
    /// A short title, required and PUBLIC: anyone can read it on-chain. It is never taken from
    /// the file's name; write one you are happy to publish.
    #[arg(long)]
    pub title: Option<String>,
    /// What the data is (public).
    #[arg(long, default_value = "")]
    pub description: String,
    /// The terms of sale and use (public).
    #[arg(long, default_value = "")]
    pub terms: String,
    /// Stop selling after this long (`30d`, `12h`), counted from the latest block's time.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub expires_in: Option<Duration>,
    /// Publish the data's file name extension (`csv`, `tar.gz`, no dot) so buyers' inboxes save
    /// it as such (PUBLIC; never taken from the file by itself). Without it, saved files get the
    /// title's extension, if any.
    #[arg(long, value_name = "EXT", value_parser = parse_extension)]
    pub extension: Option<String>,
    /// The seller's key: its name in the keyring, or its address.
    #[arg(long, value_name = "KEY")]
    pub from: String,
}

/// `--extension`: the contract's own rule, checked before anything is signed.
fn parse_extension(text: &str) -> Result<String, String> {
    let extension = text.strip_prefix('.').unwrap_or(text);
    consign_market::validate_extension(extension)?;
    Ok(extension.to_owned())
}

impl OfferFields {
    /// The `--title`; check it before doing anything else.
    ///
    /// # Errors
    ///
    /// Without `--title`: the title is public, so it is never guessed from the file's name.
    pub fn title(&self) -> anyhow::Result<&str> {
        self.title.as_deref().context(
            "--title is required: the offer's title is public on-chain (anyone can read it, as \
             the price, SHA-256, size, description and terms), so it is never taken from the \
             file's name; pass --title 'a title you are happy to publish'",
        )
    }

    /// The `create_offer` message for content `sha256` of `size` bytes, held whole by one
    /// storage node (`custody: None`) or k-of-n by several.
    ///
    /// # Errors
    ///
    /// Without `--title`; with `--expires-in`, if the node's status cannot be read.
    pub fn create_msg(
        &self,
        session: &Session,
        node: &NodeArgs,
        sha256: &str,
        size: u64,
        custody: Option<Custody>,
    ) -> anyhow::Result<ExecuteMsg> {
        let mut offer = NewOffer {
            description: self.description.clone(),
            terms: self.terms.clone(),
            extension: self.extension.clone(),
            custody,
            ..NewOffer::new(self.price.0.clone(), sha256, size, self.title()?)
        };
        if let Some(after) = self.expires_in {
            let client = node.client()?;
            let latest = session.block_on(client.status())?.latest_block_time;
            let now = next_block_time(latest);
            let nanos = u64::try_from(after.as_nanos()).context("--expires-in is too long")?;
            offer.expires = Some(Timestamp::from_nanos(now.nanos().saturating_add(nanos)));
        }
        Ok(ExecuteMsg::create_offer(offer))
    }
}

/// What `consign offer create` prints.
#[derive(Debug, Serialize)]
pub struct OfferCreated<'a> {
    /// The new offer's id.
    pub offer_id: u64,
    contract: &'a str,
    content_sha256: &'a str,
    size: u64,
    txhash: String,
    height: u64,
}

impl<'a> OfferCreated<'a> {
    /// Reads the new offer's id from the committed `create_offer`.
    pub fn from_result(
        result: &TxResult,
        contract: &'a str,
        content_sha256: &'a str,
        size: u64,
    ) -> anyhow::Result<Self> {
        Ok(OfferCreated {
            offer_id: created_offer_id(&result.events, contract)?,
            contract,
            content_sha256,
            size,
            txhash: result.txhash.to_string(),
            height: result.height,
        })
    }

    /// Prints it: one JSON object, or a few lines.
    pub fn print(&self, output: OutputFormat, out: &mut impl Write) -> anyhow::Result<()> {
        match output {
            OutputFormat::Json => print_json(self, output, out),
            OutputFormat::Text => {
                field(out, "offer_id", &self.offer_id.to_string())?;
                field(out, "height", &self.height.to_string())?;
                field(out, "content_sha256", self.content_sha256)?;
                field(out, "size", &format!("{} bytes", self.size))?;
                field(out, "txhash", &self.txhash)?;
                Ok(())
            }
        }
    }
}

/// Reads the contract's configuration: the arbiter and the two windows.
///
/// # Errors
///
/// If the node cannot be reached or the contract does not answer.
pub(super) fn market_config(
    session: &Session,
    client: &NodeClient,
    contract: &str,
) -> anyhow::Result<ConfigResponse> {
    session
        .block_on(client.smart_query(contract, &QueryMsg::config()))
        .with_context(|| format!("cannot read the configuration of {contract}"))
}

/// The SHA-256 (lowercase hex) and size of a file offered, read once; a progress bar on stderr
/// for files over 64 MiB when stderr is a terminal.
///
/// # Errors
///
/// If the file cannot be read, or is empty (an offer needs at least one byte of data).
pub fn hash_file(path: &Path) -> anyhow::Result<(String, u64)> {
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let bar = if len > 64 << 20 {
        let bar = ProgressBar::new(len).with_message(format!("hashing {}", path.display()));
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec})",
            )
            .expect("a valid progress template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let (sha256, size) = consign_util::fs::hash_file_with(path, |n| bar.inc(n))?;
    bar.finish_and_clear();
    if size == 0 {
        bail!(
            "{} is empty: an offer needs at least one byte of data",
            path.display()
        );
    }
    Ok((sha256, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    use sha2::{Digest, Sha256};

    #[test]
    fn files_hash_in_pieces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.bin");
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let (sha, size) = hash_file(&path).unwrap();
        assert_eq!(size, data.len() as u64);
        assert_eq!(sha, hex::encode(Sha256::digest(&data)));
    }

    #[test]
    fn an_empty_file_cannot_be_offered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty");
        std::fs::write(&path, b"").unwrap();
        let err = hash_file(&path).unwrap_err();
        assert!(err.to_string().contains("is empty"), "{err}");
    }
}

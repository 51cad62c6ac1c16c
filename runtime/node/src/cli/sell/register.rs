//! Registering an offer with a storage node, through what passes: a node restarting, a
//! dropped connection, a node that answers 503 while it is busy or 502 while its chain node is
//! away. A registration is idempotent (the node keeps the first binding, and each attempt is
//! signed with a fresh nonce), so the same one is sent again with backoff until it is taken,
//! refused for what it says (a 4xx: final, reported at once), or the patience runs out.

use std::time::{Duration, Instant};

use consign_client::{
    CustodyPiece, RegistrationReceipt, SecretKey, StorageClient, StorageClientError,
};
use consign_util::retry::{Backoff, Jitter};

/// Between attempts: 0.5 s, doubling to 8 s, each delay between half and all of its step.
const BACKOFF: Backoff =
    Backoff::new(Duration::from_millis(500), Duration::from_secs(8)).with_jitter(Jitter::Equal);

/// `--register-timeout`, for `consign sell` and `consign offer register`.
#[derive(Clone, Copy, Debug, clap::Args)]
pub struct RegisterTimeout {
    /// How long to keep sending a registration to a storage node that cannot be reached, drops
    /// the connection, or answers 429 or 5xx (a node restarting, say), retrying with backoff. A
    /// refusal for what the registration says is final at once.
    #[arg(
        long = "register-timeout",
        value_name = "DURATION",
        default_value = "60s",
        value_parser = humantime::parse_duration
    )]
    pub duration: Duration,
}

/// One registration to send: for the offer `offer_id` of `contract`, the blob `sha256` (the
/// whole file's or a fragment's), with `piece` for k-of-n custody.
pub(crate) struct ToRegister<'a> {
    pub contract: &'a str,
    pub offer_id: u64,
    pub sha256: &'a str,
    pub chain_id: &'a str,
    pub key: &'a SecretKey,
    pub piece: Option<CustodyPiece>,
}

/// Sends `registration` to the storage node at `url` until it is taken, refused, or `patience`
/// has passed since the first attempt; each retry is announced on stderr under `label` (the
/// node's URL, or the piece's).
///
/// # Errors
///
/// A refusal at once; a transient failure ([`StorageClientError::is_transient`]) once another
/// attempt would start after `patience`.
pub(crate) async fn register_retrying(
    client: &StorageClient,
    label: &str,
    registration: &ToRegister<'_>,
    patience: Duration,
) -> Result<RegistrationReceipt, StorageClientError> {
    let started = Instant::now();
    let mut attempts = BACKOFF.attempts();
    loop {
        let result = client
            .register(
                registration.contract,
                registration.offer_id,
                registration.sha256,
                registration.chain_id,
                registration.key,
                registration.piece.clone(),
            )
            .await;
        let error = match result {
            Ok(receipt) => return Ok(receipt),
            Err(error) if error.is_transient() => error,
            Err(refused) => return Err(refused),
        };
        let delay = attempts.next_delay();
        if started.elapsed() + delay > patience {
            return Err(error);
        }
        eprintln!(
            "{label}: {error}; trying again in {:.1}s (giving up {:.0}s after the first try; \
             --register-timeout sets how long)",
            delay.as_secs_f32(),
            patience.as_secs_f32()
        );
        tracing::debug!(%label, ?delay, %error, "registration retried");
        tokio::time::sleep(delay).await;
    }
}

//! `consign inbox`: the buyer's receiver. Serves a [`consign_client::Inbox`] over HTTP (warp):
//! storage nodes `POST` deliveries to it; each is checked on-chain, decrypted, verified against
//! the offer and saved once; with `--confirm` the receipt is confirmed on-chain afterwards, for
//! deliveries the inbox itself verified and saved in this run only.

mod confirm;
mod guard;
mod report;

use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{ArgGroup, Args};
use consign_client::inbox::{response, Accepted, NameTemplate};
use consign_client::{AgeIdentity, Inbox, InboxConfig, SecretKey};
use consign_util::serve::{serve, Drained, ServeOptions};
use tokio::sync::{mpsc, oneshot, watch};
use warp::http::StatusCode;
use warp::Filter;

use self::confirm::Signer;
use self::report::{CliEvent, Note, Reporter};
use super::args::{parse_address, MarketArgs};
use super::{Session, EXIT_OK};

/// Log target.
const TARGET: &str = "cli::inbox";
/// How long open deliveries may go on after SIGINT/SIGTERM before they are cut (the storage
/// node sends a cut delivery again later).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The error without `--from` or `--buyer`.
const NO_BUYER: &str = "consign inbox saves only your own purchases: pass --from KEY (your buyer \
key, which also signs --confirm) or --buyer ADDRESS. Your recipient and this inbox's URL are \
public on-chain, so anyone could otherwise buy something for you and have it saved";

/// Long help of `consign inbox`.
pub(super) const LONG_ABOUT: &str = "\
Receive purchased data: the buyer's side of a delivery. The inbox listens on --listen for the
storage node that holds the data, which POSTs it encrypted to your age identity once your
purchase is committed. Each delivery is decrypted as it streams in (any size: it is never held
in memory), checked, and saved in --out.

WHAT TO GIVE `consign buy`
  --deliver-to  the URL the inbox prints at start (http://ADDR/, any path works), as the
                storage node can reach it: with the default --listen 127.0.0.1:8080 only
                programs on this machine can; to receive from elsewhere listen on a public
                address (--listen 0.0.0.0:8080) and give that machine's address, or put the
                inbox behind an https reverse proxy and give its URL.
  --recipient   your identity's recipient (age1…).

IDENTITIES
  --age-key NAME uses <home>/age/NAME.agekey, made by `consign keys age NAME` (which prints the
  recipient; `consign keys age NAME --show` prints it again). --identity FILE uses any age
  X25519 identity file, such as one made by `age-keygen -o key.txt`; its `# public key:` line
  is the recipient. A delivery can only be decrypted with the identity whose recipient the
  purchase names, and the inbox refuses one whose purchase names another.

WHOSE PURCHASES (REQUIRED)
  --contract ADDRESS (or $CONSIGN_CONTRACT)  the market contract you buy in: deliveries of any
                other contract are refused.
  --from KEY or --buyer ADDRESS  your buyer account: only purchases it made are saved. Your
                recipient and the inbox's URL are public on-chain, so anyone could otherwise buy
                something for you and have it saved in --out.
  The inbox does not start without both.

WHAT IS CHECKED, AND WHAT THE SENDER IS ANSWERED
  400  a missing or malformed x-consign-* header, or a body that broke off
  408  the body came too slowly: nothing for --body-idle-timeout, or less than
       --body-min-rate bytes/s over such a window
  422  the delivery does not match the chain: another contract than --contract, a purchase
       made by another buyer than --from/--buyer or naming another recipient, a refunded
       purchase, headers claiming another digest or size than the OFFER on-chain
       (the expected SHA-256 and size are always read from the chain, never taken from the
       headers); or the body does not decrypt with this identity, is corrupted or truncated,
       or its plaintext has another SHA-256 or size than the offer: nothing is saved
  503  the node cannot be reached to check, or does not know the purchase (or its offer) yet:
       it may be behind the storage node's, so the storage node sends again later
  200  saved (or saved before)
  Before the body, the storage node asks (OPTIONS, the same headers, no body); the inbox runs
  the checks above that need no body and answers 204 with x-consign-inbox: ready (or 200
  saved, or the refusal), so a refused delivery never costs the body. The storage node retries
  until its deadline, so an inbox that is down, or restarted with the right identity, still
  receives the data; only answers of 404, 405 or 410 (no inbox there) make it give up, after 3.
  Anyone can send a purchase's headers (they are public), so requests are not trusted: several
  deliveries of one purchase are received side by side, the first that verifies is saved and
  the others are answered as duplicates; a stranger trickling a body cannot hold it up.

K-OF-N DELIVERIES (offers held in custody by several storage nodes)
  An offer made with `consign sell --storage A --storage B --storage C --threshold 2` is held by
  n storage nodes, none of which can read it: each holds one fragment of the encrypted data and
  one share of its key. Each node delivers its own piece: its fragment encrypted to your
  recipient as the body, its key share sealed to you in x-consign-key-share, with
  x-consign-custody-index, -k and -n. Any k pieces rebuild the data; the others may be late,
  down or never come.
  Every piece is checked against the commitments in the offer on-chain, its fragment and its
  share apart: a corrupted fragment or a wrong share is refused (422, naming the index and what
  failed) without losing the good half, and never blocks the good pieces of other nodes. The
  pieces are kept in <out>/.consign-inbox/custody/ (a restart loses none) and the inbox says
  which it holds and waits for (`holding fragments [0, 2] and key shares [0] (k = 2 of n = 3),
  waiting for 1 more key share`). With k of each the data is rebuilt, checked against the
  offer's SHA-256 and size, saved and confirmed as one delivery; later pieces are answered as
  saved. A piece for an offer without custody, a whole delivery for an offer with it, or k and
  n other than the offer's are refused (422). If fewer than k good pieces come, nothing is
  saved and the purchase can be disputed.

FILES AND EXACTLY-ONCE
  A delivery is written to a temporary file under <out>/.consign-inbox/, synced, and renamed
  into --out only after it verified (temporary files left by a crash are removed at start: one
  inbox per --out); a file of the same name is never replaced (the new one gets
  .1, .2, … before its extension). Names follow --name (default {stem}-{purchase}{ext}:
  an offer titled `Weather 2026.csv` bought as purchase 7 is saved as Weather_2026-7.csv; an
  untitled one as purchase-7). Placeholders: {title} {stem} {ext} {purchase} {offer} {sha256}
  {contract}. Each save is recorded in <out>/.consign-inbox/<contract>-<purchase>.json: the same
  purchase delivered again is answered 200 and not written twice, even after a restart. Delete
  the record to receive a purchase again.

NODES
  --node may be given several times (comma-separated in $CONSIGN_NODE): full nodes of one
  chain network. Every check, confirmation and dispute goes to the first that answers, and to
  the next when it fails (unreachable, too slow, a server error), so the inbox keeps working
  when a node goes away; each switch is logged. Every node must report the chain of the first
  one that answers (or --chain-id): a node on another chain is refused and never asked again.
  A purchase your node does not know yet (it may be behind the storage node's) is answered
  503, and the storage node sends it again later.

CONFIRMING
  With --confirm --from KEY, after a delivery is verified, saved and answered, the inbox sends
  confirm_receipt for it, which releases the escrow to the seller, and prints the transaction
  hash. Only a delivery this inbox verified and saved in this run is confirmed, once: a
  request for a purchase saved before (a duplicate, which anyone can send) never causes a
  confirmation, nor does a restart with --confirm. A failed confirmation, or a purchase saved
  while the inbox ran without --confirm or stopped before confirming, is confirmed by hand with
  `consign purchase confirm ID`. A mismatch is never confirmed (dispute it with
  `consign purchase dispute`). Without --confirm, nothing is sent on-chain.

NEVER PAYING FOR NOTHING (with --confirm)
  The inbox also watches your purchases to its recipient. One that nothing was delivered for
  is disputed on-chain shortly before its dispute deadline (the purchase's time plus the
  contract's release window; after it the seller could claim the payment): by default a tenth
  of the window before it, or --dispute-before. If the arbiter has not resolved the dispute
  when the contract's arbitration window ends, the inbox claims the refund and you have your
  money back. A purchase this inbox saved is never disputed. --no-auto-dispute turns the watch
  off (then dispute by hand: `consign purchase dispute ID`).

Stop with Ctrl-C or SIGTERM: open deliveries get 10 seconds to finish. --exit-after N stops by
itself after N new saves (and their confirmations).";

/// Examples for `consign inbox --help`.
pub(super) const EXAMPLES: &str = "\
Examples:
  consign keys age bob
  consign inbox --age-key bob --out ~/Downloads --contract $MARKET --confirm --from bob
  consign buy 1 --deliver-to http://127.0.0.1:8080/ --recipient $(consign keys age bob --show) --from bob --contract $MARKET
  age-keygen -o key.txt && consign inbox --identity key.txt --out data --listen 0.0.0.0:8080 --contract $MARKET --buyer $(consign keys show bob -a)
  consign --output json inbox --age-key bob --out data --from bob --contract $MARKET --exit-after 1 | jq -c 'select(.event == \"saved\")'
  consign inbox --age-key bob --out data --from bob --confirm --contract $MARKET --node http://10.0.0.1:26602 --node http://10.0.0.2:26602";

/// `consign inbox`.
#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("age_identity").required(true).args(["identity", "age_key"])))]
pub struct InboxArgs {
    /// Which node, contract and keyring, and how transactions are signed and broadcast.
    #[command(flatten)]
    pub market: MarketArgs,

    /// The address to listen on: `127.0.0.1:8080` takes deliveries from this machine only;
    /// `0.0.0.0:8080` from anywhere. Port 0 picks a free port (see --url-file).
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:8080",
        env = "CONSIGN_INBOX_LISTEN"
    )]
    pub listen: String,

    /// The age identity file to decrypt with (made by `consign keys age` or `age-keygen`).
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,

    /// The age identity <home>/age/NAME.agekey, made by `consign keys age NAME`.
    #[arg(long, value_name = "NAME")]
    pub age_key: Option<String>,

    /// The directory deliveries are saved to (created if needed).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// How saved files are named [default: {stem}-{purchase}{ext}]; placeholders {title}
    /// {stem} {ext} {purchase} {offer} {sha256} {contract}.
    #[arg(long, value_name = "TEMPLATE", value_parser = parse_template)]
    pub name: Option<NameTemplate>,

    /// Confirm receipt on-chain after each delivery this inbox verifies and saves, releasing
    /// the escrow to the seller (needs --from); never for a purchase saved before.
    #[arg(long, requires = "from")]
    pub confirm: bool,

    /// With --confirm: do not watch your purchases (by default one undelivered near its dispute
    /// deadline is disputed, and refunded if the arbiter does not resolve it in time).
    #[arg(long, requires = "confirm")]
    pub no_auto_dispute: bool,

    /// With --confirm: dispute an undelivered purchase this long before its dispute deadline
    /// [default: a tenth of the contract's release window, at most a day].
    #[arg(
        long,
        value_name = "DURATION",
        requires = "confirm",
        conflicts_with = "no_auto_dispute",
        value_parser = parse_timeout
    )]
    pub dispute_before: Option<Duration>,

    /// The buyer's key: only its purchases are accepted, and it signs the confirmations. This
    /// or --buyer is required.
    #[arg(long, value_name = "KEY")]
    pub from: Option<String>,

    /// Accept only purchases made by this address (instead of --from, when the inbox does not
    /// hold the key). This or --from is required.
    #[arg(long, value_name = "ADDRESS", value_parser = parse_address, conflicts_with = "from")]
    pub buyer: Option<String>,

    /// The longest a delivery's body may send nothing before it is cut (408; the sender tries
    /// again); also the window --body-min-rate is averaged over.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "30s",
        value_parser = parse_timeout,
        env = "CONSIGN_INBOX_BODY_IDLE_TIMEOUT"
    )]
    pub body_idle_timeout: Duration,

    /// The least rate, in bytes per second, a delivery's body must average over each
    /// --body-idle-timeout window, else it is cut (408): a sender trickling a body loses it.
    #[arg(
        long,
        value_name = "BYTES",
        default_value = "4096",
        env = "CONSIGN_INBOX_BODY_MIN_RATE"
    )]
    pub body_min_rate: u64,

    /// Keep the data key rebuilt for each k-of-n purchase in DIR, as `<saved file>.agekey`
    /// (age-keygen format, 0600): the identity the storage nodes' ciphertext was encrypted to,
    /// which no storage node has (`age -d -i` opens the ciphertext rebuilt from k fragments).
    /// Without it the key is dropped once the file is saved.
    #[arg(long, value_name = "DIR")]
    pub keep_keys: Option<PathBuf>,

    /// Exit (status 0) after this many new deliveries are saved, and confirmed with --confirm.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub exit_after: Option<u64>,

    /// Write the inbox's URL (`http://ADDR`) to this file once it listens, and remove it on exit.
    #[arg(long, value_name = "PATH")]
    pub url_file: Option<PathBuf>,
}

fn parse_template(text: &str) -> Result<NameTemplate, String> {
    NameTemplate::parse(text).map_err(|e| e.to_string())
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if d.is_zero() => Err("it must be longer than zero".into()),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}

/// Runs `consign inbox` until SIGINT/SIGTERM or `--exit-after`.
///
/// # Errors
///
/// If the identity or the signing key cannot be read, the output directory cannot be created,
/// the address cannot be bound, or stdout cannot be written.
pub fn run(args: &InboxArgs, session: &Session, out: &mut impl Write) -> anyhow::Result<u8> {
    let output = session.output;
    let contract = args.market.contract.contract.clone().context(
        "consign inbox accepts deliveries of one market contract only: pass --contract ADDRESS \
         (the data-sale contract you buy in) or set CONSIGN_CONTRACT",
    )?;
    if args.from.is_none() && args.buyer.is_none() {
        anyhow::bail!(NO_BUYER);
    }
    let identity = load_identity(args)?;
    // Every request to the chain (checks, confirmations, the watch) goes through the pool of
    // the --node URLs, so the inbox carries on when a node goes away.
    let mut nodes = args.market.node.pool()?;
    if let Some(chain_id) = &args.market.options.chain_id {
        nodes = nodes.expect_chain_id(chain_id.clone());
    }
    let key: Option<SecretKey> = match &args.from {
        Some(from) => Some(
            args.market
                .node
                .home
                .keyring()?
                .get(from)
                .with_context(|| format!("cannot use the key `{from}`"))?
                .secret_key()
                .clone(),
        ),
        None => None,
    };
    let buyer = match (&args.buyer, &key) {
        (Some(buyer), _) => buyer.clone(),
        (None, Some(key)) => key.address(),
        (None, None) => anyhow::bail!(NO_BUYER),
    };
    let config = InboxConfig {
        names: args.name.clone().unwrap_or_default(),
        idle_timeout: args.body_idle_timeout,
        min_rate: args.body_min_rate,
        keep_keys: args.keep_keys.clone(),
        ..InboxConfig::new(&args.out, contract, buyer)
    };
    if args.confirm && args.market.options.sequence.is_some() {
        anyhow::bail!(
            "the inbox sends a transaction for each confirmation, dispute or refund, each with \
             the account's next sequence: leave out --sequence"
        );
    }
    let confirmer = match (&key, args.confirm) {
        (Some(key), true) => Some(Signer {
            nodes: nodes.clone(),
            key: key.clone(),
            options: args.market.options.clone(),
            turn: Arc::default(),
        }),
        _ => None,
    };

    let (notes_tx, mut notes_rx) = mpsc::unbounded_channel::<Note>();
    let events = notes_tx.clone();
    let inbox = Inbox::new(config, identity, nodes.clone())?.on_event(move |event| {
        let _ = events.send(Note::Inbox(event.clone()));
    });
    let inbox = Arc::new(inbox);
    let mut reporter = Reporter::new(out, output, args.from.clone());

    session.block_on(async move {
        // Before anyone can learn the address: a signal from then on must stop cleanly.
        let signal = consign_util::shutdown_signal().context("cannot install the signal handlers")?;
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        let url = format!("http://{addr}");
        reporter.note(&Note::Cli(CliEvent::Listening {
            url: format!("{url}/"),
            recipient: inbox.recipient().to_owned(),
            out: inbox.out_dir().to_owned(),
            contract: inbox.config().contract.clone(),
            buyer: inbox.config().buyer.clone(),
            confirm: confirmer.is_some(),
        }))?;
        // After the line above, so whoever reads the file finds it printed.
        if let Some(file) = &args.url_file {
            consign_util::fs::atomic_write(file, format!("{url}\n"))?;
        }
        if let Err(e) = nodes.status().await {
            reporter.note(&Note::Cli(CliEvent::NodeUnreachable {
                reason: e.to_string(),
            }))?;
        }

        let (accepted_tx, accepted_rx) = mpsc::unbounded_channel::<Accepted>();
        let (exit_tx, exit_rx) = oneshot::channel::<()>();
        let (stop_tx, stop_rx) = watch::channel(false);
        let watcher = match &confirmer {
            Some(signer) if !args.no_auto_dispute => Some(tokio::spawn(guard::run(
                guard::Watch {
                    nodes: nodes.clone(),
                    signer: signer.clone(),
                    inbox: inbox.clone(),
                    dispute_before: args.dispute_before,
                },
                stop_rx.clone(),
                notes_tx.clone(),
            ))),
            _ => None,
        };
        let mut coordinator = tokio::spawn(confirm::run(
            accepted_rx,
            stop_rx,
            confirmer,
            args.exit_after,
            exit_tx,
            notes_tx,
        ));
        let shutdown = async move {
            tokio::select! {
                () = signal => tracing::info!(target: TARGET, "signal received; stopping"),
                Ok(()) = exit_rx => tracing::info!(target: TARGET, "--exit-after reached; stopping"),
            }
        };
        let mut server = tokio::spawn(serve_inbox(listener, inbox, accepted_tx, shutdown));

        // Report as things happen, until the server has stopped and the confirmations are done.
        let mut saved = None;
        let mut server_done = false;
        loop {
            tokio::select! {
                Some(note) = notes_rx.recv() => reporter.note(&note)?,
                done = &mut server, if !server_done => {
                    server_done = true;
                    done.context("the server task failed")?;
                    let _ = stop_tx.send(true);
                }
                done = &mut coordinator, if saved.is_none() => {
                    saved = Some(done.context("the confirmation task failed")?);
                }
            }
            if server_done && saved.is_some() {
                break;
            }
        }
        if let Some(watcher) = watcher {
            // It stops at its next wait: a transaction it is sending is finished first.
            watcher.await.context("the watch task failed")?;
        }
        while let Ok(note) = notes_rx.try_recv() {
            reporter.note(&note)?;
        }
        if let Some(file) = &args.url_file {
            let _ = std::fs::remove_file(file);
        }
        reporter.note(&Note::Cli(CliEvent::Stopped {
            saved: saved.unwrap_or(0),
        }))?;
        anyhow::Ok(())
    })?;
    Ok(EXIT_OK)
}

/// The identity of `--identity` or `--age-key`.
fn load_identity(args: &InboxArgs) -> anyhow::Result<AgeIdentity> {
    match (&args.identity, &args.age_key) {
        (Some(file), _) => AgeIdentity::load(file).context("cannot use --identity"),
        (None, Some(name)) => {
            let file = args.market.node.home.age_key(name)?;
            AgeIdentity::load(&file).with_context(|| {
                format!("cannot use --age-key {name}; create it with `consign keys age {name}`")
            })
        }
        (None, None) => {
            anyhow::bail!("give the identity to decrypt with: --identity FILE or --age-key NAME")
        }
    }
}

/// `POST` (any path): a delivery; `OPTIONS` (any path): its preflight; `GET /status`: what
/// this inbox is; anything else: a JSON error that says what this server is.
fn routes(
    inbox: Arc<Inbox>,
    accepted: mpsc::UnboundedSender<Accepted>,
) -> impl Filter<Extract = (impl warp::Reply,), Error = std::convert::Infallible> + Clone {
    let status = {
        let inbox = inbox.clone();
        warp::get().and(warp::path!("status")).map(move || {
            warp::reply::json(&serde_json::json!({
                "service": "consign-inbox",
                "recipient": inbox.recipient(),
                "contract": inbox.config().contract,
            }))
        })
    };
    let preflight = preflight_route(inbox.clone());
    let deliver = warp::post()
        .and(warp::header::headers_cloned())
        .and(warp::body::stream())
        .then(move |headers: warp::http::HeaderMap, body| {
            let inbox = inbox.clone();
            let accepted = accepted.clone();
            async move {
                let result = inbox.receive(&headers, Box::pin(body)).await;
                let (status, json) = response(&result);
                // A purchase saved (now or before) wants nothing more: the storage nodes of its
                // other pieces read this as the preflight's answer.
                let saved = matches!(result, Ok(Accepted::Saved(_) | Accepted::Duplicate(_)));
                if let Ok(done) = result {
                    let _ = accepted.send(done);
                }
                let mut reply = warp::reply::Reply::into_response(warp::reply::json(&json));
                *reply.status_mut() =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                if saved {
                    reply.headers_mut().insert(
                        consign_client::storage::delivery_headers::INBOX,
                        warp::http::HeaderValue::from_static(
                            consign_client::storage::delivery_headers::INBOX_SAVED,
                        ),
                    );
                }
                reply
            }
        });
    status.or(preflight).or(deliver).recover(|_rejection: warp::Rejection| async {
        let json = serde_json::json!({
            "error": "this is a Consign inbox: storage nodes POST deliveries to it (any path); GET /status describes it"
        });
        Ok::<_, std::convert::Infallible>(warp::reply::with_status(
            warp::reply::json(&json),
            StatusCode::NOT_FOUND,
        ))
    })
}

/// `OPTIONS` (any path): a storage node's preflight, asking whether the inbox will take a
/// delivery before it sends the body ([`Inbox::preflight`]); the answer carries
/// `x-consign-inbox: ready`, `saved`, `later` or `refused`.
fn preflight_route(
    inbox: Arc<Inbox>,
) -> impl Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone {
    warp::options().and(warp::header::headers_cloned()).then(
        move |headers: warp::http::HeaderMap| {
            let inbox = inbox.clone();
            async move {
                let result = inbox.preflight(&headers).await;
                let (status, marker, json) = consign_client::inbox::preflight_response(&result);
                let mut reply = match json {
                    Some(json) => warp::reply::Reply::into_response(warp::reply::json(&json)),
                    None => warp::reply::Reply::into_response(warp::reply()),
                };
                *reply.status_mut() =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                reply.headers_mut().insert(
                    consign_client::storage::delivery_headers::INBOX,
                    warp::http::HeaderValue::from_static(marker),
                );
                reply
            }
        },
    )
}

/// Serves `inbox` until `shutdown`, then lets open requests finish for at most
/// [`SHUTDOWN_GRACE`].
async fn serve_inbox(
    listener: tokio::net::TcpListener,
    inbox: Arc<Inbox>,
    accepted: mpsc::UnboundedSender<Accepted>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let routes = routes(inbox, accepted);
    if serve(
        routes,
        listener,
        shutdown,
        ServeOptions::with_grace(SHUTDOWN_GRACE),
    )
    .await
        == Drained::Cut
    {
        tracing::warn!(
            target: TARGET,
            "deliveries still open {SHUTDOWN_GRACE:?} after the stop; cut (the storage node sends them again)"
        );
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};

    #[test]
    fn an_identity_is_required_and_confirm_needs_a_key() {
        let parse = |args: &[&str]| {
            let mut argv = vec!["consign", "inbox"];
            argv.extend_from_slice(args);
            Cli::try_parse_from(argv)
        };
        assert!(parse(&["--out", "d"]).is_err());
        assert!(parse(&["--out", "d", "--age-key", "bob", "--confirm"]).is_err());
        assert!(parse(&["--out", "d", "--age-key", "bob", "--identity", "f"]).is_err());
        assert!(parse(&["--out", "d", "--age-key", "bob", "--exit-after", "0"]).is_err());
        assert!(parse(&["--out", "d", "--age-key", "bob", "--name", "{nope}"]).is_err());
        // The watch signs with the --confirm key, so its switches need --confirm.
        assert!(parse(&["--out", "d", "--age-key", "bob", "--no-auto-dispute"]).is_err());
        assert!(parse(&["--out", "d", "--age-key", "bob", "--dispute-before", "1h"]).is_err());
        let both = [
            "--out",
            "d",
            "--age-key",
            "bob",
            "--confirm",
            "--from",
            "bob",
            "--no-auto-dispute",
            "--dispute-before",
            "1h",
        ];
        assert!(parse(&both).is_err());
        let cli = parse(&[
            "--out",
            "d",
            "--age-key",
            "bob",
            "--confirm",
            "--from",
            "bob",
        ])
        .unwrap();
        let Command::Inbox(args) = cli.command else {
            panic!("not inbox")
        };
        assert_eq!(args.listen, "127.0.0.1:8080");
        assert!(args.confirm);
    }
}

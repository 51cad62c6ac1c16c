//! The chaos soak: a chain node, two storage nodes and a buyer's inbox as real processes; a
//! buyer makes purchases one after another while the chain node and the storage nodes are
//! killed with SIGKILL at random moments and started again. At the end every purchase must have
//! been delivered exactly once at the buyer (one saved file each, with the offer's exact bytes),
//! no committed transaction may be missing from the chain, and nothing may be doubled (the
//! buyer's account committed exactly one transaction per purchase, and each storage node holds
//! one delivery per purchase of its offers).
//!
//! The buyer does what a careful wallet does when the node dies under a broadcast: the outcome
//! is unknown, so it sends the same signed bytes again once the node answers. The chain refuses
//! a transaction whose sequence is used (committed or pending), so a purchase is never made
//! twice; a refused resend is settled by looking the transaction up by hash.
//!
//! `tests/tests/soak.rs` runs a short version; `scripts/soak.sh` (the `soak` example) a long one
//! and prints its figures.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use consign_client::storage::{DeliveryState, DeliveryView};
use consign_client::{
    coins, min_fee, Broadcast, BroadcastMode, ClientError, Coin, DeliveryAddress, Msg, NodeClient,
    SecretKey, Tx, TxBody, TxHash, TxResult,
};
use consign_market::{created_purchase_id, ExecuteMsg};
use consign_util::retry::Backoff;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::inbox::{EventFeed, Inbox};
use crate::{deploy_data_sale, sample_data, DevNode, Seller, StorageNode, ADMIN_TOKEN};

/// The gas limit of a purchase (the command line's default).
const PURCHASE_GAS: u64 = 2_000_000;
/// How long one purchase may take, outages included, before the soak fails.
const PURCHASE_DEADLINE: Duration = Duration::from_secs(180);

/// What to run.
#[derive(Clone, Debug)]
pub struct SoakConfig {
    /// Where the processes keep their data and logs (kept after the run for reading).
    pub dir: PathBuf,
    /// How many purchases the buyer makes.
    pub purchases: usize,
    /// Time between the starts of two purchases (a purchase delayed by an outage is followed at
    /// once by the next), so that the kills fall while purchases and deliveries are under way.
    pub purchase_every: Duration,
    /// Offers per storage node; purchases go round them.
    pub offers_per_node: usize,
    /// The largest offer's size; the others are half and a quarter of it.
    pub blob_size: usize,
    /// Time between one process coming back and the next kill.
    pub kill_every: Range<Duration>,
    /// How long a killed process stays down.
    pub down_for: Range<Duration>,
    /// The least number of kills: after the last purchase, kills go on (during the deliveries)
    /// until there have been this many, the chain node and a storage node each at least once.
    pub min_kills: usize,
    /// Seed of the kills' timing and targets, printed with the figures to replay a run.
    pub seed: u64,
    /// How long the deliveries may take after the last purchase.
    pub drain_timeout: Duration,
}

impl SoakConfig {
    /// A run of `purchases` in `dir`, ten a second, with kills every 0.5–2 s, each process down
    /// for up to 1 s, at least 6 kills, and 64 KiB–256 KiB offers.
    pub fn new(dir: &Path, purchases: usize, seed: u64) -> Self {
        Self {
            dir: dir.to_path_buf(),
            purchases,
            purchase_every: Duration::from_millis(100),
            offers_per_node: 2,
            blob_size: 256 << 10,
            kill_every: Duration::from_millis(500)..Duration::from_millis(2000),
            down_for: Duration::from_millis(50)..Duration::from_millis(1000),
            min_kills: 6,
            seed,
            drain_timeout: Duration::from_secs(300),
        }
    }
}

/// The figures of a finished soak, every check passed.
#[derive(Clone, Debug, Serialize)]
pub struct SoakReport {
    /// The seed of the kills.
    pub seed: u64,
    /// Purchases committed (and delivered, each exactly once).
    pub purchases: usize,
    /// Offers, across both storage nodes.
    pub offers: usize,
    /// Bytes of plaintext delivered and verified.
    pub bytes_delivered: u64,
    /// `kill -9` of the chain node.
    pub chain_kills: usize,
    /// `kill -9` of a storage node.
    pub storage_kills: usize,
    /// Purchases that met an outage (the chain node down or restarting) and waited for it.
    pub purchases_delayed: u64,
    /// Broadcasts whose outcome was lost with the node (connection refused or cut) and were sent
    /// again, byte for byte.
    pub broadcasts_resent: u64,
    /// Purchases whose commit answer was lost but which the chain had committed: found by hash.
    pub found_by_hash: u64,
    /// Delivery attempts by the storage nodes, all purchases together.
    pub delivery_attempts: u64,
    /// Attempts beyond the first, per purchase, summed.
    pub delivery_retries: u64,
    /// Deliveries the inbox had saved already and answered `duplicate` (a storage node killed
    /// after the inbox saved, before it recorded the answer).
    pub duplicates_answered: usize,
    /// From the first purchase to the last commit.
    pub purchase_seconds: f64,
    /// From the last commit to the last save at the inbox.
    pub drain_seconds: f64,
}

impl fmt::Display for SoakReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: [(&str, String); 14] = [
            ("seed", self.seed.to_string()),
            (
                "purchases committed and delivered once",
                self.purchases.to_string(),
            ),
            ("offers (two storage nodes)", self.offers.to_string()),
            (
                "bytes delivered and verified",
                self.bytes_delivered.to_string(),
            ),
            ("kill -9 of the chain node", self.chain_kills.to_string()),
            ("kill -9 of a storage node", self.storage_kills.to_string()),
            (
                "purchases delayed by an outage",
                self.purchases_delayed.to_string(),
            ),
            (
                "broadcasts resent after a kill",
                self.broadcasts_resent.to_string(),
            ),
            ("commits found by hash", self.found_by_hash.to_string()),
            ("delivery attempts", self.delivery_attempts.to_string()),
            ("delivery retries", self.delivery_retries.to_string()),
            (
                "duplicates answered by the inbox",
                self.duplicates_answered.to_string(),
            ),
            (
                "purchasing (s)",
                format!(
                    "{:.1} ({:.1} purchases/s)",
                    self.purchase_seconds,
                    self.purchases as f64 / self.purchase_seconds.max(f64::EPSILON)
                ),
            ),
            (
                "last delivery after the last commit (s)",
                format!("{:.1}", self.drain_seconds),
            ),
        ];
        for (name, value) in rows {
            writeln!(f, "{name:<42} {value}")?;
        }
        Ok(())
    }
}

/// An offer on sale and the bytes it is of.
struct Offer {
    id: u64,
    plaintext: Vec<u8>,
}

/// The processes the chaos thread kills and restarts; handed back when it stops.
struct Processes {
    chain: DevNode,
    storage: Vec<StorageNode>,
}

/// What the chaos thread did.
#[derive(Default)]
struct Kills {
    chain: usize,
    storage: usize,
}

/// Runs the soak.
///
/// # Errors
/// When setting up fails, a purchase cannot be made within its deadline, the deliveries do not
/// all arrive within the drain timeout, or any check fails; the error says which, and the logs
/// are in `config.dir`.
pub fn run(config: &SoakConfig) -> Result<SoakReport> {
    let dir = &config.dir;
    let chain = DevNode::start(&dir.join("chain")).context("starting consign dev")?;
    let market = deploy_data_sale(&chain)?;
    let storage = (0..2)
        .map(|i| {
            StorageNode::start(
                &dir.join(format!("storage-{i}")),
                &chain.url,
                &["--allow-private-egress"],
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let offers = sell(config, &chain, &storage, &market)?;

    // The buyer: the dev account `bob`, its inbox taking only its purchases from this market.
    let recipient = chain.age_key("buyer")?;
    let inbox = Inbox::start(
        &chain,
        &dir.join("inbox"),
        "127.0.0.1:0",
        &["--age-key", "buyer", "--contract", &market, "--from", "bob"],
    );
    let address = DeliveryAddress {
        endpoint: format!("{}/", inbox.url),
        key: recipient,
    };
    let buyer = SecretKey::from_seed("bob");
    let runtime = crate::runtime();
    let client = NodeClient::new(&chain.url)?;
    let status = runtime.block_on(client.status())?;
    let fee = min_fee(&status.min_gas_price, PURCHASE_GAS);
    let sequence_before = runtime.block_on(client.account(&buyer.address()))?.sequence;

    // Chaos from here on.
    let stop = Arc::new(AtomicBool::new(false));
    let chaos = {
        let stop = Arc::clone(&stop);
        let config = config.clone();
        let processes = Processes { chain, storage };
        std::thread::spawn(move || chaos(processes, &config, &stop))
    };

    let buying = Buyer {
        delayed: std::cell::Cell::new(false),
        client: &client,
        key: &buyer,
        chain_id: &status.chain_id,
        fee: &fee,
    };
    let started = Instant::now();
    let mut bought: BTreeMap<u64, (usize, TxResult)> = BTreeMap::new();
    let mut counts = Counts::default();
    let outcome = (|| -> Result<()> {
        for i in 0..config.purchases {
            let start_at = started + config.purchase_every * u32::try_from(i)?;
            std::thread::sleep(start_at.saturating_duration_since(Instant::now()));
            let which = i % offers.len();
            let msg = ExecuteMsg::purchase(offers[which].id, address.clone())
                .to_msg(&market, coins(100, "ucsn"));
            let result = runtime
                .block_on(buying.purchase(msg, &mut counts))
                .with_context(|| format!("purchase {} of {}", i + 1, config.purchases))?;
            if buying.delayed.replace(false) {
                counts.delayed += 1;
            }
            let id = created_purchase_id(&result.events, &market)?;
            ensure!(
                bought.insert(id, (which, result)).is_none(),
                "purchase id {id} was returned twice"
            );
        }
        Ok(())
    })();
    let purchase_seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::SeqCst);
    let joined = chaos.join().expect("the chaos thread does not panic");
    outcome?;
    let (processes, kills) = joined?;
    let last_commit = Instant::now();

    // Every purchase saved once at the inbox.
    let deadline = last_commit + config.drain_timeout;
    let mut events = EventCounts::new(&inbox);
    let saved = loop {
        let saved = events.by_purchase("saved");
        if bought.keys().all(|id| saved.contains_key(id)) {
            break saved.clone();
        }
        if Instant::now() > deadline {
            let missing: Vec<_> = bought.keys().filter(|id| !saved.contains_key(id)).collect();
            bail!(
                "{} of {} purchases were not delivered within {:?} (purchase ids {missing:?}); \
                 logs in {}",
                missing.len(),
                bought.len(),
                config.drain_timeout,
                dir.display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let drain_seconds = last_commit.elapsed().as_secs_f64();
    // A storage node that resends what the inbox saved already gets `duplicate`, not a second
    // file; wait a little for any such late resend to be counted too.
    std::thread::sleep(Duration::from_secs(2));

    let bytes_delivered = check_saved(&inbox, &bought, &offers, &saved)?;
    // A new client: the old one's pooled connections may be to a chain node since killed.
    let client = NodeClient::new(&processes.chain.url)?;
    check_chain(&runtime, &client, &buyer, sequence_before, &bought)?;
    let (delivery_attempts, delivery_retries) =
        check_storage(&runtime, &processes.storage, &bought)?;
    Ok(SoakReport {
        seed: config.seed,
        purchases: bought.len(),
        offers: offers.len(),
        bytes_delivered,
        chain_kills: kills.chain,
        storage_kills: kills.storage,
        purchases_delayed: counts.delayed,
        broadcasts_resent: counts.resent,
        found_by_hash: counts.found_by_hash,
        delivery_attempts,
        delivery_retries,
        duplicates_answered: events.by_purchase("duplicate").values().sum(),
        purchase_seconds,
        drain_seconds,
    })
}

/// Two sellers, one per storage node, each uploads and registers `offers_per_node` files and
/// vanishes (keys and all) before the first purchase.
fn sell(
    config: &SoakConfig,
    chain: &DevNode,
    storage: &[StorageNode],
    market: &str,
) -> Result<Vec<Offer>> {
    let mut offers = Vec::new();
    for (n, node) in storage.iter().enumerate() {
        let seller = Seller::new(chain, &config.dir.join(format!("seller-{n}")))?;
        for k in 0..config.offers_per_node {
            let index = offers.len();
            let plaintext = sample_data(config.blob_size >> (index % 3), index as u8);
            let file = config.dir.join(format!("offer-{index}.bin"));
            std::fs::write(&file, &plaintext)?;
            let sold = seller
                .sell(chain, node, market, &file)
                .with_context(|| format!("seller {n}, offer {k}"))?;
            std::fs::remove_file(&file)?;
            offers.push(Offer {
                id: sold.offer_id,
                plaintext,
            });
        }
        seller.vanish()?;
    }
    Ok(offers)
}

/// Kills a random process at random moments until told to stop, `min_kills` are done and both
/// the chain node and a storage node were hit; every process runs again when it hands them back.
fn chaos(
    mut processes: Processes,
    config: &SoakConfig,
    stop: &AtomicBool,
) -> Result<(Processes, Kills)> {
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut kills = Kills::default();
    loop {
        let stopping = stop.load(Ordering::SeqCst);
        let enough = kills.chain + kills.storage >= config.min_kills;
        if stopping && enough && kills.chain > 0 && kills.storage > 0 {
            break;
        }
        std::thread::sleep(rng.gen_range(config.kill_every.clone()));
        // Random targets; once the purchases are done, whichever kind was never hit.
        let target = match (stopping, kills.chain, kills.storage) {
            (true, 0, _) => 0,
            (true, _, 0) => rng.gen_range(1..=processes.storage.len()),
            _ => rng.gen_range(0..=processes.storage.len()),
        };
        let down = rng.gen_range(config.down_for.clone());
        if target == 0 {
            processes.chain.kill9();
            kills.chain += 1;
            std::thread::sleep(down);
            processes
                .chain
                .restart()
                .context("restarting the chain node")?;
        } else {
            let node = &mut processes.storage[target - 1];
            node.kill9();
            kills.storage += 1;
            std::thread::sleep(down);
            node.restart()
                .with_context(|| format!("restarting storage node {target}"))?;
        }
        report_kill(&kills, target);
    }
    Ok((processes, kills))
}

fn report_kill(kills: &Kills, target: usize) {
    let what = if target == 0 {
        "chain node".to_owned()
    } else {
        format!("storage node {target}")
    };
    eprintln!(
        "soak: killed and restarted the {what} (kills so far: chain {}, storage {})",
        kills.chain, kills.storage
    );
}

/// How the buyer's broadcasts went.
#[derive(Default)]
struct Counts {
    delayed: u64,
    resent: u64,
    found_by_hash: u64,
}

/// The buyer's side of a purchase: sign once, and settle an unknown outcome without ever
/// paying twice.
struct Buyer<'a> {
    /// Set when the purchase under way waited for the node.
    delayed: std::cell::Cell<bool>,
    client: &'a NodeClient,
    key: &'a SecretKey,
    chain_id: &'a str,
    fee: &'a [Coin],
}

impl Buyer<'_> {
    /// Signs `msg` with the account's next sequence and broadcasts it until it is committed.
    /// When the answer is lost (the node died), the same bytes are sent again once the node
    /// answers; a refusal then means the sequence is taken, by this transaction (committed, or
    /// still pending) or by none: the hash says which.
    async fn purchase(&self, msg: Msg, counts: &mut Counts) -> Result<TxResult> {
        let deadline = Instant::now() + PURCHASE_DEADLINE;
        let mut backoff =
            Backoff::new(Duration::from_millis(50), Duration::from_secs(1)).attempts();
        let sequence = loop {
            match self.client.account(&self.key.address()).await {
                Ok(account) => break account.sequence,
                Err(e) => self.wait(&e, deadline, backoff.next_delay()).await?,
            }
        };
        let tx = Tx::sign(
            TxBody {
                chain_id: self.chain_id.to_owned(),
                sender: self.key.address(),
                sequence,
                gas_limit: PURCHASE_GAS,
                fee: self.fee.to_vec(),
                memo: String::new(),
                messages: vec![msg],
            },
            self.key,
        );
        let bytes = tx.to_bytes();
        let hash = Tx::hash(&bytes);
        let mut sent = false;
        loop {
            let commit = BroadcastMode::Commit {
                timeout: Duration::from_secs(10),
            };
            let error = match self.client.broadcast_bytes(bytes.clone(), commit).await {
                Ok(Broadcast::Committed(result)) => return committed(result),
                Ok(Broadcast::Checked(_)) => bail!("a commit-mode broadcast answered unchecked"),
                Err(e) => e,
            };
            if sent {
                counts.resent += 1;
            }
            sent = true;
            if let ClientError::Refused { .. } = error {
                // Taken sequence: this transaction committed while the answer was lost, or
                // waits in the mempool (resent after a commit timeout).
                match self.settle(&hash, sequence, deadline).await? {
                    Some(result) => {
                        counts.found_by_hash += 1;
                        return committed(result);
                    }
                    None => bail!("the node refused the purchase: {error}"),
                }
            }
            self.wait(&error, deadline, backoff.next_delay()).await?;
        }
    }

    /// After a refused resend: the transaction's result once it is committed, or `None` if it is
    /// neither committed nor pending (the account's next sequence is still its own).
    async fn settle(
        &self,
        hash: &TxHash,
        sequence: u64,
        deadline: Instant,
    ) -> Result<Option<TxResult>> {
        let mut backoff =
            Backoff::new(Duration::from_millis(20), Duration::from_millis(500)).attempts();
        loop {
            match self.client.tx(hash).await {
                Ok(result) => return Ok(Some(result)),
                Err(e) if e.is_not_found() => {
                    match self.client.account(&self.key.address()).await {
                        Ok(account) if account.sequence <= sequence => return Ok(None),
                        Ok(_) => {} // pending, or committed since the lookup
                        Err(e) => self.wait(&e, deadline, Duration::ZERO).await?,
                    }
                }
                Err(e) => self.wait(&e, deadline, Duration::ZERO).await?,
            }
            self.wait_for(deadline, backoff.next_delay()).await?;
        }
    }

    /// Sleeps `delay` after `error`, unless the purchase's deadline has passed.
    async fn wait(&self, error: &ClientError, deadline: Instant, delay: Duration) -> Result<()> {
        self.delayed.set(true);
        self.wait_for(deadline, delay)
            .await
            .with_context(|| format!("last error: {error}"))
    }

    async fn wait_for(&self, deadline: Instant, delay: Duration) -> Result<()> {
        ensure!(
            Instant::now() < deadline,
            "no commit within {PURCHASE_DEADLINE:?}"
        );
        tokio::time::sleep(delay).await;
        Ok(())
    }
}

fn committed(result: TxResult) -> Result<TxResult> {
    ensure!(
        result.code == 0,
        "the purchase failed in block {}: {}",
        result.height,
        result.log
    );
    Ok(result)
}

/// How many events of each kind the inbox printed, per purchase id, kept up to date by reading
/// only what it printed since the last look.
struct EventCounts {
    feed: EventFeed,
    /// Kind → purchase id → count.
    counts: HashMap<String, HashMap<u64, usize>>,
}

impl EventCounts {
    fn new(inbox: &Inbox) -> Self {
        Self {
            feed: inbox.follow(),
            counts: HashMap::new(),
        }
    }

    /// The events of `kind` so far, per purchase id.
    fn by_purchase(&mut self, kind: &str) -> &HashMap<u64, usize> {
        for event in self.feed.new_events() {
            if let (Some(kind), Some(id)) = (event["event"].as_str(), event["purchase_id"].as_u64())
            {
                *self
                    .counts
                    .entry(kind.to_owned())
                    .or_default()
                    .entry(id)
                    .or_insert(0) += 1;
            }
        }
        self.counts.entry(kind.to_owned()).or_default()
    }
}

/// Exactly one save per purchase and no other, each file the offer's exact bytes; returns the
/// bytes delivered.
fn check_saved(
    inbox: &Inbox,
    bought: &BTreeMap<u64, (usize, TxResult)>,
    offers: &[Offer],
    saved: &HashMap<u64, usize>,
) -> Result<u64> {
    let doubled: Vec<_> = saved.iter().filter(|(_, n)| **n > 1).collect();
    ensure!(doubled.is_empty(), "saved more than once: {doubled:?}");
    let strangers: Vec<_> = saved.keys().filter(|id| !bought.contains_key(id)).collect();
    ensure!(
        strangers.is_empty(),
        "saved purchases never made: {strangers:?}"
    );
    let files = inbox.saved_files();
    ensure!(
        files.len() == bought.len(),
        "{} files saved for {} purchases: {files:?}",
        files.len(),
        bought.len()
    );
    let mut bytes = 0;
    for (id, (offer, _)) in bought {
        let file = inbox.out.join(format!("test_data-{id}"));
        let content =
            std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        ensure!(
            content == offers[*offer].plaintext,
            "{} is not offer {}'s bytes",
            file.display(),
            offers[*offer].id
        );
        bytes += content.len() as u64;
    }
    Ok(bytes)
}

/// Every purchase the buyer saw committed is still in its block, and the buyer's account
/// committed exactly one transaction per purchase.
fn check_chain(
    runtime: &tokio::runtime::Runtime,
    client: &NodeClient,
    buyer: &SecretKey,
    sequence_before: u64,
    bought: &BTreeMap<u64, (usize, TxResult)>,
) -> Result<()> {
    for (id, (_, seen)) in bought {
        let now = runtime
            .block_on(client.tx(&seen.txhash))
            .with_context(|| format!("purchase {id}'s transaction {} is lost", seen.txhash))?;
        ensure!(
            now.height == seen.height && now.code == 0,
            "purchase {id}'s transaction moved: committed in block {}, now in {} (code {})",
            seen.height,
            now.height,
            now.code
        );
    }
    let sequence = runtime.block_on(client.account(&buyer.address()))?.sequence;
    ensure!(
        sequence - sequence_before == bought.len() as u64,
        "the buyer committed {} transactions for {} purchases",
        sequence - sequence_before,
        bought.len()
    );
    Ok(())
}

/// Each purchase has exactly one delivery record, delivered, across the storage nodes; returns
/// the attempts and the retries.
fn check_storage(
    runtime: &tokio::runtime::Runtime,
    storage: &[StorageNode],
    bought: &BTreeMap<u64, (usize, TxResult)>,
) -> Result<(u64, u64)> {
    let mut records: HashMap<u64, Vec<DeliveryView>> = HashMap::new();
    for node in storage {
        let client = node.client();
        let mut after = None;
        loop {
            let page = runtime.block_on(client.deliveries(ADMIN_TOKEN, after, None, None))?;
            for view in page.deliveries {
                records.entry(view.purchase_id).or_default().push(view);
            }
            match page.next_after {
                Some(next) => after = Some(next),
                None => break,
            }
        }
    }
    let (mut attempts, mut retries) = (0, 0);
    for id in bought.keys() {
        let views = records.remove(id).unwrap_or_default();
        ensure!(
            views.len() == 1,
            "purchase {id} has {} delivery records",
            views.len()
        );
        ensure!(
            views[0].state == DeliveryState::Delivered,
            "purchase {id}'s delivery is {:?}",
            views[0].state
        );
        attempts += u64::from(views[0].attempts);
        retries += u64::from(views[0].attempts.saturating_sub(1));
    }
    ensure!(
        records.is_empty(),
        "deliveries for purchases never made: {:?}",
        records.keys()
    );
    Ok((attempts, retries))
}

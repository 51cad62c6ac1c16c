//! `consign demo`: the mission, played end to end on this machine with real processes, real
//! transactions and real transfers, narrated step by step with what happened and how long it
//! took. Every step is a `consign` command a person can type; the demo shows them.

mod custody;
mod process;

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use consign_client::seal::AgeIdentity;
use consign_client::{Keyring, SecretKey, StorageClient};
use consign_market::InstantiateMsg;
use serde_json::json;

use consign_util::daemon::Daemon;

use self::process::{Cli, STOP_GRACE};
use super::args::parse_size;
use super::{OutputFormat, Session, EXIT_OK};

/// Long help of `consign demo`.
pub(super) const LONG_ABOUT: &str = "\
Play Consign's story on this machine: a buyer buys confidential data through a public contract
and receives it while the seller is offline.

It starts a local chain (`consign dev`) and three storage nodes (`consign-storage serve`) as
separate processes on loopback, deploys the data-sale contract, and then, with real transactions
and real transfers: a seller spreads a file 2-of-3 over the storage nodes (encrypted on its
machine to a fresh key, erasure-coded into three fragments, the key split into three shares, one
of each per node), offers it on-chain and registers each piece privately, and goes offline (its
process ends, its keys are deleted); a buyer starts an inbox; one storage node stops; the buyer
purchases, naming the inbox as the delivery address; the contract completes and records a
delivery instruction; the two nodes left each deliver their piece, encrypted to the buyer; the
inbox checks every piece, rebuilds the key and the file, checks its SHA-256 against the offer and
confirms receipt, which pays the seller. Last, it opens each storage node's directory with that
node's own key, which yields only ciphertext it cannot decrypt, and the buyer's rebuilt key,
which decrypts it.

Each step prints what happened and how long it took. Everything lives in --dir (a new temporary
directory by default, removed at the end unless --keep).";

/// Examples for `consign demo --help`.
pub(super) const EXAMPLES: &str = "\
Examples:
  consign demo
  Keep the chain, the storage nodes and their files running afterwards, to try things by hand:
    consign demo --keep --dir /tmp/consign-demo
  A larger file (shows the transfer rate):
    consign demo --size 256MiB";

/// `consign demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Where to keep the chain, the storage nodes, the keys and the files [default: a new
    /// temporary directory].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Leave the chain and the storage nodes running, and the directory in place, when done.
    #[arg(long)]
    pub keep: bool,
    /// The size of the file sold (`1MiB`, `256MiB`, `2GiB`).
    #[arg(long, value_name = "SIZE", default_value = "1MiB", value_parser = parse_size)]
    pub size: u64,
    /// The data-sale contract's wasm [default: target/contracts/data_sale.wasm, as built by
    /// scripts/build-contracts.sh, found from here or from this binary's directory].
    #[arg(long, value_name = "FILE.wasm")]
    pub wasm: Option<PathBuf>,
}

/// How to play the story by hand, printed at the end.
const HAND_STEPS: &str = "\
Done. To keep a chain running and play each step by hand (each daemon in its own terminal):
  consign dev                                  # a local chain in ~/.consign; Ctrl-C stops it
  consign-storage serve --data-dir ~/.consign-storage --node-url $(cat ~/.consign/api.url) --allow-private-egress
  consign tx wasm store target/contracts/data_sale.wasm --gas 50000000 --from alice     # prints code_id
  consign tx wasm instantiate CODE_ID '{\"arbiter\":\"'$(consign keys show carol -a)'\",\"release_window_seconds\":86400}' \\
      --label market --no-admin --from alice                                             # prints contract_address
  export CONSIGN_CONTRACT=CONTRACT_ADDRESS CONSIGN_STORAGE=http://127.0.0.1:7070
  consign sell FILE --price 100ucsn --title 'Test data' --from alice                    # prints offer_id
  # k-of-n: start more storage nodes (their own --data-dir and --listen), then
  #   consign sell FILE --storage URL1 --storage URL2 --storage URL3 --threshold 2 --price 100ucsn --title T --from alice
  consign keys age bob && consign inbox --age-key bob --out ./inbox --confirm --from bob
  consign buy OFFER_ID --deliver-to http://127.0.0.1:8080/ --recipient $(consign keys age bob --show) --from bob
Or run `consign demo --keep` to leave this demo's chain and storage nodes running.";

/// The price in the demo.
const PRICE: &str = "5000ucsn";

/// The storage nodes the demo's seller spreads its file over, and how many must deliver.
const STORAGE_NODES: usize = 3;
const THRESHOLD: &str = "2";

/// A storage node the demo started.
struct StorageNode {
    daemon: Daemon,
    url: String,
    dir: PathBuf,
}

/// A step's narration: its number and title, what happened, and how long it took.
struct Narrator<'a, W: Write> {
    out: &'a mut W,
    step: u32,
    json: bool,
}

impl<W: Write> Narrator<'_, W> {
    fn step(&mut self, title: &str, started: Instant, lines: &[String]) -> anyhow::Result<()> {
        self.step += 1;
        let elapsed = started.elapsed();
        if self.json {
            writeln!(
                self.out,
                "{}",
                json!({"step": self.step, "title": title, "ms": elapsed.as_secs_f64() * 1e3, "details": lines})
            )?;
        } else {
            writeln!(
                self.out,
                "{:>2}. {title}  ({})",
                self.step,
                human_duration(elapsed)
            )?;
            for line in lines {
                writeln!(self.out, "      {line}")?;
            }
        }
        self.out.flush()?;
        Ok(())
    }

    fn say(&mut self, text: &str) -> anyhow::Result<()> {
        if !self.json {
            writeln!(self.out, "{text}")?;
        }
        Ok(())
    }
}

/// Carries out `consign demo`.
///
/// # Errors
///
/// If a binary or the contract cannot be found, or a step fails; the message says which.
pub fn run(args: &DemoArgs, session: &Session, out: &mut impl Write) -> anyhow::Result<u8> {
    let output = session.output;
    let consign = std::env::current_exe().context("cannot find this program's path")?;
    let storage_bin = sibling(&consign, "consign-storage")?;
    let wasm = find_wasm(args.wasm.as_deref(), &consign)?;
    let mut temp = None;
    let dir = match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            dir.clone()
        }
        None => {
            let made = tempfile::Builder::new().prefix("consign-demo-").tempdir()?;
            let path = made.path().to_path_buf();
            temp = Some(made);
            path
        }
    };
    let mut n = Narrator {
        out,
        step: 0,
        json: output == OutputFormat::Json,
    };
    n.say("Consign demo: a buyer receives confidential data while its seller is offline.")?;
    n.say(&format!(
        "Every part runs here as its own process, on loopback. Files: {}\n",
        dir.display()
    ))?;

    // 1. The chain.
    let t = Instant::now();
    let chain_home = dir.join("chain");
    let (mut chain, node_url) = process::start(
        "consign dev",
        &consign,
        &[],
        &os(
            &["dev", "--home"],
            &chain_home,
            &["--api", "127.0.0.1:0", "--block-time", "0"],
        ),
        &dir.join("chain.log"),
        &chain_home.join("api.url"),
    )?;
    n.step(
        "A local chain starts",
        t,
        &[format!(
            "consign dev: {node_url} (pid {}); dev accounts alice (the marketplace), bob (the buyer), carol (the arbiter)",
            chain.pid().unwrap_or(0)
        )],
    )?;
    let cli = Cli {
        program: consign.clone(),
        node: node_url.clone(),
    };

    // 2. The storage nodes.
    let t = Instant::now();
    let admin_token = hex::encode(SecretKey::generate().to_bytes());
    let mut storage = Vec::with_capacity(STORAGE_NODES);
    for i in 0..STORAGE_NODES {
        let storage_dir = dir.join(format!("storage-{i}"));
        let (daemon, url) = process::start(
            "consign-storage",
            &storage_bin,
            &[("CONSIGN_STORAGE_ADMIN_TOKEN", &admin_token)],
            &os(
                &["serve", "--data-dir"],
                &storage_dir,
                &[
                    "--listen",
                    "127.0.0.1:0",
                    "--node-url",
                    &node_url,
                    "--allow-private-egress",
                ],
            ),
            &dir.join(format!("storage-{i}.log")),
            &storage_dir.join("api.url"),
        )?;
        storage.push(StorageNode {
            daemon,
            url,
            dir: storage_dir,
        });
    }
    let mut lines: Vec<String> = storage
        .iter()
        .enumerate()
        .map(|(i, s)| {
            format!(
                "storage node {i}: {} (pid {})",
                s.url,
                s.daemon.pid().unwrap_or(0)
            )
        })
        .collect();
    lines.push("three operators who need not trust each other, nor be trusted: each follows the chain's public delivery feed and may deliver to loopback here (--allow-private-egress)".into());
    n.step("Three storage nodes start", t, &lines)?;
    let storage_urls: Vec<String> = storage.iter().map(|s| s.url.clone()).collect();

    // 3. The contract.
    let t = Instant::now();
    let stored = cli.json(
        &chain_home,
        &[
            "tx",
            "wasm",
            "store",
            path_str(&wasm)?,
            "--from",
            "alice",
            "--gas",
            "50000000",
        ],
    )?;
    let code_id = stored["code_id"]
        .as_u64()
        .context("no code id")?
        .to_string();
    let init = serde_json::to_string(&InstantiateMsg {
        arbiter: SecretKey::from_seed("carol").address(),
        release_window_seconds: 86_400,
        arbitration_window_seconds: None,
    })?;
    let made = cli.json(
        &chain_home,
        &[
            "tx",
            "wasm",
            "instantiate",
            &code_id,
            &init,
            "--label",
            "data-sale",
            "--no-admin",
            "--from",
            "alice",
        ],
    )?;
    let market = made["contract_address"]
        .as_str()
        .context("no contract address")?
        .to_owned();
    n.step(
        "The data-sale contract is deployed",
        t,
        &[
            format!("code {code_id}, contract {market}"),
            "escrow release window 24 h; disputes go to carol".into(),
        ],
    )?;

    // 4. The seller's data, and the seller.
    let t = Instant::now();
    let seller_home = dir.join("seller");
    let seller = SecretKey::generate();
    Keyring::new(seller_home.join("keys")).import("seller", seller.clone())?;
    cli.json(
        &chain_home,
        &[
            "tx",
            "bank",
            "send",
            "alice",
            &seller.address(),
            "1000000ucsn",
        ],
    )?;
    let file = seller_home.join("weather-2026.csv");
    write_sample(&file, args.size)?;
    let sha = consign_util::fs::hash_file(&file)?.0;
    n.step(
        "The seller has data to sell",
        t,
        &[
            format!("{}: {} bytes, sha256 {sha}", file.display(), args.size),
            format!(
                "seller account {} (a fresh key in its own keyring)",
                seller.address()
            ),
        ],
    )?;

    // 5. The seller sells, in advance, as its own process.
    let t = Instant::now();
    let mut sell_args = vec!["sell", path_str(&file)?];
    for url in &storage_urls {
        sell_args.extend(["--storage", url.as_str()]);
    }
    sell_args.extend([
        "--threshold",
        THRESHOLD,
        "--price",
        PRICE,
        "--title",
        "Weather readings 2026",
        "--description",
        "Hourly temperature and pressure, one station",
        "--terms",
        "personal use only",
        "--extension",
        "csv",
        "--from",
        "seller",
        "--contract",
        &market,
    ]);
    let sold = cli.json(&seller_home, &sell_args)?;
    let offer_id = sold["offer_id"].as_u64().context("no offer id")?;
    let upload_rate = args.size as f64 / t.elapsed().as_secs_f64() / 1e6;
    n.step(
        "The seller sells, in advance, 2 of 3",
        t,
        &[
            format!("$ consign sell weather-2026.csv --storage $S0 --storage $S1 --storage $S2 --threshold {THRESHOLD} --price {PRICE} --title 'Weather readings 2026' --extension csv --from seller"),
            "encrypted here to a fresh key (age); the ciphertext erasure-coded into 3 fragments, any 2 of which rebuild it; the key split 2-of-3 (Shamir, with public commitments)".into(),
            format!("fragment i and key share i (sealed to node i) uploaded to storage node i, signed ({upload_rate:.0} MB/s overall); the key itself was never written anywhere"),
            format!("offer {offer_id} created on-chain with the file's digest and size, k, n and the commitments"),
            "each node registered its piece privately, after checking on-chain that the signer is the seller and its fragment and share against the offer's commitments".into(),
        ],
    )?;

    // 6. The seller goes offline for good.
    let t = Instant::now();
    std::fs::remove_dir_all(&seller_home)?;
    n.step(
        "The seller goes offline",
        t,
        &["its process has ended; its keys and its copy of the file are deleted".into()],
    )?;

    // 7. What everyone can see.
    let t = Instant::now();
    let offer = cli.json(
        &chain_home,
        &[
            "offer",
            "show",
            &offer_id.to_string(),
            "--contract",
            &market,
        ],
    )?;
    let mut needles: Vec<String> = Vec::new();
    for url in &storage_urls {
        needles.push(url.clone());
        needles.push(session.block_on(StorageClient::new(url)?.info())?.node_id);
    }
    let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
    let leaks = storage_mentions(&cli, &chain_home, &needles)?;
    if leaks > 0 {
        bail!(
            "the chain mentions a storage node {leaks} times: the confidentiality rule is broken"
        );
    }
    n.step(
        "The public contract shows the offer, and nothing of where the data is",
        t,
        &[
            format!(
                "offer {offer_id}: \"{}\", {}, sha256 {}…, {} bytes",
                offer["title"].as_str().unwrap_or(""),
                PRICE,
                &sha[..16],
                offer["size"]
            ),
            format!(
                "fields: {}",
                offer
                    .as_object()
                    .map(|o| o.keys().cloned().collect::<Vec<_>>().join(", "))
                    .unwrap_or_default()
            ),
            "every block and transaction checked: no storage node's address or id appears anywhere"
                .into(),
        ],
    )?;

    // 8. The buyer's inbox.
    let t = Instant::now();
    let buyer_dir = dir.join("buyer");
    std::fs::create_dir_all(&buyer_dir)?;
    let identity = AgeIdentity::generate();
    let identity_file = buyer_dir.join("bob.agekey");
    identity.save_new(&identity_file)?;
    let inbox_dir = buyer_dir.join("inbox");
    let inbox_url_file = buyer_dir.join("inbox.url");
    let mut inbox_args = os(
        &["inbox", "--home"],
        &chain_home,
        &["--node", &node_url, "--listen", "127.0.0.1:0", "--identity"],
    );
    inbox_args.push(identity_file.into());
    let keys_dir = buyer_dir.join("keys");
    inbox_args.extend(os(&["--keep-keys"], &keys_dir, &[]));
    inbox_args.extend(os(
        &["--out"],
        &inbox_dir,
        &[
            "--contract",
            &market,
            "--confirm",
            "--from",
            "bob",
            "--exit-after",
            "1",
            "--url-file",
        ],
    ));
    inbox_args.push(inbox_url_file.clone().into());
    let (mut inbox, inbox_url) = process::start(
        "consign inbox",
        &consign,
        &[],
        &inbox_args,
        &dir.join("inbox.log"),
        &inbox_url_file,
    )?;
    n.step(
        "The buyer opens an inbox",
        t,
        &[
            format!(
                "consign inbox: {inbox_url} (pid {}), saving to {}",
                inbox.pid().unwrap_or(0),
                inbox_dir.display()
            ),
            format!("bob's age key: {}", identity.recipient()),
        ],
    )?;

    // 9. A storage node goes down: k of n still deliver.
    let t = Instant::now();
    let mut down = storage.remove(1);
    let down_pid = down.daemon.pid().unwrap_or(0);
    down.daemon.terminate(STOP_GRACE)?;
    n.step(
        "Storage node 1 goes down before the purchase",
        t,
        &[format!(
            "pid {down_pid} stopped; nodes 0 and 2 remain: 2 of 3, enough to deliver"
        )],
    )?;

    // 10. The purchase: the contract's completion.
    let t = Instant::now();
    let seller_before = balance(&cli, &chain_home, &seller.address())?;
    let bought = cli.json(
        &chain_home,
        &[
            "buy",
            &offer_id.to_string(),
            "--deliver-to",
            &inbox_url,
            "--recipient",
            &identity.recipient(),
            "--from",
            "bob",
            "--contract",
            &market,
        ],
    )?;
    let committed = Instant::now();
    let purchase_id = bought["purchase_id"].as_u64().context("no purchase id")?;
    n.step(
        "The buyer purchases, writing the delivery address into the contract",
        t,
        &[
            format!(
                "$ consign buy {offer_id} --deliver-to {inbox_url} --recipient age1… --from bob"
            ),
            format!(
                "purchase {purchase_id} committed in block {}; {PRICE} held in escrow",
                bought["height"]
            ),
            format!(
                "the contract completed: delivery instruction #{} recorded by the runtime",
                bought["delivery_sequence"]
            ),
        ],
    )?;

    // 11. The delivery.
    let saved = wait_for_file(&inbox_dir, Duration::from_secs(600), &mut inbox)?;
    let delivered_after = committed.elapsed();
    let saved_sha = consign_util::fs::hash_file(&saved)?.0;
    if saved_sha != sha {
        bail!(
            "the inbox saved {} with sha256 {saved_sha}, not {sha}",
            saved.display()
        );
    }
    let mut lines = Vec::new();
    for node in &storage {
        let attempts = session
            .block_on(StorageClient::new(&node.url)?.deliveries(&admin_token, None, None, None))?
            .deliveries
            .first()
            .map_or(0, |d| d.attempts);
        lines.push(format!(
            "{} sent its fragment and its key share, encrypted to bob's key (age); accepted on attempt {attempts}",
            node.url
        ));
    }
    lines.push(format!("the inbox checked each piece against the offer's commitments, rebuilt the key from 2 shares and the file from 2 fragments, {} after the commit", human_duration(delivered_after)));
    lines.push(format!(
        "decrypted and checked against the offer's sha256: saved {}",
        saved.display()
    ));
    n.step(
        "Two storage nodes deliver; the inbox rebuilds and verifies",
        committed,
        &lines,
    )?;

    // 12. The escrow.
    let t = Instant::now();
    if !inbox.wait(Duration::from_secs(60))?.success() {
        bail!("the inbox failed; its log:\n{}", inbox.log_tail(20));
    }
    let seller_after = balance(&cli, &chain_home, &seller.address())?;
    let purchase = cli.json(
        &chain_home,
        &[
            "purchase",
            "show",
            &purchase_id.to_string(),
            "--contract",
            &market,
        ],
    )?;
    n.step(
        "The buyer confirms receipt; the escrow pays the seller",
        t,
        &[format!(
            "purchase {purchase_id}: {}; the seller's balance went from {seller_before} to {seller_after} ucsn, while it was offline",
            purchase["state"].as_str().unwrap_or("?")
        )],
    )?;

    // 13. What each node holds, against the keys in its directory and the buyer's.
    let t = Instant::now();
    let commitments: consign_custody::Commitments =
        serde_json::from_value(offer["custody"].clone())
            .context("the offer carries no custody commitments")?;
    let scratch = tempfile::Builder::new()
        .prefix("opened-")
        .tempdir_in(&dir)?;
    let mut lines = Vec::new();
    let mut fragments = Vec::new();
    for node in storage
        .iter()
        .map(|s| (&s.dir, ""))
        .chain([(&down.dir, " (stopped)")])
    {
        let found = custody::open_node(node.0, &commitments, scratch.path())?;
        lines.push(format!(
            "{}{}: its at-rest key opens its blob to fragment {} of {} ({} bytes), whose ciphertext `age -d` with that key refuses: {}",
            node.0.display(),
            node.1,
            found.header.index,
            found.header.params.n(),
            commitments.fragment_size(),
            found.refusal
        ));
        fragments.push(found.fragment);
    }
    let saved_name = saved
        .file_name()
        .context("the saved file has no name")?
        .to_string_lossy();
    let buyer_key_file = keys_dir.join(format!("{saved_name}.agekey"));
    let buyer_key = custody::load_identity(&buyer_key_file)?;
    let rebuilt_sha = custody::open_with_key(&commitments, &fragments[..2], &buyer_key)?;
    if rebuilt_sha != sha {
        bail!("the buyer's key opened the rebuilt ciphertext to sha256 {rebuilt_sha}, not {sha}");
    }
    lines.push(format!(
        "the buyer's key, rebuilt by its inbox from 2 shares ({}), opens the ciphertext rebuilt from fragments 0 and 2: sha256 {}…, the file",
        buyer_key_file.display(),
        &rebuilt_sha[..16]
    ));
    n.step(
        "No storage node can read what it holds; the buyer can",
        t,
        &lines,
    )?;
    drop(scratch);

    n.say("")?;
    if args.keep {
        let pids: Vec<String> = std::iter::once(&chain)
            .chain(storage.iter().map(|s| &s.daemon))
            .map(|d| d.pid().unwrap_or(0).to_string())
            .collect();
        let urls: Vec<&str> = storage.iter().map(|s| s.url.as_str()).collect();
        n.say(&format!(
            "The chain and storage nodes 0 and 2 are still running (pids {}); files in {}.\n\
             Try the steps by hand:\n  \
             export CONSIGN_HOME={} CONSIGN_CONTRACT={market}\n  \
             consign sell FILE --storage {} --threshold 1 --price 100ucsn --title 'Test data' --from alice\n  \
             consign keys age bob && consign inbox --age-key bob --out ./inbox --confirm --from bob &\n  \
             consign buy OFFER_ID --deliver-to http://127.0.0.1:8080/ --recipient $(consign keys age bob --show) --from bob\n\
             Stop them with: kill {}",
            pids.join(", "),
            dir.display(),
            chain_home.display(),
            urls.join(" --storage "),
            pids.join(" ")
        ))?;
        chain.detach();
        for node in storage {
            node.daemon.detach();
        }
        // The running processes use the directory: it stays.
        if let Some(temp) = temp {
            let _ = temp.keep();
        }
    } else {
        // Each was asked to stop; one that did not is killed, and the demo is done either way.
        for mut node in storage {
            let _ = node.daemon.terminate(STOP_GRACE);
        }
        let _ = chain.terminate(STOP_GRACE);
        n.say(HAND_STEPS)?;
    }
    Ok(EXIT_OK)
}

/// How often the chain's blocks, transactions and delivery feed mention any of `needles`.
fn storage_mentions(cli: &Cli, home: &Path, needles: &[&str]) -> anyhow::Result<usize> {
    let status = cli.json(home, &["status"])?;
    let height = status["height"].as_u64().unwrap_or(0);
    let mut text = cli.json(home, &["query", "deliveries"])?.to_string();
    for h in 1..=height {
        let block = cli.json(home, &["query", "block", &h.to_string()])?;
        for hash in block["txs"].as_array().into_iter().flatten() {
            let tx = cli.json(home, &["query", "tx", hash.as_str().unwrap_or("")])?;
            text.push_str(&tx.to_string());
        }
        text.push_str(&block.to_string());
    }
    Ok(needles
        .iter()
        .map(|needle| text.matches(needle).count())
        .sum())
}

fn balance(cli: &Cli, home: &Path, address: &str) -> anyhow::Result<u128> {
    let balances = cli.json(home, &["query", "bank", "balances", address])?;
    Ok(balances["balances"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["denom"] == "ucsn")
        .and_then(|c| c["amount"].as_str())
        .and_then(|a| a.parse().ok())
        .unwrap_or(0))
}

/// Waits until a file (not a hidden one, not a temporary one) appears in `dir`.
fn wait_for_file(dir: &Path, timeout: Duration, inbox: &mut Daemon) -> anyhow::Result<PathBuf> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !name.starts_with('.') && !name.ends_with(".part") && entry.path().is_file() {
                    return Ok(entry.path());
                }
            }
        }
        if Instant::now() > deadline {
            bail!(
                "nothing was delivered within {timeout:?}; the inbox's log:\n{}",
                inbox.log_tail(20)
            );
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Writes `size` bytes of plausible CSV: hourly readings of one weather station.
fn write_sample(path: &Path, size: u64) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let header = b"time,temperature_c,pressure_hpa\n";
    let mut written = 0u64;
    let mut hour = 0u64;
    let mut line = Vec::with_capacity(64);
    while written < size {
        line.clear();
        if hour == 0 {
            line.extend_from_slice(header);
        }
        let t = (hour * 7919 % 400) as f64 / 10.0 - 10.0;
        let p = 990 + hour * 104_729 % 40;
        writeln!(line, "2026-01-01T00:00+{hour}h,{t:.1},{p}")?;
        let n = line.len().min((size - written) as usize);
        out.write_all(&line[..n])?;
        written += n as u64;
        hour += 1;
    }
    out.flush()?;
    Ok(())
}

/// The binary `name` next to `exe` (where cargo puts a workspace's binaries).
fn sibling(exe: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let path = exe.with_file_name(name);
    if path.exists() {
        return Ok(path);
    }
    bail!(
        "{} is missing: build it with `cargo build --bins` (the README's first command does)",
        path.display()
    )
}

/// The data-sale contract's wasm: `--wasm`, else target/contracts/data_sale.wasm from the
/// current directory or next to this binary's target directory.
fn find_wasm(given: Option<&Path>, exe: &Path) -> anyhow::Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path.to_path_buf());
    }
    let mut candidates = vec![PathBuf::from("target/contracts/data_sale.wasm")];
    if let Some(target) = exe.parent().and_then(Path::parent) {
        candidates.push(target.join("contracts/data_sale.wasm"));
    }
    candidates.into_iter().find(|p| p.exists()).context(
        "the data-sale contract is not built: run `bash scripts/build-contracts.sh` (the README's first command does), or give --wasm FILE",
    )
}

fn os(before: &[&str], path: &Path, after: &[&str]) -> Vec<OsString> {
    before
        .iter()
        .map(OsString::from)
        .chain(std::iter::once(path.as_os_str().to_owned()))
        .chain(after.iter().map(OsString::from))
        .collect()
}

fn path_str(path: &Path) -> anyhow::Result<&str> {
    path.to_str()
        .with_context(|| format!("{} is not UTF-8", path.display()))
}

fn human_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{:.0} ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

//! The chaos soak, long: `scripts/soak.sh` (release binaries) or
//! `cargo run -p consign-tests --example soak -- --purchases 300`. Prints its figures, or what
//! failed and where the logs are.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use consign_tests::soak::{run, SoakConfig};

/// A chain node, two storage nodes and a buyer's inbox as real processes; purchases while the
/// chain node and the storage nodes are killed with SIGKILL at random moments; then checks that
/// every purchase was delivered exactly once, no committed transaction was lost and nothing was
/// doubled, and prints the figures.
#[derive(Parser)]
struct Args {
    /// How many purchases the buyer makes.
    #[arg(long, default_value_t = 300)]
    purchases: usize,
    /// Seed of the kills' timing and targets (random if not given; printed either way).
    #[arg(long)]
    seed: Option<u64>,
    /// The largest offer's size in bytes (the others are half and a quarter of it).
    #[arg(long, default_value_t = 256 << 10)]
    blob_size: usize,
    /// Purchases started per second.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Longest time, in milliseconds, between a process coming back and the next kill.
    #[arg(long, default_value_t = 2000)]
    kill_every_ms: u64,
    /// Where to keep the processes' data and logs (default: a temporary directory, removed
    /// after a successful run).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Print the figures as one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let seed = args.seed.unwrap_or_else(rand::random);
    let temp = tempfile::tempdir()?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    let mut config = SoakConfig::new(&dir, args.purchases, seed);
    config.blob_size = args.blob_size;
    anyhow::ensure!(args.rate > 0.0, "--rate must be above 0");
    config.purchase_every = Duration::from_secs_f64(1.0 / args.rate);
    config.kill_every =
        Duration::from_millis(args.kill_every_ms / 4)..Duration::from_millis(args.kill_every_ms);
    eprintln!(
        "soak: {} purchases, seed {seed}, data in {}",
        args.purchases,
        dir.display()
    );
    match run(&config) {
        Ok(report) if args.json => println!("{}", serde_json::to_string(&report)?),
        Ok(report) => print!("{report}"),
        Err(e) => {
            let kept = temp.keep();
            anyhow::bail!(
                "{e:#}\n(seed {seed}; logs in {})",
                if args.dir.is_some() { dir } else { kept }.display()
            );
        }
    }
    Ok(())
}

//! The chaos soak, short (issue 11): a chain node, two storage nodes and an inbox as real
//! processes; purchases while the chain node and the storage nodes are killed with `kill -9` and
//! restarted; every purchase delivered exactly once, no committed transaction lost, nothing
//! doubled. The long run is `scripts/soak.sh`; its figures are in `docs/RELIABILITY.md`.

use std::time::Duration;

use consign_tests::soak::{run, SoakConfig};

#[test]
fn purchases_survive_kill_9_of_the_chain_and_storage_nodes_and_are_delivered_once() {
    let dir = tempfile::tempdir().unwrap();
    // A different seed each run, printed so that a failure can be replayed.
    let seed = std::env::var("CONSIGN_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("soak seed: {seed} (CONSIGN_SOAK_SEED={seed} to replay)");
    let mut config = SoakConfig::new(dir.path(), 40, seed);
    config.blob_size = 64 << 10;
    // Purchases over about 4 s, a kill every 0.3–1 s meanwhile.
    config.purchase_every = Duration::from_millis(100);
    config.kill_every = Duration::from_millis(300)..Duration::from_millis(1000);
    config.min_kills = 4;
    let report = match run(&config) {
        Ok(report) => report,
        // Keep the logs of a failed run.
        Err(e) => panic!("{e:#}\nlogs in {}", dir.keep().display()),
    };
    eprintln!("{report}");
    assert_eq!(report.purchases, 40);
    assert!(report.chain_kills + report.storage_kills >= 4, "{report}");
    assert!(
        report.chain_kills >= 1 && report.storage_kills >= 1,
        "{report}"
    );
    assert_eq!(
        report.bytes_delivered,
        (0..40u64)
            .map(|i| (64u64 << 10) >> (i % 4 % 3))
            .sum::<u64>(),
        "{report}"
    );
}

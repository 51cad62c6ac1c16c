//! Custody throughput: the seller's preparation (age encryption, Reed–Solomon coding into
//! fragment files, fragment digests) and the buyer's rebuild (check each fragment as it arrives,
//! decode, decrypt, hash the plaintext) for (k, n) = (2, 3), with the peak heap each holds.
//!
//! ```text
//! cargo bench -p consign-custody --bench custody            # 256 MiB
//! CUSTODY_BENCH_SIZE=1GiB cargo bench -p consign-custody --bench custody
//! ```
//!
//! Needs 1.5 × the size free in the temporary folder (`TMPDIR`). Prints one line per phase.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::time::Instant;

use consign_custody::{check_fragment, prepare, rebuild, Params};
use consign_util::size::{format_size, parse_size};

#[path = "../tests/support/mod.rs"]
#[allow(dead_code)]
mod support;

use support::heap::peak_heap;
use support::input::Generated;

/// A writer that keeps only a count, as a receiving file system would take the bytes.
struct Count(u64);

impl Write for Count {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn line(phase: &str, bytes: u64, seconds: f64, peak: u64) {
    println!(
        "{phase:<44} {:>10} in {seconds:>7.2} s  {:>8.0} MB/s  peak heap {}",
        format_size(bytes),
        bytes as f64 / seconds / 1e6,
        format_size(peak),
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let size = match std::env::var("CUSTODY_BENCH_SIZE") {
        Ok(text) => parse_size(&text)?,
        Err(_) => 256 * 1024 * 1024,
    };
    let shard = match std::env::var("CUSTODY_BENCH_SHARD") {
        Ok(text) => u32::try_from(parse_size(&text)?)?,
        Err(_) => consign_custody::DEFAULT_SHARD_SIZE,
    };
    let params = Params::new(2, 3)?.with_shard_size(shard)?;
    println!(
        "custody (k, n) = (2, 3), {} of pseudo-random data, shards of {} (stripes of {}); buffer bound {}",
        format_size(size),
        format_size(u64::from(shard)),
        format_size(params.stripe_size()),
        format_size(params.buffer_bound()),
    );
    let dir = tempfile::tempdir()?;
    let paths: Vec<_> = (0..3)
        .map(|i| dir.path().join(format!("fragment-{i}")))
        .collect();

    let outputs = paths
        .iter()
        .map(|p| File::create(p).map(|f| BufWriter::with_capacity(64 * 1024, f)))
        .collect::<io::Result<Vec<_>>>()?;
    let start = Instant::now();
    let (prepared, peak) = peak_heap(|| prepare(params, Generated::new(size, 7), size, outputs));
    let prepared = prepared?;
    for fragment in prepared.fragments {
        fragment.into_inner()?.sync_all()?;
    }
    line(
        "prepare (encrypt, encode, write 3 files)",
        size,
        start.elapsed().as_secs_f64(),
        peak,
    );

    let open = |i: usize| File::open(&paths[i]).map(|f| BufReader::with_capacity(64 * 1024, f));
    let start = Instant::now();
    let input = open(2)?;
    let (checked, peak) = peak_heap(|| check_fragment(&prepared.commitments, input, Count(0)));
    checked?;
    let fragment = prepared.commitments.fragment_size();
    line(
        "check one fragment (SHA-256 as it arrives)",
        fragment,
        start.elapsed().as_secs_f64(),
        peak,
    );

    for (label, indices) in [
        ("rebuild from fragments 0, 1 (no decoding)", [0usize, 1]),
        ("rebuild from fragments 1, 2 (decoding)", [1, 2]),
    ] {
        let files = indices
            .iter()
            .map(|&i| open(i))
            .collect::<io::Result<Vec<_>>>()?;
        let shares = indices
            .iter()
            .map(|&i| prepared.shares[i].clone())
            .collect::<Vec<_>>();
        let start = Instant::now();
        let (report, peak) = peak_heap(|| rebuild(&prepared.commitments, &shares, files, Count(0)));
        let report = report?;
        assert_eq!(report.plaintext_size, size);
        line(label, size, start.elapsed().as_secs_f64(), peak);
    }
    Ok(())
}

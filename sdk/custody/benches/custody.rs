//! Custody throughput: the seller's preparation (age encryption, Reed–Solomon coding into
//! fragment files, fragment digests) and the buyer's rebuild (check each fragment as it arrives,
//! decode, decrypt, hash the plaintext) for (k, n) = (2, 3), with the peak heap each holds.
//!
//! ```text
//! cargo bench -p consign-custody --bench custody            # 256 MiB
//! CUSTODY_BENCH_SIZE=1GiB cargo bench -p consign-custody --bench custody
//! CUSTODY_BENCH_SHARD=64KiB cargo bench -p consign-custody --bench custody   # another shard size
//! ```
//!
//! Needs 1.5 × the size free in the temporary folder (`TMPDIR`). Prints one line per phase.
//! Run by `cargo test --all-targets` (the test command), it pushes 4 MiB through, as a check.

use std::fs::File;
use std::io::{self, BufReader, BufWriter};
use std::time::Instant;

use consign_custody::{check_fragment, prepare, rebuild, Params};
use consign_util::size::{format_size, parse_size};

#[path = "../tests/support/mod.rs"]
#[allow(dead_code)]
mod support;

use support::heap::peak_heap;
use support::input::Generated;

/// This process's CPU time (user + system) so far, in seconds: on a shared machine the wall
/// time says how busy the others were, the CPU time what the work cost.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct it is given; a zeroed rusage is a valid value.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Runs one phase and prints its figures.
fn phase<T>(label: &str, bytes: u64, f: impl FnOnce() -> T) -> T {
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let (out, peak) = peak_heap(f);
    let (wall, cpu) = (start.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    println!(
        "{label:<46} {:>10}  wall {wall:>6.2} s {:>6.0} MB/s  cpu {cpu:>6.2} s {:>6.0} MB/s  peak heap {}",
        format_size(bytes),
        bytes as f64 / wall / 1e6,
        bytes as f64 / cpu / 1e6,
        format_size(peak),
    );
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` (the test command) runs this
    // too, without it: then a small size, as a quick check that the benchmark still works.
    let benching = std::env::args().any(|arg| arg == "--bench");
    let size = match std::env::var("CUSTODY_BENCH_SIZE") {
        Ok(text) => parse_size(&text)?,
        Err(_) if benching => 256 * 1024 * 1024,
        Err(_) => 4 * 1024 * 1024,
    };
    let shard = match std::env::var("CUSTODY_BENCH_SHARD") {
        Ok(text) => u32::try_from(parse_size(&text)?)?,
        Err(_) => Params::new(2, 3)?.shard_size(),
    };
    let params = Params::new(2, 3)?.with_shard_size(shard)?;
    println!(
        "custody (k, n) = (2, 3), {} of pseudo-random data, shards of {} (stripes of {}); buffer bound {}",
        format_size(size),
        format_size(u64::from(shard)),
        format_size(params.stripe_size()),
        format_size(params.buffer_bound()),
    );
    // reed-solomon-simd builds its GF(2^16) multiplication tables once per process, on first
    // use; measured apart so the phases show what each preparation or rebuild holds.
    phase("first use in the process (codec tables)", 1, || {
        prepare(params, &[0u8][..], 1, vec![io::sink(); 3]).map(drop)
    })?;
    phase("prepare to counting sinks (cpu only)", size, || {
        let sinks = vec![io::sink(); 3];
        prepare(params, Generated::new(size, 7), size, sinks).map(drop)
    })?;

    let dir = tempfile::tempdir()?;
    let paths: Vec<_> = (0..3)
        .map(|i| dir.path().join(format!("fragment-{i}")))
        .collect();
    let outputs = paths
        .iter()
        .map(|p| File::create(p).map(|f| BufWriter::with_capacity(64 * 1024, f)))
        .collect::<io::Result<Vec<_>>>()?;
    let prepared = phase("prepare to 3 files (fsynced)", size, || {
        let prepared = prepare(params, Generated::new(size, 7), size, outputs)?;
        for fragment in &prepared.fragments {
            fragment.get_ref().sync_all()?;
        }
        Ok::<_, Box<dyn std::error::Error>>(prepared)
    })?;

    let open = |i: usize| File::open(&paths[i]).map(|f| BufReader::with_capacity(64 * 1024, f));
    let fragment = prepared.commitments.fragment_size();
    let input = open(2)?;
    phase("check one fragment as it arrives", fragment, || {
        check_fragment(&prepared.commitments, input, io::sink())
    })?;

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
        let report = phase(label, size, || {
            rebuild(&prepared.commitments, &shares, files, io::sink())
        })?;
        assert_eq!(report.plaintext_size, size);
    }
    Ok(())
}

//! What the benchmarks measure processes with: peak resident memory, and incompressible data to
//! offer.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::Result;

/// The peak resident set size of a live process, in KiB (`VmHWM` in `/proc/PID/status`); 0
/// when it cannot be read (the process is gone, or this is not Linux).
pub fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

/// Runs `command` to its end, reading its peak resident memory every few milliseconds while
/// it runs (the kernel's high-water mark, so a sample misses nothing but the last few
/// milliseconds' growth); returns its output, that peak in KiB and how long it ran.
///
/// # Errors
/// When it cannot be started or waited for.
pub fn run_measured(mut command: Command) -> Result<(Output, u64, Duration)> {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    // The pipes are drained by `wait_with_output` at the end: a command that prints more than
    // a pipe holds would block, so this is for commands that print little (`--output json`).
    let mut peak = 0;
    while child.try_wait()?.is_none() {
        peak = peak.max(peak_rss_kib(pid));
        std::thread::sleep(Duration::from_millis(5));
    }
    let output = child.wait_with_output()?;
    Ok((output, peak, started.elapsed()))
}

/// Writes `size` bytes of incompressible pseudo-random data to `path`, 1 MiB at a time.
///
/// # Errors
/// When the file cannot be written.
pub fn write_random_file(path: &Path, size: u64) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut buf = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for word in buf.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        let n = left.min(buf.len() as u64) as usize;
        out.write_all(&buf[..n])?;
        left -= n as u64;
    }
    out.flush()?;
    Ok(())
}

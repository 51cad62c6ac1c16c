//! The figure both VM benchmarks print: `runtime/vm/benches/vm.rs` and the reference VM's
//! `bench/reference`, which includes this file by path so the two cannot drift apart.

use std::time::{Duration, Instant};

/// One measured figure: its name and every sample.
pub(crate) struct Figure {
    /// What was measured; the same name on both VMs.
    pub(crate) name: &'static str,
    /// One duration per run.
    pub(crate) samples: Vec<Duration>,
}

impl Figure {
    /// Prints median, p99 and mean (and a JSON line when `CONSIGN_BENCH_JSON` is set).
    pub(crate) fn report(mut self) {
        self.samples.sort();
        let n = self.samples.len();
        let median = self.samples[n / 2];
        let p99 = self.samples[(n * 99 / 100).min(n - 1)];
        let mean = self.samples.iter().sum::<Duration>() / u32::try_from(n).unwrap_or(u32::MAX);
        println!(
            "{:<44} median {:>11}  p99 {:>11}  mean {:>11}  ({n} runs)",
            self.name,
            fmt(median),
            fmt(p99),
            fmt(mean)
        );
        if std::env::var_os("CONSIGN_BENCH_JSON").is_some() {
            println!(
                "{{\"figure\":\"{}\",\"median_ns\":{},\"p99_ns\":{},\"mean_ns\":{},\"runs\":{n}}}",
                self.name,
                median.as_nanos(),
                p99.as_nanos(),
                mean.as_nanos()
            );
        }
    }
}

fn fmt(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns >= 10_000_000 {
        format!("{:.1} ms", d.as_secs_f64() * 1e3)
    } else if ns >= 10_000 {
        format!("{:.1} µs", d.as_secs_f64() * 1e6)
    } else {
        format!("{ns} ns")
    }
}

/// Runs `f` `runs` times after `warmup` unmeasured runs and reports the figure, unless
/// `CONSIGN_BENCH_FILTER` leaves it out.
pub(crate) fn measure(
    name: &'static str,
    warmup: usize,
    runs: usize,
    mut f: impl FnMut() -> Duration,
) {
    if let Ok(filter) = std::env::var("CONSIGN_BENCH_FILTER") {
        if !name.contains(&filter) {
            return;
        }
    }
    let scale = std::env::var("CONSIGN_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    for _ in 0..warmup {
        f();
    }
    Figure {
        name,
        samples: (0..runs * scale).map(|_| f()).collect(),
    }
    .report();
}

/// Runs `f` and says how long it took.
pub(crate) fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

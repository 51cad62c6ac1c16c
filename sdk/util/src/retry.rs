//! The one retry policy: exponential backoff, capped, with a choice of jitter.
//!
//! The delay before retry `n` (the first retry is `n = 1`) grows from `initial` by `factor`
//! each time, up to `max`: `step(n) = min(max, initial · factor^(n-1))`. [`Jitter`] then
//! spreads it, so that many clients that failed together do not retry together:
//!
//! | jitter | delay | used by |
//! |---|---|---|
//! | [`Jitter::None`] | `step(n)` | the storage node waiting for the chain node at start |
//! | [`Jitter::Full`] | uniform in `[0, step(n)]` | the fulfiller's delivery attempts |
//! | [`Jitter::Equal`] | uniform in `[step(n)/2, step(n)]` | the follower of the delivery feed |
//!
//! (The names are those of AWS's "Exponential Backoff And Jitter".) [`Backoff::delay`] is
//! stateless, for callers that persist the attempt count (the fulfiller keeps it in its
//! database); [`Backoff::attempts`] counts for a loop, with [`Attempts::reset`] after a
//! success.
//!
//! Why not `backon`: its jitter adds up to the current delay on top of it (neither of the two
//! used here), and its iterator cannot answer "the delay after attempt 7" for an attempt count
//! read back from disk.

use std::time::Duration;

use rand::Rng as _;

/// How the delay is spread around its exponential step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Jitter {
    /// Exactly the step.
    #[default]
    None,
    /// Uniform in `[0, step]`.
    Full,
    /// Uniform in `[step/2, step]`: never less than half the step.
    Equal,
}

/// An exponential backoff policy: `initial`, multiplied by `factor` (2 unless set) after each
/// attempt, capped at `max`, spread by a [`Jitter`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    factor: u32,
    jitter: Jitter,
}

impl Backoff {
    /// Doubling from `initial` up to `max`, without jitter.
    pub const fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            factor: 2,
            jitter: Jitter::None,
        }
    }

    /// The same policy with this jitter.
    #[must_use]
    pub const fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// The same policy growing by `factor` each attempt (1 keeps the delay constant).
    #[must_use]
    pub const fn with_factor(mut self, factor: u32) -> Self {
        self.factor = factor;
        self
    }

    /// The step before jitter for retry `attempt` (1-based; 0 counts as 1):
    /// `min(max, initial · factor^(attempt-1))`, saturating.
    pub fn step(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1);
        self.initial
            .saturating_mul(self.factor.saturating_pow(exponent))
            .min(self.max)
    }

    /// The delay before retry `attempt` (1-based), with the jitter applied.
    pub fn delay(&self, attempt: u32) -> Duration {
        let step = self.step(attempt);
        if step.is_zero() {
            return Duration::ZERO;
        }
        match self.jitter {
            Jitter::None => step,
            Jitter::Full => rand::thread_rng().gen_range(Duration::ZERO..=step),
            Jitter::Equal => {
                let half = step / 2;
                half + rand::thread_rng().gen_range(Duration::ZERO..=step - half)
            }
        }
    }

    /// A counter of attempts for a retry loop, starting before the first retry.
    pub const fn attempts(self) -> Attempts {
        Attempts {
            policy: self,
            attempt: 0,
        }
    }
}

/// The state of a retry loop under a [`Backoff`]: each [`next_delay`](Self::next_delay) is the
/// delay before one more retry.
#[derive(Clone, Debug)]
pub struct Attempts {
    policy: Backoff,
    attempt: u32,
}

impl Attempts {
    /// The delay before the next retry; each call counts one more failed attempt.
    pub fn next_delay(&mut self) -> Duration {
        self.attempt = self.attempt.saturating_add(1);
        self.policy.delay(self.attempt)
    }

    /// The delay the next call to [`next_delay`](Self::next_delay) would wait before jitter.
    pub fn next_step(&self) -> Duration {
        self.policy.step(self.attempt.saturating_add(1))
    }

    /// Starts over from the initial delay (after a success).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn steps_grow_by_the_factor_up_to_the_cap() {
        let policy = Backoff::new(250 * MS, 30_000 * MS);
        let steps: Vec<u128> = (1..=9).map(|n| policy.step(n).as_millis()).collect();
        assert_eq!(
            steps,
            [250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]
        );
        assert_eq!(policy.step(0), policy.step(1));
        assert_eq!(policy.step(u32::MAX), 30_000 * MS);
        assert_eq!(policy.delay(3), 1000 * MS);
        let tripling = policy.with_factor(3);
        assert_eq!(tripling.step(3), 2250 * MS);
    }

    #[test]
    fn jitter_stays_in_its_range() {
        let full = Backoff::new(100 * MS, 1000 * MS).with_jitter(Jitter::Full);
        let equal = full.with_jitter(Jitter::Equal);
        for attempt in 1..40 {
            let step = full.step(attempt);
            let d = full.delay(attempt);
            assert!(d <= step);
            let d = equal.delay(attempt);
            assert!(d >= step / 2 && d <= step, "{d:?} for {step:?}");
        }
        // Full jitter really spreads: 2000 draws at the cap average near half of it.
        let total: Duration = (0..2000).map(|_| full.delay(30)).sum();
        let mean = total / 2000;
        assert!(mean > 350 * MS && mean < 650 * MS, "{mean:?}");
        assert_eq!(
            Backoff::new(Duration::ZERO, MS)
                .with_jitter(Jitter::Full)
                .delay(5),
            Duration::ZERO
        );
    }

    #[test]
    fn attempts_count_and_reset() {
        let mut attempts = Backoff::new(100 * MS, 400 * MS).attempts();
        assert_eq!(attempts.next_step(), 100 * MS);
        let delays: Vec<Duration> = (0..4).map(|_| attempts.next_delay()).collect();
        assert_eq!(delays, [100 * MS, 200 * MS, 400 * MS, 400 * MS]);
        attempts.reset();
        assert_eq!(attempts.next_delay(), 100 * MS);
    }
}

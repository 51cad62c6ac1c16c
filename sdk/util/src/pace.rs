//! Reading a request body from a stranger at a minimum pace: whoever sends slower than the
//! server's least rate, or stops, is cut, so a socket trickling a byte now and then cannot hold
//! an upload slot, a reception or a thread. The storage node's uploads and the inbox's
//! deliveries both read their bodies through [`Paced`].
//!
//! The rate is measured over periods: each period must bring `min_rate × period` bytes (at
//! least one) before it ends, or the body is cut then — when the period ends, not when the
//! next chunk happens to arrive. A new period starts as soon as the current one has its bytes.

use std::time::Duration;

use bytes::Buf;
use futures_util::{Stream, StreamExt as _};
use tokio::time::Instant;

/// How a body must keep arriving.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyPace {
    /// The period over which the rate is measured; a body that sends nothing for this long is
    /// cut whatever the rate.
    pub period: Duration,
    /// The least bytes per second, on average over each `period`.
    pub min_rate: u64,
}

impl BodyPace {
    /// Bytes that must arrive in each period (at least 1, so an idle body is always cut).
    fn per_period(self) -> u64 {
        let bytes = u128::from(self.min_rate) * self.period.as_millis() / 1000;
        u64::try_from(bytes).unwrap_or(u64::MAX).max(1)
    }
}

/// A body that was cut for arriving too slowly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{period_bytes} bytes arrived in {period:?}, less than the least rate of {min_rate} bytes/s"
)]
pub struct TooSlow {
    /// What arrived in the period that ran out.
    pub period_bytes: u64,
    /// The period.
    pub period: Duration,
    /// The least rate, bytes per second.
    pub min_rate: u64,
}

/// A body being read at a [`BodyPace`].
#[derive(Debug)]
pub struct Paced {
    pace: BodyPace,
    per_period: u64,
    period_start: Instant,
    period_bytes: u64,
}

impl Paced {
    /// Starts the first period now.
    pub fn new(pace: BodyPace) -> Self {
        Self {
            pace,
            per_period: pace.per_period(),
            period_start: Instant::now(),
            period_bytes: 0,
        }
    }

    /// The next item of `body`, as `StreamExt::next` gives it.
    ///
    /// # Errors
    ///
    /// [`TooSlow`] when the current period ends before it has brought its bytes.
    pub async fn next<S, B, E>(&mut self, body: &mut S) -> Result<Option<Result<B, E>>, TooSlow>
    where
        S: Stream<Item = Result<B, E>> + Unpin,
        B: Buf,
    {
        let deadline = self.period_start + self.pace.period;
        let item = tokio::time::timeout_at(deadline, body.next())
            .await
            .map_err(|_| TooSlow {
                period_bytes: self.period_bytes,
                period: self.pace.period,
                min_rate: self.pace.min_rate,
            })?;
        if let Some(Ok(buf)) = &item {
            let len = u64::try_from(buf.remaining()).unwrap_or(u64::MAX);
            self.period_bytes = self.period_bytes.saturating_add(len);
            if self.period_bytes >= self.per_period {
                self.period_start = Instant::now();
                self.period_bytes = 0;
            }
        }
        Ok(item)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use futures_util::stream;

    use super::*;

    const PACE: BodyPace = BodyPace {
        period: Duration::from_secs(1),
        min_rate: 100,
    };

    #[tokio::test(start_paused = true)]
    async fn a_body_at_the_pace_is_read_whole() {
        // 100 bytes every 900 ms: each period gets its bytes in time.
        let chunks = stream::unfold(0, |n| async move {
            (n < 5).then_some(())?;
            tokio::time::sleep(Duration::from_millis(900)).await;
            Some((Ok::<_, std::io::Error>(Bytes::from(vec![0u8; 100])), n + 1))
        });
        let mut body = Box::pin(chunks);
        let mut paced = Paced::new(PACE);
        let mut total = 0;
        while let Some(chunk) = paced.next(&mut body).await.unwrap() {
            total += chunk.unwrap().len();
        }
        assert_eq!(total, 500);
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickle_is_cut_when_its_period_ends() {
        // One byte every 300 ms: a period brings 3 or 4 bytes of the 100 it needs.
        let chunks = stream::unfold((), |()| async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            Some((Ok::<_, std::io::Error>(Bytes::from_static(b"a")), ()))
        });
        let mut body = Box::pin(chunks);
        let mut paced = Paced::new(PACE);
        let started = Instant::now();
        let error = loop {
            match paced.next(&mut body).await {
                Ok(_) => {}
                Err(error) => break error,
            }
        };
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(1),
            "cut when the period ended"
        );
        assert_eq!(error.period_bytes, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_body_is_cut_after_one_period() {
        let mut body = Box::pin(stream::pending::<Result<Bytes, std::io::Error>>());
        let mut paced = Paced::new(BodyPace {
            period: Duration::from_secs(30),
            min_rate: 0,
        });
        let started = Instant::now();
        assert!(paced.next(&mut body).await.is_err());
        assert_eq!(started.elapsed(), Duration::from_secs(30));
    }
}

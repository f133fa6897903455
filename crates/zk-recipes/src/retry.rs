//! Retry policies for operations whose outcome a dropped connection leaves unknown.
//!
//! Only idempotent operations are retried blindly (the client retries its reads with the
//! configured policy); a write is retried by the caller when it is known to be safe, or made
//! safe first (the recipes' protected creates find their own node after a lost reply).

use crate::error::{Error, Result};
use crate::rng::SeededRng;
use std::future::Future;
use std::time::Duration;

/// When and how long to wait before trying again after a connection loss.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryPolicy {
    /// Never retry.
    Never,
    /// Retry up to `max_retries` times with a fixed pause (Curator's `RetryNTimes`).
    Bounded {
        /// Retries after the first attempt.
        max_retries: u32,
        /// Pause before each retry.
        sleep: Duration,
    },
    /// Curator's `ExponentialBackoffRetry`: before retry `n` (from 0) sleep `base_sleep`
    /// times a random factor in `1..2^(n+1)`, at most `max_sleep`.
    ExponentialBackoff {
        /// The unit of the backoff.
        base_sleep: Duration,
        /// The cap on one pause.
        max_sleep: Duration,
        /// Retries after the first attempt.
        max_retries: u32,
    },
}

impl Default for RetryPolicy {
    /// Exponential backoff from 50 ms, capped at 1 s, 5 retries.
    fn default() -> Self {
        RetryPolicy::ExponentialBackoff {
            base_sleep: Duration::from_millis(50),
            max_sleep: Duration::from_secs(1),
            max_retries: 5,
        }
    }
}

/// Exponents above this would overflow the random factor's range (Curator caps at 29 too).
const MAX_BACKOFF_EXPONENT: u32 = 29;

impl RetryPolicy {
    /// The pause before retry number `retry_count` (0 for the first retry), or `None` when
    /// the policy gives up.
    pub fn delay_before_retry(&self, retry_count: u32, rng: &mut SeededRng) -> Option<Duration> {
        match *self {
            RetryPolicy::Never => None,
            RetryPolicy::Bounded { max_retries, sleep } => {
                (retry_count < max_retries).then_some(sleep)
            }
            RetryPolicy::ExponentialBackoff {
                base_sleep,
                max_sleep,
                max_retries,
            } => {
                if retry_count >= max_retries {
                    return None;
                }
                let exponent = (retry_count + 1).min(MAX_BACKOFF_EXPONENT);
                let factor = rng.below(1u64 << exponent).max(1);
                let sleep = base_sleep.saturating_mul(u32::try_from(factor).unwrap_or(u32::MAX));
                Some(sleep.min(max_sleep))
            }
        }
    }
}

/// Runs `operation` until it succeeds, fails with an error other than a connection loss, or
/// `policy` gives up (then the last connection loss is returned).
pub async fn with_retries<T, F, Fut>(
    policy: &RetryPolicy,
    rng: &mut SeededRng,
    mut operation: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut retry_count = 0;
    loop {
        match operation().await {
            Err(error) if error.is_connection_loss() => {
                let Some(delay) = policy.delay_before_retry(retry_count, rng) else {
                    return Err(error);
                };
                tracing::debug!(retry_count, ?delay, %error, "retrying after connection loss");
                tokio::time::sleep(delay).await;
                retry_count += 1;
            }
            other => return other,
        }
    }
}

/// Whether an error is one a retry could fix (the request's outcome is unknown).
pub fn is_retryable(error: &Error) -> bool {
    error.is_connection_loss()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use zk_proto::ErrorCode;

    #[test]
    fn exponential_backoff_is_capped_and_bounded() {
        let policy = RetryPolicy::ExponentialBackoff {
            base_sleep: Duration::from_millis(10),
            max_sleep: Duration::from_millis(100),
            max_retries: 4,
        };
        let mut rng = SeededRng::new(5);
        for retry in 0..4 {
            let delay = policy.delay_before_retry(retry, &mut rng).unwrap();
            assert!(delay >= Duration::from_millis(10), "{delay:?}");
            assert!(delay <= Duration::from_millis(100), "{delay:?}");
            assert!(
                delay <= Duration::from_millis(10 << (retry + 1)),
                "{delay:?}"
            );
        }
        assert_eq!(policy.delay_before_retry(4, &mut rng), None);
        assert_eq!(RetryPolicy::Never.delay_before_retry(0, &mut rng), None);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_connection_loss_only() {
        let policy = RetryPolicy::Bounded {
            max_retries: 3,
            sleep: Duration::from_millis(5),
        };
        let calls = Cell::new(0);
        let result = with_retries(&policy, &mut SeededRng::new(1), || {
            calls.set(calls.get() + 1);
            let attempt = calls.get();
            async move {
                if attempt < 3 {
                    Err(Error::Keeper(ErrorCode::ConnectionLoss))
                } else {
                    Ok(attempt)
                }
            }
        })
        .await;
        assert_eq!(result, Ok(3));

        calls.set(0);
        let result: Result<()> = with_retries(&policy, &mut SeededRng::new(1), || {
            calls.set(calls.get() + 1);
            async { Err(Error::Keeper(ErrorCode::NoNode)) }
        })
        .await;
        assert_eq!(result, Err(Error::Keeper(ErrorCode::NoNode)));
        assert_eq!(calls.get(), 1, "other errors are not retried");

        calls.set(0);
        let result: Result<()> = with_retries(&policy, &mut SeededRng::new(1), || {
            calls.set(calls.get() + 1);
            async { Err(Error::Keeper(ErrorCode::ConnectionLoss)) }
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls.get(), 4, "first attempt and three retries");
    }
}

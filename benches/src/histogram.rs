//! Latency recording: an HdrHistogram in microseconds and the percentile summary reports
//! print.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The largest latency recorded exactly: 60 s. Longer ones are recorded as 60 s (a response
/// timeout ends the session well before that with the default settings).
pub const LATENCY_US_MAX: u64 = 60_000_000;

/// Significant decimal digits kept: 3 digits is a relative error of at most 0.1 %.
const SIGNIFICANT_DIGITS: u8 = 3;

/// Latencies of one session or one run, in microseconds.
#[derive(Debug, Clone)]
pub struct LatencyHistogram {
    histogram: Histogram<u64>,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    /// An empty histogram for 1 µs to [`LATENCY_US_MAX`].
    pub fn new() -> Self {
        let histogram = Histogram::new_with_bounds(1, LATENCY_US_MAX, SIGNIFICANT_DIGITS)
            .expect("the fixed bounds and precision are valid");
        LatencyHistogram { histogram }
    }

    /// Records one latency; below 1 µs counts as 1 µs, above the maximum as the maximum.
    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.record_us(micros);
    }

    /// Records one latency given in microseconds, clamped as [`LatencyHistogram::record`].
    pub fn record_us(&mut self, latency_us: u64) {
        self.histogram
            .saturating_record(latency_us.clamp(1, LATENCY_US_MAX));
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        self.histogram
            .add(&other.histogram)
            .expect("histograms with the same bounds always merge");
    }

    /// How many latencies were recorded.
    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// The percentiles reports print.
    pub fn summary(&self) -> LatencySummary {
        if self.histogram.is_empty() {
            return LatencySummary::default();
        }
        let at = |quantile: f64| self.histogram.value_at_quantile(quantile);
        LatencySummary {
            count: self.histogram.len(),
            mean_us: self.histogram.mean(),
            p50_us: at(0.50),
            p90_us: at(0.90),
            p99_us: at(0.99),
            p999_us: at(0.999),
            max_us: self.histogram.max(),
        }
    }
}

/// Percentiles of a latency distribution, in microseconds. HdrHistogram reports the upper
/// edge of the bucket holding the percentile, so each value is within 0.1 % above the true
/// sample.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Samples recorded.
    pub count: u64,
    /// Arithmetic mean.
    pub mean_us: f64,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest sample.
    pub max_us: u64,
}

impl LatencySummary {
    /// `p50 .. p90 .. p99 .. p99.9 .. max .. mean ..`, as the tools print it.
    pub fn to_text(&self) -> String {
        format!(
            "p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  mean {:.0}",
            self.p50_us, self.p90_us, self.p99_us, self.p999_us, self.max_us, self.mean_us
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn within_tenth_percent(actual: u64, expected: u64) -> bool {
        actual.abs_diff(expected) * 1000 <= expected
    }

    #[test]
    fn empty_histogram_summarises_to_zero() {
        assert_eq!(LatencyHistogram::new().summary(), LatencySummary::default());
    }

    #[test]
    fn uniform_values_give_the_expected_percentiles() {
        let mut histogram = LatencyHistogram::new();
        for micros in 1..=10_000 {
            histogram.record_us(micros);
        }
        let summary = histogram.summary();
        assert_eq!(summary.count, 10_000);
        assert!(within_tenth_percent(summary.p50_us, 5_000), "{summary:?}");
        assert!(within_tenth_percent(summary.p90_us, 9_000), "{summary:?}");
        assert!(within_tenth_percent(summary.p99_us, 9_900), "{summary:?}");
        assert!(within_tenth_percent(summary.p999_us, 9_990), "{summary:?}");
        assert!(within_tenth_percent(summary.max_us, 10_000), "{summary:?}");
        assert!((summary.mean_us - 5_000.5).abs() < 5.0, "{summary:?}");
    }

    #[test]
    fn one_slow_request_in_a_thousand_shows_at_p999_not_p99() {
        let mut histogram = LatencyHistogram::new();
        for _ in 0..999 {
            histogram.record_us(100);
        }
        histogram.record_us(50_000);
        let summary = histogram.summary();
        assert!(within_tenth_percent(summary.p99_us, 100), "{summary:?}");
        assert!(within_tenth_percent(summary.p999_us, 100), "{summary:?}");
        assert!(within_tenth_percent(summary.max_us, 50_000), "{summary:?}");
        histogram.record_us(50_000);
        assert!(within_tenth_percent(histogram.summary().p999_us, 50_000));
    }

    #[test]
    fn out_of_range_values_are_clamped() {
        let mut histogram = LatencyHistogram::new();
        histogram.record(Duration::from_nanos(10));
        histogram.record(Duration::from_secs(3600));
        let summary = histogram.summary();
        assert_eq!(summary.count, 2);
        assert_eq!(summary.p50_us, 1);
        assert!(within_tenth_percent(summary.max_us, LATENCY_US_MAX));
    }

    #[test]
    fn merge_adds_counts() {
        let mut left = LatencyHistogram::new();
        let mut right = LatencyHistogram::new();
        left.record_us(10);
        right.record_us(1000);
        right.record_us(1000);
        left.merge(&right);
        let summary = left.summary();
        assert_eq!(summary.count, 3);
        assert!(within_tenth_percent(summary.p50_us, 1000));
        assert_eq!(
            LatencyHistogram::new().summary().count + left.count(),
            3,
            "count() agrees with the summary"
        );
    }
}

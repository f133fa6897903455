//! When to take a snapshot: Apache's `SyncRequestProcessor.shouldSnapshot`. After each
//! logged batch, a snapshot is due once the txns logged since the last roll pass
//! `snapCount / 2 + r`, or their bytes pass `snapSizeLimit / 2 + s`, where `r` and `s` are
//! drawn at random after every snapshot so that the servers of an ensemble do not all
//! snapshot at once. The randomness comes from a seed given at construction.

/// The snapshot trigger.
#[derive(Debug, Clone)]
pub struct SnapshotPolicy {
    snap_count: u64,
    snap_size_limit_bytes: u64,
    random: SplitMix64,
    count_threshold: u64,
    size_threshold_bytes: Option<u64>,
    logged_count: u64,
    logged_bytes: u64,
}

impl SnapshotPolicy {
    /// A policy for `snap_count` (at least 2) and `snap_size_limit_bytes` (0: off).
    pub fn new(snap_count: u64, snap_size_limit_bytes: u64, seed: u64) -> Self {
        assert!(snap_count >= 2, "snapCount is at least 2");
        let mut policy = SnapshotPolicy {
            snap_count,
            snap_size_limit_bytes,
            random: SplitMix64::new(seed),
            count_threshold: 0,
            size_threshold_bytes: None,
            logged_count: 0,
            logged_bytes: 0,
        };
        policy.reset();
        policy
    }

    /// Records a logged batch; returns true when a snapshot is due, after which the
    /// counts start again (the caller rolls the log and asks for the snapshot).
    pub fn on_logged(&mut self, txn_count: u64, bytes: u64) -> bool {
        self.logged_count += txn_count;
        self.logged_bytes += bytes;
        let due = self.logged_count > self.count_threshold
            || self
                .size_threshold_bytes
                .is_some_and(|threshold| self.logged_bytes > threshold);
        if due {
            self.reset();
        }
        due
    }

    /// The txn count that makes the next snapshot due (for tests and logs).
    pub fn count_threshold(&self) -> u64 {
        self.count_threshold
    }

    fn reset(&mut self) {
        let half = self.snap_count / 2;
        self.count_threshold = half + self.random.below(half);
        let half_size = self.snap_size_limit_bytes / 2;
        self.size_threshold_bytes =
            (half_size > 0).then(|| half_size + self.random.below(half_size));
        self.logged_count = 0;
        self.logged_bytes = 0;
    }
}

/// A small seeded generator (SplitMix64): enough for spreading snapshot points, and the
/// same seed gives the same points.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (0 when `bound` is 0); the modulo bias is irrelevant here.
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            self.next_u64() % bound
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_stay_between_half_and_all_of_snap_count() {
        let mut policy = SnapshotPolicy::new(1000, 0, 42);
        let mut thresholds = Vec::new();
        for _ in 0..200 {
            let threshold = policy.count_threshold();
            assert!((500..1000).contains(&threshold), "{threshold}");
            thresholds.push(threshold);
            // One txn past the threshold triggers; exactly at it does not.
            assert!(!policy.on_logged(threshold, 0));
            assert!(policy.on_logged(1, 0));
        }
        thresholds.sort_unstable();
        thresholds.dedup();
        assert!(thresholds.len() > 100, "the points are spread");
    }

    #[test]
    fn the_same_seed_gives_the_same_points() {
        let points = |seed| {
            let mut policy = SnapshotPolicy::new(100, 0, seed);
            (0..1000).filter(|_| policy.on_logged(1, 0)).count()
        };
        assert_eq!(points(7), points(7));
        let mut a = SnapshotPolicy::new(100_000, 0, 1);
        let mut b = SnapshotPolicy::new(100_000, 0, 2);
        assert_ne!(a.count_threshold(), b.count_threshold());
        assert!(!a.on_logged(10, 0) && !b.on_logged(10, 0));
    }

    #[test]
    fn logged_bytes_trigger_too() {
        let mut policy = SnapshotPolicy::new(1_000_000, 1000, 3);
        assert!(!policy.on_logged(1, 499));
        assert!(policy.on_logged(1, 1000));
        assert!(!policy.on_logged(1, 10), "counts restart after a snapshot");
    }
}

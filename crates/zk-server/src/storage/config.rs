//! The settings of the storage layer: Apache's zoo.cfg keys (`dataDir`, `dataLogDir`,
//! `snapCount`, `preAllocSize`, `forceSync`, `autopurge.*`) and the limits of our own
//! queues and records. The server maps its zoo.cfg onto this once, at start.

use super::error::StorageError;
use std::path::PathBuf;
use std::time::Duration;

/// Apache's `autopurge.snapRetainCount` minimum: fewer is raised to this, with a warning.
pub const MIN_SNAP_RETAIN_COUNT: usize = 3;
/// Apache's `snapCount` minimum: fewer is raised to this, with a warning.
pub const MIN_SNAP_COUNT: u64 = 2;

/// Where and how transactions and snapshots are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageConfig {
    /// `dataDir`: snapshots go in `<data_dir>/version-2/`.
    pub data_dir: PathBuf,
    /// `dataLogDir` (defaults to `dataDir`): log segments go in `<data_log_dir>/version-2/`.
    pub data_log_dir: PathBuf,
    /// `snapCount`: about this many logged txns between snapshots (each server picks a
    /// random point between half and all of it, so that replicas do not snapshot together).
    pub snap_count: u64,
    /// `zookeeper.snapSizeLimitInKb` in bytes: a snapshot is also due once about this many
    /// bytes were logged since the last one (randomised like `snap_count`); 0 turns it off.
    pub snap_size_limit_bytes: u64,
    /// The seed of the snapshot-point randomness. Injected, so that a run can be replayed;
    /// a server derives it from its id or from entropy at start.
    pub snapshot_seed: u64,
    /// `preAllocSize` in bytes: the most records one segment holds (a batch that would
    /// pass it starts the next segment), and the largest step by which a segment's zeros
    /// grow (at most 4 MiB, see [`super::preallocator::MAX_STEP_BYTES`]). Records are
    /// written over zeros already on disk, so that an fdatasync after an append does not
    /// also have to write file-size or allocation metadata.
    pub preallocation_bytes: u64,
    /// `forceSync`: fsync the log before acknowledging. `false` is unsafe: a power loss
    /// loses acknowledged transactions and can leave a log that refuses to load.
    pub force_sync: bool,
    /// `autopurge.snapRetainCount`: snapshots kept by purging (at least 3).
    pub snap_retain_count: usize,
    /// `autopurge.purgeInterval` in hours; 0 disables autopurge.
    pub purge_interval_hours: u32,
    /// The largest encoded txn one log record may hold; checked before allocating on read.
    pub max_txn_bytes: usize,
    /// The most txns written by one fsync (a group commit); the rest wait for the next.
    pub max_batch_txns: usize,
}

impl StorageConfig {
    /// Apache's defaults for a server keeping everything under `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        StorageConfig {
            data_log_dir: data_dir.clone(),
            data_dir,
            snap_count: 100_000,
            snap_size_limit_bytes: 4 * 1024 * 1024 * 1024,
            snapshot_seed: 0,
            preallocation_bytes: 64 * 1024 * 1024,
            force_sync: true,
            snap_retain_count: MIN_SNAP_RETAIN_COUNT,
            purge_interval_hours: 0,
            // jute.maxbuffer bounds a request at 1 MiB by default and a txn carries little
            // more than its request; the margin covers servers configured with more.
            max_txn_bytes: 64 * 1024 * 1024,
            max_batch_txns: 10_000,
        }
    }

    /// Raises the values Apache raises (with the warnings it gives) and refuses the values
    /// that cannot work. Returns the settings to use and the warnings to log.
    pub fn normalize(mut self) -> Result<(StorageConfig, Vec<String>), StorageError> {
        let mut warnings = Vec::new();
        if self.snap_count < MIN_SNAP_COUNT {
            warnings.push(format!(
                "snapCount {} is less than {MIN_SNAP_COUNT}; using {MIN_SNAP_COUNT}",
                self.snap_count
            ));
            self.snap_count = MIN_SNAP_COUNT;
        }
        if self.snap_retain_count < MIN_SNAP_RETAIN_COUNT {
            warnings.push(format!(
                "autopurge.snapRetainCount {} is less than {MIN_SNAP_RETAIN_COUNT}; using {MIN_SNAP_RETAIN_COUNT}",
                self.snap_retain_count
            ));
            self.snap_retain_count = MIN_SNAP_RETAIN_COUNT;
        }
        if !self.force_sync {
            warnings.push(
                "forceSync=no: transactions are acknowledged before they are on disk; a power \
                 loss can lose them"
                    .to_owned(),
            );
        }
        if self.preallocation_bytes == 0 {
            return Err(StorageError::Config("preAllocSize must be positive".into()));
        }
        if self.max_txn_bytes == 0 || self.max_txn_bytes > u32::MAX as usize {
            return Err(StorageError::Config(format!(
                "the txn size limit must be between 1 and {} bytes",
                u32::MAX
            )));
        }
        if self.max_batch_txns == 0 {
            return Err(StorageError::Config(
                "the group commit batch limit must be positive".into(),
            ));
        }
        Ok((self, warnings))
    }

    /// The autopurge period, `None` when autopurge is off.
    pub fn purge_interval(&self) -> Option<Duration> {
        (self.purge_interval_hours > 0)
            .then(|| Duration::from_secs(u64::from(self.purge_interval_hours) * 3600))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apache_minimums_are_raised_with_warnings() {
        let config = StorageConfig {
            snap_count: 1,
            snap_retain_count: 1,
            ..StorageConfig::new("/data")
        };
        let (config, warnings) = config.normalize().unwrap();
        assert_eq!(config.snap_count, MIN_SNAP_COUNT);
        assert_eq!(config.snap_retain_count, MIN_SNAP_RETAIN_COUNT);
        assert_eq!(warnings.len(), 2);
    }

    #[test]
    fn unusable_limits_are_refused() {
        for config in [
            StorageConfig {
                preallocation_bytes: 0,
                ..StorageConfig::new("/data")
            },
            StorageConfig {
                max_txn_bytes: 0,
                ..StorageConfig::new("/data")
            },
            StorageConfig {
                max_batch_txns: 0,
                ..StorageConfig::new("/data")
            },
        ] {
            assert!(matches!(config.normalize(), Err(StorageError::Config(_))));
        }
    }

    #[test]
    fn purge_interval_zero_is_off() {
        let mut config = StorageConfig::new("/data");
        assert_eq!(config.purge_interval(), None);
        config.purge_interval_hours = 2;
        assert_eq!(config.purge_interval(), Some(Duration::from_secs(7200)));
    }
}

//! Autopurge (Apache's `PurgeTxnLog` and `DatadirCleanupManager`): keep the newest
//! `snapRetainCount` valid snapshots and every log segment needed to recover from the
//! oldest of them (the newest segment starting at or before its zxid, and all later
//! ones); remove older snapshots and segments.

use super::config::StorageConfig;
use super::error::StorageError;
use super::files::{self, NamedFile, LOG_PREFIX, SNAPSHOT_PREFIX};
use super::snapshot;
use std::path::PathBuf;
use zk_proto::Zxid;

/// The files a purge removes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgePlan {
    pub snapshots: Vec<PathBuf>,
    pub segments: Vec<PathBuf>,
}

/// What a purge did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// The zxid of the oldest snapshot kept; nothing is removed without one.
    pub oldest_kept_snapshot: Option<Zxid>,
    pub removed: PurgePlan,
}

/// Decides what to remove. `valid_snapshots` are the snapshots that pass their checks,
/// oldest first; `snapshots` and `segments` are all files present, oldest first.
pub fn plan(
    valid_snapshots: &[NamedFile],
    snapshots: &[NamedFile],
    segments: &[NamedFile],
    retain_count: usize,
) -> (Option<Zxid>, PurgePlan) {
    assert!(retain_count >= 1, "purging keeps at least one snapshot");
    let oldest_kept_index = valid_snapshots.len().saturating_sub(retain_count);
    let Some(oldest_kept) = valid_snapshots.get(oldest_kept_index) else {
        return (None, PurgePlan::default());
    };
    let least_zxid = oldest_kept.zxid;
    // The segment that holds the successor of the oldest kept snapshot.
    let needed_segment = segments.iter().rposition(|file| file.zxid <= least_zxid);
    let old_segments = needed_segment.map_or(&segments[..0], |index| &segments[..index]);
    let plan = PurgePlan {
        snapshots: snapshots
            .iter()
            .filter(|file| file.zxid < least_zxid)
            .map(|file| file.path.clone())
            .collect(),
        segments: old_segments.iter().map(|file| file.path.clone()).collect(),
    };
    (Some(least_zxid), plan)
}

/// Removes the snapshots and log segments of `config` that recovery no longer needs.
pub fn purge(config: &StorageConfig) -> Result<PurgeReport, StorageError> {
    let snapshot_dir = files::version_dir(&config.data_dir);
    let log_dir = files::version_dir(&config.data_log_dir);
    let snapshots = files::list(&snapshot_dir, SNAPSHOT_PREFIX)?;
    // Check from the newest down until enough valid snapshots are found, as Apache's
    // findNValidSnapshots does; older ones need no check to be removed.
    let mut valid = Vec::new();
    for file in snapshots.iter().rev() {
        if valid.len() == config.snap_retain_count {
            break;
        }
        match snapshot::verify(&file.path) {
            Ok(_) => valid.push(file.clone()),
            Err(error) => tracing::warn!(%error, "purge: not counting a damaged snapshot"),
        }
    }
    valid.reverse();
    let segments = files::list(&log_dir, LOG_PREFIX)?;
    let (oldest_kept_snapshot, removed) =
        plan(&valid, &snapshots, &segments, config.snap_retain_count);
    for path in removed.snapshots.iter().chain(&removed.segments) {
        tracing::info!(path = %path.display(), "purge: removing");
        files::remove(path)?;
    }
    if !removed.snapshots.is_empty() {
        files::sync_directory(&snapshot_dir)?;
    }
    if !removed.segments.is_empty() {
        files::sync_directory(&log_dir)?;
    }
    Ok(PurgeReport {
        oldest_kept_snapshot,
        removed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(prefix: &str, zxids: &[i64]) -> Vec<NamedFile> {
        zxids
            .iter()
            .map(|&zxid| NamedFile {
                zxid: Zxid(zxid),
                path: PathBuf::from(files::file_name(prefix, Zxid(zxid))),
            })
            .collect()
    }

    fn names(paths: &[PathBuf]) -> Vec<String> {
        paths
            .iter()
            .map(|path| path.display().to_string())
            .collect()
    }

    #[test]
    fn keeps_the_newest_snapshots_and_the_log_from_the_oldest_kept() {
        let snapshots = named(SNAPSHOT_PREFIX, &[10, 20, 30, 40, 50]);
        let segments = named(LOG_PREFIX, &[1, 11, 25, 35, 45]);
        let (oldest, removed) = plan(&snapshots, &snapshots, &segments, 3);
        assert_eq!(oldest, Some(Zxid(30)));
        assert_eq!(names(&removed.snapshots), vec!["snapshot.a", "snapshot.14"]);
        // log.19 (25) holds txn 31, the successor of snapshot 30: it stays.
        assert_eq!(names(&removed.segments), vec!["log.1", "log.b"]);
    }

    #[test]
    fn a_segment_starting_right_after_the_snapshot_is_enough() {
        let snapshots = named(SNAPSHOT_PREFIX, &[10]);
        let segments = named(LOG_PREFIX, &[1, 10, 11]);
        let (_, removed) = plan(&snapshots, &snapshots, &segments, 1);
        // log.a (10) starts at or before zxid 10; it stays, with log.b.
        assert_eq!(names(&removed.segments), vec!["log.1"]);
    }

    #[test]
    fn nothing_is_removed_without_enough_valid_snapshots_to_count_from() {
        let all = named(SNAPSHOT_PREFIX, &[10, 20]);
        let segments = named(LOG_PREFIX, &[1, 15]);
        let (oldest, removed) = plan(&[], &all, &segments, 3);
        assert_eq!(oldest, None);
        assert_eq!(removed, PurgePlan::default());
        // Two valid of three wanted: the oldest valid one bounds the purge.
        let (oldest, removed) = plan(&all, &all, &segments, 3);
        assert_eq!(oldest, Some(Zxid(10)));
        assert!(removed.snapshots.is_empty() && removed.segments.is_empty());
    }

    #[test]
    fn damaged_snapshots_do_not_count_as_kept() {
        let all = named(SNAPSHOT_PREFIX, &[10, 20, 30, 40]);
        // 40 is damaged: the three valid are 10, 20, 30; nothing older than 10 exists.
        let valid = named(SNAPSHOT_PREFIX, &[10, 20, 30]);
        let (oldest, removed) = plan(&valid, &all, &named(LOG_PREFIX, &[1]), 3);
        assert_eq!(oldest, Some(Zxid(10)));
        assert!(removed.snapshots.is_empty());
    }
}

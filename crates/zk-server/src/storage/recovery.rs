//! Recovery at start (Apache's `FileTxnSnapLog.restore`): the newest snapshot that passes
//! its checks, then every logged txn after its zxid, in order.
//!
//! Snapshots are consistent trees at some zxid Z, taken while later txns kept being logged,
//! so the log replay starts at the segment holding Z's successor and skips txns up to Z.
//! A damaged newest snapshot is skipped (with a warning) for the one before it.
//!
//! The log decides between repair and refusal:
//! - a damaged record in the **last** segment followed only by zeros or garbage is a torn
//!   write of a batch that was never acknowledged (its fsync had not returned): the segment
//!   is cut at the last valid record, with a warning (removed if no record is left);
//! - a damaged record followed by a valid record, or in any segment but the last (segments
//!   are rolled only after a sync), is damage to acknowledged txns: recovery stops with an
//!   error naming the file and offset. So does a gap in the zxid sequence.

use super::config::StorageConfig;
use super::error::StorageError;
use super::files::{self, NamedFile, LOG_PREFIX, SNAPSHOT_PREFIX};
use super::segment::{self, SegmentEnd, SegmentScan};
use super::snapshot;
use super::txn_log::{is_next_zxid, TxnLog};
use std::path::{Path, PathBuf};
use std::time::Instant;
use zk_proto::Zxid;
use zk_tree::{DataTree, TreeConfig, Txn, TxnBody};

/// The state recovered at start, ready to serve.
#[derive(Debug)]
pub struct Recovered {
    /// The tree: the snapshot plus every logged txn after it.
    pub tree: DataTree,
    /// The log, open for appending after the tree's last zxid.
    pub log: TxnLog,
    /// The snapshot the tree was restored from (`None`: started from an empty tree).
    pub snapshot: Option<NamedFile>,
    /// Newer snapshots that failed their checks, newest first.
    pub skipped_snapshots: Vec<SkippedSnapshot>,
    /// Txns applied from the log.
    pub replayed_txns: u64,
    /// Replayed txns whose apply failed although they were not error txns (a log that does
    /// not match its snapshot; Apache logs and goes on).
    pub failed_replays: u64,
    /// The torn tail repaired, if there was one.
    pub repaired_tail: Option<TailRepair>,
}

/// A snapshot passed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedSnapshot {
    pub path: PathBuf,
    pub reason: String,
}

/// What was done to the torn tail of the last segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TailRepair {
    /// Cut at `offset`, just past the last valid record; `discarded_bytes` were dropped.
    Truncated {
        path: PathBuf,
        offset: u64,
        discarded_bytes: u64,
        reason: String,
    },
    /// Removed: it held no valid record (a crash while it was being created or before its
    /// first record reached the disk).
    Removed { path: PathBuf, reason: String },
}

/// Restores the tree from the files of `config` (creating the directories if needed) and
/// opens the log after it. See the module documentation for what is repaired and what is
/// refused.
pub fn recover(config: &StorageConfig, tree_config: TreeConfig) -> Result<Recovered, StorageError> {
    recover_with(config, tree_config, ReplayMode::Apply).map(|(recovered, _)| recovered)
}

/// What an ensemble member recovers at start: the tree of its newest snapshot only, and
/// the logged txns after it, *not applied*. In an ensemble the log may end with proposals
/// that were never committed; ZAB delivers the committed ones once a leader says so, and
/// truncates the others.
#[derive(Debug)]
pub struct QuorumRecovered {
    /// The tree at the snapshot, the log open after the last logged txn, and the rest.
    pub recovered: Recovered,
    /// The logged txns after the snapshot, in zxid order.
    pub log_after_snapshot: Vec<Txn>,
}

/// Recovery for an ensemble member: see [`QuorumRecovered`]. The same checks and repairs
/// as [`recover`].
pub fn recover_for_quorum(
    config: &StorageConfig,
    tree_config: TreeConfig,
) -> Result<QuorumRecovered, StorageError> {
    let (recovered, log_after_snapshot) = recover_with(config, tree_config, ReplayMode::Collect)?;
    Ok(QuorumRecovered {
        recovered,
        log_after_snapshot,
    })
}

/// Whether the replay applies the logged txns or only collects them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReplayMode {
    Apply,
    Collect,
}

fn recover_with(
    config: &StorageConfig,
    tree_config: TreeConfig,
    mode: ReplayMode,
) -> Result<(Recovered, Vec<Txn>), StorageError> {
    let snapshot_dir = files::version_dir(&config.data_dir);
    let log_dir = files::version_dir(&config.data_log_dir);
    files::create_dir(&snapshot_dir)?;
    files::create_dir(&log_dir)?;
    for path in files::remove_temp_files(&snapshot_dir, SNAPSHOT_PREFIX)? {
        tracing::info!(path = %path.display(), "removed an incomplete snapshot");
    }

    let started = Instant::now();
    let (tree, snapshot, skipped_snapshots) = newest_valid_snapshot(&snapshot_dir, tree_config)?;
    let snapshot_loaded = Instant::now();
    let snapshot_zxid = tree.last_applied_zxid();
    let mut replay = Replay::new(tree, mode);
    let segments = files::list(&log_dir, LOG_PREFIX)?;
    // The newest segment starting at or before the snapshot holds its successor (or the
    // snapshot is at the end of it); every later segment follows.
    let start = segments
        .iter()
        .rposition(|file| file.zxid <= snapshot_zxid)
        .unwrap_or(0);
    let mut torn_tail = None;
    for (index, file) in segments.iter().enumerate().skip(start) {
        replay.segment_first = Some(file.zxid);
        let scan = segment::scan(&file.path, config.max_txn_bytes, |offset, txn| {
            replay.visit(&file.path, offset, txn)
        })?;
        let is_last = index + 1 == segments.len();
        torn_tail = check_segment_end(file, &scan, is_last)?;
    }

    let replayed = Instant::now();
    let repaired_tail = match torn_tail {
        Some(repair) => Some(apply_repair(repair, &log_dir)?),
        None => None,
    };
    if let Some(last_logged) = replay.last_logged {
        if last_logged < snapshot_zxid {
            tracing::warn!(%last_logged, %snapshot_zxid, "the log ends before the snapshot");
        }
    }
    let log = TxnLog::open(config, replay.last_kept())?;
    tracing::info!(
        snapshot = ?snapshot.as_ref().map(|file| file.path.display().to_string()),
        replayed = replay.replayed,
        collected = replay.collected.len(),
        last_zxid = %replay.last_kept(),
        snapshot_ms = (snapshot_loaded - started).as_millis(),
        replay_ms = (replayed - snapshot_loaded).as_millis(),
        "recovered the data tree"
    );
    let collected = std::mem::take(&mut replay.collected);
    let recovered = Recovered {
        tree: replay.tree,
        log,
        snapshot,
        skipped_snapshots,
        replayed_txns: replay.replayed,
        failed_replays: replay.failed,
        repaired_tail,
    };
    Ok((recovered, collected))
}

type SnapshotChoice = (DataTree, Option<NamedFile>, Vec<SkippedSnapshot>);

/// The newest snapshot that loads, newest first; an empty tree when none does.
fn newest_valid_snapshot(
    dir: &Path,
    tree_config: TreeConfig,
) -> Result<SnapshotChoice, StorageError> {
    let mut skipped = Vec::new();
    for file in files::list(dir, SNAPSHOT_PREFIX)?.into_iter().rev() {
        match snapshot::load(&file.path, tree_config.clone()) {
            Ok(tree) => return Ok((tree, Some(file), skipped)),
            Err(error @ StorageError::ForeignFile { .. }) => return Err(error),
            Err(error) => {
                tracing::warn!(path = %file.path.display(), %error, "skipping a damaged snapshot");
                skipped.push(SkippedSnapshot {
                    path: file.path,
                    reason: error.to_string(),
                });
            }
        }
    }
    Ok((DataTree::new(tree_config), None, skipped))
}

/// The log replay: continuity checks and apply.
struct Replay {
    tree: DataTree,
    last_logged: Option<Zxid>,
    /// The zxid the segment being read is named after, until its first record is checked.
    segment_first: Option<Zxid>,
    replayed: u64,
    failed: u64,
    mode: ReplayMode,
    /// In [`ReplayMode::Collect`], the txns after the snapshot.
    collected: Vec<Txn>,
}

impl Replay {
    fn new(tree: DataTree, mode: ReplayMode) -> Self {
        Replay {
            tree,
            last_logged: None,
            segment_first: None,
            replayed: 0,
            failed: 0,
            mode,
            collected: Vec::new(),
        }
    }

    /// The last txn the recovered state holds: applied or collected.
    fn last_kept(&self) -> Zxid {
        self.collected
            .last()
            .map_or(self.tree.last_applied_zxid(), |txn| txn.zxid)
    }

    fn visit(&mut self, path: &Path, offset: u64, txn: Txn) -> Result<(), StorageError> {
        if let Some(named) = self.segment_first.take() {
            if txn.zxid != named {
                return Err(StorageError::SegmentMismatch {
                    path: path.to_owned(),
                    reason: format!("named after {named} but starts with txn {}", txn.zxid),
                });
            }
        }
        if let Some(previous) = self.last_logged {
            if !is_next_zxid(previous, txn.zxid) {
                return Err(gap(path, offset, previous, txn.zxid));
            }
        }
        self.last_logged = Some(txn.zxid);
        let applied = self.tree.last_applied_zxid();
        if txn.zxid <= applied {
            return Ok(()); // already in the snapshot
        }
        let kept = self.last_kept();
        if !is_next_zxid(kept, txn.zxid) {
            return Err(gap(path, offset, kept, txn.zxid));
        }
        if self.mode == ReplayMode::Collect {
            self.collected.push(txn);
            return Ok(());
        }
        let outcome = self.tree.apply(&txn);
        if outcome.result.error().is_some() && !carries_error(&txn.body) {
            self.failed += 1;
            tracing::warn!(zxid = %txn.zxid, result = ?outcome.result, "a replayed txn failed");
        }
        self.replayed += 1;
        Ok(())
    }
}

fn gap(path: &Path, offset: u64, previous: Zxid, found: Zxid) -> StorageError {
    StorageError::ZxidGap {
        path: path.to_owned(),
        offset,
        previous,
        found,
    }
}

/// Whether a txn records a failure (so that its apply failing is expected).
fn carries_error(body: &TxnBody) -> bool {
    match body {
        TxnBody::Error(_) => true,
        TxnBody::Multi(ops) => ops.iter().any(carries_error),
        _ => false,
    }
}

/// Refuses damage that is not a torn tail; returns the repair a torn tail needs.
fn check_segment_end(
    file: &NamedFile,
    scan: &SegmentScan,
    is_last: bool,
) -> Result<Option<TailRepair>, StorageError> {
    if let Ok(header) = &scan.header {
        if header.first_zxid != file.zxid {
            return Err(StorageError::SegmentMismatch {
                path: file.path.clone(),
                reason: format!(
                    "named after {} but its header says {}",
                    file.zxid, header.first_zxid
                ),
            });
        }
    }
    let (offset, reason) = match &scan.end {
        SegmentEnd::Clean if is_last && scan.record_count == 0 => {
            let reason = "the last segment holds no record".to_owned();
            return Ok(Some(TailRepair::Removed {
                path: file.path.clone(),
                reason,
            }));
        }
        SegmentEnd::Clean => return Ok(None),
        SegmentEnd::Damaged {
            offset,
            reason,
            valid_record_at,
        } => {
            let why_not_tail = if let Some(at) = valid_record_at {
                Some(format!("a valid record follows at offset {at}"))
            } else if !is_last {
                Some("a later segment exists, so this one was complete and synced".to_owned())
            } else {
                None
            };
            if let Some(why_not_tail) = why_not_tail {
                return Err(StorageError::CorruptLog {
                    path: file.path.clone(),
                    offset: *offset,
                    reason: reason.clone(),
                    why_not_tail,
                });
            }
            (*offset, reason.clone())
        }
    };
    if scan.record_count == 0 {
        return Ok(Some(TailRepair::Removed {
            path: file.path.clone(),
            reason,
        }));
    }
    Ok(Some(TailRepair::Truncated {
        path: file.path.clone(),
        offset,
        discarded_bytes: scan.file_len - offset,
        reason,
    }))
}

fn apply_repair(repair: TailRepair, log_dir: &Path) -> Result<TailRepair, StorageError> {
    match &repair {
        TailRepair::Truncated {
            path,
            offset,
            discarded_bytes,
            reason,
        } => {
            tracing::warn!(
                path = %path.display(), offset, discarded_bytes, reason = %reason,
                "truncating the torn tail of the log (txns never acknowledged)"
            );
            segment::truncate(path, *offset)?;
        }
        TailRepair::Removed { path, reason } => {
            tracing::warn!(path = %path.display(), reason = %reason, "removing an empty last log segment");
            files::remove(path)?;
            files::sync_directory(log_dir)?;
        }
    }
    Ok(repair)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::snapshot;
    use zk_proto::SessionId;

    fn config(dir: &Path) -> StorageConfig {
        StorageConfig {
            preallocation_bytes: 4096,
            ..StorageConfig::new(dir)
        }
    }

    fn session_txns(range: std::ops::RangeInclusive<i64>) -> Vec<Txn> {
        range
            .map(|zxid| Txn {
                zxid: Zxid(zxid),
                time_ms: zxid,
                session_id: SessionId(zxid),
                body: TxnBody::CreateSession { timeout_ms: 5000 },
            })
            .collect()
    }

    #[test]
    fn an_empty_directory_recovers_an_empty_tree() {
        let dir = tempfile::tempdir().unwrap();
        let recovered = recover(&config(dir.path()), TreeConfig::default()).unwrap();
        assert_eq!(recovered.tree.last_applied_zxid(), Zxid::ZERO);
        assert!(recovered.snapshot.is_none());
        assert!(dir.path().join("version-2").is_dir());
    }

    #[test]
    fn snapshot_then_log_replays_only_the_txns_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let mut log = TxnLog::open(&config, Zxid::ZERO).unwrap();
        let mut tree = DataTree::new(TreeConfig::default());
        for txn in session_txns(1..=5) {
            tree.apply(&txn);
        }
        log.append(&session_txns(1..=7)).unwrap();
        log.sync().unwrap();
        snapshot::write(
            &files::version_dir(dir.path()),
            Zxid(5),
            &tree.to_snapshot_bytes(),
        )
        .unwrap();
        let recovered = recover(&config, TreeConfig::default()).unwrap();
        assert_eq!(recovered.replayed_txns, 2);
        assert_eq!(recovered.tree.last_applied_zxid(), Zxid(7));
        assert_eq!(recovered.tree.sessions().count(), 7);
        assert_eq!(recovered.log.last_appended_zxid(), Zxid(7));
    }

    #[test]
    fn an_ensemble_member_recovers_the_snapshot_and_keeps_the_log_unapplied() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let mut log = TxnLog::open(&config, Zxid::ZERO).unwrap();
        let mut tree = DataTree::new(TreeConfig::default());
        for txn in session_txns(1..=2) {
            tree.apply(&txn);
        }
        log.append(&session_txns(1..=4)).unwrap();
        log.sync().unwrap();
        snapshot::write(
            &files::version_dir(dir.path()),
            Zxid(2),
            &tree.to_snapshot_bytes(),
        )
        .unwrap();
        let quorum = recover_for_quorum(&config, TreeConfig::default()).unwrap();
        assert_eq!(quorum.recovered.tree.last_applied_zxid(), Zxid(2));
        let kept: Vec<i64> = quorum.log_after_snapshot.iter().map(|t| t.zxid.0).collect();
        assert_eq!(kept, vec![3, 4]);
        assert_eq!(quorum.recovered.log.last_appended_zxid(), Zxid(4));
    }

    #[test]
    fn a_gap_between_segments_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path());
        let mut log = TxnLog::open(&config, Zxid::ZERO).unwrap();
        log.append(&session_txns(1..=3)).unwrap();
        log.roll().unwrap();
        let mut later = TxnLog::open(&config, Zxid(4)).unwrap();
        later.append(&session_txns(5..=6)).unwrap();
        later.sync().unwrap();
        let error = recover(&config, TreeConfig::default()).unwrap_err();
        let StorageError::ZxidGap {
            previous,
            found,
            path,
            ..
        } = error
        else {
            panic!("{error}")
        };
        assert_eq!((previous, found), (Zxid(3), Zxid(5)));
        assert!(path.ends_with("log.5"));
    }
}

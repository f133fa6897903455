//! The two threads that own the files while the server runs, fed by bounded channels, so
//! that no fsync or snapshot write ever blocks an actix arbiter:
//!
//! - the **log thread** owns the [`TxnLog`]: it appends each batch it is given, fsyncs
//!   once, and reports what is durable (Apache's `SyncRequestProcessor` thread). Its log
//!   gets each new segment ready-made from a third thread, the
//!   [`super::preallocator`], so that no batch waits for a segment to be zero-filled;
//! - the **snapshot thread** writes snapshot files and runs purges, which can take seconds
//!   and must not delay log syncs (Apache's snapshot thread and `DatadirCleanupManager`).
//!
//! Reports go through a callback, which the LogActor points at its own address. A thread
//! ends when its channel's sender is dropped, after finishing the command at hand; the log
//! thread also ends after reporting a failure, since a log that failed an fsync cannot be
//! trusted to have written anything.

use super::config::StorageConfig;
use super::error::StorageError;
use super::files;
use super::purge::{self, PurgeReport};
use super::snapshot;
use super::txn_log::{Synced, TxnLog};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::time::{Duration, Instant};
use zk_proto::Zxid;
use zk_tree::Txn;

/// Commands queued for the log thread: at most one batch in flight plus rolls.
pub const LOG_COMMAND_QUEUE_LIMIT: usize = 4;
/// Commands queued for the snapshot thread: one snapshot and one purge.
pub const SNAPSHOT_COMMAND_QUEUE_LIMIT: usize = 2;
/// An fsync slower than this is logged as a warning (Apache's `fsync.warningthresholdms`).
pub const FSYNC_WARNING_THRESHOLD: Duration = Duration::from_millis(1000);

/// Work for the log thread.
#[derive(Debug)]
pub enum LogCommand {
    /// Append these txns and fsync; reports [`Synced`].
    Write(Vec<Txn>),
    /// Close the current segment; the next write starts a new one. Reports nothing.
    Roll,
    /// An ensemble member's durable change other than an append, done in order with the
    /// appends (ZAB needs "history, then epoch, then ACK"); reports [`Synced`] with no txn.
    Quorum(QuorumWrite),
}

/// The non-append writes of ZAB (`zk_zab::DurableWrite`), with what the thread needs.
#[derive(Debug)]
pub enum QuorumWrite {
    /// Replace an epoch file (`acceptedEpoch` or `currentEpoch`) in `data_dir`.
    Epoch {
        data_dir: PathBuf,
        file: &'static str,
        epoch: zk_proto::Epoch,
    },
    /// Drop every logged txn after `after` (TRUNC).
    Truncate { after: Zxid },
    /// Write the leader's snapshot as the newest one and restart the log after it (SNAP).
    InstallSnapshot {
        data_dir: PathBuf,
        zxid: Zxid,
        bytes: Vec<u8>,
    },
}

/// Starts the log thread with `log`, and its preallocator; `report` receives the outcome
/// of every write (after an error, nothing more: the thread has ended).
pub fn spawn_log_thread<R>(
    mut log: TxnLog,
    report: R,
) -> Result<SyncSender<LogCommand>, StorageError>
where
    R: FnMut(Result<Synced, StorageError>) + Send + 'static,
{
    log.preallocate_in_background()?;
    let (sender, receiver) = mpsc::sync_channel(LOG_COMMAND_QUEUE_LIMIT);
    std::thread::Builder::new()
        .name("zk-log-sync".into())
        .spawn(move || run_log_thread(log, receiver, report))
        .map_err(|source| StorageError::Thread {
            name: "zk-log-sync",
            source,
        })?;
    Ok(sender)
}

fn run_log_thread<R>(mut log: TxnLog, commands: Receiver<LogCommand>, mut report: R)
where
    R: FnMut(Result<Synced, StorageError>),
{
    for command in commands {
        match command {
            LogCommand::Write(txns) => {
                let started = Instant::now();
                let result = log.append(&txns).and_then(|()| log.sync());
                let elapsed = started.elapsed();
                if elapsed > FSYNC_WARNING_THRESHOLD {
                    tracing::warn!(
                        elapsed_ms = elapsed.as_millis() as u64,
                        txns = txns.len(),
                        "fsync of the transaction log was slow"
                    );
                }
                let failed = result.is_err();
                report(result);
                if failed {
                    return;
                }
            }
            LogCommand::Roll => {
                if let Err(error) = log.roll() {
                    report(Err(error));
                    return;
                }
            }
            LogCommand::Quorum(write) => {
                let result = run_quorum_write(&mut log, write).map(|()| Synced {
                    through: log.last_synced_zxid(),
                    txn_count: 0,
                    bytes: 0,
                });
                let failed = result.is_err();
                report(result);
                if failed {
                    return;
                }
            }
        }
    }
}

fn run_quorum_write(log: &mut TxnLog, write: QuorumWrite) -> Result<(), StorageError> {
    match write {
        QuorumWrite::Epoch {
            data_dir,
            file,
            epoch,
        } => super::epochs::write(&data_dir, file, epoch),
        QuorumWrite::Truncate { after } => log.truncate_after(after),
        QuorumWrite::InstallSnapshot {
            data_dir,
            zxid,
            bytes,
        } => {
            let dir = files::version_dir(&data_dir);
            files::create_dir(&dir)?;
            snapshot::write(&dir, zxid, &bytes)?;
            log.restart_after_snapshot(zxid)?;
            Ok(())
        }
    }
}

/// Work for the snapshot thread.
#[derive(Debug)]
pub enum SnapshotCommand {
    /// Write the snapshot `bytes` of the tree at `zxid`.
    Write { zxid: Zxid, bytes: Vec<u8> },
    /// Remove the files recovery no longer needs.
    Purge,
}

/// What the snapshot thread did.
#[derive(Debug)]
pub enum SnapshotReport {
    Written {
        zxid: Zxid,
        result: Result<PathBuf, StorageError>,
    },
    Purged(Result<PurgeReport, StorageError>),
}

/// Starts the snapshot thread for the directories of `config`.
pub fn spawn_snapshot_thread<R>(
    config: StorageConfig,
    report: R,
) -> Result<SyncSender<SnapshotCommand>, StorageError>
where
    R: FnMut(SnapshotReport) + Send + 'static,
{
    let (sender, receiver) = mpsc::sync_channel(SNAPSHOT_COMMAND_QUEUE_LIMIT);
    std::thread::Builder::new()
        .name("zk-snapshot".into())
        .spawn(move || run_snapshot_thread(config, receiver, report))
        .map_err(|source| StorageError::Thread {
            name: "zk-snapshot",
            source,
        })?;
    Ok(sender)
}

fn run_snapshot_thread<R>(config: StorageConfig, commands: Receiver<SnapshotCommand>, mut report: R)
where
    R: FnMut(SnapshotReport),
{
    let dir = files::version_dir(&config.data_dir);
    for command in commands {
        match command {
            SnapshotCommand::Write { zxid, bytes } => {
                let started = Instant::now();
                let result =
                    files::create_dir(&dir).and_then(|()| snapshot::write(&dir, zxid, &bytes));
                if result.is_ok() {
                    tracing::info!(
                        %zxid, bytes = bytes.len(), elapsed_ms = started.elapsed().as_millis() as u64,
                        "snapshot written"
                    );
                }
                report(SnapshotReport::Written { zxid, result });
            }
            SnapshotCommand::Purge => report(SnapshotReport::Purged(purge::purge(&config))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_proto::SessionId;
    use zk_tree::TxnBody;

    fn txns(range: std::ops::RangeInclusive<i64>) -> Vec<Txn> {
        range
            .map(|zxid| Txn {
                zxid: Zxid(zxid),
                time_ms: 0,
                session_id: SessionId(1),
                body: TxnBody::CreateSession { timeout_ms: 1 },
            })
            .collect()
    }

    fn config(dir: &std::path::Path) -> StorageConfig {
        StorageConfig {
            preallocation_bytes: 4096,
            ..StorageConfig::new(dir)
        }
    }

    #[test]
    fn the_log_thread_reports_each_batch_and_ends_with_its_channel() {
        let dir = tempfile::tempdir().unwrap();
        let log = TxnLog::open(&config(dir.path()), Zxid::ZERO).unwrap();
        let (reports, received) = mpsc::channel();
        let commands = spawn_log_thread(log, move |result| {
            reports.send(result.map(|synced| synced.through)).unwrap();
        })
        .unwrap();
        commands.send(LogCommand::Write(txns(1..=3))).unwrap();
        commands.send(LogCommand::Roll).unwrap();
        commands.send(LogCommand::Write(txns(4..=4))).unwrap();
        drop(commands);
        let throughs: Vec<Zxid> = received.iter().map(Result::unwrap).collect();
        assert_eq!(throughs, vec![Zxid(3), Zxid(4)]);
        let segments = files::list(&files::version_dir(dir.path()), files::LOG_PREFIX).unwrap();
        assert_eq!(segments.len(), 2);
    }

    #[test]
    fn the_log_thread_stops_after_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let log = TxnLog::open(&config(dir.path()), Zxid::ZERO).unwrap();
        let (reports, received) = mpsc::channel();
        let commands = spawn_log_thread(log, move |result: Result<Synced, StorageError>| {
            reports.send(result.is_ok()).unwrap();
        })
        .unwrap();
        commands.send(LogCommand::Write(txns(2..=2))).unwrap();
        // The report sender lives in the thread: the iteration ends when the thread does,
        // right after reporting the out-of-order write.
        let outcomes: Vec<bool> = received.iter().collect();
        assert_eq!(outcomes, vec![false]);
    }

    #[test]
    fn the_snapshot_thread_writes_and_purges() {
        let dir = tempfile::tempdir().unwrap();
        let (reports, received) = mpsc::channel();
        let commands = spawn_snapshot_thread(config(dir.path()), move |report| {
            reports.send(report).unwrap();
        })
        .unwrap();
        let tree = zk_tree::DataTree::new(zk_tree::TreeConfig::default());
        commands
            .send(SnapshotCommand::Write {
                zxid: Zxid::ZERO,
                bytes: tree.to_snapshot_bytes(),
            })
            .unwrap();
        commands.send(SnapshotCommand::Purge).unwrap();
        drop(commands);
        let reports: Vec<SnapshotReport> = received.iter().collect();
        assert!(matches!(
            &reports[0],
            SnapshotReport::Written { result: Ok(_), .. }
        ));
        assert!(matches!(&reports[1], SnapshotReport::Purged(Ok(_))));
    }
}

//! The two threads that own the files while the server runs, fed by bounded channels, so
//! that no fsync or snapshot write ever blocks an actix arbiter:
//!
//! - the **log thread** owns the [`TxnLog`]: it appends each batch it is given, fsyncs
//!   once, and reports what is durable (Apache's `SyncRequestProcessor` thread). While it
//!   has nothing to do, its owner may append and fsync a batch itself
//!   ([`LogThread::write_here`]): a lone write then costs no thread hand-over. Its log
//!   gets each new segment ready-made, and the zeros ahead of its records, from a third
//!   thread, the [`super::preallocator`], so that no batch waits for zeros to be written;
//! - the **snapshot thread** encodes frozen trees ([`SnapshotView`]s) straight into
//!   snapshot files and runs purges, which can take seconds and must not delay log syncs
//!   (Apache's snapshot thread and `DatadirCleanupManager`).
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
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zk_proto::Zxid;
use zk_tree::{SnapshotView, Txn};

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

/// The log thread, and a way to write on the caller's thread while it is idle.
///
/// The log is shared behind a mutex: the thread holds it for each command; a caller may
/// take it only when every command sent has finished ([`LogThread::write_here`]), so the
/// two never wait for each other and the log's order is the order of the calls.
pub struct LogThread {
    commands: SyncSender<LogCommand>,
    log: Arc<Mutex<TxnLog>>,
    /// Commands sent and not yet finished by the thread.
    unfinished: Arc<AtomicUsize>,
}

/// Why [`LogThread::write_here`] did not write.
#[derive(Debug, PartialEq, Eq)]
pub enum NotIdle {
    /// The thread has commands to finish first; send this batch after them.
    Busy,
}

impl LogThread {
    /// Queues a command for the thread.
    pub fn send(&self, command: LogCommand) -> Result<(), TrySendError<LogCommand>> {
        self.unfinished.fetch_add(1, Ordering::AcqRel);
        self.commands.try_send(command).inspect_err(|_| {
            self.unfinished.fetch_sub(1, Ordering::AcqRel);
        })
    }

    /// Whether every command sent has finished: then [`LogThread::write_here`] writes.
    pub fn is_idle(&self) -> bool {
        self.unfinished.load(Ordering::Acquire) == 0
    }

    /// Appends `txns` and fsyncs on the calling thread, when the log thread has nothing
    /// left to do (else [`NotIdle::Busy`]: send the batch instead). It saves two thread
    /// wake-ups, and blocks the caller for one fsync.
    pub fn write_here(&self, txns: &[Txn]) -> Result<Result<Synced, StorageError>, NotIdle> {
        if !self.is_idle() {
            return Err(NotIdle::Busy);
        }
        let mut log = match self.log.lock() {
            Ok(log) => log,
            Err(_) => return Ok(Err(thread_died())),
        };
        Ok(write_and_sync(&mut log, txns))
    }
}

fn thread_died() -> StorageError {
    StorageError::Thread {
        name: "zk-log-sync",
        source: std::io::Error::other("the log thread panicked while writing"),
    }
}

/// Starts the log thread with `log`, and its preallocator; `report` receives the outcome
/// of every command the thread runs (after an error, nothing more: the thread has ended).
/// Writes made with [`LogThread::write_here`] are not reported.
pub fn spawn_log_thread<R>(mut log: TxnLog, report: R) -> Result<LogThread, StorageError>
where
    R: FnMut(Result<Synced, StorageError>) + Send + 'static,
{
    log.preallocate_in_background()?;
    let (sender, receiver) = mpsc::sync_channel(LOG_COMMAND_QUEUE_LIMIT);
    let log = Arc::new(Mutex::new(log));
    let unfinished = Arc::new(AtomicUsize::new(0));
    let thread_log = log.clone();
    let thread_unfinished = unfinished.clone();
    std::thread::Builder::new()
        .name("zk-log-sync".into())
        .spawn(move || run_log_thread(&thread_log, &thread_unfinished, receiver, report))
        .map_err(|source| StorageError::Thread {
            name: "zk-log-sync",
            source,
        })?;
    Ok(LogThread {
        commands: sender,
        log,
        unfinished,
    })
}

/// Appends and fsyncs once, warning when the fsync was slow.
fn write_and_sync(log: &mut TxnLog, txns: &[Txn]) -> Result<Synced, StorageError> {
    let started = Instant::now();
    let result = log.append(txns).and_then(|()| log.sync());
    let elapsed = started.elapsed();
    if elapsed > FSYNC_WARNING_THRESHOLD {
        tracing::warn!(
            elapsed_ms = elapsed.as_millis() as u64,
            txns = txns.len(),
            "fsync of the transaction log was slow"
        );
    }
    result
}

fn run_log_thread<R>(
    log: &Mutex<TxnLog>,
    unfinished: &AtomicUsize,
    commands: Receiver<LogCommand>,
    mut report: R,
) where
    R: FnMut(Result<Synced, StorageError>),
{
    for command in commands {
        let outcome = match log.lock() {
            Ok(mut log) => run_log_command(&mut log, command),
            Err(_) => Some(Err(thread_died())),
        };
        // Finished before it is reported: whoever hears of it may write next.
        unfinished.fetch_sub(1, Ordering::AcqRel);
        if let Some(result) = outcome {
            let failed = result.is_err();
            report(result);
            if failed {
                return;
            }
        }
    }
}

/// Runs one command; `None` when it has nothing to report (a roll that succeeded).
fn run_log_command(log: &mut TxnLog, command: LogCommand) -> Option<Result<Synced, StorageError>> {
    match command {
        LogCommand::Write(txns) => Some(write_and_sync(log, &txns)),
        LogCommand::Roll => log.roll().err().map(Err),
        LogCommand::Quorum(write) => Some(run_quorum_write(log, write).map(|()| Synced {
            through: log.last_synced_zxid(),
            txn_count: 0,
            bytes: 0,
        })),
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
    /// Encode the frozen tree into a snapshot file, named after its last applied zxid. The
    /// thread drops the view when done: it may be the last owner of arena chunks the tree
    /// copied meanwhile, and freeing them takes time no actor should spend.
    Write(SnapshotView),
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
            SnapshotCommand::Write(view) => {
                let zxid = view.last_applied_zxid();
                let started = Instant::now();
                let written =
                    files::create_dir(&dir).and_then(|()| snapshot::write_view(&dir, &view));
                let elapsed_ms = started.elapsed().as_millis() as u64;
                drop(view);
                crate::memory::release_freed_pages();
                let result = written.map(|(path, header)| {
                    tracing::info!(%zxid, bytes = header.body_len, elapsed_ms, "snapshot written");
                    path
                });
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
    fn an_idle_log_thread_lets_the_caller_write_in_order_with_its_commands() {
        let dir = tempfile::tempdir().unwrap();
        let log = TxnLog::open(&config(dir.path()), Zxid::ZERO).unwrap();
        let (reports, received) = mpsc::channel();
        let thread = spawn_log_thread(log, move |result| {
            reports.send(result.map(|synced| synced.through)).unwrap();
        })
        .unwrap();
        let synced = thread.write_here(&txns(1..=2)).unwrap().unwrap();
        assert_eq!(synced.through, Zxid(2));
        thread.send(LogCommand::Write(txns(3..=3))).unwrap();
        // Until the thread has finished its write, the caller may not write.
        let deadline = Instant::now() + Duration::from_secs(10);
        let synced = loop {
            match thread.write_here(&txns(4..=4)) {
                Err(NotIdle::Busy) => assert!(Instant::now() < deadline, "the thread never idled"),
                Ok(result) => break result.unwrap(),
            }
            std::thread::yield_now();
        };
        assert_eq!(synced.through, Zxid(4));
        assert_eq!(received.recv().unwrap().unwrap(), Zxid(3));
        drop(thread);
        assert!(received.recv().is_err(), "inline writes are not reported");
        let segments = files::list(&files::version_dir(dir.path()), files::LOG_PREFIX).unwrap();
        assert_eq!(segments.len(), 1);
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
            .send(SnapshotCommand::Write(tree.snapshot_view()))
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

//! LogActor: the sync stage (Apache's `SyncRequestProcessor`). It makes prepared txns
//! durable before they are applied: [`Persist`] batches go to the log thread, which
//! appends and fsyncs, one batch at a time, so that everything queued during an fsync
//! shares the next one (group commit); each fsync is reported as [`Durable`].
//!
//! A small batch, when the log thread is idle and the disk has been quick, is written and
//! fsynced here instead, on this actor's thread: a lone write then wakes no other thread
//! twice (handing the batch over and hearing back cost more CPU than the write itself on
//! a virtual machine). The arbiter is blocked for that one fsync only; under load the
//! batches grow past the limit, or the thread is busy, and the thread takes them.
//!
//! It also decides when a snapshot is due (Apache's randomised `snapCount`): it rolls the
//! log and sends [`SnapshotDue`]; the TreeActor answers with a [`Snapshot`]: a frozen view
//! of its tree (copy-on-write, taken in microseconds). The snapshot thread encodes the view
//! straight into the file, never holding the whole encoding in memory, and drops it there.
//! One snapshot at a time: while one is being written, a due snapshot is skipped and an
//! unrequested one dropped (Apache's "Too busy to snap, skipping"); the log keeps every
//! txn, so a skipped snapshot only lengthens the next recovery. Autopurge runs on the
//! snapshot thread every `purgeInterval` hours, and once at start.
//!
//! A failed append or fsync is fatal to the log: it is reported once as [`StorageFailed`]
//! and every later [`Persist`] is dropped (never acknowledged). The server must stop, as
//! Apache's does: after a failed fsync the kernel may have dropped the pages it could not
//! write, so nothing the log holds since the last good fsync can be trusted.

use crate::storage::background::{self, LogCommand, LogThread, SnapshotCommand, SnapshotReport};
use crate::storage::group_commit::GroupCommit;
use crate::storage::quorum_queue::{QuorumDurable, QuorumQueue};
use crate::storage::snapshot_policy::SnapshotPolicy;
use crate::storage::txn_log::Synced;
use crate::storage::{StorageConfig, StorageError, TxnLog};
use actix::prelude::*;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zk_proto::Zxid;
use zk_tree::{SnapshotView, Txn};

/// Txns to make durable, in zxid order, continuing the ones sent before.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Persist {
    pub txns: Vec<Txn>,
}

/// The tree frozen at its last applied txn (`DataTree::snapshot_view`), to write as a
/// snapshot named after that zxid. Sent after [`SnapshotDue`], or at any time (at start,
/// on request); in the latter case the log is rolled here.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Snapshot {
    pub view: SnapshotView,
}

/// An ensemble member's durable write (ZAB's `Persist`), with ZAB's write id. Writes are
/// made durable in id order; [`Persisted`] confirms them.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PersistQuorum {
    pub id: u64,
    pub write: QuorumDurable,
}

/// Sent to the BroadcastActor: every quorum write up to id `through` is durable.
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq)]
#[rtype(result = "()")]
pub struct Persisted {
    pub through: u64,
}

/// Sent to the commit step: every txn up to `through` is durable.
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq)]
#[rtype(result = "()")]
pub struct Durable {
    pub through: Zxid,
}

/// Sent to the TreeActor: a snapshot is due; answer with [`Snapshot`].
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq)]
#[rtype(result = "()")]
pub struct SnapshotDue;

/// Sent once when the log cannot write or fsync: nothing persisted after this becomes
/// durable, and the server must stop.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct StorageFailed {
    pub error: Arc<StorageError>,
}

/// Runs a purge now (the autopurge timer sends this; an operator command may too).
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Purge;

/// Where the LogActor's reports go.
pub struct LogRecipients {
    /// Standalone: the commit step (the TreeActor).
    pub durable: Recipient<Durable>,
    /// In an ensemble: the BroadcastActor, which confirms ZAB's writes.
    pub persisted: Option<Recipient<Persisted>>,
    pub snapshot_due: Recipient<SnapshotDue>,
    pub failed: Recipient<StorageFailed>,
}

/// The largest batch written on the actor's thread rather than the log thread's. Only a
/// nearly idle server has batches this small: a busy one gathers more during each fsync.
const WRITE_HERE_MAX_TXNS: usize = 4;
/// Batches are written here only while writes take less than this on average: a slow
/// disk (a spinning one, or a congested one) must not stall the arbiter's other work,
/// reads and session pings, for each of its fsyncs.
const WRITE_HERE_MAX_SYNC: Duration = Duration::from_millis(2);

/// A moving average of how long writes take (append and fsync; through the log thread,
/// also the hand-over), weighting the newest by 1/8: single slow fsyncs barely move it, a
/// disk that stays slow does within a few writes.
#[derive(Debug, Default)]
struct SyncTime {
    average: Duration,
}

impl SyncTime {
    fn record(&mut self, took: Duration) {
        self.average = (self.average * 7 + took) / 8;
    }

    fn is_quick(&self) -> bool {
        self.average <= WRITE_HERE_MAX_SYNC
    }
}

/// The log thread's report of one write.
#[derive(Message)]
#[rtype(result = "()")]
struct LogWritten {
    result: Result<Synced, StorageError>,
}

/// The snapshot thread's report.
#[derive(Message)]
#[rtype(result = "()")]
struct SnapshotThreadReport {
    report: SnapshotReport,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SnapshotState {
    Idle,
    /// [`SnapshotDue`] was sent (the log already rolled); waiting for the tree.
    Requested,
    /// The snapshot thread is writing one.
    Writing,
}

/// Owns the log and snapshot threads and the group commit and snapshot decisions.
pub struct LogActor {
    log_thread: LogThread,
    sync_time: SyncTime,
    /// When the write on the log thread was handed over.
    thread_write_started: Option<Instant>,
    /// A [`StartBatch`] is on its way.
    batch_scheduled: bool,
    snapshot_thread: SyncSender<SnapshotCommand>,
    group: GroupCommit,
    /// An ensemble member's writes; `recipients.persisted` hears of them.
    quorum: QuorumQueue,
    policy: SnapshotPolicy,
    snapshot_state: SnapshotState,
    durable_through: Zxid,
    recipients: LogRecipients,
    purge_interval: Option<Duration>,
    failed: bool,
}

impl LogActor {
    /// Starts the actor and its two threads around `log` (from
    /// [`crate::storage::recover`]); `config` must be normalized.
    pub fn start(
        log: TxnLog,
        recipients: LogRecipients,
        config: &StorageConfig,
    ) -> Result<Addr<LogActor>, StorageError> {
        let context = Context::new();
        let address = context.address();
        let durable_through = log.last_synced_zxid();
        let reports = address.clone();
        let log_thread = background::spawn_log_thread(log, move |result| {
            reports.do_send(LogWritten { result });
        })?;
        let reports = address.clone();
        let snapshot_thread = background::spawn_snapshot_thread(config.clone(), move |report| {
            reports.do_send(SnapshotThreadReport { report });
        })?;
        let actor = LogActor {
            log_thread,
            sync_time: SyncTime::default(),
            thread_write_started: None,
            batch_scheduled: false,
            snapshot_thread,
            group: GroupCommit::new(config.max_batch_txns),
            quorum: QuorumQueue::new(config.max_batch_txns),
            policy: SnapshotPolicy::new(
                config.snap_count,
                config.snap_size_limit_bytes,
                config.snapshot_seed,
            ),
            snapshot_state: SnapshotState::Idle,
            durable_through,
            recipients,
            purge_interval: config.purge_interval(),
            failed: false,
        };
        Ok(context.run(actor))
    }

    /// Hands a command to the log thread. Its queue cannot fill: one batch is in flight
    /// at a time, plus a roll or two.
    fn command_log_thread(&mut self, command: LogCommand) {
        match self.log_thread.send(command) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                panic!("the log thread's queue holds at most one batch and its rolls")
            }
            // The thread reported its failure before ending; the report may still be in
            // the mailbox, so make sure the failure is known.
            Err(TrySendError::Disconnected(_)) => self.fail(StorageError::Thread {
                name: "zk-log-sync",
                source: std::io::Error::other("the log thread has stopped"),
            }),
        }
    }

    fn fail(&mut self, error: StorageError) {
        if self.failed {
            return;
        }
        self.failed = true;
        tracing::error!(%error, "the transaction log failed; no write will be acknowledged");
        self.recipients.failed.do_send(StorageFailed {
            error: Arc::new(error),
        });
    }

    /// The policy says a snapshot is due: roll the log and ask for the tree.
    fn snapshot_due(&mut self) {
        self.command_log_thread(LogCommand::Roll);
        if self.snapshot_state == SnapshotState::Writing {
            // Apache's "Too busy to snap, skipping".
            tracing::warn!("a snapshot is still being written; skipping this one");
            return;
        }
        self.snapshot_state = SnapshotState::Requested;
        self.recipients.snapshot_due.do_send(SnapshotDue);
    }
}

impl Actor for LogActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if let Some(interval) = self.purge_interval {
            ctx.notify(Purge);
            ctx.run_interval(interval, |_, ctx| ctx.notify(Purge));
        }
    }
}

impl Handler<Persist> for LogActor {
    type Result = ();

    fn handle(&mut self, persist: Persist, ctx: &mut Self::Context) {
        if self.failed || persist.txns.is_empty() {
            return;
        }
        self.group.push(persist.txns);
        // The batch starts once the Persists already in the mailbox have joined it: a
        // notification is handled after the mailbox is empty. Written one by one here,
        // they would each cost an fsync.
        if !self.group.is_in_flight() && !self.batch_scheduled {
            self.batch_scheduled = true;
            ctx.notify(StartBatch);
        }
    }
}

/// Sent to itself: write what the Persists gathered, if no batch is in flight.
#[derive(Message)]
#[rtype(result = "()")]
struct StartBatch;

impl Handler<StartBatch> for LogActor {
    type Result = ();

    fn handle(&mut self, _: StartBatch, _: &mut Self::Context) {
        self.batch_scheduled = false;
        if self.failed {
            return;
        }
        if let Some(batch) = self.group.start_batch() {
            self.write_batch(batch);
        }
    }
}

impl Handler<PersistQuorum> for LogActor {
    type Result = ();

    fn handle(&mut self, persist: PersistQuorum, _: &mut Self::Context) {
        if self.failed {
            return;
        }
        if let Some(command) = self.quorum.push(persist.id, persist.write) {
            self.command_log_thread(command);
        }
    }
}

impl Handler<LogWritten> for LogActor {
    type Result = ();

    fn handle(&mut self, written: LogWritten, _: &mut Self::Context) {
        if let Some(started) = self.thread_write_started.take() {
            self.sync_time.record(started.elapsed());
        }
        self.on_written(written.result);
    }
}

impl LogActor {
    /// Writes the group commit's batch: here when that is cheap and safe, else on the log
    /// thread.
    fn write_batch(&mut self, batch: Vec<zk_tree::Txn>) {
        let started = Instant::now();
        if self.may_write_here(batch.len()) {
            if let Ok(result) = self.log_thread.write_here(&batch) {
                self.sync_time.record(started.elapsed());
                return self.on_written(result);
            }
        }
        self.thread_write_started = Some(started);
        self.command_log_thread(LogCommand::Write(batch));
    }

    fn may_write_here(&self, txns: usize) -> bool {
        // An ensemble member's log serves ZAB, whose writes always go to the thread.
        txns <= WRITE_HERE_MAX_TXNS
            && self.sync_time.is_quick()
            && self.recipients.persisted.is_none()
            && !self.quorum.is_in_flight()
            && self.log_thread.is_idle()
    }

    /// Handles the outcome of a write or quorum command, from the log thread or from
    /// [`LogActor::write_batch`].
    fn on_written(&mut self, result: Result<Synced, StorageError>) {
        let synced = match result {
            Ok(synced) => synced,
            Err(error) => return self.fail(error),
        };
        if self.quorum.is_in_flight() {
            let (done, next) = self.quorum.on_done();
            self.durable_through = synced.through;
            if let (Some(through), Some(persisted)) = (done, &self.recipients.persisted) {
                persisted.do_send(Persisted { through });
            }
            if self.policy.on_logged(synced.txn_count as u64, synced.bytes) {
                self.snapshot_due();
            }
            if let Some(command) = next {
                self.command_log_thread(command);
            }
            return;
        }
        let next_batch = self.group.on_synced(synced.through);
        self.durable_through = synced.through;
        self.recipients.durable.do_send(Durable {
            through: synced.through,
        });
        if self.policy.on_logged(synced.txn_count as u64, synced.bytes) {
            self.snapshot_due();
        }
        if let Some(batch) = next_batch {
            self.command_log_thread(LogCommand::Write(batch));
        }
    }
}

impl Handler<Snapshot> for LogActor {
    type Result = ();

    fn handle(&mut self, snapshot: Snapshot, _: &mut Self::Context) {
        let zxid = snapshot.view.last_applied_zxid();
        match self.snapshot_state {
            SnapshotState::Writing => {
                // Dropping this view is cheap: it was taken just now, so the tree has
                // copied few chunks for it.
                tracing::warn!(%zxid, "a snapshot is still being written; dropping this one");
                return;
            }
            // Unasked: roll now, so that the next segment starts after the snapshot.
            SnapshotState::Idle => self.command_log_thread(LogCommand::Roll),
            SnapshotState::Requested => {}
        }
        if zxid > self.durable_through {
            tracing::warn!(
                %zxid, durable_through = %self.durable_through,
                "snapshot of a tree ahead of the durable log"
            );
        }
        let command = SnapshotCommand::Write(snapshot.view);
        match self.snapshot_thread.try_send(command) {
            Ok(()) => self.snapshot_state = SnapshotState::Writing,
            Err(error) => {
                tracing::warn!(%error, "the snapshot thread cannot take a snapshot now");
                self.snapshot_state = SnapshotState::Idle;
            }
        }
    }
}

impl Handler<SnapshotThreadReport> for LogActor {
    type Result = ();

    fn handle(&mut self, message: SnapshotThreadReport, _: &mut Self::Context) {
        match message.report {
            SnapshotReport::Written { zxid, result } => {
                self.snapshot_state = SnapshotState::Idle;
                if let Err(error) = result {
                    // The log still holds everything: a failed snapshot costs only a
                    // longer replay, as in Apache.
                    tracing::error!(%zxid, %error, "writing a snapshot failed");
                }
            }
            SnapshotReport::Purged(Ok(report)) => {
                let removed = report.removed.snapshots.len() + report.removed.segments.len();
                if removed > 0 {
                    tracing::info!(
                        removed,
                        oldest_kept_snapshot = ?report.oldest_kept_snapshot,
                        "purged old snapshots and log segments"
                    );
                }
            }
            SnapshotReport::Purged(Err(error)) => tracing::warn!(%error, "purge failed"),
        }
    }
}

impl Handler<Purge> for LogActor {
    type Result = ();

    fn handle(&mut self, _: Purge, _: &mut Self::Context) {
        if let Err(error) = self.snapshot_thread.try_send(SnapshotCommand::Purge) {
            tracing::debug!(%error, "purge skipped: the snapshot thread is busy");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_slow_fsync_keeps_writes_here_but_a_slow_disk_sends_them_to_the_thread() {
        let mut time = SyncTime::default();
        for _ in 0..20 {
            time.record(Duration::from_micros(150));
        }
        time.record(Duration::from_millis(10));
        assert!(time.is_quick(), "one outlier: {:?}", time.average);
        for _ in 0..3 {
            time.record(Duration::from_millis(8));
        }
        assert!(!time.is_quick(), "a slow disk: {:?}", time.average);
        for _ in 0..20 {
            time.record(Duration::from_micros(150));
        }
        assert!(time.is_quick(), "quick again: {:?}", time.average);
    }
}

//! The core's view of its transaction log: the transactions the host was told to write, in
//! zxid order, with how far they are committed and how far they are durable.
//!
//! Only the newest transactions stay in memory: everything up to `base` is in the host's
//! state machine (a snapshot or delivered transactions), and at most
//! `Config::committed_log_max` committed transactions are kept above it for DIFF.

use crate::commands::WriteId;
use crate::error::ZabError;
use crate::messages::HistorySummary;
use crate::txn::Txn;
use std::collections::VecDeque;
use zk_proto::{Epoch, Zxid};

#[derive(Debug, Clone)]
struct Entry {
    txn: Txn,
    /// The write that appended it: the entry is durable once that write is confirmed.
    write: WriteId,
}

/// Logged transactions above `base`, in zxid order.
#[derive(Debug)]
pub(crate) struct Log {
    base: Zxid,
    /// The write that made `base` part of the durable history (0 for restored state).
    base_write: WriteId,
    entries: VecDeque<Entry>,
    committed: Zxid,
    committed_retained_max: usize,
}

impl Log {
    /// The log restored from disk: the snapshot's zxid and the logged transactions after it.
    /// Transactions at or below the snapshot are already in the state machine and skipped.
    pub(crate) fn restored(
        snapshot_zxid: Zxid,
        txns: Vec<Txn>,
        committed_retained_max: usize,
    ) -> Result<Self, ZabError> {
        let mut log = Log {
            base: snapshot_zxid,
            base_write: WriteId(0),
            entries: VecDeque::new(),
            committed: snapshot_zxid,
            committed_retained_max,
        };
        for txn in txns.into_iter().filter(|txn| txn.zxid > snapshot_zxid) {
            if txn.zxid <= log.last_zxid() {
                return Err(ZabError::InvalidRestoredState {
                    reason: format!("log zxid {} does not follow {}", txn.zxid, log.last_zxid()),
                });
            }
            log.append(txn, WriteId(0));
        }
        Ok(log)
    }

    /// Everything up to here is in the host's state machine.
    #[cfg(test)]
    pub(crate) fn base(&self) -> Zxid {
        self.base
    }

    /// The last logged zxid (the base when nothing is logged above it).
    pub(crate) fn last_zxid(&self) -> Zxid {
        self.entries
            .back()
            .map_or(self.base, |entry| entry.txn.zxid)
    }

    /// Everything up to here is committed and was delivered.
    pub(crate) fn committed(&self) -> Zxid {
        self.committed
    }

    /// How many logged transactions are not committed yet.
    pub(crate) fn outstanding(&self) -> usize {
        self.entries.len() - self.position_after(self.committed)
    }

    /// Appends `txn`, which the host writes with `write`.
    pub(crate) fn append(&mut self, txn: Txn, write: WriteId) {
        assert!(
            txn.zxid > self.last_zxid(),
            "the log only grows in zxid order"
        );
        assert!(
            self.entries.back().map_or(true, |last| last.write <= write),
            "writes are issued in order"
        );
        self.entries.push_back(Entry { txn, write });
    }

    /// The last zxid of `epoch` this log knows, counting the base.
    pub(crate) fn last_in_epoch(&self, epoch: Epoch) -> Option<Zxid> {
        let in_entries = self
            .entries
            .iter()
            .rev()
            .map(|entry| entry.txn.zxid)
            .find(|zxid| zxid.epoch() == epoch);
        in_entries.or((self.base.epoch() == epoch).then_some(self.base))
    }

    /// The transactions in `(after, through]`, or `None` when some of them are no longer in
    /// memory.
    pub(crate) fn txns_between(&self, after: Zxid, through: Zxid) -> Option<Vec<Txn>> {
        if after < self.base {
            return None;
        }
        let start = self.position_after(after);
        let end = self.position_after(through);
        Some(
            self.entries
                .range(start..end.max(start))
                .map(|entry| entry.txn.clone())
                .collect(),
        )
    }

    /// Drops every transaction above `after`. Committed ones must never be dropped.
    pub(crate) fn truncate_after(&mut self, after: Zxid) {
        assert!(
            after >= self.committed,
            "committed transactions are never truncated"
        );
        let keep = self.position_after(after);
        self.entries.truncate(keep);
    }

    /// Replaces the log with a snapshot covering everything up to `snapshot_zxid`.
    pub(crate) fn reset_to_snapshot(&mut self, snapshot_zxid: Zxid, write: WriteId) {
        assert!(
            snapshot_zxid >= self.committed,
            "a snapshot never rolls back commits"
        );
        self.entries.clear();
        self.base = snapshot_zxid;
        self.base_write = write;
        self.committed = snapshot_zxid;
    }

    /// Marks everything up to `zxid` (at most the last logged zxid) committed and returns the
    /// newly committed transactions, in order, for delivery. Then drops committed
    /// transactions beyond the retention limit.
    pub(crate) fn commit_through(&mut self, zxid: Zxid) -> Vec<Txn> {
        let target = zxid.min(self.last_zxid());
        if target <= self.committed {
            return Vec::new();
        }
        let start = self.position_after(self.committed);
        let end = self.position_after(target);
        let newly: Vec<Txn> = self
            .entries
            .range(start..end)
            .map(|entry| entry.txn.clone())
            .collect();
        self.committed = target;
        self.trim();
        newly
    }

    /// The last zxid of this log that is durable once writes up to `confirmed` are, or
    /// `None` when not even the base is (a snapshot still being written).
    pub(crate) fn durable_zxid(&self, confirmed: WriteId) -> Option<Zxid> {
        if self.base_write > confirmed {
            return None;
        }
        let durable = self
            .entries
            .partition_point(|entry| entry.write <= confirmed);
        Some(match durable {
            0 => self.base,
            n => self.entries[n - 1].txn.zxid,
        })
    }

    /// What a new leader needs to know about this log (see [`HistorySummary`]).
    pub(crate) fn summary(&self, epochs_max: usize) -> HistorySummary {
        let mut epoch_ends: Vec<Zxid> = Vec::new();
        let uncommitted = self
            .entries
            .iter()
            .skip(self.position_after(self.committed));
        for zxid in uncommitted.map(|entry| entry.txn.zxid) {
            let last_of_epoch = epoch_ends
                .last_mut()
                .filter(|end| end.epoch() == zxid.epoch());
            if let Some(end) = last_of_epoch {
                *end = zxid;
            } else if epoch_ends.len() == epochs_max {
                break;
            } else {
                epoch_ends.push(zxid);
            }
        }
        HistorySummary {
            committed_zxid: self.committed,
            epoch_ends,
            last_zxid: self.last_zxid(),
        }
    }

    /// The index of the first entry above `zxid`.
    fn position_after(&self, zxid: Zxid) -> usize {
        self.entries.partition_point(|entry| entry.txn.zxid <= zxid)
    }

    fn trim(&mut self) {
        let committed_entries = self.position_after(self.committed);
        let excess = committed_entries.saturating_sub(self.committed_retained_max);
        for entry in self.entries.drain(..excess) {
            self.base = entry.txn.zxid;
            self.base_write = self.base_write.max(entry.write);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zxid(epoch: u32, counter: u32) -> Zxid {
        Zxid::new(Epoch(epoch), counter)
    }

    fn txn(epoch: u32, counter: u32) -> Txn {
        Txn::new(zxid(epoch, counter), vec![counter as u8])
    }

    fn log_of(zxids: &[(u32, u32)], retained: usize) -> Log {
        let mut log = Log::restored(Zxid::ZERO, Vec::new(), retained).unwrap();
        for (index, (epoch, counter)) in zxids.iter().enumerate() {
            log.append(txn(*epoch, *counter), WriteId(index as u64 + 1));
        }
        log
    }

    #[test]
    fn commit_returns_newly_committed_txns_once_and_trims_beyond_the_limit() {
        let mut log = log_of(&[(1, 1), (1, 2), (1, 3), (1, 4)], 2);
        let first = log.commit_through(zxid(1, 3));
        assert_eq!(first, vec![txn(1, 1), txn(1, 2), txn(1, 3)]);
        assert_eq!(log.commit_through(zxid(1, 2)), vec![]);
        assert_eq!(
            log.base(),
            zxid(1, 1),
            "only two committed entries stay in memory"
        );
        assert_eq!(log.txns_between(Zxid::ZERO, zxid(1, 4)), None);
        assert_eq!(
            log.txns_between(zxid(1, 2), zxid(1, 4)),
            Some(vec![txn(1, 3), txn(1, 4)])
        );
        assert_eq!(log.outstanding(), 1);
    }

    #[test]
    fn durability_follows_confirmed_writes_in_the_current_view() {
        let mut log = log_of(&[(1, 1), (1, 2), (1, 3)], 10);
        assert_eq!(log.durable_zxid(WriteId(0)), Some(Zxid::ZERO));
        assert_eq!(log.durable_zxid(WriteId(2)), Some(zxid(1, 2)));
        log.truncate_after(zxid(1, 1));
        log.append(txn(2, 1), WriteId(5));
        assert_eq!(
            log.durable_zxid(WriteId(3)),
            Some(zxid(1, 1)),
            "an old confirmation does not vouch for what replaced the truncated entries"
        );
        log.reset_to_snapshot(zxid(3, 7), WriteId(6));
        assert_eq!(log.durable_zxid(WriteId(5)), None);
        assert_eq!(log.durable_zxid(WriteId(6)), Some(zxid(3, 7)));
    }

    #[test]
    fn summary_names_the_last_zxid_of_each_uncommitted_epoch() {
        let mut log = log_of(&[(1, 1), (1, 2), (2, 1), (2, 2), (2, 3), (4, 1)], 10);
        log.commit_through(zxid(1, 1));
        let summary = log.summary(10);
        assert_eq!(summary.committed_zxid, zxid(1, 1));
        assert_eq!(summary.epoch_ends, vec![zxid(1, 2), zxid(2, 3), zxid(4, 1)]);
        assert_eq!(summary.last_zxid, zxid(4, 1));
        assert_eq!(log.summary(2).epoch_ends, vec![zxid(1, 2), zxid(2, 3)]);
        assert_eq!(log.last_in_epoch(Epoch(2)), Some(zxid(2, 3)));
        assert_eq!(log.last_in_epoch(Epoch(3)), None);
    }

    #[test]
    fn restored_logs_skip_what_the_snapshot_covers_and_reject_disorder() {
        let log = Log::restored(zxid(1, 2), vec![txn(1, 1), txn(1, 2), txn(1, 3)], 10).unwrap();
        assert_eq!(log.committed(), zxid(1, 2));
        assert_eq!(log.last_zxid(), zxid(1, 3));
        assert!(Log::restored(Zxid::ZERO, vec![txn(1, 2), txn(1, 1)], 10).is_err());
    }
}

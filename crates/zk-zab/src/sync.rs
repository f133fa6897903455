//! How a leader brings one learner's log to its history: DIFF, TRUNC or SNAP.
//!
//! The decision needs only the leader's log and the learner's [`HistorySummary`]. Two facts
//! make it exact (DESIGN.md, "Synchronisation"): a zxid names the same transaction on every
//! server, and within an epoch every server holds a run of consecutive counters of that
//! epoch's leader. So if both hold transactions of epoch `e`, they share that epoch up to the
//! smaller of their last zxids in `e`, and everything before it.

use crate::log::Log;
use crate::messages::HistorySummary;
use crate::txn::Txn;
use zk_proto::Zxid;

/// What the leader sends a learner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SyncPlan {
    /// The learner's log is a prefix of the leader's history: append `txns`.
    Diff { txns: Vec<Txn> },
    /// Drop the learner's transactions after `after`, then append `txns`.
    Trunc { after: Zxid, txns: Vec<Txn> },
    /// The shared prefix ends below the leader's in-memory log: a snapshot is needed.
    Snap,
}

/// The last zxid both the leader's log and the learner's history hold.
pub(crate) fn shared_zxid(log: &Log, learner: &HistorySummary) -> Zxid {
    learner
        .epoch_ends
        .iter()
        .filter_map(|end| log.last_in_epoch(end.epoch()).map(|ours| ours.min(*end)))
        .fold(learner.committed_zxid, Zxid::max)
}

/// The plan that makes the learner's log equal to the leader's history up to `through`
/// (the leader's last zxid for a follower, its committed zxid for an observer).
pub(crate) fn plan(log: &Log, learner: &HistorySummary, through: Zxid) -> SyncPlan {
    let shared = shared_zxid(log, learner).min(through);
    let Some(txns) = log.txns_between(shared, through) else {
        return SyncPlan::Snap;
    };
    if shared == learner.last_zxid {
        SyncPlan::Diff { txns }
    } else {
        SyncPlan::Trunc {
            after: shared,
            txns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::WriteId;
    use zk_proto::Epoch;

    fn zxid(epoch: u32, counter: u32) -> Zxid {
        Zxid::new(Epoch(epoch), counter)
    }

    fn txn(epoch: u32, counter: u32) -> Txn {
        Txn::new(zxid(epoch, counter), vec![])
    }

    fn leader_log(zxids: &[(u32, u32)], committed: Zxid, retained: usize) -> Log {
        let mut log = Log::restored(Zxid::ZERO, Vec::new(), retained).unwrap();
        for (epoch, counter) in zxids {
            log.append(txn(*epoch, *counter), WriteId(1));
        }
        log.commit_through(committed);
        log
    }

    fn learner(committed: Zxid, ends: &[Zxid], last: Zxid) -> HistorySummary {
        HistorySummary {
            committed_zxid: committed,
            epoch_ends: ends.to_vec(),
            last_zxid: last,
        }
    }

    #[test]
    fn a_learner_on_the_leaders_path_gets_a_diff() {
        let log = leader_log(&[(1, 1), (1, 2), (2, 1)], zxid(1, 1), 10);
        let behind = learner(zxid(1, 1), &[zxid(1, 2)], zxid(1, 2));
        assert_eq!(
            plan(&log, &behind, log.last_zxid()),
            SyncPlan::Diff {
                txns: vec![txn(2, 1)]
            }
        );
        let equal = learner(zxid(1, 1), &[zxid(1, 2), zxid(2, 1)], zxid(2, 1));
        assert_eq!(
            plan(&log, &equal, log.last_zxid()),
            SyncPlan::Diff { txns: vec![] }
        );
    }

    #[test]
    fn uncommitted_transactions_of_a_dead_epoch_are_truncated() {
        // The learner logged 1.3 and 1.4 from the epoch-1 leader, which died before
        // committing them; the new leader never saw them and moved on to epoch 2.
        let log = leader_log(&[(1, 1), (1, 2), (2, 1)], zxid(1, 2), 10);
        let learner = learner(zxid(1, 1), &[zxid(1, 4)], zxid(1, 4));
        assert_eq!(
            plan(&log, &learner, log.last_zxid()),
            SyncPlan::Trunc {
                after: zxid(1, 2),
                txns: vec![txn(2, 1)]
            }
        );
    }

    #[test]
    fn truncation_crosses_epochs_to_the_last_shared_zxid() {
        // Leader: 1.1 1.2 then epoch 3. Learner: 1.1 then an orphaned epoch 2.
        let log = leader_log(&[(1, 1), (1, 2), (3, 1)], Zxid::ZERO, 10);
        let learner = learner(Zxid::ZERO, &[zxid(1, 1), zxid(2, 2)], zxid(2, 2));
        assert_eq!(shared_zxid(&log, &learner), zxid(1, 1));
        assert_eq!(
            plan(&log, &learner, log.last_zxid()),
            SyncPlan::Trunc {
                after: zxid(1, 1),
                txns: vec![txn(1, 2), txn(3, 1)]
            }
        );
    }

    #[test]
    fn a_learner_behind_the_in_memory_log_needs_a_snapshot() {
        let log = leader_log(&[(1, 1), (1, 2), (1, 3), (1, 4)], zxid(1, 4), 2);
        let learner = learner(zxid(1, 1), &[], zxid(1, 1));
        assert_eq!(plan(&log, &learner, log.last_zxid()), SyncPlan::Snap);
    }

    #[test]
    fn observers_are_synchronised_only_to_the_committed_zxid() {
        let log = leader_log(&[(1, 1), (1, 2), (1, 3)], zxid(1, 2), 10);
        let observer = learner(Zxid::ZERO, &[], Zxid::ZERO);
        assert_eq!(
            plan(&log, &observer, log.committed()),
            SyncPlan::Diff {
                txns: vec![txn(1, 1), txn(1, 2)]
            }
        );
    }
}

//! The crash points behind the data-loss bugs TLA+ model checking found in Apache
//! ZooKeeper's ZAB, watched from the host's side: the simulation counts how often a run
//! reaches each one, and (with the run's `crash_at_point_ppm`) crashes a server right there.
//!
//! The host sees what the cores see: the messages a server receives, the commands it
//! returns, and its disk's queue of writes not yet durable. Per server and session it follows
//! the learner's synchronisation (NEWLEADER applied → ACK sent → UPTODATE received).
//!
//! Two of the JIRAs describe states our cores never enter, by design; the counters then count
//! the nearest reachable point, the moment ZooKeeper 3.8 would have entered that state:
//!
//! - ZOOKEEPER-4646 / 3911 / 3023 / 4785: "ACKed NEWLEADER, but the synchronised transactions
//!   are not on disk". The learner here sends that ACK only once they are durable, so we count
//!   crashes between NEWLEADER and its ACK with the history still in the disk queue (where
//!   ZooKeeper had already acknowledged), crashes after the ACK and before UPTODATE, and
//!   crashes after the ACK with later proposals still in the queue.
//! - ZOOKEEPER-4685: "a PROPOSAL ACK reaches the leader before the NEWLEADER ACK". A learner
//!   acknowledges nothing before NEWLEADER and the connection is ordered, so we count
//!   proposals that reach a learner between NEWLEADER and its ACK: the proposal ZooKeeper's
//!   sync thread would have acknowledged first.

use crate::sim::cluster::Cluster;
use std::fmt;
use zk_proto::ServerId;
use zk_zab::{Command, DurableWrite, Message};

/// Where a learner is in synchronisation with its leader, as its host sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SyncStage {
    #[default]
    NotSyncing,
    /// NEWLEADER received and applied; its ACK not sent yet.
    NewLeaderApplied,
    /// ACK of NEWLEADER sent; UPTODATE not received yet.
    NewLeaderAcked,
    /// UPTODATE received: serving.
    UpToDate,
}

/// What the host knows about one server in its current session.
#[derive(Debug, Clone, Copy, Default)]
pub struct Watch {
    pub learner: bool,
    pub stage: SyncStage,
}

/// How often a run reached each crash point.
#[derive(Debug, Clone, Default)]
pub struct CrashPoints {
    /// ZOOKEEPER-4643: a learner crashed with its new current epoch issued but not durable,
    /// and synchronised history issued before it not durable either.
    pub epoch_issued_history_not_durable: u64,
    /// ZOOKEEPER-4646, 3911: a learner crashed after NEWLEADER, before its ACK, with the
    /// synchronised history still in the disk queue (ZooKeeper 3.8 had ACKed here).
    pub newleader_applied_history_not_durable: u64,
    /// ZOOKEEPER-3023: a learner crashed after its NEWLEADER ACK and before UPTODATE.
    pub acked_newleader_before_uptodate: u64,
    /// ZOOKEEPER-4785: a learner crashed after its NEWLEADER ACK with later proposals still in
    /// the disk queue.
    pub acked_newleader_proposals_not_durable: u64,
    /// ZOOKEEPER-4685: a PROPOSAL reached a learner between NEWLEADER and its ACK.
    pub proposal_before_newleader_ack: u64,
    /// ZOOKEEPER-4394: a COMMIT reached a learner between its NEWLEADER ACK and UPTODATE.
    pub commit_before_uptodate: u64,
    /// ZOOKEEPER-4712: a learner left its role (its follower shut down) while its disk still
    /// had writes queued, which the host goes on making durable.
    pub learner_shut_down_writes_in_flight: u64,
    /// Crashes the fault schedule aimed at one of the points above.
    pub targeted_crashes: u64,
}

impl CrashPoints {
    pub fn add(&mut self, other: &CrashPoints) {
        for (sum, value) in self.counters_mut().into_iter().zip(other.counters()) {
            *sum += value;
        }
    }

    /// Every counter with its name, for reports and coverage assertions.
    pub fn named(&self) -> [(&'static str, u64); 8] {
        let values = self.counters();
        [
            (
                "ZOOKEEPER-4643 epoch issued, history not durable",
                values[0],
            ),
            (
                "ZOOKEEPER-4646/3911 NEWLEADER applied, history not durable",
                values[1],
            ),
            ("ZOOKEEPER-3023 NEWLEADER ACKed, no UPTODATE", values[2]),
            (
                "ZOOKEEPER-4785 NEWLEADER ACKed, proposals not durable",
                values[3],
            ),
            ("ZOOKEEPER-4685 PROPOSAL before NEWLEADER ACK", values[4]),
            ("ZOOKEEPER-4394 COMMIT before UPTODATE", values[5]),
            (
                "ZOOKEEPER-4712 learner shut down, writes in flight",
                values[6],
            ),
            ("targeted crashes", values[7]),
        ]
    }

    fn counters(&self) -> [u64; 8] {
        [
            self.epoch_issued_history_not_durable,
            self.newleader_applied_history_not_durable,
            self.acked_newleader_before_uptodate,
            self.acked_newleader_proposals_not_durable,
            self.proposal_before_newleader_ack,
            self.commit_before_uptodate,
            self.learner_shut_down_writes_in_flight,
            self.targeted_crashes,
        ]
    }

    fn counters_mut(&mut self) -> [&mut u64; 8] {
        [
            &mut self.epoch_issued_history_not_durable,
            &mut self.newleader_applied_history_not_durable,
            &mut self.acked_newleader_before_uptodate,
            &mut self.acked_newleader_proposals_not_durable,
            &mut self.proposal_before_newleader_ack,
            &mut self.commit_before_uptodate,
            &mut self.learner_shut_down_writes_in_flight,
            &mut self.targeted_crashes,
        ]
    }
}

impl fmt::Display for CrashPoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .named()
            .iter()
            .map(|(name, count)| format!("{name}: {count}"))
            .collect();
        write!(f, "{}", parts.join("; "))
    }
}

fn is_history_write(write: &DurableWrite) -> bool {
    matches!(
        write,
        DurableWrite::AppendTxns { .. }
            | DurableWrite::TruncateLog { .. }
            | DurableWrite::InstallSnapshot { .. }
    )
}

impl Cluster {
    /// Server `id` is about to execute `command`.
    pub(super) fn watch_command(&mut self, id: ServerId, command: &Command) {
        let node = &self.nodes[&id];
        let watch = node.watch;
        let writes_in_flight = node.disk.pending_writes().next().is_some();
        match command {
            Command::BecomeLooking
            | Command::BecomeLeader
            | Command::BecomeFollower { .. }
            | Command::BecomeObserver { .. } => {
                if watch.learner && writes_in_flight {
                    self.stats.crash_points.learner_shut_down_writes_in_flight += 1;
                }
                let learner = matches!(
                    command,
                    Command::BecomeFollower { .. } | Command::BecomeObserver { .. }
                );
                self.node_mut(id).watch = Watch {
                    learner,
                    stage: SyncStage::NotSyncing,
                };
            }
            Command::Persist {
                write: DurableWrite::CurrentEpoch { .. },
                ..
            } if watch.stage == SyncStage::NewLeaderApplied => self.maybe_crash_here(id),
            Command::Send {
                message: Message::AckNewLeader { .. },
                ..
            } => {
                self.node_mut(id).watch.stage = SyncStage::NewLeaderAcked;
                self.maybe_crash_here(id);
            }
            _ => {}
        }
    }

    /// Server `id` is about to handle `message`.
    pub(super) fn watch_received(&mut self, id: ServerId, message: &Message) {
        let watch = self.nodes[&id].watch;
        if !watch.learner {
            return;
        }
        match (message, watch.stage) {
            (Message::NewLeader(_), SyncStage::NotSyncing) => {
                self.node_mut(id).watch.stage = SyncStage::NewLeaderApplied;
            }
            (Message::Proposal { .. }, SyncStage::NewLeaderApplied) => {
                self.stats.crash_points.proposal_before_newleader_ack += 1;
                self.maybe_crash_here(id);
            }
            (Message::Commit { .. }, SyncStage::NewLeaderAcked) => {
                self.stats.crash_points.commit_before_uptodate += 1;
                self.maybe_crash_here(id);
            }
            (Message::UpToDate { .. }, SyncStage::NewLeaderAcked) => {
                self.node_mut(id).watch.stage = SyncStage::UpToDate;
            }
            _ => {}
        }
    }

    /// Server `id` is crashing: which crash points is it at?
    pub(super) fn count_crash_points(&mut self, id: ServerId) {
        let node = &self.nodes[&id];
        let watch = node.watch;
        if !watch.learner {
            return;
        }
        let mut history_in_flight = false;
        let mut epoch_after_history_in_flight = false;
        let mut append_in_flight = false;
        for write in node.disk.pending_writes() {
            history_in_flight |= is_history_write(write);
            append_in_flight |= matches!(write, DurableWrite::AppendTxns { .. });
            epoch_after_history_in_flight |=
                history_in_flight && matches!(write, DurableWrite::CurrentEpoch { .. });
        }
        let points = &mut self.stats.crash_points;
        points.epoch_issued_history_not_durable += u64::from(epoch_after_history_in_flight);
        match watch.stage {
            SyncStage::NewLeaderApplied => {
                points.newleader_applied_history_not_durable += u64::from(history_in_flight);
            }
            SyncStage::NewLeaderAcked => {
                points.acked_newleader_before_uptodate += 1;
                points.acked_newleader_proposals_not_durable += u64::from(append_in_flight);
            }
            SyncStage::NotSyncing | SyncStage::UpToDate => {}
        }
    }

    /// With the run's `crash_at_point_ppm`, asks for server `id` to crash right now, before
    /// its disk makes anything more durable.
    fn maybe_crash_here(&mut self, id: ServerId) {
        if self.chaos_rng.chance(self.profile.crash_at_point_ppm) {
            self.node_mut(id).crash_requested = true;
        }
    }

    /// Crashes the servers that reached a crash point and drew a crash there.
    pub(super) fn crash_requested_servers(&mut self) {
        let requested: Vec<ServerId> = self
            .nodes
            .values()
            .filter(|node| node.crash_requested)
            .map(|node| node.id)
            .collect();
        for id in requested {
            self.node_mut(id).crash_requested = false;
            if self.nodes[&id].is_up() {
                self.stats.crash_points.targeted_crashes += 1;
                let tick = self.tick();
                self.crash(id, tick);
            }
        }
    }
}

//! What the leader knows about one connected learner (ZooKeeper's `LearnerHandler`).

use crate::messages::HistorySummary;
use crate::quorum::LearnerType;
use zk_proto::{Epoch, Zxid};

/// How far one learner got with this leader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LearnerStage {
    /// FOLLOWERINFO received; the epoch is not decided yet.
    Connected,
    /// LEADERINFO sent; waiting for ACKEPOCH.
    LeaderInfoSent,
    /// ACKEPOCH received; waiting for discovery to finish (observers: for establishment).
    EpochAcked { history: HistorySummary },
    /// The host is taking a snapshot for SNAP.
    AwaitingSnapshot,
    /// NEWLEADER sent; proposals are forwarded from now on.
    Syncing,
    /// NEWLEADER acknowledged.
    Synced,
}

/// The leader's record of one learner on its current connection.
#[derive(Debug, Clone)]
pub(crate) struct LearnerHandler {
    pub(crate) learner_type: LearnerType,
    pub(crate) stage: LearnerStage,
    /// The highest zxid the learner reported durable.
    pub(crate) acked_zxid: Zxid,
    pub(crate) last_heard_tick: u64,
}

impl LearnerHandler {
    pub(crate) fn new(learner_type: LearnerType, now_tick: u64) -> Self {
        LearnerHandler {
            learner_type,
            stage: LearnerStage::Connected,
            acked_zxid: Zxid::ZERO,
            last_heard_tick: now_tick,
        }
    }

    /// Whether a repeated FOLLOWERINFO belongs to the same connection attempt. Later in the
    /// handshake it can only come from a new connection, which starts over.
    pub(crate) fn awaits_epoch(&self) -> bool {
        matches!(
            self.stage,
            LearnerStage::Connected | LearnerStage::LeaderInfoSent
        )
    }

    /// Whether NEWLEADER went out, so the learner's log follows ours.
    pub(crate) fn is_synchronising(&self) -> bool {
        matches!(self.stage, LearnerStage::Syncing | LearnerStage::Synced)
    }

    /// Followers past NEWLEADER get every PROPOSAL and COMMIT.
    pub(crate) fn gets_proposals(&self) -> bool {
        self.learner_type == LearnerType::Participant && self.is_synchronising()
    }

    /// Observers past NEWLEADER get an INFORM per committed transaction.
    pub(crate) fn gets_informs(&self) -> bool {
        self.learner_type == LearnerType::Observer && self.is_synchronising()
    }

    /// The learner's acknowledged zxid, if it counts towards commit quorums.
    pub(crate) fn vote_for_commit(&self) -> Option<Zxid> {
        (self.learner_type == LearnerType::Participant && self.stage == LearnerStage::Synced)
            .then_some(self.acked_zxid)
    }

    /// Whether the learner was heard from within `limit_ticks`.
    pub(crate) fn is_alive(&self, now_tick: u64, limit_ticks: u32) -> bool {
        now_tick <= self.last_heard_tick + u64::from(limit_ticks)
    }
}

/// The epoch a leader proposes: above every accepted epoch it knows of.
pub(crate) fn epoch_above(epoch: Epoch) -> Epoch {
    Epoch(epoch.0.saturating_add(1))
}

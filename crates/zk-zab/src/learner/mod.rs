//! A learner (follower or observer) through discovery, synchronisation and broadcast.
//!
//! ```text
//!  Discovery ──LEADERINFO──▶ PersistingAcceptedEpoch ──durable──▶ AwaitingSync
//!      │ (epoch already accepted: ACKEPOCH without a promise) ─────────▲
//!  AwaitingSync ──NEWLEADER──▶ Syncing ──durable──▶ Synced ──UPTODATE──▶ Broadcast
//! ```
//!
//! Any surprise (a gap in the proposal stream, an older epoch, silence past the limit)
//! sends the server back to looking; a fresh connection starts over from discovery.

mod broadcast;
mod discovery;
mod sync;

pub(crate) use broadcast::next_zxid;

use crate::commands::WriteId;
use crate::context::{Context, Step};
use crate::error::ZabError;
use crate::messages::Message;
use crate::quorum::LearnerType;
use zk_proto::{Epoch, ServerId, Zxid};

/// Where a learner is in the ZAB phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LearnerPhase {
    /// FOLLOWERINFO sent; waiting for LEADERINFO.
    Discovery,
    /// Writing the new accepted epoch before promising it with ACKEPOCH.
    PersistingAcceptedEpoch { epoch: Epoch, write: WriteId },
    /// ACKEPOCH sent; waiting for NEWLEADER.
    AwaitingSync { epoch: Epoch },
    /// NEWLEADER applied; waiting for the synchronised log and current epoch to be durable.
    Syncing { epoch: Epoch, write: WriteId },
    /// NEWLEADER acknowledged; waiting for UPTODATE.
    Synced { epoch: Epoch },
    /// Serving: proposals, commits and pings.
    Broadcast { epoch: Epoch },
}

impl LearnerPhase {
    /// The epoch of a phase past NEWLEADER, when the log follows the leader's.
    fn synchronised_epoch(self) -> Option<Epoch> {
        match self {
            LearnerPhase::Syncing { epoch, .. }
            | LearnerPhase::Synced { epoch }
            | LearnerPhase::Broadcast { epoch } => Some(epoch),
            _ => None,
        }
    }

    /// The epoch once NEWLEADER has been acknowledged.
    fn acknowledged_epoch(self) -> Option<Epoch> {
        match self {
            LearnerPhase::Synced { epoch } | LearnerPhase::Broadcast { epoch } => Some(epoch),
            _ => None,
        }
    }
}

/// A server following (or observing) an elected leader.
#[derive(Debug)]
pub(crate) struct Learner {
    leader: ServerId,
    learner_type: LearnerType,
    phase: LearnerPhase,
    last_heard_tick: u64,
    next_follower_info_tick: u64,
    /// The last zxid acknowledged to the leader.
    acked_zxid: Zxid,
}

impl Learner {
    /// Starts following `leader`: FOLLOWERINFO (or OBSERVERINFO) goes out at once.
    pub(crate) fn start(ctx: &mut Context, leader: ServerId) -> Self {
        let mut learner = Learner {
            leader,
            learner_type: ctx.config.learner_type(),
            phase: LearnerPhase::Discovery,
            last_heard_tick: ctx.now_tick,
            next_follower_info_tick: ctx.now_tick,
            acked_zxid: Zxid::ZERO,
        };
        learner.send_follower_info(ctx);
        learner
    }

    /// The leader this learner follows.
    pub(crate) fn leader(&self) -> ServerId {
        self.leader
    }

    /// Whether UPTODATE arrived: the learner serves clients.
    pub(crate) fn is_serving(&self) -> bool {
        self.established_epoch().is_some()
    }

    /// The leader's epoch, once UPTODATE arrived.
    pub(crate) fn established_epoch(&self) -> Option<Epoch> {
        match self.phase {
            LearnerPhase::Broadcast { epoch } => Some(epoch),
            _ => None,
        }
    }

    /// Handles a leader–learner message. Only what a leader sends, from our leader, counts:
    /// in particular a FOLLOWERINFO from a server that wrongly takes us for its leader must
    /// not keep us waiting for it.
    pub(crate) fn on_message(
        &mut self,
        ctx: &mut Context,
        from: ServerId,
        message: Message,
    ) -> Result<Step, ZabError> {
        if from != self.leader || !is_from_leader(&message) {
            return Ok(Step::Continue);
        }
        self.last_heard_tick = ctx.now_tick;
        match message {
            Message::LeaderInfo { new_epoch } => Ok(self.on_leader_info(ctx, new_epoch)),
            Message::NewLeader(new_leader) => self.on_new_leader(ctx, new_leader),
            Message::UpToDate {
                epoch,
                committed_zxid,
            } => Ok(self.on_up_to_date(ctx, epoch, committed_zxid)),
            Message::Proposal { txn } => Ok(self.on_proposal(ctx, txn)),
            Message::Commit { zxid } => Ok(self.on_commit(ctx, zxid)),
            Message::Inform { txn } => Ok(self.on_inform(ctx, txn)),
            Message::Ping {
                epoch,
                committed_zxid,
            } => Ok(self.on_ping(ctx, epoch, committed_zxid)),
            _ => Ok(Step::Continue),
        }
    }

    /// Reacts to newly durable writes: promises wait for them.
    pub(crate) fn on_durable(&mut self, ctx: &mut Context) -> Step {
        match self.phase {
            LearnerPhase::PersistingAcceptedEpoch { epoch, write } if ctx.is_durable(write) => {
                self.send_ack_epoch(ctx, epoch, true);
            }
            LearnerPhase::Syncing { epoch, write } if ctx.is_durable(write) => {
                self.acknowledge_new_leader(ctx, epoch);
            }
            _ => self.acknowledge_durable(ctx),
        }
        Step::Continue
    }

    /// Gives up on a silent leader, and repeats FOLLOWERINFO until the leader answers.
    pub(crate) fn tick(&mut self, ctx: &mut Context) -> Step {
        let limit = match self.phase {
            LearnerPhase::Broadcast { .. } => ctx.config.sync_limit_ticks,
            _ => ctx.config.init_limit_ticks,
        };
        if ctx.now_tick > self.last_heard_tick + u64::from(limit) {
            return Step::Abandon("the leader went silent");
        }
        if self.phase == LearnerPhase::Discovery && ctx.now_tick >= self.next_follower_info_tick {
            self.send_follower_info(ctx);
        }
        Step::Continue
    }

    fn send_follower_info(&mut self, ctx: &mut Context) {
        let message = Message::FollowerInfo {
            accepted_epoch: ctx.durability.accepted_epoch_promised(),
            last_zxid: ctx.log.last_zxid(),
            learner_type: self.learner_type,
        };
        ctx.send(self.leader, message);
        self.next_follower_info_tick =
            ctx.now_tick + u64::from(ctx.config.follower_info_retry_ticks);
    }
}

/// Whether a leader sends this message kind.
fn is_from_leader(message: &Message) -> bool {
    matches!(
        message,
        Message::LeaderInfo { .. }
            | Message::NewLeader(_)
            | Message::UpToDate { .. }
            | Message::Proposal { .. }
            | Message::Commit { .. }
            | Message::Inform { .. }
            | Message::Ping { .. }
    )
}

#[cfg(test)]
mod tests;

//! The leader through discovery, synchronisation and broadcast.
//!
//! ```text
//!  Discovery ──quorum of FOLLOWERINFO──▶ PersistingEpoch ──durable──▶ AwaitingEpochAcks
//!  AwaitingEpochAcks ──quorum of ACKEPOCH──▶ Syncing ──quorum of ACK(NEWLEADER)──▶ Broadcast
//! ```
//!
//! Before broadcast each phase must finish within `init_limit_ticks`; in broadcast the leader
//! steps down as soon as it has not heard from a quorum within `sync_limit_ticks`.

mod broadcast;
mod discovery;
mod learner_handler;
mod sync;

use crate::commands::WriteId;
use crate::context::{Context, Step};
use crate::error::ZabError;
use crate::messages::Message;
use learner_handler::LearnerHandler;
use std::collections::{BTreeMap, BTreeSet};
use zk_proto::{Epoch, ServerId, Zxid};

/// Where the leader is in the ZAB phases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LeaderPhase {
    /// Collecting FOLLOWERINFO from a quorum to pick an epoch above all their accepted ones.
    Discovery {
        candidate: Epoch,
        connecting: BTreeSet<ServerId>,
    },
    /// Writing the chosen epoch as our accepted epoch.
    PersistingEpoch { epoch: Epoch, write: WriteId },
    /// LEADERINFO sent; collecting ACKEPOCH from a quorum.
    AwaitingEpochAcks {
        epoch: Epoch,
        electing: BTreeSet<ServerId>,
    },
    /// NEWLEADER sent; collecting its acknowledgements from a quorum.
    Syncing {
        epoch: Epoch,
        current_epoch_write: WriteId,
        initial_zxid: Zxid,
        acked: BTreeSet<ServerId>,
    },
    /// Established: proposing, committing, pinging.
    Broadcast { epoch: Epoch },
}

impl LeaderPhase {
    /// The epoch, once it is durable and may be announced.
    fn announced_epoch(&self) -> Option<Epoch> {
        match self {
            LeaderPhase::Discovery { .. } | LeaderPhase::PersistingEpoch { .. } => None,
            LeaderPhase::AwaitingEpochAcks { epoch, .. }
            | LeaderPhase::Syncing { epoch, .. }
            | LeaderPhase::Broadcast { epoch } => Some(*epoch),
        }
    }
}

/// A server leading (or trying to establish) an epoch.
#[derive(Debug)]
pub(crate) struct Leader {
    phase: LeaderPhase,
    learners: BTreeMap<ServerId, LearnerHandler>,
    phase_deadline_tick: u64,
    next_ping_tick: u64,
    /// Set when the zxid counter is exhausted: the next tick steps down.
    counter_exhausted: bool,
}

impl Leader {
    /// Starts discovery, counting this server's own accepted epoch.
    pub(crate) fn start(ctx: &mut Context) -> Self {
        let known = ctx
            .durability
            .accepted_epoch_promised()
            .max(ctx.durability.learner_epoch_seen());
        let mut leader = Leader {
            phase: LeaderPhase::Discovery {
                candidate: learner_handler::epoch_above(known),
                connecting: BTreeSet::from([ctx.my_id()]),
            },
            learners: BTreeMap::new(),
            phase_deadline_tick: ctx.now_tick + u64::from(ctx.config.init_limit_ticks),
            next_ping_tick: ctx.now_tick,
            counter_exhausted: false,
        };
        leader.try_decide_epoch(ctx);
        leader
    }

    /// Whether the epoch is established and proposals are accepted.
    pub(crate) fn is_established(&self) -> bool {
        matches!(self.phase, LeaderPhase::Broadcast { .. })
    }

    /// The epoch, once established.
    pub(crate) fn established_epoch(&self) -> Option<Epoch> {
        match self.phase {
            LeaderPhase::Broadcast { epoch } => Some(epoch),
            _ => None,
        }
    }

    /// Handles a message from a learner. Only what learners send counts as hearing from one.
    pub(crate) fn on_message(
        &mut self,
        ctx: &mut Context,
        from: ServerId,
        message: Message,
    ) -> Result<Step, ZabError> {
        let from_learner = matches!(
            message,
            Message::FollowerInfo { .. }
                | Message::AckEpoch { .. }
                | Message::AckNewLeader { .. }
                | Message::Ack { .. }
        );
        if let Some(handler) = self.learners.get_mut(&from).filter(|_| from_learner) {
            handler.last_heard_tick = ctx.now_tick;
        }
        match message {
            Message::FollowerInfo {
                accepted_epoch,
                learner_type: _,
                last_zxid: _,
            } => Ok(self.on_follower_info(ctx, from, accepted_epoch)),
            Message::AckEpoch {
                current_epoch,
                history,
                accepted,
            } => Ok(self.on_ack_epoch(ctx, from, current_epoch, history, accepted)),
            Message::AckNewLeader { epoch, last_zxid } => {
                Ok(self.on_ack_new_leader(ctx, from, epoch, last_zxid))
            }
            Message::Ack { epoch, zxid } => Ok(self.on_ack(ctx, from, epoch, zxid)),
            _ => Ok(Step::Continue),
        }
    }

    /// Reacts to newly durable writes.
    pub(crate) fn on_durable(&mut self, ctx: &mut Context) -> Step {
        match self.phase {
            LeaderPhase::PersistingEpoch { epoch, write } if ctx.is_durable(write) => {
                self.announce_epoch(ctx, epoch);
            }
            LeaderPhase::Syncing { .. } => self.try_establish(ctx),
            LeaderPhase::Broadcast { .. } => self.try_commit(ctx),
            _ => {}
        }
        Step::Continue
    }

    /// Deadlines before broadcast; pings and the quorum check during it.
    pub(crate) fn tick(&mut self, ctx: &mut Context) -> Step {
        match self.phase {
            LeaderPhase::Broadcast { epoch } => self.tick_broadcast(ctx, epoch),
            _ if ctx.now_tick >= self.phase_deadline_tick => {
                Step::Abandon("no quorum joined within initLimit")
            }
            _ => Step::Continue,
        }
    }

    fn restart_phase_clock(&mut self, ctx: &Context) {
        self.phase_deadline_tick = ctx.now_tick + u64::from(ctx.config.init_limit_ticks);
    }
}

#[cfg(test)]
mod tests;

//! Leader side of discovery: pick an epoch above a quorum's accepted epochs, have a quorum
//! promise it, and make sure none of them has a more recent history than ours.

use super::learner_handler::{epoch_above, LearnerHandler, LearnerStage};
use super::{Leader, LeaderPhase};
use crate::commands::DurableWrite;
use crate::context::{Context, Step};
use crate::messages::{HistorySummary, Message};
use std::collections::BTreeSet;
use zk_proto::{Epoch, ServerId};

impl Leader {
    /// FOLLOWERINFO: a learner connected. Before the epoch is chosen its accepted epoch raises
    /// the candidate; afterwards it is told the epoch at once.
    pub(super) fn on_follower_info(
        &mut self,
        ctx: &mut Context,
        from: ServerId,
        accepted_epoch: Epoch,
    ) -> Step {
        let Some(learner_type) = ctx.config.ensemble.learner_type(from) else {
            return Step::Continue;
        };
        ctx.durability.saw_learner_epoch(accepted_epoch);
        let repeated = self
            .learners
            .get(&from)
            .is_some_and(LearnerHandler::awaits_epoch);
        if !repeated {
            self.learners
                .insert(from, LearnerHandler::new(learner_type, ctx.now_tick));
        }
        if let LeaderPhase::Discovery {
            candidate,
            connecting,
        } = &mut self.phase
        {
            if ctx.config.ensemble.is_voter(from) {
                *candidate = (*candidate).max(epoch_above(accepted_epoch));
                connecting.insert(from);
            }
            self.try_decide_epoch(ctx);
            return Step::Continue;
        }
        let epoch = match &self.phase {
            LeaderPhase::PersistingEpoch { epoch, .. } => *epoch,
            phase => phase.announced_epoch().unwrap_or_default(),
        };
        if accepted_epoch > epoch {
            // The learner promised a later epoch and will never follow ours. Step down; the
            // next time this server leads it proposes above that epoch.
            return Step::Abandon("a learner accepted a later epoch");
        }
        if self.phase.announced_epoch().is_some() {
            self.send_leader_info(ctx, from, epoch);
        }
        Step::Continue
    }

    /// Once a quorum (with us) connected, the candidate is the epoch: write it first.
    pub(super) fn try_decide_epoch(&mut self, ctx: &mut Context) {
        let LeaderPhase::Discovery {
            candidate,
            connecting,
        } = &self.phase
        else {
            return;
        };
        if !connecting.contains(&ctx.my_id()) || !ctx.config.ensemble.is_quorum(connecting) {
            return;
        }
        let epoch = *candidate;
        let write = ctx.persist(DurableWrite::AcceptedEpoch { epoch });
        self.phase = LeaderPhase::PersistingEpoch { epoch, write };
        self.restart_phase_clock(ctx);
    }

    /// The epoch is durable: send LEADERINFO to every connected learner.
    pub(super) fn announce_epoch(&mut self, ctx: &mut Context, epoch: Epoch) {
        self.phase = LeaderPhase::AwaitingEpochAcks {
            epoch,
            electing: BTreeSet::from([ctx.my_id()]),
        };
        self.restart_phase_clock(ctx);
        let connected: Vec<ServerId> = self.learners.keys().copied().collect();
        for learner in connected {
            self.send_leader_info(ctx, learner, epoch);
        }
        self.try_finish_discovery(ctx);
    }

    fn send_leader_info(&mut self, ctx: &mut Context, learner: ServerId, epoch: Epoch) {
        if let Some(handler) = self.learners.get_mut(&learner) {
            if handler.awaits_epoch() {
                handler.stage = LearnerStage::LeaderInfoSent;
                ctx.send(learner, Message::LeaderInfo { new_epoch: epoch });
            }
        }
    }

    /// ACKEPOCH: during discovery a promise counts towards the quorum, unless the learner's
    /// history is more recent than ours, in which case we must not lead. Later, the learner
    /// is synchronised straight away.
    pub(super) fn on_ack_epoch(
        &mut self,
        ctx: &mut Context,
        from: ServerId,
        current_epoch: Epoch,
        history: HistorySummary,
        accepted: bool,
    ) -> Step {
        let Some(handler) = self.learners.get_mut(&from) else {
            return Step::Continue;
        };
        if handler.stage != LearnerStage::LeaderInfoSent {
            return Step::Continue;
        }
        let ours = (ctx.durability.current_epoch(), ctx.log.last_zxid());
        let last_zxid = history.last_zxid;
        handler.stage = LearnerStage::EpochAcked { history };
        match &mut self.phase {
            LeaderPhase::AwaitingEpochAcks { electing, .. } => {
                if (current_epoch, last_zxid) > ours {
                    return Step::Abandon("a learner has a more recent history");
                }
                if accepted {
                    electing.insert(from);
                }
                self.try_finish_discovery(ctx);
            }
            LeaderPhase::Syncing { .. } | LeaderPhase::Broadcast { .. } => {
                self.sync_learner(ctx, from);
            }
            _ => {}
        }
        Step::Continue
    }

    /// A quorum promised the epoch: our history becomes the epoch's initial history. Record
    /// the epoch as current and synchronise every learner that promised.
    fn try_finish_discovery(&mut self, ctx: &mut Context) {
        let LeaderPhase::AwaitingEpochAcks { epoch, electing } = &self.phase else {
            return;
        };
        if !ctx.config.ensemble.is_quorum(electing) {
            return;
        }
        let epoch = *epoch;
        let current_epoch_write = ctx.persist(DurableWrite::CurrentEpoch { epoch });
        self.phase = LeaderPhase::Syncing {
            epoch,
            current_epoch_write,
            initial_zxid: ctx.log.last_zxid(),
            acked: BTreeSet::new(),
        };
        self.restart_phase_clock(ctx);
        let acked: Vec<ServerId> = self.learners.keys().copied().collect();
        for learner in acked {
            self.sync_learner(ctx, learner);
        }
        self.try_establish(ctx);
    }
}

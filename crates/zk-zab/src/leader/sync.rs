//! Leader side of synchronisation: bring each learner to our history with DIFF, TRUNC or
//! SNAP, and establish the epoch once a quorum holds it durably.

use super::learner_handler::LearnerStage;
use super::{Leader, LeaderPhase};
use crate::commands::Command;
use crate::context::{Context, Step};
use crate::error::ZabError;
use crate::messages::{Message, NewLeader, SyncMode};
use crate::quorum::LearnerType;
use crate::sync::{plan, SyncPlan};
use crate::txn::Txn;
use std::collections::BTreeSet;
use tracing::info;
use zk_proto::{Epoch, ServerId, Zxid};

impl Leader {
    /// Sends NEWLEADER to a learner that acknowledged the epoch. Observers wait until the
    /// epoch is established, because they may only receive committed transactions.
    pub(super) fn sync_learner(&mut self, ctx: &mut Context, learner: ServerId) {
        let Some(epoch) = self.phase.announced_epoch() else {
            return;
        };
        let established = self.is_established();
        let Some(handler) = self.learners.get_mut(&learner) else {
            return;
        };
        let LearnerStage::EpochAcked { history } = &handler.stage else {
            return;
        };
        if handler.learner_type == LearnerType::Observer && !established {
            return;
        }
        let through = sync_target(ctx, handler.learner_type);
        let (sync, txns) = match plan(ctx.log, history, through) {
            SyncPlan::Diff { txns } => (SyncMode::Diff, txns),
            SyncPlan::Trunc { after, txns } => (SyncMode::Trunc { after }, txns),
            SyncPlan::Snap => {
                handler.stage = LearnerStage::AwaitingSnapshot;
                ctx.outbox.push(Command::TakeSnapshot { learner });
                return;
            }
        };
        handler.stage = LearnerStage::Syncing;
        send_new_leader(ctx, learner, epoch, sync, txns);
    }

    /// The host's snapshot for a learner that needs SNAP.
    pub(crate) fn on_snapshot(
        &mut self,
        ctx: &mut Context,
        learner: ServerId,
        snapshot_zxid: Zxid,
        snapshot: Vec<u8>,
    ) -> Result<(), ZabError> {
        if snapshot_zxid > ctx.log.committed() {
            return Err(ZabError::HostContract {
                reason: format!(
                    "snapshot at {snapshot_zxid} is ahead of the delivered {}",
                    ctx.log.committed()
                ),
            });
        }
        let epoch = self.phase.announced_epoch();
        let Some(handler) = self.learners.get_mut(&learner) else {
            return Ok(());
        };
        let (Some(epoch), LearnerStage::AwaitingSnapshot) = (epoch, &handler.stage) else {
            return Ok(());
        };
        let through = sync_target(ctx, handler.learner_type);
        let Some(txns) = ctx.log.txns_between(snapshot_zxid, through) else {
            // The host's state lags behind the transactions still in memory; ask again.
            ctx.outbox.push(Command::TakeSnapshot { learner });
            return Ok(());
        };
        handler.stage = LearnerStage::Syncing;
        let sync = SyncMode::Snap {
            snapshot_zxid,
            snapshot,
        };
        send_new_leader(ctx, learner, epoch, sync, txns);
        Ok(())
    }

    /// ACK of NEWLEADER: the learner holds our history durably.
    pub(super) fn on_ack_new_leader(
        &mut self,
        ctx: &mut Context,
        from: ServerId,
        epoch: Epoch,
        last_zxid: Zxid,
    ) -> Step {
        if self.phase.announced_epoch() != Some(epoch) {
            return Step::Continue;
        }
        let Some(handler) = self.learners.get_mut(&from) else {
            return Step::Continue;
        };
        if handler.stage != LearnerStage::Syncing {
            return Step::Continue;
        }
        handler.stage = LearnerStage::Synced;
        handler.acked_zxid = last_zxid;
        match &mut self.phase {
            LeaderPhase::Syncing { acked, .. } => {
                acked.insert(from);
                self.try_establish(ctx);
            }
            LeaderPhase::Broadcast { .. } => {
                let committed_zxid = ctx.log.committed();
                ctx.send(
                    from,
                    Message::UpToDate {
                        epoch,
                        committed_zxid,
                    },
                );
                self.try_commit(ctx);
            }
            _ => {}
        }
        Step::Continue
    }

    /// Establishes the epoch once a quorum, counting us once our own history and epoch are
    /// durable, acknowledged NEWLEADER. The initial history is then committed.
    pub(super) fn try_establish(&mut self, ctx: &mut Context) {
        let LeaderPhase::Syncing {
            epoch,
            current_epoch_write,
            initial_zxid,
            acked,
        } = &self.phase
        else {
            return;
        };
        if !ctx.is_durable(*current_epoch_write) {
            return;
        }
        let voters: BTreeSet<ServerId> = acked.iter().copied().chain([ctx.my_id()]).collect();
        if !ctx.config.ensemble.is_quorum(&voters) {
            return;
        }
        let (epoch, initial_zxid) = (*epoch, *initial_zxid);
        self.phase = LeaderPhase::Broadcast { epoch };
        self.next_ping_tick = ctx.now_tick;
        ctx.commit_through(initial_zxid);
        info!(my_id = %ctx.my_id(), epoch = epoch.0, "epoch established, leading");
        ctx.outbox.push(Command::Established {
            leader: ctx.my_id(),
            epoch,
        });
        self.release_synced_learners(ctx, epoch);
    }

    /// After establishment: UPTODATE to every learner that acknowledged NEWLEADER, and
    /// NEWLEADER to the observers that waited for it.
    fn release_synced_learners(&mut self, ctx: &mut Context, epoch: Epoch) {
        let committed_zxid = ctx.log.committed();
        let ids: Vec<ServerId> = self.learners.keys().copied().collect();
        for id in ids {
            match self.learners[&id].stage {
                LearnerStage::Synced => ctx.send(
                    id,
                    Message::UpToDate {
                        epoch,
                        committed_zxid,
                    },
                ),
                LearnerStage::EpochAcked { .. } => self.sync_learner(ctx, id),
                _ => {}
            }
        }
    }
}

/// How far a learner is synchronised: followers get our whole log, observers only what is
/// committed (they never see a proposal).
fn sync_target(ctx: &Context, learner_type: LearnerType) -> Zxid {
    match learner_type {
        LearnerType::Participant => ctx.log.last_zxid(),
        LearnerType::Observer => ctx.log.committed(),
    }
}

fn send_new_leader(
    ctx: &mut Context,
    learner: ServerId,
    epoch: Epoch,
    sync: SyncMode,
    txns: Vec<Txn>,
) {
    let committed_zxid = ctx.log.committed();
    let message = Message::NewLeader(NewLeader {
        epoch,
        sync,
        txns,
        committed_zxid,
    });
    ctx.send(learner, message);
}

//! Learner side of synchronisation: apply NEWLEADER, make it durable, acknowledge, serve.

use super::{Learner, LearnerPhase};
use crate::commands::{Command, DurableWrite};
use crate::context::{Context, Step};
use crate::error::ZabError;
use crate::fault_injection::{self, Mutation};
use crate::messages::{Message, NewLeader, SyncMode};
use crate::txn::Txn;
use tracing::info;
use zk_proto::{Epoch, Zxid};

impl Learner {
    /// NEWLEADER: reach the leader's history, then record the new current epoch.
    pub(super) fn on_new_leader(
        &mut self,
        ctx: &mut Context,
        new_leader: NewLeader,
    ) -> Result<Step, ZabError> {
        let LearnerPhase::AwaitingSync { epoch } = self.phase else {
            return Ok(Step::Continue);
        };
        if new_leader.epoch != epoch {
            return Ok(Step::Abandon("NEWLEADER for another epoch"));
        }
        let mut new_leader = new_leader;
        if fault_injection::is_active(Mutation::SkipTrunc)
            && matches!(new_leader.sync, SyncMode::Trunc { .. })
        {
            let last = ctx.log.last_zxid();
            new_leader.sync = SyncMode::Diff;
            new_leader.txns.retain(|txn| txn.zxid > last);
        }
        apply_sync_mode(ctx, new_leader.sync)?;
        if !ascending_after(ctx.log.last_zxid(), &new_leader.txns) {
            return Ok(Step::Abandon("NEWLEADER transactions out of order"));
        }
        ctx.append(new_leader.txns);
        let write = ctx.persist(DurableWrite::CurrentEpoch { epoch });
        ctx.commit_through(new_leader.committed_zxid);
        self.phase = LearnerPhase::Syncing { epoch, write };
        if fault_injection::is_active(Mutation::AckNewLeaderBeforeDurable) {
            let last_zxid = ctx.log.last_zxid();
            ctx.send(self.leader, Message::AckNewLeader { epoch, last_zxid });
            self.acked_zxid = last_zxid;
            self.phase = LearnerPhase::Synced { epoch };
        }
        Ok(Step::Continue)
    }

    /// Once the synchronised history and the epoch are durable: ACK of NEWLEADER.
    pub(super) fn acknowledge_new_leader(&mut self, ctx: &mut Context, epoch: Epoch) {
        let last_zxid = ctx.durable_zxid().unwrap_or(Zxid::ZERO);
        ctx.send(self.leader, Message::AckNewLeader { epoch, last_zxid });
        self.acked_zxid = last_zxid;
        self.phase = LearnerPhase::Synced { epoch };
    }

    /// UPTODATE: the epoch is established; deliver what is committed and serve.
    pub(super) fn on_up_to_date(
        &mut self,
        ctx: &mut Context,
        epoch: Epoch,
        committed: Zxid,
    ) -> Step {
        if self.phase != (LearnerPhase::Synced { epoch }) {
            return Step::Continue;
        }
        ctx.commit_through(committed);
        self.phase = LearnerPhase::Broadcast { epoch };
        info!(my_id = %ctx.my_id(), leader = %self.leader, epoch = epoch.0, "up to date, serving");
        ctx.outbox.push(Command::Established {
            leader: self.leader,
            epoch,
        });
        Step::Continue
    }
}

/// Applies DIFF, TRUNC or SNAP to the log.
fn apply_sync_mode(ctx: &mut Context, sync: SyncMode) -> Result<(), ZabError> {
    match sync {
        SyncMode::Diff => Ok(()),
        SyncMode::Trunc { after } => {
            if after < ctx.log.committed() {
                return Err(ZabError::InvariantViolated {
                    reason: format!(
                        "TRUNC to {after} would drop transactions committed up to {}",
                        ctx.log.committed()
                    ),
                });
            }
            if after < ctx.log.last_zxid() {
                ctx.log.truncate_after(after);
                ctx.persist(DurableWrite::TruncateLog { after });
            }
            Ok(())
        }
        SyncMode::Snap {
            snapshot_zxid,
            snapshot,
        } => {
            if snapshot_zxid < ctx.log.committed() {
                return Err(ZabError::InvariantViolated {
                    reason: format!(
                        "SNAP at {snapshot_zxid} would roll back commits up to {}",
                        ctx.log.committed()
                    ),
                });
            }
            let write = ctx.persist(DurableWrite::InstallSnapshot {
                snapshot_zxid,
                snapshot,
            });
            ctx.log.reset_to_snapshot(snapshot_zxid, write);
            Ok(())
        }
    }
}

/// Whether `txns` are in strictly increasing zxid order, all above `last`.
fn ascending_after(last: Zxid, txns: &[Txn]) -> bool {
    let mut previous = last;
    txns.iter().all(|txn| {
        let ordered = txn.zxid > previous;
        previous = txn.zxid;
        ordered
    })
}

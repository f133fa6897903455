//! Learner side of broadcast: log proposals, acknowledge them once durable, deliver commits.

use super::Learner;
use crate::context::{Context, Step};
use crate::messages::Message;
use crate::quorum::LearnerType;
use crate::txn::Txn;
use zk_proto::{Epoch, Zxid};

impl Learner {
    /// PROPOSAL: log it; the ACK follows once it is durable.
    pub(super) fn on_proposal(&mut self, ctx: &mut Context, txn: Txn) -> Step {
        let Some(epoch) = self.phase.synchronised_epoch() else {
            return Step::Continue;
        };
        if self.learner_type != LearnerType::Participant {
            return Step::Continue;
        }
        self.log_next(ctx, epoch, txn)
    }

    /// INFORM (observers): log and deliver a committed transaction.
    pub(super) fn on_inform(&mut self, ctx: &mut Context, txn: Txn) -> Step {
        let Some(epoch) = self.phase.synchronised_epoch() else {
            return Step::Continue;
        };
        let zxid = txn.zxid;
        let step = self.log_next(ctx, epoch, txn);
        if step == Step::Continue {
            ctx.commit_through(zxid);
        }
        step
    }

    /// COMMIT: deliver everything up to `zxid`.
    pub(super) fn on_commit(&mut self, ctx: &mut Context, zxid: Zxid) -> Step {
        if self.phase.synchronised_epoch().is_none() {
            return Step::Continue;
        }
        if zxid > ctx.log.last_zxid() {
            return Step::Abandon("COMMIT for a proposal never received");
        }
        ctx.commit_through(zxid);
        Step::Continue
    }

    /// PING: deliver what the leader reports committed and answer with an ACK, which is
    /// both the heartbeat and a repeat of the last acknowledgement.
    pub(super) fn on_ping(&mut self, ctx: &mut Context, epoch: Epoch, committed: Zxid) -> Step {
        if self.phase.synchronised_epoch() != Some(epoch) {
            return Step::Continue;
        }
        ctx.commit_through(committed);
        if self.phase.acknowledged_epoch().is_some() {
            let zxid = ctx.durable_zxid().unwrap_or(self.acked_zxid);
            ctx.send(self.leader, Message::Ack { epoch, zxid });
        }
        Step::Continue
    }

    /// Sends an ACK when more of the log became durable (followers only).
    pub(super) fn acknowledge_durable(&mut self, ctx: &mut Context) {
        let Some(epoch) = self.phase.acknowledged_epoch() else {
            return;
        };
        if self.learner_type != LearnerType::Participant {
            return;
        }
        let Some(durable) = ctx.durable_zxid() else {
            return;
        };
        if durable > self.acked_zxid {
            self.acked_zxid = durable;
            ctx.send(
                self.leader,
                Message::Ack {
                    epoch,
                    zxid: durable,
                },
            );
        }
    }

    /// Logs the next transaction of the stream; a gap means something was lost.
    fn log_next(&mut self, ctx: &mut Context, epoch: Epoch, txn: Txn) -> Step {
        let last = ctx.log.last_zxid();
        if txn.zxid.epoch() != epoch {
            return Step::Abandon("a transaction from another epoch");
        }
        if txn.zxid <= last {
            return Step::Continue;
        }
        if txn.zxid != next_zxid(last, epoch) {
            return Step::Abandon("a gap in the proposal stream");
        }
        ctx.append(vec![txn]);
        Step::Continue
    }
}

/// The zxid that must follow `last` in `epoch`: the next counter, or the first of the epoch.
pub(crate) fn next_zxid(last: Zxid, epoch: Epoch) -> Zxid {
    if last.epoch() == epoch {
        last.next()
    } else {
        Zxid::new(epoch, 1)
    }
}

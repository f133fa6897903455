//! Leader side of broadcast: assign zxids, forward proposals, commit in zxid order once a
//! quorum (with the leader) holds them durably, and watch that the quorum stays.

use super::{Leader, LeaderPhase};
use crate::context::{Context, Step};
use crate::error::ZabError;
use crate::fault_injection::{self, Mutation};
use crate::learner::next_zxid;
use crate::messages::Message;
use crate::txn::Txn;
use std::collections::BTreeSet;
use zk_proto::{Epoch, ServerId, Zxid};

impl Leader {
    /// Logs a new transaction with the next zxid and sends PROPOSAL to every follower.
    pub(crate) fn propose(&mut self, ctx: &mut Context, data: Vec<u8>) -> Result<Zxid, ZabError> {
        let LeaderPhase::Broadcast { epoch } = self.phase else {
            return Err(ZabError::NotLeader);
        };
        let outstanding = ctx.log.outstanding();
        let limit = ctx.config.outstanding_proposals_max;
        if outstanding >= limit {
            return Err(ZabError::TooManyOutstandingProposals { outstanding, limit });
        }
        let last = ctx.log.last_zxid();
        if last.epoch() == epoch && last.counter() == u32::MAX {
            self.counter_exhausted = true;
            return Err(ZabError::ZxidCounterExhausted { epoch: epoch.0 });
        }
        let txn = Txn::new(next_zxid(last, epoch), data);
        let zxid = txn.zxid;
        ctx.append(vec![txn.clone()]);
        for (id, handler) in &self.learners {
            if handler.gets_proposals() {
                ctx.send(*id, Message::Proposal { txn: txn.clone() });
            }
        }
        Ok(zxid)
    }

    /// ACK: a follower holds everything up to `zxid` durably.
    pub(super) fn on_ack(
        &mut self,
        ctx: &mut Context,
        from: ServerId,
        epoch: Epoch,
        zxid: Zxid,
    ) -> Step {
        if self.phase.announced_epoch() != Some(epoch) {
            return Step::Continue;
        }
        if let Some(handler) = self.learners.get_mut(&from) {
            if handler.vote_for_commit().is_some() {
                handler.acked_zxid = handler.acked_zxid.max(zxid.min(ctx.log.last_zxid()));
            }
        }
        self.try_commit(ctx);
        Step::Continue
    }

    /// Commits up to the highest zxid a quorum including this server holds durably:
    /// delivers it, sends COMMIT to followers and INFORM to observers.
    pub(super) fn try_commit(&mut self, ctx: &mut Context) {
        if !self.is_established() {
            return;
        }
        let Some(own) = ctx.durable_zxid() else {
            return;
        };
        let acked = self
            .learners
            .iter()
            .filter_map(|(id, handler)| handler.vote_for_commit().map(|zxid| (*id, zxid)))
            .chain([(ctx.my_id(), own)]);
        let target = if fault_injection::is_active(Mutation::CommitBeforeQuorum) {
            own
        } else {
            let Some(quorum_zxid) = ctx.config.ensemble.quorum_zxid(acked) else {
                return;
            };
            quorum_zxid.min(own)
        };
        if target <= ctx.log.committed() {
            return;
        }
        let newly = ctx.commit_through(target);
        for (id, handler) in &self.learners {
            if handler.gets_proposals() {
                ctx.send(*id, Message::Commit { zxid: target });
            } else if handler.gets_informs() {
                for txn in &newly {
                    ctx.send(*id, Message::Inform { txn: txn.clone() });
                }
            }
        }
    }

    /// Pings learners and steps down when a quorum is no longer in touch.
    pub(super) fn tick_broadcast(&mut self, ctx: &mut Context, epoch: Epoch) -> Step {
        if self.counter_exhausted {
            return Step::Abandon("the zxid counter is exhausted");
        }
        if !self.quorum_in_touch(ctx) {
            return Step::Abandon("lost the quorum");
        }
        if ctx.now_tick >= self.next_ping_tick {
            let committed_zxid = ctx.log.committed();
            for (id, handler) in &self.learners {
                if handler.is_synchronising() {
                    ctx.send(
                        *id,
                        Message::Ping {
                            epoch,
                            committed_zxid,
                        },
                    );
                }
            }
            self.next_ping_tick = ctx.now_tick + u64::from(ctx.config.ping_interval_ticks);
        }
        Step::Continue
    }

    /// Whether the followers heard from within `sync_limit_ticks`, with us, are a quorum.
    fn quorum_in_touch(&self, ctx: &Context) -> bool {
        let limit = ctx.config.sync_limit_ticks;
        let in_touch: BTreeSet<ServerId> = self
            .learners
            .iter()
            .filter(|(_, handler)| handler.vote_for_commit().is_some())
            .filter(|(_, handler)| handler.is_alive(ctx.now_tick, limit))
            .map(|(id, _)| *id)
            .chain([ctx.my_id()])
            .collect();
        ctx.config.ensemble.is_quorum(&in_touch)
    }
}

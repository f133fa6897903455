//! Learner side of discovery: accept the leader's epoch, then describe the log.

use super::{Learner, LearnerPhase};
use crate::commands::DurableWrite;
use crate::context::{Context, Step};
use crate::messages::Message;
use zk_proto::Epoch;

impl Learner {
    /// LEADERINFO: promise the new epoch (durably) or refuse an old one.
    pub(super) fn on_leader_info(&mut self, ctx: &mut Context, new_epoch: Epoch) -> Step {
        if self.phase != LearnerPhase::Discovery {
            // An answer to a repeated FOLLOWERINFO; the first one is being handled.
            return Step::Continue;
        }
        let promised = ctx.durability.accepted_epoch_promised();
        if new_epoch > promised {
            let write = ctx.persist(DurableWrite::AcceptedEpoch { epoch: new_epoch });
            self.phase = LearnerPhase::PersistingAcceptedEpoch {
                epoch: new_epoch,
                write,
            };
            Step::Continue
        } else if new_epoch == promised {
            // Already promised to this epoch: answer without counting as a new promise, so
            // that no epoch is ever promised twice.
            self.send_ack_epoch(ctx, new_epoch, false);
            Step::Continue
        } else {
            Step::Abandon("the leader's epoch is older than our accepted epoch")
        }
    }

    /// ACKEPOCH with the history summary; then wait for NEWLEADER.
    pub(super) fn send_ack_epoch(&mut self, ctx: &mut Context, epoch: Epoch, accepted: bool) {
        let message = Message::AckEpoch {
            current_epoch: ctx.durability.current_epoch(),
            history: ctx.log.summary(ctx.config.history_epochs_max),
            accepted,
        };
        ctx.send(self.leader, message);
        self.phase = LearnerPhase::AwaitingSync { epoch };
    }
}

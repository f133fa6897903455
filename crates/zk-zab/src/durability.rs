//! Durable writes in flight and the two epochs ZAB keeps on disk.
//!
//! The cores issue writes as [`Command::Persist`]; the host makes them durable in order and
//! confirms the highest id done. A promise made to a leader (ACKEPOCH, ACK of NEWLEADER, ACK
//! of a proposal) is only sent once the write it rests on is confirmed.

use crate::commands::{Command, DurableWrite, WriteId};
use crate::error::ZabError;
use std::collections::VecDeque;
use zk_proto::Epoch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EpochWrite {
    Accepted(Epoch),
    Current(Epoch),
}

/// Write ids, their confirmations, and the accepted and current epochs.
#[derive(Debug)]
pub(crate) struct Durability {
    next_write: u64,
    confirmed: WriteId,
    /// The durable accepted epoch.
    accepted_epoch: Epoch,
    /// The highest accepted epoch written or being written: a server never goes below it.
    accepted_epoch_promised: Epoch,
    /// The durable current epoch.
    current_epoch: Epoch,
    /// Epoch writes not confirmed yet, in issue order.
    epoch_writes: VecDeque<(WriteId, EpochWrite)>,
    /// The highest accepted epoch any learner reported to this server while it led. Kept in
    /// memory so that the next time it leads it proposes an epoch above it.
    learner_epoch_seen: Epoch,
}

impl Durability {
    /// The state restored from disk; every restored value is durable.
    pub(crate) fn restored(accepted_epoch: Epoch, current_epoch: Epoch) -> Self {
        Durability {
            next_write: 1,
            confirmed: WriteId(0),
            accepted_epoch,
            accepted_epoch_promised: accepted_epoch,
            current_epoch,
            epoch_writes: VecDeque::new(),
            learner_epoch_seen: Epoch(0),
        }
    }

    /// Issues `write` as the next durable write and returns its id.
    pub(crate) fn issue(&mut self, write: DurableWrite, outbox: &mut Vec<Command>) -> WriteId {
        let id = WriteId(self.next_write);
        self.next_write += 1;
        match &write {
            DurableWrite::AcceptedEpoch { epoch } => {
                assert!(
                    *epoch >= self.accepted_epoch_promised,
                    "accepted epochs never go back"
                );
                self.accepted_epoch_promised = *epoch;
                self.epoch_writes
                    .push_back((id, EpochWrite::Accepted(*epoch)));
            }
            DurableWrite::CurrentEpoch { epoch } => {
                assert!(*epoch >= self.current_epoch, "current epochs never go back");
                self.epoch_writes
                    .push_back((id, EpochWrite::Current(*epoch)));
            }
            _ => {}
        }
        outbox.push(Command::Persist { id, write });
        id
    }

    /// Records that every write up to `through` is durable.
    pub(crate) fn confirm(&mut self, through: WriteId) -> Result<(), ZabError> {
        if through.0 >= self.next_write {
            return Err(ZabError::HostContract {
                reason: format!("confirmed write {} that was never issued", through.0),
            });
        }
        self.confirmed = self.confirmed.max(through);
        while let Some((id, write)) = self.epoch_writes.front().copied() {
            if id > self.confirmed {
                break;
            }
            self.epoch_writes.pop_front();
            match write {
                EpochWrite::Accepted(epoch) => self.accepted_epoch = epoch,
                EpochWrite::Current(epoch) => self.current_epoch = epoch,
            }
        }
        Ok(())
    }

    /// Every write up to here is durable.
    pub(crate) fn confirmed(&self) -> WriteId {
        self.confirmed
    }

    /// Whether `write` is durable.
    pub(crate) fn is_durable(&self, write: WriteId) -> bool {
        write <= self.confirmed
    }

    /// The durable accepted epoch.
    pub(crate) fn accepted_epoch(&self) -> Epoch {
        self.accepted_epoch
    }

    /// The highest accepted epoch written or being written.
    pub(crate) fn accepted_epoch_promised(&self) -> Epoch {
        self.accepted_epoch_promised
    }

    /// The durable current epoch.
    pub(crate) fn current_epoch(&self) -> Epoch {
        self.current_epoch
    }

    /// Remembers an accepted epoch reported by a learner.
    pub(crate) fn saw_learner_epoch(&mut self, epoch: Epoch) {
        self.learner_epoch_seen = self.learner_epoch_seen.max(epoch);
    }

    /// The highest accepted epoch a learner reported.
    pub(crate) fn learner_epoch_seen(&self) -> Epoch {
        self.learner_epoch_seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_change_only_when_their_write_is_confirmed() {
        let mut durability = Durability::restored(Epoch(1), Epoch(1));
        let mut outbox = Vec::new();
        let first = durability.issue(DurableWrite::AcceptedEpoch { epoch: Epoch(2) }, &mut outbox);
        let second = durability.issue(DurableWrite::CurrentEpoch { epoch: Epoch(2) }, &mut outbox);
        assert_eq!((first, second), (WriteId(1), WriteId(2)));
        assert_eq!(durability.accepted_epoch_promised(), Epoch(2));
        assert_eq!(durability.accepted_epoch(), Epoch(1));
        durability.confirm(first).unwrap();
        assert_eq!(durability.accepted_epoch(), Epoch(2));
        assert_eq!(durability.current_epoch(), Epoch(1));
        durability.confirm(second).unwrap();
        assert_eq!(durability.current_epoch(), Epoch(2));
        assert!(
            durability.confirm(WriteId(3)).is_err(),
            "write 3 was never issued"
        );
        assert_eq!(outbox.len(), 2);
    }
}

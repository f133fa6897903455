//! The order of an ensemble member's durable writes. ZAB issues them with increasing ids
//! and confirms by id ("everything up to here is durable"); appends, epoch files, TRUNC and
//! SNAP must reach the disk in exactly that order ("history, then epoch, then ACK"). This
//! queue hands the log thread one command at a time: every append waiting while the thread
//! was busy goes into one batch (group commit), up to the next non-append write, which goes
//! alone.

use super::background::{LogCommand, QuorumWrite};
use std::collections::VecDeque;
use zk_tree::Txn;

/// A durable write of an ensemble member, as the log thread understands it.
#[derive(Debug)]
pub enum QuorumDurable {
    /// Append these txns (continuing the log).
    Append(Vec<Txn>),
    /// Anything else: an epoch file, a truncation, a snapshot install.
    Other(QuorumWrite),
}

/// Ids are ZAB's write ids (`zk_zab::WriteId`), kept as numbers so storage stays free of
/// the consensus crate.
#[derive(Debug, Default)]
pub struct QuorumQueue {
    waiting: VecDeque<(u64, QuorumDurable)>,
    in_flight: Option<u64>,
    max_batch_txns: usize,
}

impl QuorumQueue {
    pub fn new(max_batch_txns: usize) -> Self {
        QuorumQueue {
            waiting: VecDeque::new(),
            in_flight: None,
            max_batch_txns: max_batch_txns.max(1),
        }
    }

    /// Queues write `id`; returns the command to start now if the thread is idle.
    pub fn push(&mut self, id: u64, write: QuorumDurable) -> Option<LogCommand> {
        self.waiting.push_back((id, write));
        if self.in_flight.is_none() {
            self.next_command()
        } else {
            None
        }
    }

    /// The command in flight finished: returns the id now durable and the next command.
    pub fn on_done(&mut self) -> (Option<u64>, Option<LogCommand>) {
        let done = self.in_flight.take();
        (done, self.next_command())
    }

    /// Whether a command is with the log thread.
    pub fn is_in_flight(&self) -> bool {
        self.in_flight.is_some()
    }

    fn next_command(&mut self) -> Option<LogCommand> {
        let (id, write) = self.waiting.pop_front()?;
        match write {
            QuorumDurable::Other(other) => {
                self.in_flight = Some(id);
                Some(LogCommand::Quorum(other))
            }
            QuorumDurable::Append(mut batch) => {
                let mut last_id = id;
                while batch.len() < self.max_batch_txns {
                    match self.waiting.front_mut() {
                        Some((next_id, QuorumDurable::Append(more))) => {
                            last_id = *next_id;
                            batch.append(more);
                            self.waiting.pop_front();
                        }
                        _ => break,
                    }
                }
                self.in_flight = Some(last_id);
                Some(LogCommand::Write(batch))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_proto::{SessionId, Zxid};
    use zk_tree::TxnBody;

    fn append(zxid: i64) -> QuorumDurable {
        QuorumDurable::Append(vec![Txn {
            zxid: Zxid(zxid),
            time_ms: 0,
            session_id: SessionId(1),
            body: TxnBody::CreateSession { timeout_ms: 1 },
        }])
    }

    fn truncate() -> QuorumDurable {
        QuorumDurable::Other(QuorumWrite::Truncate { after: Zxid(0) })
    }

    #[test]
    fn appends_queued_during_a_write_share_the_next_one_and_barriers_go_alone() {
        let mut queue = QuorumQueue::new(100);
        assert!(
            matches!(queue.push(1, append(1)), Some(LogCommand::Write(batch)) if batch.len() == 1)
        );
        assert!(queue.push(2, append(2)).is_none());
        assert!(queue.push(3, append(3)).is_none());
        assert!(queue.push(4, truncate()).is_none());
        assert!(queue.push(5, append(4)).is_none());
        let (done, next) = queue.on_done();
        assert_eq!(done, Some(1));
        assert!(matches!(next, Some(LogCommand::Write(batch)) if batch.len() == 2));
        let (done, next) = queue.on_done();
        assert_eq!(done, Some(3));
        assert!(matches!(
            next,
            Some(LogCommand::Quorum(QuorumWrite::Truncate { .. }))
        ));
        let (done, next) = queue.on_done();
        assert_eq!(done, Some(4));
        assert!(matches!(next, Some(LogCommand::Write(_))));
        let (done, next) = queue.on_done();
        assert_eq!(done, Some(5));
        assert!(next.is_none() && !queue.is_in_flight());
    }
}

//! Group commit, as pure logic: txns to persist queue up while an fsync runs, and all of
//! them (up to a limit) go into the next one. One batch is in flight at a time, so the
//! number of fsyncs adapts to the disk: a slow fsync gathers a large batch. The waiting
//! txns need no limit of their own: they are prepared writes not yet applied, which the
//! pipeline already bounds (`PipelineLimits::max_in_flight_writes`).

use zk_proto::Zxid;
use zk_tree::Txn;

/// Txns waiting for the log, and whether a batch is being synced.
#[derive(Debug)]
pub struct GroupCommit {
    waiting: Vec<Txn>,
    /// The last zxid of the batch being written and synced.
    in_flight: Option<Zxid>,
    max_batch_txns: usize,
}

impl GroupCommit {
    /// Batches of at most `max_batch_txns` txns.
    pub fn new(max_batch_txns: usize) -> Self {
        assert!(max_batch_txns > 0, "a batch holds at least one txn");
        GroupCommit {
            waiting: Vec::new(),
            in_flight: None,
            max_batch_txns,
        }
    }

    /// Queues `txns`; returns the batch to write now if no batch is in flight.
    pub fn on_persist(&mut self, txns: Vec<Txn>) -> Option<Vec<Txn>> {
        self.push(txns);
        self.start_batch()
    }

    /// Queues `txns` for the next batch, without starting one: the caller gathers what
    /// else is arriving, then calls [`GroupCommit::start_batch`].
    pub fn push(&mut self, txns: Vec<Txn>) {
        if self.waiting.is_empty() {
            self.waiting = txns;
        } else {
            self.waiting.extend(txns);
        }
    }

    /// The batch to write now: what is waiting (up to the limit), unless a batch is in
    /// flight.
    pub fn start_batch(&mut self) -> Option<Vec<Txn>> {
        if self.in_flight.is_some() {
            return None;
        }
        self.next_batch()
    }

    /// The batch in flight is durable through `through`; returns the next batch, made of
    /// everything that queued meanwhile (up to the limit).
    pub fn on_synced(&mut self, through: Zxid) -> Option<Vec<Txn>> {
        assert_eq!(
            self.in_flight,
            Some(through),
            "the log reports the batch in flight"
        );
        self.in_flight = None;
        self.next_batch()
    }

    /// Txns waiting for the next batch.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Whether a batch is being synced.
    pub fn is_in_flight(&self) -> bool {
        self.in_flight.is_some()
    }

    fn next_batch(&mut self) -> Option<Vec<Txn>> {
        if self.waiting.is_empty() {
            return None;
        }
        let batch = if self.waiting.len() <= self.max_batch_txns {
            std::mem::take(&mut self.waiting)
        } else {
            let rest = self.waiting.split_off(self.max_batch_txns);
            std::mem::replace(&mut self.waiting, rest)
        };
        self.in_flight = batch.last().map(|txn| txn.zxid);
        Some(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_proto::SessionId;
    use zk_tree::TxnBody;

    fn txns(range: std::ops::RangeInclusive<i64>) -> Vec<Txn> {
        range
            .map(|zxid| Txn {
                zxid: Zxid(zxid),
                time_ms: 0,
                session_id: SessionId(1),
                body: TxnBody::CreateSession { timeout_ms: 1 },
            })
            .collect()
    }

    fn zxids(batch: Option<Vec<Txn>>) -> Vec<i64> {
        batch
            .unwrap_or_default()
            .iter()
            .map(|txn| txn.zxid.0)
            .collect()
    }

    #[test]
    fn txns_arriving_during_an_fsync_share_the_next_one() {
        let mut group = GroupCommit::new(100);
        assert_eq!(zxids(group.on_persist(txns(1..=1))), vec![1]);
        assert!(group.on_persist(txns(2..=2)).is_none());
        assert!(group.on_persist(txns(3..=5)).is_none());
        assert_eq!(group.waiting(), 4);
        assert_eq!(zxids(group.on_synced(Zxid(1))), vec![2, 3, 4, 5]);
        assert!(group.on_synced(Zxid(5)).is_none());
        assert!(!group.is_in_flight());
        assert_eq!(zxids(group.on_persist(txns(6..=6))), vec![6]);
    }

    #[test]
    fn pushed_txns_wait_until_a_batch_is_started() {
        let mut group = GroupCommit::new(100);
        group.push(txns(1..=1));
        group.push(txns(2..=3));
        assert!(!group.is_in_flight());
        assert_eq!(zxids(group.start_batch()), vec![1, 2, 3]);
        group.push(txns(4..=4));
        assert!(
            group.start_batch().is_none(),
            "one batch in flight at a time"
        );
        assert_eq!(zxids(group.on_synced(Zxid(3))), vec![4]);
    }

    #[test]
    fn batches_respect_the_limit() {
        let mut group = GroupCommit::new(3);
        assert_eq!(zxids(group.on_persist(txns(1..=7))), vec![1, 2, 3]);
        assert_eq!(zxids(group.on_synced(Zxid(3))), vec![4, 5, 6]);
        assert_eq!(zxids(group.on_synced(Zxid(6))), vec![7]);
        assert!(group.on_synced(Zxid(7)).is_none());
    }

    #[test]
    #[should_panic(expected = "batch in flight")]
    fn a_sync_report_must_match_the_batch_in_flight() {
        let mut group = GroupCommit::new(3);
        group.on_persist(txns(1..=2));
        group.on_synced(Zxid(1));
    }
}

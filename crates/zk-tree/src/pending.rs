//! Changes prepared but not yet applied (Apache's `outstandingChanges` and
//! `outstandingChangesForPath`, made of `ChangeRecord`s).
//!
//! With pipelining, request N+1 is prepared while request N is still being proposed, so
//! prepare must see the tree as it *will* be: each prepared write records the state it
//! leaves each touched path in, and later prepares read the latest record of a path before
//! falling back to the tree. Records are dropped once their transaction is applied.
//!
//! The records hold exactly what Apache's do, including its quirks: a setACL record keeps
//! the old ACL (the new one is checked only once applied), and a closeSession record
//! updates the parent's pzxid but not its child count.

use crate::stat::StatPersisted;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use zk_proto::{Acl, Zxid};

/// What prepare knows about an existing znode: from the tree or from a pending change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PendingNode {
    pub stat: StatPersisted,
    pub child_count: i32,
    pub acl: Arc<[Acl]>,
}

/// The state a prepared transaction leaves one path in; `node: None` means deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChangeRecord {
    pub zxid: Zxid,
    /// The path exactly as Apache keys it: the parent of a top-level znode is `""`.
    pub path: String,
    pub node: Option<PendingNode>,
}

/// The changes of prepared, not yet applied transactions, oldest first. The host owns one
/// per tree, passes it to every [`crate::DataTree::prepare`], and calls
/// [`PendingChanges::applied`] after each [`crate::DataTree::apply`]. Its size is bounded by
/// the number of writes in flight, which the host limits.
#[derive(Debug, Clone, Default)]
pub struct PendingChanges {
    /// (sequence number, record), in prepare order.
    records: VecDeque<(u64, ChangeRecord)>,
    /// The sequence number of the latest record of each path. Hashed, not ordered: with
    /// hundreds of writes in flight under one parent, an ordered map compared the long
    /// shared prefix of their paths a dozen times per lookup.
    latest: HashMap<String, u64>,
    next_sequence: u64,
}

impl PendingChanges {
    /// Drops the records of every transaction up to `zxid`, now applied to the tree
    /// (Apache's trimming in `FinalRequestProcessor`).
    pub fn applied(&mut self, zxid: Zxid) {
        while let Some((sequence, record)) = self.records.front() {
            if record.zxid > zxid {
                break;
            }
            if self.latest.get(&record.path) == Some(sequence) {
                self.latest.remove(&record.path);
            }
            self.records.pop_front();
        }
    }

    /// The number of pending records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no change is pending.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Forgets every pending change (when prepared transactions will never be applied,
    /// e.g. a leader stepping down).
    pub fn clear(&mut self) {
        self.records.clear();
        self.latest.clear();
    }

    /// The zxid of the newest pending record.
    pub fn last_zxid(&self) -> Option<Zxid> {
        self.records.back().map(|(_, record)| record.zxid)
    }

    /// The latest record of `path`.
    pub(crate) fn latest(&self, path: &str) -> Option<&ChangeRecord> {
        let sequence = *self.latest.get(path)?;
        let (first, _) = self.records.front()?;
        let (found, record) = &self.records[(sequence - first) as usize];
        debug_assert_eq!(*found, sequence);
        Some(record)
    }

    /// Appends a record; its zxid may not be older than the newest one.
    pub(crate) fn push(&mut self, record: ChangeRecord) {
        if let Some(last) = self.last_zxid() {
            assert!(
                record.zxid >= last,
                "pending change {} prepared after {}",
                record.zxid,
                last
            );
        }
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.latest.insert(record.path.clone(), sequence);
        self.records.push_back((sequence, record));
    }

    /// Every record, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &ChangeRecord> {
        self.records.iter().map(|(_, record)| record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(zxid: i64, path: &str, version: Option<i32>) -> ChangeRecord {
        ChangeRecord {
            zxid: Zxid(zxid),
            path: path.into(),
            node: version.map(|version| PendingNode {
                stat: StatPersisted {
                    version,
                    ..StatPersisted::default()
                },
                child_count: 0,
                acl: Arc::from(Acl::open_unsafe()),
            }),
        }
    }

    #[test]
    fn latest_record_wins_and_applied_trims_by_zxid() {
        let mut pending = PendingChanges::default();
        pending.push(record(1, "/a", Some(1)));
        pending.push(record(2, "/a", Some(2)));
        pending.push(record(2, "/b", None));
        pending.push(record(3, "/c", Some(0)));
        assert_eq!(pending.latest("/a").unwrap().zxid, Zxid(2));
        assert!(pending.latest("/b").unwrap().node.is_none());

        pending.applied(Zxid(1));
        // /a's latest record is from zxid 2, still pending.
        assert_eq!(pending.latest("/a").unwrap().zxid, Zxid(2));
        pending.applied(Zxid(2));
        assert!(pending.latest("/a").is_none());
        assert!(pending.latest("/b").is_none());
        assert_eq!(pending.len(), 1);
        assert_eq!(pending.latest("/c").unwrap().zxid, Zxid(3));
        pending.applied(Zxid(3));
        assert!(pending.is_empty());
        assert!(pending.latest("/c").is_none());
    }

    #[test]
    #[should_panic(expected = "prepared after")]
    fn records_come_in_zxid_order() {
        let mut pending = PendingChanges::default();
        pending.push(record(5, "/a", Some(1)));
        pending.push(record(4, "/a", Some(1)));
    }
}

//! Requests sent and not yet answered. A server answers a session's requests in the order it
//! received them, so the reply to come is always for the oldest pending request; a reply for
//! any other xid means the stream is corrupt and the connection must be dropped (the Java
//! client does the same).

use std::collections::VecDeque;
use zk_proto::{OpCode, Xid};

/// Hands out request xids: positive, increasing, wrapping back to 1 (negative xids are the
/// protocol's reserved ones: notification, ping, auth, setWatches).
#[derive(Debug, Clone)]
pub(crate) struct XidAllocator {
    next: i32,
}

impl Default for XidAllocator {
    fn default() -> Self {
        XidAllocator { next: 1 }
    }
}

impl XidAllocator {
    pub(crate) fn next(&mut self) -> Xid {
        let xid = Xid(self.next);
        self.next = if self.next == i32::MAX {
            1
        } else {
            self.next + 1
        };
        xid
    }
}

/// One request in flight.
#[derive(Debug)]
pub(crate) struct InFlight<T> {
    pub xid: Xid,
    pub op_code: OpCode,
    /// What the caller needs back (reply channel, watch to register).
    pub entry: T,
}

/// A reply arrived for an xid that is not the oldest in flight.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct OutOfOrder {
    pub expected: Option<Xid>,
    pub received: Xid,
}

/// The requests in flight on one connection, oldest first.
#[derive(Debug)]
pub(crate) struct PendingQueue<T> {
    queue: VecDeque<InFlight<T>>,
}

impl<T> Default for PendingQueue<T> {
    fn default() -> Self {
        PendingQueue {
            queue: VecDeque::new(),
        }
    }
}

impl<T> PendingQueue<T> {
    pub(crate) fn push(&mut self, xid: Xid, op_code: OpCode, entry: T) {
        debug_assert!(
            !matches!(self.queue.back(), Some(last) if last.xid == xid),
            "xids in flight are distinct"
        );
        self.queue.push_back(InFlight {
            xid,
            op_code,
            entry,
        });
    }

    /// Takes the request a reply with `xid` answers.
    pub(crate) fn take_reply(&mut self, xid: Xid) -> Result<InFlight<T>, OutOfOrder> {
        match self.queue.front() {
            Some(oldest) if oldest.xid == xid => Ok(self.queue.pop_front().expect("front exists")),
            other => Err(OutOfOrder {
                expected: other.map(|request| request.xid),
                received: xid,
            }),
        }
    }

    /// Every request in flight, oldest first (the connection dropped).
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = InFlight<T>> + '_ {
        self.queue.drain(..)
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_match_in_order() {
        let mut queue = PendingQueue::default();
        queue.push(Xid(1), OpCode::GetData, "a");
        queue.push(Xid(2), OpCode::Create, "b");
        assert_eq!(queue.take_reply(Xid(1)).unwrap().entry, "a");
        assert_eq!(
            queue.take_reply(Xid(3)).unwrap_err(),
            OutOfOrder {
                expected: Some(Xid(2)),
                received: Xid(3)
            }
        );
        let rest: Vec<_> = queue.drain().map(|r| r.entry).collect();
        assert_eq!(rest, ["b"]);
        assert_eq!(queue.len(), 0);
        assert_eq!(
            queue.take_reply(Xid(9)).unwrap_err().expected,
            None,
            "a reply with nothing in flight"
        );
    }

    #[test]
    fn xids_stay_positive() {
        let mut xids = XidAllocator { next: i32::MAX };
        assert_eq!(xids.next(), Xid(i32::MAX));
        assert_eq!(xids.next(), Xid(1));
    }
}

//! Per-session FIFO order: reads that must wait for an earlier write of their session.

use super::{ReadRequest, RequestOrigin};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use zk_proto::SessionId;
use zk_tree::AuthContext;

enum Queued {
    /// An uncommitted write of the session; everything behind it waits.
    Write,
    Read(RequestOrigin, Arc<AuthContext>, ReadRequest),
}

/// Requests of each session that are held back by an uncommitted write.
#[derive(Default)]
pub(super) struct SessionQueues {
    queues: HashMap<SessionId, VecDeque<Queued>>,
}

impl SessionQueues {
    pub fn has_pending_writes(&self, session: SessionId) -> bool {
        self.queues.contains_key(&session)
    }

    pub fn push_write(&mut self, session: SessionId) {
        self.queues
            .entry(session)
            .or_default()
            .push_back(Queued::Write);
    }

    pub fn push_read(
        &mut self,
        origin: RequestOrigin,
        auth: Arc<AuthContext>,
        request: ReadRequest,
    ) {
        self.queues
            .entry(origin.session)
            .or_default()
            .push_back(Queued::Read(origin, auth, request));
    }

    /// The session's oldest write committed: returns the reads queued right behind it.
    pub fn complete_write(
        &mut self,
        session: SessionId,
    ) -> Vec<(RequestOrigin, Arc<AuthContext>, ReadRequest)> {
        let mut released = Vec::new();
        let Some(queue) = self.queues.get_mut(&session) else {
            return released;
        };
        let front = queue.pop_front();
        assert!(
            matches!(front, Some(Queued::Write)),
            "a committed write must be first in its session's queue"
        );
        while let Some(Queued::Read(..)) = queue.front() {
            if let Some(Queued::Read(origin, auth, request)) = queue.pop_front() {
                released.push((origin, auth, request));
            }
        }
        if queue.is_empty() {
            self.queues.remove(&session);
        }
        released
    }

    /// Drops the queued reads of a session (its connection is gone); write markers stay so
    /// that commits still find them.
    pub fn drop_reads(&mut self, session: SessionId) {
        if let Some(queue) = self.queues.get_mut(&session) {
            queue.retain(|queued| matches!(queued, Queued::Write));
            if queue.is_empty() {
                self.queues.remove(&session);
            }
        }
    }
}

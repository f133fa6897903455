//! Session bookkeeping, as pure logic: id allocation, expiry in tick buckets, touch on
//! activity. The SessionActor owns one and drives it with the current time.
//!
//! As in Apache's SessionTrackerImpl, deadlines are rounded up to the next tick, so a single
//! pass per tick finds every expired session without scanning the whole table.

use std::collections::{BTreeMap, HashMap, HashSet};
use zk_proto::{ServerId, SessionId};

/// Length of a session password, as on the reference server.
pub const SESSION_PASSWORD_LEN: usize = 16;

/// A cluster-wide constant mixed into session passwords, so any server can check a
/// password for a session id without shared state (the reference server does the same).
const PASSWORD_SECRET: &[u8] = b"zk-rs session password v1";

/// The password of a session: a deterministic function of its id.
pub fn session_password(session: SessionId) -> [u8; SESSION_PASSWORD_LEN] {
    let mut hasher = sha1_smol::Sha1::new();
    hasher.update(PASSWORD_SECRET);
    hasher.update(&session.0.to_be_bytes());
    let digest = hasher.digest().bytes();
    let mut password = [0u8; SESSION_PASSWORD_LEN];
    password.copy_from_slice(&digest[..SESSION_PASSWORD_LEN]);
    password
}

/// The first session id of a server: its id in the high byte, the start time below it,
/// so ids stay unique across restarts and servers (Apache's initializeNextSession).
pub fn first_session_id(server: ServerId, now_ms: i64) -> SessionId {
    let time_part = ((now_ms << 24) as u64 >> 8) as i64;
    SessionId(time_part | ((server.0 as i64) << 56))
}

#[derive(Debug, Clone, Copy)]
struct SessionEntry {
    timeout_ms: i32,
    deadline_ms: i64,
    closing: bool,
}

/// Live sessions and when each expires.
#[derive(Debug)]
pub struct SessionTracker {
    tick_ms: i64,
    next_session_id: SessionId,
    sessions: HashMap<SessionId, SessionEntry>,
    /// Deadline (a multiple of the tick) → sessions that expire then.
    buckets: BTreeMap<i64, HashSet<SessionId>>,
}

impl SessionTracker {
    pub fn new(server: ServerId, tick_ms: u32, now_ms: i64) -> Self {
        SessionTracker {
            tick_ms: i64::from(tick_ms.max(1)),
            next_session_id: first_session_id(server, now_ms),
            sessions: HashMap::new(),
            buckets: BTreeMap::new(),
        }
    }

    /// Allocates a fresh session id.
    pub fn allocate_id(&mut self) -> SessionId {
        let id = self.next_session_id;
        self.next_session_id = SessionId(id.0.wrapping_add(1));
        id
    }

    /// Starts tracking a session (new, or restored from the tree after a restart).
    pub fn add(&mut self, session: SessionId, timeout_ms: i32, now_ms: i64) {
        let entry = SessionEntry {
            timeout_ms,
            deadline_ms: 0,
            closing: false,
        };
        self.sessions.insert(session, entry);
        self.touch(session, now_ms);
    }

    /// Records activity; false when the session is unknown or already closing.
    pub fn touch(&mut self, session: SessionId, now_ms: i64) -> bool {
        let tick_ms = self.tick_ms;
        let Some(entry) = self.sessions.get_mut(&session) else {
            return false;
        };
        if entry.closing {
            return false;
        }
        let deadline_ms = round_up_to_tick(now_ms + i64::from(entry.timeout_ms), tick_ms);
        if deadline_ms == entry.deadline_ms {
            return true;
        }
        let previous = std::mem::replace(&mut entry.deadline_ms, deadline_ms);
        remove_from_bucket(&mut self.buckets, previous, session);
        self.buckets.entry(deadline_ms).or_default().insert(session);
        true
    }

    /// The negotiated timeout of a live session.
    pub fn timeout_ms(&self, session: SessionId) -> Option<i32> {
        self.sessions
            .get(&session)
            .filter(|e| !e.closing)
            .map(|e| e.timeout_ms)
    }

    /// Whether the session exists and is not closing.
    pub fn is_live(&self, session: SessionId) -> bool {
        self.timeout_ms(session).is_some()
    }

    /// Marks a session as closing: no more requests are accepted for it.
    pub fn set_closing(&mut self, session: SessionId) {
        if let Some(entry) = self.sessions.get_mut(&session) {
            entry.closing = true;
            remove_from_bucket(&mut self.buckets, entry.deadline_ms, session);
        }
    }

    /// Forgets a session whose close has been applied.
    pub fn remove(&mut self, session: SessionId) {
        if let Some(entry) = self.sessions.remove(&session) {
            remove_from_bucket(&mut self.buckets, entry.deadline_ms, session);
        }
    }

    /// Sessions whose deadline has passed, marked closing, in id order.
    pub fn take_expired(&mut self, now_ms: i64) -> Vec<SessionId> {
        let due: Vec<i64> = self
            .buckets
            .range(..=now_ms)
            .map(|(&deadline, _)| deadline)
            .collect();
        let mut expired = Vec::new();
        for deadline in due {
            if let Some(sessions) = self.buckets.remove(&deadline) {
                expired.extend(sessions);
            }
        }
        expired.sort();
        for session in &expired {
            if let Some(entry) = self.sessions.get_mut(session) {
                entry.closing = true;
            }
        }
        expired
    }

    /// Live sessions grouped by expiry deadline (ms), earliest first, ids sorted.
    pub fn sessions_by_deadline(&self) -> Vec<(i64, Vec<SessionId>)> {
        self.buckets
            .iter()
            .map(|(&deadline, sessions)| {
                let mut sessions: Vec<SessionId> = sessions.iter().copied().collect();
                sessions.sort();
                (deadline, sessions)
            })
            .collect()
    }

    /// Number of tracked sessions, closing ones included.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

fn round_up_to_tick(time_ms: i64, tick_ms: i64) -> i64 {
    (time_ms / tick_ms + 1) * tick_ms
}

fn remove_from_bucket(
    buckets: &mut BTreeMap<i64, HashSet<SessionId>>,
    deadline: i64,
    session: SessionId,
) {
    if let Some(bucket) = buckets.get_mut(&deadline) {
        bucket.remove(&session);
        if bucket.is_empty() {
            buckets.remove(&deadline);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_the_server_id_in_the_high_byte() {
        let mut tracker = SessionTracker::new(ServerId(3), 1000, 1_700_000_000_000);
        let first = tracker.allocate_id();
        let second = tracker.allocate_id();
        assert_eq!(first.0 >> 56, 3);
        assert_eq!(second.0, first.0 + 1);
    }

    #[test]
    fn passwords_are_deterministic_and_distinct() {
        assert_eq!(
            session_password(SessionId(7)),
            session_password(SessionId(7))
        );
        assert_ne!(
            session_password(SessionId(7)),
            session_password(SessionId(8))
        );
    }

    #[test]
    fn a_session_expires_after_its_timeout_unless_touched() {
        let mut tracker = SessionTracker::new(ServerId(0), 100, 0);
        let session = tracker.allocate_id();
        tracker.add(session, 1000, 0);
        assert!(tracker.take_expired(1000).is_empty());
        assert!(tracker.touch(session, 900));
        assert!(tracker.take_expired(1500).is_empty());
        assert_eq!(tracker.take_expired(2000), vec![session]);
        assert!(!tracker.is_live(session));
        assert!(!tracker.touch(session, 2000));
        tracker.remove(session);
        assert!(tracker.is_empty());
    }

    #[test]
    fn closing_sessions_never_expire_twice() {
        let mut tracker = SessionTracker::new(ServerId(0), 100, 0);
        let session = tracker.allocate_id();
        tracker.add(session, 200, 0);
        tracker.set_closing(session);
        assert!(tracker.take_expired(10_000).is_empty());
    }
}

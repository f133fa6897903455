//! SessionActor: creates, re-attaches and expires sessions. Session creation and close are
//! writes through the TreeActor, so they are ordered and (with the log) durable like any
//! other transaction; the tracker here decides ids, timeouts and expiry.

use super::tree::{ServerWrite, TreeActor};
use crate::config::ServerConfig;
use crate::session_tracker::{session_password, SessionTracker};
use crate::stats::ServerStats;
use actix::prelude::*;
use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use zk_proto::{ServerId, SessionId, Zxid};
use zk_tree::WriteRequest;

use crate::watch::WatcherId;

/// Asks the connection to go away (its session was taken over by a newer connection).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Evict;

/// A connect request, already decoded.
#[derive(Message)]
#[rtype(result = "Result<Established, ConnectRefused>")]
pub struct Connect {
    pub connection: WatcherId,
    pub session_id: SessionId,
    pub password: Vec<u8>,
    pub requested_timeout_ms: i32,
    pub last_zxid_seen: Zxid,
    pub evict: Recipient<Evict>,
}

/// A session the connection may use.
#[derive(Debug, Clone)]
pub struct Established {
    pub session: SessionId,
    pub timeout_ms: i32,
    pub password: Vec<u8>,
}

/// Why a connect request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectRefused {
    /// Unknown, expired or closing session, or a wrong password: the client is told its
    /// session expired.
    SessionExpired,
    /// The client has seen a newer zxid than this server has: it must try another server.
    ClientAhead { client: Zxid, server: Zxid },
    /// The session could not be created.
    Failed,
    /// An ensemble member that has no established leader now: the client must try another
    /// server (the connection is closed without an answer).
    NotServing,
}

/// What this server does with sessions, which follows its role in the ensemble.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionRole {
    /// Alone: creates and expires sessions.
    Standalone,
    /// An ensemble member without an established leader: refuses clients.
    NotServing,
    /// The ensemble's leader: the only server that expires sessions; learners report the
    /// activity of theirs.
    Leader,
    /// A follower or observer: serves sessions, reports their activity to the leader,
    /// never expires them.
    Learner,
}

/// Changes the role. `sessions` are the tree's sessions when the role starts serving:
/// every one gets a full timeout from now, as a new ZooKeeper leader gives them.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetSessionRole {
    pub role: SessionRole,
    pub sessions: Vec<(SessionId, i32)>,
}

/// An ensemble member applied a session's creation or close (whoever created it).
#[derive(Message)]
#[rtype(result = "()")]
pub enum SessionApplied {
    Created { session: SessionId, timeout_ms: i32 },
    Closed { session: SessionId },
}

/// Activity a learner reported for its sessions (leader only).
#[derive(Message)]
#[rtype(result = "()")]
pub struct TouchSessions {
    pub sessions: Vec<SessionId>,
}

/// A learner's report of session activity, for its leader.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SessionActivity {
    pub sessions: Vec<SessionId>,
}

/// Activity on sessions: postpones their expiry.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Touch {
    pub session: SessionId,
}

/// A connection ended without closing its session; the session lives on until it expires.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Detached {
    pub session: SessionId,
    pub connection: WatcherId,
}

/// A client asked to close its session; no more requests are accepted for it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Closing {
    pub session: SessionId,
}

/// Sessions for the four-letter words.
#[derive(Debug, Clone, Default)]
pub struct SessionReport {
    pub sessions: Vec<(SessionId, i32)>,
    pub sessions_by_deadline: Vec<(i64, Vec<SessionId>)>,
}

#[derive(Message)]
#[rtype(result = "SessionReport")]
pub struct ReportSessions;

pub struct SessionActor {
    tracker: SessionTracker,
    tree: Addr<TreeActor>,
    config: Arc<ServerConfig>,
    stats: Arc<ServerStats>,
    /// The connection currently holding each session.
    attached: HashMap<SessionId, (WatcherId, Recipient<Evict>)>,
    timeouts: HashMap<SessionId, i32>,
    role: SessionRole,
    /// Learner: sessions with activity since the last report to the leader.
    touched: std::collections::HashSet<SessionId>,
    /// Learner: where activity reports go (the BroadcastActor).
    activity_reports: Option<Recipient<SessionActivity>>,
}

impl SessionActor {
    pub fn new(
        server: ServerId,
        config: Arc<ServerConfig>,
        tree: Addr<TreeActor>,
        restored: Vec<(SessionId, i32)>,
        stats: Arc<ServerStats>,
    ) -> Self {
        let now = super::tree::wall_clock_ms();
        let mut tracker = SessionTracker::new(server, config.tick_time_ms, now);
        let mut timeouts = HashMap::new();
        for (session, timeout_ms) in restored {
            tracker.add(session, timeout_ms, now);
            timeouts.insert(session, timeout_ms);
        }
        SessionActor {
            tracker,
            tree,
            config,
            stats,
            attached: HashMap::new(),
            timeouts,
            role: SessionRole::Standalone,
            touched: std::collections::HashSet::new(),
            activity_reports: None,
        }
    }

    /// An ensemble member: starts without serving, reports learner activity to `reports`.
    pub fn in_ensemble(mut self, reports: Recipient<SessionActivity>) -> Self {
        self.role = SessionRole::NotServing;
        self.activity_reports = Some(reports);
        self
    }

    fn on_tick(&mut self, ctx: &mut Context<Self>) {
        match self.role {
            SessionRole::Standalone | SessionRole::Leader => self.expire_sessions(ctx),
            SessionRole::Learner => {
                if !self.touched.is_empty() {
                    let sessions = self.touched.drain().collect();
                    if let Some(reports) = &self.activity_reports {
                        reports.do_send(SessionActivity { sessions });
                    }
                }
            }
            SessionRole::NotServing => {}
        }
    }

    fn touch(&mut self, session: SessionId, now: i64) -> bool {
        if self.role == SessionRole::Learner {
            self.touched.insert(session);
        }
        self.tracker.touch(session, now)
    }

    fn track(&mut self, session: SessionId, timeout_ms: i32, now: i64) {
        self.tracker.remove(session);
        self.tracker.add(session, timeout_ms, now);
        self.timeouts.insert(session, timeout_ms);
    }

    fn expire_sessions(&mut self, ctx: &mut Context<Self>) {
        let now = super::tree::wall_clock_ms();
        for session in self.tracker.take_expired(now) {
            tracing::info!(%session, "session expired");
            self.attached.remove(&session);
            let write = ServerWrite {
                session,
                request: WriteRequest::CloseSession,
            };
            let closed = actix::fut::wrap_future(self.tree.send(write));
            ctx.spawn(closed.map(move |result, actor: &mut SessionActor, _| {
                if !matches!(result, Ok(Ok(_))) {
                    tracing::warn!(%session, ?result, "closing an expired session failed");
                }
                actor.forget(session);
            }));
        }
    }

    fn forget(&mut self, session: SessionId) {
        self.tracker.remove(session);
        self.timeouts.remove(&session);
        self.attached.remove(&session);
    }

    fn attach(&mut self, session: SessionId, connection: WatcherId, evict: Recipient<Evict>) {
        if let Some((previous, previous_evict)) = self.attached.insert(session, (connection, evict))
        {
            if previous != connection {
                previous_evict.do_send(Evict);
            }
        }
    }
}

impl Actor for SessionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let tick = Duration::from_millis(u64::from(self.config.tick_time_ms.max(1)));
        ctx.run_interval(tick, |actor, ctx| actor.on_tick(ctx));
    }
}

impl Handler<Connect> for SessionActor {
    type Result = ResponseActFuture<Self, Result<Established, ConnectRefused>>;

    fn handle(&mut self, connect: Connect, _: &mut Self::Context) -> Self::Result {
        let now = super::tree::wall_clock_ms();
        if self.role == SessionRole::NotServing {
            return Box::pin(actix::fut::ready(Err(ConnectRefused::NotServing)));
        }
        let server_zxid = Zxid(self.stats.last_applied_zxid.load(Relaxed));
        if connect.last_zxid_seen > server_zxid {
            let refused = ConnectRefused::ClientAhead {
                client: connect.last_zxid_seen,
                server: server_zxid,
            };
            return Box::pin(actix::fut::ready(Err(refused)));
        }
        if connect.session_id != SessionId::NONE {
            // Like the reference, a re-attach attempt takes the session away from its
            // current connection before the password is checked.
            if let Some((previous, evict)) = self.attached.remove(&connect.session_id) {
                if previous != connect.connection {
                    evict.do_send(Evict);
                }
            }
            let result = if connect.password.as_slice()
                != session_password(connect.session_id).as_slice()
                || !self.touch(connect.session_id, now)
            {
                Err(ConnectRefused::SessionExpired)
            } else {
                self.attach(connect.session_id, connect.connection, connect.evict);
                let timeout_ms = self
                    .timeouts
                    .get(&connect.session_id)
                    .copied()
                    .unwrap_or_default();
                Ok(Established {
                    session: connect.session_id,
                    timeout_ms,
                    password: session_password(connect.session_id).to_vec(),
                })
            };
            return Box::pin(actix::fut::ready(result));
        }
        let session = self.tracker.allocate_id();
        let timeout_ms = self
            .config
            .negotiate_session_timeout(connect.requested_timeout_ms);
        let write = ServerWrite {
            session,
            request: WriteRequest::CreateSession { timeout_ms },
        };
        let created = self.tree.send(write);
        Box::pin(actix::fut::wrap_future(created).map(
            move |result, actor: &mut SessionActor, _| match result {
                Ok(Ok(_)) => {
                    actor.track(session, timeout_ms, super::tree::wall_clock_ms());
                    actor.touch(session, super::tree::wall_clock_ms());
                    actor.attach(session, connect.connection, connect.evict);
                    tracing::info!(%session, timeout_ms, "session established");
                    Ok(Established {
                        session,
                        timeout_ms,
                        password: session_password(session).to_vec(),
                    })
                }
                other => {
                    tracing::error!(%session, ?other, "creating a session failed");
                    Err(ConnectRefused::Failed)
                }
            },
        ))
    }
}

impl Handler<Touch> for SessionActor {
    type Result = ();

    fn handle(&mut self, touch: Touch, _: &mut Self::Context) {
        self.touch(touch.session, super::tree::wall_clock_ms());
    }
}

impl Handler<SetSessionRole> for SessionActor {
    type Result = ();

    fn handle(&mut self, change: SetSessionRole, _: &mut Self::Context) {
        tracing::info!(role = ?change.role, sessions = change.sessions.len(), "session role");
        self.role = change.role;
        self.touched.clear();
        if change.role == SessionRole::NotServing {
            // ZooKeeper closes every client connection when it leaves its role; the clients
            // reconnect (to this or another server) with their sessions.
            for (_, (_, evict)) in self.attached.drain() {
                evict.do_send(Evict);
            }
            return;
        }
        let now = super::tree::wall_clock_ms();
        let tick = i64::from(self.config.tick_time_ms);
        for session in std::mem::take(&mut self.timeouts).into_keys() {
            self.tracker.remove(session);
        }
        for (session, timeout_ms) in change.sessions {
            // A tick of grace: the learners' first activity reports are on their way.
            self.track(session, timeout_ms, now + tick);
        }
    }
}

impl Handler<SessionApplied> for SessionActor {
    type Result = ();

    fn handle(&mut self, applied: SessionApplied, _: &mut Self::Context) {
        match applied {
            SessionApplied::Created {
                session,
                timeout_ms,
            } => {
                if !self.timeouts.contains_key(&session) {
                    self.track(session, timeout_ms, super::tree::wall_clock_ms());
                }
            }
            // The pipeline's SessionClosed output closes the session's connection, after
            // its last reply.
            SessionApplied::Closed { session } => self.forget(session),
        }
    }
}

impl Handler<TouchSessions> for SessionActor {
    type Result = ();

    fn handle(&mut self, touch: TouchSessions, _: &mut Self::Context) {
        let now = super::tree::wall_clock_ms();
        for session in touch.sessions {
            self.tracker.touch(session, now);
        }
    }
}

impl Handler<Detached> for SessionActor {
    type Result = ();

    fn handle(&mut self, detached: Detached, _: &mut Self::Context) {
        if self
            .attached
            .get(&detached.session)
            .is_some_and(|(connection, _)| *connection == detached.connection)
        {
            self.attached.remove(&detached.session);
        }
    }
}

impl Handler<Closing> for SessionActor {
    type Result = ();

    fn handle(&mut self, closing: Closing, _: &mut Self::Context) {
        self.forget(closing.session);
    }
}

impl Handler<ReportSessions> for SessionActor {
    type Result = MessageResult<ReportSessions>;

    fn handle(&mut self, _: ReportSessions, _: &mut Self::Context) -> Self::Result {
        let mut sessions: Vec<_> = self
            .timeouts
            .iter()
            .map(|(&session, &timeout)| (session, timeout))
            .collect();
        sessions.sort();
        MessageResult(SessionReport {
            sessions,
            sessions_by_deadline: self.tracker.sessions_by_deadline(),
        })
    }
}

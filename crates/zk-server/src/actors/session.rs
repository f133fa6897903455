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
        }
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
        ctx.run_interval(tick, |actor, ctx| actor.expire_sessions(ctx));
    }
}

impl Handler<Connect> for SessionActor {
    type Result = ResponseActFuture<Self, Result<Established, ConnectRefused>>;

    fn handle(&mut self, connect: Connect, _: &mut Self::Context) -> Self::Result {
        let now = super::tree::wall_clock_ms();
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
                || !self.tracker.touch(connect.session_id, now)
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
                    actor
                        .tracker
                        .add(session, timeout_ms, super::tree::wall_clock_ms());
                    actor.timeouts.insert(session, timeout_ms);
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
        self.tracker
            .touch(touch.session, super::tree::wall_clock_ms());
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

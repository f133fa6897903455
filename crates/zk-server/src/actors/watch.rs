//! WatchActor, the final stage: registers watches, fires notifications and sends replies,
//! in exactly the order the TreeActor produced them. Because a change's notifications and
//! every later reply pass through this one mailbox, a client always hears about a change
//! before it sees a reply that reflects it.

use crate::outbound::OutboundSink;
use crate::pipeline::{Output, Reply, ReplyPayload, WatchCommand, WatchRegistration};
use crate::stats::ServerStats;
use crate::watch::{Notification, WatchRegistry, WatcherId};
use crate::wire;
use actix::prelude::*;
use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use zk_proto::{ErrorCode, EventType, SessionId};

/// Outcomes of the pipeline, in order.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Deliver {
    pub outputs: Vec<Output>,
}

/// A connection finished its handshake: replies and notifications for it go to `sink`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Attach {
    pub connection: WatcherId,
    pub session: SessionId,
    pub sink: OutboundSink,
}

/// A connection went away: forget it and its watches.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Detach {
    pub connection: WatcherId,
}

/// What the watch-related four-letter words report.
#[derive(Debug, Clone, Default)]
pub struct WatchReport {
    pub watch_count: usize,
    pub data_watch_count: usize,
    pub data_watched_paths: usize,
    pub data_watching_connections: usize,
    /// Session id → paths (data watches, as the reference reports them).
    pub paths_by_session: Vec<(SessionId, Vec<String>)>,
    /// Path → session ids.
    pub sessions_by_path: Vec<(String, Vec<SessionId>)>,
}

#[derive(Message)]
#[rtype(result = "WatchReport")]
pub struct ReportWatches;

struct AttachedConnection {
    session: SessionId,
    sink: OutboundSink,
}

#[derive(Default)]
pub struct WatchActor {
    registry: WatchRegistry,
    connections: HashMap<WatcherId, AttachedConnection>,
    connection_by_session: HashMap<SessionId, WatcherId>,
    stats: Arc<ServerStats>,
    /// Bytes gathered per connection while one batch is delivered; sent at its end.
    outgoing: HashMap<WatcherId, Vec<u8>>,
    notifications: Vec<Notification>,
}

impl WatchActor {
    pub fn new(stats: Arc<ServerStats>) -> Self {
        WatchActor {
            stats,
            ..WatchActor::default()
        }
    }

    fn buffer(&mut self, connection: WatcherId) -> Option<&mut Vec<u8>> {
        if !self.connections.contains_key(&connection) {
            return None;
        }
        Some(self.outgoing.entry(connection).or_default())
    }

    fn send_reply(&mut self, reply: &Reply) {
        let connection = reply.origin.connection;
        let Some(attached) = self.connections.get(&connection) else {
            return;
        };
        let stats = &attached.sink.stats;
        let latency_us = self
            .stats
            .now_us()
            .saturating_sub(reply.origin.received_at_us);
        stats.sent.fetch_add(1, Relaxed);
        stats.last_xid.store(i64::from(reply.origin.xid.0), Relaxed);
        stats.last_zxid.store(reply.zxid.0, Relaxed);
        stats
            .last_opcode
            .store(i64::from(reply.origin.opcode.code()), Relaxed);
        stats
            .last_response_ms
            .store(self.stats.uptime_ms(), Relaxed);
        stats.latency.record(latency_us);
        self.stats.latency.record(latency_us);
        self.stats.packets_sent.fetch_add(1, Relaxed);
        if let Some(buffer) = self.buffer(connection) {
            wire::encode_reply(reply, buffer);
        }
    }

    fn send_notification(&mut self, connection: WatcherId, event: EventType, path: &str) {
        if let Some(buffer) = self.buffer(connection) {
            wire::encode_notification(event, path, buffer);
            self.stats.packets_sent.fetch_add(1, Relaxed);
        }
    }

    fn register(&mut self, connection: WatcherId, registration: WatchRegistration) {
        match registration {
            WatchRegistration::Data { path } => self.registry.watch_data(&path, connection),
            WatchRegistration::Children { path } => self.registry.watch_children(&path, connection),
            WatchRegistration::Persistent { path, kind } => {
                self.registry.add_persistent(&path, connection, kind)
            }
        }
    }

    fn run_command(
        &mut self,
        connection: WatcherId,
        command: WatchCommand,
    ) -> Result<ReplyPayload, ErrorCode> {
        match command {
            WatchCommand::Check { path, kind } => {
                match self.registry.contains(&path, connection, kind) {
                    true => Ok(ReplyPayload::Empty),
                    false => Err(ErrorCode::NoWatcher),
                }
            }
            WatchCommand::Remove { path, kind } => {
                match self.registry.remove(&path, connection, kind) {
                    true => Ok(ReplyPayload::Empty),
                    false => Err(ErrorCode::NoWatcher),
                }
            }
            WatchCommand::Add { path, kind } => {
                self.registry.add_persistent(&path, connection, kind);
                Ok(ReplyPayload::ErrorResponseOk)
            }
            WatchCommand::Reset { fire, register } => {
                for (event, path) in fire {
                    self.send_notification(connection, event, &path);
                }
                for registration in register {
                    self.register(connection, registration);
                }
                Ok(ReplyPayload::Empty)
            }
        }
    }

    fn deliver(&mut self, output: Output) {
        match output {
            Output::Trigger { event, path } => {
                let mut notifications = std::mem::take(&mut self.notifications);
                self.registry.trigger(event, &path, &mut notifications);
                for notification in notifications.drain(..) {
                    self.send_notification(
                        notification.watcher,
                        notification.event,
                        &notification.path,
                    );
                }
                self.notifications = notifications;
            }
            Output::Reply { reply, watch } => {
                if let Some(registration) = watch {
                    if self.connections.contains_key(&reply.origin.connection) {
                        self.register(reply.origin.connection, registration);
                    }
                }
                self.send_reply(&reply);
            }
            Output::Watch {
                origin,
                zxid,
                command,
            } => {
                if !self.connections.contains_key(&origin.connection) {
                    return;
                }
                let result = self.run_command(origin.connection, command);
                self.send_reply(&Reply {
                    origin,
                    zxid,
                    result,
                });
            }
            Output::SessionClosed { session } => self.close_session_connection(session),
            Output::RejectAndClose { reply } => {
                let connection = reply.origin.connection;
                self.send_reply(&reply);
                self.close_connection(connection);
            }
        }
    }

    /// The session is gone: send what its connection is owed, then close it.
    fn close_session_connection(&mut self, session: SessionId) {
        if let Some(connection) = self.connection_by_session.get(&session).copied() {
            self.close_connection(connection);
        }
    }

    /// Sends what the connection is owed, then closes it and forgets its watches.
    fn close_connection(&mut self, connection: WatcherId) {
        if let Some(attached) = self.connections.remove(&connection) {
            if self.connection_by_session.get(&attached.session) == Some(&connection) {
                self.connection_by_session.remove(&attached.session);
            }
            if let Some(bytes) = self.outgoing.remove(&connection) {
                let _ = attached.sink.send(bytes);
            }
            attached.sink.close_after_flush();
        }
        self.registry.remove_watcher(connection);
    }

    fn flush(&mut self) {
        for (connection, bytes) in self.outgoing.drain() {
            if bytes.is_empty() {
                continue;
            }
            if let Some(attached) = self.connections.get(&connection) {
                // A failed send means the connection is closing; it detaches itself.
                let _ = attached.sink.send(bytes);
            }
        }
    }
}

impl Actor for WatchActor {
    type Context = Context<Self>;
}

impl Handler<Deliver> for WatchActor {
    type Result = ();

    fn handle(&mut self, batch: Deliver, _: &mut Self::Context) {
        for output in batch.outputs {
            self.deliver(output);
        }
        self.flush();
    }
}

impl Handler<Attach> for WatchActor {
    type Result = ();

    fn handle(&mut self, attach: Attach, _: &mut Self::Context) {
        if let Some(previous) = self
            .connection_by_session
            .insert(attach.session, attach.connection)
        {
            if previous != attach.connection {
                self.connections.remove(&previous);
                self.registry.remove_watcher(previous);
            }
        }
        let attached = AttachedConnection {
            session: attach.session,
            sink: attach.sink,
        };
        self.connections.insert(attach.connection, attached);
    }
}

impl Handler<Detach> for WatchActor {
    type Result = ();

    fn handle(&mut self, detach: Detach, _: &mut Self::Context) {
        if let Some(attached) = self.connections.remove(&detach.connection) {
            if self.connection_by_session.get(&attached.session) == Some(&detach.connection) {
                self.connection_by_session.remove(&attached.session);
            }
        }
        self.outgoing.remove(&detach.connection);
        self.registry.remove_watcher(detach.connection);
    }
}

impl Handler<ReportWatches> for WatchActor {
    type Result = MessageResult<ReportWatches>;

    fn handle(&mut self, _: ReportWatches, _: &mut Self::Context) -> Self::Result {
        let session_of = |connection: &WatcherId| {
            self.connections
                .get(connection)
                .map(|attached| attached.session)
                .unwrap_or_default()
        };
        let table = self.registry.data_table();
        MessageResult(WatchReport {
            watch_count: self.registry.watch_count(),
            data_watch_count: table.watch_count(),
            data_watched_paths: table.path_count(),
            data_watching_connections: table.watcher_count(),
            paths_by_session: table
                .paths_by_watcher()
                .into_iter()
                .map(|(connection, paths)| (session_of(&connection), paths))
                .collect(),
            sessions_by_path: table
                .watchers_by_path()
                .into_iter()
                .map(|(path, connections)| (path, connections.iter().map(session_of).collect()))
                .collect(),
        })
    }
}

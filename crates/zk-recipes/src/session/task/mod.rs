//! The session task: the one owner of a client's connection, requests in flight, watches
//! and session credentials.
//!
//! It alternates between two phases. Disconnected ([`SessionTask::connect`]): try the hosts
//! in their shuffled order, queue requests until a connection is up, report `Lost` once no
//! server was reached for a whole session timeout, and start a new session when a server
//! says the old one expired. Connected ([`SessionTask::serve`]): re-send authentication and
//! watches, send queued and new requests, match replies by xid, fire watches, ping at a
//! third of the session timeout, and drop the connection when nothing was received for two
//! thirds of it.

mod inbound;

use super::frames::FrameReader;
use super::handshake::{self, Handshaken};
use super::pending::{PendingQueue, XidAllocator};
use super::{set_watches, Command, Reply, SessionInfo, SessionSnapshot, Submission, WatchIntent};
use crate::config::ClientConfig;
use crate::error::Error;
use crate::host_list::HostList;
use crate::path::Chroot;
use crate::state::{ConnectionState, StatePublisher};
use crate::watch::handles::{OneShotSender, PersistentSender};
use crate::watch::registry::WatchRegistry;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant};
use zk_proto::{
    AuthPacket, ConnectRequest, ErrorCode, OpCode, RemoveWatchesRequest, Request, RequestBody,
    SessionId, WatcherType, Xid, SESSION_PASSWORD_LEN,
};

/// A request or authentication waiting for a connection.
#[derive(Debug)]
enum Waiting {
    Submit(Submission),
    Auth {
        packet: AuthPacket,
        reply: oneshot::Sender<Result<(), Error>>,
    },
}

/// What a request in flight needs when its reply comes.
#[derive(Debug)]
struct Outstanding {
    /// `None` for requests the task makes for itself (removing a server watch, closing).
    reply: Option<oneshot::Sender<Result<Reply, Error>>>,
    watch: Option<WatchIntent>,
    /// The request's path on the server, for watch registration.
    server_path: Option<String>,
}

/// An authentication packet in flight; `reply` is `None` when re-sent after a reconnection.
#[derive(Debug)]
struct AuthInFlight {
    packet: AuthPacket,
    reply: Option<oneshot::Sender<Result<(), Error>>>,
}

/// One established connection and what is in flight on it.
#[derive(Debug)]
struct Live {
    writer: OwnedWriteHalf,
    frames: mpsc::Receiver<Result<Vec<u8>, Error>>,
    reader_task: JoinHandle<()>,
    pending: PendingQueue<Outstanding>,
    auths_in_flight: VecDeque<AuthInFlight>,
    last_sent: Instant,
    last_received: Instant,
    ping_interval: Duration,
    read_timeout: Duration,
    /// A write failed or the stream is corrupt: the connection must be dropped.
    broken: bool,
    /// Set once `closeSession` is sent: who to tell, and when to stop waiting.
    closing: Option<(Option<oneshot::Sender<()>>, Instant)>,
    /// Set when the reply to `closeSession` arrived.
    close_confirmed: bool,
    encode_buffer: Vec<u8>,
}

impl Live {
    /// Writes one request; a failure marks the connection broken.
    async fn write(&mut self, request: &Request) {
        if self.broken {
            return;
        }
        self.encode_buffer.clear();
        zk_proto::write_frame(&mut self.encode_buffer, request);
        if let Err(error) = self.writer.write_all(&self.encode_buffer).await {
            tracing::debug!(%error, "write failed");
            self.broken = true;
        }
        self.last_sent = Instant::now();
    }
}

/// How the disconnected phase ended.
enum Connected {
    Live(Box<Live>),
    Closed(Option<oneshot::Sender<()>>),
}

/// What a command asks of the disconnected phase.
enum Flow {
    Continue,
    Close(Option<oneshot::Sender<()>>),
}

/// The session task's state; see the module documentation.
pub(crate) struct SessionTask {
    config: Arc<ClientConfig>,
    hosts: HostList,
    chroot: Chroot,
    commands: mpsc::Receiver<Command>,
    info: Arc<SessionInfo>,
    states: StatePublisher,
    watches: WatchRegistry<OneShotSender, PersistentSender>,
    /// Authentication the server accepted, re-sent after every reconnection.
    auths: Vec<AuthPacket>,
    waiting: VecDeque<Waiting>,
    session: SessionSnapshot,
    xids: XidAllocator,
    disconnected_at: Option<Instant>,
    lost_published: bool,
}

impl SessionTask {
    pub(crate) fn new(
        config: Arc<ClientConfig>,
        hosts: HostList,
        chroot: Chroot,
        commands: mpsc::Receiver<Command>,
        info: Arc<SessionInfo>,
        states: StatePublisher,
    ) -> Self {
        SessionTask {
            config,
            hosts,
            chroot,
            commands,
            info,
            states,
            watches: WatchRegistry::default(),
            auths: Vec::new(),
            waiting: VecDeque::new(),
            session: SessionSnapshot::default(),
            xids: XidAllocator::default(),
            disconnected_at: None,
            lost_published: false,
        }
    }

    /// Runs until the client is closed or every handle is dropped.
    pub(crate) async fn run(mut self) {
        let done = loop {
            let live = match self.connect().await {
                Connected::Live(live) => live,
                Connected::Closed(done) => break done,
            };
            if let Some(done) = self.serve(*live).await {
                break done;
            }
        };
        self.finish(done);
    }

    // ----- disconnected phase -----

    async fn connect(&mut self) -> Connected {
        let mut attempts = 0usize;
        loop {
            let (host, starts_round) = self.hosts.next_host();
            if starts_round && attempts > 0 {
                // Every host failed once: fail what waits (callers retry with backoff) and
                // pause before the next round.
                self.fail_waiting_requests(|| Error::Keeper(ErrorCode::ConnectionLoss));
                if let Flow::Close(done) = self.pause(self.config.reconnect_pause).await {
                    return Connected::Closed(done);
                }
            }
            attempts += 1;
            let request = self.connect_request();
            let timeout = self.attempt_timeout();
            let attempt = handshake::connect(&host, &request, timeout, self.config.max_frame_len);
            tokio::pin!(attempt);
            let result = loop {
                let lost_at = self.lost_at();
                tokio::select! {
                    result = &mut attempt => break result,
                    command = self.commands.recv() => {
                        if let Flow::Close(done) = self.on_command_disconnected(command) {
                            return Connected::Closed(done);
                        }
                    }
                    () = sleep_until_or_never(lost_at) => self.publish_lost(),
                }
            };
            match result {
                Err(error) => tracing::debug!(%host, %error, "connection attempt failed"),
                Ok(handshaken) if handshake::is_expired(&handshaken.response) => {
                    if self.session.session_id == SessionId::NONE {
                        tracing::warn!(%host, "server refused a new session");
                        continue;
                    }
                    self.expire();
                }
                Ok(handshaken) => {
                    tracing::debug!(%host, "connected");
                    return Connected::Live(Box::new(self.establish(handshaken).await));
                }
            }
        }
    }

    fn connect_request(&self) -> ConnectRequest {
        let password = if self.session.password.is_empty() {
            vec![0; SESSION_PASSWORD_LEN]
        } else {
            self.session.password.clone()
        };
        ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: self.session.last_zxid_seen,
            time_out: i32::try_from(self.config.session_timeout.as_millis()).unwrap_or(i32::MAX),
            session_id: self.session.session_id,
            passwd: password,
            read_only: Some(false),
        }
    }

    fn attempt_timeout(&self) -> Duration {
        self.config.connect_attempt_timeout.unwrap_or_else(|| {
            let hosts = u32::try_from(self.hosts.len()).unwrap_or(u32::MAX).max(1);
            (self.config.session_timeout / hosts).max(Duration::from_millis(100))
        })
    }

    /// Waits `duration` while serving commands.
    async fn pause(&mut self, duration: Duration) -> Flow {
        let until = Instant::now() + duration;
        loop {
            let lost_at = self.lost_at();
            tokio::select! {
                () = sleep_until(until) => return Flow::Continue,
                command = self.commands.recv() => {
                    if let Flow::Close(done) = self.on_command_disconnected(command) {
                        return Flow::Close(done);
                    }
                }
                () = sleep_until_or_never(lost_at) => self.publish_lost(),
            }
        }
    }

    fn on_command_disconnected(&mut self, command: Option<Command>) -> Flow {
        match command {
            None => Flow::Close(None),
            Some(Command::Close { done }) => Flow::Close(Some(done)),
            Some(Command::Submit(submission)) => {
                if self.waiting.len() >= self.config.max_outstanding_requests {
                    let _ = submission
                        .reply
                        .send(Err(Error::Keeper(ErrorCode::ThrottledOp)));
                } else {
                    self.waiting.push_back(Waiting::Submit(submission));
                }
                Flow::Continue
            }
            Some(Command::Auth { packet, reply }) => {
                self.waiting.push_back(Waiting::Auth { packet, reply });
                Flow::Continue
            }
            Some(Command::Unwatch {
                mode,
                server_path,
                id,
            }) => {
                // The server's watch goes when the next setWatches no longer lists it.
                self.watches.remove_persistent(mode, &server_path, id);
                Flow::Continue
            }
        }
    }

    /// When a disconnected session will have been unreachable for its whole timeout; `None`
    /// if that was reported already or there is no session.
    fn lost_at(&self) -> Option<Instant> {
        match self.disconnected_at {
            Some(since) if !self.lost_published && self.session.session_id != SessionId::NONE => {
                Some(since + self.session.negotiated_timeout)
            }
            _ => None,
        }
    }

    fn publish_lost(&mut self) {
        self.lost_published = true;
        self.states.publish(ConnectionState::Lost);
    }

    /// The server said the session is gone: everything tied to it ends, and the next
    /// connection starts a new session.
    fn expire(&mut self) {
        tracing::warn!(session_id = %self.session.session_id, "session expired");
        self.fail_waiting_requests(|| Error::Keeper(ErrorCode::SessionExpired));
        self.drain_watches(|| Error::Keeper(ErrorCode::SessionExpired));
        self.states.publish(ConnectionState::Expired);
        // A new session still must not go back in time: keep the last zxid seen.
        self.session = SessionSnapshot {
            last_zxid_seen: self.session.last_zxid_seen,
            ..SessionSnapshot::default()
        };
        self.info.update(&self.session);
        self.lost_published = true;
    }

    // ----- connected phase -----

    async fn establish(&mut self, handshaken: Handshaken) -> Live {
        let Handshaken {
            stream,
            reader,
            response,
        } = handshaken;
        let negotiated_timeout =
            Duration::from_millis(u64::try_from(response.time_out).unwrap_or(1).max(1));
        let new_session = response.session_id != self.session.session_id;
        self.session.session_id = response.session_id;
        self.session.password = response.passwd;
        self.session.negotiated_timeout = negotiated_timeout;
        self.info.update(&self.session);
        tracing::Span::current().record(
            "session_id",
            tracing::field::display(self.session.session_id),
        );

        let (read_half, writer) = stream.into_split();
        let (frames_in, frames) = mpsc::channel(self.config.inbound_frame_queue_limit);
        let reader_task = tokio::spawn(read_frames(read_half, reader, frames_in));
        let now = Instant::now();
        let mut live = Live {
            writer,
            frames,
            reader_task,
            pending: PendingQueue::default(),
            auths_in_flight: VecDeque::new(),
            last_sent: now,
            last_received: now,
            ping_interval: negotiated_timeout / 3,
            read_timeout: negotiated_timeout * 2 / 3,
            broken: false,
            closing: None,
            close_confirmed: false,
            encode_buffer: Vec::new(),
        };

        // Identities and watches first, so that queued requests run with the session's
        // identities and watches fire for whatever changed while disconnected.
        for packet in self.auths.clone() {
            self.send_auth(&mut live, packet, None).await;
        }
        let lists = self.watches.lists();
        for body in set_watches::requests(
            &lists,
            self.session.last_zxid_seen,
            set_watches::SET_WATCHES_MAX_BYTES,
        ) {
            live.write(&Request::new(Xid::SET_WATCHES, body)).await;
        }

        self.disconnected_at = None;
        self.lost_published = false;
        self.states.publish(if new_session {
            ConnectionState::Connected
        } else {
            ConnectionState::Reconnected
        });

        while let Some(waiting) = self.waiting.pop_front() {
            match waiting {
                Waiting::Submit(submission) => self.submit(&mut live, submission).await,
                Waiting::Auth { packet, reply } => {
                    self.send_auth(&mut live, packet, Some(reply)).await
                }
            }
        }
        live
    }

    /// Serves one connection until it drops (`None`) or the client closes (`Some`).
    async fn serve(&mut self, mut live: Live) -> Option<Option<oneshot::Sender<()>>> {
        loop {
            if live.close_confirmed || (live.broken && live.closing.is_some()) {
                live.reader_task.abort();
                return live.closing.take().map(|(done, _)| done);
            }
            if live.broken {
                self.connection_lost(live);
                return None;
            }
            let ping_at = live.last_sent + live.ping_interval;
            let dead_at = live.last_received + live.read_timeout;
            let close_at = live.closing.as_ref().map(|(_, deadline)| *deadline);
            tokio::select! {
                frame = live.frames.recv() => match frame {
                    Some(Ok(payload)) => {
                        live.last_received = Instant::now();
                        self.on_frame(&mut live, &payload).await;
                    }
                    Some(Err(error)) => {
                        tracing::debug!(%error, "connection dropped");
                        live.broken = true;
                    }
                    None => live.broken = true,
                },
                command = self.commands.recv(), if live.closing.is_none() => {
                    self.on_command(&mut live, command).await;
                }
                () = sleep_until(ping_at) => live.write(&Request::new(Xid::PING, RequestBody::Ping)).await,
                () = sleep_until(dead_at) => {
                    tracing::warn!(read_timeout = ?live.read_timeout, "nothing received; dropping the connection");
                    live.broken = true;
                }
                () = sleep_until(close_at.unwrap_or(dead_at)), if close_at.is_some() => {
                    tracing::debug!("close not confirmed in time");
                    live.reader_task.abort();
                    return live.closing.take().map(|(done, _)| done);
                }
            }
        }
    }

    async fn on_command(&mut self, live: &mut Live, command: Option<Command>) {
        match command {
            Some(Command::Submit(submission)) => self.submit(live, submission).await,
            Some(Command::Auth { packet, reply }) => {
                self.send_auth(live, packet, Some(reply)).await
            }
            Some(Command::Unwatch {
                mode,
                server_path,
                id,
            }) => {
                if !self.watches.remove_persistent(mode, &server_path, id) {
                    self.remove_server_watch(live, server_path).await;
                }
            }
            close => {
                let done = match close {
                    Some(Command::Close { done }) => Some(done),
                    _ => None,
                };
                let xid = self.xids.next();
                live.pending.push(
                    xid,
                    OpCode::CloseSession,
                    Outstanding {
                        reply: None,
                        watch: None,
                        server_path: None,
                    },
                );
                live.write(&Request::new(xid, RequestBody::CloseSession))
                    .await;
                live.closing = Some((done, Instant::now() + self.config.close_timeout));
            }
        }
    }

    async fn submit(&mut self, live: &mut Live, submission: Submission) {
        if live.pending.len() >= self.config.max_outstanding_requests {
            let _ = submission
                .reply
                .send(Err(Error::Keeper(ErrorCode::ThrottledOp)));
            return;
        }
        let xid = self.xids.next();
        let server_path = request_path(&submission.body).map(str::to_owned);
        let request = Request::new(xid, submission.body);
        live.write(&request).await;
        live.pending.push(
            xid,
            request.header.op_code,
            Outstanding {
                reply: Some(submission.reply),
                watch: submission.watch,
                server_path,
            },
        );
    }

    async fn send_auth(
        &mut self,
        live: &mut Live,
        packet: AuthPacket,
        reply: Option<oneshot::Sender<Result<(), Error>>>,
    ) {
        live.write(&Request::new(Xid::AUTH, RequestBody::Auth(packet.clone())))
            .await;
        live.auths_in_flight
            .push_back(AuthInFlight { packet, reply });
    }

    /// Removes the server's watches on a path no local watcher needs any more; the reply is
    /// of no interest.
    async fn remove_server_watch(&mut self, live: &mut Live, server_path: String) {
        let xid = self.xids.next();
        let body = RequestBody::RemoveWatches(RemoveWatchesRequest {
            path: server_path,
            watcher_type: WatcherType::Any,
        });
        live.write(&Request::new(xid, body)).await;
        live.pending.push(
            xid,
            OpCode::RemoveWatches,
            Outstanding {
                reply: None,
                watch: None,
                server_path: None,
            },
        );
    }

    fn connection_lost(&mut self, live: Live) {
        live.reader_task.abort();
        let Live {
            mut pending,
            auths_in_flight,
            ..
        } = live;
        for request in pending.drain() {
            if let Some(reply) = request.entry.reply {
                let _ = reply.send(Err(Error::Keeper(ErrorCode::ConnectionLoss)));
            }
        }
        for auth in auths_in_flight {
            if let Some(reply) = auth.reply {
                let _ = reply.send(Err(Error::Keeper(ErrorCode::ConnectionLoss)));
            }
        }
        self.disconnected_at = Some(Instant::now());
        self.states.publish(ConnectionState::Suspended);
    }

    // ----- shutdown -----

    fn finish(&mut self, done: Option<oneshot::Sender<()>>) {
        self.commands.close();
        while let Ok(command) = self.commands.try_recv() {
            match command {
                Command::Submit(submission) => {
                    let _ = submission.reply.send(Err(Error::Closed));
                }
                Command::Auth { reply, .. } => {
                    let _ = reply.send(Err(Error::Closed));
                }
                Command::Close { done } => {
                    let _ = done.send(());
                }
                Command::Unwatch { .. } => {}
            }
        }
        self.fail_waiting_requests(|| Error::Closed);
        for waiting in self.waiting.drain(..) {
            if let Waiting::Auth { reply, .. } = waiting {
                let _ = reply.send(Err(Error::Closed));
            }
        }
        self.drain_watches(|| Error::Closed);
        self.states.publish(ConnectionState::Closed);
        if let Some(done) = done {
            let _ = done.send(());
        }
    }

    fn fail_waiting_requests(&mut self, error: impl Fn() -> Error) {
        let mut kept = VecDeque::new();
        for waiting in self.waiting.drain(..) {
            match waiting {
                Waiting::Submit(submission) => {
                    let _ = submission.reply.send(Err(error()));
                }
                auth @ Waiting::Auth { .. } => kept.push_back(auth),
            }
        }
        self.waiting = kept;
    }

    fn drain_watches(&mut self, error: impl Fn() -> Error) {
        let drained = self.watches.drain();
        for sender in drained.one_shots {
            let _ = sender.send(Err(error()));
        }
        for sender in drained.persistent {
            sender.end(error());
        }
    }
}

async fn sleep_until_or_never(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The path of requests that register or remove watches.
fn request_path(body: &RequestBody) -> Option<&str> {
    match body {
        RequestBody::GetData(request) => Some(&request.path),
        RequestBody::Exists(request) => Some(&request.path),
        RequestBody::GetChildren(request) => Some(&request.path),
        RequestBody::GetChildren2(request) => Some(&request.path),
        RequestBody::AddWatch(request) => Some(&request.path),
        RequestBody::RemoveWatches(request) => Some(&request.path),
        _ => None,
    }
}

/// The connection's reader: splits frames and hands them to the session task, until the
/// socket fails or the task stops listening.
async fn read_frames(
    mut socket: tokio::net::tcp::OwnedReadHalf,
    mut reader: FrameReader,
    frames: mpsc::Sender<Result<Vec<u8>, Error>>,
) {
    loop {
        let frame = reader.next_frame(&mut socket).await;
        let failed = frame.is_err();
        if frames.send(frame).await.is_err() || failed {
            return;
        }
    }
}

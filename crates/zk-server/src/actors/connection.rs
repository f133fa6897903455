//! ConnectionActor: one per client TCP connection. It frames and decodes requests, runs the
//! handshake with the SessionActor, handles auth, and passes requests in batches to the
//! TreeActor. Replies do not come back through it: the WatchActor writes them to the
//! connection's [`OutboundSink`].

use super::four_letter::{answer_four_letter_word, FourLetterSources};
use super::session::{
    Closing, Connect, ConnectRefused, Detached, Established, Evict, SessionActor, Touch,
};
use super::tree::{ClientRequest, Operation, SubmitRequests, TreeActor};
use super::watch::{Attach, Detach, WatchActor};
use crate::codec::{CodecError, Inbound};
use crate::config::ServerConfig;
use crate::outbound::OutboundSink;
use crate::pipeline::{ReadRequest, RequestOrigin};
use crate::stats::ServerStats;
use crate::watch::WatcherId;
use crate::wire::{self, Inbound as Request};
use actix::prelude::*;
use bytes::BytesMut;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use zk_proto::frame::write_frame;
use zk_proto::records::{ConnectRequest, ConnectResponse, ReplyHeader};
use zk_proto::request::decode_request;
use zk_proto::{DecodeError, ErrorCode, Id, OpCode, SessionId, Xid, Zxid};
use zk_tree::AuthContext;

/// The actors a connection talks to.
#[derive(Clone)]
pub struct Peers {
    pub tree: Addr<TreeActor>,
    pub sessions: Addr<SessionActor>,
    pub final_stage: Addr<WatchActor>,
    pub stats: Arc<ServerStats>,
    pub config: Arc<ServerConfig>,
    /// The ensemble role, for the four-letter words (standalone when there is none).
    pub quorum: Arc<crate::quorum::status::SharedQuorumStatus>,
}

enum Phase {
    /// Waiting for the ConnectRequest (or a four-letter word).
    AwaitingConnect,
    /// The SessionActor is deciding; frames that arrive meanwhile wait here.
    Handshaking {
        held_back: Vec<BytesMut>,
    },
    Established {
        session: SessionId,
        auth: Arc<AuthContext>,
    },
    Closing,
}

pub struct ConnectionActor {
    id: WatcherId,
    peer: SocketAddr,
    phase: Phase,
    sink: OutboundSink,
    peers: Peers,
    span: tracing::Span,
}

impl ConnectionActor {
    pub fn new(id: WatcherId, peer: SocketAddr, sink: OutboundSink, peers: Peers) -> Self {
        let span =
            tracing::info_span!("connection", id = id.0, %peer, session = tracing::field::Empty);
        ConnectionActor {
            id,
            peer,
            phase: Phase::AwaitingConnect,
            sink,
            peers,
            span,
        }
    }

    fn close(&mut self, ctx: &mut Context<Self>) {
        self.phase = Phase::Closing;
        self.sink.close_after_flush();
        ctx.stop();
    }

    fn send_frame(&self, bytes: Vec<u8>) {
        // A failed send means the connection is already closing.
        let _ = self.sink.send(bytes);
    }

    fn start_handshake(&mut self, mut frames: Vec<BytesMut>, ctx: &mut Context<Self>) {
        let connect_frame = frames.remove(0);
        let request: ConnectRequest = match zk_proto::jute::from_bytes(&connect_frame) {
            Ok(request) => request,
            Err(error) => {
                tracing::warn!(parent: &self.span, %error, "invalid connect request; closing");
                return self.close(ctx);
            }
        };
        self.peers.stats.packets_received.fetch_add(1, Relaxed);
        self.phase = Phase::Handshaking { held_back: frames };
        let connect = Connect {
            connection: self.id,
            session_id: request.session_id,
            password: request.passwd.clone(),
            requested_timeout_ms: request.time_out,
            last_zxid_seen: request.last_zxid_seen,
            evict: ctx.address().recipient(),
        };
        let decided = actix::fut::wrap_future(self.peers.sessions.send(connect));
        ctx.wait(
            decided.map(move |result, actor: &mut ConnectionActor, ctx| {
                let decision = result.unwrap_or(Err(ConnectRefused::Failed));
                actor.finish_handshake(&request, decision, ctx);
            }),
        );
    }

    fn finish_handshake(
        &mut self,
        request: &ConnectRequest,
        decision: Result<Established, ConnectRefused>,
        ctx: &mut Context<Self>,
    ) {
        let held_back = match std::mem::replace(&mut self.phase, Phase::Closing) {
            Phase::Handshaking { held_back } => held_back,
            _ => Vec::new(),
        };
        let established = match decision {
            Ok(established) => established,
            Err(ConnectRefused::ClientAhead { client, server }) => {
                // The reference closes without an answer, so the client tries another server.
                tracing::info!(parent: &self.span, %client, %server, "client has seen a newer zxid; refusing");
                return self.close(ctx);
            }
            Err(ConnectRefused::NotServing | ConnectRefused::Failed) => {
                // As the reference does while it looks for a leader (or when it cannot
                // create a session): no answer, so the client tries another server and keeps
                // its session; an answer would tell it that its session expired.
                tracing::info!(parent: &self.span, "not serving clients now; closing");
                return self.close(ctx);
            }
            Err(refusal) => {
                tracing::info!(parent: &self.span, session = %request.session_id, ?refusal, "session refused");
                let mut bytes = Vec::new();
                write_frame(&mut bytes, &ConnectResponse::refused(request, false));
                self.send_frame(bytes);
                return self.close(ctx);
            }
        };
        self.span
            .record("session", tracing::field::display(established.session));
        tracing::debug!(parent: &self.span, timeout_ms = established.timeout_ms, "connected");
        let stats = &self.sink.stats;
        // The handshake counts as one packet each way, as on the reference server.
        stats.received.fetch_add(1, Relaxed);
        stats.sent.fetch_add(1, Relaxed);
        self.peers.stats.packets_sent.fetch_add(1, Relaxed);
        stats.session_id.store(established.session.0, Relaxed);
        stats
            .session_timeout_ms
            .store(i64::from(established.timeout_ms), Relaxed);
        stats
            .established_ms
            .store(self.peers.stats.uptime_ms(), Relaxed);
        let response = ConnectResponse::accepted(
            request,
            established.timeout_ms,
            established.session,
            established.password.clone(),
            false,
        );
        let mut bytes = Vec::new();
        write_frame(&mut bytes, &response);
        self.send_frame(bytes);
        self.peers.final_stage.do_send(Attach {
            connection: self.id,
            session: established.session,
            sink: self.sink.clone(),
        });
        // Every connection is also known by its address, as on the reference server.
        let ids = vec![Id {
            scheme: "ip".into(),
            id: self.peer.ip().to_string(),
        }];
        let auth = Arc::new(AuthContext {
            session_id: established.session,
            ids,
        });
        self.phase = Phase::Established {
            session: established.session,
            auth,
        };
        if !held_back.is_empty() {
            self.handle_requests(held_back, ctx);
        }
    }

    fn handle_requests(&mut self, frames: Vec<BytesMut>, ctx: &mut Context<Self>) {
        let Phase::Established { session, auth } = &self.phase else {
            return;
        };
        let (session, mut auth) = (*session, auth.clone());
        let received_at_us = self.peers.stats.now_us();
        self.peers
            .stats
            .packets_received
            .fetch_add(frames.len() as u64, Relaxed);
        self.sink
            .stats
            .received
            .fetch_add(frames.len() as u64, Relaxed);
        self.peers.sessions.do_send(Touch { session });
        let mut batch = Vec::with_capacity(frames.len());
        // Close now (auth failure, unreadable header) or once the final stage has sent an
        // error reply (unknown opcode): either way nothing more is read.
        let mut close_now = false;
        let mut stop_reading = false;
        for frame in frames {
            let (xid, opcode, request) = match decode_request(&frame) {
                Ok(request) => (
                    request.header.xid,
                    request.header.op_code,
                    wire::classify(request.body),
                ),
                Err(DecodeError::UnknownOpCode {
                    code,
                    xid: Some(xid),
                }) => {
                    tracing::warn!(parent: &self.span, code, "unknown opcode; answering Unimplemented and closing");
                    stop_reading = true;
                    let reject = ReadRequest::Reject {
                        code: ErrorCode::Unimplemented,
                        close: true,
                    };
                    (xid, OpCode::Error, Request::Tree(Operation::Read(reject)))
                }
                Err(DecodeError::InvalidBody {
                    op_code: OpCode::Auth | OpCode::Sasl,
                    cause,
                    ..
                }) => {
                    // The reference reads auth bodies before queueing them and drops the
                    // connection when they do not parse.
                    tracing::warn!(parent: &self.span, %cause, "malformed auth packet; closing");
                    close_now = true;
                    break;
                }
                Err(DecodeError::InvalidBody {
                    xid,
                    op_code,
                    cause,
                }) => {
                    tracing::warn!(parent: &self.span, ?op_code, %cause, "malformed request body");
                    let reject = ReadRequest::Reject {
                        code: ErrorCode::MarshallingError,
                        close: false,
                    };
                    (xid, op_code, Request::Tree(Operation::Read(reject)))
                }
                Err(error) => {
                    tracing::warn!(parent: &self.span, %error, "undecodable request; closing");
                    close_now = true;
                    break;
                }
            };
            let origin = RequestOrigin {
                connection: self.id,
                session,
                xid,
                opcode,
                received_at_us,
            };
            match request {
                Request::Tree(operation) => batch.push(ClientRequest { origin, operation }),
                Request::CloseSession => {
                    self.peers.sessions.do_send(Closing { session });
                    let close = Operation::Write {
                        request: zk_tree::WriteRequest::CloseSession,
                        multi_op_codes: Vec::new(),
                    };
                    batch.push(ClientRequest {
                        origin,
                        operation: close,
                    });
                }
                Request::Reject(code) => {
                    let reject = ReadRequest::Reject { code, close: false };
                    batch.push(ClientRequest {
                        origin,
                        operation: Operation::Read(reject),
                    });
                }
                Request::Auth {
                    scheme,
                    credentials,
                } => {
                    // Requests before the auth packet run with the identities they had.
                    self.submit(&auth, std::mem::take(&mut batch));
                    match self.authenticate(&auth, &scheme, &credentials) {
                        Some(updated) => {
                            auth = updated;
                            self.reply_to_auth(None);
                        }
                        None => {
                            tracing::info!(parent: &self.span, scheme, "authentication failed; closing");
                            self.reply_to_auth(Some(ErrorCode::AuthFailed));
                            close_now = true;
                            break;
                        }
                    }
                }
            }
            if stop_reading {
                break;
            }
        }
        self.submit(&auth, batch);
        if let Phase::Established { auth: current, .. } = &mut self.phase {
            *current = auth;
        }
        if close_now {
            self.close(ctx);
        } else if stop_reading {
            // The final stage closes the socket after the error reply; the actor stops when
            // the writer ends.
            self.phase = Phase::Closing;
        }
    }

    fn submit(&self, auth: &Arc<AuthContext>, requests: Vec<ClientRequest>) {
        if !requests.is_empty() {
            self.peers.tree.do_send(SubmitRequests {
                auth: auth.clone(),
                requests,
            });
        }
    }

    /// Adds an identity for `scheme`; `None` when the scheme is unknown or the credentials
    /// are not acceptable.
    fn authenticate(
        &self,
        auth: &Arc<AuthContext>,
        scheme: &str,
        credentials: &[u8],
    ) -> Option<Arc<AuthContext>> {
        let id = match scheme {
            "digest" => {
                let text = std::str::from_utf8(credentials).ok()?;
                Id {
                    scheme: "digest".into(),
                    id: zk_tree::acl::digest_id(text),
                }
            }
            "ip" => Id {
                scheme: "ip".into(),
                id: self.peer.ip().to_string(),
            },
            _ => return None,
        };
        let mut updated = AuthContext::clone(auth);
        if !updated.ids.contains(&id) {
            updated.ids.push(id);
        }
        Some(Arc::new(updated))
    }

    /// Auth replies bypass the pipeline, as on the reference server: clients match them by
    /// their special xid, not by order.
    fn reply_to_auth(&self, error: Option<ErrorCode>) {
        let header = match error {
            None => ReplyHeader::ok(Xid::AUTH, Zxid(0)),
            Some(code) => ReplyHeader::error(Xid::AUTH, Zxid(0), code),
        };
        let mut bytes = Vec::new();
        write_frame(&mut bytes, &header);
        self.send_frame(bytes);
    }
}

impl Actor for ConnectionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // When the writer side ends (client gone, or too slow to read), the connection ends.
        let finished = actix::fut::wrap_future(self.sink.finished());
        ctx.spawn(finished.map(|_, actor: &mut ConnectionActor, ctx| {
            actor.phase = Phase::Closing;
            ctx.stop();
        }));
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.sink.close_after_flush();
        self.peers.final_stage.do_send(Detach {
            connection: self.id,
        });
        if let Phase::Established { session, .. } = self.phase {
            self.peers.sessions.do_send(Detached {
                session,
                connection: self.id,
            });
        }
        self.peers.stats.unregister_connection(self.id);
        tracing::debug!(parent: &self.span, "connection closed");
    }
}

impl StreamHandler<Result<Inbound, CodecError>> for ConnectionActor {
    fn handle(&mut self, item: Result<Inbound, CodecError>, ctx: &mut Self::Context) {
        let inbound = match item {
            Ok(inbound) => inbound,
            Err(error) => {
                tracing::warn!(parent: &self.span, %error, "closing connection");
                return self.close(ctx);
            }
        };
        match (&mut self.phase, inbound) {
            (Phase::AwaitingConnect, Inbound::FourLetterWord(word)) => {
                self.phase = Phase::Closing;
                let sources = FourLetterSources::from_peers(&self.peers);
                let sink = self.sink.clone();
                actix::spawn(async move {
                    let answer = answer_four_letter_word(word, &sources).await;
                    let _ = sink.send(answer.into_bytes());
                    sink.close_after_flush();
                });
            }
            (Phase::AwaitingConnect, Inbound::Frames(frames)) => self.start_handshake(frames, ctx),
            (Phase::Handshaking { held_back }, Inbound::Frames(frames)) => held_back.extend(frames),
            (Phase::Established { .. }, Inbound::Frames(frames)) => {
                self.handle_requests(frames, ctx)
            }
            (Phase::Closing, _) => {}
            (_, Inbound::FourLetterWord(_)) => {}
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        // The client closed its side. Its session lives on until it expires.
        ctx.stop();
    }
}

impl Handler<Evict> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, _: Evict, ctx: &mut Self::Context) {
        tracing::info!(parent: &self.span, "session moved to a newer connection; closing this one");
        self.close(ctx);
    }
}

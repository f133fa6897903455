//! One client session over one TCP connection: the handshake, single calls, and the
//! pipelined request loop that keeps a fixed number of requests in flight.
//!
//! The server answers a session's requests in the order it received them, so replies are
//! matched to requests by keeping the requests in flight in a FIFO queue and checking each
//! reply's xid against the oldest: a mismatch is a protocol violation and ends the session.
//!
//! The pipelined loop reads, writes and checks timeouts in one task (`select!` over the
//! split halves of the socket), so a session costs no cross-task wake-ups; replies that
//! arrive together are handled as a batch and the requests that replace them go out in one
//! write.

use crate::error::LoadError;
use crate::op_mix::Operation;
use bytes::{Buf, BytesMut};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use zk_proto::jute::{Decode, Encode, Reader};
use zk_proto::{
    decode_response, from_bytes, split_frame, write_frame, ConnectRequest, ConnectResponse,
    ReplyHeader, Request, RequestBody, Response, SessionId, Xid, Zxid, DEFAULT_MAX_FRAME_LEN,
    SESSION_PASSWORD_LEN,
};

/// Replies larger than this end the session; the reference client uses the same default.
const REPLY_FRAME_LEN_MAX: usize = DEFAULT_MAX_FRAME_LEN;

/// How often the pipelined loop checks the age of the oldest request in flight. Timeouts are
/// detected up to this much late, which is irrelevant next to a timeout of seconds, and the
/// check costs one timer wake-up per period instead of one timer per request.
const TIMEOUT_CHECK_PERIOD: Duration = Duration::from_millis(100);

/// The socket read buffer's initial capacity; it grows for larger replies.
const READ_BUFFER_INITIAL_LEN: usize = 64 * 1024;

/// Limits of one session.
#[derive(Debug, Clone, Copy)]
pub struct SessionSettings {
    /// The server's client address.
    pub addr: SocketAddr,
    /// Limit for the TCP connect plus the handshake.
    pub connect_timeout: Duration,
    /// Limit for each reply, counted from when its request was queued.
    pub response_timeout: Duration,
    /// The session timeout asked for in the handshake, in milliseconds.
    pub session_timeout_ms: i32,
}

/// A reply matched to its request, handed to a [`RequestPlan`].
#[derive(Debug, Clone, Copy)]
pub struct Reply<'a> {
    /// What the request was.
    pub operation: Operation,
    /// The reply's header (xid, zxid, error code).
    pub header: ReplyHeader,
    /// The whole frame payload, header included, for plans that decode the body.
    pub payload: &'a [u8],
    /// When the request was queued for sending.
    pub sent_at: Instant,
    /// When the batch of replies holding this one was read.
    pub received_at: Instant,
}

/// What a pipelined session sends and what it does with the replies.
pub trait RequestPlan {
    /// Appends the next request, with `xid`, as one frame to `out` and says which operation
    /// it is; `None` when the plan has nothing more to send. `now` is the current time.
    fn next_request(&mut self, xid: Xid, now: Instant, out: &mut Vec<u8>) -> Option<Operation>;

    /// Takes one reply. An error ends the session.
    fn on_reply(&mut self, reply: Reply<'_>) -> Result<(), LoadError>;
}

/// Why a pipelined run ended early, with the requests it left unanswered.
#[derive(Debug)]
pub struct SessionFailure {
    /// What went wrong.
    pub error: LoadError,
    /// Requests in flight or queued when it happened; each counts as an error.
    pub unanswered: usize,
}

/// A request sent and not yet answered.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    xid: Xid,
    operation: Operation,
    sent_at: Instant,
}

/// An established session.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    read_buffer: BytesMut,
    session_id: SessionId,
    password: Vec<u8>,
    next_xid: i32,
    settings: SessionSettings,
}

impl Connection {
    /// Connects and creates a new session, within `settings.connect_timeout`.
    pub async fn open(settings: SessionSettings) -> Result<Connection, LoadError> {
        Self::handshake(settings, SessionId::NONE, vec![0; SESSION_PASSWORD_LEN]).await
    }

    /// Connects and resumes the session `session_id` (as a client does after losing its
    /// server), within `settings.connect_timeout`. A session the server no longer knows is
    /// [`LoadError::SessionRefused`].
    pub async fn resume(
        settings: SessionSettings,
        session_id: SessionId,
        password: &[u8],
    ) -> Result<Connection, LoadError> {
        Self::handshake(settings, session_id, password.to_vec()).await
    }

    async fn handshake(
        settings: SessionSettings,
        session_id: SessionId,
        password: Vec<u8>,
    ) -> Result<Connection, LoadError> {
        let addr = settings.addr;
        let limit = settings.connect_timeout;
        tokio::time::timeout(
            limit,
            Self::handshake_unbounded(settings, session_id, password),
        )
        .await
        .map_err(|_| LoadError::ConnectTimeout { addr, limit })?
    }

    async fn handshake_unbounded(
        settings: SessionSettings,
        session_id: SessionId,
        password: Vec<u8>,
    ) -> Result<Connection, LoadError> {
        let addr = settings.addr;
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(|source| LoadError::Connect { addr, source })?;
        // Requests are small and latency is measured: never let Nagle hold one back.
        stream.set_nodelay(true)?;
        let request = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: Zxid::ZERO,
            time_out: settings.session_timeout_ms,
            session_id,
            passwd: password,
            read_only: Some(false),
        };
        let mut frame = Vec::new();
        write_frame(&mut frame, &request);
        stream.write_all(&frame).await?;
        let mut read_buffer = BytesMut::with_capacity(READ_BUFFER_INITIAL_LEN);
        let response: ConnectResponse = loop {
            if let Some(frame) = split_frame(&read_buffer, REPLY_FRAME_LEN_MAX)? {
                let response = from_bytes(frame.payload)?;
                let consumed_len = frame.consumed_len;
                read_buffer.advance(consumed_len);
                break response;
            }
            if stream.read_buf(&mut read_buffer).await? == 0 {
                return Err(LoadError::ConnectionClosed { in_flight: 0 });
            }
        };
        if !response.is_accepted() {
            return Err(LoadError::SessionRefused { addr });
        }
        Ok(Connection {
            stream,
            read_buffer,
            session_id: response.session_id,
            password: response.passwd,
            next_xid: 1,
            settings,
        })
    }

    /// The session's id.
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }

    /// The session's password, needed to resume it on another connection.
    pub fn password(&self) -> &[u8] {
        &self.password
    }

    /// The server this connection is to.
    pub fn addr(&self) -> SocketAddr {
        self.settings.addr
    }

    fn take_xid(&mut self) -> Xid {
        let xid = Xid(self.next_xid);
        self.next_xid = xid_after(self.next_xid);
        xid
    }

    /// Sends one request and waits for its reply (within the response timeout). Used for
    /// setup steps and probes, not on the measured path.
    pub async fn call(&mut self, body: RequestBody) -> Result<Response, LoadError> {
        let xid = self.take_xid();
        let op_code = body.op_code();
        let mut frame = Vec::new();
        write_frame(&mut frame, &Request::new(xid, body));
        let limit = self.settings.response_timeout;
        let exchange = async {
            self.stream.write_all(&frame).await?;
            loop {
                while let Some(frame) = split_frame(&self.read_buffer, REPLY_FRAME_LEN_MAX)? {
                    let header = ReplyHeader::decode(&mut Reader::new(frame.payload))?;
                    let response = (header.xid == xid)
                        .then(|| decode_response(op_code, frame.payload))
                        .transpose()?;
                    let consumed_len = frame.consumed_len;
                    self.read_buffer.advance(consumed_len);
                    match response {
                        Some(response) => return Ok(response),
                        // Notifications and ping replies are not ours to handle here.
                        None if header.xid.0 < 0 => continue,
                        None => {
                            return Err(LoadError::XidMismatch {
                                expected: xid,
                                got: header.xid,
                            })
                        }
                    }
                }
                if self.stream.read_buf(&mut self.read_buffer).await? == 0 {
                    return Err(LoadError::ConnectionClosed { in_flight: 1 });
                }
            }
        };
        tokio::time::timeout(limit, exchange)
            .await
            .map_err(|_| LoadError::ResponseTimeout { xid, limit })?
    }

    /// Ends the session politely (`closeSession`), waiting at most the response timeout.
    /// Failures are ignored: the server expires the session anyway.
    pub async fn close(mut self) {
        let _ = self.call(RequestBody::CloseSession).await;
    }

    /// Keeps up to `in_flight_max` requests of `plan` in flight until the plan has nothing
    /// more to send and every request has its reply.
    pub async fn run_pipelined<P: RequestPlan>(
        &mut self,
        plan: &mut P,
        in_flight_max: usize,
    ) -> Result<(), SessionFailure> {
        assert!(
            in_flight_max > 0,
            "a pipelined run keeps at least one request in flight"
        );
        let mut in_flight: VecDeque<InFlight> = VecDeque::with_capacity(in_flight_max);
        let mut outgoing: Vec<u8> = Vec::with_capacity(in_flight_max * 256);
        let mut written_len = 0;
        let mut plan_done = false;
        let response_timeout = self.settings.response_timeout;
        let mut timeout_check = tokio::time::interval(TIMEOUT_CHECK_PERIOD);
        timeout_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

        let fail = |error: LoadError, in_flight: &VecDeque<InFlight>| SessionFailure {
            error,
            unanswered: in_flight.len(),
        };

        let now = Instant::now();
        plan_done |= !refill_queue(
            plan,
            &mut self.next_xid,
            &mut in_flight,
            in_flight_max,
            now,
            &mut outgoing,
        );
        let (mut reader, mut writer) = self.stream.split();
        loop {
            if plan_done && in_flight.is_empty() && written_len == outgoing.len() {
                return Ok(());
            }
            tokio::select! {
                // Writes first: a request queued is a request whose latency clock runs.
                written = writer.write(&outgoing[written_len..]), if written_len < outgoing.len() => {
                    written_len += written.map_err(|error| fail(error.into(), &in_flight))?;
                    if written_len == outgoing.len() {
                        outgoing.clear();
                        written_len = 0;
                    }
                }
                read = reader.read_buf(&mut self.read_buffer) => {
                    let read_len = read.map_err(|error| fail(error.into(), &in_flight))?;
                    if read_len == 0 {
                        let error = LoadError::ConnectionClosed { in_flight: in_flight.len() };
                        return Err(fail(error, &in_flight));
                    }
                    let received_at = Instant::now();
                    dispatch_replies(&mut self.read_buffer, &mut in_flight, plan, received_at)
                        .map_err(|error| fail(error, &in_flight))?;
                    if !plan_done {
                        let more = refill_queue(
                            plan,
                            &mut self.next_xid,
                            &mut in_flight,
                            in_flight_max,
                            received_at,
                            &mut outgoing,
                        );
                        plan_done = !more;
                    }
                }
                _ = timeout_check.tick() => {
                    if let Some(oldest) = in_flight.front() {
                        if oldest.sent_at.elapsed() > response_timeout {
                            let error = LoadError::ResponseTimeout {
                                xid: oldest.xid,
                                limit: response_timeout,
                            };
                            return Err(fail(error, &in_flight));
                        }
                    }
                }
            }
        }
    }
}

/// The xid after `xid`. It wraps before the negative (reserved) xids: 2^31 requests take
/// hours at any rate this tool reaches, and the wrap keeps a long run valid anyway.
fn xid_after(xid: i32) -> i32 {
    xid.checked_add(1).unwrap_or(1)
}

/// Asks the plan for requests until `in_flight_max` are in flight; false once the plan is
/// done.
fn refill_queue<P: RequestPlan>(
    plan: &mut P,
    next_xid: &mut i32,
    in_flight: &mut VecDeque<InFlight>,
    in_flight_max: usize,
    now: Instant,
    outgoing: &mut Vec<u8>,
) -> bool {
    while in_flight.len() < in_flight_max {
        let xid = Xid(*next_xid);
        let Some(operation) = plan.next_request(xid, now, outgoing) else {
            return false;
        };
        *next_xid = xid_after(*next_xid);
        in_flight.push_back(InFlight {
            xid,
            operation,
            sent_at: now,
        });
    }
    true
}

/// Hands every complete reply in `buffer` to the plan, matched to the oldest request.
fn dispatch_replies<P: RequestPlan>(
    buffer: &mut BytesMut,
    in_flight: &mut VecDeque<InFlight>,
    plan: &mut P,
    received_at: Instant,
) -> Result<(), LoadError> {
    while let Some(frame) = split_frame(buffer, REPLY_FRAME_LEN_MAX)? {
        let header = ReplyHeader::decode(&mut Reader::new(frame.payload))?;
        // Negative xids are notifications and ping replies, which answer no request of ours.
        if header.xid.0 >= 0 {
            let request = in_flight
                .pop_front()
                .ok_or(LoadError::UnexpectedReply(header.xid))?;
            if request.xid != header.xid {
                return Err(LoadError::XidMismatch {
                    expected: request.xid,
                    got: header.xid,
                });
            }
            plan.on_reply(Reply {
                operation: request.operation,
                header,
                payload: frame.payload,
                sent_at: request.sent_at,
                received_at,
            })?;
        }
        let consumed_len = frame.consumed_len;
        buffer.advance(consumed_len);
    }
    Ok(())
}

/// Appends one request frame (header and body record) to `out` without building a
/// [`Request`], so the hot path reuses the caller's records and allocates nothing.
pub fn write_request_frame<T: Encode>(out: &mut Vec<u8>, xid: Xid, operation: Operation, body: &T) {
    zk_proto::write_frame_with(out, |out| {
        zk_proto::RequestHeader {
            xid,
            op_code: operation.op_code(),
        }
        .encode(out);
        body.encode(out);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_proto::{decode_request, GetDataRequest, OpCode};

    #[test]
    fn request_frame_matches_the_typed_encoding() {
        let body = GetDataRequest {
            path: "/a/key-7".into(),
            watch: false,
        };
        let mut direct = Vec::new();
        write_request_frame(&mut direct, Xid(9), Operation::Get, &body);
        let mut typed = Vec::new();
        write_frame(
            &mut typed,
            &Request::new(Xid(9), RequestBody::GetData(body.clone())),
        );
        assert_eq!(direct, typed);
        let request = decode_request(&direct[4..]).unwrap();
        assert_eq!(request.header.op_code, OpCode::GetData);
    }

    /// A plan that records the order of replies it sees.
    struct Recording {
        seen: Vec<Xid>,
    }

    impl RequestPlan for Recording {
        fn next_request(&mut self, _: Xid, _: Instant, _: &mut Vec<u8>) -> Option<Operation> {
            None
        }
        fn on_reply(&mut self, reply: Reply<'_>) -> Result<(), LoadError> {
            self.seen.push(reply.header.xid);
            Ok(())
        }
    }

    fn reply_frame(xid: i32, out: &mut BytesMut) {
        let mut frame = Vec::new();
        write_frame(&mut frame, &ReplyHeader::ok(Xid(xid), Zxid(5)));
        out.extend_from_slice(&frame);
    }

    fn queued(xids: &[i32]) -> VecDeque<InFlight> {
        let now = Instant::now();
        xids.iter()
            .map(|&xid| InFlight {
                xid: Xid(xid),
                operation: Operation::Get,
                sent_at: now,
            })
            .collect()
    }

    #[test]
    fn replies_are_matched_in_order_and_partial_frames_wait() {
        let mut buffer = BytesMut::new();
        reply_frame(1, &mut buffer);
        reply_frame(-1, &mut buffer); // a notification in between is skipped
        reply_frame(2, &mut buffer);
        buffer.extend_from_slice(&[0, 0, 0, 16, 0]); // the start of a third reply
        let mut in_flight = queued(&[1, 2, 3]);
        let mut plan = Recording { seen: Vec::new() };
        dispatch_replies(&mut buffer, &mut in_flight, &mut plan, Instant::now()).unwrap();
        assert_eq!(plan.seen, [Xid(1), Xid(2)]);
        assert_eq!(in_flight.len(), 1);
        assert_eq!(buffer.len(), 5);
    }

    #[test]
    fn out_of_order_reply_is_a_protocol_error() {
        let mut buffer = BytesMut::new();
        reply_frame(2, &mut buffer);
        let mut in_flight = queued(&[1, 2]);
        let mut plan = Recording { seen: Vec::new() };
        let error = dispatch_replies(&mut buffer, &mut in_flight, &mut plan, Instant::now());
        assert!(
            matches!(error, Err(LoadError::XidMismatch { .. })),
            "{error:?}"
        );
    }

    #[test]
    fn reply_with_nothing_in_flight_is_an_error() {
        let mut buffer = BytesMut::new();
        reply_frame(1, &mut buffer);
        let mut plan = Recording { seen: Vec::new() };
        let error = dispatch_replies(&mut buffer, &mut VecDeque::new(), &mut plan, Instant::now());
        assert!(
            matches!(error, Err(LoadError::UnexpectedReply(_))),
            "{error:?}"
        );
    }
}

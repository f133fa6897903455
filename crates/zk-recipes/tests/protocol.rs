//! The session's protocol rules against a scripted server built from zk-proto records:
//! ping timing, the read timeout, out-of-order replies, expiry in the handshake.

mod common;

use common::bounded;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use zk_proto::records::{ExistsResponse, ReplyHeader};
use zk_proto::{
    decode_request, ConnectRequest, ConnectResponse, Decode, Reader, Request, RequestBody,
    Response, ResponseBody, SessionId, Stat, Xid, Zxid,
};
use zk_recipes::{Client, ClientConfig, ConnectionState, Error, ErrorCode};

const NEGOTIATED_MS: i32 = 900;

/// One scripted connection.
struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    /// Accepts a client and answers its handshake with `session_id` (0 for "expired").
    async fn accept(listener: &TcpListener, session_id: i64) -> (Connection, ConnectRequest) {
        let (stream, _) = bounded("a client connection", listener.accept())
            .await
            .unwrap();
        let mut connection = Connection {
            stream,
            buffer: Vec::new(),
        };
        let payload = connection.next_payload().await.expect("connect request");
        let request = ConnectRequest::decode(&mut Reader::new(&payload)).unwrap();
        let response = ConnectResponse {
            protocol_version: 0,
            time_out: if session_id == 0 { 0 } else { NEGOTIATED_MS },
            session_id: SessionId(session_id),
            passwd: vec![7; 16],
            read_only: Some(false),
        };
        connection.send(&response).await;
        (connection, request)
    }

    async fn next_payload(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(frame) = zk_proto::split_frame(&self.buffer, 1 << 20).unwrap() {
                let payload = frame.payload.to_vec();
                let consumed = frame.consumed_len;
                self.buffer.drain(..consumed);
                return Some(payload);
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
            }
        }
    }

    async fn next_request(&mut self) -> Option<Request> {
        let payload = self.next_payload().await?;
        Some(decode_request(&payload).unwrap())
    }

    async fn send<T: zk_proto::Encode>(&mut self, record: &T) {
        let mut frame = Vec::new();
        zk_proto::write_frame(&mut frame, record);
        self.stream.write_all(&frame).await.unwrap();
    }

    async fn reply(&mut self, xid: Xid, body: ResponseBody) {
        self.send(&Response::ok(xid, Zxid(5), body)).await;
    }
}

async fn client_for(listener: &TcpListener) -> Client {
    let mut config = ClientConfig::new(format!(
        "127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    ));
    config.session_timeout = Duration::from_millis(NEGOTIATED_MS as u64);
    config.initial_connect_timeout = Duration::from_secs(5);
    config.reconnect_pause = Duration::from_millis(50);
    config.seed = Some(1);
    Client::start(config).unwrap()
}

/// An idle client pings after a third of the negotiated timeout.
#[tokio::test]
async fn pings_go_out_at_a_third_of_the_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = client_for(&listener).await;
    let (mut server, request) = Connection::accept(&listener, 0x42).await;
    assert_eq!(request.session_id, SessionId::NONE);
    assert_eq!(request.time_out, NEGOTIATED_MS);
    let mut arrivals = Vec::new();
    while arrivals.len() < 4 {
        let ping = bounded("a ping", server.next_request()).await.unwrap();
        assert_eq!(ping.header.xid, Xid::PING);
        arrivals.push(Instant::now());
        server.reply(Xid::PING, ResponseBody::Empty).await;
    }
    for pair in arrivals.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(250) && gap <= Duration::from_millis(600),
            "ping gap {gap:?}, expected about 300 ms"
        );
    }
    assert_eq!(client.state(), ConnectionState::Connected);
    assert_eq!(client.session().session_id, SessionId(0x42));
}

/// A server that stops answering is given up after two thirds of the timeout; the client
/// re-attaches its session elsewhere (here: on a new connection).
#[tokio::test]
async fn a_silent_server_is_dropped_after_two_thirds_of_the_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = client_for(&listener).await;
    let (mut silent, _) = Connection::accept(&listener, 0x42).await;
    common::wait_state(&client, ConnectionState::Connected).await;
    let since = Instant::now();
    let mut states = client.state_stream();
    // Read (and ignore) whatever comes; never answer.
    let drain = tokio::spawn(async move { while silent.next_payload().await.is_some() {} });
    assert_eq!(
        bounded("suspended", states.next()).await,
        Some(ConnectionState::Suspended)
    );
    let silence = since.elapsed();
    assert!(
        silence >= Duration::from_millis(500) && silence <= Duration::from_millis(1500),
        "suspended after {silence:?}, expected about 600 ms"
    );
    let (_second, request) = Connection::accept(&listener, 0x42).await;
    assert_eq!(
        request.session_id,
        SessionId(0x42),
        "re-attaches its session"
    );
    assert_eq!(request.passwd, vec![7; 16]);
    assert_eq!(
        bounded("reconnected", states.next()).await,
        Some(ConnectionState::Reconnected)
    );
    drain.abort();
}

/// A reply for an xid other than the oldest in flight means a corrupt stream: the client
/// drops the connection and the request fails with ConnectionLoss.
#[tokio::test]
async fn an_out_of_order_reply_drops_the_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = client_for(&listener).await;
    let (mut server, _) = Connection::accept(&listener, 0x42).await;
    let pending = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .create("/x", b"", zk_recipes::CreateMode::Persistent)
                .await
        }
    });
    let request = loop {
        let request = bounded("the create", server.next_request()).await.unwrap();
        if request.header.xid != Xid::PING {
            break request;
        }
    };
    assert!(matches!(request.body, RequestBody::Create(_)));
    let wrong = Xid(request.header.xid.0 + 100);
    server
        .reply(
            wrong,
            ResponseBody::Create(zk_proto::CreateResponse { path: "/x".into() }),
        )
        .await;
    assert_eq!(
        bounded("the create to fail", pending).await.unwrap(),
        Err(Error::Keeper(ErrorCode::ConnectionLoss))
    );
    assert!(server.next_payload().await.is_none(), "connection closed");
}

/// The handshake answers "expired" (timeout 0): the client reports Expired and asks for a
/// new session; requests made meanwhile wait for it, and the replies' zxids are tracked.
#[tokio::test]
async fn an_expired_handshake_starts_a_new_session() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = client_for(&listener).await;
    let (first, _) = Connection::accept(&listener, 0x42).await;
    common::wait_state(&client, ConnectionState::Connected).await;
    let mut states = client.state_stream();
    drop(first);
    assert_eq!(
        bounded("suspended", states.next()).await,
        Some(ConnectionState::Suspended)
    );
    let (_refused, request) = Connection::accept(&listener, 0).await;
    assert_eq!(request.session_id, SessionId(0x42));
    assert_eq!(
        bounded("expired", states.next()).await,
        Some(ConnectionState::Expired)
    );
    let exists = tokio::spawn({
        let client = client.clone();
        async move { client.exists("/y").await }
    });
    let (mut fresh, request) = Connection::accept(&listener, 0x43).await;
    assert_eq!(request.session_id, SessionId::NONE, "a new session");
    assert_eq!(
        bounded("connected", states.next()).await,
        Some(ConnectionState::Connected)
    );
    let request = loop {
        let request = bounded("the exists", fresh.next_request()).await.unwrap();
        if request.header.xid != Xid::PING {
            break request;
        }
    };
    fresh
        .send(&Response {
            header: ReplyHeader::ok(request.header.xid, Zxid(77)),
            body: ResponseBody::Exists(ExistsResponse {
                stat: Stat::default(),
            }),
        })
        .await;
    assert_eq!(
        bounded("exists", exists).await.unwrap(),
        Ok(Some(Stat::default()))
    );
    assert_eq!(client.session().session_id, SessionId(0x43));
    assert_eq!(client.session().last_zxid_seen, Zxid(77));
}

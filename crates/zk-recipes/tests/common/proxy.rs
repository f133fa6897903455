//! A TCP proxy between a client and a server that injects faults the tests need: drop every
//! connection and refuse new ones for a while (a network partition, long enough to expire a
//! session), or forward one request and cut the connection before its reply comes back (a
//! lost reply: the server applied the request, the client cannot know).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use zk_proto::OpCode;

/// Bytes per read in the pumps.
const CHUNK_BYTES: usize = 16 * 1024;

#[derive(Default)]
struct Shared {
    /// While set, new connections are closed at once.
    partitioned: AtomicBool,
    /// Cut the connection right after forwarding the next request with this opcode.
    cut_after: Mutex<Option<OpCode>>,
    /// Set once a cut happened.
    cut_done: AtomicBool,
    connections: Mutex<Vec<JoinHandle<()>>>,
}

/// A running proxy; dropped, it stops and closes every connection.
pub struct FaultProxy {
    port: u16,
    shared: Arc<Shared>,
    acceptor: JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `127.0.0.1:upstream_port`.
    pub async fn start(upstream_port: u16) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let shared = Arc::new(Shared::default());
        let acceptor = tokio::spawn(accept_loop(listener, upstream_port, shared.clone()));
        FaultProxy {
            port,
            shared,
            acceptor,
        }
    }

    /// `127.0.0.1:port` of the proxy.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Drops every connection and refuses new ones until [`FaultProxy::heal`].
    pub fn partition(&self) {
        self.shared.partitioned.store(true, Ordering::SeqCst);
        self.drop_connections();
    }

    /// Lets connections through again.
    pub fn heal(&self) {
        self.shared.partitioned.store(false, Ordering::SeqCst);
    }

    /// Drops every connection now (new ones are let through).
    pub fn drop_connections(&self) {
        for connection in self.shared.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    /// Arms a lost reply: the next request with `op_code` reaches the server, then the
    /// connection is cut before anything else comes back.
    pub fn lose_reply_to(&self, op_code: OpCode) {
        self.shared.cut_done.store(false, Ordering::SeqCst);
        *self.shared.cut_after.lock().unwrap() = Some(op_code);
    }

    /// Whether an armed lost reply happened.
    pub fn reply_was_lost(&self) -> bool {
        self.shared.cut_done.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.acceptor.abort();
        self.drop_connections();
    }
}

async fn accept_loop(listener: TcpListener, upstream_port: u16, shared: Arc<Shared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            return;
        };
        if shared.partitioned.load(Ordering::SeqCst) {
            drop(client);
            continue;
        }
        let Ok(server) = TcpStream::connect(("127.0.0.1", upstream_port)).await else {
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let connection = tokio::spawn(relay(client, server, shared.clone()));
        shared.connections.lock().unwrap().push(connection);
    }
}

/// Pumps both directions; the client-to-server side watches request opcodes for the armed
/// cut, and freezes the other direction before forwarding the fatal request.
async fn relay(client: TcpStream, server: TcpStream, shared: Arc<Shared>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let frozen = Arc::new(AtomicBool::new(false));
    let frozen_down = frozen.clone();
    let downstream = async move {
        let mut buffer = vec![0u8; CHUNK_BYTES];
        loop {
            let n = match server_read.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if frozen_down.load(Ordering::SeqCst)
                || client_write.write_all(&buffer[..n]).await.is_err()
            {
                return;
            }
        }
    };
    let upstream = async move {
        let mut pending: Vec<u8> = Vec::new();
        let mut handshake_done = false;
        let mut buffer = vec![0u8; CHUNK_BYTES];
        loop {
            let n = match client_read.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            pending.extend_from_slice(&buffer[..n]);
            // Forward whole frames one at a time, so a cut lands exactly after the request.
            while let Ok(Some(frame)) = zk_proto::split_frame(&pending, 1 << 20) {
                let consumed = frame.consumed_len;
                let op_code = if handshake_done {
                    frame
                        .payload
                        .get(4..8)
                        .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                } else {
                    None
                };
                handshake_done = true;
                let armed = *shared.cut_after.lock().unwrap();
                let cut = matches!((armed, op_code), (Some(op), Some(code)) if op.code() == code);
                if cut {
                    frozen.store(true, Ordering::SeqCst);
                }
                if server_write.write_all(&pending[..consumed]).await.is_err() {
                    return;
                }
                pending.drain(..consumed);
                if cut {
                    *shared.cut_after.lock().unwrap() = None;
                    shared.cut_done.store(true, Ordering::SeqCst);
                    return;
                }
            }
        }
    };
    // Whichever side ends first ends the connection (both halves drop).
    tokio::select! {
        () = downstream => {}
        () = upstream => {}
    }
}

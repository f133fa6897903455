//! The session: one task per client owns the connection, the requests in flight, the
//! watch table and the session's credentials; the [`crate::Client`] handles talk to it
//! through a bounded command queue.
//!
//! - `frames`: reading length-prefixed frames from a socket.
//! - `handshake`: TCP connect and the `ConnectRequest`/`ConnectResponse` exchange.
//! - `pending`: requests sent and not yet answered, matched to replies by xid (pure).
//! - `set_watches`: the `setWatches` requests that re-register watches (pure).
//! - `task`: the session task itself: connect, serve, ping, reconnect, expire, close;
//!   its `inbound` part handles each frame from the server.

pub(crate) mod frames;
pub(crate) mod handshake;
pub(crate) mod pending;
pub(crate) mod set_watches;
pub(crate) mod task;

use crate::error::Error;
use crate::watch::handles::{OneShotSender, PersistentSender};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::oneshot;
use zk_proto::{AddWatchMode, AuthPacket, RequestBody, ResponseBody, SessionId, WatcherType, Zxid};

/// What the client handles ask of the session task.
#[derive(Debug)]
pub(crate) enum Command {
    /// Send a request (now, or once connected).
    Submit(Submission),
    /// Add authentication; remembered and re-sent after every reconnection.
    Auth {
        packet: AuthPacket,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    /// A persistent watch stream was dropped.
    Unwatch {
        mode: AddWatchMode,
        server_path: String,
        id: u64,
    },
    /// Close the session and stop.
    Close { done: oneshot::Sender<()> },
}

/// A request with its reply channel and the watch to register if it succeeds.
#[derive(Debug)]
pub(crate) struct Submission {
    /// The request, paths already under the chroot.
    pub body: RequestBody,
    /// The watch the reply registers, if any.
    pub watch: Option<WatchIntent>,
    /// Where the reply goes.
    pub reply: oneshot::Sender<Result<Reply, Error>>,
}

/// A server's answer to one request.
#[derive(Debug)]
pub(crate) struct Reply {
    /// The result code, 0 for success.
    pub err: i32,
    /// The reply record ([`ResponseBody::Empty`] for most errors; a failed multi carries its
    /// per-operation results).
    pub body: ResponseBody,
}

/// What a successful (or, for `exists`, a `NoNode`) reply registers.
#[derive(Debug)]
pub(crate) enum WatchIntent {
    /// `getData`: a data watch.
    Data(OneShotSender),
    /// `exists`: a data watch if the node exists, an exist watch if not.
    Exists(OneShotSender),
    /// `getChildren`: a child watch.
    Children(OneShotSender),
    /// `addWatch`: a persistent watch.
    Persistent {
        mode: AddWatchMode,
        sender: PersistentSender,
    },
    /// `removeWatches`: drop the local watchers of this type on the request's path.
    Remove(WatcherType),
}

/// What the handles can read about the session without asking the task.
#[derive(Debug, Default)]
pub(crate) struct SessionInfo {
    inner: Mutex<SessionSnapshot>,
}

/// The session's identity and negotiated timeout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionSnapshot {
    /// The session id; [`SessionId::NONE`] before the first session.
    pub session_id: SessionId,
    /// The session password.
    pub password: Vec<u8>,
    /// The timeout the server granted.
    pub negotiated_timeout: Duration,
    /// The highest zxid seen in a reply.
    pub last_zxid_seen: Zxid,
}

impl SessionInfo {
    pub(crate) fn snapshot(&self) -> SessionSnapshot {
        self.inner
            .lock()
            .map(|guard| guard.clone())
            .unwrap_or_default()
    }

    pub(crate) fn update(&self, snapshot: &SessionSnapshot) {
        if let Ok(mut guard) = self.inner.lock() {
            *guard = snapshot.clone();
        }
    }
}

//! [`LoadError`], the one error type of the load tools.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use zk_proto::{DecodeError, Xid};

/// What can stop a load run, a session, or a measurement.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A command-line value that makes no sense.
    #[error("{0}")]
    BadArgument(String),
    /// The TCP connection could not be opened.
    #[error("connecting to {addr}: {source}")]
    Connect {
        /// The server address.
        addr: SocketAddr,
        /// The socket error.
        source: std::io::Error,
    },
    /// Nothing answered the connect or the handshake within the limit.
    #[error("no session with {addr} within {limit:?}")]
    ConnectTimeout {
        /// The server address.
        addr: SocketAddr,
        /// The connect timeout.
        limit: Duration,
    },
    /// The server refused to create a session (session id 0).
    #[error("the server at {addr} refused the session")]
    SessionRefused {
        /// The server address.
        addr: SocketAddr,
    },
    /// A socket read or write failed.
    #[error("socket error: {0}")]
    Io(#[from] std::io::Error),
    /// The server closed the connection.
    #[error("the server closed the connection with {in_flight} requests in flight")]
    ConnectionClosed {
        /// Requests that never got a reply.
        in_flight: usize,
    },
    /// A frame or record from the server did not decode.
    #[error("undecodable reply: {0}")]
    Decode(#[from] DecodeError),
    /// The oldest request in flight waited longer than the response timeout.
    #[error("no reply to xid {xid:?} within {limit:?}")]
    ResponseTimeout {
        /// The request that got no reply.
        xid: Xid,
        /// The response timeout.
        limit: Duration,
    },
    /// A reply answered another request than the oldest in flight: the server broke the
    /// per-session FIFO order.
    #[error("reply to xid {got:?} while xid {expected:?} was the oldest in flight")]
    XidMismatch {
        /// The oldest xid in flight.
        expected: Xid,
        /// The xid in the reply.
        got: Xid,
    },
    /// A reply arrived when no request was in flight.
    #[error("reply to xid {0:?} with no request in flight")]
    UnexpectedReply(Xid),
    /// Creating the key space failed; the run cannot measure anything meaningful.
    #[error("setup failed: {0}")]
    Setup(String),
    /// An ensemble is not in the shape a measurement needs (no single leader, a member
    /// without a process id, ...).
    #[error("ensemble: {0}")]
    Ensemble(String),
    /// No write succeeded within the limit after the leader was killed.
    #[error("failover: {0}")]
    Failover(String),
    /// A process could not be signalled.
    #[error("cannot signal pid {pid}: {source}")]
    Signal {
        /// The process.
        pid: u32,
        /// The error of kill(2).
        source: std::io::Error,
    },
    /// A /proc file could not be read.
    #[error("reading {path}: {source}")]
    ProcRead {
        /// The file.
        path: PathBuf,
        /// The read error.
        source: std::io::Error,
    },
    /// A /proc file did not have the expected shape.
    #[error("parsing {path}: {what}")]
    ProcParse {
        /// The file.
        path: PathBuf,
        /// What was missing or malformed.
        what: String,
    },
    /// The fsync floor's scratch file could not be written or synced.
    #[error("{action} {path}: {source}")]
    ScratchFile {
        /// What was being done ("creating", "fdatasync of", ...).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A results file line did not parse.
    #[error("results line {line}: {source}")]
    ResultLine {
        /// The line number, from 1.
        line: usize,
        /// The JSON error.
        source: serde_json::Error,
    },
}

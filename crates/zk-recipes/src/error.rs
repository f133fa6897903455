//! The crate's one error type.
//!
//! Every error a caller can see has a ZooKeeper result code ([`Error::code`]), so code written
//! against the Java client's `KeeperException` codes carries over: a server's answer is
//! [`Error::Keeper`] with the code it sent, and errors born in the client map to the code the
//! Java client would raise in the same situation (a request cut off by a dropped connection is
//! `ConnectionLoss`, a request on a closed client is `SessionExpired`, a malformed path is
//! `BadArguments`).

use zk_proto::{DecodeError, ErrorCode};

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong with a request or a recipe.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The server answered with this code, or the client raised it for the same reason the
    /// Java client would (`ConnectionLoss` when the connection dropped with the request
    /// outstanding, `SessionExpired` after expiry).
    #[error("{0}")]
    Keeper(ErrorCode),
    /// A `multi` failed as a whole: the operation at `index` failed with `code` and none was
    /// applied.
    #[error("multi operation {index} failed: {code}")]
    MultiFailed {
        /// The position of the first failing operation.
        index: usize,
        /// Why it failed.
        code: ErrorCode,
    },
    /// The server sent a result code this client does not know.
    #[error("unknown result code {0} from the server")]
    UnknownCode(i32),
    /// The server sent bytes that do not decode; the connection was dropped.
    #[error("malformed reply from the server: {0}")]
    Protocol(#[from] DecodeError),
    /// A path that ZooKeeper would refuse, caught before sending.
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// A configuration value or argument that cannot be used.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The client was closed (or its session task ended); no request can be sent any more.
    #[error("the client is closed")]
    Closed,
    /// A bounded wait ran out (acquiring a lock with a timeout, waiting for a connection).
    #[error("timed out")]
    Timeout,
    /// A persistent watch's consumer fell behind by more than the configured queue limit;
    /// the watch was dropped rather than lose events silently. Re-subscribe and re-read.
    #[error("watch event queue overflowed")]
    WatchOverflow,
    /// A recipe was used in a way its contract forbids (releasing a lock that is not held).
    #[error("recipe misuse: {0}")]
    IllegalState(&'static str),
}

impl Error {
    /// The ZooKeeper result code this error stands for.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Keeper(code) | Error::MultiFailed { code, .. } => *code,
            Error::UnknownCode(_) => ErrorCode::SystemError,
            Error::Protocol(_) => ErrorCode::MarshallingError,
            Error::InvalidPath { .. } | Error::InvalidArgument(_) => ErrorCode::BadArguments,
            Error::Closed => ErrorCode::SessionExpired,
            Error::Timeout => ErrorCode::OperationTimeout,
            Error::WatchOverflow => ErrorCode::ConnectionLoss,
            Error::IllegalState(_) => ErrorCode::ApiError,
        }
    }

    /// The error for a non-zero result code from the wire.
    pub fn from_wire_code(code: i32) -> Error {
        match ErrorCode::from_code(code) {
            Some(code) => Error::Keeper(code),
            None => Error::UnknownCode(code),
        }
    }

    /// Whether the outcome of the request is unknown because the connection dropped or timed
    /// out: the cases a retry policy retries.
    pub fn is_connection_loss(&self) -> bool {
        matches!(
            self.code(),
            ErrorCode::ConnectionLoss | ErrorCode::OperationTimeout
        ) && !matches!(self, Error::Timeout | Error::WatchOverflow)
    }

    /// Whether the session is gone (expired, or the client closed).
    pub fn is_session_expired(&self) -> bool {
        self.code() == ErrorCode::SessionExpired
    }

    /// Shorthand for `Error::Keeper(ErrorCode::NoNode)` checks.
    pub fn is_no_node(&self) -> bool {
        *self == Error::Keeper(ErrorCode::NoNode)
    }

    /// Shorthand for `Error::Keeper(ErrorCode::NodeExists)` checks.
    pub fn is_node_exists(&self) -> bool {
        *self == Error::Keeper(ErrorCode::NodeExists)
    }
}

impl From<ErrorCode> for Error {
    fn from(code: ErrorCode) -> Self {
        Error::Keeper(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_a_keeper_code() {
        assert_eq!(
            Error::from_wire_code(-101).code(),
            ErrorCode::NoNode,
            "server codes map to themselves"
        );
        assert_eq!(Error::from_wire_code(-9999), Error::UnknownCode(-9999));
        assert_eq!(Error::Closed.code(), ErrorCode::SessionExpired);
        assert_eq!(
            Error::InvalidPath {
                path: "x".into(),
                reason: "r"
            }
            .code(),
            ErrorCode::BadArguments
        );
    }

    #[test]
    fn only_lost_connections_are_retryable() {
        assert!(Error::Keeper(ErrorCode::ConnectionLoss).is_connection_loss());
        assert!(Error::Keeper(ErrorCode::OperationTimeout).is_connection_loss());
        assert!(!Error::Timeout.is_connection_loss());
        assert!(!Error::Keeper(ErrorCode::NoNode).is_connection_loss());
        assert!(!Error::Keeper(ErrorCode::SessionExpired).is_connection_loss());
    }
}

//! Errors: what can go wrong decoding bytes, and the error codes the protocol carries.

use crate::opcode::OpCode;
use crate::types::Xid;
use thiserror::Error;

/// Why a byte string is not a valid frame or record.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The record needs more bytes than the input holds.
    #[error("record truncated: needed {needed} more bytes, {remaining} remain")]
    UnexpectedEnd {
        /// Bytes the record needed at that point.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// A length or count field is negative (and not the null marker `-1`).
    #[error("negative length {len}")]
    NegativeLength {
        /// The length as read.
        len: i32,
    },
    /// A frame header announces more bytes than the configured limit allows, or a negative
    /// length.
    #[error("frame length {len} is outside 0..={limit}")]
    FrameTooLarge {
        /// The announced length.
        len: i64,
        /// The configured limit.
        limit: usize,
    },
    /// A record was fully decoded but bytes were left over.
    #[error("{extra} unexpected bytes after the record")]
    TrailingBytes {
        /// How many bytes were left.
        extra: usize,
    },
    /// An opcode that no client of ZooKeeper 3.4 to 3.9 sends. `xid` is the request's xid when
    /// the opcode came in a request header, so that the server can answer that request
    /// (the reference answers `Unimplemented` and closes the session).
    #[error("unknown opcode {code}")]
    UnknownOpCode {
        /// The opcode as read.
        code: i32,
        /// The xid of the request that carried it, if it came in a request header.
        xid: Option<Xid>,
    },
    /// The request header was valid but the body after it was not a valid record for the
    /// opcode. The reference answers such a request with `MarshallingError` for its xid.
    #[error("invalid body for {op_code:?} request (xid {}): {cause}", xid.0)]
    InvalidBody {
        /// The request's xid.
        xid: Xid,
        /// The request's opcode.
        op_code: OpCode,
        /// What was wrong with the body.
        cause: Box<DecodeError>,
    },
    /// A field holds a value outside its enumeration (event type, create mode, ...).
    #[error("invalid {field}: {value}")]
    InvalidValue {
        /// What the value is.
        field: &'static str,
        /// The value as read.
        value: i64,
    },
}

impl DecodeError {
    /// The xid of the request this error is about, when the request header could be read.
    pub fn request_xid(&self) -> Option<Xid> {
        match self {
            DecodeError::UnknownOpCode { xid, .. } => *xid,
            DecodeError::InvalidBody { xid, .. } => Some(*xid),
            _ => None,
        }
    }
}

/// Defines [`ErrorCode`] from one table, so the number, the name and the message of every
/// code are written exactly once.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $name:ident = $code:literal, $message:literal;)*) => {
        /// A result code of the client protocol, numbered as Apache ZooKeeper's
        /// `KeeperException.Code`. `Ok` is not an error and is represented by `Result::Ok`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
        #[repr(i32)]
        pub enum ErrorCode {
            $($(#[$doc])* #[error($message)] $name = $code,)*
        }

        impl ErrorCode {
            /// Every code, in the order of the table.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name),*];

            /// The code for a wire number; `None` for 0 (ok) and unknown numbers.
            pub fn from_code(code: i32) -> Option<Self> {
                match code {
                    $($code => Some(ErrorCode::$name),)*
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    /// An unexpected failure inside the server.
    SystemError = -1, "system error";
    /// A state that should be impossible; also the result of the operations of a failed
    /// multi that came after the one that failed.
    RuntimeInconsistency = -2, "runtime inconsistency";
    /// Replicas disagree about data.
    DataInconsistency = -3, "data inconsistency";
    /// The connection to the server was lost.
    ConnectionLoss = -4, "connection loss";
    /// A record could not be serialized or deserialized.
    MarshallingError = -5, "marshalling error";
    /// The operation is not implemented by this server.
    Unimplemented = -6, "unimplemented";
    /// The operation timed out.
    OperationTimeout = -7, "operation timeout";
    /// Invalid arguments, such as an invalid path.
    BadArguments = -8, "bad arguments";
    /// The session is unknown to the server.
    UnknownSession = -12, "unknown session";
    /// A reconfiguration could not reach a quorum of the new configuration.
    NewConfigNoQuorum = -13, "new config has no quorum";
    /// Another reconfiguration is in progress.
    ReconfigInProgress = -14, "reconfig in progress";
    /// Generic API error.
    ApiError = -100, "api error";
    /// The node does not exist.
    NoNode = -101, "no node";
    /// The session is not authorized for the operation.
    NoAuth = -102, "not authorized";
    /// The expected version does not match the node's version.
    BadVersion = -103, "bad version";
    /// Ephemeral nodes may not have children.
    NoChildrenForEphemerals = -108, "ephemeral nodes may not have children";
    /// The node already exists.
    NodeExists = -110, "node exists";
    /// The node has children.
    NotEmpty = -111, "directory not empty";
    /// The session has expired.
    SessionExpired = -112, "session expired";
    /// Invalid callback specified.
    InvalidCallback = -113, "invalid callback";
    /// Invalid ACL specified.
    InvalidAcl = -114, "invalid acl";
    /// Client authentication failed.
    AuthFailed = -115, "authentication failed";
    /// The session moved to another server.
    SessionMoved = -118, "session moved";
    /// A write was sent to a read-only server.
    NotReadOnly = -119, "not a read-only call";
    /// Ephemeral nodes cannot be created by a local session.
    EphemeralOnLocalSession = -120, "ephemeral on local session";
    /// The watcher to remove does not exist.
    NoWatcher = -121, "no watcher";
    /// The request timed out.
    RequestTimeout = -122, "request timeout";
    /// Dynamic reconfiguration is disabled.
    ReconfigDisabled = -123, "reconfig disabled";
    /// The session was closed because it requires SASL authentication.
    SessionClosedRequireSaslAuth = -124, "session closed because it requires SASL auth";
    /// A quota was exceeded.
    QuotaExceeded = -125, "quota exceeded";
    /// The operation was throttled.
    ThrottledOp = -127, "operation throttled";
}

impl ErrorCode {
    /// The wire number of this code.
    pub fn code(self) -> i32 {
        self as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_their_numbers() {
        for &code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(code.code()), Some(code));
        }
        assert_eq!(ErrorCode::from_code(0), None);
    }

    #[test]
    fn numbers_match_apache() {
        assert_eq!(ErrorCode::NoNode.code(), -101);
        assert_eq!(ErrorCode::NodeExists.code(), -110);
        assert_eq!(ErrorCode::BadVersion.code(), -103);
        assert_eq!(ErrorCode::NotEmpty.code(), -111);
        assert_eq!(ErrorCode::NoAuth.code(), -102);
        assert_eq!(ErrorCode::NoChildrenForEphemerals.code(), -108);
        assert_eq!(ErrorCode::BadArguments.code(), -8);
        assert_eq!(ErrorCode::Unimplemented.code(), -6);
        assert_eq!(ErrorCode::SessionExpired.code(), -112);
    }
}

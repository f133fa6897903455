//! The storage layer's failures. Each names the file it concerns, and the byte offset when
//! the problem is inside a file, so that an operator can find it with `log-dump`.

use std::io;
use std::path::PathBuf;
use thiserror::Error;
use zk_proto::Zxid;

/// Why a storage operation failed.
#[derive(Debug, Error)]
pub enum StorageError {
    /// The operating system refused an operation on a file or directory.
    #[error("{path}: cannot {operation}: {source}")]
    Io {
        path: PathBuf,
        operation: &'static str,
        source: io::Error,
    },
    /// A file of ours is named as one but does not start as one (wrong magic, unknown format
    /// version, header checksum mismatch).
    #[error("{path}: bad header: {reason}")]
    BadHeader { path: PathBuf, reason: String },
    /// A file written by Apache ZooKeeper (or anything else) sits where ours belong. Our
    /// formats are not Apache's: migrating needs an export/import, not a restart.
    #[error("{path}: {reason}; this server reads only its own file format")]
    ForeignFile { path: PathBuf, reason: String },
    /// A damaged log record that is not a torn tail: valid records follow it, or it is in a
    /// segment that is not the last one. Starting would lose committed transactions.
    #[error(
        "{path} at offset {offset}: corrupt log record ({reason}), and it is not a torn tail \
         ({why_not_tail}); refusing to start rather than drop committed transactions"
    )]
    CorruptLog {
        path: PathBuf,
        offset: u64,
        reason: String,
        why_not_tail: String,
    },
    /// A logged transaction does not directly follow the one before it: some are missing.
    #[error("{path} at offset {offset}: txn {found} does not follow {previous}: transactions are missing")]
    ZxidGap {
        path: PathBuf,
        offset: u64,
        previous: Zxid,
        found: Zxid,
    },
    /// A segment's header announces another first zxid than its name or its first record.
    #[error("{path}: {reason}")]
    SegmentMismatch { path: PathBuf, reason: String },
    /// A snapshot file failed its checks (header, length, CRC, tree decoding, zxid).
    #[error("snapshot {path}: {reason}")]
    InvalidSnapshot { path: PathBuf, reason: String },
    /// The caller appended a transaction that does not follow the last one appended.
    #[error("txn {found} appended after {previous}: not the next zxid")]
    OutOfOrder { previous: Zxid, found: Zxid },
    /// A transaction too large for one log record.
    #[error("txn {zxid} encodes to {size} bytes, more than the limit of {limit}")]
    TxnTooLarge {
        zxid: Zxid,
        size: usize,
        limit: usize,
    },
    /// A transaction that postcard cannot encode (cannot happen for well-formed txns).
    #[error("txn {zxid} cannot be encoded: {source}")]
    Encode { zxid: Zxid, source: postcard::Error },
    /// A storage thread could not be started.
    #[error("cannot start thread {name}: {source}")]
    Thread {
        name: &'static str,
        source: io::Error,
    },
    /// An `acceptedEpoch` or `currentEpoch` file that does not hold a number.
    #[error("{path}: expected an epoch number, found {content:?}")]
    CorruptEpochFile { path: PathBuf, content: String },
    /// A snapshot received from the leader that does not decode.
    #[error("snapshot from the leader at {zxid}: {reason}")]
    InvalidReceivedSnapshot { zxid: Zxid, reason: String },
    /// The storage settings are unusable.
    #[error("invalid storage configuration: {0}")]
    Config(String),
}

impl StorageError {
    /// A closure turning an `io::Error` into [`StorageError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, operation: &'static str) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| StorageError::Io {
            path,
            operation,
            source,
        }
    }
}

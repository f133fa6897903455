//! What applying a transaction produced: the result the client's reply is built from, and
//! the watch events the change triggers, as data for the server to deliver.

use zk_proto::{ErrorCode, EventType, Stat};

/// The effects of [`crate::DataTree::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyOutcome {
    pub result: TxnResult,
    /// Watch events in the order Apache fires them.
    pub triggers: Vec<WatchTrigger>,
}

/// The result of one transaction (or of one op of a multi).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnResult {
    /// A znode was created; `path` includes any sequential suffix. A create reply carries
    /// the path; create2, createContainer and createTTL replies carry the stat too.
    Created {
        path: String,
        stat: Stat,
    },
    Deleted,
    /// The node's stat after setData.
    DataSet {
        stat: Stat,
    },
    /// The node's stat after setACL.
    AclSet {
        stat: Stat,
    },
    Checked,
    /// One result per op. In a failed multi: [`TxnResult::RolledBack`] for the ops before
    /// the one that failed, its error, then `Error(RuntimeInconsistency)`.
    Multi(Vec<TxnResult>),
    Error(ErrorCode),
    /// An op of a failed multi that would have succeeded: the reply is an `ErrorResult`
    /// with code 0 (clients report it as "rolled back").
    RolledBack,
    SessionCreated,
    SessionClosed,
}

impl TxnResult {
    /// The error code of the whole transaction, if it failed (for a multi: the first
    /// error of its ops, as Apache sets the reply header).
    pub fn error(&self) -> Option<ErrorCode> {
        match self {
            TxnResult::Error(code) => Some(*code),
            TxnResult::Multi(results) => results.iter().find_map(TxnResult::error),
            _ => None,
        }
    }
}

/// A watch event a change triggers: watches on `path` of the kind `event` fires.
/// NodeDeleted fires both data and child watches on the path, as in Apache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchTrigger {
    pub event: EventType,
    pub path: String,
}

impl WatchTrigger {
    pub fn new(event: EventType, path: impl Into<String>) -> Self {
        WatchTrigger {
            event,
            path: path.into(),
        }
    }
}

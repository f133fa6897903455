//! Watches: what a client registered, which watchers an event fires (the Java client's
//! rules), and the handles callers wait on.
//!
//! - [`registry`]: the pure table of watchers by kind and path, with the trigger rules.
//! - [`handles`]: [`Watch`], a one-shot future, and [`WatchStream`], a persistent watch's
//!   events.

pub mod handles;
pub mod registry;

pub use handles::{Watch, WatchStream};
use zk_proto::{EventType, KeeperState};

/// A change a watch reports: what happened, in which session state, to which path (relative
/// to the chroot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedEvent {
    /// What happened to the node.
    pub event_type: EventType,
    /// The session state when it happened (`SyncConnected` for node events).
    pub state: KeeperState,
    /// The node, as the caller names it.
    pub path: String,
}

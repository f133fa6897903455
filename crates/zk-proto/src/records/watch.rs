//! Watch events and the requests that manage watches.

use crate::data::{AddWatchMode, EventType, KeeperState, WatcherType};
use crate::records::jute_record;
use crate::types::Zxid;

jute_record! {
    /// A watch notification's body, after a [`crate::ReplyHeader::notification`] header
    /// (jute `WatcherEvent`).
    pub struct WatcherEvent {
        /// What happened (jute field `type`).
        pub event_type: EventType,
        /// The session's connection state.
        pub state: KeeperState,
        /// The node the event is about; empty for state changes.
        pub path: String,
    }
}

jute_record! {
    /// Re-registers the client's watches after a reconnect (jute `SetWatches`); sent with xid
    /// [`crate::Xid::SET_WATCHES`]. Watches whose node changed after `relative_zxid` fire at
    /// once.
    #[derive(Default)]
    pub struct SetWatches {
        /// The last zxid the client has seen.
        pub relative_zxid: Zxid,
        /// Paths with a data watch (set by `getData`, or `exists` of an existing node).
        pub data_watches: Vec<String>,
        /// Paths with an exist watch (set by `exists` of a missing node).
        pub exist_watches: Vec<String>,
        /// Paths with a child watch.
        pub child_watches: Vec<String>,
    }
}

jute_record! {
    /// [`SetWatches`] with persistent watches, sent by 3.6+ clients that have any
    /// (jute `SetWatches2`).
    #[derive(Default)]
    pub struct SetWatches2 {
        /// The last zxid the client has seen.
        pub relative_zxid: Zxid,
        /// Paths with a data watch (set by `getData`, or `exists` of an existing node).
        pub data_watches: Vec<String>,
        /// Paths with an exist watch (set by `exists` of a missing node).
        pub exist_watches: Vec<String>,
        /// Paths with a child watch.
        pub child_watches: Vec<String>,
        /// Paths with a persistent watch.
        pub persistent_watches: Vec<String>,
        /// Paths with a persistent recursive watch.
        pub persistent_recursive_watches: Vec<String>,
    }
}

jute_record! {
    /// `addWatch`: sets a persistent watch (jute `AddWatchRequest`). The reply body is an
    /// [`crate::records::ErrorResponse`] with err 0.
    pub struct AddWatchRequest {
        /// The znode path.
        pub path: String,
        /// Persistent, or persistent and recursive.
        pub mode: AddWatchMode,
    }
}

jute_record! {
    /// `checkWatches`: asks whether the session has a watch of a type on a path
    /// (jute `CheckWatchesRequest`). The reply has no body; `NoWatcher` if there is none.
    pub struct CheckWatchesRequest {
        /// The znode path.
        pub path: String,
        /// Jute field `type`.
        pub watcher_type: WatcherType,
    }
}

jute_record! {
    /// `removeWatches` (jute `RemoveWatchesRequest`). The reply has no body; `NoWatcher` if
    /// there was none.
    pub struct RemoveWatchesRequest {
        /// The znode path.
        pub path: String,
        /// Jute field `type`.
        pub watcher_type: WatcherType,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DecodeError;
    use crate::jute::{from_bytes, to_bytes};

    #[test]
    fn watcher_event_bytes() {
        let event = WatcherEvent {
            event_type: EventType::NodeDataChanged,
            state: KeeperState::SyncConnected,
            path: "/x".into(),
        };
        let bytes = to_bytes(&event);
        assert_eq!(bytes, [0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 2, b'/', b'x']);
        assert_eq!(from_bytes::<WatcherEvent>(&bytes).unwrap(), event);
    }

    #[test]
    fn unknown_watcher_type_is_rejected() {
        let mut bytes = to_bytes(&String::from("/x"));
        bytes.extend_from_slice(&9i32.to_be_bytes());
        assert!(matches!(
            from_bytes::<CheckWatchesRequest>(&bytes),
            Err(DecodeError::InvalidValue { .. })
        ));
    }

    #[test]
    fn set_watches2_has_five_lists() {
        let request = SetWatches2 {
            relative_zxid: Zxid(5),
            persistent_recursive_watches: vec!["/r".into()],
            ..SetWatches2::default()
        };
        let bytes = to_bytes(&request);
        assert_eq!(bytes.len(), 8 + 4 * 5 + 4 + 2);
        assert_eq!(from_bytes::<SetWatches2>(&bytes).unwrap(), request);
    }
}

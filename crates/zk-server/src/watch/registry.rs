//! The server's watches: a data table and a child table, and the rules that route each tree
//! change to them (Apache's `DataTree` trigger calls and `WatchManager` semantics).

use super::table::{WatchMode, WatchTable, WatcherId};
use zk_proto::EventType;

/// Which watches a removeWatches/checkWatches request names (`WatcherType` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatcherKind {
    Children,
    Data,
    Any,
}

impl WatcherKind {
    /// The kind for its wire number (1 children, 2 data, 3 any).
    pub fn from_code(code: i32) -> Option<Self> {
        match code {
            1 => Some(WatcherKind::Children),
            2 => Some(WatcherKind::Data),
            3 => Some(WatcherKind::Any),
            _ => None,
        }
    }
}

/// The kind of persistent watch an addWatch request asks for (`AddWatchMode` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersistentKind {
    Persistent,
    Recursive,
}

impl PersistentKind {
    /// The kind for its wire number (0 persistent, 1 persistent recursive).
    pub fn from_code(code: i32) -> Option<Self> {
        match code {
            0 => Some(PersistentKind::Persistent),
            1 => Some(PersistentKind::Recursive),
            _ => None,
        }
    }
}

/// A notification to send: which connection, which event, which path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub watcher: WatcherId,
    pub event: EventType,
    pub path: String,
}

/// Data and child watches of every connection.
#[derive(Debug, Default)]
pub struct WatchRegistry {
    data: WatchTable,
    child: WatchTable,
}

impl WatchRegistry {
    /// A getData or exists watch.
    pub fn watch_data(&mut self, path: &str, watcher: WatcherId) {
        self.data.add(path, watcher, WatchMode::Standard);
    }

    /// A getChildren watch.
    pub fn watch_children(&mut self, path: &str, watcher: WatcherId) {
        self.child.add(path, watcher, WatchMode::Standard);
    }

    /// An addWatch request: the watch goes into both tables, as on the reference server.
    pub fn add_persistent(&mut self, path: &str, watcher: WatcherId, kind: PersistentKind) {
        let mode = match kind {
            PersistentKind::Persistent => WatchMode::Persistent,
            PersistentKind::Recursive => WatchMode::PersistentRecursive,
        };
        self.child.add(path, watcher, mode);
        self.data.add(path, watcher, mode);
    }

    /// Routes one change of the tree to the watches it fires, consuming one-shot watches.
    pub fn trigger(&mut self, event: EventType, path: &str, out: &mut Vec<Notification>) {
        let notify = |watchers: Vec<WatcherId>, out: &mut Vec<Notification>| {
            out.extend(watchers.into_iter().map(|watcher| Notification {
                watcher,
                event,
                path: path.to_owned(),
            }));
        };
        match event {
            EventType::NodeCreated | EventType::NodeDataChanged => {
                notify(self.data.trigger(path, false), out)
            }
            EventType::NodeChildrenChanged => notify(self.child.trigger(path, true), out),
            EventType::NodeDeleted => {
                // A connection with both a data and a child watch on a deleted node gets one
                // NodeDeleted; both of its watches are consumed.
                let data_fired = self.data.trigger(path, false);
                let child_fired: Vec<WatcherId> = self
                    .child
                    .trigger(path, false)
                    .into_iter()
                    .filter(|watcher| data_fired.binary_search(watcher).is_err())
                    .collect();
                notify(data_fired, out);
                notify(child_fired, out);
            }
            _ => {}
        }
    }

    /// Whether `watcher` has a watch of `kind` covering `path` (checkWatches).
    pub fn contains(&self, path: &str, watcher: WatcherId, kind: WatcherKind) -> bool {
        match kind {
            WatcherKind::Children => self.child.contains(path, watcher),
            WatcherKind::Data => self.data.contains(path, watcher),
            WatcherKind::Any => {
                self.child.contains(path, watcher) || self.data.contains(path, watcher)
            }
        }
    }

    /// Removes the watches of `kind` on `path`; true when any was removed (removeWatches).
    pub fn remove(&mut self, path: &str, watcher: WatcherId, kind: WatcherKind) -> bool {
        match kind {
            WatcherKind::Children => self.child.remove(path, watcher),
            WatcherKind::Data => self.data.remove(path, watcher),
            WatcherKind::Any => {
                let child = self.child.remove(path, watcher);
                let data = self.data.remove(path, watcher);
                child || data
            }
        }
    }

    /// Forgets every watch of a closed connection.
    pub fn remove_watcher(&mut self, watcher: WatcherId) {
        self.data.remove_watcher(watcher);
        self.child.remove_watcher(watcher);
    }

    /// The data table, which the four-letter words `wchs`, `wchc` and `wchp` report on (as
    /// on the reference server, they show data watches only).
    pub fn data_table(&self) -> &WatchTable {
        &self.data
    }

    /// Total number of watches in both tables (mntr's zk_watch_count).
    pub fn watch_count(&self) -> usize {
        self.data.watch_count() + self.child.watch_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: WatcherId = WatcherId(1);
    const B: WatcherId = WatcherId(2);

    fn fire(registry: &mut WatchRegistry, event: EventType, path: &str) -> Vec<Notification> {
        let mut out = Vec::new();
        registry.trigger(event, path, &mut out);
        out
    }

    #[test]
    fn node_deleted_reaches_a_connection_once() {
        let mut registry = WatchRegistry::default();
        registry.watch_data("/a", A);
        registry.watch_children("/a", A);
        registry.watch_children("/a", B);
        let fired = fire(&mut registry, EventType::NodeDeleted, "/a");
        let watchers: Vec<_> = fired.iter().map(|n| n.watcher).collect();
        assert_eq!(watchers, vec![A, B]);
        assert_eq!(registry.watch_count(), 0);
    }

    #[test]
    fn child_watch_ignores_data_changes() {
        let mut registry = WatchRegistry::default();
        registry.watch_children("/a", A);
        assert!(fire(&mut registry, EventType::NodeDataChanged, "/a").is_empty());
        assert_eq!(
            fire(&mut registry, EventType::NodeChildrenChanged, "/a").len(),
            1
        );
    }

    #[test]
    fn persistent_watch_sees_data_and_children_of_its_node() {
        let mut registry = WatchRegistry::default();
        registry.add_persistent("/a", A, PersistentKind::Persistent);
        assert_eq!(
            fire(&mut registry, EventType::NodeDataChanged, "/a").len(),
            1
        );
        assert_eq!(
            fire(&mut registry, EventType::NodeChildrenChanged, "/a").len(),
            1
        );
        assert_eq!(fire(&mut registry, EventType::NodeDeleted, "/a").len(), 1);
        assert_eq!(fire(&mut registry, EventType::NodeCreated, "/a").len(), 1);
    }

    #[test]
    fn remove_reports_whether_a_watch_existed() {
        let mut registry = WatchRegistry::default();
        registry.watch_data("/a", A);
        assert!(registry.contains("/a", A, WatcherKind::Any));
        assert!(!registry.contains("/a", A, WatcherKind::Children));
        assert!(!registry.remove("/a", A, WatcherKind::Children));
        assert!(registry.remove("/a", A, WatcherKind::Any));
        assert!(!registry.contains("/a", A, WatcherKind::Data));
    }
}

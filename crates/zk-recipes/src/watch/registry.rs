//! The client's table of watchers, keyed by server path, and the rules that decide which
//! watchers an event fires: those of the Java client's `ZKWatchManager.materialize`.
//!
//! One-shot watchers (`O`) are removed when they fire; persistent watchers (`P`) stay until
//! removed. The table is generic over both so it can be tested without channels.

use std::collections::HashMap;
use zk_proto::{AddWatchMode, EventType, WatcherType};

/// What a one-shot watch was set by: `getData` (or `exists` of an existing node), `exists`
/// of a missing node, or `getChildren`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OneShotKind {
    /// Fires on data change, deletion (and creation, for a watch set by `exists`).
    Data,
    /// Set by `exists` on a missing node: fires on creation.
    Exist,
    /// Fires on child list change and deletion.
    Child,
}

/// A persistent watcher knows its id, so it can be removed alone.
pub trait PersistentWatcher: Clone {
    /// Unique among the client's persistent watchers.
    fn id(&self) -> u64;
}

/// The paths to re-register after reconnecting, as `setWatches2` lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchLists {
    /// Paths with data watchers.
    pub data: Vec<String>,
    /// Paths with exist watchers.
    pub exist: Vec<String>,
    /// Paths with child watchers.
    pub child: Vec<String>,
    /// Paths with persistent watchers.
    pub persistent: Vec<String>,
    /// Paths with persistent recursive watchers.
    pub persistent_recursive: Vec<String>,
}

impl WatchLists {
    /// Whether there is nothing to re-register.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
            && self.exist.is_empty()
            && self.child.is_empty()
            && self.persistent.is_empty()
            && self.persistent_recursive.is_empty()
    }

    /// Whether `setWatches2` is needed (a plain `setWatches` cannot carry persistent ones).
    pub fn has_persistent(&self) -> bool {
        !self.persistent.is_empty() || !self.persistent_recursive.is_empty()
    }
}

/// Watchers that an event fired: one-shots (now removed) and persistent ones (still in).
#[derive(Debug)]
pub struct Fired<O, P> {
    /// One-shot watchers, removed from the table.
    pub one_shots: Vec<O>,
    /// Persistent watchers, left in the table.
    pub persistent: Vec<P>,
}

/// Watchers removed by `removeWatches`, with the event each is told.
#[derive(Debug)]
pub struct Removed<O, P> {
    /// One-shot watchers and the removal event type each gets.
    pub one_shots: Vec<(O, EventType)>,
    /// Persistent watchers (told `PersistentWatchRemoved`).
    pub persistent: Vec<P>,
}

/// Every watcher of a session, by kind and server path.
#[derive(Debug)]
pub struct WatchRegistry<O, P> {
    data: HashMap<String, Vec<O>>,
    exist: HashMap<String, Vec<O>>,
    child: HashMap<String, Vec<O>>,
    persistent: HashMap<String, Vec<P>>,
    recursive: HashMap<String, Vec<P>>,
}

impl<O, P> Default for WatchRegistry<O, P> {
    fn default() -> Self {
        WatchRegistry {
            data: HashMap::new(),
            exist: HashMap::new(),
            child: HashMap::new(),
            persistent: HashMap::new(),
            recursive: HashMap::new(),
        }
    }
}

impl<O, P: PersistentWatcher> WatchRegistry<O, P> {
    /// Adds a one-shot watcher.
    pub fn add_one_shot(&mut self, kind: OneShotKind, path: &str, watcher: O) {
        self.one_shot_table(kind)
            .entry(path.to_owned())
            .or_default()
            .push(watcher);
    }

    /// Adds a persistent watcher.
    pub fn add_persistent(&mut self, mode: AddWatchMode, path: &str, watcher: P) {
        self.persistent_table(mode)
            .entry(path.to_owned())
            .or_default()
            .push(watcher);
    }

    /// The watchers a node event on `path` fires.
    pub fn fire(&mut self, event_type: EventType, path: &str) -> Fired<O, P> {
        let mut one_shots = Vec::new();
        let mut take = |table: &mut HashMap<String, Vec<O>>| {
            if let Some(watchers) = table.remove(path) {
                one_shots.extend(watchers);
            }
        };
        match event_type {
            EventType::NodeCreated | EventType::NodeDataChanged => {
                take(&mut self.data);
                take(&mut self.exist);
            }
            EventType::NodeChildrenChanged => take(&mut self.child),
            EventType::NodeDeleted => {
                take(&mut self.data);
                take(&mut self.exist);
                take(&mut self.child);
            }
            // Removal and state events are not node changes; they fire nothing here.
            EventType::None
            | EventType::DataWatchRemoved
            | EventType::ChildWatchRemoved
            | EventType::PersistentWatchRemoved => {
                return Fired {
                    one_shots,
                    persistent: Vec::new(),
                }
            }
        }
        let mut persistent: Vec<P> = self.persistent.get(path).cloned().unwrap_or_default();
        for scope in std::iter::once("/")
            .chain(crate::path::ancestors(path))
            .chain(std::iter::once(path))
        {
            if let Some(watchers) = self.recursive.get(scope) {
                persistent.extend(watchers.iter().cloned());
            }
            if scope == "/" && path == "/" {
                break;
            }
        }
        Fired {
            one_shots,
            persistent,
        }
    }

    /// Removes the watchers `removeWatches(path, watcher_type)` removes on the server.
    pub fn remove(&mut self, path: &str, watcher_type: WatcherType) -> Removed<O, P> {
        let mut removed = Removed {
            one_shots: Vec::new(),
            persistent: Vec::new(),
        };
        let data = matches!(watcher_type, WatcherType::Data | WatcherType::Any);
        let child = matches!(watcher_type, WatcherType::Children | WatcherType::Any);
        let persistent = matches!(
            watcher_type,
            WatcherType::Any | WatcherType::Persistent | WatcherType::PersistentRecursive
        );
        if data {
            for table in [&mut self.data, &mut self.exist] {
                if let Some(watchers) = table.remove(path) {
                    removed.one_shots.extend(
                        watchers
                            .into_iter()
                            .map(|w| (w, EventType::DataWatchRemoved)),
                    );
                }
            }
        }
        if child {
            if let Some(watchers) = self.child.remove(path) {
                removed.one_shots.extend(
                    watchers
                        .into_iter()
                        .map(|w| (w, EventType::ChildWatchRemoved)),
                );
            }
        }
        if persistent {
            let which = match watcher_type {
                WatcherType::Persistent => [true, false],
                WatcherType::PersistentRecursive => [false, true],
                _ => [true, true],
            };
            for (table, wanted) in [&mut self.persistent, &mut self.recursive]
                .into_iter()
                .zip(which)
            {
                if wanted {
                    removed
                        .persistent
                        .extend(table.remove(path).unwrap_or_default());
                }
            }
        }
        removed
    }

    /// Removes one persistent watcher; returns whether `path` still has any watcher of any
    /// kind (if not, the caller may remove the server's watch).
    pub fn remove_persistent(&mut self, mode: AddWatchMode, path: &str, id: u64) -> bool {
        let table = self.persistent_table(mode);
        if let Some(watchers) = table.get_mut(path) {
            watchers.retain(|w| w.id() != id);
            if watchers.is_empty() {
                table.remove(path);
            }
        }
        self.has_any(path)
    }

    /// Whether any watcher of any kind is on `path`.
    pub fn has_any(&self, path: &str) -> bool {
        self.data.contains_key(path)
            || self.exist.contains_key(path)
            || self.child.contains_key(path)
            || self.persistent.contains_key(path)
            || self.recursive.contains_key(path)
    }

    /// The paths to re-register after reconnecting, sorted for a stable order.
    pub fn lists(&self) -> WatchLists {
        fn keys<T>(table: &HashMap<String, Vec<T>>) -> Vec<String> {
            let mut paths: Vec<String> = table.keys().cloned().collect();
            paths.sort_unstable();
            paths
        }
        WatchLists {
            data: keys(&self.data),
            exist: keys(&self.exist),
            child: keys(&self.child),
            persistent: keys(&self.persistent),
            persistent_recursive: keys(&self.recursive),
        }
    }

    /// Empties the table (the session expired or the client closed).
    pub fn drain(&mut self) -> Fired<O, P> {
        let mut one_shots = Vec::new();
        for table in [&mut self.data, &mut self.exist, &mut self.child] {
            one_shots.extend(table.drain().flat_map(|(_, watchers)| watchers));
        }
        let mut persistent = Vec::new();
        for table in [&mut self.persistent, &mut self.recursive] {
            persistent.extend(table.drain().flat_map(|(_, watchers)| watchers));
        }
        Fired {
            one_shots,
            persistent,
        }
    }

    fn one_shot_table(&mut self, kind: OneShotKind) -> &mut HashMap<String, Vec<O>> {
        match kind {
            OneShotKind::Data => &mut self.data,
            OneShotKind::Exist => &mut self.exist,
            OneShotKind::Child => &mut self.child,
        }
    }

    fn persistent_table(&mut self, mode: AddWatchMode) -> &mut HashMap<String, Vec<P>> {
        match mode {
            AddWatchMode::Persistent => &mut self.persistent,
            AddWatchMode::PersistentRecursive => &mut self.recursive,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct P(u64);
    impl PersistentWatcher for P {
        fn id(&self) -> u64 {
            self.0
        }
    }

    type Registry = WatchRegistry<&'static str, P>;

    #[test]
    fn data_change_fires_data_and_exist_watchers_once() {
        let mut registry = Registry::default();
        registry.add_one_shot(OneShotKind::Data, "/a", "data");
        registry.add_one_shot(OneShotKind::Exist, "/a", "exist");
        registry.add_one_shot(OneShotKind::Child, "/a", "child");
        let fired = registry.fire(EventType::NodeDataChanged, "/a");
        assert_eq!(fired.one_shots, ["data", "exist"]);
        assert!(registry
            .fire(EventType::NodeDataChanged, "/a")
            .one_shots
            .is_empty());
        assert_eq!(
            registry.fire(EventType::NodeDeleted, "/a").one_shots,
            ["child"]
        );
        assert!(!registry.has_any("/a"));
    }

    #[test]
    fn recursive_watchers_see_descendants_and_persistent_ones_stay() {
        let mut registry = Registry::default();
        registry.add_persistent(AddWatchMode::PersistentRecursive, "/a", P(1));
        registry.add_persistent(AddWatchMode::PersistentRecursive, "/", P(2));
        registry.add_persistent(AddWatchMode::Persistent, "/a/b", P(3));
        registry.add_persistent(AddWatchMode::Persistent, "/a", P(4));
        let mut ids: Vec<u64> = registry
            .fire(EventType::NodeCreated, "/a/b")
            .persistent
            .iter()
            .map(|p| p.0)
            .collect();
        ids.sort_unstable();
        assert_eq!(
            ids,
            [1, 2, 3],
            "the persistent watch on /a is not recursive"
        );
        assert_eq!(
            registry
                .fire(EventType::NodeCreated, "/a/b")
                .persistent
                .len(),
            3,
            "persistent watchers do not go away when they fire"
        );
        assert_eq!(
            registry.fire(EventType::NodeDataChanged, "/").persistent,
            [P(2)]
        );
    }

    #[test]
    fn removal_and_lists() {
        let mut registry = Registry::default();
        registry.add_one_shot(OneShotKind::Data, "/a", "data");
        registry.add_one_shot(OneShotKind::Child, "/a", "child");
        registry.add_persistent(AddWatchMode::Persistent, "/b", P(1));
        registry.add_persistent(AddWatchMode::Persistent, "/b", P(2));
        let lists = registry.lists();
        assert_eq!(lists.data, ["/a"]);
        assert_eq!(lists.persistent, ["/b"]);
        assert!(lists.has_persistent());

        let removed = registry.remove("/a", WatcherType::Children);
        assert_eq!(removed.one_shots, [("child", EventType::ChildWatchRemoved)]);
        assert!(registry.has_any("/a"));

        assert!(registry.remove_persistent(AddWatchMode::Persistent, "/b", 1));
        assert!(!registry.remove_persistent(AddWatchMode::Persistent, "/b", 2));
        let drained = registry.drain();
        assert_eq!(drained.one_shots, ["data"]);
        assert!(registry.lists().is_empty());
    }
}

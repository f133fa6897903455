//! One table of watches (Apache keeps two: one for data watches, one for child watches).
//!
//! A watcher is a client connection. Each (watcher, path) pair has one mode; registering a
//! standard watch where a persistent one exists turns it back into a standard one, as on the
//! reference server.

use std::collections::{BTreeSet, HashMap, HashSet};

/// Identifies the connection a watch was registered on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WatcherId(pub u64);

/// How long a watch lives and what it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatchMode {
    /// Fires once, for its own path.
    Standard,
    /// Fires for every change of its own path and stays.
    Persistent,
    /// Fires for every change of its path and its descendants (except child-list changes)
    /// and stays.
    PersistentRecursive,
}

/// A path → watchers table with a reverse index for cleanup when a connection goes away.
#[derive(Debug, Default)]
pub struct WatchTable {
    by_path: HashMap<String, HashMap<WatcherId, WatchMode>>,
    by_watcher: HashMap<WatcherId, HashSet<String>>,
    recursive_watch_count: usize,
}

impl WatchTable {
    /// Registers `watcher` on `path` in `mode`; true when the pair is new.
    pub fn add(&mut self, path: &str, watcher: WatcherId, mode: WatchMode) -> bool {
        let previous = self
            .by_path
            .entry(path.to_owned())
            .or_default()
            .insert(watcher, mode);
        self.adjust_recursive_count(previous, Some(mode));
        self.by_watcher
            .entry(watcher)
            .or_default()
            .insert(path.to_owned())
    }

    /// Removes one watch; true when it existed.
    pub fn remove(&mut self, path: &str, watcher: WatcherId) -> bool {
        let Some(paths) = self.by_watcher.get_mut(&watcher) else {
            return false;
        };
        if !paths.remove(path) {
            return false;
        }
        if paths.is_empty() {
            self.by_watcher.remove(&watcher);
        }
        let Some(watchers) = self.by_path.get_mut(path) else {
            return false;
        };
        let previous = watchers.remove(&watcher);
        if watchers.is_empty() {
            self.by_path.remove(path);
        }
        self.adjust_recursive_count(previous, None);
        previous.is_some()
    }

    /// Removes every watch of a connection that went away.
    pub fn remove_watcher(&mut self, watcher: WatcherId) {
        let Some(paths) = self.by_watcher.remove(&watcher) else {
            return;
        };
        for path in paths {
            if let Some(watchers) = self.by_path.get_mut(&path) {
                let previous = watchers.remove(&watcher);
                if watchers.is_empty() {
                    self.by_path.remove(&path);
                }
                self.adjust_recursive_count(previous, None);
            }
        }
    }

    /// Finds the watchers that an event of `event_is_child_change` kind on `path` fires,
    /// removing the standard ones it consumes. Returns them sorted, so delivery order does
    /// not depend on hashing.
    pub fn trigger(&mut self, path: &str, event_is_child_change: bool) -> Vec<WatcherId> {
        let mut fired = BTreeSet::new();
        let mut consumed = Vec::new();
        for (level, local_path) in self.paths_to_check(path).into_iter().enumerate() {
            let Some(watchers) = self.by_path.get(local_path) else {
                continue;
            };
            let at_ancestor = level > 0;
            for (&watcher, &mode) in watchers {
                match mode {
                    WatchMode::PersistentRecursive if !event_is_child_change => {
                        fired.insert(watcher);
                    }
                    WatchMode::Persistent if !at_ancestor => {
                        fired.insert(watcher);
                    }
                    WatchMode::Standard if !at_ancestor => {
                        fired.insert(watcher);
                        consumed.push(watcher);
                    }
                    _ => {}
                }
            }
        }
        for watcher in consumed {
            self.remove(path, watcher);
        }
        fired.into_iter().collect()
    }

    /// The path itself, then (only while recursive watches exist) each ancestor up to "/".
    fn paths_to_check<'p>(&self, path: &'p str) -> Vec<&'p str> {
        let mut paths = vec![path];
        if self.recursive_watch_count == 0 {
            return paths;
        }
        let mut current = path;
        while current != "/" {
            current = match current.rfind('/') {
                Some(0) | None => "/",
                Some(index) => &current[..index],
            };
            paths.push(current);
        }
        paths
    }

    /// Whether `watcher` would be notified of a change at `path` (Apache's containsWatcher):
    /// any watch on the path itself, or a recursive watch on an ancestor.
    pub fn contains(&self, path: &str, watcher: WatcherId) -> bool {
        for (level, local_path) in self.paths_to_check(path).into_iter().enumerate() {
            let Some(mode) = self.by_path.get(local_path).and_then(|w| w.get(&watcher)) else {
                continue;
            };
            if level == 0 || *mode == WatchMode::PersistentRecursive {
                return true;
            }
        }
        false
    }

    /// Number of (watcher, path) pairs.
    pub fn watch_count(&self) -> usize {
        self.by_watcher.values().map(HashSet::len).sum()
    }

    /// Number of distinct watched paths.
    pub fn path_count(&self) -> usize {
        self.by_path.len()
    }

    /// Number of connections with at least one watch.
    pub fn watcher_count(&self) -> usize {
        self.by_watcher.len()
    }

    /// Paths watched by each connection, sorted.
    pub fn paths_by_watcher(&self) -> Vec<(WatcherId, Vec<String>)> {
        let mut report: Vec<_> = self
            .by_watcher
            .iter()
            .map(|(&watcher, paths)| {
                let mut paths: Vec<String> = paths.iter().cloned().collect();
                paths.sort();
                (watcher, paths)
            })
            .collect();
        report.sort();
        report
    }

    /// Connections watching each path, sorted.
    pub fn watchers_by_path(&self) -> Vec<(String, Vec<WatcherId>)> {
        let mut report: Vec<_> = self
            .by_path
            .iter()
            .map(|(path, watchers)| {
                let mut watchers: Vec<WatcherId> = watchers.keys().copied().collect();
                watchers.sort();
                (path.clone(), watchers)
            })
            .collect();
        report.sort();
        report
    }

    fn adjust_recursive_count(&mut self, before: Option<WatchMode>, after: Option<WatchMode>) {
        let was = before == Some(WatchMode::PersistentRecursive);
        let is = after == Some(WatchMode::PersistentRecursive);
        match (was, is) {
            (false, true) => self.recursive_watch_count += 1,
            (true, false) => self.recursive_watch_count -= 1,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: WatcherId = WatcherId(1);
    const B: WatcherId = WatcherId(2);

    #[test]
    fn standard_watch_fires_once() {
        let mut table = WatchTable::default();
        table.add("/a", A, WatchMode::Standard);
        assert_eq!(table.trigger("/a", false), vec![A]);
        assert!(table.trigger("/a", false).is_empty());
        assert_eq!(table.watch_count(), 0);
    }

    #[test]
    fn registering_twice_fires_once() {
        let mut table = WatchTable::default();
        assert!(table.add("/a", A, WatchMode::Standard));
        assert!(!table.add("/a", A, WatchMode::Standard));
        assert_eq!(table.trigger("/a", false), vec![A]);
    }

    #[test]
    fn persistent_watch_stays_and_ignores_descendants() {
        let mut table = WatchTable::default();
        table.add("/a", A, WatchMode::Persistent);
        assert_eq!(table.trigger("/a", false), vec![A]);
        assert_eq!(table.trigger("/a", true), vec![A]);
        assert!(table.trigger("/a/b", false).is_empty());
        assert_eq!(table.watch_count(), 1);
    }

    #[test]
    fn recursive_watch_covers_descendants_but_not_child_list_changes() {
        let mut table = WatchTable::default();
        table.add("/a", A, WatchMode::PersistentRecursive);
        table.add("/a/b", B, WatchMode::Standard);
        assert_eq!(table.trigger("/a/b", false), vec![A, B]);
        assert_eq!(table.trigger("/a/b/c", false), vec![A]);
        assert!(table.trigger("/a", true).is_empty());
        assert_eq!(table.trigger("/", false), Vec::<WatcherId>::new());
    }

    #[test]
    fn recursive_watch_on_root_sees_everything() {
        let mut table = WatchTable::default();
        table.add("/", A, WatchMode::PersistentRecursive);
        assert_eq!(table.trigger("/x/y", false), vec![A]);
        assert!(table.contains("/x/y", A));
    }

    #[test]
    fn standard_registration_downgrades_a_persistent_watch() {
        let mut table = WatchTable::default();
        table.add("/a", A, WatchMode::Persistent);
        table.add("/a", A, WatchMode::Standard);
        assert_eq!(table.trigger("/a", false), vec![A]);
        assert!(table.trigger("/a", false).is_empty());
    }

    #[test]
    fn removing_a_connection_clears_its_watches() {
        let mut table = WatchTable::default();
        table.add("/a", A, WatchMode::PersistentRecursive);
        table.add("/b", A, WatchMode::Standard);
        table.add("/b", B, WatchMode::Standard);
        table.remove_watcher(A);
        assert_eq!(table.trigger("/a/x", false), Vec::<WatcherId>::new());
        assert_eq!(table.trigger("/b", false), vec![B]);
        assert_eq!(table.watcher_count(), 0);
    }

    #[test]
    fn contains_matches_the_path_or_a_recursive_ancestor() {
        let mut table = WatchTable::default();
        table.add("/a", A, WatchMode::Standard);
        table.add("/r", B, WatchMode::PersistentRecursive);
        assert!(table.contains("/a", A));
        assert!(!table.contains("/a/b", A));
        assert!(table.contains("/r/x", B));
        assert!(!table.contains("/a", B));
    }
}

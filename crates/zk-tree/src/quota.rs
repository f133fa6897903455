//! Quota bookkeeping (Apache's `DataTree` quota code, `PathTrie`, `StatsTrack`).
//!
//! A quota on `/app` is two znodes a client (zkCli's `setquota`) creates:
//! `/zookeeper/quota/app/zookeeper_limits` and `/zookeeper/quota/app/zookeeper_stats`.
//! The tree keeps the stats node's data, `count=N,bytes=M`, equal to the number of znodes
//! and bytes of data under `/app`: every create, delete and setData below the deepest
//! path with a quota adjusts it, without touching the stats node's stat, and creating
//! the stats node recomputes it. Quotas are only counted here, never enforced (Apache's
//! `zookeeper.enforceQuota` is off by default).
//!
//! Where Apache would throw on malformed stats data (and stop applying the transaction),
//! the update is skipped instead.

use crate::tree::{DataTree, PROC_ZOOKEEPER, QUOTA_ZOOKEEPER};
use std::collections::BTreeMap;

/// The name of the znode holding a quota's limits.
pub const LIMIT_NODE: &str = "zookeeper_limits";
/// The name of the znode holding a quota's usage.
pub const STAT_NODE: &str = "zookeeper_stats";

/// Apache's `PathTrie.split`: the segments of a path, without blank ones.
fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|segment| !segment.trim().is_empty())
}

/// The canonical key of a quota path: `/` + its non-blank segments.
fn trie_key(path: &str) -> String {
    let mut key = String::with_capacity(path.len() + 1);
    for segment in segments(path) {
        key.push('/');
        key.push_str(segment);
    }
    key
}

/// `/zookeeper/quota<path>/zookeeper_stats` (Apache's `Quotas.statPath`).
fn stat_path(path: &str) -> String {
    format!("{QUOTA_ZOOKEEPER}{path}/{STAT_NODE}")
}

/// Apache's `StatsTrack`: `key=value` pairs separated by `,` or `;`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StatsTrack {
    values: BTreeMap<String, i64>,
}

impl StatsTrack {
    /// Parses stats data; `None` where Java would throw.
    fn parse(data: &[u8]) -> Option<Self> {
        let text = String::from_utf8_lossy(data);
        let mut values = BTreeMap::new();
        if text.is_empty() {
            return Some(StatsTrack { values });
        }
        // Java's split on "[,;]+": a run of separators cuts once, a leading run leaves an
        // empty first piece, trailing empty pieces are dropped.
        let mut pieces = text.split([',', ';']);
        let first = pieces.next().unwrap_or_default();
        let mut pairs: Vec<&str> = pieces.filter(|piece| !piece.is_empty()).collect();
        if !first.is_empty() || !pairs.is_empty() {
            pairs.insert(0, first);
        }
        for pair in pairs {
            let mut parts: Vec<&str> = pair.split('=').collect();
            while parts.last().is_some_and(|part| part.is_empty()) {
                parts.pop();
            }
            let key = *parts.first()?;
            let value = match *parts.get(1)? {
                "" => -1,
                value => parse_java_long(value)?,
            };
            values.insert(key.to_string(), value);
        }
        Some(StatsTrack { values })
    }

    fn get(&self, key: &str) -> i64 {
        self.values.get(key).copied().unwrap_or(-1)
    }

    fn set(&mut self, key: &str, value: i64) {
        self.values.insert(key.to_string(), value);
    }

    /// `count=N,bytes=M`, then `=` and `;key=value` for any other key, sorted.
    fn to_bytes(&self) -> Vec<u8> {
        let mut text = format!("count={},bytes={}", self.get("count"), self.get("bytes"));
        let others: Vec<_> = self
            .values
            .iter()
            .filter(|(key, _)| *key != "count" && *key != "bytes")
            .collect();
        if !others.is_empty() {
            text.push('=');
            for (key, value) in others {
                text.push_str(&format!(";{key}={value}"));
            }
        }
        text.into_bytes()
    }
}

/// Java's `Long.parseLong`: optional sign, ASCII digits, in range.
fn parse_java_long(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl DataTree {
    /// After `path` (with `data_len` bytes) was created under `parent`.
    pub(crate) fn quota_on_create(
        &mut self,
        parent: &str,
        name: &str,
        path: &str,
        data_len: usize,
    ) {
        if let Some(quota_path) = parent.strip_prefix(QUOTA_ZOOKEEPER) {
            if name == LIMIT_NODE && !quota_path.is_empty() {
                self.quota_roots.insert(trie_key(quota_path));
            }
            if name == STAT_NODE {
                self.recount_quota(quota_path);
            }
        }
        if let Some(prefix) = self.quota_prefix(path) {
            self.add_quota_usage(&prefix, data_len as i64, 1);
        }
    }

    /// After `path` (which held `data_len` bytes) was deleted from under `parent`.
    pub(crate) fn quota_on_delete(
        &mut self,
        parent: &str,
        name: &str,
        path: &str,
        data_len: usize,
    ) {
        if parent.starts_with(PROC_ZOOKEEPER) && name == LIMIT_NODE {
            if let Some(quota_path) = parent.get(QUOTA_ZOOKEEPER.len()..) {
                if !quota_path.is_empty() {
                    self.quota_roots.remove(&trie_key(quota_path));
                }
            }
        }
        if let Some(prefix) = self.quota_prefix(path) {
            self.add_quota_usage(&prefix, -(data_len as i64), -1);
        }
    }

    /// After the data of `path` changed size by `bytes_diff`.
    pub(crate) fn quota_on_set_data(&mut self, path: &str, bytes_diff: i64) {
        if let Some(prefix) = self.quota_prefix(path) {
            self.add_quota_usage(&prefix, bytes_diff, 0);
        }
    }

    /// The deepest path with a quota that `path` is in (Apache's `getMaxPrefixWithQuota`).
    fn quota_prefix(&self, path: &str) -> Option<String> {
        if self.quota_roots.is_empty() {
            return None;
        }
        let mut key = String::with_capacity(path.len());
        let mut deepest = None;
        for segment in segments(path) {
            key.push('/');
            key.push_str(segment);
            if self.quota_roots.contains(&key) {
                deepest = Some(key.clone());
            }
        }
        deepest
    }

    /// Apache's `updateQuotaStat`.
    fn add_quota_usage(&mut self, prefix: &str, bytes_diff: i64, count_diff: i64) {
        let stat_path = stat_path(prefix);
        let Some(id) = self.lookup(&stat_path) else {
            return;
        };
        let Some(mut stats) = StatsTrack::parse(self.nodes.get(id).data().unwrap_or_default())
        else {
            return;
        };
        stats.set("count", stats.get("count").wrapping_add(count_diff));
        stats.set("bytes", stats.get("bytes").wrapping_add(bytes_diff));
        self.replace_data_keeping_stat(id, &stat_path, &stats.to_bytes());
    }

    /// Apache's `updateQuotaForPath`: the stats node of `path` gets the count and bytes of
    /// the subtree at `path`, replacing whatever it held.
    fn recount_quota(&mut self, path: &str) {
        let (mut count, mut bytes) = (0i64, 0i64);
        if let Some(root) = self.lookup(path) {
            let mut subtree = Vec::new();
            self.collect_subtree(root, &mut subtree);
            count = subtree.len() as i64;
            bytes = subtree
                .iter()
                .map(|&id| self.nodes.get(id).data_len() as i64)
                .sum();
        }
        let stat_path = stat_path(path);
        let Some(id) = self.lookup(&stat_path) else {
            return;
        };
        let mut stats = StatsTrack {
            values: BTreeMap::new(),
        };
        stats.set("bytes", bytes);
        stats.set("count", count);
        self.replace_data_keeping_stat(id, &stat_path, &stats.to_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_parse_and_print_like_apache() {
        let stats = StatsTrack::parse(b"count=3,bytes=10").unwrap();
        assert_eq!((stats.get("count"), stats.get("bytes")), (3, 10));
        assert_eq!(stats.to_bytes(), b"count=3,bytes=10");
        let with_limits =
            StatsTrack::parse(b"count=1,bytes=5=;countHardLimit=10;byteHardLimit=-1").unwrap();
        assert_eq!(with_limits.get("countHardLimit"), 10);
        assert_eq!(
            with_limits.to_bytes(),
            b"count=1,bytes=5=;byteHardLimit=-1;countHardLimit=10"
        );
        assert_eq!(
            StatsTrack::parse(b"").unwrap().to_bytes(),
            b"count=-1,bytes=-1"
        );
        assert_eq!(
            StatsTrack::parse(b"count=1,,bytes=2").unwrap().get("bytes"),
            2
        );
        assert!(StatsTrack::parse(b"count=").is_none());
        assert!(StatsTrack::parse(b",count=1").is_none());
        assert_eq!(StatsTrack::parse(b"count=1;;").unwrap().get("count"), 1);
        assert_eq!(StatsTrack::parse(b",,").unwrap().get("count"), -1);
        assert!(StatsTrack::parse(b"count=x").is_none());
        assert_eq!(StatsTrack::parse(b"count==5").unwrap().get("count"), -1);
    }

    #[test]
    fn trie_keys_drop_blank_segments() {
        assert_eq!(trie_key("/a/b"), "/a/b");
        assert_eq!(trie_key("a"), "/a");
        assert_eq!(trie_key("/a/ /b"), "/a/b");
    }
}

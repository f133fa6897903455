//! Quotas as zkCli's `setquota`, `listquota` and `delquota` keep them. A quota on `/app` is
//! two znodes under `/zookeeper/quota/app`: `zookeeper_limits`, written by the client, and
//! `zookeeper_stats`, which the server keeps up to date (it recounts the subtree when the
//! stats node is created). Both hold a `StatsTrack` text: `count=N,bytes=M`, followed, when
//! there are more keys, by `=` and `;key=value` pairs in key order (the extra `=` keeps old
//! parsers reading only the first two).

use crate::client::ops::CreateOptions;
use crate::client::Client;
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::fmt;
use zk_proto::CreateMode;

/// Where quota nodes live.
pub const QUOTA_ROOT: &str = "/zookeeper/quota";
/// The name of the node holding a quota's limits.
pub const LIMIT_NODE: &str = "zookeeper_limits";
/// The name of the node holding a quota's usage.
pub const STAT_NODE: &str = "zookeeper_stats";

/// `/zookeeper/quota<path>`: the node under which `path`'s quota nodes live.
pub fn quota_path(path: &str) -> String {
    format!("{QUOTA_ROOT}{path}")
}

/// `/zookeeper/quota<path>/zookeeper_limits`.
pub fn limit_path(path: &str) -> String {
    format!("{QUOTA_ROOT}{path}/{LIMIT_NODE}")
}

/// `/zookeeper/quota<path>/zookeeper_stats`.
pub fn stat_path(path: &str) -> String {
    format!("{QUOTA_ROOT}{path}/{STAT_NODE}")
}

/// The path a quota node stands for (`/zookeeper/quota/a/b` is `/a/b`).
fn quota_subject(quota_node: &str) -> &str {
    quota_node.strip_prefix(QUOTA_ROOT).unwrap_or(quota_node)
}

/// One value of a quota or of its usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// Soft limit on (or usage of) the number of nodes (`-n`).
    Count,
    /// Soft limit on (or usage of) the bytes of data (`-b`).
    Bytes,
    /// Hard limit on the number of nodes (`-N`).
    CountHardLimit,
    /// Hard limit on the bytes of data (`-B`).
    ByteHardLimit,
}

impl Key {
    /// Every key, in the order of zkCli's options `-n -b -N -B`.
    pub const ALL: [Key; 4] = [
        Key::Count,
        Key::Bytes,
        Key::CountHardLimit,
        Key::ByteHardLimit,
    ];

    /// The key's name in the text.
    pub fn name(self) -> &'static str {
        match self {
            Key::Count => "count",
            Key::Bytes => "bytes",
            Key::CountHardLimit => "countHardLimit",
            Key::ByteHardLimit => "byteHardLimit",
        }
    }

    /// zkCli's option letter for the key.
    pub fn option(self) -> char {
        match self {
            Key::Count => 'n',
            Key::Bytes => 'b',
            Key::CountHardLimit => 'N',
            Key::ByteHardLimit => 'B',
        }
    }

    /// The key for an option letter.
    pub fn from_option(option: char) -> Option<Key> {
        Key::ALL.into_iter().find(|key| key.option() == option)
    }

    /// Whether the key counts nodes (as opposed to bytes).
    pub fn counts_nodes(self) -> bool {
        matches!(self, Key::Count | Key::CountHardLimit)
    }
}

/// A quota's limits or usage: named values, -1 for "not set".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsTrack {
    values: BTreeMap<String, i64>,
}

impl StatsTrack {
    /// Reads the text of a quota node. Pairs are separated by `,` or `;`; a pair without a
    /// value, or with one that is not a number, reads as -1.
    pub fn parse(text: &str) -> StatsTrack {
        let mut values = BTreeMap::new();
        for pair in text.split([',', ';']).filter(|pair| !pair.is_empty()) {
            let mut parts = pair.split('=');
            let name = parts.next().unwrap_or_default();
            let value = parts
                .next()
                .and_then(|value| value.parse().ok())
                .unwrap_or(-1);
            values.insert(name.to_owned(), value);
        }
        StatsTrack { values }
    }

    /// The value of `key`, -1 when absent.
    pub fn get(&self, key: Key) -> i64 {
        self.values.get(key.name()).copied().unwrap_or(-1)
    }

    /// Sets `key` (present from now on, even at -1).
    pub fn set(&mut self, key: Key, value: i64) {
        self.values.insert(key.name().to_owned(), value);
    }
}

impl fmt::Display for StatsTrack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "count={},bytes={}",
            self.get(Key::Count),
            self.get(Key::Bytes)
        )?;
        let extra: Vec<(&String, &i64)> = self
            .values
            .iter()
            .filter(|(name, _)| !matches!(name.as_str(), "count" | "bytes"))
            .collect();
        if !extra.is_empty() {
            f.write_str("=")?;
            for (name, value) in extra {
                write!(f, ";{name}={value}")?;
            }
        }
        Ok(())
    }
}

/// Why a quota could not be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuotaError {
    /// The path does not exist.
    #[error("{0} does not exist.")]
    NoSuchPath(String),
    /// A node below the path has a quota already (quotas do not nest).
    #[error("{path} has a child {child} which has a quota")]
    ChildHasQuota {
        /// The path asked for.
        path: String,
        /// The node below it with a quota.
        child: String,
    },
    /// A node above the path has a quota already.
    #[error("{path} has a parent {parent} which has a quota")]
    ParentHasQuota {
        /// The path asked for.
        path: String,
        /// The node above it with a quota.
        parent: String,
    },
    /// A request failed.
    #[error("{error} on {path}")]
    Keeper {
        /// The request's path.
        path: String,
        /// What the server or the client said.
        error: Error,
    },
}

/// Attaches the request's path to a client error.
fn on(path: &str) -> impl Fn(Error) -> QuotaError + '_ {
    move |error| QuotaError::Keeper {
        path: path.to_owned(),
        error,
    }
}

/// The warnings zkCli prints when a new limit is already below the usage.
fn warnings(limits: &StatsTrack, usage: &StatsTrack) -> Vec<String> {
    let below = |keys: [Key; 2], used: Key| {
        keys.iter()
            .any(|&key| limits.get(key) > -1 && limits.get(key) < usage.get(used))
    };
    let mut lines = Vec::new();
    if below([Key::Count, Key::CountHardLimit], Key::Count) {
        lines.push(format!(
            "[Warning]: the count quota you create is less than the existing count:{}",
            usage.get(Key::Count)
        ));
    }
    if below([Key::Bytes, Key::ByteHardLimit], Key::Bytes) {
        lines.push(format!(
            "[Warning]: the bytes quota you create is less than the existing bytes:{}",
            usage.get(Key::Bytes)
        ));
    }
    lines
}

/// A quota node's text, or `None` if the node is missing.
async fn read_track(client: &Client, path: &str) -> Result<Option<StatsTrack>> {
    match client.get_data(path).await {
        Ok((data, _)) => Ok(Some(StatsTrack::parse(&String::from_utf8_lossy(&data)))),
        Err(error) if error.is_no_node() => Ok(None),
        Err(error) => Err(error),
    }
}

/// Creates `path` with null data unless it exists.
async fn create_if_missing(client: &Client, path: &str) -> Result<()> {
    let options = CreateOptions::new(CreateMode::Persistent);
    match client.create_nullable(path, None, &options).await {
        Ok(_) => Ok(()),
        Err(error) if error.is_node_exists() => Ok(()),
        Err(error) => Err(error),
    }
}

/// Children of `path`, empty if it is missing.
async fn children_or_none(client: &Client, path: &str) -> Result<Vec<String>> {
    match client.get_children(path).await {
        Ok(children) => Ok(children),
        Err(error) if error.is_no_node() => Ok(Vec::new()),
        Err(error) => Err(error),
    }
}

/// Refuses a quota on `path` when a node below it has one.
async fn check_no_child_quota(client: &Client, path: &str) -> Result<(), QuotaError> {
    let own = quota_path(path);
    let mut stack = vec![own.clone()];
    while let Some(node) = stack.pop() {
        let children = children_or_none(client, &node).await.map_err(on(&node))?;
        if node != own && children.iter().any(|child| child == LIMIT_NODE) {
            return Err(QuotaError::ChildHasQuota {
                path: path.to_owned(),
                child: quota_subject(&node).to_owned(),
            });
        }
        stack.extend(children.iter().map(|child| crate::path::join(&node, child)));
    }
    Ok(())
}

/// Refuses a quota on `path` when a node above it has one.
async fn check_no_parent_quota(client: &Client, path: &str) -> Result<(), QuotaError> {
    for ancestor in crate::path::ancestors(path) {
        let node = quota_path(ancestor);
        let children = match client.get_children(&node).await {
            Ok(children) => children,
            Err(error) if error.is_no_node() => return Ok(()),
            Err(error) => return Err(on(&node)(error)),
        };
        if children.is_empty() {
            return Ok(());
        }
        if children.iter().any(|child| child == LIMIT_NODE) {
            return Err(QuotaError::ParentHasQuota {
                path: path.to_owned(),
                parent: ancestor.to_owned(),
            });
        }
    }
    Ok(())
}

/// Sets the values of `limits` that are not -1 on `path`'s quota, creating the quota if
/// it has none (with every value of `limits`). Returns the warnings for limits already
/// below the usage the server counted.
pub async fn set_quota(
    client: &Client,
    path: &str,
    limits: &StatsTrack,
) -> Result<Vec<String>, QuotaError> {
    match client.exists(path).await {
        Ok(Some(_)) => {}
        Ok(None) => return Err(QuotaError::NoSuchPath(path.to_owned())),
        Err(error) => return Err(on(path)(error)),
    }
    check_no_child_quota(client, path).await?;
    check_no_parent_quota(client, path).await?;
    for node in ["/zookeeper", QUOTA_ROOT] {
        create_if_missing(client, node).await.map_err(on(node))?;
    }
    for ancestor in crate::path::ancestors(path).chain(std::iter::once(path)) {
        let node = quota_path(ancestor);
        create_if_missing(client, &node).await.map_err(on(&node))?;
    }
    let (limit_node, stat_node) = (limit_path(path), stat_path(path));
    let existing = read_track(client, &limit_node)
        .await
        .map_err(on(&limit_node))?;
    let Some(mut merged) = existing else {
        let text = limits.to_string();
        client
            .create(&limit_node, text.as_bytes(), CreateMode::Persistent)
            .await
            .map_err(on(&limit_node))?;
        let mut empty = StatsTrack::default();
        empty.set(Key::Count, 0);
        empty.set(Key::Bytes, 0);
        client
            .create(
                &stat_node,
                empty.to_string().as_bytes(),
                CreateMode::Persistent,
            )
            .await
            .map_err(on(&stat_node))?;
        // The server recounted the subtree when the stats node appeared.
        let written = read_track(client, &limit_node)
            .await
            .map_err(on(&limit_node))?
            .unwrap_or_default();
        let usage = read_track(client, &stat_node)
            .await
            .map_err(on(&stat_node))?
            .unwrap_or_default();
        return Ok(warnings(&written, &usage));
    };
    for key in Key::ALL {
        if limits.get(key) > -1 {
            merged.set(key, limits.get(key));
        }
    }
    let usage = read_track(client, &stat_node)
        .await
        .map_err(on(&stat_node))?
        .unwrap_or_default();
    let warned = warnings(&merged, &usage);
    client
        .set_data(&limit_node, merged.to_string().as_bytes(), None)
        .await
        .map_err(on(&limit_node))?;
    Ok(warned)
}

/// `path`'s quota and, when its stats node exists, its usage; `None` if it has no quota.
pub async fn list_quota(
    client: &Client,
    path: &str,
) -> Result<Option<(StatsTrack, Option<StatsTrack>)>> {
    let Some(limits) = read_track(client, &limit_path(path)).await? else {
        return Ok(None);
    };
    let usage = read_track(client, &stat_path(path)).await?;
    Ok(Some((limits, usage)))
}

/// Removes `path`'s quota: the value of `key` only (set back to -1), or, with `None`, the
/// whole quota, with the quota nodes left empty above it. `Ok(false)` if it had none.
pub async fn delete_quota(client: &Client, path: &str, key: Option<Key>) -> Result<bool> {
    let limit_node = limit_path(path);
    let Some(mut limits) = read_track(client, &limit_node).await? else {
        return Ok(false);
    };
    if let Some(key) = key {
        limits.set(key, -1);
        client
            .set_data(&limit_node, limits.to_string().as_bytes(), None)
            .await?;
        return Ok(true);
    }
    let own = quota_path(path);
    for child in client.get_children(&own).await? {
        client
            .delete(&crate::path::join(&own, &child), None)
            .await?;
    }
    // Remove the quota nodes left without children, up to the quota root.
    let mut node = own;
    while node != QUOTA_ROOT && node.starts_with(QUOTA_ROOT) {
        if !client.get_children(&node).await?.is_empty() {
            break;
        }
        client.delete(&node, None).await?;
        node = crate::path::parent(&node).unwrap_or(QUOTA_ROOT).to_owned();
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_text_matches_zkcli() {
        let mut limits = StatsTrack::default();
        for key in Key::ALL {
            limits.set(key, -1);
        }
        limits.set(Key::Count, 5);
        assert_eq!(
            limits.to_string(),
            "count=5,bytes=-1=;byteHardLimit=-1;countHardLimit=-1"
        );
        assert_eq!(
            StatsTrack::parse("count=5,bytes=-1=;byteHardLimit=7;countHardLimit=-1"),
            {
                let mut expected = limits.clone();
                expected.set(Key::ByteHardLimit, 7);
                expected
            }
        );
        let usage = StatsTrack::parse("count=2,bytes=1");
        assert_eq!(usage.to_string(), "count=2,bytes=1");
        assert_eq!(usage.get(Key::CountHardLimit), -1);
        assert_eq!(StatsTrack::default().to_string(), "count=-1,bytes=-1");
        assert_eq!(StatsTrack::parse("count=,bytes=x").get(Key::Count), -1);
    }

    #[test]
    fn quota_paths() {
        assert_eq!(limit_path("/a/b"), "/zookeeper/quota/a/b/zookeeper_limits");
        assert_eq!(stat_path("/a"), "/zookeeper/quota/a/zookeeper_stats");
        assert_eq!(quota_subject("/zookeeper/quota/a/b"), "/a/b");
        assert_eq!(Key::from_option('N'), Some(Key::CountHardLimit));
        assert_eq!(Key::from_option('x'), None);
    }

    #[test]
    fn warnings_for_limits_below_usage() {
        let usage = StatsTrack::parse("count=3,bytes=10");
        assert!(warnings(&StatsTrack::parse("count=5,bytes=-1"), &usage).is_empty());
        assert_eq!(
            warnings(&StatsTrack::parse("count=2,bytes=9"), &usage),
            [
                "[Warning]: the count quota you create is less than the existing count:3",
                "[Warning]: the bytes quota you create is less than the existing bytes:10",
            ]
        );
        let hard = StatsTrack::parse("count=-1,bytes=-1=;countHardLimit=1");
        assert_eq!(warnings(&hard, &usage).len(), 1);
    }
}

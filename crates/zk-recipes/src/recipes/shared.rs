//! Shared values: Curator's `SharedCount` (a 32-bit count with versioned compare-and-set)
//! and `DistributedAtomicLong` (a 64-bit value with optimistic atomic updates), with
//! Curator's encodings (big-endian 4 and 8 bytes), so Java processes read the same values.

use super::cache::NodeCache;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::path;
use std::time::Duration;
use tokio::sync::watch;
use zk_proto::{CreateMode, ErrorCode};

/// Attempts of an atomic update that keeps losing races before it reports failure.
const MAX_ATOMIC_ATTEMPTS: u32 = 100;

/// A value and the node version it was read at (for compare-and-set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versioned<T> {
    /// The value.
    pub value: T,
    /// The node's data version when read.
    pub version: i32,
}

/// A shared 32-bit count.
#[derive(Debug)]
pub struct SharedCount {
    client: Client,
    path: String,
    cache: NodeCache,
}

impl SharedCount {
    /// Opens the count at `path`, creating it with `seed` if it does not exist.
    pub async fn start(client: &Client, path: &str, seed: i32) -> Result<SharedCount> {
        path::validate(path, false)?;
        create_if_missing(client, path, &seed.to_be_bytes()).await?;
        let cache = NodeCache::start(client, path).await?;
        Ok(SharedCount {
            client: client.clone(),
            path: path.to_owned(),
            cache,
        })
    }

    /// The count and its version, read from the server.
    pub async fn get(&self) -> Result<Versioned<i32>> {
        let (data, stat) = self.client.get_data(&self.path).await?;
        Ok(Versioned {
            value: decode_i32(&data)?,
            version: stat.version,
        })
    }

    /// Sets the count to `value` if it is still at `expected`'s version; `Ok(false)` if
    /// someone changed it since.
    pub async fn try_set(&self, value: i32, expected: Versioned<i32>) -> Result<bool> {
        match self
            .client
            .set_data(&self.path, &value.to_be_bytes(), Some(expected.version))
            .await
        {
            Ok(_) => Ok(true),
            Err(Error::Keeper(ErrorCode::BadVersion)) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Sets the count unconditionally.
    pub async fn set(&self, value: i32) -> Result<()> {
        self.client
            .set_data(&self.path, &value.to_be_bytes(), None)
            .await
            .map(|_| ())
    }

    /// The count as last seen by the cache (`None` if the node is gone or malformed).
    pub fn cached(&self) -> Option<Versioned<i32>> {
        let node = self.cache.current()?;
        Some(Versioned {
            value: decode_i32(&node.data).ok()?,
            version: node.stat.version,
        })
    }

    /// Waits until the cached count satisfies `predicate` (at most `timeout`).
    pub async fn wait_for(
        &self,
        predicate: impl Fn(i32) -> bool,
        timeout: Duration,
    ) -> Result<i32> {
        let mut changes: watch::Receiver<_> = self.cache.changes();
        let reached = tokio::time::timeout(timeout, async {
            changes
                .wait_for(|node| {
                    node.as_ref()
                        .and_then(|node| decode_i32(&node.data).ok())
                        .is_some_and(&predicate)
                })
                .await
                .map(|node| node.as_ref().and_then(|node| decode_i32(&node.data).ok()))
        })
        .await;
        match reached {
            Ok(Ok(Some(value))) => Ok(value),
            Ok(_) => Err(Error::Closed),
            Err(_) => Err(Error::Timeout),
        }
    }
}

/// The outcome of an atomic update: whether it applied, and the values before and after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AtomicValue {
    /// Whether the update was applied.
    pub succeeded: bool,
    /// The value before.
    pub pre_value: i64,
    /// The value after (the pre-value if it did not apply).
    pub post_value: i64,
}

/// A shared 64-bit value with optimistic atomic updates (a missing node reads as 0).
#[derive(Debug, Clone)]
pub struct DistributedAtomicLong {
    client: Client,
    path: String,
}

impl DistributedAtomicLong {
    /// The value at `path`.
    pub fn new(client: &Client, path: &str) -> Result<DistributedAtomicLong> {
        path::validate(path, false)?;
        Ok(DistributedAtomicLong {
            client: client.clone(),
            path: path.to_owned(),
        })
    }

    /// The current value (0 if the node does not exist).
    pub async fn get(&self) -> Result<i64> {
        Ok(self.read().await?.map(|(value, _)| value).unwrap_or(0))
    }

    /// Adds `delta`, retrying lost races.
    pub async fn add(&self, delta: i64) -> Result<AtomicValue> {
        self.update(|value| Some(value.wrapping_add(delta))).await
    }

    /// Adds one.
    pub async fn increment(&self) -> Result<AtomicValue> {
        self.add(1).await
    }

    /// Subtracts one.
    pub async fn decrement(&self) -> Result<AtomicValue> {
        self.add(-1).await
    }

    /// Sets the value to `new` if it is `expected`.
    pub async fn compare_and_set(&self, expected: i64, new: i64) -> Result<AtomicValue> {
        self.update(|value| (value == expected).then_some(new))
            .await
    }

    /// Sets the value unconditionally (still atomically with respect to other updates).
    pub async fn try_set(&self, new: i64) -> Result<AtomicValue> {
        self.update(|_| Some(new)).await
    }

    /// Applies `change` (`None`: leave it) with a versioned write, again on every lost race.
    async fn update(&self, change: impl Fn(i64) -> Option<i64>) -> Result<AtomicValue> {
        for _ in 0..MAX_ATOMIC_ATTEMPTS {
            let current = self.read().await?;
            let pre_value = current.map(|(value, _)| value).unwrap_or(0);
            let Some(post_value) = change(pre_value) else {
                return Ok(AtomicValue {
                    succeeded: false,
                    pre_value,
                    post_value: pre_value,
                });
            };
            let written = match current {
                Some((_, version)) => self
                    .client
                    .set_data(&self.path, &post_value.to_be_bytes(), Some(version))
                    .await
                    .map(|_| ()),
                None => self
                    .client
                    .create(
                        &self.path,
                        &post_value.to_be_bytes(),
                        CreateMode::Persistent,
                    )
                    .await
                    .map(|_| ()),
            };
            match written {
                Ok(()) => {
                    return Ok(AtomicValue {
                        succeeded: true,
                        pre_value,
                        post_value,
                    })
                }
                Err(Error::Keeper(ErrorCode::BadVersion | ErrorCode::NodeExists)) => continue,
                Err(error) if error.is_no_node() => {
                    // The parent is missing (first use), or the node was deleted meanwhile.
                    self.client.ensure_parent(&self.path).await?;
                }
                Err(error) => return Err(error),
            }
        }
        let pre_value = self.get().await?;
        Ok(AtomicValue {
            succeeded: false,
            pre_value,
            post_value: pre_value,
        })
    }

    async fn read(&self) -> Result<Option<(i64, i32)>> {
        match self.client.get_data(&self.path).await {
            Ok((data, stat)) => Ok(Some((decode_i64(&data)?, stat.version))),
            Err(error) if error.is_no_node() => Ok(None),
            Err(error) => Err(error),
        }
    }
}

async fn create_if_missing(client: &Client, path: &str, data: &[u8]) -> Result<()> {
    client.ensure_parent(path).await?;
    match client.create(path, data, CreateMode::Persistent).await {
        Ok(_) => Ok(()),
        Err(error) if error.is_node_exists() => Ok(()),
        Err(error) => Err(error),
    }
}

fn decode_i32(data: &[u8]) -> Result<i32> {
    let bytes: [u8; 4] = data
        .try_into()
        .map_err(|_| Error::IllegalState("a shared count holds 4 bytes"))?;
    Ok(i32::from_be_bytes(bytes))
}

fn decode_i64(data: &[u8]) -> Result<i64> {
    if data.is_empty() {
        return Ok(0);
    }
    let bytes: [u8; 8] = data
        .try_into()
        .map_err(|_| Error::IllegalState("a distributed atomic long holds 8 bytes"))?;
    Ok(i64::from_be_bytes(bytes))
}

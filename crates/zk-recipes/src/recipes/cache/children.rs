//! A node's children with their data (Curator's `PathChildrenCache`): a [`TreeCache`] one
//! level deep, named for what it holds.

use super::tree::{TreeCache, TreeEvent};
use crate::client::Client;
use crate::error::Result;
use crate::watch_stream::NodeData;
use std::collections::BTreeMap;
use tokio::sync::broadcast;

/// The children of one node, with their data, kept current.
#[derive(Debug)]
pub struct ChildrenCache {
    tree: TreeCache,
}

impl ChildrenCache {
    /// Caches `path`'s children; returns once they are loaded. `event_queue_limit` bounds
    /// the events kept for a slow subscriber.
    pub async fn start(client: &Client, path: &str, event_queue_limit: usize) -> Result<Self> {
        Ok(ChildrenCache {
            tree: TreeCache::start(client, path, 1, event_queue_limit).await?,
        })
    }

    /// The children by name, with their data.
    pub fn children(&self) -> BTreeMap<String, NodeData> {
        self.tree.children_data()
    }

    /// Changes from now on (paths are full paths; the parent itself appears as well when it
    /// is created or deleted).
    pub fn events(&self) -> broadcast::Receiver<TreeEvent> {
        self.tree.events()
    }
}

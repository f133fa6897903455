//! A subtree cached to a given depth, kept current through a persistent recursive watch on
//! its root: the watch is added before the first read, so no change is missed; events are
//! applied by re-reading the node they name; after a reconnection (or a new session) the
//! whole subtree is read again and compared, so the cache always converges to the server's
//! state. A depth of 1 caches a node's children (Curator's `PathChildrenCache`).

use crate::client::Client;
use crate::error::{Error, Result};
use crate::path;
use crate::state::ConnectionState;
use crate::watch::WatchStream;
use crate::watch_stream::NodeData;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;
use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;
use zk_proto::{AddWatchMode, EventType};

/// Pause before subscribing again after a failure.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// A change to the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeEvent {
    /// A node appeared.
    Added(String, NodeData),
    /// A node's data changed.
    Updated(String, NodeData),
    /// A node went away.
    Removed(String),
}

type Nodes = Arc<StdMutex<BTreeMap<String, NodeData>>>;

/// A cached subtree.
#[derive(Debug)]
pub struct TreeCache {
    root: String,
    nodes: Nodes,
    events: broadcast::Sender<TreeEvent>,
    task: JoinHandle<()>,
}

impl TreeCache {
    /// Caches `root` and its descendants down to `max_depth` levels below it (0: the root
    /// only, 1: its children too, ...), and returns once the first full read is done.
    /// `event_queue_limit` bounds the events kept for a slow subscriber.
    pub async fn start(
        client: &Client,
        root: &str,
        max_depth: usize,
        event_queue_limit: usize,
    ) -> Result<TreeCache> {
        path::validate(root, false)?;
        let nodes = Nodes::default();
        let (events, _) = broadcast::channel(event_queue_limit.max(1));
        let (loaded, first_load) = oneshot::channel();
        let task = CacheTask {
            client: client.clone(),
            root: root.to_owned(),
            max_depth,
            nodes: nodes.clone(),
            events: events.clone(),
            loaded: Some(loaded),
        };
        let task = tokio::spawn(task.run());
        first_load.await.map_err(|_| Error::Closed)?;
        Ok(TreeCache {
            root: root.to_owned(),
            nodes,
            events,
            task,
        })
    }

    /// The cached data of `path`, if it is in the cache.
    pub fn get(&self, path: &str) -> Option<NodeData> {
        self.nodes.lock().ok()?.get(path).cloned()
    }

    /// The names of `path`'s cached children, sorted.
    pub fn children(&self, path: &str) -> Vec<String> {
        let Ok(nodes) = self.nodes.lock() else {
            return Vec::new();
        };
        nodes
            .keys()
            .filter(|candidate| path::parent(candidate) == Some(path))
            .map(|child| path::node_name(child).to_owned())
            .collect()
    }

    /// The root's cached children with their data, by name.
    pub fn children_data(&self) -> BTreeMap<String, NodeData> {
        let Ok(nodes) = self.nodes.lock() else {
            return BTreeMap::new();
        };
        nodes
            .iter()
            .filter(|(candidate, _)| path::parent(candidate) == Some(self.root.as_str()))
            .map(|(child, data)| (path::node_name(child).to_owned(), data.clone()))
            .collect()
    }

    /// Every cached node by path.
    pub fn snapshot(&self) -> BTreeMap<String, NodeData> {
        self.nodes
            .lock()
            .map(|nodes| nodes.clone())
            .unwrap_or_default()
    }

    /// Changes from now on. A subscriber that falls behind the queue limit gets
    /// `RecvError::Lagged` and should re-read [`TreeCache::snapshot`].
    pub fn events(&self) -> broadcast::Receiver<TreeEvent> {
        self.events.subscribe()
    }
}

impl Drop for TreeCache {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct CacheTask {
    client: Client,
    root: String,
    max_depth: usize,
    nodes: Nodes,
    events: broadcast::Sender<TreeEvent>,
    loaded: Option<oneshot::Sender<()>>,
}

impl CacheTask {
    async fn run(mut self) {
        loop {
            let watch = match self
                .client
                .add_watch(&self.root, AddWatchMode::PersistentRecursive)
                .await
            {
                Ok(watch) => watch,
                Err(Error::Closed) => return,
                Err(error) => {
                    tracing::debug!(%error, root = %self.root, "tree cache subscribing again");
                    tokio::time::sleep(RETRY_PAUSE).await;
                    continue;
                }
            };
            if !self.follow(watch).await {
                return;
            }
        }
    }

    /// Reads everything, then applies events; false when the client is closed.
    async fn follow(&mut self, mut watch: WatchStream) -> bool {
        let mut states = self.client.state_stream();
        if let Err(error) = self.sync(&self.root.clone()).await {
            tracing::debug!(%error, "tree cache read failed");
            return error != Error::Closed;
        }
        if let Some(loaded) = self.loaded.take() {
            let _ = loaded.send(());
        }
        loop {
            tokio::select! {
                event = watch.next() => match event {
                    Some(Ok(event)) => {
                        if let Err(error) = self.apply(event.event_type, &event.path).await {
                            tracing::debug!(%error, "tree cache update failed; reading again");
                            return error != Error::Closed;
                        }
                    }
                    Some(Err(Error::Closed)) => return false,
                    // Expired, overflowed or removed: subscribe again and read everything.
                    Some(Err(_)) | None => return true,
                },
                state = states.next() => match state {
                    None | Some(ConnectionState::Closed) => return false,
                    Some(ConnectionState::Reconnected) => {
                        if let Err(error) = self.sync(&self.root.clone()).await {
                            return error != Error::Closed;
                        }
                    }
                    Some(_) => {}
                },
            }
        }
    }

    fn depth(&self, node: &str) -> Option<usize> {
        if node == self.root {
            return Some(0);
        }
        let rest = if self.root == "/" {
            node.strip_prefix('/')?
        } else {
            node.strip_prefix(self.root.as_str())?.strip_prefix('/')?
        };
        Some(rest.split('/').count())
    }

    async fn apply(&mut self, event_type: EventType, node: &str) -> Result<()> {
        let Some(depth) = self.depth(node) else {
            return Ok(());
        };
        if depth > self.max_depth {
            return Ok(());
        }
        match event_type {
            EventType::NodeDeleted => {
                self.replace_subtree(node, BTreeMap::new());
                Ok(())
            }
            EventType::NodeCreated | EventType::NodeChildrenChanged => self.sync(node).await,
            EventType::NodeDataChanged => match self.client.get_data(node).await {
                Ok((data, stat)) => {
                    self.upsert(node, NodeData { data, stat });
                    Ok(())
                }
                Err(error) if error.is_no_node() => {
                    self.replace_subtree(node, BTreeMap::new());
                    Ok(())
                }
                Err(error) => Err(error),
            },
            _ => Ok(()),
        }
    }

    /// Reads `top` and its descendants (to the depth limit) and makes the cache match.
    async fn sync(&mut self, top: &str) -> Result<()> {
        let mut found = BTreeMap::new();
        let mut pending = vec![top.to_owned()];
        while let Some(node) = pending.pop() {
            let (data, stat) = match self.client.get_data(&node).await {
                Ok(read) => read,
                Err(error) if error.is_no_node() => continue,
                Err(error) => return Err(error),
            };
            let depth = self.depth(&node).unwrap_or(usize::MAX);
            if depth < self.max_depth && stat.num_children > 0 {
                match self.client.get_children(&node).await {
                    Ok(children) => {
                        pending.extend(children.iter().map(|child| path::join(&node, child)))
                    }
                    Err(error) if error.is_no_node() => continue,
                    Err(error) => return Err(error),
                }
            }
            found.insert(node, NodeData { data, stat });
        }
        self.replace_subtree(top, found);
        Ok(())
    }

    fn upsert(&self, node: &str, data: NodeData) {
        let event = {
            let Ok(mut nodes) = self.nodes.lock() else {
                return;
            };
            match nodes.insert(node.to_owned(), data.clone()) {
                None => Some(TreeEvent::Added(node.to_owned(), data)),
                Some(old) if old.stat.mzxid != data.stat.mzxid => {
                    Some(TreeEvent::Updated(node.to_owned(), data))
                }
                Some(_) => None,
            }
        };
        if let Some(event) = event {
            let _ = self.events.send(event);
        }
    }

    /// Makes the cached subtree at `top` equal to `found`, emitting the differences.
    fn replace_subtree(&self, top: &str, found: BTreeMap<String, NodeData>) {
        let mut events = Vec::new();
        {
            let Ok(mut nodes) = self.nodes.lock() else {
                return;
            };
            let prefix = if top == "/" {
                "/".to_owned()
            } else {
                format!("{top}/")
            };
            let stale: Vec<String> = nodes
                .keys()
                .filter(|key| *key == top || key.starts_with(&prefix))
                .filter(|key| !found.contains_key(*key))
                .cloned()
                .collect();
            for key in stale.into_iter().rev() {
                nodes.remove(&key);
                events.push(TreeEvent::Removed(key));
            }
            for (key, data) in found {
                match nodes.insert(key.clone(), data.clone()) {
                    None => events.push(TreeEvent::Added(key, data)),
                    Some(old) if old.stat.mzxid != data.stat.mzxid => {
                        events.push(TreeEvent::Updated(key, data))
                    }
                    Some(_) => {}
                }
            }
        }
        for event in events {
            let _ = self.events.send(event);
        }
    }
}

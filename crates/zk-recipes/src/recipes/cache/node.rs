//! One node's data, kept current by a gap-free data stream.

use crate::client::Client;
use crate::error::{Error, Result};
use crate::watch_stream::NodeData;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The latest data of one node (`None` while it does not exist).
#[derive(Debug)]
pub struct NodeCache {
    current: watch::Receiver<Option<NodeData>>,
    task: JoinHandle<()>,
}

impl NodeCache {
    /// Starts caching `path` and returns once the first value is loaded.
    pub async fn start(client: &Client, path: &str) -> Result<NodeCache> {
        let mut stream = client.watch_data(path)?;
        let first = stream.next().await.ok_or(Error::Closed)??;
        let (sender, current) = watch::channel(first);
        let task = tokio::spawn(async move {
            while let Some(Ok(value)) = stream.next().await {
                sender.send_replace(value);
            }
        });
        Ok(NodeCache { current, task })
    }

    /// The node's data now (as last seen).
    pub fn current(&self) -> Option<NodeData> {
        self.current.borrow().clone()
    }

    /// A receiver that sees every new value (`changed().await`).
    pub fn changes(&self) -> watch::Receiver<Option<NodeData>> {
        self.current.clone()
    }
}

impl Drop for NodeCache {
    fn drop(&mut self) {
        self.task.abort();
    }
}

//! Group membership (kazoo's `Party`): members join with an ephemeral node under the group's
//! path (re-created after a session expiry), and anyone can follow the live member list.
//! The server-set monitor and the service registry are built on it.

use super::cache::TreeCache;
use super::persistent_node::{NodeSpec, PersistentNode};
use crate::client::Client;
use crate::error::Result;
use crate::path;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use zk_proto::CreateMode;

/// Events kept for a slow follower of a group's cache.
const GROUP_EVENT_QUEUE_LIMIT: usize = 1024;

/// One member of a group, as its node says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member node's name.
    pub name: String,
    /// The data the member registered.
    pub data: Vec<u8>,
}

/// This process's membership; leaving the group is [`GroupMember::leave`] (or drop).
#[derive(Debug)]
pub struct GroupMember {
    node: PersistentNode,
}

impl GroupMember {
    /// Joins the group at `group_path` as an ephemeral node named `name` (with
    /// `sequential`, the server appends a sequence number) holding `data`.
    pub async fn join(
        client: &Client,
        group_path: &str,
        name: &str,
        data: &[u8],
        sequential: bool,
    ) -> Result<GroupMember> {
        client.ensure_path(group_path).await?;
        let spec = NodeSpec {
            path: path::join(group_path, name),
            mode: if sequential {
                CreateMode::EphemeralSequential
            } else {
                CreateMode::Ephemeral
            },
            // A sequential name cannot be found again after a lost reply without it.
            protected: sequential,
        };
        let node = PersistentNode::start(client, spec, data.to_vec())?;
        Ok(GroupMember { node })
    }

    /// The member node's path, once created.
    pub fn path(&self) -> Option<String> {
        self.node.actual_path()
    }

    /// Waits until the member node exists (at most `timeout`).
    pub async fn await_joined(&self, timeout: Duration) -> Result<Option<String>> {
        self.node.await_created(timeout).await
    }

    /// Changes the data this member registered.
    pub async fn set_data(&self, data: &[u8]) -> Result<()> {
        self.node.set_data(data).await
    }

    /// Leaves the group (deletes the member node).
    pub async fn leave(self) {
        self.node.close().await;
    }
}

/// The live members of a group.
#[derive(Debug)]
pub struct GroupMonitor {
    members: watch::Receiver<Vec<Member>>,
    task: JoinHandle<()>,
}

impl GroupMonitor {
    /// Follows the group at `group_path`; returns once the first list is loaded.
    pub async fn start(client: &Client, group_path: &str) -> Result<GroupMonitor> {
        let cache = TreeCache::start(client, group_path, 1, GROUP_EVENT_QUEUE_LIMIT).await?;
        let mut events = cache.events();
        let (sender, members) = watch::channel(members_of(&cache));
        let task = tokio::spawn(async move {
            loop {
                // Any event (or a lag) means: publish the cache's list again.
                match events.recv().await {
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        sender.send_if_modified(|current| {
                            let now = members_of(&cache);
                            let changed = *current != now;
                            *current = now;
                            changed
                        });
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        Ok(GroupMonitor { members, task })
    }

    /// The members now, sorted by node name.
    pub fn members(&self) -> Vec<Member> {
        self.members.borrow().clone()
    }

    /// A receiver that sees every new member list (`changed().await`, `wait_for`).
    pub fn changes(&self) -> watch::Receiver<Vec<Member>> {
        self.members.clone()
    }
}

impl Drop for GroupMonitor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn members_of(cache: &TreeCache) -> Vec<Member> {
    cache
        .children_data()
        .into_iter()
        .map(|(name, node)| Member {
            name,
            data: node.data,
        })
        .collect()
}

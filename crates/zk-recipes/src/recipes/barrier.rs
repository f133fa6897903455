//! Barriers: Curator's `DistributedBarrier` (everyone waits while a node exists) and
//! `DistributedDoubleBarrier` (a group enters together once `member_count` are there, and
//! leaves together: nobody's `leave` returns before everyone has left).

use crate::client::Client;
use crate::error::{Error, Result};
use crate::path;
use crate::rng::SeededRng;
use std::time::Duration;
use tokio::time::Instant;
use zk_proto::CreateMode;

/// A barrier that holds waiters while its node exists.
#[derive(Debug, Clone)]
pub struct Barrier {
    client: Client,
    path: String,
}

impl Barrier {
    /// The barrier at `path`.
    pub fn new(client: &Client, path: &str) -> Result<Barrier> {
        path::validate(path, false)?;
        Ok(Barrier {
            client: client.clone(),
            path: path.to_owned(),
        })
    }

    /// Raises the barrier (creates its node).
    pub async fn set(&self) -> Result<()> {
        self.client.ensure_parent(&self.path).await?;
        match self
            .client
            .create(&self.path, &[], CreateMode::Persistent)
            .await
        {
            Ok(_) => Ok(()),
            Err(error) if error.is_node_exists() => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Removes the barrier, releasing the waiters.
    pub async fn remove(&self) -> Result<()> {
        match self.client.delete(&self.path, None).await {
            Ok(()) => Ok(()),
            Err(error) if error.is_no_node() => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Waits while the barrier is up, at most `timeout` (`None`: forever); `Ok(false)` on
    /// timeout.
    pub async fn wait(&self, timeout: Option<Duration>) -> Result<bool> {
        let deadline = timeout.map(|timeout| Instant::now() + timeout);
        loop {
            let (stat, watch) = self.client.exists_watch(&self.path).await?;
            if stat.is_none() {
                return Ok(true);
            }
            if !wait_watch(watch, deadline).await? {
                return Ok(false);
            }
        }
    }
}

/// Waits for `watch` until `deadline`; false on timeout.
async fn wait_watch(watch: crate::watch::Watch, deadline: Option<Instant>) -> Result<bool> {
    let fired = match deadline {
        Some(deadline) => match tokio::time::timeout_at(deadline, watch).await {
            Ok(fired) => fired,
            Err(_) => return Ok(false),
        },
        None => watch.await,
    };
    match fired {
        Err(Error::Closed) => Err(Error::Closed),
        _ => Ok(true),
    }
}

/// Curator's marker that the group is complete.
pub const READY_NODE: &str = "ready";

/// A double barrier for `member_count` participants.
#[derive(Debug)]
pub struct DoubleBarrier {
    client: Client,
    path: String,
    member_count: usize,
    our_name: String,
}

impl DoubleBarrier {
    /// This participant's side of the double barrier at `path` for `member_count`.
    pub fn new(client: &Client, path: &str, member_count: usize) -> Result<DoubleBarrier> {
        path::validate(path, false)?;
        if member_count == 0 {
            return Err(Error::InvalidArgument(
                "a double barrier needs members".into(),
            ));
        }
        let mut rng: SeededRng = client.id_rng();
        Ok(DoubleBarrier {
            client: client.clone(),
            path: path.to_owned(),
            member_count,
            our_name: rng.uuid(),
        })
    }

    fn ready_path(&self) -> String {
        path::join(&self.path, READY_NODE)
    }

    fn our_path(&self) -> String {
        path::join(&self.path, &self.our_name)
    }

    /// Enters, and waits until `member_count` participants have; `Ok(false)` on timeout.
    pub async fn enter(&self, timeout: Option<Duration>) -> Result<bool> {
        let deadline = timeout.map(|timeout| Instant::now() + timeout);
        let (ready, mut ready_watch) = self.client.exists_watch(&self.ready_path()).await?;
        self.client
            .ensure_path_as(&self.path, CreateMode::Container)
            .await?;
        self.client
            .create(&self.our_path(), &[], CreateMode::Ephemeral)
            .await?;
        if ready.is_some() {
            return Ok(true);
        }
        loop {
            let count = self
                .client
                .get_children(&self.path)
                .await?
                .iter()
                .filter(|child| *child != READY_NODE)
                .count();
            if count >= self.member_count {
                match self
                    .client
                    .create(&self.ready_path(), &[], CreateMode::Persistent)
                    .await
                {
                    Ok(_) => return Ok(true),
                    Err(error) if error.is_node_exists() => return Ok(true),
                    Err(error) => return Err(error),
                }
            }
            if !wait_watch(ready_watch, deadline).await? {
                return Ok(false);
            }
            let (ready, watch) = self.client.exists_watch(&self.ready_path()).await?;
            if ready.is_some() {
                return Ok(true);
            }
            ready_watch = watch;
        }
    }

    /// Leaves, and waits until every participant has; `Ok(false)` on timeout.
    pub async fn leave(&self, timeout: Option<Duration>) -> Result<bool> {
        let deadline = timeout.map(|timeout| Instant::now() + timeout);
        let mut ours_should_exist = true;
        loop {
            let mut children: Vec<String> = match self.client.get_children(&self.path).await {
                Ok(children) => children,
                Err(error) if error.is_no_node() => Vec::new(),
                Err(error) => return Err(error),
            };
            children.retain(|child| child != READY_NODE);
            children.sort();
            if children.is_empty() {
                break;
            }
            let our_index = children.iter().position(|child| *child == self.our_name);
            if our_index.is_none() && ours_should_exist {
                return Err(Error::IllegalState("our double barrier node is missing"));
            }
            if children.len() == 1 {
                if ours_should_exist {
                    self.delete_ours().await?;
                }
                break;
            }
            // The lowest waits for the highest; everyone else leaves and waits for the
            // lowest, so the last to go is the lowest (the ZooKeeper recipe).
            let watched = if our_index == Some(0) {
                children[children.len() - 1].clone()
            } else {
                if ours_should_exist {
                    self.delete_ours().await?;
                    ours_should_exist = false;
                }
                children[0].clone()
            };
            let (stat, watch) = self
                .client
                .exists_watch(&path::join(&self.path, &watched))
                .await?;
            if stat.is_some() && !wait_watch(watch, deadline).await? {
                return Ok(false);
            }
        }
        match self.client.delete(&self.ready_path(), None).await {
            Ok(()) => Ok(true),
            Err(error) if error.is_no_node() => Ok(true),
            Err(error) => Err(error),
        }
    }

    async fn delete_ours(&self) -> Result<()> {
        match self.client.delete(&self.our_path(), None).await {
            Ok(()) => Ok(()),
            Err(error) if error.is_no_node() => Ok(()),
            Err(error) => Err(error),
        }
    }
}

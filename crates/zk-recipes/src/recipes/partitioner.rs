//! A set partitioner (kazoo's `SetPartitioner`): members of a group divide a set of items
//! among themselves; when membership changes the items are divided again. An item is
//! reported as owned only while its lock (`<path>/locks/<item>`, a [`Mutex`]) is held, so
//! two members never own one item at the same time, even while they disagree about the
//! membership for a moment.
//!
//! The division: members ordered by their node's sequence, items sorted; item `i` goes to
//! member `i mod n`. Membership changes are let settle for `settle_time` before dividing
//! again, so a burst of joins causes one reallocation.

use super::group::{GroupMember, GroupMonitor, Member};
use super::lock::Mutex;
use super::protected::strip_protection;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::path;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

/// Where a member stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartitionState {
    /// Working out or acquiring its share.
    Allocating,
    /// Holds these items (sorted) until the next change.
    Acquired(Vec<String>),
    /// Stopped by an error it could not recover from.
    Failed(String),
}

/// One member of a partitioned set.
#[derive(Debug)]
pub struct SetPartitioner {
    state: watch::Receiver<PartitionState>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl SetPartitioner {
    /// Joins the partitioning of `items` at `path` as `identifier`.
    pub async fn start(
        client: &Client,
        path: &str,
        identifier: &str,
        items: &[&str],
        settle_time: Duration,
    ) -> Result<SetPartitioner> {
        path::validate(path, false)?;
        let party_path = path::join(path, "party");
        let member =
            GroupMember::join(client, &party_path, "member-", identifier.as_bytes(), true).await?;
        let monitor = GroupMonitor::start(client, &party_path).await?;
        let mut items: Vec<String> = items.iter().map(|item| item.to_string()).collect();
        items.sort();
        items.dedup();
        let (state_in, state) = watch::channel(PartitionState::Allocating);
        let (stop, stopped) = oneshot::channel();
        let task = PartitionTask {
            client: client.clone(),
            locks_path: path::join(path, "locks"),
            items,
            member,
            monitor,
            settle_time,
            held: BTreeMap::new(),
            state: state_in,
        };
        let handle = tokio::spawn(task.run(stopped));
        Ok(SetPartitioner {
            state,
            stop: Some(stop),
            task: Some(handle),
        })
    }

    /// The state now.
    pub fn state(&self) -> PartitionState {
        self.state.borrow().clone()
    }

    /// Every state change.
    pub fn changes(&self) -> watch::Receiver<PartitionState> {
        self.state.clone()
    }

    /// Leaves: releases every item and the membership.
    pub async fn finish(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SetPartitioner {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The items `me` gets when `items` are divided among `members`.
pub fn assignment(items: &[String], members: &[Member], me: &str) -> Vec<String> {
    let mut order: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
    order.sort_by(|a, b| strip_protection(a).cmp(strip_protection(b)));
    let Some(position) = order.iter().position(|name| *name == me) else {
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter(|(index, _)| index % order.len() == position)
        .map(|(_, item)| item.clone())
        .collect()
}

struct PartitionTask {
    client: Client,
    locks_path: String,
    items: Vec<String>,
    member: GroupMember,
    monitor: GroupMonitor,
    settle_time: Duration,
    held: BTreeMap<String, Mutex>,
    state: watch::Sender<PartitionState>,
}

impl PartitionTask {
    async fn run(mut self, mut stopped: oneshot::Receiver<()>) {
        let mut changes = self.monitor.changes();
        loop {
            let round = tokio::select! {
                _ = &mut stopped => break,
                round = self.allocate(&mut changes) => round,
            };
            if let Err(error) = round {
                if error == Error::Closed {
                    break;
                }
                tracing::debug!(%error, "set partitioner allocation failed; retrying");
                tokio::time::sleep(self.settle_time).await;
            }
        }
        for (_, mut lock) in std::mem::take(&mut self.held) {
            let _ = lock.release().await;
        }
        self.state.send_replace(PartitionState::Allocating);
        self.member.leave().await;
    }

    /// One allocation: settle, release what is no longer ours, lock what is, report, and
    /// wait for the next membership change.
    async fn allocate(&mut self, changes: &mut watch::Receiver<Vec<Member>>) -> Result<()> {
        self.state.send_replace(PartitionState::Allocating);
        // Let the membership settle.
        loop {
            changes.mark_unchanged();
            match tokio::time::timeout(self.settle_time, changes.changed()).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) => return Err(Error::Closed),
                Err(_) => break,
            }
        }
        let Some(me) = self.member.path() else {
            // Not (re-)registered yet: wait for the group to change.
            changes.changed().await.map_err(|_| Error::Closed)?;
            return Ok(());
        };
        let me = path::node_name(&me).to_owned();
        let members = changes.borrow_and_update().clone();
        let mine = assignment(&self.items, &members, &me);
        let stale: Vec<String> = self
            .held
            .keys()
            .filter(|item| !mine.contains(item))
            .cloned()
            .collect();
        for item in stale {
            if let Some(mut lock) = self.held.remove(&item) {
                lock.release().await?;
            }
        }
        for item in &mine {
            if self.held.contains_key(item) {
                continue;
            }
            let mut lock = Mutex::new(&self.client, &path::join(&self.locks_path, item))?;
            // Wait for the previous owner to let go, unless the membership changes again.
            tokio::select! {
                acquired = lock.acquire() => acquired?,
                changed = changes.changed() => {
                    changed.map_err(|_| Error::Closed)?;
                    return Ok(());
                }
            }
            self.held.insert(item.clone(), lock);
        }
        self.state.send_replace(PartitionState::Acquired(mine));
        changes.changed().await.map_err(|_| Error::Closed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str) -> Member {
        Member {
            name: name.into(),
            data: Vec::new(),
        }
    }

    #[test]
    fn items_are_dealt_round_robin_in_member_order() {
        let items: Vec<String> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let members = [member("m-0000000002"), member("m-0000000001")];
        assert_eq!(
            assignment(&items, &members, "m-0000000001"),
            ["a", "c", "e"]
        );
        assert_eq!(assignment(&items, &members, "m-0000000002"), ["b", "d"]);
        assert!(assignment(&items, &members, "stranger").is_empty());
    }
}

//! The machinery shared by Curator's lock recipes (its `LockInternals` and
//! `StandardLockInternalsDriver`), with the same znode layout so that Rust and Java
//! processes contend correctly on one path:
//!
//! - each participant creates a protected ephemeral sequential node
//!   `<base>/_c_<uuid>-<lock name><sequence>`;
//! - participants are ordered by the text after the lock name (the sequence number);
//! - a participant holds the lock when fewer than `max_leases` nodes come before its own;
//!   otherwise it watches (with `getData`, which leaves no watch behind on a missing node)
//!   only the node `max_leases` places before it, so a release wakes one waiter, not all.

use super::super::node_guard::NodeGuard;
use super::super::protected::create_protected;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::path;
use crate::rng::SeededRng;
use tokio::time::Instant;
use zk_proto::{CreateMode, ErrorCode};

/// A predicate's answer: holds the lock, or which node to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Turn {
    pub(crate) holds_lock: bool,
    /// The sibling to wait on when the lock is not held.
    pub(crate) node_to_watch: Option<String>,
}

/// The participant's own node is not among the children: its session expired (or someone
/// deleted it). Curator raises `NoNode` here and so do we.
pub(crate) fn missing_node() -> Error {
    Error::Keeper(ErrorCode::NoNode)
}

/// The sort key of a child: the text after the last occurrence of any of `lock_names`
/// (Curator's `standardFixForSorting`, applied for each name as its read-write lock does).
pub(crate) fn sequence_key<'a>(name: &'a str, lock_names: &[&str]) -> &'a str {
    let mut key = name;
    for lock_name in lock_names {
        if let Some(index) = key.rfind(lock_name) {
            key = &key[index + lock_name.len()..];
        }
    }
    key
}

/// Sorts children by their sequence keys (a stable sort, as Java's).
pub(crate) fn sort_children(children: &mut [String], lock_names: &[&str]) {
    children.sort_by(|a, b| sequence_key(a, lock_names).cmp(sequence_key(b, lock_names)));
}

/// Curator's standard rule: held when fewer than `max_leases` nodes come first; otherwise
/// watch the node `max_leases` places earlier.
pub(crate) fn standard_turn(sorted: &[String], our_name: &str, max_leases: usize) -> Result<Turn> {
    let our_index = sorted
        .iter()
        .position(|child| child == our_name)
        .ok_or_else(missing_node)?;
    if our_index < max_leases {
        Ok(Turn {
            holds_lock: true,
            node_to_watch: None,
        })
    } else {
        Ok(Turn {
            holds_lock: false,
            node_to_watch: Some(sorted[our_index - max_leases].clone()),
        })
    }
}

/// One lock's participants under `base_path`, named `lock_name`.
#[derive(Debug)]
pub(crate) struct LockInternals {
    client: Client,
    base_path: String,
    lock_name: &'static str,
    sort_names: &'static [&'static str],
    rng: SeededRng,
}

impl LockInternals {
    pub(crate) fn new(
        client: &Client,
        base_path: &str,
        lock_name: &'static str,
        sort_names: &'static [&'static str],
    ) -> Result<Self> {
        path::validate(base_path, false)?;
        Ok(LockInternals {
            client: client.clone(),
            base_path: base_path.to_owned(),
            lock_name,
            sort_names,
            rng: client.id_rng(),
        })
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    pub(crate) fn base_path(&self) -> &str {
        &self.base_path
    }

    /// The participants' node names in lock order (empty if the lock node does not exist).
    pub(crate) async fn sorted_children(&self) -> Result<Vec<String>> {
        let mut children = match self.client.get_children(&self.base_path).await {
            Ok(children) => children,
            Err(error) if error.is_no_node() => Vec::new(),
            Err(error) => return Err(error),
        };
        sort_children(&mut children, self.sort_names);
        Ok(children)
    }

    /// Joins the queue and waits for `turn` to say the lock is held, until `deadline`.
    /// Returns our node's path when held, `None` when the deadline passed (our node is then
    /// deleted). If our node disappears (session expiry), joins again while the client's
    /// retry policy allows. Dropping the future deletes our node.
    pub(crate) async fn acquire<F>(
        &mut self,
        data: &[u8],
        deadline: Option<Instant>,
        turn: F,
    ) -> Result<Option<String>>
    where
        F: Fn(&[String], &str) -> Result<Turn>,
    {
        let policy = self.client.config().retry_policy.clone();
        let mut retry_count = 0;
        loop {
            let our_path = create_protected(
                &self.client,
                &self.base_path,
                self.lock_name,
                data,
                CreateMode::EphemeralSequential,
                &mut self.rng,
            )
            .await?;
            let mut guard = NodeGuard::new(&self.client, our_path.clone());
            match self.wait_for_turn(&our_path, deadline, &turn).await {
                Ok(true) => {
                    guard.disarm();
                    return Ok(Some(our_path));
                }
                Ok(false) => {
                    guard.delete_now().await;
                    return Ok(None);
                }
                Err(error) if error.is_no_node() => {
                    guard.disarm();
                    let Some(delay) = policy.delay_before_retry(retry_count, &mut self.rng) else {
                        return Err(error);
                    };
                    tracing::debug!(path = %our_path, "lock node vanished; joining again");
                    retry_count += 1;
                    tokio::time::sleep(delay).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    async fn wait_for_turn<F>(
        &self,
        our_path: &str,
        deadline: Option<Instant>,
        turn: &F,
    ) -> Result<bool>
    where
        F: Fn(&[String], &str) -> Result<Turn>,
    {
        let our_name = path::node_name(our_path);
        loop {
            let children = self.sorted_children().await?;
            let Turn {
                holds_lock,
                node_to_watch,
            } = turn(&children, our_name)?;
            if holds_lock {
                return Ok(true);
            }
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Ok(false);
            }
            let Some(node) = node_to_watch else {
                return Err(Error::IllegalState("a waiting turn names no node to watch"));
            };
            let watched = path::join(&self.base_path, &node);
            let watch = match self.client.get_data_watch(&watched).await {
                Ok((_, _, watch)) => watch,
                // Gone already: look again.
                Err(error) if error.is_no_node() => continue,
                Err(error) => return Err(error),
            };
            let fired = match deadline {
                Some(deadline) => match tokio::time::timeout_at(deadline, watch).await {
                    Ok(fired) => fired,
                    Err(_) => return Ok(false),
                },
                None => watch.await,
            };
            match fired {
                Ok(_) => {}
                // The session expired: the next look finds our node missing.
                Err(error) if error.is_session_expired() && error != Error::Closed => {}
                Err(error) => return Err(error),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn children_sort_by_sequence_not_by_uuid() {
        let mut children = names(&[
            "_c_ffffffff-0000-4000-8000-000000000000-lock-0000000001",
            "_c_00000000-0000-4000-8000-000000000000-lock-0000000002",
            "lock-0000000000",
        ]);
        sort_children(&mut children, &["lock-"]);
        assert!(children[0].ends_with("0000000000"));
        assert!(children[1].ends_with("0000000001"));
        assert!(children[2].ends_with("0000000002"));
    }

    #[test]
    fn read_write_names_sort_together() {
        let mut children = names(&["a-__READ__0000000002", "b-__WRIT__0000000001"]);
        sort_children(&mut children, &["__READ__", "__WRIT__"]);
        assert_eq!(children[0], "b-__WRIT__0000000001");
    }

    #[test]
    fn each_waiter_watches_only_its_predecessor() {
        let sorted = names(&["lock-0", "lock-1", "lock-2"]);
        assert_eq!(
            standard_turn(&sorted, "lock-0", 1).unwrap(),
            Turn {
                holds_lock: true,
                node_to_watch: None
            }
        );
        assert_eq!(
            standard_turn(&sorted, "lock-2", 1).unwrap().node_to_watch,
            Some("lock-1".to_owned())
        );
        assert!(standard_turn(&sorted, "lock-2", 3).unwrap().holds_lock);
        assert_eq!(
            standard_turn(&sorted, "lock-9", 1),
            Err(Error::Keeper(ErrorCode::NoNode))
        );
    }
}

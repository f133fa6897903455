//! A distributed read-write lock: Curator's `InterProcessReadWriteLock`, with its layout.
//! Readers and writers queue under one path, readers as `_c_<uuid>-__READ__<sequence>` and
//! writers as `_c_<uuid>-__WRIT__<sequence>`, ordered together by sequence number.
//!
//! A writer holds the lock when its node is first; a reader holds it when no writer's node
//! comes before its own (and otherwise watches the first such writer). A handle that holds
//! the write lock may also take the read lock (downgrading, as in Curator); both are
//! reentrant per handle.

use super::internals::{missing_node, standard_turn, LockInternals, Turn};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::recipes::node_guard::{delete_quietly, NodeGuard};
use std::time::Duration;
use tokio::time::Instant;

/// Curator's reader node name.
pub const READ_LOCK_NAME: &str = "__READ__";
/// Curator's writer node name.
pub const WRITE_LOCK_NAME: &str = "__WRIT__";
const SORT_NAMES: &[&str] = &[READ_LOCK_NAME, WRITE_LOCK_NAME];

/// Which side of the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Shared.
    Read,
    /// Exclusive.
    Write,
}

#[derive(Debug)]
struct Held {
    guard: NodeGuard,
    path: String,
    count: u32,
}

/// A distributed read-write lock on one path.
#[derive(Debug)]
pub struct ReadWriteLock {
    read: LockInternals,
    write: LockInternals,
    read_held: Option<Held>,
    write_held: Option<Held>,
}

/// Curator's reader rule: held if this handle holds the write lock, or if no writer's node
/// comes before ours; otherwise watch the first writer.
pub(crate) fn read_turn(sorted: &[String], our_name: &str, write_held_here: bool) -> Result<Turn> {
    if write_held_here {
        return Ok(Turn {
            holds_lock: true,
            node_to_watch: None,
        });
    }
    let mut first_writer: Option<usize> = None;
    let mut our_index = None;
    for (index, node) in sorted.iter().enumerate() {
        if node.contains(WRITE_LOCK_NAME) {
            first_writer.get_or_insert(index);
        } else if node.starts_with(our_name) {
            our_index = Some(index);
            break;
        }
    }
    let our_index = our_index.ok_or_else(missing_node)?;
    match first_writer {
        Some(writer) if writer < our_index => Ok(Turn {
            holds_lock: false,
            node_to_watch: Some(sorted[writer].clone()),
        }),
        _ => Ok(Turn {
            holds_lock: true,
            node_to_watch: None,
        }),
    }
}

impl ReadWriteLock {
    /// A read-write lock at `path`.
    pub fn new(client: &Client, path: &str) -> Result<Self> {
        Ok(ReadWriteLock {
            read: LockInternals::new(client, path, READ_LOCK_NAME, SORT_NAMES)?,
            write: LockInternals::new(client, path, WRITE_LOCK_NAME, SORT_NAMES)?,
            read_held: None,
            write_held: None,
        })
    }

    /// Waits for `side` of the lock.
    pub async fn acquire(&mut self, side: Side) -> Result<()> {
        self.acquire_until(side, None).await.map(|_| ())
    }

    /// Waits at most `timeout` for `side`; `Ok(false)` if not acquired.
    pub async fn try_acquire(&mut self, side: Side, timeout: Duration) -> Result<bool> {
        self.acquire_until(side, Some(Instant::now() + timeout))
            .await
    }

    async fn acquire_until(&mut self, side: Side, deadline: Option<Instant>) -> Result<bool> {
        let write_held_here = self.write_held.is_some();
        let (internals, held) = match side {
            Side::Read => (&mut self.read, &mut self.read_held),
            Side::Write => (&mut self.write, &mut self.write_held),
        };
        if let Some(held) = held {
            held.count += 1;
            return Ok(true);
        }
        let acquired = match side {
            Side::Read => {
                internals
                    .acquire(&[], deadline, |children, ours| {
                        read_turn(children, ours, write_held_here)
                    })
                    .await?
            }
            Side::Write => {
                internals
                    .acquire(&[], deadline, |children, ours| {
                        standard_turn(children, ours, 1)
                    })
                    .await?
            }
        };
        Ok(match acquired {
            Some(path) => {
                *held = Some(Held {
                    guard: NodeGuard::new(internals.client(), path.clone()),
                    path,
                    count: 1,
                });
                true
            }
            None => false,
        })
    }

    /// Releases one hold of `side`.
    pub async fn release(&mut self, side: Side) -> Result<()> {
        let (internals, held) = match side {
            Side::Read => (&self.read, &mut self.read_held),
            Side::Write => (&self.write, &mut self.write_held),
        };
        let Some(current) = held else {
            return Err(Error::IllegalState(
                "release of a lock side this handle does not hold",
            ));
        };
        current.count -= 1;
        if current.count == 0 {
            if let Some(mut done) = held.take() {
                done.guard.disarm();
                delete_quietly(internals.client(), &done.path).await;
            }
        }
        Ok(())
    }

    /// Whether this handle holds `side`.
    pub fn is_held(&self, side: Side) -> bool {
        match side {
            Side::Read => self.read_held.is_some(),
            Side::Write => self.write_held.is_some(),
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
    fn readers_share_until_a_writer_queues() {
        let sorted = names(&["r-__READ__1", "r-__READ__2", "w-__WRIT__3", "r-__READ__4"]);
        assert!(read_turn(&sorted, "r-__READ__2", false).unwrap().holds_lock);
        let late = read_turn(&sorted, "r-__READ__4", false).unwrap();
        assert!(!late.holds_lock);
        assert_eq!(late.node_to_watch.as_deref(), Some("w-__WRIT__3"));
        assert!(read_turn(&sorted, "r-__READ__4", true).unwrap().holds_lock);
        assert!(read_turn(&sorted, "r-__READ__9", false).is_err());
    }

    #[test]
    fn a_writer_waits_for_everyone_before_it() {
        let sorted = names(&["r-__READ__1", "w-__WRIT__2"]);
        let turn = standard_turn(&sorted, "w-__WRIT__2", 1).unwrap();
        assert_eq!(turn.node_to_watch.as_deref(), Some("r-__READ__1"));
    }
}

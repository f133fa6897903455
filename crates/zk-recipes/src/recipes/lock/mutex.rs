//! A fair, reentrant, distributed mutex: Curator's `InterProcessMutex`, with its node layout
//! (`<path>/_c_<uuid>-lock-<sequence>`), so Rust and Java processes share one lock.
//!
//! Reentrancy is per handle: a handle that holds the lock may acquire it again, and must
//! release it as many times. Tasks that each need the lock create their own handles; two
//! handles contend like two processes.
//!
//! The lock lasts as long as the session: [`Mutex::lost`] tells the holder when the
//! connection drops (the hold is in doubt) and when the session or the node is gone.

use super::internals::{standard_turn, LockInternals};
use super::loss::{hold_lost, LockLoss};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::recipes::node_guard::{delete_quietly, NodeGuard};
use std::time::Duration;
use tokio::time::Instant;

/// Curator's lock node name.
pub const LOCK_NAME: &str = "lock-";

/// A reentrant distributed mutex on one path.
#[derive(Debug)]
pub struct Mutex {
    internals: LockInternals,
    held: Option<Held>,
    data: Vec<u8>,
}

#[derive(Debug)]
struct Held {
    /// Our lock node; deleted if the handle is dropped while holding it.
    guard: NodeGuard,
    path: String,
    count: u32,
}

impl Mutex {
    /// A mutex at `path` (created, with its parents, as needed).
    pub fn new(client: &Client, path: &str) -> Result<Self> {
        Ok(Mutex {
            internals: LockInternals::new(client, path, LOCK_NAME, &[LOCK_NAME])?,
            held: None,
            data: Vec::new(),
        })
    }

    /// The data written into this handle's lock nodes (Curator writes the client's address
    /// by default; readers of the participants see it).
    pub fn with_node_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// Waits until the lock is held (or held again, by this handle).
    pub async fn acquire(&mut self) -> Result<()> {
        self.acquire_until(None).await.map(|_| ())
    }

    /// Waits at most `timeout`; `Ok(false)` if the lock was not acquired in time (this
    /// handle's waiting node is then deleted).
    pub async fn try_acquire(&mut self, timeout: Duration) -> Result<bool> {
        self.acquire_until(Some(Instant::now() + timeout)).await
    }

    async fn acquire_until(&mut self, deadline: Option<Instant>) -> Result<bool> {
        if let Some(held) = &mut self.held {
            held.count += 1;
            return Ok(true);
        }
        let acquired = self
            .internals
            .acquire(&self.data, deadline, |children, ours| {
                standard_turn(children, ours, 1)
            })
            .await?;
        Ok(match acquired {
            Some(path) => {
                self.held = Some(Held {
                    guard: NodeGuard::new(self.internals.client(), path.clone()),
                    path,
                    count: 1,
                });
                true
            }
            None => false,
        })
    }

    /// Releases one hold; the last release deletes this handle's node, letting the next
    /// waiter in.
    pub async fn release(&mut self) -> Result<()> {
        let Some(held) = &mut self.held else {
            return Err(Error::IllegalState(
                "release of a mutex this handle does not hold",
            ));
        };
        held.count -= 1;
        if held.count > 0 {
            return Ok(());
        }
        if let Some(mut held) = self.held.take() {
            held.guard.disarm();
            delete_quietly(self.internals.client(), &held.path).await;
        }
        Ok(())
    }

    /// Resolves with the first sign that this handle can no longer count on its lock: the
    /// connection dropped ([`LockLoss::Suspended`]: stop using what the lock protects, the
    /// session may expire and the lock pass on before this client hears of it), the
    /// session was lost or expired, or the node was deleted. At once with
    /// [`LockLoss::NotHeld`] if the handle holds nothing. The handle still counts itself
    /// the holder ([`Mutex::is_held`]) until [`Mutex::release`], which is safe to call
    /// after a loss.
    pub async fn lost(&self) -> LockLoss {
        match &self.held {
            Some(held) => hold_lost(self.internals.client(), &held.path).await,
            None => LockLoss::NotHeld,
        }
    }

    /// Whether this handle holds the lock.
    pub fn is_held(&self) -> bool {
        self.held.is_some()
    }

    /// This handle's lock node while it holds the lock.
    pub fn node_path(&self) -> Option<&str> {
        self.held.as_ref().map(|held| held.path.as_str())
    }

    /// The participants' node names in lock order (the first holds the lock).
    pub async fn participants(&self) -> Result<Vec<String>> {
        self.internals.sorted_children().await
    }

    /// The lock's path.
    pub fn path(&self) -> &str {
        self.internals.base_path()
    }
}

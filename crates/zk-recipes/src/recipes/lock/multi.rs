//! Several locks taken as one (Curator's `InterProcessMultiLock`): acquired in the order
//! given, released in reverse; if one cannot be had in time, those already held are
//! released, so a caller holds all or none.

use super::mutex::Mutex;
use crate::client::Client;
use crate::error::Result;
use std::time::Duration;
use tokio::time::Instant;

/// Mutexes on several paths, held together.
#[derive(Debug)]
pub struct MultiLock {
    locks: Vec<Mutex>,
}

impl MultiLock {
    /// A multi-lock over a mutex on each of `paths` (in this order).
    pub fn new(client: &Client, paths: &[&str]) -> Result<Self> {
        let locks = paths
            .iter()
            .map(|path| Mutex::new(client, path))
            .collect::<Result<Vec<_>>>()?;
        Ok(MultiLock { locks })
    }

    /// Waits for every lock.
    pub async fn acquire(&mut self) -> Result<()> {
        self.acquire_until(None).await.map(|_| ())
    }

    /// Waits at most `timeout` for all of them; `Ok(false)` (holding none) otherwise.
    pub async fn try_acquire(&mut self, timeout: Duration) -> Result<bool> {
        self.acquire_until(Some(Instant::now() + timeout)).await
    }

    async fn acquire_until(&mut self, deadline: Option<Instant>) -> Result<bool> {
        for index in 0..self.locks.len() {
            let outcome = match deadline {
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    self.locks[index].try_acquire(left).await
                }
                None => self.locks[index].acquire().await.map(|()| true),
            };
            match outcome {
                Ok(true) => {}
                other => {
                    for held in self.locks[..index].iter_mut().rev() {
                        held.release().await?;
                    }
                    return other;
                }
            }
        }
        Ok(true)
    }

    /// Releases every lock, in reverse order.
    pub async fn release(&mut self) -> Result<()> {
        for lock in self.locks.iter_mut().rev() {
            lock.release().await?;
        }
        Ok(())
    }

    /// Whether every lock is held by this multi-lock.
    pub fn is_held(&self) -> bool {
        self.locks.iter().all(Mutex::is_held)
    }
}

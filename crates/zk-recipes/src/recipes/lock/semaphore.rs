//! A counting semaphore with leases: Curator's `InterProcessSemaphoreV2`, with its layout.
//! Acquirers take turns through a mutex at `<path>/locks`, and hold a lease as a protected
//! ephemeral sequential node `<path>/leases/_c_<uuid>-lease-<sequence>`; a lease is granted
//! while at most `max_leases` lease nodes exist, otherwise the acquirer (still holding the
//! mutex, so the queue stays fair) waits for the lease list to change.
//!
//! [`SemaphoreMutex`] is the non-reentrant mutex built on it with one lease (Curator's
//! `InterProcessSemaphoreMutex`).

use super::mutex::Mutex;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::path;
use crate::recipes::node_guard::{delete_quietly, NodeGuard};
use crate::recipes::protected::create_protected;
use crate::rng::SeededRng;
use std::time::Duration;
use tokio::time::Instant;
use zk_proto::CreateMode;

/// Curator's child holding the acquirers' mutex.
pub const LOCK_PARENT: &str = "locks";
/// Curator's child holding the leases.
pub const LEASE_PARENT: &str = "leases";
/// Curator's lease node name.
pub const LEASE_NAME: &str = "lease-";

/// A granted lease; give it back with [`Lease::release`]. Dropped, it is released in the
/// background.
#[derive(Debug)]
pub struct Lease {
    client: Client,
    guard: NodeGuard,
    path: String,
}

impl Lease {
    /// The lease's node.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Returns the lease (deletes its node).
    pub async fn release(mut self) {
        self.guard.disarm();
        delete_quietly(&self.client, &self.path).await;
    }
}

/// A distributed counting semaphore.
#[derive(Debug)]
pub struct Semaphore {
    client: Client,
    lock: Mutex,
    leases_path: String,
    max_leases: usize,
    rng: SeededRng,
}

impl Semaphore {
    /// A semaphore at `path` with `max_leases` leases (all participants must agree on it).
    pub fn new(client: &Client, path: &str, max_leases: usize) -> Result<Self> {
        if max_leases == 0 {
            return Err(Error::InvalidArgument(
                "a semaphore needs at least one lease".into(),
            ));
        }
        Ok(Semaphore {
            client: client.clone(),
            lock: Mutex::new(client, &path::join(path, LOCK_PARENT))?,
            leases_path: path::join(path, LEASE_PARENT),
            max_leases,
            rng: client.id_rng(),
        })
    }

    /// Waits for one lease.
    pub async fn acquire(&mut self) -> Result<Lease> {
        match self.acquire_until(None).await? {
            Some(lease) => Ok(lease),
            None => Err(Error::Timeout),
        }
    }

    /// Waits at most `timeout` for one lease.
    pub async fn try_acquire(&mut self, timeout: Duration) -> Result<Option<Lease>> {
        self.acquire_until(Some(Instant::now() + timeout)).await
    }

    /// Waits for `count` leases, all or none, until `timeout`.
    pub async fn try_acquire_many(
        &mut self,
        count: usize,
        timeout: Duration,
    ) -> Result<Option<Vec<Lease>>> {
        let deadline = Instant::now() + timeout;
        let mut leases = Vec::with_capacity(count);
        for _ in 0..count {
            match self.acquire_until(Some(deadline)).await {
                Ok(Some(lease)) => leases.push(lease),
                Ok(None) => {
                    for lease in leases {
                        lease.release().await;
                    }
                    return Ok(None);
                }
                Err(error) => {
                    for lease in leases {
                        lease.release().await;
                    }
                    return Err(error);
                }
            }
        }
        Ok(Some(leases))
    }

    /// The current lease nodes' names.
    pub async fn participants(&self) -> Result<Vec<String>> {
        match self.client.get_children(&self.leases_path).await {
            Ok(children) => Ok(children),
            Err(error) if error.is_no_node() => Ok(Vec::new()),
            Err(error) => Err(error),
        }
    }

    async fn acquire_until(&mut self, deadline: Option<Instant>) -> Result<Option<Lease>> {
        let policy = self.client.config().retry_policy.clone();
        let mut retry_count = 0;
        loop {
            let locked = match deadline {
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    self.lock.try_acquire(left).await?
                }
                None => {
                    self.lock.acquire().await?;
                    true
                }
            };
            if !locked {
                return Ok(None);
            }
            let outcome = self.take_lease(deadline).await;
            self.lock.release().await?;
            match outcome {
                Err(error) if error.is_no_node() => {
                    // Our lease node vanished (session expiry): start over if allowed.
                    let Some(delay) = policy.delay_before_retry(retry_count, &mut self.rng) else {
                        return Err(error);
                    };
                    retry_count += 1;
                    tokio::time::sleep(delay).await;
                }
                other => return other,
            }
        }
    }

    /// With the mutex held: create our lease node and wait until at most `max_leases`
    /// exist.
    async fn take_lease(&mut self, deadline: Option<Instant>) -> Result<Option<Lease>> {
        let path = create_protected(
            &self.client,
            &self.leases_path,
            LEASE_NAME,
            &[],
            CreateMode::EphemeralSequential,
            &mut self.rng,
        )
        .await?;
        let mut guard = NodeGuard::new(&self.client, path.clone());
        let name = path::node_name(&path).to_owned();
        loop {
            let (children, _, watch) = self.client.get_children_watch(&self.leases_path).await?;
            if !children.contains(&name) {
                guard.disarm();
                return Err(super::internals::missing_node());
            }
            if children.len() <= self.max_leases {
                return Ok(Some(Lease {
                    client: self.client.clone(),
                    guard,
                    path,
                }));
            }
            let fired = match deadline {
                Some(deadline) => match tokio::time::timeout_at(deadline, watch).await {
                    Ok(fired) => fired,
                    Err(_) => {
                        guard.delete_now().await;
                        return Ok(None);
                    }
                },
                None => watch.await,
            };
            if let Err(error) = fired {
                if error == Error::Closed {
                    return Err(error);
                }
            }
        }
    }
}

/// A non-reentrant distributed mutex: a [`Semaphore`] with one lease (Curator's
/// `InterProcessSemaphoreMutex`). Unlike [`Mutex`] a holder cannot acquire it again.
#[derive(Debug)]
pub struct SemaphoreMutex {
    semaphore: Semaphore,
    lease: Option<Lease>,
}

impl SemaphoreMutex {
    /// A semaphore mutex at `path`.
    pub fn new(client: &Client, path: &str) -> Result<Self> {
        Ok(SemaphoreMutex {
            semaphore: Semaphore::new(client, path, 1)?,
            lease: None,
        })
    }

    /// Waits for the lock; acquiring it again while holding it is an error (it would wait
    /// for itself forever).
    pub async fn acquire(&mut self) -> Result<()> {
        if self.lease.is_some() {
            return Err(Error::IllegalState("a semaphore mutex is not reentrant"));
        }
        self.lease = Some(self.semaphore.acquire().await?);
        Ok(())
    }

    /// Waits at most `timeout`; `Ok(false)` if not acquired.
    pub async fn try_acquire(&mut self, timeout: Duration) -> Result<bool> {
        if self.lease.is_some() {
            return Err(Error::IllegalState("a semaphore mutex is not reentrant"));
        }
        self.lease = self.semaphore.try_acquire(timeout).await?;
        Ok(self.lease.is_some())
    }

    /// Releases the lock.
    pub async fn release(&mut self) -> Result<()> {
        match self.lease.take() {
            Some(lease) => {
                lease.release().await;
                Ok(())
            }
            None => Err(Error::IllegalState(
                "release of a mutex this handle does not hold",
            )),
        }
    }

    /// Whether this handle holds the lock.
    pub fn is_held(&self) -> bool {
        self.lease.is_some()
    }
}

//! Locks with Curator's node layouts and names, so Rust and Java processes contend
//! correctly on the same paths.
//!
//! - `internals`: the queue of ephemeral sequential nodes, each waiter watching only its
//!   predecessor (Curator's `LockInternals`).
//! - [`mutex`]: [`Mutex`], fair and reentrant (`InterProcessMutex`).
//! - [`semaphore`]: [`Semaphore`] with [`Lease`]s (`InterProcessSemaphoreV2`) and
//!   [`SemaphoreMutex`], non-reentrant (`InterProcessSemaphoreMutex`).
//! - [`read_write`]: [`ReadWriteLock`] (`InterProcessReadWriteLock`).
//! - [`multi`]: [`MultiLock`], several locks as one (`InterProcessMultiLock`).
//! - [`loss`]: [`LockLoss`], what [`Mutex::lost`] reports when a hold is in doubt or gone.

pub(crate) mod internals;
pub mod loss;
pub mod multi;
pub mod mutex;
pub mod read_write;
pub mod semaphore;

pub use loss::LockLoss;
pub use multi::MultiLock;
pub use mutex::Mutex;
pub use read_write::{ReadWriteLock, Side};
pub use semaphore::{Lease, Semaphore, SemaphoreMutex};

//! Coordination recipes with Curator's semantics (and, for locks and leader election, its
//! znode layouts), named in Rust style.
//!
//! - [`lock`]: mutex, semaphore mutex, read-write lock, counting semaphore with leases,
//!   multi-lock.
//! - [`leader`]: leader latch and leader selector.
//! - [`cache`]: node cache and tree (or children) cache.
//! - [`persistent_node`]: a node re-created whenever it goes (registrations that survive
//!   session expiry).
//! - [`group`]: group membership (kazoo's `Party`) and the live member list.
//! - [`server_set`]: servers registering under `/servers`, clients holding the live list.
//! - [`discovery`]: service registry in Dubbo's layout, with random and round-robin choice.
//! - [`running`]: Canal-style active/standby on an ephemeral `running` node.
//! - [`shared`]: shared count (versioned compare-and-set) and distributed atomic long.
//! - [`barrier`]: barrier and double barrier.
//! - [`queue`]: distributed queue, FIFO or by priority, with exactly-once consumption.
//! - [`partitioner`]: a set of items divided among a group's members (kazoo's
//!   `SetPartitioner`).
//! - [`timed_lease`]: leases that run out by time (kazoo's `NonBlockingLease`).
//! - [`protected`]: protected creates (`_c_<uuid>-` names) that survive lost replies.

pub mod barrier;
pub mod cache;
pub mod discovery;
pub mod group;
pub mod leader;
pub mod lock;
pub(crate) mod node_guard;
pub mod partitioner;
pub mod persistent_node;
pub mod protected;
pub mod queue;
pub mod running;
pub mod server_set;
pub mod shared;
pub mod timed_lease;

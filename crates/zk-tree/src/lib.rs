//! The znode data tree of a ZooKeeper-compatible server: pure and deterministic (no I/O, no
//! clock, no randomness; time and zxids are inputs), matching Apache ZooKeeper 3.8.
//!
//! Writes go through two steps, as in Apache's pipeline: [`DataTree::prepare`] checks a
//! request against the tree plus the [`PendingChanges`] of earlier prepared requests and
//! returns a [`Txn`] (an error txn when the request fails); once the txn is committed,
//! every replica runs [`DataTree::apply`], which returns the result and the watch events
//! to fire. Reads (`get_data`, `get_children`, ...) check ACLs as Apache does. See
//! `DESIGN.md` for the pipeline.
//!
//! # Layout
//! - [`path`]: [`ZnodePath`] and Apache's path validation.
//! - [`acl`]: [`AuthContext`], the auth schemes, ACL checks, `fixupACL`, [`digest_id`].
//! - `acl_cache`: interned ACL lists with reference counts.
//! - [`stat`]: the stored stat, the client's view of it, znode kinds ([`EphemeralKind`]),
//!   TTL encoding, sequential suffixes.
//! - `node`: the compact znode and the chunked, copy-on-write arena of znodes.
//! - `index`: the (parent, name) -> znode hash index.
//! - `hash`: the platform-independent hash used by the index and the digest.
//! - `digest`: the incremental replica digest.
//! - `tree`: [`DataTree`] state, [`TreeConfig`], and the primitive changes.
//! - `read`: the read operations and their permission checks.
//! - [`request`]: [`WriteRequest`], the input of prepare.
//! - [`pending`]: [`PendingChanges`], changes prepared but not yet applied.
//! - `prepare`: request -> transaction, with Apache's checks in Apache's order.
//! - [`txn`]: [`Txn`] and [`TxnBody`], the serde transactions.
//! - `apply`: transaction -> changed tree + [`ApplyOutcome`].
//! - [`outcome`]: [`ApplyOutcome`], [`TxnResult`], [`WatchTrigger`].
//! - `quota`: the usage counts kept in `/zookeeper/quota/.../zookeeper_stats`.
//! - `reap`: containers and TTL znodes due for removal.
//! - `size`: the approximate data size `mntr` reports.
//! - `snapshot`: canonical snapshot bytes and restore.
//! - [`snapshot_view`]: [`SnapshotView`], a cheap frozen copy to encode on another thread.
//! - [`error`]: [`TreeError`], the crate's own failures.

pub mod acl;
mod acl_cache;
mod apply;
mod digest;
pub mod error;
mod hash;
mod index;
mod node;
pub mod outcome;
pub mod path;
pub mod pending;
mod prepare;
mod quota;
mod read;
mod reap;
pub mod request;
mod size;
mod snapshot;
pub mod snapshot_view;
pub mod stat;
mod tree;
pub mod txn;

pub use acl::{digest_id, AuthContext};
pub use error::TreeError;
pub use outcome::{ApplyOutcome, TxnResult, WatchTrigger};
pub use path::ZnodePath;
pub use pending::PendingChanges;
pub use request::WriteRequest;
pub use snapshot::SNAPSHOT_FORMAT;
pub use snapshot_view::SnapshotView;
pub use stat::{EphemeralKind, CONTAINER_EPHEMERAL_OWNER, TTL_MAX_MS};
pub use tree::{DataTree, TreeConfig, CONFIG_ZOOKEEPER, PROC_ZOOKEEPER, QUOTA_ZOOKEEPER};
pub use txn::{Txn, TxnBody};

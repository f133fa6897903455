//! Durability: the transaction log, snapshots, recovery at start, purging of old files, and
//! the offline dump tools. Apache ZooKeeper's `FileTxnLog`, `FileSnap`, `FileTxnSnapLog`,
//! `PurgeTxnLog` and the `zkTxnLogToolkit`/`zkSnapShotToolkit` scripts, with our own file
//! formats (postcard payloads, fixed little-endian headers, CRC32 everywhere).
//!
//! The [`crate::actors::log::LogActor`] drives this module from the server; nothing here
//! knows about actors. See `README.md` beside this file for the on-disk layout, the
//! guarantees and the measured numbers.
//!
//! # Layout
//! - [`config`]: [`StorageConfig`], the zoo.cfg knobs and named limits of this layer.
//! - [`error`]: [`StorageError`], every failure, naming the file (and offset) concerned.
//! - [`files`]: directory layout, file names (`log.<zxid>`, `snapshot.<zxid>`), listing,
//!   directory fsync.
//! - [`record`]: one log record (length, CRC32, postcard txn): encoding, decoding, and
//!   telling a zero-filled end from damage.
//! - [`segment`]: one log segment file: its header, scanning it, writing it with
//!   preallocation.
//! - [`spare`]: the next segment's file, prepared ahead of time under a spare name and
//!   renamed when the segment starts.
//! - [`preallocator`]: the thread preparing spares and the zeros ahead of the current
//!   segment, and the log's handle on it.
//! - [`txn_log`]: [`TxnLog`], the append-only log of segments with group commit
//!   (`append` then `sync`) and rolling.
//! - [`snapshot`]: snapshot files: header, atomic write (streamed from a tree view), verified
//!   read.
//! - [`snapshot_policy`]: when to snapshot (Apache's randomised `snapCount`), seeded.
//! - [`quorum_queue`]: the order of an ensemble member's durable writes (ZAB's `Persist`).
//! - [`group_commit`]: which persisted txns go into the next fsync.
//! - [`recovery`]: [`recover`]: newest valid snapshot + log replay, torn-tail repair.
//! - [`purge`]: autopurge: keep the newest snapshots and the log they need.
//! - [`epochs`]: the `acceptedEpoch` and `currentEpoch` files of an ensemble member.
//! - [`dump`]: readable text for one snapshot or log file (`snapshot-dump`, `log-dump`).
//! - [`background`]: the two threads that own the files at run time (log sync, snapshot
//!   writing and purging), so that no disk wait blocks an actix arbiter; the log thread's
//!   log has a third, the preallocator.

pub mod background;
pub mod config;
pub mod dump;
pub mod epochs;
pub mod error;
pub mod files;
pub mod group_commit;
pub mod preallocator;
pub mod purge;
pub mod quorum_queue;
pub mod record;
pub mod recovery;
pub mod segment;
pub mod snapshot;
pub mod snapshot_policy;
pub mod spare;
pub mod txn_log;

pub use config::StorageConfig;
pub use dump::{dump_log, dump_snapshot};
pub use error::StorageError;
pub use purge::{purge, PurgeReport};
pub use recovery::{recover, recover_for_quorum, QuorumRecovered, Recovered};
pub use txn_log::TxnLog;

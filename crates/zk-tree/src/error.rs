//! The crate's own failures. Outcomes a client sees are `zk_proto::ErrorCode`s inside
//! transactions and read results; these are the failures of the tree itself.

use thiserror::Error;

/// Why a snapshot could not be restored.
#[derive(Debug, Error)]
pub enum TreeError {
    /// The bytes are not a snapshot (truncated, or not postcard of the expected layout).
    #[error("snapshot cannot be decoded: {0}")]
    SnapshotDecode(#[from] postcard::Error),
    /// The snapshot was written in a format this version does not read.
    #[error("snapshot format {found} is not supported (expected {expected})")]
    SnapshotFormat { found: u32, expected: u32 },
    /// The snapshot decodes but does not describe a valid tree.
    #[error("snapshot is inconsistent: {0}")]
    SnapshotCorrupt(String),
    /// The snapshot's content does not match the digest it was written with.
    #[error("snapshot digest {stored:#x} does not match its content ({computed:#x})")]
    DigestMismatch { stored: u64, computed: u64 },
}

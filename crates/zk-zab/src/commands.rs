//! What the cores ask the host to do. The host executes the commands of one call in order.

use crate::messages::Message;
use crate::txn::Txn;
use zk_proto::{Epoch, ServerId, Zxid};

/// Identifies one durable write. Ids increase by one per write; the host confirms them in
/// order with [`crate::QuorumPeer::on_persisted`], one call covering every write up to an id
/// (so group commit is the host's choice).
///
/// Writes are named by id rather than by zxid because after a TRUNC or SNAP a zxid can be
/// written again, and a late confirmation of the old write must not vouch for the new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct WriteId(pub u64);

/// One durable change, applied by the host in the order issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DurableWrite {
    /// Record the epoch this server promised to follow (ZooKeeper's `acceptedEpoch` file).
    AcceptedEpoch {
        /// The new accepted epoch.
        epoch: Epoch,
    },
    /// Record the epoch of the leader this server is synchronised with (`currentEpoch`).
    CurrentEpoch {
        /// The new current epoch.
        epoch: Epoch,
    },
    /// Append transactions to the log.
    AppendTxns {
        /// The transactions, in zxid order, all above the log's last zxid.
        txns: Vec<Txn>,
    },
    /// Drop every logged transaction above `after`. None of them was ever delivered.
    TruncateLog {
        /// The last zxid to keep.
        after: Zxid,
    },
    /// Replace the state machine and the log with this snapshot; the log restarts after
    /// `snapshot_zxid`. The host loads the snapshot before executing the next command, and
    /// keeps it on disk as its newest snapshot.
    InstallSnapshot {
        /// The last zxid the snapshot covers.
        snapshot_zxid: Zxid,
        /// The serialized state, as the leader's host produced it.
        snapshot: Vec<u8>,
    },
}

/// An instruction from a core to its host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Send `message` to peer `to`. Election notifications may be lost; everything else goes
    /// over the ordered leader–learner connection (see DESIGN.md, "Host contract").
    Send {
        /// The destination.
        to: ServerId,
        /// The message.
        message: Message,
    },
    /// Make `write` durable, then confirm `id` with `on_persisted`.
    Persist {
        /// The write's id.
        id: WriteId,
        /// The change.
        write: DurableWrite,
    },
    /// Apply a committed transaction to the state machine. Deliveries come in zxid order,
    /// each exactly once per state machine (after a restart or a SNAP, delivery resumes after
    /// the snapshot).
    Deliver {
        /// The committed transaction.
        txn: Txn,
    },
    /// Serialize the state machine as it stands after the last `Deliver`, then call
    /// `on_snapshot` with the learner's id; the leader sends it with SNAP.
    TakeSnapshot {
        /// The learner that needs it.
        learner: ServerId,
    },
    /// This server now looks for a leader; close every leader–learner connection.
    BecomeLooking,
    /// This server follows `leader`; close other connections.
    BecomeFollower {
        /// The elected leader.
        leader: ServerId,
    },
    /// This server observes `leader`; close other connections.
    BecomeObserver {
        /// The elected leader.
        leader: ServerId,
    },
    /// This server leads; close connections it had as a learner.
    BecomeLeader,
    /// The epoch is established (a quorum is synchronised with the leader): start serving
    /// clients. A leader emits it once a quorum acknowledged NEWLEADER, a learner on UPTODATE.
    Established {
        /// The leader of the epoch.
        leader: ServerId,
        /// The epoch.
        epoch: Epoch,
    },
}

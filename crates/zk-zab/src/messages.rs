//! Messages between peers. They are serde types; the transport encodes an [`Envelope`] (with
//! postcard, later) so that the protocol version travels with every message.
//!
//! Names follow ZooKeeper's quorum packets (FOLLOWERINFO, LEADERINFO, ACKEPOCH, NEWLEADER,
//! UPTODATE, PROPOSAL, ACK, COMMIT, INFORM, PING). One deliberate difference: ZooKeeper sends
//! DIFF/TRUNC/SNAP, the missing proposals and NEWLEADER as separate packets back to back; here
//! they are one [`NewLeader`] message, because they are one decision and must arrive together.

use crate::error::ZabError;
use crate::quorum::LearnerType;
use crate::txn::Txn;
use crate::vote::Notification;
use serde::{Deserialize, Serialize};
use zk_proto::{Epoch, Zxid};

/// The version of this message set. A peer that sends another version is refused.
pub const PROTOCOL_VERSION: u16 = 1;

/// A message as it travels on the wire: the protocol version, then the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// [`PROTOCOL_VERSION`] of the sender.
    pub version: u16,
    /// The message.
    pub message: Message,
}

impl Envelope {
    /// Wraps `message` with this server's protocol version.
    pub fn new(message: Message) -> Self {
        Envelope {
            version: PROTOCOL_VERSION,
            message,
        }
    }

    /// The message, if the sender speaks our version.
    pub fn open(self) -> Result<Message, ZabError> {
        if self.version == PROTOCOL_VERSION {
            Ok(self.message)
        } else {
            Err(ZabError::UnsupportedProtocolVersion {
                version: self.version,
                supported: PROTOCOL_VERSION,
            })
        }
    }
}

/// Everything peers say to each other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// Fast leader election: the sender's vote, round and state. Travels on the election
    /// channel; every other message travels on the leader–learner connection.
    Notification(Notification),
    /// Learner → leader, first message of discovery (FOLLOWERINFO / OBSERVERINFO).
    FollowerInfo {
        /// The highest epoch the learner has promised to follow.
        accepted_epoch: Epoch,
        /// The learner's last logged zxid.
        last_zxid: Zxid,
        /// Whether the learner votes.
        learner_type: LearnerType,
    },
    /// Leader → learner: the epoch it proposes (LEADERINFO).
    LeaderInfo {
        /// The new epoch, above every accepted epoch of a quorum.
        new_epoch: Epoch,
    },
    /// Learner → leader: the learner accepted the new epoch, and here is its history
    /// (ACKEPOCH).
    AckEpoch {
        /// The epoch of the last leader the learner synchronised with.
        current_epoch: Epoch,
        /// What the learner's log holds.
        history: HistorySummary,
        /// False when the learner had already accepted this epoch before, so this reply must
        /// not count as a new promise (ZooKeeper sends -1 as the epoch in that case).
        accepted: bool,
    },
    /// Leader → learner: how to make its log equal to the leader's history (NEWLEADER).
    NewLeader(NewLeader),
    /// Learner → leader: the synchronised history and the new epoch are durable.
    AckNewLeader {
        /// The new epoch.
        epoch: Epoch,
        /// The learner's last durable zxid.
        last_zxid: Zxid,
    },
    /// Leader → learner: the epoch is established; serve clients (UPTODATE).
    UpToDate {
        /// The established epoch.
        epoch: Epoch,
        /// Everything up to this zxid is committed.
        committed_zxid: Zxid,
    },
    /// Leader → follower: log this transaction (PROPOSAL).
    Proposal {
        /// The proposed transaction.
        txn: Txn,
    },
    /// Learner → leader: every proposal up to `zxid` is durable here (ACK). Acknowledgements
    /// are cumulative, so a lost ACK is repaired by the next one; learners also answer pings
    /// with one, which doubles as their heartbeat.
    Ack {
        /// The leader's epoch.
        epoch: Epoch,
        /// The learner's last durable zxid.
        zxid: Zxid,
    },
    /// Leader → follower: every proposal up to `zxid` is committed (COMMIT).
    Commit {
        /// The last committed zxid.
        zxid: Zxid,
    },
    /// Leader → observer: a committed transaction (INFORM).
    Inform {
        /// The committed transaction.
        txn: Txn,
    },
    /// Leader → learner heartbeat (PING).
    Ping {
        /// The leader's epoch.
        epoch: Epoch,
        /// Everything up to this zxid is committed.
        committed_zxid: Zxid,
    },
}

impl Message {
    /// Whether this message travels on the election channel rather than on a leader–learner
    /// connection.
    pub fn is_election(&self) -> bool {
        matches!(self, Message::Notification(_))
    }
}

/// A learner's description of its log, enough for the leader to find where their histories
/// part without shipping the log.
///
/// Within one epoch, transactions come from that epoch's one leader with consecutive counters,
/// and a zxid names the same transaction on every server. So the last zxid of each epoch the
/// learner holds tells the leader exactly which of the learner's transactions it also has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistorySummary {
    /// Everything up to here is committed (delivered by the learner), hence in every later
    /// leader's history.
    pub committed_zxid: Zxid,
    /// The last zxid of each epoch the learner holds above `committed_zxid`, oldest first; at
    /// most `Config::history_epochs_max` of them.
    pub epoch_ends: Vec<Zxid>,
    /// The learner's last logged zxid.
    pub last_zxid: Zxid,
}

/// How a learner's log is made equal to the leader's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncMode {
    /// The learner's log is a prefix of the leader's: append the transactions (DIFF).
    Diff,
    /// The learner holds transactions the leader does not: drop everything after `after`,
    /// then append (TRUNC). Those transactions were never committed.
    Trunc {
        /// The last zxid both histories share.
        after: Zxid,
    },
    /// The learner is too far behind for the leader's in-memory log: replace its state with
    /// the snapshot, then append (SNAP).
    Snap {
        /// The last zxid the snapshot covers.
        snapshot_zxid: Zxid,
        /// The host's serialized state, opaque to ZAB.
        #[serde(with = "serde_bytes")]
        snapshot: Vec<u8>,
    },
}

/// NEWLEADER with the synchronisation that precedes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewLeader {
    /// The new epoch.
    pub epoch: Epoch,
    /// How to reach the leader's history.
    pub sync: SyncMode,
    /// The transactions to append after applying `sync`, in zxid order.
    pub txns: Vec<Txn>,
    /// Everything up to this zxid is already committed and may be delivered at once.
    pub committed_zxid: Zxid,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_of_another_version_is_refused() {
        let ping = Message::Commit { zxid: Zxid(3) };
        assert_eq!(Envelope::new(ping.clone()).open(), Ok(ping.clone()));
        let future = Envelope {
            version: PROTOCOL_VERSION + 1,
            message: ping,
        };
        assert!(matches!(
            future.open(),
            Err(ZabError::UnsupportedProtocolVersion { .. })
        ));
    }
}

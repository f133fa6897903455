//! Votes of fast leader election and the order that decides between them.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use zk_proto::{Epoch, ServerId, Zxid};

/// The logical clock of fast leader election (ZooKeeper's `electionEpoch`): it counts election
/// rounds, so that votes from an older round can be told apart from current ones.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct ElectionEpoch(pub u64);

impl ElectionEpoch {
    /// The round after this one.
    pub fn next(self) -> Self {
        ElectionEpoch(self.0.saturating_add(1))
    }
}

/// The role a server plays, as announced in its election notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PeerState {
    /// Electing a leader.
    Looking,
    /// Following an elected leader (a voter).
    Following,
    /// Leading.
    Leading,
    /// Following an elected leader without a vote.
    Observing,
}

/// A proposal for who should lead: the candidate, the last zxid it logged and its current
/// epoch (ZooKeeper's `peerEpoch`).
///
/// Votes are ordered by peer epoch, then zxid, then server id: the server with the most recent
/// history wins, and the id breaks ties so that every server picks the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Vote {
    /// The proposed leader.
    pub leader: ServerId,
    /// The proposed leader's last logged zxid.
    pub zxid: Zxid,
    /// The proposed leader's current epoch.
    pub peer_epoch: Epoch,
}

impl Vote {
    fn rank(&self) -> (Epoch, Zxid, ServerId) {
        (self.peer_epoch, self.zxid, self.leader)
    }
}

impl Ord for Vote {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank().cmp(&other.rank())
    }
}

impl PartialOrd for Vote {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// What one server tells the others during an election: its vote, its round and its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// The sender's vote (for a server that is not looking: the vote it decided on).
    pub vote: Vote,
    /// The sender's election round.
    pub round: ElectionEpoch,
    /// The sender's state.
    pub state: PeerState,
}

impl Notification {
    /// Whether this notification counts towards `target` in a quorum tally.
    ///
    /// While either side is still looking, only an identical vote from the same round
    /// counts; between servers that already follow or lead, agreeing on the leader and its
    /// epoch is enough, because their rounds may differ (a server that joined a running
    /// ensemble took the round of the peers it learned the leader from).
    pub fn supports(&self, target: &Notification) -> bool {
        if self.state == PeerState::Looking || target.state == PeerState::Looking {
            self.vote == target.vote && self.round == target.round
        } else {
            self.vote.leader == target.vote.leader && self.vote.peer_epoch == target.vote.peer_epoch
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vote(leader: u64, zxid: i64, peer_epoch: u32) -> Vote {
        Vote {
            leader: ServerId(leader),
            zxid: Zxid(zxid),
            peer_epoch: Epoch(peer_epoch),
        }
    }

    #[test]
    fn votes_compare_by_epoch_then_zxid_then_id() {
        assert!(
            vote(1, 5, 2) > vote(3, 9, 1),
            "a higher epoch wins over a higher zxid"
        );
        assert!(
            vote(1, 9, 1) > vote(3, 5, 1),
            "a higher zxid wins over a higher id"
        );
        assert!(vote(3, 5, 1) > vote(1, 5, 1), "the id breaks ties");
        assert_eq!(vote(2, 5, 1).cmp(&vote(2, 5, 1)), Ordering::Equal);
    }

    #[test]
    fn looking_votes_must_match_exactly_and_established_ones_by_leader_and_epoch() {
        let looking = |v, r| Notification {
            vote: v,
            round: ElectionEpoch(r),
            state: PeerState::Looking,
        };
        let following = |v, r| Notification {
            vote: v,
            round: ElectionEpoch(r),
            state: PeerState::Following,
        };
        assert!(looking(vote(2, 5, 1), 3).supports(&looking(vote(2, 5, 1), 3)));
        assert!(!looking(vote(2, 5, 1), 3).supports(&looking(vote(2, 5, 1), 4)));
        assert!(!following(vote(2, 6, 1), 3).supports(&looking(vote(2, 5, 1), 3)));
        assert!(following(vote(2, 6, 1), 7).supports(&following(vote(2, 5, 1), 3)));
        assert!(!following(vote(2, 6, 2), 7).supports(&following(vote(2, 5, 1), 3)));
    }
}

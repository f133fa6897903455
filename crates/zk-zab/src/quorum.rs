//! Ensemble membership and the majority rule (ZooKeeper's `QuorumMaj`).

use crate::error::ZabError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use zk_proto::{ServerId, Zxid};

/// Whether a learner votes (a follower) or only listens (an observer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LearnerType {
    /// A voting member: it acknowledges proposals and counts towards quorums.
    Participant,
    /// A non-voting member: it receives committed transactions only.
    Observer,
}

/// The servers of an ensemble (`server.N=...` lines of zoo.cfg) and the majority rule over its
/// voters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ensemble {
    voters: BTreeSet<ServerId>,
    observers: BTreeSet<ServerId>,
}

impl Ensemble {
    /// An ensemble of `voters` and `observers`; a server may not be both, and there must be at
    /// least one voter.
    pub fn new(
        voters: impl IntoIterator<Item = ServerId>,
        observers: impl IntoIterator<Item = ServerId>,
    ) -> Result<Self, ZabError> {
        let voters: BTreeSet<ServerId> = voters.into_iter().collect();
        let observers: BTreeSet<ServerId> = observers.into_iter().collect();
        if voters.is_empty() {
            return Err(ZabError::InvalidConfig {
                reason: "an ensemble needs at least one voter".into(),
            });
        }
        if let Some(both) = voters.intersection(&observers).next() {
            return Err(ZabError::InvalidConfig {
                reason: format!("server {both} is listed as a voter and as an observer"),
            });
        }
        Ok(Ensemble { voters, observers })
    }

    /// The voting members, in id order.
    pub fn voters(&self) -> &BTreeSet<ServerId> {
        &self.voters
    }

    /// The observers, in id order.
    pub fn observers(&self) -> &BTreeSet<ServerId> {
        &self.observers
    }

    /// Whether `id` votes.
    pub fn is_voter(&self, id: ServerId) -> bool {
        self.voters.contains(&id)
    }

    /// The role `id` has in this ensemble, or `None` for a stranger.
    pub fn learner_type(&self, id: ServerId) -> Option<LearnerType> {
        if self.voters.contains(&id) {
            Some(LearnerType::Participant)
        } else if self.observers.contains(&id) {
            Some(LearnerType::Observer)
        } else {
            None
        }
    }

    /// How many voters make a quorum: a strict majority.
    pub fn quorum_size(&self) -> usize {
        self.voters.len() / 2 + 1
    }

    /// Whether the voters among `ids` form a quorum (strangers and observers do not count).
    pub fn is_quorum<'a>(&self, ids: impl IntoIterator<Item = &'a ServerId>) -> bool {
        let voting = ids.into_iter().filter(|id| self.is_voter(**id)).count();
        voting >= self.quorum_size()
    }

    /// The highest zxid that a quorum of voters has acknowledged, given each voter's highest
    /// acknowledged zxid (cumulative acknowledgements). Entries of non-voters are ignored.
    pub fn quorum_zxid(&self, acked: impl IntoIterator<Item = (ServerId, Zxid)>) -> Option<Zxid> {
        let mut zxids: Vec<Zxid> = acked
            .into_iter()
            .filter(|(id, _)| self.is_voter(*id))
            .map(|(_, zxid)| zxid)
            .collect();
        zxids.sort_unstable_by(|a, b| b.cmp(a));
        zxids.get(self.quorum_size() - 1).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(raw: &[u64]) -> Vec<ServerId> {
        raw.iter().map(|id| ServerId(*id)).collect()
    }

    #[test]
    fn a_strict_majority_of_voters_is_a_quorum() {
        let ensemble = Ensemble::new(ids(&[1, 2, 3, 4]), ids(&[9])).unwrap();
        assert_eq!(ensemble.quorum_size(), 3);
        assert!(!ensemble.is_quorum(&ids(&[1, 2])));
        assert!(
            !ensemble.is_quorum(&ids(&[1, 2, 9])),
            "observers do not count"
        );
        assert!(ensemble.is_quorum(&ids(&[1, 2, 4])));
    }

    #[test]
    fn quorum_zxid_is_the_highest_zxid_a_majority_holds() {
        let ensemble = Ensemble::new(ids(&[1, 2, 3]), []).unwrap();
        let acked = [(1, 7), (2, 5), (3, 2), (9, 100)].map(|(id, zxid)| (ServerId(id), Zxid(zxid)));
        assert_eq!(ensemble.quorum_zxid(acked), Some(Zxid(5)));
        assert_eq!(ensemble.quorum_zxid([(ServerId(1), Zxid(7))]), None);
    }

    #[test]
    fn membership_is_validated() {
        assert!(Ensemble::new([], []).is_err());
        assert!(Ensemble::new(ids(&[1, 2]), ids(&[2])).is_err());
    }
}

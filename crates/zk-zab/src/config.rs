//! Configuration of one peer: who it is, who the others are, its timeouts and its limits.

use crate::error::ZabError;
use crate::quorum::{Ensemble, LearnerType};
use zk_proto::ServerId;

/// Everything a [`crate::QuorumPeer`] needs to know that is not on disk. Time is counted in
/// ticks (zoo.cfg's `tickTime`); the host calls [`crate::QuorumPeer::tick`] once per tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// This server (the `myid` file).
    pub my_id: ServerId,
    /// All servers of the ensemble.
    pub ensemble: Ensemble,
    /// How long discovery and synchronisation may take, per phase, before the leader gives up
    /// and a learner goes back to looking (zoo.cfg `initLimit`).
    pub init_limit_ticks: u32,
    /// How long a leader and its learners may go without hearing from each other once the
    /// epoch is established (zoo.cfg `syncLimit`).
    pub sync_limit_ticks: u32,
    /// How long a looking server waits, after its candidate has a quorum, for a better vote
    /// before it decides (ZooKeeper's `finalizeWait`, 200 ms, rounded up to a tick).
    pub finalize_wait_ticks: u32,
    /// The longest interval between two rounds of re-sent election notifications; intervals
    /// start at one tick and double (ZooKeeper's `maxNotificationInterval`).
    pub notification_interval_max_ticks: u32,
    /// How often a learner repeats FOLLOWERINFO until the leader answers (ZooKeeper retries
    /// the connection to the leader).
    pub follower_info_retry_ticks: u32,
    /// How often the leader pings its learners.
    pub ping_interval_ticks: u32,
    /// How many committed transactions stay in memory to bring learners up to date with DIFF;
    /// a learner further behind gets SNAP (ZooKeeper's `commitLogCount`).
    pub committed_log_max: usize,
    /// How many proposals a leader keeps waiting for a quorum before it refuses new ones
    /// (ZooKeeper's `globalOutstandingLimit`).
    pub outstanding_proposals_max: usize,
    /// How many epochs of uncommitted history a learner describes to a new leader; older
    /// uncommitted epochs are truncated and sent again (see DESIGN.md, "Synchronisation").
    pub history_epochs_max: usize,
}

impl Config {
    /// A configuration with ZooKeeper's usual values (`initLimit=10`, `syncLimit=5`).
    pub fn new(my_id: ServerId, ensemble: Ensemble) -> Self {
        Config {
            my_id,
            ensemble,
            init_limit_ticks: 10,
            sync_limit_ticks: 5,
            finalize_wait_ticks: 1,
            notification_interval_max_ticks: 30,
            follower_info_retry_ticks: 1,
            ping_interval_ticks: 1,
            committed_log_max: 500,
            outstanding_proposals_max: 1000,
            history_epochs_max: 64,
        }
    }

    /// Checks that every limit is usable and that this server belongs to the ensemble.
    pub fn validate(&self) -> Result<(), ZabError> {
        let invalid = |reason: &str| {
            Err(ZabError::InvalidConfig {
                reason: reason.to_string(),
            })
        };
        if self.ensemble.learner_type(self.my_id).is_none() {
            return invalid("my_id is not a member of the ensemble");
        }
        if self.init_limit_ticks == 0 || self.sync_limit_ticks == 0 {
            return invalid("init_limit_ticks and sync_limit_ticks must be at least 1");
        }
        if self.notification_interval_max_ticks == 0 || self.follower_info_retry_ticks == 0 {
            return invalid("retry intervals must be at least 1 tick");
        }
        if self.ping_interval_ticks == 0 || self.ping_interval_ticks >= self.sync_limit_ticks {
            return invalid("ping_interval_ticks must be at least 1 and below sync_limit_ticks");
        }
        if self.committed_log_max == 0
            || self.outstanding_proposals_max == 0
            || self.history_epochs_max == 0
        {
            return invalid("committed_log_max, outstanding_proposals_max and history_epochs_max must be at least 1");
        }
        Ok(())
    }

    /// Whether this server votes.
    pub fn is_voter(&self) -> bool {
        self.ensemble.is_voter(self.my_id)
    }

    /// How this server joins a leader.
    pub fn learner_type(&self) -> LearnerType {
        if self.is_voter() {
            LearnerType::Participant
        } else {
            LearnerType::Observer
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ensemble() -> Ensemble {
        Ensemble::new([ServerId(1), ServerId(2), ServerId(3)], [ServerId(4)]).unwrap()
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(Config::new(ServerId(2), ensemble()).validate(), Ok(()));
        assert_eq!(
            Config::new(ServerId(4), ensemble()).learner_type(),
            LearnerType::Observer
        );
    }

    #[test]
    fn strangers_and_zero_limits_are_rejected() {
        assert!(Config::new(ServerId(7), ensemble()).validate().is_err());
        let mut config = Config::new(ServerId(1), ensemble());
        config.committed_log_max = 0;
        assert!(config.validate().is_err());
        let mut config = Config::new(ServerId(1), ensemble());
        config.ping_interval_ticks = config.sync_limit_ticks;
        assert!(config.validate().is_err());
    }
}

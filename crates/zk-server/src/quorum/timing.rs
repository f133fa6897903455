//! zoo.cfg → `zk_zab::Config`. ZAB's cores count time in ticks; ZooKeeper counts limits in
//! `tickTime`s but runs its election on its own, much shorter timers (a 200 ms finalize
//! wait). So the BroadcastActor ticks the core several times per `tickTime` (about every
//! 50 ms) and every limit is scaled to match: `initLimit` and `syncLimit` keep their meaning
//! in `tickTime`s, the election keeps ZooKeeper's pace.

use crate::config::ServerConfig;
use std::time::Duration;
use thiserror::Error;
use zk_proto::ServerId;

/// The target length of one core tick.
const CORE_TICK_TARGET_MS: u32 = 50;
/// ZooKeeper's `finalizeWait`.
const FINALIZE_WAIT_MS: u32 = 200;
/// The longest wait between two rounds of election notifications (ZooKeeper doubles up to
/// 60 s; shorter here, so that a server whose notifications were lost catches up sooner).
const NOTIFICATION_INTERVAL_MAX_MS: u32 = 2_000;
/// How often a learner repeats FOLLOWERINFO while its leader does not answer: one tick.
/// After a failover the new leader and its followers decide within milliseconds of each
/// other, and a FOLLOWERINFO sent just before the leader decided is lost (the hosts drop
/// messages to a peer they have no connection with); every tick of wait here is a tick
/// of failover time. It is a small message, sent only until the leader answers.
const FOLLOWER_INFO_RETRY_MS: u32 = CORE_TICK_TARGET_MS;
/// Proposals waiting for a quorum before new writes wait (matches the pipeline's limit).
pub const OUTSTANDING_PROPOSALS_MAX: usize = 100_000;

/// Why the ensemble settings are unusable.
#[derive(Debug, Error)]
pub enum QuorumConfigError {
    #[error("cannot read {path}: {source}")]
    MyIdUnreadable {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{path} must hold this server's id (a number), found {content:?}")]
    MyIdInvalid {
        path: std::path::PathBuf,
        content: String,
    },
    #[error("myid is {0}, but zoo.cfg has no server.{0} line")]
    NotAMember(ServerId),
    #[error("invalid ensemble: {0}")]
    Zab(#[from] zk_zab::ZabError),
}

/// Reads `<dataDir>/myid`, as Apache does.
pub fn read_my_id(config: &ServerConfig) -> Result<ServerId, QuorumConfigError> {
    let path = config.data_dir.join("myid");
    let text =
        std::fs::read_to_string(&path).map_err(|source| QuorumConfigError::MyIdUnreadable {
            path: path.clone(),
            source,
        })?;
    text.trim()
        .parse::<u64>()
        .map(ServerId)
        .map_err(|_| QuorumConfigError::MyIdInvalid {
            path,
            content: text.chars().take(40).collect(),
        })
}

/// The core tick period and ZAB's configuration for `my_id`.
pub fn zab_config(
    config: &ServerConfig,
    my_id: ServerId,
) -> Result<(Duration, zk_zab::Config), QuorumConfigError> {
    if !config.peers.iter().any(|peer| peer.id == my_id) {
        return Err(QuorumConfigError::NotAMember(my_id));
    }
    let voters = config.peers.iter().filter(|p| !p.observer).map(|p| p.id);
    let observers = config.peers.iter().filter(|p| p.observer).map(|p| p.id);
    let ensemble = zk_zab::Ensemble::new(voters, observers)?;
    let per_tick_time = config.tick_time_ms.div_ceil(CORE_TICK_TARGET_MS).max(1);
    let period_ms = (config.tick_time_ms / per_tick_time).max(1);
    let ticks = |ms: u32| ms.div_ceil(period_ms).max(1);
    let mut zab = zk_zab::Config::new(my_id, ensemble);
    zab.init_limit_ticks = config.init_limit_ticks.saturating_mul(per_tick_time);
    zab.sync_limit_ticks = config.sync_limit_ticks.saturating_mul(per_tick_time);
    zab.finalize_wait_ticks = ticks(FINALIZE_WAIT_MS);
    zab.notification_interval_max_ticks = ticks(NOTIFICATION_INTERVAL_MAX_MS);
    zab.follower_info_retry_ticks = ticks(FOLLOWER_INFO_RETRY_MS);
    // ZooKeeper's leader pings every half tickTime.
    zab.ping_interval_ticks = (per_tick_time / 2)
        .max(1)
        .min(zab.sync_limit_ticks.saturating_sub(1).max(1));
    zab.outstanding_proposals_max = OUTSTANDING_PROPOSALS_MAX;
    zab.validate()?;
    Ok((Duration::from_millis(u64::from(period_ms)), zab))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PeerConfig;

    fn peer(id: u64, observer: bool) -> PeerConfig {
        PeerConfig {
            id: ServerId(id),
            host: "127.0.0.1".into(),
            quorum_port: 2000 + id as u16,
            election_port: 3000 + id as u16,
            observer,
        }
    }

    #[test]
    fn limits_keep_their_meaning_in_tick_times() {
        let config = ServerConfig {
            tick_time_ms: 2000,
            peers: vec![
                peer(1, false),
                peer(2, false),
                peer(3, false),
                peer(4, true),
            ],
            ..ServerConfig::default()
        };
        let (period, zab) = zab_config(&config, ServerId(2)).unwrap();
        assert_eq!(period, Duration::from_millis(50));
        // initLimit 10 × 2 s = 20 s = 400 ticks of 50 ms.
        assert_eq!(zab.init_limit_ticks, 400);
        assert_eq!(zab.sync_limit_ticks, 200);
        assert_eq!(zab.finalize_wait_ticks, 4);
        assert_eq!(zab.ensemble.observers().len(), 1);
        assert!(zab_config(&config, ServerId(9)).is_err());
    }

    #[test]
    fn short_ticks_are_not_split() {
        let config = ServerConfig {
            tick_time_ms: 20,
            peers: vec![peer(1, false), peer(2, false), peer(3, false)],
            ..ServerConfig::default()
        };
        let (period, zab) = zab_config(&config, ServerId(1)).unwrap();
        assert_eq!(period, Duration::from_millis(20));
        assert_eq!(zab.init_limit_ticks, 10);
        assert_eq!(zab.finalize_wait_ticks, 10);
    }
}

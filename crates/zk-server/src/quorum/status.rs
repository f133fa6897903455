//! The ensemble status the four-letter words show (`srvr`'s Mode, `mntr`'s quorum fields),
//! written by the BroadcastActor and read by the connections' four-letter-word handler.

use std::sync::Mutex;
use zk_proto::ServerId;

/// This server's role, as `srvr` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Standalone,
    /// Looking for a leader, or synchronising with one: not serving clients.
    Looking,
    Leader,
    Follower,
    Observer,
}

impl Mode {
    /// The word `srvr` prints after `Mode: ` and `mntr` as `zk_server_state`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Standalone => "standalone",
            Mode::Looking => "looking",
            Mode::Leader => "leader",
            Mode::Follower => "follower",
            Mode::Observer => "observer",
        }
    }
}

/// A snapshot of the ensemble status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuorumStatus {
    pub mode: Mode,
    /// Whether clients are served (the epoch is established here).
    pub serving: bool,
    pub my_id: Option<ServerId>,
    pub leader: Option<ServerId>,
    /// Leader only: learners connected, and those synchronised (followers only).
    pub learners: usize,
    pub synced_followers: usize,
    pub synced_observers: usize,
    pub pending_syncs: usize,
    pub last_proposal_size: usize,
    pub min_proposal_size: Option<usize>,
    pub max_proposal_size: usize,
    pub election_round: u64,
    pub voters: usize,
}

/// Shared between the BroadcastActor (writer) and the four-letter words (readers).
#[derive(Debug, Default)]
pub struct SharedQuorumStatus(Mutex<QuorumStatus>);

impl SharedQuorumStatus {
    pub fn get(&self) -> QuorumStatus {
        self.0
            .lock()
            .map(|status| status.clone())
            .unwrap_or_default()
    }

    pub fn update(&self, change: impl FnOnce(&mut QuorumStatus)) {
        if let Ok(mut status) = self.0.lock() {
            change(&mut status);
        }
    }
}

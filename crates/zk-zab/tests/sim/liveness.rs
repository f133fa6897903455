//! The liveness phase: heal everything, then a leader must be established, every pending
//! request committed and every server caught up within a bounded number of ticks.

use crate::sim::clients::request_of;
use crate::sim::cluster::Cluster;
use zk_proto::ServerId;
use zk_zab::PeerState;

impl Cluster {
    /// Ends the chaos: partitions healed, crashed servers restarted, no more loss,
    /// duplication, slow messages or crashes.
    pub fn heal(&mut self) {
        self.profile = self.profile.healed();
        self.network.heal_partitions();
        self.partition_heals_at_tick = None;
        self.resume_due(u64::MAX);
        let down: Vec<ServerId> = self
            .nodes
            .values()
            .filter(|node| !node.is_up())
            .map(|node| node.id)
            .collect();
        for id in down {
            self.restart(id);
        }
    }

    /// Runs until the ensemble has recovered; returns how many ticks that took.
    pub fn run_until_recovered(&mut self, ticks_max: u64) -> Result<u64, String> {
        for tick in 1..=ticks_max {
            self.run_ticks(1)?;
            if self.recovered() {
                self.stats.recovery_ticks = tick;
                return Ok(tick);
            }
        }
        Err(format!(
            "liveness: not recovered {ticks_max} ticks after healing: {}",
            self.describe()
        ))
    }

    /// One established leader that every server follows and serves with, no pending
    /// request, and every state machine holding the whole delivered sequence.
    fn recovered(&self) -> bool {
        let leaders: Vec<ServerId> = self
            .nodes
            .values()
            .filter_map(|node| node.peer.as_ref())
            .filter(|peer| peer.state() == PeerState::Leading && peer.is_serving())
            .map(|peer| peer.my_id())
            .collect();
        let [leader] = leaders[..] else {
            return false;
        };
        let delivered = self.checkers.delivered_sequence().len();
        self.clients.pending_count() == 0
            && self.nodes.values().all(|node| {
                node.peer
                    .as_ref()
                    .is_some_and(|peer| peer.is_serving() && peer.leader() == Some(leader))
                    && node.state.len() == delivered
            })
    }

    /// After recovery: every acknowledged request is in every server's state machine.
    pub fn check_acknowledged_requests_survive(&self) -> Result<(), String> {
        for node in self.nodes.values() {
            let applied: std::collections::BTreeSet<u64> = node
                .state
                .iter()
                .filter_map(|txn| request_of(&txn.data))
                .collect();
            if let Some((request, zxid)) = self
                .clients
                .acknowledged()
                .iter()
                .find(|(request, _)| !applied.contains(request))
            {
                return Err(format!(
                    "acknowledged request {request} (zxid {zxid}) is missing on server {}",
                    node.id
                ));
            }
        }
        Ok(())
    }

    /// A one-line picture of every server, for failure messages.
    pub fn describe(&self) -> String {
        let servers: Vec<String> = self
            .nodes
            .values()
            .map(|node| match &node.peer {
                None => format!("{}: down", node.id),
                Some(peer) => format!(
                    "{}: {:?} leader={:?} serving={} epoch={}/{} last={} committed={} applied={}",
                    node.id,
                    peer.state(),
                    peer.leader().map(|id| id.0),
                    peer.is_serving(),
                    peer.accepted_epoch().0,
                    peer.current_epoch().0,
                    peer.last_zxid(),
                    peer.committed_zxid(),
                    node.state.len()
                ),
            })
            .collect();
        format!(
            "[{}]; delivered {}; pending requests {}",
            servers.join("; "),
            self.checkers.delivered_sequence().len(),
            self.clients.pending_count()
        )
    }
}

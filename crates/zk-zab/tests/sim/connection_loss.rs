//! The host telling a peer that a leader–learner connection broke: when the network breaks
//! a connection, both ends get `on_connection_lost` shortly after (as a real host's socket
//! reports the break), each in the session the connection belonged to.

use crate::sim::cluster::Cluster;
use zk_zab::Command;

impl Cluster {
    /// Schedules a connection-lost input for both ends of every connection broken since the
    /// last call, each after its own small random delay.
    pub(super) fn schedule_connection_losses(&mut self) {
        for connection in self.network.take_newly_broken() {
            let [a, b] = connection.ends();
            for (end, other) in [(a, b.0), (b, a.0)] {
                let delay = self
                    .connection_rng
                    .between(1, self.profile.latency_max_steps);
                self.connection_loss_sequence += 1;
                self.connection_losses.insert(
                    (self.step + delay, self.connection_loss_sequence),
                    (end, other),
                );
            }
        }
    }

    /// Gives every due connection-lost input to its peer, if that peer is still up in the
    /// connection's session; a paused peer gets it when it resumes.
    pub(super) fn deliver_connection_losses(&mut self) {
        let due: Vec<_> = self
            .connection_losses
            .range(..(self.step + 1, 0))
            .map(|(&key, &value)| (key, value))
            .collect();
        for (key, ((id, session), other)) in due {
            let node = &self.nodes[&id];
            let current = node.is_up() && node.session == session;
            if current && node.paused_until_tick.is_some() {
                continue;
            }
            self.connection_losses.remove(&key);
            if !current {
                continue;
            }
            let node = self.node_mut(id);
            let commands = node.peer.as_mut().expect("up").on_connection_lost(other);
            self.stats.connection_losses_delivered += 1;
            if commands.contains(&Command::BecomeLooking) {
                self.stats.connection_losses_sent_looking += 1;
            }
            self.execute(id, commands);
        }
    }
}

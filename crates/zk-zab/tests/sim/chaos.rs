//! Faults and clients, once per tick: partitions (symmetric or one-way), crashes with loss of
//! unsynced writes, power loss of the whole ensemble, restarts; the clients' operations; and
//! the message pump.

use crate::sim::cluster::Cluster;
use crate::sim::kv::{self, Op, Output, KEYS, PREFIXES};
use crate::sim::network::Packet;
use zk_proto::{Epoch, ServerId, Zxid};
use zk_zab::{ElectionEpoch, Message, Notification, PeerState, Vote};

impl Cluster {
    pub(super) fn inject_faults(&mut self) {
        let tick = self.tick();
        self.restart_due(tick);
        self.update_partition(tick);
        self.resume_due(tick);
        let up: Vec<ServerId> = self.up_servers();
        for id in &up {
            if self.chaos_rng.chance(self.profile.crash_ppm) {
                self.crash(*id, tick);
            } else if self.chaos_rng.chance(self.profile.pause_ppm) {
                let until = tick + self.chaos_rng.between(1, self.profile.pause_ticks_max);
                let node = self.node_mut(*id);
                node.paused_until_tick = node.paused_until_tick.or(Some(until));
                self.stats.pauses += 1;
            }
        }
        if self.chaos_rng.chance(self.profile.power_loss_ppm) {
            for id in self.up_servers() {
                self.crash(id, tick);
            }
        }
        if self.chaos_rng.chance(self.profile.rogue_vote_ppm) {
            self.forge_vote();
        }
    }

    /// Sends a random server a plausible but random notification from a random voter.
    fn forge_vote(&mut self) {
        let up = self.up_servers();
        let voters: Vec<ServerId> = self
            .nodes
            .values()
            .filter(|node| node.config.is_voter())
            .map(|node| node.id)
            .collect();
        if up.is_empty() {
            return;
        }
        let to = self.chaos_rng.pick(&up);
        let from = self.chaos_rng.pick(&voters);
        let leader = self.chaos_rng.pick(&voters);
        if from == to {
            return;
        }
        let notification = self.forged_notification(to, leader);
        let (from, to) = (self.nodes[&from].endpoint(), self.nodes[&to].endpoint());
        self.network.send(
            self.step,
            from,
            to,
            notification,
            &self.profile,
            &mut self.network_rng,
        );
    }

    /// A vote for `leader` with a zxid and epoch around the recipient's, in its round or
    /// the next, claiming to be looking, following or leading.
    fn forged_notification(&mut self, to: ServerId, leader: ServerId) -> Message {
        let peer = self.nodes[&to].peer.as_ref().expect("up");
        let (last, epoch, round) = (
            peer.last_zxid(),
            peer.current_epoch(),
            peer.election_round(),
        );
        let rng = &mut self.chaos_rng;
        let vote = Vote {
            leader,
            zxid: Zxid(rng.below(last.0.max(0) as u64 + 2) as i64),
            peer_epoch: Epoch(rng.below(u64::from(epoch.0) + 2) as u32),
        };
        let states = [
            PeerState::Looking,
            PeerState::Looking,
            PeerState::Following,
            PeerState::Leading,
        ];
        Message::Notification(Notification {
            vote,
            round: ElectionEpoch(round.0 + rng.below(2)),
            state: rng.pick(&states),
        })
    }

    /// Starts or restarts server `id` from its disk.
    pub(super) fn restart(&mut self, id: ServerId) {
        let step = self.step;
        let node = self.node_mut(id);
        let commands = node.start(step);
        let state = node.state.clone();
        self.checkers.state_replaced(id, &state);
        self.execute(id, commands);
    }

    pub(super) fn up_servers(&self) -> Vec<ServerId> {
        self.nodes
            .values()
            .filter(|node| node.is_up())
            .map(|node| node.id)
            .collect()
    }

    pub(super) fn crash(&mut self, id: ServerId, tick: u64) {
        self.count_crash_points(id);
        let restart_at = tick + self.chaos_rng.between(1, self.profile.restart_ticks_max);
        self.node_mut(id).crash(restart_at);
        self.stats.crashes += 1;
    }

    /// Resumes paused servers whose pause is over (all of them when `tick` is `u64::MAX`):
    /// they handle what arrived meanwhile, in arrival order.
    pub(super) fn resume_due(&mut self, tick: u64) {
        let due: Vec<ServerId> = self
            .nodes
            .values()
            .filter(|node| node.paused_until_tick.is_some_and(|at| at <= tick))
            .map(|node| node.id)
            .collect();
        let step = self.step;
        for id in due {
            self.node_mut(id).paused_until_tick = None;
            self.node_mut(id).clock.restart(step);
            while let Some(packet) = self.node_mut(id).held_packets.pop_front() {
                self.hand_over(packet);
            }
        }
    }

    fn restart_due(&mut self, tick: u64) {
        let due: Vec<ServerId> = self
            .nodes
            .values()
            .filter(|node| node.restart_at_tick.is_some_and(|at| at <= tick))
            .map(|node| node.id)
            .collect();
        for id in due {
            self.restart(id);
        }
    }

    fn update_partition(&mut self, tick: u64) {
        if let Some(heal_at) = self.partition_heals_at_tick {
            if tick >= heal_at {
                self.network.heal_partitions();
                self.partition_heals_at_tick = None;
            }
            return;
        }
        if !self.chaos_rng.chance(self.profile.partition_ppm) {
            return;
        }
        let ids: Vec<ServerId> = self.nodes.keys().copied().collect();
        if self.chaos_rng.chance(self.profile.asymmetric_ppm) {
            self.cut_one_way_links(&ids);
        } else {
            self.split(&ids);
        }
        self.stats.partitions += 1;
        let duration = self.chaos_rng.between(1, self.profile.partition_ticks_max);
        self.partition_heals_at_tick = Some(tick + duration);
    }

    /// A symmetric partition: a random non-trivial split, no traffic across.
    fn split(&mut self, ids: &[ServerId]) {
        let mask = 1 + self.chaos_rng.below((1 << ids.len()) - 2);
        let side = |index: usize| mask & (1 << index) != 0;
        for (a_index, a) in ids.iter().enumerate() {
            for (b_index, b) in ids.iter().enumerate() {
                if side(a_index) != side(b_index) {
                    self.network.block(*a, *b);
                }
            }
        }
    }

    /// An asymmetric partition: some directed links drop everything, their reverse works.
    fn cut_one_way_links(&mut self, ids: &[ServerId]) {
        let cuts = self.chaos_rng.between(1, ids.len() as u64);
        for _ in 0..cuts {
            let from = self.chaos_rng.pick(ids);
            let to = self.chaos_rng.pick(ids);
            if from != to {
                self.network.block(from, to);
            }
        }
    }

    /// Idle clients invoke new operations; clients retry, at a random running server, the
    /// operations whose attempt is due; clients give up on operations outstanding too long.
    pub(super) fn run_clients(&mut self) {
        let tick = self.tick();
        self.clients.give_up(tick);
        for client in self.clients.idle() {
            if self.client_rng.chance(self.profile.submit_ppm) {
                let op = self.draw_op(client);
                self.clients.invoke(client, op, self.step, tick);
            }
        }
        let up: Vec<ServerId> = self
            .nodes
            .values()
            .filter(|node| node.is_running())
            .map(|node| node.id)
            .collect();
        if up.is_empty() {
            return;
        }
        let nodes = &self.nodes;
        let session = |id: ServerId| nodes[&id].is_up().then(|| nodes[&id].session);
        for request in self.clients.due(tick, session) {
            let id = self.client_rng.pick(&up);
            if let (true, Op::Read { key }) = (self.options.local_reads, request.op) {
                let output = Output::Value(self.nodes[&id].kv.read(key));
                self.clients
                    .answered_locally(request.client, output, self.step);
                continue;
            }
            let node = self.node_mut(id);
            let session = node.session;
            let peer = node.peer.as_mut().expect("up");
            match peer.propose(kv::encode(&request)) {
                Ok((_, commands)) => {
                    self.clients
                        .attempted(request.client, tick, Some((id, session)));
                    self.execute(id, commands);
                }
                Err(_) => self.clients.attempted(request.client, tick, None),
            }
        }
    }

    /// A random operation on a random key; a CAS aims at the version the client last saw,
    /// or at a nearby one.
    fn draw_op(&mut self, client: u32) -> Op {
        let rng = &mut self.client_rng;
        let key = rng.below(u64::from(KEYS)) as u8;
        let value = rng.next_u64() >> 16;
        match rng.below(100) {
            0..=29 => Op::Write { key, value },
            30..=54 => {
                let seen = self.clients.version_seen(client, key);
                let expected_version = match seen {
                    Some(version) if rng.chance(700_000) => version,
                    _ => rng.below(3) as u32,
                };
                Op::Cas {
                    key,
                    expected_version,
                    value,
                }
            }
            55..=84 => Op::Read { key },
            _ => Op::CreateSequential {
                prefix: rng.below(u64::from(PREFIXES)) as u8,
            },
        }
    }

    /// Delivers every packet due by now to live servers still in the session it was sent to.
    pub(super) fn deliver_due_packets(&mut self) {
        while let Some(packet) = self.network.next_due(self.step) {
            let to = self.node_mut(packet.to.0);
            if to.paused_until_tick.is_some() {
                to.held_packets.push_back(packet);
            } else {
                self.hand_over(packet);
            }
        }
    }

    /// Gives a packet to its server, unless its connection closed on the way.
    fn hand_over(&mut self, packet: Packet) {
        // A connection closes when either end changes session (role change or restart), and
        // what was still in flight on it is never delivered (host contract 5). Both ends
        // count: a learner that gave up on a leader and reconnected must not have its old
        // connection's ACK of NEWLEADER taken for the new one's.
        let sender_moved_on = self.nodes[&packet.from.0].session != packet.from.1;
        let to = self.node_mut(packet.to.0);
        let stale = !packet.message.is_election() && (packet.to.1 != to.session || sender_moved_on);
        if stale || !to.is_up() {
            return;
        }
        self.watch_received(packet.to.0, &packet.message);
        let peer = self.node_mut(packet.to.0).peer.as_mut().expect("up");
        let result = peer.step(packet.from.0, packet.message);
        self.execute_result(packet.to.0, result);
    }
}

//! The simulated network: two channels with the semantics the host contract promises.
//!
//! - Election notifications are datagrams: lost, duplicated, delayed and reordered freely.
//! - Every other message travels on a leader–learner connection, like ZooKeeper's TCP
//!   connection: ordered and without duplicates while it lives. A connection belongs to one
//!   session of each end (a session ends when the server changes role or restarts). A loss
//!   or a partition breaks the connection for good: that message and every later one on it
//!   vanish. Both ends are then told, shortly after, as a host's socket reports a broken
//!   connection (`Cluster::deliver_connection_losses`); their timeouts still apply too.

use crate::sim::faults::FaultProfile;
use crate::sim::rng::Rng;
use std::collections::{BTreeMap, BTreeSet};
use zk_proto::ServerId;
use zk_zab::Message;

/// One end of a connection: a server in one of its sessions.
pub type Endpoint = (ServerId, u64);

/// A connection, named by its two ends in id order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Connection(Endpoint, Endpoint);

impl Connection {
    /// Its two ends.
    pub fn ends(self) -> [Endpoint; 2] {
        [self.0, self.1]
    }

    pub fn between(a: Endpoint, b: Endpoint) -> Self {
        if a.0 <= b.0 {
            Connection(a, b)
        } else {
            Connection(b, a)
        }
    }
}

/// A message in flight.
#[derive(Debug, Clone)]
pub struct Packet {
    pub from: Endpoint,
    pub to: Endpoint,
    pub message: Message,
}

/// Counters for the run report.
#[derive(Debug, Clone, Default)]
pub struct NetworkStats {
    pub sent: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub connections_broken: u64,
}

#[derive(Debug, Default)]
pub struct Network {
    in_flight: BTreeMap<(u64, u64), Packet>,
    next_sequence: u64,
    /// Directed links that drop everything (partitions).
    blocked: BTreeSet<(ServerId, ServerId)>,
    broken: BTreeSet<Connection>,
    /// Connections broken since the host last asked, in the order they broke.
    newly_broken: Vec<Connection>,
    /// The latest delivery step per direction of a connection, to keep it ordered.
    last_due: BTreeMap<(Endpoint, Endpoint), u64>,
    pub stats: NetworkStats,
}

impl Network {
    /// Sends a message from endpoint `from` to endpoint `to` at step `now`.
    pub fn send(
        &mut self,
        now: u64,
        from: Endpoint,
        to: Endpoint,
        message: Message,
        profile: &FaultProfile,
        rng: &mut Rng,
    ) {
        self.stats.sent += 1;
        if message.is_election() {
            self.send_datagram(now, from, to, message, profile, rng);
        } else {
            self.send_on_connection(now, from, to, message, profile, rng);
        }
    }

    fn send_datagram(
        &mut self,
        now: u64,
        from: Endpoint,
        to: Endpoint,
        message: Message,
        profile: &FaultProfile,
        rng: &mut Rng,
    ) {
        if rng.chance(profile.loss_ppm) {
            self.stats.lost += 1;
            return;
        }
        let copies = if rng.chance(profile.duplicate_ppm) {
            2
        } else {
            1
        };
        self.stats.duplicated += copies - 1;
        for _ in 0..copies {
            let due = now + latency(profile, rng);
            self.enqueue(
                due,
                Packet {
                    from,
                    to,
                    message: message.clone(),
                },
            );
        }
    }

    fn send_on_connection(
        &mut self,
        now: u64,
        from: Endpoint,
        to: Endpoint,
        message: Message,
        profile: &FaultProfile,
        rng: &mut Rng,
    ) {
        let connection = Connection::between(from, to);
        if self.broken.contains(&connection) {
            self.stats.lost += 1;
            return;
        }
        if rng.chance(profile.loss_ppm) {
            self.break_connection(connection);
            return;
        }
        let ordered = self.last_due.entry((from, to)).or_insert(0);
        let due = (now + latency(profile, rng)).max(*ordered);
        *ordered = due;
        self.enqueue(due, Packet { from, to, message });
    }

    /// The next packet due at or before `now` that survives partitions; dead packets are
    /// dropped on the way.
    pub fn next_due(&mut self, now: u64) -> Option<Packet> {
        loop {
            let (&key, _) = self.in_flight.iter().next()?;
            if key.0 > now {
                return None;
            }
            let packet = self.in_flight.remove(&key).expect("key just seen");
            if !self.blocked.contains(&(packet.from.0, packet.to.0)) {
                return Some(packet);
            }
            self.stats.lost += 1;
            if !packet.message.is_election() {
                self.break_connection(Connection::between(packet.from, packet.to));
            }
        }
    }

    pub fn block(&mut self, from: ServerId, to: ServerId) {
        self.blocked.insert((from, to));
    }

    pub fn heal_partitions(&mut self) {
        self.blocked.clear();
    }

    fn break_connection(&mut self, connection: Connection) {
        self.stats.lost += 1;
        if self.broken.insert(connection) {
            self.stats.connections_broken += 1;
            self.newly_broken.push(connection);
        }
    }

    /// The connections broken since the last call, so that the host can tell their ends.
    pub fn take_newly_broken(&mut self) -> Vec<Connection> {
        std::mem::take(&mut self.newly_broken)
    }

    fn enqueue(&mut self, due: u64, packet: Packet) {
        self.next_sequence += 1;
        self.in_flight.insert((due, self.next_sequence), packet);
    }
}

/// One-way latency: usually small, sometimes slow.
fn latency(profile: &FaultProfile, rng: &mut Rng) -> u64 {
    let base = rng.between(1, profile.latency_max_steps);
    if rng.chance(profile.slow_ppm) {
        base + rng.between(1, profile.slow_extra_max_steps)
    } else {
        base
    }
}

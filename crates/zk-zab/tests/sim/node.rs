//! One simulated server: a `QuorumPeer` with its disk and state machine.

use crate::sim::clock::Clock;
use crate::sim::crash_points::Watch;
use crate::sim::disk::Disk;
use crate::sim::kv::{Kv, Output, Request};
use crate::sim::network::{Endpoint, Packet};
use std::collections::VecDeque;
use zk_proto::{ServerId, Zxid};
use zk_zab::{Command, Config, QuorumPeer, Txn};

/// A local snapshot is taken after this many deliveries (ZooKeeper's `snapCount`, scaled
/// down so that restarts from snapshots happen often).
pub const DELIVERIES_PER_SNAPSHOT: usize = 16;

#[derive(Debug)]
pub struct Node {
    pub id: ServerId,
    pub config: Config,
    /// `None` while crashed.
    pub peer: Option<QuorumPeer>,
    pub disk: Disk,
    /// The state machine: every delivered transaction, in order.
    pub state: Vec<Txn>,
    /// The key-value store those transactions build, which answers the clients.
    pub kv: Kv,
    /// Counts role changes and restarts; a leader–learner connection lives in one session.
    pub session: u64,
    pub restart_at_tick: Option<u64>,
    /// While paused: the tick it resumes at, and the packets that arrived meanwhile.
    pub paused_until_tick: Option<u64>,
    pub held_packets: VecDeque<Packet>,
    /// This server's own clock (clock skew).
    pub clock: Clock,
    /// Its synchronisation as the host sees it, for the crash points.
    pub watch: Watch,
    /// The fault schedule wants it to crash at the next opportunity (a crash point).
    pub crash_requested: bool,
    deliveries_since_snapshot: usize,
}

impl Node {
    pub fn new(config: Config, lying_disk: bool) -> Self {
        let mut disk = Disk::default();
        disk.lying = lying_disk;
        Node {
            id: config.my_id,
            config,
            peer: None,
            disk,
            state: Vec::new(),
            kv: Kv::default(),
            session: 0,
            restart_at_tick: None,
            paused_until_tick: None,
            held_packets: VecDeque::new(),
            clock: Clock::default(),
            watch: Watch::default(),
            crash_requested: false,
            deliveries_since_snapshot: 0,
        }
    }

    pub fn endpoint(&self) -> Endpoint {
        (self.id, self.session)
    }

    pub fn is_up(&self) -> bool {
        self.peer.is_some()
    }

    /// Up and not paused: it ticks and handles messages.
    pub fn is_running(&self) -> bool {
        self.is_up() && self.paused_until_tick.is_none()
    }

    /// Starts (or restarts) the server from its disk: the state machine is the newest
    /// snapshot, and the peer is restored from the durable epochs and log.
    pub fn start(&mut self, step: u64) -> Vec<Command> {
        self.session += 1;
        self.restart_at_tick = None;
        self.watch = Watch::default();
        self.clock.restart(step);
        self.replace_state(self.disk.durable.snapshot.1.clone());
        let (peer, commands) = QuorumPeer::start(self.config.clone(), self.disk.durable.restore())
            .expect("the simulation restores consistent state");
        self.peer = Some(peer);
        commands
    }

    /// Power loss: the process and every write not yet durable are gone.
    pub fn crash(&mut self, restart_at_tick: u64) {
        self.peer = None;
        self.paused_until_tick = None;
        self.held_packets.clear();
        self.disk.crash();
        self.watch = Watch::default();
        self.crash_requested = false;
        self.session += 1;
        self.restart_at_tick = Some(restart_at_tick);
    }

    /// The state machine is replaced (restart from a snapshot, or SNAP).
    pub fn replace_state(&mut self, state: Vec<Txn>) {
        self.kv = Kv::default();
        for txn in &state {
            self.kv.apply(&txn.data);
        }
        self.state = state;
    }

    /// Applies a delivered transaction; returns its position in the state machine and the
    /// store's answer to the request it carries.
    pub fn apply(&mut self, txn: Txn) -> (usize, Option<(Request, Output)>) {
        let answer = self.kv.apply(&txn.data);
        self.state.push(txn);
        self.deliveries_since_snapshot += 1;
        if self.deliveries_since_snapshot >= DELIVERIES_PER_SNAPSHOT {
            self.deliveries_since_snapshot = 0;
            self.disk.durable.snapshot = (self.last_applied(), self.state.clone());
        }
        (self.state.len() - 1, answer)
    }

    pub fn last_applied(&self) -> Zxid {
        self.state.last().map_or(Zxid::ZERO, |txn| txn.zxid)
    }
}

//! A whole ensemble on one thread: servers, network, disks, clients and checkers, driven by
//! one seed. Time advances in steps; every `STEPS_PER_TICK` steps faults and clients act,
//! and every server ticks when its own (skewed) clock says so.

use crate::sim::checkers::Checkers;
use crate::sim::clients::Clients;
use crate::sim::crash_points::CrashPoints;
use crate::sim::faults::{FaultProfile, STEPS_PER_TICK};
use crate::sim::network::{Endpoint, Network};
use crate::sim::node::Node;
use crate::sim::rng::Rng;
use std::collections::BTreeMap;
use zk_proto::ServerId;
use zk_zab::{Config, Ensemble};

/// The shape of a simulated ensemble and the test doubles in it.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub voters: u64,
    pub observers: u64,
    /// Disks confirm writes before they are durable (see `Disk`).
    pub lying_disks: bool,
    /// Servers answer reads from their own state machine at once, without ordering them
    /// through ZAB (ZooKeeper's default reads): the test double that proves the
    /// linearizability checker notices stale reads.
    pub local_reads: bool,
    /// Hash every executed command, to compare two runs of one seed.
    pub trace: bool,
}

/// What one run did, for the report.
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    pub ticks: u64,
    pub epochs_established: u64,
    pub elections: u64,
    pub crashes: u64,
    pub pauses: u64,
    pub partitions: u64,
    pub diffs: u64,
    pub truncs: u64,
    pub snaps: u64,
    pub recovery_ticks: u64,
    /// Transactions committed (in the agreed sequence) by the end of the run.
    pub transactions: u64,
    /// Client operations answered, and left without an answer (given up).
    pub operations_answered: u64,
    pub operations_unanswered: u64,
    /// The slowest and fastest server clocks drawn, in steps per tick.
    pub clock_period_min: f64,
    pub clock_period_max: f64,
    pub crash_points: CrashPoints,
    /// Connection-lost inputs given to peers, and how many of them sent a learner looking.
    pub connection_losses_delivered: u64,
    pub connection_losses_sent_looking: u64,
}

pub struct Cluster {
    pub(super) step: u64,
    pub(super) options: Options,
    pub(super) nodes: BTreeMap<ServerId, Node>,
    pub(super) network: Network,
    pub(super) profile: FaultProfile,
    pub(super) chaos_rng: Rng,
    pub(super) network_rng: Rng,
    pub(super) disk_rng: Rng,
    pub(super) client_rng: Rng,
    pub(super) clock_rng: Rng,
    pub(super) connection_rng: Rng,
    /// Connection-lost inputs not yet given: (due step, sequence) -> (the end told, its
    /// peer on the connection).
    pub(super) connection_losses: BTreeMap<(u64, u64), (Endpoint, ServerId)>,
    pub(super) connection_loss_sequence: u64,
    pub(super) clients: Clients,
    pub(super) checkers: Checkers,
    pub(super) partition_heals_at_tick: Option<u64>,
    pub(super) stats: RunStats,
    pub(super) trace: Option<u64>,
    /// Print every executed command (`ZAB_SIM_VERBOSE=1`, for replaying one seed).
    pub(super) verbose: bool,
}

impl Cluster {
    pub fn new(seed: u64, options: Options) -> Self {
        let mut rng = Rng::new(seed);
        let mut profile = FaultProfile::draw(&mut rng);
        if options.lying_disks {
            // A lying disk only loses acknowledged writes when power goes out before its
            // cache is flushed, so the test double comes with frequent power losses.
            profile.power_loss_ppm = profile.power_loss_ppm.max(20_000);
        }
        let mut config_rng = rng.fork();
        let mut cluster = Cluster {
            step: 0,
            options,
            nodes: BTreeMap::new(),
            network: Network::default(),
            profile,
            chaos_rng: rng.fork(),
            network_rng: rng.fork(),
            disk_rng: rng.fork(),
            client_rng: rng.fork(),
            clock_rng: rng.fork(),
            connection_rng: rng.fork(),
            connection_losses: BTreeMap::new(),
            connection_loss_sequence: 0,
            clients: Clients::default(),
            checkers: Checkers::default(),
            partition_heals_at_tick: None,
            stats: RunStats::default(),
            trace: options.trace.then_some(FNV_OFFSET),
            verbose: std::env::var_os("ZAB_SIM_VERBOSE").is_some(),
        };
        for config in configs(options, &mut config_rng) {
            let node = Node::new(config, options.lying_disks);
            cluster.nodes.insert(node.id, node);
        }
        cluster.stats.clock_period_min = f64::MAX;
        let ids: Vec<ServerId> = cluster.nodes.keys().copied().collect();
        for id in &ids {
            cluster.draw_clock_rate(*id);
        }
        let ids: Vec<ServerId> = cluster.nodes.keys().copied().collect();
        for id in ids {
            cluster.restart(id);
        }
        cluster
    }

    /// Runs `ticks` ticks, stopping early at the first violation.
    pub fn run_ticks(&mut self, ticks: u64) -> Result<(), String> {
        for _ in 0..ticks * STEPS_PER_TICK {
            self.run_step();
            if let Some(violation) = self.checkers.first_violation() {
                return Err(violation.clone());
            }
        }
        Ok(())
    }

    pub fn tick(&self) -> u64 {
        self.step / STEPS_PER_TICK
    }

    pub fn stats(&self) -> RunStats {
        let (answered, unanswered) = self.clients.answered_and_unanswered();
        RunStats {
            transactions: self.checkers.delivered_sequence().len() as u64,
            operations_answered: answered,
            operations_unanswered: unanswered,
            ..self.stats.clone()
        }
    }

    /// Checks the clients' history for linearizability.
    pub fn check_linearizable(&self) -> Result<(), String> {
        crate::sim::checkers::kv_history::check_kv_history(self.clients.history())
    }

    /// The digest of every command executed so far (with `Options::trace`).
    pub fn trace_digest(&self) -> Option<u64> {
        self.trace
    }

    fn run_step(&mut self) {
        self.step += 1;
        if self.step % STEPS_PER_TICK == 0 {
            self.stats.ticks += 1;
            self.inject_faults();
            self.drift_clocks();
            self.run_clients();
        }
        self.tick_servers();
        self.crash_requested_servers();
        self.deliver_due_packets();
        self.crash_requested_servers();
        self.deliver_connection_losses();
        self.crash_requested_servers();
        self.complete_fsyncs();
        self.crash_requested_servers();
        self.schedule_connection_losses();
    }

    /// Ticks every running server whose own clock says a tick is due.
    fn tick_servers(&mut self) {
        let ids: Vec<ServerId> = self.nodes.keys().copied().collect();
        let step = self.step;
        for id in ids {
            let node = self.node_mut(id);
            if node.is_running() && node.clock.tick_due(step) {
                let commands = node.peer.as_mut().expect("running").tick();
                self.execute(id, commands);
            }
        }
    }

    /// Clock drift: now and then a server's clock changes its rate.
    fn drift_clocks(&mut self) {
        let ids: Vec<ServerId> = self.nodes.keys().copied().collect();
        for id in ids {
            if self.clock_rng.chance(self.profile.clock_drift_ppm) {
                self.draw_clock_rate(id);
            }
        }
    }

    fn draw_clock_rate(&mut self, id: ServerId) {
        let skew = self.profile.clock_skew_permille;
        let node = self.nodes.get_mut(&id).expect("known id");
        node.clock.draw_rate(&mut self.clock_rng, skew);
        let period = node.clock.period_steps();
        self.stats.clock_period_min = self.stats.clock_period_min.min(period);
        self.stats.clock_period_max = self.stats.clock_period_max.max(period);
    }

    fn complete_fsyncs(&mut self) {
        let ids: Vec<ServerId> = self.nodes.keys().copied().collect();
        for id in ids {
            let node = self.nodes.get_mut(&id).expect("known id");
            if !node.is_running() {
                continue;
            }
            if let Some(durable) = node.disk.complete_fsync(self.step) {
                let result = node.peer.as_mut().expect("up").on_persisted(durable);
                self.execute_result(id, result);
            }
            let mut duration = self.disk_rng.between(1, self.profile.fsync_max_steps);
            if self.disk_rng.chance(self.profile.fsync_stall_ppm) {
                duration += self.disk_rng.between(1, self.profile.fsync_stall_max_steps);
            }
            let node = self.nodes.get_mut(&id).expect("known id");
            node.disk.start_fsync(self.step, duration);
        }
    }
}

/// One configuration per server: voters `1..=voters`, then observers. Limits are drawn per
/// run so that small in-memory logs (SNAP) and short history summaries get exercised.
fn configs(options: Options, rng: &mut Rng) -> Vec<Config> {
    let voters = (1..=options.voters).map(ServerId);
    let observers = (options.voters + 1..=options.voters + options.observers).map(ServerId);
    let ensemble = Ensemble::new(voters, observers).expect("valid ensemble");
    let committed_log_max = rng.between(2, 64) as usize;
    let history_epochs_max = rng.between(1, 4) as usize;
    (1..=options.voters + options.observers)
        .map(|id| {
            let mut config = Config::new(ServerId(id), ensemble.clone());
            config.notification_interval_max_ticks = 8;
            config.committed_log_max = committed_log_max;
            config.history_epochs_max = history_epochs_max;
            config.outstanding_proposals_max = 64;
            config
        })
        .collect()
}

pub(super) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
pub(super) const FNV_PRIME: u64 = 0x0100_0000_01b3;

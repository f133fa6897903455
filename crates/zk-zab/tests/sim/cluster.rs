//! A whole ensemble on one thread: servers, network, disks, clients and checkers, driven by
//! one seed. Time advances in steps; every `STEPS_PER_TICK` steps every server ticks.

use crate::sim::checkers::Checkers;
use crate::sim::clients::Clients;
use crate::sim::faults::{FaultProfile, STEPS_PER_TICK};
use crate::sim::network::Network;
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
}

pub struct Cluster {
    pub(super) step: u64,
    pub(super) nodes: BTreeMap<ServerId, Node>,
    pub(super) network: Network,
    pub(super) profile: FaultProfile,
    pub(super) chaos_rng: Rng,
    pub(super) network_rng: Rng,
    pub(super) disk_rng: Rng,
    pub(super) client_rng: Rng,
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
            nodes: BTreeMap::new(),
            network: Network::default(),
            profile,
            chaos_rng: rng.fork(),
            network_rng: rng.fork(),
            disk_rng: rng.fork(),
            client_rng: rng.fork(),
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
        RunStats {
            transactions: self.checkers.delivered_sequence().len() as u64,
            ..self.stats.clone()
        }
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
            self.run_clients();
            self.tick_servers();
        }
        self.deliver_due_packets();
        self.complete_fsyncs();
    }

    fn tick_servers(&mut self) {
        let ids: Vec<ServerId> = self.nodes.keys().copied().collect();
        for id in ids {
            let node = self.node_mut(id);
            if node.is_running() {
                let commands = node.peer.as_mut().expect("running").tick();
                self.execute(id, commands);
            }
        }
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
            let duration = self.disk_rng.between(1, self.profile.fsync_max_steps);
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

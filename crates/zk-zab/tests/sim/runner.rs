//! Runs seeds: a safety phase under faults, then a liveness phase after healing. Every
//! failure names the seed that replays it.
//!
//! Environment: `ZAB_SIM_SEED=n` replays one seed; `ZAB_SIM_SEEDS=n` sets how many seeds a
//! test runs (soak runs); `ZAB_SIM_SEED_START=n` shifts the first seed to explore new ones.

use crate::sim::cluster::{Cluster, Options, RunStats};
use crate::sim::faults::STEPS_PER_TICK;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Ticks of the safety phase, with faults.
pub const SAFETY_TICKS: u64 = 300;
/// The bound of the liveness phase: after healing, recovery must take at most this long.
pub const LIVENESS_TICKS_MAX: u64 = 150;

/// Runs one seed through both phases.
pub fn run_seed(seed: u64, options: Options) -> Result<RunStats, String> {
    let mut cluster = Cluster::new(seed, options);
    cluster
        .run_ticks(SAFETY_TICKS)
        .map_err(|violation| format!("safety: {violation}"))?;
    cluster.heal();
    cluster.run_until_recovered(LIVENESS_TICKS_MAX)?;
    cluster.check_acknowledged_requests_survive()?;
    cluster
        .check_linearizable()
        .map_err(|violation| format!("linearizability: {violation}"))?;
    Ok(cluster.stats())
}

/// The seeds a test runs, from the environment or `default_count` starting at 0.
pub fn seeds(default_count: u64) -> Vec<u64> {
    if let Some(seed) = env_u64("ZAB_SIM_SEED") {
        return vec![seed];
    }
    let count = env_u64("ZAB_SIM_SEEDS").unwrap_or(default_count);
    let start = env_u64("ZAB_SIM_SEED_START").unwrap_or(0);
    (start..start + count).collect()
}

/// Runs every seed; panics at the first failure with the line that replays it.
pub fn check_seeds(test_name: &str, options: Options, default_count: u64) -> Totals {
    let mut totals = Totals::default();
    for seed in seeds(default_count) {
        let outcome = catch_unwind(AssertUnwindSafe(|| run_seed(seed, options)));
        let failure = match outcome {
            Ok(Ok(stats)) => {
                totals.add(&stats);
                continue;
            }
            Ok(Err(violation)) => violation,
            Err(panic) => format!("panicked: {}", panic_message(&panic)),
        };
        panic!(
            "simulation failed for seed {seed}: {failure}\n\
             replay: ZAB_SIM_SEED={seed} cargo test -p zk-zab --test simulation {test_name} -- --nocapture"
        );
    }
    println!("{test_name}: {totals}");
    totals
}

/// Runs the seeds a test runs (see [`seeds`]) until one fails; returns that seed and its
/// failure. For the deliberately broken variants, which the checkers must catch.
pub fn first_failing_seed(options: Options, default_count: u64) -> Option<(u64, String)> {
    seeds(default_count).into_iter().find_map(|seed| {
        match catch_unwind(AssertUnwindSafe(|| run_seed(seed, options))) {
            Ok(Ok(_)) => None,
            Ok(Err(violation)) => Some((seed, violation)),
            Err(panic) => Some((seed, format!("panicked: {}", panic_message(&panic)))),
        }
    })
}

/// Over the seeds a test runs by default, the fault schedule must have reached every crash
/// point behind ZooKeeper's ZAB data-loss bugs at least once, and the host must have told
/// peers about broken connections (`QuorumPeer::on_connection_lost`). (Not asserted when
/// replaying one seed.)
pub fn assert_fault_coverage(test_name: &str, totals: &Totals) {
    if env_u64("ZAB_SIM_SEED").is_some() {
        return;
    }
    assert!(
        totals.stats.connection_losses_delivered > 0,
        "{test_name}: no connection-lost input was delivered in {} seeds",
        totals.seeds
    );
    for (name, count) in totals.stats.crash_points.named() {
        assert!(
            count > 0,
            "{test_name}: the crash point \"{name}\" was never reached in {} seeds",
            totals.seeds
        );
    }
}

/// Sums over the seeds of a test.
#[derive(Debug, Default)]
pub struct Totals {
    pub seeds: u64,
    pub stats: RunStats,
    pub recovery_ticks_max: u64,
}

impl Totals {
    fn add(&mut self, run: &RunStats) {
        self.seeds += 1;
        let sum = &mut self.stats;
        sum.ticks += run.ticks;
        sum.epochs_established += run.epochs_established;
        sum.elections += run.elections;
        sum.crashes += run.crashes;
        sum.pauses += run.pauses;
        sum.partitions += run.partitions;
        sum.diffs += run.diffs;
        sum.truncs += run.truncs;
        sum.snaps += run.snaps;
        sum.recovery_ticks += run.recovery_ticks;
        sum.transactions += run.transactions;
        sum.operations_answered += run.operations_answered;
        sum.operations_unanswered += run.operations_unanswered;
        sum.crash_points.add(&run.crash_points);
        sum.connection_losses_delivered += run.connection_losses_delivered;
        sum.connection_losses_sent_looking += run.connection_losses_sent_looking;
        if self.seeds == 1 {
            sum.clock_period_min = run.clock_period_min;
            sum.clock_period_max = run.clock_period_max;
        }
        sum.clock_period_min = sum.clock_period_min.min(run.clock_period_min);
        sum.clock_period_max = sum.clock_period_max.max(run.clock_period_max);
        self.recovery_ticks_max = self.recovery_ticks_max.max(run.recovery_ticks);
    }
}

impl std::fmt::Display for Totals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.stats;
        write!(
            f,
            "{} seeds, {} ticks, {} transactions committed, {} epochs established, {} elections, \
             {} crashes, {} pauses, {} partitions, sync by DIFF {} / TRUNC {} / SNAP {}, \
             recovery after healing at most {} ticks, {} client operations answered and {} \
             unanswered (all linearizable), server clocks from {:.1} to {:.1} steps per tick \
             (true: {STEPS_PER_TICK}), {} connection-lost inputs delivered ({} sent a learner \
             looking)\n  crash points: {}",
            self.seeds,
            s.ticks,
            s.transactions,
            s.epochs_established,
            s.elections,
            s.crashes,
            s.pauses,
            s.partitions,
            s.diffs,
            s.truncs,
            s.snaps,
            self.recovery_ticks_max,
            s.operations_answered,
            s.operations_unanswered,
            s.clock_period_min,
            s.clock_period_max,
            s.connection_losses_delivered,
            s.connection_losses_sent_looking,
            s.crash_points
        )
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, got {value:?}")),
    )
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a non-string panic".into())
}

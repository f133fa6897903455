//! Deterministic simulation of ZAB ensembles under faults (see `sim/`), then recovery.
//!
//! Each test runs a bounded number of seeds so that the suite stays under a minute on two
//! busy cores; `ZAB_SIM_SEEDS=n` runs more, `ZAB_SIM_SEED=n` replays one.

mod sim;

use sim::cluster::{Cluster, Options};
use sim::runner::{
    assert_fault_coverage, check_seeds, first_failing_seed, run_seed, seeds, SAFETY_TICKS,
};
use zk_zab::fault_injection::{inject, Mutation};

/// Seeds per test in a normal run, 500 in all.
const SEEDS_THREE_VOTERS: u64 = 250;
/// An early NEWLEADER ACK loses data only when a crash lands between the ACK and the
/// history reaching the disk, and a quorum of such learners elects a new leader: about one
/// seed in 300-450 of the three-voter test (16 and 11 in 5,000, without and with the
/// connection-loss input). The test stops at the first seed that catches it, so the window
/// costs only the seeds run until then.
const SEEDS_ACK_BEFORE_DURABLE: u64 = 3_000;
const SEEDS_FIVE_VOTERS: u64 = 150;
const SEEDS_WITH_OBSERVERS: u64 = 100;
/// The lying-disk test double must be caught within this many seeds.
const SEEDS_TO_CATCH_LYING_DISKS: u64 = 100;

const THREE: Options = Options {
    voters: 3,
    observers: 0,
    lying_disks: false,
    local_reads: false,
    trace: false,
};

/// Runs a topology's seeds, then checks that they reached every crash point.
fn check_topology(test_name: &str, options: Options, seeds: u64) {
    let totals = check_seeds(test_name, options, seeds);
    assert_fault_coverage(test_name, &totals);
}

#[test]
fn three_voters_stay_safe_under_faults_and_recover() {
    check_topology(
        "three_voters_stay_safe_under_faults_and_recover",
        THREE,
        SEEDS_THREE_VOTERS,
    );
}

#[test]
fn five_voters_stay_safe_under_faults_and_recover() {
    let options = Options { voters: 5, ..THREE };
    check_topology(
        "five_voters_stay_safe_under_faults_and_recover",
        options,
        SEEDS_FIVE_VOTERS,
    );
}

#[test]
fn voters_with_observers_stay_safe_under_faults_and_recover() {
    let options = Options {
        voters: 3,
        observers: 2,
        ..THREE
    };
    check_topology(
        "voters_with_observers_stay_safe_under_faults_and_recover",
        options,
        SEEDS_WITH_OBSERVERS,
    );
}

#[test]
fn a_seed_replays_exactly() {
    let options = Options {
        voters: 5,
        observers: 1,
        trace: true,
        ..THREE
    };
    for seed in seeds(3) {
        let digest = |seed| {
            let mut cluster = Cluster::new(seed, options);
            let _ = cluster.run_ticks(SAFETY_TICKS);
            cluster.trace_digest()
        };
        assert_eq!(
            digest(seed),
            digest(seed),
            "seed {seed} ran differently twice"
        );
    }
}

/// The test double: disks that confirm writes before they are durable. Under crashes and
/// power loss an acknowledged write is then lost, and the checkers must say so.
#[test]
fn the_checkers_catch_disks_that_lie_about_fsync() {
    let options = Options {
        lying_disks: true,
        ..THREE
    };
    let caught = (0..SEEDS_TO_CATCH_LYING_DISKS)
        .find_map(|seed| run_seed(seed, options).err().map(|error| (seed, error)));
    let (seed, violation) = caught.unwrap_or_else(|| {
        panic!("lying disks went unnoticed for {SEEDS_TO_CATCH_LYING_DISKS} seeds")
    });
    println!("lying disks caught at seed {seed}: {violation}");
}

/// The test double for linearizability: servers answer reads from their own state machine
/// (ZooKeeper's default, sequentially consistent reads). A server that lags behind, or a
/// deposed leader, answers with a value older than one a completed write already replaced,
/// and the checker must say so.
#[test]
fn the_linearizability_checker_catches_reads_served_from_a_local_replica() {
    let options = Options {
        local_reads: true,
        ..THREE
    };
    let (seed, violation) = first_failing_seed(options, SEEDS_THREE_VOTERS)
        .unwrap_or_else(|| panic!("local reads went unnoticed for {SEEDS_THREE_VOTERS} seeds"));
    println!("local reads caught at seed {seed}: {violation}");
    assert!(violation.starts_with("linearizability"), "{violation}");
}

/// Switches a deliberately broken variant of the cores on for this thread, and off again
/// when dropped (even if the test fails).
struct Injected;

impl Injected {
    fn new(mutation: Mutation) -> Self {
        inject(Some(mutation));
        Injected
    }
}

impl Drop for Injected {
    fn drop(&mut self) {
        inject(None);
    }
}

/// The broken variant must make some seed of the first `seeds` of the three-voter test fail.
fn assert_mutation_caught(test_name: &str, mutation: Mutation, seeds: u64) {
    let _injected = Injected::new(mutation);
    let (seed, violation) = first_failing_seed(THREE, seeds)
        .unwrap_or_else(|| panic!("{mutation:?} went unnoticed for {seeds} seeds"));
    println!("{mutation:?} caught at seed {seed}: {violation}");
    println!("replay: ZAB_SIM_SEED={seed} cargo test -p zk-zab --test simulation {test_name} -- --nocapture");
}

#[test]
fn the_checkers_catch_a_leader_that_commits_before_a_quorum_acked() {
    assert_mutation_caught(
        "the_checkers_catch_a_leader_that_commits_before_a_quorum_acked",
        Mutation::CommitBeforeQuorum,
        SEEDS_THREE_VOTERS,
    );
}

#[test]
fn the_checkers_catch_a_learner_that_skips_trunc() {
    assert_mutation_caught(
        "the_checkers_catch_a_learner_that_skips_trunc",
        Mutation::SkipTrunc,
        SEEDS_THREE_VOTERS,
    );
}

#[test]
fn the_checkers_catch_a_learner_that_acks_newleader_before_its_history_is_durable() {
    assert_mutation_caught(
        "the_checkers_catch_a_learner_that_acks_newleader_before_its_history_is_durable",
        Mutation::AckNewLeaderBeforeDurable,
        SEEDS_ACK_BEFORE_DURABLE,
    );
}

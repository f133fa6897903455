//! Deterministic simulation of ZAB ensembles under faults (see `sim/`), then recovery.
//!
//! Each test runs a bounded number of seeds so that the suite stays under a minute on two
//! busy cores; `ZAB_SIM_SEEDS=n` runs more, `ZAB_SIM_SEED=n` replays one.

mod sim;

use sim::cluster::{Cluster, Options};
use sim::runner::{check_seeds, run_seed, seeds, SAFETY_TICKS};

/// Seeds per test in a normal run: together about 15 s of CPU in a debug build.
const SEEDS_THREE_VOTERS: u64 = 200;
const SEEDS_FIVE_VOTERS: u64 = 120;
const SEEDS_WITH_OBSERVERS: u64 = 100;
/// The lying-disk test double must be caught within this many seeds.
const SEEDS_TO_CATCH_LYING_DISKS: u64 = 100;

const THREE: Options = Options {
    voters: 3,
    observers: 0,
    lying_disks: false,
    trace: false,
};

#[test]
fn three_voters_stay_safe_under_faults_and_recover() {
    check_seeds(
        "three_voters_stay_safe_under_faults_and_recover",
        THREE,
        SEEDS_THREE_VOTERS,
    );
}

#[test]
fn five_voters_stay_safe_under_faults_and_recover() {
    let options = Options { voters: 5, ..THREE };
    check_seeds(
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
    check_seeds(
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

//! Shared helpers for the benchmarks in `benches/`, and the load tools: `zk-load`, a load
//! generator that speaks the ZooKeeper wire protocol (through zk-proto) to any server,
//! `zk-failover`, which times an ensemble's recovery from the loss of its leader, and
//! `zk-bench-report`, which turns the JSON lines of a comparison run into tables.
//!
//! # Layout
//! - [`cli`]: zk-load's flags to a [`cli::Command`].
//! - [`workload`]: one load run: setup, sessions, measurement window, CPU and memory samples.
//! - [`load_plan`]: what one load session sends and what it counts.
//! - [`key_space`]: the run's znode names and the setup step that creates them.
//! - [`connection`]: one session over TCP: handshake, single calls, the pipelined loop that
//!   keeps K requests in flight and matches replies by xid.
//! - [`probe`]: readiness probe (connect + `exists`), also used to time restarts.
//! - [`op_mix`]: operations and their weights; [`rng`]: the seeded generator behind choices.
//! - [`histogram`]: latency histogram (HdrHistogram) and percentile summary.
//! - [`proc_stats`]: CPU time and resident memory from /proc and getrusage.
//! - [`report`]: [`report::LoadReport`], as text or one JSON line.
//! - [`compare`]: medians and ratios over the JSON lines of `benches/compare.sh`.
//! - [`ensemble`]: an ensemble's members and roles, and the wait until it serves;
//!   [`server_mode`]: a server's role from the `srvr` four-letter word.
//! - [`failover`]: kill the leader while a client writes and time the first write after it
//!   (`zk-failover`); [`failover_report`]: its report and the table of medians.
//! - [`fsync_floor`]: what one append and fdatasync costs the machine with no server in
//!   the way (`zk-fsync-floor`).
//! - [`error`]: the one error type, [`error::LoadError`].
//! - [`tool_runtime`]: the tools' single-thread runtime.

pub mod cli;
pub mod compare;
pub mod connection;
pub mod ensemble;
pub mod error;
pub mod failover;
pub mod failover_report;
pub mod fsync_floor;
pub mod histogram;
pub mod key_space;
pub mod load_plan;
pub mod op_mix;
pub mod probe;
pub mod proc_stats;
pub mod report;
pub mod rng;
pub mod server_mode;
pub mod workload;

/// The runtime of the load tools: one current thread, so a tool's CPU cost is one core at
/// most and is what getrusage reports. On failure the message names `tool`, and the
/// caller exits with the returned status.
pub fn tool_runtime(tool: &str) -> Result<tokio::runtime::Runtime, std::process::ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| {
            eprintln!("{tool}: cannot start the runtime: {error}");
            std::process::ExitCode::FAILURE
        })
}

//! A deterministic simulation of whole ZAB ensembles: one thread, one seed, simulated time,
//! network and disks, no sockets, threads or clocks.
//!
//! - [`rng`]: the seeded generator; [`faults`]: the per-run fault profile; [`clock`]: each
//!   server's own, skewed and drifting clock.
//! - [`network`]: election datagrams and ordered leader–learner connections, with loss,
//!   duplication, delay, reordering and partitions; [`connection_loss`]: telling both ends
//!   of a broken connection.
//! - [`disk`]: writes durable only after fsync; crashes lose the rest.
//! - [`node`]: a server (peer, disk, state machine); [`kv`]: the replicated key-value
//!   store the clients use; [`clients`]: operations, retries, the recorded history.
//! - [`cluster`]: the world and its clock; [`execute`]: the host executing commands;
//!   [`chaos`]: faults and clients per tick; [`liveness`]: healing and recovery.
//! - [`crash_points`]: the crash points behind ZooKeeper's ZAB data-loss bugs, counted and
//!   aimed at.
//! - [`checkers`]: one safety invariant per file, and the linearizability checker;
//!   [`runner`]: seeds, phases, replay lines.

pub mod chaos;
pub mod checkers;
pub mod clients;
pub mod clock;
pub mod cluster;
pub mod connection_loss;
pub mod crash_points;
pub mod disk;
pub mod execute;
pub mod faults;
pub mod kv;
pub mod liveness;
pub mod network;
pub mod node;
pub mod rng;
pub mod runner;

//! A deterministic simulation of whole ZAB ensembles: one thread, one seed, simulated time,
//! network and disks, no sockets, threads or clocks.
//!
//! - [`rng`]: the seeded generator; [`faults`]: the per-run fault profile.
//! - [`network`]: election datagrams and ordered leader–learner connections, with loss,
//!   duplication, delay, reordering and partitions.
//! - [`disk`]: writes durable only after fsync; crashes lose the rest.
//! - [`node`]: a server (peer, disk, state machine); [`clients`]: requests and retries.
//! - [`cluster`]: the world and its clock; [`execute`]: the host executing commands;
//!   [`chaos`]: faults and clients per tick; [`liveness`]: healing and recovery.
//! - [`checkers`]: one safety invariant per file; [`runner`]: seeds, phases, replay lines.

pub mod chaos;
pub mod checkers;
pub mod clients;
pub mod cluster;
pub mod disk;
pub mod execute;
pub mod faults;
pub mod liveness;
pub mod network;
pub mod node;
pub mod rng;
pub mod runner;

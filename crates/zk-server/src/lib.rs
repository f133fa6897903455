//! A ZooKeeper-compatible coordination server: Apache ZooKeeper's clients (Java, Curator,
//! kazoo, the C client, zkCli.sh) use it unmodified.
//!
//! # Layout
//! - [`config`]: zoo.cfg parsing and validation.
//! - [`pipeline`]: the write path and per-session ordering (prepare → commit → apply →
//!   reply), as pure logic.
//! - [`session_tracker`]: session ids, passwords and expiry, as pure logic.
//! - [`watch`]: watch tables and trigger rules, as pure logic.
//! - [`four_letter`]: the four-letter words' answers.
//! - [`civil_time`]: calendar dates for human-readable output.
//! - [`quorum`]: the ensemble around ZAB: peer frames and links, zoo.cfg → ZAB timing,
//!   the status the four-letter words show.
//! - [`storage`]: the transaction log (group commit), snapshots, recovery, purge and the
//!   offline dump tools.
//! - [`wire`]: mapping between zk-proto records and pipeline requests/replies.
//! - [`codec`]: inbound framing for tokio.
//! - [`outbound`]: the write side of a connection, with its byte limit.
//! - [`stats`]: counters for the four-letter words.
//! - [`actors`]: ConnectionActor, SessionActor, TreeActor, WatchActor, LogActor and the
//!   listener.
//! - [`server`]: composition of the actors into a running server.
//! - [`memory`]: returning the allocator's freed pages after a snapshot.

pub mod actors;
pub mod civil_time;
pub mod codec;
pub mod config;
pub mod four_letter;
pub mod memory;
pub mod outbound;
pub mod pipeline;
pub mod quorum;
pub mod server;
pub mod session_tracker;
pub mod stats;
pub mod storage;
pub mod watch;
pub mod wire;

//! The ensemble around ZAB's cores: what travels between servers and how, the mapping of
//! zoo.cfg onto ZAB's configuration, and the status the four-letter words report. The
//! ElectionActor and BroadcastActor (in [`crate::actors`]) drive `zk_zab::QuorumPeer` with
//! these pieces.
//!
//! # Layout
//! - [`frame`]: peer frames (postcard, with a version and a CRC32) and their codec.
//! - [`payload`]: what a ZAB transaction carries: a zk-tree txn, and which learner's request
//!   it answers.
//! - [`link`]: one TCP connection to a peer: handshake, reader and writer tasks.
//! - [`timing`]: zoo.cfg (`tickTime`, `initLimit`, `syncLimit`, `server.N`) → `zk_zab::Config`.
//! - [`status`]: the role, leader and learner counts, shared with the four-letter words.

pub mod frame;
pub mod link;
pub mod payload;
pub mod status;
pub mod timing;

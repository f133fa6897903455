//! The actors: thin shells that own sockets, timers and the pure cores, and exchange typed
//! messages. Each message type lives beside the actor that handles it.
//!
//! Data flows one way: ConnectionActor → TreeActor → WatchActor → the connection's
//! [`crate::outbound::OutboundSink`]. The SessionActor handles handshakes and expiry, and
//! writes session changes through the TreeActor like any other transaction.
//!
//! In an ensemble, the BroadcastActor owns the ZAB core and the quorum port, and takes the
//! place of the log's fsync as the TreeActor's commit step; the ElectionActor carries the
//! election notifications.

pub mod broadcast;
pub mod connection;
pub mod election;
pub mod four_letter;
pub mod listener;
pub mod log;
pub mod session;
pub mod tree;
pub mod watch;

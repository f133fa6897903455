//! ZooKeeper Atomic Broadcast (ZAB) for a ZooKeeper-compatible server: fast leader election,
//! discovery, synchronisation and broadcast, as deterministic state machines with no I/O.
//!
//! A host (zk-server's actors, or the simulation in `tests/`) drives one [`QuorumPeer`] per
//! server. It feeds in ticks, peer messages, client proposals and storage confirmations, and
//! executes the [`Command`]s each call returns, in order: send a message, make a write
//! durable, deliver a committed transaction, take a snapshot, change role. The same inputs
//! always give the same commands in the same order. See DESIGN.md for the state diagrams and
//! the contract the host keeps.
//!
//! # Layout
//! - [`peer`]: [`QuorumPeer`], the facade: routes each input to the current role and switches
//!   roles when an election decides or a role gives up.
//! - `election`: fast leader election for a looking server; [`vote`]: votes, their order,
//!   notifications.
//! - `leader`: discovery (the new epoch), synchronisation (NEWLEADER) and broadcast
//!   (PROPOSAL, ACK, COMMIT, INFORM, PING) on the leader's side, with one learner handler per
//!   connected learner.
//! - `learner`: the same phases on a follower's or an observer's side.
//! - `sync`: the DIFF / TRUNC / SNAP decision from a learner's [`HistorySummary`].
//! - `log`: the in-memory window of the transaction log with its committed and durable marks.
//! - `durability`: write ids, their confirmations, the accepted and current epochs.
//! - `context`: the shared state a role borrows while it handles one input.
//! - [`quorum`]: ensemble membership and the majority rule; [`config`]: limits and timeouts.
//! - [`messages`]: peer messages and their versioned [`Envelope`]; [`commands`]: what the host
//!   executes; [`txn`]: the opaque transaction; [`error`]: [`ZabError`].

#![warn(missing_docs)]

pub mod commands;
pub mod config;
mod context;
mod durability;
mod election;
pub mod error;
#[doc(hidden)]
pub mod fault_injection;
mod leader;
mod learner;
mod log;
pub mod messages;
pub mod peer;
pub mod quorum;
mod sync;
pub mod txn;
pub mod vote;

pub use commands::{Command, DurableWrite, WriteId};
pub use config::Config;
pub use error::ZabError;
pub use messages::{Envelope, HistorySummary, Message, NewLeader, SyncMode, PROTOCOL_VERSION};
pub use peer::{PersistedState, QuorumPeer};
pub use quorum::{Ensemble, LearnerType};
pub use txn::Txn;
pub use vote::{ElectionEpoch, Notification, PeerState, Vote};

#[cfg(test)]
mod testing;

//! An asynchronous ZooKeeper client on tokio, with Curator-class recipes, speaking
//! zk-proto's wire records.
//!
//! # Layout
//! - [`client`]: [`Client`], the handle: every operation of the wire protocol, watches as
//!   futures ([`Watch`]) and streams ([`WatchStream`]), `multi`, authentication.
//! - [`session`]: the task behind a client: connection, handshake, request/reply matching
//!   by xid, pings, reconnection with session re-attach and `setWatches`, expiry.
//! - [`watch`]: the watch table and its trigger rules, and the watch handles.
//! - [`watch_stream`]: gap-free streams of a node's data or children, current value first.
//! - [`state`]: [`ConnectionState`] (Connected, Suspended, Reconnected, Lost, Expired,
//!   Closed) and the stream of its changes.
//! - [`retry`]: retry policies (bounded, exponential backoff with a cap).
//! - [`config`]: [`ClientConfig`], with a named limit on every queue.
//! - [`connect_string`], [`host_list`], [`path`]: hosts, shuffled order, chroot, path rules.
//! - [`rng`]: the seeded generator behind host order, jitter and recipe ids.
//! - [`error`]: [`Error`], every variant with its ZooKeeper error code.
//! - [`recipes`]: locks, semaphores, leader election and the other coordination recipes.
//! - [`cli`]: a zkCli-compatible shell (commands, options, output formats); the `zkcli`
//!   binary drives it.

#![warn(missing_docs)]

pub mod cli;
pub mod client;
pub mod config;
pub mod connect_string;
pub mod error;
pub mod host_list;
pub mod path;
pub mod recipes;
pub mod retry;
pub mod rng;
pub mod session;
pub mod state;
pub mod watch;
pub mod watch_stream;

pub use client::ops::CreateOptions;
pub use client::{op, Client};
pub use config::ClientConfig;
pub use error::{Error, Result};
pub use retry::RetryPolicy;
pub use session::SessionSnapshot;
pub use state::{ConnectionState, StateStream};
pub use watch::{Watch, WatchStream, WatchedEvent};
pub use zk_proto::{Acl, AddWatchMode, CreateMode, ErrorCode, EventType, Stat, WatcherType};

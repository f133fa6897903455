//! Apache ZooKeeper's client wire protocol: jute records and length-prefixed framing,
//! byte-compatible with clients of ZooKeeper 3.4 to 3.9. No I/O: callers hand in bytes and
//! get records back, and the other way round.
//!
//! # Layout
//! - [`jute`]: the encoding primitives and the [`Encode`]/[`Decode`] trait pair.
//! - [`types`]: newtypes for protocol scalars ([`Zxid`], [`SessionId`], [`Xid`], ...).
//! - [`error`]: [`DecodeError`] for bad bytes, [`ErrorCode`] for the protocol's result codes.
//! - [`opcode`]: [`OpCode`], the request types.
//! - [`data`]: records shared by many requests (`Id`, `ACL`, `Stat`) and enumerations.

pub mod data;
pub mod error;
pub mod jute;
pub mod opcode;
pub mod types;

pub use data::{Acl, CreateMode, EventType, Id, KeeperState, Perms, Stat};
pub use error::{DecodeError, ErrorCode};
pub use jute::{Decode, Encode, Reader};
pub use opcode::OpCode;
pub use types::{Epoch, ServerId, SessionId, Xid, Zxid};

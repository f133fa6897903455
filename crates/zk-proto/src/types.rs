//! Newtypes for the protocol's scalars, so a zxid is never confused with a session id.

use crate::error::DecodeError;
use crate::jute::{Decode, Encode, Reader};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A ZooKeeper transaction id: the epoch in the high 32 bits, a counter in the low 32.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Zxid(pub i64);

impl Zxid {
    /// The zxid before any transaction.
    pub const ZERO: Zxid = Zxid(0);

    /// The zxid for `counter` in `epoch`.
    pub fn new(epoch: Epoch, counter: u32) -> Self {
        Zxid(((epoch.0 as i64) << 32) | i64::from(counter))
    }

    /// The leader epoch that issued this zxid.
    pub fn epoch(self) -> Epoch {
        Epoch((self.0 >> 32) as u32)
    }

    /// The position of this zxid within its epoch.
    pub fn counter(self) -> u32 {
        self.0 as u32
    }

    /// The next zxid in the same epoch.
    pub fn next(self) -> Self {
        Zxid(self.0 + 1)
    }
}

impl fmt::Display for Zxid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.0)
    }
}

/// A leader epoch of the ZAB protocol.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Epoch(pub u32);

/// A client session id. Apache puts the id of the server that created the session in the
/// high byte.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct SessionId(pub i64);

impl SessionId {
    /// The id carried by a connect request that asks for a new session.
    pub const NONE: SessionId = SessionId(0);
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.0)
    }
}

/// A request id chosen by the client; replies carry the same xid.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Xid(pub i32);

impl Xid {
    /// The xid of a watch notification sent by the server.
    pub const NOTIFICATION: Xid = Xid(-1);
    /// The xid of a ping and of its reply.
    pub const PING: Xid = Xid(-2);
    /// The xid of an auth packet and of its reply.
    pub const AUTH: Xid = Xid(-4);
    /// The xid of a setWatches request sent after a reconnect, and of its reply.
    pub const SET_WATCHES: Xid = Xid(-8);
}

/// The id of a server in an ensemble (`server.N` in zoo.cfg, the `myid` file).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct ServerId(pub u64);

impl fmt::Display for ServerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Implements `Encode`/`Decode` for a newtype over a jute `int` or `long`.
macro_rules! scalar_codec {
    ($($name:ident($inner:ty)),* $(,)?) => {$(
        impl Encode for $name {
            fn encode(&self, out: &mut Vec<u8>) {
                self.0.encode(out);
            }
        }

        impl Decode for $name {
            const MIN_WIRE_LEN: usize = <$inner as Decode>::MIN_WIRE_LEN;
            fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok($name(<$inner>::decode(reader)?))
            }
        }
    )*};
}

scalar_codec!(Zxid(i64), SessionId(i64), Xid(i32));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zxid_splits_into_epoch_and_counter() {
        let zxid = Zxid::new(Epoch(3), 7);
        assert_eq!(zxid.0, (3 << 32) | 7);
        assert_eq!(zxid.epoch(), Epoch(3));
        assert_eq!(zxid.counter(), 7);
        assert_eq!(zxid.to_string(), "0x300000007");
    }
}

//! The data records shared by many requests: `Id`, `ACL`, `Stat`, and the enumerations
//! (permissions, create modes, event types, keeper states) with Apache's numbers.

use crate::error::DecodeError;
use crate::jute::{self, Decode, Encode, Reader};
use serde::{Deserialize, Serialize};

/// An identity: a scheme (`world`, `auth`, `digest`, `ip`, `super`, ...) and an id within it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Id {
    pub scheme: String,
    pub id: String,
}

impl Id {
    /// `world:anyone`, the identity every session has.
    pub fn anyone() -> Self {
        Id {
            scheme: "world".into(),
            id: "anyone".into(),
        }
    }
}

impl Encode for Id {
    fn encode(&self, out: &mut Vec<u8>) {
        jute::write_string(out, Some(&self.scheme));
        jute::write_string(out, Some(&self.id));
    }
}

impl Decode for Id {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Id {
            scheme: String::decode(reader)?,
            id: String::decode(reader)?,
        })
    }
}

/// Permission bits of an ACL entry.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Perms(pub i32);

impl Perms {
    pub const READ: Perms = Perms(1);
    pub const WRITE: Perms = Perms(1 << 1);
    pub const CREATE: Perms = Perms(1 << 2);
    pub const DELETE: Perms = Perms(1 << 3);
    pub const ADMIN: Perms = Perms(1 << 4);
    pub const ALL: Perms = Perms(0b1_1111);

    /// Whether every bit of `wanted` is granted.
    pub fn contains(self, wanted: Perms) -> bool {
        self.0 & wanted.0 == wanted.0
    }
}

impl std::ops::BitOr for Perms {
    type Output = Perms;
    fn bitor(self, other: Perms) -> Perms {
        Perms(self.0 | other.0)
    }
}

/// One entry of an access control list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Acl {
    pub perms: Perms,
    pub id: Id,
}

impl Acl {
    /// `world:anyone` with every permission (Apache's `OPEN_ACL_UNSAFE`).
    pub fn open_unsafe() -> Vec<Acl> {
        vec![Acl {
            perms: Perms::ALL,
            id: Id::anyone(),
        }]
    }

    /// `world:anyone` with read permission (Apache's `READ_ACL_UNSAFE`).
    pub fn read_unsafe() -> Vec<Acl> {
        vec![Acl {
            perms: Perms::READ,
            id: Id::anyone(),
        }]
    }
}

impl Encode for Acl {
    fn encode(&self, out: &mut Vec<u8>) {
        jute::write_i32(out, self.perms.0);
        self.id.encode(out);
    }
}

impl Decode for Acl {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Acl {
            perms: Perms(reader.read_i32()?),
            id: Id::decode(reader)?,
        })
    }
}

/// The metadata of a znode, as clients see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Stat {
    /// The zxid of the transaction that created the node.
    pub czxid: i64,
    /// The zxid of the transaction that last changed the node's data.
    pub mzxid: i64,
    /// Creation time, milliseconds since the epoch.
    pub ctime: i64,
    /// Time of the last data change, milliseconds since the epoch.
    pub mtime: i64,
    /// Number of data changes.
    pub version: i32,
    /// Number of child changes.
    pub cversion: i32,
    /// Number of ACL changes.
    pub aversion: i32,
    /// The owning session of an ephemeral node, 0 otherwise (TTL nodes encode their TTL here).
    pub ephemeral_owner: i64,
    /// Length of the node's data.
    pub data_length: i32,
    /// Number of children.
    pub num_children: i32,
    /// The zxid of the transaction that last changed the node's children.
    pub pzxid: i64,
}

impl Encode for Stat {
    fn encode(&self, out: &mut Vec<u8>) {
        jute::write_i64(out, self.czxid);
        jute::write_i64(out, self.mzxid);
        jute::write_i64(out, self.ctime);
        jute::write_i64(out, self.mtime);
        jute::write_i32(out, self.version);
        jute::write_i32(out, self.cversion);
        jute::write_i32(out, self.aversion);
        jute::write_i64(out, self.ephemeral_owner);
        jute::write_i32(out, self.data_length);
        jute::write_i32(out, self.num_children);
        jute::write_i64(out, self.pzxid);
    }
}

impl Decode for Stat {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Stat {
            czxid: reader.read_i64()?,
            mzxid: reader.read_i64()?,
            ctime: reader.read_i64()?,
            mtime: reader.read_i64()?,
            version: reader.read_i32()?,
            cversion: reader.read_i32()?,
            aversion: reader.read_i32()?,
            ephemeral_owner: reader.read_i64()?,
            data_length: reader.read_i32()?,
            num_children: reader.read_i32()?,
            pzxid: reader.read_i64()?,
        })
    }
}

/// How a znode is created: the `flags` field of create requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CreateMode {
    Persistent,
    Ephemeral,
    PersistentSequential,
    EphemeralSequential,
    Container,
    PersistentWithTtl,
    PersistentSequentialWithTtl,
}

impl CreateMode {
    /// The mode for a wire flag value, as Apache's `CreateMode.fromFlag`.
    pub fn from_flag(flag: i32) -> Result<Self, DecodeError> {
        Ok(match flag {
            0 => CreateMode::Persistent,
            1 => CreateMode::Ephemeral,
            2 => CreateMode::PersistentSequential,
            3 => CreateMode::EphemeralSequential,
            4 => CreateMode::Container,
            5 => CreateMode::PersistentWithTtl,
            6 => CreateMode::PersistentSequentialWithTtl,
            other => {
                return Err(DecodeError::InvalidValue {
                    field: "create mode",
                    value: other.into(),
                })
            }
        })
    }

    /// The wire flag value.
    pub fn flag(self) -> i32 {
        match self {
            CreateMode::Persistent => 0,
            CreateMode::Ephemeral => 1,
            CreateMode::PersistentSequential => 2,
            CreateMode::EphemeralSequential => 3,
            CreateMode::Container => 4,
            CreateMode::PersistentWithTtl => 5,
            CreateMode::PersistentSequentialWithTtl => 6,
        }
    }

    pub fn is_ephemeral(self) -> bool {
        matches!(
            self,
            CreateMode::Ephemeral | CreateMode::EphemeralSequential
        )
    }

    pub fn is_sequential(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentSequential
                | CreateMode::EphemeralSequential
                | CreateMode::PersistentSequentialWithTtl
        )
    }

    pub fn is_container(self) -> bool {
        self == CreateMode::Container
    }

    pub fn is_ttl(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentWithTtl | CreateMode::PersistentSequentialWithTtl
        )
    }
}

/// The type of a watch event (`WatchedEvent.EventType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(i32)]
pub enum EventType {
    None = -1,
    NodeCreated = 1,
    NodeDeleted = 2,
    NodeDataChanged = 3,
    NodeChildrenChanged = 4,
    DataWatchRemoved = 5,
    ChildWatchRemoved = 6,
    PersistentWatchRemoved = 7,
}

impl EventType {
    pub fn from_code(code: i32) -> Result<Self, DecodeError> {
        Ok(match code {
            -1 => EventType::None,
            1 => EventType::NodeCreated,
            2 => EventType::NodeDeleted,
            3 => EventType::NodeDataChanged,
            4 => EventType::NodeChildrenChanged,
            5 => EventType::DataWatchRemoved,
            6 => EventType::ChildWatchRemoved,
            7 => EventType::PersistentWatchRemoved,
            other => {
                return Err(DecodeError::InvalidValue {
                    field: "event type",
                    value: other.into(),
                })
            }
        })
    }

    pub fn code(self) -> i32 {
        self as i32
    }
}

/// The connection state carried by a watch event (`Watcher.Event.KeeperState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(i32)]
pub enum KeeperState {
    Disconnected = 0,
    SyncConnected = 3,
    AuthFailed = 4,
    ConnectedReadOnly = 5,
    SaslAuthenticated = 6,
    Expired = -112,
    Closed = 7,
}

impl KeeperState {
    pub fn from_code(code: i32) -> Result<Self, DecodeError> {
        Ok(match code {
            0 => KeeperState::Disconnected,
            3 => KeeperState::SyncConnected,
            4 => KeeperState::AuthFailed,
            5 => KeeperState::ConnectedReadOnly,
            6 => KeeperState::SaslAuthenticated,
            -112 => KeeperState::Expired,
            7 => KeeperState::Closed,
            other => {
                return Err(DecodeError::InvalidValue {
                    field: "keeper state",
                    value: other.into(),
                })
            }
        })
    }

    pub fn code(self) -> i32 {
        self as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jute::{from_bytes, to_bytes};

    #[test]
    fn stat_is_68_bytes_in_field_order() {
        let stat = Stat {
            czxid: 1,
            pzxid: 2,
            ..Stat::default()
        };
        let bytes = to_bytes(&stat);
        assert_eq!(bytes.len(), 68);
        assert_eq!(bytes[7], 1);
        assert_eq!(bytes[67], 2);
        assert_eq!(from_bytes::<Stat>(&bytes).unwrap(), stat);
    }

    #[test]
    fn create_mode_flags_match_apache() {
        for flag in 0..=6 {
            assert_eq!(CreateMode::from_flag(flag).unwrap().flag(), flag);
        }
        assert!(CreateMode::from_flag(7).is_err());
        assert!(CreateMode::from_flag(3).unwrap().is_ephemeral());
        assert!(CreateMode::from_flag(3).unwrap().is_sequential());
    }
}

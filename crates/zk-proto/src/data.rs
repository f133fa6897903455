//! The records of jute's `org.apache.zookeeper.data` module shared by many requests (`Id`,
//! `ACL`, `Stat`, `ClientInfo`), and the enumerations (permissions, create modes, event types,
//! keeper states, watcher types, watch modes) with Apache's numbers.

use crate::error::DecodeError;
use crate::jute::{self, Decode, Encode, Reader};
use serde::{Deserialize, Serialize};

/// An identity: a scheme (`world`, `auth`, `digest`, `ip`, `super`, ...) and an id within it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Id {
    /// The authentication scheme.
    pub scheme: String,
    /// The identity within the scheme (`anyone`, `user:base64(sha1)`, an address, ...).
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
    const MIN_WIRE_LEN: usize = 8;
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
    /// Read the node's data and list its children.
    pub const READ: Perms = Perms(1);
    /// Set the node's data.
    pub const WRITE: Perms = Perms(1 << 1);
    /// Create children.
    pub const CREATE: Perms = Perms(1 << 2);
    /// Delete children.
    pub const DELETE: Perms = Perms(1 << 3);
    /// Set the node's ACL.
    pub const ADMIN: Perms = Perms(1 << 4);
    /// Every permission.
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
    /// What the identity may do.
    pub perms: Perms,
    /// Who the entry is for.
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
    const MIN_WIRE_LEN: usize = 12;
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
    const MIN_WIRE_LEN: usize = 68;
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

jute::vector_codec!(Acl);

/// One identity a session has authenticated as, as `whoAmI` reports it (jute `ClientInfo`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct ClientInfo {
    /// The authentication scheme (`ip`, `digest`, `sasl`, ...).
    pub auth_scheme: String,
    /// The user name, or another id such as the client's address.
    pub user: String,
}

impl Encode for ClientInfo {
    fn encode(&self, out: &mut Vec<u8>) {
        self.auth_scheme.encode(out);
        self.user.encode(out);
    }
}

impl Decode for ClientInfo {
    const MIN_WIRE_LEN: usize = 8;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ClientInfo {
            auth_scheme: String::decode(reader)?,
            user: String::decode(reader)?,
        })
    }
}

jute::vector_codec!(ClientInfo);

/// How a znode is created: the `flags` field of create requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CreateMode {
    /// Stays until deleted (flag 0).
    Persistent,
    /// Deleted when the creating session ends (flag 1).
    Ephemeral,
    /// Persistent, with a sequence number appended to the name (flag 2).
    PersistentSequential,
    /// Ephemeral, with a sequence number appended to the name (flag 3).
    EphemeralSequential,
    /// Deleted by the server once its last child is gone (flag 4).
    Container,
    /// Deleted by the server when unchanged and childless for its TTL (flag 5).
    PersistentWithTtl,
    /// TTL, with a sequence number appended to the name (flag 6).
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

    /// Whether the node ends with its session.
    pub fn is_ephemeral(self) -> bool {
        matches!(
            self,
            CreateMode::Ephemeral | CreateMode::EphemeralSequential
        )
    }

    /// Whether the server appends a sequence number to the name.
    pub fn is_sequential(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentSequential
                | CreateMode::EphemeralSequential
                | CreateMode::PersistentSequentialWithTtl
        )
    }

    /// Whether the node is a container.
    pub fn is_container(self) -> bool {
        self == CreateMode::Container
    }

    /// Whether the node has a time to live.
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
    /// A change of the connection state, about no node.
    None = -1,
    /// The watched node was created.
    NodeCreated = 1,
    /// The watched node was deleted.
    NodeDeleted = 2,
    /// The watched node's data changed.
    NodeDataChanged = 3,
    /// The watched node's children changed.
    NodeChildrenChanged = 4,
    /// A data watch was removed.
    DataWatchRemoved = 5,
    /// A child watch was removed.
    ChildWatchRemoved = 6,
    /// A persistent watch was removed.
    PersistentWatchRemoved = 7,
}

impl EventType {
    /// The value for a wire number.
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

    /// The wire number.
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// The connection state carried by a watch event (`Watcher.Event.KeeperState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(i32)]
pub enum KeeperState {
    /// The client is not connected.
    Disconnected = 0,
    /// The client is connected to a server that is part of a quorum; the state of every
    /// notification the server sends.
    SyncConnected = 3,
    /// Authentication failed.
    AuthFailed = 4,
    /// The client is connected to a read-only server.
    ConnectedReadOnly = 5,
    /// SASL authentication succeeded.
    SaslAuthenticated = 6,
    /// The session expired.
    Expired = -112,
    /// The client closed the session.
    Closed = 7,
}

impl KeeperState {
    /// The value for a wire number.
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

    /// The wire number.
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// Implements `Encode`/`Decode` for an enumeration carried as a jute `int`, through its
/// `code()` and `from_code()`.
macro_rules! int_enum_codec {
    ($($name:ty),* $(,)?) => {$(
        impl Encode for $name {
            fn encode(&self, out: &mut Vec<u8>) {
                jute::write_i32(out, self.code());
            }
        }

        impl Decode for $name {
            const MIN_WIRE_LEN: usize = 4;
            fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
                <$name>::from_code(reader.read_i32()?)
            }
        }
    )*};
}

/// Which watches a `checkWatches` or `removeWatches` request is about
/// (`Watcher.WatcherType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(i32)]
pub enum WatcherType {
    /// Child watches.
    Children = 1,
    /// Data and exist watches.
    Data = 2,
    /// Every kind.
    Any = 3,
    /// Persistent watches.
    Persistent = 4,
    /// Persistent recursive watches.
    PersistentRecursive = 5,
}

impl WatcherType {
    /// The value for a wire number.
    pub fn from_code(code: i32) -> Result<Self, DecodeError> {
        Ok(match code {
            1 => WatcherType::Children,
            2 => WatcherType::Data,
            3 => WatcherType::Any,
            4 => WatcherType::Persistent,
            5 => WatcherType::PersistentRecursive,
            other => {
                return Err(DecodeError::InvalidValue {
                    field: "watcher type",
                    value: other.into(),
                })
            }
        })
    }

    /// The wire number.
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// The kind of watch an `addWatch` request sets (`AddWatchMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(i32)]
pub enum AddWatchMode {
    /// Fires on every change of the node's data or children, and stays set.
    Persistent = 0,
    /// Like `Persistent`, for the node and every node below it.
    PersistentRecursive = 1,
}

impl AddWatchMode {
    /// The value for a wire number.
    pub fn from_code(code: i32) -> Result<Self, DecodeError> {
        Ok(match code {
            0 => AddWatchMode::Persistent,
            1 => AddWatchMode::PersistentRecursive,
            other => {
                return Err(DecodeError::InvalidValue {
                    field: "add watch mode",
                    value: other.into(),
                })
            }
        })
    }

    /// The wire number.
    pub fn code(self) -> i32 {
        self as i32
    }
}

int_enum_codec!(EventType, KeeperState, WatcherType, AddWatchMode);

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

    #[test]
    fn enumerations_round_trip_through_their_codes() {
        for code in [-1, 1, 2, 3, 4, 5, 6, 7] {
            assert_eq!(EventType::from_code(code).unwrap().code(), code);
        }
        for code in [0, 3, 4, 5, 6, -112, 7] {
            assert_eq!(KeeperState::from_code(code).unwrap().code(), code);
        }
        for code in 1..=5 {
            assert_eq!(WatcherType::from_code(code).unwrap().code(), code);
        }
        for code in 0..=1 {
            assert_eq!(AddWatchMode::from_code(code).unwrap().code(), code);
        }
        assert!(EventType::from_code(0).is_err());
        assert!(WatcherType::from_code(0).is_err());
        assert!(AddWatchMode::from_code(2).is_err());
    }

    #[test]
    fn acl_vector_count_is_checked_against_the_item_size() {
        // Two ACL entries need at least 24 bytes; 20 bytes after the count cannot hold them.
        let mut bytes = 2i32.to_be_bytes().to_vec();
        bytes.extend_from_slice(&[0; 20]);
        let error = from_bytes::<Vec<Acl>>(&bytes).unwrap_err();
        assert!(matches!(
            error,
            DecodeError::UnexpectedEnd { needed: 24, .. }
        ));
    }

    #[test]
    fn client_info_is_two_strings() {
        let info = ClientInfo {
            auth_scheme: "ip".into(),
            user: "127.0.0.1".into(),
        };
        let bytes = to_bytes(&info);
        assert_eq!(&bytes[..6], &[0, 0, 0, 2, b'i', b'p']);
        assert_eq!(from_bytes::<ClientInfo>(&bytes).unwrap(), info);
    }
}

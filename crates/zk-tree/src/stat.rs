//! The stat a znode keeps (Apache's `StatPersisted`), how clients see it (`Stat`), and the
//! kinds of znode encoded in its `ephemeralOwner` (Apache's `EphemeralType`).

use serde::{Deserialize, Serialize};
use zk_proto::{ErrorCode, SessionId, Stat, Zxid};

/// The `ephemeralOwner` that marks a container (Apache's `CONTAINER_EPHEMERAL_OWNER`).
pub const CONTAINER_EPHEMERAL_OWNER: i64 = i64::MIN;

/// The largest TTL, in milliseconds (40 bits: about 34 years).
pub const TTL_MAX_MS: i64 = 0x0000_00ff_ffff_ffff;

/// High byte set: the owner is an "extended" type (only TTL exists).
const EXTENDED_MASK: i64 = 0xff00_0000_0000_0000_u64 as i64;
/// The bits naming which extended type; 0 is TTL.
const EXTENDED_FEATURE_BITS: i64 = 0x00ff_ff00_0000_0000;

/// What kind of znode an `ephemeralOwner` value denotes (Apache's `EphemeralType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EphemeralKind {
    /// A persistent znode (owner 0).
    Persistent,
    /// An ephemeral znode owned by the session.
    Ephemeral(SessionId),
    /// A container, removed once its last child is gone.
    Container,
    /// A persistent znode removed when unmodified and childless for this many ms.
    Ttl { ttl_ms: i64 },
}

impl EphemeralKind {
    /// Decodes an `ephemeralOwner`. TTL owners are recognised only when extended types are
    /// enabled, exactly as in Apache (where they would otherwise read as a session id).
    pub fn of(owner: i64, extended_types_enabled: bool) -> Self {
        if extended_types_enabled
            && owner & EXTENDED_MASK == EXTENDED_MASK
            && owner & EXTENDED_FEATURE_BITS == 0
        {
            // Apache throws for unknown feature bits; such owners only come from session
            // ids of server 255, which Apache refuses with extended types enabled.
            return EphemeralKind::Ttl {
                ttl_ms: owner & TTL_MAX_MS,
            };
        }
        match owner {
            CONTAINER_EPHEMERAL_OWNER => EphemeralKind::Container,
            0 => EphemeralKind::Persistent,
            session => EphemeralKind::Ephemeral(SessionId(session)),
        }
    }

    /// Whether this is an ephemeral owned by a session (Apache's `EphemeralType.NORMAL`).
    pub fn is_session_owned(self) -> bool {
        matches!(self, EphemeralKind::Ephemeral(_))
    }
}

/// The `ephemeralOwner` of a TTL znode, or `BadArguments` when the TTL is out of range
/// (Apache's `EphemeralType.TTL.toEphemeralOwner`).
pub fn ttl_ephemeral_owner(ttl_ms: i64) -> Result<i64, ErrorCode> {
    if ttl_ms <= 0 || ttl_ms > TTL_MAX_MS {
        return Err(ErrorCode::BadArguments);
    }
    Ok(EXTENDED_MASK | ttl_ms)
}

/// The metadata a znode stores. Unlike the client's [`Stat`], `cversion` here counts child
/// *creations* (the sequential suffix comes from it), and the owner is stored raw.
///
/// Packed to 4-byte alignment (fields in declaration order, no padding): its fields take
/// 60 bytes, which 8-byte alignment would pad to 64 inside every znode (a million znodes:
/// 4 MB). Fields are read and written by value as usual; the compiler refuses only a
/// reference to an 8-byte field. The serde encoding follows the field order, not the
/// layout, so snapshots and logs are unchanged (pinned by a test below).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[repr(C, packed(4))]
pub struct StatPersisted {
    pub czxid: i64,
    pub mzxid: i64,
    pub pzxid: i64,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
    pub ephemeral_owner: i64,
}

impl StatPersisted {
    /// The stat of a znode created by the transaction `zxid` at `time_ms`
    /// (Apache's `DataTree.createStat`).
    pub fn created(zxid: Zxid, time_ms: i64, ephemeral_owner: i64) -> Self {
        StatPersisted {
            czxid: zxid.0,
            mzxid: zxid.0,
            pzxid: zxid.0,
            ctime: time_ms,
            mtime: time_ms,
            version: 0,
            cversion: 0,
            aversion: 0,
            ephemeral_owner,
        }
    }

    /// The stat clients see (Apache's `DataNode.copyStat`): `cversion` becomes the number
    /// of child changes, `2 * creations - children` (Java int arithmetic), and the owner of
    /// a container or TTL znode reads as 0.
    pub fn to_client(
        &self,
        data_length: usize,
        num_children: u32,
        extended_types_enabled: bool,
    ) -> Stat {
        let num_children = num_children as i32;
        let ephemeral_owner = match EphemeralKind::of(self.ephemeral_owner, extended_types_enabled)
        {
            EphemeralKind::Ephemeral(session) => session.0,
            _ => 0,
        };
        Stat {
            czxid: self.czxid,
            mzxid: self.mzxid,
            ctime: self.ctime,
            mtime: self.mtime,
            version: self.version,
            cversion: self.cversion.wrapping_mul(2).wrapping_sub(num_children),
            aversion: self.aversion,
            ephemeral_owner,
            data_length: data_length as i32,
            num_children,
            pzxid: self.pzxid,
        }
    }
}

/// The name of the `cversion`-th sequential child: Java's `String.format("%010d", cversion)`,
/// zero padded after the sign for negative values.
pub fn sequential_suffix(cversion: i32) -> String {
    format!("{cversion:010}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_matches_java_format() {
        assert_eq!(sequential_suffix(0), "0000000000");
        assert_eq!(sequential_suffix(42), "0000000042");
        assert_eq!(sequential_suffix(i32::MAX), "2147483647");
        assert_eq!(sequential_suffix(-5), "-000000005");
        assert_eq!(sequential_suffix(i32::MIN), "-2147483648");
    }

    #[test]
    fn owners_decode_to_kinds() {
        assert_eq!(EphemeralKind::of(0, true), EphemeralKind::Persistent);
        assert_eq!(
            EphemeralKind::of(0x100, false),
            EphemeralKind::Ephemeral(SessionId(0x100))
        );
        assert_eq!(
            EphemeralKind::of(CONTAINER_EPHEMERAL_OWNER, false),
            EphemeralKind::Container
        );
        let owner = ttl_ephemeral_owner(5000).unwrap();
        assert_eq!(owner as u64, 0xff00_0000_0000_1388);
        assert_eq!(
            EphemeralKind::of(owner, true),
            EphemeralKind::Ttl { ttl_ms: 5000 }
        );
        assert_eq!(
            EphemeralKind::of(owner, false),
            EphemeralKind::Ephemeral(SessionId(owner))
        );
    }

    #[test]
    fn ttl_range_is_checked() {
        assert_eq!(ttl_ephemeral_owner(0), Err(ErrorCode::BadArguments));
        assert_eq!(ttl_ephemeral_owner(-1), Err(ErrorCode::BadArguments));
        assert!(ttl_ephemeral_owner(TTL_MAX_MS).is_ok());
        assert_eq!(
            ttl_ephemeral_owner(TTL_MAX_MS + 1),
            Err(ErrorCode::BadArguments)
        );
    }

    #[test]
    fn client_stat_counts_child_changes_and_hides_special_owners() {
        let mut stat = StatPersisted::created(Zxid(9), 100, CONTAINER_EPHEMERAL_OWNER);
        stat.cversion = 3; // three children created...
        let client = stat.to_client(4, 1, false); // ...one still there: two were deleted
        assert_eq!(client.cversion, 5);
        assert_eq!(client.ephemeral_owner, 0);
        assert_eq!(client.data_length, 4);
        assert_eq!(client.num_children, 1);
        assert_eq!((client.czxid, client.mzxid, client.pzxid), (9, 9, 9));
        let root = StatPersisted::default().to_client(0, 1, false);
        assert_eq!(root.cversion, -1);
    }

    #[test]
    fn packed_layout_keeps_the_encoding() {
        assert_eq!(std::mem::size_of::<StatPersisted>(), 60);
        let stat = StatPersisted {
            czxid: 0x1_0000_0001,
            mzxid: -2,
            pzxid: i64::MAX,
            ctime: 1_700_000_000_123,
            mtime: i64::MIN,
            version: 7,
            cversion: -1,
            aversion: i32::MAX,
            ephemeral_owner: CONTAINER_EPHEMERAL_OWNER,
        };
        // postcard's zigzag varints, field by field, as before the layout was packed.
        let expected: &[u8] = &[
            130, 128, 128, 128, 32, // czxid
            3,  // mzxid
            254, 255, 255, 255, 255, 255, 255, 255, 255, 1, // pzxid
            246, 161, 171, 254, 249, 98, // ctime
            255, 255, 255, 255, 255, 255, 255, 255, 255, 1,  // mtime
            14, // version
            1,  // cversion
            254, 255, 255, 255, 15, // aversion
            255, 255, 255, 255, 255, 255, 255, 255, 255, 1, // ephemeral_owner
        ];
        let bytes = postcard::to_allocvec(&stat).unwrap();
        assert_eq!(bytes, expected);
        assert_eq!(postcard::from_bytes::<StatPersisted>(&bytes).unwrap(), stat);
    }
}

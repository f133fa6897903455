//! What a znode's payload holds besides its name and data, in one of two forms: its stat
//! and where its children are.
//!
//! Most znodes are created and never changed, and have no children: their stat is their
//! creation (`czxid`, `ctime`) and nothing else (`mzxid` and `pzxid` equal `czxid`,
//! `mtime` equals `ctime`, the versions are 0, the owner is 0). Those store 16 bytes
//! ([`MetaForm::Created`]); every other znode stores its whole stat and its first child
//! and child count, 68 bytes ([`MetaForm::Full`]). At a million znodes of 100 bytes, the
//! short form saves 52 MB of the server's resident memory. A znode with children is always
//! in the full form; that costs little, since creating a child changes the parent's stat
//! anyway.
//!
//! Both forms are little-endian integers in field order, read and written through byte
//! slices (the payload holding them has no alignment).

use super::{NodeId, NONE};
use crate::stat::StatPersisted;

/// A znode's stat and the head of its child list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub stat: StatPersisted,
    pub first_child: NodeId,
    pub num_children: u32,
}

impl Default for Meta {
    /// The all-zero stat of a childless znode.
    fn default() -> Self {
        Meta::childless(StatPersisted::default())
    }
}

impl Meta {
    /// `stat` with no children.
    pub fn childless(stat: StatPersisted) -> Self {
        Meta {
            stat,
            first_child: NONE,
            num_children: 0,
        }
    }
}

/// How a [`Meta`] is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaForm {
    /// `czxid` and `ctime` only; the rest of the stat follows from them; no children.
    Created,
    /// The whole stat, the first child and the child count.
    Full,
}

/// The bytes of [`MetaForm::Created`].
pub const CREATED_LEN: usize = 16;
/// The bytes of [`MetaForm::Full`].
pub const FULL_LEN: usize = 68;
/// Where the first child and the child count start in [`MetaForm::Full`].
const CHILDREN_AT: usize = 60;

impl MetaForm {
    /// The shortest form that holds `meta` exactly.
    #[inline]
    pub fn of(meta: &Meta) -> MetaForm {
        let stat = &meta.stat;
        let unchanged_since_creation = stat.mzxid == stat.czxid
            && stat.pzxid == stat.czxid
            && stat.mtime == stat.ctime
            && stat.version == 0
            && stat.cversion == 0
            && stat.aversion == 0
            && stat.ephemeral_owner == 0;
        if unchanged_since_creation && meta.first_child == NONE && meta.num_children == 0 {
            MetaForm::Created
        } else {
            MetaForm::Full
        }
    }

    /// Its length in bytes.
    #[inline]
    pub fn len(self) -> usize {
        match self {
            MetaForm::Created => CREATED_LEN,
            MetaForm::Full => FULL_LEN,
        }
    }

    /// Writes `meta` (whose form is `self`) into `out`, exactly [`MetaForm::len`] bytes.
    pub fn write(self, meta: &Meta, out: &mut [u8]) {
        debug_assert_eq!(MetaForm::of(meta), self);
        let stat = &meta.stat;
        let mut writer = FieldWriter { out, at: 0 };
        writer.i64(stat.czxid);
        if self == MetaForm::Full {
            writer.i64(stat.mzxid);
            writer.i64(stat.pzxid);
        }
        writer.i64(stat.ctime);
        if self == MetaForm::Full {
            writer.i64(stat.mtime);
            writer.i32(stat.version);
            writer.i32(stat.cversion);
            writer.i32(stat.aversion);
            writer.i64(stat.ephemeral_owner);
            debug_assert_eq!(writer.at, CHILDREN_AT);
            writer.u32(meta.first_child);
            writer.u32(meta.num_children);
        }
        debug_assert_eq!(writer.at, self.len());
    }

    /// Reads a meta written by [`MetaForm::write`] from the first [`MetaForm::len`] bytes
    /// of `bytes`.
    #[inline]
    pub fn read(self, bytes: &[u8]) -> Meta {
        match self {
            MetaForm::Created => {
                let czxid = i64_at(bytes, 0);
                let ctime = i64_at(bytes, 8);
                Meta::childless(StatPersisted {
                    czxid,
                    mzxid: czxid,
                    pzxid: czxid,
                    ctime,
                    mtime: ctime,
                    version: 0,
                    cversion: 0,
                    aversion: 0,
                    ephemeral_owner: 0,
                })
            }
            MetaForm::Full => {
                let (first_child, num_children) = self.read_children(bytes);
                Meta {
                    stat: StatPersisted {
                        czxid: i64_at(bytes, 0),
                        mzxid: i64_at(bytes, 8),
                        pzxid: i64_at(bytes, 16),
                        ctime: i64_at(bytes, 24),
                        mtime: i64_at(bytes, 32),
                        version: i32_at(bytes, 40),
                        cversion: i32_at(bytes, 44),
                        aversion: i32_at(bytes, 48),
                        ephemeral_owner: i64_at(bytes, 52),
                    },
                    first_child,
                    num_children,
                }
            }
        }
    }

    /// The first child and the child count alone (what walking the tree reads).
    #[inline]
    pub fn read_children(self, bytes: &[u8]) -> (NodeId, u32) {
        match self {
            MetaForm::Created => (NONE, 0),
            MetaForm::Full => (u32_at(bytes, CHILDREN_AT), u32_at(bytes, CHILDREN_AT + 4)),
        }
    }

    /// Rewrites the first child and the child count of a [`MetaForm::Full`] meta in place.
    pub fn write_children(out: &mut [u8], first_child: NodeId, num_children: u32) {
        let mut writer = FieldWriter {
            out,
            at: CHILDREN_AT,
        };
        writer.u32(first_child);
        writer.u32(num_children);
    }
}

struct FieldWriter<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl FieldWriter<'_> {
    fn bytes<const N: usize>(&mut self, bytes: [u8; N]) {
        self.out[self.at..self.at + N].copy_from_slice(&bytes);
        self.at += N;
    }

    fn i64(&mut self, value: i64) {
        self.bytes(value.to_le_bytes());
    }

    fn i32(&mut self, value: i32) {
        self.bytes(value.to_le_bytes());
    }

    fn u32(&mut self, value: u32) {
        self.bytes(value.to_le_bytes());
    }
}

#[inline]
fn array_at<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut array = [0; N];
    array.copy_from_slice(&bytes[at..at + N]);
    array
}

#[inline]
fn i64_at(bytes: &[u8], at: usize) -> i64 {
    i64::from_le_bytes(array_at(bytes, at))
}

#[inline]
fn i32_at(bytes: &[u8], at: usize) -> i32 {
    i32::from_le_bytes(array_at(bytes, at))
}

#[inline]
fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(array_at(bytes, at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_proto::Zxid;

    fn round_trip(meta: Meta) -> MetaForm {
        let form = MetaForm::of(&meta);
        let mut bytes = vec![0xa5; form.len()];
        form.write(&meta, &mut bytes);
        assert_eq!(form.read(&bytes), meta);
        assert_eq!(
            form.read_children(&bytes),
            (meta.first_child, meta.num_children)
        );
        form
    }

    #[test]
    fn a_created_childless_znode_stores_16_bytes() {
        let stat = StatPersisted::created(Zxid(0x1_0000_0042), 1_700_000_000_123, 0);
        assert_eq!(round_trip(Meta::childless(stat)), MetaForm::Created);
        assert_eq!(round_trip(Meta::default()), MetaForm::Created);
    }

    #[test]
    fn any_change_since_creation_or_any_child_stores_everything() {
        let created = Meta::childless(StatPersisted::created(Zxid(7), 1000, 0));
        let changes: [fn(&mut Meta); 10] = [
            |m| m.stat.mzxid = 8,
            |m| m.stat.pzxid = 8,
            |m| m.stat.mtime = 1001,
            |m| m.stat.version = 1,
            |m| m.stat.cversion = -1,
            |m| m.stat.aversion = 1,
            |m| m.stat.ephemeral_owner = 0x1234,
            |m| m.stat.ephemeral_owner = crate::stat::CONTAINER_EPHEMERAL_OWNER,
            |m| m.first_child = 5,
            |m| m.num_children = 1,
        ];
        for change in changes {
            let mut meta = created;
            change(&mut meta);
            assert_eq!(round_trip(meta), MetaForm::Full, "{meta:?}");
        }
        let extremes = Meta {
            stat: StatPersisted {
                czxid: i64::MIN,
                mzxid: i64::MAX,
                pzxid: -1,
                ctime: i64::MAX,
                mtime: i64::MIN,
                version: i32::MIN,
                cversion: i32::MAX,
                aversion: -1,
                ephemeral_owner: i64::MIN + 1,
            },
            first_child: NONE - 1,
            num_children: u32::MAX,
        };
        assert_eq!(round_trip(extremes), MetaForm::Full);
    }

    #[test]
    fn children_are_rewritten_in_place() {
        let mut meta = Meta::childless(StatPersisted::created(Zxid(7), 1000, 0));
        meta.num_children = 2;
        meta.first_child = 11;
        let mut bytes = vec![0; FULL_LEN];
        MetaForm::Full.write(&meta, &mut bytes);
        MetaForm::write_children(&mut bytes, 12, 3);
        meta.first_child = 12;
        meta.num_children = 3;
        assert_eq!(MetaForm::Full.read(&bytes), meta);
    }
}
